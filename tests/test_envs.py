"""Every env id: spaces, seeding, verify(), numpy/TF reward agreement; the physics options and
observation layouts of the references; configs; bad input."""
from __future__ import annotations

import glob
import os
import subprocess
import sys

import gymnasium
import mujoco
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from lunzi.config import ConfigError
from slbo.envs.mbbl.locomotion import FixedHopperEnv
from slbo.envs.mbbl.point_mass import PointMassEnv
from slbo.partial_envs import REGISTRY, env_class, env_family, make_env
from slbo.utils.flags import parse_flags
from tests.conftest import ROOT

IDS = sorted(REGISTRY)


def rollout(env, n: int, seed: int = 0):
    """(states, actions, next_states, rewards, dones) of n random steps, resetting on done."""
    rng = np.random.default_rng(seed)
    low, high = env.action_space.low, env.action_space.high
    obs, _ = env.reset()
    data = []
    for _ in range(n):
        action = rng.uniform(low, high).astype(np.float32)
        next_obs, reward, done, truncated, _ = env.step(action)
        assert isinstance(reward, float) and isinstance(done, bool) and truncated is False
        data.append((obs, action, next_obs, reward, done))
        obs = env.reset()[0] if done else next_obs
    return [np.array(column) for column in zip(*data)]


