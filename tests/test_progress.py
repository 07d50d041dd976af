"""The per-stage progress line: written to a terminal only, with stage T/N (0-based), real steps, return and ETA."""
from __future__ import annotations

import io
import os

from slbo.run.progress import StageProgress


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def read_all(master: int) -> str:
    """What was written to the terminal, once its other side is closed (bounded: 1000 reads)."""
    chunks = []
    for _ in range(1000):
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side is closed and everything has been read
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_terminal_gets_one_line_per_stage_with_eta():
    master, slave = os.openpty()
    clock = Clock()
    try:
        with open(slave, "w", closefd=True) as tty:
            progress = StageProgress(10, tty, clock=clock)
            assert progress.enabled
            progress.stage(0, 0, -20.0)
            clock.now += 30
            progress.stage(1, 5000, float("nan"))
            clock.now += 90  # 2 stages in 120 s: 8 more take 480 s
            progress.stage(2, 10000, 1234.56)
            clock.now += 7 * 60 * 60
            progress.finish(50000, 2000.0)
        text = read_all(master)
    finally:
        os.close(master)
    lines = [line for line in text.replace("\r", "").split("\n") if line]
    assert len(lines) == 4
    assert "stage 0/10 | real steps 0 | last return -20.0 | elapsed 0:00:00 | ETA --" in lines[0]
    assert "stage 1/10 | real steps 5,000 | last return n/a | elapsed 0:00:30 | ETA 0:04:30" in lines[1]
    assert "stage 2/10 | real steps 10,000 | last return 1234.6 | elapsed 0:02:00 | ETA 0:08:00" in lines[2]
    assert "done 10/10 stages | real steps 50,000 | last return 2000.0 | elapsed 7:02:00" in lines[3]


def test_eta_of_a_resumed_run_counts_only_its_own_stages():
    clock = Clock()
    out = io.StringIO()
    progress = StageProgress(100, out, enabled=True, clock=clock)
    progress.stage(90, 900000, 1.0)
    clock.now += 60
    progress.stage(91, 910000, 1.0)
    assert "stage 91/100" in out.getvalue() and "ETA 0:09:00" in out.getvalue()


def test_nothing_is_written_when_not_a_terminal(tmp_path):
    with open(tmp_path / "log", "w") as f:
        progress = StageProgress(3, f)
        assert not progress.enabled
        for stage in range(3):
            progress.stage(stage, stage * 100, 1.0)
        progress.finish(300, 2.0)
    assert (tmp_path / "log").read_text() == ""
    read, write = os.pipe()
    with open(write, "w") as pipe:
        StageProgress(3, pipe).stage(0, 0, 1.0)
    with open(read) as pipe:
        assert pipe.read() == ""
