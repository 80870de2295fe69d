"""Loss modules.

>>> import einframe as ef
>>> from einframe import nn
>>> nn.MSELoss(reduction="sum")(ef.tensor([1.0, 2.0]), ef.tensor([1.0, 0.0]))
tensor(4.)
"""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["MSELoss"]


class _Loss(Module):
    reduction: str

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = F._legacy_reduction(size_average, reduce)
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{reduction} is not a valid value for reduction: expected 'mean', 'sum' or 'none'")
        self.reduction = reduction


class MSELoss(_Loss):
    """Mean squared error: ``mean((input - target)²)`` (``reduction='sum'`` or ``'none'`` too).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.MSELoss()(ef.zeros(4), ef.ones(4))
    tensor(1.)
    """

    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)
