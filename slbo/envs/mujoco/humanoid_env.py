"""rllab's SimpleHumanoid on assets/simple_humanoid.xml (written here from the model's published
description; no installable package ships it): timestep 0.01 with RK4, one physics step per action.

Observation (39): qpos (17), qvel (16), torso subtree COM (3) and its velocity (3). Reward (the
published SLBO code's, no impact cost): COM x-velocity + 0.2 − 5e-4·Σ(a/half-range)²
− 5e-3·(v_y² + v_z²). Done when the torso z leaves [0.8, 2]."""
from __future__ import annotations

import os
from typing import Any

from slbo.envs.formula import Ops
from slbo.envs.mujoco.rllab import RllabEnv

ASSETS = os.path.join(os.path.dirname(__file__), "assets")


class HumanoidEnv(RllabEnv):
    ASSET = "simple_humanoid.xml"
    ASSET_DIR = ASSETS
    ALIVE_BONUS = 0.2
    CTRL_COST = 5e-4
    VEL_DEVIATION_COST = 5e-3
    REWARD_COMVEL = (0, 1, 2)

    def reward(self, ops: Ops, comvel: Any, actions: Any) -> Any:
        deviation = ops.square(comvel[..., 1]) + ops.square(comvel[..., 2])
        return super().reward(ops, comvel, actions) - self.VEL_DEVIATION_COST * deviation

    def terminated(self, ops: Ops, state: Any) -> Any:
        return ops.logical_or(state[..., 2] < 0.8, state[..., 2] > 2.0)
