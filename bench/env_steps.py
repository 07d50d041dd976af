"""Real-environment steps per second of every env id: one process, random actions in the action
space, resets on done included, timed in the process's CPU time (stepping is single-threaded, so
this is its wall time on an idle machine, and other load does not count), best of --repeat runs.

    python bench/env_steps.py [--steps 5000] [--repeat 3] [--ids Hopper Pendulum ...]"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lunzi.config import ConfigError  # noqa: E402
from slbo.partial_envs import REGISTRY, check_env_id, env_class, env_family  # noqa: E402


def steps_per_second(env_id: str, n_steps: int) -> float:
    env = env_class(env_id)(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(env.action_space.low, env.action_space.high,
                          size=(n_steps, env.action_space.shape[0])).astype(np.float32)
    env.reset()
    start = time.process_time()
    for action in actions:
        if env.step(action)[2]:
            env.reset()
    return n_steps / (time.process_time() - start)


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000, help="steps timed per env")
    parser.add_argument("--repeat", type=int, default=3, help="timings per env; the best is shown")
    parser.add_argument("--ids", nargs="*", default=None, help="env ids (default: all, aliases once)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeat < 1:
        parser.error(f"--steps and --repeat must be >= 1, got {args.steps} and {args.repeat}")
    ids = args.ids if args.ids else [i for i in REGISTRY if not i.endswith("-v2")]
    for env_id in ids:
        try:
            check_env_id(env_id)
        except ConfigError as e:
            parser.error(str(e))
    print(f"{'id':24s} {'family':6s} {'steps/s':>9s}", flush=True)
    for env_id in ids:
        best = max(steps_per_second(env_id, args.steps) for _ in range(args.repeat))
        print(f"{env_id:24s} {env_family(env_id):6s} {best:9.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
