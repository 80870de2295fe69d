"""Activation layers.

>>> import einframe as ef
>>> from einframe import nn
>>> nn.ReLU()(ef.tensor([-1.0, 3.0]))
tensor([0., 3.])
"""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["ReLU"]


class ReLU(Module):
    """``max(x, 0)`` elementwise; ``inplace=True`` overwrites the input.

    >>> from einframe import nn
    >>> nn.ReLU(inplace=True)
    ReLU(inplace=True)
    """

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""
