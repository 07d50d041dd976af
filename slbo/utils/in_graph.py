"""Pieces for running many optimisation steps in one XLA-compiled session call.

`InGraphAdam` runs minibatch Adam steps as a `tf.while_loop` over parameter values. It reads and
writes the state (m, v, β powers) of an existing `tf.train.AdamOptimizer`, so a run may mix
per-call steps of that optimiser with in-graph steps and both continue the same Adam trajectory.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow.compat.v1 as tf

from lunzi.nn import parameters_to_vector, vector_to_parameters

Tensors = List[tf.Tensor]

# Session.run options for the compiled calls: execute on the calling thread rather than the
# session's inter-op pool (one thread, see tf_utils), so calls from two threads run in parallel.
CALLER_THREAD = tf.RunOptions(inter_op_thread_pool=-1)
# (parameter values, step index, *inputs) -> (loss to minimise, *per-step diagnostics)
StepLoss = Callable[..., Sequence[tf.Tensor]]
# (final parameter values, *inputs) -> tensors computed after the last step
FinalFn = Callable[..., Sequence[tf.Tensor]]


def xla_compile(computation: Callable[..., Sequence[tf.Tensor]], inputs: Sequence[tf.Tensor]) -> Tensors:
    """`computation(*inputs)` as one XLA cluster (JIT-compiled on first run, per input shapes)."""
    outputs = tf.xla.experimental.compile(computation, list(inputs))
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def placeholders_like(arrays: Dict[str, np.ndarray]) -> Dict[str, tf.Tensor]:
    """float32/int32/bool placeholders with the static shapes of `arrays` (XLA compiles per shape)."""
    kinds = {"f": tf.float32, "i": tf.int32, "b": tf.bool}
    return {name: tf.placeholder(kinds[a.dtype.kind], a.shape, name=name) for name, a in arrays.items()}


class InGraphAdam:
    def __init__(self, optimizer: tf.train.AdamOptimizer, params: List[tf.Variable], max_grad_norm: float):
        self.params, self.max_grad_norm = list(params), max_grad_norm
        self.m = [optimizer.get_slot(p, "m") for p in self.params]
        self.v = [optimizer.get_slot(p, "v") for p in self.params]
        assert None not in self.m + self.v, "build the optimizer's own update first (it creates the slots)"
        self.beta1_power, self.beta2_power = optimizer._get_beta_accumulators()
        self.lr, self.beta1, self.beta2 = optimizer._lr, optimizer._beta1, optimizer._beta2
        self.epsilon = optimizer._epsilon

    def build(self, max_steps: int, step_loss: StepLoss, inputs: Sequence[tf.Tensor], n_diagnostics: Optional[int],
              final_fn: FinalFn = lambda params, *inputs: []) -> Tuple[tf.Operation, Tensors, Tensors]:
        """Clipped Adam steps on `step_loss`, as many as the int32 scalar `inputs[0]` (at most
        `max_steps`: one compiled graph serves every count up to it); `step_loss` and `final_fn` get
        the other inputs. Returns (train op, [max_steps] stacks of (loss, grad norm, *diagnostics)
        before each step, outputs of `final_fn`); `n_diagnostics=None` records no per-step stacks."""
        n_stats = 0 if n_diagnostics is None else 2 + n_diagnostics

        def unflatten(flat: tf.Tensor) -> Tensors:
            return vector_to_parameters(flat, self.params)

        def computation(n_steps: tf.Tensor, *inputs: tf.Tensor) -> Tensors:
            # One flat vector per quantity: the loop body is then a handful of fused kernels.
            def body(i, b1p, b2p, theta, m, v, *stats):
                loss, *diagnostics = step_loss(unflatten(theta), i, *inputs)
                grad, grad_norm = tf.clip_by_global_norm(tf.gradients(loss, theta), self.max_grad_norm)
                # The update of tf.train.AdamOptimizer (ApplyAdam), with the β powers before this step.
                alpha = self.lr * tf.sqrt(1 - b2p) / (1 - b1p)
                m = m + (grad[0] - m) * (1 - self.beta1)
                v = v + (tf.square(grad[0]) - v) * (1 - self.beta2)
                theta = theta - alpha * m / (tf.sqrt(v) + self.epsilon)
                stats = [ta.write(i, x) for ta, x in zip(stats, [loss, grad_norm, *diagnostics][:n_stats])]
                return (i + 1, b1p * self.beta1, b2p * self.beta2, theta, m, v, *stats)

            start = [tf.identity(self.beta1_power), tf.identity(self.beta2_power),
                     *[parameters_to_vector(x) for x in (self.params, self.m, self.v)]]
            tas = [tf.TensorArray(tf.float32, max_steps, element_shape=[]) for _ in range(n_stats)]
            _, *state, = tf.while_loop(lambda i, *_: i < n_steps, body, [tf.constant(0), *start, *tas])
            state, stats = state[:5], state[5:]
            final = list(final_fn(unflatten(state[2]), *inputs))
            return state + [ta.stack() for ta in stats] + final

        outputs = xla_compile(computation, inputs)
        b1p, b2p, theta, m, v = outputs[:5]
        assigns = [tf.assign(self.beta1_power, b1p), tf.assign(self.beta2_power, b2p)]
        for variables, flat in ((self.params, theta), (self.m, m), (self.v, v)):
            assigns += [tf.assign(var, value) for var, value in zip(variables, unflatten(flat))]
        return tf.group(*assigns), outputs[5:5 + n_stats], outputs[5 + n_stats:]
