"""TRPO: natural-gradient step (CG on the KL Hessian, backtracking line search) + value fit."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Dict, List, NamedTuple, Tuple

import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from lunzi.logger import logger
from lunzi.nn.functional import parameters_replaced
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.utils.distributions import kl, limited_entropy, log_prob
from slbo.utils.in_graph import CALLER_THREAD, InGraphAdam, placeholders_like, xla_compile
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
    kl: float = 0.0  # mean KL(old ‖ new) on the step's batch, after the line search
    entropy: float = 0.0  # entropy of the new policy's Gaussian (its log σ is state-independent)


class TRPO(nn.Module):
    """TRPO on a Gaussian policy with a separately fitted value function.

    `in_graph=False` is the published design: numpy CG and line search, one session call per
    Fisher-vector product, line-search trial and value-fit minibatch. `in_graph=True` computes the
    same update with each of the policy step and the value fit as one XLA-compiled session call
    (graphs built on first use, per batch size); both paths share all variables and Adam state."""

    def __init__(self, dim_state: int, dim_action: int, policy: GaussianMLPPolicy, vfn: MLPVFunction,
                 max_kl: float, n_cg_iters: int, cg_damping: float = 0.1,
                 vf_lr: float = 1e-3, n_vf_iters: int = 5, vf_batch_size: int = 64, max_grad_norm: float = 2.0,
                 in_graph: bool = False):
        super().__init__()
        self.policy, self.vfn = policy, vfn
        self.max_kl, self.n_cg_iters, self.cg_damping = max_kl, n_cg_iters, cg_damping
        self.n_vf_iters, self.vf_batch_size = n_vf_iters, vf_batch_size
        self.in_graph = in_graph
        self._in_graph_ops: Dict[tuple, tuple] = {}
        self._vf_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vf-fit")
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
        self.vf_adam = InGraphAdam(self.vf_optimizer, vfn.parameters(), max_grad_norm)

    def _surrogate(self, mean: tf.Tensor, log_std: tf.Tensor, old_mean: tf.Tensor, old_log_std: tf.Tensor,
                   actions: tf.Tensor, advantages: tf.Tensor, ent_coef: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """(gain to ascend, mean KL(old ‖ new))."""
        mean_kl = tf.reduce_mean(tf.reduce_sum(kl(old_mean, old_log_std, mean, log_std), axis=1))
        std = tf.exp(log_std) + tf.zeros_like(mean)
        entropy = tf.reduce_mean(tf.reduce_sum(limited_entropy(mean, std), axis=1))
        log_ratio = log_prob(actions, mean, log_std) - log_prob(actions, old_mean, old_log_std)
        ratios = tf.exp(tf.reduce_sum(log_ratio, axis=1))
        return tf.reduce_mean(ratios * advantages) + ent_coef * entropy, mean_kl

    @staticmethod
    def _dist_stats(mean: tf.Tensor, log_std: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """(dist mean, dist std) as the published code logs them."""
        return tf.reduce_mean(tf.norm(mean, axis=1)) / np.sqrt(10), tf.exp(tf.reduce_mean(log_std))

    def _build_policy_graph(self) -> None:
        params = self.policy.parameters()
        mean, log_std = self.policy(self.op_states)
        old_mean, old_log_std = [tf.stop_gradient(x) for x in self.old_policy(self.op_states)]
        self.op_loss, self.op_mean_kl = self._surrogate(mean, log_std, old_mean, old_log_std, self.op_actions,
                                                        self.op_advantages, self.op_ent_coef)
        self.op_flat_grad = nn.parameters_to_vector(tf.gradients(self.op_loss, params))
        self.op_hessian_vec_prod = nn.hessian_vec_prod(self.op_mean_kl, params, self.op_tangents)
        self.op_dist_mean, self.op_dist_std = self._dist_stats(mean, log_std)
        self.op_sync_old = tf.group(*[tf.assign(old, new) for old, new in
                                      zip(self.old_policy.parameters(), params)])

    def _vf_loss(self, states: tf.Tensor, returns: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(tf.square(self.vfn(states) - returns))

    def _build_vf_graph(self, vf_lr: float, max_grad_norm: float) -> None:
        params = self.vfn.parameters()
        self.op_vf_loss = self._vf_loss(self.op_states, self.op_returns)
        grads = tf.gradients(self.op_vf_loss, params)
        clipped, self.op_vf_grad_norm = tf.clip_by_global_norm(grads, max_grad_norm)
        self.vf_optimizer = tf.train.AdamOptimizer(vf_lr)
        self.op_train_vf = self.vf_optimizer.apply_gradients(zip(clipped, params))

    def fisher_vec_prod(self, states: np.ndarray, actions: np.ndarray, x: np.ndarray) -> np.ndarray:
        return self.eval("hessian_vec_prod", states=states, actions=actions, tangents=x) + self.cg_damping * x

    def policy_step(self, ent_coef: float, samples: np.recarray, advantages: np.ndarray) -> TRPOStats:
        """One natural-gradient step on standardised advantages; returns its stats (vf ones 0)."""
        return self._policy_step_job(ent_coef, samples, advantages)()

    def _policy_step_job(self, ent_coef: float, samples: np.recarray, advantages: np.ndarray
                         ) -> Callable[[], TRPOStats]:
        if self.in_graph:
            return self._policy_step_in_graph(ent_coef, samples, advantages)
        return lambda: self._policy_step_per_call(ent_coef, samples, advantages)

    def _policy_step_per_call(self, ent_coef: float, samples: np.recarray, advantages: np.ndarray) -> TRPOStats:
        advantages = (advantages - advantages.mean()) / np.maximum(advantages.std(), 1e-8)
        states, actions = samples.state, samples.action
        self.eval("sync_old")
        old_loss, grad, dist_std, dist_mean = self.eval(
            "loss flat_grad dist_std dist_mean", states=states, actions=actions,
            advantages=advantages, ent_coef=ent_coef)
        stats = TRPOStats(float(dist_mean), float(dist_std), 0.0, 0.0)
        if np.allclose(grad, 0):
            logger.info("Zero gradient, not updating the policy")
            return self.with_step_stats(stats, states)
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
        return self.with_step_stats(stats, states)

    def with_step_stats(self, stats: TRPOStats, states: np.ndarray) -> TRPOStats:
        """`stats` with the step's KL and the new entropy, measured after the step through ops that
        exist already (the old policy holds θ_old on both paths): no op is added to the graph and
        the compiled step is untouched, so no other number of the run changes."""
        log_std = nn.read_values([self.policy.log_std])[0].astype(np.float64)
        entropy = np.sum(log_std) + 0.5 * len(log_std) * np.log(2 * np.pi * np.e)
        return stats._replace(kl=float(self.eval("mean_kl", states=states)), entropy=float(entropy))

    def _natural_step(self, states: tf.Tensor, actions: tf.Tensor, advantages: tf.Tensor,
                      ent_coef: tf.Tensor) -> List[tf.Tensor]:
        """The policy step of `policy_step` as graph ops on the flat parameter vector θ:
        [θ_old, θ_new, dist mean, dist std, zero gradient, accepted, backtracks]."""
        params = self.policy.parameters()
        theta0 = nn.parameters_to_vector(params)
        mean_adv, var_adv = tf.nn.moments(advantages, axes=[0])
        advantages = (advantages - mean_adv) / tf.maximum(tf.sqrt(var_adv), 1e-8)
        old_mean, old_log_std = [tf.stop_gradient(x) for x in self.policy(states)]

        def outputs(theta: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
            with parameters_replaced(self.policy, nn.vector_to_parameters(theta, params)):
                return self.policy(states)

        def surrogate(theta: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
            return self._surrogate(*outputs(theta), old_mean, old_log_std, actions, advantages, ent_coef)

        old_loss, _ = surrogate(theta0)
        grad = tf.gradients(old_loss, theta0)[0]

        def fisher_vec_prod(v: tf.Tensor) -> tf.Tensor:
            """Hessian of the mean KL at θ_old times v, as Jᵀ H J v with J the Jacobian of the
            outputs (μ, log σ) and H the KL's Hessian in them at old = new (1/σ² per mean, 2 per
            log σ; the cross terms vanish): a forward-mode and a reverse-mode pass instead of two
            reverse passes through the gradient. `fisher_vec_prod` of the per-call path computes
            the same product by double back-propagation."""
            theta = tf.identity(theta0)  # differentiated where it is used: inside the CG loop
            with tf2.autodiff.ForwardAccumulator(theta, v) as forward:
                mean, log_std = outputs(theta)
            n = tf.cast(tf.shape(mean)[0], tf.float32)
            weights = [forward.jvp(mean) * tf.exp(-2 * old_log_std) / n, 2 * forward.jvp(log_std)]
            return tf.gradients([mean, log_std], theta, grad_ys=weights)[0] + self.cg_damping * v

        def cg_step(i, x, r, p, r_dot_r):  # one iteration of conj_grad
            z = fisher_vec_prod(p)
            alpha = r_dot_r / tf.reduce_sum(p * z)
            x, r = x + alpha * p, r - alpha * z
            new_r_dot_r = tf.reduce_sum(r * r)
            return i + 1, x, r, r + new_r_dot_r / r_dot_r * p, new_r_dot_r

        def cg_continues(i, x, r, p, r_dot_r):  # conj_grad tests the residual after each iteration
            return (i < self.n_cg_iters) & ((i == 0) | (r_dot_r >= 1e-10))

        _, x, *_ = tf.while_loop(cg_continues, cg_step,
                                 [tf.constant(0), tf.zeros_like(grad), grad, grad, tf.reduce_sum(grad * grad)])
        step_size = tf.sqrt(2 * self.max_kl / tf.reduce_sum(x * fisher_vec_prod(x)))

        def candidate(k: tf.Tensor) -> tf.Tensor:
            return theta0 + x * step_size * tf.pow(0.5, tf.cast(k, tf.float32))

        def try_step(k: tf.Tensor, _: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
            loss, kl_ = surrogate(candidate(k))
            ok = tf.math.is_finite(loss) & tf.math.is_finite(kl_) & (kl_ <= 1.5 * self.max_kl) & (loss >= old_loss)
            return tf.where_v2(ok, k, k + 1), ok

        backtracks, accepted = tf.while_loop(lambda k, ok: (k < 10) & ~ok, try_step,
                                             [tf.constant(0), tf.constant(False)])
        zero_grad = tf.reduce_all(tf.abs(grad) <= 1e-8)  # np.allclose(grad, 0)
        theta = tf.where_v2(accepted & ~zero_grad, candidate(backtracks), theta0)
        dist_mean, dist_std = self._dist_stats(old_mean, old_log_std)
        return [theta0, theta, dist_mean, dist_std, zero_grad, accepted, backtracks]

    def _policy_step_in_graph(self, ent_coef: float, samples: np.recarray, advantages: np.ndarray
                              ) -> Callable[[], TRPOStats]:
        feed = dict(states=samples.state, actions=samples.action, advantages=advantages,
                    ent_coef=np.float32(ent_coef))
        key = ("policy", len(advantages))
        if key not in self._in_graph_ops:
            with self.scope:
                holders = placeholders_like(feed)
                theta_old, theta, *stats = xla_compile(self._natural_step, list(holders.values()))
                params = self.policy.parameters()
                update = tf.group(*[tf.assign(var, value) for var, value in
                                    zip(params, nn.vector_to_parameters(theta, params))],
                                  *[tf.assign(var, value) for var, value in
                                    zip(self.old_policy.parameters(), nn.vector_to_parameters(theta_old, params))])
            self._in_graph_ops[key] = (holders, update, stats)
        holders, update, stats = self._in_graph_ops[key]
        session = tf.get_default_session()

        def run() -> TRPOStats:
            _, (dist_mean, dist_std, zero_grad, accepted, backtracks) = session.run(
                [update, stats], {holders[k]: v for k, v in feed.items()}, options=CALLER_THREAD)
            if zero_grad:
                logger.info("Zero gradient, not updating the policy")
            elif not accepted:
                logger.info("Couldn't find a good step, keeping the old policy")
            elif backtracks:
                logger.info("Line search shrank the step %d times", backtracks)
            return self.with_step_stats(TRPOStats(float(dist_mean), float(dist_std), 0.0, 0.0), samples.state)

        return run

    def minibatches(self, n: int) -> np.ndarray:
        """[n_vf_iters × (n // vf_batch_size), vf_batch_size] indices: full minibatches of one fresh
        permutation per epoch (numpy's global RNG, the same draws on either path)."""
        size, n_batches = self.vf_batch_size, n // self.vf_batch_size
        epochs = [np.random.permutation(n)[:n_batches * size] for _ in range(self.n_vf_iters)]
        return np.concatenate(epochs).reshape(-1, size).astype(np.int32)

    def fit_vf(self, states: np.ndarray, returns: np.ndarray) -> TRPOStats:
        """`n_vf_iters` epochs of minibatch Adam on (states, returns); returns the final loss/grad norm."""
        return self._fit_vf_job(states, returns)()

    def _fit_vf_job(self, states: np.ndarray, returns: np.ndarray) -> Callable[[], TRPOStats]:
        """The value fit as a call to make later, its minibatches drawn (and its graph built) now."""
        batches = self.minibatches(len(states))
        if self.in_graph:
            return self._fit_vf_in_graph(states, returns, batches)
        return lambda: self._fit_vf_per_call(states, returns, batches)

    def _fit_vf_per_call(self, states: np.ndarray, returns: np.ndarray, batches: np.ndarray) -> TRPOStats:
        for batch in batches:
            self.eval("train_vf", states=states[batch], returns=returns[batch])
        vf_loss, vf_grad_norm = self.eval("vf_loss vf_grad_norm", states=states, returns=returns)
        return TRPOStats(0.0, 0.0, float(vf_loss), float(vf_grad_norm))

    def _fit_vf_in_graph(self, states: np.ndarray, returns: np.ndarray, batches: np.ndarray
                         ) -> Callable[[], TRPOStats]:
        feed = dict(n_steps=np.int32(len(batches)), states=states, returns=returns, batches=batches)
        key = ("vf", len(states), len(batches))
        if key not in self._in_graph_ops:
            def vf_loss(values: List[tf.Tensor], states: tf.Tensor, returns: tf.Tensor) -> tf.Tensor:
                with parameters_replaced(self.vfn, values):
                    return self._vf_loss(states, returns)

            def step_loss(values, i, states, returns, batches):
                return [vf_loss(values, tf.gather(states, batches[i]), tf.gather(returns, batches[i]))]

            def final(values, states, returns, batches):
                loss = vf_loss(values, states, returns)
                return [loss, tf.linalg.global_norm(tf.gradients(loss, values))]

            with self.scope:
                holders = placeholders_like(feed)
                train, _, final_stats = self.vf_adam.build(len(batches), step_loss, list(holders.values()), None, final)
            self._in_graph_ops[key] = (holders, train, final_stats)
        holders, train, final_stats = self._in_graph_ops[key]
        session = tf.get_default_session()

        def run() -> TRPOStats:
            _, (vf_loss, vf_grad_norm) = session.run([train, final_stats], {holders[k]: v for k, v in feed.items()},
                                                     options=CALLER_THREAD)
            return TRPOStats(0.0, 0.0, float(vf_loss), float(vf_grad_norm))

        return run

    def train(self, ent_coef: float, samples: np.recarray, advantages: np.ndarray, values: np.ndarray,
              skip_policy_update: bool = False) -> TRPOStats:
        """A policy step (unless skipped), then the value fit on returns = advantages + values."""
        if skip_policy_update:
            return self.fit_vf(samples.state, advantages + values)
        return self.train_async(ent_coef, samples, advantages, values)()

    def train_async(self, ent_coef: float, samples: np.recarray, advantages: np.ndarray, values: np.ndarray
                    ) -> Callable[[], TRPOStats]:
        """`train`, returning once the policy is updated: in-graph, the value fit then runs on a
        second thread, alongside whatever the caller does next (which must read neither the value
        function nor its optimiser). The returned call waits for the fit and gives the stats of both."""
        fit_vf = self._fit_vf_job(samples.state, advantages + values)
        policy_step = self._policy_step_job(ent_coef, samples, advantages)
        if not self.in_graph:
            policy_stats, vf_stats = policy_step(), fit_vf()
            return lambda: _with_vf(policy_stats, vf_stats)
        policy_stats = policy_step()  # alone: in parallel with the fit, both ran slower
        fitting = self._vf_thread.submit(fit_vf)
        return lambda: _with_vf(policy_stats, fitting.result())


def _with_vf(policy_stats: TRPOStats, vf_stats: TRPOStats) -> TRPOStats:
    return policy_stats._replace(vf_loss=vf_stats.vf_loss, vf_grad_norm=vf_stats.vf_grad_norm)
