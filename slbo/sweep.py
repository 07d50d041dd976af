"""Sweeps: many runs of slbo/main.py (configs x grid x seeds), each one a Ray task.

python -m slbo.sweep configs/sweeps/slbo_paper.yml [--dir DIR] [--address HOST:PORT] [--list]

A sweep file:

    dir: experiments/sweeps/paper     # run directories go here (--dir overrides)
    configs: [configs/algos/slbo.yml] # config files of every run, first
    set: {runner.max_steps: 1000}     # --set items of every run
    grid:                             # the cartesian product of the axes
      env.id: [HalfCheetah, Hopper]   # a flag axis: one --set value per point
      variant:                        # a named axis: each point adds configs and/or --set items
        slbo: {configs: [configs/algos/slbo.yml]}
        va-l1: {configs: [configs/algos/va.yml], set: {model.va_norm: l1}}
    seeds: [1, 2, 3, 4]
    resources: {num_cpus: 1, num_gpus: 0}   # what one run reserves on the Ray cluster

Each run writes into DIR/<point labels>_seed<S>/ (config.yml, log.json, checkpoints, and the
process output in stdout.log). A run is finished when its log.json holds a "final" record;
re-running the sweep skips finished runs and runs that another process is running (their log_dir
is locked), and launches the others again with the same command, which resumes them from their
last completed stage. Exit code: 0 when every run is finished, 1 when some failed or run
elsewhere, 2 for a bad sweep file or command line (one line on stderr), 130 when stopped
(Ctrl-C or SIGTERM). docs/SWEEPS.md has the details, and how to run on a Ray cluster.
"""
from __future__ import annotations

import ctypes
import dataclasses
import itertools
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Dict, List, NoReturn, Optional, Sequence, TextIO, Tuple

import yaml

from lunzi.config import ArgumentParser, ConfigError, expand, load_yaml, nearest
from slbo import logs
from slbo.run.lock import lock_holder
from slbo.run.preflight import config_differences, is_finished
from slbo.run.progress import format_duration

SWEEP_KEYS = ("dir", "configs", "set", "grid", "seeds", "resources")
POINT_KEYS = ("configs", "set")
RESOURCE_KEYS = ("num_cpus", "num_gpus")
RESERVED_FLAGS = ("seed", "log_dir", "run_id")  # the sweep sets these for every run
OUTPUT_FILE = "stdout.log"
MAIN_PY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "main.py")


@dataclasses.dataclass(frozen=True)
class Run:
    name: str
    log_dir: str
    argv: Tuple[str, ...]  # the arguments of slbo/main.py


@dataclasses.dataclass(frozen=True)
class Sweep:
    path: str
    dir: str
    runs: Tuple[Run, ...]
    num_cpus: float
    num_gpus: float


class _Spec:
    """Checks the parts of one sweep file, naming the file in every error."""

    def __init__(self, path: str):
        self.path = path

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {message}")

    def check_keys(self, where: str, mapping: Any, valid: Sequence[str]) -> Dict[str, Any]:
        if not isinstance(mapping, dict):
            raise self.error(f"{where} must be a mapping with keys {', '.join(valid)}, got {mapping!r}")
        for key in mapping:
            if key not in valid:
                hint = ", ".join(nearest(str(key), list(valid)))
                raise self.error(f"unknown key '{key}' in {where}; valid keys: {', '.join(valid)} "
                                 f"(nearest: {hint})")
        return mapping

    def configs(self, where: str, value: Any) -> List[str]:
        paths = [value] if isinstance(value, str) else value
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise self.error(f"{where} must be a list of config file paths, got {value!r}")
        for path in paths:
            try:
                load_yaml(path)
            except ConfigError as e:
                raise self.error(f"{where}: {e} (paths are relative to the current directory)") from None
        return [expand(p) for p in paths]

    def set_items(self, where: str, value: Any) -> List[str]:
        if not isinstance(value, dict):
            raise self.error(f"{where} must be a mapping of flag: value, got {value!r}")
        return [self.item(where, key, v) for key, v in value.items()]

    def item(self, where: str, key: Any, value: Any) -> str:
        if key in RESERVED_FLAGS:
            raise self.error(f"{where} sets '{key}', which the sweep sets for every run "
                             f"({', '.join(RESERVED_FLAGS)}); list seeds under 'seeds'")
        return f"{key}={render(value)}"


