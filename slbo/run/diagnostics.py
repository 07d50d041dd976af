"""Per-stage diagnostics of a model-based run: which link of the model → value → policy loop holds.

After the evaluation at the start of a stage (and after the final one), for the policy, model and
TRPO value function that evaluation just measured:
  - imagined vs real return of the policy (the evaluation's two numbers, with their gap and ratio);
  - the model's one-step error on the evaluation's real transitions, per group of observation
    coordinates (the env's `observation_layout`), and the error of the reward it implies;
  - TRPO's V against discounted returns-to-go of those real trajectories;
  - the value-aware error |V(s') − V(ŝ')| with TRPO's V and with a V fitted on real returns;
  - on tasks whose episodes end by termination, whether the model reproduces the real falls open
    loop from 1 and 10 steps before them (slbo/run/termination.py);
  - how far the model drifts open loop over 10, 100 and 1000 steps under the real actions, and how
    often it ends pinned at its own clip (slbo/run/rollout_error.py).

The evaluation's real episodes are the held-out set: the model never trains on them (it trains on
the collected train set), and they are exactly the current policy's state distribution, which its
imagined rollouts should reproduce. Its 4 envs are split: V_real is fitted on the trajectories of
the first half and everything is measured on the second half.

Nothing here changes the run: the copies of the model and V live in a graph and session of their
own (weights copied in by name each time), the reward is computed on an env instance of our own,
and random draws come from a numpy Generator seeded by (seed, stage), never from the global RNG.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, List

import numpy as np
import tensorflow.compat.v1 as tf

import lunzi.nn as nn
from lunzi.config import MetaFLAGS
from lunzi.dataset import Dataset
from lunzi.logger import logger
from slbo.dynamics_model import DynamicsModel
from slbo.envs import BaseModelBasedEnv, ObservationLayout
from slbo.networks import VFN_HIDDEN_SIZES
from slbo.partial_envs import env_class
from slbo.run.rollout_error import drift_metrics
from slbo.run.termination import fall_metrics
from slbo.utils.normalizer import Normalizers
from slbo.utils.tf_utils import get_tf_config
from slbo.v_function.mlp_v_function import MLPVFunction
from slbo.v_function.real_value import RealValueFit, returns_to_go

TAG = "diagnostics"
MIN_VALUE_STATES = 32    # fewer states with a full return-to-go in either half: no value diagnostics


def layout_groups(layout: ObservationLayout, dim_state: int) -> Dict[str, List[int]]:
    """"all", the env's groups, and "reward" (the coordinates the reward reads) when it names them."""
    groups = {"all": list(range(dim_state)), **layout.groups}
    if layout.reward:
        groups["reward"] = list(layout.reward)
    return groups


def model_errors(next_states: np.ndarray, predicted: np.ndarray, diff_std: np.ndarray,
                 groups: Dict[str, List[int]]) -> Dict[str, float]:
    """Per group: RMSE of the predicted next states in observation units (model_rmse_<group>), and
    in units of each coordinate's one-step change std as the model's normaliser has it
    (model_nrmse_<group>: about 1 for a model that predicts only the mean change)."""
    errors = predicted - next_states
    scaled = errors / np.maximum(diff_std, 1e-6)
    metrics = {}
    for name, indices in groups.items():
        metrics[f"model_rmse_{name}"] = float(np.sqrt(np.mean(np.square(errors[..., indices]))))
        metrics[f"model_nrmse_{name}"] = float(np.sqrt(np.mean(np.square(scaled[..., indices]))))
    return metrics


def reward_errors(env: BaseModelBasedEnv, states: np.ndarray, actions: np.ndarray, next_states: np.ndarray,
                  predicted: np.ndarray, continues: np.ndarray) -> Dict[str, float]:
    """How far the rewards move when the predicted next state stands in for the real one, over
    [T, n] transitions (actions in the policy's [−1, 1] scale). A next state enters the reward
    of its own transition (rllab tasks read the end state) and, where the episode continues, that
    of the next one (MBBL's read the start state); both change, as they do in imagined rollouts.
    reward_error: mean |Δr|; reward_bias: mean Δr (> 0: the model promises more than the real state)."""
    env_actions = env.scale_action(actions)

    def reward(s: np.ndarray, a: np.ndarray, s_next: np.ndarray) -> np.ndarray:
        return env.mb_step(s, a, s_next)[0]

    delta = reward(states, env_actions, predicted) - reward(states, env_actions, next_states)
    on = continues[:-1]  # transition t is followed by t + 1 of the same episode
    delta[:-1][on] += (reward(predicted[:-1][on], env_actions[1:][on], next_states[1:][on])
                       - reward(next_states[:-1][on], env_actions[1:][on], next_states[1:][on]))
    return {"reward_error": float(np.mean(np.abs(delta))), "reward_bias": float(np.mean(delta))}


def value_errors(name: str, values: np.ndarray, returns: np.ndarray) -> Dict[str, float]:
    """<name>_bias = mean(V − G) and <name>_rmse against real returns-to-go G."""
    return {f"{name}_bias": float(np.mean(values - returns)),
            f"{name}_rmse": float(np.sqrt(np.mean(np.square(values - returns))))}


