"""provenance.json: what made a run (code, libraries, devices, CPU, command), recorded at the start
and on each resume, also in the wandb run's config; a resume on other code or libraries says so."""
from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import json
import os
import signal
import subprocess
import sys

from tests.conftest import ROOT, TINY, read_log, run_main


def git(root, *args) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          capture_output=True, check=True).stdout.decode()


def read_provenance(log_dir) -> list:
    with open(os.path.join(log_dir, "provenance.json")) as f:
        return json.load(f)


def run_interrupted(args, env=None) -> None:
    """Runs slbo/main.py ARGS until it starts stage 1, then stops it with SIGTERM: an unfinished run
    that the same command resumes (a finished run keeps no resume checkpoint)."""
    proc = subprocess.Popen([sys.executable, "-u", os.path.join(ROOT, "slbo", "main.py"), *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if "Starting Stage 1" in line:
            proc.send_signal(signal.SIGTERM)
            break
    proc.stdout.read()
    assert proc.wait(timeout=300) == 128 + signal.SIGTERM


def test_a_run_records_its_provenance_and_each_resume_appends_one(tmp_path):
    import mujoco
    import numpy as np
    import tensorflow as tf

    log_dir = str(tmp_path / "run")
    args = ["--config", TINY, "--set", "slbo.n_stages=2", "seed=4", "use_wandb=1", f"log_dir={log_dir}"]
    env = {**os.environ, "WANDB_MODE": "offline"}
    run_interrupted(args, env=env)
    (start,) = read_provenance(log_dir)
    assert start["event"] == "start"
    assert start["command"] == [sys.executable, os.path.join(ROOT, "slbo", "main.py"), *args]
    diff = subprocess.run(["git", "-C", ROOT, "diff", "HEAD", "--binary", "--no-ext-diff"], capture_output=True,
                          check=True).stdout
    assert start["code"] == {"commit": git(ROOT, "rev-parse", "HEAD").strip(), "dirty": bool(diff),
                             "diff_sha256": hashlib.sha256(diff).hexdigest() if diff else None,
                             "package_version": importlib.metadata.version("va-slbo")}
    versions = start["versions"]
    assert (versions["tensorflow"], versions["numpy"], versions["mujoco"]) == (tf.__version__, np.__version__,
                                                                             mujoco.__version__)
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert set(versions) == {"python", "tensorflow", "numpy", "mujoco", "gymnasium", "ray", "wandb"}
    assert "CPU:0" in start["devices"]
    with open("/proc/cpuinfo") as f:
        cpuinfo = f.read()
    assert start["cpu"]["avx512f"] == (" avx512f " in cpuinfo.replace("\n", " "))
    assert start["cpu"]["model"] in cpuinfo
    # Beside the metrics, never in them; and in the wandb run's config.
    assert not any("provenance" in json.dumps(r) or start["host"] in json.dumps(r.get("metrics", {}))
                   for r in read_log(log_dir) if r["level"] == "metrics")
    resumed = run_main(args, env=env)
    assert resumed.returncode == 0 and "Resuming the run" in resumed.stdout
    assert "other code, libraries or CPU" not in resumed.stdout and "wandb disabled" not in resumed.stdout
    entries = read_provenance(log_dir)
    assert [e["event"] for e in entries] == ["start", "resume"] and entries[0] == start
    assert {k: v for k, v in entries[1].items() if k != "time"} == {**{k: v for k, v in start.items() if k != "time"},
                                                                    "event": "resume"}
    data = b""  # the run's records (a segment per process): its config holds the entries as JSON text
    for wandb_run in glob.glob(os.path.join(log_dir, "wandb", "offline-run-*", "run-*.wandb")):
        with open(wandb_run, "rb") as f:
            data += f.read()
    assert b"provenance" in data
    for value in (start["code"]["commit"], start["cpu"]["model"], start["versions"]["mujoco"], start["time"]):
        assert json.dumps(value).encode() in data, value


def test_a_resume_on_other_code_or_versions_goes_on_and_says_so_in_one_line(tmp_path):
    log_dir = str(tmp_path / "run")
    args = ["--config", TINY, "--set", "slbo.n_stages=2", "seed=4", f"log_dir={log_dir}"]
    run_interrupted(args)
    (start,) = read_provenance(log_dir)
    installed_numpy = start["versions"]["numpy"]
    start["versions"]["numpy"] = "1.0.0"  # as if the run had started under another numpy and commit
    start["code"]["commit"] = "0123456789" * 4
    with open(os.path.join(log_dir, "provenance.json"), "w") as f:
        json.dump([start], f)

    resumed = run_main(args)
    assert resumed.returncode == 0
    (line,) = [line for line in resumed.stdout.splitlines() if "other code, libraries or CPU" in line]
    assert f"numpy: 1.0.0 -> {installed_numpy}" in line and "commit: 0123456789 -> " in line
    assert "no longer those of an uninterrupted run" in line
    assert any(r["level"] == "warning" and "numpy: 1.0.0" in r["message"] for r in read_log(log_dir))
    assert [e["event"] for e in read_provenance(log_dir)] == ["start", "resume"]
    assert any(r.get("tag") == "final" for r in read_log(log_dir))  # it went on to the end


def test_code_state_of_a_checkout_with_changes_and_of_a_tree_without_git(tmp_path, monkeypatch):
    from slbo.run.provenance import code_state

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "algo.py").write_text("LR = 1e-3\n")
    git(repo, "init", "-q")
    git(repo, "add", "algo.py")
    git(repo, "commit", "-q", "-m", "first")
    package = importlib.metadata.version("va-slbo")
    clean = code_state(str(repo))
    assert clean == {"commit": git(repo, "rev-parse", "HEAD").strip(), "dirty": False, "diff_sha256": None,
                     "package_version": package}
    (repo / "algo.py").write_text("LR = 3e-4\n")
    diff = subprocess.run(["git", "-C", str(repo), "diff", "HEAD", "--binary", "--no-ext-diff"],
                          capture_output=True, check=True).stdout
    assert code_state(str(repo)) == {**clean, "dirty": True, "diff_sha256": hashlib.sha256(diff).hexdigest()}
    # A subdirectory of a checkout is not the checkout of this code; nor is a plain directory.
    (repo / "sub").mkdir()
    unknown = {"commit": None, "dirty": None, "diff_sha256": None, "package_version": package}
    assert code_state(str(repo / "sub")) == unknown
    assert code_state(str(tmp_path)) == unknown
    monkeypatch.setenv("PATH", str(tmp_path / "no-binaries"))  # no git installed at all
    assert code_state(str(repo)) == unknown
