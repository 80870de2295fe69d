"""More activations, dropouts, padding, pixel shuffle and upsampling layers.

Re-exported by :mod:`einframe.nn` (and registered as built-in layers): every name in ``__all__``.
Each layer is a thin module over its functional twin in ``F`` (PyTorch's names, signatures,
defaults and reprs); none has derivative code.

>>> import einframe as ef
>>> from einframe import nn
>>> nn.Sequential(nn.ReflectionPad2d(1), nn.PixelShuffle(2), nn.Hardswish())(ef.ones(1, 4, 2, 2)).shape
einframe.Size([1, 1, 8, 8])
"""

from __future__ import annotations

import numbers
from typing import Any

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from .activation import Hardtanh
from .dropout import _DropoutNd
from .linear import _empty_param
from .module import Module

__all__: list[str] = [
    # activations
    "ReLU6", "SELU", "CELU", "Mish", "Hardswish", "Hardsigmoid", "LogSigmoid", "Softsign", "Softmin", "Softshrink",
    "Hardshrink", "Tanhshrink", "Threshold", "GLU", "PReLU", "RReLU", "Softmax2d",
    # dropouts
    "Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    # padding
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d",
    # reshuffles, resampling, fold/unfold
    "PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d",
    "Fold", "Unfold",
]  # fmt: skip


def _inplace_repr(inplace: bool) -> str:
    return "inplace=True" if inplace else ""


# ------------------------------------------------------------------------------------------------
# activations


