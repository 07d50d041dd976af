"""Checks that need the file system or the env; they run before anything is written and raise
ConfigError (one line) on bad input."""
from __future__ import annotations

import glob
import os
import tempfile
import zipfile
from typing import Any, Dict, List

import yaml

from lunzi.config import ConfigError, MetaFLAGS, flatten
from slbo import logs
from slbo.partial_envs import env_class
from slbo.utils.flags import make_flags

FRESH, UNFINISHED, FINISHED = "fresh", "unfinished", "finished"
# What a run writes; `ckpt.overwrite=1` removes these (and nothing else) before starting afresh.
RUN_FILES = ("log.json", "config.yml", "provenance.json", "final.npz", "stage-*.npz", "resume-*.npz", ".tmp-*")


def is_finished(log_dir: str) -> bool:
    """A run is finished once its log.json holds the `final` metrics record."""
    return bool(logs.metrics(log_dir, "final"))


def config_differences(FLAGS: MetaFLAGS, saved: Dict[str, Any]) -> List[str]:
    """Flags whose values differ from a saved config's. A flag the saved config lacks (one added to
    the code after that run started) is compared by its default, so older runs stay resumable."""
    ignored = {"ckpt.overwrite"} | ({"seed"} if getattr(FLAGS, "_seed_drawn", False) else set())
    now, stored = flatten(FLAGS.as_dict()), flatten(saved)
    before = {**flatten(make_flags().as_dict()), **stored}
    return [f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in sorted(set(now) | set(stored))
            if k not in ignored and now.get(k) != before.get(k)]


def check_writable(log_dir: str, existing: str) -> None:
    """Makes and removes a directory (a file, when log_dir exists) in `existing`, its deepest
    existing part: permissions, read-only mounts, and file systems such as /proc and /sys that
    refuse what access() allows, all show up."""
    try:
        if existing == log_dir:
            fd, probe = tempfile.mkstemp(dir=existing, prefix=".tmp-probe-")
            os.close(fd)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(dir=existing, prefix=".tmp-probe-"))
    except OSError as e:
        what = "a file" if existing == log_dir else "a directory"
        raise ConfigError(f"log_dir {log_dir} cannot be {'written' if existing == log_dir else 'created'}: making "
                          f"{what} in {existing} fails ({e.strerror})") from None


def log_dir_status(FLAGS: MetaFLAGS) -> str:
    """FRESH, UNFINISHED (resume it) or FINISHED; refuses a log_dir it cannot use."""
    log_dir = FLAGS.log_dir
    if os.path.exists(log_dir) and not os.path.isdir(log_dir):
        raise ConfigError(f"log_dir {log_dir} exists and is not a directory")
    existing = log_dir
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"log_dir {log_dir} cannot be created: {existing} is not a directory")
    check_writable(log_dir, existing)
    config_path = os.path.join(log_dir, "config.yml")
    if existing != log_dir or not os.path.isfile(config_path):
        return FRESH
    if FLAGS.ckpt.overwrite:
        return FRESH
    try:
        with open(config_path) as f:
            saved = yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"log_dir {log_dir} holds an unreadable config.yml ({type(e).__name__}); "
                          f"use another log_dir or ckpt.overwrite=1") from None
    differences = config_differences(FLAGS, saved if isinstance(saved, dict) else {})
    if differences:
        raise ConfigError(f"log_dir {log_dir} holds a run with a different config ({'; '.join(differences[:3])}"
                          f"{'; ...' if len(differences) > 3 else ''}); use another log_dir or ckpt.overwrite=1")
    return FINISHED if is_finished(log_dir) else UNFINISHED


def clear_run_files(log_dir: str) -> None:
    for pattern in RUN_FILES:
        for path in glob.glob(os.path.join(log_dir, pattern)):
            os.unlink(path)


def check_horizon(FLAGS: MetaFLAGS) -> None:
    supported = env_class(FLAGS.env.id).max_episode_steps
    for key in ("runner.max_steps", "plan.max_steps"):
        group, name = key.split(".")
        value = getattr(getattr(FLAGS, group), name)
        if supported is not None and value > supported:
            raise ConfigError(f"{key}={value} exceeds the horizon {FLAGS.env.id} supports ({supported})")


def _read_checkpoint(flag: str, path: str) -> Dict[str, Any]:
    if not os.path.isfile(path):
        raise ConfigError(f"{flag} {path}: no such file")
    try:
        import numpy as np
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k].shape for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ConfigError(f"{flag} {path} is not a checkpoint (.npz of named arrays): {type(e).__name__}") from None


