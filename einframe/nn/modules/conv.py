"""Convolution layers: ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d``, ``LazyConv2d``.

Each is a sliding-window view plus ONE contraction (``'cklo,chwklb->ohwb'`` for Conv2d); the
transposed convolutions are a contraction plus the window's adjoint, ``Fold`` (overlap-add).

>>> import einframe as ef
>>> from einframe import nn
>>> m = nn.Conv2d(3, 6, kernel_size=3)
>>> m
Conv2d(3, 6, kernel_size=(3, 3), stride=(1, 1))
>>> m(ef.randn(2, 3, 8, 8)).shape
einframe.Size([2, 6, 6, 6])
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

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv2d"]


def _ntuple(v, n: int) -> tuple[int, ...]:
    if isinstance(v, int):
        return (v,) * n
    v = tuple(int(a) for a in v)
    return v * n if len(v) == 1 else v


def _empty(shape, device, dtype) -> Parameter:
    dev = get_device(device)
    return Parameter(Tensor._wrap(dev.xp.empty(shape, dtype=to_numpy_dtype(dtype or get_default_dtype())), dev))


class _ConvNd(Module):
    __constants__ = [
        "stride",
        "padding",
        "dilation",
        "groups",
        "padding_mode",
        "output_padding",
        "in_channels",
        "out_channels",
        "kernel_size",
    ]
    _n = 2
    _transposed = False

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
        bias: bool = True, padding_mode: str = "zeros", device: Any = None, dtype: Any = None, output_padding=0,
    ) -> None:  # fmt: skip
        super().__init__()
        n, name = self._n, type(self).__name__
        if groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                f"{name}: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got {padding_mode!r}"
            )
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _ntuple(kernel_size, n)
        self.stride = _ntuple(stride, n)
        self.dilation = _ntuple(dilation, n)
        self.output_padding = _ntuple(output_padding, n)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: invalid padding string {padding!r}, should be one of 'valid', 'same'")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
            self.padding = padding
        else:
            self.padding = _ntuple(padding, n)
        self.padding_mode = padding_mode
        # F.pad order (last dim first), both sides
        if isinstance(self.padding, str):
            pads = []
            if self.padding == "same":
                for d, k in zip(self.dilation, self.kernel_size):
                    total = d * (k - 1)
                    pads.append((total // 2, total - total // 2))
            else:
                pads = [(0, 0)] * n
        else:
            pads = [(p, p) for p in self.padding]
        self._reversed_padding_repeated_twice = tuple(v for pair in reversed(pads) for v in pair)
        if self._transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = _empty(shape, device, dtype)
        if bias:
            self.bias = _empty((out_channels,), device, dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: ``kaiming_uniform_(weight, a=√5)`` and bias ~ U(±1/√fan_in).

        ``fan_in = weight.shape[1]·prod(kernel_size)`` (for ConvTranspose that is out_channels/groups,
        exactly as PyTorch computes it).
        """
        from .. import init

        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        n = self._n
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * n:
            s += ", padding={padding}"
        if self.dilation != (1,) * n:
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * n:
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[self._n]
        if self.padding_mode != "zeros":
            return fn(
                F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode),
                weight,
                bias,
                self.stride,
                0,
                self.dilation,
                self.groups,
            )
        return fn(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L): ``Window`` + ``einsum('clo,cwlb->owb')``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.Conv1d(2, 4, 3, padding="same", padding_mode="circular")(ef.randn(1, 2, 7)).shape
    einframe.Size([1, 4, 7])
    """

    _n = 1

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype
        )


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W): ``Window`` + ``einsum('cklo,chwklb->ohwb')`` (grouped: ``'gcklo,gchwklb->gohwb'``).

    ``weight`` is (out_channels, in_channels/groups, kh, kw); padding int/tuple/'same'/'valid';
    ``padding_mode`` zeros/reflect/replicate/circular.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.Conv2d(4, 8, (3, 5), stride=2, padding=1, groups=2, bias=False)
    Conv2d(4, 8, kernel_size=(3, 5), stride=(2, 2), padding=(1, 1), groups=2, bias=False)
    """

    _n = 2

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype
        )


