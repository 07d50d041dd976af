"""Session configuration shared by every entry point."""
from __future__ import annotations

import tensorflow.compat.v1 as tf


def get_tf_config() -> tf.ConfigProto:
    # One intra-op thread: with two, XLA's runtime and TF's kernels hand small ops to the pool, and
    # on a 2-core CPU that costs more than it gains (a fused imagined step 23 µs instead of 47 µs;
    # docs/PERFORMANCE.md). The second core runs the fused path's value fit instead.
    config = tf.ConfigProto(allow_soft_placement=True, inter_op_parallelism_threads=1,
                            intra_op_parallelism_threads=1)
    config.gpu_options.allow_growth = True
    return config
