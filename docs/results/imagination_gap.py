"""Imagined vs real return per stage, read from the log of finished or running runs.

python docs/results/imagination_gap.py RUN_DIR [RUN_DIR ...]

A RUN_DIR is a run directory of slbo/main.py or its exported logs (log.json.gz, docs/results/logs/).
For each stage: the mean return of the imagined (model) episodes of the last TRPO batch of each
iteration, averaged over the stage's iterations, next to the real-env return measured at the start
of the following stage (with the published configs both are returns of 1000-step episodes). A model the policy exploits shows
imagined returns far above the real ones.
"""
from __future__ import annotations

import re
import sys
from typing import Dict, List, Tuple

from slbo import logs

TRPO_LINE = re.compile(r"\[TRPO\] # (\d+): n_episodes = \d+, returns: \{mean = (-?[\d.]+)")
STAGE_LINE = re.compile(r"------ Starting Stage (\d+) ")


def stage_table(run_dir: str) -> List[Tuple[int, float, float]]:
    """(stage, imagined return, real return after the stage) for every completed stage of the run."""
    imagined: Dict[int, List[Tuple[int, float]]] = {}
    real: Dict[int, float] = {}
    stage = -1
    for record in logs.records(run_dir):
        if record.get("level") == "metrics" and record.get("tag") in ("stage", "final"):
            real[int(record["metrics"]["stage"])] = float(record["metrics"]["return mean Real Env"])
            continue
        message = record.get("message", "")
        if (match := STAGE_LINE.search(message)) is not None:
            stage = int(match.group(1))
        elif (match := TRPO_LINE.search(message)) is not None:
            imagined.setdefault(stage, []).append((int(match.group(1)), float(match.group(2))))
    rows = []
    for t, values in sorted(imagined.items()):
        last = max(j for j, _ in values)
        finals = [v for j, v in values if j == last]
        if t + 1 in real:
            rows.append((t, sum(finals) / len(finals), real[t + 1]))
    return rows


def main(argv: List[str]) -> int:
    if not argv:
        print("usage: python docs/results/imagination_gap.py RUN_DIR [RUN_DIR ...]", file=sys.stderr)
        return 2
    for run_dir in argv:
        if not logs.is_run_dir(run_dir):
            print(f"error: {run_dir} is not a run (a directory with config.yml and log.json or log.json.gz)",
                  file=sys.stderr)
            return 2
    for run_dir in argv:
        print(run_dir)
        print("  stage  imagined  real")
        for t, imagined, real in stage_table(run_dir):
            print(f"  {t:5d}  {imagined:8.0f}  {real:5.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
