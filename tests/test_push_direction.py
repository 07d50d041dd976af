"""docs/results/push_direction.py: which way an InvertedPendulum policy pushes, and whether its noise reaches past the motor's bound."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

from slbo.partial_envs import env_class
from tests.conftest import results_script
from tests.test_play import make_run

FORCE = 3.0  # InvertedPendulum's motor range is [-3, 3]; the policy's actions are in [-1, 1]
LINE = re.compile(r"return (-?[\d.]+) ± ([\d.]+) \((\d+) episodes\); pushes with the lean on (\d+)% of the first 5 steps; "
                  r"(.+); mean action beyond the bound on (\d+)% of steps \(median \|mean\| ([\d.]+)\); policy std ([\d.]+)$")


def policy_actor(controller, scale: float = 1.0):
    """A batch actor in the policy's scale from one of return_bounds' (step, observation) -> force controllers."""
    return lambda states: np.array([controller(0, s) for s in states]) / FORCE * scale


def stats(controller, scale: float = 1.0, episodes: int = 4):
    push_direction = results_script("push_direction")
    env = env_class("InvertedPendulum")(seed=5)
    actor = policy_actor(controller, scale)
    return push_direction.push_stats(env, actor, actor, episodes, max_steps=100)


def test_a_balancing_controller_pushes_with_the_lean_and_the_pole_never_falls():
    s = stats(results_script("return_bounds").balance(FORCE))
    assert s["with_lean"] >= 0.8
    assert s["never_fall"] == 4 and np.isnan(s["fall_step"])
    assert s["return"] > -1.0 and s["beyond_bound"] < 0.05


def test_a_policy_that_tips_the_pole_over_pushes_against_the_lean_and_the_pole_falls_at_once():
    s = stats(results_script("return_bounds").tip_over(FORCE))
    assert s["with_lean"] <= 0.1
    assert s["never_fall"] == 0 and s["fall_step"] <= 5
    assert s["return"] < -200
    assert s["beyond_bound"] == 0.0 and s["median_abs_mean"] == pytest.approx(1.0)  # at the bound, not past it
    past = stats(results_script("return_bounds").tip_over(FORCE), scale=4.0)  # the same pushes, the mean 4 times the bound
    assert past["beyond_bound"] == 1.0 and past["median_abs_mean"] == pytest.approx(4.0)
    assert past["return"] == pytest.approx(s["return"])  # the env clips: the same episodes


@pytest.fixture(scope="module")
def pendulum_run(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("push") / "run", env_id="InvertedPendulum")


def test_one_line_per_run_directory_or_checkpoint(pendulum_run, capsys):
    push_direction = results_script("push_direction")
    checkpoint = os.path.join(pendulum_run, "final.npz")
    assert push_direction.main([pendulum_run, checkpoint, "--episodes", "3", "--seed", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ")[0] for line in lines] == [pendulum_run, checkpoint]
    matches = [LINE.search(line) for line in lines]
    assert all(matches), lines
    assert matches[0].groups() == matches[1].groups()  # the checkpoint read with the config beside it is the run
    assert int(matches[0].group(3)) == 3 and float(matches[0].group(8)) == pytest.approx(1.0)  # untrained: std 1


@pytest.mark.parametrize("argv, message", [
    (["{cheetah}"], "is a run of HalfCheetah-v2; this check reads InvertedPendulum's pole"),
    (["{pendulum}", "--episodes", "0"], "--episodes must be >= 1"),
    (["{missing}"], "no such run directory or checkpoint"),
])
def test_bad_input_is_one_line_and_exit_code_2(pendulum_run, tmp_path, capsys, argv, message):
    push_direction = results_script("push_direction")
    paths = {"cheetah": make_run(tmp_path / "cheetah"), "pendulum": pendulum_run, "missing": str(tmp_path / "nothing")}
    assert push_direction.main([a.format(**paths) for a in argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
