"""The model ("virtual") env: the learned dynamics model with the task's known reward."""
from __future__ import annotations

from typing import Dict, Sequence, Tuple

import numpy as np

from slbo.dynamics_model import DynamicsModel
from slbo.envs import BaseBatchedEnv, BaseModelBasedEnv


class VirtualEnv(BaseBatchedEnv):
    """Steps `n_envs` imagined states with the model; rewards and dones from `env.mb_step`;
    resets draw fresh initial states from the real env."""

    def __init__(self, model: DynamicsModel, env: BaseModelBasedEnv, n_envs: int):
        self.model, self.env, self.n_envs = model, env, n_envs
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self._states = np.zeros((n_envs, env.observation_space.shape[0]))

    def scale_action(self, actions: np.ndarray) -> np.ndarray:
        lo, hi = self.action_space.low, self.action_space.high
        return lo + (actions + 1.0) * 0.5 * (hi - lo)

    def step(self, actions: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Sequence[Dict]]:
        next_states = self.model.predict(self._states, actions).astype(np.float64)
        rewards, dones = self.env.mb_step(self._states, self.scale_action(actions), next_states)
        self._states = next_states
        return next_states.copy(), rewards, dones, [{} for _ in range(self.n_envs)]

    def partial_reset(self, indices: Sequence[int]) -> np.ndarray:
        indices = list(indices)
        initial = np.array([self.env.reset()[0] for _ in indices]).reshape(len(indices), -1)
        self._states[indices] = initial
        return initial.copy()

    def set_state(self, states: np.ndarray) -> None:
        self._states = np.array(states, dtype=np.float64)
