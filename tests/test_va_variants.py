"""The model-loss variants (model.va_aux_coeff, model.reward_loss_coeff, model.clip_to_data,
model.va_value): each term against a numpy computation, both training paths, and the published
graph when they are off."""
from __future__ import annotations

import glob
import os
import signal

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
from lunzi.dataset import Dataset
from slbo.utils.flags import parse_flags
from slbo.v_function.real_value import RealValueFit, returns_to_go
from tests.conftest import TINY, metric_records, run_main
from tests.test_fused_rollout import train_both_ways
from tests.test_losses import DA, DS, H, Setup, np_mlp, windows
from tests.test_resume import metrics, stop_at

VARIANT_SETS = {"va_aux": ["model.va_aux_coeff=0.5"], "reward": ["model.reward_loss_coeff=1.0"],
                "clip_to_data": ["model.clip_to_data=True"]}


def make_loss(kind: str, setup: Setup, **variants) -> object:
    """A loss of `kind` on `setup`'s networks; `variants` are constructor arguments (`vfn` too)."""
    common = {"model": setup.model, "vfn": setup.vfn, "dim_state": setup.ds, "dim_action": setup.da, "step": H,
              **variants}
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


def np_vreal(vreal: RealValueFit, states: np.ndarray) -> np.ndarray:
    """V_real in numpy from its weights and statistics."""
    mean, std, _ = vreal.normalizer.stats()
    return_mean, return_std, _ = vreal.returns.stats()
    hidden = np_mlp((states - mean) / np.maximum(std, 1e-8), nn.read_values(vreal.vfn.net.parameters()), np.tanh)
    return return_mean + return_std * hidden[..., 0]


@pytest.mark.parametrize("kind, variants", [("va", {}), ("slbo", {"va_aux_coeff": 0.5})])
def test_va_real_loss_reads_v_real_and_agrees_on_both_paths(sess, kind, variants):
    """With V_real as the loss's value function, the value-aware error is V_real's (in return units);
    per-call and in-graph (XLA) chunks give the same losses and updates; neither V moves."""
    rng = np.random.RandomState(0)
    setup = Setup(sess)
    vreal = RealValueFit(DS, warm_start=True)
    loss = make_loss(kind, setup, vfn=vreal, **variants)
    loss.build_backward(lr=1e-3, weight_decay=1e-5)
    setup.init(rng)
    sess.run(tf.variables_initializer(loss.optimizer.variables()))
    states = rng.randn(500, DS) * 2
    vreal.fit(states, 100 + 30 * states[:, 0] - 10 * states[:, 1] ** 2, np.random.default_rng(0), n_steps=50)

    w = windows(rng)
    _, va = loss.evaluate(w)
    s, a, ns = flat(w)
    predicted = setup.np_model(s, a)
    expected = np.mean(np.abs(np_vreal(vreal, ns) - np_vreal(vreal, predicted)))
    assert va == pytest.approx(expected, rel=1e-4)
    assert abs(va - np.mean(np.abs(setup.np_vfn(ns) - setup.np_vfn(predicted)))) > 0.1 * va  # not TRPO's V

    chunk = np.stack([windows(rng) for _ in range(3)]).view(np.recarray)
    vfns = setup.vfn.parameters() + vreal.parameters(non_trainable=True)
    vfns_before, params = nn.read_values(vfns), setup.model.parameters()
    before = nn.read_values(params)
    (stats, after), (f_stats, f_after) = train_both_ways(params, lambda g: loss.train_steps(chunk, g, max_steps=3))
    for per_call, in_graph in zip(stats, f_stats):
        np.testing.assert_allclose(in_graph, per_call, rtol=1e-4, atol=1e-7)
    for old, new, f_new in zip(before, after, f_after):
        np.testing.assert_allclose(f_new - old, new - old, atol=1e-2 * np.abs(new - old).max() + 1e-9)
    assert any(not np.array_equal(old, new) for old, new in zip(before, after))
    for old, new in zip(vfns_before, nn.read_values(vfns)):
        np.testing.assert_array_equal(old, new)


