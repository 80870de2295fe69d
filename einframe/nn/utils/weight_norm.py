"""Weight normalization with a forward pre-hook (PyTorch's legacy ``torch.nn.utils.weight_norm``).

``weight = g * v / ||v||`` with the norm over every dimension except ``dim`` (over all of them when
``dim`` is None or -1). The module gets parameters ``<name>_g`` and ``<name>_v`` in place of
``<name>``, and a forward pre-hook recomputes the plain attribute ``<name>`` before each call.
Deprecated, as in PyTorch: prefer :func:`einframe.nn.utils.parametrizations.weight_norm`.

>>> import warnings
>>> from einframe import nn
>>> with warnings.catch_warnings():
...     warnings.simplefilter("ignore", FutureWarning)
...     m = nn.utils.weight_norm(nn.Linear(3, 4))
>>> [(k, tuple(v.shape)) for k, v in m.state_dict().items()]
[('bias', (4,)), ('weight_g', (4, 1)), ('weight_v', (4, 3))]
>>> nn.utils.remove_weight_norm(m)
Linear(in_features=3, out_features=4, bias=True)
"""

from __future__ import annotations

import warnings
from typing import Any, TypeVar

from ... import linalg
from ...tensor import Tensor
from ..modules.module import Module
from ..parameter import Parameter, is_lazy

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]


def _norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """PyTorch's ``norm_except_dim``: the ``pow``-norm over every dimension but ``dim`` (kept, size 1),
    or of the whole tensor (a scalar) when ``dim == -1``."""
    if dim == -1:
        return linalg.vector_norm(v, pow)
    if dim < 0:
        dim += v.dim()
    others = tuple(d for d in range(v.dim()) if d != dim)
    if not others:
        return v.abs()
    return linalg.vector_norm(v, pow, dim=others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """PyTorch's ``_weight_norm``: ``v * (g / norm_except_dim(v, 2, dim))``."""
    return v * (g / _norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook installed by :func:`weight_norm` (recomputes ``module.<name>``)."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int | None) -> None:
        if dim is None:
            dim = -1
        self.name = name
        self.dim = dim

    def compute_weight(self, module: Module) -> Any:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        if dim is None:
            dim = -1
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if is_lazy(weight):
            raise ValueError(
                "The module passed to `WeightNorm` can't have uninitialized parameters. "
                "Make sure to run the dummy forward before applying weight normalization"
            )
        if name not in module._parameters or weight is None:
            raise ValueError(f"weight_norm: module {type(module).__name__} has no parameter named '{name}'")
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(_norm_except_dim(weight, 2, dim).detach()))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


T_module = TypeVar("T_module", bound=Module)


def weight_norm(module: T_module, name: str = "weight", dim: int | None = 0) -> T_module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||`` (parameters ``<name>_g``, ``<name>_v``); returns ``module``.

    ``dim`` is the dimension kept by the norm (0: one ``g`` per output row of a Linear/Conv
    weight); ``None`` (or -1) normalizes the whole tensor with a scalar ``g``. Emits a
    FutureWarning, as PyTorch: the parametrization-based
    :func:`einframe.nn.utils.parametrizations.weight_norm` is preferred.
    """
    warnings.warn(
        "`nn.utils.weight_norm` is deprecated in favor of `nn.utils.parametrizations.weight_norm`.",
        FutureWarning,
        stacklevel=2,
    )
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo :func:`weight_norm`: ``module.<name>`` becomes a plain parameter with the current weight."""
    return _remove_hook(module, WeightNorm, name, "weight_norm")


def _remove_hook(module, cls, name: str, what: str):
    """Remove the forward pre-hook of type ``cls`` reparametrizing ``name`` (weight_norm, spectral_norm)."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, cls) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"{what} of '{name}' not found in {module}")
