"""MBBL's classic-control tasks in numpy (their dynamics are closed-form, no MuJoCo): Pendulum,
Acrobot, CartPole, MountainCar, and the noisy Pendulum/CartPole variants.

All score the start state of a transition and never terminate (MBBL removed gym's terminations)."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import gymnasium
import numpy as np

from slbo.envs import BaseModelBasedEnv
from slbo.envs.formula import NUMPY, FormulaEnv, Ops
from slbo.envs.mbbl.base import NoiseMixin, transition_info


class ClassicEnv(FormulaEnv, NoiseMixin, BaseModelBasedEnv):
    """A task given by `initial_state`, `dynamics`, `observation` and `reward(ops, obs, action)`;
    `true_reward(state, action)` computes the same reward from the internal state."""

    ACTION_LOW: float = -1.0
    ACTION_HIGH: float = 1.0
    ACTION_DIM = 1
    max_episode_steps = 200

    def __init__(self, seed: Optional[int] = None):
        shape = (self.ACTION_DIM,)
        self.action_space = gymnasium.spaces.Box(self.ACTION_LOW, self.ACTION_HIGH, shape, dtype=np.float32)
        self.seed(seed)
        self.action_space.seed(int(self.np_random.integers(2 ** 31)))
        self.state = self.initial_state()
        obs_shape = self.observation(self.state).shape
        self.observation_space = gymnasium.spaces.Box(-np.inf, np.inf, obs_shape, np.float64)

    def initial_state(self) -> np.ndarray:
        raise NotImplementedError

    def dynamics(self, state: np.ndarray, action: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def observation(self, state: np.ndarray) -> np.ndarray:
        return np.array(state, dtype=np.float64)

    def reward(self, ops: Ops, states: Any, actions: Any) -> Any:
        """Reward of the start observation `states` and the action."""
        raise NotImplementedError

    def true_reward(self, state: np.ndarray, action: np.ndarray) -> float:
        return float(self.reward(NUMPY, self.observation(state), action))

    def reset(self, *, seed: Optional[int] = None, options: Optional[Dict[str, Any]] = None
              ) -> Tuple[np.ndarray, Dict[str, Any]]:
        if seed is not None:
            self.seed(seed)
        self.state = self.initial_state()
        return self.observation(self.state), {}

    def step(self, action: np.ndarray) -> Tuple[np.ndarray, float, bool, bool, Dict[str, Any]]:
        action = self.check_action(action)
        applied = self.perturb_action(action)
        reward = self.true_reward(self.state, applied)
        self.state = self.dynamics(self.state, applied)
        clean = self.observation(self.state)
        return self.observe(clean), reward, False, False, transition_info(clean, applied)

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        rewards = self.reward(ops, states, actions)
        return rewards, ops.false_like(rewards)


class PendulumEnv(ClassicEnv):
    """Pendulum (gym's dynamics, dt 0.05, |θ̇| ≤ 8, torque ±2). Observation (cos θ, sin θ, θ̇);
    reward −(cos θ + 0.1|sin θ| + 0.1θ̇² + 0.001u²) of the start state."""

    ACTION_LOW, ACTION_HIGH = -2.0, 2.0
    MAX_SPEED, DT, G, M, L = 8.0, 0.05, 10.0, 1.0, 1.0

    def initial_state(self) -> np.ndarray:
        return self.np_random.uniform(low=[-np.pi, -1.0], high=[np.pi, 1.0])

    def dynamics(self, state: np.ndarray, action: np.ndarray) -> np.ndarray:
        theta, theta_dot = state
        u = float(np.clip(action[0], self.ACTION_LOW, self.ACTION_HIGH))
        accel = -3 * self.G / (2 * self.L) * np.sin(theta + np.pi) + 3.0 / (self.M * self.L ** 2) * u
        theta_dot = theta_dot + accel * self.DT
        # gym's order: the angle moves with the unclipped velocity, then the velocity is clipped
        theta = theta + theta_dot * self.DT
        return np.array([theta, np.clip(theta_dot, -self.MAX_SPEED, self.MAX_SPEED)])

    def observation(self, state: np.ndarray) -> np.ndarray:
        return np.array([np.cos(state[0]), np.sin(state[0]), state[1]])

    def reward(self, ops: Ops, states: Any, actions: Any) -> Any:
        u = ops.clip(actions[..., 0], self.ACTION_LOW, self.ACTION_HIGH)
        cos, sin, theta_dot = states[..., 0], states[..., 1], states[..., 2]
        return -(cos + 0.1 * ops.abs(sin) + 0.1 * ops.square(theta_dot) + 0.001 * ops.square(u))

    def true_reward(self, state: np.ndarray, action: np.ndarray) -> float:
        theta, theta_dot = state
        u = float(np.clip(action[0], self.ACTION_LOW, self.ACTION_HIGH))
        return -(math.cos(theta) + 0.1 * abs(math.sin(theta)) + 0.1 * theta_dot ** 2 + 0.001 * u ** 2)


class AcrobotEnv(ClassicEnv):
    """Acrobot (Sutton & Barto's book dynamics, one RK4 step of dt 0.2). The action in [−1, 1]
    picks a torque of −1, 0 or +1 (thresholds ∓0.33). Observation (cos θ1, sin θ1, cos θ2,
    sin θ2, θ̇1, θ̇2); reward −cos θ1 − cos(θ1 + θ2) of the start state (minus the tip height)."""

    DT = 0.2
    LINK_LENGTH_1 = LINK_MASS_1 = LINK_MASS_2 = LINK_MOI = 1.0
    LINK_COM_POS_1 = LINK_COM_POS_2 = 0.5
    MAX_VEL_1, MAX_VEL_2 = 4 * np.pi, 9 * np.pi

    def initial_state(self) -> np.ndarray:
        return self.np_random.uniform(low=-0.1, high=0.1, size=4)

    def _derivatives(self, s: np.ndarray, torque: float) -> np.ndarray:
        m1, m2, l1 = self.LINK_MASS_1, self.LINK_MASS_2, self.LINK_LENGTH_1
        lc1, lc2, inertia, g = self.LINK_COM_POS_1, self.LINK_COM_POS_2, self.LINK_MOI, 9.8
        theta1, theta2, dtheta1, dtheta2 = s
        d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * np.cos(theta2)) + 2 * inertia
        d2 = m2 * (lc2 ** 2 + l1 * lc2 * np.cos(theta2)) + inertia
        phi2 = m2 * lc2 * g * np.cos(theta1 + theta2 - np.pi / 2)
        phi1 = (-m2 * l1 * lc2 * dtheta2 ** 2 * np.sin(theta2)
                - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * np.sin(theta2)
                + (m1 * lc1 + m2 * l1) * g * np.cos(theta1 - np.pi / 2) + phi2)
        ddtheta2 = ((torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 ** 2 * np.sin(theta2) - phi2)
                    / (m2 * lc2 ** 2 + inertia - d2 ** 2 / d1))
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return np.array([dtheta1, dtheta2, ddtheta1, ddtheta2])

    def dynamics(self, state: np.ndarray, action: np.ndarray) -> np.ndarray:
        torque = -1.0 if action[0] < -0.33 else (0.0 if action[0] < 0.33 else 1.0)
        h = self.DT
        k1 = self._derivatives(state, torque)
        k2 = self._derivatives(state + h / 2 * k1, torque)
        k3 = self._derivatives(state + h / 2 * k2, torque)
        k4 = self._derivatives(state + h * k3, torque)
        s = state + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        return np.array([wrap_angle(s[0]), wrap_angle(s[1]),
                         np.clip(s[2], -self.MAX_VEL_1, self.MAX_VEL_1),
                         np.clip(s[3], -self.MAX_VEL_2, self.MAX_VEL_2)])

    def observation(self, state: np.ndarray) -> np.ndarray:
        return np.array([np.cos(state[0]), np.sin(state[0]), np.cos(state[1]), np.sin(state[1]),
                         state[2], state[3]])

    def reward(self, ops: Ops, states: Any, actions: Any) -> Any:
        cos1, sin1, cos2, sin2 = (states[..., i] for i in range(4))
        return -(cos1 + cos1 * cos2 - sin1 * sin2)

    def true_reward(self, state: np.ndarray, action: np.ndarray) -> float:
        return -math.cos(state[0]) - math.cos(state[0] + state[1])


def wrap_angle(x: float) -> float:
    """Into [−π, π] by whole turns (as rlpy's `wrap`: values on the bounds stay)."""
    while x > np.pi:
        x -= 2 * np.pi
    while x < -np.pi:
        x += 2 * np.pi
    return x


class CartPoleEnv(ClassicEnv):
    """CartPole (Barto et al.'s Euler dynamics, tau 0.02). The action's sign picks a force of
    ±10; observation (x, ẋ, θ, θ̇); reward cos θ − 0.01x² of the start state; no termination."""

    GRAVITY, MASS_CART, MASS_POLE, HALF_LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02

    def initial_state(self) -> np.ndarray:
        return self.np_random.uniform(low=-0.05, high=0.05, size=4)

    def dynamics(self, state: np.ndarray, action: np.ndarray) -> np.ndarray:
        x, x_dot, theta, theta_dot = state
        force = self.FORCE if action[0] > 0.0 else -self.FORCE
        total_mass = self.MASS_CART + self.MASS_POLE
        pole_moment = self.MASS_POLE * self.HALF_LENGTH
        cos, sin = math.cos(theta), math.sin(theta)
        temp = (force + pole_moment * theta_dot ** 2 * sin) / total_mass
        theta_acc = ((self.GRAVITY * sin - cos * temp)
                     / (self.HALF_LENGTH * (4.0 / 3.0 - self.MASS_POLE * cos ** 2 / total_mass)))
        x_acc = temp - pole_moment * theta_acc * cos / total_mass
        return np.array([x + self.TAU * x_dot, x_dot + self.TAU * x_acc,
                         theta + self.TAU * theta_dot, theta_dot + self.TAU * theta_acc])

    def reward(self, ops: Ops, states: Any, actions: Any) -> Any:
        return ops.cos(states[..., 2]) - 0.01 * ops.square(states[..., 0])


class MountainCarEnv(ClassicEnv):
    """Continuous MountainCar (power 0.0015, |v| ≤ 0.07, x in [−1.2, 0.6]); observation (x, v);
    reward x of the start state; no goal termination."""

    POWER, MAX_SPEED, MIN_POSITION, MAX_POSITION = 0.0015, 0.07, -1.2, 0.6

    def initial_state(self) -> np.ndarray:
        return np.array([self.np_random.uniform(low=-0.6, high=-0.4), 0.0])

    def dynamics(self, state: np.ndarray, action: np.ndarray) -> np.ndarray:
        position, velocity = state
        force = min(max(float(action[0]), -1.0), 1.0)
        velocity = float(np.clip(velocity + force * self.POWER - 0.0025 * math.cos(3 * position),
                                 -self.MAX_SPEED, self.MAX_SPEED))
        position = float(np.clip(position + velocity, self.MIN_POSITION, self.MAX_POSITION))
        if position == self.MIN_POSITION and velocity < 0:
            velocity = 0.0
        return np.array([position, velocity])

    def reward(self, ops: Ops, states: Any, actions: Any) -> Any:
        return states[..., 0]

    def true_reward(self, state: np.ndarray, action: np.ndarray) -> float:
        return float(state[0])


class PendulumO01Env(PendulumEnv):
    OBS_NOISE = 0.1


class PendulumO001Env(PendulumEnv):
    OBS_NOISE = 0.01


class CartPoleO01Env(CartPoleEnv):
    OBS_NOISE = 0.1


class CartPoleO001Env(CartPoleEnv):
    OBS_NOISE = 0.01
