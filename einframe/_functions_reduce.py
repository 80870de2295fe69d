"""``ef.*`` functions and ``Tensor`` methods: reductions and scans: prod, cumulative ops, order statistics, distances.

Wired by :mod:`einframe._functions`: every name in ``__all__`` becomes ``ef.<name>``, and every entry
of ``METHODS`` (method name -> function taking the tensor first) a ``Tensor`` method.

Nothing here has a derivative rule; everything is composed from the primitives:

* ``cumsum`` is a contraction with a triangular ones matrix (``'aib,ij->ajb'``), blocked for long
  dims (within-block triangle, then the block totals' cumsum, recursively) so memory stays
  O(n * block);
* ``cumprod`` and ``logcumsumexp`` are work-efficient log-depth scans of strided slices (``Index``,
  ``Pad``, ``Cat``) combined with ``Mul`` / a stable logaddexp: exact with zeros, O(n) work;
* ``prod`` is a pairwise tree of multiplications (exact with zeros);
* order statistics (median, quantile, mode, cummax, ...) find their indices on the raw data (sort)
  and gather there, so the gradient flows to the picked elements.
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np
from opt_einsum import get_symbol

from . import dtypes as _dt
from ._functions import (
    _axes,
    _cast,
    _inplace,
    _nonempty,
    _operands,
    amax,
    amin,
    exp,
    gather,
    log,
    mean,
    sqrt,
    sum,
    tensor,
    var,
)
from .ops import contract as _c
from .ops import pointwise as _p
from .ops import view as _v
from .tensor import Tensor

__all__ = [
    "prod", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "median", "nanmedian", "mode", "quantile",
    "nanquantile", "nansum", "nanmean", "std_mean", "var_mean", "count_nonzero", "aminmax", "dist", "cdist",
    "renorm", "cov", "corrcoef", "trapezoid", "trapz", "cumulative_trapezoid", "histogram",
]  # fmt: skip

# PyTorch's return types (torch.return_types.<name>)
CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])
NanmedianResult = namedtuple("nanmedian", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])
HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])

#: block length of the blocked cumsum: dims up to this use one triangular contraction
CUMSUM_BLOCK = 256


# ------------------------------------------------------------------------------------------------
# helpers


def _const(x: Tensor, arr) -> Tensor:
    """A constant tensor (no gradient) on ``x``'s device."""
    return Tensor._wrap(x._device.xp.asarray(arr), x._device)


def _key(d: int, k) -> tuple:
    return (slice(None),) * d + (k,)


def _pads(ndim: int, d: int, before: int, after: int) -> tuple:
    return tuple((before, after) if i == d else (0, 0) for i in range(ndim))


def _shift(x: Tensor, d: int, s: int, fill: float) -> Tensor:
    """``x`` moved ``s`` places forward along ``d``; the first ``s`` entries are ``fill``."""
    n = x._data.shape[d]
    return _v.Pad(_pads(x._data.ndim, d, s, 0), fill)(_v.Index(_key(d, slice(0, n - s)))(x))


def _scan(x: Tensor, d: int, combine, fill: float) -> Tensor:
    """Inclusive scan along ``d`` of an associative ``combine(earlier, later)`` with identity ``fill``.

    Work-efficient (Blelloch-style, O(n) work, log2(n) levels): combine adjacent pairs, scan the
    half-length result recursively, then each even position is its left neighbour's prefix combined
    with itself. Every step is a slice / pad / cat / reshape / ``combine``, so gradients of any
    order come from those primitives."""
    shape = x._data.shape
    n = shape[d]
    if n <= 1:
        return x
    if n % 2:
        x = _v.Pad(_pads(len(shape), d, 0, 1), fill)(x)
    m = (n + 1) // 2
    even = _v.Index(_key(d, slice(0, 2 * m, 2)))(x)
    odd = _v.Index(_key(d, slice(1, 2 * m, 2)))(x)
    p = _scan(combine(even, odd), d, combine, fill)  # p[k] = x[0] ... x[2k+1]
    e = combine(_shift(p, d, 1, fill), even)  # prefix up to 2k
    split = shape[:d] + (m, 1) + shape[d + 1 :]
    out = _v.Cat(d + 1)(_v.Reshape(split)(e), _v.Reshape(split)(p))
    out = _v.Reshape(shape[:d] + (2 * m,) + shape[d + 1 :])(out)
    return out if 2 * m == n else _v.Index(_key(d, slice(0, n)))(out)


def _scalar_dim(fn):
    """Run ``fn(x, 0, ...)`` on a 0-d tensor as a 1-element vector (PyTorch accepts dim 0/-1 there)."""

    def run(x: Tensor, dim, *args, **kw):
        if x._data.ndim == 0:
            x._dim(dim)  # range check
            r = fn(_v.Reshape((1,))(x), 0, *args, **kw)
            if isinstance(r, tuple):
                return type(r)(*(_v.Reshape(())(t) for t in r))
            return _v.Reshape(())(r)
        return fn(x, x._dim(dim), *args, **kw)

    return run


