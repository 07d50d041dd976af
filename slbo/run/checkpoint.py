"""Checkpoints as .npz files of flat {"<module>/<param path>": array}; written atomically."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Dict

import numpy as np

import lunzi.nn as nn
from slbo.run.faults import writing


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str, write) -> None:
    """Calls write(file) on a temporary file beside `path`, then renames it over `path`: a write
    that fails (WriteError naming `path`) or is killed half-way leaves the previous `path` as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    with writing(path):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
        try:
            os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp's 0600 would hide the file from colleagues
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):  # the error that matters is the one being raised
                os.unlink(tmp)
            raise


def save_arrays(path: str, arrays: Dict[str, np.ndarray]) -> None:
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_arrays(path: str) -> Dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def save_modules(path: str, modules: Dict[str, nn.Module]) -> None:
    arrays = {f"{name}/{key}": value for name, module in modules.items()
              for key, value in module.state_dict().items()}
    save_arrays(path, arrays)


def load_module(path: str, name: str, module: nn.Module) -> None:
    """Loads the entries `<name>/...` of the checkpoint at `path` into `module`."""
    prefix = f"{name}/"
    state = {k[len(prefix):]: v for k, v in load_arrays(path).items() if k.startswith(prefix)}
    if not state:
        raise ValueError(f"{path} holds no '{name}' parameters")
    module.load_state_dict(state)