def render(value: Any) -> str:
    """A --set value that slbo/main.py parses (as YAML) back to `value`."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30).strip()
    return text[:-3].strip() if text.endswith("\n...") else text


def _label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", text).strip("-")


def load_sweep(path: str, out_dir: Optional[str] = None) -> Sweep:
    """Reads and checks a sweep file (keys, grid, seeds, that config files exist); raises ConfigError."""
    spec = _Spec(path)
    data = spec.check_keys("the sweep file", load_yaml(path), SWEEP_KEYS)
    configs = spec.configs("configs", data.get("configs", []))
    common = spec.set_items("set", data.get("set") or {})

    grid = data.get("grid")
    if not isinstance(grid, dict) or not grid:
        raise spec.error("empty grid: 'grid' must map at least one axis to its points, "
                         "e.g. grid: {env.id: [HalfCheetah]}")
    axes = []  # per axis: [(label, config files, --set items)]
    for axis, points in grid.items():
        if isinstance(points, list) and points:
            axes.append([(_label(f"{axis}={render(v)}"), [], [spec.item(f"grid axis '{axis}'", axis, v)])
                         for v in points])
        elif isinstance(points, dict) and points:
            axis_points = []
            for name, point in points.items():
                where = f"grid point '{axis}.{name}'"
                point = spec.check_keys(where, point or {}, POINT_KEYS)
                axis_points.append((_label(str(name)), spec.configs(f"{where} configs", point.get("configs", [])),
                                    spec.set_items(f"{where} set", point.get("set") or {})))
            axes.append(axis_points)
        else:
            raise spec.error(f"empty grid: axis '{axis}' must be a non-empty list of values (a flag axis) "
                             f"or a non-empty mapping of named points, got {points!r}")

    seeds = data.get("seeds")
    if (not isinstance(seeds, list) or not seeds
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in seeds)):
        raise spec.error(f"'seeds' must be a non-empty list of positive integers (0 would draw a random "
                         f"seed, which a re-run cannot repeat), got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise spec.error(f"'seeds' lists a seed twice: {seeds}")

    resources = spec.check_keys("resources", data.get("resources") or {}, RESOURCE_KEYS)
    num_cpus, num_gpus = resources.get("num_cpus", 1), resources.get("num_gpus", 0)
    for key, value, low in (("num_cpus", num_cpus, 0), ("num_gpus", num_gpus, -1)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= low:
            raise spec.error(f"resources.{key} must be a number {'> 0' if low == 0 else '>= 0'}, got {value!r}")

    sweep_dir = expand(out_dir or data.get("dir") or os.path.join(
        "experiments", "sweeps", os.path.splitext(os.path.basename(path))[0]))
    runs, names = [], set()
    for seed in seeds:  # seeds outermost: the first runs to finish cover every grid point
        for points in itertools.product(*axes):
            name = "_".join([label for label, _, _ in points] + [f"seed{seed}"])
            if name in names:
                raise spec.error(f"two grid points get the run name '{name}'; rename a point")
            names.add(name)
            log_dir = os.path.join(sweep_dir, name)
            point_configs = configs + [c for _, files, _ in points for c in files]
            items = common + [i for _, _, point_items in points for i in point_items]
            argv = ((["--config", *point_configs] if point_configs else [])
                    + ["--set", *items, f"seed={seed}", f"log_dir={log_dir}", f"run_id={name}"])
            runs.append(Run(name, log_dir, tuple(argv)))
    return Sweep(expand(path), sweep_dir, tuple(runs), float(num_cpus), float(num_gpus))


def validate_runs(sweep: Sweep) -> Dict[str, int]:
    """Parses every run's flags as slbo/main.py will, and checks that a run directory left by an
    earlier sweep holds the same flags. Returns each run's number of stages; raises ConfigError."""
    from slbo.utils.flags import parse_flags

    n_stages = {}
    for run in sweep.runs:
        try:
            flags = parse_flags(list(run.argv))
        except ConfigError as e:
            raise ConfigError(f"{sweep.path}: run {run.name}: {e}") from None
        n_stages[run.name] = flags.slbo.n_stages
        stored_path = os.path.join(run.log_dir, "config.yml")
        if os.path.isfile(stored_path):
            try:
                with open(stored_path) as f:
                    stored = yaml.safe_load(f)
            except (OSError, yaml.YAMLError) as e:
                raise ConfigError(f"cannot read {stored_path} ({type(e).__name__}); remove that run") from None
            differences = config_differences(flags, stored if isinstance(stored, dict) else {})
            if differences:
                raise ConfigError(f"{stored_path} was written with other flags ({'; '.join(differences[:3])}); "
                                  f"use another --dir or remove that run")
    return n_stages


RUNNING_ELSEWHERE = "running elsewhere"


