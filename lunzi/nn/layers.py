"""Linear, Sequential and activations; each has a TF `forward` and a numpy `fast` twin."""
from __future__ import annotations

from typing import Callable, List, Optional

import numpy as np
import tensorflow.compat.v1 as tf

from .module import Module
from .parameter import Parameter


def normc_initializer(std: float = 1.0) -> Callable:
    """Gaussian weights whose columns are scaled to norm `std` (the "normc" init of OpenAI baselines)."""

    def init(shape: List[int], dtype=tf.float32) -> tf.Tensor:
        w = tf.random.normal(shape, dtype=dtype)
        return w * std / tf.sqrt(tf.reduce_sum(tf.square(w), axis=0, keepdims=True))

    return init


def truncated_normal_initializer(std: float) -> Callable:
    def init(shape: List[int], dtype=tf.float32) -> tf.Tensor:
        return tf.random.truncated_normal(shape, stddev=std, dtype=dtype)

    return init


def glorot_uniform_initializer() -> Callable:
    def init(shape: List[int], dtype=tf.float32) -> tf.Tensor:
        limit = np.sqrt(6.0 / (shape[0] + shape[1]))
        return tf.random.uniform(shape, -limit, limit, dtype=dtype)

    return init


class Linear(Module):
    def __init__(self, in_features: int, out_features: int, weight_initializer: Optional[Callable] = None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        init = weight_initializer or glorot_uniform_initializer()
        with self.scope:
            self.weight = Parameter(init([in_features, out_features]), name="weight")
            self.bias = Parameter(tf.zeros([out_features]), name="bias")

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.matmul(x, self.weight) + self.bias

    def fast(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return x @ weight + bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class ReLU(Module):
    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(x)

    @staticmethod
    def fast(x: np.ndarray) -> np.ndarray:
        return np.maximum(x, 0.0)


class Tanh(Module):
    def forward(self, x: tf.Tensor) -> tf.Tensor:
        return tf.tanh(x)

    @staticmethod
    def fast(x: np.ndarray) -> np.ndarray:
        return np.tanh(x)


class Sequential(Module):
    def __init__(self, *modules: Module):
        super().__init__()
        for i, module in enumerate(modules):
            self._modules[str(i)] = module

    def forward(self, x: tf.Tensor) -> tf.Tensor:
        for module in self._modules.values():
            x = module(x)
        return x

    def fast(self, x: np.ndarray, weights: List[np.ndarray]) -> np.ndarray:
        """Numpy forward pass with `weights` = read_values(self.parameters())."""
        it = iter(weights)
        for module in self._modules.values():
            if isinstance(module, Linear):
                x = module.fast(x, next(it), next(it))
            else:
                x = module.fast(x)
        return x


def mlp(sizes: List[int], activation: type, weight_initializer: Optional[Callable] = None,
        output_initializer: Optional[Callable] = None) -> Sequential:
    """Linear layers of `sizes` with `activation` between them (none after the last)."""
    layers: List[Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Linear(n_in, n_out, output_initializer if last and output_initializer else weight_initializer))
        if not last:
            layers.append(activation())
    return Sequential(*layers)
