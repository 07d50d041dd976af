"""The outcome of many runs as the paper shows it: a table of real-env returns and learning curves.

python -m slbo.report DIR [DIR ...] [--steps 200k 1M] [--out OUT] [--reference ENV STEPS MEAN ERR LABEL ...]
                      [--references FILE ...] [--baseline VARIANT] [--diagnostics]

Reads every run directory (config.yml + log.json) under the DIRs and writes into OUT (default: the
first DIR) report.md and report.csv — the real-env return, mean ± standard error across seeds, per
environment and variant, at the final stage and at each --steps count — and curves.png: return vs
real env steps, the mean across seeds with a standard-error band, one panel per environment, one
colour per variant.

A reference is a published number to compare with: `--reference MBBLHalfCheetah 200k 1097.7 166.4
"MBBL SLBO"`, or a CSV file of them, one per task (`--references docs/results/mbbl_slbo.csv`, columns
env, steps, mean, err, label, source). Each reference that the runs of its environment reach (those up
to the first at or beyond their furthest step) adds its step count as a column and, under "Against
published references", a row per variant: ours (mean ± standard error, standard deviation, each seed's
return) beside it, whether our mean lies within its mean ± err, how many standard errors of the
difference apart they are (z), and per variant the count of tasks inside; report.csv gets the same
columns, curves.png a black point with an error bar in the panel.

`--diagnostics` adds a section "Model diagnostics, second half of each run" to report.md and writes
diagnostics.csv: per run, over its diagnostics records of stages ceil(L / 2) to L (L its last diagnosed
stage), the median real and imagined return, their gap, the reward bias and the model's one-step error
(docs/DIAGNOSTICS.md), and the median count of episodes that ended in an evaluation, real and imagined
(from the evaluation log lines) — whether a policy exploits its model, read across runs. On tasks with
termination also the median share of real falls the model reproduces from 10 steps back, and its false
alarms, and on runs that logged it the model's open-loop drift over k steps (state error and share of
windows at the model's clip, at each k some run logged) — columns shown when some run logged them.

`--baseline slbo` compares every other variant with that one seed by seed: in each environment and
column, over the seeds both have, the variant's return minus the baseline's — mean ± standard error
of the differences, the paired t statistic, its two-sided p-value (Student's t, n − 1 degrees of
freedom) and on how many seeds the variant is ahead. report.md gets a section "Paired against …",
report.csv the same columns on the variant's rows. The seed's share of the spread cancels in each
difference, so this is the sharper test when the variants ran the same seeds.

runs.csv lists every run: seed, stages and real steps reached, final return and
the wall-clock time from its first to its last log record (a resumed run's includes the interruption).
Run directories may also be exported logs (log.json.gz; `--export-logs DEST` writes them,
`--export-drop trpo` without the per-TRPO-step records no report reads).

A run's return "at S steps" is its last evaluation made with at most S real steps collected; runs
that have not collected S steps yet are left out of that column (the n in each cell counts the
seeds; a seed run twice counts once, and the report names it). The variant is named from
algorithm, model.va_norm and model.value_update_interval (slbo, mle, va-l1, va-l2-refit20, MF),
plus "+…" for each model-loss variant that is on (va-l1-refit20+clip, slbo-refit20+va_aux=0.01);
runs of one environment and variant that differ in other flags get those flags appended to the
name, so different experiments are never averaged together. Rows whose runs differ in code,
library versions or CPU kind (their provenance.json) are marked †; report.md ends with the
provenance of all its runs.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import math
import os
import re
import sys
from typing import TYPE_CHECKING, Any, Collection, Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from lunzi.config import ArgumentParser, ConfigError, flatten
from lunzi.logger import TIME_FORMAT
from slbo import logs
from slbo.partial_envs import check_env_id
from slbo.run import provenance
from slbo.utils.stats import standard_error

if TYPE_CHECKING:
    from matplotlib.figure import Figure

RETURN = "return mean Real Env"
READ_TAGS = ("stage", "final", "diagnostics")  # the metric records a report reads
# The log line of each env's part of a stage ("episode") or final evaluation, as SLBO has always written it.
EVALUATION_LINE = re.compile(r"Tag = (?:episode|final), Reward on (.+?) \((\d+) episodes\)")
ALGORITHM_ORDER = ("slbo", "mle", "va", "MF")
# Flags that name or file a run without changing what it learns.
NOT_AN_EXPERIMENT = ("seed", "log_dir", "run_id", "use_wandb", "wandb_group_name", "wandb_project_name",
                     "ckpt.base", "ckpt.n_save_stages")


@dataclasses.dataclass
class RunLog:
    log_dir: str
    env: str
    variant: str
    algorithm: str
    flags: Dict[str, Any]  # the flattened config.yml
    curve: List[Tuple[int, float]]  # (cum_steps, return) of every stage and final evaluation, in order
    final: Optional[Tuple[int, float]]  # the "final" record, when the run finished
    elapsed_s: float  # from the first to the last record of log.json
    provenance: List[Dict[str, Any]] = dataclasses.field(default_factory=list)  # provenance.json's entries
    diagnostics: List[Dict[str, Any]] = dataclasses.field(default_factory=list)  # the "diagnostics" records
    # stage -> {"Real Env": n, "Virt Env": n}: how many episodes ended in that stage's evaluation
    episodes: Dict[int, Dict[str, int]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Reference:
    """A published result to compare with: `mean ± err` at `steps` real steps on `env`."""
    env: str
    steps: int
    mean: float
    err: float  # the number the source prints after ±
    label: str
    source: str = ""  # where the number is printed


@dataclasses.dataclass(frozen=True)
class Cell:
    env: str
    variant: str
    at: str  # "final" or a step count
    steps: Optional[int]
    n: int
    mean: float
    sem: float
    std: float  # across seeds (ddof 1); nan for a single seed
    seeds: Tuple[Tuple[Any, float], ...]  # (seed, return) of each seed counted, by seed


@dataclasses.dataclass(frozen=True)
class Comparison:
    """One variant's runs beside a reference, at the reference's step count."""
    reference: Reference
    variant: str
    cell: Optional[Cell]  # None while no run of the variant has got that far

    @property
    def inside(self) -> Optional[bool]:
        """Whether our mean lies within the reference's mean ± err; None while there is no mean."""
        if self.cell is None:
            return None
        return self.reference.mean - self.reference.err <= self.cell.mean <= self.reference.mean + self.reference.err

    @property
    def z(self) -> float:
        """(ours − reference) over the standard error of that difference, √(SE² + err²), the reference's err
        read as a standard error; nan while there is no mean, below two seeds (no standard error), or when
        neither side has any spread."""
        if self.cell is None or math.isnan(self.cell.sem) or self.cell.sem == self.reference.err == 0:
            return float("nan")
        return (self.cell.mean - self.reference.mean) / math.hypot(self.cell.sem, self.reference.err)


