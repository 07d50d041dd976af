"""Dynamics model: an MLP predicting the normalised state difference."""
from __future__ import annotations

from typing import List

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.utils.normalizer import Normalizers


class DynamicsModel(nn.Module):
    """next = s + denorm(MLP([norm(s), clip(a, −1, 1)])), with norm(next) clipped to ±100."""

    def __init__(self, dim_state: int, dim_action: int, normalizers: Normalizers, hidden_sizes: List[int]):
        super().__init__()
        self.dim_state, self.dim_action = dim_state, dim_action
        self.normalizers = normalizers
        with self.scope:
            self.net = nn.mlp([dim_state + dim_action, *hidden_sizes, dim_state], nn.ReLU,
                              nn.truncated_normal_initializer(1e-5))
            self.op_states = tf.placeholder(tf.float32, [None, dim_state], name="states")
            self.op_actions = tf.placeholder(tf.float32, [None, dim_action], name="actions")
        self.op_next_states = self(self.op_states, self.op_actions)

    def forward(self, states: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
        state_norm = self.normalizers.state
        inputs = tf.concat([state_norm(states), tf.clip_by_value(actions, -1.0, 1.0)], axis=-1)
        next_states = states + self.normalizers.diff(self.net(inputs), inverse=True)
        return state_norm(tf.clip_by_value(state_norm(next_states), -100.0, 100.0), inverse=True)

    def predict(self, states: np.ndarray, actions: np.ndarray) -> np.ndarray:
        return self.eval("next_states", states=states, actions=actions)