class ReLU6(Hardtanh):
    """``min(max(x, 0), 6)``: a ``Hardtanh(0, 6)`` (a subclass, as in PyTorch).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.ReLU6()(ef.tensor([-1.0, 3.0, 7.0])).tolist()
    [0.0, 3.0, 6.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class SELU(Module):
    """Scaled ELU with fixed ``alpha ≈ 1.6733`` and ``scale ≈ 1.0507`` (self-normalising networks).

    >>> from einframe import nn
    >>> nn.SELU(inplace=True)
    SELU(inplace=True)
    """

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class CELU(Module):
    """``max(0, x) + min(0, alpha (exp(x / alpha) - 1))``.

    >>> from einframe import nn
    >>> nn.CELU(alpha=2.0)
    CELU(alpha=2.0)
    """

    __constants__ = ["alpha", "inplace"]

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Mish(Module):
    """``x * tanh(softplus(x))``.

    >>> from einframe import nn
    >>> nn.Mish()
    Mish()
    """

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input, self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self.inplace)


class Hardswish(Module):
    """``x * relu6(x + 3) / 6`` (its repr shows no arguments, as PyTorch's).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.Hardswish()(ef.tensor([-4.0, 1.5, 4.0])).tolist()
    [0.0, 1.125, 4.0]
    """

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input, self.inplace)


class Hardsigmoid(Module):
    """``relu6(x + 3) / 6`` (its repr shows no arguments, as PyTorch's).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.Hardsigmoid()(ef.tensor([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.5, 1.0]
    """

    __constants__ = ["inplace"]

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input, self.inplace)


class LogSigmoid(Module):
    """``log(sigmoid(x))``, computed without overflow.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> round(nn.LogSigmoid()(ef.tensor(0.0)).item(), 4)
    -0.6931
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Softsign(Module):
    """``x / (1 + |x|)``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.Softsign()(ef.tensor([-3.0, 1.0])).tolist()
    [-0.75, 0.5]
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class Softmin(Module):
    """``softmax(-x)`` along ``dim``.

    >>> from einframe import nn
    >>> nn.Softmin(dim=1)
    Softmin(dim=1)
    """

    __constants__ = ["dim"]

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softshrink(Module):
    """``x ∓ lambd`` outside ``[-lambd, lambd]``, else 0.

    >>> from einframe import nn
    >>> nn.Softshrink()
    Softshrink(0.5)
    """

    __constants__ = ["lambd"]

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Hardshrink(Module):
    """``x`` outside ``[-lambd, lambd]``, else 0.

    >>> from einframe import nn
    >>> nn.Hardshrink(0.3)
    Hardshrink(0.3)
    """

    __constants__ = ["lambd"]

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return str(self.lambd)


class Tanhshrink(Module):
    """``x - tanh(x)``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> round(nn.Tanhshrink()(ef.tensor(1.0)).item(), 4)
    0.2384
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``.

    >>> from einframe import nn
    >>> nn.Threshold(0.1, 20)
    Threshold(threshold=0.1, value=20)
    """

    __constants__ = ["threshold", "value", "inplace"]

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class GLU(Module):
    """Gated linear unit ``a * sigmoid(b)`` over the two halves of ``dim``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.GLU()(ef.ones(3, 8)).shape
    einframe.Size([3, 4])
    """

    __constants__ = ["dim"]

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """``x`` where ``x > 0``, else ``a * x`` with a learnt ``weight`` ``a`` of shape ``(num_parameters,)``
    (1, or one per channel: dim 1 of the input), initialised to ``init``.

    >>> from einframe import nn
    >>> m = nn.PReLU(3)
    >>> m, m.weight.tolist()
    (PReLU(num_parameters=3), [0.25, 0.25, 0.25])
    """

    __constants__ = ["num_parameters"]

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None) -> None:
        if not isinstance(num_parameters, numbers.Integral) or isinstance(num_parameters, bool) or num_parameters < 1:
            raise ValueError(
                f"PReLU: num_parameters must be a positive int (1, or the number of channels), got {num_parameters!r}"
            )
        self.num_parameters = int(num_parameters)
        super().__init__()
        self.init = init
        self.weight = _empty_param((self.num_parameters,), device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Fill ``weight`` with ``init``."""
        with no_grad():
            self.weight.fill_(self.init)

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """Randomized leaky ReLU: slopes drawn from U(lower, upper) while training (seeded by
    ``ef.manual_seed``), the fixed slope ``(lower + upper) / 2`` in eval mode.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.RReLU(0.25, 0.75).eval()
    >>> m, m(ef.tensor([-2.0, 3.0])).tolist()
    (RReLU(lower=0.25, upper=0.75), [-1.0, 3.0])
    """

    __constants__ = ["lower", "upper", "inplace"]

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class Softmax2d(Module):
    """Softmax over the channels of (N, C, H, W) or (C, H, W) input, at every position (dim -3).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.Softmax2d()(ef.zeros(1, 4, 2, 2))[0, :, 0, 0].tolist()
    [0.25, 0.25, 0.25, 0.25]
    """

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() not in (3, 4):
            raise ValueError(
                f"Softmax2d: expected input to be 3D (C, H, W) or 4D (N, C, H, W), got {input.dim()}D instead; "
                "use nn.Softmax(dim=...) for other shapes"
            )
        return F.softmax(input, -3)


# ------------------------------------------------------------------------------------------------
# dropouts


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p`` while training.

    >>> from einframe import nn
    >>> nn.Dropout1d(0.2)
    Dropout1d(p=0.2, inplace=False)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p`` while training.

    >>> from einframe import nn
    >>> nn.Dropout3d()
    Dropout3d(p=0.5, inplace=False)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks (keeps zero mean, unit variance) while training; identity in eval mode.

    >>> from einframe import nn
    >>> nn.AlphaDropout(0.1)
    AlphaDropout(p=0.1, inplace=False)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (one draw per (dim 0, dim 1) pair) while training.

    >>> from einframe import nn
    >>> nn.FeatureAlphaDropout(0.1, inplace=True)
    FeatureAlphaDropout(p=0.1, inplace=True)
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)


# ------------------------------------------------------------------------------------------------
# padding: thin modules over F.pad


_PAD_DIMS = {1: ("(C, W)", "(N, C, W)"), 2: ("(C, H, W)", "(N, C, H, W)"), 3: ("(C, D, H, W)", "(N, C, D, H, W)")}
_PAD_ORDER = {1: "(left, right)", 2: "(left, right, top, bottom)", 3: "(left, right, top, bottom, front, back)"}


def _padding(padding, n: int, cls: str) -> tuple[int, ...]:
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * (2 * n)
    try:
        pads = tuple(padding)
    except TypeError:
        pads = ()
    if len(pads) != 2 * n or not all(isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in pads):
        raise ValueError(f"{cls}: expected padding as an int or a tuple of {2 * n} ints {_PAD_ORDER[n]}, got {padding!r}")
    return tuple(int(p) for p in pads)


class _ConstantPadNd(Module):
    __constants__ = ["padding", "value"]
    _n = 1

    def __init__(self, padding, value: float) -> None:
        super().__init__()
        self.padding = _padding(padding, self._n, type(self).__name__)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value``; ``padding`` is an int or ``(left, right)`` (negative crops).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.ConstantPad1d((1, 2), 3.5)
    >>> m, m(ef.zeros(1, 2)).tolist()
    (ConstantPad1d(padding=(1, 2), value=3.5), [[3.5, 0.0, 0.0, 3.5, 3.5]])
    """

    _n = 1

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value``; ``padding`` is an int or ``(left, right, top, bottom)``.

    >>> from einframe import nn
    >>> nn.ConstantPad2d(2, 1.0)
    ConstantPad2d(padding=(2, 2, 2, 2), value=1.0)
    """

    _n = 2

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value``; ``padding`` is an int or a 6-tuple (last dim first).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.ConstantPad3d(1, 0.5)(ef.zeros(1, 1, 1, 1)).shape
    einframe.Size([1, 3, 3, 3])
    """

    _n = 3

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros.

    >>> from einframe import nn
    >>> nn.ZeroPad1d(2)
    ZeroPad1d((2, 2))
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.ZeroPad2d((1, 0, 0, 1))(ef.ones(1, 1, 1)).tolist()
    [[[0.0, 1.0], [0.0, 0.0]]]
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pad the last three dims with zeros.

    >>> from einframe import nn
    >>> nn.ZeroPad3d((1, 2, 3, 4, 5, 6))
    ZeroPad3d((1, 2, 3, 4, 5, 6))
    """

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ModePadNd(Module):
    __constants__ = ["padding"]
    _n = 1
    _mode = "reflect"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _padding(padding, self._n, type(self).__name__)

    def forward(self, input: Tensor) -> Tensor:
        n = self._n
        if input.dim() not in (n + 1, n + 2):
            msg = (
                f"{type(self).__name__}: expected {n + 1}D {_PAD_DIMS[n][0]} or {n + 2}D {_PAD_DIMS[n][1]} input "
                f"(got {input.dim()}D input); add or remove a batch/channel dim, e.g. with unsqueeze(0)"
            )
            # PyTorch's types: F.pad refuses these shapes with NotImplementedError, CircularPad*d with ValueError
            raise ValueError(msg) if self._mode == "circular" else NotImplementedError(msg)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_ModePadNd):
    """Pad the last dim with its reflection (edge not repeated); each pad must be smaller than the size.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.ReflectionPad1d(2)(ef.tensor([[1.0, 2.0, 3.0]])).tolist()
    [[3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0]]
    """

    _n, _mode = 1, "reflect"


