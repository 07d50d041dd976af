"""MBBL-SLBO's PointMass: a planar point mass to be brought to the origin (5 physics steps of
0.02 per action, 1000-step episodes). Observation (4): position (2), velocity (2).

Reward of the end state s' and the (clipped) action, as the published code computes it:
  near(‖s'[:2]‖) · (small_control(a) + 4) / 5,
near = 1 within radius r = 0.01 of the origin, else 0.1^((d − r)/r)² (dm_control's gaussian
`tolerance` with margin r); small_control = the fraction of action components exactly 0 (the
published code calls `tolerance` with value_at_margin 0, which leaves only that). The radius is
the one the published code reads (the point mass's own, 0.01), not the target sphere's 0.015."""
from __future__ import annotations

import os
from typing import Any, Tuple

import numpy as np

from slbo.envs.formula import NUMPY, Ops
from slbo.envs.mbbl.base import MBBLEnv

ASSETS = os.path.join(os.path.dirname(__file__), "assets")


class PointMassEnv(MBBLEnv):
    ASSET = "point_mass.xml"
    ASSET_DIR = ASSETS
    FRAME_SKIP = 5
    RADIUS = 0.01
    MIN_START_DISTANCE = 0.2

    def get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])

    def sample_reset(self) -> Tuple[np.ndarray, np.ndarray]:
        # Start at least MIN_START_DISTANCE from the target: redraw the position until it is.
        qpos = self.init_qpos + self.np_random.uniform(-0.3, 0.3, size=self.model.nq)
        while np.linalg.norm(qpos) < self.MIN_START_DISTANCE:
            qpos = self.init_qpos + self.np_random.uniform(-0.3, 0.3, size=self.model.nq)
        return qpos, self.init_qvel + self.np_random.normal(size=self.model.nv) * 0.1

    def formula(self, ops: Ops, distance: Any, actions: Any) -> Any:
        excess = ops.maximum(distance - self.RADIUS, 0.0) / self.RADIUS
        near = ops.exp(-0.5 * ops.square(excess) * (-2.0 * np.log(0.1)))
        ctrl = self.clip_actions(ops, actions)
        small_control = (ops.mean(ops.to_float(ops.equal(ctrl, 0.0), ctrl)) + 4.0) / 5.0
        return near * small_control

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        offset = self.data.xpos[self.body_id("pointmass"), :2] - self.data.geom("target").xpos[:2]
        return float(self.formula(NUMPY, np.linalg.norm(offset), action)), False

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        rewards = self.formula(ops, ops.norm(next_states[..., :2]), actions)
        return rewards, ops.false_like(rewards)
