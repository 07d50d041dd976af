"""Seconds of one paper-config SLBO stage on HalfCheetah, fused path and per-step path, in one process.

The run is `slbo/main.py -c configs/algos/slbo.yml configs/env_tingwu/gym_cheetah.yml` (or --env's
task file) with one
stage (n_iters=20, n_model_iters=100, n_policy_iters=40, n_trpo_samples=4000: n_envs=4 x 1000
steps), once per path. The stage is timed from its "Starting Stage" line to its checkpoint
(graph building, the env check and the final evaluation are outside it); the first fused stage
includes XLA compilation, reported separately. Phase shares come from timers around:
collection (real steps with OU noise), model fit (model steps and dev-set validation), rollouts
(imagined TRPO batches with values and GAE, value-refit batches included), TRPO (policy steps),
value fit, evaluation (real and model env returns); "other" is the rest (normalisers, checkpoint,
the loop's own Python). A phase run on a second thread (the fused path's value fit) overlaps the
others and is not part of their sum.

    python bench/stage.py [--paths fused per_step] [--n-iters 20] [--env configs/env_tingwu/TASK.yml]

Last line: stage_s=<fused> per_step_stage_s=<per-step>"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from typing import Callable, Dict, Iterator, List, Sequence, Set, Tuple, Union

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import slbo.main  # noqa: E402
from lunzi.logger import logger  # noqa: E402
from slbo.algos.TRPO import TRPO  # noqa: E402
from slbo.loss import ModelLoss  # noqa: E402
from slbo.utils.flags import parse_flags  # noqa: E402
from slbo.utils.fused_runner import FusedRunner  # noqa: E402
from slbo.utils.runner import Runner  # noqa: E402

PHASES = ("collection", "model fit", "rollouts", "TRPO", "value fit", "evaluation")
ALGO, TASK = "configs/algos/slbo.yml", "configs/env_tingwu/gym_cheetah.yml"


class StageClock:
    """Phase timers (outermost timed call per thread only), call durations per method, the stage's
    start and end. Phases timed off the main thread ran concurrently with main-thread phases."""

    def __init__(self) -> None:
        self.phases: Dict[str, float] = defaultdict(float)
        self.concurrent: Set[str] = set()
        self.calls: Dict[str, List[float]] = defaultdict(list)
        self.start = self.end = self.other_cpu = 0.0
        self.cpu_start = (0.0, 0.0)
        self._depth = threading.local()

    @contextlib.contextmanager
    def phase(self, name: str, method: str) -> Iterator[None]:
        depth = getattr(self._depth, "value", 0)
        self._depth.value = depth + 1
        start = time.perf_counter()
        try:
            yield
        finally:
            self._depth.value = depth
            if depth == 0 and self.start and not self.end:
                self.phases[name] += time.perf_counter() - start
                self.calls[method].append(time.perf_counter() - start)
                if threading.current_thread() is not threading.main_thread():
                    self.concurrent.add(name)

    def compile_estimate(self) -> float:
        """Σ over methods of (first call − median of the others): mostly XLA compilation."""
        return sum(max(0.0, calls[0] - float(np.median(calls[1:]))) for calls in self.calls.values() if len(calls) > 1)

    def write(self, level: str, message: str, caller: str, record: dict) -> None:
        """A logger sink: the stage starts at its first line."""
        if message.startswith("------ Starting Stage"):
            self.start, self.cpu_start = time.perf_counter(), cpu_seconds()


def timed(clock: "_Dispatch", owner: type, method: str, name: Union[str, Callable[..., str]],
          job: bool = False) -> None:
    """Wraps `owner.method` so each call counts towards phase `name` (or `name(self, *args)`); for
    a `job` method, which returns a call to make later, what counts is that call."""
    original = getattr(owner, method)

    def wrapper(self, *args, **kwargs):
        phase = name if isinstance(name, str) else name(self, *args, **kwargs)

        def run_timed(call: Callable, *call_args, **call_kwargs):
            with clock.phase(phase, f"{type(self).__name__}.{method} ({phase})"):
                return call(*call_args, **call_kwargs)

        if job:
            work = original(self, *args, **kwargs)
            return lambda: run_timed(work)
        return run_timed(original, self, *args, **kwargs)

    setattr(owner, method, wrapper)


def other_cpu_seconds(since: Tuple[float, float]) -> float:
    """CPU seconds used by other processes since `since` = (busy seconds of all CPUs, of this process);
    the two clocks differ by a few seconds over minutes, so an idle machine reads about 0."""
    busy, own = cpu_seconds()
    return max(0.0, (busy - since[0]) - (own - since[1]))


def cpu_seconds() -> Tuple[float, float]:
    """(busy CPU seconds of the machine, CPU seconds of this process) from /proc."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, time.process_time()


