"""Interrupted runs resume exactly: kill -9 at random moments, SIGTERM/SIGINT, damaged checkpoints."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from slbo.run.checkpoint import load_arrays, save_arrays
from slbo.run.faults import Interrupted, SignalGuard
from tests.conftest import ROOT, TINY, metric_records, read_log, run_main

ARGS = ["-c", TINY, "-s", "slbo.n_stages=6", "algorithm=va", "model.value_update_interval=3"]


def metrics(log_dir: str) -> list:
    return [(r["tag"], r["metrics"]) for r in read_log(log_dir) if r["level"] == "metrics"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> list:
    """Metrics of an uninterrupted run."""
    log_dir = str(tmp_path_factory.mktemp("reference") / "run")
    result = run_main([*ARGS, f"log_dir={log_dir}"])
    assert result.returncode == 0, result.stderr[-2000:]
    return metrics(log_dir)


def start(log_dir: str, args: list = ARGS) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-u", os.path.join(ROOT, "slbo", "main.py"), *args, f"log_dir={log_dir}"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def stop_at(log_dir: str, text: str, signum: int, args: list = ARGS) -> int:
    """Starts a run, sends it `signum` once it prints a line holding `text`; returns its exit code."""
    proc = start(log_dir, args)
    for line in proc.stdout:
        if text in line:
            proc.send_signal(signum)
            break
    proc.stdout.read()
    return proc.wait(timeout=120)


def kill_after_lines(proc: subprocess.Popen, n_lines: int, signum: int) -> bool:
    """Sends `signum` once the run has printed `n_lines` lines; False if it ended first."""
    for count, _ in enumerate(proc.stdout, start=1):
        if count >= n_lines:
            proc.send_signal(signum)
            proc.stdout.read()
            proc.wait(timeout=120)
            return True
    proc.wait(timeout=120)
    return False


def test_identical_runs_give_identical_metrics(tmp_path, reference):
    result = run_main([*ARGS, f"log_dir={tmp_path / 'again'}"])
    assert result.returncode == 0
    assert metrics(str(tmp_path / "again")) == reference


def test_kill_9_at_random_moments_then_resume_matches_uninterrupted(tmp_path, reference):
    log_dir = str(tmp_path / "run")
    rng = random.Random(7)
    kills = 0
    for _ in range(10):  # a stage prints ~15 lines: most kills land mid-stage, some after a checkpoint
        kills += kill_after_lines(start(log_dir), rng.randint(2, 22), signal.SIGKILL)
    result = run_main([*ARGS, f"log_dir={log_dir}"])  # the last resume runs to the end
    assert result.returncode == 0, result.stderr[-2000:]
    assert kills == 10
    assert "Resuming the run" in result.stdout.splitlines()[0]
    stages = [m["stage"] for m in metric_records(log_dir, "stage")]
    assert stages == list(range(6))  # each stage logged exactly once
    assert metrics(log_dir) == reference
    assert not [f for f in os.listdir(log_dir) if f.startswith(".tmp-")]


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_exits_cleanly_and_resumes(tmp_path, reference, signum, code):
    log_dir = str(tmp_path / "run")
    assert stop_at(log_dir, "Starting Stage 2", signum) == code
    result = run_main([*ARGS, f"log_dir={log_dir}"])
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].endswith(f"Resuming the run in {log_dir} from stage 2 of 6")
    assert metrics(log_dir) == reference


def test_resumed_process_runs_the_programs_the_uninterrupted_one_ran(tmp_path):
    """What a process computes must not depend on what it ran before. With 2 model steps per
    iteration and a value refit every 3, the uninterrupted run's model chunks are 2, 1+1, 2, 2,
    1+1, ... steps: a process resumed at stage 1 or 4 starts with a 1-step chunk after a refit,
    where XLA rounds the va diagnostic of a program compiled for 1 step differently from one for 2
    in about 40% of batches. Hopper's early terminations grow the fused rollouts' reset pools."""
    args = ["-c", TINY, "-s", "env.id=Hopper", "slbo.n_stages=5", "slbo.n_iters=1", "slbo.n_model_iters=2",
            "algorithm=va", "model.value_update_interval=3"]
    assert run_main([*args, f"log_dir={tmp_path / 'reference'}"]).returncode == 0
    for stage in (1, 4):
        assert stop_at(str(tmp_path / "run"), f"Starting Stage {stage}", signal.SIGTERM, args) == 143
    result = run_main([*args, f"log_dir={tmp_path / 'run'}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "from stage 4 of 5" in result.stdout.splitlines()[0]
    assert metrics(str(tmp_path / "run")) == metrics(str(tmp_path / "reference"))


def test_signal_during_checkpoint_write_is_held_until_the_file_is_whole(tmp_path):
    path = str(tmp_path / "ckpt.npz")
    big = {"x": np.random.RandomState(0).randn(2_000_000)}
    with pytest.raises(Interrupted) as info:
        with SignalGuard() as guard:
            with guard.critical():
                os.kill(os.getpid(), signal.SIGTERM)  # arrives before the write starts
                save_arrays(path, big)
    assert info.value.signum == signal.SIGTERM
    np.testing.assert_array_equal(load_arrays(path)["x"], big["x"])


def test_truncated_resume_checkpoint_falls_back_to_previous(tmp_path, reference):
    log_dir = str(tmp_path / "run")
    stop_at(log_dir, "Starting Stage 3", signal.SIGKILL)  # resume-1 and resume-2 exist now
    newest = os.path.join(log_dir, "resume-2.npz")
    with open(newest, "r+b") as f:
        f.truncate(os.path.getsize(newest) // 2)
    result = run_main([*ARGS, f"log_dir={log_dir}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resume-2.npz is damaged" in result.stdout
    assert "from stage 2 of 6" in result.stdout.splitlines()[1]
    assert metrics(log_dir) == reference


def test_finished_run_is_not_overwritten(tmp_path):
    log_dir = str(tmp_path / "run")
    assert run_main(["-c", TINY, "-s", "slbo.n_stages=1", f"log_dir={log_dir}"]).returncode == 0
    before = open(os.path.join(log_dir, "log.json")).read()
    again = run_main(["-c", TINY, "-s", "slbo.n_stages=1", f"log_dir={log_dir}"])
    assert again.returncode == 0 and "holds a finished run; not overwriting it" in again.stdout
    assert open(os.path.join(log_dir, "log.json")).read() == before
    fresh = run_main(["-c", TINY, "-s", "slbo.n_stages=1", "ckpt.overwrite=1", f"log_dir={log_dir}"])
    assert fresh.returncode == 0
    assert len(metric_records(log_dir, "final")) == 1


def test_non_finite_loss_stops_with_one_line(tmp_path):
    log_dir = str(tmp_path / "run")
    result = run_main(["-c", TINY, "-s", "model.lr=1e30", f"log_dir={log_dir}"])
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: non-finite model loss at stage 0, iteration 0; the last good "
                                     f"checkpoint in {log_dir} is intact")
    read_log(log_dir)  # log.json is whole
    assert not [f for f in os.listdir(log_dir) if f.startswith(".tmp-")]


def test_resume_restores_optimiser_state(sess, tmp_path):
    """Every global variable, Adam's moments included, is in the resume checkpoint."""
    from slbo.run.resume import save_resume
    from lunzi.dataset import Dataset, gen_dtype
    from slbo.utils.OU_noise import OUNoise
    v = tf.Variable(tf.ones([3]))
    opt = tf.train.AdamOptimizer(0.1)
    step = opt.minimize(tf.reduce_sum(tf.square(v)), var_list=[v])
    sess.run(tf.global_variables_initializer())
    sess.run(step)
    path = save_resume(str(tmp_path), 0, {"b": Dataset(gen_dtype(1, 1), 4)}, [], OUNoise((1, 1)), {}, 0)
    names = {k[3:] for k in load_arrays(path) if k.startswith("tf/")}
    assert {s.name for s in opt.variables()} <= names and v.name in names
