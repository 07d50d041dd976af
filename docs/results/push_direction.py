"""Which way a trained InvertedPendulum policy pushes the cart, and whether its exploration noise can
still change that: read off played episodes, to tell a policy that balances the pole from one that
has collapsed onto the task's floor (the motor at full force, the pole thrown onto its joint stop).

python docs/results/push_direction.py RUN_DIR|CHECKPOINT.npz ... [--config CONFIG.yml] [--episodes 20] [--seed 0]

For each run directory (config.yml + final.npz) or checkpoint (stage-T.npz, with --config, or its
run directory's config.yml), plays --episodes real episodes with sampled actions, as the run's
evaluation does, and prints one line:
- the return (mean ± standard error);
- how often the mean action pushes *with* the pole's lean over each episode's first 5 steps, while
  the pole is still near upright: the sign of the action against that of angle + 0.1 · angular
  velocity (observations 1 and 3). A balancing controller pushes with it (a PD controller does on
  every step); a policy that pushes against it throws the pole over;
- the step at which the pole first passes 0.2 rad (median over the episodes; how many never do);
- the share of steps on which the mean action lies beyond the motor's bound (|mean| > 1 in the
  policy's [-1, 1] scale; the env clips it), and the median |mean|;
- the policy's standard deviation (1.0 at the start of a run). With the mean beyond the bound by
  many standard deviations, every sampled action is the bound itself: TRPO's samples then never try
  another push there.
"""
from __future__ import annotations

import sys
from typing import Callable, Dict, Optional, Sequence

import numpy as np

import lunzi.nn as nn
from lunzi.config import ArgumentParser, ConfigError, command
from slbo.envs import BaseModelBasedEnv
from slbo.partial_envs import env_class
from slbo.run.playback import loaded_networks, play_episode, run_checkpoint
from slbo.utils.stats import standard_error

ENV_ID = "InvertedPendulum"
ANGLE, ANGULAR_VELOCITY = 1, 3  # observation = (cart position, pole angle, cart velocity, pole angular velocity)
EARLY_STEPS = 5
FALLEN = 0.2  # rad
Actor = Callable[[np.ndarray], np.ndarray]  # states [N, 4] -> actions [N, 1], the policy's [-1, 1] scale


def lean(states: np.ndarray) -> np.ndarray:
    """Which way the pole is falling: angle + 0.1 · angular velocity, per state."""
    return states[:, ANGLE] + 0.1 * states[:, ANGULAR_VELOCITY]


def push_stats(env: BaseModelBasedEnv, act: Actor, mean_action: Actor, episodes: int, max_steps: int) -> Dict[str, float]:
    """The figures of one policy over `episodes` episodes played with `act` (its sampled actions),
    read against `mean_action` (its mean) in the states visited."""
    played = [play_episode(env, act, max_steps) for _ in range(episodes)]
    returns = np.array([e.ret for e in played])
    early = np.concatenate([e.states[:EARLY_STEPS] for e in played])
    visited = np.concatenate([e.states[:-1] for e in played])
    means = mean_action(visited)[:, 0]
    passes = [np.flatnonzero(np.abs(e.states[:, ANGLE]) > FALLEN) for e in played]
    fallen = [int(p[0]) for p in passes if len(p)]
    return {
        "return": float(returns.mean()),
        "return_sem": standard_error(returns, single=0.0),
        "with_lean": float(np.mean(np.sign(mean_action(early)[:, 0]) == np.sign(lean(early)))),
        "fall_step": float(np.median(fallen)) if fallen else float("nan"),
        "never_fall": float(episodes - len(fallen)),
        "beyond_bound": float(np.mean(np.abs(means) > 1.0)),
        "median_abs_mean": float(np.median(np.abs(means))),
    }


def check(path: str, config: Optional[str], episodes: int, seed: int) -> str:
    """The line for one run directory or checkpoint. Raises ConfigError for anything else."""
    checkpoint, FLAGS = run_checkpoint(path, config, ("policy",))
    if FLAGS.env.id != ENV_ID:
        raise ConfigError(f"{path} is a run of {FLAGS.env.id}; this check reads {ENV_ID}'s pole")
    rng = np.random.default_rng(seed)  # as slbo.play: `seed` fixes the env's starts and the action noise
    env = env_class(ENV_ID)(seed=int(rng.integers(2 ** 31)))
    with loaded_networks(FLAGS, checkpoint, env, seed, ("policy",)) as nets:
        act, mean_action = nets.policy.actor(False, rng), nets.policy.actor(True)
        std = float(np.exp(nn.read_values([nets.policy.log_std])[0][0]))
    s = push_stats(env, act, mean_action, episodes, FLAGS.runner.max_steps)
    fall = (f"pole past {FALLEN} rad at step {s['fall_step']:.0f} (median), never in {s['never_fall']:.0f} of {episodes}"
            if s["never_fall"] < episodes else f"pole never past {FALLEN} rad")
    return (f"{path}: return {s['return']:.1f} ± {s['return_sem']:.1f} ({episodes} episodes); pushes with the lean on "
            f"{s['with_lean']:.0%} of the first {EARLY_STEPS} steps; {fall}; mean action beyond the bound on "
            f"{s['beyond_bound']:.0%} of steps (median |mean| {s['median_abs_mean']:.2f}); policy std {std:.3f}")


USAGE = ("python docs/results/push_direction.py RUN_DIR|CHECKPOINT.npz ... [--config CONFIG.yml] "
         "[--episodes N] [--seed S]")


@command
def main(argv: Optional[Sequence[str]] = None) -> None:
    p = ArgumentParser(usage_line=USAGE, description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", help="run directories or checkpoints of InvertedPendulum runs")
    p.add_argument("--config", help="the config.yml of the run that wrote a checkpoint (default: the one beside it)")
    p.add_argument("--episodes", type=int, default=20, help="episodes per policy (default: 20)")
    p.add_argument("--seed", type=int, default=0, help="seeds the env's starts and the action noise (default: 0)")
    args = p.parse_args(argv)
    if args.episodes < 1 or args.seed < 0:
        raise ConfigError(f"--episodes must be >= 1 and --seed >= 0; got {args.episodes}, {args.seed}")
    for path in args.paths:
        print(check(path, args.config, args.episodes, args.seed), flush=True)


if __name__ == "__main__":
    sys.exit(main())
