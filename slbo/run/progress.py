"""A one-line-per-stage progress display for a run: stage T/N, real steps, last return, ETA.
Stages are numbered 0..N-1 here as everywhere (log, checkpoints, `sweep --list`): "stage 3/8" is
the fourth of eight stages, starting with three done.

It writes only to a terminal (stderr by default) and never to log.json, so log files, CI logs and
the stdout.log of sweep runs stay as they are.
"""
from __future__ import annotations

import math
import sys
import time
from typing import Callable, List, Optional, TextIO

from lunzi.logger import colour_enabled

BOLD, RESET = "\033[1m", "\033[0m"


def format_duration(seconds: float) -> str:
    """H:MM:SS, hours unbounded."""
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class StageProgress:
    """Call `stage(T, cum_steps, last_return)` at the start of each stage and `finish(...)` after the last.

    The ETA assumes the remaining stages take as long as those run by this process (a resumed run
    does not count the stages an earlier process ran)."""

    def __init__(self, n_stages: int, stream: Optional[TextIO] = None, enabled: Optional[bool] = None,
                 clock: Callable[[], float] = time.monotonic):
        self.n_stages = n_stages
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self._is_tty() if enabled is None else enabled
        self.clock = clock
        self.start: Optional[float] = None
        self.first_stage = 0

    def _is_tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def _parts(self, stage: int, cum_steps: int, last_return: float) -> List[str]:
        now = self.clock()
        if self.start is None:
            self.start, self.first_stage = now, stage
        elapsed = now - self.start
        done = stage - self.first_stage
        eta = format_duration(elapsed / done * (self.n_stages - stage)) if done > 0 else "--"
        ret = f"{last_return:.1f}" if isinstance(last_return, (int, float)) and math.isfinite(last_return) else "n/a"
        return [f"stage {stage}/{self.n_stages}", f"real steps {cum_steps:,}",
                f"last return {ret}", f"elapsed {format_duration(elapsed)}", f"ETA {eta}"]

    def stage(self, stage: int, cum_steps: int, last_return: float) -> None:
        """At the start of stage `stage` (0-based): `cum_steps` real steps so far, `last_return` just evaluated."""
        self._write(" | ".join(self._parts(stage, cum_steps, last_return)))

    def finish(self, cum_steps: int, last_return: float) -> None:
        """After the last stage, with the final evaluation."""
        parts = self._parts(self.n_stages, cum_steps, last_return)
        self._write(" | ".join([f"done {self.n_stages}/{self.n_stages} stages", *parts[1:4]]))

    def _write(self, text: str) -> None:
        if self.enabled:
            bold = colour_enabled(self.stream)
            self.stream.write(f"{BOLD if bold else ''}[progress] {text}{RESET if bold else ''}\n")
            self.stream.flush()