def _int_accumulate(x: Tensor, dtype) -> Tensor:
    """PyTorch's accumulation dtype: ``dtype`` if given, int64 for bool/integer inputs."""
    if dtype is not None:
        return x.to(dtype)
    if x._data.dtype.kind in "biu" and x._data.dtype != np.int64:
        return _cast(x, np.dtype(np.int64))
    return x


def _require_float(x: Tensor, name: str) -> None:
    if x._data.dtype.kind != "f":
        raise RuntimeError(f"\"{name}\" not implemented for '{x.dtype.name}': expected a floating point input")


# ------------------------------------------------------------------------------------------------
# prod and the scans


def _prod_along(x: Tensor, d: int) -> Tensor:
    """Product along ``d`` (the dim kept with size 1): a pairwise tree of multiplications."""
    n = x._data.shape[d]
    if n == 0:
        return sum(x, d, keepdim=True) * 0 + 1
    while n > 1:
        if n % 2:
            x = _v.Pad(_pads(x._data.ndim, d, 0, 1), 1.0)(x)
            n += 1
        x = _v.Index(_key(d, slice(0, n, 2)))(x) * _v.Index(_key(d, slice(1, n, 2)))(x)
        n //= 2
    return x


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of the elements (over ``dim``, or all): a pairwise tree of multiplications, so zeros
    are exact and gradients of any order work. Bool/integer inputs give int64 (as PyTorch).

    >>> import einframe as ef
    >>> ef.prod(ef.tensor([[1., 2.], [3., 4.]]), 1)
    tensor([ 2., 12.])
    """
    x = _int_accumulate(input, dtype)
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    if x._data.dtype.kind != "f":  # no gradient: the raw product
        xp = x._device.xp
        axis = None if dim is None else x._dim(dim)
        r = xp.asarray(xp.prod(x._data, axis=axis, keepdims=keepdim and dim is not None))
        if dim is None and keepdim:
            r = r.reshape((1,) * x._data.ndim)
        return Tensor._wrap(r, x._device)
    if dim is None:
        r = _prod_along(_v.Reshape((-1,) if x._data.ndim else (1,))(x) if x._data.ndim != 1 else x, 0)
        return _v.Reshape((1,) * x._data.ndim if keepdim else ())(r)
    if x._data.ndim == 0:
        x._dim(dim)
        return x
    d = x._dim(dim)
    r = _prod_along(x, d)
    if keepdim:
        return r
    return _v.Reshape(tuple(n for i, n in enumerate(r._data.shape) if i != d))(r)


def _tri_cumsum(x: Tensor, d: int) -> Tensor:
    """Cumsum along ``d`` as one contraction with an upper-triangular ones matrix."""
    n = x._data.shape[d]
    xp = x._device.xp
    tri = _const(x, xp.triu(xp.ones((n, n), dtype=x._data.dtype)))
    nd = x._data.ndim
    labels = [get_symbol(k) for k in range(nd)]
    i, j = get_symbol(nd), get_symbol(nd + 1)
    a = labels.copy()
    a[d] = i
    o = labels.copy()
    o[d] = j
    return _c.contract(f"{''.join(a)},{i}{j}->{''.join(o)}", x, tri)


def _cumsum_float(x: Tensor, d: int, block: int) -> Tensor:
    shape = x._data.shape
    n = shape[d]
    if n <= block:
        return _tri_cumsum(x, d)
    nb = -(-n // block)
    if nb * block != n:
        x = _v.Pad(_pads(len(shape), d, 0, nb * block - n), 0.0)(x)
    xb = _v.Reshape(shape[:d] + (nb, block) + shape[d + 1 :])(x)
    inner = _tri_cumsum(xb, d + 1)  # cumsum within each block
    totals = _v.Index(_key(d + 1, block - 1))(inner)  # (..., nb, ...)
    offsets = _shift(_cumsum_float(totals, d, block), d, 1, 0.0)  # exclusive cumsum of the block totals
    out = inner + _v.Reshape(shape[:d] + (nb, 1) + shape[d + 1 :])(offsets)
    out = _v.Reshape(shape[:d] + (nb * block,) + shape[d + 1 :])(out)
    return out if nb * block == n else _v.Index(_key(d, slice(0, n)))(out)


def _cumsum(x: Tensor, d: int, *, dtype=None) -> Tensor:
    x = _int_accumulate(x, dtype)
    if x._data.dtype.kind != "f":
        xp = x._device.xp
        return Tensor._wrap(xp.cumsum(x._data, axis=d, dtype=x._data.dtype), x._device)
    return _cumsum_float(x, d, CUMSUM_BLOCK)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative sum along ``dim``: a contraction with a triangular ones matrix (``'...i,ij->...j'``),
    blocked for long dims (memory O(n * 256)). Bool/integer inputs give int64.

    >>> import einframe as ef
    >>> ef.cumsum(ef.tensor([1., 2., 3.]), 0)
    tensor([1., 3., 6.])
    """
    return _scalar_dim(_cumsum)(input, dim, dtype=dtype)