@dataclasses.dataclass(frozen=True)
class Paired:
    """A variant against the baseline on the seeds both have, in one environment and column."""
    cell: Cell  # the variant's
    baseline: Cell
    differences: Tuple[Tuple[Any, float], ...]  # (seed, variant − baseline) of each common seed, by seed

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean_sem(self) -> Tuple[float, float]:
        return mean_sem([d for _, d in self.differences]) if self.differences else (float("nan"), float("nan"))

    @property
    def t(self) -> float:
        """Mean difference over its standard error; nan below two seeds or when every difference is equal."""
        mean, sem = self.mean_sem
        return mean / sem if sem > 0 else float("nan")

    @property
    def p(self) -> float:
        return student_t_p(self.t, self.n - 1) if not math.isnan(self.t) else float("nan")

    @property
    def ahead(self) -> int:
        return sum(d > 0 for _, d in self.differences)


def student_t_p(t: float, df: int) -> float:
    """Two-sided p-value of Student's t with `df` (≥ 1) degrees of freedom: the closed form for integer df
    (Abramowitz & Stegun 26.7.3–4), P(|T| < |t|) as a finite series in θ = atan(|t| / √df)."""
    theta = math.atan(abs(t) / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2:  # odd: (2/π)(θ + sinθ cosθ (1 + 2/3 cos²θ + 2·4/(3·5) cos⁴θ + …)), the series ending at cos^(df−3)
        term, total = 1.0, 1.0 if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        inside = 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * total)
    else:  # even: sinθ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + …), ending at cos^(df−2)
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= c2 * (2 * k - 1) / (2 * k)
            total += term
        inside = math.sin(theta) * total
    return min(1.0, max(0.0, 1.0 - inside))


def pair(cells: Sequence[Cell], baseline: str) -> List[Paired]:
    """Every other variant's cell against the baseline's cell of the same environment and column."""
    by_key = {(c.env, c.variant, c.at): c for c in cells}
    paired = []
    for cell in cells:
        base = by_key.get((cell.env, baseline, cell.at))
        if base is None or cell.variant == baseline:
            continue
        theirs = dict(base.seeds)
        paired.append(Paired(cell, base, tuple((seed, value - theirs[seed]) for seed, value in cell.seeds
                                               if seed in theirs)))
    return paired


