"""Can what a process ran before change a computation's bits? Runs one computation from the same
state two ways and reports the tensors that differ bit-wise:

- model chunk: one Adam step of the va model loss (a 1-step chunk, as at a resume mid-way to a
  value refit) on each of 20 batches, by a program compiled for 1 step vs one compiled for 3.
  Until chunks were padded to a length fixed by the flags, a process that had run a 3-step chunk
  ran the latter, a process resumed there the former;
- rollout: one fused imagined rollout by a fresh runner vs a runner whose reset pool grew in an
  earlier rollout with many early episode ends.

XLA compiles for the host CPU; XLA_FLAGS=--xla_cpu_max_isa=AVX2 (or AVX, SSE4_2) makes it emit
code as for an older one:

    python bench/history.py
    XLA_FLAGS=--xla_cpu_max_isa=AVX2 python bench/history.py

Last line: identical=<yes|no>"""
from __future__ import annotations

import os
import sys
from typing import Callable, Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import lunzi.nn as nn  # noqa: E402  (graph mode)
from lunzi.dataset import gen_dtype  # noqa: E402
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
N_BATCHES = 20


def model_chunk(padded: bool) -> Outputs:
    """Loss, grad norm and va loss of one Adam step on each of N_BATCHES batches, each from the
    same initial state, then every variable after the last; `padded`: run by the program compiled
    for 3 steps."""
    env = make_env(FLAGS.env.id)
    dim_state, dim_action = env.observation_space.shape[0], env.action_space.shape[0]
    nets = build_networks(FLAGS, dim_state, dim_action)
    loss = ValueAwareLoss(model=nets.model, vfn=nets.vfn, dim_state=dim_state, dim_action=dim_action,
                          step=FLAGS.model.multi_step, va_norm=FLAGS.model.va_norm, va_loss_coeff=1.0)
    loss.build_backward(FLAGS.model.lr, FLAGS.model.weight_decay)
    session = tf.get_default_session()
    session.run(tf.global_variables_initializer())
    variables = tf.global_variables()
    initial = session.run(variables)
    shape = (1, FLAGS.model.multi_step, FLAGS.model.train_batch_size)
    rng = np.random.RandomState(1)
    outputs = []
    for k in range(N_BATCHES):
        windows = np.zeros(shape, gen_dtype(dim_state, dim_action)).view(np.recarray)
        windows.state, windows.next_state = rng.randn(*shape, dim_state), rng.randn(*shape, dim_state)
        windows.action = rng.uniform(-1, 1, (*shape, dim_action))
        nn.assign_values(variables, initial)
        stats = loss.train_steps(windows, in_graph=True, max_steps=3 if padded else 1)
        outputs += [(f"{name} of batch {k}", value) for name, value in zip(("loss", "grad_norm", "va_loss"), stats)]
    return outputs + list(zip([v.name for v in variables], session.run(variables)))


def rollout(grown_pool: bool) -> Outputs:
    """The records of one imagined rollout of the tiny config; `grown_pool`: by a runner whose
    reset pool an earlier rollout grew."""
    env = make_env(FLAGS.env.id)
    dim_state, dim_action = env.observation_space.shape[0], env.action_space.shape[0]
    nets = build_networks(FLAGS, dim_state, dim_action)
    tf.get_default_session().run(tf.global_variables_initializer())
    runner = FusedRunner(VirtualEnv(nets.model, env, FLAGS.plan.n_envs), max_steps=FLAGS.plan.max_steps)
    env.reset(seed=0)
    if grown_pool:  # a horizon of 7 steps ends many episodes: the pool grows, and so does the next one's
        short = FusedRunner(runner.env, max_steps=7)
        short.reset()
        short.run(nets.policy, FLAGS.plan.n_trpo_samples)
        runner.pool_sizes = short.pool_sizes
        env.reset(seed=0)
    np.random.seed(0)
    runner.reset()
    data, _ = runner.run(nets.policy, FLAGS.plan.n_trpo_samples)
    return [(name, data.data[name]) for name in data.data.dtype.names]


def compare(name: str, computation: Callable[[bool], Outputs]) -> bool:
    """Runs `computation` both ways, each in a new graph and session with the same seeds."""
    results: Dict[bool, Outputs] = {}
    for other in (False, True):
        with tf.Graph().as_default(), nn.make_session(get_tf_config()):
            tf.set_random_seed(0)
            np.random.seed(0)
            results[other] = computation(other)
    differing = [(tensor, np.max(np.abs(np.float64(one) - np.float64(other))))
                 for (tensor, one), (_, other) in zip(results[False], results[True])
                 if np.asarray(one).tobytes() != np.asarray(other).tobytes()]
    if differing:
        print(f"{name}: {len(differing)} of {len(results[False])} tensors differ, max |difference| "
              f"{max(gap for _, gap in differing):.3g}: {', '.join(tensor for tensor, _ in differing)}")
    else:
        print(f"{name}: bit-identical both ways ({len(results[False])} tensors)")
    return not differing


if __name__ == "__main__":
    print(f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    same = [compare("model chunk", model_chunk), compare("rollout", rollout)]
    print(f"identical={'yes' if all(same) else 'no'}")
