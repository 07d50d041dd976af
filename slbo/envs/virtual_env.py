"""The model ("virtual") env: the learned dynamics model with the task's known reward."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import gymnasium
import numpy as np

from slbo.dynamics_model import DynamicsModel
from slbo.envs import BaseBatchedEnv, BaseModelBasedEnv


def scale_action(space: gymnasium.spaces.Box, actions: np.ndarray) -> np.ndarray:
    """The policy's [−1, 1]-scale actions in the env's action bounds."""
    return space.low + (actions + 1.0) * 0.5 * (space.high - space.low)


class VirtualEnv(BaseBatchedEnv):
    """Steps `n_envs` imagined states with the model; rewards and dones from `env.mb_step`;
    resets draw fresh initial states from the real env.

    A fused rollout peeks at reset states ahead (`peek_resets`) and then takes those it used
    (`take_resets`); per-step resets take them one call at a time. Either way the reset states
    and the env RNG follow the same sequence."""

    def __init__(self, model: DynamicsModel, env: BaseModelBasedEnv, n_envs: int):
        self.model, self.env, self.n_envs = model, env, n_envs
        self.observation_space, self.action_space = env.observation_space, env.action_space
        self._states = np.zeros((n_envs, env.observation_space.shape[0]))
        self._reset_queue: List[Tuple[np.ndarray, dict]] = []  # (state, env RNG state before drawing it)

    def peek_resets(self, n: int) -> np.ndarray:
        """The next `n` reset states, without consuming them."""
        while len(self._reset_queue) < n:
            rng_before = self.env.np_random.bit_generator.state
            self._reset_queue.append((self.env.reset()[0], rng_before))
        return np.array([state for state, _ in self._reset_queue[:n]]).reshape(n, self._states.shape[1])

    def take_resets(self, n: int) -> np.ndarray:
        """Consumes the next `n` reset states. States drawn ahead beyond them are given back: the
        env RNG returns to where `n` draws leave it (so checkpoints of its state stay exact)."""
        states = self.peek_resets(n)
        if n < len(self._reset_queue):
            self.env.np_random.bit_generator.state = self._reset_queue[n][1]
        self._reset_queue = []
        return states

    def scale_action(self, actions: np.ndarray) -> np.ndarray:
        return scale_action(self.action_space, actions)

    def step(self, actions: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Sequence[Dict]]:
        next_states = self.model.predict(self._states, actions).astype(np.float64)
        rewards, dones = self.env.mb_step(self._states, self.scale_action(actions), next_states)
        self._states = next_states
        return next_states.copy(), rewards, dones, [{} for _ in range(self.n_envs)]

    def partial_reset(self, indices: Sequence[int]) -> np.ndarray:
        indices = list(indices)
        initial = self.take_resets(len(indices))
        self._states[indices] = initial
        return initial.copy()

    def set_state(self, states: np.ndarray) -> None:
        self._states = np.array(states, dtype=np.float64)
