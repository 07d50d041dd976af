"""One process per log_dir: a second one stops at once, the lock goes with its holder (SIGKILL too),
and a sweep does not start a run that another process is running."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import yaml

from slbo.run.lock import LOCK_FILE, RunLock, lock_holder
from tests.conftest import ROOT, TINY, metric_records, run_main

HOLD = ("import sys\n"
        "from slbo.run.lock import RunLock\n"
        "lock = RunLock(sys.argv[1])\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n")  # holds the lock until the test closes stdin (or kills it)


@pytest.fixture
def holder(tmp_path):
    """A process that holds the lock of tmp_path/run_seed1 (the name a one-run sweep gives its run)."""
    log_dir = str(tmp_path / "run_seed1")
    process = subprocess.Popen([sys.executable, "-c", HOLD, log_dir], cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    yield log_dir, process
    process.kill()
    process.wait()


def test_second_process_stops_at_once_naming_the_holder(holder):
    log_dir, process = holder
    result = run_main(["-c", TINY, "-s", f"log_dir={log_dir}"], timeout=300)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: log_dir {log_dir} is in use by pid {process.pid} on ")
    assert os.listdir(log_dir) == [LOCK_FILE]  # it wrote nothing
    assert lock_holder(log_dir).startswith(f"pid {process.pid} on ")


def test_lock_is_released_when_the_holder_ends(holder):
    log_dir, process = holder
    with pytest.raises(Exception, match=f"in use by pid {process.pid}"):
        RunLock(log_dir)
    process.stdin.close()
    assert process.wait(timeout=60) == 0
    assert lock_holder(log_dir) is None
    with RunLock(log_dir) as lock:
        assert lock_holder(log_dir).startswith(f"pid {os.getpid()} on ")
        with pytest.raises(Exception, match=f"in use by pid {os.getpid()}"):
            RunLock(log_dir)  # a second lock in the same process is refused too
    assert lock_holder(log_dir) is None and lock.path == os.path.join(log_dir, LOCK_FILE)


def test_lock_holder_creates_nothing(tmp_path):
    assert lock_holder(str(tmp_path / "nowhere")) is None
    assert not os.path.exists(tmp_path / "nowhere")


def test_sigkilled_run_leaves_no_lock_and_resumes(tmp_path):
    """A real training run is killed with SIGKILL during stage 1; the same command resumes it."""
    log_dir = str(tmp_path / "run")
    command = [sys.executable, os.path.join(ROOT, "slbo", "main.py"), "-c", TINY, "-s", f"log_dir={log_dir}"]
    run = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        for line in run.stdout:  # stage 0 is checkpointed before stage 1 starts
            if "Starting Stage 1" in line:
                break
        assert lock_holder(log_dir).startswith(f"pid {run.pid} on ")
        run.send_signal(signal.SIGKILL)
    finally:
        run.kill()
        run.wait()
    assert run.returncode == -signal.SIGKILL
    assert lock_holder(log_dir) is None
    resumed = run_main(["-c", TINY, "-s", f"log_dir={log_dir}"], timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming the run" in resumed.stdout
    assert [m["stage"] for m in metric_records(log_dir, "stage")] == [0, 1]
    assert len(metric_records(log_dir, "final")) == 1


def test_sweep_reports_a_locked_run_as_running_elsewhere_and_does_not_start_it(holder, tmp_path):
    log_dir, process = holder
    sweep = tmp_path / "sweep.yml"
    sweep.write_text(yaml.safe_dump({"dir": str(tmp_path), "configs": [TINY], "grid": {"variant": {"run": {}}},
                                     "seeds": [1]}))
    listing = subprocess.run([sys.executable, "-m", "slbo.sweep", str(sweep), "--list"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.startswith(f"running elsewhere (pid {process.pid} on ")
    result = subprocess.run([sys.executable, "-m", "slbo.sweep", str(sweep)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert f"run_seed1: running elsewhere (pid {process.pid} on " in result.stdout
    assert "0 finished (skipped), 1 running elsewhere (skipped), 0 to run" in result.stdout
    assert os.listdir(log_dir) == [LOCK_FILE]  # not started: no stdout.log, no config.yml
