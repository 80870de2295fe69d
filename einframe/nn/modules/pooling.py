"""Pooling layers: ``MaxPool1d/2d/3d`` (first maximum of each window, gathered), ``AvgPool1d/2d/3d`` (Window +
``einsum('bchwkl,hw->bchw', windows, 1/count)``), ``AdaptiveAvgPool2d/3d`` (``einsum('bchw,ih,jw->bcij')``),
``AdaptiveMaxPool2d/3d``.

>>> import einframe as ef
>>> from einframe import nn
>>> nn.MaxPool2d(2)(ef.randn(1, 3, 8, 8)).shape
einframe.Size([1, 3, 4, 4])
"""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
]  # fmt: skip


class _MaxPoolNd(Module):
    __constants__ = ["kernel_size", "stride", "padding", "dilation", "return_indices", "ceil_mode"]

    def __init__(
        self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False, ceil_mode: bool = False
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """1-D max pooling over (N, C, L).

    >>> from einframe import nn
    >>> nn.MaxPool1d(3, stride=2)
    MaxPool1d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def forward(self, input: Tensor):
        return F.max_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )


class MaxPool2d(_MaxPoolNd):
    """2-D max pooling over (N, C, H, W); ties go to the first maximum (as PyTorch).

    >>> from einframe import nn
    >>> nn.MaxPool2d(kernel_size=2, stride=2)
    MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
    """

    def forward(self, input: Tensor):
        return F.max_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )


class MaxPool3d(_MaxPoolNd):
    """3-D max pooling over (N, C, D, H, W); ties go to the first maximum (as PyTorch).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.MaxPool3d(2, stride=1, padding=1, return_indices=True)
    >>> m
    MaxPool3d(kernel_size=2, stride=1, padding=1, dilation=1, ceil_mode=False)
    >>> y, idx = m(ef.randn(1, 2, 3, 3, 3))
    >>> y.shape, idx.shape
    (einframe.Size([1, 2, 4, 4, 4]), einframe.Size([1, 2, 4, 4, 4]))
    """

    def forward(self, input: Tensor):
        return F.max_pool3d(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )


class AvgPool1d(Module):
    """1-D average pooling.

    >>> from einframe import nn
    >>> nn.AvgPool1d(2)
    AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    """

    __constants__ = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"]

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        one = lambda v: (v,) if isinstance(v, int) else tuple(v)  # noqa: E731
        self.kernel_size = one(kernel_size)
        self.stride = one(stride if (stride is not None) else kernel_size)
        self.padding = one(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)


class _AvgPoolNd(Module):
    __constants__ = ["kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"]

    def __init__(
        self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True, divisor_override=None
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad, self.divisor_override
        )


class AvgPool2d(_AvgPoolNd):
    """2-D average pooling (``count_include_pad``, ``ceil_mode``, ``divisor_override``).

    >>> from einframe import nn
    >>> nn.AvgPool2d(2)
    AvgPool2d(kernel_size=2, stride=2, padding=0)
    """

    _fn = staticmethod(F.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """3-D average pooling (``count_include_pad``, ``ceil_mode``, ``divisor_override``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.AvgPool3d((2, 2, 1))
    >>> m
    AvgPool3d(kernel_size=(2, 2, 1), stride=(2, 2, 1), padding=0)
    >>> m(ef.ones(1, 3, 4, 4, 4)).shape
    einframe.Size([1, 3, 2, 2, 4])
    """

    _fn = staticmethod(F.avg_pool3d)


class _AdaptivePoolNd(Module):
    __constants__ = ["output_size"]

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    __constants__ = ["output_size", "return_indices"]

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor):
        return type(self)._fn(input, self.output_size, self.return_indices)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    """Average over PyTorch's adaptive bins: one contraction with two averaging matrices.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.AdaptiveAvgPool2d((1, 1))(ef.randn(2, 3, 5, 7)).shape
    einframe.Size([2, 3, 1, 1])
    """

    _fn = staticmethod(F.adaptive_avg_pool2d)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max over PyTorch's adaptive bins (first maximum).

    >>> from einframe import nn
    >>> nn.AdaptiveMaxPool2d(2)
    AdaptiveMaxPool2d(output_size=2)
    """

    _fn = staticmethod(F.adaptive_max_pool2d)


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    """Average over PyTorch's adaptive 3-D bins: one contraction with three averaging matrices.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.AdaptiveAvgPool3d((1, None, 2))
    >>> m
    AdaptiveAvgPool3d(output_size=(1, None, 2))
    >>> m(ef.randn(2, 3, 5, 6, 7)).shape
    einframe.Size([2, 3, 1, 6, 2])
    """

    _fn = staticmethod(F.adaptive_avg_pool3d)


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max over PyTorch's adaptive 3-D bins (first maximum).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.AdaptiveMaxPool3d(2)
    >>> m
    AdaptiveMaxPool3d(output_size=2)
    >>> m(ef.randn(1, 3, 5, 4, 3)).shape
    einframe.Size([1, 3, 2, 2, 2])
    """

    _fn = staticmethod(F.adaptive_max_pool3d)
