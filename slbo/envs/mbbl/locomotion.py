"""MBBL's locomotion tasks on gymnasium's XMLs (the gym models MBBL used), their "Fixed"
versions with terminations, and HalfCheetah's noisy variants.

Observation: qpos[SKIP:] ‖ qvel (gym's layout: the root x, and for Ant and Swimmer the root y,
left out). Reward, from the start state s of a transition (MBBL's convention):
  vx(s) − c·Σclip(a)² − h·(height(s) − target)² + alive,
vx the root x-velocity. alive is a constant (1 or 0) for the plain tasks, which never
terminate; the Fixed tasks terminate on an unhealthy end state s' and get alive = 1 − done(s')."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np

from slbo.envs import ObservationLayout, consecutive_groups
from slbo.envs.formula import NUMPY, Ops
from slbo.envs.mbbl.base import MBBLEnv


class LocomotionEnv(MBBLEnv):
    SKIP = 1               # leading qpos entries left out of the observation
    HEIGHT_QPOS = 1        # qpos index of the torso height (gym order: rootx, rootz, rooty)
    ANGLE_QPOS = 2         # qpos index of the torso pitch
    CTRL_COST = 0.1
    HEIGHT_COST = 0.0
    TARGET_HEIGHT = 0.0
    ALIVE_BONUS = 0.0
    TERMINATES = False     # Fixed tasks: done on an unhealthy end state, alive bonus 1 − done

    def __init__(self, seed: int | None = None):
        super().__init__(seed)
        self.vx_index = self.model.nq - self.SKIP
        self.height_index, self.angle_index = self.HEIGHT_QPOS - self.SKIP, self.ANGLE_QPOS - self.SKIP

    def get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos[self.SKIP:], self.data.qvel])

    def observation_layout(self) -> ObservationLayout:
        groups = consecutive_groups([("qpos", self.model.nq - self.SKIP), ("qvel", self.model.nv)])
        reward = [self.vx_index]
        if self.HEIGHT_COST or self.TERMINATES:
            reward.append(self.height_index)
        if self.TERMINATES and self.angle_index != self.height_index:
            reward.append(self.angle_index)  # the alive bonus 1 − done reads the end state's pitch
        return ObservationLayout(groups, reward)

    def unhealthy(self, ops: Ops, height: Any, angle: Any) -> Any:
        raise NotImplementedError

    def terms(self, ops: Ops, vx: Any, height: Any, actions: Any, next_height: Any,
              next_angle: Any) -> Tuple[Dict[str, Any], Any]:
        """The reward's terms and the dones: forward velocity, control cost, height cost (tasks
        with one) and alive bonus (a constant, or 1 − done on the Fixed tasks)."""
        ctrl = self.clip_actions(ops, actions)
        terms = {"forward": vx, "control": -self.CTRL_COST * ops.sum(ops.square(ctrl))}
        if self.HEIGHT_COST:
            terms["height"] = -self.HEIGHT_COST * ops.square(height - self.TARGET_HEIGHT)
        if not self.TERMINATES:
            return {**terms, "alive": self.ALIVE_BONUS}, ops.false_like(vx)
        dones = self.unhealthy(ops, next_height, next_angle)
        return {**terms, "alive": 1.0 - ops.to_float(dones, vx)}, dones

    def formula(self, ops: Ops, vx: Any, height: Any, actions: Any, next_height: Any,
                next_angle: Any) -> Tuple[Any, Any]:
        terms, dones = self.terms(ops, vx, height, actions, next_height, next_angle)
        # Added in the order MBBL's code adds them, so that the float sums round as they did there.
        rewards = terms["forward"] + terms["control"] + self.ALIVE_BONUS
        if self.HEIGHT_COST:
            rewards = rewards + terms["height"]
        if not self.TERMINATES:
            return rewards, dones
        return rewards + 1.0 - ops.to_float(dones, rewards), dones

    def snapshot(self) -> Dict[str, Any]:
        return {"vx": self.data.qvel[0], "height": self.data.qpos[self.HEIGHT_QPOS]}

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        reward, done = self.formula(NUMPY, self.before["vx"], self.before["height"], action,
                                    self.data.qpos[self.HEIGHT_QPOS], self.data.qpos[self.ANGLE_QPOS])
        return float(reward), bool(done)

    def formula_inputs(self, states: Any, actions: Any, next_states: Any) -> Tuple[Any, ...]:
        return (states[..., self.vx_index], states[..., self.height_index], actions,
                next_states[..., self.height_index], next_states[..., self.angle_index])

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        return self.formula(ops, *self.formula_inputs(states, actions, next_states))


class HalfCheetahEnv(LocomotionEnv):
    """MBBL HalfCheetah (17-d obs): timestep 0.01 × 5; reward vx − 0.1·Σclip(a)²."""
    ASSET = "half_cheetah.xml"
    FRAME_SKIP = 5


class HopperEnv(LocomotionEnv):
    """MBBL Hopper (11-d obs): timestep 0.002 × 4; reward vx − 0.1·Σclip(a)² − 3(z − 1.3)² + 1."""
    ASSET = "hopper.xml"
    FRAME_SKIP = 4
    HEIGHT_COST, TARGET_HEIGHT, ALIVE_BONUS = 3.0, 1.3, 1.0
    RESET_QPOS = RESET_QVEL = ("uniform", 0.005)


class Walker2DEnv(HopperEnv):
    """MBBL Walker2D (17-d obs): timestep 0.002 × 4; reward as Hopper's."""
    ASSET = "walker2d.xml"