def _cumprod(x: Tensor, d: int, *, dtype=None) -> Tensor:
    x = _int_accumulate(x, dtype)
    if x._data.dtype.kind != "f":
        xp = x._device.xp
        return Tensor._wrap(xp.cumprod(x._data, axis=d, dtype=x._data.dtype), x._device)
    return _scan(x, d, lambda a, b: a * b, 1.0)


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative product along ``dim``: a log-depth scan of multiplications (exact with zeros,
    differentiable to any order). Bool/integer inputs give int64.

    >>> import einframe as ef
    >>> ef.cumprod(ef.tensor([2., 0., 3.]), 0)
    tensor([2., 0., 0.])
    """
    return _scalar_dim(_cumprod)(input, dim, dtype=dtype)


def _logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """``log(exp(a) + exp(b))``, stabilised by the (constant) larger operand; -inf + -inf = -inf."""
    xp = a._device.xp
    m = xp.maximum(a._data, b._data)
    m = xp.where(xp.isfinite(m), m, 0).astype(a._data.dtype, copy=False)
    mt = _const(a, m)
    s = exp(a - mt) + exp(b - mt)
    zero = s._data == 0
    if not zero.any():
        return log(s) + mt
    return _p.Where(zero)(-math.inf, log(_p.Where(zero)(1.0, s)) + mt)


def _logcumsumexp(x: Tensor, d: int) -> Tensor:
    _require_float(x, "logcumsumexp")
    return _scan(x, d, _logaddexp, -math.inf)


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """``log(cumsum(exp(x)))`` along ``dim``, computed stably (a log-depth scan of logaddexp).

    >>> import einframe as ef
    >>> ef.logcumsumexp(ef.tensor([0., 0.]), 0)
    tensor([0.0000, 0.6931])
    """
    return _scalar_dim(_logcumsumexp)(input, dim)


def _cum_extreme(x: Tensor, d: int, op: str):
    """cummax/cummin: indices on the raw data (a later tie wins, NaN propagates), values gathered."""
    xp = x._device.xp
    a = x._data
    n = a.shape[d]
    if n == 0:
        return x, Tensor._wrap(xp.zeros(a.shape, dtype=np.int64), x._device)
    run = (xp.maximum if op == "max" else xp.minimum).accumulate(a, axis=d)
    hit = a == run
    if a.dtype.kind == "f":
        hit |= xp.isnan(a)
    pos = xp.arange(n).reshape(tuple(n if i == d else 1 for i in range(a.ndim)))
    idx = xp.maximum.accumulate(xp.where(hit, pos, 0), axis=d).astype(np.int64)
    values = gather(x, d, idx)
    cls = CummaxResult if op == "max" else CumminResult
    return cls(values, Tensor._wrap(idx, x._device))


def cummax(input: Tensor, dim: int):
    """Running maximum along ``dim`` -> ``(values, indices)``; NaN propagates, the gradient goes to the
    element each running maximum came from.

    >>> import einframe as ef
    >>> r = ef.cummax(ef.tensor([1.0, 3.0, 2.0, 3.0]), 0)
    >>> r.values.tolist(), r.indices.tolist()
    ([1.0, 3.0, 3.0, 3.0], [0, 1, 1, 3])
    """
    return _scalar_dim(lambda x, d: _cum_extreme(x, d, "max"))(input, dim)


def cummin(input: Tensor, dim: int):
    """Running minimum along ``dim`` -> ``(values, indices)``.

    >>> import einframe as ef
    >>> r = ef.cummin(ef.tensor([3.0, 1.0, 2.0, 1.0]), 0)
    >>> r.values.tolist(), r.indices.tolist()
    ([3.0, 1.0, 1.0, 1.0], [0, 1, 1, 3])
    """
    return _scalar_dim(lambda x, d: _cum_extreme(x, d, "min"))(input, dim)


def cumsum_(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    return _inplace(input, lambda s: cumsum(s, dim, dtype=dtype))


def cumprod_(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    return _inplace(input, lambda s: cumprod(s, dim, dtype=dtype))


# ------------------------------------------------------------------------------------------------
# median, mode, quantile


def _median_index(a, d: int, ignore_nan: bool, xp):
    """Index (keepdim) of the lower median along ``d`` of the raw array ``a``."""
    n = a.shape[d]
    order = xp.argsort(a, axis=d, kind="stable")  # NaNs last, in their original order
    if a.dtype.kind == "f":
        nans = xp.isnan(a).sum(axis=d, keepdims=True)
    else:
        nans = xp.zeros(tuple(1 if i == d else s for i, s in enumerate(a.shape)), dtype=np.int64)
    if ignore_nan:
        k = n - nans
        pos = xp.where(k > 0, (k - 1) // 2, 0)
    else:
        pos = xp.where(nans > 0, n - nans, (n - 1) // 2)  # the first NaN, as PyTorch
    return xp.take_along_axis(order, pos.astype(np.int64), axis=d)


def _median_all(x: Tensor, ignore_nan: bool) -> Tensor:
    """Median of all elements; tied medians share the gradient evenly (as PyTorch)."""
    flat = _v.Reshape((-1,))(x)
    a = flat._data
    xp = x._device.xp
    if a.size == 0:
        return Tensor._wrap(xp.asarray(np.nan, dtype=a.dtype), x._device)
    i = _median_index(a, 0, ignore_nan, xp)
    v = a[i[0]]
    if a.dtype.kind == "f" and xp.isnan(v):
        return _v.Index((int(i[0]),))(flat)
    ties = xp.nonzero(a == v)[0]
    return amax(_v.Index((ties,))(flat))


def _median_dim(x: Tensor, d: int, keepdim: bool, ignore_nan: bool, cls):
    if x._data.shape[d] == 0:
        raise IndexError(f"{cls.__name__}(): Expected reduction dim {d} to have non-zero size.")
    idx = _median_index(x._data, d, ignore_nan, x._device.xp)
    values = gather(x, d, idx)
    idx = Tensor._wrap(idx, x._device)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return cls(values, idx)


def median(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median: of all elements (a tensor), or along ``dim`` -> ``(values, indices)``.
    NaN propagates (``nanmedian`` ignores it).

    >>> import einframe as ef
    >>> ef.median(ef.tensor([4., 1., 3., 2.]))
    tensor(2.)
    """
    if dim is None:
        return _median_all(input, False)
    return _scalar_dim(lambda x, d: _median_dim(x, d, keepdim, False, MedianResult))(input, dim)


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """``median`` ignoring NaNs (NaN only where every element is NaN).

    >>> import einframe as ef
    >>> r = ef.nanmedian(ef.tensor([[1.0, float('nan'), 3.0], [4.0, 6.0, 5.0]]), 1)
    >>> r.values.tolist(), r.indices.tolist()
    ([1.0, 5.0], [0, 2])
    """
    if dim is None:
        return _median_all(input, True)
    return _scalar_dim(lambda x, d: _median_dim(x, d, keepdim, True, NanmedianResult))(input, dim)


