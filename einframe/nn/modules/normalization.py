"""Normalisation layers: ``BatchNorm1d/2d``, ``LayerNorm``, ``GroupNorm``.

Statistics are contractions (``einsum('bcl->c', x)/n`` and ``einsum('bcl,bcl->c', xc, xc)/n``);
BatchNorm's running stats and ``num_batches_tracked`` are updated in place exactly as PyTorch does.

>>> import einframe as ef
>>> from einframe import nn
>>> bn = nn.BatchNorm2d(6)
>>> bn
BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
>>> _ = bn(ef.randn(4, 6, 3, 3))
>>> int(bn.num_batches_tracked)
1
"""

from __future__ import annotations

import numbers
from typing import Any

from ...autograd.grad_mode import no_grad
from ...backend import get_device
from ...dtypes import get_default_dtype, int64, to_numpy_dtype
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm"]


def _full(shape, value, device, dtype) -> Tensor:
    dev = get_device(device)
    return Tensor._wrap(dev.xp.full(shape, value, dtype=to_numpy_dtype(dtype or get_default_dtype())), dev)


def _affine(module: Module, enabled: bool, shape, bias: bool, device, dtype) -> None:
    """Register ``weight`` (ones) and ``bias`` (zeros) of ``shape``, or reserve the names as None."""
    if enabled:
        module.weight = Parameter(_full(shape, 1.0, device, dtype))
        if bias:
            module.bias = Parameter(_full(shape, 0.0, device, dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)


def _reset_affine(module: Module) -> None:
    if module.weight is not None:
        with no_grad():
            module.weight.fill_(1)
            if module.bias is not None:
                module.bias.zero_()


class _NormBase(Module):
    """Shared by the batch and instance norms: affine ``weight``/``bias``, ``running_mean``/``running_var``/
    ``num_batches_tracked`` buffers, their resets, the input-rank check and the repr (PyTorch's ``_NormBase``)."""

    __constants__ = ["track_running_stats", "momentum", "eps", "num_features", "affine"]
    _dims: tuple[int, ...] = ()
    _layout = ""

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
        track_running_stats: bool = True, device: Any = None, dtype: Any = None, *, bias: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        _affine(self, affine, (num_features,), bias, device, dtype)
        if track_running_stats:
            self.register_buffer("running_mean", _full((num_features,), 0.0, device, dtype))
            self.register_buffer("running_var", _full((num_features,), 1.0, device, dtype))
            self.register_buffer("num_batches_tracked", _full((), 0, device, int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in self._dims:
            want = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{type(self).__name__}: expected {want} input {self._layout}, got {input.dim()}D input")

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}: expected {self.num_features} channels (dim 1), got input of shape {list(input.shape)}"
            )
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked.item()) if self.momentum is None else self.momentum
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_stats = not self.training or self.track_running_stats
        return F.batch_norm(
            input, self.running_mean if use_stats else None, self.running_var if use_stats else None,
            self.weight, self.bias, bn_training, factor, self.eps,
        )  # fmt: skip


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.BatchNorm1d(3, momentum=None)(ef.randn(5, 3)).shape
    einframe.Size([5, 3])
    """

    _dims = (2, 3)
    _layout = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W), per channel."""

    _dims = (4,)
    _layout = "(N, C, H, W)"


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dims; affine weight 1 / bias 0.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.LayerNorm(10)
    LayerNorm((10,), eps=1e-05, elementwise_affine=True, bias=True)
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]

    def __init__(
        self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
        device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(v) for v in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine(self, elementwise_affine, self.normalized_shape, bias, device, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Normalise each group of ``num_channels // num_groups`` channels per sample; per-channel affine.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.GroupNorm(2, 4)
    GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)
    """

    __constants__ = ["num_groups", "num_channels", "eps", "affine"]

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        _affine(self, affine, (num_channels,), bias, device, dtype)

    def reset_parameters(self) -> None:
        _reset_affine(self)

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={self.bias is not None}"
