"""The fused (XLA, one session call) paths against the per-step / per-call paths they replace:
imagined rollouts with GAE, the TRPO policy step, the value fit and chunks of model steps.
Same weights, same reset states, same noise draws: same results up to float32 rounding."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from lunzi.config import ConfigError
from lunzi.dataset import gen_dtype
from slbo.algos.TRPO import TRPO
from slbo.dynamics_model import DynamicsModel
from slbo.envs.mujoco.half_cheetah_env import HalfCheetahEnv
from slbo.envs.mujoco.hopper_env import HopperEnv
from slbo.envs.virtual_env import VirtualEnv
from slbo.loss.multi_step_loss import MultiStepLoss
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.utils.flags import parse_flags
from slbo.utils.fused_runner import FusedRunner
from slbo.utils.normalizer import Normalizers
from slbo.utils.runner import Runner
from slbo.v_function.mlp_v_function import MLPVFunction


def build_rollout(env_class, n_envs: int, max_steps: int, diff_mean: np.ndarray):
    """Both runners over twin model envs (same env seed), sharing one model, policy and vfn. The
    model gets O(1) random weights and `diff_mean` a drift, so trajectories move (and terminate)."""
    dim_state = env_class(seed=0).observation_space.shape[0]
    dim_action = env_class(seed=0).action_space.shape[0]
    normalizers = Normalizers(dim_action, dim_state)
    policy = GaussianMLPPolicy(dim_state, dim_action, [16], normalizers.state)
    vfn = MLPVFunction(dim_state, [16], normalizers.state)
    model = DynamicsModel(dim_state, dim_action, normalizers, [32])
    tf.get_default_session().run(tf.global_variables_initializer())
    rng = np.random.RandomState(1)
    weights = model.net.parameters()
    nn.assign_values(weights, [rng.randn(*w.shape.as_list()) / np.sqrt(w.shape.as_list()[0]) for w in weights])
    nn.assign_values([normalizers.diff.op_mean, normalizers.diff.op_std],
                     [diff_mean, np.full(dim_state, 0.02)])
    runners = [cls(VirtualEnv(model, env_class(seed=5), n_envs), max_steps=max_steps) for cls in (Runner, FusedRunner)]
    return runners, policy, vfn


def assert_same_rollouts(runners, policy, vfn, n_samples: int, n_calls: int = 2) -> list:
    """Rolls both paths `n_calls` times (the second call continues the episodes of the first)."""
    all_episodes = []
    for call in range(n_calls):
        results = []
        for runner in runners:
            np.random.seed(100 + call)
            results.append(runner.run_with_advantages(policy, vfn, n_samples))
            results[-1] += (np.random.rand(),)  # the global RNG advanced by the same draws
        (data, episodes, advantages, values, after), (f_data, f_episodes, f_advantages, f_values, f_after) = results
        for field in ("state", "action", "next_state", "reward"):
            np.testing.assert_allclose(f_data.data[field], data.data[field], rtol=1e-4, atol=1e-4, err_msg=field)
        for field in ("done", "timeout"):
            np.testing.assert_array_equal(f_data.data[field], data.data[field], err_msg=field)
        np.testing.assert_allclose(f_advantages, advantages, rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(f_values, values, rtol=1e-4, atol=1e-5)
        assert [e["length"] for e in f_episodes] == [e["length"] for e in episodes]
        np.testing.assert_allclose([e["return"] for e in f_episodes], [e["return"] for e in episodes], rtol=1e-4)
        assert f_after == after
        all_episodes += episodes
    per_step, fused = runners
    np.testing.assert_allclose(fused._states, per_step._states, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(fused._n_steps, per_step._n_steps)
    # Both consumed the same reset states, and no more: their env RNGs are in the same state.
    assert fused.env.env.np_random.bit_generator.state == per_step.env.env.np_random.bit_generator.state
    return all_episodes


def test_fused_rollout_matches_per_step_without_termination(sess):
    runners, policy, vfn = build_rollout(HalfCheetahEnv, n_envs=2, max_steps=7, diff_mean=np.zeros(24))
    episodes = assert_same_rollouts(runners, policy, vfn, n_samples=2 * 20)
    assert len(episodes) == 2 * (40 // 7)  # only timeouts end episodes
    assert not runners[0].run_with_advantages(policy, vfn, 2 * 20)[0].data.done.any()


def test_fused_rollout_matches_per_step_with_termination(sess):
    """Hopper terminates when the imagined height falls below 0.7: the model drifts it down by
    0.02 per step from ~1.25, with noise, so episodes end at different steps, some by timeout."""
    diff_mean = np.zeros(18)
    diff_mean[0] = -0.02
    runners, policy, vfn = build_rollout(HopperEnv, n_envs=3, max_steps=22, diff_mean=diff_mean)
    fused = runners[1]
    episodes = assert_same_rollouts(runners, policy, vfn, n_samples=3 * 100)
    lengths = [e["length"] for e in episodes]
    assert min(lengths) < 22 and 22 in lengths and len(set(lengths)) > 3
    # More episodes ended than the first pool of reset states held: the rollout was redone with a larger pool.
    assert fused.pool_sizes[100] > 3 * (100 // 22 + 1)


def test_fused_run_without_values_and_with_exploration_noise(sess):
    runners, policy, vfn = build_rollout(HalfCheetahEnv, n_envs=2, max_steps=50, diff_mean=np.zeros(24))
    from slbo.utils.OU_noise import OUNoise
    for noise in (None, OUNoise((1, 6))):
        results = []
        for runner in runners:
            np.random.seed(3)
            runner.reset()
            results.append(runner.run(policy, 2 * 10, noise)[0].data)
            if noise is not None:
                noise.reset()
        np.testing.assert_allclose(results[1].action, results[0].action, rtol=1e-4, atol=1e-5)


def test_taking_fewer_resets_than_peeked_rewinds_the_env_rng():
    """Fused rollouts draw reset states ahead; the env RNG must end where the used draws leave it."""
    twin = HopperEnv(seed=9)
    venv = VirtualEnv(None, HopperEnv(seed=9), n_envs=1)
    peeked = venv.peek_resets(5)
    taken = venv.take_resets(2)
    np.testing.assert_array_equal(taken, peeked[:2])
    expected = [twin.reset()[0] for _ in range(3)]
    np.testing.assert_array_equal(venv.take_resets(1)[0], expected[2])
    assert venv.env.np_random.bit_generator.state == twin.np_random.bit_generator.state


def trpo_setup(n: int = 640):
    normalizers = Normalizers(2, 3)
    policy = GaussianMLPPolicy(3, 2, [16, 16], normalizers.state)
    vfn = MLPVFunction(3, [16], normalizers.state)
    algo = TRPO(3, 2, policy, vfn, max_kl=0.01, n_cg_iters=10, cg_damping=0.1, vf_lr=1e-2, n_vf_iters=3,
                vf_batch_size=64)
    tf.get_default_session().run(tf.global_variables_initializer())
    rng = np.random.RandomState(0)
    samples = np.zeros(n, gen_dtype(3, 2)).view(np.recarray)
    samples.state, samples.action = rng.randn(n, 3), rng.randn(n, 2)
    advantages = (samples.action[:, 0] * samples.state[:, 0] + 0.3 * rng.randn(n)).astype(np.float32)
    values = rng.randn(n).astype(np.float32)
    return algo, samples, advantages, values


def train_both_ways(params, train) -> list:
    """Runs `train(in_graph)` per call, then in-graph, from the same variables (weights and Adam
    state) and numpy RNG; returns [(stats, `params` after)] of each."""
    variables = tf.global_variables()
    start = nn.read_values(variables)
    results = []
    for in_graph in (False, True):
        nn.assign_values(variables, start)
        np.random.seed(11)
        stats = train(in_graph)
        results.append((stats, nn.read_values(params)))
    return results


def test_trpo_in_graph_matches_per_call(sess):
    algo, samples, advantages, values = trpo_setup()
    policy_params, vf_params = algo.policy.parameters(), algo.vfn.parameters()
    before = nn.read_values(policy_params + vf_params)

    def train(in_graph: bool):
        algo.in_graph = in_graph
        return algo.train(0.01, samples, advantages, values)

    (stats, params), (f_stats, f_params) = train_both_ways(policy_params + vf_params, train)
    n_policy = len(policy_params)
    for old, new, f_new in zip(before[:n_policy], params[:n_policy], f_params[:n_policy]):
        step = np.abs(new - old).max()
        assert step > 0
        np.testing.assert_allclose(f_new - old, new - old, atol=1e-2 * step)
    for old, new, f_new in zip(before[n_policy:], params[n_policy:], f_params[n_policy:]):
        np.testing.assert_allclose(f_new - old, new - old, rtol=1e-3, atol=1e-3 * np.abs(new - old).max())
    np.testing.assert_allclose(f_stats, stats, rtol=1e-3)


def test_trpo_in_graph_keeps_policy_on_zero_gradient(sess):
    algo, samples, _, values = trpo_setup()
    algo.in_graph = True
    before = algo.policy.state_dict()
    stats = algo.train(0.0, samples, np.zeros(len(samples), np.float32), values)
    assert np.isfinite(stats).all()
    for key, value in algo.policy.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def model_setup(n_steps: int = 4, batch: int = 32):
    normalizers = Normalizers(2, 3)
    vfn = MLPVFunction(3, [8], normalizers.state)
    model = DynamicsModel(3, 2, normalizers, [32, 32])
    loss = MultiStepLoss(model, vfn, 3, 2, 2, criterion=nn.L2Loss(), normalizers=normalizers)
    loss.build_backward(1e-3, 1e-5)
    tf.get_default_session().run(tf.global_variables_initializer())
    rng = np.random.RandomState(0)
    windows = np.zeros((n_steps, 2, batch), gen_dtype(3, 2)).view(np.recarray)
    windows.state, windows.action = rng.randn(n_steps, 2, batch, 3), rng.randn(n_steps, 2, batch, 2)
    windows.next_state = windows.state + 0.1 * np.tanh(windows.state) + 0.05 * windows.action[..., :1]
    windows.done = rng.rand(n_steps, 2, batch) < 0.2
    return loss, model, windows


def test_model_steps_in_graph_match_per_call(sess):
    loss, model, windows = model_setup()
    params = model.parameters()
    before = nn.read_values(params)
    for chunk in (windows, windows[:2]):  # the second chunk runs on the first one's padded graph
        (stats, after), (f_stats, f_after) = train_both_ways(
            params, lambda g: loss.train_steps(chunk, g, max_steps=len(windows)))
        for per_call, in_graph in zip(stats, f_stats):
            assert in_graph.shape == (len(chunk),)
            np.testing.assert_allclose(in_graph, per_call, rtol=1e-4, atol=1e-7)
        for old, new, f_new in zip(before, after, f_after):
            np.testing.assert_allclose(f_new - old, new - old, atol=1e-2 * np.abs(new - old).max() + 1e-9)
    assert len(loss._multi_step_ops) == 1


def test_rollout_flag_is_validated():
    assert parse_flags(["-s", "log_dir=/tmp/x"]).plan.rollout == "fused"
    assert parse_flags(["-s", "log_dir=/tmp/x", "plan.rollout=per_step"]).plan.rollout == "per_step"
    with pytest.raises(ConfigError, match="plan.rollout"):
        parse_flags(["-s", "log_dir=/tmp/x", "plan.rollout=xla"])


def test_stage_loop_on_both_paths_draws_the_same_data(tmp_path):
    """A tiny va run with value refits on each path, in-process: both consume the numpy RNG in the
    same order (model windows, action noise, value-fit minibatches), so the model losses of the
    first iteration agree to float tolerance (later ones drift apart as the policies do, by rounding)."""
    from slbo.main import run
    from tests.conftest import TINY, metric_records
    records = {}
    for path in ("per_step", "fused"):
        log_dir = str(tmp_path / path)
        assert run(["-c", TINY, "-s", "slbo.n_stages=1", "algorithm=va", "model.value_update_interval=3",
                    f"plan.rollout={path}", f"log_dir={log_dir}"]) == 0
        records[path] = metric_records(log_dir, "iteration")[0]
    for key in ("model_train_loss", "model_grad_norm", "model_va_loss", "model_dev_train_loss", "model_loop_vf_loss"):
        assert records["fused"][key] == pytest.approx(records["per_step"][key], rel=1e-3), key
