"""`python -m slbo.run.rollout_error`: how a model's error grows over open-loop steps, measured against
CartPole's own numpy physics (an exact model, a model with a wrong force, one that blows up), a real
DynamicsModel that drifts into its own clip, and real run directories."""
from __future__ import annotations

import contextlib
import math
import os
from typing import Iterator

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from lunzi.dataset import gen_dtype
from slbo.dynamics_model import DynamicsModel
from slbo.partial_envs import env_class
from slbo.run.playback import play_episode
from slbo.run.rollout_error import drift_metrics, format_table, main, rollout_errors
from slbo.utils.normalizer import Normalizers
from tests.test_play import make_run

HORIZONS = (1, 10, 50, 200)


@pytest.fixture(scope="module")
def cartpole():
    env = env_class("CartPole")(seed=3)
    rng = np.random.default_rng(0)
    episodes = [play_episode(env, lambda s: rng.uniform(-1, 1, (len(s), 1)), 200) for _ in range(3)]
    return env, episodes


def physics(env, force: float):
    """CartPole's dynamics as a batch model, with the motor's force scaled by `force`."""
    cls = type(env)

    def predict(states, actions):
        stepper = cls(seed=0)
        stepper.FORCE = cls.FORCE * force
        return np.array([stepper.dynamics(s, env.scale_action(a)) for s, a in zip(states, actions)])
    return predict


def test_an_exact_model_has_no_error_at_any_horizon(cartpole):
    env, episodes = cartpole
    rows = rollout_errors(physics(env, 1.0), env, episodes, HORIZONS, stride=50)
    assert [r["k"] for r in rows] == list(HORIZONS)
    assert [r["windows"] for r in rows] == [12, 12, 12, 3]  # a window every 50 of 200 steps; k = 200 only from 0
    for r in rows:
        assert r["state_error"] == pytest.approx(0, abs=1e-12) and r["lost"] == 0
        assert r["reward_bias"] == pytest.approx(0, abs=1e-12) and r["reward_error"] == pytest.approx(0, abs=1e-12)
        assert math.isnan(r["at_clip"])  # no clip to test without a model's own
    assert format_table(rows, 1.0)[1].split()[5] == "-"


def test_a_wrong_force_gives_an_error_that_grows_with_the_horizon(cartpole):
    env, episodes = cartpole
    rows = rollout_errors(physics(env, 1.2), env, episodes, HORIZONS, stride=50)
    errors = [r["state_error"] for r in rows]
    assert errors[0] > 0 and errors == sorted(errors) and errors[-1] > 10 * errors[0]
    assert rows[0]["reward_error"] == 0  # CartPole's reward reads the start state: one model step changes none
    assert rows[-1]["reward_error"] > 0 and rows[-1]["lost"] >= rows[0]["lost"]


def test_a_model_that_blows_up_is_lost_without_an_exception(cartpole):
    env, episodes = cartpole
    rows = rollout_errors(lambda s, a: s * 1e80, env, episodes, HORIZONS, stride=50)
    assert rows[0]["state_error"] > 1 and rows[-1]["lost"] == 1.0 and math.isinf(rows[-1]["state_error"])
    assert "of windows" in format_table(rows, 1.0)[-1]  # rewards that are not finite are counted, not averaged


def test_a_horizon_longer_than_every_episode_has_no_windows(cartpole):
    env, episodes = cartpole
    rows = rollout_errors(physics(env, 1.0), env, episodes, (5, 500), stride=50)
    assert rows[1]["windows"] == 0 and math.isnan(rows[1]["state_error"])
    assert format_table(rows, 1.0)[-1].strip() == "500        0  - (no episode that long)"


@contextlib.contextmanager
def drifting_model(states: np.ndarray, drift: float) -> Iterator[DynamicsModel]:
    """A real DynamicsModel of CartPole, normalised to `states`, whose network predicts nothing, so each
    step adds the difference normaliser's mean: `drift` standard deviations to the cart's position."""
    with tf.Graph().as_default(), nn.make_session():
        tf.set_random_seed(0)  # the initial weights are overwritten; TF's op determinism (set by other tests) needs a seed
        normalizers = Normalizers(1, 4)
        model = DynamicsModel(4, 1, normalizers, [8])
        tf.get_default_session().run(tf.global_variables_initializer())
        nn.assign_values(model.net.parameters(), [np.zeros(p.shape.as_list()) for p in model.net.parameters()])
        nn.assign_values([normalizers.state.op_mean, normalizers.state.op_std], [states.mean(0), states.std(0)])
        step = drift * states.std(0) * np.array([1.0, 0, 0, 0])
        nn.assign_values([normalizers.diff.op_mean, normalizers.diff.op_std], [step, np.ones(4)])
        yield model


