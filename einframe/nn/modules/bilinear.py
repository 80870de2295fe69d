"""``Bilinear``: ``y = x1ᵀ W x2 + b`` as ONE three-operand contraction ``einsum('...i,oij,...j->...o')``.

>>> import einframe as ef
>>> from einframe import nn
>>> m = nn.Bilinear(20, 30, 40)
>>> m(ef.randn(128, 20), ef.randn(128, 30)).shape
einframe.Size([128, 40])
"""

from __future__ import annotations

import math
from typing import Any

from ...backend import get_device
from ...dtypes import get_default_dtype, to_numpy_dtype
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter
from .module import Module

__all__ = ["Bilinear"]


class Bilinear(Module):
    """Weight (out_features, in1_features, in2_features), bias (out_features,), both U(±1/√in1_features).

    >>> from einframe import nn
    >>> nn.Bilinear(2, 3, 4)
    Bilinear(in1_features=2, in2_features=3, out_features=4, bias=True)
    """

    __constants__ = ["in1_features", "in2_features", "out_features"]

    def __init__(
        self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        dev = get_device(device)
        dt = to_numpy_dtype(dtype or get_default_dtype())
        self.weight = Parameter(Tensor._wrap(dev.xp.empty((out_features, in1_features, in2_features), dtype=dt), dev))
        if bias:
            self.bias = Parameter(Tensor._wrap(dev.xp.empty((out_features,), dtype=dt), dev))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: U(-1/√in1, 1/√in1) for weight and bias."""
        from .. import init

        bound = 1 / math.sqrt(self.weight.shape[1])
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in1_features={self.in1_features}, in2_features={self.in2_features}, out_features={self.out_features}, bias={self.bias is not None}"
