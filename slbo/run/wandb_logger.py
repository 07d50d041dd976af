"""Weights & Biases logging that never stops training: offline without credentials, and every
failure logged and swallowed."""
from __future__ import annotations

import netrc
import os
from typing import Any, Dict, Optional

from lunzi.logger import logger


def has_credentials() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        path = os.environ.get("NETRC", os.path.expanduser("~/.netrc"))
        return any("wandb" in host for host in netrc.netrc(path).hosts)
    except (OSError, netrc.NetrcParseError):
        return False


class WandbLogger:
    """`log` is a no-op until `start` succeeds, and after any wandb error."""

    def __init__(self) -> None:
        self.run: Optional[Any] = None

    def start(self, project: str, group: str, name: str, config: Dict[str, Any], log_dir: str,
              resume_id: Optional[str] = None) -> None:
        """Starts a run, or continues the run `resume_id` of an interrupted training run."""
        mode = os.environ.get("WANDB_MODE") or ("online" if has_credentials() else "offline")
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
        if self.run is None:
            return
        try:
            self.run.log(metrics)
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
