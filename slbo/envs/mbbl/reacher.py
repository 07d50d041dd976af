"""MBBL's Reacher on gymnasium's reacher.xml (timestep 0.01 × 2, 50-step episodes).

Observation (11): cos and sin of the two arm angles (4), target position (2), arm joint
velocities (2), fingertip − target (3). Reward of the start state: −‖fingertip − target‖ − Σclip(a)²."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from slbo.envs.formula import NUMPY, Ops
from slbo.envs.mbbl.base import MBBLEnv


class ReacherEnv(MBBLEnv):
    ASSET = "reacher.xml"
    FRAME_SKIP = 2
    max_episode_steps = 50

    def _fingertip_to_target(self) -> np.ndarray:
        return self.data.xpos[self.body_id("fingertip")] - self.data.xpos[self.body_id("target")]

    def get_obs(self) -> np.ndarray:
        angles = self.data.qpos[:2]
        return np.concatenate([np.cos(angles), np.sin(angles), self.data.qpos[2:], self.data.qvel[:2],
                               self._fingertip_to_target()])

    def sample_reset(self) -> Tuple[np.ndarray, np.ndarray]:
        qpos = self.init_qpos + self.np_random.uniform(-0.1, 0.1, size=self.model.nq)
        qpos[-2:] = self.np_random.uniform(-0.2, 0.2, size=2)  # the goal
        qvel = self.init_qvel + self.np_random.uniform(-0.005, 0.005, size=self.model.nv)
        qvel[-2:] = 0.0
        return qpos, qvel

    def formula(self, ops: Ops, offset: Any, actions: Any) -> Any:
        ctrl = self.clip_actions(ops, actions)
        return -ops.norm(offset) - ops.sum(ops.square(ctrl))

    def snapshot(self) -> Dict[str, Any]:
        return {"offset": self._fingertip_to_target()}

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        return float(self.formula(NUMPY, self.before["offset"], action)), False

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        rewards = self.formula(ops, states[..., -3:], actions)
        return rewards, ops.false_like(rewards)
