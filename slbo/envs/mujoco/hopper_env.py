"""rllab's Hopper: timestep 0.02 with RK4, one physics step per action, motors ±200.

Observation (18): qpos (6), qvel (6) with the root joints in rllab's order (rootz, rootx, rooty),
torso subtree COM (3) and its velocity (3). Reward: COM x-velocity + 1 − 0.005·Σ(a/200)².
Done unless qpos ‖ qvel is finite, |s[3:12]| < 100, height > 0.7 and |pitch| < 0.2."""
from __future__ import annotations

from typing import Any

import mujoco

from slbo.envs.formula import Ops
from slbo.envs.mujoco.rllab import RllabEnv, rllab_root_order, set_motors


class HopperEnv(RllabEnv):
    ASSET = "hopper.xml"
    ALIVE_BONUS = 1.0
    CTRL_COST = 0.005

    def configure_spec(self, spec: mujoco.MjSpec) -> None:
        spec.option.timestep = 0.02
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_RK4
        set_motors(spec, [200.0] * 3)
        rllab_root_order(spec)

    def terminated(self, ops: Ops, state: Any) -> Any:
        healthy = ops.logical_and(ops.all(ops.isfinite(state)), ops.all(ops.abs(state[..., 3:]) < 100))
        upright = ops.logical_and(state[..., 0] > 0.7, ops.abs(state[..., 2]) < 0.2)
        return ops.logical_not(ops.logical_and(healthy, upright))