@pytest.mark.parametrize("env_id", IDS)
def test_env(sess, env_id):
    env = env_class(env_id)(seed=1)
    assert isinstance(env.observation_space, gymnasium.spaces.Box)
    assert isinstance(env.action_space, gymnasium.spaces.Box)
    states, actions, next_states, rewards, dones = rollout(env, 200)
    assert next_states.shape == (200, env.observation_space.shape[0])
    assert np.isfinite(next_states).all() and np.isfinite(rewards).all()
    assert env.verify(n=2000) < 1e-4

    # The TF reward is the numpy one, on seen and on perturbed (imagined-like) transitions.
    rng = np.random.default_rng(0)
    cases = [(states, actions, next_states),
             (states + rng.normal(size=states.shape), actions * 1.5, next_states + rng.normal(size=states.shape))]
    inputs = [tf.placeholder(tf.float64, [None, x.shape[1]]) for x in (states, actions, next_states)]
    rewards_tf, dones_tf = env.mb_step_tf(*inputs)
    assert rewards_tf.dtype == tf.float32 and dones_tf.dtype == tf.bool
    for case in cases:
        rewards_np, dones_np = env.mb_step(*case)
        got_rewards, got_dones = sess.run([rewards_tf, dones_tf], dict(zip(inputs, case)))
        np.testing.assert_allclose(got_rewards, rewards_np, rtol=1e-6, atol=1e-5)
        np.testing.assert_array_equal(got_dones, dones_np)
    # As the fused model rollouts run it: float32, inside an XLA cluster.
    case32 = [x.astype(np.float32) for x in cases[0]]
    inputs32 = [tf.placeholder(tf.float32, x.shape) for x in case32]
    compiled = tf.xla.experimental.compile(lambda *xs: list(env.mb_step_tf(*xs)), inputs32)
    got_rewards, got_dones = sess.run(compiled, dict(zip(inputs32, case32)))
    rewards_np, dones_np = env.mb_step(*case32)
    np.testing.assert_allclose(got_rewards, rewards_np, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(got_dones, dones_np)

    # The same seed gives the same episode (noise included); another seed another one.
    first, again, other = (env_class(env_id)(seed=s) for s in (7, 7, 8))
    a, b, c = rollout(first, 30, seed=3), rollout(again, 30, seed=3), rollout(other, 30, seed=3)
    np.testing.assert_array_equal(a[2], b[2])
    np.testing.assert_array_equal(a[3], b[3])
    assert not np.array_equal(a[2], c[2])
    np.testing.assert_array_equal(first.reset(seed=5)[0], other.reset(seed=5)[0])

    with pytest.raises(ValueError, match=r"action must have shape"):
        env.step(np.zeros(env.action_space.shape[0] + 1))


# (timestep, integrator, physics steps per action) of each reference.
PHYSICS = {
    "HalfCheetah": (0.01, "EULER", 1), "Hopper": (0.02, "RK4", 1), "Walker2D": (0.005, "EULER", 1),
    "Ant": (0.02, "RK4", 1), "Swimmer": (0.001, "EULER", 50), "Humanoid": (0.01, "RK4", 1),
    "MBBLHalfCheetah": (0.01, "EULER", 5), "MBBLHopper": (0.002, "RK4", 4), "MBBLWalker2D": (0.002, "RK4", 4),
    "MBBLAnt": (0.01, "RK4", 5), "MBBLSwimmer": (0.01, "RK4", 4), "FixedSwimmer": (0.01, "RK4", 4),
    "PointMass": (0.02, "EULER", 5), "Reacher": (0.01, "RK4", 2), "InvertedPendulum": (0.02, "RK4", 2),
    "gym_humanoid": (0.003, "RK4", 5),
}


@pytest.mark.parametrize("env_id", sorted(PHYSICS))
def test_physics_options(env_id):
    env = env_class(env_id)(seed=0)
    timestep, integrator, frame_skip = PHYSICS[env_id]
    assert env.model.opt.timestep == timestep
    assert env.model.opt.integrator == getattr(mujoco.mjtIntegrator, f"mjINT_{integrator}")
    assert env.FRAME_SKIP == frame_skip


@pytest.mark.parametrize("env_id, bound", [
    ("Hopper", [200] * 3), ("Walker2D", [150, 100, 100] * 2), ("Ant", [150] * 8), ("Swimmer", [50] * 2),
    ("Humanoid", [100] * 6 + [20] * 4), ("HalfCheetah", [1] * 6),
])
def test_rllab_action_bounds_and_unit_gears(env_id, bound):
    env = env_class(env_id)(seed=0)
    np.testing.assert_array_equal(env.action_space.high, bound)
    np.testing.assert_array_equal(env.action_space.low, -np.array(bound))
    if env_id != "HalfCheetah":  # rllab's cheetah keeps its gears; the others drive joints directly
        np.testing.assert_array_equal(env.model.actuator_gear[:, 0], 1.0)


def test_rllab_observation_layouts():
    for env_id in ("Hopper", "Walker2D"):  # rllab's root order: rootz, rootx, rooty
        env = env_class(env_id)(seed=0)
        assert [env.model.joint(i).name for i in range(3)] == ["rootz", "rootx", "rooty"]
        assert abs(env.reset()[0][0] - 1.25) < 0.05
    ant = env_class("Ant")(seed=0)  # starts from the XML's init_qpos (torso at 0.55 m, legs bent)
    obs = ant.reset()[0]
    assert abs(obs[2] - 0.55) < 0.05 and abs(obs[8] - 1.0) < 0.05
    np.testing.assert_allclose(obs[29:38], ant.data.xmat[ant.body_id("torso")])


def test_verify_catches_a_wrong_reward_or_done():
    class LaggedReward(FixedHopperEnv):  # scores the end state instead of the start state
        def reward_done(self, ops, states, actions, next_states):
            return super().reward_done(ops, next_states, actions, next_states)

    class EarlyDone(FixedHopperEnv):  # terminates on the start state
        def reward_done(self, ops, states, actions, next_states):
            rewards, _ = super().reward_done(ops, states, actions, next_states)
            return rewards, super().reward_done(ops, states, actions, states)[1]

    with pytest.raises(AssertionError, match="reward differs"):
        LaggedReward(seed=0).verify(n=300)
    with pytest.raises(AssertionError, match="dones"):
        EarlyDone(seed=0).verify(n=300)


@pytest.mark.parametrize("env_id", ["HalfCheetahO01", "PendulumO01", "CartPoleO001", "HalfCheetahA01"])
def test_noise_is_real_and_rewards_are_of_the_noise_free_transition(env_id):
    env = env_class(env_id)(seed=0)
    states, actions, next_states, rewards, _ = rollout(env, 300)
    # On what the agent saw and commanded, the known reward is off by the noise ...
    assert np.abs(env.mb_step(states, actions, next_states)[0] - rewards).max() > 1e-3
    # ... on the noise-free transition (info "clean_obs", "applied_action") it is exact.
    assert env.verify(n=500) < 1e-4


def test_point_mass_reward():
    env = PointMassEnv(seed=0)
    env.reset()
    env.data.qpos[:], env.data.qvel[:] = 0.0, 0.0
    assert env.step(np.zeros(2, np.float32))[1] == pytest.approx(1.0)
    assert env.step(np.full(2, 0.5, np.float32))[1] == pytest.approx(0.8)
    env.data.qpos[:], env.data.qvel[:] = [0.02, 0.0], 0.0  # one radius beyond the target: 0.1
    assert env.step(np.zeros(2, np.float32))[1] == pytest.approx(0.1, rel=1e-6)


def test_families():
    assert {env_family(i) for i in ("HalfCheetah", "Hopper-v2", "Humanoid")} == {"rllab"}
    assert {env_family(i) for i in ("MBBLHalfCheetah", "Pendulum", "gym_humanoid", "FixedAnt")} == {"MBBL"}


def test_unknown_id_lists_valid_ids_nearest_first():
    with pytest.raises(ConfigError, match=r"unknown env.id 'Hoper'; valid ids \(nearest first\): Hopper, "):
        make_env("Hoper")


SEED_CONFIGS = [
    "env_tingwu/gym_acrobot.yml", "env_tingwu/gym_ant.yml", "env_tingwu/gym_cartpole.yml",
    "env_tingwu/gym_cartpoleO001.yml", "env_tingwu/gym_cartpoleO01.yml", "env_tingwu/gym_cheetah.yml",
    "env_tingwu/gym_cheetahA003.yml", "env_tingwu/gym_cheetahA01.yml", "env_tingwu/gym_cheetahO001.yml",
    "env_tingwu/gym_cheetahO01.yml", "env_tingwu/gym_fant.yml", "env_tingwu/gym_fhopper.yml",
    "env_tingwu/gym_fswimmer.yml", "env_tingwu/gym_fwalker2d.yml", "env_tingwu/gym_hopper.yml",
    "env_tingwu/gym_humanoid.yml", "env_tingwu/gym_invertedPendulum.yml", "env_tingwu/gym_mountain.yml",
    "env_tingwu/gym_nostopslimhumanoid.yml", "env_tingwu/gym_pendulum.yml", "env_tingwu/gym_pendulumO001.yml",
    "env_tingwu/gym_pendulumO01.yml", "env_tingwu/gym_point_mass.yml", "env_tingwu/gym_reacher.yml",
    "env_tingwu/gym_slimhumanoid.yml", "env_tingwu/gym_swimmer.yml", "env_tingwu/gym_walker2d.yml",
    "envs/ant.yml", "envs/half_cheetah.yml", "envs/half_cheetah_short.yml", "envs/hopper.yml",
    "envs/humanoid.yml", "envs/swimmer.yml", "envs/walker.yml",
]


def test_every_env_config_parses_and_every_id_has_one(tmp_path):
    paths = sorted(glob.glob(os.path.join(ROOT, "configs", "env_tingwu", "*.yml"))
                   + glob.glob(os.path.join(ROOT, "configs", "envs", "*.yml")))
    assert {os.path.relpath(p, os.path.join(ROOT, "configs")) for p in paths} >= set(SEED_CONFIGS)
    named = set()
    for path in paths:
        flags = parse_flags(["-c", os.path.join(ROOT, "configs", "algos", "slbo.yml"), path,
                             "-s", f"log_dir={tmp_path}"])
        horizon = env_class(flags.env.id).max_episode_steps
        assert horizon is None or max(flags.runner.max_steps, flags.plan.max_steps) <= horizon, path
        named.add(flags.env.id)
    assert named == set(REGISTRY)


def test_listing_shows_every_id_with_dims():
    result = subprocess.run([sys.executable, "-m", "slbo.envs"], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:5] for line in result.stdout.splitlines()[1:]}
    assert set(rows) == set(REGISTRY)
    assert rows["Ant"] == ["rllab", "44", "8", "None"]
    assert rows["gym_humanoid"] == ["MBBL", "376", "17", "1000"]
    assert rows["Reacher"] == ["MBBL", "11", "2", "50"]
