"""What the rllab locomotion tasks share (rllab commit b3a2899, as the published SLBO code wraps them).

Observation: qpos ‖ qvel ‖ [torso rotation matrix, Ant only] ‖ subtree COM of the torso ‖
subtree COM velocity of the torso. Reward: COM x-velocity + alive bonus − c·Σ(a / half-range)²,
on the action as given (rllab does not clip it; MuJoCo clamps the control). Terminations are
functions of qpos ‖ qvel, which the observation starts with. (HalfCheetah alone clips the action
before its control cost, as rllab's does.)"""
from __future__ import annotations

from typing import Any, Sequence, Tuple

import mujoco
import numpy as np

from slbo.envs import ObservationLayout, consecutive_groups
from slbo.envs.formula import NUMPY, FormulaEnv, Ops
from slbo.envs.mujoco.base import MujocoEnv


def set_motors(spec: mujoco.MjSpec, ctrl_limits: Sequence[float]) -> None:
    """rllab's actuators: unit gear, control range ±limit (gymnasium folds the limit into the gear)."""
    for actuator, limit in zip(spec.actuators, ctrl_limits, strict=True):
        actuator.gear[0] = 1.0
        actuator.ctrlrange = [-limit, limit]


def rllab_root_order(spec: mujoco.MjSpec) -> None:
    """Reorders the planar root joints as rllab's XMLs do: rootz, rootx, rooty.

    gymnasium declares rootx first; both slide joints sit at the same point with the same
    (zero) damping and armature, so swapping their axis, reference and name is the reorder."""
    first, second = spec.joint("rootx"), spec.joint("rootz")
    first.axis, second.axis = second.axis.copy(), first.axis.copy()
    first.ref, second.ref = second.ref, first.ref
    first.name = "swapping"  # names must stay unique at every assignment
    second.name, first.name = "rootx", "rootz"


class RllabEnv(FormulaEnv, MujocoEnv):
    TORSO = "torso"
    WITH_XMAT = False     # Ant's observation carries the torso's rotation matrix
    ALIVE_BONUS = 0.0
    CTRL_COST = 0.0       # c in c·Σ(a / half-range)²
    CLIP_ACTIONS = False  # clip the action to its bounds before the control cost
    REWARD_COMVEL = (0,)  # the COM-velocity axes the reward reads (x)

    def __init__(self, seed: int | None = None):
        super().__init__(seed)
        self.action_scale = (self.action_space.high - self.action_space.low).astype(np.float64) / 2
        self.n_state = self.model.nq + self.model.nv

    def get_obs(self) -> np.ndarray:
        torso = self.body_id(self.TORSO)
        xmat = [self.data.xmat[torso]] if self.WITH_XMAT else []
        return np.concatenate([self.data.qpos, self.data.qvel, *xmat,
                               self.data.subtree_com[torso], self.data.subtree_linvel[torso]])

    def observation_layout(self) -> ObservationLayout:
        xmat = [("xmat", 9)] if self.WITH_XMAT else []
        groups = consecutive_groups([("qpos", self.model.nq), ("qvel", self.model.nv), *xmat,
                                     ("com", 3), ("comvel", 3)])
        return ObservationLayout(groups, [groups["comvel"][axis] for axis in self.REWARD_COMVEL])

    def reward(self, ops: Ops, comvel: Any, actions: Any) -> Any:
        if self.CLIP_ACTIONS:
            actions = self.clip_actions(ops, actions)
        scaled = actions / ops.const(self.action_scale, actions)
        return comvel[..., 0] + self.ALIVE_BONUS - self.CTRL_COST * ops.sum(ops.square(scaled))

    def terminated(self, ops: Ops, state: Any) -> Any:
        """Dones from qpos ‖ qvel (default: never)."""
        return ops.false_like(state[..., 0])

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        comvel = self.data.subtree_linvel[self.body_id(self.TORSO)]
        state = np.concatenate([self.data.qpos, self.data.qvel])
        return float(self.reward(NUMPY, comvel, action)), bool(self.terminated(NUMPY, state))

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        return (self.reward(ops, next_states[..., -3:], actions),
                self.terminated(ops, next_states[..., :self.n_state]))
