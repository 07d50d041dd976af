"""Where a run's model takes the body under a held action, against where the real body goes, and
where its open-loop rollouts under the policy's own actions end: the check behind
docs/DIAGNOSTICS.md's reading of the Swimmer runs whose rollouts end pinned at the model's clip.

python docs/results/held_action.py RUN_DIR|CHECKPOINT.npz [--config CONFIG.yml] [--steps 1000] [--episodes 10] [--seed 0]

States are printed in the model's normalised units (minus its state normaliser's mean, over its
std), the units in which the model clips its predictions at ±100:
- for each held action (every coordinate −1, 0 and +1, in the policy's [-1, 1] scale), the real
  state and the model's state after the action is held from the same reset state for --steps
  steps (fewer if the real episode ends), and how many coordinates of each sit at the clip;
- for the policy (sampled actions, as the run's evaluation acts), over --episodes episodes: the
  share of its steps with every action at full stroke (|a| >= 1), and where the model ends when
  started on each episode's first state and fed its real actions for the whole episode (open
  loop): how many end at the clip, and the distinct end states (rounded to whole units) with their
  counts.
Vectors longer than 24 coordinates are left out; the counts are printed for every task.
"""
from __future__ import annotations

import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np

from lunzi.config import ArgumentParser, ConfigError, command
from slbo.dynamics_model import NEXT_STATE_CLIP
from slbo.envs import BaseModelBasedEnv
from slbo.partial_envs import env_class
from slbo.run.playback import Episode, add_run_arguments, loaded_networks, play_episode, run_checkpoint
from slbo.run.termination import Predict

HELD = (-1.0, 0.0, 1.0)
PRINTED_DIMS = 24


def open_loop_ends(predict: Predict, episodes: Sequence[Episode]) -> np.ndarray:
    """[n, ds]: the model's state after each episode's real actions, fed from its first state (open
    loop); all episodes stepped together, each stopping at its own length."""
    states = np.array([e.states[0] for e in episodes], dtype=np.float64)
    lengths = np.array([e.length for e in episodes])
    for j in range(lengths.max()):
        active = np.flatnonzero(lengths > j)
        states[active] = predict(states[active], np.array([episodes[i].actions[j] for i in active]))
    return states


def held(env: BaseModelBasedEnv, predict: Predict, action: np.ndarray, steps: int) -> Tuple[np.ndarray, np.ndarray, int]:
    """(real end state, model end state, steps taken): `action` held from one reset state on the real
    env and through the model, for as many steps as the real episode lasted (at most `steps`)."""
    episode = play_episode(env, lambda s: np.broadcast_to(action, (len(s), len(action))), steps)
    return episode.states[-1], open_loop_ends(predict, [episode])[0], episode.length


def full_stroke(episodes: Sequence[Episode]) -> float:
    """The share of the episodes' steps on which every action is at or beyond the bound (|a| >= 1)."""
    actions = np.concatenate([e.actions for e in episodes])
    return float(np.mean(np.all(np.abs(actions) >= 1.0, axis=1)))


def vector(z: np.ndarray) -> str:
    return np.array2string(np.round(z, 1), precision=1, max_line_width=10 ** 6, suppress_small=True)


def check(path: str, config: Optional[str], steps: int, n_episodes: int, seed: int) -> List[str]:
    """The lines printed for one run directory or checkpoint. Raises ConfigError for bad input."""
    checkpoint, FLAGS = run_checkpoint(path, config, ("policy", "model"))
    rng = np.random.default_rng(seed)  # as slbo.play: `seed` fixes the env's starts and the action noise
    env = env_class(FLAGS.env.id)(seed=int(rng.integers(2 ** 31)))
    dim_action = env.action_space.shape[0]
    lines = [f"{FLAGS.env.id}, {checkpoint}: states in the model's normalised units (its predictions are clipped "
             f"at ±{NEXT_STATE_CLIP:g})"]
    with loaded_networks(FLAGS, checkpoint, env, seed, ("policy", "model")) as nets:
        model = nets.model
        for value in HELD:
            real, imagined, taken = held(env, model.predict, np.full(dim_action, value), steps)
            n_real, n_model = model.clipped_coordinates(np.array([real, imagined])).sum(axis=-1)
            line = (f"action held at {value:+g} for {taken} steps: real {n_real} coordinates at the clip, "
                    f"model {n_model}")
            if len(real) <= PRINTED_DIMS:
                line += f"\n  real  {vector(model.normalise(real))}\n  model {vector(model.normalise(imagined))}"
            lines.append(line)
        act = nets.policy.actor(False, rng)
        episodes = [play_episode(env, act, FLAGS.runner.max_steps) for _ in range(n_episodes)]
        imagined_ends = open_loop_ends(model.predict, episodes)
        at_clip, ends = model.at_clip(imagined_ends), model.normalise(imagined_ends)
    lines.append(f"policy ({n_episodes} episodes, sampled actions, seed {seed}): every action at full stroke on "
                 f"{full_stroke(episodes):.0%} of its steps; open loop under each episode's actions the model ends "
                 f"at the clip in {int(at_clip.sum())} of {n_episodes}")
    if ends.shape[1] <= PRINTED_DIMS:
        distinct, counts = np.unique(np.round(ends), axis=0, return_counts=True)
        lines += [f"  {count} x {vector(z)}" for z, count in sorted(zip(distinct, counts), key=lambda p: -p[1])]
    return lines


USAGE = ("python docs/results/held_action.py RUN_DIR|CHECKPOINT.npz [--config CONFIG.yml] [--steps N] "
         "[--episodes N] [--seed S]")


@command
def main(argv: Optional[Sequence[str]] = None) -> None:
    p = ArgumentParser(usage_line=USAGE, description=__doc__.split("\n\n")[0])
    add_run_arguments(p)
    p.add_argument("--steps", type=int, default=1000, help="steps each action is held (default: 1000)")
    p.add_argument("--episodes", type=int, default=10, help="episodes of the policy (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="seeds the env's starts and the action noise (default: 0)")
    args = p.parse_args(argv)
    if min(args.steps, args.episodes) < 1 or args.seed < 0:
        raise ConfigError(f"--steps and --episodes must be >= 1 and --seed >= 0; got {args.steps}, "
                          f"{args.episodes}, {args.seed}")
    print("\n".join(check(args.path, args.config, args.steps, args.episodes, args.seed)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
