"""rllab's Swimmer: timestep 0.001 with Euler, 50 physics steps per action, 1000 solver
iterations without warm start, no joint armature, motors ±50 (gymnasium's swimmer has
armature 0.1 and gear 150).

Observation (16): qpos (5), qvel (5), torso subtree COM (3) and its velocity (3).
Reward: COM x-velocity − 0.005·Σ(a/50)². Never terminates."""
from __future__ import annotations

import mujoco

from slbo.envs.mujoco.rllab import RllabEnv, set_motors


class SwimmerEnv(RllabEnv):
    ASSET = "swimmer.xml"
    FRAME_SKIP = 50
    CTRL_COST = 0.005

    def configure_spec(self, spec: mujoco.MjSpec) -> None:
        spec.option.timestep = 0.001
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_EULER
        spec.option.iterations = 1000
        spec.option.disableflags |= mujoco.mjtDisableBit.mjDSBL_WARMSTART
        for joint in spec.joints:
            joint.armature = 0.0
        set_motors(spec, [50.0, 50.0])
