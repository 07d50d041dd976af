"""Shared fixtures: a fresh TF graph + session per test, and a runner for slbo/main.py."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from types import ModuleType
from typing import Dict, List, Optional

import pytest

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("WANDB_SILENT", "true")

import lunzi.nn  # noqa: E402,F401  (sets TF up for graph mode)
import tensorflow.compat.v1 as tf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "configs", "tests", "tiny.yml")


@pytest.fixture
def sess():
    """A new graph with a fixed seed, and a default session on it."""
    import numpy as np
    np.random.seed(0)
    with tf.Graph().as_default() as graph, tf.Session(graph=graph) as session:
        tf.set_random_seed(0)
        yield session


def run_main(args: List[str], env: Optional[Dict[str, str]] = None, timeout: int = 600
             ) -> subprocess.CompletedProcess:
    """Runs `python slbo/main.py ARGS` from the repository root, as a user would (`env` replaces
    the environment when given)."""
    return subprocess.run([sys.executable, os.path.join(ROOT, "slbo", "main.py"), *args], cwd=ROOT,
                          env=os.environ.copy() if env is None else env, capture_output=True, text=True,
                          timeout=timeout)


def read_log(log_dir: str) -> List[dict]:
    with open(os.path.join(log_dir, "log.json")) as f:
        return [json.loads(line) for line in f]


def metric_records(log_dir: str, tag: str) -> List[dict]:
    return [r["metrics"] for r in read_log(log_dir) if r["level"] == "metrics" and r["tag"] == tag]


def assert_same_checkpoints(run_a: str, run_b: str, names: List[str]) -> None:
    """The checkpoints `names` of two run directories hold the same arrays, bit for bit."""
    import numpy as np
    from slbo.run.checkpoint import load_arrays

    for name in names:
        a, b = load_arrays(os.path.join(run_a, name)), load_arrays(os.path.join(run_b, name))
        assert a.keys() == b.keys(), name
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")


def results_script(name: str) -> ModuleType:
    """A script of docs/results/ (not a package) loaded as a module, e.g. results_script("remake")."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "docs", "results", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