def _mode(x: Tensor, d: int, keepdim: bool):
    xp = x._device.xp
    a = xp.moveaxis(x._data, d, -1)
    n = a.shape[-1]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    s = xp.sort(a, axis=-1)
    start = xp.ones(s.shape, dtype=bool)
    start[..., 1:] = s[..., 1:] != s[..., :-1]
    pos = xp.arange(n)
    first = xp.maximum.accumulate(xp.where(start, pos, 0), axis=-1)
    count = pos - first + 1
    best = xp.argmax(count, axis=-1)[..., None]  # the smallest of the most frequent values
    v = xp.take_along_axis(s, best, axis=-1)
    eq = (a == v) | (xp.isnan(a) & xp.isnan(v)) if a.dtype.kind == "f" else a == v
    last = (n - 1 - xp.argmax(eq[..., ::-1], axis=-1)).astype(np.int64)  # its last occurrence (as PyTorch)
    idx = xp.expand_dims(last, d)
    values = gather(x, d, idx)
    idx = Tensor._wrap(idx, x._device)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return ModeResult(values, idx)


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """The most frequent value along ``dim`` (the smallest on ties) -> ``(values, indices)``.

    >>> import einframe as ef
    >>> r = ef.mode(ef.tensor([[1, 2, 2, 3, 3], [4, 4, 1, 1, 0]]))
    >>> r.values.tolist(), r.indices.tolist()
    ([2, 1], [2, 3])
    """
    return _scalar_dim(_mode)(input, dim, keepdim)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input: Tensor, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool, name: str) -> Tensor:
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{name}() interpolation must be one of linear, lower, higher, midpoint or nearest. Got {interpolation}")
    xp = input._device.xp
    dt = input._data.dtype
    if isinstance(q, Tensor):
        if q._data.dtype != dt:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        if q._data.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        scalar_q = q._data.ndim == 0
        qa = xp.asarray(q._data, dtype=dt).reshape(-1)
    else:
        scalar_q = not isinstance(q, (list, tuple))
        qa = xp.asarray(q, dtype=dt).reshape(-1)
    if qa.size == 0:
        raise RuntimeError(f"{name}() q must be a non-empty tensor")
    if ((qa < 0) | (qa > 1)).any():
        bad = qa[(qa < 0) | (qa > 1)][0]
        raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {float(bad)}")
    if input._data.size == 0:
        raise IndexError(f"{name}() input tensor must be non-empty")

    # work on x of shape (..., n): the reduced dim last
    if dim is None:
        x = _v.Reshape((-1,))(input)
        out_shape = (1,) * input._data.ndim if keepdim else ()
    else:
        d = input._dim(dim)
        if input._data.ndim == 0:
            x = _v.Reshape((1,))(input)
            out_shape = ()
        else:
            perm = tuple(i for i in range(input._data.ndim) if i != d) + (d,)
            x = input.permute(perm) if d != input._data.ndim - 1 else input
            shape = input._data.shape
            out_shape = tuple(1 if i == d else s for i, s in enumerate(shape)) if keepdim else shape[:d] + shape[d + 1 :]
    a = x._data
    n = a.shape[-1]
    order = xp.argsort(a, axis=-1, kind="stable")  # NaNs last
    nans = xp.isnan(a).sum(axis=-1, keepdims=True)  # (..., 1)
    k = (n - nans) if ignore_nan else xp.full(nans.shape, n)
    rank = qa * (k - 1).astype(dt)  # (..., Q)
    if interpolation == "nearest":
        rank = xp.round(rank)  # half to even, as PyTorch
    lo = xp.floor(rank).astype(np.int64)
    hi = xp.ceil(rank).astype(np.int64)
    if interpolation == "lower":
        hi = lo
    elif interpolation == "higher":
        lo = hi
    elif interpolation == "nearest":
        hi = lo
    bad = (nans > 0) if not ignore_nan else (k == 0)  # rows whose result is NaN: point at a NaN
    lo = xp.where(bad, n - 1, xp.clip(lo, 0, n - 1))
    hi = xp.where(bad, n - 1, xp.clip(hi, 0, n - 1))
    v_lo = gather(x, -1, xp.take_along_axis(order, lo, axis=-1))
    if interpolation in ("lower", "higher", "nearest"):
        r = v_lo
    else:
        v_hi = gather(x, -1, xp.take_along_axis(order, hi, axis=-1))
        w = xp.full(rank.shape, 0.5, dtype=dt) if interpolation == "midpoint" else (rank - xp.floor(rank)).astype(dt)
        wt = _const(input, w)
        # torch.lerp's two-sided formula
        diff = v_hi - v_lo
        r = _p.Where(w < 0.5)(v_lo + wt * diff, v_hi - diff * _const(input, (1 - w).astype(dt)))
    # r: (..., Q) -> (Q, *out_shape)
    nq = qa.size
    if r._data.ndim > 1:
        r = r.permute((r._data.ndim - 1,) + tuple(range(r._data.ndim - 1)))
    r = _v.Reshape((nq,) + out_shape)(r)
    return _v.Reshape(out_shape)(r) if scalar_q else r


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (a number or 1-D tensor in [0, 1]) over ``dim`` (all elements by default);
    a 1-D ``q`` adds a leading dim. NaN propagates (``nanquantile`` ignores it). The values are
    gathered from a sort of the data and interpolated, so the gradient flows to the picked elements.

    >>> import einframe as ef
    >>> ef.quantile(ef.tensor([0., 1., 2., 3.]), 0.5)
    tensor(1.5000)
    """
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear") -> Tensor:
    """``quantile`` ignoring NaNs (NaN only where every element is NaN).

    >>> import einframe as ef
    >>> ef.nanquantile(ef.tensor([0.0, float('nan'), 1.0, 2.0]), ef.tensor([0.25, 0.5])).tolist()
    [0.5, 1.0]
    """
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


# ------------------------------------------------------------------------------------------------
# NaN-aware and paired reductions


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``sum`` treating NaN as zero (NaN entries get a zero gradient).

    >>> import einframe as ef
    >>> ef.nansum(ef.tensor([1.0, float('nan'), 2.0])).item()
    3.0
    """
    if input._data.dtype.kind == "f":
        nan = input._device.xp.isnan(input._data)
        if nan.any():
            input = _p.Where(nan)(0.0, input)
    return sum(input, dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``mean`` over the non-NaN elements (NaN where there are none).

    >>> import einframe as ef
    >>> ef.nanmean(ef.tensor([1.0, float('nan'), 2.0])).item()
    1.5
    """
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got {input.dtype.name}")
    xp = input._device.xp
    axes = _axes(input, dim)
    count = (~xp.isnan(input._data)).sum(axis=axes, keepdims=keepdim).astype(input._data.dtype)
    return nansum(input, dim, keepdim) / _const(input, count)


def var_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim`` in one call (a plain tuple, as PyTorch).

    >>> import einframe as ef
    >>> v, m = ef.var_mean(ef.tensor([0.0, 2.0, 4.0]))
    >>> v.item(), m.item()
    (4.0, 2.0)
    """
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, dim, keepdim)


