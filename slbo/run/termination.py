"""Does the model end an episode where the real env does? `python -m slbo.run.termination RUN_DIR`.

Tasks that end an episode when the robot falls (Hopper-ET, Walker2D-ET, Ant-ET, the -ET humanoids,
InvertedPendulum) pay an alive bonus for every step before the fall. Imagined episodes end by the
same rule, applied to the model's states (the env's `mb_step`), so a model in which the robot does
not fall promises the bonus for every step up to the episode limit. This check plays a run's
policy on the real env (sampled actions, as the run's evaluation does) and asks the run's model:

  closed loop  from the same start states, with the same policy, how long do imagined episodes
               last, and how many end by termination (the imagined evaluation, paired episode by
               episode with the real one)?
  at the fall  started on the real state k steps before a real termination and fed the real
               actions of those k steps (open loop), does the model's trajectory end within them
               (recall at k)?
  before it    on the k steps just before that window, which the real episode survived, does
               the model's trajectory end (false alarm at k)?

A model that sees falls coming at small k while its closed-loop episodes still do not end is being
steered by the policy to states where it never falls (exploitation); one that misses them at k = 1
cannot represent the fall itself. With `--terms` (the MBBL locomotion tasks and the humanoids), the
real and the imagined returns are also split into the reward's terms (forward velocity, control
cost, height cost, alive bonus, ...), which shows what the model overrates: on a task without
termination, a model that keeps the fallen robot upright pays its height cost only in reality.
Nothing is trained and the run is not changed.
"""
from __future__ import annotations

import argparse
import sys
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from lunzi.config import ArgumentParser, ConfigError, command
from slbo.envs import BaseModelBasedEnv
from slbo.partial_envs import env_class
from slbo.run.playback import (add_run_arguments, check_splits_reward, loaded_networks, play_episode, run_checkpoint,
                               terms_summary, trajectory_terms)
from slbo.utils.stats import standard_error

Actor = Callable[[np.ndarray], np.ndarray]
Predict = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (states, actions in [-1, 1]) -> next states
DEFAULT_HORIZONS = (1, 5, 10, 25)


class Trajectory(NamedTuple):
    states: np.ndarray   # [L + 1, dim_state]: every state visited
    actions: np.ndarray  # [L, dim_action], in the policy's [-1, 1] scale
    ret: float
    terminated: bool     # ended by the env's termination, not by the episode limit


class Episodes(NamedTuple):
    lengths: np.ndarray
    returns: np.ndarray
    terminated: np.ndarray
    terms: Optional[List[Dict[str, float]]] = None  # each episode's return split into the reward's terms


def real_trajectory(env: BaseModelBasedEnv, act: Actor, max_steps: int) -> Trajectory:
    """One real episode of at most `max_steps` steps, acting as the run's evaluation does."""
    episode = play_episode(env, act, max_steps)
    return Trajectory(episode.states, episode.actions, episode.ret, episode.terminated)


def episodes_in_samples(data: np.recarray) -> List[Trajectory]:
    """The episodes of [T, n_envs] samples (each column one env's episodes back to back, as a Runner
    collects them) that end inside them, by termination (`done`) or by the limit (`timeout`); an
    episode cut by the end of the samples is left out."""
    trajectories = []
    for env_index in range(data.shape[1]):
        column, start = data[:, env_index], 0
        for end in np.flatnonzero(column.done | column.timeout):
            episode = column[start:end + 1]
            trajectories.append(Trajectory(np.concatenate([episode.state, episode.next_state[-1:]]).astype(np.float64),
                                           np.asarray(episode.action, dtype=np.float64),
                                           float(episode.reward.sum()), bool(episode.done[-1])))
            start = end + 1
    return trajectories


def fall_metrics(predict: Predict, env: BaseModelBasedEnv, data: np.recarray,
                 horizons: Sequence[int] = (1, 10)) -> Dict[str, float]:
    """The per-stage form of the check, on [T, n_envs] real samples: n_falls (episodes ended by
    termination), and per horizon k, fall_recall_<k> (the share of falls the model reproduces open
    loop from k steps before) and fall_false_alarm_<k> (the share of the k-step windows before those
    where it ends the episode); nan without such windows. {} when no episode ended by termination."""
    trajectories = episodes_in_samples(data)
    n_falls = sum(t.terminated for t in trajectories)
    if not n_falls:
        return {}
    metrics: Dict[str, float] = {"n_falls": n_falls}
    for row in open_loop_table(predict, env, trajectories, horizons):
        k = row["k"]
        metrics[f"fall_recall_{k}"] = row["recalled"] / row["falls"] if row["falls"] else float("nan")
        metrics[f"fall_false_alarm_{k}"] = row["false_alarms"] / row["controls"] if row["controls"] else float("nan")
    return metrics


