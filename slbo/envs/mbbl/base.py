"""What the MBBL MuJoCo tasks share: MBBL's reset distributions, rewards of the start state
(MBBL scores a transition by the state it starts from, plus the action and, for alive bonuses
and terminations, the state it ends in), and the observation/action noise of the noisy variants."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np

from slbo.envs.formula import FormulaEnv
from slbo.envs.mujoco.base import MujocoEnv


class NoiseMixin:
    """MBBL's noisy variants: uniform noise of half-width OBS_NOISE on the observations `step`
    returns (reset states are noise-free, as in MBBL), of half-width ACTION_NOISE on the action
    the simulator applies. Noise comes from the env's seeded RNG."""

    OBS_NOISE = 0.0
    ACTION_NOISE = 0.0
    np_random: np.random.Generator

    def observe(self, clean: np.ndarray) -> np.ndarray:
        if not self.OBS_NOISE:
            return clean
        return clean + self.np_random.uniform(-self.OBS_NOISE, self.OBS_NOISE, size=clean.shape)

    def perturb_action(self, action: np.ndarray) -> np.ndarray:
        if not self.ACTION_NOISE:
            return action
        return action + self.np_random.uniform(-self.ACTION_NOISE, self.ACTION_NOISE, size=action.shape)


def transition_info(clean: np.ndarray, applied: np.ndarray) -> Dict[str, Any]:
    """What `verify` checks rewards against: the noise-free observation and the applied action."""
    return {"clean_obs": clean, "applied_action": applied}


class MBBLEnv(FormulaEnv, NoiseMixin, MujocoEnv):
    """A gym-style MuJoCo task of MBBL. Resets: (kind, scale) per qpos/qvel, kind "uniform"
    (±scale) or "normal" (std scale) around the model's initial pose. `snapshot` records the
    simulator quantities of the start state before the physics steps; `physics_reward` reads them."""

    RESET_QPOS: Tuple[str, float] = ("uniform", 0.1)
    RESET_QVEL: Tuple[str, float] = ("normal", 0.1)
    max_episode_steps = 1000

    def __init__(self, seed: Optional[int] = None):
        self.before: Dict[str, Any] = {}
        super().__init__(seed)

    def _perturb(self, base: np.ndarray, kind: str, scale: float) -> np.ndarray:
        if kind == "uniform":
            return base + self.np_random.uniform(-scale, scale, size=base.shape)
        return base + self.np_random.normal(size=base.shape) * scale

    def sample_reset(self) -> Tuple[np.ndarray, np.ndarray]:
        qpos = self._perturb(self.init_qpos, *self.RESET_QPOS)
        return qpos, self._perturb(self.init_qvel, *self.RESET_QVEL)

    def snapshot(self) -> Dict[str, Any]:
        """Simulator quantities of the start state that the reward needs."""
        return {}

    def step(self, action: np.ndarray) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
        action = self.check_action(action)
        applied = self.perturb_action(action)
        self.before = self.snapshot()
        self.do_simulation(applied)
        clean = self.get_obs()
        reward, done = self.physics_reward(applied)
        return self.observe(clean), reward, done, False, transition_info(clean, applied)