def std_mean(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim`` in one call.

    >>> import einframe as ef
    >>> s, m = ef.std_mean(ef.tensor([0.0, 2.0, 4.0]))
    >>> s.item(), m.item()
    (2.0, 2.0)
    """
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return sqrt(v), m


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of nonzero elements (over ``dim``: int or tuple), as int64.

    >>> import einframe as ef
    >>> ef.count_nonzero(ef.tensor([[0, 1, 2], [0, 0, 3]]), dim=1).tolist()
    [2, 1]
    """
    axes = _axes(input, dim)
    xp = input._device.xp
    return Tensor._wrap(xp.asarray(xp.count_nonzero(input._data, axis=axes)).astype(np.int64), input._device)


def aminmax(input: Tensor, *, dim=None, keepdim: bool = False):
    """``(min, max)`` over ``dim`` (all elements by default); ties share the gradient evenly.

    >>> import einframe as ef
    >>> r = ef.aminmax(ef.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=0)
    >>> r.min.tolist(), r.max.tolist()
    ([1.0, 2.0], [3.0, 5.0])
    """
    _nonempty(input, "aminmax")
    if dim is not None and not isinstance(dim, int):
        raise TypeError(f"aminmax(): argument 'dim' must be int, not {type(dim).__name__}")
    return AminmaxResult(amin(input, dim, keepdim), amax(input, dim, keepdim))


# ------------------------------------------------------------------------------------------------
# distances and norms


def _safe_root(s: Tensor, p: float) -> Tensor:
    """``s ** (1/p)`` for ``s >= 0`` with a zero gradient (not NaN) where ``s == 0``."""
    zero = s._data <= 0
    if not zero.any():
        return sqrt(s) if p == 2 else s ** (1.0 / p)
    safe = _p.Where(zero)(1.0, s)
    return _p.Where(zero)(0.0, sqrt(safe) if p == 2 else safe ** (1.0 / p))


def _pnorm(d: Tensor, axes, keepdim: bool, p: float) -> Tensor:
    """The vector p-norm of ``d`` over ``axes``; gradient 0 at a zero vector (as PyTorch's dist/cdist)."""
    if p == 0:
        return sum(_p.Sign()(d).abs(), axes, keepdim)  # the count of nonzeros, gradient zero
    if p == math.inf:
        return amax(d.abs(), axes, keepdim)
    if p == -math.inf:
        return amin(d.abs(), axes, keepdim)
    if p == 1:
        return sum(d.abs(), axes, keepdim)
    if p == 2:
        return _safe_root(sum(d * d, axes, keepdim), 2)
    return _safe_root(sum(d.abs() ** p, axes, keepdim), p)


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The p-norm of ``input - other`` (broadcast), over all elements.

    >>> import einframe as ef
    >>> ef.dist(ef.tensor([0.0, 0.0]), ef.tensor([3.0, 4.0])).item()
    5.0
    """
    a, b = _operands(input, other)
    d = a - b
    if d._data.dtype.kind != "f":
        raise RuntimeError(f"dist(): expected a floating point input, got {d.dtype.name}")
    return _pnorm(d, tuple(range(d._data.ndim)), False, float(p))


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Pairwise p-norm distances between the rows of ``x1`` (..., P, M) and ``x2`` (..., R, M) ->
    (..., P, R). ``compute_mode`` is accepted and ignored: for p=2 on large inputs the distances come
    from a matmul (``|a|² + |b|² - 2 a·b``); elsewhere from the broadcast differences.

    >>> import einframe as ef
    >>> ef.cdist(ef.tensor([[0.0, 0.0], [3.0, 0.0]]), ef.tensor([[3.0, 4.0], [0.0, 4.0]])).tolist()
    [[5.0, 4.0], [4.0, 5.0]]
    """
    if x1._data.ndim < 2 or x2._data.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1._data.ndim}D, X2 got: {x2._data.ndim}D")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1._data.shape[-1]} X2: {x2._data.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    a, b = _operands(x1, x2)
    if a._data.dtype.kind != "f":
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {a.dtype.name}")
    P, M = a._data.shape[-2:]
    R = b._data.shape[-2]
    batch = np.broadcast_shapes(a._data.shape[:-2], b._data.shape[:-2])
    p = float(p)
    if p == 2 and math.prod(batch) * P * R * M > (1 << 20):
        a = a.expand(*batch, P, M) if a._data.shape[:-2] != batch else a
        b = b.expand(*batch, R, M) if b._data.shape[:-2] != batch else b
        aa = _c.contract("...pm,...pm->...p", a, a)
        bb = _c.contract("...rm,...rm->...r", b, b)
        ab = _c.contract("...pm,...rm->...pr", a, b)
        d2 = aa.unsqueeze(-1) + bb.unsqueeze(-2) - 2 * ab
        return _safe_root(_p.Clamp(0, None)(d2), 2)
    d = a.unsqueeze(-2) - b.unsqueeze(-3)  # (..., P, R, M)
    return _pnorm(d, (d._data.ndim - 1,), False, p)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Scale each slice along ``dim`` whose p-norm exceeds ``maxnorm`` down to norm ``maxnorm``.

    >>> import einframe as ef
    >>> r = ef.renorm(ef.tensor([[3.0, 4.0], [0.3, 0.4]]), 2, 0, 1.0)
    >>> [[round(v, 4) for v in row] for row in r.tolist()]
    [[0.6, 0.8], [0.3, 0.4]]
    """
    if input._data.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input._data.ndim} dimensions")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported (got p={p})")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = input._dim(dim)
    axes = tuple(i for i in range(input._data.ndim) if i != d)
    norm = _pnorm(input, axes, True, float(p))
    over = norm._data > maxnorm
    factor = _p.Where(over)(maxnorm / (norm + 1e-7), 1.0)
    return input * factor


def renorm_(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    return _inplace(input, lambda s: renorm(s, p, dim, maxnorm))


# ------------------------------------------------------------------------------------------------
# covariance


def _check_cov_weights(w: Tensor, name: str, kinds: str, kind_name: str, n: int) -> None:
    if w._data.ndim > 1:
        raise RuntimeError(
            f"cov(): expected {name} to have one or fewer dimensions but got {name} with {w._data.ndim} dimensions"
        )
    if w._data.dtype.kind not in kinds:
        raise RuntimeError(f"cov(): expected {name} to have {kind_name} dtype but got {name} with {w.dtype.name} dtype")
    if w._data.size != n:
        raise RuntimeError(
            f"cov(): expected {name} to have the same numel as there are observations in the input but got {w._data.size} != {n}"
        )
    if (w._data < 0).any():
        raise RuntimeError(f"cov(): {name} cannot be negative")


def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None, aweights: Tensor | None = None) -> Tensor:
    """Covariance of the variables in the rows of ``input`` (observations in the columns), with
    optional integer frequency weights and float observation weights (as ``numpy.cov``).

    >>> import einframe as ef
    >>> ef.cov(ef.tensor([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]])).tolist()
    [[1.0, -1.0], [-1.0, 1.0]]
    """
    if input._data.ndim > 2:
        raise RuntimeError(
            f"cov(): expected input to have two or fewer dimensions but got an input with {input._data.ndim} dimensions"
        )
    x = input if input._data.dtype.kind == "f" else _cast(input, _dt.get_default_dtype().np)
    if x._data.ndim < 2:
        x = _v.Reshape((1, -1))(x)
    n = x._data.shape[1]
    w = None
    if fweights is not None:
        _check_cov_weights(fweights, "fweights", "iu", "integral", n)
        w = _cast(fweights, x._data.dtype)
    if aweights is not None:
        _check_cov_weights(aweights, "aweights", "f", "floating point", n)
        aw = _cast(aweights, x._data.dtype)
        w = aw if w is None else w * aw
    if w is None:
        avg = mean(x, 1)
        norm = n - correction
    else:
        w_sum = sum(w)
        avg = _c.contract("io,o->i", x, w) / w_sum
        if aweights is None:
            norm = w_sum - correction
        elif correction == 0:
            norm = w_sum
        else:
            norm = w_sum - correction * sum(w * aw) / w_sum
    xm = x - avg.unsqueeze(1)
    c = _c.contract("io,jo->ij", xm, xm if w is None else xm * w)
    if isinstance(norm, Tensor):
        norm = _p.Clamp(0, None)(norm)
    else:
        norm = builtins.max(norm, 0)
    c = c / norm
    return c.squeeze() if c._data.shape == (1, 1) else c


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in the rows of ``input``, clipped to [-1, 1].

    >>> import einframe as ef
    >>> c = ef.corrcoef(ef.tensor([[0.0, 1.0, 2.0], [0.0, 2.0, 4.0], [2.0, 1.0, 0.0]]))
    >>> [[round(v, 4) for v in row] for row in c.tolist()]
    [[1.0, 1.0, -1.0], [1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
    """
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    sd = sqrt(_c.contract("ii->i", c))
    c = c / sd.unsqueeze(1) / sd.unsqueeze(0)
    return _p.Clamp(-1.0, 1.0)(c)


