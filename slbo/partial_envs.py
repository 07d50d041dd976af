"""`make_env(id)`: the public way to build an environment. Adding an env = a module + one line here
(docs/ENVS.md, "Adding a task"); until then, `env.id=package.module:Class` runs a task of any
importable module."""
from __future__ import annotations

import importlib
from typing import Dict

import numpy as np

from lunzi.config import ConfigError, nearest
from slbo.envs import BaseModelBasedEnv

# id -> "module:Class". The rllab tasks own the plain ids and their -v2 aliases, as in the seed;
# MBBL's versions of the five locomotion tasks get MBBL-prefixed ids.
_RLLAB = "slbo.envs.mujoco"
_MBBL = "slbo.envs.mbbl"
REGISTRY: Dict[str, str] = {
    "HalfCheetah": f"{_RLLAB}.half_cheetah_env:HalfCheetahEnv",
    "HalfCheetah-v2": f"{_RLLAB}.half_cheetah_env:HalfCheetahEnv",
    "Hopper": f"{_RLLAB}.hopper_env:HopperEnv",
    "Hopper-v2": f"{_RLLAB}.hopper_env:HopperEnv",
    "Walker2D": f"{_RLLAB}.walker2d_env:Walker2DEnv",
    "Walker2D-v2": f"{_RLLAB}.walker2d_env:Walker2DEnv",
    "Ant": f"{_RLLAB}.ant_env:AntEnv",
    "Ant-v2": f"{_RLLAB}.ant_env:AntEnv",
    "Swimmer": f"{_RLLAB}.swimmer_env:SwimmerEnv",
    "Swimmer-v2": f"{_RLLAB}.swimmer_env:SwimmerEnv",
    "Humanoid": f"{_RLLAB}.humanoid_env:HumanoidEnv",
    "Humanoid-v2": f"{_RLLAB}.humanoid_env:HumanoidEnv",
    "MBBLHalfCheetah": f"{_MBBL}.locomotion:HalfCheetahEnv",
    "MBBLHopper": f"{_MBBL}.locomotion:HopperEnv",
    "MBBLWalker2D": f"{_MBBL}.locomotion:Walker2DEnv",
    "MBBLAnt": f"{_MBBL}.locomotion:AntEnv",
    "MBBLSwimmer": f"{_MBBL}.locomotion:SwimmerEnv",
    "FixedHopper": f"{_MBBL}.locomotion:FixedHopperEnv",
    "FixedWalker": f"{_MBBL}.locomotion:FixedWalker2DEnv",
    "FixedAnt": f"{_MBBL}.locomotion:FixedAntEnv",
    "FixedSwimmer": f"{_MBBL}.fixed_swimmer:FixedSwimmerEnv",
    "HalfCheetahO01": f"{_MBBL}.locomotion:HalfCheetahO01Env",
    "HalfCheetahO001": f"{_MBBL}.locomotion:HalfCheetahO001Env",
    "HalfCheetahA01": f"{_MBBL}.locomotion:HalfCheetahA01Env",
    "HalfCheetahA003": f"{_MBBL}.locomotion:HalfCheetahA003Env",
    "PointMass": f"{_MBBL}.point_mass:PointMassEnv",
    "Reacher": f"{_MBBL}.reacher:ReacherEnv",
    "InvertedPendulum": f"{_MBBL}.inverted_pendulum:InvertedPendulumEnv",
    "Pendulum": f"{_MBBL}.classic:PendulumEnv",
    "PendulumO01": f"{_MBBL}.classic:PendulumO01Env",
    "PendulumO001": f"{_MBBL}.classic:PendulumO001Env",
    "Acrobot": f"{_MBBL}.classic:AcrobotEnv",
    "CartPole": f"{_MBBL}.classic:CartPoleEnv",
    "CartPoleO01": f"{_MBBL}.classic:CartPoleO01Env",
    "CartPoleO001": f"{_MBBL}.classic:CartPoleO001Env",
    "MountainCar": f"{_MBBL}.classic:MountainCarEnv",
    "gym_humanoid": f"{_MBBL}.humanoid:HumanoidEnv",
    "gym_slimhumanoid": f"{_MBBL}.humanoid:SlimHumanoidEnv",
    "gym_nostopslimhumanoid": f"{_MBBL}.humanoid:NoStopSlimHumanoidEnv",
}


def env_family(env_id: str) -> str:
    """"rllab", "MBBL" or "other" (a task of one's own), from where the env's class lives."""
    check_env_id(env_id)
    path = _import_path(env_id)
    return "rllab" if path.startswith(_RLLAB + ".") else "MBBL" if path.startswith(_MBBL + ".") else "other"


def _import_path(env_id: str) -> str:
    """The "module:Class" an id stands for: its registry line, or the id itself when it is one."""
    return REGISTRY.get(env_id, env_id)


def check_env_id(env_id: str) -> None:
    if ":" in env_id and env_id not in REGISTRY:
        _load_class(env_id)
    elif env_id not in REGISTRY:
        ids = sorted(REGISTRY)
        close = nearest(env_id, ids, n=len(ids))
        raise ConfigError(f"unknown env.id {env_id!r}; valid ids (nearest first): {', '.join(close)}")


def _load_class(path: str) -> type:
    """The env class at "module:Class"; a ConfigError (one line) when it cannot be loaded."""
    module, _, name = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except Exception as e:  # the user's module may fail in any way; say so in one line
        raise ConfigError(f"env.id {path!r}: cannot load {name!r} from module {module!r} "
                          f"({type(e).__name__}: {e})") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseModelBasedEnv)):
        raise ConfigError(f"env.id {path!r} is not an env class (a subclass of slbo.envs.BaseModelBasedEnv)")
    return cls


def env_class(env_id: str) -> type:
    check_env_id(env_id)
    return _load_class(_import_path(env_id))


def make_env(env_id: str) -> BaseModelBasedEnv:
    """Builds the env `env_id`, seeded from numpy's global RNG (so the run's seed fixes it)."""
    return env_class(env_id)(seed=int(np.random.randint(2 ** 31)))
