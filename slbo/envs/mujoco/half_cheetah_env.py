"""rllab's HalfCheetah: timestep 0.01, one physics step per action.

Observation (24): qpos (9), qvel (9), subtree COM of the torso (3), subtree linear velocity of
the torso (3). Reward: forward COM velocity − 0.05·Σclip(a, −1, 1)²; never terminates."""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from slbo.envs.mujoco.base import MujocoEnv


class HalfCheetahEnv(MujocoEnv):
    ASSET = "half_cheetah.xml"
    COMVEL_X = 21  # index of the torso's subtree x-velocity in the observation
    CTRL_COST = 0.05

    def configure_spec(self, spec) -> None:
        spec.option.timestep = 0.01

    def get_obs(self) -> np.ndarray:
        torso = self.body_id("torso")
        return np.concatenate([self.data.qpos, self.data.qvel,
                               self.data.subtree_com[torso], self.data.subtree_linvel[torso]])

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        comvel_x = self.data.subtree_linvel[self.body_id("torso"), 0]
        ctrl = np.clip(action, self.action_space.low, self.action_space.high)
        return float(comvel_x - self.CTRL_COST * np.sum(np.square(ctrl))), False

    def mb_step(self, states, actions, next_states):
        ctrl = np.clip(actions, self.action_space.low, self.action_space.high)
        rewards = next_states[..., self.COMVEL_X] - self.CTRL_COST * np.sum(np.square(ctrl), axis=-1)
        return rewards, np.zeros(rewards.shape, dtype=bool)

    def mb_step_tf(self, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        import tensorflow.compat.v1 as tf
        ctrl = tf.clip_by_value(actions, self.action_space.low, self.action_space.high)
        rewards = next_states[..., self.COMVEL_X] - self.CTRL_COST * tf.reduce_sum(tf.square(ctrl), axis=-1)
        return rewards, tf.zeros_like(rewards, dtype=tf.bool)
