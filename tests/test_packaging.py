"""The requirement files and the conda environment agree with pyproject.toml."""
from __future__ import annotations

import os
import re

import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from tests.conftest import ROOT


def requirements(path: str) -> set:
    with open(os.path.join(ROOT, path)) as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def normalise(spec: str) -> str:
    return re.sub(r"\s+", "", spec).lower()


def test_requirement_files_match_pyproject():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    deps = {normalise(d) for d in project["dependencies"]}
    files = {normalise(d) for d in requirements("va_slbo_requirements.txt") | requirements("rllab_requirements.txt")}
    assert files == deps
    with open(os.path.join(ROOT, "va_slbo.yaml")) as f:
        conda = yaml.safe_load(f)
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert deps <= {normalise(d) for d in pip_section}
    python = next(d for d in conda["dependencies"] if isinstance(d, str) and d.startswith("python="))
    minor = int(python.split("=")[1].split(".")[1])
    assert project["requires-python"] == ">=3.10,<3.13" and 10 <= minor <= 12
    assert "gpu" in project["optional-dependencies"]


def pins(path: str) -> dict:
    """name -> version of a constraints file's `name==version [; marker]` lines whose marker holds here."""
    from packaging.requirements import Requirement

    with open(path) as f:
        requirements = [Requirement(line.strip()) for line in f if line.strip() and not line.startswith("#")]
    return {r.name: str(r.specifier).lstrip("=") for r in requirements if r.marker is None or r.marker.evaluate()}


def test_constraints_pin_every_requirement_within_its_range():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    pinned = pins(os.path.join(ROOT, "constraints.txt"))
    extras = project["optional-dependencies"]
    for spec in project["dependencies"] + extras["test"] + extras["sweep"] + extras["report"]:
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # e.g. tomli, for Python 3.10 only
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not pinned"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} is outside {requirement}"


def test_set_up_commands_install_with_the_constraints():
    with open(os.path.join(ROOT, "README.md")) as f:
        commands = [line for line in f if line.startswith("python3 -m venv .venv")]
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        commands += [line for line in f if ".venv/bin/pip install" in line]
    assert len(commands) == 3
    assert all(re.search(r'pip install (-q )?-e "\.\[test\]" -c constraints\.txt ', line) for line in commands)


def test_pin_script_writes_the_running_environment(tmp_path):
    import subprocess
    import sys

    import numpy
    import yaml as pyyaml

    out = tmp_path / "constraints.txt"
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "pin_constraints.py"), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    written = pins(str(out))
    assert written["numpy"] == numpy.__version__ and written["pyyaml"] == pyyaml.__version__
    assert not {"va-slbo", "pip", "setuptools"} & set(written)
    assert list(written) == sorted(written)
    # A pin carries a marker exactly when its release leaves out one of the project's Pythons (3.10-3.12).
    from importlib.metadata import metadata
    from packaging.requirements import Requirement
    from packaging.specifiers import SpecifierSet

    for line in out.read_text().splitlines()[3:]:
        requirement = Requirement(line)
        requires = SpecifierSet(metadata(requirement.name)["Requires-Python"] or "")
        supports_all = all(requires.contains(f"3.{minor}.0") for minor in (10, 11, 12))
        assert (requirement.marker is None) == supports_all, line
