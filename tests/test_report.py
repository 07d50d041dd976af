"""`python -m slbo.report`: the table and the curves, on run directories written in main.py's format.
(tests/test_sweep.py checks the report on real runs of a sweep.)"""
from __future__ import annotations

import copy
import csv
import datetime
import gzip
import json
import math
import os
import subprocess
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pytest
import yaml

from lunzi.logger import TIME_FORMAT
from tests.conftest import ROOT


def write_run(log_dir: str, algorithm: str = "slbo", env: str = "HalfCheetah", seed: int = 1,
              curve: Sequence[Tuple[int, object]] = (), final: Optional[Tuple[int, float]] = None,
              seconds_apart: float = 0.0, provenance: Optional[List[dict]] = None,
              diagnostics: Sequence[dict] = (), episodes: Sequence[Tuple[int, int]] = (), **flags: object) -> str:
    """A run directory as slbo/main.py leaves it: config.yml, provenance.json (when given) and
    log.json with info, iteration, stage, diagnostics (when given) and (when finished) final records,
    `seconds_apart` between consecutive records; `episodes` gives each stage's evaluation lines (episodes
    ended on the real envs and in the model), logged before its stage record as main.py does."""
    os.makedirs(log_dir, exist_ok=True)
    config = {"algorithm": algorithm, "seed": seed, "log_dir": log_dir, "run_id": os.path.basename(log_dir),
              "env": {"id": env}, "model": {"va_norm": "l1", "value_update_interval": 0, "lr": 0.001},
              "slbo": {"n_stages": 4}}
    for key, value in flags.items():
        group, name = key.split("__")
        config.setdefault(group, {})[name] = value
    with open(os.path.join(log_dir, "config.yml"), "w") as f:
        yaml.safe_dump(config, f)
    if provenance is not None:
        with open(os.path.join(log_dir, "provenance.json"), "w") as f:
            json.dump(provenance, f)
    lines = [{"level": "info", "message": f"log_dir = {log_dir}"}]
    for stage, (cum, value) in enumerate(curve):
        for name, count in zip(("Real Env", "Virt Env"), episodes[stage] if stage < len(episodes) else ()):
            lines.append({"level": "info", "message": f"Tag = episode, Reward on {name} ({count} episodes): "
                                                      f"mean = {value:.6f}, sem = 1.000000"})
        lines.append({"level": "metrics", "tag": "stage", "metrics": {
            "stage": stage, "cum_steps": cum, "return mean Real Env": value, "return sem Real Env": 1.0}})
        lines.append({"level": "metrics", "tag": "iteration",
                      "metrics": {"slbo_n_stage": stage, "model_train_loss": 9.0}})
        if episodes:  # a mid-stage evaluation, which is no stage's
            lines.append({"level": "info",
                          "message": "Tag = iteration, Reward on Real Env (99 episodes): mean = 0, sem = 0"})
    lines += [{"level": "metrics", "tag": "diagnostics", "metrics": metrics} for metrics in diagnostics]
    if final is not None:
        lines.append({"level": "metrics", "tag": "final", "metrics": {
            "stage": len(curve), "cum_steps": final[0], "return mean Real Env": final[1]}})
    with open(os.path.join(log_dir, "log.json"), "w") as f:
        start = datetime.datetime(2026, 1, 1)
        f.writelines(json.dumps({"time": (start + datetime.timedelta(seconds=i * seconds_apart)).strftime(
            TIME_FORMAT), "caller": "main.py:1", **line}) + "\n" for i, line in enumerate(lines))
    return log_dir


