"""TRPO: natural-gradient step (CG on the KL Hessian, backtracking line search) + value fit."""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from lunzi.logger import logger
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.utils.distributions import kl, limited_entropy, log_prob
from slbo.v_function.mlp_v_function import MLPVFunction


def conj_grad(mat_vec: Callable[[np.ndarray], np.ndarray], b: np.ndarray, n_iters: int = 10,
              residual_tol: float = 1e-10) -> np.ndarray:
    """Approximately solves A x = b for symmetric positive-definite A given as `mat_vec`."""
    x = np.zeros_like(b)
    r, p = b.copy(), b.copy()
    r_dot_r = r.dot(r)
    for _ in range(n_iters):
        z = mat_vec(p)
        alpha = r_dot_r / p.dot(z)
        x += alpha * p
        r -= alpha * z
        new_r_dot_r = r.dot(r)
        if new_r_dot_r < residual_tol:
            break
        p = r + new_r_dot_r / r_dot_r * p
        r_dot_r = new_r_dot_r
    return x


class TRPOStats(NamedTuple):
    dist_mean: float
    dist_std: float
    vf_loss: float
    vf_grad_norm: float


class TRPO(nn.Module):
    def __init__(self, dim_state: int, dim_action: int, policy: GaussianMLPPolicy, vfn: MLPVFunction,
                 max_kl: float, n_cg_iters: int, cg_damping: float = 0.1,
                 vf_lr: float = 1e-3, n_vf_iters: int = 5, vf_batch_size: int = 64, max_grad_norm: float = 2.0):
        super().__init__()
        self.policy, self.vfn = policy, vfn
        self.max_kl, self.n_cg_iters, self.cg_damping = max_kl, n_cg_iters, cg_damping
        self.n_vf_iters, self.vf_batch_size = n_vf_iters, vf_batch_size
        with self.scope:
            self.old_policy = policy.clone()
            self.flat = nn.FlatParam(policy.parameters())
            self.op_states = tf.placeholder(tf.float32, [None, dim_state], name="states")
            self.op_actions = tf.placeholder(tf.float32, [None, dim_action], name="actions")
            self.op_advantages = tf.placeholder(tf.float32, [None], name="advantages")
            self.op_returns = tf.placeholder(tf.float32, [None], name="returns")
            self.op_ent_coef = tf.placeholder(tf.float32, [], name="ent_coef")
            self.op_tangents = tf.placeholder(tf.float32, [nn.n_parameters(policy.parameters())], name="tangents")
            self._build_policy_graph()
            self._build_vf_graph(vf_lr, max_grad_norm)

    def _build_policy_graph(self) -> None:
        params = self.policy.parameters()
        mean, log_std = self.policy(self.op_states)
        old_mean, old_log_std = [tf.stop_gradient(x) for x in self.old_policy(self.op_states)]
        self.op_mean_kl = tf.reduce_mean(tf.reduce_sum(kl(old_mean, old_log_std, mean, log_std), axis=1))
        std = tf.exp(log_std) + tf.zeros_like(mean)
        entropy = tf.reduce_mean(tf.reduce_sum(limited_entropy(mean, std), axis=1))
        log_ratio = log_prob(self.op_actions, mean, log_std) - log_prob(self.op_actions, old_mean, old_log_std)
        ratios = tf.exp(tf.reduce_sum(log_ratio, axis=1))
        # A gain: we ascend it.
        self.op_loss = tf.reduce_mean(ratios * self.op_advantages) + self.op_ent_coef * entropy
        self.op_flat_grad = nn.parameters_to_vector(tf.gradients(self.op_loss, params))
        self.op_hessian_vec_prod = nn.hessian_vec_prod(self.op_mean_kl, params, self.op_tangents)
        self.op_dist_std = tf.exp(tf.reduce_mean(log_std))
        self.op_dist_mean = tf.reduce_mean(tf.norm(mean, axis=1)) / np.sqrt(10)
        self.op_sync_old = tf.group(*[tf.assign(old, new) for old, new in
                                      zip(self.old_policy.parameters(), params)])

    def _build_vf_graph(self, vf_lr: float, max_grad_norm: float) -> None:
        params = self.vfn.parameters()
        self.op_vf_loss = tf.reduce_mean(tf.square(self.vfn(self.op_states) - self.op_returns))
        grads = tf.gradients(self.op_vf_loss, params)
        clipped, self.op_vf_grad_norm = tf.clip_by_global_norm(grads, max_grad_norm)
        self.vf_optimizer = tf.train.AdamOptimizer(vf_lr)
        self.op_train_vf = self.vf_optimizer.apply_gradients(zip(clipped, params))

    def fisher_vec_prod(self, states: np.ndarray, actions: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.eval("hessian_vec_prod", states=states, actions=actions, tangents=x) + self.cg_damping * x

    def policy_step(self, ent_coef: float, samples: np.recarray, advantages: np.ndarray) -> TRPOStats:
        """One natural-gradient step on standardised advantages; returns (dist mean, dist std, 0, 0)."""
        advantages = (advantages - advantages.mean()) / np.maximum(advantages.std(), 1e-8)
        states, actions = samples.state, samples.action
        self.eval("sync_old")
        old_loss, grad, dist_std, dist_mean = self.eval(
            "loss flat_grad dist_std dist_mean", states=states, actions=actions,
            advantages=advantages, ent_coef=ent_coef)
        stats = TRPOStats(float(dist_mean), float(dist_std), 0.0, 0.0)
        if np.allclose(grad, 0):
            logger.info("Zero gradient, not updating the policy")
            return stats
        nat_grad = conj_grad(lambda x: self.fisher_vec_prod(states, actions, x), grad, self.n_cg_iters)
        step_size = np.sqrt(2 * self.max_kl / nat_grad.dot(self.fisher_vec_prod(states, actions, nat_grad)))
        old_params = self.flat.get_flat()
        for _ in range(10):
            self.flat.set_flat(old_params + nat_grad * step_size)
            loss, mean_kl = self.eval("loss mean_kl", states=states, actions=actions,
                                      advantages=advantages, ent_coef=ent_coef)
            if not np.isfinite([loss, mean_kl]).all():
                logger.info("Got non-finite loss, shrinking step")
            elif mean_kl > 1.5 * self.max_kl:
                logger.info("Violated KL constraint (%.6f > 1.5 x %.6f), shrinking step", mean_kl, self.max_kl)
            elif loss < old_loss:
                logger.info("Surrogate didn't improve (%.6f => %.6f), shrinking step", old_loss, loss)
            else:
                break
            step_size *= 0.5
        else:
            logger.info("Couldn't find a good step, keeping the old policy")
            self.flat.set_flat(old_params)
        return stats

    def fit_vf(self, states: np.ndarray, returns: np.ndarray) -> TRPOStats:
        """`n_vf_iters` epochs of minibatch Adam on (states, returns); returns the final loss/grad norm."""
        n, size = len(states), self.vf_batch_size
        for _ in range(self.n_vf_iters):
            order = np.random.permutation(n)
            for start in range(0, n - size + 1, size):  # full shuffled minibatches
                batch = order[start:start + size]
                self.eval("train_vf", states=states[batch], returns=returns[batch])
        vf_loss, vf_grad_norm = self.eval("vf_loss vf_grad_norm", states=states, returns=returns)
        return TRPOStats(0.0, 0.0, float(vf_loss), float(vf_grad_norm))

    def train(self, ent_coef: float, samples: np.recarray, advantages: np.ndarray, values: np.ndarray,
              skip_policy_update: bool = False) -> TRPOStats:
        """A policy step (unless skipped) then the value fit on returns = advantages + values."""
        returns = advantages + values
        policy_stats = TRPOStats(0.0, 0.0, 0.0, 0.0) if skip_policy_update else \
            self.policy_step(ent_coef, samples, advantages)
        vf_stats = self.fit_vf(samples.state, returns)
        return policy_stats._replace(vf_loss=vf_stats.vf_loss, vf_grad_norm=vf_stats.vf_grad_norm)
