"""The model-loss variants (model.va_aux_coeff, model.reward_loss_coeff, model.clip_to_data): each
term against a numpy computation, both training paths, and the published graph when they are off."""
from __future__ import annotations

import glob
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.loss.mle_loss import MLELoss
from slbo.loss.multi_step_loss import MultiStepLoss
from slbo.loss.va_loss import ValueAwareLoss
from slbo.main import make_model_loss
from slbo.networks import build_networks
from slbo.partial_envs import make_env
from slbo.run.checkpoint import load_arrays
from slbo.utils.flags import parse_flags
from tests.conftest import TINY, metric_records, run_main
from tests.test_fused_rollout import train_both_ways
from tests.test_losses import DA, DS, H, Setup, windows

VARIANT_SETS = {"va_aux": ["model.va_aux_coeff=0.5"], "reward": ["model.reward_loss_coeff=1.0"],
                "clip_to_data": ["model.clip_to_data=True"]}


def make_loss(kind: str, setup: Setup, **variants) -> object:
    common = dict(model=setup.model, vfn=setup.vfn, dim_state=setup.ds, dim_action=setup.da, step=H, **variants)
    if kind == "slbo":
        return MultiStepLoss(**common, criterion=nn.L2Loss(), normalizers=setup.normalizers)
    if kind == "mle":
        return MLELoss(**common, criterion=nn.MSELoss())
    return ValueAwareLoss(**common, va_loss_coeff=0.01)


def flat(w: np.recarray) -> list:
    return [x.reshape(-1, x.shape[-1]) for x in (w.state, w.action, w.next_state)]


@pytest.mark.parametrize("kind", ["slbo", "mle"])
def test_va_aux_adds_the_value_aware_error(sess, kind):
    rng = np.random.RandomState(0)
    setup = Setup(sess)
    plain, with_aux = make_loss(kind, setup), make_loss(kind, setup, va_aux_coeff=0.5)
    setup.init(rng)
    w = windows(rng)
    (loss, va), (aux_loss, aux_va) = plain.evaluate(w), with_aux.evaluate(w)
    s, a, ns = flat(w)
    va_error = np.mean(np.abs(setup.np_vfn(ns) - setup.np_vfn(setup.np_model(s, a))))
    assert aux_va == pytest.approx(va_error, rel=1e-4) and va == aux_va
    assert aux_loss == pytest.approx(loss + 0.5 * va_error, rel=1e-4)


@pytest.mark.parametrize("env_id", ["MBBLHalfCheetah", "HalfCheetah", "Hopper"])
def test_reward_term_is_the_squared_error_of_the_implied_reward(sess, env_id):
    env = make_env(env_id)
    ds, da = env.observation_space.shape[0], env.action_space.shape[0]
    rng = np.random.RandomState(0)
    setup = Setup(sess, ds, da)
    loss = make_loss("va", setup, reward_loss_coeff=2.0, env=env)
    setup.init(rng)
    w = windows(rng, ds, da)
    got, va = loss.evaluate(w)
    s, a, ns = flat(w)
    env_a = env.action_space.low + (a + 1.0) * 0.5 * (env.action_space.high - env.action_space.low)
    predicted = setup.np_model(s, a)

    def reward(start, end):
        return env.mb_step(start, env_a, end)[0]

    as_end = np.mean((reward(s, predicted) - reward(s, ns)) ** 2)
    as_start = np.mean((reward(predicted, ns) - reward(ns, ns)) ** 2)
    assert as_end + as_start > 1e-3  # the model's reward is off: the term is not trivially 0
    if env_id == "MBBLHalfCheetah":
        assert as_end == 0  # MBBL reads the reward from the start state only
    assert got == pytest.approx(0.01 * va + 2.0 * (as_end + as_start), rel=1e-4)


def test_bounds_clip_predictions_to_the_states_seen(sess):
    rng = np.random.RandomState(0)
    setup = Setup(sess, clip_to_data=True)
    setup.init(rng)
    s, a = rng.randn(64, DS) * 3, rng.uniform(-1, 1, (64, DA))
    np.testing.assert_allclose(setup.model.predict(s, a), setup.np_model(s, a), rtol=1e-4, atol=1e-4)  # no data: no bound
    first, second = rng.randn(50, DS), rng.randn(30, DS) * 0.5 + 1
    setup.model.bounds.update(first)
    setup.model.bounds.update(second)
    both = np.concatenate([first, second])
    low, high = nn.read_values([setup.model.bounds.op_low, setup.model.bounds.op_high])
    np.testing.assert_allclose(low, both.min(0), rtol=1e-6)
    np.testing.assert_allclose(high, both.max(0), rtol=1e-6)
    unclipped = setup.np_model(s, a)
    assert ((unclipped < low) | (unclipped > high)).any()  # the case exercises the clip
    np.testing.assert_allclose(setup.model.predict(s, a), np.clip(unclipped, low, high), rtol=1e-4, atol=1e-4)


