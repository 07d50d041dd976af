"""docs/results/diagnostics.py: table and figure of the diagnostics records of runs' log.json."""
from __future__ import annotations

import json
import os

from slbo import logs
from tests.conftest import results_script


def write_log(run_dir, records) -> None:
    os.makedirs(run_dir)
    (run_dir / "config.yml").write_text("seed: 1\n")
    lines = [json.dumps(r) for r in records]
    (run_dir / "log.json").write_text("\n".join(lines) + '\n{"level": "metrics", "tag": "diagn')  # cut short


def test_reads_diagnostics_in_stage_order_and_plots_several_runs(tmp_path, capsys):
    script = results_script("diagnostics")
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


def test_exported_logs_read_as_the_run_directory(tmp_path):
    script = results_script("diagnostics")
    run = tmp_path / "sweep" / "va_seed1"
    write_log(run, [{"level": "metrics", "tag": "diagnostics", "metrics": {"stage": s, "return_real": -s * 100.0}}
                    for s in (3, 1, 2)])
    exported = logs.export([str(run)], [str(tmp_path / "sweep")], str(tmp_path / "logs"))
    assert not os.path.exists(os.path.join(exported[0], "log.json"))
    assert script.read_diagnostics(exported[0]) == script.read_diagnostics(str(run))
    assert [m["stage"] for m in script.read_diagnostics(exported[0])] == [1, 2, 3]
    assert script.main([exported[0], "--out", str(tmp_path / "x.png")]) == 0


def test_a_directory_without_log_is_bad_input(tmp_path, capsys):
    assert results_script("diagnostics").main([str(tmp_path), "--out", str(tmp_path / "x.png")]) == 2
    assert "is not a run" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_the_figure_goes_where_out_says(tmp_path, capsys):
    """--out in a directory that does not exist yet creates it (remake.py --into relies on it); a path
    that cannot be written is one line and exit 2."""
    script = results_script("diagnostics")
    run = tmp_path / "va_seed1"
    write_log(run, [{"level": "metrics", "tag": "diagnostics", "metrics": {"stage": 1, "return_real": -600.0}}])
    out = tmp_path / "new" / "dir" / "fig.png"
    assert script.main([str(run), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "file").write_text("")
    assert script.main([str(run), "--out", str(tmp_path / "file" / "fig.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and err.count("\n") == 1
