"""Gaussian MLP policy: tanh MLP on the normalised state, state-independent log-std."""
from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.utils.normalizer import GaussianNormalizer

Actor = Callable[[np.ndarray], np.ndarray]


class GaussianMLPPolicy(nn.Module):
    def __init__(self, dim_state: int, dim_action: int, hidden_sizes: List[int],
                 normalizer: GaussianNormalizer, init_std: float = 1.0):
        super().__init__()
        self.dim_state, self.dim_action = dim_state, dim_action
        self.hidden_sizes, self.init_std = list(hidden_sizes), init_std
        self.normalizer = normalizer
        with self.scope:
            self.net = nn.mlp([dim_state, *hidden_sizes, dim_action], nn.Tanh,
                              nn.normc_initializer(1.0), nn.normc_initializer(0.01))
            self.log_std = nn.Parameter(tf.fill([dim_action], float(np.log(init_std))), name="log_std")
            self.op_states = tf.placeholder(tf.float32, [None, dim_state], name="states")
        self.op_actions_mean, op_log_std = self(self.op_states)
        self.op_actions_std = tf.exp(op_log_std) + tf.zeros_like(self.op_actions_mean)
        self.op_actions = self.op_actions_mean + self.op_actions_std * tf.random.normal(tf.shape(self.op_actions_mean))

    def forward(self, states: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """(mean [N, da], log_std [da]) of the action distribution."""
        return self.net(self.normalizer(states)), self.log_std

    def clone(self) -> "GaussianMLPPolicy":
        return GaussianMLPPolicy(self.dim_state, self.dim_action, self.hidden_sizes, self.normalizer, self.init_std)

    def actor(self, deterministic: bool = False, rng: Optional[np.random.Generator] = None) -> Actor:
        """A numpy function states -> sampled actions, with the current weights read once.
        Noise comes from `rng`, else from numpy's global RNG (so a run's seed fixes it)."""
        weights = nn.read_values(self.net.parameters())
        log_std, (mean, std, _) = nn.read_values([self.log_std])[0], self.normalizer.stats()
        scale = np.exp(log_std)

        def act(states: np.ndarray) -> np.ndarray:
            mu = self.net.fast((states - mean) / np.maximum(std, self.normalizer.eps), weights)
            if deterministic:
                return mu
            return mu + scale * (np.random.randn(*mu.shape) if rng is None else rng.standard_normal(mu.shape))

        return act
