"""``einframe.nn.functional`` (imported as ``F``): stateless layer functions, as ``torch.nn.functional``.

Every function composes differentiable einframe ops (no derivative code lives here): a linear layer
is one contraction ``'...i,oi->...o'``, a squared-error sum is one contraction ``'...,...->'``.

>>> import einframe as ef
>>> import einframe.nn.functional as F
>>> F.relu(ef.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

from ..ops.contract import contract
from ..tensor import Tensor

__all__ = ["linear", "relu", "mse_loss"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x Wᵀ + b`` as ONE contraction ``einsum('...i,oi->...o', x, W)`` plus the bias.

    ``weight`` has PyTorch's layout ``(out_features, in_features)``.

    >>> import einframe as ef
    >>> import einframe.nn.functional as F
    >>> F.linear(ef.ones(2, 3), ef.ones(4, 3), ef.zeros(4)).shape
    einframe.Size([2, 4])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"linear(): argument 'input' must be a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        raise RuntimeError("linear(): expected an input with at least 1 dimension, got a 0-d tensor")
    if weight.ndim != 2:
        raise RuntimeError(
            f"linear(): expected a 2-D weight of shape (out_features, in_features), got shape {tuple(weight.shape)}"
        )
    n_in = input._data.shape[-1]
    if n_in != weight._data.shape[1]:
        raise RuntimeError(
            f"expected last dimension {weight._data.shape[1]}, got {n_in} "
            f"(input shape {tuple(input.shape)}, weight shape {tuple(weight.shape)})"
        )
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(
            f"linear(): input dtype {input.dtype} does not match weight dtype {weight.dtype}; "
            f"convert one of them, e.g. x.to({weight.dtype}) or module.to({input.dtype})"
        )
    out = contract("...i,oi->...o", input, weight)
    if bias is not None:
        out = out + bias
    return out


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` elementwise.

    >>> import einframe as ef
    >>> import einframe.nn.functional as F
    >>> F.relu(ef.tensor([-1.0, 0.5]))
    tensor([0.0000, 0.5000])
    """
    return input.relu_() if inplace else input.relu()


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Mean (or summed, or per-element) squared error; the sum is one contraction ``'...,...->'``.

    ``size_average`` and ``reduce`` are PyTorch's deprecated spellings of ``reduction``.

    >>> import einframe as ef
    >>> import einframe.nn.functional as F
    >>> F.mse_loss(ef.tensor([1.0, 2.0]), ef.tensor([0.0, 0.0]), reduction="sum")
    tensor(5.)
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction: expected 'mean', 'sum' or 'none'")
    if not isinstance(target, Tensor):
        raise TypeError(f"mse_loss(): argument 'target' must be a Tensor, got {type(target).__name__}")
    if tuple(input.shape) != tuple(target.shape):
        import warnings

        warnings.warn(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size ({tuple(input.shape)}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=2,
        )
    diff = input - target
    if reduction == "none":
        return diff * diff
    total = contract("...,...->", diff, diff)
    if reduction == "sum":
        return total
    return total / diff.numel()


def _legacy_reduction(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


# ================================================================================================
# Layers, pooling, normalisation, attention, padding/resampling and losses.
#
# Every FLOP-heavy op is one Contract (einsum) over a view; the equation of each is in its
# docstring and in docs/layers.md. Nothing below has derivative code: gradients (any order) and
# forward-mode tangents come from the primitives (Window/Fold, Contract, Pointwise, Gather, ...).
# ================================================================================================

import functools as _functools  # noqa: E402
import math as _math  # noqa: E402
import numbers as _numbers  # noqa: E402
from itertools import product as _product  # noqa: E402

import numpy as _np  # noqa: E402

from .. import _functions as _ef  # noqa: E402
from ..backend import memory_order as _memory_order  # noqa: E402
from ..ops import contract as _cm  # noqa: E402
from ..ops import view as _vw  # noqa: E402
from ..ops.window import Fold as _Fold  # noqa: E402
from ..ops.window import Window as _Window  # noqa: E402
from ..ops.window import window_out_size as _wout  # noqa: E402
from ..random import generator as _generator  # noqa: E402

_SP = {1: "w", 2: "hw", 3: "dhw"}  # spatial output labels
_KL = {1: "l", 2: "kl", 3: "jkl"}  # kernel-tap labels
_DIMS = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _contract(eq: str, *ts: Tensor) -> Tensor:
    return _cm.contract(eq, *ts)


def _ntuple(v, n: int, what: str, fn: str) -> tuple[int, ...]:
    if isinstance(v, _numbers.Integral):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return v * n
    if len(v) != n:
        raise ValueError(f"{fn}: expected {what} as an int or a tuple of {n} ints, got {v}")
    return v


def _const(arr, like: Tensor) -> Tensor:
    """A constant (no-grad) tensor on ``like``'s device."""
    xp = like._device.xp
    return Tensor._wrap(xp.asarray(arr), like._device)


def _batched(input: Tensor, n: int, fn: str) -> tuple[Tensor, bool]:
    """Accept ``(C, *S)`` (unbatched) or ``(N, C, *S)``; returns the batched tensor and whether it was."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: expected input to be a Tensor, got {type(input).__name__}")
    nd = input.dim()
    if nd == n + 2:
        return input, True
    if nd == n + 1:
        return input.unsqueeze(0), False
    raise RuntimeError(f"{fn}: expected input with {n + 2} dimensions {_DIMS[n]} or {n + 1} (unbatched), got {nd}")


def _pad_spatial(x: Tensor, pads, value: float = 0.0) -> Tensor:
    """Pad the trailing len(pads) dims by ((before, after), ...)."""
    if all(a == 0 and b == 0 for a, b in pads):
        return x
    lead = ((0, 0),) * (x.dim() - len(pads))
    return _vw.Pad(lead + tuple(pads), value)(x)


# ------------------------------------------------------------------------------------------------
# convolution


def _batch_last(x: Tensor, pads) -> Tensor:
    """``x`` (B, C, *S) zero-padded by ``pads``, as a view of (C, *S, B) C-ordered memory.

    Convolutions keep activations batch-innermost: a conv output already is, and so is what
    max-pooling and pointwise ops make of it, so along a conv stack this costs no copy at all.
    """
    n = x.dim() - 2
    xb = _ef.permute(x, (*range(1, n + 2), 0))
    if any(a or b for a, b in pads):
        xb = _vw.Pad(((0, 0), *pads, (0, 0)), 0.0)(xb)
    else:
        xb = xb.contiguous()
    return _ef.permute(xb, (n + 1, *range(n + 1)))


def _conv_padding(padding, k, s, d, n, fn):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(v != 1 for v in s):
                raise ValueError(
                    f"{fn}: padding='same' is not supported for strided convolutions (stride={s}); use an explicit padding"
                )
            pads = []
            for kk, dd in zip(k, d):
                total = dd * (kk - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"{fn}: invalid padding string {padding!r}, expected 'same' or 'valid'")
    p = _ntuple(padding, n, "padding", fn)
    if min(p) < 0:
        raise RuntimeError(f"{fn}: negative padding is not supported, got {p}")
    return tuple((a, a) for a in p)


def _convnd(input, weight, bias, stride, padding, dilation, groups, n: int, fn: str) -> Tensor:
    x, batched = _batched(input, n, fn)
    if weight.dim() != n + 2:
        raise RuntimeError(
            f"{fn}: expected weight with {n + 2} dimensions (out_channels, in_channels/groups, *kernel), got {weight.dim()}"
        )
    B, C = x.shape[0], x.shape[1]
    oc, cg = weight.shape[0], weight.shape[1]
    k = tuple(weight.shape[2:])
    if groups < 1 or C % groups or oc % groups:
        raise RuntimeError(f"{fn}: in_channels ({C}) and out_channels ({oc}) must both be divisible by groups ({groups})")
    if cg * groups != C:
        raise RuntimeError(
            f"{fn}: expected input with {cg * groups} channels (weight {tuple(weight.shape)} x groups={groups}), got {C}; "
            f"check in_channels of the layer against the input"
        )
    s = _ntuple(stride, n, "stride", fn)
    d = _ntuple(dilation, n, "dilation", fn)
    pads = _conv_padding(padding, k, s, d, n, fn)
    # batch-innermost pays for its layout copy when windows overlap the input k-fold (or it is free)
    b_last = groups > 1 or _math.prod(k) > 1 or (B > 1 and _memory_order(x._data)[-1] == 0)
    xb = _batch_last(x, pads) if b_last else _pad_spatial(x, pads)
    for size, kk, dd in zip(xb.shape[2:], k, d):
        if size < dd * (kk - 1) + 1:
            raise RuntimeError(
                f"{fn}: kernel size {k} (dilation {d}) is larger than the padded input {tuple(xb.shape[2:])}; "
                f"use more padding or a smaller kernel"
            )
    win = _Window(k, s, d)(xb)  # (B, C, *O, *k), a view
    O = tuple(win.shape[2 : 2 + n])  # noqa: E741
    sp, kl = _SP[n], _KL[n]
    # the batch label goes last everywhere: the im2col copies (forward and kernel gradient) are made
    # in (c, k, l, h, w, b) order, whose runs are OW*B floats of the batch-innermost input, and the
    # input gradient reaches Fold in that order too (4-8x faster than NCHW runs of OW floats); the
    # kernel enters as its (c, k, l, o) view so that its gradient is a plain (ckl, hwb) @ (hwb, o)
    g = groups
    wk = _vw.Reshape((g, oc // g, cg, *k))(weight) if g > 1 else weight
    G = "g" if g > 1 else ""
    wk = _contract(f"{G}oc{kl}->{G}c{kl}o", wk)
    if not b_last:  # a 1x1 kernel on an (N, C, *S) input: a batched matmul over the input as it is
        y = _contract(f"c{kl}o,bc{sp}{kl}->bo{sp}", wk, win)
    else:
        cols = _contract(f"bc{sp}{kl}->c{sp}{kl}b", win)
        if g > 1:
            cols = _vw.Reshape((g, C // g, *O, *k, B))(cols)
        y = _contract(f"{G}c{kl}o,{G}c{sp}{kl}b->{G}o{sp}b", wk, cols)
        if g > 1:
            y = _vw.Reshape((oc, *O, B))(y)
        y = _ef.permute(y, (n + 1, *range(n + 1)))  # (B, oc, *O), memory (oc, *O, B)
    if bias is not None:
        y = y + _vw.Reshape((oc,) + (1,) * n)(bias)
    return y if batched else y.squeeze(0)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution: ``Window`` + ``einsum('clo,cwlb->owb')`` (grouped: ``'gclo,gcwlb->gowb'``).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.conv1d(ef.ones(1, 1, 5), ef.ones(1, 1, 3), padding=1).tolist()
    [[[2.0, 3.0, 3.0, 3.0, 2.0]]]
    """
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution: ``Window`` + ``einsum('cklo,chwklb->ohwb')`` (grouped: ``'gcklo,gchwklb->gohwb'``).

    The kernel enters as its zero-copy ``(c, k, l, o)`` view (``'ockl->cklo'``) and the windows with
    the batch label last; the output has shape (N, O, H, W) and batch-innermost memory, which makes
    the im2col copies and the overlap-add of the backward pass run over whole ``W·N`` rows.
    ``y.contiguous()`` gives a C-ordered copy when one is needed.

    ``padding`` is an int, a tuple, ``'same'`` or ``'valid'``; input (N, C, H, W) or (C, H, W).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.conv2d(ef.ones(1, 1, 4, 4), ef.ones(2, 1, 3, 3)).shape
    einframe.Size([1, 2, 2, 2])
    """
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups: int = 1) -> Tensor:
    """3-D convolution: ``Window`` + ``einsum('cjklo,cdhwjklb->odhwb')``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.conv3d(ef.ones(1, 2, 3, 3, 3), ef.ones(4, 2, 2, 2, 2)).shape
    einframe.Size([1, 4, 2, 2, 2])
    """
    return _convnd(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


def _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, n: int, fn: str) -> Tensor:
    x, batched = _batched(input, n, fn)
    if weight.dim() != n + 2:
        raise RuntimeError(
            f"{fn}: expected weight with {n + 2} dimensions (in_channels, out_channels/groups, *kernel), got {weight.dim()}"
        )
    B, C = x.shape[0], x.shape[1]
    if weight.shape[0] != C:
        raise RuntimeError(f"{fn}: expected input with {weight.shape[0]} channels (weight.shape[0]), got {C}")
    if groups < 1 or C % groups:
        raise RuntimeError(f"{fn}: in_channels ({C}) must be divisible by groups ({groups})")
    og = weight.shape[1]
    k = tuple(weight.shape[2:])
    s = _ntuple(stride, n, "stride", fn)
    d = _ntuple(dilation, n, "dilation", fn)
    p = _ntuple(padding, n, "padding", fn)
    op = _ntuple(output_padding, n, "output_padding", fn)
    for a, ss, dd in zip(op, s, d):
        if a >= max(ss, dd):
            raise ValueError(f"{fn}: output_padding ({op}) must be smaller than either stride ({s}) or dilation ({d})")
    S = tuple(x.shape[2:])
    full = tuple((a - 1) * ss + dd * (kk - 1) + 1 + o for a, ss, dd, kk, o in zip(S, s, d, k, op))
    sp = "xyz"[:n]
    kl = _KL[n]
    # batch-innermost, as the convolutions: the patches come out in (o, k, l, x, y, b) memory, so
    # Fold's overlap-adds (and, backward, the im2col of the output gradient) move runs of b floats
    # or more, not single elements (a stride-2 window of an (N, C, H, W) row has runs of one)
    xc = _contract(f"bc{sp}->c{sp}b", _batch_last(x, ((0, 0),) * n))  # C-ordered (c, *S, b)
    g = groups
    G = "g" if g > 1 else ""
    if g > 1:
        xc = _vw.Reshape((g, C // g, *S, B))(xc)
        weight = _vw.Reshape((g, C // g, og, *k))(weight)
    # the kernel enters as its (o, k, l, c) view, so that the kernel gradient's im2col of the output
    # gradient is copied in (o, k, l, x, y, b) order, whose runs are rows of the batch-innermost memory
    wk = _contract(f"{G}co{kl}->{G}o{kl}c", weight)
    patches = _contract(f"{G}o{kl}c,{G}c{sp}b->{G}o{kl}{sp}b", wk, xc)
    if g > 1:
        patches = _vw.Reshape((g * og, *k, *S, B))(patches)
    patches = _contract(f"o{kl}{sp}b->bo{sp}{kl}", patches)  # a view: (B, out, *S, *k)
    y = _Fold(full, k, s, d)(patches)
    if any(p):
        out = tuple(f - 2 * a for f, a in zip(full, p))
        if min(out) < 1:
            raise RuntimeError(f"{fn}: padding {p} leaves no output (full size {full})")
        y = _vw.Index((slice(None), slice(None)) + tuple(slice(a, a + o) for a, o in zip(p, out)))(y)
    if bias is not None:
        y = y + _vw.Reshape((og * groups,) + (1,) * n)(bias)
    return y if batched else y.squeeze(0)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 1-D convolution: ``einsum('olc,cxb->olxb')`` (one weighted patch per input position) + ``Fold``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.conv_transpose1d(ef.ones(1, 1, 3), ef.ones(1, 1, 2), stride=2).tolist()
    [[[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]]
    """
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 1, "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution: ``einsum('oklc,cxyb->oklxyb')`` + ``Fold`` (overlap-add) + crop ``padding``.

    The batch label is last, as in ``conv2d``: the output has shape (N, O, H, W) and batch-innermost memory.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.conv_transpose2d(ef.ones(1, 1, 2, 2), ef.ones(1, 3, 3, 3), stride=2).shape
    einframe.Size([1, 3, 5, 5])
    """
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 2, "conv_transpose2d")


def conv_transpose3d(
    input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, output_padding=0, groups: int = 1, dilation=1
) -> Tensor:
    """Transposed 3-D convolution: ``einsum('ojklc,cxyzb->ojklxyzb')`` + ``Fold`` (overlap-add) + crop ``padding``.

    ``weight`` is (in_channels, out_channels/groups, kD, kH, kW), as PyTorch; grouped:
    ``'gojklc,gcxyzb->gojklxyzb'``. Input (N, C, D, H, W) or (C, D, H, W).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.conv_transpose3d(ef.ones(1, 2, 2, 2, 2), ef.ones(2, 3, 3, 3, 3), stride=2, output_padding=1).shape
    einframe.Size([1, 3, 6, 6, 6])
    """
    return _conv_transposend(input, weight, bias, stride, padding, output_padding, groups, dilation, 3, "conv_transpose3d")


# ------------------------------------------------------------------------------------------------
# pooling


def _pool_geometry(S, k, s, p, d, ceil_mode, fn):
    outs, extra = [], []
    for size, kk, ss, pp, dd in zip(S, k, s, p, d):
        if pp > kk // 2:
            raise RuntimeError(f"{fn}: pad should be at most half of effective kernel size, but got pad={pp}, kernel_size={kk}")
        span = size + 2 * pp - dd * (kk - 1) - 1
        if span < 0:
            raise RuntimeError(f"{fn}: kernel {k} (dilation {d}) does not fit the padded input {tuple(S)}")
        o = (-(-span // ss) if ceil_mode else span // ss) + 1
        if ceil_mode and (o - 1) * ss >= size + pp:
            o -= 1
        outs.append(o)
        extra.append(max(0, (o - 1) * ss + dd * (kk - 1) + 1 - (size + 2 * pp)))
    return tuple(outs), tuple(extra)


def _pool_args(kernel_size, stride, padding, dilation, n, fn):
    k = _ntuple(kernel_size, n, "kernel_size", fn)
    s = (
        k
        if stride is None or (not isinstance(stride, _numbers.Integral) and len(stride) == 0)
        else _ntuple(stride, n, "stride", fn)
    )
    return k, s, _ntuple(padding, n, "padding", fn), _ntuple(dilation, n, "dilation", fn)


def _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n, fn):
    x, batched = _batched(input, n, fn)
    k, s, p, d = _pool_args(kernel_size, stride, padding, dilation, n, fn)
    S = tuple(x.shape[2:])
    O, extra = _pool_geometry(S, k, s, p, d, ceil_mode, fn)  # noqa: E741
    xp = x._device.xp
    raw = x._data
    # work in the input's memory order (batch-innermost after a conv): the taps are strided views of
    # memory, and the Gather reads the memory as one flat vector, so nothing is transposed or copied
    mem = _memory_order(raw)
    if any(p) or any(extra):
        fill = -_np.inf if raw.dtype.kind == "f" else _np.iinfo(raw.dtype).min
        raw = xp.pad(raw, ((0, 0), (0, 0), *((a, a + e) for a, e in zip(p, extra))), constant_values=fill)
    raw = raw.transpose(mem)
    ax = [mem.index(2 + i) for i in range(n)]  # where each spatial dim sits in memory order
    # first maximum over the window taps in scan order (PyTorch's tie rule): strided views, no copies
    best = tap = None
    for t, kappa in enumerate(_product(*(range(kk) for kk in k))):
        sl = [slice(None)] * raw.ndim
        for i, (c, dd, ss, o) in enumerate(zip(kappa, d, s, O)):
            sl[ax[i]] = slice(c * dd, c * dd + ss * (o - 1) + 1, ss)
        v = raw[tuple(sl)]
        if best is None:
            best, tap = xp.ascontiguousarray(v), xp.zeros(v.shape, dtype=_np.int32)
        else:
            better = v > best
            xp.maximum(best, v, out=best)
            tap += better * (_np.int32(t) - tap)
    # the winner's flat position in the unpadded input's memory, then a Gather (adjoint:
    # scatter-add): position = window origin (a small broadcast grid) + the winning tap's offset
    full = tuple(x.shape)
    mshape = tuple(full[i] for i in mem)
    mstride = [_math.prod(mshape[j + 1 :]) for j in range(len(mem))]  # element strides, memory order
    estr = [mstride[mem.index(i)] for i in range(n + 2)]  # ... indexed by logical dim
    taps = list(_product(*(range(kk) for kk in k)))
    table = xp.asarray([sum(c * dd * estr[2 + i] for i, (c, dd) in enumerate(zip(kappa, d))) for kappa in taps], dtype=_np.int64)
    oshape = tuple(O[ax.index(j)] if j in ax else mshape[j] for j in range(n + 2))  # best's shape
    origin = 0
    for j in range(n + 2):
        shape = [1] * (n + 2)
        shape[j] = oshape[j]
        logical = mem[j]
        step = s[logical - 2] if logical >= 2 else 1
        off = p[logical - 2] if logical >= 2 else 0
        origin = origin + (xp.arange(oshape[j], dtype=_np.int64).reshape(shape) * step - off) * estr[logical]
    flat = table[tap] + origin
    y = _vw.Index((flat.reshape(-1),))(_vw.Reshape((x.numel(),))(_ef.permute(x, mem)))
    inv = tuple(mem.index(i) for i in range(n + 2))
    y = _ef.permute(_vw.Reshape(oshape)(y), inv)  # (B, C, *O), in the input's memory order
    if not batched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    # PyTorch's indices: flat positions within each (unpadded) input plane
    plane = 0
    for i in range(n):
        shape = [1] * n
        shape[i] = O[i]
        st = _math.prod(S[i + 1 :])
        plane = plane + (xp.arange(O[i], dtype=_np.int64).reshape(shape) * s[i] - p[i]) * st
    ptable = _np.asarray([sum(c * dd * _math.prod(S[i + 1 :]) for i, (c, dd) in enumerate(zip(kappa, d))) for kappa in taps])
    tap_l = tap.transpose(inv)
    idx = Tensor._wrap((xp.asarray(ptable, dtype=_np.int64)[tap_l] + plane).astype(_np.int64), x._device)
    return y, (idx if batched else idx.squeeze(0))


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling: the first maximum of each window (strided taps), picked by a Gather.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.max_pool1d(ef.tensor([[[1.0, 3.0, 2.0, 5.0]]]), 2).tolist()
    [[[3.0, 5.0]]]
    """
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling: the first maximum of each window (strided taps), picked by a Gather.

    Ties go to the first maximum in the window (as PyTorch), and so does the gradient (the Gather's
    adjoint is a scatter-add, exactly PyTorch's max-pool backward); ``return_indices`` gives flat
    indices into each input plane.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.max_pool2d(ef.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def max_pool3d(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False, return_indices: bool = False
) -> Tensor | tuple[Tensor, Tensor]:
    """3-D max pooling over (N, C, D, H, W): the first maximum of each window (strided taps), picked by a Gather.

    Ties go to the first maximum in scan order (as PyTorch); ``return_indices`` gives flat indices
    into each (D, H, W) input volume.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.max_pool3d(ef.arange(8.0).reshape(1, 1, 2, 2, 2), 2).tolist()
    [[[[[7.0]]]]]
    """
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


def _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, n, fn):
    x, batched = _batched(input, n, fn)
    k, s, p, d = _pool_args(kernel_size, stride, padding, 1, n, fn)
    S = tuple(x.shape[2:])
    O, extra = _pool_geometry(S, k, s, p, d, ceil_mode, fn)  # noqa: E741
    xpad = _pad_spatial(x, tuple((a, a + e) for a, e in zip(p, extra)))
    win = _Window(k, s, d, O)(xpad)
    # the reciprocal divisor of each output position (PyTorch's rule, incl. ceil-mode overhang)
    recip = _np.ones((), dtype=_np.float64)
    for i in range(n):
        start = _np.arange(O[i]) * s[i] - p[i]
        end = _np.minimum(start + k[i], S[i] + p[i])
        pool = end - start
        cnt = _np.minimum(end, S[i]) - _np.maximum(start, 0)
        recip = recip[..., None] * (1.0 / (pool if count_include_pad else cnt))
    if divisor_override:
        recip = _np.full(O, 1.0 / divisor_override)
    r = _const(recip.astype(x._data.dtype), x)
    sp, kl = _SP[n], _KL[n]
    y = _contract(f"bc{sp}{kl},{sp}->bc{sp}", win, r)
    return y if batched else y.squeeze(0)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """1-D average pooling: ``Window`` + ``einsum('bcwl,w->bcw', windows, 1/count)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.avg_pool1d(ef.tensor([[[1.0, 3.0, 2.0, 6.0]]]), 2).tolist()
    [[[2.0, 4.0]]]
    """
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True, divisor_override=None
) -> Tensor:
    """2-D average pooling: ``Window`` + ``einsum('bchwkl,hw->bchw', windows, 1/count)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.avg_pool2d(ef.ones(1, 1, 3, 3), 2, padding=1, count_include_pad=False).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2, "avg_pool2d")


def avg_pool3d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """3-D average pooling: ``Window`` + ``einsum('bcdhwjkl,dhw->bcdhw', windows, 1/count)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.avg_pool3d(ef.ones(1, 1, 2, 2, 2), 2, padding=1, count_include_pad=True).flatten().tolist()
    [0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125]
    """
    return _avg_poolnd(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3, "avg_pool3d")


def _adaptive_bins(size: int, out: int):
    starts = [(i * size) // out for i in range(out)]
    ends = [-(-((i + 1) * size) // out) for i in range(out)]
    return starts, ends


def _adaptive_sizes(output_size, S, fn) -> tuple[int, ...]:
    """``output_size`` (an int or a tuple with ``None`` meaning "keep that input size") for spatial sizes ``S``."""
    if isinstance(output_size, _numbers.Integral):
        output_size = (output_size,) * len(S)
    output_size = tuple(output_size)
    if len(output_size) != len(S):
        raise RuntimeError(f"{fn}: output_size must have {len(S)} elements, got {output_size}")
    return _ntuple_opt(output_size, S)


def _adaptive_avg_poolnd(input: Tensor, output_size, n: int, fn: str) -> Tensor:
    x, batched = _batched(input, n, fn)
    S = tuple(x.shape[2:])
    O = _adaptive_sizes(output_size, S, fn)  # noqa: E741
    mats = []
    for size, out in zip(S, O):
        m = _np.zeros((out, size))
        for i, (a, b) in enumerate(zip(*_adaptive_bins(size, out))):
            m[i, a:b] = 1.0 / (b - a)
        mats.append(_const(m.astype(x._data.dtype), x))
    sp, ol = _SP[n], "ijk"[:n]  # e.g. 'bchw,ih,jw->bcij'
    y = _contract(f"bc{sp}," + ",".join(o + a for o, a in zip(ol, sp)) + f"->bc{ol}", x, *mats)
    return y if batched else y.squeeze(0)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Adaptive average pooling as one contraction with two averaging matrices: ``einsum('bchw,ih,jw->bcij')``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_avg_pool2d(ef.arange(16.0).reshape(1, 1, 4, 4), 1).tolist()
    [[[[7.5]]]]
    """
    return _adaptive_avg_poolnd(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Adaptive 3-D average pooling, one contraction with three averaging matrices: ``einsum('bcdhw,id,jh,kw->bcijk')``.

    ``output_size`` is an int or a (D, H, W) tuple; ``None`` keeps that input size (as PyTorch).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_avg_pool3d(ef.arange(8.0).reshape(1, 1, 2, 2, 2), (1, None, 1)).tolist()
    [[[[[2.5], [4.5]]]]]
    """
    return _adaptive_avg_poolnd(input, output_size, 3, "adaptive_avg_pool3d")


def _ntuple_opt(output_size, sizes):
    if isinstance(output_size, _numbers.Integral):
        output_size = (output_size,) * len(sizes)
    return tuple(s if o is None else int(o) for o, s in zip(output_size, sizes))


def _adaptive_max_poolnd(input: Tensor, output_size, return_indices: bool, n: int, fn: str):
    x, batched = _batched(input, n, fn)
    B, C = x.shape[0], x.shape[1]
    S = tuple(x.shape[2:])
    O = _adaptive_sizes(output_size, S, fn)  # noqa: E741
    if all(o > 0 and size % o == 0 for size, o in zip(S, O)):
        k = tuple(size // o for size, o in zip(S, O))
        r = _max_poolnd(x, k, None, 0, 1, False, return_indices, n, fn)
    else:
        raw = x._data
        xp = x._device.xp
        bins = [_adaptive_bins(size, o) for size, o in zip(S, O)]
        plane = [_math.prod(S[i + 1 :]) for i in range(n)]  # element strides within one input plane
        idx = xp.empty((B, C, *O), dtype=_np.int64)
        for pos in _product(*(range(o) for o in O)):
            lo = [bins[i][0][p] for i, p in enumerate(pos)]
            hi = [bins[i][1][p] for i, p in enumerate(pos)]
            a = raw[(slice(None), slice(None), *(slice(u, v) for u, v in zip(lo, hi)))].reshape(B, C, -1).argmax(axis=-1)
            flat = 0
            for i in reversed(range(n)):  # the bin-local argmax, unravelled, as a flat position in the plane
                ext = hi[i] - lo[i]
                flat = flat + (lo[i] + a % ext) * plane[i]
                a = a // ext
            idx[(slice(None), slice(None), *pos)] = flat
        idx_t = Tensor._wrap(idx, x._device)
        vals = _ef.gather(x.reshape(B, C, _math.prod(S)), 2, idx_t.reshape(B, C, _math.prod(O))).reshape(B, C, *O)
        r = (vals, idx_t) if return_indices else vals
    if batched:
        return r
    return tuple(t.squeeze(0) for t in r) if return_indices else r.squeeze(0)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive max pooling: a gather of each bin's first maximum (a ``Window`` max-pool when the bins tile evenly).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_max_pool2d(ef.arange(16.0).reshape(1, 1, 4, 4), (1, 2)).tolist()
    [[[[13.0, 15.0]]]]
    """
    return _adaptive_max_poolnd(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False) -> Tensor | tuple[Tensor, Tensor]:
    """Adaptive 3-D max pooling: a gather of each bin's first maximum (``max_pool3d`` when the bins tile evenly).

    ``return_indices`` gives flat indices into each (D, H, W) input volume, as PyTorch.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_max_pool3d(ef.arange(27.0).reshape(1, 1, 3, 3, 3), (1, 1, 2)).tolist()
    [[[[[25.0, 26.0]]]]]
    """
    return _adaptive_max_poolnd(input, output_size, return_indices, 3, "adaptive_max_pool3d")


# ------------------------------------------------------------------------------------------------
# normalisation


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalisation over (N, *spatial) per channel; statistics are contractions.

    Training: ``mu = einsum('bcl->c', x)/n``, ``var = einsum('bcl,bcl->c', xc, xc)/n`` (biased), and the
    running stats are updated in place as PyTorch does: ``r = (1-m)·r + m·stat`` with the *unbiased*
    variance (``n/(n-1)``). Eval: ``(x - running_mean) / sqrt(running_var + eps)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> rm, rv = ef.zeros(2), ef.ones(2)
    >>> y = F.batch_norm(ef.tensor([[1.0, 2.0], [3.0, 6.0]]), rm, rv, training=True)
    >>> [round(v, 4) for v in rm.tolist()], [round(v, 4) for v in rv.tolist()]
    ([0.2, 0.4], [1.1, 1.7])
    """
    if input.dim() < 2:
        raise ValueError(f"batch_norm: expected input with at least 2 dimensions (N, C, ...), got {input.dim()}")
    shape = input.shape
    C = shape[1]
    x = input.reshape(shape[0], C, -1)
    bshape = (C, 1)
    if training:
        n = x.shape[0] * x.shape[2]
        if n <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(shape)}")
        mean = _contract("bcl->c", x) * (1.0 / n)
        xc = x - _vw.Reshape(bshape)(mean)
        var = _contract("bcl,bcl->c", xc, xc) * (1.0 / n)
        scale = _ef.rsqrt(var + eps)
        if running_mean is not None or running_var is not None:
            m = 0.0 if momentum is None else momentum
            from ..autograd import no_grad

            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - m).add_(mean.detach().to(running_mean.dtype) * m)
                if running_var is not None:
                    running_var.mul_(1 - m).add_(var.detach().to(running_var.dtype) * (m * n / (n - 1)))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var are required when training=False")
        xc = x - _vw.Reshape(bshape)(running_mean.to(x.dtype))
        scale = _ef.rsqrt(running_var.to(x.dtype) + eps)
    if weight is not None:
        scale = scale * weight
    y = xc * _vw.Reshape(bshape)(scale)
    if bias is not None:
        y = y + _vw.Reshape(bshape)(bias)
    return y.reshape(shape)


def layer_norm(
    input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Layer normalisation over the trailing ``normalized_shape`` dims: ``einsum('...d->...')/D`` statistics.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.layer_norm(ef.tensor([1.0, 2.0, 3.0]), (3,)).tolist()]
    [-1.2247, 0.0, 1.2247]
    """
    ns = (int(normalized_shape),) if isinstance(normalized_shape, _numbers.Integral) else tuple(int(v) for v in normalized_shape)
    shape = input.shape
    if tuple(shape[len(shape) - len(ns) :]) != ns:
        raise RuntimeError(f"layer_norm: expected input with shape [*, {', '.join(map(str, ns))}], got {list(shape)}")
    D = _math.prod(ns)
    x = input.reshape(*shape[: len(shape) - len(ns)], D)
    mean = _contract("...d->...", x) * (1.0 / D)
    xc = x - mean.unsqueeze(-1)
    var = _contract("...d,...d->...", xc, xc) * (1.0 / D)
    y = (xc * _ef.rsqrt(var + eps).unsqueeze(-1)).reshape(shape)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def group_norm(
    input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None, eps: float = 1e-5
) -> Tensor:
    """Group normalisation: statistics per (sample, group) as ``einsum('bgl->bg')/n``, then a per-channel affine.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.group_norm(ef.randn(2, 4, 3), 2).shape
    einframe.Size([2, 4, 3])
    """
    shape = input.shape
    if input.dim() < 2 or shape[1] % num_groups:
        raise RuntimeError(
            f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, got shape {list(shape)}"
        )
    x = input.reshape(shape[0], num_groups, -1)
    n = x.shape[2]
    mean = _contract("bgl->bg", x) * (1.0 / n)
    xc = x - mean.unsqueeze(-1)
    var = _contract("bgl,bgl->bg", xc, xc) * (1.0 / n)
    y = (xc * _ef.rsqrt(var + eps).unsqueeze(-1)).reshape(shape)
    cshape = (shape[1],) + (1,) * (len(shape) - 2)
    if weight is not None:
        y = y * weight.reshape(cshape)
    if bias is not None:
        y = y + bias.reshape(cshape)
    return y


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``x / max(||x||_p, eps)`` along ``dim``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.normalize(ef.tensor([[3.0, 4.0]], dtype=ef.float64)).tolist()
    [[0.6, 0.8]]
    """
    return input / _ef.norm(input, p, dim, keepdim=True).clamp(min=eps)


# ------------------------------------------------------------------------------------------------
# dropout


def _check_p(p, fn):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, like: Tensor) -> Tensor:
    keep = _generator().random(shape) >= p
    scale = 0.0 if p >= 1 else 1.0 / (1.0 - p)
    return _const((keep * scale).astype(like._data.dtype), like)


def _apply_inplace(input: Tensor, fn, inplace: bool) -> Tensor:
    """``fn(input)``, or with ``inplace`` written into ``input`` as PyTorch's in-place ops: recorded on
    a tensor of the graph (its old value is kept for the backward pass), refused on a leaf that
    requires grad."""
    if not isinstance(input, Tensor):
        raise TypeError(f"expected input to be a Tensor, got {type(input).__name__}")
    return _ef._inplace(input, fn) if inplace else fn(input)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``; identity when not training.

    Seeded by ``ef.manual_seed``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.dropout(ef.ones(4), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    _check_p(p, "dropout")
    if not training or p == 0:
        return input
    mask = _keep_mask(tuple(input.shape), p, input)
    return _apply_inplace(input, lambda x: x * mask, inplace)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) (or (C, H, W)) input with probability ``p``; identity when not training.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> y = F.dropout2d(ef.ones(2, 8, 3, 3))
    >>> sorted(set(y.flatten().tolist()))
    [0.0, 2.0]
    """
    _check_p(p, "dropout2d")
    if input.dim() not in (3, 4):
        raise RuntimeError(f"dropout2d: expected input with 4 dimensions (N, C, H, W) or 3 (C, H, W), got {input.dim()}")
    if not training or p == 0:
        return input
    shape = tuple(input.shape[:-2]) + (1, 1)
    mask = _keep_mask(shape, p, input)
    return _apply_inplace(input, lambda x: x * mask, inplace)


# ------------------------------------------------------------------------------------------------
# sparse


_SPARSE_MSG = (
    "sparse=True asks for sparse gradients, which einframe does not support (every gradient is dense); "
    "use sparse=False: the gradient has the same values, as a dense tensor"
)


def _grad_enabled() -> bool:
    from ..autograd.grad_mode import is_grad_enabled

    return is_grad_enabled()


def _embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """PyTorch's ``embedding_renorm_``: rows of ``weight`` indexed by ``input`` whose ``norm_type``-norm
    exceeds ``max_norm`` are scaled in place (under ``no_grad``) by ``max_norm / (norm + 1e-7)``."""
    from ..autograd.grad_mode import no_grad

    xp = weight._device.xp
    with no_grad():
        rows = Tensor._wrap(xp.unique(input._data.ravel()), weight._device)
        sel = weight[rows]
        norms = _ef.norm(sel, norm_type, 1, keepdim=True)
        scale = _ef.where(norms > max_norm, max_norm / (norms + 1e-7), _ef.ones_like(norms))
        weight[rows] = sel * scale  # an in-place write: bumps weight's version counter, as PyTorch


def embedding(
    input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
    norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
) -> Tensor:  # fmt: skip
    """Rows of ``weight`` picked by integer ``input``: a gather (adjoint: scatter-add), never a one-hot einsum.

    - ``padding_idx``: entries equal to it give that row no gradient (negative counts from the end).
    - ``max_norm``: first, every row that ``input`` picks and whose ``norm_type``-norm exceeds
      ``max_norm`` is rescaled **in place** (under ``no_grad``) to norm ``max_norm`` (PyTorch's
      ``embedding_renorm_``, which divides by ``norm + 1e-7``); ``weight`` is modified.
    - ``scale_grad_by_freq``: the gradient reaching each row is divided by the number of times its
      index occurs in ``input`` (the mini-batch).
    - ``sparse``: einframe has no sparse gradients, so only ``False`` is accepted; ``True`` raises
      ``NotImplementedError`` (use ``sparse=False``: the same gradient values, dense).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.embedding(ef.tensor([2, 0]), ef.arange(6.0).reshape(3, 2)).tolist()
    [[4.0, 5.0], [0.0, 1.0]]

    ``max_norm`` renormalises the rows it looks up, in ``weight`` itself:

    >>> w = ef.tensor([[3.0, 4.0], [0.3, 0.4]])
    >>> [round(v, 4) for v in F.embedding(ef.tensor([0, 1]), w, max_norm=1.0).flatten().tolist()]
    [0.6, 0.8, 0.3, 0.4]
    >>> [round(v, 4) for v in w[0].tolist()]
    [0.6, 0.8]

    ``scale_grad_by_freq`` divides row 0's gradient by its 2 occurrences:

    >>> w = ef.ones(3, 2, requires_grad=True)
    >>> F.embedding(ef.tensor([0, 0, 2]), w, scale_grad_by_freq=True).sum().backward()
    >>> w.grad.tolist()
    [[1.0, 1.0], [0.0, 0.0], [1.0, 1.0]]
    """
    if sparse:
        raise NotImplementedError(f"embedding: {_SPARSE_MSG}")
    if not isinstance(input, Tensor):
        input = _ef.tensor(input)
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: expected an integer index tensor (Long/Int), got {input.dtype}")
    n = weight.shape[0]
    if input.numel() and (int(input._data.max()) >= n or int(input._data.min()) < 0):
        raise IndexError(
            f"embedding: index out of range: indices must be in [0, {n}), got [{int(input._data.min())}, {int(input._data.max())}]"
        )
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError(f"Padding_idx must be within num_embeddings ({n}), got {padding_idx}")
        if padding_idx < 0:
            padding_idx += n
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    out = _vw.Index((input._data,))(weight)
    if scale_grad_by_freq and weight.requires_grad and _grad_enabled():
        # Divide the gradient, not the value, by the counts, by composition (no derivative code outside
        # ops/): with r = out.detach(), ``r - (r - out) / count`` equals ``out`` exactly (r - out is +0,
        # and r - 0 keeps even a -0.0), while its derivative with respect to out is 1/count (detach blocks
        # the rest), so the Gather's adjoint scatter-adds g / count into each row: PyTorch's
        # scale_grad_by_freq; higher-order gradients follow from the same graph. inf - inf would be nan,
        # so non-finite entries (if any) keep their value and get no gradient. Done only when a reverse-mode
        # gradient can flow: PyTorch does not scale forward-mode tangents, nor does a pure forward-mode call
        # here (a tensor that both requires grad and carries a tangent gets its tangent scaled too).
        xp = weight._device.xp
        idx = input._data
        counts = _const(xp.bincount(idx.ravel(), minlength=n)[idx][..., None].astype(out._data.dtype), weight)
        r = out.detach()
        finite = xp.isfinite(r._data)
        if bool(finite.all()):
            out = r - (r - out) / counts
        else:
            fin = _const(finite, weight)
            out = r - (_ef.where(fin, r, 0.0) - _ef.where(fin, out, 0.0)) / counts
    if padding_idx is not None:
        is_pad = _const((input._data == padding_idx)[..., None], weight)
        out = _ef.where(is_pad, out.detach(), out)
    return out


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 one-hot encoding with a new last dim of ``num_classes`` (inferred as max+1 when -1).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.one_hot(ef.tensor([0, 2]), 3).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    a = tensor._data
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensor of integer dtype, got {tensor.dtype}")
    if num_classes == -1:
        num_classes = int(a.max()) + 1 if a.size else 0
    if a.size and (int(a.min()) < 0 or int(a.max()) >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got [{int(a.min())}, {int(a.max())}]")
    xp = tensor._device.xp
    return Tensor._wrap((a[..., None] == xp.arange(num_classes)).astype(_np.int64), tensor._device)


# ------------------------------------------------------------------------------------------------
# activations


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.leaky_relu(ef.tensor([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    """
    return _apply_inplace(input, lambda x: _ef.where(x > 0, x, x * negative_slope), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.elu(ef.tensor([-1.0, 2.0])).tolist()]
    [-0.6321, 2.0]
    """
    return _apply_inplace(input, lambda x: _ef.where(x > 0, x, _ef.expm1(x.clamp(max=0.0)) * alpha), inplace)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (exact, via ``erf``) or its ``approximate='tanh'`` form.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.gelu(ef.tensor(1.0)).item(), 4), round(F.gelu(ef.tensor(1.0), approximate="tanh").item(), 4)
    (0.8413, 0.8412)
    """
    if approximate == "none":
        return input * 0.5 * (1.0 + _ef.erf(input * (1.0 / _math.sqrt(2.0))))
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _math.sqrt(2.0 / _math.pi)
        return input * 0.5 * (1.0 + _ef.tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (a.k.a. swish).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.silu(ef.tensor(1.0)).item(), 4)
    0.7311
    """
    return _apply_inplace(input, lambda x: x * _ef.sigmoid(x), inplace)


def _log_sigmoid(x: Tensor) -> Tensor:
    # min(x, 0) - log1p(exp(-|x|)): overflow-free; at x = 0 the tie rules of minimum/abs give the exact slope 1/2
    return _ef.minimum(x, _ef.zeros_like(x)) - _ef.log1p(_ef.exp(-_ef.abs(x)))


def logsigmoid(input: Tensor) -> Tensor:
    """``log(sigmoid(x))``, computed without overflow.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.logsigmoid(ef.tensor(0.0)).item(), 4)
    -0.6931
    """
    return _log_sigmoid(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, and ``x`` itself where ``beta x > threshold``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.softplus(ef.tensor(0.0)).item(), 4)
    0.6931
    """
    bx = input * beta
    soft = -_log_sigmoid(-bx) * (1.0 / beta)
    return _ef.where(bx > threshold, input, soft)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp to ``[min_val, max_val]``; zero gradient at and beyond the bounds (as PyTorch).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.hardtanh(ef.tensor([-2.0, 0.5, 3.0])).tolist()
    [-1.0, 0.5, 1.0]
    """

    def f(x):
        lo, hi = x <= min_val, x >= max_val
        return _ef.where(lo, _ef.full_like(x, min_val), _ef.where(hi, _ef.full_like(x, max_val), x))

    return _apply_inplace(input, f, inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``hardtanh(x, 0, 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _softmax_dim(ndim: int) -> int:
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Softmax along ``dim``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.softmax(ef.tensor([0.0, 0.0]), dim=0).tolist()
    [0.5, 0.5]
    """
    return _ef.softmax(input, _softmax_dim(input.dim()) if dim is None else dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """Log-softmax along ``dim`` (``x - logsumexp(x)``).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.log_softmax(ef.tensor([0.0, 0.0]), dim=0).tolist()]
    [-0.6931, -0.6931]
    """
    return _ef.log_softmax(input, _softmax_dim(input.dim()) if dim is None else dim, dtype)


def sigmoid(input: Tensor) -> Tensor:
    """Logistic sigmoid."""
    return _ef.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _ef.tanh(input)


# ------------------------------------------------------------------------------------------------
# bilinear and attention


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x1ᵀ W x2 + b`` as one 3-operand contraction ``einsum('...i,oij,...j->...o')``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.bilinear(ef.ones(2, 3), ef.ones(2, 4), ef.ones(5, 3, 4)).shape
    einframe.Size([2, 5])
    """
    y = _contract("...i,oij,...j->...o", input1, weight, input2)
    return y + bias if bias is not None else y


def _float_mask(mask: Tensor, like: Tensor, true_means_keep: bool) -> Tensor:
    """A boolean mask as an additive float mask (0 / -inf); float masks pass through."""
    if mask._data.dtype == _np.bool_:
        blocked = ~mask._data if true_means_keep else mask._data
        xp = like._device.xp
        return Tensor._wrap(xp.where(blocked, -_np.inf, 0.0).astype(like._data.dtype), like._device)
    return mask.to(like.dtype)


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None, dropout_p: float = 0.0,
    is_causal: bool = False, scale: float | None = None, enable_gqa: bool = False,
) -> Tensor:  # fmt: skip
    """``softmax(einsum('...le,...se->...ls', q, k)·scale + mask) `` then ``einsum('...ls,...sv->...lv', p, v)``.

    ``attn_mask``: boolean (True = may attend) or float (added); ``is_causal`` masks the upper triangle.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> q = k = v = ef.ones(1, 2, 3, 4)
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
    einframe.Size([1, 2, 3, 4])
    """
    L, S = query.shape[-2], key.shape[-2]
    sc = 1.0 / _math.sqrt(query.shape[-1]) if scale is None else scale
    scores = _contract("...le,...se->...ls", query, key) * sc
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("scaled_dot_product_attention: pass either attn_mask or is_causal=True, not both")
        xp = query._device.xp
        attn_mask = Tensor._wrap(xp.tril(xp.ones((L, S), dtype=bool)), query._device)
    if attn_mask is not None:
        scores = scores + _float_mask(attn_mask, scores, true_means_keep=True)
    p = _ef.softmax(scores, -1)
    if dropout_p > 0:
        p = dropout(p, dropout_p, True)
    return _contract("...ls,...sv->...lv", p, value)


def multi_head_attention_forward(
    query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
    in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None, bias_v: Tensor | None,
    add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
    training: bool = True, key_padding_mask: Tensor | None = None, need_weights: bool = True,
    attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
    static_v: Tensor | None = None, average_attn_weights: bool = True, is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:  # fmt: skip
    """PyTorch's multi-head attention on sequence-first inputs ``(L, N, E)`` (or unbatched ``(L, E)``).

    The head split is folded into the equations: scores ``einsum('lnhd,snhd->nhls')``, output
    ``einsum('nhls,snhd->lnhd')``; projections are ``einsum('lne,fe->lnf')``. Masks: ``attn_mask``
    (L, S) or (N·num_heads, L, S), boolean True = *not* allowed (or float, added); ``key_padding_mask``
    (N, S), True = ignore. Returns ``(output, weights)``: the attention probabilities (after dropout,
    as PyTorch), averaged over heads when ``average_attn_weights``; ``None`` unless ``need_weights``.

    - ``use_separate_proj_weight=True``: project with ``q_proj_weight`` (E, E), ``k_proj_weight``
      (E, kdim) and ``v_proj_weight`` (E, vdim) instead of the packed ``in_proj_weight`` (3E, E), so
      ``key``/``value`` may have feature sizes kdim/vdim (``in_proj_bias`` stays one (3E,) vector).
    - ``bias_k``/``bias_v`` (1, 1, E): appended to the projected key/value sequence (S -> S+1).
    - ``add_zero_attn``: a zero key and value appended after the projections (and biases).
    Both pad ``attn_mask`` and ``key_padding_mask`` with one "may attend" column per appended key.
    - ``static_k``/``static_v`` (N·num_heads, S, head_dim): used as the projected keys/values (after
      ``bias_k``/``bias_v``, before ``add_zero_attn``, as PyTorch).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.randn(3, 2, 4)
    >>> out, w = F.multi_head_attention_forward(x, x, x, 4, 2, ef.randn(12, 4), ef.zeros(12), None, None,
    ...                                          False, 0.0, ef.randn(4, 4), ef.zeros(4))
    >>> out.shape, w.shape
    (einframe.Size([3, 2, 4]), einframe.Size([2, 3, 3]))

    Keys and values of other sizes (kdim=5, vdim=6), a learnt bias key/value and a zero key/value,
    so 3 + 1 + 1 keys:

    >>> kv = ef.randn(3, 2, 5), ef.randn(3, 2, 6)
    >>> out, w = F.multi_head_attention_forward(
    ...     x, *kv, 4, 2, None, ef.zeros(12), ef.randn(1, 1, 4), ef.randn(1, 1, 4), True, 0.0,
    ...     ef.randn(4, 4), None, use_separate_proj_weight=True, q_proj_weight=ef.randn(4, 4),
    ...     k_proj_weight=ef.randn(4, 5), v_proj_weight=ef.randn(4, 6))
    >>> out.shape, w.shape
    (einframe.Size([3, 2, 4]), einframe.Size([2, 3, 5]))
    """
    if (bias_k is None) != (bias_v is None):
        raise AssertionError(
            f"multi_head_attention_forward: bias_k and bias_v must both be given or both be None, got "
            f"bias_k={'None' if bias_k is None else 'a tensor'} and bias_v={'None' if bias_v is None else 'a tensor'}"
        )
    batched = query.dim() == 3
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    L, N, E = query.shape
    S = key.shape[0]
    if E != embed_dim_to_check:
        raise RuntimeError(
            f"multi_head_attention_forward: was expecting embedding dimension of {embed_dim_to_check}, but got {E}"
        )
    H = num_heads
    if E % H:
        raise RuntimeError(f"multi_head_attention_forward: embed_dim {E} not divisible by num_heads {H}")
    D = E // H
    if use_separate_proj_weight:
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError(
                "multi_head_attention_forward: use_separate_proj_weight is True but q_proj_weight, k_proj_weight "
                "or v_proj_weight is None"
            )
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(
                f"multi_head_attention_forward: key's sequence and batch dims {tuple(key.shape[:2])} do not match "
                f"value's {tuple(value.shape[:2])}"
            )
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        if in_proj_weight is None:
            raise AssertionError("multi_head_attention_forward: use_separate_proj_weight is False but in_proj_weight is None")
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(
                f"multi_head_attention_forward: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}"
            )
        wq, wk, wv = in_proj_weight[:E], in_proj_weight[E : 2 * E], in_proj_weight[2 * E :]
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias[:E], in_proj_bias[E : 2 * E], in_proj_bias[2 * E :]

    def proj(x, w, b):
        y = _contract("lne,fe->lnf", x, w)
        return y + b if b is not None else y

    if query is key and key is value and not use_separate_proj_weight:  # self-attention: one packed projection
        qkv = proj(query, in_proj_weight, in_proj_bias)
        q, k, v = qkv[..., :E], qkv[..., E : 2 * E], qkv[..., 2 * E :]
    else:
        q, k, v = proj(query, wq, bq), proj(key, wk, bk), proj(value, wv, bv)

    # masks become additive float masks first, so an appended key is "may attend" by padding with 0
    if is_causal and attn_mask is None:
        xp = query._device.xp
        attn_mask = Tensor._wrap(~xp.tril(xp.ones((L, S), dtype=bool)), query._device)
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise RuntimeError(f"multi_head_attention_forward: attn_mask's dimension {attn_mask.dim()} is not supported")
        want = (L, S) if attn_mask.dim() == 2 else (N * H, L, S)
        if tuple(attn_mask.shape) != want:
            raise RuntimeError(
                f"multi_head_attention_forward: the shape of the {attn_mask.dim()}D attn_mask is "
                f"{tuple(attn_mask.shape)}, but should be {want}"
            )
        attn_mask = _float_mask(attn_mask, q, true_means_keep=False)
    if key_padding_mask is not None:
        s_keys = static_k.shape[1] if static_k is not None and static_k.dim() == 3 else S  # as PyTorch
        if tuple(key_padding_mask.shape) != (N, s_keys):
            raise AssertionError(
                f"multi_head_attention_forward: expecting key_padding_mask shape of {(N, s_keys)}, "
                f"but got {tuple(key_padding_mask.shape)}"
            )
        key_padding_mask = _float_mask(key_padding_mask, q, true_means_keep=False)

    def one_more_key(k, v, k_extra, v_extra):
        nonlocal attn_mask, key_padding_mask
        k, v = _ef.cat([k, k_extra], 0), _ef.cat([v, v_extra], 0)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
        return k, v

    if bias_k is not None:  # one learnt key/value, the same for every batch entry
        k, v = one_more_key(k, v, bias_k.expand(1, N, E), bias_v.expand(1, N, E))

    def static(t, name):  # (N·H, S, D) -> the (S, N, E) layout of the projections
        if t.dim() != 3 or t.shape[0] != N * H or t.shape[2] != D:
            raise AssertionError(
                f"multi_head_attention_forward: expecting {name} of shape (bsz * num_heads, S, head_dim) = "
                f"({N * H}, S, {D}), but got {tuple(t.shape)}"
            )
        return t.reshape(N, H, t.shape[1], D).permute(2, 0, 1, 3).reshape(t.shape[1], N, E)

    if static_k is not None:
        k = static(static_k, "static_k")
    if static_v is not None:
        v = static(static_v, "static_v")
    if add_zero_attn:  # one zero key/value (after the biases, as PyTorch)
        z = _const(query._device.xp.zeros((1, N, E), dtype=q._data.dtype), q)
        k, v = one_more_key(k, v, z, z)
    S = k.shape[0]
    q = q.reshape(L, N, H, D)
    k = k.reshape(S, N, H, D)
    v = v.reshape(S, N, H, D)
    scores = _contract("lnhd,snhd->nhls", q, k) * (1.0 / _math.sqrt(D))
    if attn_mask is not None:
        scores = scores + (attn_mask.reshape(N, H, L, S) if attn_mask.dim() == 3 else attn_mask)
    if key_padding_mask is not None:
        scores = scores + key_padding_mask.reshape(N, 1, 1, S)
    p = _ef.softmax(scores, -1)
    if training and dropout_p > 0:
        p = dropout(p, dropout_p, True)
    out = _contract("nhls,snhd->lnhd", p, v).reshape(L, N, E)
    out = _contract("lne,fe->lnf", out, out_proj_weight)
    if out_proj_bias is not None:
        out = out + out_proj_bias
    weights = None
    if need_weights:
        weights = p.mean(1) if average_attn_weights else p
    if not batched:
        out = out.squeeze(1)
        weights = weights.squeeze(0) if weights is not None else None
    return out, weights


# ------------------------------------------------------------------------------------------------
# padding, resampling, unfold/fold


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad)//2`` dims; ``pad`` = (left_last, right_last, left_prev, right_prev, ...).

    ``mode``: 'constant' (negative pads crop), 'reflect', 'replicate', 'circular' — the last three are
    compositions of slices, flips and concatenations.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([[[1.0, 2.0, 3.0]]])
    >>> F.pad(x, (2, 1), mode="reflect").tolist(), F.pad(x, (1, 1), mode="circular").tolist()
    ([[[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]], [[[3.0, 1.0, 2.0, 3.0, 1.0]]])
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > input.dim():
        raise ValueError(f"pad: expected an even number of pad values covering at most {input.dim()} dims, got {pad}")
    nd = len(pad) // 2
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(nd)]  # last dim first
    if mode == "constant":
        v = 0.0 if value is None else value
        x = input
        if any(a < 0 or b < 0 for a, b in pairs):
            key = [slice(None)] * input.dim()
            for i, (a, b) in enumerate(pairs):
                d = input.dim() - 1 - i
                key[d] = slice(max(-a, 0), input.shape[d] - max(-b, 0))
            x = _vw.Index(tuple(key))(x)
        pads = [(0, 0)] * input.dim()
        for i, (a, b) in enumerate(pairs):
            pads[input.dim() - 1 - i] = (max(a, 0), max(b, 0))
        if all(p == (0, 0) for p in pads):
            return x
        return _vw.Pad(tuple(pads), v)(x)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: mode {mode!r} is not supported; use 'constant', 'reflect', 'replicate' or 'circular'")
    x = input
    for i, (a, b) in enumerate(pairs):
        d = input.dim() - 1 - i
        n = x.shape[d]
        if a < 0 or b < 0:
            raise ValueError(f"pad: negative padding is only supported with mode='constant', got {pad}")
        if mode == "reflect" and (a >= n or b >= n):
            raise ValueError(f"pad: padding ({a}, {b}) must be smaller than the input size {n} of dim {d} with mode='reflect'")
        if mode == "circular" and (a > n or b > n):
            raise ValueError(f"pad: padding ({a}, {b}) must be at most the input size {n} of dim {d} with mode='circular'")
        parts = []
        if a:
            if mode == "reflect":
                parts.append(_ef.flip(_ef.narrow(x, d, 1, a), d))
            elif mode == "replicate":
                parts.append(_ef.narrow(x, d, 0, 1).expand(*[a if j == d else s for j, s in enumerate(x.shape)]))
            else:
                parts.append(_ef.narrow(x, d, n - a, a))
        parts.append(x)
        if b:
            if mode == "reflect":
                parts.append(_ef.flip(_ef.narrow(x, d, n - 1 - b, b), d))
            elif mode == "replicate":
                parts.append(_ef.narrow(x, d, n - 1, 1).expand(*[b if j == d else s for j, s in enumerate(x.shape)]))
            else:
                parts.append(_ef.narrow(x, d, 0, b))
        x = _ef.cat(parts, d) if len(parts) > 1 else x
    return x


def _linear_weights(n_in: int, n_out: int, align_corners: bool, scale: float | None) -> _np.ndarray:
    """(n_out, n_in) matrix of linear interpolation weights (PyTorch's source-index rule)."""
    m = _np.zeros((n_out, n_in))
    for o in range(n_out):
        if align_corners:
            src = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:
            r = (1.0 / scale) if scale else n_in / n_out
            src = max((o + 0.5) * r - 0.5, 0.0)
        i0 = min(int(_math.floor(src)), n_in - 1)
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        m[o, i0] += 1 - lam
        m[o, i1] += lam
    return m


def _keys_near(x, a: float):
    """Keys' cubic convolution kernel for |x| <= 1 (works on floats and tensors alike)."""
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _keys_far(x, a: float):
    """Keys' cubic convolution kernel for 1 < |x| < 2."""
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _antialias_weights(n_in: int, n_out: int, align_corners: bool, scale: float | None, cubic: bool) -> _np.ndarray:
    """(n_out, n_in) weights of an anti-aliased resize (PyTorch's ``antialias=True``, PIL's filters):
    when shrinking, the triangle (bilinear) or Keys a = -0.5 (bicubic) kernel is stretched by the
    shrink factor so every input pixel contributes; each row is normalised to sum to one."""
    if align_corners:
        r = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        r = (1.0 / scale) if scale else n_in / n_out
    half = 2.0 if cubic else 1.0  # the kernel's support radius at scale 1
    support = half * r if r >= 1.0 else half
    inv = 1.0 / r if r >= 1.0 else 1.0

    def kernel(x: float) -> float:
        x = abs(x)
        if not cubic:
            return max(0.0, 1.0 - x)
        return _keys_near(x, -0.5) if x < 1 else _keys_far(x, -0.5) if x < 2 else 0.0

    m = _np.zeros((n_out, n_in))
    for o in range(n_out):
        center = r * (o + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        w = _np.array([kernel((j - center + 0.5) * inv) for j in range(lo, hi)])
        total = w.sum()
        if total != 0:
            m[o, lo:hi] = w / total
    return m


def _cubic_weights(n_in: int, n_out: int, align_corners: bool, scale: float | None) -> _np.ndarray:
    """(n_out, n_in) matrix of bicubic weights: Keys' kernel with a = -0.75 on the 4 nearest source
    samples, indices clamped at the borders (PyTorch's upsample_bicubic2d)."""
    a = -0.75
    m = _np.zeros((n_out, n_in))
    for o in range(n_out):
        if align_corners:
            src = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        else:  # not clamped at 0 for cubic, as PyTorch
            src = (o + 0.5) * ((1.0 / scale) if scale else n_in / n_out) - 0.5
        i0 = int(_math.floor(src))
        t = src - i0
        taps = (_keys_far(t + 1, a), _keys_near(t, a), _keys_near(1 - t, a), _keys_far(2 - t, a))
        for k, w in zip(range(i0 - 1, i0 + 3), taps):
            m[o, min(max(k, 0), n_in - 1)] += w
    return m


def interpolate(
    input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None, antialias: bool = False,
) -> Tensor:  # fmt: skip
    """Resize the spatial dims. 'nearest' is a gather per dim; 'linear'/'bilinear'/'bicubic'/'trilinear'
    is one contraction with per-dim interpolation matrices (``einsum('bchw,Hh,Ww->bcHW')``).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    >>> F.interpolate(x, scale_factor=2).shape, F.interpolate(x, size=3, mode="bilinear", align_corners=True)[0, 0, 1].tolist()
    (einframe.Size([1, 1, 4, 4]), [2.0, 2.5, 3.0])
    """
    n = input.dim() - 2
    if n < 1:
        raise ValueError(f"interpolate: expected input (N, C, *spatial) with at least 3 dims, got {input.dim()}")
    S = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: pass exactly one of size or scale_factor")
    if size is not None:
        out = _ntuple(size, n, "size", "interpolate")
        scales = (None,) * n
    else:
        scales = (
            (float(scale_factor),) * n if isinstance(scale_factor, _numbers.Number) else tuple(float(v) for v in scale_factor)
        )
        out = tuple(int(_math.floor(s * f)) for s, f in zip(S, scales))
        if recompute_scale_factor:
            scales = (None,) * n
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError(
                "interpolate: align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
            )
        x = input
        for i, (si, oi, sc) in enumerate(zip(S, out, scales)):
            r = (1.0 / sc) if sc else si / oi
            idx = _np.minimum(_np.floor(_np.arange(oi) * r).astype(_np.int64), si - 1)
            x = _ef.index_select(x, 2 + i, _const(idx, input))
        return x
    if mode in ("linear", "bilinear", "trilinear", "bicubic"):
        want = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}[mode]
        if n != want:
            raise ValueError(f"interpolate: mode {mode!r} expects {want + 2}-D input, got {input.dim()}-D")
        if antialias and mode not in ("bilinear", "bicubic"):
            raise ValueError(f"interpolate: anti-alias option is restricted to bilinear and bicubic modes, got {mode!r}")
        ac = bool(align_corners)
        if antialias:
            weights = _functools.partial(_antialias_weights, cubic=mode == "bicubic")
        else:
            weights = _cubic_weights if mode == "bicubic" else _linear_weights
        mats = [_const(weights(si, oi, ac, sc).astype(input._data.dtype), input) for si, oi, sc in zip(S, out, scales)]
        src = _SP[n]
        dst = {1: "W", 2: "HW", 3: "DHW"}[n]
        eq = f"bc{src}," + ",".join(f"{o}{s}" for o, s in zip(dst, src)) + f"->bc{dst}"
        return _contract(eq, input, *mats)
    raise NotImplementedError(
        f"interpolate: mode {mode!r} is not supported; use 'nearest', 'linear', 'bilinear', 'bicubic' or 'trilinear'"
    )


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C·kh·kw, L), a ``Window`` view permuted ``'bchwkl->bcklhw'`` and flattened.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.unfold(ef.ones(1, 2, 4, 4), 3).shape
    einframe.Size([1, 18, 4])
    """
    x, batched = _batched(input, 2, "unfold")
    k = _ntuple(kernel_size, 2, "kernel_size", "unfold")
    d = _ntuple(dilation, 2, "dilation", "unfold")
    p = _ntuple(padding, 2, "padding", "unfold")
    s = _ntuple(stride, 2, "stride", "unfold")
    x = _pad_spatial(x, tuple((a, a) for a in p))
    win = _Window(k, s, d)(x)
    B, C, oh, ow = win.shape[:4]
    y = _contract("bchwkl->bcklhw", win).reshape(B, C * k[0] * k[1], oh * ow)
    return y if batched else y.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im: (N, C·kh·kw, L) -> (N, C, H, W), summing overlapping values (``Fold``, the adjoint of ``unfold``).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.fold(ef.ones(1, 4, 4), (3, 3), 2)[0, 0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    size = _ntuple(output_size, 2, "output_size", "fold")
    k = _ntuple(kernel_size, 2, "kernel_size", "fold")
    d = _ntuple(dilation, 2, "dilation", "fold")
    p = _ntuple(padding, 2, "padding", "fold")
    s = _ntuple(stride, 2, "stride", "fold")
    B, CK, L = x.shape
    padded = tuple(a + 2 * b for a, b in zip(size, p))
    O = tuple(_wout(a, kk, ss, dd) for a, kk, ss, dd in zip(padded, k, s, d))  # noqa: E741
    if CK % (k[0] * k[1]) or O[0] * O[1] != L:
        raise RuntimeError(f"fold: expected input of shape (N, C*{k[0]}*{k[1]}, {O[0] * O[1]}), got {tuple(x.shape)}")
    C = CK // (k[0] * k[1])
    w = _contract("bcklhw->bchwkl", x.reshape(B, C, k[0], k[1], O[0], O[1]))
    y = _Fold(padded, k, s, d)(w)
    if any(p):
        y = _vw.Index((slice(None), slice(None), slice(p[0], p[0] + size[0]), slice(p[1], p[1] + size[1])))(y)
    return y if batched else y.squeeze(0)


# ------------------------------------------------------------------------------------------------
# losses


def _reduce(loss: Tensor, reduction: str, fn: str, size_average=None, reduce=None) -> Tensor:
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{fn}: {reduction!r} is not a valid value for reduction; use 'none', 'mean' or 'sum'")


def _same_shape(input, target, fn):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{fn}: expected target of the input's shape {list(input.shape)}, got {list(target.shape)}")


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Mean absolute error ``|x - y|``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.l1_loss(ef.tensor([1.0, 2.0]), ef.tensor([2.0, 4.0])).item()
    1.5
    """
    return _reduce(_ef.abs(input - target), reduction, "l1_loss", size_average, reduce)


def smooth_l1_loss(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0
) -> Tensor:
    """``0.5 d²/beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.smooth_l1_loss(ef.tensor([0.0, 0.0]), ef.tensor([0.5, 3.0]), reduction="none").tolist()
    [0.125, 2.5]
    """
    d = _ef.abs(input - target)
    if beta == 0:
        return _reduce(d, reduction, "smooth_l1_loss", size_average, reduce)
    return _reduce(_ef.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta), reduction, "smooth_l1_loss", size_average, reduce)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """``0.5 d²`` where ``|d| < delta``, else ``delta (|d| - 0.5 delta)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.huber_loss(ef.tensor([0.0, 0.0]), ef.tensor([0.5, 3.0]), reduction="none", delta=2.0).tolist()
    [0.125, 4.0]
    """
    d = _ef.abs(input - target)
    return _reduce(_ef.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta), reduction, "huber_loss")


def _class_dim_picks(input: Tensor, target: Tensor, ignore_index: int, fn: str):
    """``input[n, target[n], ...]`` (a gather) and the mask of non-ignored targets."""
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(
            f"{fn}: expected target of class indices (Long), got {target.dtype}; pass probabilities as a float tensor of the input's shape"
        )
    if input.dim() < 1 or (input.dim() == 1 and target.dim() != 0) or (input.dim() > 1 and (target.dim() != input.dim() - 1)):
        raise ValueError(
            f"{fn}: expected input (N, C, ...) and target (N, ...), got input {list(input.shape)} and target {list(target.shape)}"
        )
    if input.dim() == 1:
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    C = input.shape[1]
    t = target._data
    valid = t != ignore_index
    if valid.any() and (int(t[valid].min()) < 0 or int(t[valid].max()) >= C):
        raise IndexError(
            f"{fn}: target values must be in [0, {C}) or ignore_index={ignore_index}, got [{int(t[valid].min())}, {int(t[valid].max())}]"
        )
    xp = input._device.xp
    safe = xp.where(valid, t, 0)
    picked = _ef.gather(input, 1, Tensor._wrap(safe[:, None], input._device)).squeeze(1)
    return picked, valid, safe


def nll_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None, ignore_index: int = -100,
    reduce=None, reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """Negative log-likelihood of class indices: ``-w[y]·input[n, y]``; 'mean' divides by ``Σ w[y]`` (PyTorch).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.nll_loss(ef.tensor([[-1.0, -2.0], [-3.0, -4.0]]), ef.tensor([1, 0])).item()
    2.5
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    unbatched = input.dim() == 1
    picked, valid, safe = _class_dim_picks(input, target, ignore_index, "nll_loss")
    if weight is not None:
        w = weight._data[safe] * valid
    else:
        w = valid.astype(input._data.dtype)
    wt = _const(w.astype(input._data.dtype), input)
    loss = -picked * wt
    if unbatched:
        loss, wt = loss.squeeze(0), wt.squeeze(0)
    if reduction == "mean":
        return loss.sum() / wt.sum()
    return _reduce(loss, reduction, "nll_loss")


def cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None, ignore_index: int = -100,
    reduce=None, reduction: str = "mean", label_smoothing: float = 0.0,
) -> Tensor:  # fmt: skip
    """``nll_loss(log_softmax(input, 1), target)`` for class indices, or ``-Σ_c p_c log_softmax_c`` for
    probabilities (a float target of the input's shape); ``label_smoothing`` mixes in the uniform
    distribution, with PyTorch's exact weighting and normalisation.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.cross_entropy(ef.tensor([[1.0, 2.0, 3.0]]), ef.tensor([2])).item(), 4)
    0.4076
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    cdim = 0 if input.dim() == 1 else 1
    logp = _ef.log_softmax(input, cdim)
    C = input.shape[cdim]
    wshape = [1] * input.dim()
    wshape[cdim] = C
    if target._data.dtype.kind == "f":  # class probabilities
        _same_shape(input, target, "cross_entropy")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / C
        prod = logp * target
        if weight is not None:
            prod = prod * weight.reshape(wshape)
        loss = -prod.sum(cdim)
        if reduction == "mean":
            return loss.sum() * (1.0 / (input.numel() // C)) if input.numel() else loss.sum()
        return _reduce(loss, reduction, "cross_entropy")
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0:
        return nll
    valid = _const(target._data != ignore_index, input)
    smooth = -(logp * weight.reshape(wshape)).sum(cdim) if weight is not None else -logp.sum(cdim)
    smooth = _ef.where(valid, smooth, _ef.zeros_like(smooth))
    if reduction == "mean":
        if weight is not None:
            safe = _const(_np.where(_np.asarray(valid.numpy()), target.numpy(), 0), input)
            denom = _ef.where(valid, _ef.index_select(weight, 0, safe.flatten()).reshape(tuple(target.shape)), 0.0).sum()
        else:
            denom = valid.sum()
        ret = smooth.sum() / denom
    else:
        ret = _reduce(smooth, reduction, "cross_entropy")
    return nll * (1 - label_smoothing) + ret * (label_smoothing / C)


def binary_cross_entropy(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``-w (y log x + (1-y) log(1-x))`` with each log clamped at -100 (as PyTorch).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.binary_cross_entropy(ef.tensor([0.5, 0.9]), ef.tensor([1.0, 1.0])).item(), 4)
    0.3993
    """
    _same_shape(input, target, "binary_cross_entropy")
    if input.numel() and (float(input._data.min()) < 0 or float(input._data.max()) > 1):
        raise RuntimeError(
            "binary_cross_entropy: all elements of input should be between 0 and 1; use binary_cross_entropy_with_logits for logits"
        )
    loss = -(target * _ef.log(input).clamp(min=-100.0) + (1 - target) * _ef.log(1 - input).clamp(min=-100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy", size_average, reduce)


def binary_cross_entropy_with_logits(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None, reduce=None,
    reduction: str = "mean", pos_weight: Tensor | None = None,
) -> Tensor:  # fmt: skip
    """``(1-y)·x - (1 + (pos_weight-1)·y)·logsigmoid(x)``, overflow-free.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.binary_cross_entropy_with_logits(ef.tensor([0.0, 2.0]), ef.tensor([1.0, 0.0])).item(), 4)
    1.41
    """
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    ls = _log_sigmoid(input)
    if pos_weight is not None:
        loss = (1 - target) * input - (target * (pos_weight - 1) + 1) * ls
    else:
        loss = (1 - target) * input - ls
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits", size_average, reduce)


def kl_div(
    input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False
) -> Tensor:
    """Pointwise ``target · (log target - input)`` (input holds log-probabilities); 'batchmean' divides by N.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.kl_div(ef.tensor([0.0, 0.0]), ef.tensor([1.0, 0.0]), reduction="sum").item()
    0.0
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if log_target:
        loss = _ef.exp(target) * (target - input)
    else:
        pos = target > 0
        safe = _ef.where(pos, target, _ef.ones_like(target))
        loss = _ef.where(pos, target * _ef.log(safe), _ef.zeros_like(target)) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() else 1)
    return _reduce(loss, reduction, "kl_div")


__all__ += [  # noqa: PLE0605 - the layer catalogue (issue 5), appended to the core functions above
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "max_pool1d", "max_pool2d",
    "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool2d", "adaptive_avg_pool3d", "adaptive_max_pool2d",
    "adaptive_max_pool3d", "batch_norm", "layer_norm", "group_norm", "normalize",
    "dropout", "dropout2d", "embedding", "one_hot", "leaky_relu", "elu", "gelu", "silu", "logsigmoid", "softplus",
    "hardtanh", "relu6", "softmax", "log_softmax", "sigmoid", "tanh", "bilinear", "scaled_dot_product_attention",
    "multi_head_attention_forward", "pad", "interpolate", "unfold", "fold", "l1_loss", "smooth_l1_loss", "huber_loss",
    "nll_loss", "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
]  # fmt: skip

# ---- further families, one file each (re-exported so that ``F.<name>`` works) ------------------
from . import _functional_extra_activation as _fea  # noqa: E402
from . import _functional_extra_loss as _fel  # noqa: E402
from . import _functional_extra_norm as _fen  # noqa: E402
from . import _functional_recurrent as _fr  # noqa: E402

for _family in (_fea, _fel, _fen, _fr):
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)  # noqa: PLE0605
del _family
