"""`make_env(id)`: the public way to build an environment. Adding an env = a module + one line here."""
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
    """"rllab" or "MBBL", from where the env's class lives."""
    check_env_id(env_id)
    return "rllab" if REGISTRY[env_id].startswith(_RLLAB + ".") else "MBBL"


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
