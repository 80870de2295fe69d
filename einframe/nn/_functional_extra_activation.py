"""Functional twins for more activations, dropouts, padding, pixel shuffle and upsampling layers.

Re-exported by :mod:`einframe.nn.functional` (``F.*``); every name in ``__all__`` is public there.

Everything here composes differentiable einframe ops (``where``, ``exp``, ``tanh``, ``sigmoid``,
reshapes and permutation contractions): there is no derivative code, so gradients of any order and
forward-mode tangents come from the primitives. Where PyTorch picks a one-sided derivative at a kink
(``x = 0`` for the ReLU family, ``x = ±3`` for ``hardswish``/``hardsigmoid``), the comparisons inside ``where`` are
written so that the same side is chosen.

``inplace=True`` (and the ``*_`` functions) overwrite the input as PyTorch does: with autograd
recording, the tensor takes the result's graph node (a leaf that requires grad is refused); without,
the result is written into its memory.

>>> import einframe as ef, einframe.nn.functional as F
>>> [round(v, 4) for v in F.selu(ef.tensor([-1.0, 1.0])).tolist()]
[-1.1113, 1.0507]
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import _functions as _ef
from ..random import generator as _generator
from ..tensor import Tensor
from .functional import (
    _apply_inplace,
    _check_p,
    _const,
    _keep_mask,
    _keys_far,
    _keys_near,
    _log_sigmoid,
    _softmax_dim,
    elu,
    hardtanh,
    interpolate,
    leaky_relu,
)

__all__: list[str] = [
    # activations
    "selu", "celu", "mish", "hardswish", "hardsigmoid", "softsign", "softmin", "softshrink", "hardshrink",
    "tanhshrink", "threshold", "glu", "prelu", "rrelu", "gumbel_softmax",
    # in-place variants
    "relu_", "elu_", "leaky_relu_", "hardtanh_", "selu_", "celu_", "threshold_", "rrelu_",
    # dropouts
    "dropout1d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    # reshuffles and (deprecated) upsampling
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle",
    "upsample", "upsample_nearest", "upsample_bilinear",
    # spatial transformers
    "affine_grid", "grid_sample",
]  # fmt: skip

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_ALPHA_DROP = 1.7580993408473766  # = SELU scale * alpha: -_ALPHA_DROP is SELU's saturation value


# ------------------------------------------------------------------------------------------------
# activations


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``scale * (x if x > 0 else alpha * (exp(x) - 1))`` with SELU's fixed ``alpha ≈ 1.6733``, ``scale ≈ 1.0507``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.selu(ef.tensor([-2.0, 0.0, 2.0])).tolist()]
    [-1.5202, 0.0, 2.1014]
    """

    def f(x: Tensor) -> Tensor:
        neg = _ef.expm1(x.clamp(max=0.0)) * (_SELU_ALPHA * _SELU_SCALE)
        return _ef.where(x > 0, x * _SELU_SCALE, neg)

    return _apply_inplace(input, f, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x if x > 0 else alpha * (exp(x / alpha) - 1)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.celu(ef.tensor([-1.0, 1.0]), alpha=2.0).tolist()]
    [-0.7869, 1.0]
    """
    if alpha == 0:
        raise RuntimeError("celu: alpha cannot be 0 (it divides x); pass a non-zero alpha such as the default 1.0")

    def f(x: Tensor) -> Tensor:
        neg = _ef.expm1(x.clamp(max=0.0) * (1.0 / alpha)) * alpha
        return _ef.where(x > 0, x, neg)

    return _apply_inplace(input, f, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))`` (softplus computed without overflow).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.mish(ef.tensor([-1.0, 1.0])).tolist()]
    [-0.3034, 0.8651]
    """
    return _apply_inplace(input, lambda x: x * _ef.tanh(-_log_sigmoid(-x)), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``; the derivative is PyTorch's: 0 up to -3, ``x/3 + 1/2`` in between, 1 from 3.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.hardswish(ef.tensor([-4.0, 0.0, 1.5, 4.0])).tolist()
    [0.0, 0.0, 1.125, 4.0]
    """

    def f(x: Tensor) -> Tensor:
        return _ef.where(x <= -3.0, 0.0, _ef.where(x < 3.0, x * (x + 3.0) * (1.0 / 6.0), x))

    return _apply_inplace(input, f, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 at and below -3, 1 at and above 3, ``x/6 + 1/2`` in between.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.hardsigmoid(ef.tensor([-4.0, 0.0, 1.5, 4.0])).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """

    def f(x: Tensor) -> Tensor:
        return _ef.where(x <= -3.0, 0.0, _ef.where(x >= 3.0, 1.0, x * (1.0 / 6.0) + 0.5))

    return _apply_inplace(input, f, inplace)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.softsign(ef.tensor([-3.0, 1.0])).tolist()
    [-0.75, 0.5]
    """
    return input / (_ef.abs(input) + 1.0)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.softmin(ef.tensor([0.0, 1.0]), dim=0).tolist()]
    [0.7311, 0.2689]
    """
    return _ef.softmax(-input, _softmax_dim(input.dim()) if dim is None else dim, dtype)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, else 0.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.softshrink(ef.tensor([-2.0, 0.25, 1.5])).tolist()
    [-1.5, 0.0, 1.0]
    """
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambd must be >= 0, got {lambd}; pass a non-negative threshold such as 0.5")
    return _ef.where(input > lambd, input - lambd, _ef.where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.hardshrink(ef.tensor([-2.0, 0.25, 1.5])).tolist()
    [-2.0, 0.0, 1.5]
    """
    return _ef.where(_ef.abs(input) > lambd, input, 0.0)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.tanhshrink(ef.tensor(1.0)).item(), 4)
    0.2384
    """
    return input - _ef.tanh(input)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.threshold(ef.tensor([0.5, 1.0, 2.0]), 1.0, -9.0).tolist()
    [-9.0, -9.0, 2.0]
    """
    return _apply_inplace(input, lambda x: _ef.where(x > threshold, x, float(value)), inplace)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``dim`` into halves ``a, b`` and return ``a * sigmoid(b)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.glu(ef.tensor([[1.0, 2.0, 0.0, 0.0]])).tolist()
    [[0.5, 1.0]]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"glu: expected input to be a Tensor, got {type(input).__name__}")
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even; pass a tensor with >= 1 dim")
    if not -input.dim() <= dim < input.dim():
        raise IndexError(
            f"glu: dim {dim} is out of range for a {input.dim()}-D input (expected in [{-input.dim()}, {input.dim() - 1}])"
        )
    d = dim % input.dim()
    n = input.shape[d]
    if n % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {d} is size {n}; pad or slice it to an even size")
    a, b = _ef.chunk(input, 2, d)
    return a * _ef.sigmoid(b)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """A sample from the Gumbel-softmax (concrete) distribution: ``softmax((logits + g) / tau)`` with
    ``g`` standard Gumbel noise (drawn from einframe's generator, so ``ef.manual_seed`` repeats it).
    ``hard=True`` returns the one-hot of the sample's argmax with the soft sample's gradient
    (straight-through: ``y_hard - y_soft.detach() + y_soft``), as PyTorch.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> _ = ef.manual_seed(0)
    >>> y = F.gumbel_softmax(ef.zeros(2, 3), tau=0.5, hard=True)
    >>> y.sum(-1).tolist(), sorted(set(y.flatten().tolist()))
    ([1.0, 1.0], [0.0, 1.0])
    """
    if tau <= 0:
        raise ValueError(f"gumbel_softmax: tau must be positive, got {tau}")
    gumbels = -_ef.empty_like(logits).exponential_().log()  # -log(Exp(1)) ~ Gumbel(0, 1)
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = _ef.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where ``x > 0``, else ``weight * x``; ``weight`` has 1 element or one per channel (dim 1).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.prelu(ef.tensor([[-1.0, -1.0], [2.0, -4.0]]), ef.tensor([0.5, 0.25])).tolist()
    [[-0.5, -0.25], [2.0, -1.0]]
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"prelu: expected Tensors, got {type(input).__name__} and {type(weight).__name__}")
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: expected `weight` to be a scalar or 1-D tensor, but got ndim = {weight.dim()}")
    k = weight.numel()
    if k == 1:
        w = weight.reshape(())
    else:
        if input.dim() == 0:
            raise RuntimeError("prelu: a 0-d input allows only a single-element weight")
        channels = input.shape[1] if input.dim() > 1 else 1
        if channels != k:
            raise RuntimeError(
                f"prelu: mismatch of parameter numbers and input channel size. Found parameter numbers = {k} and "
                f"channel size = {channels}; use nn.PReLU(num_parameters={channels}) or a single parameter"
            )
        w = weight.reshape(k, *([1] * (input.dim() - 2)))
    return _ef.where(input > 0, input, input * w)


