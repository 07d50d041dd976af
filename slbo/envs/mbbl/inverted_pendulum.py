"""MBBL's InvertedPendulum on gymnasium's inverted_pendulum.xml (timestep 0.02 × 2, 100-step
episodes, no termination). Observation (4): qpos (cart, pole angle), qvel. Reward of the start
state: −angle²."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from slbo.envs.formula import Ops
from slbo.envs.mbbl.base import MBBLEnv


class InvertedPendulumEnv(MBBLEnv):
    ASSET = "inverted_pendulum.xml"
    FRAME_SKIP = 2
    RESET_QPOS = RESET_QVEL = ("uniform", 0.01)
    max_episode_steps = 100

    def get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])

    def snapshot(self) -> Dict[str, Any]:
        return {"angle": self.data.qpos[1]}

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        return -float(self.before["angle"]) ** 2, False

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        rewards = -ops.square(states[..., 1])
        return rewards, ops.false_like(rewards)
