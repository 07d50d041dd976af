"""docs/results/return_bounds.py: hand-made policies that bound MountainCar's, InvertedPendulum's and
Acrobot's returns."""
from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

from slbo.partial_envs import make_env
from tests.conftest import ROOT, results_script

SCRIPT = os.path.join(ROOT, "docs", "results", "return_bounds.py")


def test_the_car_must_swing_left_first_and_the_best_swing_reaches_the_right_end():
    bounds = results_script("return_bounds")
    env = make_env("MountainCar")
    value, k = bounds.best_swing(env, seed=1, horizon=200)
    assert k > 0 and value > bounds.policy_return(env, 1, bounds.swing(0), 200) + 20  # pushing right alone stays low
    assert value == bounds.policy_return(env, 1, bounds.swing(k), 200)  # the same start state each time
    assert value > max(bounds.policy_return(env, 1, bounds.swing(j), 200) for j in (5, 40, 100))
    obs, _ = env.reset(seed=1)
    for t in range(200):
        obs, *_ = env.step(bounds.swing(k)(t, obs))
    assert obs[0] > 0.5 and value < 0.6 * 200  # at the right end; each step earns the position, at most 0.6


def test_tipping_the_pole_over_earns_less_than_any_constant_push_or_doing_nothing():
    bounds = results_script("return_bounds")
    env = make_env("InvertedPendulum")
    tip = [bounds.policy_return(env, seed, bounds.tip_over(3.0), 100) for seed in (1, 2, 3)]
    for force in (3.0, -3.0, 1.0, 0.0):
        pushed = [bounds.policy_return(env, seed, bounds.push(force), 100) for seed in (1, 2, 3)]
        assert np.mean(tip) <= np.mean(pushed)
    assert np.mean(tip) < np.mean([bounds.policy_return(env, seed, bounds.push(0.0), 100) for seed in (1, 2, 3)]) - 50
    assert all(-100 * 1.8 ** 2 < value < -100 * 1.5 ** 2 for value in tip)  # lying near 90° almost all episode
    # Pushing the other way (under the lean) keeps the pole closer to upright: the sign is the tipping one.
    def under(t, obs):
        return -bounds.tip_over(3.0)(t, obs)
    assert bounds.policy_return(env, 1, under, 100) > tip[0] + 50


def test_the_pd_controller_keeps_the_pole_upright():
    bounds = results_script("return_bounds")
    env = make_env("InvertedPendulum")
    for seed in (1, 2, 3):
        assert -0.01 < bounds.policy_return(env, seed, bounds.balance(3.0), 100) <= 0.0  # reward −angle²: 0 at best


def test_acrobot_state_is_read_back_from_the_observation():
    bounds = results_script("return_bounds")
    env = make_env("Acrobot")
    obs, _ = env.reset(seed=4)
    for _ in range(30):
        obs, *_ = env.step(np.array([1.0]))
    np.testing.assert_allclose(bounds.acrobot_state(obs), env.state, atol=1e-12)


def test_the_search_finds_the_best_torque_sequence_as_the_env_plays_it():
    bounds = results_script("return_bounds")
    env = make_env("Acrobot")

    def played(seed: int, torques) -> float:  # each torque held for 2 steps, on the env itself
        return bounds.policy_return(env, seed, lambda t, obs: np.array([torques[t // 2]]), 2 * len(torques))

    env.reset(seed=2)
    value, first = bounds.best_torques(env, env.state.copy(), 2, 3)
    every = {torques: played(2, torques) for torques in itertools.product(bounds.TORQUES, repeat=3)}
    best = max(every, key=every.get)
    assert abs(value - every[best]) < 1e-9 and first == best[0]
    assert value > min(every.values()) + 0.1  # the choice matters, even hanging near the bottom


def test_planning_swings_the_acrobot_up_where_no_torque_leaves_it_hanging():
    bounds = results_script("return_bounds")
    env = make_env("Acrobot")
    hanging = bounds.policy_return(env, 1, bounds.push(0.0), 100)
    planned = bounds.policy_return(env, 1, bounds.plan_ahead(env, 2, 5), 100)
    assert hanging < -1.9 * 100  # the tip stays near its lowest, −2 a step
    assert planned > hanging + 100  # a swing that raises the tip most of the time


@pytest.mark.parametrize("flag", ["--starts", "--acrobot-starts"])
def test_fewer_than_two_start_states_is_one_error_line_and_exit_2(flag):
    result = subprocess.run([sys.executable, SCRIPT, flag, "1"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "must be at least 2" in result.stderr.strip().splitlines()[-1]
    assert result.stderr.count("\n") == 1 and result.stdout == ""
