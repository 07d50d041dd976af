"""Returns of hand-made policies that bound what an episode of two of MBBL's tasks can earn, played on
the env itself, to read a learned policy's return (or a published one) against.

python docs/results/return_bounds.py [--starts 20] [--seed 1]

- MountainCar (reward: the car's position at each step, x in [-1.2, 0.6]; 200 steps): the car cannot
  climb from the valley directly and must first swing left. For each start state the best of the
  action sequences "full left for k steps, then full right" (k = 0 … 200) is kept; the family holds
  the bang-bang swing-up, so its best is a lower bound on the optimal return, and close to it.
- InvertedPendulum (reward: −angle² of the pole at each step, 100 steps, no termination): no force,
  a constant full push either way, and full force the way that tips the pole further (the fall as
  fast as the motor makes it), whose return is the lowest a policy gets; and −100 × (the widest
  angle the joint limit let the pole reach in those episodes)², a pole lying at the limit from the
  first step, which no episode from an upright start earns. At the top, a PD controller that balances the pole, whose
  return (about 0) is the most an episode can earn.

Each start state is the env's own draw from seeds seed … seed + starts − 1.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np

from slbo.envs import BaseModelBasedEnv
from slbo.partial_envs import make_env

Policy = Callable[[int, np.ndarray], np.ndarray]  # (step, observation) -> action


def episode(env: BaseModelBasedEnv, seed: int, policy: Policy, horizon: int) -> Tuple[float, np.ndarray]:
    """(return, the observations after each step) of `horizon` steps (or until the env ends
    the episode) from the start state `seed` draws."""
    obs, _ = env.reset(seed=seed)
    total, visited = 0.0, []
    for t in range(horizon):
        obs, reward, done, _, _ = env.step(policy(t, obs))
        total += reward
        visited.append(obs)
        if done:
            break
    return total, np.array(visited)


def policy_return(env: BaseModelBasedEnv, seed: int, policy: Policy, horizon: int) -> float:
    return episode(env, seed, policy, horizon)[0]


def swing(k: int) -> Policy:
    """Full left for the first k steps, full right after (MountainCar's action is the force in [-1, 1])."""
    return lambda t, obs: np.array([-1.0 if t < k else 1.0])


def best_swing(env: BaseModelBasedEnv, seed: int, horizon: int) -> Tuple[float, int]:
    """(best return, its k) over k = 0 … horizon for the start state `seed` draws."""
    returns = [policy_return(env, seed, swing(k), horizon) for k in range(horizon + 1)]
    k = int(np.argmax(returns))
    return returns[k], k


def push(force: float) -> Policy:
    return lambda t, obs: np.array([force])


def tip_over(force: float) -> Policy:
    """Full force the way that tips the pole further: the cart moves from under the pole's lean
    (observation: cart position, pole angle, their velocities)."""
    return lambda t, obs: np.array([-force if obs[1] >= 0 else force])


def balance(force: float) -> Policy:
    """A PD controller that keeps the pole upright: force 20·angle + 1·angular velocity + 0.1·cart
    velocity, clipped to the motor's range (gains from a small grid search on three start states)."""
    return lambda t, obs: np.clip(np.array([20.0 * obs[1] + 1.0 * obs[3] + 0.1 * obs[2]]), -force, force)


def describe(name: str, returns: List[float]) -> str:
    values = np.array(returns)
    return f"| {name} | {values.mean():.1f} ± {values.std(ddof=1):.1f} | {values.min():.1f} | {values.max():.1f} |"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=20, help="start states per policy (at least 2)")
    parser.add_argument("--seed", type=int, default=1, help="the first start state's seed")
    args = parser.parse_args(argv)
    if args.starts < 2:
        print(f"error: --starts must be at least 2 (for a standard deviation), got {args.starts}", file=sys.stderr)
        return 2
    seeds = range(args.seed, args.seed + args.starts)
    print(f"{args.starts} start states each; return: mean ± std, min, max\n")
    print("| task, policy | return | min | max |\n|---|---|---|---|")
    car = make_env("MountainCar")
    swings = [best_swing(car, seed, car.max_episode_steps) for seed in seeds]
    ks = [k for _, k in swings]
    print(describe(f"MountainCar, best swing (k {min(ks)}–{max(ks)})", [value for value, _ in swings]))
    pendulum = make_env("InvertedPendulum")
    horizon, force = pendulum.max_episode_steps, float(pendulum.action_space.high[0])
    policies = (("no force", push(0.0)), (f"push +{force:g}", push(force)), (f"push −{force:g}", push(-force)),
                ("tip the pole over", tip_over(force)), ("balance (PD controller)", balance(force)))
    widest = 0.0  # how far past 90° the joint limit let the pole go in any of these episodes
    for name, policy in policies:
        episodes = [episode(pendulum, seed, policy, horizon) for seed in seeds]
        print(describe(f"InvertedPendulum, {name}", [value for value, _ in episodes]))
        widest = max([widest] + [float(np.abs(visited[:, 1]).max()) for _, visited in episodes])
    print(f"\nInvertedPendulum: the pole never passed |angle| = {widest:.4f} rad (the joint limit, 90°, and "
          f"its give); a pole lying there from the first step would earn {-horizon * widest ** 2:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
