"""Seeding in one place: numpy's global RNG, Python's `random`, and the TF graph seed."""
from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Call before building the graph; envs and noise then draw their seeds from numpy."""
    import tensorflow as tf2
    import tensorflow.compat.v1 as tf
    # Same seed, same machine => same numbers: no order-dependent parallel reductions.
    tf2.config.experimental.enable_op_determinism()
    np.random.seed(seed)
    tf.set_random_seed(int(np.random.randint(2 ** 30)))
    random.seed(int(np.random.randint(2 ** 30)))
