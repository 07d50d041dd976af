"""Module: a PyTorch-like front end for TF1 graphs, each module with its own variable scope."""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, Dict, List

import numpy as np
import tensorflow as tf2
import tensorflow.compat.v1 as tf

from .parameter import Parameter, assign_values, read_values


class Module:
    """Holds Parameters and sub-modules; `forward` builds graph ops; `eval` runs cached callables.

    Attributes named `op_<name>` are the tensors `eval("name ...", <name>=array, ...)` fetches
    and feeds, so graph construction and the numpy-facing API stay side by side.
    """

    _name_counts: Counter = Counter()

    def __init__(self) -> None:
        prefix = type(self).__name__
        scope_key = f"{tf.get_variable_scope().name}/{prefix}"
        uid = Module._name_counts[scope_key]
        Module._name_counts[scope_key] += 1
        with tf.variable_scope(prefix if uid == 0 else f"{prefix}_{uid}") as scope:
            self._scope = scope
        self._parameters: Dict[str, tf.Variable] = {}
        self._modules: Dict[str, Module] = {}
        self._callables: Dict[str, Callable] = {}

    def __setattr__(self, key: str, value: Any) -> None:
        if isinstance(value, tf2.Variable):  # resource variables are v2 Variables
            self.__dict__["_parameters"][key] = value
        elif isinstance(value, Module):
            assert "_modules" in self.__dict__, "call super().__init__() before assigning sub-modules"
            self.__dict__["_modules"][key] = value
        object.__setattr__(self, key, value)

    @property
    def scope(self) -> tf.variable_scope:
        return tf.variable_scope(self._scope, reuse=tf.AUTO_REUSE)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def eval(self, fetch: str, **feed: np.ndarray) -> Any:
        """Runs `op_<fetch...>` with `op_<key>` fed; callables are built once per signature."""
        key = f"[{' '.join(feed)}] => [{fetch}]"
        if key not in self._callables:
            feeds = [getattr(self, "op_" + name) for name in feed]
            names = fetch.split()
            fetches = [getattr(self, "op_" + name) for name in names]
            self._callables[key] = tf.get_default_session().make_callable(
                fetches[0] if len(fetches) == 1 else fetches, feeds)
        return self._callables[key](*feed.values())

    def parameters(self, trainable: bool = True, non_trainable: bool = False) -> List[tf.Variable]:
        out: List[tf.Variable] = []
        seen = set()

        def visit(module: Module) -> None:
            for param in module._parameters.values():
                ok = trainable if param.trainable else non_trainable
                if ok and id(param) not in seen:
                    seen.add(id(param))
                    out.append(param)
            for child in module._modules.values():
                visit(child)

        visit(self)
        return out

    def named_parameters(self, prefix: str = "") -> Dict[str, tf.Variable]:
        """Every parameter (trainable or not) by dotted path, e.g. `net.0.weight`."""
        out = {f"{prefix}{k}": p for k, p in self._parameters.items()}
        for name, child in self._modules.items():
            out.update(child.named_parameters(f"{prefix}{name}."))
        return out

    def state_dict(self) -> Dict[str, np.ndarray]:
        """Flat {dotted path: array} of every parameter, read in one session call."""
        named = self.named_parameters()
        return dict(zip(named, read_values(list(named.values()))))

    def load_state_dict(self, state: Dict[str, np.ndarray], strict: bool = True) -> None:
        named = self.named_parameters()
        if strict:
            missing = sorted(set(named) - set(state))
            unexpected = sorted(set(state) - set(named))
            if missing or unexpected:
                raise KeyError(f"state_dict mismatch: missing {missing}, unexpected {unexpected}")
        keys = [k for k in named if k in state]
        for k in keys:
            want = tuple(named[k].shape.as_list())
            got = tuple(np.shape(state[k]))
            if want != got:
                raise ValueError(f"state_dict entry {k} has shape {got}, expected {want}")
        assign_values([named[k] for k in keys], [state[k] for k in keys])

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        def render(module: Module, indent: str) -> str:
            head = f"{type(module).__name__}({module.extra_repr()}"
            if not module._modules:
                return head + ")"
            lines = [head]
            for name, child in module._modules.items():
                lines.append(f"{indent}  ({name}): {render(child, indent + '  ')}")
            return "\n".join(lines) + f"\n{indent})"
        return render(self, "")

