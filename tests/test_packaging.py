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
