"""Running Gaussian normalisers for states, actions and state differences."""
from __future__ import annotations

from typing import List

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn


class GaussianNormalizer(nn.Module):
    """(x − mean) / max(std, eps); mean/std/count merged batch-wise (parallel-variance formula)."""

    def __init__(self, name: str, shape: List[int], eps: float = 1e-8):
        super().__init__()
        self.name, self.shape, self.eps = name, shape, eps
        with self.scope:
            self.op_mean = nn.Parameter(tf.zeros(shape), name="mean", trainable=False)
            self.op_std = nn.Parameter(tf.ones(shape), name="std", trainable=False)
            self.op_n = nn.Parameter(tf.zeros([], dtype=tf.int64), name="n", trainable=False, dtype=tf.int64)

    def forward(self, x: tf.Tensor, inverse: bool = False) -> tf.Tensor:
        if inverse:
            return x * self.op_std + self.op_mean
        return (x - self.op_mean) / tf.maximum(self.op_std, self.eps)

    def stats(self) -> List[np.ndarray]:
        """[mean, std, n] as numpy values."""
        return nn.read_values([self.op_mean, self.op_std, self.op_n])

    def update(self, samples: np.ndarray) -> None:
        mean, std, n = self.stats()
        new_mean, new_std, new_n = merge_moments(mean, std, int(n), samples)
        nn.assign_values([self.op_mean, self.op_std, self.op_n], [new_mean, new_std, new_n])

    def extra_repr(self) -> str:
        return f"{self.name}, shape={self.shape}"


def merge_moments(mean: np.ndarray, std: np.ndarray, n: int, samples: np.ndarray):
    """Mean, std and count of (old data ∪ samples) from the old moments and the new samples."""
    m = samples.shape[0]
    delta = samples.mean(axis=0) - mean
    total = n + m
    new_mean = mean + delta * m / total
    new_var = (std ** 2 * n + samples.var(axis=0) * m + delta ** 2 * n * m / total) / total
    return new_mean, np.sqrt(new_var), total


class Normalizers(nn.Module):
    def __init__(self, dim_action: int, dim_state: int):
        super().__init__()
        self.action = GaussianNormalizer("action", [dim_action])
        self.state = GaussianNormalizer("state", [dim_state])
        self.diff = GaussianNormalizer("diff", [dim_state])
