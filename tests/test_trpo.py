"""Conjugate gradient and one TRPO step on a fixed batch."""
from __future__ import annotations

import numpy as np
import tensorflow.compat.v1 as tf

from slbo.algos.TRPO import TRPO, TRPOStats, conj_grad
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.utils.normalizer import Normalizers
from slbo.v_function.mlp_v_function import MLPVFunction


def test_conj_grad_solves_spd_system():
    rng = np.random.RandomState(0)
    m = rng.randn(8, 8)
    a = m @ m.T + 8 * np.eye(8)
    b = rng.randn(8)
    x = conj_grad(lambda v: a @ v, b, n_iters=20)
    np.testing.assert_allclose(a @ x, b, rtol=1e-6, atol=1e-8)


def build(sess, max_kl=0.01):
    normalizers = Normalizers(2, 3)
    policy = GaussianMLPPolicy(3, 2, [16, 16], normalizers.state)
    vfn = MLPVFunction(3, [16], normalizers.state)
    algo = TRPO(3, 2, policy, vfn, max_kl=max_kl, n_cg_iters=10, cg_damping=0.1, vf_lr=1e-2, n_vf_iters=5)
    sess.run(tf.global_variables_initializer())
    return policy, vfn, algo


def batch(rng, n=512):
    states = rng.randn(n, 3)
    actions = rng.randn(n, 2)
    # Advantages favour actions aligned with the first state coordinate: a learnable signal.
    advantages = (actions[:, 0] * states[:, 0]).astype(np.float32)
    return np.rec.fromarrays([states, actions], dtype=[("state", "f8", (3,)), ("action", "f8", (2,))]), advantages


def test_trpo_step_respects_kl_and_improves_surrogate(sess):
    rng = np.random.RandomState(0)
    policy, vfn, algo = build(sess)
    samples, advantages = batch(rng)
    std_adv = (advantages - advantages.mean()) / advantages.std()
    before = policy.state_dict()
    algo.eval("sync_old")
    feed = dict(states=samples.state, actions=samples.action, advantages=std_adv, ent_coef=0.0)
    old_gain = algo.eval("loss", **feed)
    stats = algo.train(0.0, samples, advantages, np.zeros(len(advantages), np.float32))
    assert isinstance(stats, TRPOStats)
    new_gain, mean_kl = algo.eval("loss mean_kl", **feed)
    assert 0 < mean_kl <= 1.5 * algo.max_kl
    assert new_gain > old_gain
    assert any(not np.array_equal(v, before[k]) for k, v in policy.state_dict().items())


def test_zero_gradient_returns_stats_and_keeps_policy(sess):
    """The published step returned None here and its caller crashed unpacking it."""
    rng = np.random.RandomState(0)
    policy, vfn, algo = build(sess)
    samples, _ = batch(rng)
    before = policy.state_dict()
    zeros = np.zeros(len(samples), np.float32)
    stats = algo.train(0.0, samples, zeros, zeros)
    assert np.isfinite(stats).all() and stats.kl == 0.0
    for k, v in policy.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_value_fit_reduces_loss(sess):
    rng = np.random.RandomState(0)
    _, vfn, algo = build(sess)
    states = rng.randn(640, 3)
    returns = (states[:, 0] * 2 + 1).astype(np.float32)
    before = algo.eval("vf_loss", states=states, returns=returns)
    stats = algo.fit_vf(states, returns)
    assert stats.vf_loss < 0.5 * before
