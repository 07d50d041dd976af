"""`python -m slbo.sweep` on a real Ray cluster (head + worker node on loopback, inside a network
namespace the test makes), re-runs, failures, bad sweep files, and the report of the runs."""
from __future__ import annotations

import contextlib
import csv
import glob
import math
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import types
from typing import Dict, Iterator, List

import numpy as np
import pytest
import yaml

from tests.conftest import ROOT, metric_records

# One worker runs this file: its module fixtures start Ray clusters and run sweeps (minutes).
pytestmark = pytest.mark.xdist_group("ray_cluster")

TINY_SWEEP = os.path.join(ROOT, "configs", "sweeps", "tiny.yml")
PAPER_SWEEP = os.path.join(ROOT, "configs", "sweeps", "slbo_paper.yml")
RAY = os.path.join(os.path.dirname(sys.executable), "ray")
GOOD = ["slbo_seed1", "va-l2-refit3_seed1", "slbo_seed2", "va-l2-refit3_seed2"]
BROKEN = ["broken_seed1", "broken_seed2"]
CUT = "slbo_seed2"  # the run whose log loses its final record between the two sweeps


def cli(module: str, args: List[str], netns: str = None, env: Dict[str, str] = None,
        timeout: int = 240) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", module, *map(str, args)]
    if netns:
        command = ["ip", "netns", "exec", netns, *command]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def netns() -> Iterator[str]:
    """A network namespace whose only interface is loopback (Ray binds 127.0.0.1 there)."""
    name = f"vaslbo-sweep-{os.getpid()}"
    try:
        made = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        pytest.skip("iproute2's `ip` is missing: cannot make the network namespace the Ray tests run in")
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace for the Ray tests (needs root): {made.stderr.strip()}")
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True, timeout=30)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], timeout=30)


def _processes_using(text: str) -> List[int]:
    found = []
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(cmdline, "rb") as f:
                if text.encode() in f.read():
                    found.append(int(cmdline.split("/")[2]))
        except OSError:
            continue
    return found


def _start_node(netns: str, env: Dict[str, str], args: List[str], log: str) -> subprocess.Popen:
    """`ray start --block ARGS` in the namespace; returns once the node is up (60 s at most)."""
    with open(log, "w") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", netns, RAY, "start", "--block", "--disable-usage-stats",
                                 "--node-ip-address=127.0.0.1", *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with open(log) as f:
            if "Ray runtime started" in f.read():
                return proc
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.terminate()
    proc.wait(timeout=60)
    with open(log) as f:
        raise RuntimeError(f"ray start {' '.join(args)} did not come up:\n{f.read()[-3000:]}")


@contextlib.contextmanager
def ray_cluster(netns: str, env: Dict[str, str], temp_dir: str) -> Iterator[str]:
    """A head node and one worker node, 1 CPU each; stopped by signalling the two `ray start --block`
    processes this test started (never `ray stop`, which would stop every Ray on the machine)."""
    nodes = []
    try:
        nodes.append(_start_node(netns, env, ["--head", "--port=6390", "--num-cpus=1", "--include-dashboard=false",
                                              f"--temp-dir={temp_dir}"], os.path.join(temp_dir, "head.log")))
        nodes.append(_start_node(netns, env, ["--address=127.0.0.1:6390", "--num-cpus=1"],
                                 os.path.join(temp_dir, "worker.log")))
        yield "127.0.0.1:6390"
    finally:
        for node in reversed(nodes):
            node.terminate()
            try:
                node.wait(timeout=60)
            except subprocess.TimeoutExpired:
                node.kill()
                node.wait(timeout=30)


def ray_env(temp_dir: str) -> Dict[str, str]:
    """Ray's files in `temp_dir`, and a token of this test's own (nothing written to ~/.ray)."""
    return {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), "RAY_TMPDIR": temp_dir,
            "RAY_USAGE_STATS_ENABLED": "0"}


def _drop_final_record(log_dir: str) -> None:
    path = os.path.join(log_dir, "log.json")
    with open(path) as f:
        lines = [line for line in f if '"tag": "final"' not in line]
    with open(path, "w") as f:
        f.writelines(lines)


