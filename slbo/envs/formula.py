"""Rewards written once for both numpy and TF.

An env states its reward and termination as `reward_done(ops, states, actions, next_states)`
over an `Ops` table (numpy's or TF's functions under the same names); `FormulaEnv` turns that
into `mb_step` (numpy) and `mb_step_tf` (TF ops), so the two cannot drift apart."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Dict, Tuple

import numpy as np

Ops = SimpleNamespace

NUMPY = Ops(
    name="numpy",
    sum=lambda x: np.sum(x, axis=-1),
    mean=lambda x: np.mean(x, axis=-1),
    all=lambda x: np.all(x, axis=-1),
    norm=lambda x: np.sqrt(np.sum(np.square(x), axis=-1)),
    square=np.square, abs=np.abs, cos=np.cos, sin=np.sin, exp=np.exp, clip=np.clip,
    minimum=np.minimum, maximum=np.maximum, where=np.where, isfinite=np.isfinite, equal=np.equal,
    logical_and=np.logical_and, logical_or=np.logical_or, logical_not=np.logical_not,
    to_float=lambda x, like: np.asarray(x).astype(np.asarray(like).dtype),
    const=lambda value, like: np.asarray(value, dtype=np.asarray(like).dtype),
    false_like=lambda x: np.zeros(np.shape(x), dtype=bool),
)


def tf_ops() -> Ops:
    """The TF table (TF is imported on first use: numpy-only users never pay for it)."""
    import tensorflow as tf
    return Ops(
        name="tf",
        sum=lambda x: tf.reduce_sum(x, axis=-1),
        mean=lambda x: tf.reduce_mean(x, axis=-1),
        all=lambda x: tf.reduce_all(x, axis=-1),
        norm=lambda x: tf.sqrt(tf.reduce_sum(tf.square(x), axis=-1)),
        square=tf.square, abs=tf.abs, cos=tf.cos, sin=tf.sin, exp=tf.exp, clip=tf.clip_by_value,
        minimum=tf.minimum, maximum=tf.maximum, where=tf.where, isfinite=tf.math.is_finite, equal=tf.equal,
        logical_and=tf.logical_and, logical_or=tf.logical_or, logical_not=tf.logical_not,
        to_float=lambda x, like: tf.cast(x, like.dtype),
        const=lambda value, like: tf.constant(np.asarray(value), dtype=like.dtype),
        false_like=lambda x: tf.zeros_like(x, dtype=tf.bool),
    )


def splits_reward(env: Any) -> bool:
    """Whether `env` states its reward as named terms (`FormulaEnv.reward_terms` works for it)."""
    return isinstance(env, FormulaEnv) and type(env).terms is not FormulaEnv.terms


class FormulaEnv:
    """Mixin: `mb_step` and `mb_step_tf` from one `reward_done` (put it before the env base)."""

    action_space: Any

    def clip_actions(self, ops: Ops, actions: Any) -> Any:
        """Actions clipped to the action space's bounds."""
        return ops.clip(actions, ops.const(self.action_space.low, actions),
                        ops.const(self.action_space.high, actions))

    def reward_done(self, ops: Ops, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        """Rewards [N] and dones [N] in the ops of `ops` (numpy or TF)."""
        raise NotImplementedError

    # A task that states its reward as named terms (forward velocity, control cost, ...) overrides
    # these two: `terms(ops, *formula_inputs(states, actions, next_states))` gives (terms, dones).
    def formula_inputs(self, states: Any, actions: Any, next_states: Any) -> Tuple[Any, ...]:
        raise NotImplementedError

    def terms(self, ops: Ops, *inputs: Any) -> Tuple[Dict[str, Any], Any]:
        raise NotImplementedError

    def reward_terms(self, states: np.ndarray, actions: np.ndarray,
                     next_states: np.ndarray) -> Dict[str, np.ndarray]:
        """The rewards [N] of a batch of transitions split into their named terms [N] each, which
        add up to `mb_step`'s rewards (tasks with `splits_reward` only)."""
        inputs = self.formula_inputs(*(np.asarray(x, dtype=np.float64) for x in (states, actions, next_states)))
        terms, _ = self.terms(NUMPY, *inputs)
        return {name: np.broadcast_to(term, (len(states),)) for name, term in terms.items()}

    def mb_step(self, states: np.ndarray, actions: np.ndarray,
                next_states: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        rewards, dones = self.reward_done(NUMPY, *(np.asarray(x, dtype=np.float64)
                                                   for x in (states, actions, next_states)))
        # Copies: a reward may be a column of the caller's states.
        return np.array(rewards, dtype=np.float64), np.array(dones, dtype=bool)

    def mb_step_tf(self, states: Any, actions: Any, next_states: Any) -> Tuple[Any, Any]:
        import tensorflow as tf
        # Inputs share the states' float dtype, so the formulas can run in float64 when checked.
        dtype = tf.convert_to_tensor(states).dtype
        states, actions, next_states = (tf.cast(x, dtype) for x in (states, actions, next_states))
        rewards, dones = self.reward_done(tf_ops(), states, actions, next_states)
        return tf.cast(rewards, tf.float32), tf.cast(dones, tf.bool)
