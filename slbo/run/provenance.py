"""What made a run: the code's commit, the library versions, the devices, the machine and the
command line, recorded in `provenance.json` beside config.yml at the start and on every resume.

MuJoCo's solver, TF's kernels and the CPU's vector instructions change trajectories, so two runs
(or a run and its resumption) give the same numbers only on the same code, versions and CPU kind.
Nothing here draws a random number or touches the TF graph; nothing reaches the metric records."""
from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence

from lunzi.logger import logger

FILE = "provenance.json"
PROJECT = "va-slbo"  # the distribution name, for runs from an installed package without git
# module name -> distribution names that provide it (the first one installed is reported)
LIBRARIES = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-intel", "tensorflow-macos"),
    "numpy": ("numpy",),
    "mujoco": ("mujoco",),
    "gymnasium": ("gymnasium",),
    "ray": ("ray",),
    "wandb": ("wandb",),
}
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _git(root: str, *args: str) -> Optional[bytes]:
    try:
        result = subprocess.run(["git", "-C", root, *args], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def code_state(root: str = ROOT) -> Dict[str, Any]:
    """The commit of the git work tree at `root` (None when `root` is not the top of one, e.g. an
    installed package), whether tracked files differ from it, the sha256 of `git diff HEAD`, and
    the installed package's version."""
    try:
        package_version: Optional[str] = importlib.metadata.version(PROJECT)
    except importlib.metadata.PackageNotFoundError:
        package_version = None
    state: Dict[str, Any] = {"commit": None, "dirty": None, "diff_sha256": None, "package_version": package_version}
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or os.path.realpath(top.decode().strip()) != os.path.realpath(root):
        return state  # not a checkout of this code (or no git): the package version says what ran
    commit, diff = _git(root, "rev-parse", "HEAD"), _git(root, "diff", "HEAD", "--binary", "--no-ext-diff")
    if commit is None or diff is None:
        return state
    state.update(commit=commit.decode().strip(), dirty=bool(diff),
                 diff_sha256=hashlib.sha256(diff).hexdigest() if diff else None)
    return state


def library_versions() -> Dict[str, Optional[str]]:
    """Python's version and each library's installed version (None when not installed)."""
    versions: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for module, distributions in LIBRARIES.items():
        versions[module] = None
        for name in distributions:
            try:
                versions[module] = importlib.metadata.version(name)
                break
            except importlib.metadata.PackageNotFoundError:
                continue
    return versions


def cpu() -> Dict[str, Any]:
    """The CPU model and whether it has AVX-512 (float rounding of vectorised kernels depends on it);
    avx512f is None where /proc/cpuinfo does not exist."""
    info: Dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return {"model": info.get("model name") or platform.processor() or platform.machine(),
            "avx512f": "avx512f" in info["flags"].split() if "flags" in info else None}


def tf_devices() -> List[str]:
    """The physical devices TF sees ("CPU:0", "GPU:0", ...); lists them without creating a context."""
    import lunzi.nn as nn
    import tensorflow as tf
    with nn.quiet_stderr():
        devices = tf.config.list_physical_devices()
    return [d.name.replace("/physical_device:", "") for d in devices]


def collect(event: str, argv: Sequence[str]) -> Dict[str, Any]:
    """One provenance entry; `event` is "start" or "resume"."""
    return {"event": event, "time": datetime.datetime.now().isoformat(timespec="seconds"),
            "code": code_state(), "versions": library_versions(), "devices": tf_devices(),
            "host": socket.gethostname(), "cpu": cpu(), "command": [sys.executable, *argv]}


def read(log_dir: str) -> List[Dict[str, Any]]:
    """The entries of `log_dir`'s provenance.json ([] when there is none or it is unreadable)."""
    try:
        with open(os.path.join(log_dir, FILE)) as f:
            entries = json.load(f)
    except (OSError, ValueError):
        return []
    return entries if isinstance(entries, list) else []


def what_makes_numbers(entry: Dict[str, Any]) -> Dict[str, Any]:
    """The fields on which a run's numbers depend: code, library versions, devices and CPU kind."""
    code = entry.get("code") or {}
    fields = {"commit": code.get("commit"), "uncommitted changes": code.get("diff_sha256"),
              "package": code.get("package_version"), "devices": ", ".join(entry.get("devices") or []) or None,
              "CPU": (entry.get("cpu") or {}).get("model"), "avx512f": (entry.get("cpu") or {}).get("avx512f")}
    fields.update(entry.get("versions") or {})
    return fields


def differences(before: Dict[str, Any], now: Dict[str, Any]) -> List[str]:
    """"name: old -> new" for each field of `what_makes_numbers` that differs."""
    old, new = what_makes_numbers(before), what_makes_numbers(now)
    return [f"{k}: {_shown(old.get(k))} -> {_shown(new.get(k))}" for k in dict.fromkeys([*new, *old])
            if old.get(k) != new.get(k)]


def record(log_dir: str, resumed: bool, argv: Sequence[str]) -> List[Dict[str, Any]]:
    """Appends this process's entry to `log_dir`/provenance.json (a fresh run starts the list) and
    returns the list; a resume on other code, versions or CPU kind than the start says so in one line."""
    entries = read(log_dir) if resumed else []
    entry = collect("resume" if resumed else "start", argv)
    if entries:
        changed = differences(entries[0], entry)
        if changed:
            logger.warning("This resume runs on other code, libraries or CPU than the run's start (%s): its "
                           "results are no longer those of an uninterrupted run", "; ".join(changed))
    entries.append(entry)
    from slbo.run.checkpoint import atomic_write  # here: the report reads provenance without TF
    text = (json.dumps(entries, indent=1) + "\n").encode()
    atomic_write(os.path.join(log_dir, FILE), lambda f: f.write(text))
    return entries


def _shown(value: Any) -> str:
    """A field's value for people: commits and hashes shortened to 10 characters."""
    text = str(value)
    return text[:10] if len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text) else text


