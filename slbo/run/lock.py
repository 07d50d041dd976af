"""One process per log_dir: an exclusive flock on log_dir/run.lock, held for the whole run.

The kernel drops the lock when its holder ends, however it ends (SIGKILL included), so a killed run
can be resumed at once; the file stays, and names the last holder."""
from __future__ import annotations

import fcntl
import os
import socket
import time
from typing import Any, Optional

from lunzi.config import ConfigError

LOCK_FILE = "run.lock"


def _holder(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode(errors="replace").strip()
    return text or "another process (which has not written its pid yet)"


class RunLock:
    """Creates log_dir and locks it, or raises ConfigError naming the process that holds it."""

    def __init__(self, log_dir: str):
        self._fd: Optional[int] = None
        os.makedirs(log_dir, exist_ok=True)
        self.path = os.path.join(log_dir, LOCK_FILE)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(self._fd)
            self.release()
            raise ConfigError(f"log_dir {log_dir} is in use by {holder} (lock {self.path}); wait for that run "
                              f"to end or stop it, or use another log_dir") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                            f"{time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n".encode(), 0)

    def release(self) -> None:
        """Closing the file releases the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __del__(self) -> None:  # a lock dropped without release (an exception before `with`) still goes
        self.release()


def lock_holder(log_dir: str) -> Optional[str]:
    """Who holds log_dir's lock (e.g. 'pid 12 on host since ...'), or None; creates nothing."""
    path = os.path.join(log_dir, LOCK_FILE)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # taken and dropped at once: only a held lock refuses it
        return None
    except BlockingIOError:
        return _holder(fd)
    finally:
        os.close(fd)
