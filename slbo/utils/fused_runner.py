"""Imagined rollouts as one XLA-compiled graph per call (`plan.rollout=fused`).

The per-step `Runner` on a `VirtualEnv` makes two session calls per imagined step (policy, then
model). `FusedRunner` runs the whole rollout as one `tf.while_loop` compiled by XLA: policy
sampling, the model step, the env's TF reward and termination, resets of finished envs from the
virtual env's queue of real reset states. Values and GAE (`compute_advantage`) are a second
compiled call, so a value fit may run during the rollout.

Given the same weights, reset states and noise draws it produces what the per-step path produces
(up to float32 rounding): the action noise is drawn from numpy's global RNG in the same order
(one [n_steps, n_envs, dim_action] draw equals n_steps draws of [n_envs, dim_action]), and resets
are taken from the same queue in the same order (time-major, then by env index).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np
import tensorflow.compat.v1 as tf

from lunzi.dataset import Dataset
from slbo.envs.virtual_env import VirtualEnv
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.utils.in_graph import CALLER_THREAD, placeholders_like, xla_compile
from slbo.utils.OU_noise import OUNoise
from slbo.utils.runner import Episodes, Runner
from slbo.v_function.mlp_v_function import MLPVFunction


class FusedRunner(Runner):
    """`Runner` over a `VirtualEnv` whose rollouts and advantages are single session calls.
    Compiled graphs are cached: rollouts per (policy, n_steps, reset-pool size), advantages per
    (value function, n_steps)."""

    def __init__(self, env: VirtualEnv, max_steps: int, gamma: float = 0.99, lambda_: float = 0.95):
        super().__init__(env, max_steps, gamma, lambda_)
        self.env: VirtualEnv = env
        self._graphs: Dict[tuple, tuple] = {}
        # Reset-pool size per rollout length, grown from earlier rollouts: it picks the compiled
        # program, so a resume checkpoint holds it (a resumed run then runs the same programs).
        self.pool_sizes: Dict[int, int] = {}

    def run(self, policy: GaussianMLPPolicy, n_samples: int, noise: Optional[OUNoise] = None
            ) -> Tuple[Dataset, Episodes]:
        """As `Runner.run`; with exploration `noise` (stateful OU noise) it steps per step."""
        if noise is not None:
            return super().run(policy, n_samples, noise)
        n_steps = self.n_steps(n_samples)
        feed = dict(states=self._states, lengths=self._n_steps.astype(np.int32), returns=self._returns,
                    noise=np.random.randn(n_steps, self.n_envs, self.env.action_space.shape[0]))
        # Enough reset states for every timeout; episodes that terminate early need more.
        min_pool = self.n_envs * (n_steps // self.max_steps + 1)
        pool_size = self.pool_sizes.get(n_steps, min_pool)
        while True:
            feed["pool"] = self.env.peek_resets(pool_size)
            records, states, lengths, returns, n_resets = self._call(
                ("rollout", id(policy), n_steps, pool_size), lambda *inputs: self._rollout(policy, *inputs), feed)
            if n_resets <= pool_size:
                break
            # More episodes ended than the pool held: redo the same rollout with a larger pool.
            pool_size = _power_of_two_above(n_resets)
        # Twice the last need, in powers of two: few distinct shapes to compile, few redone rollouts.
        self.pool_sizes[n_steps] = max(min_pool, _power_of_two_above(2 * n_resets))
        self.env.take_resets(int(n_resets))
        self.env.set_state(states)
        self._states, self._n_steps, self._returns = states.astype(np.float64), lengths.astype(np.int64), \
            returns.astype(np.float64)

        s, a = self.env.observation_space.shape[0], self.env.action_space.shape[0]
        data = np.zeros(records.shape[:2], dtype=self.dtype).view(np.recarray)
        data.state, data.action, data.next_state = records[..., :s], records[..., s:s + a], \
            records[..., s + a:2 * s + a]
        data.reward, data.done, data.timeout = [records[..., 2 * s + a + k] for k in range(3)]
        ended = data.done | data.timeout
        episode_returns, episode_lengths = records[..., -2][ended], records[..., -1][ended]
        episodes = [{"return": float(r), "length": int(n)} for r, n in zip(episode_returns, episode_lengths)]
        return Dataset.from_records(data.reshape(-1)), episodes

    def compute_advantage(self, vfn: MLPVFunction, samples: Dataset) -> Tuple[np.ndarray, np.ndarray]:
        """As `Runner.compute_advantage`, values and GAE in one compiled call."""
        data = samples.data.reshape(-1, self.n_envs)
        feed = dict(states=data.state, next_states=data.next_state, rewards=data.reward,
                    dones=data.done, timeouts=data.timeout)
        advantages, values = self._call(("advantages", id(vfn), len(data)),
                                        lambda *inputs: self._advantages(vfn, *inputs), feed)
        return advantages, values

    def _call(self, key: tuple, computation, feed: Dict[str, np.ndarray]) -> List[np.ndarray]:
        """Runs `computation` on `feed` as an XLA-compiled graph, built on the first call for `key`."""
        if key not in self._graphs:
            with tf.name_scope("FusedRunner"):
                holders = placeholders_like(feed)
                self._graphs[key] = (holders, xla_compile(computation, list(holders.values())))
        holders, outputs = self._graphs[key]
        return tf.get_default_session().run(outputs, {holders[k]: v for k, v in feed.items()}, options=CALLER_THREAD)

    def _rollout(self, policy: GaussianMLPPolicy, states: tf.Tensor, lengths: tf.Tensor, returns: tf.Tensor,
                 noise: tf.Tensor, pool: tf.Tensor) -> List[tf.Tensor]:
        """Graph of one rollout. Each step writes one packed row per env:
        [state, action, next_state, reward, done, timeout, episode return, episode length]."""
        n_steps, pool_size = noise.shape[0], pool.shape[0]
        model, env = self.env.model, self.env.env

        def step(t, states, lengths, returns, n_resets, rows):
            mean, log_std = policy(states)
            actions = mean + tf.exp(log_std) * noise[t]
            next_states = model(states, actions)
            rewards, dones = env.mb_step_tf(states, env.scale_action(actions), next_states)
            returns, lengths = returns + rewards, lengths + 1
            timeouts = tf.equal(lengths, self.max_steps)
            ended = dones | timeouts
            row = tf.concat([states, actions, next_states, rewards[:, None], tf.cast(dones, tf.float32)[:, None],
                             tf.cast(timeouts, tf.float32)[:, None], returns[:, None],
                             tf.cast(lengths, tf.float32)[:, None]], axis=1)
            # Finished envs take the next pool entries in env order (the per-step reset order).
            ended_int = tf.cast(ended, tf.int32)
            slots = tf.minimum(n_resets + tf.cumsum(ended_int, exclusive=True), pool_size - 1)
            states = tf.where(ended, tf.gather(pool, slots), next_states)
            return (t + 1, states, tf.where(ended, tf.zeros_like(lengths), lengths),
                    tf.where(ended, tf.zeros_like(returns), returns), n_resets + tf.reduce_sum(ended_int),
                    rows.write(t, row))

        rows = tf.TensorArray(tf.float32, n_steps)
        _, states, lengths, returns, n_resets, rows = tf.while_loop(
            lambda t, *_: t < n_steps, step, [tf.constant(0), states, lengths, returns, tf.constant(0), rows])
        return [rows.stack(), states, lengths, returns, n_resets]

    def _advantages(self, vfn: MLPVFunction, states: tf.Tensor, next_states: tf.Tensor, rewards: tf.Tensor,
                    dones: tf.Tensor, timeouts: tf.Tensor) -> List[tf.Tensor]:
        """`gae` on [n_steps, n_envs] samples: bootstrap V(s') unless done; λ-trace cut at done or timeout."""
        dim_state = self.env.observation_space.shape[0]
        values, next_values = [tf.reshape(vfn(tf.reshape(x, [-1, dim_state])), rewards.shape)
                               for x in (states, next_states)]
        dones, timeouts = tf.cast(dones, tf.float32), tf.cast(timeouts, tf.float32)
        deltas = rewards + self.gamma * next_values * (1.0 - dones) - values
        continues = (1.0 - dones) * (1.0 - timeouts)
        advantages = tf.scan(lambda last, x: x[0] + self.gamma * self.lambda_ * last * x[1], (deltas, continues),
                             initializer=tf.zeros_like(deltas[0]), reverse=True)
        return [tf.reshape(advantages, [-1]), tf.reshape(values, [-1])]


def _power_of_two_above(n: int) -> int:
    """The smallest power of two >= n (n >= 1)."""
    return 1 << int(max(n, 1) - 1).bit_length()
