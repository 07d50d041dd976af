"""Environment interfaces: a single env with a known reward (`BaseModelBasedEnv`) and a batch of
envs stepped together (`BaseBatchedEnv`)."""
from __future__ import annotations

import abc
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

import gymnasium
import numpy as np
from gymnasium.utils import seeding


class ObservationLayout(NamedTuple):
    """Named groups of observation coordinates, and the coordinates the reward reads (for
    per-group model errors in the run diagnostics)."""
    groups: Dict[str, List[int]]
    reward: List[int]


def consecutive_groups(sizes: Sequence[Tuple[str, int]]) -> Dict[str, List[int]]:
    """{name: indices} of groups that follow each other in the observation, in `sizes` order."""
    groups, start = {}, 0
    for name, size in sizes:
        groups[name] = list(range(start, start + size))
        start += size
    return groups


class BaseModelBasedEnv(gymnasium.Env, abc.ABC):
    """An env whose reward and termination are known functions of (s, a, s').

    `step` computes them from the simulator; `mb_step` recomputes them from observations (numpy)
    and `mb_step_tf` does the same in TF ops, for rewards of imagined transitions."""

    # The longest horizon the env supports (None: unbounded).
    max_episode_steps: Optional[int] = None

    @abc.abstractmethod
    def mb_step(self, states: np.ndarray, actions: np.ndarray,
                next_states: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Rewards [N] and dones [N] of a batch of transitions."""

    @abc.abstractmethod
    def mb_step_tf(self, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        """`mb_step` in TF ops: float32 rewards [N] and bool dones [N]."""

    def observation_layout(self) -> ObservationLayout:
        """The observation's groups; by default one group per coordinate and no known reward
        coordinates (envs that know their layout override this)."""
        n = self.observation_space.shape[0]
        return ObservationLayout({f"obs{i}": [i] for i in range(n)}, [])

    def seed(self, seed: Optional[int] = None) -> None:
        self._np_random, _ = seeding.np_random(seed)

    def scale_action(self, actions: Any) -> Any:
        """Policy actions in the [−1, 1] scale mapped to the action space's bounds (numpy or TF)."""
        lo, hi = self.action_space.low, self.action_space.high
        return lo + (actions + 1.0) * 0.5 * (hi - lo)

    def check_action(self, action: np.ndarray) -> np.ndarray:
        action = np.asarray(action, dtype=np.float64)
        if action.shape != self.action_space.shape:
            raise ValueError(f"{type(self).__name__}: action must have shape {self.action_space.shape}, "
                             f"got {action.shape}")
        return action

    def verify(self, n: int = 2000, eps: float = 1e-4) -> float:
        """Steps `n` random actions and checks `mb_step` reproduces the real rewards and dones.
        Returns the largest reward difference; raises AssertionError on a mismatch.

        Noisy tasks report the noise-free observation (info "clean_obs") and the action the
        simulator applied (info "applied_action"): their rewards are functions of those."""
        states, actions, next_states, rewards, dones = [], [], [], [], []
        obs, info = self.reset()
        state = info.get("clean_obs", obs)
        for _ in range(n):
            action = self.action_space.sample()
            obs, reward, done, _, info = self.step(action)
            next_state = info.get("clean_obs", obs)
            states.append(state), actions.append(info.get("applied_action", action))
            next_states.append(next_state), rewards.append(reward), dones.append(done)
            if done:
                obs, info = self.reset()
                next_state = info.get("clean_obs", obs)
            state = next_state
        rewards_, dones_ = self.mb_step(np.array(states), np.array(actions), np.array(next_states))
        l_inf = float(np.abs(np.array(rewards) - rewards_).max())
        assert np.array_equal(np.asarray(dones_, bool), np.array(dones, bool)), \
            f"{type(self).__name__}.mb_step disagrees with the real dones"
        assert l_inf < eps, f"{type(self).__name__}.mb_step reward differs from the real reward by {l_inf}"
        return l_inf


class BaseBatchedEnv(abc.ABC):
    """`n_envs` environments stepped together with arrays of actions."""

    n_envs: int
    observation_space: gymnasium.spaces.Box
    action_space: gymnasium.spaces.Box

    @abc.abstractmethod
    def step(self, actions: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray, Sequence[Dict]]:
        """(next_states [n, ds], rewards [n], dones [n], infos)."""

    @abc.abstractmethod
    def partial_reset(self, indices: Sequence[int]) -> np.ndarray:
        """Resets the envs at `indices` and returns their initial states."""

    def reset(self) -> np.ndarray:
        return self.partial_reset(range(self.n_envs))

    def set_state(self, states: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__} cannot start from given states")