def test_a_rollout_that_runs_into_the_models_clip_is_counted_at_clip(cartpole):
    env, episodes = cartpole
    with drifting_model(np.concatenate([e.states for e in episodes]), drift=5) as model:
        rows = rollout_errors(model.predict, env, episodes, (1, 10, 50), stride=50, at_clip=model.at_clip)
    # 5 standard deviations a step: about 50 from the start after 10 steps, the ±100 clip long before 50
    assert [r["at_clip"] for r in rows] == [0.0, 0.0, 1.0]
    # one coordinate of four pinned about 100 from the real one: an RMSE of about 100 / √4
    assert rows[1]["lost"] == 1.0 and rows[2]["state_error"] == pytest.approx(50, rel=0.1)
    assert format_table(rows, 1.0)[-1].split()[5] == "1.00"


def as_samples(episodes) -> np.recarray:
    """[T, n_envs] samples as a Runner collects them, one episode per env, ended by its termination
    or its time limit; a shorter episode's column is zero after its end."""
    length = max(e.length for e in episodes)
    data = np.zeros((length, len(episodes)), dtype=gen_dtype(4, 1)).view(np.recarray)
    for j, e in enumerate(episodes):
        for i in range(e.length):
            last = i == e.length - 1
            data[i, j] = (e.states[i], e.actions[i], e.states[i + 1], 1.0, last and e.terminated, last and not e.terminated)
    return data


def test_the_per_stage_form_measures_the_episodes_that_end_inside_the_samples(cartpole):
    env, episodes = cartpole
    data = as_samples(episodes)
    exact = drift_metrics(physics(env, 1.0), env, data)
    assert exact == {"rollout_error_10": 0.0, "rollout_error_100": 0.0}  # no clip given; no 1000-step episode
    with drifting_model(np.concatenate([e.states for e in episodes]), drift=5) as model:
        drifting = drift_metrics(model.predict, env, data, model.at_clip)
    assert drifting["rollout_at_clip_10"] == 0.0 and drifting["rollout_at_clip_100"] == 1.0
    assert drifting["rollout_error_100"] > drifting["rollout_error_10"] > 1
    assert drift_metrics(physics(env, 1.0), env, data[:3]) == {}  # no episode ends in 3 steps


@pytest.fixture(scope="module")
def hopper_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("rollout") / "run", env_id="Hopper")


def test_command_line_on_a_run_directory_and_its_checkpoint(hopper_run, capsys):
    argv = ["--episodes", "2", "--horizons", "1", "5", "--stride", "4", "--seed", "1"]
    assert main([hopper_run, *argv]) == 0
    run_out = capsys.readouterr().out
    assert main([os.path.join(hopper_run, "final.npz"), *argv]) == 0
    checkpoint_out = capsys.readouterr().out
    table = run_out.splitlines()[1:]
    assert [line.split()[0] for line in table[1:]] == ["1", "5"] and "at clip" in table[0]
    assert table == checkpoint_out.splitlines()[1:]  # the checkpoint read with the config beside it is the run
    assert "Hopper" in run_out.splitlines()[0] and "every 4 steps" in run_out.splitlines()[0]


@pytest.mark.parametrize("argv, message", [
    (["{run}", "--stride", "0"], "--episodes, --stride and every --horizons value must be >= 1"),
    (["{run}", "--horizons", "0", "5"], "--episodes, --stride and every --horizons value must be >= 1"),
    (["{missing}"], "no such run directory or checkpoint"),
    (["{run}", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_is_one_line_and_exit_code_2(hopper_run, tmp_path, capsys, argv, message):
    paths = {"run": hopper_run, "missing": str(tmp_path / "nothing")}
    assert main([a.format(**paths) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
