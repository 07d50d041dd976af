"""Run diagnostics (slbo/run/diagnostics.py): logged per stage with finite values, computed right on
hand-made cases, and without changing a single number of the run."""
from __future__ import annotations

import glob
import math
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.partial_envs import make_env
from slbo.report import drift_keys, late_diagnostics, load_run
from slbo.run.diagnostics import Diagnostics, layout_groups, model_errors, reward_errors
from slbo.v_function.real_value import RealValueFit, return_horizon, returns_to_go
from slbo.utils.flags import parse_flags
from tests.conftest import TINY, assert_same_checkpoints, metric_records, read_log, run_main

DECLARED = ["HalfCheetah", "Hopper", "Walker2D", "Ant", "Swimmer", "Humanoid", "MBBLHalfCheetah", "MBBLHopper",
            "MBBLWalker2D", "MBBLAnt", "MBBLSwimmer", "FixedHopper", "FixedWalker", "FixedAnt"]


def transitions(env, n: int = 60):
    """(states, env actions, next states) of `n` random steps, resetting after a done."""
    states, actions, next_states = [], [], []
    state = env.reset()[0]
    for _ in range(n):
        action = env.action_space.sample()
        next_state, _, done, _, info = env.step(action)
        states.append(state), actions.append(info.get("applied_action", action))
        next_states.append(info.get("clean_obs", next_state))
        state = env.reset()[0] if done else next_state
    return np.array(states), np.array(actions), np.array(next_states)


@pytest.mark.parametrize("env_id", DECLARED)
def test_declared_layout_partitions_the_observation_and_names_every_coordinate_the_reward_reads(env_id):
    np.random.seed(0)
    env = make_env(env_id)
    layout = env.observation_layout()
    dim = env.observation_space.shape[0]
    assert sorted(i for group in layout.groups.values() for i in group) == list(range(dim))
    states, actions, next_states = transitions(env)
    rewards = env.mb_step(states, actions, next_states)[0]
    others = np.setdiff1d(np.arange(dim), layout.reward)
    moved = states.copy(), next_states.copy()
    for x in moved:
        x[:, others] += 1e-3 * np.random.randn(len(x), len(others))
    np.testing.assert_allclose(env.mb_step(moved[0], actions, moved[1])[0], rewards, atol=1e-12)
    for index in layout.reward:
        moved = states.copy(), next_states.copy()
        for x in moved:
            x[:, index] += 10.0  # far enough to cross a termination threshold too
        assert np.abs(env.mb_step(moved[0], actions, moved[1])[0] - rewards).max() > 1e-3, index


def test_env_without_a_layout_falls_back_to_one_group_per_coordinate():
    np.random.seed(0)
    layout = make_env("Pendulum").observation_layout()
    assert layout.groups == {"obs0": [0], "obs1": [1], "obs2": [2]} and layout.reward == []
    assert list(layout_groups(layout, 3)) == ["all", "obs0", "obs1", "obs2"]


def test_model_error_is_zero_for_the_true_next_state_and_confined_to_the_perturbed_group():
    np.random.seed(0)
    env = make_env("HalfCheetah")  # rllab layout: qpos 9, qvel 9, com 3, comvel 3; reward reads comvel_x
    groups = layout_groups(env.observation_layout(), 24)
    states, actions, next_states = (x.reshape(20, 3, -1) for x in transitions(env))
    policy_actions = (actions - env.action_space.low) / (env.action_space.high - env.action_space.low) * 2 - 1
    continues = np.ones((20, 3), dtype=bool)
    diff_std = np.full(24, 2.0)
    exact = model_errors(next_states, next_states.copy(), diff_std, groups)
    assert set(exact) == {f"model_{kind}_{g}" for kind in ("rmse", "nrmse") for g in
                          ("all", "qpos", "qvel", "com", "comvel", "reward")}
    assert all(value == 0 for value in exact.values())
    assert reward_errors(env, states, policy_actions, next_states, next_states.copy(), continues) == \
        {"reward_error": 0.0, "reward_bias": 0.0}

    predicted = next_states.copy()
    predicted[..., 21] += 0.5  # comvel_x
    errors = model_errors(next_states, predicted, diff_std, groups)
    assert errors["model_rmse_reward"] == pytest.approx(0.5)
    assert errors["model_rmse_comvel"] == pytest.approx(0.5 / math.sqrt(3))
    assert errors["model_rmse_all"] == pytest.approx(0.5 / math.sqrt(24))
    assert errors["model_nrmse_reward"] == pytest.approx(0.25)  # in units of the change's std (2)
    assert errors["model_rmse_qpos"] == errors["model_rmse_qvel"] == errors["model_rmse_com"] == 0
    # rllab's reward reads the end state's comvel_x: every reward rises by the perturbation.
    rewards = reward_errors(env, states, policy_actions, next_states, predicted, continues)
    assert rewards["reward_error"] == pytest.approx(0.5) and rewards["reward_bias"] == pytest.approx(0.5)

    predicted = next_states.copy()
    predicted[..., 3] -= 0.5  # a joint angle: no reward reads it
    assert model_errors(next_states, predicted, diff_std, groups)["model_rmse_reward"] == 0
    assert reward_errors(env, states, policy_actions, next_states, predicted, continues)["reward_error"] \
        == pytest.approx(0, abs=1e-12)


