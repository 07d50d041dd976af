"""docs/results/random_returns.py: random-action returns of a sweep's tasks, as the sweep defines them."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from slbo.partial_envs import make_env
from tests.conftest import ROOT, results_script

SCRIPT = os.path.join(ROOT, "docs", "results", "random_returns.py")


def test_sweep_tasks_are_the_first_seeds_points_with_their_env_and_episode_length(tmp_path, monkeypatch):
    sweep = tmp_path / "tasks.yml"
    sweep.write_text(
        "configs: [configs/algos/slbo.yml]\n"
        "grid:\n"
        "  task:\n"
        "    P: {configs: [configs/env_tingwu/gym_pendulum.yml]}\n"
        "    H: {configs: [configs/env_tingwu/gym_fhopper.yml], set: {runner.max_steps: 300}}\n"
        "seeds: [3, 4]\n")
    monkeypatch.chdir(ROOT)  # sweep files name configs relative to the repository root
    assert results_script("random_returns").sweep_tasks(str(sweep)) == [("P", "Pendulum", 200), ("H", "FixedHopper", 300)]


def test_random_returns_end_episodes_at_termination_or_the_horizon():
    random_returns = results_script("random_returns").random_returns
    returns, lengths = random_returns(make_env("Pendulum"), 200, 3, seed=1)
    assert lengths.tolist() == [200, 200, 200] and np.isfinite(returns).all()
    again, _ = random_returns(make_env("Pendulum"), 200, 3, seed=1)
    other, _ = random_returns(make_env("Pendulum"), 200, 3, seed=2)
    np.testing.assert_array_equal(returns, again)
    assert not np.array_equal(returns, other)
    _, lengths = random_returns(make_env("FixedHopper"), 1000, 3, seed=1)  # a random hopper falls within 1000 steps
    assert (lengths < 1000).all()
    _, lengths = random_returns(make_env("MBBLHopper"), 7, 2, seed=1)
    assert lengths.tolist() == [7, 7]


def test_an_unreadable_sweep_is_one_line_and_exit_code_2(tmp_path):
    result = subprocess.run([sys.executable, SCRIPT, str(tmp_path / "missing.yml")], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr
