"""What a run directory holds: final.npz only once finished, no resume checkpoints left in a
finished run, and files as readable as log.json (mode 0666 less the umask)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

from tests.conftest import ROOT, TINY, metric_records


def start(log_dir: str) -> subprocess.Popen:
    """slbo/main.py on the tiny config, under umask 022 (what most shells set)."""
    return subprocess.Popen([sys.executable, "-u", os.path.join(ROOT, "slbo", "main.py"), "-c", TINY, "-s",
                             f"log_dir={log_dir}"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, preexec_fn=lambda: os.umask(0o022))


def test_unfinished_then_finished_run_directory(tmp_path):
    log_dir = str(tmp_path / "run")
    proc = start(log_dir)
    for line in proc.stdout:  # stop it once stage 0 is saved
        if "Starting Stage 1" in line:
            proc.terminate()
            break
    proc.stdout.read()
    assert proc.wait(timeout=300) == 143
    unfinished = set(os.listdir(log_dir))
    assert "final.npz" not in unfinished and {"stage-0.npz", "resume-0.npz"} <= unfinished, unfinished

    proc = start(log_dir)
    proc.stdout.read()
    assert proc.wait(timeout=600) == 0 and len(metric_records(log_dir, "final")) == 1
    assert sorted(os.listdir(log_dir)) == ["config.yml", "final.npz", "log.json", "provenance.json", "run.lock",
                                           "stage-0.inc-buf.npz", "stage-0.npz", "stage-1.inc-buf.npz",
                                           "stage-1.npz"]
    modes = {name: stat.S_IMODE(os.stat(os.path.join(log_dir, name)).st_mode) for name in os.listdir(log_dir)}
    assert modes == {name: 0o644 for name in modes}
