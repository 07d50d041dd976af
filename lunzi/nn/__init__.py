"""TF1 graph building blocks. Importing this sets TensorFlow up for graph mode."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's reordered CPU kernels make float sums depend on thread timing; keep runs repeatable.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow.compat.v1 as tf  # noqa: E402

# Every graph in this project is a TF1 graph run by a Session.
tf.disable_eager_execution()

from .flat_param import FlatParam, hessian_vec_prod, n_parameters, parameters_to_vector, vector_to_parameters  # noqa: E402,E501
from .layers import Linear, ReLU, Sequential, Tanh, glorot_uniform_initializer, mlp, normc_initializer, \
    truncated_normal_initializer
from .loss import CRITERIA, L1Loss, L2Loss, MSELoss, PointwiseLoss
from .module import Module, make_method
from .parameter import Parameter, assign_values, read_values

__all__ = [
    "FlatParam", "hessian_vec_prod", "n_parameters", "parameters_to_vector", "vector_to_parameters",
    "Linear", "ReLU", "Sequential", "Tanh", "glorot_uniform_initializer", "mlp", "normc_initializer",
    "truncated_normal_initializer", "CRITERIA", "L1Loss", "L2Loss", "MSELoss", "PointwiseLoss",
    "Module", "make_method", "Parameter", "assign_values", "read_values",
]