def imagined_episodes(predict: Predict, env: BaseModelBasedEnv, act: Actor, starts: np.ndarray,
                      max_steps: int, with_terms: bool = False) -> Episodes:
    """Closed-loop model episodes from `starts` [n, dim_state], all stepped together; an episode
    stops at the model's first termination (rewards and dones from `env.mb_step`) or at `max_steps`.
    `with_terms` (tasks that split their reward) also sums each of the reward's terms."""
    n = len(starts)
    states, alive = np.array(starts, dtype=np.float64), np.ones(n, dtype=bool)
    lengths, returns, terminated = np.zeros(n, dtype=int), np.zeros(n), np.zeros(n, dtype=bool)
    terms: Dict[str, np.ndarray] = {}
    for _ in range(max_steps):
        if not alive.any():
            break
        actions = act(states[alive])
        next_states = predict(states[alive], actions).astype(np.float64)
        env_actions = env.scale_action(actions)
        rewards, dones = env.mb_step(states[alive], env_actions, next_states)
        dones = np.asarray(dones, dtype=bool)
        returns[alive] += rewards
        if with_terms:
            for name, term in env.reward_terms(states[alive], env_actions, next_states).items():
                terms.setdefault(name, np.zeros(n))[alive] += term
        lengths[alive] += 1
        index = np.flatnonzero(alive)
        terminated[index[dones]] = True
        states[alive] = next_states
        alive[index[dones]] = False
    split = [{name: float(term[i]) for name, term in terms.items()} for i in range(n)] if with_terms else None
    return Episodes(lengths, returns, terminated, split)