def run_state(run: Run, n_stages: int) -> str:
    if is_finished(run.log_dir):
        return "finished"
    holder = lock_holder(run.log_dir)
    if holder:  # another process (an earlier sweep, a terminal) has this run: never start it twice
        return f"{RUNNING_ELSEWHERE} ({holder})"
    stages = logs.metrics(run.log_dir, "stage")
    if stages:
        return f"stopped in stage {stages[-1]['stage']}/{n_stages}"  # 0-based, as in the run's log
    return "started, no stage" if os.path.exists(os.path.join(run.log_dir, "log.json")) else "new"


def _die_with_parent() -> None:
    """Child side of fork: the run gets SIGTERM when the Ray worker that launched it dies, so a
    cancelled sweep leaves no orphan writing into the run directory (prctl PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def _where() -> str:
    """This host, and the Ray node when run as a Ray task (nodes of one host share its name)."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return socket.gethostname()
    return f"{socket.gethostname()} (node {ray.get_runtime_context().get_node_id()[:8]})"


def execute_run(argv: Sequence[str], log_dir: str) -> Dict[str, Any]:
    """The body of one Ray task: runs slbo/main.py, appending its output to log_dir/stdout.log."""
    os.makedirs(log_dir, exist_ok=True)
    command = [sys.executable, MAIN_PY, *argv]
    start = time.time()
    with open(os.path.join(log_dir, OUTPUT_FILE), "a") as out:
        out.write(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} on {_where()}: {shlex.join(command)}\n")
        out.flush()
        code = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               cwd=log_dir, preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    return {"returncode": code, "host": _where(), "seconds": time.time() - start}


