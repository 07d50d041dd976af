"""Weights & Biases, for real (offline mode, read back from the run's own files): a resumed run
continues its wandb run, TRPO's statistics (KL and entropy included) and the final evaluation
reach it under their own names, no colour codes reach any log file, and credentials without a
network fall back to offline at once."""
from __future__ import annotations

import glob
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from typing import Dict, Iterator, List, Tuple

from tests.conftest import ROOT, TINY, metric_records

BLOCK = 32768  # the .wandb file is a LevelDB-style log of protobuf records in 32 KiB blocks


def records(path: str) -> Iterator[object]:
    """The protobuf Records of a run's .wandb file."""
    from wandb.proto import wandb_internal_pb2

    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b":W&B"
    pos, chunk = 7, b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7]) if left >= 7 else (0, 0, 0)
        if left < 7 or (length, kind) == (0, 0):  # block trailer / padding
            pos += left
            continue
        chunk += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # a full record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(chunk)
            chunk = b""
            yield record


def history(run_dir: str) -> List[Dict[str, object]]:
    (path,) = glob.glob(os.path.join(run_dir, "run-*.wandb"))
    return [{item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
            for r in records(path) if r.WhichOneof("record_type") == "history"]


def offline_env(tmp_path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL")}
    return {**env, "HOME": str(tmp_path / "home"), "WANDB_SILENT": "true"}  # no ~/.netrc: offline


def run_in_terminal(log_dir: str, env: Dict[str, str], stop_at: bytes = b"", limit: float = 600
                    ) -> Tuple[int, bytes]:
    """slbo/main.py with use_wandb=1 on a pseudo-terminal (where the console is coloured), sent
    SIGTERM once it prints `stop_at`; returns its exit code and output. Fails, with the output so far,
    if the terminal is still open after `limit` seconds (the run or a process it left behind hangs)."""
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-u", os.path.join(ROOT, "slbo", "main.py"), "-c", TINY, "-s",
                             "use_wandb=1", "run_id=wandb_test", f"log_dir={log_dir}"], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    output, deadline = b"", time.monotonic() + limit
    try:
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.killpg(proc.pid, signal.SIGKILL)
                raise AssertionError(f"the terminal was still open after {limit} s:\n{output.decode()[-3000:]}")
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: every process on the terminal closed it
                break
            if not data:
                break
            output += data
            if stop_at and stop_at in output and proc.poll() is None:
                proc.terminate()
                stop_at = b""
    finally:
        os.close(master)
    return proc.wait(timeout=60), output


def test_resumed_offline_run_continues_its_wandb_run(tmp_path):
    log_dir = str(tmp_path / "run")
    env = offline_env(tmp_path)
    code, output = run_in_terminal(log_dir, env, stop_at=b"Starting Stage 1")  # stage 0 is saved
    assert code == 143, (code, output.decode()[-3000:])
    code, output = run_in_terminal(log_dir, env)
    assert code == 0, output.decode()[-3000:]

    segments = sorted(glob.glob(os.path.join(log_dir, "wandb", "offline-run-*")))
    assert len(segments) == 2 and all(s.endswith("-" + os.path.basename(segments[0]).split("-")[-1])
                                      for s in segments), segments
    first, second = history(segments[0]), history(segments[1])
    first_steps, second_steps = [r["_step"] for r in first], [r["_step"] for r in second]
    in_stage_0 = next((k for k, r in enumerate(first) if r.get("cum_steps", 0) > 0), len(first))
    assert first_steps == list(range(len(first)))
    assert second_steps == list(range(in_stage_0, in_stage_0 + len(second))) and in_stage_0 > 0
    # Per stage: its record, then per iteration the model record and one per TRPO step; then the final one.
    assert second_steps[-1] + 1 == 2 * (1 + 2 * (1 + 2)) + 1

    final = second[-1]
    assert final["final_return_mean_Real_Env"] == metric_records(log_dir, "final")[0]["return mean Real Env"]
    trpo = metric_records(log_dir, "trpo")
    assert [(m["stage"], m["iteration"], m["policy_iter"]) for m in trpo] == [
        (t, i, j) for t in range(2) for i in range(2) for j in range(2)]
    logged = [r for r in first[:in_stage_0] + second if "trpo_vf_loss" in r]
    for key in ("trpo_vf_loss", "trpo_kl", "trpo_entropy"):
        assert [r[key] for r in logged] == [m[key] for m in trpo], key
    assert all(m["trpo_n_episodes"] == 4 and isinstance(m["trpo_return_mean"], float) for m in trpo)

    for path in glob.glob(os.path.join(log_dir, "**", "*.log"), recursive=True) + [os.path.join(log_dir, "log.json")]:
        with open(path, "rb") as f:
            assert b"\x1b[" not in f.read(), path


NO_NETWORK_RUN = """
import sys, time
from slbo.run.wandb_logger import WandbLogger
wandb = WandbLogger()
begin = time.monotonic()
wandb.start("project", "group", "no_network", {"seed": 1}, sys.argv[1])
print(wandb.run.settings.mode, time.monotonic() - begin)
wandb.log({"x": 1.0})
wandb.finish()
"""


def test_credentials_without_a_network_log_offline_at_once(tmp_path):
    env = {**offline_env(tmp_path), "WANDB_API_KEY": "x" * 40,
           "WANDB_BASE_URL": "http://127.0.0.1:9"}  # nothing listens there
    result = subprocess.run([sys.executable, "-c", NO_NETWORK_RUN, str(tmp_path)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    mode, seconds = result.stdout.split()[-2:]
    assert mode == "offline" and float(seconds) < 30, result.stdout
    assert "wandb: cannot reach http://127.0.0.1:9 (Connection refused); logging offline instead" in result.stdout
    (segment,) = glob.glob(str(tmp_path / "wandb" / "offline-run-*"))
    assert [r["x"] for r in history(segment)] == [1.0]
