"""MBBL's FixedSwimmer (assets/fixed_swimmer.xml, timestep 0.01 × 4): a swimmer scored by the
velocity of its head's tip rather than of its root joint.

Observation (9): qpos[2:] (3), qvel (5), and the tip's x-displacement over the last action
divided by the action's duration (0 right after a reset). Reward: that velocity in the end
state s' − 1e-4·Σclip(a)² (the published env's step; it never terminates)."""
from __future__ import annotations

import os
from typing import Any, Tuple

import numpy as np

from slbo.envs.formula import NUMPY, Ops
from slbo.envs.mbbl.base import MBBLEnv

ASSETS = os.path.join(os.path.dirname(__file__), "assets")


class FixedSwimmerEnv(MBBLEnv):
    ASSET = "fixed_swimmer.xml"
    ASSET_DIR = ASSETS
    FRAME_SKIP = 4
    CTRL_COST = 1e-4
    RESET_QPOS = RESET_QVEL = ("uniform", 0.1)

    tip_velocity = 0.0

    def sample_reset(self) -> Tuple[np.ndarray, np.ndarray]:
        self.tip_velocity = 0.0
        return super().sample_reset()

    def _tip_x(self) -> float:
        return float(self.data.site("tip").xpos[0])

    def do_simulation(self, action: np.ndarray) -> None:
        before = self._tip_x()
        super().do_simulation(action)
        self.tip_velocity = (self._tip_x() - before) / (self.model.opt.timestep * self.FRAME_SKIP)

    def get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos[2:], self.data.qvel, [self.tip_velocity]])

    def formula(self, ops: Ops, tip_velocity: Any, actions: Any) -> Any:
        ctrl = self.clip_actions(ops, actions)
        return tip_velocity - self.CTRL_COST * ops.sum(ops.square(ctrl))

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        return float(self.formula(NUMPY, self.tip_velocity, action)), False

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        rewards = self.formula(ops, next_states[..., -1], actions)
        return rewards, ops.false_like(rewards)
