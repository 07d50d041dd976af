"""rllab's Ant: timestep 0.02 with RK4, one physics step per action, motors ±150, the contact
softness of rllab's XML (solref 0.02 1, solimp 0.8 0.8 0.01), episodes start from the XML's
`init_qpos` (torso at 0.55 m, legs bent) as rllab reads it.

Observation (44): qpos (15), qvel (14), torso rotation matrix (9), torso subtree COM (3) and its
velocity (3). Reward (the published SLBO code's, no contact cost): COM x-velocity + 0.05
− 0.005·Σ(a/150)². Done unless qpos ‖ qvel is finite and 0.2 ≤ torso z ≤ 1."""
from __future__ import annotations

from typing import Any

import mujoco
import numpy as np

from slbo.envs.formula import Ops
from slbo.envs.mujoco.rllab import RllabEnv, set_motors


class AntEnv(RllabEnv):
    ASSET = "ant.xml"
    WITH_XMAT = True
    ALIVE_BONUS = 0.05
    CTRL_COST = 0.005

    def configure_spec(self, spec: mujoco.MjSpec) -> None:
        spec.option.timestep = 0.02
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_RK4
        set_motors(spec, [150.0] * 8)
        for geom in spec.geoms:
            geom.solref = [0.02, 1.0]
            geom.solimp[:3] = [0.8, 0.8, 0.01]

    def initial_qpos(self) -> np.ndarray:
        return self.model.numeric("init_qpos").data.copy()

    def terminated(self, ops: Ops, state: Any) -> Any:
        z = state[..., 2]
        healthy = ops.logical_and(ops.all(ops.isfinite(state)), ops.logical_and(z >= 0.2, z <= 1.0))
        return ops.logical_not(healthy)
