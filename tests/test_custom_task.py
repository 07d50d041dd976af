"""Adding a task as docs/ENVS.md says: the page's example module, registered with one line (or
named by its import path), verified, and trained for a stage through slbo/main.py."""
from __future__ import annotations

import math
import os
import re
import sys

import numpy as np
import pytest

from tests.conftest import ROOT, TINY, metric_records, read_log, run_main


@pytest.fixture
def task_dir(tmp_path, monkeypatch):
    """slider.xml and slider.py written from the code blocks of docs/ENVS.md's "Adding a task"."""
    with open(os.path.join(ROOT, "docs", "ENVS.md")) as f:
        section = f.read().split("## Adding a task", 1)[1].split("\n## ", 1)[0]
    (xml,) = re.findall(r"```xml\n(.*?)```", section, re.S)
    (module,) = re.findall(r"```python\n(.*?)```", section, re.S)
    (tmp_path / "slider.xml").write_text(xml)
    (tmp_path / "slider.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("slider", None)


def test_the_registry_line_makes_a_verified_env(task_dir, monkeypatch, sess):
    from slbo.partial_envs import REGISTRY, env_family, make_env

    monkeypatch.setitem(REGISTRY, "Slider", "slider:SliderEnv")  # the page's one registry line
    env = make_env("Slider")
    assert env.observation_space.shape == (2,) and env.action_space.shape == (1,)
    assert env_family("Slider") == "other"
    assert env.verify() < 1e-4
    # The formula in TF ops gives the numpy numbers, terminations included.
    states = np.array([[0.5, 0.0], [2.5, 1.0], [-0.1, 0.3]])
    actions = np.array([[0.2], [3.0], [-1.0]])
    next_states = np.array([[0.4, 0.1], [2.6, 0.9], [-2.2, 0.1]])
    rewards, dones = env.mb_step(states, actions, next_states)
    rewards_tf, dones_tf = sess.run(env.mb_step_tf(states, actions, next_states))
    assert np.allclose(rewards, [-0.1 - 0.0004, -2.1 - 0.01, -2.7 - 0.01])
    assert list(dones) == list(dones_tf) == [False, True, True]
    assert np.allclose(rewards_tf, rewards, atol=1e-6)


def test_a_task_by_import_path_trains_for_a_stage(task_dir, tmp_path):
    log_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(task_dir)}
    result = run_main(["--config", TINY, "--set", "env.id=slider:SliderEnv", "slbo.n_stages=1", "seed=3",
                       f"log_dir={log_dir}"], env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    messages = [r["message"] for r in read_log(str(log_dir)) if r["level"] == "info"]
    assert any(m.startswith("slider:SliderEnv verified: max reward difference") for m in messages)
    (stage,) = metric_records(str(log_dir), "stage")
    (final,) = metric_records(str(log_dir), "final")
    assert stage["stage"] == 0 and final["stage"] == 1 and final["cum_steps"] == 200
    # Returns are sums of rewards -|x - 0.5| - 0.01 a^2 over episodes of at most 100 steps.
    assert math.isfinite(final["return mean Real Env"]) and final["return mean Real Env"] < 0


@pytest.mark.parametrize("env_id, message", [
    ("slider:NoSuchEnv", "cannot load 'NoSuchEnv' from module 'slider'"),
    ("no_such_module:SliderEnv", "cannot load 'SliderEnv' from module 'no_such_module'"),
    ("slider:np", "is not an env class"),
])
def test_an_import_path_that_is_not_an_env_is_one_line_and_exit_2(task_dir, tmp_path, env_id, message):
    env = {**os.environ, "PYTHONPATH": str(task_dir)}
    result = run_main(["--config", TINY, "--set", f"env.id={env_id}", f"log_dir={tmp_path / 'run'}"], env=env)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "run").exists()
