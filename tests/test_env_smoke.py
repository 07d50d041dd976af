"""Tiny runs of slbo/main.py on one env of each family: rllab locomotion, MBBL MuJoCo (with
terminations), MBBL classic control (with observation noise)."""
from __future__ import annotations

import math
import os

import pytest

from tests.conftest import ROOT, TINY, metric_records, run_main


@pytest.mark.parametrize("config", ["gym_hopper.yml", "gym_fant.yml", "gym_cartpoleO01.yml"])
def test_main_runs(tmp_path, config):
    log_dir = str(tmp_path / "run")
    # TINY comes last so its short horizons win over the env config's.
    result = run_main(["-c", os.path.join(ROOT, "configs", "env_tingwu", config), TINY, "-s", f"log_dir={log_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    stages = metric_records(log_dir, "stage")
    assert len(stages) == 2
    assert all(math.isfinite(m["return mean Real Env"]) and math.isfinite(m["return mean Virt Env"])
               for m in stages)
