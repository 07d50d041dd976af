"""Each model loss against a numpy computation with the same weights and batch."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.dynamics_model import DynamicsModel
from slbo.loss.mle_loss import MLELoss
from slbo.loss.multi_step_loss import MultiStepLoss
from slbo.loss.va_loss import ValueAwareLoss
from slbo.utils.normalizer import Normalizers
from slbo.v_function.mlp_v_function import MLPVFunction

DS, DA, H, B = 5, 2, 3, 16


def np_mlp(x, weights, act):
    for i in range(0, len(weights), 2):
        x = x @ weights[i] + weights[i + 1]
        if i + 2 < len(weights):
            x = act(x)
    return x


class Setup:
    """A model, value function and normalisers with non-trivial weights and statistics."""

    def __init__(self, sess, ds: int = DS, da: int = DA, clip_to_data: bool = False):
        self.ds, self.da = ds, da
        self.normalizers = Normalizers(da, ds)
        self.model = DynamicsModel(ds, da, self.normalizers, [16, 16], clip_to_data)
        self.vfn = MLPVFunction(ds, [8, 8], self.normalizers.state)
        self.sess = sess

    def init(self, rng):
        self.sess.run(tf.global_variables_initializer())
        self.normalizers.state.update(rng.randn(100, self.ds) * 3 + 1)
        self.normalizers.diff.update(rng.randn(100, self.ds) * 0.5)
        params = self.model.net.parameters()
        nn.assign_values(params, [rng.randn(*p.shape.as_list()) * 0.3 for p in params])

    def np_model(self, s, a):
        mean, std, _ = self.normalizers.state.stats()
        dmean, dstd, _ = self.normalizers.diff.stats()
        x = np.concatenate([(s - mean) / np.maximum(std, 1e-8), np.clip(a, -1, 1)], axis=-1)
        out = np_mlp(x, nn.read_values(self.model.net.parameters()), lambda h: np.maximum(h, 0))
        ns = s + out * dstd + dmean
        return np.clip((ns - mean) / np.maximum(std, 1e-8), -100, 100) * std + mean

    def np_vfn(self, s):
        mean, std, _ = self.normalizers.state.stats()
        return np_mlp((s - mean) / np.maximum(std, 1e-8), nn.read_values(self.vfn.net.parameters()), np.tanh)[..., 0]


def windows(rng, ds: int = DS, da: int = DA):
    states = rng.randn(H, B, ds) * 2
    return np.rec.fromarrays([states, rng.uniform(-1.5, 1.5, (H, B, da)), states + rng.randn(H, B, ds) * 0.3,
                              rng.rand(H, B) < 0.2, rng.rand(H, B) < 0.1],
                             dtype=[("state", "f8", (ds,)), ("action", "f8", (da,)), ("next_state", "f8", (ds,)),
                                    ("done", "?"), ("timeout", "?")])


@pytest.mark.parametrize("name", ["L1", "L2", "MSE"])
def test_multi_step_loss_matches_numpy(sess, name):
    rng = np.random.RandomState(0)
    setup = Setup(sess)
    loss = MultiStepLoss(model=setup.model, vfn=setup.vfn, dim_state=DS, dim_action=DA, step=H,
                         criterion=nn.CRITERIA[name](), normalizers=setup.normalizers)
    setup.init(rng)
    w = windows(rng)
    got, _ = loss.evaluate(w)

    crit = {"L1": lambda x: np.abs(x).sum(-1), "L2": lambda x: np.sqrt((x ** 2).sum(-1)),
            "MSE": lambda x: (x ** 2).sum(-1)}[name]
    scale = np.maximum(setup.normalizers.diff.stats()[1], 1e-6)
    current, total = w.state[0], 0.0
    for i in range(H):
        predicted = setup.np_model(current, w.action[i])
        total = total + crit(((predicted - current) - (w.next_state[i] - w.state[i])) / scale)
        ended = (w.done[i] | w.timeout[i])[:, None]
        current = np.where(ended, w.state[i + 1] if i + 1 < H else 0, predicted)
    assert got == pytest.approx(np.mean(total / H), rel=1e-4)


def test_mle_loss_predicts_next_state_without_adding_s(sess):
    rng = np.random.RandomState(0)
    setup = Setup(sess)
    loss = MLELoss(model=setup.model, vfn=setup.vfn, dim_state=DS, dim_action=DA, step=H, criterion=nn.MSELoss())
    setup.init(rng)
    w = windows(rng)
    got, _ = loss.evaluate(w)
    s, a, ns = (x.reshape(-1, x.shape[-1]) for x in (w.state, w.action, w.next_state))
    expected = np.mean(((setup.np_model(s, a) - ns) ** 2).sum(-1))
    published = np.mean(((s + setup.np_model(s, a) - ns) ** 2).sum(-1))  # the seed's defect
    assert got == pytest.approx(expected, rel=1e-4)
    assert abs(got - published) > 1e-2 * published


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_va_loss_matches_numpy(sess, norm):
    rng = np.random.RandomState(0)
    setup = Setup(sess)
    loss = ValueAwareLoss(model=setup.model, vfn=setup.vfn, dim_state=DS, dim_action=DA, step=H,
                          va_norm=norm, va_loss_coeff=0.01)
    setup.init(rng)
    w = windows(rng)
    got, va = loss.evaluate(w)
    s, a, ns = (x.reshape(-1, x.shape[-1]) for x in (w.state, w.action, w.next_state))
    adv = setup.np_vfn(ns) - setup.np_vfn(setup.np_model(s, a))
    expected = np.mean(np.abs(adv) if norm == "l1" else adv ** 2)
    assert va == pytest.approx(expected, rel=1e-4)
    assert got == pytest.approx(0.01 * expected, rel=1e-4)


def test_va_training_moves_only_model_parameters(sess):
    rng = np.random.RandomState(0)
    setup = Setup(sess)
    loss = ValueAwareLoss(model=setup.model, vfn=setup.vfn, dim_state=DS, dim_action=DA, step=H,
                          va_norm="l1", va_loss_coeff=1.0)
    loss.build_backward(lr=1e-2, weight_decay=1e-5)
    setup.init(rng)
    sess.run(tf.variables_initializer(loss.optimizer.variables()))
    vfn_before = setup.vfn.state_dict()
    model_before = setup.model.net.state_dict()
    w = windows(rng)
    for _ in range(3):
        loss.train(w)
    for key, value in setup.vfn.state_dict().items():
        np.testing.assert_array_equal(value, vfn_before[key])
    changed = [k for k, v in setup.model.net.state_dict().items() if not np.array_equal(v, model_before[k])]
    assert changed, "va training did not update the model"
    assert all(loss.optimizer.get_slot(p, "m") is not None for p in setup.model.parameters())
    assert all(loss.optimizer.get_slot(p, "m") is None for p in setup.vfn.parameters())
