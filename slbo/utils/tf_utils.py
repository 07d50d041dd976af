"""Session configuration shared by every entry point."""
from __future__ import annotations

import tensorflow.compat.v1 as tf


def get_tf_config() -> tf.ConfigProto:
    config = tf.ConfigProto(allow_soft_placement=True, inter_op_parallelism_threads=1,
                            intra_op_parallelism_threads=2)
    config.gpu_options.allow_growth = True
    return config
