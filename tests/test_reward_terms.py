"""The reward split into named terms (forward velocity, control cost, height cost, alive bonus, ...):
on real MuJoCo rollouts the terms add up to the reward the env pays and the model's reward
recomputes; which tasks split theirs."""
from __future__ import annotations

import numpy as np
import pytest

from slbo.envs.formula import splits_reward
from slbo.partial_envs import REGISTRY, env_class

SPLIT = sorted(env_id for env_id in REGISTRY if splits_reward(env_class(env_id)(seed=0)))
# Each task's terms, in the order they are listed (and, but for the Fixed tasks' alive bonus, added).
NAMES = {
    "forward control height alive": ["MBBLHopper", "MBBLWalker2D", "MBBLAnt", "FixedHopper", "FixedWalker",
                                     "FixedAnt"],
    "forward control alive": ["MBBLHalfCheetah", "MBBLSwimmer", "HalfCheetahO01", "HalfCheetahO001",
                              "HalfCheetahA01", "HalfCheetahA003", "gym_slimhumanoid", "gym_nostopslimhumanoid"],
    "forward control alive contact": ["gym_humanoid"],
}

FORWARD_SCALE = {env_id: 0.25 / 0.015 for env_id in ["gym_humanoid", "gym_slimhumanoid", "gym_nostopslimhumanoid"]}


def clean_rollout(env, n: int, seed: int = 0):
    """(states, actions, next_states, rewards, dones, root x-velocities of the start states) of n random
    steps as the simulator saw them (the noise-free observations, the actions applied), resetting on done."""
    rng = np.random.default_rng(seed)
    env.reset()
    state = env.get_obs()
    data = []
    for _ in range(n):
        vx = env.data.qvel[0]
        _, reward, done, _, info = env.step(rng.uniform(env.action_space.low, env.action_space.high))
        data.append((state, info["applied_action"], info["clean_obs"], reward, done, vx))
        state = info["clean_obs"]
        if done:
            env.reset()
            state = env.get_obs()
    return [np.array(column) for column in zip(*data)]


def test_the_locomotion_tasks_and_humanoids_split_their_reward():
    assert SPLIT == sorted(sum(NAMES.values(), []))
    for env_id in ["HalfCheetah-v2", "Hopper", "Pendulum", "Reacher", "FixedSwimmer", "InvertedPendulum"]:
        assert not splits_reward(env_class(env_id)(seed=0)), env_id


@pytest.mark.parametrize("env_id", SPLIT)
def test_terms_add_up_to_the_reward_paid_and_recomputed(env_id):
    env = env_class(env_id)(seed=1)
    states, actions, next_states, rewards, dones, vx = clean_rollout(env, 300)
    terms = env.reward_terms(states, actions, next_states)
    assert " ".join(terms) == next(names for names, ids in NAMES.items() if env_id in ids)
    assert all(term.shape == (300,) for term in terms.values())
    total = sum(terms.values())
    np.testing.assert_allclose(total, rewards, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(total, env.mb_step(states, actions, next_states)[0], rtol=1e-12, atol=1e-12)
    # Forward: the start state's root x-velocity, times 0.25/0.015 for the humanoids.
    np.testing.assert_allclose(terms["forward"], FORWARD_SCALE.get(env_id, 1.0) * vx, rtol=1e-12, atol=1e-12)
    assert (terms["control"] <= 0).all() and (terms["control"] < 0).any()
    if "height" in terms:
        assert (terms["height"] <= 0).all()
    if env_id.startswith("Fixed"):  # alive bonus 1 − done: the step that ends the episode earns none
        assert dones.any()
        np.testing.assert_array_equal(terms["alive"], 1.0 - dones)