def ends_within(predict: Predict, env: BaseModelBasedEnv, starts: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """For each window (start state [n, dim_state], actions [n, k, dim_action]): does the model's
    open-loop trajectory reach a state where the env's rule ends the episode within the k steps?"""
    states, ended = np.array(starts, dtype=np.float64), np.zeros(len(starts), dtype=bool)
    for j in range(actions.shape[1]):
        next_states = predict(states, actions[:, j]).astype(np.float64)
        ended |= env.mb_step(states, env.scale_action(actions[:, j]), next_states)[1]
        states = next_states
    return ended


def windows(trajectories: Sequence[Trajectory], k: int, before: bool) -> Tuple[np.ndarray, np.ndarray]:
    """The k-step windows of the terminated trajectories long enough to hold them: the last k steps,
    ending in the real termination, or (`before`) the k steps before those. (start states, actions)."""
    shift = 2 * k if before else k
    chosen = [t for t in trajectories if t.terminated and len(t.actions) >= shift]
    if not chosen:
        return np.zeros((0, 0)), np.zeros((0, k, 0))
    starts = np.array([t.states[len(t.actions) - shift] for t in chosen])
    actions = np.array([t.actions[len(t.actions) - shift:len(t.actions) - shift + k] for t in chosen])
    return starts, actions


def open_loop_table(predict: Predict, env: BaseModelBasedEnv, trajectories: Sequence[Trajectory],
                    horizons: Sequence[int]) -> List[Dict[str, int]]:
    """Per horizon k: falls (terminated trajectories of at least k steps), recalled (the model ends
    within the last k steps), controls (those of at least 2k steps) and false_alarms (the model ends
    within the k steps before)."""
    rows = []
    for k in horizons:
        row = {"k": k}
        for name, hits, before in (("falls", "recalled", False), ("controls", "false_alarms", True)):
            starts, actions = windows(trajectories, k, before)
            row[name] = len(starts)
            row[hits] = int(ends_within(predict, env, starts, actions).sum()) if len(starts) else 0
        rows.append(row)
    return rows


def describe(name: str, episodes: Episodes) -> str:
    n = len(episodes.lengths)
    sem = standard_error(episodes.returns, single=0.0)
    return (f"{name}: length {episodes.lengths.mean():.1f} mean ({episodes.lengths.min()}-{episodes.lengths.max()}), "
            f"{int(episodes.terminated.sum())} of {n} ended by termination; return {episodes.returns.mean():.1f} "
            f"± {sem:.1f}")


def format_table(rows: List[Dict[str, int]]) -> List[str]:
    def share(hits: int, total: int) -> str:
        return f"{hits}/{total} ({hits / total:.2f})" if total else "-"

    lines = ["     k  model ends in the k steps to a real fall  model ends in the k steps before (false alarm)"]
    lines += [f"  {r['k']:4d}  {share(r['recalled'], r['falls']):>40}  {share(r['false_alarms'], r['controls']):>46}"
              for r in rows]
    return lines


def check(path: str, config: Optional[str], n_episodes: int, horizons: Sequence[int], seed: int,
          terms: bool = False) -> Dict[str, object]:
    """Runs the check on a run directory (or a checkpoint and its config.yml), prints it, and returns
    {"real": Episodes, "imagined": Episodes, "open_loop": rows}; with `terms`, the real and the imagined
    returns split into the reward's terms too. Bad input raises ConfigError."""
    checkpoint, FLAGS = run_checkpoint(path, config, ("policy", "model"))
    rng = np.random.default_rng(seed)  # the env's seed and the action noise: `seed` alone fixes them
    env = env_class(FLAGS.env.id)(seed=int(rng.integers(2 ** 31)))
    if terms:
        check_splits_reward(env, FLAGS.env.id)
    max_steps = FLAGS.runner.max_steps
    with loaded_networks(FLAGS, checkpoint, env, seed, ("policy", "model")) as nets:
        act = nets.policy.actor(False, rng)
        trajectories = [real_trajectory(env, act, max_steps) for _ in range(n_episodes)]
        real = Episodes(np.array([len(t.actions) for t in trajectories]), np.array([t.ret for t in trajectories]),
                        np.array([t.terminated for t in trajectories]),
                        [trajectory_terms(env, t.states, t.actions) for t in trajectories] if terms else None)
        starts = np.array([t.states[0] for t in trajectories])
        imagined = imagined_episodes(nets.model.predict, env, act, starts, max_steps, terms)
        rows = open_loop_table(nets.model.predict, env, trajectories, horizons)

    print(f"{FLAGS.env.id}, {checkpoint}: {n_episodes} episodes of at most {max_steps} steps, the policy's sampled "
          f"actions (seed {seed})")
    print(describe("real    ", real))
    print(describe("imagined", imagined) + "  (the model, the same policy, the same start states)")
    if terms:
        print(f"real     return in terms (mean ± standard error): {terms_summary(real.terms)}")
        print(f"imagined return in terms (mean ± standard error): {terms_summary(imagined.terms)}")
    if not real.terminated.any():
        print("no real episode ended by termination: no falls to compare")
    else:
        print("open loop: the model started on the real state, fed the real actions")
        print("\n".join(format_table(rows)))
    return {"real": real, "imagined": imagined, "open_loop": rows}


USAGE = ("python -m slbo.run.termination RUN_DIR|CHECKPOINT.npz [--config CONFIG.yml] [--episodes N] "
         "[--horizons K ...] [--seed S] [--terms]")


def parser() -> argparse.ArgumentParser:
    p = ArgumentParser(prog="python -m slbo.run.termination", usage_line=USAGE,
                       description="Does a run's model end episodes where the real env does?")
    add_run_arguments(p)
    p.add_argument("--episodes", type=int, default=20, help="real episodes to play (default: 20)")
    p.add_argument("--horizons", type=int, nargs="+", default=list(DEFAULT_HORIZONS),
                   help=f"open-loop window lengths k (default: {' '.join(map(str, DEFAULT_HORIZONS))})")
    p.add_argument("--seed", type=int, default=0, help="seeds the env and the action noise (default: 0)")
    p.add_argument("--terms", action="store_true",
                   help="split the real and the imagined returns into the reward's terms (MBBL locomotion, humanoids)")
    return p


@command
def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parser().parse_args(argv)
    if args.episodes < 1 or args.seed < 0 or min(args.horizons) < 1:
        raise ConfigError(f"--episodes and every --horizons value must be >= 1 and --seed >= 0; got "
                          f"{args.episodes}, {args.horizons}, {args.seed}")
    check(args.path, args.config, args.episodes, sorted(set(args.horizons)), args.seed, args.terms)


if __name__ == "__main__":
    sys.exit(main())
