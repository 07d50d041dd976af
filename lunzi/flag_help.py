"""`--help` for a FLAGS tree: every flag with its default and its meaning, the meaning being the
comment written beside the flag in the source (on its line, else on the lines just above it), so
the list cannot drift from the code. A group's meaning is the comment on its `class` line."""
from __future__ import annotations

import argparse
import ast
import inspect
import io
import tokenize
from typing import Any, Dict, List, NamedTuple, NoReturn, Optional, Sequence

import yaml


class FlagDoc(NamedTuple):
    key: str  # dotted path, e.g. model.lr
    default: Any
    meaning: str
    is_group: bool


def _comments(source: str) -> Dict[int, str]:
    """{line number: comment text} of every comment in `source`."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {tok.start[0]: tok.string.lstrip("#").strip() for tok in tokens if tok.type == tokenize.COMMENT}


def _meaning(node: ast.stmt, comments: Dict[int, str], lines: Sequence[str]) -> str:
    """The comment on the statement's first line, else the comment-only lines just above it."""
    if node.lineno in comments:
        return comments[node.lineno]
    above: List[str] = []
    line = node.lineno - 1
    while line >= 1 and line in comments and lines[line - 1].lstrip().startswith("#"):
        above.insert(0, comments[line])
        line -= 1
    return " ".join(above)


def _find_class(tree: ast.AST, name: str) -> Optional[ast.ClassDef]:
    return next((node for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == name), None)


def render_value(value: Any) -> str:
    """A value as it is written in YAML and in `--set key=value`."""
    text = yaml.safe_dump(value, default_flow_style=True, width=1 << 30).strip()
    return text[:-3].strip() if text.endswith("\n...") else text


def describe_flags(cls: Any) -> List[FlagDoc]:
    """Every flag and group of the FLAGS tree `cls`, in source order, with its current value."""
    source = inspect.getsource(inspect.getmodule(cls))
    comments, lines = _comments(source), source.splitlines()
    root = _find_class(ast.parse(source), cls.__name__)
    docs: List[FlagDoc] = []

    def visit(group: Any, node: Optional[ast.ClassDef], prefix: str) -> None:
        statements: Dict[str, ast.stmt] = {}
        for stmt in node.body if node is not None else []:
            if isinstance(stmt, ast.ClassDef):
                statements[stmt.name] = stmt
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                statements[stmt.target.id] = stmt
            elif isinstance(stmt, ast.Assign):
                statements.update((t.id, stmt) for t in stmt.targets if isinstance(t, ast.Name))
        for key in group.keys():
            value, stmt = getattr(group, key), statements.get(key)
            meaning = _meaning(stmt, comments, lines) if stmt is not None else ""
            if isinstance(value, type):
                docs.append(FlagDoc(prefix + key, None, meaning, True))
                visit(value, stmt if isinstance(stmt, ast.ClassDef) else None, f"{prefix}{key}.")
            else:
                docs.append(FlagDoc(prefix + key, value, meaning, False))

    visit(cls, root, "")
    return docs


def help_text(cls: Any, usage: str) -> str:
    docs = describe_flags(cls)
    width = max(len(doc.key) for doc in docs) + 2
    value_width = min(max(len(render_value(doc.default)) for doc in docs if not doc.is_group), 16) + 2
    out = [f"usage: {usage}", "",
           "Flags start at the defaults below; --config files are merged over them in order, then the --set",
           "items are applied in order (values are YAML, converted to the flag's type).", "",
           "  -c, --config A.yml ...      YAML config files",
           "  -s, --set key.sub=value ... flag values",
           "  -h, --help                  print this list and exit", "",
           f"{'flag'.ljust(width)}{'default'.ljust(value_width)}meaning"]
    for doc in docs:
        if doc.is_group:
            out.append(f"{doc.key}:" + (f"  ({doc.meaning})" if doc.meaning else ""))
            continue
        value = render_value(doc.default)
        pad = value_width if len(value) < value_width else len(value) + 2
        out.append(f"{doc.key.ljust(width)}{value.ljust(pad)}{doc.meaning}")
    return "\n".join(out)


class HelpAction(argparse.Action):
    """`-h/--help`: prints `help_text` of the FLAGS tree given as `flags` and exits 0."""

    def __init__(self, option_strings: Sequence[str], dest: str, flags: Any, usage: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)
        self.flags, self.flag_usage = flags, usage

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> NoReturn:
        print(help_text(self.flags, self.flag_usage))
        parser.exit()