def trajectories(rng: np.random.Generator, n: int, length: int, ds: int) -> np.recarray:
    """`n` samples of trajectories `length` long (a timeout ends each) whose reward is mostly read
    from state coordinate 0, constant along a trajectory: a function of the state fits their returns."""
    data = np.zeros(n, dtype=[("state", "f8", (ds,)), ("reward", "f8"), ("done", "?"), ("timeout", "?")])
    data["state"] = rng.normal(size=(n, ds))
    data["state"][:, 0] = np.repeat(rng.normal(size=n // length), length)
    data["reward"] = 1 + data["state"][:, 0] + 0.1 * data["state"][:, 1]
    data["timeout"][length - 1::length] = True
    return data.view(np.recarray)


def test_v_real_fit_on_a_wrapped_train_set_reduces_its_error_and_warm_starts():
    """The train set is a ring buffer: returns are computed oldest first (`Dataset.in_order`)."""
    rng = np.random.default_rng(0)
    data = trajectories(rng, 2600, 100, 4)
    buffer = Dataset(data.dtype, 2000)
    buffer.extend(data[:1300])
    buffer.extend(data[1300:])  # wraps: the oldest 600 samples are overwritten
    ordered = buffer.in_order()
    np.testing.assert_array_equal(ordered.state, data.state[600:])
    returns, full = (x[:, 0] for x in returns_to_go(ordered.reward[:, None], ordered.done[:, None],
                                                   ordered.timeout[:, None], 0.9))
    with tf.Graph().as_default(), nn.make_session() as session:
        tf.set_random_seed(0)
        vreal = RealValueFit(4, warm_start=True)
        session.run(tf.global_variables_initializer())
        first = vreal.fit_trajectories(ordered, 0.9, np.random.default_rng(1))
        second = vreal.fit_trajectories(ordered, 0.9, np.random.default_rng(2))
        return_mean, return_std, _ = vreal.returns.stats()
    assert first["n_states"] == full.sum() == 20 * (100 - 43)  # 44 steps ahead make a return full at γ = 0.9
    assert return_mean == pytest.approx(returns[full].mean(), rel=1e-5)
    assert return_std == pytest.approx(first["return_std"], rel=1e-5)
    assert first["rmse_after"] < 0.5 * first["rmse_before"] and first["rmse_after"] < 0.5 * first["return_std"]
    assert second["rmse_before"] == pytest.approx(first["rmse_after"], rel=1e-6)  # continued, not restarted
    assert second["rmse_after"] < first["rmse_after"]


def test_va_real_is_built_only_when_set():
    assert len(graph_ops("va", ["model.va_value=real"])) > len(graph_ops("va", []))


# γ = 0.9 gives the tiny config's 100-step episodes full returns-to-go; per_step skips XLA compiles
VA_REAL_RUN = ["-c", TINY, "-s", "algorithm=va", "model.va_value=real", "runner.gamma=0.9", "plan.rollout=per_step"]


@pytest.fixture(scope="module")
def va_real_run(tmp_path_factory) -> str:
    """log_dir of a tiny va run with V_real (2 stages)."""
    log_dir = str(tmp_path_factory.mktemp("va_real") / "run")
    result = run_main([*VA_REAL_RUN, f"log_dir={log_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    return log_dir


def test_va_real_run_refits_v_real_on_the_train_set_and_checkpoints_it(va_real_run):
    """V_real is refitted on the train set at each stage (its statistics are those of the collected
    returns), the diagnostics are finite, and it is in the stage checkpoints."""
    fits = metric_records(va_real_run, "value_real")
    assert [f["stage"] for f in fits] == [0, 1]
    for fit in fits:
        assert fit["n_states"] > 0 and fit["rmse_after"] < fit["rmse_before"]
    diagnostics = metric_records(va_real_run, "diagnostics")
    assert diagnostics and all(np.isfinite(v) for record in diagnostics for v in record.values())
    assert all(np.isfinite(m["model_train_loss"]) for m in metric_records(va_real_run, "iteration"))

    collected = []
    for stage in range(2):
        samples = load_arrays(os.path.join(va_real_run, f"stage-{stage}.inc-buf.npz"))
        samples["timeout"][-1] = True  # as the train set marks each collection's end
        collected.append(samples)
    returns, full = returns_to_go(*(np.concatenate([c[k] for c in collected])[:, None]
                                    for k in ("reward", "done", "timeout")), 0.9)
    assert fits[1]["n_states"] == full.sum()
    final = load_arrays(os.path.join(va_real_run, "final.npz"))
    assert final["vreal/returns.op_mean"] == pytest.approx(returns[full].mean(), rel=1e-5)
    assert final["vreal/returns.op_std"] == pytest.approx(returns[full].std(), rel=1e-5)
    assert "vreal/vfn.net.0.weight" in final


def test_va_real_run_stopped_after_stage_0_resumes_exactly(tmp_path, va_real_run):
    """V_real's weights and Adam moments are in the resume checkpoint: stage 1 refits from them."""
    log_dir = str(tmp_path / "run")
    assert stop_at(log_dir, "Starting Stage 1", signal.SIGTERM, VA_REAL_RUN) == 143
    result = run_main([*VA_REAL_RUN, f"log_dir={log_dir}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "from stage 1 of 2" in result.stdout.splitlines()[0]
    assert metrics(log_dir) == metrics(va_real_run)