# ------------------------------------------------------------------------------------------------
# integration


def _trapezoid_parts(y: Tensor, x, dx, d: int):
    """(spacing, y[1:] + y[:-1]) along ``d``: spacing is a number or a tensor broadcast to the pairs."""
    n = y._data.shape[d]
    pair = _v.Index(_key(d, slice(1, n)))(y) + _v.Index(_key(d, slice(0, n - 1)))(y)
    if x is None:
        return (1.0 if dx is None else dx), pair
    if dx is not None:
        raise TypeError("trapezoid() received both x and dx: pass one of them")
    if not isinstance(x, Tensor):
        x = tensor(x, dtype=y.dtype, device=y.device)
    if x._data.ndim == 1:
        if x._data.shape[0] != n:
            raise RuntimeError(f"trapezoid: There must be one `x` value for each sample point, got {x._data.shape[0]} and {n}")
        m = x._data.shape[0]
        sp = _v.Index((slice(1, m),))(x) - _v.Index((slice(0, m - 1),))(x)
        sp = _v.Reshape(tuple(n - 1 if i == d else 1 for i in range(y._data.ndim)))(sp)
    else:
        dd = d - y._data.ndim  # the same dim, counted from the end (x broadcasts against y)
        m = x._data.shape[dd]
        sp = _v.Index((Ellipsis, slice(1, m)) + (slice(None),) * (-dd - 1))(x) - _v.Index(
            (Ellipsis, slice(0, m - 1)) + (slice(None),) * (-dd - 1)
        )(x)
    return sp, pair


