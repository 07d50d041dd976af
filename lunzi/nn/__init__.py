"""TF1 graph building blocks. Importing this sets TensorFlow up for graph mode."""
import contextlib
import os
from typing import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's reordered CPU kernels make float sums depend on thread timing; keep runs repeatable.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """TF's C++ start-up (the import, the first Session) writes absl lines (CUDA probing, oneDNN
    notices) straight to file descriptor 2, which TF_CPP_MIN_LOG_LEVEL does not filter; hide
    them there only, so that stderr carries our messages (one line for bad input)."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with quiet_stderr():
    import tensorflow  # noqa: F401,E402
import tensorflow.compat.v1 as tf  # noqa: E402

# Every graph in this project is a TF1 graph run by a Session.
tf.disable_eager_execution()
# Using the TF1 API is the point here; its deprecation notices would bury our own messages.
tf.get_logger().setLevel("ERROR")


def make_session(config: "tf.ConfigProto" = None) -> "tf.Session":
    """A Session on the default graph, created without TF's device-probing noise on stderr."""
    with quiet_stderr():
        return tf.Session(config=config)


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
    "Module", "make_session", "quiet_stderr", "Parameter", "assign_values", "read_values",
]
