"""Playing a trained policy on the real env: the returns of a few episodes (`python -m slbo.play`),
and videos of an episode, for a file or for wandb during training.

An episode runs here, with the policy's numpy actor; a video is rendered from the recorded states
by a child process (slbo.run.video), because TensorFlow and Mesa's OpenGL cannot share a process."""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import mujoco
import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from lunzi.config import ConfigError, MetaFLAGS
from lunzi.logger import logger
from slbo.envs import BaseModelBasedEnv
from slbo.envs.formula import splits_reward
from slbo.envs.mujoco.base import MujocoEnv
from slbo.networks import Networks, build_networks
from slbo.partial_envs import env_class
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.run.checkpoint import load_module
from slbo.run.headless_gl import choose_gl_backend
from slbo.run.preflight import check_checkpoint, expected_shapes
from slbo.run.video import check_renderable
from slbo.run.wandb_logger import WandbLogger
from slbo.utils.stats import standard_error
from slbo.utils.flags import parse_flags
from slbo.utils.runner import rescale
from slbo.utils.tf_utils import get_tf_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RENDER_TIMEOUT_S = 900


class Episode(NamedTuple):
    ret: float
    length: int
    qpos: Optional[np.ndarray]  # [length + 1, nq]: every state visited, when recorded
    qvel: Optional[np.ndarray]
    states: np.ndarray          # [length + 1, dim_state]: every observation
    actions: np.ndarray         # [length, dim_action], in the policy's [-1, 1] scale
    terminated: bool            # ended by the env's termination, not by `max_steps`


def play_episode(env: BaseModelBasedEnv, act: Callable[[np.ndarray], np.ndarray], max_steps: int,
                 record: bool = False) -> Episode:
    """One episode of at most `max_steps` steps, acting as the run's evaluation does (actions
    rescaled from [-1, 1]); with `record`, the MuJoCo state (qpos, qvel) of every state visited."""
    state, _ = env.reset()
    low, high = env.action_space.low, env.action_space.high
    qpos, qvel = [], []
    states, actions = [np.asarray(state, dtype=np.float64)], []
    ret, done = 0.0, False
    while True:
        if record:
            qpos.append(env.data.qpos.copy()), qvel.append(env.data.qvel.copy())
        if done or len(actions) == max_steps:
            break
        action = act(states[-1][None])[0]
        state, reward, done, _, _ = env.step(rescale(action, low, high))
        states.append(np.asarray(state, dtype=np.float64)), actions.append(action)
        ret += reward
    return Episode(ret, len(actions), np.array(qpos) if record else None, np.array(qvel) if record else None,
                   np.array(states), np.array(actions).reshape(-1, env.action_space.shape[0]), bool(done))


def root_track(env: BaseModelBasedEnv, qpos: np.ndarray) -> Tuple[str, np.ndarray]:
    """(name, [T, 3] world positions) of the model's root body (the world's first child: the torso of
    a walker, a humanoid or an ant) at each recorded state, from forward kinematics of its qpos."""
    data = mujoco.MjData(env.model)
    track = np.empty((len(qpos), 3))
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(env.model, data)
        track[t] = data.xpos[1]
    return mujoco.mj_id2name(env.model, mujoco.mjtObj.mjOBJ_BODY, 1) or "body 1", track


def describe_motion(name: str, track: np.ndarray) -> str:
    """Where the root body went in an episode: its travel along x and its height, first, last and lowest."""
    height = track[:, 2]
    return (f"  root body {name}: x moved {track[-1, 0] - track[0, 0]:+.2f} m, height {height[0]:.2f} -> "
            f"{height[-1]:.2f} m (lowest {height.min():.2f} m)")


def check_splits_reward(env: BaseModelBasedEnv, env_id: str) -> None:
    """Raises ConfigError (one line, for --terms) unless `env` states its reward as terms."""
    if not splits_reward(env):
        raise ConfigError(f"--terms: {env_id}'s reward is not stated as terms; the MBBL locomotion tasks "
                          f"(MBBLHalfCheetah, MBBLHopper, ..., the Fixed ones) and the humanoids are")


def trajectory_terms(env: BaseModelBasedEnv, states: np.ndarray, actions: np.ndarray) -> Dict[str, float]:
    """A trajectory's return (states [L + 1], actions [L] in the policy's [-1, 1] scale) split into its
    reward's terms, each summed over the trajectory; recomputed from the observations and actions, as
    the model's rewards are."""
    terms = env.reward_terms(states[:-1], env.scale_action(actions), states[1:])
    return {name: float(np.sum(term)) for name, term in terms.items()}


