"""docs/results/diagnostics.py: table and figure of the diagnostics records of runs' log.json."""
from __future__ import annotations

import importlib.util
import json
import os

from tests.conftest import ROOT


def load_script():
    spec = importlib.util.spec_from_file_location("diagnostics_plot", os.path.join(ROOT, "docs", "results",
                                                                                    "diagnostics.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_log(run_dir, records) -> None:
    os.makedirs(run_dir)
    lines = [json.dumps(r) for r in records]
    (run_dir / "log.json").write_text("\n".join(lines) + '\n{"level": "metrics", "tag": "diagn')  # cut short


def test_reads_diagnostics_in_stage_order_and_plots_several_runs(tmp_path, capsys):
    script = load_script()
    va, slbo = tmp_path / "va", tmp_path / "slbo"
    write_log(va, [
        {"level": "metrics", "tag": "diagnostics", "metrics": {"stage": 2, "return_real": -600.0,
                                                               "return_imagined": 69000.0, "va_error_vfn": 3.0}},
        {"level": "metrics", "tag": "stage", "metrics": {"stage": 2, "return mean Real Env": -600.0}},
        {"level": "info", "message": "Diagnostics of stage 1: 1.0 s"},
        {"level": "metrics", "tag": "diagnostics", "metrics": {"stage": 1, "return_real": -300.0,
                                                               "return_imagined": 500.0, "va_error_vfn": 2.0}},
    ])
    write_log(slbo, [{"level": "metrics", "tag": "stage", "metrics": {"stage": 0}}])
    records = script.read_diagnostics(str(va))
    assert [(m["stage"], m["return_imagined"]) for m in records] == [(1, 500.0), (2, 69000.0)]
    out = tmp_path / "fig.png"
    assert script.main([str(va), str(slbo), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "va\nstage" in printed and "6.9e+04" in printed and "no diagnostics records" in printed
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20000


def test_a_directory_without_log_is_bad_input(tmp_path, capsys):
    assert load_script().main([str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2
    assert "has no log.json" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
