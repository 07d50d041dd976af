"""A run's logs as `slbo.report` reads them: a run directory (config.yml, log.json and, since runs
record it, provenance.json) or its export, in which log.json is gzip-compressed
(log.json.gz) and nothing else is kept — no checkpoints, no buffers. Exported logs are small
enough to commit beside a figure, and the report reads them exactly as it reads run directories."""
from __future__ import annotations

import gzip
import json
import os
import shutil
from typing import Any, Collection, Dict, Iterator, List, Sequence, TextIO

LOG, COMPRESSED_LOG = "log.json", "log.json.gz"
KEPT_BESIDE = ("config.yml", "provenance.json")  # what an export keeps besides the log


def is_run(files: Collection[str]) -> bool:
    """Whether a directory holding `files` is a run (or an exported run)."""
    return "config.yml" in files and (LOG in files or COMPRESSED_LOG in files)


def is_run_dir(path: str) -> bool:
    """Whether `path` is a run directory (or an exported run)."""
    return os.path.isdir(path) and is_run(os.listdir(path))


def open_log(run_dir: str) -> TextIO:
    """The run's log.json, or its compressed copy, as text (undecodable bytes replaced)."""
    path = os.path.join(run_dir, LOG)
    if os.path.isfile(path):
        return open(path, errors="replace")
    return gzip.open(os.path.join(run_dir, COMPRESSED_LOG), "rt", errors="replace")


def records(run_dir: str, containing: str = "") -> Iterator[Dict[str, Any]]:
    """The records of the run's log in order; only those whose line holds `containing` (a cheap filter
    before parsing). A line cut short by a killed or still running run is skipped; a run that has
    not written its log yet has none."""
    if not any(os.path.isfile(os.path.join(run_dir, name)) for name in (LOG, COMPRESSED_LOG)):
        return
    with open_log(run_dir) as f:
        for line in f:
            if containing not in line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            yield record


def metrics(run_dir: str, tag: str) -> List[Dict[str, Any]]:
    """The metrics of the log's metric records tagged `tag`, in log order."""
    return [record["metrics"] for record in records(run_dir, f'"tag": "{tag}"')
            if record.get("level") == "metrics" and record.get("tag") == tag]


def export_path(run_dir: str, tops: Sequence[str], dest: str) -> str:
    """DEST/<the top directory's name>/<the run's path under it>: a sweep's runs stay together."""
    run = os.path.realpath(run_dir)
    for top in tops:
        top = os.path.realpath(top)
        if run == top or run.startswith(top + os.sep):
            return os.path.normpath(os.path.join(dest, os.path.basename(top), os.path.relpath(run, top)))
    return os.path.join(dest, os.path.basename(run))


def _tagged(line: str, tags: Collection[str]) -> bool:
    """Whether a log line is a metric record with one of `tags` (a substring test before parsing)."""
    if not any(f'"tag": "{tag}"' in line for tag in tags):
        return False
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return False
    return record.get("level") == "metrics" and record.get("tag") in tags


def export(run_dirs: Sequence[str], tops: Sequence[str], dest: str, drop_tags: Collection[str] = ()) -> List[str]:
    """Writes each run's log (gzip-compressed, byte-identical for the same log), without the metric
    records tagged one of `drop_tags`, and the files of KEPT_BESIDE under `dest`; returns the
    exported directories."""
    exported = []
    for run_dir in run_dirs:
        target = export_path(run_dir, tops, dest)
        os.makedirs(target, exist_ok=True)
        with open_log(run_dir) as src, open(os.path.join(target, COMPRESSED_LOG), "wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
            for line in src:
                if not (drop_tags and _tagged(line, drop_tags)):
                    out.write(line.encode())
        for name in KEPT_BESIDE:
            if os.path.isfile(os.path.join(run_dir, name)):
                shutil.copyfile(os.path.join(run_dir, name), os.path.join(target, name))
        exported.append(target)
    return exported