def mixed(entries: Iterable[Dict[str, Any]]) -> List[str]:
    """"name: a / b" for each field of `what_makes_numbers` on which the entries differ."""
    values: Dict[str, List[Any]] = {}
    for entry in entries:
        for key, value in what_makes_numbers(entry).items():
            if value not in values.setdefault(key, []):
                values[key].append(value)
    return [f"{k}: {' / '.join(_shown(v) for v in vs)}" for k, vs in values.items() if len(vs) > 1]


def _for_people(entry: Dict[str, Any]) -> Dict[str, str]:
    """An entry's fields as the report lists them: code, each library, devices, CPU."""
    fields = what_makes_numbers(entry)
    if fields["commit"]:
        code = f"commit {_shown(fields['commit'])}"
        if fields["uncommitted changes"]:
            code += f" with uncommitted changes (diff sha256 {_shown(fields['uncommitted changes'])})"
    else:
        code = f"package {fields['package']} (no git)"
    avx = {True: ", AVX-512", False: ", no AVX-512", None: ""}[fields["avx512f"]]
    described = {"code": code}
    described.update((k, str(v)) for k, v in (entry.get("versions") or {}).items())
    described.update(devices=str(fields["devices"]), CPU=f"{fields['CPU']}{avx}")
    return described


def describe(runs: Sequence[Sequence[Dict[str, Any]]]) -> List[str]:
    """Markdown list items: each code state, library version, device set and CPU kind found in the
    entries of `runs` (one entry list per run), with the number of runs that used it."""
    counts: Dict[str, Dict[str, int]] = {}
    for entries in runs:
        used: Dict[str, set] = {}
        for entry in entries:
            for key, text in _for_people(entry).items():
                used.setdefault(key, set()).add(text)
        for key, texts in used.items():
            for text in sorted(texts):
                counts.setdefault(key, {})[text] = counts.get(key, {}).get(text, 0) + 1
    lines = [f"- {key}: " + ", ".join(f"{text} ({n} run{'s' * (n > 1)})" for text, n in by_text.items())
             for key, by_text in counts.items()]
    missing = sum(not entries for entries in runs)
    if missing:
        lines.append(f"- no provenance.json: {missing} run{'s' * (missing > 1)} (made before runs recorded it)")
    return lines
