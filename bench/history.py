"""Does a compiled computation depend on what the process ran before? Runs the same computation
from the same state under two process histories and reports the first tensor that differs bit-wise.

- model chunk: one model-step chunk of 1 Adam step (as after a resume mid-way to a value refit),
  with no chunk run before vs after a 3-step chunk was run (and the state restored);
- rollout: one fused imagined rollout with no rollout run before vs after a rollout whose
  episodes ended often enough to need a larger reset pool.

Run it under the XLA flags of a CPU kind, e.g. `XLA_FLAGS=--xla_cpu_max_isa=AVX2` to make XLA
emit code as on a CPU without AVX-512:

    python bench/history.py

Last line: identical=<yes|no>"""
from __future__ import annotations

import os
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import lunzi.nn as nn  # noqa: E402  (graph mode)
import tensorflow.compat.v1 as tf  # noqa: E402
from slbo.envs.virtual_env import VirtualEnv  # noqa: E402
from slbo.loss.va_loss import ValueAwareLoss  # noqa: E402
from slbo.networks import build_networks  # noqa: E402
from slbo.partial_envs import make_env  # noqa: E402
from slbo.utils.flags import parse_flags  # noqa: E402
from slbo.utils.fused_runner import FusedRunner  # noqa: E402
from slbo.utils.tf_utils import get_tf_config  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = parse_flags(["-c", os.path.join(ROOT, "configs", "tests", "tiny.yml"), "-s", "algorithm=va",
                     "model.value_update_interval=3"])
Outputs = List[Tuple[str, np.ndarray]]


def model_chunk(history: bool) -> Outputs:
    """Loss, grad norm and va loss of one step, then every variable after it."""
    env = make_env(FLAGS.env.id)
    dim_state, dim_action = env.observation_space.shape[0], env.action_space.shape[0]
    nets = build_networks(FLAGS, dim_state, dim_action)
    loss = ValueAwareLoss(model=nets.model, vfn=nets.vfn, dim_state=dim_state, dim_action=dim_action,
                          step=FLAGS.model.multi_step, va_norm=FLAGS.model.va_norm, va_loss_coeff=1.0)
    loss.build_backward(FLAGS.model.lr, FLAGS.model.weight_decay)
    session = tf.get_default_session()
    session.run(tf.global_variables_initializer())
    shape = (3, FLAGS.model.multi_step, FLAGS.model.train_batch_size)
    rng = np.random.RandomState(1)
    windows = np.zeros(shape, dtype=[("state", "f8", dim_state), ("action", "f8", dim_action),
                                     ("next_state", "f8", dim_state), ("done", "?"), ("timeout", "?")])
    windows = windows.view(np.recarray)
    windows.state, windows.next_state = rng.randn(*shape, dim_state), rng.randn(*shape, dim_state)
    windows.action = rng.uniform(-1, 1, (*shape, dim_action))
    variables = tf.global_variables()
    if history:
        before = session.run(variables)
        loss.train_steps(windows, in_graph=True)
        nn.assign_values(variables, before)
    stats = loss.train_steps(windows[:1], in_graph=True)
    return [*zip(("loss", "grad_norm", "va_loss"), stats), *zip([v.name for v in variables], session.run(variables))]


def rollout(history: bool) -> Outputs:
    """The records and final states of one imagined rollout of the tiny config."""
    env = make_env(FLAGS.env.id)
    dim_state, dim_action = env.observation_space.shape[0], env.action_space.shape[0]
    nets = build_networks(FLAGS, dim_state, dim_action)
    tf.get_default_session().run(tf.global_variables_initializer())
    runner = FusedRunner(VirtualEnv(nets.model, env, FLAGS.plan.n_envs), max_steps=FLAGS.plan.max_steps)
    env.reset(seed=0)
    if history:  # a horizon of 7 steps ends many episodes: the pool grows, and so does the next one's
        short = FusedRunner(runner.env, max_steps=7)
        short.reset()
        short.run(nets.policy, FLAGS.plan.n_trpo_samples)
        runner._pool_sizes = short._pool_sizes
        env.reset(seed=0)
    np.random.seed(0)
    runner.reset()
    data, _ = runner.run(nets.policy, FLAGS.plan.n_trpo_samples)
    return [(name, data.data[name]) for name in data.data.dtype.names]


def compare(name: str, computation: Callable[[bool], Outputs]) -> bool:
    results: Dict[bool, Outputs] = {}
    for history in (False, True):
        with tf.Graph().as_default(), nn.make_session(get_tf_config()):
            tf.set_random_seed(0)
            np.random.seed(0)
            results[history] = computation(history)
    differing = [(tensor, np.max(np.abs(np.float64(fresh) - np.float64(after))))
                 for (tensor, fresh), (_, after) in zip(results[False], results[True])
                 if np.asarray(fresh).tobytes() != np.asarray(after).tobytes()]
    if differing:
        print(f"{name}: {len(differing)} of {len(results[False])} tensors differ after an earlier run; the first: "
              f"{differing[0][0]}, max |difference| {differing[0][1]:.3g}")
    else:
        print(f"{name}: bit-identical with and without an earlier run ({len(results[False])} tensors)")
    return not differing


if __name__ == "__main__":
    print(f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    same = [compare("model chunk", model_chunk), compare("rollout", rollout)]
    print(f"identical={'yes' if all(same) else 'no'}")
