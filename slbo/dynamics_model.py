"""Dynamics model: an MLP predicting the normalised state difference."""
from __future__ import annotations

from typing import List, Optional

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.utils.normalizer import Normalizers

NEXT_STATE_CLIP = 100.0  # the published bound on the model's normalised next state, ±


class StateBounds(nn.Module):
    """Per-coordinate [min, max] of the real states seen so far, as non-trainable variables
    (so checkpoints carry them); ±inf, i.e. no bound, until the first update."""

    def __init__(self, dim_state: int):
        super().__init__()
        with self.scope:
            self.op_low = nn.Parameter(tf.fill([dim_state], -np.inf), name="low", trainable=False)
            self.op_high = nn.Parameter(tf.fill([dim_state], np.inf), name="high", trainable=False)

    def forward(self, states: tf.Tensor) -> tf.Tensor:
        return tf.clip_by_value(states, self.op_low, self.op_high)

    def update(self, samples: np.ndarray) -> None:
        """Widens the bounds to cover `samples` [N, dim_state] (finite real states)."""
        low, high = nn.read_values([self.op_low, self.op_high])
        seen = np.isfinite(low)
        nn.assign_values([self.op_low, self.op_high],
                         [np.where(seen, np.minimum(low, samples.min(axis=0)), samples.min(axis=0)),
                          np.where(seen, np.maximum(high, samples.max(axis=0)), samples.max(axis=0))])


class DynamicsModel(nn.Module):
    """next = s + denorm(MLP([norm(s), clip(a, −1, 1)])), with norm(next) clipped to ±100; with
    `clip_to_data`, next is also clipped to the range of the real states seen (`bounds`)."""

    def __init__(self, dim_state: int, dim_action: int, normalizers: Normalizers, hidden_sizes: List[int],
                 clip_to_data: bool = False):
        super().__init__()
        self.dim_state, self.dim_action = dim_state, dim_action
        self.normalizers = normalizers
        with self.scope:
            self.net = nn.mlp([dim_state + dim_action, *hidden_sizes, dim_state], nn.ReLU,
                              nn.truncated_normal_initializer(1e-5))
            self.op_states = tf.placeholder(tf.float32, [None, dim_state], name="states")
            self.op_actions = tf.placeholder(tf.float32, [None, dim_action], name="actions")
            # Created only when used: the published graph keeps its ops (and op seeds) unchanged.
            self.bounds: Optional[StateBounds] = StateBounds(dim_state) if clip_to_data else None
        self.op_next_states = self(self.op_states, self.op_actions)

    def forward(self, states: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        state_norm = self.normalizers.state
        inputs = tf.concat([state_norm(states), tf.clip_by_value(actions, -1.0, 1.0)], axis=-1)
        next_states = states + self.normalizers.diff(self.net(inputs), inverse=True)
        next_states = state_norm(tf.clip_by_value(state_norm(next_states), -NEXT_STATE_CLIP, NEXT_STATE_CLIP),
                                 inverse=True)
        return next_states if self.bounds is None else self.bounds(next_states)

    def predict(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return self.eval("next_states", states=states, actions=actions)

    def normalise(self, states: np.ndarray) -> np.ndarray:
        """`states` [.., dim_state] in the units of the model's clip: the state normaliser's, in numpy."""
        mean, std, _ = self.normalizers.state.stats()
        return (states - mean) / np.maximum(std, self.normalizers.state.eps)

    def clipped_coordinates(self, states: np.ndarray) -> np.ndarray:
        """[.., dim_state] bool: the coordinates of the model's predicted `states` at the ±NEXT_STATE_CLIP
        bound of the normalised state, i.e. set by the clip, not by the network (within 0.1 of it:
        float32 rounding)."""
        return np.abs(self.normalise(states)) >= NEXT_STATE_CLIP * (1 - 1e-3)

    def at_clip(self, states: np.ndarray) -> np.ndarray:
        """[N] bool: which of the predicted `states` [N, dim_state] have a coordinate at the clip."""
        return self.clipped_coordinates(states).any(axis=-1)