def _check_bounds(lower: float, upper: float) -> None:
    if lower > upper:
        raise RuntimeError(
            f"rrelu: lower bound should be less than or equal to the upper bound, got lower={lower}, upper={upper}"
        )


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False, inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: while training, each non-positive element gets its own slope drawn from
    U(lower, upper) (seeded by ``ef.manual_seed``); otherwise the fixed slope ``(lower + upper) / 2``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.rrelu(ef.tensor([-2.0, 3.0]), 0.25, 0.75).tolist()
    [-1.0, 3.0]
    """
    _check_bounds(lower, upper)
    if not training:
        return _apply_inplace(input, lambda x: leaky_relu(x, (lower + upper) / 2), inplace)
    slopes = _const(_generator().uniform(lower, upper, tuple(input.shape)).astype(input._data.dtype), input)
    return _apply_inplace(input, lambda x: _ef.where(x > 0, x, x * slopes), inplace)


# ---- in-place variants ---------------------------------------------------------------------------


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([-1.0, 2.0]); _ = F.relu_(x); x.tolist()
    [0.0, 2.0]
    """
    return input.relu_()


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([0.0, 2.0]); _ = F.elu_(x); x.tolist()
    [0.0, 2.0]
    """
    return _apply_inplace(input, lambda x: elu(x, alpha), True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([-2.0, 2.0]); _ = F.leaky_relu_(x, 0.5); x.tolist()
    [-1.0, 2.0]
    """
    return _apply_inplace(input, lambda x: leaky_relu(x, negative_slope), True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([-2.0, 0.5, 2.0]); _ = F.hardtanh_(x); x.tolist()
    [-1.0, 0.5, 1.0]
    """
    return _apply_inplace(input, lambda x: hardtanh(x, min_val, max_val), True)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([0.0, 1.0]); _ = F.selu_(x); [round(v, 4) for v in x.tolist()]
    [0.0, 1.0507]
    """
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([0.0, 1.0]); _ = F.celu_(x); x.tolist()
    [0.0, 1.0]
    """
    return celu(input, alpha, inplace=True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([0.5, 2.0]); _ = F.threshold_(x, 1.0, 0.0); x.tolist()
    [0.0, 2.0]
    """
    return _apply_inplace(input, lambda x: _ef.where(x > threshold, x, float(value)), True)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """In-place ``rrelu``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([-2.0, 3.0]); _ = F.rrelu_(x, 0.25, 0.75); x.tolist()
    [-1.0, 3.0]
    """
    return rrelu(input, lower, upper, training, inplace=True)


# ------------------------------------------------------------------------------------------------
# dropouts


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool, n: int, fn: str) -> Tensor:
    _check_p(p, fn)
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: expected input to be a Tensor, got {type(input).__name__}")
    dims = {1: ("(C, L)", "(N, C, L)"), 3: ("(C, D, H, W)", "(N, C, D, H, W)")}[n]
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(
            f"{fn}: expected {n + 1}-D {dims[0]} or {n + 2}-D {dims[1]} input, got a {input.dim()}-D input; "
            f"{fn} drops whole channels of inputs with {n} spatial dim{'s' if n > 1 else ''} "
            "(use F.dropout for element-wise dropout)"
        )
    if not training or p == 0:
        return input
    mask = _keep_mask(tuple(input.shape[: input.dim() - n]) + (1,) * n, p, input)
    return _apply_inplace(input, lambda x: x * mask, inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) (or (C, L)) input with probability ``p``, scale the rest by ``1/(1-p)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> y = F.dropout1d(ef.ones(2, 8, 5))
    >>> sorted(set(y.flatten().tolist())), F.dropout1d(ef.ones(2, 3), training=False).tolist()
    ([0.0, 2.0], [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    """
    return _channel_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) (or (C, D, H, W)) input with probability ``p``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> y = F.dropout3d(ef.ones(2, 8, 2, 2, 2), p=0.75)
    >>> sorted(set(y.flatten().tolist()))
    [0.0, 4.0]
    """
    return _channel_dropout(input, p, training, inplace, 3, "dropout3d")


def _alpha_dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool, fn: str) -> Tensor:
    _check_p(p, fn)
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: expected input to be a Tensor, got {type(input).__name__}")
    if not training or p == 0 or input.numel() == 0:
        return input
    if feature and input.dim() < 2:
        raise RuntimeError(
            f"{fn}: feature dropout requires at least 2 dimensions (N, C, ...) in the input, got {input.dim()}-D; "
            "use F.alpha_dropout for element-wise alpha dropout"
        )
    if p == 1:
        return _apply_inplace(input, lambda x: x * 0.0, inplace)
    shape = (input.shape[0], input.shape[1]) + (1,) * (input.dim() - 2) if feature else tuple(input.shape)
    keep = (_generator().random(shape) >= p).astype(np.float64)
    a = 1.0 / math.sqrt((_ALPHA_DROP * _ALPHA_DROP * p + 1.0) * (1.0 - p))
    dt = input._data.dtype
    mult = _const((keep * a).astype(dt), input)
    shift = _const(((keep - 1.0) * (_ALPHA_DROP * a) + _ALPHA_DROP * a * p).astype(dt), input)
    return _apply_inplace(input, lambda x: x * mult + shift, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped elements take SELU's saturation value and an affine map
    ``a·x + b`` keeps zero mean and unit variance. Identity when not training (the default, as PyTorch).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.alpha_dropout(ef.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    >>> len(set(F.alpha_dropout(ef.ones(1000), 0.2, training=True).tolist()))
    2
    """
    return _alpha_dropout(input, p, training, inplace, False, "alpha_dropout")


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """``alpha_dropout`` of whole channels: one draw per (dim 0, dim 1) pair. Identity when not training.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> y = F.feature_alpha_dropout(ef.ones(4, 8, 3), 0.5, training=True)
    >>> bool((y == y[:, :, :1]).all())
    True
    """
    return _alpha_dropout(input, p, training, inplace, True, "feature_alpha_dropout")


# ------------------------------------------------------------------------------------------------
# pixel and channel shuffles: a reshape, one permutation contraction, a reshape


def _positive_int(v, what: str, fn: str) -> int:
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v <= 0:
        raise RuntimeError(f"{fn} expects a positive {what}, but got {v!r}")
    return int(v)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) -> (*, C, H·r, W·r), as ``einsum('...crshw->...chrws')`` between two reshapes.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.pixel_shuffle(ef.arange(4.0).reshape(1, 4, 1, 1), 2)[0, 0].tolist()
    [[0.0, 1.0], [2.0, 3.0]]
    """
    r = _positive_int(upscale_factor, "upscale_factor", "pixel_shuffle")
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions (*, C, H, W), but got {input.dim()}")
    *B, C, H, W = input.shape
    if C % (r * r):
        raise RuntimeError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
            f"but input.size(-3)={C} is not divisible by {r * r}"
        )
    c = C // (r * r)
    x = input.reshape(*B, c, r, r, H, W)
    return _ef.einsum("...crshw->...chrws", x).reshape(*B, c, H * r, W * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of ``pixel_shuffle`` (``einsum('...chrws->...crshw')``).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.pixel_unshuffle(ef.arange(4.0).reshape(1, 1, 2, 2), 2).flatten().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    r = _positive_int(downscale_factor, "downscale_factor", "pixel_unshuffle")
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions (*, C, H, W), but got {input.dim()}")
    *B, C, H, W = input.shape
    for name, d, size in (("height", -2, H), ("width", -1, W)):
        if size % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, "
                f"but input.size({d})={size} is not divisible by {r}"
            )
    x = input.reshape(*B, C, H // r, r, W // r, r)
    return _ef.einsum("...chrws->...crshw", x).reshape(*B, C * r * r, H // r, W // r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Interleave the channels of (N, C, *) input in ``groups``: ``einsum('ngc...->ncg...')`` on (N, g, C/g, *).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.channel_shuffle(ef.arange(4.0).reshape(1, 4, 1), 2).flatten().tolist()
    [0.0, 2.0, 1.0, 3.0]
    """
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool) or groups <= 0:
        raise RuntimeError(f"channel_shuffle: number of groups to divide channels in must be positive, got {groups!r}")
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims (N, C, *), but got input with sizes {list(input.shape)}")
    N, C, *S = input.shape
    if C % groups:
        raise RuntimeError(
            f"channel_shuffle: number of channels must be divisible by groups. Got {C} channels and {groups} groups."
        )
    x = input.reshape(N, int(groups), C // groups, *S)
    return _ef.einsum("ngc...->ncg...", x).reshape(N, C, *S)


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Same as ``channel_shuffle`` (PyTorch's name for its native kernel).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.native_channel_shuffle(ef.arange(4.0).reshape(1, 4, 1), 2).flatten().tolist()
    [0.0, 2.0, 1.0, 3.0]
    """
    return channel_shuffle(input, groups)


# ------------------------------------------------------------------------------------------------
# deprecated upsampling spellings (PyTorch warns too)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    """Deprecated spelling of ``interpolate`` (warns, as PyTorch).

    >>> import warnings, einframe as ef, einframe.nn.functional as F
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     F.upsample(ef.ones(1, 1, 2), scale_factor=2).shape
    einframe.Size([1, 1, 4])
    """
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='nearest')`` (warns, as PyTorch).

    >>> import warnings, einframe as ef, einframe.nn.functional as F
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     F.upsample_nearest(ef.ones(1, 1, 2, 2), size=3).shape
    einframe.Size([1, 1, 3, 3])
    """
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)`` (warns, as PyTorch).

    >>> import warnings, einframe as ef, einframe.nn.functional as F
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     F.upsample_bilinear(ef.tensor([[[[0.0, 2.0]]]]), size=(1, 3)).flatten().tolist()
    [0.0, 1.0, 2.0]
    """
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- spatial transformers: affine_grid, grid_sample -------------------------------------------------
def _align_default(align_corners: bool | None, name: str) -> bool:
    if align_corners is None:
        warnings.warn(
            "Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. Please "
            "specify align_corners=True if the old behavior is desired. See the documentation of grid_sample for details.",
            stacklevel=3,
        )
        return False
    return bool(align_corners)


def _base_coords(n: int, align_corners: bool) -> np.ndarray:
    """The normalised centres of ``n`` pixels in [-1, 1] (PyTorch's ``_linspace_from_neg_one``)."""
    if n <= 1:
        return np.zeros(max(n, 1))
    r = np.linspace(-1.0, 1.0, n)
    return r if align_corners else r * (n - 1) / n


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of an affine map: for ``size`` (N, C, H, W) and ``theta`` (N, 2, 3) a grid
    (N, H, W, 2) of ``theta @ (x, y, 1)`` over the output pixels' normalised coordinates (3-D: ``theta``
    (N, 3, 4), ``size`` (N, C, D, H, W), grid (N, D, H, W, 3)). One contraction ``'hwk,njk->nhwj'``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> identity = ef.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> F.affine_grid(identity, (1, 1, 1, 2), align_corners=False).tolist()
    [[[[-0.5, 0.0], [0.5, 0.0]]]]
    """
    ac = _align_default(align_corners, "affine_grid")
    size = tuple(int(v) for v in size)
    d = len(size) - 2
    if d not in (2, 3):
        raise NotImplementedError(f"affine_grid: only 4-D and 5-D sizes are supported, got size {list(size)}")
    if theta.dim() != 3 or tuple(theta.shape[1:]) != (d, d + 1) or theta.shape[0] != size[0]:
        raise ValueError(
            f"affine_grid: expected theta of shape ({size[0]}, {d}, {d + 1}) for size {list(size)}, got {tuple(theta.shape)}"
        )
    if not theta.is_floating_point():
        raise ValueError(f"affine_grid: expected theta to have floating point type, got {theta.dtype}")
    axes = [_base_coords(n, ac) for n in size[:1:-1]]  # x (width) first, as the grid's last dim
    mesh = np.meshgrid(*axes, indexing="ij")  # indexed (W, H[, D])
    base = np.stack([*mesh, np.ones_like(mesh[0])], -1).transpose(*range(d)[::-1], d)  # (H, W, 3) / (D, H, W, 4)
    spatial = "dhw"[3 - d :]
    return _ef.einsum(f"{spatial}k,njk->n{spatial}j", _const(base.astype(theta._data.dtype), theta), theta)


def _reflect(x: Tensor, lo2: float, hi2: float) -> Tensor:
    """Reflect coordinates into [lo2/2, hi2/2] (PyTorch's reflect_coordinates), differentiably."""
    if lo2 == hi2:
        return x * 0.0
    lo, span = lo2 / 2, (hi2 - lo2) / 2
    a = _ef.abs(x - lo)
    extra = _ef.fmod(a, span)
    flips = _ef.floor(a / span)
    return _ef.where(_ef.fmod(flips, 2.0) == 0, extra + lo, span - extra + lo)


def _tap_coordinates(p, n: int, padding_mode: str, align_corners: bool):
    """Integer tap positions ``p`` along a dim of size ``n`` mapped by the padding (border clips,
    reflection reflects then clips; zeros leaves them, to be masked)."""
    if padding_mode == "zeros":
        return p
    x = p.astype(np.float64)
    if padding_mode == "reflection":
        lo2, hi2 = (0.0, 2.0 * (n - 1)) if align_corners else (-1.0, 2.0 * n - 1)
        if lo2 == hi2:
            x = np.zeros_like(x)
        else:
            lo, span = lo2 / 2, (hi2 - lo2) / 2
            a = np.abs(x - lo)
            extra, flips = np.fmod(a, span), np.floor(a / span)
            x = np.where(flips % 2 == 0, extra + lo, span - extra + lo)
    return np.clip(x, 0, n - 1).astype(np.int64)


def _bicubic_taps(coords, sizes, padding_mode: str, align_corners: bool, like: Tensor):
    """The 16 taps around each point and their weights: Keys' kernel (a = -0.75) in each dim."""
    a = -0.75
    per_dim = []
    for c, n in zip(coords, sizes):
        low = np.floor(c._data).astype(np.int64)
        t = c - _const(low.astype(like._data.dtype), like)
        w = [_keys_far(t + 1, a), _keys_near(t, a), _keys_near(1 - t, a), _keys_far(2 - t, a)]
        taps = [_tap_coordinates(low - 1 + i, n, padding_mode, align_corners) for i in range(4)]
        per_dim.append((taps, w))
    (tx, wx), (ty, wy) = per_dim
    corners, weights = [], []
    for j in range(4):
        for i in range(4):
            corners.append([tx[i], ty[j]])
            weights.append(wx[i] * wy[j])
    return corners, weights


def grid_sample(
    input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros", align_corners: bool | None = None
) -> Tensor:
    """Sample ``input`` (N, C, H, W) at the normalised points ``grid`` (N, H_out, W_out, 2), x then y in
    [-1, 1] (5-D: (N, C, D, H, W) at (N, D_out, H_out, W_out, 3)); ``mode`` 'bilinear', 'nearest' or
    'bicubic' (4-D only),
    ``padding_mode`` 'zeros', 'border' or 'reflection', PyTorch's coordinate rules.

    The corner values are one gather; the result is a contraction of them with the interpolation
    weights, which are einframe ops of ``grid``: gradients reach both ``input`` and ``grid``, to any
    order (the integer corner positions are piecewise constant, as in PyTorch).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> img = ef.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> F.grid_sample(img, ef.tensor([[[[0.0, 0.0]]]]), align_corners=True).item()  # the centre
    1.5
    """
    ac = _align_default(align_corners, "grid_sample")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise NotImplementedError(f"grid_sample: mode {mode!r} is not supported; use 'bilinear', 'nearest' or 'bicubic'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"grid_sample: padding_mode must be 'zeros', 'border' or 'reflection', got {padding_mode!r}")
    d = input.dim() - 2
    if d not in (2, 3) or grid.dim() != d + 2 or grid.shape[-1] != d or grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            f"grid_sample: expected input (N, C, *spatial) with 2 or 3 spatial dims and grid (N, *out, {max(d, 2)}) "
            f"with the same N, got input {tuple(input.shape)} and grid {tuple(grid.shape)}"
        )
    if grid.dtype != input.dtype:
        raise RuntimeError(f"grid_sample: grid ({grid.dtype}) and input ({input.dtype}) must have the same dtype")
    if mode == "bicubic" and d != 2:
        raise RuntimeError("grid_sample: bicubic interpolation only supports 4D input")
    N, C = input.shape[:2]
    sizes = tuple(input.shape[2:])[::-1]  # (W, H[, D]): grid coordinate k addresses sizes[k]
    out_shape = tuple(grid.shape[1:-1])
    P = int(np.prod(out_shape))
    g = grid.reshape(N, P, d)
    coords = []
    for k, n in enumerate(sizes):
        x = g[:, :, k]
        x = (x + 1) / 2 * (n - 1) if ac else ((x + 1) * n - 1) / 2
        if mode != "bicubic":  # bicubic pads each of its 16 taps instead (below), as PyTorch
            if padding_mode == "reflection":
                x = _reflect(x, 0.0, 2.0 * (n - 1)) if ac else _reflect(x, -1.0, 2.0 * n - 1)
            if padding_mode != "zeros":  # clipped, the borders counting as outside for the gradient (as PyTorch)
                x = _ef.where((x > 0) & (x < n - 1), x, _ef.clamp(x.detach(), 0, n - 1))
        coords.append(x)
    xp = input._device.xp
    if mode == "nearest":
        corners = [[xp.rint(c._data).astype(np.int64) for c in coords]]  # round half to even, as nearbyint
        # weight 1, connected to the grid with a zero gradient (PyTorch returns zeros for grid.grad)
        weights = [_ef.where(_const(xp.zeros((N, P), dtype=bool), input), coords[0], 1.0)]
    elif mode == "bicubic":
        corners, weights = _bicubic_taps(coords, sizes, padding_mode, ac, input)
    else:
        low = [xp.floor(c._data).astype(np.int64) for c in coords]
        corners, weights = [], []
        for bits in np.ndindex(*(2,) * d):
            corners.append([lo + b for lo, b in zip(low, bits)])
            w = None
            for c, lo, b in zip(coords, low, bits):
                frac = c - _const(lo.astype(input._data.dtype), input)  # in [0, 1): the upper corner's weight
                f = frac if b else 1.0 - frac
                w = f if w is None else w * f
            weights.append(w)
    # one gather of every corner of every point from the flattened spatial dims
    flat_idx, valid = [], []
    for pos in corners:
        ok = xp.ones((N, P), dtype=bool)
        idx = xp.zeros((N, P), dtype=np.int64)
        stride = 1
        for p_, n in zip(pos, sizes):
            ok &= (p_ >= 0) & (p_ < n)
            idx += xp.clip(p_, 0, n - 1) * stride
            stride *= n
        flat_idx.append(idx)
        valid.append(ok)
    K = len(corners)
    index = xp.broadcast_to(xp.concatenate(flat_idx, 1)[:, None, :], (N, C, K * P))
    vals = _ef.gather(input.reshape(N, C, -1), 2, Tensor._wrap(xp.ascontiguousarray(index), input._device))
    vals = vals.reshape(N, C, K, P)
    keep = _const(xp.stack(valid, 1).astype(input._data.dtype), input)  # (N, K, P): 0 for taps outside
    w = _ef.stack(weights, 1) * keep
    return _ef.einsum("nckp,nkp->ncp", vals, w).reshape(N, C, *out_shape)
