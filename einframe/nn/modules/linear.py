"""Linear layers: ``Identity``, ``Linear``, ``LazyLinear``.

>>> import einframe as ef
>>> from einframe import nn
>>> m = nn.Linear(20, 30)
>>> m.weight.shape, m(ef.randn(128, 20)).shape
(einframe.Size([30, 20]), einframe.Size([128, 30]))
"""

from __future__ import annotations

import math
from typing import Any

from ...autograd.grad_mode import no_grad
from ...backend import get_device
from ...dtypes import get_default_dtype, to_numpy_dtype
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Identity", "Linear", "LazyLinear"]


def _empty_param(shape: tuple[int, ...], device: Any = None, dtype: Any = None) -> Parameter:
    dev = get_device(device)
    data = dev.xp.empty(shape, dtype=to_numpy_dtype(dtype or get_default_dtype()))
    return Parameter(Tensor._wrap(data, dev))


def _uniform_(t: Tensor, bound: float) -> None:
    with no_grad():
        t.uniform_(-bound, bound)


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored, as in PyTorch).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.Identity(54, unused="x")(ef.ones(2))
    tensor([1., 1.])
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """``y = x Wᵀ + b``: one contraction ``einsum('...i,oi->...o', x, W)`` plus the bias.

    ``weight`` is ``(out_features, in_features)`` and ``bias`` ``(out_features,)``, both drawn
    from U(-1/√in_features, 1/√in_features): PyTorch's ``kaiming_uniform_(a=√5)`` default.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.Linear(4, 8)
    >>> m
    Linear(in_features=4, out_features=8, bias=True)
    >>> m(ef.ones(2, 4)).shape
    einframe.Size([2, 8])
    """

    __constants__ = ["in_features", "out_features"]
    in_features: int
    out_features: int
    weight: Parameter

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {v!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty_param((out_features, in_features), device, dtype)
        if bias:
            self.bias = _empty_param((out_features,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draw the parameters with PyTorch's default initialisation.

        ``kaiming_uniform_(weight, a=√5)`` has bound ``gain·√(3/fan_in)`` with
        ``gain = √(2/(1+a²)) = √(1/3)``, i.e. ``1/√fan_in``; the bias uses the same bound.
        """
        fan_in = self.weight.shape[1]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        _uniform_(self.weight, bound)
        if self.bias is not None:
            _uniform_(self.bias, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is inferred from the first input.

    Until then its parameters are :class:`~einframe.nn.UninitializedParameter`; the first forward
    (or ``load_state_dict``) materialises them and the module becomes a plain ``Linear``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyLinear(256)
    >>> m
    LazyLinear(in_features=0, out_features=256, bias=True)
    >>> _ = m(ef.rand(2, 20))
    >>> m
    Linear(in_features=20, out_features=256, bias=True)
    """

    cls_to_become = Linear
    weight: UninitializedParameter

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        """Materialise ``weight`` as ``(out_features, input.shape[-1])`` and initialise it."""
        if self.has_uninitialized_params():
            if not isinstance(input, Tensor) or input.ndim == 0:
                raise RuntimeError(f"LazyLinear: expected a tensor with at least 1 dimension to infer in_features, got {input!r}")
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()

    def _infer_from_state(self) -> None:
        self.in_features = self.weight.shape[1]
