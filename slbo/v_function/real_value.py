"""V_real: a state-value function regressed on Monte Carlo returns-to-go of real trajectories.

Used by the diagnostics (fitted on half of an evaluation's trajectories) and, with
`model.va_value=real`, as the value function of the value-aware model loss (fitted on the train set).
"""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from slbo.networks import VFN_HIDDEN_SIZES
from slbo.utils.normalizer import GaussianNormalizer
from slbo.v_function.mlp_v_function import MLPVFunction

RETURN_TOLERANCE = 0.01  # a return-to-go counts once the reward it leaves out weighs at most γ^H ≤ this
VREAL_STEPS, VREAL_BATCH, VREAL_LR = 300, 256, 1e-3  # one fit (more steps overfit 2 envs, or a stage, of early data)


def return_horizon(gamma: float) -> float:
    """Steps H with γ^H ≤ RETURN_TOLERANCE (inf for γ = 1)."""
    return math.ceil(math.log(RETURN_TOLERANCE) / math.log(gamma)) if gamma < 1 else math.inf


def returns_to_go(rewards: np.ndarray, dones: np.ndarray, timeouts: np.ndarray, gamma: float
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Discounted returns to the end of each trajectory of [T, n] arrays (a trajectory ends at a
    done, a timeout or the last row), and whether each is a full return: its trajectory ends in a
    done, or goes on for at least `return_horizon(gamma)` steps from it."""
    returns, full = np.zeros(rewards.shape), np.zeros(rewards.shape, dtype=bool)
    ret, n_ahead, ends_done = np.zeros(rewards.shape[1]), np.zeros(rewards.shape[1]), np.zeros(rewards.shape[1], bool)
    for t in reversed(range(len(rewards))):
        end = dones[t] | timeouts[t]
        ret = rewards[t] + gamma * ret * ~end
        n_ahead = 1 + n_ahead * ~end
        ends_done = np.where(end, dones[t], ends_done)
        returns[t], full[t] = ret, ends_done | (n_ahead >= return_horizon(gamma))
    return returns, full


class RealValueFit(nn.Module):
    """A network like TRPO's V (tanh [64, 64] on states normalised by the fitted data's statistics)
    regressed on standardised returns; its output is in return units (`returns` keeps the scale).

    A fit starts over from the initial weights (taken at the first fit) with fresh Adam moments;
    with `warm_start` it continues from the previous fit instead. Everything a warm-started fit
    carries over is a TF variable, so a resume checkpoint restores it exactly (the initial weights
    are not: a graph restored from a checkpoint must warm-start)."""

    def __init__(self, dim_state: int, warm_start: bool = False):
        super().__init__()
        self.warm_start = warm_start
        with self.scope:
            self.normalizer = GaussianNormalizer("state", [dim_state])
            self.vfn = MLPVFunction(dim_state, VFN_HIDDEN_SIZES, self.normalizer)
            self.returns = GaussianNormalizer("return", [])
            self.op_targets = tf.placeholder(tf.float32, [None], name="targets")
            optimizer = tf.train.AdamOptimizer(VREAL_LR)
            self.op_train = optimizer.minimize(tf.reduce_mean(tf.square(self.vfn.op_values - self.op_targets)),
                                               var_list=self.vfn.parameters())
            self.op_reset_optimizer = tf.variables_initializer(optimizer.variables())
        self.op_states = self.vfn.op_states
        self.op_values = self(self.op_states)
        self.initial: List[np.ndarray] = []

    def forward(self, states: tf.Tensor) -> tf.Tensor:
        return self.returns(self.vfn(states), inverse=True)

    def values(self, states: np.ndarray) -> np.ndarray:
        return self.eval("values", states=states)

    def fit(self, states: np.ndarray, returns: np.ndarray, rng: np.random.Generator,
            n_steps: int = VREAL_STEPS) -> None:
        """`n_steps` minibatch Adam steps on the standardised `returns` of `states`."""
        session = tf.get_default_session()
        if not self.warm_start:
            params = self.vfn.parameters()
            if not self.initial:
                self.initial = nn.read_values(params)
            nn.assign_values(params, self.initial)
            session.run(self.op_reset_optimizer)
        mean, std = float(returns.mean()), float(max(returns.std(), 1e-8))
        nn.assign_values([self.normalizer.op_mean, self.normalizer.op_std, self.normalizer.op_n,
                          self.returns.op_mean, self.returns.op_std, self.returns.op_n],
                         [states.mean(axis=0), states.std(axis=0), len(states), mean, std, len(returns)])
        targets = (returns - mean) / std
        for _ in range(n_steps):
            batch = rng.integers(0, len(states), size=VREAL_BATCH)
            session.run(self.op_train, {self.vfn.op_states: states[batch], self.op_targets: targets[batch]})

    def fit_trajectories(self, samples: np.recarray, gamma: float, rng: np.random.Generator) -> Dict[str, float]:
        """Fits on the samples (oldest first; a trajectory ends at a done or timeout) that have a
        full return-to-go at `gamma`. Returns n_states, the returns' std and V's RMSE against them
        before and after the fit; only n_states (0) when no sample has one, and then fits nothing."""
        returns, full = (x[:, 0] for x in returns_to_go(samples.reward[:, None], samples.done[:, None],
                                                       samples.timeout[:, None], gamma))
        states, returns = samples.state[full], returns[full]
        if not len(states):
            return {"n_states": 0}
        before = float(np.sqrt(np.mean(np.square(self.values(states) - returns))))
        self.fit(states, returns, rng)
        return {"n_states": len(states), "return_std": float(returns.std()), "rmse_before": before,
                "rmse_after": float(np.sqrt(np.mean(np.square(self.values(states) - returns))))}
