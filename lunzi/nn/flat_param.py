"""A list of parameters seen as one flat vector (for TRPO's natural-gradient step)."""
from __future__ import annotations

from typing import List

import numpy as np
import tensorflow.compat.v1 as tf

from .module import Module


def n_parameters(params: List[tf.Variable]) -> int:
    return int(sum(np.prod(p.shape.as_list()) for p in params))


def parameters_to_vector(tensors: List[tf.Tensor]) -> tf.Tensor:
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)


def vector_to_parameters(vec: tf.Tensor, params: List[tf.Variable]) -> List[tf.Tensor]:
    out, start = [], 0
    for p in params:
        shape = p.shape.as_list()
        size = int(np.prod(shape))
        out.append(tf.reshape(vec[start:start + size], shape))
        start += size
    return out


def hessian_vec_prod(ys: tf.Tensor, xs: List[tf.Variable], vs: tf.Tensor) -> tf.Tensor:
    grad = parameters_to_vector(tf.gradients(ys, xs))
    return parameters_to_vector(tf.gradients(tf.reduce_sum(grad * tf.stop_gradient(vs)), xs))


class FlatParam(Module):
    def __init__(self, params: List[tf.Variable]):
        super().__init__()
        self.params = list(params)
        with self.scope:
            self.op_flat = tf.placeholder(tf.float32, [n_parameters(self.params)], name="flat")
            self.op_get_flat = parameters_to_vector(self.params)
            self.op_set_flat = tf.group(*[tf.assign(p, v) for p, v in
                                          zip(self.params, vector_to_parameters(self.op_flat, self.params))])

    def get_flat(self) -> np.ndarray:
        return self.eval("get_flat")

    def set_flat(self, flat: np.ndarray) -> None:
        self.eval("set_flat", flat=flat)