def paired_markdown(paired: Sequence[Paired], baseline: str) -> str:
    """The section of report.md: one row per variant and column, in the table's order."""
    header = ["environment", "variant", "at", "variant − baseline: mean ± standard error (n seeds)", "t",
              "p (two-sided)", "ahead on", "per seed (seed: difference)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in paired:
        at = "final" if c.cell.at == "final" else format_steps(int(c.cell.at))
        if not c.n:
            lines.append("| " + " | ".join([c.cell.env, c.cell.variant, at, "no seed in common"] + ["–"] * 4) + " |")
            continue
        mean, sem = c.mean_sem
        diff = f"{mean:+.1f}" + ("" if math.isnan(sem) else f" ± {sem:.1f}") + f" (n={c.n})"
        t, p = ("–" if math.isnan(x) else f"{x:.2f}" for x in (c.t, c.p))
        seeds = _per_seed(c.differences, "{seed}: {value:+.1f}")
        lines.append("| " + " | ".join([c.cell.env, c.cell.variant, at, diff, t, p, f"{c.ahead} of {c.n}", seeds])
                     + " |")
    return (f"\n## Paired against {baseline}\n\nEach variant's return minus {baseline}'s on the same seed, over the "
            f"seeds both have (in each environment and column): mean ± standard error of the differences, "
            f"t = mean / standard error, its two-sided p-value (Student's t, n − 1 degrees of freedom) and on how "
            f"many of those seeds the variant is ahead.\n\n" + "\n".join(lines) + "\n")


# The model-loss variants (docs/VARIANTS.md): flag, its default, and how a name shows it when set.
LOSS_VARIANTS = (("model.va_aux_coeff", 0, "va_aux={}"), ("model.reward_loss_coeff", 0, "reward={}"),
                 ("model.clip_to_data", False, "clip"), ("model.va_value", "trpo", "v={}"))


def variant_name(flags: Dict[str, Any]) -> str:
    """slbo, mle, MF, va-l1, va-l2; "-refitN" when the value function is refitted every N model steps;
    "+…" for each model-loss variant that is on (e.g. va-l1-refit20+clip), so a variant is never
    named as the published method."""
    algorithm = flags.get("algorithm", "slbo")
    name = f"va-{flags.get('model.va_norm', 'l1')}" if algorithm == "va" else algorithm
    interval = flags.get("model.value_update_interval", 0) or 0
    if interval > 0 and algorithm != "MF":
        name += f"-refit{interval}"
    for key, default, shown in LOSS_VARIANTS:
        value = flags.get(key, default)
        if value != default:
            name += "+" + shown.format(value)
    return name


def _number(value: Any) -> float:
    """A logged return as a float; the logger writes non-finite numbers as strings ("nan")."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _elapsed_seconds(first: Optional[str], last: Optional[str]) -> float:
    """Seconds between two log.json record times; nan when either is missing or unreadable."""
    try:
        return (datetime.datetime.strptime(last, TIME_FORMAT) - datetime.datetime.strptime(first, TIME_FORMAT)
                ).total_seconds()
    except (TypeError, ValueError):
        return float("nan")


def load_run(log_dir: str) -> RunLog:
    with open(os.path.join(log_dir, "config.yml")) as f:
        flags = flatten(yaml.safe_load(f) or {})
    curve, final, first, last, diagnostics = [], None, None, None, []
    episodes: Dict[int, Dict[str, int]] = {}
    counted: Dict[str, int] = {}  # the episode counts of the evaluation in progress
    with logs.open_log(log_dir) as f:
        for line in f:
            stamp = re.match(r'\{"time": "([^"]+)"', line)  # read without parsing the whole line
            if stamp:
                first, last = first or stamp.group(1), stamp.group(1)
            if "Reward on " in line:
                evaluation = EVALUATION_LINE.search(line)
                if evaluation:
                    counted[evaluation.group(1)] = int(evaluation.group(2))
                continue
            if '"metrics"' not in line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a killed run
                continue
            if record.get("level") != "metrics" or record.get("tag") not in READ_TAGS:
                continue
            metrics = record["metrics"]
            if record["tag"] == "diagnostics":
                diagnostics.append(metrics)
                continue
            if counted and "stage" in metrics:
                episodes[int(metrics["stage"])], counted = counted, {}
            value = _number(metrics.get(RETURN))
            if not math.isfinite(value):  # an evaluation in which no episode ended
                continue
            point = (int(metrics["cum_steps"]), value)
            curve.append(point)
            if record["tag"] == "final":
                final = point
    return RunLog(log_dir, str(flags.get("env.id", "?")), variant_name(flags), str(flags.get("algorithm", "slbo")),
                  flags, curve, final, _elapsed_seconds(first, last), provenance.read(log_dir), diagnostics,
                  episodes)


def find_runs(dirs: Sequence[str]) -> List[str]:
    """Every directory under `dirs` holding a config.yml and a log.json or log.json.gz (each once)."""
    found = {}
    for top in dirs:
        for root, subdirs, files in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs if d != "wandb")
            if logs.is_run(files):
                found.setdefault(os.path.realpath(root), root)
    return sorted(found.values())


def distinguish_variants(runs: List[RunLog]) -> None:
    """Appends to each variant name the flags in which runs of one env and variant differ."""
    groups: Dict[Tuple[str, str], List[RunLog]] = {}
    for run in runs:
        groups.setdefault((run.env, run.variant), []).append(run)
    for members in groups.values():
        keys = sorted({k for run in members for k in run.flags} - set(NOT_AN_EXPERIMENT))
        differ = [k for k in keys if len({repr(run.flags.get(k)) for run in members}) > 1]
        for run in members if differ else []:
            run.variant += " [" + ", ".join(f"{k}={run.flags.get(k)}" for k in differ) + "]"


def distinct_seeds(runs: Sequence[RunLog]) -> Tuple[List[RunLog], List[str]]:
    """One run per env, variant and seed — the one that got furthest (then the first by path) — so a
    seed run twice is one sample, not two; and a line for each seed that was run more than once."""
    by_seed: Dict[Tuple[str, str, Any], List[RunLog]] = {}
    for run in sorted(runs, key=lambda r: r.log_dir):
        by_seed.setdefault((run.env, run.variant, run.flags.get("seed")), []).append(run)
    kept, notes = [], []
    for (env, variant, seed), group in by_seed.items():
        best = max(group, key=lambda r: (r.final is not None, len(r.curve), -group.index(r)))
        kept.append(best)
        if len(group) > 1:
            names = run_names([r.log_dir for r in group])
            notes.append(f"{env} {variant}: seed {seed} has {len(group)} runs ({', '.join(names)}); counted once, "
                         f"as {names[group.index(best)]}")
    return kept, notes


def run_names(log_dirs: Sequence[str]) -> List[str]:
    """Names that tell the runs apart: their directory names, or, where two share one (the same sweep
    run into two directories), their paths below the directory the runs have in common."""
    paths = [os.path.normpath(d) for d in log_dirs]
    names = [os.path.basename(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    top = os.path.commonpath([os.path.abspath(p) for p in paths])
    return [os.path.relpath(os.path.abspath(p), top) for p in paths]


def mixed_provenance(runs: Sequence[RunLog]) -> Dict[Tuple[str, str], List[str]]:
    """(env, variant) -> what differs among its runs' code, library versions, devices or CPU kind
    (from their provenance.json; runs without one count as unknown when others have one)."""
    groups: Dict[Tuple[str, str], List[RunLog]] = {}
    for run in runs:
        groups.setdefault((run.env, run.variant), []).append(run)
    marked = {}
    for key, group in groups.items():
        differs = provenance.mixed(entry for run in group for entry in run.provenance)
        unknown = sum(not run.provenance for run in group)
        if unknown and unknown < len(group):
            differs.append(f"no provenance.json: {unknown} of {len(group)} runs")
        if differs:
            marked[key] = differs
    return marked


def value_at(run: RunLog, steps: int) -> Optional[float]:
    """The return of the last evaluation made with at most `steps` real steps; None before the run got there."""
    if not run.curve or run.curve[-1][0] < steps:
        return None
    before = [value for cum, value in run.curve if cum <= steps]
    return before[-1] if before else None


def make_cell(env: str, variant: str, at: str, steps: Optional[int], seeds: Sequence[Tuple[Any, float]]) -> Cell:
    """The cell of (seed, return) pairs: their count, mean, standard error and standard deviation."""
    values = [value for _, value in seeds]
    std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    return Cell(env, variant, at, steps, len(values), *mean_sem(values), std, tuple(sorted(seeds, key=lambda s: s[0])))


def mean_sem(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and standard error of the mean (sample std / sqrt(n)); sem is nan for a single value."""
    return float(np.mean(values)), standard_error(values)


def _sort_key(run_or_name: Any) -> Tuple[int, str]:
    name = run_or_name if isinstance(run_or_name, str) else run_or_name.variant
    base = re.split(r"[-\s]", name)[0]
    return (ALGORITHM_ORDER.index(base) if base in ALGORITHM_ORDER else len(ALGORITHM_ORDER), name)


def table(runs: Sequence[RunLog], step_points: Sequence[int]) -> List[Cell]:
    """One cell per environment, variant and column ("final", then each step count); empty cells are left out."""
    cells = []
    for env in sorted({run.env for run in runs}):
        for variant in sorted({run.variant for run in runs if run.env == env}, key=_sort_key):
            group = [run for run in runs if run.env == env and run.variant == variant]
            finished = [run for run in group if run.final is not None]
            if finished:
                steps = sorted(run.final[0] for run in finished)
                cells.append(make_cell(env, variant, "final", steps[len(steps) // 2],
                                       [(run.flags.get("seed"), run.final[1]) for run in finished]))
            for point in step_points:
                seeds = [(run.flags.get("seed"), value_at(run, point)) for run in group]
                seeds = [(seed, value) for seed, value in seeds if value is not None]
                if seeds:
                    cells.append(make_cell(env, variant, str(point), point, seeds))
    return cells


def format_steps(steps: int) -> str:
    for unit, size in (("M", 10 ** 6), ("k", 10 ** 3)):
        if steps >= size and steps % (size // 100) == 0:
            return f"{steps / size:g}{unit}"
    return str(steps)


def parse_steps(text: str) -> int:
    """200k -> 200000, 1M -> 1000000, 1.5m -> 1500000, 5000 -> 5000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", text)
    if not match:
        raise ConfigError(f"--steps value {text!r} is not a step count like 200k, 1M or 50000")
    value = float(match.group(1)) * {"": 1, "k": 10 ** 3, "m": 10 ** 6}[match.group(2).lower()]
    if value < 1 or not value.is_integer():
        raise ConfigError(f"--steps value {text!r} must be a whole number of steps >= 1")
    return int(value)


def _cell_text(cell: Optional[Cell]) -> str:
    if cell is None:
        return "–"
    sem = "" if math.isnan(cell.sem) else f" ± {cell.sem:.1f}"
    return f"{cell.mean:.1f}{sem} (n={cell.n})"


def markdown(cells: Sequence[Cell], step_points: Sequence[int], marked: Collection[Tuple[str, str]] = ()) -> str:
    """The table; the rows in `marked` (env, variant) get a † (their runs mix code or library versions)."""
    columns = ["final"] + [str(p) for p in step_points]
    by_key = {(c.env, c.variant, c.at): c for c in cells}
    rows = list(dict.fromkeys((c.env, c.variant) for c in cells))
    header = ["environment", "variant", "final"] + [f"at {format_steps(p)} steps" for p in step_points]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for env, variant in rows:
        shown = variant + " †" * ((env, variant) in marked)
        lines.append("| " + " | ".join([env, shown] + [_cell_text(by_key.get((env, variant, col)))
                                                         for col in columns]) + " |")
    return ("Real-env return (`return mean Real Env`), mean ± standard error across seeds (n = seeds).\n\n"
            + "\n".join(lines) + "\n")


def _per_seed(seeds: Sequence[Tuple[Any, float]], form: str) -> str:
    """(seed, value) pairs as one text, each written by `form`."""
    return ", ".join(form.format(seed=seed, value=value) for seed, value in seeds)


PAIRED_COLUMNS = ["baseline", "paired_n", "paired_diff_mean", "paired_diff_sem", "paired_t", "paired_p",
                  "paired_ahead", "paired_per_seed"]


def _paired_row(c: Optional[Paired]) -> List[Any]:
    if c is None:
        return [""] * len(PAIRED_COLUMNS)
    numbers = ("" if math.isnan(x) else repr(x) for x in (*c.mean_sem, c.t, c.p))
    return [c.baseline.variant, c.n, *numbers, c.ahead, _per_seed(c.differences, "{seed}:{value!r}")]


def write_csv(cells: Sequence[Cell], path: str, comparisons: Sequence[Comparison] = (),
              paired: Optional[Sequence[Paired]] = None) -> None:
    """One row per cell; a cell at a reference's step count also gets the reference and whether it is inside;
    with `paired` (--baseline), every row gets the paired columns (empty on the baseline's own rows)."""
    against = {(c.reference.env, c.variant, str(c.reference.steps)): c for c in comparisons}
    paired_by_key = {(c.cell.env, c.cell.variant, c.cell.at): c for c in paired or ()}
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["env", "variant", "at", "steps", "n", "mean", "sem", "std", "per_seed", "reference",
                         "reference_mean", "reference_err", "inside", "z"]
                        + (PAIRED_COLUMNS if paired is not None else []))
        for c in cells:
            sem, std = ("" if math.isnan(x) else repr(x) for x in (c.sem, c.std))
            row = [c.env, c.variant, c.at, c.steps, c.n, repr(c.mean), sem, std, _per_seed(c.seeds, "{seed}:{value!r}")]
            comparison = against.get((c.env, c.variant, c.at))
            ref = comparison.reference if comparison else None
            row += ([ref.label, repr(ref.mean), repr(ref.err), str(comparison.inside).lower(),
                     "" if math.isnan(comparison.z) else repr(comparison.z)] if ref else [""] * 5)
            writer.writerow(row + (_paired_row(paired_by_key.get((c.env, c.variant, c.at)))
                                   if paired is not None else []))


def write_runs_csv(runs: Sequence[RunLog], path: str) -> None:
    """One row per run: where it got to, its final return (empty while unfinished) and its wall-clock."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["run", "env", "variant", "seed", "evaluations", "steps", "last_return", "final_return",
                         "elapsed_min"])
        for run in sorted(runs, key=lambda r: (r.env, _sort_key(r), r.flags.get("seed", 0))):
            steps, last = run.curve[-1]
            writer.writerow([os.path.basename(os.path.normpath(run.log_dir)), run.env, run.variant,
                             run.flags.get("seed", ""), len(run.curve), steps, repr(last),
                             repr(run.final[1]) if run.final else "", f"{run.elapsed_s / 60:.2f}"])


def curve_stats(group: Sequence[RunLog]) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(steps, mean, sem, n) across runs at every step count any run evaluated at; a run counts at x
    from its first to its last evaluation, with the value of its last evaluation at or before x."""
    xs = sorted({cum for run in group for cum, _ in run.curve})
    means, sems, counts = [], [], []
    for x in xs:
        values = [[v for cum, v in run.curve if cum <= x][-1] for run in group
                  if run.curve and run.curve[0][0] <= x <= run.curve[-1][0]]
        mean, sem = mean_sem(values)
        means.append(mean), sems.append(0.0 if math.isnan(sem) else sem), counts.append(len(values))
    return np.array(xs), np.array(means), np.array(sems), np.array(counts)


REFERENCE_COLUMNS = ("env", "steps", "mean", "err", "label", "source")


def make_reference(env: str, steps: str, mean: str, err: str, label: str, source: str = "") -> Reference:
    """A Reference from its text fields; a ConfigError unless the step count, finite numbers, err >= 0
    and a known env id."""
    try:
        reference = Reference(env, parse_steps(steps), float(mean), float(err), label, source)
        valid = math.isfinite(reference.mean) and math.isfinite(reference.err) and reference.err >= 0
    except (ValueError, ConfigError):
        valid = False
    if not valid:
        raise ConfigError(f"a reference is ENV STEPS MEAN ERR LABEL with a step count (200k, 1M, 50000), finite "
                          f"numbers and ERR >= 0, e.g. MBBLHalfCheetah 200k 1097.7 166.4 'MBBL SLBO'; "
                          f"got {' '.join([env, steps, mean, err, label])}")
    check_env_id(env)
    return reference


def parse_reference(values: Sequence[str]) -> Reference:
    try:
        return make_reference(*values)
    except ConfigError as e:
        raise ConfigError(f"--reference: {e}") from None


def read_references(path: str) -> List[Reference]:
    """The references of a CSV file whose header names the columns env, steps, mean, err, label, source."""
    where = f"--references {path}"
    try:
        with open(path, newline="") as f:
            lines = [(number, row) for number, row in enumerate(csv.reader(f), 1) if row]
    except OSError as e:
        raise ConfigError(f"{where}: cannot read it ({e.strerror or e})") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise ConfigError(f"{where}: not a CSV file ({e})") from None
    if not lines:
        raise ConfigError(f"{where}: the file is empty; its first line names the columns {','.join(REFERENCE_COLUMNS)}")
    header = [name.strip() for name in lines[0][1]]
    unknown = [name for name in header if name not in REFERENCE_COLUMNS]
    missing = [name for name in REFERENCE_COLUMNS if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise ConfigError(f"{where}: its first line must name the columns {','.join(REFERENCE_COLUMNS)} (in any "
                          f"order, each once); got {','.join(header)}")
    references = []
    for number, row in lines[1:]:
        if len(row) != len(header):
            raise ConfigError(f"{where} line {number}: {len(row)} fields where the header has {len(header)}: "
                              f"{','.join(row)}")
        try:
            references.append(make_reference(**dict(zip(header, (field.strip() for field in row)))))
        except ConfigError as e:
            raise ConfigError(f"{where} line {number}: {e}") from None
    if not references:
        raise ConfigError(f"{where}: no references below its header")
    return references


def check_distinct(references: Sequence[Reference]) -> None:
    """One reference per environment and step count, so each table cell has one to be compared with."""
    seen: Dict[Tuple[str, int], Reference] = {}
    for ref in references:
        other = seen.setdefault((ref.env, ref.steps), ref)
        if other is not ref:
            raise ConfigError(f"two references for {ref.env} at {format_steps(ref.steps)} steps ({other.label!r} "
                              f"and {ref.label!r}); give one per environment and step count")


def references_in_reach(references: Sequence[Reference], runs: Sequence[RunLog]) -> List[Reference]:
    """The references the report compares with: for each environment with runs, those up to the first at or
    beyond its runs' furthest step (a 1M-step reference is left out for 200k-step runs, kept for 1M ones)."""
    furthest: Dict[str, int] = {}
    for run in runs:
        furthest[run.env] = max(furthest.get(run.env, 0), run.curve[-1][0])
    kept = []
    for ref in references:
        if ref.env in furthest:
            beyond = [r.steps for r in references if r.env == ref.env and r.steps >= furthest[ref.env]]
            if not beyond or ref.steps <= min(beyond):
                kept.append(ref)
    return kept


def reference_text(ref: Reference, compared: Collection[Reference], runs: Sequence[RunLog]) -> str:
    """A reference as report.md lists it: its number, label, source, and why it is not compared if it is not."""
    text = f"{ref.env} at {format_steps(ref.steps)} steps: {ref.mean:g} ± {ref.err:g} ({ref.label})"
    text += f" — {ref.source}" if ref.source else ""
    if ref not in compared:
        has_runs = any(run.env == ref.env for run in runs)
        text += " — not compared: " + ("these runs stop before it" if has_runs else "no runs of this environment")
    return text


def compare(cells: Sequence[Cell], references: Sequence[Reference], runs: Sequence[RunLog]) -> List[Comparison]:
    """Every variant run on a reference's environment beside it, in the order of the references."""
    by_key = {(c.env, c.variant, c.at): c for c in cells}
    variants = sorted({(run.env, run.variant) for run in runs}, key=lambda key: (key[0], _sort_key(key[1])))
    return [Comparison(ref, variant, by_key.get((env, variant, str(ref.steps))))
            for ref in references for env, variant in variants if env == ref.env]


def comparison_markdown(comparisons: Sequence[Comparison]) -> str:
    """The table of ours beside the references, then per variant, reference and step count how many
    tasks lie inside the reference's interval."""
    header = ["environment", "variant", "at", "ours: mean ± standard error (n)", "ours: standard deviation",
              "ours per seed (seed: return)", "reference: mean ± its error", "ours inside?", "z"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups: Dict[Tuple[str, str, int], List[Comparison]] = {}
    for c in comparisons:
        ref, cell = c.reference, c.cell
        std = "–" if cell is None or math.isnan(cell.std) else f"{cell.std:.1f}"
        seeds = "–" if cell is None else _per_seed(cell.seeds, "{seed}: {value:.1f}")
        inside = {True: "yes", False: "no", None: "not there yet"}[c.inside]
        z = "–" if math.isnan(c.z) else f"{c.z:+.2f}"
        lines.append("| " + " | ".join([ref.env, c.variant, format_steps(ref.steps), _cell_text(cell), std, seeds,
                                        f"{ref.mean:g} ± {ref.err:g} ({ref.label})", inside, z]) + " |")
        groups.setdefault((c.variant, ref.label, ref.steps), []).append(c)
    counts = []
    for (variant, label, steps), group in groups.items():
        reached = [c for c in group if c.cell is not None]
        pending = len(group) - len(reached)
        counts.append(f"- {variant} against {label} at {format_steps(steps)} steps: inside its interval in "
                      f"{sum(bool(c.inside) for c in reached)} of {len(reached)} tasks"
                      + (f" ({pending} more not there yet)" if pending else "") + "\n")
    return ("\n## Against published references\n\nOurs at each reference's step count: the mean ± standard error "
            "across seeds (n = seeds), their standard deviation and each seed's return. \"Inside\" means our mean "
            "lies within the reference's mean ± its error (the number its source prints after ±). z is our mean "
            "less the reference's over the standard error of that difference, √(SE² + error²), the reference's "
            "error read as a standard error (if it is a standard deviation across m seeds, z with error/√m is "
            "larger); – for a single seed.\n\n"
            + "\n".join(lines) + "\n\n" + "".join(counts))


# What the diagnostics section reads for model exploitation (docs/DIAGNOSTICS.md defines each metric).
LATE_METRICS = (("return_real", "real return"), ("return_imagined", "imagined return"),
                ("return_gap", "imagined − real"), ("model_nrmse_all", "one-step NRMSE"),
                ("reward_bias", "reward bias"))
# On tasks with termination: the share of real falls the model reproduces open loop from 10 steps back, and
# of the 10 steps before those where it ends the episode; columns only when some run has them.
FALL_METRICS = (("fall_recall_10", "falls reproduced from 10 steps back"),
                ("fall_false_alarm_10", "false alarms, 10 steps"))
# The model's open-loop drift over k steps (rollout_error_<k>, rollout_at_clip_<k>): columns for the k the runs
# logged, read from their records (runs made before these metrics existed have none).
DRIFT_METRIC = re.compile(r"rollout_(error|at_clip)_(\d+)")


def _drift_order(key: str) -> Tuple[int, int]:
    kind, k = DRIFT_METRIC.fullmatch(key).groups()
    return int(k), kind == "at_clip"


def _drift_label(key: str) -> str:
    kind, k = DRIFT_METRIC.fullmatch(key).groups()
    return f"open-loop error, {k} steps" if kind == "error" else f"at the clip, {k} steps"


@dataclasses.dataclass(frozen=True)
class LateDiagnostics:
    """One run's diagnostics over the second half of its stages: each metric's median, and the range of
    the model's one-step error."""
    run: RunLog
    first_stage: int
    last_stage: int
    records: int
    medians: Dict[str, float]
    nrmse_range: Tuple[float, float]
    episodes: Tuple[float, float]  # median episodes ended per evaluation, real and imagined (nan: not logged)


def _median(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else float("nan")


def late_diagnostics(run: RunLog) -> Optional[LateDiagnostics]:
    """The diagnostics of stages ceil(last / 2) to last (10-20 of a 20-stage run), where the last is the
    run's last diagnosed stage; None for a run without them. A stage logged twice (a resumed run) counts once,
    as its last record."""
    by_stage = {int(m["stage"]): m for m in run.diagnostics if "stage" in m}
    if not by_stage:
        return None
    last = max(by_stage)
    first = math.ceil(last / 2)
    stages = [stage for stage in sorted(by_stage) if stage >= first]
    span = [by_stage[stage] for stage in stages]
    drift = sorted({key for m in span for key in m if DRIFT_METRIC.fullmatch(key)}, key=_drift_order)
    medians = {key: _median([_number(m.get(key)) for m in span])
               for key in [key for key, _ in LATE_METRICS + FALL_METRICS] + drift}
    nrmse = [v for v in (_number(m.get("model_nrmse_all")) for m in span) if math.isfinite(v)]
    counts = [run.episodes.get(stage, {}) for stage in stages]
    episodes = tuple(_median([float(c.get(name, "nan")) for c in counts]) for name in ("Real Env", "Virt Env"))
    return LateDiagnostics(run, first, last, len(span), medians,
                           (min(nrmse), max(nrmse)) if nrmse else (float("nan"), float("nan")), episodes)


def _mean_finite(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _episodes_text(episodes: Tuple[float, float]) -> str:
    return " / ".join("–" if math.isnan(n) else f"{round(n, 1):g}" for n in episodes)


def _late_text(key: str, value: float) -> str:
    if math.isnan(value):
        return "–"
    if key in dict(FALL_METRICS) or key.startswith("rollout_at_clip_"):
        return f"{value:.0%}"
    if key.startswith("rollout_error_"):
        return f"{value:.3g}"
    return format(value, {"model_nrmse_all": ".2f", "reward_bias": ".3g"}.get(key, ".1f"))


def drift_keys(late: Sequence[LateDiagnostics]) -> List[str]:
    """The rollout-drift metrics some run logged, by horizon."""
    return sorted({key for d in late for key in d.medians if DRIFT_METRIC.fullmatch(key)}, key=_drift_order)


def diagnostics_markdown(late: Sequence[LateDiagnostics], without: Sequence[RunLog]) -> str:
    """Per run the medians over its second half, and per environment and variant with several seeds their mean."""
    keys = [key for key, _ in LATE_METRICS if key != "model_nrmse_all"]
    falls = [key for key, _ in FALL_METRICS if any(math.isfinite(d.medians[key]) for d in late)]
    drift = drift_keys(late)
    header = (["environment", "variant", "seed", "stages (records)"] + [dict(LATE_METRICS)[k] for k in keys]
              + ["one-step NRMSE: median (range)", "episodes ended: real / imagined"]
              + [dict(FALL_METRICS)[k] for k in falls] + [_drift_label(k) for k in drift])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    groups: Dict[Tuple[str, str], List[LateDiagnostics]] = {}
    for d in late:
        groups.setdefault((d.run.env, d.run.variant), []).append(d)
    for (env, variant), group in groups.items():
        for d in group:
            low, high = d.nrmse_range
            nrmse = _late_text("model_nrmse_all", d.medians["model_nrmse_all"])
            if not math.isnan(low):
                nrmse += f" ({low:.2f}–{high:.2f})"
            lines.append("| " + " | ".join([env, variant, str(d.run.flags.get("seed")),
                                            f"{d.first_stage}–{d.last_stage} ({d.records})"]
                                           + [_late_text(k, d.medians[k]) for k in keys]
                                           + [nrmse, _episodes_text(d.episodes)]
                                           + [_late_text(k, d.medians.get(k, math.nan)) for k in falls + drift])
                         + " |")
        if len(group) > 1:
            means = {key: float(np.mean([d.medians[key] for d in group])) for key, _ in LATE_METRICS}
            # a seed whose second half logged no fall has no recall; the mean is over the seeds that did
            means.update({key: _mean_finite([d.medians.get(key, math.nan) for d in group])
                          for key in [key for key, _ in FALL_METRICS] + drift})
            lines.append("| " + " | ".join([env, variant, f"mean of {len(group)}", ""]
                                           + [_late_text(k, means[k]) for k in keys]
                                           + [_late_text("model_nrmse_all", means["model_nrmse_all"]),
                                              _episodes_text(tuple(float(np.mean([d.episodes[i] for d in group]))
                                                                   for i in (0, 1)))]
                                           + [_late_text(k, means[k]) for k in falls + drift]) + " |")
    text = ("\n## Model diagnostics, second half of each run\n\nPer run, over its diagnostics records from the "
            "middle stage to the last (stages 10–20 of a 20-stage run), the median of: the evaluated policy's real "
            "and imagined return and their difference (an imagined return far above the real one is a policy "
            "exploiting the model), the reward bias (how much more reward the model's predicted states give than "
            "the real ones) and the model's normalised one-step error on held-out real transitions (about 1: no "
            "better than predicting the average change), with its range; docs/DIAGNOSTICS.md defines each. Then how "
            "many episodes ended in an evaluation (`rollout.n_test_samples` steps on the real envs, and as many on "
            "the model's `plan.n_envs`): imagined episodes that outlast the real ones are a model that does not "
            "reach the states where a terminating task ends."
            + (" On such tasks, the median share of the evaluation's real falls the model reproduces when started "
               "on the real state 10 steps before and fed the real actions, and the share of the 10 steps before "
               "those where it ends an episode the real robot survived (`fall_recall_10`, `fall_false_alarm_10`; "
               "– where a run logged none)." if falls else "")
            + (" Then the model's drift over a rollout: started on the held-out real states every 50 steps and "
               "fed the real actions for k steps, the median state error (each coordinate over its real std; about "
               "1 = as far off as a random real state) and the share of windows ending pinned at the model's clip "
               "(`rollout_error_<k>`, `rollout_at_clip_<k>`)." if drift else "")
            + " Rows \"mean of n\" average the seeds' medians.\n\n"
            + "\n".join(lines) + "\n")
    if without:
        text += ("\nRuns without diagnostics records (model-free, diag.every=0, or made before the diagnostics "
                 "existed): " + ", ".join(os.path.basename(os.path.normpath(r.log_dir)) for r in without) + "\n")
    return text


def write_diagnostics_csv(late: Sequence[LateDiagnostics], path: str) -> None:
    drift = drift_keys(late)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["env", "variant", "seed", "run", "first_stage", "last_stage", "records"]
                        + [key for key, _ in LATE_METRICS] + ["model_nrmse_all_min", "model_nrmse_all_max",
                                                              "episodes_real", "episodes_imagined"]
                        + [key for key, _ in FALL_METRICS] + drift)
        for d in late:
            writer.writerow([d.run.env, d.run.variant, d.run.flags.get("seed"),
                             os.path.basename(os.path.normpath(d.run.log_dir)), d.first_stage, d.last_stage,
                             d.records] + ["" if math.isnan(x) else repr(x)
                                           for x in [*(d.medians[k] for k, _ in LATE_METRICS), *d.nrmse_range,
                                                     *d.episodes, *(d.medians[k] for k, _ in FALL_METRICS),
                                                     *(d.medians.get(k, math.nan) for k in drift)]])


def plot_curves(runs: Sequence[RunLog], path: Optional[str] = None,
                references: Sequence[Reference] = ()) -> "Figure":
    """One panel per environment, one colour per variant (the same in every panel), the references of
    an environment as black points with error bars; saved as PNG to `path`."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import EngFormatter

    envs = sorted({run.env for run in runs})
    variants = sorted({run.variant for run in runs}, key=_sort_key)
    colours = {v: f"C{i % 10}" for i, v in enumerate(variants)}
    ncols = min(len(envs), 3)
    nrows = math.ceil(len(envs) / ncols)
    fig = Figure(figsize=(5.5 * ncols, 4.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(envs):]:
        fig.delaxes(ax)
    for ax, env in zip(axes, envs):
        for variant in [v for v in variants if any(r.env == env and r.variant == v for r in runs)]:
            group = [run for run in runs if run.env == env and run.variant == variant and run.curve]
            if not group:
                continue
            xs, mean, sem, _ = curve_stats(group)
            ax.plot(xs, mean, color=colours[variant], linewidth=1.8, label=f"{variant} (n={len(group)})")
            ax.fill_between(xs, mean - sem, mean + sem, color=colours[variant], alpha=0.2, linewidth=0)
        for ref in [r for r in references if r.env == env]:
            ax.errorbar([ref.steps], [ref.mean], yerr=[ref.err], color="black", marker="D", capsize=4,
                        label=f"{ref.label}: {ref.mean:g} ± {ref.err:g}")
        ax.set_title(env)
        ax.set_xlabel("real environment steps")
        ax.set_ylabel("return (real env)")
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small", loc="best")
    fig.suptitle("Real-env return: mean across seeds, band = ± standard error")
    if path:
        fig.savefig(path, dpi=120)
    return fig


OUT_FILES = ("report.md", "report.csv", "runs.csv", "curves.png")


def check_out(out: str) -> None:
    """--out is always a directory: one that exists, or a new name that is not a file name."""
    what = f"--out names the directory that gets {', '.join(OUT_FILES)}"
    if os.path.exists(out) and not os.path.isdir(out):
        raise ConfigError(f"--out {out} exists and is not a directory ({what})")
    if not os.path.exists(out) and os.path.splitext(out)[1].lower() in (".md", ".csv", ".png"):
        raise ConfigError(f"--out {out} looks like a file name; {what}: e.g. --out {os.path.splitext(out)[0]}")


USAGE = ("python -m slbo.report DIR [DIR ...] [--steps 200k 1M] [--out OUT] [--reference ENV STEPS MEAN "
         "ERR LABEL] [--references FILE] [--baseline VARIANT] [--diagnostics]")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = ArgumentParser(prog="python -m slbo.report", usage_line=USAGE,
                            description="Tables and learning curves of many runs.")
    parser.add_argument("dirs", nargs="+", help="sweep or run directories (searched recursively)")
    parser.add_argument("--steps", nargs="*", default=[], help="real-step counts for extra columns, e.g. 200k 1M")
    parser.add_argument("--out", help="the directory (created if new) for report.md, report.csv, runs.csv and "
                                      "curves.png (default: the first DIR)")
    parser.add_argument("--reference", nargs=5, action="append", default=[],
                        metavar=("ENV", "STEPS", "MEAN", "ERR", "LABEL"),
                        help="a published result to compare with, e.g. MBBLHalfCheetah 200k 1097.7 166.4 'MBBL SLBO'")
    parser.add_argument("--references", action="append", default=[], metavar="FILE",
                        help="a CSV file of published results, one per row: env,steps,mean,err,label,source "
                             "(e.g. docs/results/mbbl_slbo.csv)")
    parser.add_argument("--baseline", metavar="VARIANT",
                        help="compare every other variant with this one seed by seed (paired differences, t, p), "
                             "e.g. slbo")
    parser.add_argument("--diagnostics", action="store_true",
                        help="add a section of each run's model diagnostics over its second half (imagined vs "
                             "real return, one-step error, reward bias) and write diagnostics.csv")
    parser.add_argument("--export-logs", metavar="DEST",
                        help="also write each run's log.json (gzip-compressed), config.yml and provenance.json "
                             "to DEST/<DIR's name>/<run>/, which this command reads as it reads run directories")
    parser.add_argument("--export-drop", action="append", default=[], metavar="TAG",
                        help="leave the metric records tagged TAG out of the exported logs (repeatable), e.g. "
                             "trpo: the per-TRPO-step records, about 70%% of a compressed log, which no report reads")
    try:
        args = parser.parse_args(argv)
        step_points = sorted({parse_steps(s) for s in args.steps})
        references = [parse_reference(values) for values in args.reference]
        references += [ref for path in args.references for ref in read_references(path)]
        check_distinct(references)
        for d in args.dirs:
            if not os.path.isdir(d):
                raise ConfigError(f"not a directory: {d}")
        if args.export_logs and os.path.exists(args.export_logs) and not os.path.isdir(args.export_logs):
            raise ConfigError(f"--export-logs {args.export_logs} exists and is not a directory")
        if args.export_drop and not args.export_logs:
            raise ConfigError("--export-drop needs --export-logs DEST")
        for tag in args.export_drop:
            if tag in READ_TAGS:
                raise ConfigError(f"--export-drop {tag}: the report reads the records tagged {tag}; "
                                  f"it can drop any tag but {', '.join(READ_TAGS)}")
        out = args.out or args.dirs[0]
        check_out(out)
        run_dirs = find_runs(args.dirs)
        if not run_dirs:
            raise ConfigError(f"no runs (directories with config.yml and log.json) under {', '.join(args.dirs)}")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    loaded = [load_run(d) for d in run_dirs]
    runs = [run for run in loaded if run.curve]
    for run in loaded:
        if not run.curve:
            print(f"note: {run.log_dir} has no evaluation yet; left out", file=sys.stderr)
    if not runs:
        print("error: none of the runs has an evaluation yet", file=sys.stderr)
        return 2
    distinguish_variants(runs)
    counted, duplicates = distinct_seeds(runs)
    compared = references_in_reach(references, counted)
    step_points = sorted(set(step_points) | {ref.steps for ref in compared})
    cells = table(counted, step_points)
    variants = sorted({run.variant for run in counted}, key=_sort_key)
    if args.baseline is not None and args.baseline not in variants:
        print(f"error: --baseline {args.baseline} is not a variant of these runs; they have {', '.join(variants)}",
              file=sys.stderr)
        return 2
    paired = pair(cells, args.baseline) if args.baseline is not None else None
    comparisons = compare(cells, compared, counted)
    marked = mixed_provenance(counted)
    text = markdown(cells, step_points, marked)
    text += "".join(f"\n† {env} {variant} mixes runs that differ — {'; '.join(what)}.\n"
                    for (env, variant), what in marked.items())
    if duplicates:
        text += "\nSeeds run more than once (each seed is one sample):\n\n" + "".join(f"- {d}\n" for d in duplicates)
    unfinished = sum(run.final is None for run in counted)
    if unfinished:
        text += (f"\n{unfinished} of {len(counted)} runs have not finished; they count in the step columns they "
                 f"reached.\n")
    if paired is not None:
        text += paired_markdown(paired, args.baseline)
    if comparisons:
        text += comparison_markdown(comparisons)
    late: List[LateDiagnostics] = []
    if args.diagnostics:
        ordered = sorted(counted, key=lambda run: (run.env, _sort_key(run), str(run.flags.get("seed"))))
        late = [d for d in map(late_diagnostics, ordered) if d is not None]
        text += diagnostics_markdown(late, [run for run in ordered if not run.diagnostics])
    if references:
        text += "\nPublished references (compared above and drawn as black points unless noted):\n\n" + "".join(
            f"- {reference_text(r, compared, counted)}\n" for r in references)
    text += (f"\n## Provenance of these runs\n\nFrom each run's provenance.json (its start and every resume), "
             f"{len(runs)} runs:\n\n" + "\n".join(provenance.describe([run.provenance for run in runs])) + "\n")
    if args.export_logs:  # a destination that cannot be made is refused before the report is written
        try:
            os.makedirs(args.export_logs, exist_ok=True)
        except OSError as e:
            print(f"error: cannot export the logs into {args.export_logs}: {e.strerror or e}", file=sys.stderr)
            return 2
    try:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "report.md"), "w") as f:
            f.write(text)
        write_csv(cells, os.path.join(out, "report.csv"), comparisons, paired)
        write_runs_csv(runs, os.path.join(out, "runs.csv"))
        plot_curves(counted, os.path.join(out, "curves.png"), compared)
        if args.diagnostics:
            write_diagnostics_csv(late, os.path.join(out, "diagnostics.csv"))
    except OSError as e:
        print(f"error: cannot write the report into {out}: {e.strerror or e}", file=sys.stderr)
        return 2
    if args.export_logs:
        try:
            exported = logs.export(run_dirs, args.dirs, args.export_logs, args.export_drop)
        except OSError as e:
            print(f"error: cannot export the logs into {e.filename or args.export_logs}: {e.strerror or e}",
                  file=sys.stderr)
            return 2
        print(f"exported the logs of {len(exported)} runs to {args.export_logs}")
    print(text)
    print(f"wrote {os.path.join(out, 'report.md')}, report.csv, runs.csv"
          f"{', diagnostics.csv' if args.diagnostics else ''} and curves.png ({len(runs)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
