"""rllab's HalfCheetah: timestep 0.01, one physics step per action.

Observation (24): qpos (9), qvel (9), subtree COM of the torso (3), subtree linear velocity of
the torso (3). Reward: forward COM velocity − 0.05·Σclip(a, −1, 1)²; never terminates."""
from __future__ import annotations

import mujoco

from slbo.envs.mujoco.rllab import RllabEnv


class HalfCheetahEnv(RllabEnv):
    ASSET = "half_cheetah.xml"
    CTRL_COST = 0.05
    CLIP_ACTIONS = True  # rllab's HalfCheetah, alone of the family, clips before the control cost

    def configure_spec(self, spec: mujoco.MjSpec) -> None:
        spec.option.timestep = 0.01
