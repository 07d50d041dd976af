"""Seeding in one place: numpy's global RNG, Python's `random`, and the TF graph seed."""
from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Call before building the graph; envs and noise then draw their seeds from numpy."""
    import tensorflow.compat.v1 as tf
    np.random.seed(seed)
    tf.set_random_seed(int(np.random.randint(2 ** 30)))
    random.seed(int(np.random.randint(2 ** 30)))
