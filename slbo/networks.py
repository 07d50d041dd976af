"""The networks of a run, built from the flags: normalisers, policy, value function, model."""
from __future__ import annotations

from typing import NamedTuple

from lunzi.config import MetaFLAGS
from slbo.dynamics_model import DynamicsModel
from slbo.policies.gaussian_mlp_policy import GaussianMLPPolicy
from slbo.utils.normalizer import Normalizers
from slbo.v_function.mlp_v_function import MLPVFunction

VFN_HIDDEN_SIZES = [64, 64]  # fixed in the published code


class Networks(NamedTuple):
    normalizers: Normalizers
    policy: GaussianMLPPolicy
    vfn: MLPVFunction
    model: DynamicsModel


def build_networks(FLAGS: MetaFLAGS, dim_state: int, dim_action: int) -> Networks:
    normalizers = Normalizers(dim_action=dim_action, dim_state=dim_state)
    policy = GaussianMLPPolicy(dim_state, dim_action, FLAGS.policy.hidden_sizes, normalizers.state,
                               FLAGS.policy.init_std)
    vfn = MLPVFunction(dim_state, VFN_HIDDEN_SIZES, normalizers.state)
    model = DynamicsModel(dim_state, dim_action, normalizers, FLAGS.model.hidden_sizes, FLAGS.model.clip_to_data)
    return Networks(normalizers, policy, vfn, model)