class ReflectionPad2d(_ModePadNd):
    """Pad the last two dims with their reflection.

    >>> from einframe import nn
    >>> nn.ReflectionPad2d(1)
    ReflectionPad2d((1, 1, 1, 1))
    """

    _n, _mode = 2, "reflect"


class ReflectionPad3d(_ModePadNd):
    """Pad the last three dims with their reflection.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.ReflectionPad3d(1)(ef.ones(1, 2, 2, 2)).shape
    einframe.Size([1, 4, 4, 4])
    """

    _n, _mode = 3, "reflect"


class ReplicationPad1d(_ModePadNd):
    """Pad the last dim by repeating its edge values.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.ReplicationPad1d((1, 2))(ef.tensor([[1.0, 2.0]])).tolist()
    [[1.0, 1.0, 2.0, 2.0, 2.0]]
    """

    _n, _mode = 1, "replicate"


class ReplicationPad2d(_ModePadNd):
    """Pad the last two dims by repeating their edge values.

    >>> from einframe import nn
    >>> nn.ReplicationPad2d((1, 1, 2, 0))
    ReplicationPad2d((1, 1, 2, 0))
    """

    _n, _mode = 2, "replicate"


class ReplicationPad3d(_ModePadNd):
    """Pad the last three dims by repeating their edge values.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.ReplicationPad3d(1)(ef.ones(1, 1, 1, 1)).shape
    einframe.Size([1, 3, 3, 3])
    """

    _n, _mode = 3, "replicate"


