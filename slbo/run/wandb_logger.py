"""Weights & Biases logging that never stops training: offline without credentials or without a
connection to the wandb server, and every failure logged and swallowed."""
from __future__ import annotations

import netrc
import os
import socket
import urllib.parse
from typing import Any, Dict, Optional

from lunzi.logger import logger

DEFAULT_BASE_URL = "https://api.wandb.ai"


def has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        path = os.environ.get("NETRC", os.path.expanduser("~/.netrc"))
        return any("wandb" in host for host in netrc.netrc(path).hosts)
    except (OSError, netrc.NetrcParseError):
        return False


def unreachable(base_url: str, timeout: float = 5.0) -> Optional[str]:
    """Why the wandb server cannot be reached, or None. (wandb.init online would wait ~90 s and give up.)"""
    url = urllib.parse.urlsplit(base_url)
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except (OSError, ValueError) as e:
        return getattr(e, "strerror", None) or str(e) or type(e).__name__
    return None


def choose_mode() -> str:
    """WANDB_MODE if set; else online with credentials and a connection, offline otherwise."""
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if not has_credentials():
        return "offline"
    base_url = os.environ.get("WANDB_BASE_URL", DEFAULT_BASE_URL)
    reason = unreachable(base_url)
    if reason is not None:
        logger.warning("wandb: cannot reach %s (%s); logging offline instead (upload later with wandb sync)",
                       base_url, reason)
        return "offline"
    return "online"


class WandbLogger:
    """`log` is a no-op until `start` succeeds, and after any wandb error.

    Every `log` call is one history step, numbered explicitly from `step` (saved in the resume
    checkpoint), so a resumed run continues its steps, offline too (where wandb itself would start
    again at 0). A stage logged again after a resume has the steps, and the values, it had before."""

    def __init__(self, step: int = 0) -> None:
        self.run: Optional[Any] = None
        self.step = step

    def start(self, project: str, group: str, name: str, config: Dict[str, Any], log_dir: str,
              resume_id: Optional[str] = None) -> None:
        """Starts a run, or continues the run `resume_id` of an interrupted training run."""
        mode = choose_mode()
        os.environ["NO_COLOR"] = "1"  # wandb copies the console into files/output.log: no colour codes there
        try:
            import wandb
            self.run = wandb.init(project=project, group=group, name=name, config=config, dir=log_dir,
                                  mode=mode, reinit="finish_previous", id=resume_id,
                                  resume="allow" if resume_id else None)
            logger.info("wandb run %s (%s) in project %s, group %s", name, mode, project, group)
        except Exception as e:  # wandb must never stop training
            logger.warning("wandb disabled: %s: %s", type(e).__name__, e)
            self.run = None

    @property
    def run_id(self) -> Optional[str]:
        return None if self.run is None else self.run.id

    def log(self, metrics: Dict[str, Any]) -> None:
        step, self.step = self.step, self.step + 1
        if self.run is None:
            return
        try:
            self.run.log(metrics, step=step, commit=True)  # each call is a row of its own
        except Exception as e:
            logger.warning("wandb logging failed, disabling it: %s: %s", type(e).__name__, e)
            self.run = None

    def log_video(self, key: str, path: str, caption: str) -> None:
        """Logs the video file at `path` (wandb copies it into the run); a failure is a warning."""
        if self.run is None:
            return
        try:
            import wandb
            self.run.log({key: wandb.Video(path, caption=caption, format=os.path.splitext(path)[1][1:])})
        except Exception as e:
            logger.warning("wandb video logging failed: %s: %s", type(e).__name__, e)

    def finish(self) -> None:
        if self.run is None:
            return
        try:
            self.run.finish()
        except Exception as e:
            logger.warning("wandb finish failed: %s: %s", type(e).__name__, e)
        self.run = None
