"""docs/results/held_action.py: where a model takes the body under a held action against the real
body, and where its open-loop rollouts end, on CartPole's own physics, a real DynamicsModel that
drifts into its clip, and a real run directory."""
from __future__ import annotations

import numpy as np
import pytest

from slbo.partial_envs import env_class
from slbo.run.playback import play_episode
from tests.conftest import results_script
from tests.test_play import make_run
from tests.test_rollout_error import drifting_model, physics

held_action = results_script("held_action")


@pytest.fixture
def cartpole():
    return env_class("CartPole")(seed=3)


@pytest.fixture
def drifting(cartpole):
    """A real DynamicsModel whose every step adds 30 standard deviations to the cart's position."""
    rng = np.random.default_rng(0)
    states = np.concatenate([play_episode(cartpole, lambda s: rng.uniform(-1, 1, (len(s), 1)), 200).states
                             for _ in range(3)])
    with drifting_model(states, drift=30) as model:
        yield model


def test_an_exact_model_ends_where_the_real_body_does(cartpole):
    for value in held_action.HELD:
        real, imagined, steps = held_action.held(cartpole, physics(cartpole, 1.0), np.full(1, value), 100)
        assert 1 <= steps <= 100
        np.testing.assert_allclose(imagined, real, atol=1e-12)


def test_open_loop_ends_each_episode_at_its_own_length(cartpole):
    rng = np.random.default_rng(2)
    episodes = [play_episode(cartpole, lambda s: rng.uniform(-1, 1, (len(s), 1)), steps) for steps in (30, 50, 10)]
    ends = held_action.open_loop_ends(physics(cartpole, 1.0), episodes)
    np.testing.assert_allclose(ends, [e.states[-1] for e in episodes], atol=1e-12)


def test_a_model_that_drifts_ends_at_its_clip_and_the_real_body_does_not(cartpole, drifting):
    real, imagined, steps = held_action.held(cartpole, drifting.predict, np.zeros(1), 100)
    assert steps >= 5  # the pole takes more than 5 steps to fall: the drift (30 a step) reaches the clip
    n_real, n_model = drifting.clipped_coordinates(np.array([real, imagined])).sum(axis=-1)
    assert n_real == 0 and n_model == 1
    assert drifting.normalise(imagined)[0] == pytest.approx(held_action.NEXT_STATE_CLIP, rel=1e-3)


def test_full_stroke_counts_the_steps_with_every_action_at_the_bound(cartpole):
    rng = np.random.default_rng(1)
    assert held_action.full_stroke([play_episode(cartpole, lambda s: np.ones((len(s), 1)), 50)]) == 1.0
    assert held_action.full_stroke([play_episode(cartpole, lambda s: np.zeros((len(s), 1)), 50)]) == 0.0
    wide = [play_episode(cartpole, lambda s: rng.uniform(-3, 3, (len(s), 1)), 200) for _ in range(5)]
    assert held_action.full_stroke(wide) == pytest.approx(2 / 3, abs=0.1)


@pytest.fixture(scope="module")
def hopper_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("held") / "run", env_id="Hopper")


def test_command_line_on_a_run_directory(hopper_run, capsys):
    assert held_action.main([hopper_run, "--steps", "20", "--episodes", "2", "--seed", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Hopper, ") and "clipped at ±100" in lines[0]
    held_lines = [line for line in lines if line.startswith("action held at")]
    assert [line.split()[3] for line in held_lines] == ["-1", "+0", "+1"]
    assert sum(line.startswith("  real  [") for line in lines) == 3  # 11 coordinates: the vectors are printed
    policy = next(i for i, line in enumerate(lines) if line.startswith("policy (2 episodes"))
    assert sum(int(line.split(" x ")[0]) for line in lines[policy + 1:]) == 2  # both episodes' end states, counted


@pytest.mark.parametrize("argv, message", [
    (["{run}", "--steps", "0"], "--steps and --episodes must be >= 1"),
    (["{missing}"], "no such run directory or checkpoint"),
    (["{run}", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_is_one_line_and_exit_code_2(hopper_run, tmp_path, capsys, argv, message):
    paths = {"run": hopper_run, "missing": str(tmp_path / "nothing")}
    assert held_action.main([a.format(**paths) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
