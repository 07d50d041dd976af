"""`make_env(id)`: the public way to build an environment. Adding an env = a module + one line here."""
from __future__ import annotations

import importlib
from typing import Dict

import numpy as np

from lunzi.config import ConfigError, nearest
from slbo.envs import BaseModelBasedEnv

# id -> "module:Class". The rllab tasks own the plain ids and their -v2 aliases, as in the seed.
REGISTRY: Dict[str, str] = {
    "HalfCheetah": "slbo.envs.mujoco.half_cheetah_env:HalfCheetahEnv",
    "HalfCheetah-v2": "slbo.envs.mujoco.half_cheetah_env:HalfCheetahEnv",
}


def check_env_id(env_id: str) -> None:
    if env_id not in REGISTRY:
        ids = sorted(REGISTRY)
        close = nearest(env_id, ids, n=len(ids))
        raise ConfigError(f"unknown env.id {env_id!r}; valid ids (nearest first): {', '.join(close)}")


def env_class(env_id: str) -> type:
    check_env_id(env_id)
    module, name = REGISTRY[env_id].split(":")
    return getattr(importlib.import_module(module), name)


def make_env(env_id: str) -> BaseModelBasedEnv:
    """Builds the env `env_id`, seeded from numpy's global RNG (so the run's seed fixes it)."""
    return env_class(env_id)(seed=int(np.random.randint(2 ** 31)))
