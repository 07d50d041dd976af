"""TRPO's per-step KL(old ‖ new) and entropy: the right numbers, on both TRPO paths, and measured
without changing any other number of a run (no op added, no random draw, no variable written)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.algos.TRPO import TRPOStats
from tests.conftest import ROOT, TINY, assert_same_checkpoints, read_log
from tests.test_fused_rollout import trpo_setup

NEW_KEYS = ("trpo_kl", "trpo_entropy")


def gaussian(algo, states: np.ndarray):
    """(means [N, da], log σ [da]) of the policy, in numpy float64 (its numpy actor, not its TF ops)."""
    return algo.policy.actor(deterministic=True)(states), nn.read_values([algo.policy.log_std])[0].astype(np.float64)


@pytest.mark.parametrize("in_graph", [False, True])
def test_stats_are_the_kl_of_the_step_and_the_entropy_of_the_new_policy(sess, in_graph):
    algo, samples, advantages, values = trpo_setup()
    algo.in_graph = in_graph
    for _ in range(2):  # the second step also moves log σ away from its initial value
        mean0, log_std0 = gaussian(algo, samples.state)
        stats = algo.train(0.01, samples, advantages, values)
    mean1, log_std1 = gaussian(algo, samples.state)
    kl = np.sum(log_std1 - log_std0 + (np.exp(2 * log_std0) + (mean0 - mean1) ** 2) / (2 * np.exp(2 * log_std1))
                - 0.5, axis=1).mean()
    assert 0 < stats.kl <= 1.5 * algo.max_kl
    np.testing.assert_allclose(stats.kl, kl, rtol=1e-3)
    # The entropy as −E[log p(a)] over many sampled actions (a Monte Carlo estimate, ±0.01).
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((400_000, len(log_std1)))
    log_p = np.sum(-0.5 * noise ** 2 - log_std1 - 0.5 * np.log(2 * np.pi), axis=1)
    assert not np.array_equal(log_std1, log_std0)
    assert abs(stats.entropy - (-log_p.mean())) < 0.01


@pytest.mark.parametrize("in_graph", [False, True])
def test_measuring_the_stats_adds_no_op_draws_nothing_and_writes_nothing(sess, in_graph):
    algo, samples, advantages, values = trpo_setup()
    algo.in_graph = in_graph
    graph, variables = tf.get_default_graph(), tf.global_variables()
    stats = TRPOStats(0.0, 0.0, 0.0, 0.0)
    for _ in range(2):  # the first measurement ever, then one after a step (whose in-graph ops are built by now)
        before, rng, n_ops = nn.read_values(variables), np.random.get_state(), len(graph.get_operations())
        assert algo.with_step_stats(stats, samples.state)[:4] == stats[:4]
        assert len(graph.get_operations()) == n_ops
        after_rng = np.random.get_state()
        assert after_rng[0] == rng[0] and np.array_equal(after_rng[1], rng[1]) and after_rng[2:] == rng[2:]
        for old, new in zip(before, nn.read_values(variables)):
            np.testing.assert_array_equal(old, new)
        stats = algo.train(0.01, samples, advantages, values)


WITH_AND_WITHOUT = """
import sys
from slbo.algos.TRPO import TRPO
from slbo.main import run
measure = TRPO.with_step_stats
for log_dir, on in (sys.argv[1], True), (sys.argv[2], False):
    TRPO.with_step_stats = measure if on else (lambda self, stats, states: stats)
    assert run([*sys.argv[3:], "log_dir=" + log_dir]) == 0
"""


@pytest.mark.parametrize("args", [
    ["algorithm=va", "model.value_update_interval=3", "plan.rollout=per_step"],
    ["algorithm=MF", "plan.rollout=fused", "slbo.n_iters=1"],
], ids=["va-per_step", "MF-fused"])
def test_a_run_with_the_stats_is_bit_identical_to_one_without(tmp_path, args):
    """Both runs in one process: the second with the stats' measurement replaced by nothing."""
    on, off = str(tmp_path / "on"), str(tmp_path / "off")
    result = subprocess.run([sys.executable, "-c", WITH_AND_WITHOUT, on, off, "-c", TINY, "-s", "slbo.n_stages=1",
                             *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]

    def metrics(log_dir: str) -> list:
        return [(r["tag"], r["metrics"]) for r in read_log(log_dir) if r["level"] == "metrics"]

    def published(records: list) -> list:
        return [(tag, {k: v for k, v in m.items() if k not in NEW_KEYS}) for tag, m in records]
    with_stats, without = metrics(on), metrics(off)
    trpo = [m for tag, m in with_stats if tag == "trpo"]
    assert trpo and all(0 < m["trpo_kl"] < 0.015 and np.isfinite(m["trpo_entropy"]) for m in trpo)
    assert all(m[key] == 0.0 for tag, m in without if tag == "trpo" for key in NEW_KEYS)  # nothing measured
    assert published(with_stats) == published(without)
    assert_same_checkpoints(on, off, ["final.npz", "stage-0.npz"])
