"""Pointwise losses reduced over the last axis: a sum per sample, or a mean when size_average."""
from __future__ import annotations

import tensorflow.compat.v1 as tf

from .module import Module


class PointwiseLoss(Module):
    def __init__(self, size_average: bool = False):
        super().__init__()
        self.size_average = size_average

    def pointwise(self, output: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def reduce(self, x: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(x, axis=-1) if self.size_average else tf.reduce_sum(x, axis=-1)

    def forward(self, output: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        return self.reduce(self.pointwise(output, target))

    def extra_repr(self) -> str:
        return f"size_average={self.size_average}"


class L1Loss(PointwiseLoss):
    """Σ|x| per sample."""

    def pointwise(self, output: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        return tf.abs(output - target)


class L2Loss(PointwiseLoss):
    """sqrt(Σx²) per sample: a norm, not a square."""

    def pointwise(self, output: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        return tf.square(output - target)

    def forward(self, output: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        return tf.sqrt(self.reduce(self.pointwise(output, target)))


class MSELoss(PointwiseLoss):
    """Σx² per sample."""

    def pointwise(self, output: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        return tf.square(output - target)


CRITERIA = {"L1": L1Loss, "L2": L2Loss, "MSE": MSELoss}
