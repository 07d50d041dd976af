"""FLAGS trees: nested classes of typed defaults, filled from YAML files and `--set` items.

`parse(FLAGS, argv)` merges `--config` files in order, then `--set key.sub=value` items in
order. Values are parsed as YAML and coerced to the type of the flag's default (or of its
annotation when the default is None). `freeze(FLAGS)` runs every group's `finalize` (derived
values, validation) and forbids later assignment.
"""
from __future__ import annotations

import argparse
import difflib
import functools
import math
import os
import sys
import typing
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import yaml

from lunzi.flag_help import HelpAction


class ConfigError(Exception):
    """A bad configuration: the message is one line saying what is wrong and what is valid."""


def expand(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def one_of(name: str, value: Any, valid: Sequence[Any]) -> None:
    if value not in valid:
        raise ConfigError(f"{name}={value!r} is not valid; valid values: {', '.join(map(str, valid))}")


def flatten(tree: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}: nested flag dicts keyed by dotted paths."""
    out: Dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def nearest(word: str, candidates: Sequence[str], n: int = 3, cutoff: float = 0.0) -> List[str]:
    return difflib.get_close_matches(word, candidates, n=n, cutoff=cutoff)


class MetaFLAGS(type):
    _frozen = False

    def __setattr__(cls, key: str, value: Any) -> None:
        if cls._frozen:
            raise AttributeError(f"FLAGS are frozen after parsing; cannot set {key}")
        super().__setattr__(key, value)

    def keys(cls) -> List[str]:
        return [k for k, v in vars(cls).items()
                if not k.startswith("_") and not isinstance(v, (classmethod, staticmethod))
                and not callable(v) or isinstance(v, MetaFLAGS)]

    def __iter__(cls) -> Iterator[Tuple[str, Any]]:
        for key in cls.keys():
            value = getattr(cls, key)
            yield key, (value.as_dict() if isinstance(value, MetaFLAGS) else value)

    def as_dict(cls) -> Dict[str, Any]:
        return dict(iter(cls))

    def _path(cls) -> str:
        return getattr(cls, "_prefix", "")

    def _full(cls, key: str) -> str:
        return f"{cls._path()}.{key}" if cls._path() else key

    def leaves(cls) -> List[str]:
        """Dotted names of every flag in this tree."""
        return [cls._full(k) for k in flatten(cls.as_dict())]

    def _check_key(cls, key: str) -> None:
        if key not in cls.keys():
            names = [cls._full(k) for k in cls.keys()]
            hint = nearest(cls._full(key), names)
            if not cls._path():  # a top-level miss may name a flag of a group: `lr` -> model.lr, PPO.lr, ...
                leaves = {name: name.rsplit(".", 1)[-1] for name in cls.leaves()}
                close = nearest(key, sorted(set(leaves.values())), cutoff=0.8)
                hint = [name for word in close for name, leaf in leaves.items() if leaf == word] or hint
            raise ConfigError(f"unknown flag '{cls._full(key)}'; nearest valid keys: {', '.join(hint[:5])}")

    def merge(cls, other: Dict[str, Any]) -> None:
        if not isinstance(other, dict):
            raise ConfigError(f"'{cls._path() or 'config'}' must be a mapping of flags, got {other!r}")
        for key, value in other.items():
            cls.set_value(str(key).split("."), value)  # a dotted key means what it means in --set

    def set_value(cls, path: List[str], value: Any) -> None:
        key, *rest = path
        cls._check_key(key)
        current = getattr(cls, key)
        if isinstance(current, MetaFLAGS):
            if rest:
                current.set_value(rest, value)
            elif isinstance(value, dict):
                current.merge(value)
            else:
                raise ConfigError(f"'{cls._full(key)}' is a group of flags "
                                  f"({', '.join(current.keys())}); set one of them, e.g. {cls._full(key)}.{current.keys()[0]}=...")
            return
        if rest:
            raise ConfigError(f"'{cls._full(key)}' is a flag, not a group; cannot set {'.'.join([cls._full(key), *rest])}")
        annotation = typing.get_type_hints(cls).get(key)
        setattr(cls, key, coerce(cls._full(key), value, current, annotation))

    def freeze(cls) -> None:
        for key in cls.keys():
            value = getattr(cls, key)
            if isinstance(value, MetaFLAGS):
                value.freeze()
        cls.finalize()
        type.__setattr__(cls, "_frozen", True)


class BaseFLAGS(metaclass=MetaFLAGS):
    @classmethod
    def finalize(cls) -> None:
        """Computes derived values and validates; runs once, children first."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for key, value in vars(cls).items():
            if isinstance(value, MetaFLAGS):
                type.__setattr__(value, "_prefix", key if not cls._path() else f"{cls._path()}.{key}")


def _expected_type(default: Any, annotation: Any) -> Optional[type]:
    if annotation is not None:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if args else annotation
    return None if default is None else type(default)


def coerce(name: str, value: Any, default: Any, annotation: Any = None) -> Any:
    """Converts a YAML value to the type of the flag's default; raises ConfigError if it can't."""
    expected = _expected_type(default, annotation)
    if value is None or expected is None:
        if value is None and default is not None and annotation is None:
            raise ConfigError(f"{name} must be a {type(default).__name__}, got null")
        return value
    article = "an" if expected.__name__[0] in "aeiou" else "a"
    bad = ConfigError(f"{name} must be {article} {expected.__name__}, got {value!r}")
    if expected is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise bad
    if expected is int:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise bad from None
        raise bad
    if expected is float:
        if isinstance(value, bool):
            raise bad
        try:
            result = float(value)
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(result):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
        return result
    if expected is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad
    if expected is list:
        if not isinstance(value, list):
            raise bad
        if default:
            return [coerce(f"{name}[{i}]", v, default[0]) for i, v in enumerate(value)]
        return list(value)
    return value


USAGE = "slbo/main.py [--config A.yml ...] [--set key.sub=value ...] [--help]"


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises ConfigError ("what was wrong; usage: `usage_line`") instead of printing
    and exiting, so that every command reports bad input the same way: one line, exit code 2."""

    def __init__(self, *args: Any, usage_line: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.usage_line = usage_line

    def error(self, message: str) -> typing.NoReturn:
        raise ConfigError(f"{message}; usage: {self.usage_line}")


def command(main: Callable[..., None]) -> Callable[..., int]:
    """A command's main function, returning its exit code: 0, or 2 with one line "error: ..." on stderr
    when it raised ConfigError (bad input)."""
    @functools.wraps(main)
    def run(*args: Any, **kwargs: Any) -> int:
        try:
            main(*args, **kwargs)
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0
    return run


def load_yaml(path: str) -> Dict[str, Any]:
    full = expand(path)
    if not os.path.exists(full):
        raise ConfigError(f"config file not found: {path}")
    if not os.path.isfile(full):
        raise ConfigError(f"config path is not a file: {path}")
    try:
        with open(full) as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"malformed YAML in config file {path}{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of flags, got {type(data).__name__}")
    return data


def parse(cls: MetaFLAGS, argv: Optional[Sequence[str]] = None) -> None:
    """Applies `--config` files then `--set` items from argv to the FLAGS tree `cls`."""
    parser = ArgumentParser(prog="slbo/main.py", description="Stochastic Lower Bound Optimization", add_help=False,
                            usage_line=USAGE)
    parser.add_argument("-h", "--help", action=HelpAction, flags=cls, usage=USAGE)
    parser.add_argument("-c", "--config", nargs="+", action="append", default=[], help="YAML config files")
    parser.add_argument("-s", "--set", nargs="*", action="append", default=[], help="key.sub=value overrides")
    args = parser.parse_args(argv)
    for path in sum(args.config, []):
        cls.merge(load_yaml(path))
    for item in sum(args.set, []):
        if "=" not in item:
            raise ConfigError(f"--set item {item!r} must look like key.sub=value")
        path, value = item.split("=", 1)
        if not value.strip():
            raise ConfigError(f"--set item {item!r} has no value; give one (key=null for none)")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError:
            parsed = value
        cls.set_value(path.strip().split("."), parsed)