def _trapezoid_args(y: Tensor, x, dx, dim: int):
    """``y`` as floats, the sample points or spacing (a number ``x`` is a spacing) and the dim."""
    if isinstance(x, (int, float)) and dx is None:
        x, dx = None, x
    if y._data.dtype.kind != "f":
        y = _cast(y, _dt.get_default_dtype().np)
    return y, x, dx, y._dim(dim)


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: with sample points ``x`` (a tensor) or a constant spacing ``dx``.

    >>> import einframe as ef
    >>> ef.trapezoid(ef.tensor([1., 2., 3.]))
    tensor(4.)
    """
    y, x, dx, d = _trapezoid_args(y, x, dx, dim)
    if y._data.shape[d] == 0:
        return sum(y, d) * 0
    sp, pair = _trapezoid_parts(y, x, dx, d)
    return sum(pair * sp, d) * 0.5 if isinstance(sp, Tensor) else sum(pair, d) * (0.5 * sp)


def trapz(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """Alias of :func:`trapezoid` (``trapz(y, x, dim=-1)`` or ``trapz(y, dx=1, dim=-1)``).

    >>> import einframe as ef
    >>> ef.trapz(ef.tensor([1.0, 2.0, 3.0]), dx=2.0).item()
    8.0
    """
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element shorter than ``y``).

    >>> import einframe as ef
    >>> ef.cumulative_trapezoid(ef.tensor([1.0, 2.0, 3.0])).tolist()
    [1.5, 4.0]
    """
    y, x, dx, d = _trapezoid_args(y, x, dx, dim)
    if y._data.shape[d] == 0:
        return y
    sp, pair = _trapezoid_parts(y, x, dx, d)
    area = pair * sp * 0.5 if isinstance(sp, Tensor) else pair * (0.5 * sp)
    return _cumsum(area, d)


