"""A file of the run that cannot be written — here for real, past a file-size limit
(RLIMIT_FSIZE: writes fail with EFBIG, for root too, as Python ignores SIGXFSZ) — stops the run
with one line naming the file, the reason and where the run stands, exit code 1; the previous
checkpoint stays whole and the same command resumes from it."""
from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys

from slbo.run.resume import read_resume
from tests.conftest import ROOT, TINY, metric_records, run_main

ARGS = ["-c", TINY, "-s", "algorithm=MF", "plan.rollout=per_step"]


def limited_to(n_bytes: int):
    """A preexec_fn: no file the process writes may grow past `n_bytes`."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))


def run_limited(args: list, n_bytes: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, os.path.join(ROOT, "slbo", "main.py"), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, preexec_fn=limited_to(n_bytes))


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_a_checkpoint_that_cannot_be_written_stops_the_run_and_the_previous_one_resumes(tmp_path):
    log_dir = str(tmp_path / "run")
    args = [*ARGS, f"log_dir={log_dir}"]
    proc = subprocess.Popen([sys.executable, "-u", os.path.join(ROOT, "slbo", "main.py"), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if "Starting Stage 1" in line:  # stage 0 is saved
            proc.send_signal(signal.SIGTERM)
            break
    proc.stdout.read()
    assert proc.wait(timeout=120) == 143
    first = os.path.join(log_dir, "resume-0.npz")
    size, digest = os.path.getsize(first), sha256(first)

    # The buffers grow each stage: resume-1.npz outgrows resume-0.npz, and every other file is smaller.
    result = run_limited(args, size)
    second = os.path.join(log_dir, "resume-1.npz")
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.splitlines() == [
        f"error: cannot write {second}: File too large; the run stopped at stage 1; the last complete checkpoint "
        f"is {first} (once the file can be written, re-run the same command to resume from it)"]
    assert "Traceback" not in result.stdout
    assert os.path.isfile(os.path.join(log_dir, "stage-1.npz"))  # written before the resume checkpoint
    assert not os.path.exists(second)
    assert not [f for f in os.listdir(log_dir) if f.startswith(".tmp-")]
    assert sha256(first) == digest and str(read_resume(log_dir)["path"]) == first

    result = run_main(args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resuming the run in {log_dir} from stage 1 of 2" in result.stdout.splitlines()[0]
    assert [m["stage"] for m in metric_records(log_dir, "stage")] == [0, 1]  # each logged once
    assert os.path.isfile(os.path.join(log_dir, "final.npz"))


def test_a_run_that_cannot_write_its_first_file_says_so_in_one_line(tmp_path):
    log_dir = str(tmp_path / "run")
    result = run_limited([*ARGS, f"log_dir={log_dir}"], 100)  # config.yml is longer
    assert result.returncode == 1, result.stderr[-3000:]
    assert result.stderr.splitlines() == [
        f"error: cannot write {log_dir}/config.yml: File too large; the run stopped at stage 0; no stage was "
        f"complete, so there is no checkpoint to resume from"]
    assert os.listdir(log_dir) == ["run.lock"]


LOG_PAST_THE_LIMIT = """
import resource, sys
from slbo.run.faults import RunLog, WriteError
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
log = RunLog(sys.argv[1])
try:
    for i in range(1000):
        log.write("info", "x" * 100, "test", {})
except WriteError as e:
    print(i, e)
log.close()
"""


def test_log_json_past_the_limit_is_a_write_error_naming_it(tmp_path):
    path = str(tmp_path / "log.json")
    result = subprocess.run([sys.executable, "-c", LOG_PAST_THE_LIMIT, path], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and not result.stderr, result.stderr[-3000:]
    n_lines, message = result.stdout.strip().split(" ", 1)
    assert message == f"cannot write {path}: File too large"
    assert 0 < int(n_lines) < 1000 and os.path.getsize(path) == 4096
