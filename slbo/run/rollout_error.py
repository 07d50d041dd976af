"""How the model's error grows along a rollout: `python -m slbo.run.rollout_error RUN_DIR`.

The run's diagnostics measure the model one step at a time (`model_nrmse_all`), but TRPO trains the
policy on imagined episodes of hundreds of chained model steps. A model whose one-step error is
small can still drift, over those steps, into states nothing real resembles, where the reward the
env's formula gives them means nothing. This check plays the run's policy on the real env (sampled
actions, as the run's evaluation acts), starts the model on the real state every `--stride` steps
and feeds it the real actions that followed (open loop), and reports per horizon k, over those
windows:

  state error   the distance of the model's state k steps on from the real one: the RMSE over the
                coordinates, each divided by its standard deviation over the real episodes' states
                (constant coordinates left out). About 1 is as far off as the average real state
                is from a random one; more is a state outside what the policy visits;
  lost          the share of windows whose state error exceeds 1 (or is not finite);
  at clip       the share of windows whose model state has a coordinate pinned at the model's own
                bound on its normalised prediction (±100 standard deviations of the real states it
                was trained on): a rollout that ran there stays there, whatever the actions;
  reward        the mean per step of (the rewards the env's formula gives the model's k states −
                those it gives the real ones), and of its absolute value; the same formula on both
                sides (`mb_step`), so the difference is the model's alone.

The model is not stopped at its own terminations here; a window ends with the real episode.
Exit code 2 and one line on stderr for bad input."""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from lunzi.config import ArgumentParser, ConfigError, command
from slbo.envs import BaseModelBasedEnv
from slbo.partial_envs import env_class
from slbo.run.playback import Episode, add_run_arguments, loaded_networks, play_episode, run_checkpoint
from slbo.run.termination import Predict, episodes_in_samples

DEFAULT_HORIZONS = (1, 10, 100, 1000)
STAGE_HORIZONS = (10, 100, 1000)  # the per-stage form (slbo/run/diagnostics.py): one step is model_nrmse_all
LOST = 1.0  # a state error above this is further from the real state than a random real state is


def formula_rewards(env: BaseModelBasedEnv, episode: Episode) -> np.ndarray:
    """[length]: the rewards the task's formula (`mb_step`) gives the episode's real transitions."""
    return env.mb_step(episode.states[:-1], env.scale_action(episode.actions), episode.states[1:])[0]


def rollout_errors(predict: Predict, env: BaseModelBasedEnv, episodes: Sequence[Episode], horizons: Sequence[int],
                   stride: int, at_clip: Optional[Callable[[np.ndarray], np.ndarray]] = None) -> List[Dict[str, float]]:
    """Per horizon k (ascending): windows (open-loop windows of k steps inside the episodes, one
    starting every `stride` steps), state_error (median and 90th percentile), lost (share above
    LOST), at_clip (share of the model's states for which `at_clip` is true; nan without it),
    reward_bias and reward_error (mean per step, model − real). Horizons longer than every episode
    get windows 0 and nan."""
    real_states = np.concatenate([e.states for e in episodes])
    scale = real_states.std(axis=0)
    varying = scale > 1e-8 * max(1.0, float(np.abs(real_states).max()))
    longest = max(horizons)
    rewards_of = [formula_rewards(env, e) for e in episodes]
    starts = [(e, rewards, t) for e, rewards in zip(episodes, rewards_of) for t in range(0, len(e.actions), stride)]
    steps = np.array([min(longest, len(e.actions) - t) for e, _, t in starts])
    # Each window's real actions, states and rewards, zero-padded to the longest horizon: gathered once.
    window_actions = np.zeros((len(starts), longest, episodes[0].actions.shape[1]))
    window_states = np.zeros((len(starts), longest + 1, real_states.shape[1]))
    window_rewards = np.zeros((len(starts), longest))
    for i, (e, rewards, t) in enumerate(starts):
        window_actions[i, :steps[i]] = e.actions[t:t + steps[i]]
        window_states[i, :steps[i] + 1] = e.states[t:t + steps[i] + 1]
        window_rewards[i, :steps[i]] = rewards[t:t + steps[i]]
    states = window_states[:, 0].copy()
    model_rewards, real_rewards = np.zeros(len(starts)), np.zeros(len(starts))
    rows: Dict[int, Dict[str, float]] = {}
    with np.errstate(all="ignore"):  # a model that blows up gives inf or nan: counted as lost
        for j in range(longest):
            active = np.flatnonzero(steps > j)
            if not len(active):
                break
            actions, real_next = window_actions[active, j], window_states[active, j + 1]
            predicted = predict(states[active], actions).astype(np.float64)
            model_rewards[active] += env.mb_step(states[active], env.scale_action(actions), predicted)[0]
            real_rewards[active] += window_rewards[active, j]
            states[active] = predicted
            k = j + 1
            if k in horizons:
                error = np.sqrt(np.mean(np.square((predicted - real_next)[:, varying] / scale[varying]), axis=1))
                error[~np.isfinite(error)] = np.inf
                difference = (model_rewards[active] - real_rewards[active]) / k
                finite = np.isfinite(difference)
                rows[k] = {"windows": len(active), "state_error": float(np.median(error)),
                           "state_error_90": float(np.percentile(error, 90)),
                           "lost": float(np.mean(error > LOST)),
                           "at_clip": float(np.mean(at_clip(predicted))) if at_clip else float("nan"),
                           "reward_bias": float(np.mean(difference[finite])) if finite.any() else float("nan"),
                           "reward_error": float(np.mean(np.abs(difference[finite]))) if finite.any() else float("nan"),
                           "reward_not_finite": float(np.mean(~finite))}
    empty = {"windows": 0, "state_error": float("nan"), "state_error_90": float("nan"), "lost": float("nan"),
             "at_clip": float("nan"),
             "reward_bias": float("nan"), "reward_error": float("nan"), "reward_not_finite": float("nan")}
    return [{"k": k, **rows.get(k, empty)} for k in sorted(horizons)]


