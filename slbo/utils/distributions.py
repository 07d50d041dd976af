"""Diagonal Gaussian maths in TF ops: log-density, KL, and the entropy restricted to [−2, 2]."""
from __future__ import annotations

import numpy as np
import tensorflow.compat.v1 as tf

ENTROPY_LIMIT = 2.0


def log_prob(x: tf.Tensor, mean: tf.Tensor, log_std: tf.Tensor) -> tf.Tensor:
    """Per-dimension log-density."""
    return -0.5 * tf.square((x - mean) / tf.exp(log_std)) - log_std - 0.5 * np.log(2 * np.pi)


def kl(mean0: tf.Tensor, log_std0: tf.Tensor, mean1: tf.Tensor, log_std1: tf.Tensor) -> tf.Tensor:
    """Per-dimension KL(N0 ‖ N1)."""
    var0, var1 = tf.exp(2 * log_std0), tf.exp(2 * log_std1)
    return log_std1 - log_std0 + (var0 + tf.square(mean0 - mean1)) / (2 * var1) - 0.5


def limited_entropy(mean: tf.Tensor, std: tf.Tensor) -> tf.Tensor:
    """Per-dimension entropy of the Gaussian restricted to [−2, 2] (the published code's bonus):
    with hi = (2−μ)/(σ√2), lo = (−2−μ)/(σ√2),
    H = ½(log σ + ½log 2π)(erf hi − erf lo) + ½(e^{−hi²}·hi − e^{−lo²}·lo)."""
    hi = (ENTROPY_LIMIT - mean) / (std * np.sqrt(2))
    lo = (-ENTROPY_LIMIT - mean) / (std * np.sqrt(2))
    return (0.5 * (tf.log(std) + 0.5 * np.log(2 * np.pi)) * (tf.erf(hi) - tf.erf(lo))
            + 0.5 * (tf.exp(-hi * hi) * hi - tf.exp(-lo * lo) * lo))
