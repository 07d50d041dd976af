"""Writes constraints.txt: the exact version of every package installed in the running Python
environment (except this project and pip's own tools), so that

    pip install -e ".[test]" -c constraints.txt

gives a fresh machine the set of versions the results in docs/ were made with. pyproject.toml
keeps its ranges, for installing into an environment of one's own. A pin whose release does not
support every Python version the project does (pyproject's requires-python) holds only for the
versions it supports; on the others pip chooses that package's version freely.

    .venv/bin/python tools/pin_constraints.py [--out constraints.txt]
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import sys
from typing import Dict, List, Optional, Sequence

from packaging.specifiers import SpecifierSet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This project (installed editable) and the installer's own tools, which pip freeze leaves out too.
LEFT_OUT = {"va-slbo", "pip", "setuptools", "wheel", "distribute"}


def normalise(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def supported_pythons() -> List[str]:
    """The Python minor versions pyproject.toml's requires-python admits, e.g. ["3.10", "3.11", "3.12"]."""
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        spec = SpecifierSet(re.search(r'^requires-python\s*=\s*"([^"]+)"', f.read(), re.M).group(1))
    return [f"3.{minor}" for minor in range(6, 20) if spec.contains(f"3.{minor}.0")]


def installed() -> Dict[str, str]:
    """name -> pin of every distribution the running interpreter sees (the first one found, as
    imports would), less LEFT_OUT: "name==version", with a marker for the Python versions it
    supports when that is not all of the project's."""
    pythons = supported_pythons()
    found: Dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = normalise(dist.metadata["Name"] or "")
        if not name or name in LEFT_OUT or name in found:
            continue
        found[name] = f"{name}=={dist.version}"
        requires = SpecifierSet(dist.metadata["Requires-Python"] or "")
        usable = [v for v in pythons if requires.contains(f"{v}.0")]
        if usable != pythons:
            found[name] += " ; " + " or ".join(f'python_version == "{v}"' for v in usable)
    return dict(sorted(found.items()))


def constraints_text(pins: Dict[str, str]) -> str:
    header = (f"# Exact versions of the environment the results in docs/ were made with: Python "
              f"{platform.python_version()}, {platform.system()} {platform.machine()}.\n"
              f"# Install with: pip install -e \".[test]\" -c constraints.txt\n"
              f"# Regenerate from a virtual environment: .venv/bin/python tools/pin_constraints.py\n")
    return header + "".join(f"{pin}\n" for pin in pins.values())


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Pin the running environment's packages into a constraints file.")
    parser.add_argument("--out", default=os.path.join(ROOT, "constraints.txt"), help="default: constraints.txt")
    args = parser.parse_args(argv)
    pins = installed()
    with open(args.out, "w") as f:
        f.write(constraints_text(pins))
    print(f"wrote {args.out}: {len(pins)} packages pinned ({sys.executable})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
