"""Defects of the published code that are fixed here (the README lists them); each test fails on the
old behaviour.
(Defect 1, mle adding s, is in test_losses; defect 4, TRPO's zero gradient, in test_trpo; defect 5's
YAML coercion of `1e-2` in test_config and pickle-free checkpoints in test_save_load; defects 2 and 7
in test_end_to_end.)"""
from __future__ import annotations

import numpy as np
import tensorflow.compat.v1 as tf

from lunzi.dataset import Dataset, gen_dtype
from slbo.dynamics_model import DynamicsModel
from slbo.loss.mle_loss import MLELoss
import lunzi.nn as nn
from slbo.main import episode_stats, validate_model
from slbo.utils.normalizer import Normalizers
from slbo.v_function.mlp_v_function import MLPVFunction


def test_standard_error_is_of_the_returns():
    """Defect 3: the published code sent 0 whenever there were returns."""
    mean, sem = episode_stats([{"return": r} for r in (1.0, 2.0, 3.0, 6.0)])
    assert mean == 3.0
    assert sem == np.std([1.0, 2.0, 3.0, 6.0], ddof=1) / 2.0
    assert np.isnan(episode_stats([])[0])


def test_dev_loss_is_computed_on_the_dev_set(sess):
    """Defect 6: the published 'dev' loss sampled the train set."""
    normalizers = Normalizers(1, 2)
    model = DynamicsModel(2, 1, normalizers, [8])
    loss = MLELoss(model=model, vfn=MLPVFunction(2, [4], normalizers.state), dim_state=2, dim_action=1,
                   step=2, criterion=nn.MSELoss())
    sess.run(tf.global_variables_initializer())

    def dataset(jump: float) -> Dataset:
        ds = Dataset(gen_dtype(2, 1), 64)
        states = np.zeros((64, 2))
        ds.extend(np.rec.fromarrays([states, np.zeros((64, 1)), states + jump, np.zeros(64), np.zeros(64, bool),
                                     np.zeros(64, bool)], dtype=ds.dtype))
        return ds

    train_set, dev_set = dataset(0.0), dataset(3.0)
    dev_loss, _ = validate_model(loss, dev_set, 32)
    train_loss, _ = validate_model(loss, train_set, 32)
    assert np.isclose(dev_loss, 2 * 3.0 ** 2, rtol=1e-3)  # the untrained model predicts s' = s
    assert np.isclose(train_loss, 0.0, atol=1e-6)
