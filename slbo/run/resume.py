"""Exact resume. After every completed stage the loop writes `resume-T.npz`: every TF variable
(networks, normalisers, optimiser slots), the train and dev buffers, the OU-noise state, the numpy
and env RNG states, the loop counters and the length of log.json at that moment. Re-running the
same command continues from the newest readable one. A run deletes them once it has finished:
finished runs are never resumed or overwritten."""
from __future__ import annotations

import glob
import json
import os
import random
import re
import zipfile
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

import lunzi.nn as nn
import tensorflow.compat.v1 as tf
from lunzi.dataset import Dataset
from lunzi.logger import logger
from slbo.envs import BaseModelBasedEnv
from slbo.run.checkpoint import load_arrays, save_arrays
from slbo.run.faults import writing
from slbo.utils.OU_noise import OUNoise

KEEP = 2  # resume checkpoints kept: the newest and one to fall back on


def resume_checkpoints(log_dir: str) -> List[Tuple[int, str]]:
    """(stage, path) of the resume checkpoints in `log_dir`, newest first."""
    found = []
    for path in glob.glob(os.path.join(log_dir, "resume-*.npz")):
        match = re.fullmatch(r"resume-(\d+)\.npz", os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found, reverse=True)


def resume_paths(log_dir: str) -> List[str]:
    """Resume checkpoints in `log_dir`, newest first."""
    return [path for _, path in resume_checkpoints(log_dir)]


def where_stopped(log_dir: str, n_stages: int) -> str:
    """Where a run that just failed stands, told by its newest resume checkpoint (written atomically
    after each completed stage, so the newest one on disk is complete)."""
    found = resume_checkpoints(log_dir)
    if not found:
        return "the run stopped at stage 0; no stage was complete, so there is no checkpoint to resume from"
    stage, path = found[0]
    at = f"stage {stage + 1}" if stage + 1 < n_stages else "the final evaluation"
    return (f"the run stopped at {at}; the last complete checkpoint is {path} (once the file can be written, "
            f"re-run the same command to resume from it)")


def _json(value: Any) -> np.ndarray:
    return np.array(json.dumps(value))


def save_resume(log_dir: str, stage: int, buffers: Dict[str, Dataset], envs: Sequence[BaseModelBasedEnv],
                noise: OUNoise, loop: Dict[str, Any], log_offset: int) -> str:
    """Writes resume-`stage`.npz atomically and deletes the older ones beyond KEEP."""
    variables = tf.global_variables()
    arrays: Dict[str, np.ndarray] = {f"tf/{v.name}": value for v, value in zip(variables, nn.read_values(variables))}
    for name, buffer in buffers.items():
        storage, index, length = buffer.state_arrays()
        arrays[f"buffer/{name}/storage"] = storage
        arrays[f"buffer/{name}/index_length"] = np.array([index, length])
    np_state = np.random.get_state()
    arrays["rng/numpy_keys"] = np_state[1]
    arrays["rng/numpy_rest"] = _json([np_state[0], int(np_state[2]), int(np_state[3]), float(np_state[4])])
    arrays["rng/python"] = _json(random.getstate())
    arrays["rng/envs"] = _json([env.np_random.bit_generator.state for env in envs])
    arrays["noise"] = noise.state
    arrays["loop"] = _json({**loop, "log_offset": log_offset})
    path = os.path.join(log_dir, f"resume-{stage}.npz")
    save_arrays(path, arrays)
    for old in resume_paths(log_dir)[KEEP:]:
        remove_checkpoint(old)
    return path


def remove_checkpoint(path: str) -> None:
    with writing(path, "remove"):
        os.unlink(path)


def remove_resume_checkpoints(log_dir: str) -> None:
    for path in resume_paths(log_dir):
        remove_checkpoint(path)


def read_resume(log_dir: str) -> Optional[Dict[str, np.ndarray]]:
    """The newest resume checkpoint that reads back whole (zip CRCs checked); a damaged one is
    reported and the previous one used. None when there is none."""
    for path in resume_paths(log_dir):
        try:
            arrays = load_arrays(path)
            json.loads(str(arrays["loop"]))
            arrays["path"] = np.array(path)
            return arrays
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
            logger.warning("Resume checkpoint %s is damaged (%s: %s); trying the previous one",
                           path, type(e).__name__, e)
    return None


def restore_resume(arrays: Dict[str, np.ndarray], buffers: Dict[str, Dataset],
                   envs: Sequence[BaseModelBasedEnv], noise: OUNoise) -> Dict[str, Any]:
    """Loads everything `save_resume` wrote into the live objects; returns the loop state."""
    variables = tf.global_variables()
    missing = [v.name for v in variables if f"tf/{v.name}" not in arrays]
    if missing:
        raise ValueError(f"resume checkpoint lacks variables {missing[:3]}: the graph changed")
    nn.assign_values(variables, [arrays[f"tf/{v.name}"] for v in variables])
    for name, buffer in buffers.items():
        index, length = arrays[f"buffer/{name}/index_length"]
        buffer.load_state_arrays(arrays[f"buffer/{name}/storage"], index, length)
    kind, pos, has_gauss, cached = json.loads(str(arrays["rng/numpy_rest"]))
    np.random.set_state((kind, arrays["rng/numpy_keys"], pos, has_gauss, cached))
    version, internal, gauss = json.loads(str(arrays["rng/python"]))
    random.setstate((version, tuple(internal), gauss))
    for env, state in zip(envs, json.loads(str(arrays["rng/envs"]))):
        env.np_random.bit_generator.state = state
    noise.state = np.array(arrays["noise"])
    return json.loads(str(arrays["loop"]))