def _last_line(path: str) -> str:
    """The last non-empty line of a run's output: usually the exception that stopped it."""
    try:
        with open(path, "rb") as f:
            f.seek(max(os.path.getsize(path) - 8192, 0))
            lines = [line.strip() for line in f.read().decode(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""


def _final_return(log_dir: str) -> str:
    final = logs.metrics(log_dir, "final")
    if not final or "return mean Real Env" not in final[-1]:
        return "?"
    return f"{float(final[-1]['return mean Real Env']):.6g}"  # float(): the logger writes nan as "nan"


def check_reachable(address: str) -> None:
    """Fails fast when nothing listens at HOST:PORT (Ray itself retries a wrong address for many minutes)."""
    match = re.fullmatch(r"\[?([^\]/]+?)\]?:(\d+)", address)
    if not match:  # "auto", "ray://...": Ray's own rules
        return
    try:
        socket.create_connection((match.group(1), int(match.group(2))), timeout=10).close()
    except OSError as e:
        raise ConfigError(f"no Ray cluster at {address} ({e.strerror or e}): start one with `ray start --head`, "
                          f"or leave out --address to run on a local Ray") from None


def check_schedulable(sweep: Sweep, cluster: Dict[str, float], where: str) -> None:
    """Ray would wait forever, without a word, for a task that needs more than the whole cluster has."""
    for key, resource, needed in (("num_cpus", "CPU", sweep.num_cpus), ("num_gpus", "GPU", sweep.num_gpus)):
        if needed > cluster.get(resource, 0):
            raise ConfigError(f"each run reserves resources.{key}={needed:g}, but the Ray cluster ({where}) has "
                              f"{cluster.get(resource, 0):g} {resource}s in all, so no run could ever start; lower "
                              f"resources.{key} in the sweep file, or give the cluster more {resource}s")


def launch(sweep: Sweep, runs: Sequence[Run], address: Optional[str], local_cpus: Optional[int],
           out: TextIO) -> List[str]:
    """Runs `runs` as Ray tasks; prints one line per run as it ends; returns the names of failed runs."""
    import ray
    from ray.exceptions import RayError

    if address:
        check_reachable(address)
        try:
            ray.init(address=address, log_to_driver=False, logging_level="error")
        except (ConnectionError, RuntimeError) as e:
            raise ConfigError(f"cannot join the Ray cluster at {address}: {str(e).strip().splitlines()[-1]} (a "
                              f"cluster with token authentication needs RAY_AUTH_MODE=token and its token: see "
                              f"docs/SWEEPS.md)") from None
    else:  # an embedded single-node cluster that lives as long as this process
        ray.init(address="local", num_cpus=local_cpus, include_dashboard=False, log_to_driver=False,
                 logging_level="error", object_store_memory=128 * 1024 ** 2)
    # A scheduler's stop (SIGTERM) shuts Ray down as Ctrl-C does; set after ray.init, which sets its own.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        check_schedulable(sweep, ray.cluster_resources(), address or "local")
        task = ray.remote(num_cpus=sweep.num_cpus, num_gpus=sweep.num_gpus)(execute_run)
        pending = {task.options(name=run.name).remote(list(run.argv), run.log_dir): run for run in runs}
        print(f"launched {len(runs)} runs on Ray ({address or 'local'}, cluster: "
              f"{ray.cluster_resources().get('CPU', 0):g} CPUs, {ray.cluster_resources().get('GPU', 0):g} GPUs)",
              file=out, flush=True)
        failed = []
        for k in range(1, len(runs) + 1):
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            run = pending.pop(ref)
            output = os.path.join(run.log_dir, OUTPUT_FILE)
            try:
                result = ray.get(ref)
            except RayError as e:  # the worker or its node died (after Ray's own retries)
                result = {"returncode": None, "error": str(e).strip().splitlines()[0][:300]}
            if result["returncode"] == 0 and is_finished(run.log_dir):
                print(f"[{k}/{len(runs)}] finished {run.name} in {format_duration(result['seconds'])} on "
                      f"{result['host']}: return {_final_return(run.log_dir)}", file=out, flush=True)
                continue
            failed.append(run.name)
            if result["returncode"] is None:
                why = f"Ray: {result['error']}"
            elif result["returncode"] == 0:
                why = "exit 0 without a final record"
            else:
                why = f"exit {result['returncode']}: {_last_line(output)}"
            print(f"[{k}/{len(runs)}] FAILED {run.name} ({why}); log: {output}", file=out, flush=True)
        return failed
    finally:
        ray.shutdown()


def _interrupt(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt


USAGE = "python -m slbo.sweep SWEEP.yml [--dir DIR] [--address HOST:PORT] [--num-cpus N] [--list]"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = ArgumentParser(prog="python -m slbo.sweep", usage_line=USAGE,
                            description="Run a sweep of slbo/main.py on Ray.")
    parser.add_argument("sweep", help="the sweep file (YAML)")
    parser.add_argument("--dir", help="the sweep directory (default: the file's 'dir', else "
                                      "experiments/sweeps/<file name>)")
    parser.add_argument("--address", help="join this Ray cluster (HOST:PORT of `ray start --head`, or 'auto'); "
                                          "default: start a local Ray inside this process")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all); ignored with --address")
    parser.add_argument("--list", action="store_true", help="print every run and its state; launch nothing")
    try:
        args = parser.parse_args(argv)
        if args.num_cpus is not None and args.num_cpus < 1:
            raise ConfigError(f"--num-cpus must be >= 1, got {args.num_cpus}")
        sweep = load_sweep(args.sweep, args.dir)
        n_stages = validate_runs(sweep)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    states = {run.name: run_state(run, n_stages[run.name]) for run in sweep.runs}
    if args.list:
        width = max(len(s) for s in states.values())
        for run in sweep.runs:
            print(f"{states[run.name]:<{width}}  {run.name}  {run.log_dir}")
        return 0
    elsewhere = [run for run in sweep.runs if states[run.name].startswith(RUNNING_ELSEWHERE)]
    for run in elsewhere:
        print(f"{run.name}: {states[run.name]}; skipped", flush=True)
    todo = [run for run in sweep.runs if states[run.name] != "finished" and run not in elsewhere]
    print(f"sweep {args.sweep}: {len(sweep.runs)} runs in {sweep.dir}, {len(sweep.runs) - len(todo) - len(elsewhere)} "
          f"finished (skipped), " + (f"{len(elsewhere)} running elsewhere (skipped), " if elsewhere else "") +
          f"{len(todo)} to run", flush=True)
    if not todo:
        return 1 if elsewhere else 0
    try:
        import ray  # noqa: F401
    except ImportError:
        print("error: Ray is not installed; pip install -e '.[sweep]'", file=sys.stderr)
        return 2
    try:
        failed = launch(sweep, todo, args.address, args.num_cpus, sys.stdout)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to go on", file=sys.stderr)
        return 130
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finished = len(sweep.runs) - len(failed) - len(elsewhere)
    print(f"sweep done: {finished}/{len(sweep.runs)} runs finished" +
          (f", {len(failed)} failed: {', '.join(failed)}" if failed else "") +
          (f", {len(elsewhere)} running elsewhere" if elsewhere else "") +
          f"; report: python -m slbo.report {sweep.dir}", flush=True)
    return 1 if failed or elsewhere else 0


if __name__ == "__main__":
    from slbo.sweep import main as _main  # the module's own name, so Ray pickles execute_run by reference

    sys.exit(_main())