def report(args: List[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "slbo.report", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def read_csv(path) -> dict:
    with open(path) as f:
        return {(r["env"], r["variant"], r["at"]): r for r in csv.DictReader(f)}


@pytest.fixture
def runs(tmp_path):
    """Two envs; slbo and va-l2-refit20 with 3 seeds on HalfCheetah (one unfinished), mle on Hopper."""
    top = tmp_path / "sweep"
    steps = [0, 1000, 2000, 3000]
    data = {}
    for seed, scale in ((1, 1.0), (2, 2.0), (3, 4.0)):
        data[("slbo", seed)] = [(s, scale * s / 100) for s in steps], (4000, scale * 50)
        data[("va", seed)] = [(s, scale * s / 50 - 3) for s in steps], (4000, scale * 90 + seed)
    data[("va", 3)] = (data[("va", 3)][0][:3], None)  # stopped after 2000 steps
    for (algorithm, seed), (curve, final) in data.items():
        extra = {"model__va_norm": "l2", "model__value_update_interval": 20} if algorithm == "va" else {}
        write_run(str(top / f"HalfCheetah_{algorithm}_seed{seed}"), algorithm, "HalfCheetah", seed, curve, final,
                  **extra)
    write_run(str(top / "deeper" / "Hopper_mle_seed1"), "mle", "Hopper", 1, [(0, 5.0), (1000, "nan"), (2000, 7.0)],
              (3000, 8.0))
    return top, data


def test_table_is_mean_and_standard_error_across_seeds(runs, tmp_path):
    top, data = runs
    out = tmp_path / "out"
    result = report([top, "--steps", "2k", "3000", "--out", out])
    assert result.returncode == 0, result.stderr
    rows = read_csv(out / "report.csv")
    columns = ("final", "2000", "3000")
    assert set(rows) == {("HalfCheetah", v, at) for v in ("slbo", "va-l2-refit20") for at in columns} \
        | {("Hopper", "mle", at) for at in columns}

    def check(key, values, steps):
        row = rows[key]
        assert int(row["n"]) == len(values) and int(row["steps"]) == steps
        assert math.isclose(float(row["mean"]), np.mean(values), rel_tol=1e-12)
        assert math.isclose(float(row["sem"]), np.std(values, ddof=1) / np.sqrt(len(values)), rel_tol=1e-12)

    check(("HalfCheetah", "slbo", "final"), [data[("slbo", s)][1][1] for s in (1, 2, 3)], 4000)
    check(("HalfCheetah", "slbo", "2000"), [data[("slbo", s)][0][2][1] for s in (1, 2, 3)], 2000)
    # The unfinished seed counts where it got to (2000 steps) and nowhere after.
    check(("HalfCheetah", "va-l2-refit20", "final"), [data[("va", s)][1][1] for s in (1, 2)], 4000)
    check(("HalfCheetah", "va-l2-refit20", "2000"), [data[("va", s)][0][2][1] for s in (1, 2, 3)], 2000)
    check(("HalfCheetah", "va-l2-refit20", "3000"), [data[("va", s)][0][3][1] for s in (1, 2)], 3000)
    # One seed: no standard error; a nan evaluation is skipped, so at 2000 steps the value logged at 2000.
    assert rows[("Hopper", "mle", "final")]["sem"] == "" and float(rows[("Hopper", "mle", "final")]["mean"]) == 8.0
    assert float(rows[("Hopper", "mle", "2000")]["mean"]) == 7.0
    assert float(rows[("Hopper", "mle", "3000")]["mean"]) == 8.0  # its final evaluation came at 3000 steps

    table = (out / "report.md").read_text()
    assert "| environment | variant | final | at 2k steps | at 3k steps |" in table
    slbo_final = rows[("HalfCheetah", "slbo", "final")]
    assert (f"| HalfCheetah | slbo | {float(slbo_final['mean']):.1f} ± {float(slbo_final['sem']):.1f} (n=3) |"
            in table)
    assert "| Hopper | mle | 8.0 (n=1) | 7.0 (n=1) | 8.0 (n=1) |" in table
    assert "1 of 7 runs have not finished" in table
    assert table in result.stdout


def test_runs_csv_lists_each_run_with_its_progress_and_wall_clock(tmp_path):
    top = tmp_path / "sweep"
    # 1 info + 3 x (stage, iteration) + final = 8 records, 90 s apart: 7 x 90 s = 10.5 min.
    write_run(str(top / "slbo_seed2"), "slbo", seed=2, curve=[(0, -5.0), (1000, 3.0), (2000, 9.0)],
              final=(3000, 12.5), seconds_apart=90)
    # Unfinished: 1 info + 2 x (stage, iteration) = 5 records, 30 s apart: 2 min.
    write_run(str(top / "mle_seed1"), "mle", seed=1, curve=[(0, -4.0), (1000, 1.5)], seconds_apart=30)
    result = report([top, "--out", tmp_path / "out"])
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "out" / "runs.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["run"], r["variant"], r["seed"]) for r in rows] == [("slbo_seed2", "slbo", "2"), ("mle_seed1", "mle", "1")]
    slbo, mle = rows
    assert (slbo["evaluations"], slbo["steps"], float(slbo["last_return"]), float(slbo["final_return"])) \
        == ("4", "3000", 12.5, 12.5)
    assert (mle["evaluations"], mle["steps"], float(mle["last_return"]), mle["final_return"]) == ("2", "1000", 1.5, "")
    assert float(slbo["elapsed_min"]) == 10.5 and float(mle["elapsed_min"]) == 2.0


def test_value_at_a_step_count_is_the_last_evaluation_within_it():
    from slbo.report import RunLog, value_at

    run = RunLog("d", "E", "slbo", "slbo", {}, [(0, 1.0), (1000, 2.0), (2000, 3.0)], None, 0.0)
    assert [value_at(run, s) for s in (0, 999, 1000, 1500, 2000, 2001)] == [1.0, 1.0, 2.0, 2.0, 3.0, None]


@pytest.mark.parametrize("flags, name", [
    ({"algorithm": "slbo"}, "slbo"),
    ({"algorithm": "mle", "model.value_update_interval": 0}, "mle"),
    ({"algorithm": "va", "model.va_norm": "l1", "model.value_update_interval": 0}, "va-l1"),
    ({"algorithm": "va", "model.va_norm": "l2", "model.value_update_interval": 20}, "va-l2-refit20"),
    ({"algorithm": "slbo", "model.value_update_interval": 5}, "slbo-refit5"),
    ({"algorithm": "MF", "model.value_update_interval": 5}, "MF"),
    # Model-loss variants are named, never passed off as the published method.
    ({"algorithm": "slbo", "model.value_update_interval": 20, "model.va_aux_coeff": 0.01}, "slbo-refit20+va_aux=0.01"),
    ({"algorithm": "va", "model.value_update_interval": 20, "model.reward_loss_coeff": 1.0}, "va-l1-refit20+reward=1.0"),
    ({"algorithm": "va", "model.value_update_interval": 20, "model.clip_to_data": True}, "va-l1-refit20+clip"),
    ({"algorithm": "va", "model.va_value": "real", "model.reward_loss_coeff": 0.0}, "va-l1+v=real"),
])
def test_variant_names(flags, name):
    from slbo.report import variant_name

    assert variant_name(flags) == name


def test_runs_that_differ_in_other_flags_are_not_averaged_together(tmp_path):
    for seed in (1, 2):
        for lr in (0.001, 0.0003):
            write_run(str(tmp_path / f"lr{lr}_s{seed}"), seed=seed, curve=[(0, float(seed))], final=(10, lr * seed),
                      model__lr=lr)
    result = report([tmp_path, "--out", tmp_path / "out"])
    assert result.returncode == 0, result.stderr
    rows = read_csv(tmp_path / "out" / "report.csv")
    assert set(rows) == {("HalfCheetah", "slbo [model.lr=0.001]", "final"),
                         ("HalfCheetah", "slbo [model.lr=0.0003]", "final")}
    assert math.isclose(float(rows[("HalfCheetah", "slbo [model.lr=0.0003]", "final")]["mean"]), 0.00045)


def test_figure_has_one_panel_per_env_and_one_colour_per_variant(runs, tmp_path):
    from slbo.report import distinguish_variants, find_runs, load_run, plot_curves

    top, data = runs
    loaded = [load_run(d) for d in find_runs([str(top), str(top / "deeper")])]
    assert len(loaded) == 7  # the nested run is found once although two arguments reach it
    distinguish_variants(loaded)
    fig = plot_curves(loaded, str(tmp_path / "curves.png"))
    assert [ax.get_title() for ax in fig.axes] == ["HalfCheetah", "Hopper"]
    cheetah, hopper = fig.axes
    lines = {line.get_label(): line for line in cheetah.get_lines()}
    assert set(lines) == {"slbo (n=3)", "va-l2-refit20 (n=3)"}
    assert [line.get_label() for line in hopper.get_lines()] == ["mle (n=1)"]
    colours = [line.get_color() for line in [*cheetah.get_lines(), *hopper.get_lines()]]
    assert len(set(colours)) == 3
    # The mean line: the seeds' mean at every evaluation, the unfinished seed counting up to 2000 steps.
    xs, ys = lines["va-l2-refit20 (n=3)"].get_data()
    assert list(xs) == [0, 1000, 2000, 3000, 4000]
    expected = [np.mean([data[("va", s)][0][i][1] for s in (1, 2, 3)]) for i in range(3)]
    expected += [np.mean([data[("va", s)][0][3][1] for s in (1, 2)]), np.mean([data[("va", s)][1][1] for s in (1, 2)])]
    assert np.allclose(ys, expected)
    assert len(cheetah.collections) == 2  # a standard-error band per variant
    band = cheetah.collections[1].get_paths()[0].vertices
    top_edge = np.mean([data[("va", s)][1][1] for s in (1, 2)]) + np.std(
        [data[("va", s)][1][1] for s in (1, 2)], ddof=1) / np.sqrt(2)
    assert np.isclose(band[:, 1].max(), top_edge)
    assert cheetah.get_xlabel() == "real environment steps" and "return" in cheetah.get_ylabel()
    with open(tmp_path / "curves.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_png_opens_with_the_figure_size(runs, tmp_path):
    import matplotlib.image

    top, _ = runs
    assert report([top, "--out", tmp_path]).returncode == 0
    image = matplotlib.image.imread(str(tmp_path / "curves.png"))
    assert image.shape[:2] == (int(4.2 * 120), int(2 * 5.5 * 120))


@pytest.mark.parametrize("make_args, message", [
    (lambda p: [p / "missing"], "not a directory"),
    (lambda p: [p], "no runs (directories with config.yml and log.json)"),
    (lambda p: [p, "--steps", "2x"], "is not a step count"),
    (lambda p: [], "the following arguments are required"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, make_args, message):
    result = report(make_args(tmp_path))
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


@pytest.mark.parametrize("make_out, message", [
    (lambda p: p / "results.md", "--out {out} looks like a file name; --out names the directory that gets "
                                 "report.md, report.csv, runs.csv, curves.png: e.g. --out {p}/results"),
    (lambda p: p / "taken.txt", "--out {out} exists and is not a directory"),
    (lambda p: p / "taken.txt" / "sub", "cannot write the report into {out}: Not a directory"),
])
def test_out_that_cannot_be_a_directory_is_one_line_and_exit_2(runs, tmp_path, make_out, message):
    top, _ = runs
    (tmp_path / "taken.txt").write_text("a colleague's notes")
    out = make_out(tmp_path)
    result = report([top, "--out", out])
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: " + message.format(out=out, p=tmp_path)), result.stderr
    assert (tmp_path / "taken.txt").read_text() == "a colleague's notes" and not (tmp_path / "results.md").exists()


def test_export_destination_that_cannot_be_made_is_one_line_before_the_report_is_written(runs, tmp_path):
    top, _ = runs
    (tmp_path / "taken.txt").write_text("a colleague's notes")
    dest, out = tmp_path / "taken.txt" / "logs", tmp_path / "out"
    result = report([top, "--out", out, "--export-logs", dest])
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"error: cannot export the logs into {dest}: Not a directory"), result.stderr
    assert not out.exists() and (tmp_path / "taken.txt").read_text() == "a colleague's notes"


def test_step_counts():
    from slbo.report import format_steps, parse_steps

    assert [parse_steps(s) for s in ("200k", "1M", "1.5m", "5000", " 2K ")] == [200000, 10 ** 6, 1500000, 5000, 2000]
    assert [format_steps(s) for s in (200000, 10 ** 6, 1500000, 999, 2500)] == ["200k", "1M", "1.5M", "999", "2.5k"]
    with pytest.raises(Exception, match="whole number"):
        parse_steps("0.5")


def test_reference_is_drawn_in_its_panel_and_listed(runs, tmp_path):
    top, _ = runs
    out = tmp_path / "out"
    result = report([top, "--out", out, "--reference", "HalfCheetah", "4k", "120.5", "16", "paper X"])
    assert result.returncode == 0, result.stderr
    assert "- HalfCheetah at 4k steps: 120.5 ± 16 (paper X)" in (out / "report.md").read_text()

    from slbo.report import Reference, find_runs, load_run, plot_curves
    loaded = [load_run(d) for d in find_runs([str(top)])]
    fig = plot_curves(loaded, references=[Reference("HalfCheetah", 4000, 120.5, 16.0, "paper X")])
    cheetah, hopper = fig.axes
    assert [c.get_label() for c in cheetah.containers] == ["paper X: 120.5 ± 16"] and not hopper.containers
    point, _, (bar,) = cheetah.containers[0].lines
    assert list(point.get_xdata()) == [4000] and list(point.get_ydata()) == [120.5]
    assert np.allclose(bar.get_segments()[0][:, 1], [104.5, 136.5])


def test_student_t_p_is_the_closed_form_and_the_tables_critical_values():
    from slbo.report import student_t_p

    for t in (0.0, 0.3, 1.0, 2.5, 40.0):  # df 1 is Cauchy, df 2 has P(|T| < t) = t / sqrt(t² + 2)
        assert math.isclose(student_t_p(t, 1), 1 - 2 / math.pi * math.atan(t), abs_tol=1e-12)
        assert math.isclose(student_t_p(-t, 2), 1 - t / math.sqrt(t * t + 2), abs_tol=1e-12)
    # The two-sided 5 % critical values of the t table, printed to 3 decimals.
    for df, t in ((3, 3.182), (4, 2.776), (5, 2.571), (6, 2.447), (7, 2.365), (9, 2.262), (10, 2.228), (30, 2.042)):
        assert abs(student_t_p(t, df) - 0.05) < 2e-4, df
    assert student_t_p(0.0, 7) == 1.0 and student_t_p(1e9, 5) < 1e-12


def test_baseline_pairs_each_variant_with_it_seed_by_seed(runs, tmp_path):
    from slbo.report import student_t_p

    top, data = runs
    out = tmp_path / "out"
    result = report([top, "--steps", "2k", "--out", out, "--baseline", "slbo"])
    assert result.returncode == 0, result.stderr
    rows = read_csv(out / "report.csv")
    # The unfinished va seed 3 pairs at 2000 steps, not in the final column; Hopper has no slbo to pair with.
    for at, seeds, value in (("final", (1, 2), lambda run: run[1][1]), ("2000", (1, 2, 3), lambda run: run[0][2][1])):
        differences = [value(data[("va", seed)]) - value(data[("slbo", seed)]) for seed in seeds]
        row = rows[("HalfCheetah", "va-l2-refit20", at)]
        mean, sem = np.mean(differences), np.std(differences, ddof=1) / math.sqrt(len(seeds))
        assert row["baseline"] == "slbo" and int(row["paired_n"]) == len(seeds)
        assert math.isclose(float(row["paired_diff_mean"]), mean, rel_tol=1e-12)
        assert math.isclose(float(row["paired_diff_sem"]), sem, rel_tol=1e-12)
        assert math.isclose(float(row["paired_t"]), mean / sem, rel_tol=1e-12)
        assert math.isclose(float(row["paired_p"]), student_t_p(mean / sem, len(seeds) - 1), rel_tol=1e-12)
        assert int(row["paired_ahead"]) == sum(d > 0 for d in differences)
        assert row["paired_per_seed"] == ", ".join(f"{s}:{d!r}" for s, d in zip(seeds, differences))
    for key in (("HalfCheetah", "slbo", "final"), ("Hopper", "mle", "final")):
        assert all(rows[key][c] == "" for c in ("baseline", "paired_n", "paired_t", "paired_p"))
    section = (out / "report.md").read_text().split("## Paired against slbo")[1]
    final = rows[("HalfCheetah", "va-l2-refit20", "final")]
    assert (f"| HalfCheetah | va-l2-refit20 | final | {float(final['paired_diff_mean']):+.1f} ± "
            f"{float(final['paired_diff_sem']):.1f} (n=2) | {float(final['paired_t']):.2f} | "
            f"{float(final['paired_p']):.2f} | {final['paired_ahead']} of 2 |") in section
    assert "Hopper" not in section.split("## ")[0]
    # Without --baseline the CSV keeps its columns.
    assert "## Paired against" not in report([top, "--out", tmp_path / "plain"]).stdout
    with open(tmp_path / "plain" / "report.csv") as f:
        assert f.readline().rstrip().endswith("reference_err,inside,z")


def test_a_baseline_that_is_not_a_variant_is_one_line_naming_the_variants(runs, tmp_path):
    top, _ = runs
    result = report([top, "--out", tmp_path / "out", "--baseline", "SLBO"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr == "error: --baseline SLBO is not a variant of these runs; they have slbo, mle, va-l2-refit20\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("values", [["HalfCheetah", "lots", "1", "1", "x"], ["HalfCheetah", "200k", "nan", "1", "x"],
                                    ["HalfCheetah", "200k", "1", "-2", "x"], ["HalfCheetah", "200k", "1"]])
def test_bad_reference_is_one_line_and_exit_2(runs, tmp_path, values):
    top, _ = runs
    result = report([top, "--out", tmp_path / "out", "--reference", *values])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--reference" in lines[0]


@pytest.fixture(scope="module")
def entry() -> dict:
    """A provenance entry as slbo/main.py records it on this machine, from a clean checkout."""
    from slbo.run.provenance import collect

    entry = collect("start", ["slbo/main.py", "--set", "seed=1"])
    entry["code"].update(commit="0123456789abcdef" * 2 + "01234567", dirty=False, diff_sha256=None)
    return entry


def changed(entry: dict, **versions: str) -> dict:
    other = copy.deepcopy(entry)
    other["versions"].update(versions)
    return other


def report_md(top, out) -> str:
    """Runs the report on `top` into `out` (it must succeed) and returns report.md."""
    result = report([top, "--out", out])
    assert result.returncode == 0, result.stderr
    return (out / "report.md").read_text()


def test_a_seed_run_twice_is_one_sample_and_is_reported(tmp_path):
    top = tmp_path / "sweep"
    # The same seed twice, with the same result: one sample, not n = 2 with a standard error of 0.
    for name in ("slbo_seed1", "slbo_seed1_again"):
        write_run(str(top / name), "slbo", seed=1, curve=[(0, -300.0)], final=(1000, -270.1))
    # mle: seeds 1 and 2, seed 2 twice, once unfinished; the finished run is the one counted.
    write_run(str(top / "mle_seed1"), "mle", seed=1, curve=[(0, 1.0)], final=(1000, 10.0))
    write_run(str(top / "mle_seed2"), "mle", seed=2, curve=[(0, 2.0)])
    write_run(str(top / "mle_seed2_rerun"), "mle", seed=2, curve=[(0, 2.0)], final=(1000, 30.0))
    out = tmp_path / "out"
    text = report_md(top, out)
    assert "| HalfCheetah | slbo | -270.1 (n=1) |" in text
    assert "| HalfCheetah | mle | 20.0 ± 10.0 (n=2) |" in text
    assert ("- HalfCheetah slbo: seed 1 has 2 runs (slbo_seed1, slbo_seed1_again); counted once, as slbo_seed1"
            in text)
    assert "- HalfCheetah mle: seed 2 has 2 runs (mle_seed2, mle_seed2_rerun); counted once, as mle_seed2_rerun" in text
    assert "have not finished" not in text  # the unfinished duplicate is not counted
    with open(out / "runs.csv") as f:
        assert len(list(csv.DictReader(f))) == 5  # every run is still listed

    # The same sweep in two directories: its runs' names are told apart by their paths.
    for copy_dir in ("copy", "copy_again"):
        write_run(str(tmp_path / copy_dir / "va_seed3"), "va", seed=3, curve=[(0, 1.0)], final=(1000, 3.0))
    text = report_md(tmp_path, tmp_path / "out2")
    assert ("- HalfCheetah va-l1: seed 3 has 2 runs (copy/va_seed3, copy_again/va_seed3); counted once, as "
            "copy/va_seed3") in text

    from slbo.report import distinct_seeds, find_runs, load_run, plot_curves
    counted, _ = distinct_seeds([load_run(d) for d in find_runs([str(top)])])
    fig = plot_curves(counted)
    assert sorted(line.get_label() for line in fig.axes[0].get_lines()) == ["mle (n=2)", "slbo (n=1)"]


def test_rows_mixing_code_or_versions_are_marked_and_the_report_ends_with_provenance(tmp_path, entry):
    top = tmp_path / "sweep"
    older = changed(entry, numpy="1.26.4")
    write_run(str(top / "slbo_seed1"), "slbo", seed=1, curve=[(0, 1.0)], final=(1000, 5.0), provenance=[entry])
    # Started under one numpy, resumed under another: the run itself mixes them.
    write_run(str(top / "slbo_seed2"), "slbo", seed=2, curve=[(0, 1.0)], final=(1000, 7.0),
              provenance=[older, {**entry, "event": "resume"}])
    for seed in (1, 2):
        write_run(str(top / f"mle_seed{seed}"), "mle", seed=seed, curve=[(0, 1.0)], final=(1000, 3.0),
                  provenance=[entry])
    write_run(str(top / "va_seed1"), "va", seed=1, curve=[(0, 1.0)], final=(1000, 2.0))
    write_run(str(top / "va_seed2"), "va", seed=2, curve=[(0, 1.0)], final=(1000, 4.0), provenance=[entry])
    out = tmp_path / "out"
    text = report_md(top, out)
    assert "| HalfCheetah | slbo † | 6.0 ± 1.0 (n=2) |" in text
    assert "| HalfCheetah | mle | 3.0 ± 0.0 (n=2) |" in text
    assert f"† HalfCheetah slbo mixes runs that differ — numpy: {entry['versions']['numpy']} / 1.26.4." in text
    assert "† HalfCheetah va-l1 mixes runs that differ — no provenance.json: 1 of 2 runs." in text
    assert "mle mixes" not in text
    assert read_csv(out / "report.csv")[("HalfCheetah", "slbo", "final")]["n"] == "2"  # the csv keys stay plain
    provenance = text.split("## Provenance of these runs\n", 1)[1]
    items = [line for line in provenance.splitlines() if line.startswith("- ")]
    assert items[0] == "- code: commit 0123456789 (5 runs)"
    assert f"- numpy: {entry['versions']['numpy']} (5 runs), 1.26.4 (1 run)" in items
    assert f"- tensorflow: {entry['versions']['tensorflow']} (5 runs)" in items
    assert f"- devices: {', '.join(entry['devices'])} (5 runs)" in items
    assert any(item.startswith(f"- CPU: {entry['cpu']['model']}") for item in items)
    assert items[-1] == "- no provenance.json: 1 run (made before runs recorded it)"
    assert text.rstrip().endswith(items[-1])  # the report ends with its runs' provenance


def test_report_of_exported_logs_equals_report_of_the_run_directories(runs, tmp_path, entry):
    top, _ = runs
    for run in ("HalfCheetah_slbo_seed1", "HalfCheetah_va_seed2"):
        with open(top / run / "provenance.json", "w") as f:
            json.dump([changed(entry, numpy="1.0.0") if run.endswith("2") else entry], f)
    (top / "HalfCheetah_slbo_seed1" / "final.npz").write_bytes(b"checkpoint")  # never exported
    exported = tmp_path / "logs"
    result = report([top, "--steps", "2k", "--out", tmp_path / "from_runs", "--export-logs", exported])
    assert result.returncode == 0, result.stderr
    assert "exported the logs of 7 runs to" in result.stdout
    slbo = exported / "sweep" / "HalfCheetah_slbo_seed1"
    assert sorted(os.listdir(slbo)) == ["config.yml", "log.json.gz", "provenance.json"]
    assert sorted(os.listdir(exported / "sweep" / "deeper" / "Hopper_mle_seed1")) == ["config.yml", "log.json.gz"]
    with gzip.open(slbo / "log.json.gz", "rb") as f:
        assert f.read() == (top / "HalfCheetah_slbo_seed1" / "log.json").read_bytes()
    first_export = (slbo / "log.json.gz").read_bytes()

    result = report([exported / "sweep", "--steps", "2k", "--out", tmp_path / "from_logs",
                     "--export-logs", tmp_path / "again"])
    assert result.returncode == 0, result.stderr
    for name in ("report.md", "report.csv", "runs.csv"):
        assert (tmp_path / "from_logs" / name).read_text() == (tmp_path / "from_runs" / name).read_text(), name
    assert "| HalfCheetah | va-l2-refit20 † |" in (tmp_path / "from_logs" / "report.md").read_text()
    # The same log compresses to the same bytes, so re-exporting leaves a committed file unchanged.
    assert (tmp_path / "again" / "sweep" / "HalfCheetah_slbo_seed1" / "log.json.gz").read_bytes() == first_export


def test_export_drop_leaves_out_only_the_named_records_and_the_report_is_unchanged(tmp_path):
    # A real 200k-step run's committed full log (MBBL HalfCheetah, 20 stages): 16 000 of its records are TRPO's.
    source = tmp_path / "sweep" / "slbo_seed1"
    source.mkdir(parents=True)
    committed = os.path.join(ROOT, "docs", "results", "logs", "results_mbbl", "slbo_seed1")
    for name in os.listdir(committed):
        (source / name).write_bytes(open(os.path.join(committed, name), "rb").read())
    full, compact = tmp_path / "full", tmp_path / "compact"
    assert report([tmp_path / "sweep", "--out", tmp_path / "r_full", "--diagnostics", "--export-logs", full]
                  ).returncode == 0
    result = report([tmp_path / "sweep", "--out", tmp_path / "r_source", "--diagnostics", "--export-logs", compact,
                     "--export-drop", "trpo"])
    assert result.returncode == 0, result.stderr
    with gzip.open(source / "log.json.gz", "rt") as f:
        lines = f.readlines()
    with gzip.open(compact / "sweep" / "slbo_seed1" / "log.json.gz", "rt") as f:
        kept = f.readlines()
    dropped = [line for line in lines if json.loads(line).get("tag") == "trpo"]
    assert len(dropped) > len(lines) // 3  # the records worth dropping
    assert kept == [line for line in lines if json.loads(line).get("tag") != "trpo"]  # the rest, in order
    assert os.path.getsize(compact / "sweep" / "slbo_seed1" / "log.json.gz") < \
        os.path.getsize(full / "sweep" / "slbo_seed1" / "log.json.gz") / 2
    # The compact export gives the report of the full log, diagnostics included.
    assert report([compact / "sweep", "--out", tmp_path / "r_compact", "--diagnostics"]).returncode == 0
    for name in ("report.md", "report.csv", "runs.csv", "diagnostics.csv"):
        assert (tmp_path / "r_compact" / name).read_text() == (tmp_path / "r_source" / name).read_text(), name


@pytest.mark.parametrize("args, message", [(["--export-logs", "DEST", "--export-drop", "stage"], "--export-drop stage"),
                                           (["--export-drop", "final", "--export-logs", "DEST"], "--export-drop final"),
                                           (["--export-drop", "trpo"], "needs --export-logs")])
def test_export_drop_of_a_record_the_report_reads_is_one_line_and_exit_2(runs, tmp_path, args, message):
    top, _ = runs
    args = [tmp_path / "dest" if a == "DEST" else a for a in args]
    result = report([top, "--out", tmp_path / "out", *args])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "dest").exists()


def test_export_to_a_file_is_one_line_and_exit_2(runs, tmp_path):
    top, _ = runs
    (tmp_path / "taken").write_text("x")
    result = report([top, "--out", tmp_path / "out", "--export-logs", tmp_path / "taken"])
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "--export-logs" in result.stderr
    assert not (tmp_path / "out").exists()


MBBL_REFERENCES = os.path.join(ROOT, "docs", "results", "mbbl_slbo.csv")


def test_mbbl_references_have_a_known_env_and_a_200k_row_for_every_task_of_the_mbbl_sweeps():
    from slbo.report import read_references

    references = read_references(MBBL_REFERENCES)  # checks every env id against the registry
    at_200k = {ref.env: ref for ref in references if ref.steps == 200_000}
    assert len(at_200k) == 18 and {ref.env for ref in references if ref.steps == 10 ** 6} == {
        "MBBLHalfCheetah", "MBBLWalker2D", "MBBLHopper", "MBBLAnt"}
    assert all("arXiv 1907.02057" in ref.source for ref in references)
    # MBBL's SLBO code logs no evaluation after its last stage: its 200k number, again at 190k, for every task.
    at_190k = {ref.env: ref for ref in references if ref.steps == 190_000}
    assert at_190k.keys() == at_200k.keys() and len(references) == 18 + 18 + 4
    for env, ref in at_190k.items():
        assert (ref.mean, ref.err, ref.label) == (at_200k[env].mean, at_200k[env].err, "MBBL SLBO as logged")
        assert ref.source.startswith(at_200k[env].source) and "mbbl-slbo" in ref.source
    assert {ref.label for ref in references if ref.steps != 190_000} == {"MBBL SLBO"}
    swept = set()
    for name in ("results_mbbl_tasks.yml", "results_mbbl.yml"):
        with open(os.path.join(ROOT, "configs", "sweeps", name)) as f:
            spec = yaml.safe_load(f)
        points = spec["grid"].get("task", {}).values() or [{"configs": spec["configs"]}]
        for point in points:
            for config in point["configs"]:
                with open(os.path.join(ROOT, config)) as f:
                    swept |= {(yaml.safe_load(f) or {}).get("env", {}).get("id")} - {None}
    assert len(swept) == 18 and swept == set(at_200k), swept ^ set(at_200k)


def write_references(path, rows: Sequence[str], header: str = "env,steps,mean,err,label,source") -> str:
    """A references file: the header line, then `rows`; no lines at all when `header` is empty."""
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in ([header] if header else []) + list(rows)))
    return str(path)


@pytest.fixture
def task_runs(tmp_path):
    """Pendulum: 4 seeds whose mean at 200k is 110.0, on the edge of 100 ± 10; Reacher: 2 seeds, mean 110.5, just
    outside 100 ± 10; FixedHopper: stopped at 100k steps; each run evaluated every 100k steps."""
    top = tmp_path / "sweep"
    for env, finals in (("Pendulum", [95.0, 125.0, 100.0, 120.0]), ("Reacher", [100.0, 121.0])):
        for seed, value in enumerate(finals, 1):
            write_run(str(top / f"{env}_seed{seed}"), "slbo", env, seed, [(0, -1.0), (100_000, 50.0 + seed)],
                      (200_000, value))
    write_run(str(top / "FixedHopper_seed1"), "slbo", "FixedHopper", 1, [(0, 3.0), (100_000, 4.0)])
    return top


def test_references_file_puts_each_task_beside_ours_and_counts_those_inside(task_runs, tmp_path):
    references = write_references(tmp_path / "refs.csv", [
        "Pendulum,200k,100,10,Paper,Table 1",
        "Reacher,200k,100,10,Paper,Table 1",
        "FixedHopper,200k,800,150,Paper,Table 1",
        "FixedHopper,1M,2900,300,Paper,1M table",  # beyond a run that stopped at 100k: not compared
        "MBBLAnt,200k,718.1,123.3,Paper,Table 1",  # no runs: listed only
    ])
    out = tmp_path / "out"
    result = report([task_runs, "--out", out, "--references", references,
                     "--reference", "Pendulum", "100k", "52", "1", "Other"])
    assert result.returncode == 0, result.stderr
    text = (out / "report.md").read_text()
    # The reference step counts became columns.
    assert "| environment | variant | final | at 100k steps | at 200k steps |" in text
    pendulum_std = np.std([95.0, 125.0, 100.0, 120.0], ddof=1)
    comparison = text.split("## Against published references\n", 1)[1]
    rows = [line for line in comparison.splitlines() if line.startswith("| ") and "---" not in line][1:]
    # z: the difference of the means over √(our SE² + the reference's ±²).
    z_100k = (52.5 - 52) / math.hypot(np.std([51.0, 52.0, 53.0, 54.0], ddof=1) / 2, 1)
    z_200k = (110.0 - 100) / math.hypot(pendulum_std / 2, 10)
    assert rows == [
        "| Pendulum | slbo | 100k | 52.5 ± 0.6 (n=4) | 1.3 | 1: 51.0, 2: 52.0, 3: 53.0, 4: 54.0 | 52 ± 1 (Other) "
        f"| yes | {z_100k:+.2f} |",
        f"| Pendulum | slbo | 200k | 110.0 ± {pendulum_std / 2:.1f} (n=4) | {pendulum_std:.1f} "
        f"| 1: 95.0, 2: 125.0, 3: 100.0, 4: 120.0 | 100 ± 10 (Paper) | yes | {z_200k:+.2f} |",
        "| Reacher | slbo | 200k | 110.5 ± 10.5 (n=2) | 14.8 | 1: 100.0, 2: 121.0 | 100 ± 10 (Paper) | no | +0.72 |",
        "| FixedHopper | slbo | 200k | – | – | – | 800 ± 150 (Paper) | not there yet | – |",
    ]
    assert "- slbo against Paper at 200k steps: inside its interval in 1 of 2 tasks (1 more not there yet)\n" in text
    assert "- slbo against Other at 100k steps: inside its interval in 1 of 1 tasks\n" in text
    assert "- FixedHopper at 1M steps: 2900 ± 300 (Paper) — 1M table — not compared: these runs stop before it\n" \
        in text
    assert "- MBBLAnt at 200k steps: 718.1 ± 123.3 (Paper) — Table 1 — not compared: no runs of this environment\n" \
        in text

    rows = read_csv(out / "report.csv")
    pendulum = rows[("Pendulum", "slbo", "200000")]
    assert (pendulum["reference"], float(pendulum["reference_mean"]), float(pendulum["reference_err"]),
            pendulum["inside"]) == ("Paper", 100.0, 10.0, "true")
    assert math.isclose(float(pendulum["std"]), pendulum_std, rel_tol=1e-12)
    assert pendulum["per_seed"] == "1:95.0, 2:125.0, 3:100.0, 4:120.0"
    assert rows[("Reacher", "slbo", "200000")]["inside"] == "false"
    assert math.isclose(float(pendulum["z"]), z_200k, rel_tol=1e-12)
    assert math.isclose(float(rows[("Reacher", "slbo", "200000")]["z"]), 10.5 / 14.5, rel_tol=1e-12)
    assert rows[("Pendulum", "slbo", "final")]["reference"] == ""  # only the step column is compared


def test_z_is_the_difference_over_its_standard_error_and_needs_two_seeds():
    from slbo.report import Cell, Comparison, Reference

    ref = Reference("Ant", 200_000, 700.0, 30.0, "P")

    def cell(values):
        mean = float(np.mean(values))
        sem = float(np.std(values, ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
        return Cell("Ant", "slbo", "200000", 200_000, len(values), mean, sem, sem, tuple(enumerate(values, 1)))

    below = Comparison(ref, "slbo", cell([600.0, 640.0, 620.0, 660.0]))  # mean 630, SE 12.9: z = −2.14
    assert math.isclose(below.z, -70.0 / math.hypot(below.cell.sem, 30.0))
    assert below.z < -2 and not below.inside
    assert math.isnan(Comparison(ref, "slbo", cell([900.0])).z)  # one seed: no standard error
    assert math.isnan(Comparison(ref, "slbo", None).z)  # not there yet
    exact = Reference("Ant", 200_000, 700.0, 0.0, "P")
    assert math.isnan(Comparison(exact, "slbo", cell([700.0, 700.0])).z)  # no spread on either side
    assert Comparison(exact, "slbo", cell([600.0, 640.0, 620.0, 660.0])).z == -70.0 / below.cell.sem


def test_only_references_within_reach_of_the_runs_are_compared_and_drawn():
    from slbo.report import Reference, RunLog, plot_curves, references_in_reach

    def run(env: str, last: int) -> RunLog:
        return RunLog("d", env, "slbo", "slbo", {"seed": 1}, [(0, 0.0), (last, 1.0)], None, 0.0)

    refs = {(env, steps): Reference(env, steps, 1.0, 1.0, "P") for env in ("Ant", "Hopper", "Walker2D", "Swimmer")
            for steps in (200_000, 10 ** 6)}
    runs = [run("Ant", 200_000), run("Hopper", 100_000), run("Walker2D", 10 ** 6), run("Walker2D", 50_000)]
    kept = references_in_reach(list(refs.values()), runs)
    assert kept == [refs[("Ant", 200_000)], refs[("Hopper", 200_000)], refs[("Walker2D", 200_000)],
                    refs[("Walker2D", 10 ** 6)]]
    assert references_in_reach([refs[("Ant", 10 ** 6)]], runs) == [refs[("Ant", 10 ** 6)]]  # the only one: kept
    fig = plot_curves(runs, references=kept)
    assert [ax.get_title() for ax in fig.axes] == ["Ant", "Hopper", "Walker2D"]
    assert [[c.lines[0].get_xdata()[0] for c in ax.containers] for ax in fig.axes] == [
        [200_000], [200_000], [200_000, 10 ** 6]]


@pytest.mark.parametrize("make_args, message", [
    (lambda p: ["--references", p / "missing.csv"], "missing.csv: cannot read it (No such file or directory)"),
    (lambda p: ["--references", write_references(p / "r.csv", [])], "r.csv: no references below its header"),
    (lambda p: ["--references", write_references(p / "r.csv", [], header="")], "r.csv: the file is empty"),
    (lambda p: ["--references", write_references(p / "r.csv", [], header="env,steps,mean,stderr,label,source")],
     "its first line must name the columns env,steps,mean,err,label,source (in any order, each once); "
     "got env,steps,mean,stderr,label,source"),
    (lambda p: ["--references", write_references(p / "r.csv", ["Pendulum,200k,1,1,P"])],
     "r.csv line 2: 5 fields where the header has 6"),
    (lambda p: ["--references", write_references(p / "r.csv", ["Pendulum,200k,1,1,P,s", "Reacher,200k,nan,1,P,s"])],
     "r.csv line 3: a reference is ENV STEPS MEAN ERR LABEL with a step count"),
    (lambda p: ["--references", write_references(p / "r.csv", ["Pendulum,200k,1,inf,P,s"])], "finite numbers"),
    (lambda p: ["--references", write_references(p / "r.csv", ["Pendulum,200k,1,-1,P,s"])], "ERR >= 0"),
    (lambda p: ["--references", write_references(p / "r.csv", ["Pendulum,lots,1,1,P,s"])], "a step count"),
    (lambda p: ["--references", write_references(p / "r.csv", ["Pendulumm,200k,1,1,P,s"])],
     "r.csv line 2: unknown env.id 'Pendulumm'; valid ids (nearest first): Pendulum,"),
    (lambda p: ["--references", write_references(p / "r.csv", ["Pendulum,200k,1,1,P,s"]),
                "--reference", "Pendulum", "200k", "3", "1", "Q"],
     "two references for Pendulum at 200k steps ('Q' and 'P'); give one per environment and step count"),
    (lambda p: ["--reference", "Pendulumm", "200k", "1", "1", "Q"], "--reference: unknown env.id 'Pendulumm'"),
])
def test_bad_references_are_one_line_and_exit_2_before_anything_is_written(task_runs, tmp_path, make_args, message):
    out = tmp_path / "out"
    result = report([task_runs, "--out", out, *make_args(tmp_path)])
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    assert not out.exists()


def diagnosed(stage: int, scale: float, nrmse: float) -> dict:
    return {"stage": stage, "return_real": scale * stage, "return_imagined": 3 * scale * stage,
            "return_gap": 2 * scale * stage, "model_nrmse_all": nrmse, "reward_bias": 0.01 * stage}


def test_diagnostics_section_gives_each_run_the_medians_over_its_second_half(tmp_path):
    top = tmp_path / "sweep"
    curve = [(s * 1000, float(s)) for s in range(7)]
    # seed 1: stages 1-6, so the second half is 3-6; stage 5 was logged twice (a resume), the last counts
    seed1 = [diagnosed(s, 1.0, 0.1 * s) for s in range(1, 7)]
    seed1.insert(4, {**diagnosed(5, 1.0, 0.5), "return_real": -1e6, "model_nrmse_all": 99.0})
    # seed 2: stages 1-4 (second half 2-4), one evaluation in which no episode ended
    seed2 = [diagnosed(s, 10.0, 0.2) for s in range(1, 5)]
    seed2[2]["return_real"] = "nan"
    # episodes ended per evaluation: stage s has 10 * s real and 2 + s imagined; the mid-stage evaluations
    # ("Tag = iteration", 99 episodes) are not a stage's
    write_run(str(top / "slbo_seed1"), "slbo", "Hopper", 1, curve, (7000, 7.0), diagnostics=seed1,
              episodes=[(10 * s, 2 + s) for s in range(7)])
    write_run(str(top / "slbo_seed2"), "slbo", "Hopper", 2, curve, (7000, 8.0), diagnostics=seed2)
    write_run(str(top / "MF_seed1"), "MF", "Hopper", 1, curve, (7000, 1.0))
    result = report([top, "--diagnostics"])
    assert result.returncode == 0, result.stderr
    with open(top / "diagnostics.csv") as f:
        rows = {(r["variant"], r["seed"]): r for r in csv.DictReader(f)}
    assert set(rows) == {("slbo", "1"), ("slbo", "2")}
    one, two = rows[("slbo", "1")], rows[("slbo", "2")]
    assert (one["first_stage"], one["last_stage"], one["records"]) == ("3", "6", "4")
    assert float(one["return_real"]) == pytest.approx(4.5)  # median of 3, 4, 5, 6
    assert float(one["return_imagined"]) == pytest.approx(13.5)
    assert float(one["model_nrmse_all"]) == pytest.approx(0.45)
    assert (float(one["model_nrmse_all_min"]), float(one["model_nrmse_all_max"])) == pytest.approx((0.3, 0.6))
    assert (two["first_stage"], two["last_stage"], two["records"]) == ("2", "4", "3")
    assert float(two["return_real"]) == pytest.approx(30.0)  # median of 20 and 40, the nan left out
    assert float(two["return_gap"]) == pytest.approx(60.0)
    assert (float(one["episodes_real"]), float(one["episodes_imagined"])) == (45.0, 6.5)  # stages 3-6
    assert two["episodes_real"] == two["episodes_imagined"] == ""  # its log has no evaluation lines
    text = (top / "report.md").read_text()
    section = text.split("## Model diagnostics")[1].split("\n## ")[0]
    assert "| Hopper | slbo | 1 | 3–6 (4) | 4.5 | 13.5 | 9.0 |" in section
    assert "| Hopper | slbo | mean of 2 |  | 17.2 | 51.8 | 34.5 |" in section  # (4.5 + 30) / 2, ...
    assert "0.45 (0.30–0.60) | 45 / 6.5 |" in section
    assert "Runs without diagnostics records" in section and "MF_seed1" in section
    assert "falls reproduced" not in section and one["fall_recall_10"] == ""  # no run logged a fall


def test_diagnostics_section_gives_the_fall_recall_of_runs_on_tasks_with_termination(tmp_path):
    top = tmp_path / "sweep"
    curve = [(s * 1000, float(s)) for s in range(7)]
    # seed 1 logged falls at stages 3, 4 and 6 of its second half (3-6); stage 5's evaluation had none
    seed1 = [diagnosed(s, 1.0, 0.1) for s in range(1, 7)]
    for record, recall, alarm in zip([seed1[i] for i in (2, 3, 5)], (0.9, 0.5, 0.2), (0.0, 0.1, 0.3)):
        record.update(n_falls=10, fall_recall_1=1.0, fall_recall_10=recall, fall_false_alarm_10=alarm)
    # seed 2: no fall in its second half
    seed2 = [diagnosed(s, 1.0, 0.1) for s in range(1, 7)]
    seed2[0].update(n_falls=3, fall_recall_10=0.0, fall_false_alarm_10=0.0)
    write_run(str(top / "slbo_seed1"), "slbo", "FixedWalker", 1, curve, (7000, 7.0), diagnostics=seed1)
    write_run(str(top / "slbo_seed2"), "slbo", "FixedWalker", 2, curve, (7000, 7.0), diagnostics=seed2)
    result = report([top, "--diagnostics"])
    assert result.returncode == 0, result.stderr
    with open(top / "diagnostics.csv") as f:
        rows = {r["seed"]: r for r in csv.DictReader(f)}
    assert float(rows["1"]["fall_recall_10"]) == pytest.approx(0.5)  # median of 0.9, 0.5, 0.2
    assert float(rows["1"]["fall_false_alarm_10"]) == pytest.approx(0.1)
    assert rows["2"]["fall_recall_10"] == rows["2"]["fall_false_alarm_10"] == ""  # stage 1 is in its first half
    section = (top / "report.md").read_text().split("## Model diagnostics")[1].split("\n## ")[0]
    assert "| falls reproduced from 10 steps back | false alarms, 10 steps |" in section
    lines = [line for line in section.splitlines() if line.startswith("| FixedWalker")]
    assert lines[0].endswith("| 50% | 10% |") and lines[1].endswith("| – | – |")
    assert lines[2].startswith("| FixedWalker | slbo | mean of 2 |") and lines[2].endswith("| 50% | 10% |")


def test_diagnostics_section_gives_the_open_loop_drift_at_the_horizons_the_runs_logged(tmp_path):
    top = tmp_path / "sweep"
    curve = [(s * 1000, float(s)) for s in range(7)]
    # seed 1 logged the drift at 10 and 1000 steps (its episodes long enough for both), seed 2 at 10 only;
    # seed 3 is older than these metrics
    seed1 = [{**diagnosed(s, 1.0, 0.1), "rollout_error_10": 0.1 * s, "rollout_at_clip_10": 0.0,
              "rollout_error_1000": 100.0 * s, "rollout_at_clip_1000": 0.25 * (s > 3)} for s in range(1, 7)]
    seed2 = [{**diagnosed(s, 1.0, 0.1), "rollout_error_10": 0.5, "rollout_at_clip_10": 0.0} for s in range(1, 7)]
    for seed, records in ((1, seed1), (2, seed2), (3, [diagnosed(s, 1.0, 0.1) for s in range(1, 7)])):
        write_run(str(top / f"slbo_seed{seed}"), "slbo", "FixedSwimmer", seed, curve, (7000, 7.0),
                  diagnostics=records)
    result = report([top, "--diagnostics"])
    assert result.returncode == 0, result.stderr
    with open(top / "diagnostics.csv") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames[-4:] == ["rollout_error_10", "rollout_at_clip_10", "rollout_error_1000",
                                          "rollout_at_clip_1000"]
        rows = {r["seed"]: r for r in reader}
    assert float(rows["1"]["rollout_error_1000"]) == pytest.approx(450.0)  # median of 300, 400, 500, 600 (3-6)
    assert float(rows["1"]["rollout_at_clip_1000"]) == pytest.approx(0.25)
    assert float(rows["2"]["rollout_error_10"]) == 0.5 and rows["2"]["rollout_error_1000"] == ""
    assert rows["3"]["rollout_error_10"] == ""
    section = (top / "report.md").read_text().split("## Model diagnostics")[1].split("\n## ")[0]
    assert ("| open-loop error, 10 steps | at the clip, 10 steps | open-loop error, 1000 steps "
            "| at the clip, 1000 steps |") in section
    lines = [line for line in section.splitlines() if line.startswith("| FixedSwimmer")]
    assert lines[0].endswith("| 0.45 | 0% | 450 | 25% |") and lines[1].endswith("| 0.5 | 0% | – | – |")
    assert lines[2].endswith("| – | – | – | – |")
    # the mean of the seeds that logged each
    assert lines[3].startswith("| FixedSwimmer | slbo | mean of 3 |") and lines[3].endswith("| 0.475 | 0% | 450 | 25% |")


def test_episode_counts_averaged_over_seeds_print_one_decimal():
    from slbo.report import _episodes_text
    assert _episodes_text((91 / 3, 58 / 3)) == "30.3 / 19.3"
    assert _episodes_text((1000.0, float("nan"))) == "1000 / –"


def test_no_diagnostics_section_or_file_without_the_flag(runs, tmp_path):
    result = report([runs[0], "--out", tmp_path / "out"])
    assert result.returncode == 0, result.stderr
    assert "Model diagnostics" not in (tmp_path / "out" / "report.md").read_text()
    assert not (tmp_path / "out" / "diagnostics.csv").exists()
