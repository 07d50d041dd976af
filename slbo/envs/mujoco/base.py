"""MuJoCo tasks on the official bindings, built from gymnasium's XML assets with rllab's options."""
from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Optional, Tuple

import gymnasium
import mujoco
import numpy as np

from slbo.envs import BaseModelBasedEnv

ASSETS = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets")


class MujocoEnv(BaseModelBasedEnv):
    """Loads `ASSET`, applies `configure_spec` (timestep, integrator), and steps `FRAME_SKIP`
    physics steps per action. Reset: init_qpos + N(0, 0.01²), init_qvel + N(0, 0.1²) (rllab)."""

    ASSET: str = ""
    ASSET_DIR: str = ASSETS  # where ASSET lives (tasks with their own MJCF point elsewhere)
    FRAME_SKIP = 1
    RESET_QPOS_STD = 0.01
    RESET_QVEL_STD = 0.1

    def __init__(self, seed: Optional[int] = None):
        spec = mujoco.MjSpec.from_file(os.path.join(self.ASSET_DIR, self.ASSET))
        self.configure_spec(spec)
        with warnings.catch_warnings():
            # gymnasium's XMLs use `settotalmass`, which MuJoCo 4 still honours but flags as deprecated.
            warnings.filterwarnings("ignore", message=".*settotalmass.*")
            self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self.init_qpos = self.initial_qpos()
        self.init_qvel = self.data.qvel.copy()
        low, high = self.model.actuator_ctrlrange.T.astype(np.float32)
        self.action_space = gymnasium.spaces.Box(low, high, dtype=np.float32)
        self.seed(seed)
        self.action_space.seed(int(self.np_random.integers(2 ** 31)))
        obs = self._reset_physics()
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, obs.shape, np.float64)

    def configure_spec(self, spec: mujoco.MjSpec) -> None:
        """Sets rllab's physics options on the loaded model (override per task)."""

    def initial_qpos(self) -> np.ndarray:
        """The pose resets perturb (default: the model's qpos0)."""
        return self.data.qpos.copy()

    def sample_reset(self) -> Tuple[np.ndarray, np.ndarray]:
        """(qpos, qvel) of a new episode, drawn from the env's RNG (default: rllab's)."""
        return (self.init_qpos + self.np_random.normal(size=self.model.nq) * self.RESET_QPOS_STD,
                self.init_qvel + self.np_random.normal(size=self.model.nv) * self.RESET_QVEL_STD)

    def body_id(self, name: str) -> int:
        return self.model.body(name).id

    def get_obs(self) -> np.ndarray:
        raise NotImplementedError

    def _forward(self) -> None:
        mujoco.mj_forward(self.model, self.data)
        mujoco.mj_subtreeVel(self.model, self.data)

    def _reset_physics(self) -> np.ndarray:
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[:], self.data.qvel[:] = self.sample_reset()
        self._forward()
        return self.get_obs()

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None
              ) -> Tuple[np.ndarray, Dict[str, Any]]:
        if seed is not None:
            self.seed(seed)
        return self._reset_physics(), {}

    def do_simulation(self, action: np.ndarray) -> None:
        self.data.ctrl[:] = action
        mujoco.mj_step(self.model, self.data, nstep=self.FRAME_SKIP)
        self._forward()

    def step(self, action: np.ndarray) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
        action = self.check_action(action)
        self.do_simulation(action)
        obs = self.get_obs()
        reward, done = self.physics_reward(action)
        return obs, reward, done, False, {}

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        """Reward and termination from simulator quantities (not from the observation)."""
        raise NotImplementedError
