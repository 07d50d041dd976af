"""Writes constraints.txt: the exact version of every package installed in the running Python
environment (except this project and pip's own tools), so that

    pip install -e ".[test]" -c constraints.txt

gives a fresh machine the set of versions the results in docs/ were made with. pyproject.toml
keeps its ranges, for installing into an environment of one's own.

    .venv/bin/python tools/pin_constraints.py [--out constraints.txt]
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import sys
from typing import Dict, Optional, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# This project (installed editable) and the installer's own tools, which pip freeze leaves out too.
LEFT_OUT = {"va-slbo", "pip", "setuptools", "wheel", "distribute"}


def normalise(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> Dict[str, str]:
    """name -> version of every distribution the running interpreter sees (the first one found,
    as imports would), less LEFT_OUT."""
    found: Dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = normalise(dist.metadata["Name"] or "")
        if name and name not in LEFT_OUT:
            found.setdefault(name, dist.version)
    return dict(sorted(found.items()))


def constraints_text(versions: Dict[str, str]) -> str:
    header = (f"# Exact versions of the environment the results in docs/ were made with: Python "
              f"{platform.python_version()}, {platform.system()} {platform.machine()}.\n"
              f"# Install with: pip install -e \".[test]\" -c constraints.txt\n"
              f"# Regenerate from a virtual environment: .venv/bin/python tools/pin_constraints.py\n")
    return header + "".join(f"{name}=={version}\n" for name, version in versions.items())


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Pin the running environment's packages into a constraints file.")
    parser.add_argument("--out", default=os.path.join(ROOT, "constraints.txt"), help="default: constraints.txt")
    args = parser.parse_args(argv)
    versions = installed()
    with open(args.out, "w") as f:
        f.write(constraints_text(versions))
    print(f"wrote {args.out}: {len(versions)} packages pinned ({sys.executable})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