def describe_terms(terms: Dict[str, float]) -> str:
    return "  reward terms: " + ", ".join(f"{name} {value:+.1f}" for name, value in terms.items())


def terms_summary(episodes: Sequence[Dict[str, float]]) -> str:
    """Each term's mean ± standard error over the episodes."""
    parts = []
    for name in episodes[0]:
        values = [terms[name] for terms in episodes]
        sem = standard_error(values, single=0.0)
        parts.append(f"{name} {np.mean(values):+.1f} ± {sem:.1f}")
    return ", ".join(parts)


def render_episode(env_id: str, episode: Episode, video: str, width: int, height: int, max_frames: int,
                   backend: str) -> str:
    """Writes the recorded `episode` to `video` in a child process; returns its summary line.
    Raises ConfigError with the child's one-line error."""
    with tempfile.TemporaryDirectory(prefix="slbo-video-") as tmp:
        states = os.path.join(tmp, "states.npz")
        np.savez(states, env_id=env_id, qpos=episode.qpos, qvel=episode.qvel, width=width, height=height,
                 max_frames=max_frames)
        command = [sys.executable, "-m", "slbo.run.video", states, video]
        path = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p)
        try:
            result = subprocess.run(command, env={**os.environ, "MUJOCO_GL": backend, "PYTHONPATH": path},
                                    capture_output=True, text=True, timeout=RENDER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise ConfigError(f"rendering {video} took longer than {RENDER_TIMEOUT_S} s") from None
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"the renderer exited with code {result.returncode}"
        raise ConfigError(reason[len("error: "):] if reason.startswith("error: ") else reason)
    return result.stdout.strip().splitlines()[-1]


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """A command's run directory or checkpoint and its --config, as `resolve_run` reads them."""
    parser.add_argument("path", help="a run directory (config.yml + final.npz) or a checkpoint .npz (stage-T.npz)")
    parser.add_argument("--config", help="the run's config.yml, for a checkpoint file (default: the one beside it)")


def resolve_run(path: str, config: Optional[str]) -> Tuple[str, str]:
    """(checkpoint, config.yml) of a run directory, or of a checkpoint file and --config (default: the
    config.yml beside it, as in a run directory's stage-T.npz)."""
    if not os.path.exists(path):
        raise ConfigError(f"{path}: no such run directory or checkpoint")
    if os.path.isdir(path):
        config = config or os.path.join(path, "config.yml")
        checkpoint = os.path.join(path, "final.npz")
        missing = [name for name, p in (("config.yml", config), ("final.npz", checkpoint)) if not os.path.isfile(p)]
        if missing:
            raise ConfigError(f"{path} is not a run directory: it lacks {' and '.join(missing)} (give a log_dir of "
                              f"slbo/main.py, or a checkpoint .npz with --config)")
        return checkpoint, config
    if config is None:
        config = os.path.join(os.path.dirname(os.path.abspath(path)), "config.yml")
        if not os.path.isfile(config):
            raise ConfigError(f"{path} is a file with no config.yml beside it: a checkpoint needs --config (the "
                              f"config.yml of the run that wrote it)")
    if not os.path.isfile(config):
        raise ConfigError(f"--config {config}: no such file")
    return path, config


def run_checkpoint(path: str, config: Optional[str], modules: Sequence[str]) -> Tuple[str, MetaFLAGS]:
    """(checkpoint, the run's flags) of a run directory, or of a checkpoint file and --config, once the
    checkpoint is known to hold `modules` with this code's shapes."""
    checkpoint, config = resolve_run(path, config)
    FLAGS = parse_flags(["--config", config])
    shapes = expected_shapes(FLAGS)
    for module in modules:
        check_checkpoint("checkpoint", checkpoint, module, shapes[module])
    return checkpoint, FLAGS


@contextlib.contextmanager
def loaded_networks(FLAGS: MetaFLAGS, checkpoint: str, env: BaseModelBasedEnv, seed: int,
                    modules: Sequence[str]) -> Iterator[Networks]:
    """The run's networks in a graph and default session of their own, `modules` loaded from the checkpoint."""
    with tf.Graph().as_default(), nn.make_session(get_tf_config()):
        tf.set_random_seed(seed)  # the initial weights are overwritten; TF's op determinism needs a seed
        nets = build_networks(FLAGS, env.observation_space.shape[0], env.action_space.shape[0])
        tf.get_default_session().run(tf.global_variables_initializer())
        for module in modules:
            load_module(checkpoint, module, getattr(nets, module))
        yield nets


def play(path: str, config: Optional[str], n_episodes: int, deterministic: bool, seed: int,
         video: Optional[str] = None, width: int = 320, height: int = 240, max_frames: int = 0,
         motion: bool = False, terms: bool = False) -> List[float]:
    """Plays `n_episodes` real episodes of a run's policy (loaded with its state normaliser) and
    prints each return and their mean ± standard error; with `video`, writes the first episode
    there; with `motion`, prints under each episode where its root body went; with `terms`, its
    return split into the reward's terms, and at the end their means. Bad input raises
    ConfigError before any episode runs."""
    checkpoint, FLAGS = run_checkpoint(path, config, ("policy",))
    if video:
        check_renderable(FLAGS.env.id)
    backend = choose_gl_backend() if video else ""
    rng = np.random.default_rng(seed)  # the env's seed and the action noise: `seed` alone fixes them
    env = env_class(FLAGS.env.id)(seed=int(rng.integers(2 ** 31)))
    if motion and not isinstance(env, MujocoEnv):  # the classic-control tasks are numpy formulas
        raise ConfigError(f"--motion: {FLAGS.env.id} is not a MuJoCo task; it has no bodies to follow")
    if terms:
        check_splits_reward(env, FLAGS.env.id)
    with loaded_networks(FLAGS, checkpoint, env, seed, ("policy",)) as nets:
        act = nets.policy.actor(deterministic, rng)  # numpy, with the weights read once

    returns, episodes_terms = [], []
    for i in range(n_episodes):
        episode = play_episode(env, act, FLAGS.runner.max_steps, record=motion or (bool(video) and i == 0))
        print(f"episode {i + 1}: return {episode.ret:.2f} ({episode.length} steps)", flush=True)
        if motion:
            print(describe_motion(*root_track(env, episode.qpos)), flush=True)
        if terms:
            episodes_terms.append(trajectory_terms(env, episode.states, episode.actions))
            print(describe_terms(episodes_terms[-1]), flush=True)
        if video and i == 0:
            print(render_episode(FLAGS.env.id, episode, video, width, height, max_frames, backend), flush=True)
        returns.append(episode.ret)
    sem = np.std(returns, ddof=1) / np.sqrt(len(returns)) if len(returns) > 1 else 0.0
    print(f"return over {len(returns)} episodes: {np.mean(returns):.2f} ± {sem:.2f} (mean ± standard error; "
          f"{'mean' if deterministic else 'sampled'} actions, seed {seed})", flush=True)
    if terms:
        print(f"reward terms over {n_episodes} episodes (mean ± standard error): {terms_summary(episodes_terms)}",
              flush=True)
    return returns


class PolicyVideos:
    """With use_wandb=1 and ckpt.n_video_stages=N > 0: a video of the current policy logged to
    wandb after every N-th stage and at the end. It never touches the run's state: the episode
    runs on an env of its own, with a numpy Generator of its own (seeded by the run's seed and
    the stage), through the policy's numpy actor (no TF op added); a failure is a warning."""

    KEY, WIDTH, HEIGHT = "policy_video", 320, 240

    def __init__(self, FLAGS: MetaFLAGS, wandb: WandbLogger):
        self.every = FLAGS.ckpt.n_video_stages if FLAGS.use_wandb else 0
        self.env_id, self.max_steps, self.seed = FLAGS.env.id, FLAGS.runner.max_steps, FLAGS.seed
        self.wandb = wandb
        self.backend: Optional[str] = None

    def after_stage(self, stage: int, policy: GaussianMLPPolicy) -> None:
        if self.every and stage % self.every == 0:
            self.log(policy, stage, f"stage {stage}")

    def at_end(self, policy: GaussianMLPPolicy, n_stages: int) -> None:
        if self.every:
            self.log(policy, n_stages, "final")

    def log(self, policy: GaussianMLPPolicy, stage: int, caption: str) -> None:
        if self.wandb.run is None:
            return
        try:
            check_renderable(self.env_id)
            self.backend = self.backend or choose_gl_backend()
            rng = np.random.default_rng([self.seed, stage])
            env = env_class(self.env_id)(seed=int(rng.integers(2 ** 31)))
            episode = play_episode(env, policy.actor(rng=rng), self.max_steps, record=True)
            with tempfile.TemporaryDirectory(prefix="slbo-video-") as tmp:
                path = os.path.join(tmp, f"policy-stage-{stage}.mp4")
                render_episode(self.env_id, episode, path, self.WIDTH, self.HEIGHT, 0, self.backend)
                self.wandb.log_video(self.KEY, path, f"{caption}: return {episode.ret:.1f}")
        except (ConfigError, OSError) as e:  # no video, never a stopped run
            logger.warning("No policy video for %s: %s", caption, e)
