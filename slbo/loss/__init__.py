"""Model losses. Each takes windows [multi_step, batch, ·] of real transitions."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from lunzi.nn.functional import parameters_replaced
from slbo.dynamics_model import DynamicsModel
from slbo.envs import BaseModelBasedEnv
from slbo.utils.in_graph import CALLER_THREAD, InGraphAdam, placeholders_like
from slbo.v_function.mlp_v_function import MLPVFunction
from slbo.v_function.real_value import RealValueFit

ValueFunction = Union[MLPVFunction, RealValueFit]  # TRPO's V, or V_real (model.va_value=real)


def value_aware_error(model: DynamicsModel, vfn: ValueFunction, states: tf.Tensor, actions: tf.Tensor,
                      next_states: tf.Tensor, va_norm: str) -> tf.Tensor:
    """Per-sample |V(s') − V(model(s, a))| (l1) or its square (l2), for flat [N, ·] inputs."""
    advantage = vfn(next_states) - vfn(model(states, actions))
    return tf.abs(advantage) if va_norm == "l1" else tf.square(advantage)


def reward_error(model: DynamicsModel, env: BaseModelBasedEnv, states: tf.Tensor, actions: tf.Tensor,
                 next_states: tf.Tensor) -> tf.Tensor:
    """Per-sample squared error of the rewards `env`'s formula reads from the predicted ŝ' = model(s, a)
    in the two roles a predicted state has in an imagined rollout: the end state of its transition,
    (r(s, a, ŝ') − r(s, a, s'))², plus the start state of the next one, (r(ŝ', a, s') − r(s', a, s'))²
    (this transition's action and real end state standing in for the next one's). rllab-style tasks
    read the reward from the end state, MBBL's from the start state: each term covers one of them."""
    env_actions = env.scale_action(actions)

    def reward(start: tf.Tensor, end: tf.Tensor) -> tf.Tensor:
        return env.mb_step_tf(start, env_actions, end)[0]

    predicted = model(states, actions)
    return tf.square(reward(states, predicted) - reward(states, next_states)) + \
        tf.square(reward(predicted, next_states) - reward(next_states, next_states))


class ModelLoss(nn.Module):
    """Placeholders for windows, the loss graph (`forward`), and the Adam step on model parameters.

    `op_loss` is the scalar training loss; `op_va_loss` the mean value-aware error of the model
    through `vfn` (a diagnostic for slbo and mle, the objective for va). Optional terms added to the loss (each
    off at 0, and then not in the graph): `va_aux_coeff` × the mean value-aware error, and
    `reward_loss_coeff` × the mean `reward_error` on `env`'s reward formula."""

    def __init__(self, model: DynamicsModel, vfn: ValueFunction, dim_state: int, dim_action: int,
                 step: int, va_norm: str = "l1", va_aux_coeff: float = 0.0, reward_loss_coeff: float = 0.0,
                 env: Optional[BaseModelBasedEnv] = None):
        super().__init__()
        self.model, self.vfn, self.step, self.va_norm = model, vfn, step, va_norm
        self.va_aux_coeff, self.reward_loss_coeff, self.env = va_aux_coeff, reward_loss_coeff, env
        assert reward_loss_coeff == 0 or env is not None, "the reward term needs the env's reward formula"
        with self.scope:
            self.op_states = tf.placeholder(tf.float32, [step, None, dim_state], name="states")
            self.op_actions = tf.placeholder(tf.float32, [step, None, dim_action], name="actions")
            self.op_next_states = tf.placeholder(tf.float32, [step, None, dim_state], name="next_states")
            self.op_masks = tf.placeholder(tf.float32, [step, None], name="masks")

    def build(self) -> None:
        """Builds `op_loss` and `op_va_loss`; subclasses call it once their own attributes are set."""
        self.op_loss, self.op_va_loss = self.losses(self.op_states, self.op_actions, self.op_next_states,
                                                    self.op_masks)

    def losses(self, states: tf.Tensor, actions: tf.Tensor, next_states: tf.Tensor, masks: tf.Tensor
               ) -> Tuple[tf.Tensor, tf.Tensor]:
        """(loss, va_loss) of windows; the optional terms apply to every transition of the window."""
        flat = [tf.reshape(x, [-1, x.shape[-1]]) for x in (states, actions, next_states)]
        loss = self(states, actions, next_states, masks)
        va_loss = tf.reduce_mean(value_aware_error(self.model, self.vfn, *flat, self.va_norm))
        if self.va_aux_coeff > 0:
            loss = loss + self.va_aux_coeff * va_loss
        if self.reward_loss_coeff > 0:
            loss = loss + self.reward_loss_coeff * tf.reduce_mean(reward_error(self.model, self.env, *flat))
        return loss, va_loss

    def forward(self, states: tf.Tensor, actions: tf.Tensor, next_states: tf.Tensor, masks: tf.Tensor) -> tf.Tensor:
        raise NotImplementedError

    def build_backward(self, lr: float, weight_decay: float, max_grad_norm: float = 2.0) -> None:
        params: List[tf.Variable] = self.model.parameters()
        self.weight_decay = weight_decay
        with self.scope:
            regularization = self.regularization(params)
            grads = tf.gradients(self.op_loss + regularization, params)
            clipped, self.op_grad_norm = tf.clip_by_global_norm(grads, max_grad_norm)
            self.optimizer = tf.train.AdamOptimizer(lr)
            # The reported losses read the parameters before the step, never after it.
            with tf.control_dependencies([self.op_loss, self.op_va_loss]):
                self.op_train = self.optimizer.apply_gradients(zip(clipped, params))
        self.adam = InGraphAdam(self.optimizer, params, max_grad_norm)
        self._multi_step_ops: Dict[tuple, tuple] = {}

    def regularization(self, params: List[tf.Tensor]) -> tf.Tensor:
        return self.weight_decay * tf.add_n([tf.nn.l2_loss(p) for p in params])

    def feed(self, samples: np.recarray) -> dict:
        """Feed dict entries for a [step, batch] record array of windows."""
        return dict(states=samples.state, actions=samples.action, next_states=samples.next_state,
                    masks=(~samples.done & ~samples.timeout).astype(np.float32))

    def train(self, samples: np.recarray) -> Tuple[float, float, float]:
        """One Adam step; returns (loss, grad_norm, va_loss) before the step."""
        _, loss, grad_norm, va_loss = self.eval("train loss grad_norm va_loss", **self.feed(samples))
        return float(loss), float(grad_norm), float(va_loss)

    def train_steps(self, batches: np.recarray, in_graph: bool, max_steps: int
                    ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`len(batches)` Adam steps, on batch k of [K, step, batch] windows at step k: one `train`
        call each, or (`in_graph`) all in one XLA-compiled session call with the same updates.
        Returns arrays (loss, grad_norm, va_loss) of each step, before it."""
        if not in_graph:
            loss, grad_norm, va_loss = np.array([self.train(batch) for batch in batches]).T
            return loss, grad_norm, va_loss
        # Every chunk is padded to `max_steps` (the caller's longest possible chunk), so the same
        # compiled program runs it whatever ran before: XLA may round a program of another shape
        # differently, and a resumed run must compute what the uninterrupted one did.
        n_steps = len(batches)
        if n_steps > max_steps:
            raise ValueError(f"a chunk of {n_steps} model steps is longer than max_steps={max_steps}")
        shape = (max_steps, *batches.shape[1:])
        padded = np.zeros(shape, dtype=batches.dtype).view(np.recarray)
        padded[:n_steps] = batches
        feed = dict(n_steps=np.int32(n_steps), **self.feed(padded))
        if shape not in self._multi_step_ops:
            def step_loss(values, i, states, actions, next_states, masks):
                with parameters_replaced(self.model, values):
                    loss, va_loss = self.losses(states[i], actions[i], next_states[i], masks[i])
                return [loss + self.regularization(values), loss, va_loss]

            with self.scope:
                holders = placeholders_like(feed)
                train, stats, _ = self.adam.build(shape[0], step_loss, list(holders.values()), 2)
            self._multi_step_ops[shape] = (holders, train, stats[1:])
        holders, train, stats = self._multi_step_ops[shape]
        _, (grad_norm, loss, va_loss) = tf.get_default_session().run(
            [train, stats], {holders[k]: v for k, v in feed.items()}, options=CALLER_THREAD)
        return loss[:n_steps], grad_norm[:n_steps], va_loss[:n_steps]

    def evaluate(self, samples: np.recarray) -> Tuple[float, float]:
        """(loss, va_loss) on `samples` without training."""
        loss, va_loss = self.eval("loss va_loss", **self.feed(samples))
        return float(loss), float(va_loss)