def check_checkpoint(flag: str, path: str, name: str, expected: Dict[str, tuple]) -> None:
    """The checkpoint at `path` (named `flag` in errors) must hold every parameter of module `name`
    with the `expected` shapes."""
    shapes = _read_checkpoint(flag, path)
    prefix = f"{name}/"
    held = {k[len(prefix):]: v for k, v in shapes.items() if k.startswith(prefix)}
    if not held:
        raise ConfigError(f"{flag} {path} holds no '{name}' parameters")
    for key, shape in expected.items():
        if key in held and tuple(held[key]) != shape:
            raise ConfigError(f"{flag} {path} does not fit this {name}: {name}/{key} has shape "
                              f"{tuple(held[key])}, expected {shape}")
    missing = [key for key in expected if key not in held]
    if missing:
        raise ConfigError(f"{flag} {path} does not fit this {name}: it lacks {name}/{missing[0]}")


def check_loads(FLAGS: MetaFLAGS) -> None:
    """ckpt.model_load / ckpt.policy_load must hold parameters of the right shapes; ckpt.buf_load
    must hold stage-0 .. stage-(buf_load_index-1) buffers."""
    loads = [(flag, path, name) for flag, path, name in
             (("ckpt.model_load", FLAGS.ckpt.model_load, "model"), ("ckpt.policy_load", FLAGS.ckpt.policy_load, "policy"))
             if path]
    if loads:
        expected = expected_shapes(FLAGS)
        for flag, path, name in loads:
            check_checkpoint(flag, path, name, expected[name])
    if FLAGS.ckpt.buf_load:
        if not os.path.isdir(FLAGS.ckpt.buf_load):
            raise ConfigError(f"ckpt.buf_load {FLAGS.ckpt.buf_load}: no such directory")
        paths = [os.path.join(FLAGS.ckpt.buf_load, f"stage-{i}.inc-buf.npz")
                 for i in range(FLAGS.ckpt.buf_load_index)]
        for i, path in enumerate(paths):
            if not os.path.isfile(path):
                raise ConfigError(f"ckpt.buf_load {FLAGS.ckpt.buf_load} lacks stage-{i}.inc-buf.npz "
                                  f"(ckpt.buf_load_index={FLAGS.ckpt.buf_load_index} needs stages 0.."
                                  f"{FLAGS.ckpt.buf_load_index - 1})")
        for path in paths:
            check_buffer(FLAGS, path)


def check_buffer(FLAGS: MetaFLAGS, path: str) -> None:
    """A stage buffer must hold every field of this env's samples, with its shape (another env's
    buffer would fail deep inside the first stage)."""
    from lunzi.dataset import gen_dtype
    shapes = _read_checkpoint("ckpt.buf_load", path)
    dtype = gen_dtype(*env_dims(FLAGS.env.id))
    for name in dtype.names:
        if name not in shapes:
            raise ConfigError(f"ckpt.buf_load {path} is not a stage buffer of this run: it lacks '{name}'")
        expected = (shapes["state"][0], *dtype[name].shape)
        if tuple(shapes[name]) != expected:
            raise ConfigError(f"ckpt.buf_load {path} does not fit {FLAGS.env.id}: '{name}' has shape "
                              f"{tuple(shapes[name])}, expected {expected}")


def env_dims(env_id: str) -> tuple:
    """(state dimension, action dimension) of an env."""
    env = env_class(env_id)()
    return env.observation_space.shape[0], env.action_space.shape[0]


def expected_shapes(FLAGS: MetaFLAGS) -> Dict[str, Dict[str, tuple]]:
    """Parameter shapes of this run's policy and model, from a throwaway graph."""
    import lunzi.nn  # noqa: F401  (graph mode)
    import tensorflow.compat.v1 as tf
    from slbo.networks import build_networks
    with tf.Graph().as_default():
        tf.set_random_seed(0)  # never run; TF's op determinism, once on in this process, wants a seed
        nets = build_networks(FLAGS, *env_dims(FLAGS.env.id))
        return {name: {k: tuple(v.shape.as_list()) for k, v in getattr(nets, name).named_parameters().items()}
                for name in ("policy", "model")}


def preflight(FLAGS: MetaFLAGS) -> str:
    """All checks; returns the log_dir status."""
    status = log_dir_status(FLAGS)
    if status != FINISHED:
        check_horizon(FLAGS)
        check_loads(FLAGS)
    return status