# ------------------------------------------------------------------------------------------------
# histogram


def histogram(input: Tensor, bins=100, *, range=None, weight: Tensor | None = None, density: bool = False):
    """``(hist, bin_edges)`` of the elements of ``input`` (no gradient): ``bins`` is a count or a 1-D
    tensor of edges, ``range=(min, max)``, optional per-element ``weight``.

    >>> import einframe as ef
    >>> r = ef.histogram(ef.tensor([1.0, 2.0, 1.0, 4.0]), bins=3, range=(0.0, 3.0))
    >>> r.hist.tolist(), r.bin_edges.tolist()
    ([0.0, 2.0, 1.0], [0.0, 1.0, 2.0, 3.0])
    """
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the same dtype, got {input.dtype.name}")
    dt = input._data.dtype
    a = np.asarray(input.detach().cpu()._data).reshape(-1)
    b = np.asarray(bins.detach().cpu()._data) if isinstance(bins, Tensor) else int(bins)
    wt = None if weight is None else np.asarray(weight.detach().cpu()._data).reshape(-1)
    if isinstance(b, int) and range is None and a.size:
        range = (float(a.min()), float(a.max()))
    h, edges = np.histogram(a, bins=b, range=range, weights=wt, density=density)
    dev = input.device
    return HistogramResult(tensor(h.astype(dt), device=dev), tensor(edges.astype(dt), device=dev))


# ------------------------------------------------------------------------------------------------

METHODS: dict = {
    name: globals()[name]
    for name in [
        "prod", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp", "median", "nanmedian", "mode", "quantile",
        "nanquantile", "nansum", "nanmean", "count_nonzero", "aminmax", "dist", "renorm", "cov", "corrcoef",
        "histogram", "cumsum_", "cumprod_", "renorm_",
    ]
}  # fmt: skip
