"""How much a 200-step episode of MBBL's MountainCar can earn: the best "full left for k steps, then
full right" action sequence for each of a set of start states, played on the env itself.

python docs/results/mountaincar_best.py [--starts 20] [--seed 1] [--horizon 200]

The reward is the car's position at each step (x in [-1.2, 0.6]), so a policy earns most by reaching
the right end soon and staying there; the car cannot climb from the valley directly and must first
swing left. For each start state (the env's own draw, x0 ~ U(-0.6, -0.4), v0 = 0), k runs from 0 to
the horizon and the best return is kept. This family holds the bang-bang swing-up, so its best is a
lower bound on the optimal return of each start state, and in practice close to it; a learned
policy's evaluation near its mean has solved the task.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence, Tuple

import numpy as np

from slbo.envs import BaseModelBasedEnv
from slbo.partial_envs import make_env


def swing_return(env: BaseModelBasedEnv, seed: int, k: int, horizon: int) -> float:
    """The return of `horizon` steps from the start state that `seed` draws: action −1 for the first
    k steps, +1 after."""
    env.reset(seed=seed)
    total = 0.0
    for t in range(horizon):
        _, reward, done, _, _ = env.step(np.array([-1.0 if t < k else 1.0]))
        total += reward
        if done:
            break
    return total


def best_swing(env: BaseModelBasedEnv, seed: int, horizon: int) -> Tuple[float, int]:
    """(best return, its k) over k = 0 … horizon for the start state that `seed` draws."""
    returns = [swing_return(env, seed, k, horizon) for k in range(horizon + 1)]
    k = int(np.argmax(returns))
    return returns[k], k


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=20, help="start states (seeds seed … seed+starts−1)")
    parser.add_argument("--seed", type=int, default=1, help="the first start state's seed")
    parser.add_argument("--horizon", type=int, default=200, help="episode length (MBBL's: 200)")
    args = parser.parse_args(argv)
    if args.starts < 2:
        parser.error(f"--starts must be at least 2 (for a standard deviation), got {args.starts}")
    if args.horizon < 1:
        parser.error(f"--horizon must be a positive number of steps, got {args.horizon}")
    env = make_env("MountainCar")
    best = [best_swing(env, args.seed + i, args.horizon) for i in range(args.starts)]
    returns = np.array([value for value, _ in best])
    ks = [k for _, k in best]
    print(f"MountainCar, {args.starts} start states, {args.horizon} steps: best swing return "
          f"{returns.mean():.1f} ± {returns.std(ddof=1):.1f} (mean ± std; min {returns.min():.1f}, "
          f"max {returns.max():.1f}; k from {min(ks)} to {max(ks)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
