"""docs/results/mountaincar_best.py: the best swing-up return of MBBL's MountainCar, played on the env."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from slbo.partial_envs import make_env
from tests.conftest import ROOT, results_script

SCRIPT = os.path.join(ROOT, "docs", "results", "mountaincar_best.py")


def test_the_car_must_swing_left_first_and_the_best_swing_reaches_the_right_end():
    best = results_script("mountaincar_best")
    env = make_env("MountainCar")
    value, k = best.best_swing(env, seed=1, horizon=200)
    assert k > 0 and value > best.swing_return(env, 1, 0, 200) + 20  # pushing right alone stays in the valley
    assert value == best.swing_return(env, 1, k, 200)  # the same start state each time
    env.reset(seed=1)
    for t in range(200):
        state, *_ = env.step(np.array([-1.0 if t < k else 1.0]))
    assert state[0] > 0.5  # at the right end at the episode's end
    # Each step earns the position, at most 0.6; the best k beats others on either side of it.
    assert value < 0.6 * 200
    assert value > max(best.swing_return(env, 1, j, 200) for j in (5, 40, 100))


def test_fewer_than_two_start_states_is_one_line_and_exit_2():
    result = subprocess.run([sys.executable, SCRIPT, "--starts", "1"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "--starts must be at least 2" in result.stderr.strip().splitlines()[-1]
