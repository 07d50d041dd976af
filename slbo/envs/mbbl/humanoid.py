"""MBBL's humanoids on gymnasium's humanoid.xml (gym's Humanoid, timestep 0.003 × 5), with the
left hip's pitch range as gym had it when MBBL was published (−120°..20°; gym made it −110° in 2019).

gym_humanoid observes qpos[2:] (22), qvel (23), cinert (140), cvel (84), qfrc_actuator (23) and
cfrc_ext (84) = 376; the slim ones only qpos[2:] ‖ qvel (45). Reward of the start state s (MBBL's):
  (0.25/0.015)·vx(s) − 0.1·Σclip(a)² − min(5e-7·‖cfrc_ext(s)‖², 10) [full observation only]
  + 5·[1 ≤ z(s) ≤ 2].
gym_humanoid and gym_slimhumanoid end when the end state's z leaves [1, 2];
gym_nostopslimhumanoid never ends."""
from __future__ import annotations

import functools
import operator
from typing import Any, Dict, Tuple

import mujoco
import numpy as np

from slbo.envs.formula import NUMPY, Ops
from slbo.envs.mbbl.base import MBBLEnv


class HumanoidEnv(MBBLEnv):
    ASSET = "humanoid.xml"
    FRAME_SKIP = 5
    RESET_QPOS = RESET_QVEL = ("uniform", 0.01)
    SLIM = False
    TERMINATES = True
    VX = 22  # observation index of the root x-velocity (qvel[0], after the 22 of qpos[2:])
    N_CFRC_EXT = 84

    def configure_spec(self, spec: mujoco.MjSpec) -> None:
        spec.joint("left_hip_y").range = [-120.0, 20.0]  # degrees, the XML's angle unit

    def _forward(self) -> None:
        super()._forward()
        # cfrc_ext (contact forces on the bodies) is only filled by the post-constraint pass.
        mujoco.mj_rnePostConstraint(self.model, self.data)

    def get_obs(self) -> np.ndarray:
        slim = [self.data.qpos[2:], self.data.qvel]
        if self.SLIM:
            return np.concatenate(slim)
        return np.concatenate([*slim, self.data.cinert.ravel(), self.data.cvel.ravel(),
                               self.data.qfrc_actuator, self.data.cfrc_ext.ravel()])

    def healthy(self, ops: Ops, height: Any) -> Any:
        return ops.logical_and(height >= 1.0, height <= 2.0)

    def terms(self, ops: Ops, vx: Any, height: Any, cfrc_ext: Any, actions: Any,
              next_height: Any) -> Tuple[Dict[str, Any], Any]:
        """The reward's terms, in the order the reward adds them (forward velocity, control cost,
        alive bonus, contact cost on the full observation), and the dones."""
        ctrl = self.clip_actions(ops, actions)
        terms = {"forward": 0.25 / 0.015 * vx, "control": -0.1 * ops.sum(ops.square(ctrl)),
                 "alive": 5.0 * ops.to_float(self.healthy(ops, height), vx)}
        if not self.SLIM:
            terms["contact"] = -ops.minimum(5e-7 * ops.sum(ops.square(cfrc_ext)), 10.0)
        if not self.TERMINATES:
            return terms, ops.false_like(vx)
        return terms, ops.logical_not(self.healthy(ops, next_height))

    def formula(self, ops: Ops, vx: Any, height: Any, cfrc_ext: Any, actions: Any,
                next_height: Any) -> Tuple[Any, Any]:
        terms, dones = self.terms(ops, vx, height, cfrc_ext, actions, next_height)
        return functools.reduce(operator.add, terms.values()), dones

    def snapshot(self) -> Dict[str, Any]:
        return {"vx": self.data.qvel[0], "z": self.data.qpos[2], "cfrc_ext": self.data.cfrc_ext.ravel().copy()}

    def physics_reward(self, action: np.ndarray) -> Tuple[float, bool]:
        b = self.before
        reward, done = self.formula(NUMPY, b["vx"], b["z"], b["cfrc_ext"], action, self.data.qpos[2])
        return float(reward), bool(done)

    def formula_inputs(self, states: Any, actions: Any, next_states: Any) -> Tuple[Any, ...]:
        cfrc_ext = None if self.SLIM else states[..., -self.N_CFRC_EXT:]
        return states[..., self.VX], states[..., 0], cfrc_ext, actions, next_states[..., 0]

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        return self.formula(ops, *self.formula_inputs(states, actions, next_states))


class SlimHumanoidEnv(HumanoidEnv):
    SLIM = True


class NoStopSlimHumanoidEnv(SlimHumanoidEnv):
    TERMINATES = False