def value_aware_errors(name: str, value: Callable[[np.ndarray], np.ndarray], next_states: np.ndarray, predicted: np.ndarray
                       ) -> Dict[str, float]:
    """va_error_<name> = mean |V(s') − V(ŝ')| (the value-aware loss, without its coefficient), and
    <name>_std, the spread of V over the real next states that the error is to be read against."""
    real = value(next_states)
    return {f"va_error_{name}": float(np.mean(np.abs(real - value(predicted)))), f"{name}_std": float(np.std(real))}


class Diagnostics:
    """Measures and logs the diagnostics (metric records tagged "diagnostics") every `diag.every`
    stages from stage 1 on (stage 0's networks are untrained) and after the final evaluation."""

    def __init__(self, FLAGS: MetaFLAGS, dim_state: int, dim_action: int):
        self.every, self.n_stages, self.seed = FLAGS.diag.every, FLAGS.slbo.n_stages, FLAGS.seed
        self.gamma = FLAGS.runner.gamma
        # Our own env, for mb_step and the layout; seeded explicitly (make_env would draw from numpy's global RNG).
        self.env = env_class(FLAGS.env.id)(seed=FLAGS.seed)
        self.groups = layout_groups(self.env.observation_layout(), dim_state)
        self.graph = tf.Graph()
        with self.graph.as_default(), tf.variable_scope(TAG):
            tf.set_random_seed(FLAGS.seed)
            self.normalizers = Normalizers(dim_action=dim_action, dim_state=dim_state)
            self.model = DynamicsModel(dim_state, dim_action, self.normalizers, FLAGS.model.hidden_sizes,
                                       FLAGS.model.clip_to_data)
            self.vfn = MLPVFunction(dim_state, VFN_HIDDEN_SIZES, self.normalizers.state)
            self.vreal = RealValueFit(dim_state)
            self.session = nn.make_session(get_tf_config())
            self.session.run(tf.global_variables_initializer())

    def due(self, stage: int) -> bool:
        return stage >= 1 and (stage % self.every == 0 or stage == self.n_stages)

    def after_evaluation(self, stage: int, model: DynamicsModel, vfn: MLPVFunction, real_samples: Dataset,
                         n_envs: int, evaluation: Dict[str, float]) -> Dict[str, float]:
        """Measures the run's `model` and `vfn` (read, never changed) on the evaluation's real samples
        of `n_envs` envs; logs the record and returns its values under wandb names ("diagnostics/...").
        Does nothing (returns {}) at stages that are not due."""
        if not self.due(stage):
            return {}
        start = time.time()
        weights = {"model": model.state_dict(), "vfn": vfn.state_dict()}  # in the run's session
        with self.graph.as_default(), self.session.as_default():
            self.model.load_state_dict(weights["model"])
            self.vfn.load_state_dict(weights["vfn"])
            values = self.measure(real_samples.data.reshape(-1, n_envs), np.random.default_rng([self.seed, stage]))
        real, imagined = evaluation["return mean Real Env"], evaluation["return mean Virt Env"]
        values = {"return_real": real, "return_imagined": imagined, "return_gap": imagined - real,
                  "return_ratio": imagined / real if real else float("nan"), **values}
        logger.metrics(TAG, {"stage": stage, **values})
        logger.info("Diagnostics of stage %d: %.1f s", stage, time.time() - start)
        return {f"{TAG}/{key}": value for key, value in values.items()}

    def measure(self, data: np.recarray, rng: np.random.Generator) -> Dict[str, float]:
        """The model, reward and value diagnostics on [T, n_envs] real samples (in this graph's session)."""
        half = data.shape[1] // 2
        fit, held_out = data[:, :half], data[:, half:]
        predicted = self.model.predict(held_out.state.reshape(-1, held_out.state.shape[-1]),
                                       held_out.action.reshape(-1, held_out.action.shape[-1])
                                       ).astype(np.float64).reshape(held_out.next_state.shape)
        diff_std = self.normalizers.diff.stats()[1]
        metrics = {**model_errors(held_out.next_state, predicted, diff_std, self.groups),
                   **reward_errors(self.env, held_out.state, held_out.action, held_out.next_state, predicted,
                                   ~(held_out.done | held_out.timeout))}
        flat_next, flat_predicted = (x.reshape(-1, x.shape[-1]) for x in (held_out.next_state, predicted))
        metrics.update(value_aware_errors("vfn", self.vfn.get_values, flat_next, flat_predicted))
        metrics.update(fall_metrics(self.model.predict, self.env, held_out))
        metrics.update(drift_metrics(self.model.predict, self.env, held_out, self.model.at_clip))

        fit_returns, fit_full = returns_to_go(fit.reward, fit.done, fit.timeout, self.gamma)
        returns, full = returns_to_go(held_out.reward, held_out.done, held_out.timeout, self.gamma)
        if min(fit_full.sum(), full.sum()) < MIN_VALUE_STATES:
            return metrics  # trajectories too short for returns-to-go at this γ
        self.vreal.fit(fit.state[fit_full], fit_returns[fit_full], rng)
        states, returns = held_out.state[full], returns[full]
        metrics.update(n_value_states=int(full.sum()), value_scale=float(np.std(returns)),
                       **value_errors("vfn", self.vfn.get_values(states), returns),
                       **value_errors("vreal", self.vreal.values(states), returns),
                       **value_aware_errors("vreal", self.vreal.values, flat_next, flat_predicted))
        return metrics
