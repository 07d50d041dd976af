"""Returns of uniformly random actions on every task of a sweep, each task as the sweep's runs define it.

python docs/results/random_returns.py SWEEP_FILE [--episodes 8] [--seed 1]

For each grid point (the runs of the sweep's first seed): the env id and episode length (runner.max_steps)
that its slbo/main.py flags give, then the mean and standard deviation of the returns of `--episodes`
episodes of actions drawn uniformly from the env's action space, each ended by the env's termination or at
the episode length, and the episodes' mean length. MBBL's "Random" row (Wang et al. 2019, Table 1) is the
return of such a policy, so this checks a task's reward scale, horizon and termination against it before
any training.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np

from lunzi.config import ConfigError
from slbo.envs import BaseModelBasedEnv
from slbo.partial_envs import make_env
from slbo.sweep import load_sweep
from slbo.utils.flags import parse_flags


def sweep_tasks(path: str) -> List[Tuple[str, str, int]]:
    """(grid point, env id, episode length) of each run of the sweep's first seed, in the sweep's order."""
    runs = load_sweep(path).runs
    first_seed = runs[0].name.rsplit("_seed", 1)[1]
    tasks = []
    for run in runs:
        point, seed = run.name.rsplit("_seed", 1)
        if seed == first_seed:
            flags = parse_flags(run.argv)
            tasks.append((point, flags.env.id, flags.runner.max_steps))
    return tasks


def random_returns(env: BaseModelBasedEnv, horizon: int, n_episodes: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """(returns, lengths) of n_episodes episodes of uniformly random actions, cut at `horizon` steps."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    returns, lengths = np.zeros(n_episodes), np.zeros(n_episodes, dtype=int)
    for i in range(n_episodes):
        env.reset()
        done = False
        while lengths[i] < horizon and not done:
            _, reward, done, _, _ = env.step(env.action_space.sample())
            returns[i] += reward
            lengths[i] += 1
    return returns, lengths


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep", help="a sweep file, e.g. configs/sweeps/results_mbbl_tasks.yml")
    parser.add_argument("--episodes", type=int, default=8, help="episodes per task (at least 2)")
    parser.add_argument("--seed", type=int, default=1, help="seeds each env and its action sampling")
    args = parser.parse_args(argv)
    if args.episodes < 2:
        parser.error(f"--episodes must be at least 2 (for a standard deviation), got {args.episodes}")
    try:
        tasks = sweep_tasks(args.sweep)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("| task | env id | obs | act | episode | random return: mean ± std | mean length |")
    print("|---|---|---|---|---|---|---|")
    for point, env_id, horizon in tasks:
        env = make_env(env_id)
        returns, lengths = random_returns(env, horizon, args.episodes, args.seed)
        print(f"| {point} | {env_id} | {env.observation_space.shape[0]} | {env.action_space.shape[0]} | {horizon} "
              f"| {returns.mean():.1f} ± {returns.std(ddof=1):.1f} | {lengths.mean():.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