def test_reward_error_counts_start_state_rewards_only_where_the_episode_goes_on():
    np.random.seed(0)
    env = make_env("MBBLHalfCheetah")  # reward vx(s) − 0.1·Σa²: the start state's root x-velocity
    assert env.observation_layout().reward == [8]
    states, actions, next_states = (x.reshape(30, 2, -1) for x in transitions(env))
    policy_actions = (actions - env.action_space.low) / (env.action_space.high - env.action_space.low) * 2 - 1
    continues = np.ones((30, 2), dtype=bool)
    continues[9, 0] = continues[19, 1] = False  # two episode ends
    predicted = next_states.copy()
    predicted[..., 8] -= 0.3
    errors = reward_errors(env, states, policy_actions, next_states, predicted, continues)
    # Each predicted state lowers the reward of the next transition of its episode by 0.3; the last
    # row and the two episode ends have no next transition.
    n_changed = 29 * 2 - 2
    assert errors["reward_error"] == pytest.approx(0.3 * n_changed / 60)
    assert errors["reward_bias"] == pytest.approx(-0.3 * n_changed / 60)


def test_returns_to_go_end_at_dones_timeouts_and_the_last_row():
    assert return_horizon(0.5) == 7 and return_horizon(1.0) == math.inf
    rewards = np.ones((12, 1))
    dones, timeouts = np.zeros((12, 1), dtype=bool), np.zeros((12, 1), dtype=bool)
    dones[2] = True
    returns, full = returns_to_go(rewards, dones, timeouts, 0.5)
    np.testing.assert_allclose(returns[:3, 0], [1.75, 1.5, 1.0])  # ended by a done: exact
    np.testing.assert_allclose(returns[3:, 0], [(1 - 0.5 ** (12 - t)) / 0.5 for t in range(3, 12)])
    # Cut by the end of the data: full only with at least 7 steps ahead.
    assert full[:, 0].tolist() == [True] * 3 + [True] * 3 + [False] * 6
    timeouts[5] = True
    returns, full = returns_to_go(rewards, dones, timeouts, 0.5)
    np.testing.assert_allclose(returns[3:6, 0], [1.75, 1.5, 1.0])
    assert not full[3:, 0].any()


def test_real_value_fit_regresses_returns_on_states():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(3000, 3))
    returns = 50 + 20 * states[:, 0] - 10 * states[:, 1] ** 2
    with tf.Graph().as_default(), nn.make_session() as session:
        tf.set_random_seed(0)
        fit = RealValueFit(3)
        session.run(tf.global_variables_initializer())
        fit.fit(states[:2000], returns[:2000], rng)
        rmse = np.sqrt(np.mean((fit.values(states[2000:]) - returns[2000:]) ** 2))
    assert rmse < 0.4 * returns.std()  # > 84% of the variance explained on new states (a mean scores 1.0)


def test_diagnostics_are_due_every_n_stages_from_stage_1_and_at_the_end():
    flags = parse_flags(["-c", TINY, "-s", "diag.every=2", "slbo.n_stages=5"])
    diagnostics = Diagnostics(flags, 24, 6)
    assert [t for t in range(6) if diagnostics.due(t)] == [2, 4, 5]


def test_negative_frequency_is_bad_input(tmp_path):
    result = run_main(["-c", TINY, "-s", "diag.every=-1", f"log_dir={tmp_path / 'run'}"])
    assert result.returncode == 2 and result.stderr.strip() == "error: diag.every must be >= 0, got -1"
    assert not (tmp_path / "run").exists()