def test_variant_terms_train_the_model_only_and_agree_on_both_paths(sess):
    """All three variants on one loss: per-call and in-graph (XLA) chunks give the same losses and
    updates, and the value function is left alone."""
    env = make_env("MBBLHalfCheetah")
    ds, da = env.observation_space.shape[0], env.action_space.shape[0]
    rng = np.random.RandomState(0)
    setup = Setup(sess, ds, da, clip_to_data=True)
    loss = make_loss("slbo", setup, va_aux_coeff=0.5, reward_loss_coeff=1.0, env=env)
    loss.build_backward(lr=1e-3, weight_decay=1e-5)
    setup.init(rng)
    sess.run(tf.variables_initializer(loss.optimizer.variables()))
    setup.model.bounds.update(rng.randn(100, ds) * 2)
    chunk = np.stack([windows(rng, ds, da) for _ in range(3)]).view(np.recarray)
    vfn_before, params = nn.read_values(setup.vfn.parameters()), setup.model.parameters()
    before = nn.read_values(params)
    (stats, after), (f_stats, f_after) = train_both_ways(params, lambda g: loss.train_steps(chunk, g, max_steps=len(chunk)))
    for per_call, in_graph in zip(stats, f_stats):
        np.testing.assert_allclose(in_graph, per_call, rtol=1e-4, atol=1e-7)
    for old, new, f_new in zip(before, after, f_after):
        np.testing.assert_allclose(f_new - old, new - old, atol=1e-2 * np.abs(new - old).max() + 1e-9)
    assert any(not np.array_equal(old, new) for old, new in zip(before, after))
    for old, new in zip(vfn_before, nn.read_values(setup.vfn.parameters())):
        np.testing.assert_array_equal(old, new)


def graph_ops(algorithm: str, sets: list, published: bool = False) -> list:
    """Type of every op, in creation order, of the networks and model loss a run builds with these
    flags (names differ between graphs of one process: module scopes are numbered); with
    `published`, built with the published constructors' arguments only (no variant argument)."""
    FLAGS = parse_flags(["-c", TINY, "-s", "log_dir=/tmp/unused", f"algorithm={algorithm}", *sets])
    env = make_env("HalfCheetah-v2")
    ds, da = env.observation_space.shape[0], env.action_space.shape[0]
    with tf.Graph().as_default() as graph:
        tf.set_random_seed(0)  # an in-process run() elsewhere in the suite turns TF op determinism on
        nets = build_networks(FLAGS, ds, da)
        if published:
            common = dict(model=nets.model, vfn=nets.vfn, dim_state=ds, dim_action=da, step=FLAGS.model.multi_step,
                          va_norm=FLAGS.model.va_norm)
            criterion = nn.CRITERIA[FLAGS.model.loss](size_average=False)
            loss = {"va": lambda: ValueAwareLoss(**common, va_loss_coeff=FLAGS.model.va_loss_coeff),
                    "mle": lambda: MLELoss(**common, criterion=criterion),
                    "slbo": lambda: MultiStepLoss(**common, criterion=criterion, normalizers=nets.normalizers),
                    }[algorithm]()
        else:
            loss = make_model_loss(FLAGS, nets, ds, da, env)
        loss.build_backward(FLAGS.model.lr, FLAGS.model.weight_decay)
        return [op.type for op in graph.get_operations()]


@pytest.mark.parametrize("algorithm", ["slbo", "mle", "va"])
def test_default_flags_build_the_published_graph(algorithm):
    """Same ops in the same order (so the same op-level seeds); each variant adds ops."""
    default = graph_ops(algorithm, [])
    assert default == graph_ops(algorithm, [], published=True)
    for name, sets in VARIANT_SETS.items():
        if name == "va_aux" and algorithm == "va":
            continue
        assert len(graph_ops(algorithm, sets)) > len(default), name


def test_variant_runs_differ_from_the_default_only_after_training(tmp_path):
    """Tiny va runs: the evaluation before any model step (stage 0) is the default run's to the last
    digit for every variant (no new random draws, no shifted op seeds), the model losses are not; the
    clip_to_data bounds are the range of the collected real states, in the checkpoints (resume
    checkpoints hold every TF variable, bounds included: tests/test_resume.py)."""
    records = {}
    for name, sets in [("default", []), ("reward", VARIANT_SETS["reward"]),
                       ("clip_to_data", VARIANT_SETS["clip_to_data"]),
                       ("slbo", []), ("slbo_va_aux", VARIANT_SETS["va_aux"])]:
        algorithm = "slbo" if name.startswith("slbo") else "va"
        n_stages = 2 if name == "clip_to_data" else 1  # two collections widen the bounds
        log_dir = str(tmp_path / name)
        result = run_main(["-c", TINY, "-s", f"algorithm={algorithm}", "model.value_update_interval=3",
                           f"slbo.n_stages={n_stages}", *sets, f"log_dir={log_dir}"])
        assert result.returncode == 0, result.stderr[-3000:]
        records[name] = (metric_records(log_dir, "stage"), metric_records(log_dir, "iteration"), log_dir)
    for name, base in [("reward", "default"), ("clip_to_data", "default"), ("slbo_va_aux", "slbo")]:
        stages, iterations, _ = records[name]
        assert stages[0] == records[base][0][0], name
        assert iterations[0]["model_train_loss"] != records[base][1][0]["model_train_loss"], name
        assert all(np.isfinite(m["model_train_loss"]) for m in iterations), name

    log_dir = records["clip_to_data"][2]
    real = np.concatenate([np.concatenate([b["state"], b["next_state"]]) for b in
                           (load_arrays(p) for p in glob.glob(os.path.join(log_dir, "stage-*.inc-buf.npz")))])
    final = load_arrays(os.path.join(log_dir, "final.npz"))
    np.testing.assert_allclose(final["model/bounds.op_low"], real.min(0), rtol=1e-6)
    np.testing.assert_allclose(final["model/bounds.op_high"], real.max(0), rtol=1e-6)
