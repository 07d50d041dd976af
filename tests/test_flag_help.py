"""`python slbo/main.py --help`: every flag with its default and its meaning, read from the comments
beside the flags in slbo/utils/flags.py."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

from lunzi.flag_help import describe_flags, render_value
from slbo.utils.flags import make_flags
from tests.conftest import ROOT

EXAMPLE = '''
from lunzi.config import BaseFLAGS


class FLAGS(BaseFLAGS):
    lr = 0.1  # the step size
    # the batch size,
    # over two lines
    batch = 32
    silent = "x"

    class group(BaseFLAGS):  # a group
        depth = 2  # how deep

        @classmethod
        def finalize(cls) -> None:
            cls.depth = 3  # a comment in code is no flag's
'''


def test_every_flag_has_a_meaning():
    docs = [doc for doc in describe_flags(make_flags()) if not doc.is_group]
    assert len(docs) > 60
    missing = [doc.key for doc in docs if not doc.meaning]
    assert missing == [], f"flags without a comment in slbo/utils/flags.py: {missing}"


def test_help_lists_every_flag_with_default_and_meaning():
    result = subprocess.run([sys.executable, "slbo/main.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stderr == ""
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line and not line.startswith(" ")}
    for doc in describe_flags(make_flags()):
        if not doc.is_group:
            pattern = rf"{re.escape(doc.key)} +{re.escape(render_value(doc.default))} +{re.escape(doc.meaning)}"
            assert re.fullmatch(pattern, lines[doc.key]), lines[doc.key]
    assert re.fullmatch(r"seed +100 +seeds numpy, .*; 0: draw one from os.urandom", lines["seed"])
    assert re.match(r"model.hidden_sizes +\[500, 500\] +hidden layers", lines["model.hidden_sizes"])
    assert "--config" in result.stdout and "--set" in result.stdout


def test_meanings_come_from_the_comment_on_the_line_or_just_above(tmp_path):
    path = tmp_path / "example_flags.py"
    path.write_text(EXAMPLE)
    spec = importlib.util.spec_from_file_location("example_flags", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["example_flags"] = module
    try:
        spec.loader.exec_module(module)
        docs = {doc.key: doc for doc in describe_flags(module.FLAGS)}
    finally:
        del sys.modules["example_flags"]
    assert docs["lr"].meaning == "the step size" and docs["lr"].default == 0.1
    assert docs["batch"].meaning == "the batch size, over two lines"
    assert docs["silent"].meaning == ""  # what test_every_flag_has_a_meaning catches
    assert docs["group"].is_group and docs["group"].meaning == "a group"
    assert docs["group.depth"].meaning == "how deep"
    assert list(docs) == ["lr", "batch", "silent", "group", "group.depth"]