class AntEnv(LocomotionEnv):
    """MBBL Ant (27-d obs): timestep 0.01 × 5; reward vx − 0.1·Σclip(a)² − 3(z − 0.57)² + 1."""
    ASSET = "ant.xml"
    FRAME_SKIP = 5
    SKIP, HEIGHT_QPOS = 2, 2
    ANGLE_QPOS = 2  # Ant's health looks at the height only
    HEIGHT_COST, TARGET_HEIGHT, ALIVE_BONUS = 3.0, 0.57, 1.0


class SwimmerEnv(LocomotionEnv):
    """MBBL Swimmer (8-d obs): timestep 0.01 × 4; reward vx − 1e-4·Σclip(a)²."""
    ASSET = "swimmer.xml"
    FRAME_SKIP = 4
    SKIP = HEIGHT_QPOS = ANGLE_QPOS = 2  # no height term; indices only keep the layout valid
    CTRL_COST = 1e-4
    RESET_QPOS = RESET_QVEL = ("uniform", 0.1)


class FixedHopperEnv(HopperEnv):
    """FixedHopper: done when z ≤ 0.7 or |pitch| ≥ 0.2; alive bonus 1 − done."""
    ALIVE_BONUS = 0.0
    TERMINATES = True

    def unhealthy(self, ops: Ops, height: Any, angle: Any) -> Any:
        return ops.logical_or(height <= 0.7, ops.abs(angle) >= 0.2)


class FixedWalker2DEnv(Walker2DEnv):
    """FixedWalker: done when z ≥ 2, z ≤ 0.8 or |pitch| ≥ 1; alive bonus 1 − done."""
    ALIVE_BONUS = 0.0
    TERMINATES = True

    def unhealthy(self, ops: Ops, height: Any, angle: Any) -> Any:
        return ops.logical_or(ops.logical_or(height >= 2.0, height <= 0.8), ops.abs(angle) >= 1.0)


class FixedAntEnv(AntEnv):
    """FixedAnt: done when z > 1 or z < 0.2; alive bonus 1 − done."""
    ALIVE_BONUS = 0.0
    TERMINATES = True

    def unhealthy(self, ops: Ops, height: Any, angle: Any) -> Any:
        return ops.logical_or(height > 1.0, height < 0.2)


class HalfCheetahO01Env(HalfCheetahEnv):
    """HalfCheetah with uniform ±0.1 observation noise."""
    OBS_NOISE = 0.1


class HalfCheetahO001Env(HalfCheetahEnv):
    """HalfCheetah with uniform ±0.01 observation noise."""
    OBS_NOISE = 0.01


class HalfCheetahA01Env(HalfCheetahEnv):
    """HalfCheetah with uniform ±0.1 action noise."""
    ACTION_NOISE = 0.1


class HalfCheetahA003Env(HalfCheetahEnv):
    """HalfCheetah with uniform ±0.03 action noise."""
    ACTION_NOISE = 0.03
