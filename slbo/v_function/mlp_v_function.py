"""State-value function: tanh MLP [64, 64] on the normalised state."""
from __future__ import annotations

from typing import List

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.utils.normalizer import GaussianNormalizer


class MLPVFunction(nn.Module):
    def __init__(self, dim_state: int, hidden_sizes: List[int], normalizer: GaussianNormalizer):
        super().__init__()
        self.normalizer = normalizer
        with self.scope:
            self.net = nn.mlp([dim_state, *hidden_sizes, 1], nn.Tanh, nn.normc_initializer(1.0))
            self.op_states = tf.placeholder(tf.float32, [None, dim_state], name="states")
        self.op_values = self(self.op_states)

    def forward(self, states: tf.Tensor) -> tf.Tensor:
        return tf.squeeze(self.net(self.normalizer(states)), axis=-1)

    def get_values(self, states: np.ndarray) -> np.ndarray:
        return self.eval("values", states=states)