class CircularPad1d(_ModePadNd):
    """Pad the last dim by wrapping around (periodic boundary); each pad must be at most the size.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.CircularPad1d(1)(ef.tensor([[1.0, 2.0, 3.0]])).tolist()
    [[3.0, 1.0, 2.0, 3.0, 1.0]]
    """

    _n, _mode = 1, "circular"


class CircularPad2d(_ModePadNd):
    """Pad the last two dims by wrapping around.

    >>> from einframe import nn
    >>> nn.CircularPad2d(1)
    CircularPad2d((1, 1, 1, 1))
    """

    _n, _mode = 2, "circular"


class CircularPad3d(_ModePadNd):
    """Pad the last three dims by wrapping around.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.CircularPad3d(1)(ef.ones(1, 1, 2, 3, 1)).shape
    einframe.Size([1, 1, 4, 5, 3])
    """

    _n, _mode = 3, "circular"


# ------------------------------------------------------------------------------------------------
# pixel/channel shuffles, upsampling, fold/unfold


class PixelShuffle(Module):
    """(*, C·r², H, W) -> (*, C, H·r, W·r) with ``r = upscale_factor``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.PixelShuffle(2)
    >>> m, m(ef.ones(1, 8, 3, 3)).shape
    (PixelShuffle(upscale_factor=2), einframe.Size([1, 2, 6, 6]))
    """

    __constants__ = ["upscale_factor"]

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) -> (*, C·r², H, W) with ``r = downscale_factor``: the inverse of ``PixelShuffle``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.PixelUnshuffle(3)
    >>> m, m(ef.ones(1, 1, 6, 6)).shape
    (PixelUnshuffle(downscale_factor=3), einframe.Size([1, 9, 2, 2]))
    """

    __constants__ = ["downscale_factor"]

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Interleave the channels of (N, C, *) input across ``groups`` (ShuffleNet).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.ChannelShuffle(2)
    >>> m, m(ef.arange(4.0).reshape(1, 4, 1, 1)).flatten().tolist()
    (ChannelShuffle(groups=2), [0.0, 2.0, 1.0, 3.0])
    """

    __constants__ = ["groups"]

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class Upsample(Module):
    """Resize (N, C, *spatial) input to ``size`` or by ``scale_factor`` with ``F.interpolate``
    (modes 'nearest', 'linear', 'bilinear', 'trilinear').

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.Upsample(scale_factor=2, mode="bilinear")
    >>> m, m(ef.ones(1, 1, 2, 3)).shape
    (Upsample(scale_factor=2.0, mode='bilinear'), einframe.Size([1, 1, 4, 6]))
    """

    __constants__ = ["size", "scale_factor", "mode", "align_corners", "name", "recompute_scale_factor"]

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.interpolate(
            input, self.size, self.scale_factor, self.mode, self.align_corners, recompute_scale_factor=self.recompute_scale_factor
        )

    def extra_repr(self) -> str:
        info = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(size, scale_factor, mode='nearest')`` for (N, C, H, W) input.

    >>> from einframe import nn
    >>> nn.UpsamplingNearest2d(scale_factor=2)
    UpsamplingNearest2d(scale_factor=2.0, mode='nearest')
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(size, scale_factor, mode='bilinear', align_corners=True)`` for (N, C, H, W) input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.UpsamplingBilinear2d(size=(1, 3))(ef.tensor([[[[0.0, 2.0]]]])).flatten().tolist()
    [0.0, 1.0, 2.0]
    """

    def __init__(self, size=None, scale_factor=None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class Fold(Module):
    """col2im: (N, C·kh·kw, L) -> (N, C, *output_size), summing overlaps (``F.fold``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.Fold(output_size=(3, 3), kernel_size=2)
    >>> m, m(ef.ones(1, 4, 4))[0, 0, 1].tolist()
    (Fold(output_size=(3, 3), kernel_size=2, dilation=1, padding=0, stride=1), [2.0, 4.0, 2.0])
    """

    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )


class Unfold(Module):
    """im2col: (N, C, H, W) -> (N, C·kh·kw, L), sliding blocks as columns (``F.unfold``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.Unfold(kernel_size=(2, 3), padding=1)
    >>> m, m(ef.ones(1, 2, 4, 4)).shape
    (Unfold(kernel_size=(2, 3), dilation=1, padding=1, stride=1), einframe.Size([1, 12, 20]))
    """

    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1) -> None:
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
