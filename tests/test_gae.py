"""GAE against a direct per-env numpy loop, with dones and timeouts."""
from __future__ import annotations

import numpy as np

from slbo.utils.runner import gae


def gae_reference(rewards, values, next_values, dones, timeouts, gamma, lam):
    T, n = rewards.shape
    out = np.zeros((T, n))
    for env in range(n):
        running = 0.0
        for t in reversed(range(T)):
            bootstrap = 0.0 if dones[t, env] else gamma * next_values[t, env]
            delta = rewards[t, env] + bootstrap - values[t, env]
            if dones[t, env] or timeouts[t, env]:
                running = delta
            else:
                running = delta + gamma * lam * running
            out[t, env] = running
    return out.reshape(-1)


def test_gae_matches_reference_with_dones_and_timeouts():
    rng = np.random.RandomState(0)
    T, n = 50, 3
    rewards, values, next_values = rng.randn(T, n), rng.randn(T, n), rng.randn(T, n)
    dones, timeouts = rng.rand(T, n) < 0.1, rng.rand(T, n) < 0.1
    assert dones.any() and timeouts.any()
    got = gae(rewards, values, next_values, dones, timeouts, 0.99, 0.95)
    np.testing.assert_allclose(got, gae_reference(rewards, values, next_values, dones, timeouts, 0.99, 0.95),
                               rtol=1e-5, atol=1e-5)


def test_timeout_bootstraps_from_next_state_value():
    """At a timeout the advantage is r + γV(s') − V(s): the episode was cut, not ended."""
    rewards, values, next_values = np.array([[1.0]]), np.array([[0.5]]), np.array([[2.0]])
    cut = gae(rewards, values, next_values, np.array([[False]]), np.array([[True]]), 0.9, 0.95)
    ended = gae(rewards, values, next_values, np.array([[True]]), np.array([[False]]), 0.9, 0.95)
    assert cut[0] == np.float32(1.0 + 0.9 * 2.0 - 0.5)
    assert ended[0] == np.float32(1.0 - 0.5)