def run_stage(configs: List[str], path: str, n_iters: int, clock: StageClock) -> None:
    def stage_done(*args, **kwargs):
        clock.end = time.perf_counter()
        clock.other_cpu = other_cpu_seconds(clock.cpu_start)
        return save_resume(*args, **kwargs)

    save_resume = slbo.main.save_resume
    slbo.main.save_resume = stage_done
    logger.add_sink(clock)
    try:
        with tempfile.TemporaryDirectory() as log_dir:
            code = slbo.main.run(["-c", *configs, "-s", "slbo.n_stages=1", f"slbo.n_iters={n_iters}",
                                  f"plan.rollout={path}", f"log_dir={log_dir}", "seed=1"])
            assert code == 0, f"the {path} run failed with exit code {code}"
    finally:
        slbo.main.save_resume = save_resume
        logger.sinks.remove(clock)


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", nargs="+", default=["fused", "per_step"], choices=["fused", "per_step"])
    parser.add_argument("--n-iters", type=int, default=20, help="slbo.n_iters of the stage")
    parser.add_argument("--env", default=TASK, help=f"the task's config file (default: {TASK})")
    args = parser.parse_args(argv)
    configs = [ALGO, args.env]

    clocks = {path: StageClock() for path in args.paths}
    current: Dict[str, StageClock] = {}
    clock = _Dispatch(current)
    flags = parse_flags(["-c", *configs])

    def run_phase(self, policy, n_samples: int, noise=None) -> str:
        """Runs with OU noise collect real data; runs of n_test_samples evaluate; others are TRPO batches."""
        if noise is not None:
            return "collection"
        return "evaluation" if n_samples == flags.rollout.n_test_samples else "rollouts"

    for runner in (Runner, FusedRunner):
        timed(clock, runner, "run", run_phase)
        timed(clock, runner, "compute_advantage", "rollouts")
        timed(clock, runner, "run_with_advantages", "rollouts")
    timed(clock, TRPO, "_policy_step_job", "TRPO", job=True)
    timed(clock, TRPO, "_fit_vf_job", "value fit", job=True)
    timed(clock, ModelLoss, "train_steps", "model fit")
    timed(clock, ModelLoss, "evaluate", "model fit")

    for path in args.paths:
        current["clock"] = clocks[path]
        run_stage(configs, path, args.n_iters, clocks[path])
    for path, c in clocks.items():
        total = c.end - c.start
        print(f"{path:8s} stage: {total:7.1f} s (first calls, mostly XLA compilation: ~{c.compile_estimate():.1f} s; "
              f"other processes used {c.other_cpu:.0f} CPU-s in it)")
        for name in PHASES:
            overlap = " (on a second thread, during the next rollout)" if name in c.concurrent else ""
            print(f"    {name:11s} {c.phases[name]:7.1f} s  {100 * c.phases[name] / total:5.1f}%{overlap}")
        sequential = sum(c.phases[name] for name in PHASES if name not in c.concurrent)
        print(f"    {'other':11s} {total - sequential:7.1f} s  {100 * (total - sequential) / total:5.1f}%")
    seconds = {path: f"{clocks[path].end - clocks[path].start:.1f}" if path in clocks else "nan"
               for path in ("fused", "per_step")}
    print(f"stage_s={seconds['fused']} per_step_stage_s={seconds['per_step']}")


class _Dispatch:
    """Forwards phase timing to the clock of the path being run."""

    def __init__(self, current: Dict[str, StageClock]):
        self.current = current

    def phase(self, name: str, method: str):
        return self.current["clock"].phase(name, method)


if __name__ == "__main__":
    main(sys.argv[1:])