@pytest.fixture(scope="module")
def swept(netns, tmp_path_factory) -> Iterator[types.SimpleNamespace]:
    """The tiny sweep plus a variant whose runs fail (a corrupt ckpt.model_load), run three times:
    on a head + worker cluster (--address), then, after one finished run lost its final record,
    again on an embedded local Ray, then with --list."""
    work = tmp_path_factory.mktemp("sweep")
    broken = work / "broken.npz"
    broken.write_bytes(b"this is not a checkpoint")
    with open(TINY_SWEEP) as f:
        spec = yaml.safe_load(f)
    spec["grid"]["variant"]["broken"] = {"set": {"ckpt.model_load": str(broken)}}
    sweep_file = work / "sweep.yml"
    sweep_file.write_text(yaml.safe_dump(spec))
    sweep_dir = str(work / "runs")
    # Ray's socket paths must stay under 107 bytes: a short directory of our own for its files.
    temp_dir = tempfile.mkdtemp(prefix="vr", dir="/tmp")
    env = ray_env(temp_dir)
    result = types.SimpleNamespace(dir=sweep_dir, file=str(sweep_file), times={})
    try:
        start = time.monotonic()
        with ray_cluster(netns, env, temp_dir) as address:
            result.first = cli("slbo.sweep", [sweep_file, "--dir", sweep_dir, "--address", address], netns, env)
        result.times["cluster sweep"] = time.monotonic() - start
        result.leftover = _processes_using(temp_dir)
        result.logs_after_first = {}
        for name in GOOD:
            with open(os.path.join(sweep_dir, name, "log.json"), "rb") as f:
                result.logs_after_first[name] = f.read()
        _drop_final_record(os.path.join(sweep_dir, CUT))
        start = time.monotonic()
        result.second = cli("slbo.sweep", [sweep_file, "--dir", sweep_dir, "--num-cpus", 2], netns, env)
        result.times["local re-run"] = time.monotonic() - start
        result.listing = cli("slbo.sweep", [sweep_file, "--dir", sweep_dir, "--list"])
        yield result
    finally:
        for pid in _processes_using(temp_dir):  # only ours: they name our own temporary directory
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_interrupted_sweep_stops_its_runs(netns, tmp_path):
    """SIGTERM (a scheduler's stop, or kill) to a sweep whose runs are mid-stage: exit 130, and no
    run process is left writing into the sweep directory."""
    sweep_dir = str(tmp_path / "runs")
    temp_dir = tempfile.mkdtemp(prefix="vr", dir="/tmp")
    env = ray_env(temp_dir)
    command = ["ip", "netns", "exec", netns, sys.executable, "-m", "slbo.sweep", TINY_SWEEP, "--dir", sweep_dir]
    sweep = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def in_a_stage() -> bool:
        return any(metric_records(d, "stage") for d in glob.glob(os.path.join(sweep_dir, "*"))
                   if os.path.isfile(os.path.join(d, "log.json")))

    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not in_a_stage():
            assert sweep.poll() is None, sweep.communicate()[0]
            time.sleep(0.1)
        sweep.terminate()
        output = sweep.communicate(timeout=120)[0]
        assert sweep.returncode == 130, output
        assert "interrupted; run the same command again to go on" in output
        deadline = time.monotonic() + 30
        while _processes_using(sweep_dir) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_using(sweep_dir) == []
        listing = cli("slbo.sweep", [TINY_SWEEP, "--dir", sweep_dir, "--list"])
        assert "stopped in stage " in listing.stdout and listing.stdout.count("finished") < 4
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.communicate(timeout=60)
        for pid in _processes_using(temp_dir) + _processes_using(sweep_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _lines(text: str, word: str) -> List[str]:
    return [line for line in text.splitlines() if word in line]


def test_cluster_runs_every_run_and_reports_failures_without_stopping(swept):
    first = swept.first
    assert first.returncode == 1, first.stdout + first.stderr[-3000:]
    assert "launched 6 runs on Ray (127.0.0.1:6390, cluster: 2 CPUs" in first.stdout
    finished = _lines(first.stdout, "] finished ")
    assert sorted(line.split()[2] for line in finished) == sorted(GOOD)
    # Tasks ran on both nodes of the cluster.
    assert len({line.split("(node ")[1][:8] for line in finished}) == 2
    failed = _lines(first.stdout, "] FAILED ")
    assert sorted(line.split()[2] for line in failed) == sorted(BROKEN)
    for line in failed:
        name = line.split()[2]
        log = os.path.join(swept.dir, name, "stdout.log")
        assert line.endswith(f"; log: {log}") and os.path.isfile(log)
        assert "(exit " in line and "exit 0" not in line
    assert "sweep done: 4/6 runs finished, 2 failed: " in first.stdout
    for name in GOOD:
        assert len(metric_records(os.path.join(swept.dir, name), "final")) == 1
        with open(os.path.join(swept.dir, name, "config.yml")) as f:
            config = yaml.safe_load(f)
        assert config["seed"] == int(name[-1]) and config["log_dir"] == os.path.join(swept.dir, name)
    assert swept.leftover == [], "Ray processes outlived the cluster"


def test_rerun_skips_finished_runs_and_relaunches_the_others(swept):
    second = swept.second
    assert second.returncode == 1, second.stdout + second.stderr[-3000:]
    assert "6 runs in" in second.stdout and "3 finished (skipped), 3 to run" in second.stdout
    assert "launched 3 runs on Ray (local, cluster: 2 CPUs" in second.stdout
    relaunched = sorted(line.split()[2] for line in _lines(second.stdout, "] finished "))
    assert relaunched == [CUT]
    assert sorted(line.split()[2] for line in _lines(second.stdout, "] FAILED ")) == sorted(BROKEN)
    for name in GOOD:
        with open(os.path.join(swept.dir, name, "log.json"), "rb") as f:
            log = f.read()
        if name != CUT:
            assert log == swept.logs_after_first[name], f"{name} was finished and must not have been touched"
        with open(os.path.join(swept.dir, name, "stdout.log")) as f:
            launches = [line for line in f if line.startswith("# ") and "slbo/main.py" in line]
        assert len(launches) == (2 if name == CUT else 1)
    assert len(metric_records(os.path.join(swept.dir, CUT), "final")) == 1


def test_list_shows_each_run_state(swept):
    listing = swept.listing
    assert listing.returncode == 0, listing.stderr
    states = {line.split()[-2]: line.split("  ")[0].strip() for line in listing.stdout.splitlines()}
    assert {name: states[name] for name in GOOD} == {name: "finished" for name in GOOD}
    # A broken run fails before its first stage (before writing anything, when main.py checks the checkpoint).
    assert {states[name] for name in BROKEN} <= {"new", "started, no stage"} and len(states) == 6


def test_report_of_the_sweep_matches_the_logs(swept, tmp_path):
    out = tmp_path / "report"
    result = cli("slbo.report", [swept.dir, "--steps", "200", "--out", out])
    assert result.returncode == 0, result.stderr
    logged = [n for n in BROKEN if os.path.isfile(os.path.join(swept.dir, n, "log.json"))]
    assert result.stderr.count("has no evaluation yet; left out") == len(logged)
    with open(out / "report.csv") as f:
        rows = {(r["variant"], r["at"]): r for r in csv.DictReader(f)}
    assert set(rows) == {(v, at) for v in ("slbo", "va-l2-refit3") for at in ("final", "200")}
    for variant in ("slbo", "va-l2-refit3"):
        finals, at_200 = [], []
        for seed in (1, 2):
            log_dir = os.path.join(swept.dir, f"{variant}_seed{seed}")
            finals.append(metric_records(log_dir, "final")[0]["return mean Real Env"])
            at_200.append(next(m["return mean Real Env"] for m in metric_records(log_dir, "stage")
                               if m["cum_steps"] == 200))
        for at, values in (("final", finals), ("200", at_200)):
            row = rows[(variant, at)]
            assert row["env"] == "HalfCheetah-v2" and int(row["n"]) == 2
            assert math.isclose(float(row["mean"]), np.mean(values), rel_tol=1e-12)
            assert math.isclose(float(row["sem"]), np.std(values, ddof=1) / np.sqrt(2), rel_tol=1e-12)
    table = (out / "report.md").read_text()
    assert f"{float(rows[('slbo', 'final')]['mean']):.1f} ± {float(rows[('slbo', 'final')]['sem']):.1f} (n=2)" in table
    with open(out / "curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("spec, message", [
    ({"grd": {"env.id": ["HalfCheetah"]}, "seeds": [1]}, "unknown key 'grd'"),
    ({"grid": {}, "seeds": [1]}, "empty grid"),
    ({"grid": {"env.id": []}, "seeds": [1]}, "empty grid"),
    ({"seeds": [1]}, "empty grid"),
    ({"configs": ["configs/no_such.yml"], "grid": {"env.id": ["HalfCheetah"]}, "seeds": [1]},
     "config file not found: configs/no_such.yml"),
    ({"grid": {"v": {"a": {"configs": ["nope.yml"]}}}, "seeds": [1]}, "config file not found: nope.yml"),
    ({"grid": {"v": {"a": {"sett": {}}}}, "seeds": [1]}, "unknown key 'sett' in grid point 'v.a'"),
    ({"grid": {"model.lrr": [0.1]}, "seeds": [1]}, "unknown flag 'model.lrr'"),
    ({"grid": {"env.id": ["HalfCheetah"]}, "seeds": []}, "'seeds' must be a non-empty list"),
    ({"grid": {"env.id": ["HalfCheetah"]}, "seeds": [0]}, "'seeds' must be a non-empty list"),
    ({"grid": {"env.id": ["HalfCheetah"]}, "seeds": [1, 1]}, "lists a seed twice"),
    ({"set": {"seed": 3}, "grid": {"env.id": ["HalfCheetah"]}, "seeds": [1]}, "sets 'seed'"),
    ({"grid": {"env.id": ["HalfCheetah"]}, "seeds": [1], "resources": {"num_cpu": 1}}, "unknown key 'num_cpu'"),
    ({"grid": {"env.id": ["HalfCheetah"]}, "seeds": [1], "resources": {"num_gpus": -1}}, "resources.num_gpus"),
    ("grid: [", "malformed YAML"),
])
def test_bad_sweep_file_is_one_line_and_exit_2(tmp_path, spec, message):
    path = tmp_path / "bad.yml"
    path.write_text(spec if isinstance(spec, str) else yaml.safe_dump(spec))
    result = cli("slbo.sweep", [path, "--dir", tmp_path / "runs"])
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr
    assert not os.path.exists(tmp_path / "runs")


