"""state_dict round trips and checkpoint files."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from slbo.dynamics_model import DynamicsModel
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.run.checkpoint import load_arrays, load_module, save_modules
from slbo.utils.normalizer import Normalizers


def build():
    normalizers = Normalizers(2, 4)
    return normalizers, GaussianMLPPolicy(4, 2, [8, 8], normalizers.state), DynamicsModel(4, 2, normalizers, [16])


def test_state_dict_round_trip_restores_outputs(sess, tmp_path):
    rng = np.random.RandomState(0)
    normalizers, policy, model = build()
    sess.run(tf.global_variables_initializer())
    normalizers.state.update(rng.randn(50, 4) * 2)
    states, actions = rng.randn(10, 4), rng.randn(10, 2)
    want_model = model.predict(states, actions)
    want_policy = policy.actor(deterministic=True)(states)
    path = str(tmp_path / "ckpt.npz")
    save_modules(path, {"policy": policy, "model": model})
    assert all("/" in k for k in load_arrays(path))

    sess.run(tf.global_variables_initializer())  # scramble everything
    assert not np.allclose(policy.actor(deterministic=True)(states), want_policy)
    load_module(path, "policy", policy)
    load_module(path, "model", model)
    np.testing.assert_array_equal(model.predict(states, actions), want_model)
    np.testing.assert_array_equal(policy.actor(deterministic=True)(states), want_policy)


def test_load_rejects_wrong_shapes_and_missing_entries(sess, tmp_path):
    _, policy, _ = build()
    sess.run(tf.global_variables_initializer())
    state = policy.state_dict()
    with pytest.raises(ValueError, match="has shape"):
        policy.load_state_dict({**state, "log_std": np.zeros(5)})
    with pytest.raises(KeyError, match="missing"):
        policy.load_state_dict({k: v for k, v in state.items() if k != "log_std"})
    path = str(tmp_path / "other.npz")
    save_modules(path, {"policy": policy})
    with pytest.raises(ValueError, match="holds no 'model' parameters"):
        load_module(path, "model", policy)
