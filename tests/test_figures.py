"""The figures of docs/RESULTS.md are what their committed logs give (docs/results/figures.yml)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from slbo import logs
from tests.conftest import ROOT, results_script

SCRIPT = os.path.join(ROOT, "docs", "results", "remake.py")
LOGS = os.path.join(ROOT, "docs", "results", "logs")


def figures():
    remake = results_script("remake")
    return remake.read_figures(os.path.join(ROOT, remake.FIGURES))


REPORTS = sorted(out for out, args in figures().items() if args[0] == "slbo.report")


@pytest.mark.parametrize("out", REPORTS)
def test_a_committed_report_is_what_its_logs_give(out, tmp_path):
    result = subprocess.run([sys.executable, SCRIPT, out, "--into", str(tmp_path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    names = ["report.md", "report.csv", "runs.csv"] + ["diagnostics.csv"] * ("--diagnostics" in figures()[out])
    for name in names:
        with open(os.path.join(ROOT, out, name)) as committed, open(tmp_path / out / name) as remade:
            assert remade.read() == committed.read(), f"{out}/{name} differs from what its logs give"


def test_every_committed_log_belongs_to_a_listed_figure():
    """Logs no figure reads are either a figure missing from figures.yml or data to delete."""
    read = {os.path.normpath(os.path.join(ROOT, a)) for args in figures().values() for a in args[1:]
            if str(a).startswith("docs/results/logs")}
    for top, dirs, files in os.walk(LOGS):
        if logs.is_run(files):
            assert any(top == r or top.startswith(r + os.sep) for r in read), f"{top} is in no figure"


def test_an_unknown_figure_is_one_line_and_exit_code_2():
    result = subprocess.run([sys.executable, SCRIPT, "docs/results/nothing"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: not in") and len(result.stderr.strip().splitlines()) == 1
