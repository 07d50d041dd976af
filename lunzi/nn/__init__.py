"""TF1 graph building blocks. Importing this sets TensorFlow up for graph mode."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's reordered CPU kernels make float sums depend on thread timing; keep runs repeatable.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _import_tensorflow_quietly() -> None:
    """TF's C++ start-up writes absl lines (CUDA probing, oneDNN notices) straight to file
    descriptor 2, which TF_CPP_MIN_LOG_LEVEL does not filter; hide them during the import only,
    so that stderr carries our messages (one line for bad input)."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_import_tensorflow_quietly()
import tensorflow.compat.v1 as tf  # noqa: E402

# Every graph in this project is a TF1 graph run by a Session.
tf.disable_eager_execution()
# Using the TF1 API is the point here; its deprecation notices would bury our own messages.
tf.get_logger().setLevel("ERROR")

from .flat_param import FlatParam, hessian_vec_prod, n_parameters, parameters_to_vector, vector_to_parameters  # noqa: E402,E501
from .layers import Linear, ReLU, Sequential, Tanh, glorot_uniform_initializer, mlp, normc_initializer, \
    truncated_normal_initializer
from .loss import CRITERIA, L1Loss, L2Loss, MSELoss, PointwiseLoss
from .module import Module
from .parameter import Parameter, assign_values, read_values

__all__ = [
    "FlatParam", "hessian_vec_prod", "n_parameters", "parameters_to_vector", "vector_to_parameters",
    "Linear", "ReLU", "Sequential", "Tanh", "glorot_uniform_initializer", "mlp", "normc_initializer",
    "truncated_normal_initializer", "CRITERIA", "L1Loss", "L2Loss", "MSELoss", "PointwiseLoss",
    "Module", "Parameter", "assign_values", "read_values",
]
