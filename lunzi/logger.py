"""Logger with a coloured stdout sink and a JSON-lines file sink (log.json)."""
from __future__ import annotations

import datetime
import json
import os
import sys
from typing import Any, Dict, List, Optional, TextIO

import numpy as np

_COLOURS = {"green": 32, "yellow": 33, "cyan": 36, "red": 31}


def colour_enabled(stream: TextIO) -> bool:
    """Colour codes only on a terminal, and not when NO_COLOR is set (no-color.org; a wandb run sets
    it, as wandb copies the console into its output.log)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def _colour(text: str, colour: str, enabled: bool) -> str:
    return f"\033[{_COLOURS[colour]}m{text}\033[0m" if enabled else text


def _jsonable(value: Any) -> Any:
    """Plain JSON values; a non-finite number becomes its string ("nan", "inf"), as JSON has none."""
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        value = value.item()
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


TIME_FORMAT = "%Y-%m-%d %H:%M:%S,%f"  # the "time" of every record


def _now() -> str:
    return datetime.datetime.now().strftime(TIME_FORMAT)


class StdoutSink:
    def __init__(self, stream: TextIO = sys.stdout):
        self.stream = stream

    def write(self, level: str, message: str, caller: str, record: Dict[str, Any]) -> None:
        if level == "metrics":
            return
        colour = colour_enabled(self.stream)
        if level == "warning":
            message = _colour(message, "yellow", colour)
        print(f"{_colour(_now(), 'green', colour)} - {_colour(caller, 'cyan', colour)} - {message}",
              file=self.stream, flush=True)


class FileSink:
    """One JSON object per line: messages with their level, and metric records."""

    def __init__(self, path: str, mode: str = "a"):
        self.path = path
        self.file = open(path, mode)

    def write(self, level: str, message: str, caller: str, record: Dict[str, Any]) -> None:
        line = {"time": _now(), "level": level, "caller": caller, **record}
        if level != "metrics":
            line["message"] = message
        self.file.write(json.dumps(_jsonable(line)) + "\n")
        self.file.flush()

    def offset(self) -> int:
        """Bytes written so far (a resumed run cuts log.json back to this)."""
        self.file.flush()
        return self.file.tell()

    def close(self) -> None:
        self.file.close()


class Logger:
    def __init__(self):
        self.sinks: List[Any] = [StdoutSink()]

    def add_sink(self, sink: Any) -> None:
        self.sinks.append(sink)

    def remove_sink(self, sink: Any) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)
            if hasattr(sink, "close"):
                sink.close()

    @staticmethod
    def _caller() -> str:
        frame = sys._getframe(3)
        return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"

    def _emit(self, level: str, fmt: str, args: tuple, record: Optional[Dict[str, Any]] = None) -> None:
        message = fmt % args if args else fmt
        caller = self._caller()
        for sink in self.sinks:
            sink.write(level, message, caller, record or {})

    def info(self, fmt: str, *args: Any) -> None:
        self._emit("info", fmt, args)

    def warning(self, fmt: str, *args: Any) -> None:
        self._emit("warning", fmt, args)

    def metrics(self, tag: str, values: Dict[str, Any]) -> None:
        """Writes a metric record (to log.json only): {"level": "metrics", "tag": tag, "metrics": {...}}."""
        self._emit("metrics", "", (), {"tag": tag, "metrics": dict(values)})


logger = Logger()
