"""Faults that end a run cleanly: a termination signal, a non-finite number, or a file of the
run that cannot be written (disk full, file-size limit, a read-only directory)."""
from __future__ import annotations

import contextlib
import signal
from typing import Any, Iterator, Optional

import numpy as np

from lunzi.logger import FileSink


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived; the run exits with 128 + signum. A BaseException, like
    KeyboardInterrupt, so that no library's `except Exception` swallows it (wandb's console capture
    does, when the signal lands in a print)."""

    def __init__(self, signum: int):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class NumericalError(Exception):
    """A NaN or inf in a loss, gradient, observation or return (one-line message)."""


class WriteError(Exception):
    """Writing (or removing) a file of the run failed; the message names the file and the reason."""

    def __init__(self, path: str, error: OSError, action: str = "write"):
        super().__init__(f"cannot {action} {path}: {error.strerror or error}")
        self.path = path


@contextlib.contextmanager
def writing(path: str, action: str = "write") -> Iterator[None]:
    """An OSError inside becomes a WriteError naming `path` (a failed write() does not name its file)."""
    try:
        yield
    except OSError as e:
        raise WriteError(path, e, action) from e


class RunLog(FileSink):
    """log.json, whose failed writes are WriteErrors."""

    def write(self, *args: Any) -> None:
        with writing(self.path):
            super().write(*args)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # after a failed write the file's buffer still holds that line
            super().close()


def check_finite(quantity: str, value: Any, where: str) -> None:
    if not np.all(np.isfinite(value)):
        raise NumericalError(f"non-finite {quantity} at {where}")


class SignalGuard:
    """SIGTERM/SIGINT raise Interrupted at once, except inside `critical()` (checkpoint writes),
    where the signal is held until the write is complete."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._depth = 0
        self._pending: Optional[int] = None
        self._previous = {}

    def __enter__(self) -> "SignalGuard":
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        if self._depth:
            self._pending = signum
        else:
            raise Interrupted(signum)

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._pending is not None:
                signum, self._pending = self._pending, None
                raise Interrupted(signum)
