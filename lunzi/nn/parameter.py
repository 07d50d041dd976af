"""Parameters are tf.Variables; reading and assigning many of them costs one session call."""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
import tensorflow.compat.v1 as tf


def Parameter(initial_value, name: str, trainable: bool = True, dtype=tf.float32) -> tf.Variable:
    return tf.Variable(initial_value, name=name, trainable=trainable, dtype=dtype)


def read_values(params: Sequence[tf.Variable]) -> List[np.ndarray]:
    if not params:
        return []
    return tf.get_default_session().run(list(params))


def _assign_op(param: tf.Variable) -> Tuple[tf.Tensor, tf.Operation]:
    """One (placeholder, assign op) per variable, built on first use and kept on the variable."""
    if getattr(param, "_lunzi_assign", None) is None:
        with param.graph.as_default(), tf.name_scope("assign"):
            holder = tf.placeholder(param.dtype.base_dtype, param.shape)
            param._lunzi_assign = (holder, tf.assign(param, holder).op)
    return param._lunzi_assign


def assign_values(params: Sequence[tf.Variable], values: Sequence[np.ndarray]) -> None:
    ops, feed = [], {}
    for param, value in zip(params, values):
        holder, op = _assign_op(param)
        ops.append(op)
        feed[holder] = value
    if ops:
        tf.get_default_session().run(ops, feed)
