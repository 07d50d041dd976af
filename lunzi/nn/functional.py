"""Calling a Module on given tensors instead of its variables (for optimisers that run in-graph,
where parameters are loop values of a `tf.while_loop` rather than variables)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, List

import tensorflow.compat.v1 as tf

from .module import Module


@contextmanager
def parameters_replaced(module: Module, tensors: List[tf.Tensor]) -> Iterator[None]:
    """Within the block, `module`'s trainable parameters (in `parameters()` order) read as `tensors`:
    its `forward` builds ops on them. Non-trainable variables (normalisers) stay variables."""
    params = module.parameters()
    assert len(params) == len(tensors), f"{len(tensors)} tensors for {len(params)} parameters"
    replacement = {id(p): t for p, t in zip(params, tensors)}
    swapped = []

    def visit(m: Module) -> None:
        for key, param in m._parameters.items():
            if id(param) in replacement:
                object.__setattr__(m, key, replacement[id(param)])
                swapped.append((m, key, param))
        for child in m._modules.values():
            visit(child)

    visit(module)
    try:
        yield
    finally:
        for m, key, param in swapped:
            object.__setattr__(m, key, param)
