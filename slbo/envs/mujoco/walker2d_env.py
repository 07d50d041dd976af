"""rllab's Walker2D: timestep 0.005 with Euler (rllab's XML names no integrator), one physics
step per action, motors ±150 (thighs) and ±100 (legs, feet).

Observation (24): qpos (9), qvel (9) with the root joints in rllab's order (rootz, rootx, rooty),
torso subtree COM (3) and its velocity (3). Reward (the published SLBO code's): COM x-velocity
+ 1 − 1e-3·Σ(a/half-range)². Done unless 0.8 < height < 2 and −1 < pitch < 1."""
from __future__ import annotations

from typing import Any

import mujoco

from slbo.envs.formula import Ops
from slbo.envs.mujoco.rllab import RllabEnv, rllab_root_order, set_motors


class Walker2DEnv(RllabEnv):
    ASSET = "walker2d.xml"
    ALIVE_BONUS = 1.0
    CTRL_COST = 1e-3

    def configure_spec(self, spec: mujoco.MjSpec) -> None:
        spec.option.timestep = 0.005
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_EULER
        set_motors(spec, [150.0, 100.0, 100.0] * 2)
        rllab_root_order(spec)

    def terminated(self, ops: Ops, state: Any) -> Any:
        height, pitch = state[..., 0], state[..., 2]
        healthy = ops.logical_and(ops.logical_and(height > 0.8, height < 2.0),
                                  ops.logical_and(pitch > -1.0, pitch < 1.0))
        return ops.logical_not(healthy)