def test_missing_sweep_file_and_bad_options_exit_2(tmp_path):
    for args in ([tmp_path / "none.yml"], [TINY_SWEEP, "--num-cpus", "0"], [TINY_SWEEP, "--bogus"]):
        result = cli("slbo.sweep", args)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, (args, result.stderr)


def test_run_dir_with_other_flags_is_refused(tmp_path):
    from slbo.sweep import load_sweep
    from slbo.utils.flags import parse_flags

    run = load_sweep(TINY_SWEEP, str(tmp_path / "runs")).runs[0]
    os.makedirs(run.log_dir)
    config = parse_flags(list(run.argv)).as_dict()
    with open(os.path.join(run.log_dir, "config.yml"), "w") as f:
        yaml.safe_dump(config, f)
    assert cli("slbo.sweep", [TINY_SWEEP, "--dir", tmp_path / "runs", "--list"]).returncode == 0
    config["algorithm"] = "mle"
    with open(os.path.join(run.log_dir, "config.yml"), "w") as f:
        yaml.safe_dump(config, f)
    result = cli("slbo.sweep", [TINY_SWEEP, "--dir", tmp_path / "runs", "--list"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert f"{run.log_dir}/config.yml was written with other flags (algorithm: 'mle' -> 'slbo')" in result.stderr


def test_runs_get_the_sweep_flags_in_order(tmp_path):
    from slbo.sweep import load_sweep

    sweep = load_sweep(TINY_SWEEP, str(tmp_path))
    assert [run.name for run in sweep.runs] == GOOD
    run = sweep.runs[1]
    assert run.log_dir == os.path.join(str(tmp_path), "va-l2-refit3_seed1")
    assert list(run.argv) == ["--config", os.path.join(ROOT, "configs", "tests", "tiny.yml"), "--set",
                              "algorithm=va", "model.va_norm=l2", "model.value_update_interval=3", "seed=1",
                              f"log_dir={run.log_dir}", "run_id=va-l2-refit3_seed1"]
    assert (sweep.num_cpus, sweep.num_gpus) == (1.0, 0.0)


def test_paper_sweep_is_the_comparison_grid(tmp_path):
    from slbo.partial_envs import REGISTRY
    from slbo.sweep import load_sweep, validate_runs

    sweep = load_sweep(PAPER_SWEEP, str(tmp_path))
    variants = {run.name.split("_")[1] for run in sweep.runs}
    assert variants == {"slbo", "mle", "va-l1", "va-l2", "va-l1-refit20", "va-l2-refit20"}
    envs = {run.name.split("_")[0] for run in sweep.runs}
    assert envs == {"HalfCheetah", "Hopper", "Walker2D", "Ant", "Swimmer"}
    assert len(sweep.runs) == len(envs) * len(variants) * 5
    assert envs <= set(REGISTRY)
    n_stages = validate_runs(sweep)  # every run's flags parse as slbo/main.py parses them
    assert set(n_stages.values()) == {100}


def test_sweep_values_round_trip_through_main_py_parsing():
    from slbo.sweep import render

    for value in (1e-3, "1e-2", 3, True, None, [32, 32], "HalfCheetah", 0.5):
        assert yaml.safe_load(render(value)) == value


def test_runs_larger_than_the_cluster_are_refused_not_left_waiting(netns, tmp_path):
    with open(TINY_SWEEP) as f:
        spec = yaml.safe_load(f)
    spec["resources"] = {"num_cpus": 2, "num_gpus": 0}
    path = tmp_path / "big.yml"
    path.write_text(yaml.safe_dump(spec))
    temp_dir = tempfile.mkdtemp(prefix="vr", dir="/tmp")
    try:
        result = cli("slbo.sweep", [path, "--dir", tmp_path / "runs", "--num-cpus", 1], netns, ray_env(temp_dir),
                     timeout=120)
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]  # Ray warns on stderr too
    assert result.returncode == 2 and len(errors) == 1, result.stderr
    assert errors[0].startswith("error: each run reserves resources.num_cpus=2, but the Ray cluster (local) has "
                                "1 CPUs in all, so no run could ever start"), result.stderr
    assert "launched" not in result.stdout and not os.path.exists(tmp_path / "runs")


def test_unreachable_cluster_address_is_one_line_and_exit_2(tmp_path):
    result = cli("slbo.sweep", [TINY_SWEEP, "--dir", tmp_path / "runs", "--address", "127.0.0.1:1"], timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "no Ray cluster at 127.0.0.1:1" in result.stderr
    assert not os.path.exists(tmp_path / "runs")


def test_list_numbers_stages_as_the_run_log_does(tmp_path):
    """A run that died in stage 0 ("Starting Stage 0" in its log) is listed as stopped in stage 0."""
    from slbo.sweep import Run, run_state

    log_dir = tmp_path / "run"
    log_dir.mkdir()
    (log_dir / "log.json").write_text('{"level": "info", "message": "------ Starting Stage 0 --------"}\n'
                                      '{"level": "metrics", "tag": "stage", "metrics": {"stage": 0, "cum_steps": 0}}\n')
    assert run_state(Run("run", str(log_dir), ()), 2) == "stopped in stage 0/2"
