"""Real environments stepped together."""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import numpy as np

from slbo.envs import BaseBatchedEnv, BaseModelBasedEnv


class BatchedEnv(BaseBatchedEnv):
    def __init__(self, envs: List[BaseModelBasedEnv]):
        self.envs = envs
        self.n_envs = len(envs)
        self.observation_space = envs[0].observation_space
        self.action_space = envs[0].action_space

    def step(self, actions: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Sequence[Dict]]:
        results = [env.step(action) for env, action in zip(self.envs, actions)]
        states, rewards, dones, _, infos = zip(*results)
        return np.array(states), np.array(rewards), np.array(dones, dtype=bool), list(infos)

    def partial_reset(self, indices: Sequence[int]) -> np.ndarray:
        return np.array([self.envs[i].reset()[0] for i in indices])

    def __repr__(self) -> str:
        return f"BatchedEnv<{self.n_envs} x {type(self.envs[0]).__name__}>"
