"""Microseconds per imagined step, per-step path vs fused path, side by side in one process.

Paper config: HalfCheetah model env, n_envs=4, horizon 1000, model [500, 500], policy [32, 32],
value function [64, 64]. One "step" advances all n_envs imagined envs (a 4-row batch); each call
is a whole TRPO batch as the stage loop makes it: rollout + values + GAE (`run_with_advantages`).
Times are the median of --repeat calls after one warm-up call (the fused path compiles then).

    python bench/rollout.py [--repeat-per-step 3] [--repeat-fused 10]

Last line: per_step_us=<x> fused_us=<y> speedup=<x/y>"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import lunzi.nn  # noqa: E402,F401  (graph mode)
import tensorflow.compat.v1 as tf  # noqa: E402
from slbo.dynamics_model import DynamicsModel  # noqa: E402
from slbo.envs.mujoco.half_cheetah_env import HalfCheetahEnv  # noqa: E402
from slbo.envs.virtual_env import VirtualEnv  # noqa: E402
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy  # noqa: E402
from slbo.utils.fused_runner import FusedRunner  # noqa: E402
from slbo.utils.normalizer import Normalizers  # noqa: E402
from slbo.utils.runner import Runner  # noqa: E402
from slbo.utils.tf_utils import get_tf_config  # noqa: E402
from slbo.v_function.mlp_v_function import MLPVFunction  # noqa: E402

N_ENVS, HORIZON = 4, 1000


def time_calls(runner: Runner, policy, vfn, repeat: int) -> tuple:
    """(median seconds per call, the first call's advantages)."""
    seconds, first = [], None
    for _ in range(repeat + 1):  # the first call warms up (and compiles)
        np.random.seed(0)
        runner.reset()
        start = time.perf_counter()
        _, _, advantages, _ = runner.run_with_advantages(policy, vfn, N_ENVS * HORIZON)
        seconds.append(time.perf_counter() - start)
        first = advantages if first is None else first
    return float(np.median(seconds[1:])), first


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat-per-step", type=int, default=3)
    parser.add_argument("--repeat-fused", type=int, default=10)
    args = parser.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
    with tf.Graph().as_default(), tf.Session(config=get_tf_config()):
        env = HalfCheetahEnv(seed=0)
        dim_state, dim_action = env.observation_space.shape[0], env.action_space.shape[0]
        normalizers = Normalizers(dim_action, dim_state)
        policy = GaussianMLPPolicy(dim_state, dim_action, [32, 32], normalizers.state)
        vfn = MLPVFunction(dim_state, [64, 64], normalizers.state)
        model = DynamicsModel(dim_state, dim_action, normalizers, [500, 500])
        tf.get_default_session().run(tf.global_variables_initializer())
        results = {}
        # Fused first: after the per-step path's thousands of small session calls it measured slower.
        paths = (("fused", FusedRunner, args.repeat_fused), ("per_step", Runner, args.repeat_per_step))
        for name, cls, repeat in paths:
            runner = cls(VirtualEnv(model, HalfCheetahEnv(seed=1), N_ENVS), max_steps=HORIZON)
            seconds, advantages = time_calls(runner, policy, vfn, repeat)
            results[name] = (seconds / HORIZON * 1e6, advantages)
            print(f"{name:8s}: {seconds * 1e3:8.1f} ms per {N_ENVS}x{HORIZON}-sample batch, "
                  f"{results[name][0]:7.1f} us per step (median of {repeat})")
    per_step_us, fused_us = results["per_step"][0], results["fused"][0]
    gap = np.abs(results["per_step"][1] - results["fused"][1]).max()
    print(f"same seeds, both paths: max |advantage difference| = {gap:.2e}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"per_step_us={per_step_us:.1f} fused_us={fused_us:.1f} speedup={per_step_us / fused_us:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