class Conv3d(_ConvNd):
    """3-D convolution over (N, C, D, H, W): ``Window`` + ``einsum('cjklo,cdhwjklb->odhwb')``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.Conv3d(1, 2, 2)(ef.randn(1, 1, 3, 3, 3)).shape
    einframe.Size([1, 2, 2, 2, 2])
    """

    _n = 3

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=True,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, device, dtype
        )


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        groups=1,
        bias=True,
        dilation=1,
        padding_mode="zeros",
        device=None,
        dtype=None,
    ):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got {padding!r}")
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            output_padding,
        )

    def _output_padding(self, input: Tensor, output_size) -> tuple[int, ...]:
        if output_size is None:
            return self.output_padding
        n = self._n
        size = tuple(output_size)[-n:]
        S = tuple(input.shape)[-n:]
        out = []
        for i in range(n):
            base = (S[i] - 1) * self.stride[i] - 2 * self.padding[i] + self.dilation[i] * (self.kernel_size[i] - 1) + 1
            extra = size[i] - base
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(
                    f"{type(self).__name__}: requested output size {tuple(size)} is not reachable from input {S} (base size {base})"
                )
            out.append(extra)
        return tuple(out)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[self._n]
        op = self._output_padding(input, output_size)
        return fn(input, self.weight, self.bias, self.stride, self.padding, op, self.groups, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution: ``einsum('olc,cxb->olxb')`` + ``Fold``; weight (in, out/groups, k).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.ConvTranspose1d(2, 3, 3, stride=2, output_padding=1)(ef.randn(1, 2, 4)).shape
    einframe.Size([1, 3, 10])
    """

    _n = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution: ``einsum('oklc,cxyb->oklxyb')`` + ``Fold`` (overlap-add) + crop.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)
    >>> m(ef.randn(1, 4, 5, 5), output_size=(10, 10)).shape
    einframe.Size([1, 2, 10, 10])
    """

    _n = 2


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution: ``einsum('ojklc,cxyzb->ojklxyzb')`` + ``Fold`` (overlap-add) + crop.

    ``weight`` is (in_channels, out_channels/groups, kD, kH, kW); ``forward(input, output_size=None)``
    picks the ``output_padding`` that reaches ``output_size`` (as PyTorch).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.ConvTranspose3d(4, 2, 3, stride=2, padding=1)
    >>> m.weight.shape
    einframe.Size([4, 2, 3, 3, 3])
    >>> m(ef.randn(1, 4, 2, 3, 3), output_size=(4, 5, 6)).shape
    einframe.Size([1, 2, 4, 5, 6])
    """

    _n = 3


_LAYOUTS = {1: "(N, C, L) or (C, L)", 2: "(N, C, H, W) or (C, H, W)", 3: "(N, C, D, H, W) or (C, D, H, W)"}


class _LazyConvXdMixin(LazyModuleMixin):
    """Shared by the lazy (transposed) convolutions: ``in_channels`` comes from the first input's channel dim.

    A subclass lists ``_LazyConvNd`` or ``_LazyConvTransposeNd`` first (``class LazyConv2d(_LazyConvNd,
    Conv2d)``): their ``__init__`` has PyTorch's lazy signature, calls the conv's with
    ``in_channels=out_channels=0`` and ``bias=False``, then ``_lazy_init``.
    """

    def _lazy_init(self, out_channels: int, bias: bool, device: Any, dtype: Any) -> None:
        if out_channels % self.groups:
            raise ValueError(f"{type(self).__name__}: out_channels ({out_channels}) must be divisible by groups ({self.groups})")
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        """Materialise ``weight`` from the input's channel dim: (out_channels, C/groups, *kernel), transposed (C, out_channels/groups, *kernel)."""
        if self.has_uninitialized_params():
            n, name = self._n, type(self).__name__
            if not isinstance(input, Tensor) or input.ndim not in (n + 1, n + 2):
                raise RuntimeError(f"{name}: expected a {_LAYOUTS[n]} tensor to infer in_channels, got {input!r}")
            with no_grad():
                self.in_channels = input.shape[-(n + 1)]
                if self.in_channels % self.groups:
                    raise ValueError(f"{name}: in_channels ({self.in_channels}) must be divisible by groups ({self.groups})")
                if self._transposed:
                    shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
                else:
                    shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()

    def _infer_from_state(self) -> None:
        self.in_channels = self.weight.shape[0] if self._transposed else self.weight.shape[1] * self.groups


class _LazyConvNd(_LazyConvXdMixin):
    """PyTorch's ``LazyConv{1,2,3}d`` signature (``in_channels`` left out)."""

    def __init__(
        self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1, bias: bool = True,
        padding_mode: str = "zeros", device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode, device, dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class _LazyConvTransposeNd(_LazyConvXdMixin):
    """PyTorch's ``LazyConvTranspose{1,2,3}d`` signature (``in_channels`` left out)."""

    def __init__(
        self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0, groups: int = 1, bias: bool = True,
        dilation=1, padding_mode: str = "zeros", device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False, dilation, padding_mode, device, dtype)
        self._lazy_init(out_channels, bias, device, dtype)


class LazyConv2d(_LazyConvNd, Conv2d):
    """A ``Conv2d`` whose ``in_channels`` is inferred from the first input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyConv2d(8, 3)
    >>> _ = m(ef.randn(1, 5, 6, 6))
    >>> m
    Conv2d(5, 8, kernel_size=(3, 3), stride=(1, 1))
    """

    cls_to_become = Conv2d
