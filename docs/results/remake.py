"""Remakes the figures of docs/RESULTS.md from the committed logs, as docs/results/figures.yml lists them.

python docs/results/remake.py [OUTPUT ...] [--into DIR]

Each figure is made by its command (`python -m slbo.report ...` or a docs/results/*.py script) with
--out set to the figure's output, or to the same path under DIR with --into (to compare with the
committed files without touching them). Run from the repository root.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

import yaml

FIGURES = os.path.join("docs", "results", "figures.yml")


def read_figures(path: str = FIGURES) -> Dict[str, List[str]]:
    """{output: command arguments} from the figures file, each command's first word checked."""
    with open(path) as f:
        figures = yaml.safe_load(f) or {}
    for out, args in figures.items():
        if not isinstance(args, list) or not args or not (args[0] == "slbo.report" or args[0].endswith(".py")):
            raise ValueError(f"{path}: {out}: expected [slbo.report, ARG, ...] or [SCRIPT.py, ARG, ...], got {args!r}")
    return figures


def command(args: List[str], out: str) -> List[str]:
    """The command line that makes a figure into `out`."""
    head = [sys.executable, "-m", "slbo.report"] if args[0] == "slbo.report" else [sys.executable, args[0]]
    return head + [str(a) for a in args[1:]] + ["--out", out]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outputs", nargs="*", metavar="OUTPUT", help="figures to remake (default: all)")
    parser.add_argument("--into", metavar="DIR", help="write under DIR instead of over the committed figures")
    args = parser.parse_args(argv)
    try:
        figures = read_figures()
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    unknown = [o for o in args.outputs if o not in figures]
    if unknown:
        print(f"error: not in {FIGURES}: {', '.join(unknown)} (listed: {', '.join(figures)})", file=sys.stderr)
        return 2
    for out in args.outputs or list(figures):
        line = command(figures[out], os.path.join(args.into, out) if args.into else out)
        print("$ python", " ".join(line[1:]), flush=True)
        if subprocess.run(line).returncode != 0:
            print(f"error: making {out} failed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
