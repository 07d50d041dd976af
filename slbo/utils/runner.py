"""Runner: rolls a policy in a batched env and computes GAE advantages."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from lunzi.dataset import Dataset, gen_dtype
from slbo.envs import BaseBatchedEnv
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.utils.OU_noise import OUNoise
from slbo.v_function.mlp_v_function import MLPVFunction

Episodes = List[Dict[str, float]]


class Runner:
    """Each step records (state, action, next_state, reward, done, timeout); `action` is the
    policy's [−1, 1]-scale action, `next_state` is taken before any reset, `timeout` marks the
    step that reached `max_steps`. Finished envs are reset and their episode return reported."""

    def __init__(self, env: BaseBatchedEnv, max_steps: int, gamma: float = 0.99, lambda_: float = 0.95,
                 rescale_action: bool = False):
        self.env, self.n_envs = env, env.n_envs
        self.max_steps, self.gamma, self.lambda_ = max_steps, gamma, lambda_
        self.rescale_action = rescale_action
        self.dtype = gen_dtype(env.observation_space.shape[0], env.action_space.shape[0])
        self.reset()

    def reset(self) -> None:
        self._start(self.env.reset())

    def set_state(self, states: np.ndarray) -> None:
        self.env.set_state(states)
        self._start(states)

    def _start(self, states: np.ndarray) -> None:
        self._states = np.array(states, dtype=np.float64)
        self._n_steps = np.zeros(self.n_envs, dtype=np.int64)
        self._returns = np.zeros(self.n_envs)

    def n_steps(self, n_samples: int) -> int:
        """Steps per env for `n_samples` samples."""
        n_steps = n_samples // self.n_envs
        assert n_steps * self.n_envs == n_samples, f"n_samples={n_samples} is not a multiple of n_envs={self.n_envs}"
        return n_steps

    def run(self, policy: GaussianMLPPolicy, n_samples: int, noise: Optional[OUNoise] = None
            ) -> Tuple[Dataset, Episodes]:
        """Rolls `n_samples` steps (n_samples / n_envs per env) of `policy` (+ `noise`)."""
        n_steps = self.n_steps(n_samples)
        act = policy.actor()
        if noise is not None:
            act = noise.wrap(act)
        records = np.zeros((n_steps, self.n_envs), dtype=self.dtype).view(np.recarray)
        episodes: Episodes = []
        lo, hi = self.env.action_space.low, self.env.action_space.high
        for t in range(n_steps):
            actions = act(self._states)
            env_actions = rescale(actions, lo, hi) if self.rescale_action else actions
            next_states, rewards, dones, _ = self.env.step(env_actions)
            self._returns += rewards
            self._n_steps += 1
            timeouts = self._n_steps == self.max_steps
            row = records[t]
            row.state, row.action, row.next_state = self._states, actions, next_states
            row.reward, row.done, row.timeout = rewards, dones, timeouts
            ended = np.flatnonzero(dones | timeouts)
            if len(ended):
                next_states = next_states.copy()
                next_states[ended] = self.env.partial_reset(ended)
                episodes.extend({"return": float(self._returns[i]), "length": int(self._n_steps[i])}
                                for i in ended)
                self._n_steps[ended] = 0
                self._returns[ended] = 0.0
            self._states = np.array(next_states, dtype=np.float64)
        return Dataset.from_records(records.reshape(-1)), episodes

    def run_with_advantages(self, policy: GaussianMLPPolicy, vfn: MLPVFunction, n_samples: int
                            ) -> Tuple[Dataset, Episodes, np.ndarray, np.ndarray]:
        """`run` then `compute_advantage`: (samples, episodes, advantages, values)."""
        data, episodes = self.run(policy, n_samples)
        return (data, episodes, *self.compute_advantage(vfn, data))

    def compute_advantage(self, vfn: MLPVFunction, samples: Dataset) -> Tuple[np.ndarray, np.ndarray]:
        """GAE(γ, λ): bootstrap V(s') unless done; the λ-trace is cut at done or timeout."""
        data = samples.data.reshape(-1, self.n_envs)
        both = np.concatenate([data.state, data.next_state]).reshape(-1, data.state.shape[-1])
        values, next_values = vfn.get_values(both).reshape(2, *data.shape)  # one session call
        return gae(data.reward, values, next_values, data.done, data.timeout, self.gamma, self.lambda_), \
            values.reshape(-1)


def rescale(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Policy actions in [-1, 1] to the env's action range [low, high]."""
    return low + (actions + 1.0) * 0.5 * (high - low)


def gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray, dones: np.ndarray,
        timeouts: np.ndarray, gamma: float, lambda_: float) -> np.ndarray:
    """Advantages of [T, n_envs] arrays, flattened in the same order."""
    deltas = rewards + gamma * next_values * ~dones - values
    continues = ~(dones | timeouts)
    advantages = np.zeros_like(deltas)
    last = np.zeros(deltas.shape[1])
    for t in reversed(range(len(deltas))):
        last = deltas[t] + gamma * lambda_ * last * continues[t]
        advantages[t] = last
    return advantages.reshape(-1).astype(np.float32)
