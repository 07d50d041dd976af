"""Plots the per-stage diagnostics (metric records tagged "diagnostics" in log.json) of one or more runs.

python docs/results/diagnostics.py RUN_DIR [RUN_DIR ...] [--out diagnostics.png]

A RUN_DIR is a run directory of slbo/main.py or its exported logs (log.json.gz, docs/results/logs/).

Prints a table per run and writes a figure of six panels against the stage: real vs imagined
return; the model's one-step error on the reward's coordinates and on all of them; the reward
error and bias it implies; V's error against real returns (TRPO's V and V_real); the value-aware
error with each V; the spread of each V (y axes symmetric-log: linear within ±1). docs/DIAGNOSTICS.md says what each metric measures.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Dict, List, Optional, Sequence

from slbo import logs

# (panel title, [(metric, line style, label)]); a run without a metric leaves its line out.
PANELS = [
    ("return of the policy", [("return_real", "-", "real"), ("return_imagined", "--", "imagined")]),
    ("model one-step error (normalised RMSE)", [("model_nrmse_reward", "-", "reward coords"),
                                                ("model_nrmse_all", "--", "all coords")]),
    ("reward error from the predicted state", [("reward_error", "-", "mean |Δr|"), ("reward_bias", "--", "mean Δr")]),
    ("V against real returns-to-go (RMSE)", [("vfn_rmse", "-", "TRPO V"), ("vreal_rmse", "--", "V_real"),
                                             ("value_scale", ":", "std of returns")]),
    ("value-aware error mean |V(s') − V(ŝ')|", [("va_error_vfn", "-", "TRPO V"), ("va_error_vreal", "--", "V_real")]),
    ("spread of V over real next states (std)", [("vfn_std", "-", "TRPO V"), ("vreal_std", "--", "V_real")]),
]
TABLE = ["return_real", "return_imagined", "model_nrmse_reward", "reward_bias", "vfn_rmse", "vreal_rmse",
         "va_error_vfn", "va_error_vreal"]


def read_diagnostics(run_dir: str) -> List[Dict[str, float]]:
    """The diagnostics records of the run's log in stage order (lines cut short by a running run skipped)."""
    return sorted(logs.metrics(run_dir, "diagnostics"), key=lambda m: m["stage"])


def table(records: List[Dict[str, float]]) -> str:
    rows = ["stage " + " ".join(f"{name:>18}" for name in TABLE)]
    for m in records:
        rows.append(f"{m['stage']:5d} " + " ".join(f"{m.get(name, float('nan')):18.4g}" for name in TABLE))
    return "\n".join(rows)


def machine() -> str:
    """"N-core <CPU model>[, AVX-512]" of this machine (the figure names where it was made)."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        model = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
        avx512 = any(line.startswith("flags") and " avx512f" in line for line in lines)
    except (OSError, StopIteration):
        model, avx512 = platform.processor() or platform.machine(), False
    return f"{os.cpu_count()}-core {model}" + (", AVX-512" if avx512 else "")


def plot(runs: Dict[str, List[Dict[str, float]]], out: str, command: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 3, figsize=(16, 8.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (title, lines) in zip(axes.flat, PANELS):
        for k, (run, records) in enumerate(runs.items()):
            for metric, style, label in lines:
                points = [(m["stage"], m[metric]) for m in records if metric in m]
                if points:
                    ax.plot(*zip(*points), style, marker="o", ms=3, color=colors[k % len(colors)],
                            label=f"{run}: {label}")
        ax.set_title(title, fontsize=10)
        ax.set_yscale("symlog", linthresh=1.0)  # runs differ by orders of magnitude
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("stage (networks after that many stages)")
        if ax.lines:
            ax.legend(fontsize=7)
    fig.text(0.01, 0.005, f"{command}  —  {machine()}", fontsize=7, family="monospace")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories, or their exported logs")
    parser.add_argument("--out", default="diagnostics.png", help="the figure to write (PNG)")
    args = parser.parse_args(argv)
    runs = {}
    for run_dir in args.runs:
        if not logs.is_run_dir(run_dir):
            print(f"error: {run_dir} is not a run (give run directories of slbo/main.py or their exported logs)",
                  file=sys.stderr)
            return 2
        runs[os.path.basename(os.path.normpath(run_dir))] = read_diagnostics(run_dir)
    for name, records in runs.items():
        print(name)
        print(table(records) if records else "  no diagnostics records (a run with diag.every=0, or before stage 1)")
    command = "python docs/results/diagnostics.py " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        plot(runs, args.out, command)
    except OSError as e:
        print(f"error: cannot write {args.out}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
