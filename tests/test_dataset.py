"""The ring buffer, multi-step windows, and the running normaliser."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from lunzi.dataset import Dataset, gen_dtype
from slbo.envs.batched_env import BatchedEnv
from slbo.main import add_multi_step
from slbo.partial_envs import make_env
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.utils.normalizer import GaussianNormalizer, Normalizers
from slbo.utils.runner import Runner


def test_ring_buffer_keeps_newest_in_order():
    ds = Dataset(gen_dtype(1, 1, "reward"), 5)
    ds.extend(np.rec.fromarrays([np.arange(3.0)], dtype=ds.dtype))
    ds.extend(np.rec.fromarrays([np.arange(3.0, 7.0)], dtype=ds.dtype))
    assert len(ds) == 5
    assert sorted(ds.reward) == [2.0, 3.0, 4.0, 5.0, 6.0]
    ds.append((7.0,))
    assert sorted(ds.reward) == [3.0, 4.0, 5.0, 6.0, 7.0]


def test_multi_step_windows_never_cross_done_or_timeout(sess):
    """Collect real data in several batches (with episode ends inside), then check every window:
    consecutive samples chain (s_{i+1} = s'_i) unless step i is done or a timeout."""
    np.random.seed(3)
    env = BatchedEnv([make_env("HalfCheetah")])
    normalizers = Normalizers(6, 24)
    policy = GaussianMLPPolicy(24, 6, [8], normalizers.state)
    sess.run(tf.global_variables_initializer())
    runner = Runner(env, max_steps=37, rescale_action=True)
    buffer = Dataset(runner.dtype, 250)  # smaller than the data: the ring wraps
    for _ in range(4):
        add_multi_step(runner.run(policy, 90)[0], buffer)
    samples = buffer.sample_multi_step(2000, 4)
    assert samples.shape == (4, 2000)
    ended = samples.done | samples.timeout
    chained = np.all(samples.state[1:] == samples.next_state[:-1], axis=-1)
    assert np.all(chained | ended[:-1])
    assert (~chained).any() and ended.any()  # the check was exercised


def test_normalizer_merge_equals_numpy_moments(sess):
    rng = np.random.RandomState(0)
    norm = GaussianNormalizer("x", [3])
    sess.run(tf.global_variables_initializer())
    chunks = [rng.randn(n, 3) * [1, 5, 0.1] + [2, -1, 0] for n in (10, 200, 37)]
    for chunk in chunks:
        norm.update(chunk)
    mean, std, n = norm.stats()
    data = np.concatenate(chunks)
    assert n == len(data)
    np.testing.assert_allclose(mean, data.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std, data.std(0), rtol=1e-5)
    x = tf.constant(data[:4], tf.float32)
    np.testing.assert_allclose(sess.run(norm(x)), (data[:4] - mean) / std, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(sess.run(norm(norm(x), inverse=True)), data[:4], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 7])
def test_dataset_iterator_covers_full_batches(n):
    ds = Dataset(gen_dtype(1, 1, "reward"), 100)
    ds.extend(np.rec.fromarrays([np.arange(30.0)], dtype=ds.dtype))
    seen = np.concatenate([b.reward for b in ds.iterator(n)])
    assert len(seen) == 30 // n * n and len(set(seen)) == len(seen)