def drift_metrics(predict: Predict, env: BaseModelBasedEnv, data: np.recarray,
                  at_clip: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                  horizons: Sequence[int] = STAGE_HORIZONS, stride: int = 50) -> Dict[str, float]:
    """The per-stage form of the check, on [T, n_envs] real samples (their episodes that end inside
    them): per horizon k that has windows, rollout_error_<k> (the median state error) and
    rollout_at_clip_<k> (the share of windows pinned at the model's clip, with `at_clip`). {} when no
    episode ends inside the samples."""
    episodes = episodes_in_samples(data)
    if not episodes:
        return {}
    metrics: Dict[str, float] = {}
    for row in rollout_errors(predict, env, episodes, horizons, stride, at_clip):
        if row["windows"]:
            metrics[f"rollout_error_{row['k']}"] = row["state_error"]
            if at_clip:
                metrics[f"rollout_at_clip_{row['k']}"] = row["at_clip"]
    return metrics


def format_table(rows: Sequence[Dict[str, float]], reward_scale: float) -> List[str]:
    """The table `check` prints; `reward_scale` is the real episodes' mean |reward| per step."""
    lines = [f"     k  windows  state error: median (90th pct)  lost (> {LOST:g})  at clip  reward per step, model - real: "
             f"mean, mean |.| (/ real mean |reward| per step, {reward_scale:.3g})"]
    for r in rows:
        if not r["windows"]:
            lines.append(f"  {r['k']:4d}        0  - (no episode that long)")
            continue
        relative = r["reward_error"] / reward_scale if reward_scale > 0 else float("nan")
        at_clip = "-" if np.isnan(r["at_clip"]) else f"{r['at_clip']:.2f}"
        lines.append(f"  {r['k']:4d}  {r['windows']:7d}  {r['state_error']:>14.3g} ({r['state_error_90']:.3g})"
                     f"{r['lost']:>19.2f}  {at_clip:>7}  {r['reward_bias']:+.3g}, {r['reward_error']:.3g} ({relative:.2g}x)"
                     + (f"; not finite in {r['reward_not_finite']:.0%} of windows" if r["reward_not_finite"] else ""))
    return lines


def check(path: str, config: Optional[str], n_episodes: int, horizons: Sequence[int], stride: int,
          seed: int) -> List[Dict[str, float]]:
    """Runs the check on a run directory (or a checkpoint and its config.yml), prints it and returns
    the rows of `rollout_errors`. Bad input raises ConfigError."""
    checkpoint, FLAGS = run_checkpoint(path, config, ("policy", "model"))
    rng = np.random.default_rng(seed)  # the env's seed and the action noise: `seed` alone fixes them
    env = env_class(FLAGS.env.id)(seed=int(rng.integers(2 ** 31)))
    max_steps = FLAGS.runner.max_steps
    with loaded_networks(FLAGS, checkpoint, env, seed, ("policy", "model")) as nets:
        act = nets.policy.actor(False, rng)
        episodes = [play_episode(env, act, max_steps) for _ in range(n_episodes)]
        rows = rollout_errors(nets.model.predict, env, episodes, horizons, stride, nets.model.at_clip)
    lengths = np.array([e.length for e in episodes])
    rewards = np.concatenate([formula_rewards(env, e) for e in episodes])
    print(f"{FLAGS.env.id}, {checkpoint}: {n_episodes} real episodes (length {lengths.mean():.0f} mean, "
          f"{lengths.min()}-{lengths.max()}), the policy's sampled actions (seed {seed}); the model started on the "
          f"real state every {stride} steps and fed the real actions (open loop)")
    print("\n".join(format_table(rows, float(np.mean(np.abs(rewards))))))
    return rows


USAGE = ("python -m slbo.run.rollout_error RUN_DIR|CHECKPOINT.npz [--config CONFIG.yml] [--episodes N] "
         "[--horizons K ...] [--stride S] [--seed S]")


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m slbo.run.rollout_error", usage_line=USAGE,
                       description="How far a run's model drifts from the real states over k open-loop steps.")
    add_run_arguments(p)
    p.add_argument("--episodes", type=int, default=10, help="real episodes to play (default: 10)")
    p.add_argument("--horizons", type=int, nargs="+", default=list(DEFAULT_HORIZONS),
                   help=f"open-loop window lengths k (default: {' '.join(map(str, DEFAULT_HORIZONS))})")
    p.add_argument("--stride", type=int, default=50, help="a window starts every this many real steps (default: 50)")
    p.add_argument("--seed", type=int, default=0, help="seeds the env and the action noise (default: 0)")
    return p


@command
def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parser().parse_args(argv)
    if min(args.episodes, args.stride, *args.horizons) < 1 or args.seed < 0:
        raise ConfigError(f"--episodes, --stride and every --horizons value must be >= 1 and --seed >= 0; got "
                          f"{args.episodes}, {args.stride}, {args.horizons}, {args.seed}")
    check(args.path, args.config, args.episodes, sorted(set(args.horizons)), args.stride, args.seed)


if __name__ == "__main__":
    sys.exit(main())