def test_tiny_run_logs_finite_diagnostics_and_the_same_run_without_them_is_bit_identical(tmp_path):
    args = ["-c", TINY, "-s", "algorithm=va", "model.value_update_interval=3", "runner.gamma=0.9", "use_wandb=1"]
    env = {**os.environ, "WANDB_MODE": "offline"}
    for every in (1, 0):
        result = run_main([*args, f"diag.every={every}", f"log_dir={tmp_path / str(every)}"], env=env)
        assert result.returncode == 0, result.stderr[-3000:]
    on, off = str(tmp_path / "1"), str(tmp_path / "0")

    records = metric_records(on, "diagnostics")
    assert [r["stage"] for r in records] == [1, 2]  # stage 0 has nothing trained; 2 is the final evaluation
    groups = ("all", "qpos", "qvel", "com", "comvel", "reward")
    expected = {"stage", "return_real", "return_imagined", "return_gap", "return_ratio", "reward_error",
                "reward_bias", "va_error_vfn", "vfn_std", "n_value_states", "value_scale", "vfn_bias", "vfn_rmse",
                "vreal_bias", "vreal_rmse", "va_error_vreal", "vreal_std",
                *(f"model_{kind}_{g}" for kind in ("rmse", "nrmse") for g in groups),
                # 100-step episodes: open-loop windows of 10 and 100 steps, none of 1000
                *(f"rollout_{kind}_{k}" for kind in ("error", "at_clip") for k in (10, 100))}
    for record in records:
        assert set(record) == expected
        assert all(math.isfinite(value) for value in record.values())
        assert 0 < record["rollout_error_10"] and all(0 <= record[f"rollout_at_clip_{k}"] <= 1 for k in (10, 100))
    stages = {m["stage"]: m for m in metric_records(on, "stage") + metric_records(on, "final")}
    assert [r["return_real"] for r in records] == [stages[t]["return mean Real Env"] for t in (1, 2)]
    assert [r["return_imagined"] for r in records] == [stages[t]["return mean Virt Env"] for t in (1, 2)]
    # the report reads each evaluation's episode counts from main.py's log lines: 400 steps of 100-step
    # episodes on 4 real envs, and on the model's 4 (plan.n_envs = 400 // 100)
    run = load_run(on)
    assert run.episodes == {t: {"Real Env": 4, "Virt Env": 4} for t in (0, 1, 2)}
    late = late_diagnostics(run)
    assert (late.first_stage, late.last_stage, late.records, late.episodes) == (1, 2, 2, (4.0, 4.0))
    # and the rollout drift each stage logged, at the horizons it had windows for
    assert drift_keys([late]) == [f"rollout_{kind}_{k}" for k in (10, 100) for kind in ("error", "at_clip")]
    assert late.medians["rollout_error_100"] == float(np.median([r["rollout_error_100"] for r in records]))
    wandb_files = glob.glob(os.path.join(on, "wandb", "offline-run-*", "run-*.wandb"))
    assert len(wandb_files) == 1
    with open(wandb_files[0], "rb") as f:
        assert b"diagnostics/va_error_vreal" in f.read()

    def run_metrics(log_dir: str) -> list:
        return [(r["tag"], r["metrics"]) for r in read_log(log_dir) if r["level"] == "metrics"
                and r["tag"] != "diagnostics"]
    assert not metric_records(off, "diagnostics")
    assert run_metrics(on) == run_metrics(off)
    assert_same_checkpoints(on, off, ["final.npz", "stage-1.npz"])


def test_terminating_task_logs_how_many_real_falls_the_model_reproduces(tmp_path):
    log_dir = str(tmp_path / "run")
    result = run_main(["-c", TINY, "-s", "env.id=FixedHopper", "slbo.n_stages=1", f"log_dir={log_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    run = load_run(log_dir)
    records = metric_records(log_dir, "diagnostics")
    assert [r["stage"] for r in records] == [1]
    for record in records:
        # random-ish actions topple the hopper within ~20 steps: falls in the held-out half (2 of 4 envs)
        assert 1 <= record["n_falls"] <= run.episodes[record["stage"]]["Real Env"]
        assert 0 <= record["fall_recall_1"] <= 1
        for key in ("fall_false_alarm_1", "fall_recall_10", "fall_false_alarm_10"):
            assert record[key] == "nan" or 0 <= record[key] <= 1  # nan: no fall (or window) that long
    # the report's diagnostics section reads the same keys
    late = late_diagnostics(run)
    for key in ("fall_recall_10", "fall_false_alarm_10"):
        logged = float(records[0][key])  # one diagnosed stage: its value is the median
        assert math.isnan(late.medians[key]) if math.isnan(logged) else late.medians[key] == logged
