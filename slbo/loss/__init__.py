"""Model losses. Each takes windows [multi_step, batch, ·] of real transitions."""
from __future__ import annotations

from typing import List, Tuple

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.dynamics_model import DynamicsModel
from slbo.v_function.mlp_v_function import MLPVFunction


def value_aware_error(model: DynamicsModel, vfn: MLPVFunction, states: tf.Tensor, actions: tf.Tensor,
                      next_states: tf.Tensor, va_norm: str) -> tf.Tensor:
    """Per-sample |V(s') − V(model(s, a))| (l1) or its square (l2), for flat [N, ·] inputs."""
    advantage = vfn(next_states) - vfn(model(states, actions))
    return tf.abs(advantage) if va_norm == "l1" else tf.square(advantage)


class ModelLoss(nn.Module):
    """Placeholders for windows, the loss graph (`forward`), and the Adam step on model parameters.

    `op_loss` is the scalar training loss; `op_va_loss` the mean value-aware error of the model
    (a diagnostic for slbo and mle, the objective for va)."""

    def __init__(self, model: DynamicsModel, vfn: MLPVFunction, dim_state: int, dim_action: int,
                 step: int, va_norm: str = "l1"):
        super().__init__()
        self.model, self.vfn, self.step, self.va_norm = model, vfn, step, va_norm
        with self.scope:
            self.op_states = tf.placeholder(tf.float32, [step, None, dim_state], name="states")
            self.op_actions = tf.placeholder(tf.float32, [step, None, dim_action], name="actions")
            self.op_next_states = tf.placeholder(tf.float32, [step, None, dim_state], name="next_states")
            self.op_masks = tf.placeholder(tf.float32, [step, None], name="masks")

    def build(self) -> None:
        """Builds `op_loss` and `op_va_loss`; subclasses call it once their own attributes are set."""
        self.op_loss = self(self.op_states, self.op_actions, self.op_next_states, self.op_masks)
        flat = [tf.reshape(x, [-1, x.shape[-1]]) for x in (self.op_states, self.op_actions, self.op_next_states)]
        self.op_va_loss = tf.reduce_mean(value_aware_error(self.model, self.vfn, *flat, self.va_norm))

    def forward(self, states: tf.Tensor, actions: tf.Tensor, next_states: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def build_backward(self, lr: float, weight_decay: float, max_grad_norm: float = 2.0) -> None:
        params: List[tf.Variable] = self.model.parameters()
        with self.scope:
            regularization = weight_decay * tf.add_n([tf.nn.l2_loss(p) for p in params])
            grads = tf.gradients(self.op_loss + regularization, params)
            clipped, self.op_grad_norm = tf.clip_by_global_norm(grads, max_grad_norm)
            self.optimizer = tf.train.AdamOptimizer(lr)
            # The reported losses read the parameters before the step, never after it.
            with tf.control_dependencies([self.op_loss, self.op_va_loss]):
                self.op_train = self.optimizer.apply_gradients(zip(clipped, params))

    def feed(self, samples: np.recarray) -> dict:
        """Feed dict entries for a [step, batch] record array of windows."""
        return dict(states=samples.state, actions=samples.action, next_states=samples.next_state,
                    masks=(~samples.done & ~samples.timeout).astype(np.float32))

    def train(self, samples: np.recarray) -> Tuple[float, float, float]:
        """One Adam step; returns (loss, grad_norm, va_loss) before the step."""
        _, loss, grad_norm, va_loss = self.eval("train loss grad_norm va_loss", **self.feed(samples))
        return float(loss), float(grad_norm), float(va_loss)

    def evaluate(self, samples: np.recarray) -> Tuple[float, float]:
        """(loss, va_loss) on `samples` without training."""
        loss, va_loss = self.eval("loss va_loss", **self.feed(samples))
        return float(loss), float(va_loss)
