"""``ef.*`` functions and ``Tensor`` methods: indexing, sorting, scattering and reshaping functions.

Wired by :mod:`einframe._functions`: every name in ``__all__`` becomes ``ef.<name>``, and every entry
of ``METHODS`` (method name -> function taking the tensor first) a ``Tensor`` method.

Nothing here has a derivative rule. Sorting computes (non-differentiable) indices on the raw arrays
and gathers the values with ``Index``; scatters are ``IndexAdd`` / ``IndexPut``; shape functions are
views, ``Cat`` and ``Contract``; ``kron`` is an einsum. Gradients (any order) and
forward-mode tangents therefore come from the primitive table.
"""

from __future__ import annotations

import builtins
import itertools
import math
import numbers
from collections import namedtuple

import numpy as np

from . import dtypes as _dt
from ._functions import (
    _cast,
    _check_bounds,
    _index_array,
    _inplace,
    _norm_key,
    _operands,
    _scalar,
    _size,
    cat,
    clone,
    expand,
    flatten,
    flip,
    gather,
    narrow,
    permute,
    repeat,
    reshape,
    select,
    stack,
    swapaxes,
    tensor,
    transpose,
    unsqueeze,
)
from .ops import contract as _c
from .ops import pointwise as _p
from .ops import view as _v
from .tensor import Size, Tensor

__all__ = [
    # sorting and selection
    "sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive", "nonzero", "argwhere",
    "masked_select", "take", "take_along_dim", "searchsorted", "bucketize", "bincount", "histc",
    # scatters
    "scatter", "scatter_add", "scatter_reduce", "index_add", "index_copy", "index_fill", "index_put", "index_put_",
    "index_reduce", "masked_scatter", "put", "select_scatter", "slice_scatter", "diagonal_scatter",
    # shapes
    "roll", "rot90", "flipud", "fliplr", "tile", "repeat_interleave", "unbind", "movedim", "moveaxis", "swapdims",
    "swapaxes", "diag", "diag_embed", "diagflat", "tril_indices", "triu_indices", "meshgrid", "broadcast_to",
    "broadcast_tensors", "broadcast_shapes", "tensor_split", "hsplit", "vsplit", "dsplit", "hstack", "vstack",
    "dstack", "column_stack", "row_stack", "atleast_1d", "atleast_2d", "atleast_3d", "cartesian_prod",
    "combinations", "block_diag", "narrow_copy",
    # products and differences
    "diff", "kron",
]  # fmt: skip

_ints = (numbers.Integral,)

sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])


def _wrap(arr, like: Tensor) -> Tensor:
    return Tensor._wrap(arr, like._device)


def _int64(xp, a):
    return xp.asarray(a).astype(np.int64, copy=False)


# ------------------------------------------------------------------------------------------------
# sorting and selection


def _argsort(x: Tensor, d: int, descending: bool):
    """Stable argsort along ``d`` (ties keep their order, also when descending; NaN sorts as largest)."""
    xp, a = x._device.xp, x._data
    if a.ndim == 0:
        return xp.zeros((), dtype=np.int64)
    if not descending:
        return _int64(xp, xp.argsort(a, axis=d, kind="stable"))
    n = a.shape[d]
    idx = xp.argsort(xp.flip(a, d), axis=d, kind="stable")
    return _int64(xp, xp.flip(n - 1 - idx, d))


def _take_sorted(x: Tensor, d: int, idx) -> Tensor:
    if x._data.ndim == 0:
        return clone(x)
    return gather(x, d, _wrap(idx, x))


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """Sorted values and their indices along ``dim``: ``(values, indices)``.

    Always stable (ties keep their order, also when ``descending``); NaN sorts as the largest value.
    The values are a gather at the indices, so gradients flow back to ``input``.

    >>> import einframe as ef
    >>> r = ef.sort(ef.tensor([3, 1, 2]))
    >>> r.values.tolist(), r.indices.tolist()
    ([1, 2, 3], [1, 2, 0])
    """
    d = input._dim(dim)
    idx = _argsort(input, d, descending)
    return sort_result(_take_sorted(input, d, idx), _wrap(idx, input))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (stable).

    >>> import einframe as ef
    >>> ef.argsort(ef.tensor([3, 1, 2]), descending=True).tolist()
    [0, 2, 1]
    """
    return _wrap(_argsort(input, input._dim(dim), descending), input)


def msort(input: Tensor) -> Tensor:
    """Values sorted along dim 0.

    >>> import einframe as ef
    >>> ef.msort(ef.tensor([[3, 1], [1, 2]])).tolist()
    [[1, 1], [3, 2]]
    """
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The ``k`` largest (or smallest) values along ``dim`` and their indices: ``(values, indices)``.

    >>> import einframe as ef
    >>> r = ef.topk(ef.tensor([1, 5, 3, 4]), 2)
    >>> r.values.tolist(), r.indices.tolist()
    ([5, 4], [1, 3])
    """
    d = input._dim(dim)
    n = input._data.shape[d] if input._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    idx = _argsort(input, d, largest)
    if input._data.ndim:
        idx = idx[(slice(None),) * d + (slice(0, k),)]
    return topk_result(_take_sorted(input, d, idx), _wrap(idx, input))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest value (1-based) along ``dim`` and its index: ``(values, indices)``.

    >>> import einframe as ef
    >>> r = ef.kthvalue(ef.tensor([4, 1, 3, 2]), 2)
    >>> r.values.item(), r.indices.item()
    (2, 3)
    """
    d = input._dim(dim)
    n = input._data.shape[d] if input._data.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if input._data.ndim == 0:
        return kthvalue_result(clone(input), _wrap(input._device.xp.zeros((), dtype=np.int64), input))
    idx = _argsort(input, d, False)[(slice(None),) * d + (slice(k - 1, k),)]
    values = gather(input, d, _wrap(idx, input))
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return kthvalue_result(values, _wrap(idx, input))


def _unique_out(x: Tensor, vals, inv, cnt, return_inverse: bool, return_counts: bool):
    out = [_wrap(vals, x)]
    if return_inverse:
        out.append(_wrap(_int64(x._device.xp, inv), x))
    if return_counts:
        out.append(_wrap(_int64(x._device.xp, cnt), x))
    return out[0] if len(out) == 1 else tuple(out)


def _rows(x: Tensor, d: int):
    """``x`` with dim ``d`` moved first and the others flattened: (n, rest), plus the moved shape."""
    moved = x._device.xp.moveaxis(x._data, d, 0)
    return moved.reshape(moved.shape[0], -1), moved.shape


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The distinct elements (or slices along ``dim``), sorted; optionally the inverse map and counts.

    Returns a tensor, or a tuple ``(output, inverse?, counts?)`` when a ``return_*`` flag is set.

    >>> import einframe as ef
    >>> out, counts = ef.unique(ef.tensor([2, 1, 2, 3, 1]), return_counts=True)
    >>> out.tolist(), counts.tolist()
    ([1, 2, 3], [2, 2, 1])
    """
    xp, a = input._device.xp, input._data
    if dim is None:
        vals, inv, cnt = xp.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(a.shape)
    else:
        d = input._dim(dim)
        rows, mshape = _rows(input, d)
        if rows.shape[0] == 0 or rows.shape[1] == 0:
            vals, inv, cnt = rows[: builtins.min(rows.shape[0], 1)], xp.zeros(rows.shape[0]), xp.asarray([rows.shape[0]])
            cnt = cnt[: vals.shape[0]]
        else:
            vals, inv, cnt = xp.unique(rows, axis=0, return_inverse=True, return_counts=True)
        vals = xp.moveaxis(vals.reshape((vals.shape[0],) + mshape[1:]), 0, d)
        inv = inv.reshape(-1)
    return _unique_out(input, vals, inv, cnt, return_inverse, return_counts)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """Collapse runs of equal consecutive elements (or slices along ``dim``) into one.

    >>> import einframe as ef
    >>> ef.unique_consecutive(ef.tensor([1, 1, 2, 2, 1])).tolist()
    [1, 2, 1]
    """
    xp, a = input._device.xp, input._data
    if dim is None:
        flat = a.reshape(-1)
        change = xp.ones(flat.shape[0], dtype=bool)
        change[1:] = flat[1:] != flat[:-1]
        vals = flat[change]
        inv = (xp.cumsum(change) - 1).reshape(a.shape)
    else:
        d = input._dim(dim)
        rows, mshape = _rows(input, d)
        change = xp.ones(rows.shape[0], dtype=bool)
        change[1:] = (rows[1:] != rows[:-1]).any(axis=1)
        vals = xp.moveaxis(rows[change].reshape((-1,) + mshape[1:]), 0, d)
        inv = xp.cumsum(change) - 1
    starts = xp.nonzero(change)[0]
    cnt = xp.diff(xp.concatenate([starts, xp.asarray([change.shape[0]])]))
    return _unique_out(input, vals, inv, cnt, return_inverse, return_counts)


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the nonzero elements: an ``(n, ndim)`` int64 tensor, or one 1-D tensor per dim.

    >>> import einframe as ef
    >>> ef.nonzero(ef.tensor([[0, 1], [2, 0]])).tolist()
    [[0, 1], [1, 0]]
    """
    xp, a = input._device.xp, input._data
    if as_tuple:
        return tuple(_wrap(_int64(xp, i), input) for i in xp.nonzero(a.reshape(1) if a.ndim == 0 else a))
    return _wrap(_int64(xp, xp.argwhere(a)), input)


def argwhere(input: Tensor) -> Tensor:
    """``nonzero(input)``: an ``(n, ndim)`` tensor of the indices of the nonzero elements.

    >>> import einframe as ef
    >>> ef.argwhere(ef.tensor([0, 3, 0, 5])).tolist()
    [[1], [3]]
    """
    return nonzero(input)


def _bool_mask(mask, name: str):
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"{name}: expected BoolTensor for mask")
    return m


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` (broadcast together) is true, as a 1-D tensor.

    >>> import einframe as ef
    >>> x = ef.tensor([[1, 2], [3, 4]])
    >>> ef.masked_select(x, x > 2).tolist()
    [3, 4]
    """
    m = _bool_mask(mask, "masked_select")
    shape = broadcast_shapes(input.shape, m.shape)
    xp = input._device.xp
    x = expand(input, shape)
    return _v.Index(tuple(xp.nonzero(xp.broadcast_to(m, shape))))(x)


def _check_range(idx, n: int, name: str, negative: bool = False, exc=IndexError) -> None:
    if idx.size == 0:
        return
    lo, hi = int(idx.min()), int(idx.max())
    bad = hi if hi >= n else lo if (lo < -n if negative else lo < 0) else None
    if bad is not None:
        raise exc(name.format(i=bad, n=n))


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` as if flattened, at ``index`` (negative indices count from the end); shape of ``index``.

    >>> import einframe as ef
    >>> ef.take(ef.tensor([[1, 2], [3, 4]]), ef.tensor([0, 3, -1])).tolist()
    [1, 4, 4]
    """
    idx = _int_index(index, input, "take")
    n = input._data.size
    _check_range(idx, n, "out of range: tried to access index {i} on a tensor of {n} elements.", negative=True)
    return _v.Index((idx,))(reshape(input, -1))


def _int_index(index, like: Tensor, name: str):
    idx = _index_array(index, like)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index")
    return idx


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Values at ``indices`` along ``dim`` (input and indices broadcast except along ``dim``);
    with ``dim=None`` both are flattened.

    >>> import einframe as ef
    >>> x = ef.tensor([[10, 30, 20], [60, 40, 50]])
    >>> ef.take_along_dim(x, x.argsort(1), 1).tolist()
    [[10, 20, 30], [40, 50, 60]]
    """
    idx = _int_index(indices, input, "take_along_dim")
    if dim is None:
        return take_along_dim(reshape(input, -1), _wrap(idx.reshape(-1), input), 0)
    if idx.ndim != input._data.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of dimensions")
    d = input._dim(dim)
    xs, ix = list(input._data.shape), list(idx.shape)
    xs[d] = ix[d] = 1
    b = broadcast_shapes(tuple(xs), tuple(ix))
    xshape = tuple(input._data.shape[d] if i == d else n for i, n in enumerate(b))
    ishape = tuple(idx.shape[d] if i == d else n for i, n in enumerate(b))
    idx = input._device.xp.broadcast_to(idx, ishape)
    n = input._data.shape[d]
    _check_range(idx, n, "index {i} is out of bounds for dimension " + str(d) + " with size {n}", True, RuntimeError)
    return gather(expand(input, xshape), d, _wrap(idx % builtins.max(n, 1), input))


def searchsorted(sorted_sequence: Tensor, input, *, out_int32: bool = False, right: bool = False, side=None, sorter=None):
    """Indices where ``input`` would be inserted into the last dim of ``sorted_sequence`` to keep it sorted.

    >>> import einframe as ef
    >>> seq = ef.tensor([1, 3, 5, 7])
    >>> ef.searchsorted(seq, ef.tensor([3, 6])).tolist()
    [1, 3]
    >>> ef.searchsorted(seq, ef.tensor([3, 6]), right=True).tolist()
    [2, 3]
    """
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError(
                "torch.searchsorted(): side and right can't be set to opposites, got side of left while right was True"
            )
        right = side == "right"
    seq = sorted_sequence
    xp, s = seq._device.xp, seq._data
    if sorter is not None:
        s = xp.take_along_axis(s, _index_array(sorter, seq), axis=-1)
    scalar = not isinstance(input, Tensor)
    v = xp.asarray(input) if scalar else input._data
    side_ = "right" if right else "left"
    if s.ndim == 1:
        out = xp.searchsorted(s, v, side=side_)
    else:
        if scalar or s.shape[:-1] != v.shape[:-1]:
            raise RuntimeError(
                "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries "
                f"tensor and input value tensor must match, but we got boundaries tensor {list(s.shape)} and input value "
                f"tensor {list(v.shape)}"
            )
        rs, rv = s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1])
        out = xp.stack([xp.searchsorted(rs[i], rv[i], side=side_) for i in range(rs.shape[0])]).reshape(v.shape)
    return _wrap(xp.asarray(out).astype(np.int32 if out_int32 else np.int64), seq)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each element of ``input`` given 1-D ``boundaries`` (``searchsorted(boundaries, input)``).

    >>> import einframe as ef
    >>> ef.bucketize(ef.tensor([0, 4, 9]), ef.tensor([1, 5, 8])).tolist()
    [0, 1, 3]
    """
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Count of each value of a 1-D non-negative integer tensor (or the sum of ``weights`` per value).

    With ``weights`` it is a scatter-add, so gradients flow to the weights.

    >>> import einframe as ef
    >>> ef.bincount(ef.tensor([0, 1, 1, 3])).tolist()
    [1, 2, 0, 1]
    >>> ef.bincount(ef.tensor([0, 1, 1]), weights=ef.tensor([0.5, 1.0, 2.0])).tolist()
    [0.5, 3.0]
    """
    xp, a = input._device.xp, input._data
    if a.ndim != 1 or a.dtype.kind not in "iub" or (a.size and int(a.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    n = builtins.max(int(a.max()) + 1 if a.size else 0, minlength)
    if weights is None:
        return _wrap(_int64(xp, xp.bincount(a, minlength=n)), input)
    if weights._data.shape != a.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    if weights._data.dtype.kind != "f":
        weights = _cast(weights, np.dtype(np.float64))
    return _v.IndexAdd((n,), (a.astype(np.int64),))(weights)


def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:
    """Histogram of ``bins`` equal-width bins over [min, max] (the data's range when min == max);
    elements outside are ignored. No gradient.

    >>> import einframe as ef
    >>> ef.histc(ef.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3).tolist()
    [0.0, 2.0, 1.0, 0.0]
    """
    if bins <= 0:
        raise RuntimeError("torch.histc: bins must be > 0, but got " + str(bins))
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for '{input.dtype.name}'")
    xp, a = input._device.xp, input._data.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        fin = a[xp.isfinite(a)]
        if fin.size:
            lo, hi = float(fin.min()), float(fin.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"torch.histc: max must be larger than min, but got min {lo} and max {hi}")
    a = a[(a >= lo) & (a <= hi)]
    pos = ((a - lo) * bins / (hi - lo)).astype(np.int64)
    pos = xp.minimum(pos, bins - 1)
    return _wrap(xp.bincount(pos, minlength=bins).astype(input._data.dtype), input)


# ------------------------------------------------------------------------------------------------
# scatters: ``IndexAdd`` (accumulate) and ``IndexPut`` (replace) at full index keys


def _same_dtype(x: Tensor, src, name: str, what: str = "src") -> None:
    if isinstance(src, Tensor) and src._data.dtype != x._data.dtype:
        if name.startswith("scatter"):
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to {what}.dtype")
        raise RuntimeError(f"{name}(): self ({x.dtype.name}) and {what} ({src.dtype.name}) must have the same scalar type")


def _scatter_key(x: Tensor, d: int, index, src, name: str):
    """The advanced-indexing key that addresses ``x[index[i][j]][j]`` (dim 0), and ``src`` cut to
    ``index``'s shape (PyTorch uses only that part of ``src``)."""
    xp = x._device.xp
    idx = _int_index(index, x, name)
    if idx.ndim != x._data.ndim and not (idx.size <= 1 and x._data.ndim <= 1 and idx.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if x._data.ndim == 0:
        idx = idx.reshape(())
    for i, n in enumerate(idx.shape):
        if i != d and n > x._data.shape[i]:
            raise RuntimeError(
                f"Size does not match at dimension {i} expected index {list(idx.shape)} to be no larger than self "
                f"{list(x._data.shape)} apart from dimension {d}"
            )
    if isinstance(src, Tensor):
        if src._data.ndim != idx.ndim or builtins.any(n > m for n, m in zip(idx.shape, src._data.shape)):
            raise RuntimeError(
                f"Expected index {list(idx.shape)} to be no larger than src {list(src._data.shape)} in every dimension"
            )
        if src._data.shape != idx.shape:
            src = _v.Index(tuple(slice(0, n) for n in idx.shape))(src)
    if x._data.ndim == 0:
        _check_range(idx, 1, "index {i} is out of bounds for dimension 0 with size {n}", exc=RuntimeError)
        return (), src
    n = x._data.shape[d]
    _check_range(idx, n, "index {i} is out of bounds for dimension " + str(d) + " with size {n}", exc=RuntimeError)
    key = []
    for i, m in enumerate(idx.shape):
        if i == d:
            key.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[i] = m
            key.append(xp.arange(m).reshape(shape))
    return tuple(key), src


def _value(x: Tensor, value):
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"expected a 0-dimensional value tensor, but got one with {value._data.ndim} dimension(s)")
        return _cast(value, x._data.dtype)
    return _scalar(value)


def _put(x: Tensor, key, v) -> Tensor:
    if isinstance(v, Tensor):
        v = _cast(v, x._data.dtype)
    return _v.IndexPut(key)(x, v)


def _add_at(x: Tensor, key, src: Tensor) -> Tensor:
    """``x`` with ``src`` accumulated at ``key`` (a Tensor ``src`` shaped like ``x[key]``)."""
    from ._functions import add

    return add(x, _v.IndexAdd(x._data.shape, key)(_cast(src, x._data.dtype)))


def scatter(input: Tensor, dim: int, index: Tensor, src=None, value=None, *, reduce: str | None = None) -> Tensor:
    """Write ``src`` (a tensor) or ``value`` (a number) into a copy of ``input`` at ``index`` along ``dim``:
    ``out[index[i][j]][j] = src[i][j]`` for dim 0. ``reduce='add'``/``'multiply'`` accumulates instead.

    >>> import einframe as ef
    >>> ef.scatter(ef.zeros(4), 0, ef.tensor([3, 0]), ef.tensor([1.0, 2.0])).tolist()
    [2.0, 0.0, 0.0, 1.0]
    >>> ef.scatter(ef.zeros(2, 2), 1, ef.tensor([[1], [0]]), value=5.0).tolist()
    [[0.0, 5.0], [5.0, 0.0]]
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing 1 required argument: 'src' or 'value'")
    if isinstance(src, Tensor):
        _same_dtype(input, src, "scatter")
    d = input._dim(dim)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if not isinstance(src, Tensor):
            idx = _int_index(index, input, "scatter")
            src = _wrap(input._device.xp.full(idx.shape, _scalar(src), dtype=input._data.dtype), input)
        return scatter_reduce(input, d, index, src, "sum" if reduce == "add" else "prod")
    if isinstance(src, Tensor):
        key, src = _scatter_key(input, d, index, src, "scatter")
    else:
        key, src = _scatter_key(input, d, index, None, "scatter")[0], _value(input, src)
    return _put(input, key, src)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``input`` plus ``src`` accumulated at ``index`` along ``dim`` (repeated indices add up).

    >>> import einframe as ef
    >>> ef.scatter_add(ef.zeros(3), 0, ef.tensor([0, 2, 0]), ef.tensor([1.0, 2.0, 3.0])).tolist()
    [4.0, 0.0, 2.0]
    """
    _same_dtype(input, src, "scatter_add")
    key, src = _scatter_key(input, input._dim(dim), index, src, "scatter_add")
    return _add_at(input, key, src)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True):
    """Reduce ``src`` into ``input`` at ``index`` along ``dim`` with ``'sum'``, ``'prod'``, ``'mean'``,
    ``'amax'`` or ``'amin'``; ``include_self=False`` leaves the old values of scattered-to positions out.

    Gradients as PyTorch: ``amax``/``amin`` share them evenly among the tied maxima; ``prod`` is exact
    also with zeros (a segmented product of the gathered values).

    >>> import einframe as ef
    >>> src = ef.tensor([1.0, 2.0, 3.0])
    >>> ef.scatter_reduce(ef.zeros(3), 0, ef.tensor([0, 2, 0]), src, 'amax', include_self=False).tolist()
    [3.0, 0.0, 2.0]
    """
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    _same_dtype(input, src, "scatter_reduce")
    d = input._dim(dim)
    key, src = _scatter_key(input, d, index, src, "scatter_reduce")
    xp = input._device.xp
    if reduce in ("sum", "mean"):
        base = input if include_self else _put(input, key, 0)
        out = _add_at(base, key, src)
        if reduce == "sum":
            return out
        cnt = xp.zeros(input._data.shape, dtype=np.int64)
        _add_raw(xp, cnt, key, xp.ones(src._data.shape, dtype=np.int64))
        cnt = xp.maximum(cnt + (1 if include_self else 0), 1)
        if input._data.dtype.kind in "iub":
            return _wrap(xp.floor_divide(out._data, cnt).astype(input._data.dtype), input)
        return out * _wrap(1.0 / cnt.astype(input._data.dtype), input)
    if reduce == "prod":
        return _scatter_prod(input, key, src, include_self)
    return _scatter_extreme(input, key, src, include_self, reduce)


def _add_raw(xp, target, key, values) -> None:
    from .backend import scatter_add as _sa

    _sa(xp, target, key, values)


def _flat_targets(x: Tensor, key, shape):
    """Flat (C-order) positions in ``x`` of ``x[key]``'s elements, as a 1-D int64 array."""
    xp = x._device.xp
    flat = xp.zeros(shape, dtype=np.int64)
    stride = 1
    for k, n in zip(reversed(key), reversed(x._data.shape)):
        flat = flat + xp.asarray(k, dtype=np.int64) * stride
        stride *= n
    return flat.reshape(-1)


def _scatter_prod(x: Tensor, key, src: Tensor, include_self: bool) -> Tensor:
    xp = x._device.xp
    shape = x._data.shape
    t = _flat_targets(x, key, src._data.shape)
    if t.size == 0:
        return x
    order = xp.argsort(t, kind="stable")
    ts = t[order]
    y = _v.Index((order,))(reshape(src, -1))
    n, s = ts.shape[0], 1
    # segmented inclusive product scan (Hillis-Steele): log2(n) gathers and products
    while s < n:
        same = xp.zeros(n, dtype=bool)
        same[s:] = ts[s:] == ts[:-s]
        shifted = _v.Index((xp.maximum(xp.arange(n) - s, 0),))(y)
        y = y * _p.Where(same)(shifted, 1)
        s *= 2
    last = xp.ones(n, dtype=bool)
    last[:-1] = ts[1:] != ts[:-1]
    last = xp.nonzero(last)[0]
    targets = ts[last]
    prod = _v.Index((last,))(y)
    flat = reshape(x, -1)
    if include_self:
        prod = _v.Index((targets,))(flat) * prod
    return reshape(_put(flat, (targets,), prod), shape)


def _scatter_extreme(x: Tensor, key, src: Tensor, include_self: bool, reduce: str) -> Tensor:
    xp, a, s = x._device.xp, x._data, src._data
    big = a.dtype.kind == "f"
    ident = (
        (-np.inf if reduce == "amax" else np.inf)
        if big
        else (np.iinfo(a.dtype).min if reduce == "amax" else np.iinfo(a.dtype).max)
        if a.dtype.kind in "iu"
        else (reduce == "amin")
    )
    r = a.copy()
    touched = xp.zeros(a.shape, dtype=bool)
    touched[key] = True
    if not include_self:
        r[touched] = ident
    if xp is np:
        (np.maximum if reduce == "amax" else np.minimum).at(r, key, s)
    else:  # pragma: no cover - cupy
        import cupyx

        (cupyx.scatter_max if reduce == "amax" else cupyx.scatter_min)(r, key, s)
    if not big or not (x._rg or src._rg or x._tangent is not None or src._tangent is not None):
        return _wrap(r, x)
    # differentiable form: the value is the selected elements weighted 1/(number of ties)
    self_is = (a == r) & (~touched if not include_self else True)
    src_is = s == r[key]
    cnt = self_is.astype(np.int64)
    _add_raw(xp, cnt, key, src_is.astype(np.int64))
    safe = xp.maximum(cnt, 1).astype(a.dtype)
    w_self = _wrap(1 / safe, x)
    w_src = _wrap((1 / safe)[key], x)
    e = _p.Where(self_is)(x * w_self, 0) + _v.IndexAdd(a.shape, key)(_p.Where(src_is)(src * w_src, 0))
    return _p.Where(cnt == 0)(_wrap(r, x), e)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """``input`` plus ``alpha * source`` accumulated at the entries ``index`` (1-D) along ``dim``.

    >>> import einframe as ef
    >>> ef.index_add(ef.ones(3, 2), 0, ef.tensor([0, 2]), ef.ones(2, 2), alpha=2).tolist()
    [[3.0, 3.0], [1.0, 1.0], [3.0, 3.0]]
    """
    _same_dtype(input, source, "index_add_", "source")
    key = _index_key(input, dim, index, source, "index_add_")
    return _add_at(input, key, source if alpha == 1 else source * alpha)


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *, include_self: bool = True):
    """Reduce the slices of ``source`` into the entries ``index`` (1-D) of ``input`` along ``dim`` with
    ``'prod'``, ``'mean'``, ``'amax'`` or ``'amin'`` (``scatter_reduce`` with ``index`` spread along ``dim``).

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 2.0, 3.0])
    >>> ef.index_reduce(x, 0, ef.tensor([0, 0, 2]), ef.tensor([2.0, 3.0, 4.0]), 'prod').tolist()
    [6.0, 2.0, 12.0]
    """
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): expected reduce to be one of prod, mean, amax or amin but got {reduce}")
    _same_dtype(input, source, "index_reduce_", "source")
    key = _index_key(input, dim, index, source, "index_reduce_")
    if not key:  # a 0-d input: the index addresses the tensor itself
        return scatter_reduce(input, 0, index, source, reduce, include_self=include_self)
    d, xp = len(key) - 1, input._device.xp
    idx = key[-1] % input._data.shape[d]
    spread = xp.broadcast_to(idx.reshape((-1,) + (1,) * (input._data.ndim - d - 1)), source._data.shape)
    return scatter_reduce(input, d, _wrap(xp.ascontiguousarray(spread), input), source, reduce, include_self=include_self)


def _index_key(x: Tensor, dim: int, index, source, name: str) -> tuple:
    d = x._dim(dim)
    idx = _int_index(index, x, name)
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    idx = idx.reshape(-1)
    n = x._data.shape[d] if x._data.ndim else 1
    _check_range(idx, n, "index {i} is out of bounds for dimension " + str(d) + " with size {n}", negative=True)
    if x._data.ndim == 0:
        return ()
    key = (slice(None),) * d + (idx,)
    if isinstance(source, Tensor):
        want = x._data.shape[:d] + (idx.shape[0],) + x._data.shape[d + 1 :]
        if source._data.shape != want and not (source._data.ndim == 0 and math.prod(want) == 1):
            raise RuntimeError(
                f"{name}(): source of shape {list(source._data.shape)} does not match the indexed shape {list(want)}"
            )
    return key


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` with the entries ``index`` along ``dim`` replaced by ``source``.

    >>> import einframe as ef
    >>> ef.index_copy(ef.zeros(3, 2), 0, ef.tensor([2, 0]), ef.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[3.0, 4.0], [0.0, 0.0], [1.0, 2.0]]
    """
    _same_dtype(input, source, "index_copy_", "source")
    return _put(input, _index_key(input, dim, index, source, "index_copy_"), source)


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """A copy of ``input`` with the entries ``index`` along ``dim`` set to ``value``.

    >>> import einframe as ef
    >>> ef.index_fill(ef.zeros(2, 3), 1, ef.tensor([0, 2]), -1.0).tolist()
    [[-1.0, 0.0, -1.0], [-1.0, 0.0, -1.0]]
    """
    return _put(input, _index_key(input, dim, index, None, "index_fill_"), _value(input, value))


def index_put(input: Tensor, indices, values, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``input[indices] = values`` (``+=`` with ``accumulate=True``,
    repeated indices adding up); ``indices`` is a tuple of index tensors.

    >>> import einframe as ef
    >>> ef.index_put(ef.zeros(3), (ef.tensor([0, 0, 2]),), ef.tensor(1.0), accumulate=True).tolist()
    [2.0, 0.0, 1.0]
    """
    key = _norm_key(input, tuple(indices))
    _check_bounds(input, key)
    for k, dimsize in zip(key, input._data.shape):
        if not isinstance(k, (int, slice)) and k is not None and k is not Ellipsis:
            _check_range(k, dimsize, "index {i} is out of bounds for size {n}", negative=True)
    if not isinstance(values, Tensor):
        values = tensor(values, dtype=input.dtype, device=input.device)
    values = _cast(values, input._data.dtype)
    if not accumulate:
        return _v.IndexPut(key)(input, values)
    xp = input._device.xp
    shape = xp.broadcast_to(xp.zeros((), dtype=np.int8), input._data.shape)[key].shape
    return _add_at(input, key, expand(values, shape))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` whose positions where ``mask`` is true take ``source``'s elements in order.

    >>> import einframe as ef
    >>> mask = ef.tensor([True, False, True, False])
    >>> ef.masked_scatter(ef.zeros(4), mask, ef.tensor([1.0, 2.0, 3.0])).tolist()
    [1.0, 0.0, 2.0, 0.0]
    """
    m = _bool_mask(mask, "masked_scatter_")
    shape = broadcast_shapes(input.shape, m.shape)
    xp = input._device.xp
    key = tuple(xp.nonzero(xp.broadcast_to(m, shape)))
    k = int(key[0].shape[0]) if key else int(bool(m))
    if source._data.size < k:
        raise RuntimeError(f"masked_scatter: expected source to have at least {k} elements, got {source._data.size}")
    _same_dtype(input, source, "masked_scatter_", "source")
    vals = _v.Index((slice(0, k),))(reshape(source, -1))
    x = expand(input, shape)
    if not key:
        return _put(x, (), reshape(vals, ())) if k else clone(x)
    return _put(x, key, vals)


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` (seen as flattened) with ``source`` written (or added) at ``index``.

    >>> import einframe as ef
    >>> ef.put(ef.zeros(2, 2), ef.tensor([0, 3]), ef.tensor([1.0, 2.0])).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    idx = _int_index(index, input, "put").reshape(-1)
    n = input._data.size
    _check_range(idx, n, "out of range: tried to access index {i} on a tensor of {n} elements.", negative=True)
    if source._data.size != idx.shape[0]:
        raise RuntimeError(
            f"put_(): Expected source and index to have the same number of elements, but got source.numel() = "
            f"{source._data.size}, index.numel() = {idx.shape[0]}"
        )
    _same_dtype(input, source, "put_", "source")
    flat, src = reshape(input, -1), reshape(source, -1)
    out = _add_at(flat, (idx,), src) if accumulate else _put(flat, (idx,), src)
    return reshape(out, input._data.shape)


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src``.

    >>> import einframe as ef
    >>> ef.select_scatter(ef.zeros(2, 2), ef.ones(2), 0, 1).tolist()
    [[0.0, 0.0], [1.0, 1.0]]
    """
    d = input._dim(dim)
    key = (slice(None),) * d + (index,)
    _check_bounds(input, key)
    return _embed(input, key, src, "select_scatter")


def _embed(x: Tensor, key, src: Tensor, name: str) -> Tensor:
    want = x._data[key].shape
    if src._data.shape != want:
        raise RuntimeError(
            f"{name}(): expected src to have a size equal to the slice of self, {list(want)}, got {list(src._data.shape)}"
        )
    return _put(x, key, src)


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """A copy of ``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by ``src``.

    >>> import einframe as ef
    >>> ef.slice_scatter(ef.zeros(4), ef.ones(2), start=0, step=2).tolist()
    [1.0, 0.0, 1.0, 0.0]
    """
    d = input._dim(dim)
    return _embed(input, (slice(None),) * d + (slice(start, end, step),), src, "slice_scatter")


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``.

    >>> import einframe as ef
    >>> ef.diagonal_scatter(ef.zeros(2, 2), ef.tensor([1.0, 2.0])).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    """
    d1, d2 = input._dim(dim1), input._dim(dim2)
    x = movedim(input, (d1, d2), (-2, -1))
    n, m = x._data.shape[-2:]
    k = builtins.max(builtins.min(n + builtins.min(offset, 0), m - builtins.max(offset, 0)), 0)
    xp = input._device.xp
    r = xp.arange(k) + builtins.max(-offset, 0)
    c = xp.arange(k) + builtins.max(offset, 0)
    out = _embed(x, (Ellipsis, r, c), src, "diagonal_scatter")
    return movedim(out, (-2, -1), (d1, d2))


# ------------------------------------------------------------------------------------------------
# shapes


def _dims(x) -> tuple[int, ...]:
    return (int(x),) if isinstance(x, _ints) else tuple(int(v) for v in x)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Shift elements cyclically along ``dims`` (the flattened tensor when ``dims`` is None): two slices + ``Cat``.

    >>> import einframe as ef
    >>> ef.roll(ef.tensor([1, 2, 3, 4]), 1).tolist()
    [4, 1, 2, 3]
    >>> ef.roll(ef.tensor([[1, 2], [3, 4]]), 1, 0).tolist()
    [[3, 4], [1, 2]]
    """
    shifts = _dims(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return reshape(roll(flatten(input), shifts, 0), input._data.shape)
    dims = _dims(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    x = input
    for s, dim in zip(shifts, dims):
        d = x._dim(dim)
        n = x._data.shape[d] if x._data.ndim else 1
        s = s % n if n else 0
        if s and x._data.ndim:
            x = _v.Cat(d)(narrow(x, d, n - s, s), narrow(x, d, 0, n - s))
    return x


def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """Rotate by 90° ``k`` times in the plane ``dims`` (from the first towards the second axis).

    >>> import einframe as ef
    >>> ef.rot90(ef.tensor([[1, 2], [3, 4]])).tolist()
    [[2, 4], [1, 3]]
    """
    dims = _dims(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if input._data.ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {input._data.ndim}")
    d0, d1 = input._dim(dims[0]), input._dim(dims[1])
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}")
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, (d0, d1))
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return clone(input)


def flipud(input: Tensor) -> Tensor:
    """Reverse the order along dim 0.

    >>> import einframe as ef
    >>> ef.flipud(ef.tensor([[1, 2], [3, 4]])).tolist()
    [[3, 4], [1, 2]]
    """
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, 0)


def fliplr(input: Tensor) -> Tensor:
    """Reverse the order along dim 1.

    >>> import einframe as ef
    >>> ef.fliplr(ef.tensor([[1, 2], [3, 4]])).tolist()
    [[2, 1], [4, 3]]
    """
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, 1)


def tile(input: Tensor, dims) -> Tensor:
    """Repeat the tensor ``dims[i]`` times along each dim; missing leading reps count as 1 (numpy's ``tile``).

    >>> import einframe as ef
    >>> ef.tile(ef.tensor([1, 2]), (2, 2)).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    dims = _dims(dims)
    dims = (1,) * (input._data.ndim - len(dims)) + dims
    return repeat(input, dims)


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *, output_size: int | None = None):
    """Repeat each element (or slice along ``dim``) ``repeats`` times in place: ``[a, a, b, b]``.

    ``repeat_interleave(repeats)`` alone gives ``arange(len(repeats))`` repeated by ``repeats``.

    >>> import einframe as ef
    >>> ef.repeat_interleave(ef.tensor([1, 2]), 2).tolist()
    [1, 1, 2, 2]
    >>> ef.repeat_interleave(ef.tensor([1, 2]), ef.tensor([1, 3])).tolist()
    [1, 2, 2, 2]
    """
    xp = input._device.xp
    if repeats is None:
        r = input._data
        if r.ndim != 1 or r.dtype.kind not in "iu":
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if r.size and int(r.min()) < 0:
            raise RuntimeError("repeats can not be negative")
        return _wrap(_int64(xp, xp.repeat(xp.arange(r.shape[0]), r)), input)
    if dim is None:
        x, d = flatten(input), 0
    else:
        x, d = input, input._dim(dim)
    if x._data.ndim == 0:
        x = reshape(x, 1)
    n = x._data.shape[d]
    if isinstance(repeats, Tensor):
        r = repeats._data
        if r.ndim > 1:
            raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
        if r.ndim == 0 or r.shape[0] == 1:
            repeats = int(r.reshape(-1)[0])
    if isinstance(repeats, _ints):
        repeats = int(repeats)
        if repeats < 0:
            raise RuntimeError("repeats can not be negative")
        shape = x._data.shape
        y = unsqueeze(x, d + 1)
        y = expand(y, shape[: d + 1] + (repeats,) + shape[d + 1 :])
        return reshape(y, shape[:d] + (n * repeats,) + shape[d + 1 :])
    r = xp.asarray(r)
    if r.shape[0] != n:
        raise RuntimeError("repeats must have the same size as input along dim")
    if r.size and int(r.min()) < 0:
        raise RuntimeError("repeats can not be negative")
    idx = xp.repeat(xp.arange(n), r)
    return _v.Index((slice(None),) * d + (idx,))(x)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices along ``dim``, that dim removed (views).

    >>> import einframe as ef
    >>> [t.tolist() for t in ef.unbind(ef.tensor([[1, 2], [3, 4]]), 1)]
    [[1, 3], [2, 4]]
    """
    d = input._dim(dim)
    return tuple(select(input, d, i) for i in range(input._data.shape[d]))


def movedim(input: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination`` (the others keep their order): a permute.

    >>> import einframe as ef
    >>> ef.movedim(ef.zeros(2, 3, 4), 0, -1).shape
    einframe.Size([3, 4, 2])
    """
    src, dst = _dims(source), _dims(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain the same number of "
            f"dims as destination ({list(dst)} dims)"
        )
    n = input._data.ndim
    src = tuple(input._dim(s) for s in src)
    dst = tuple(input._dim(s) for s in dst)
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(source)})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(destination)})")
    order = [i for i in range(n) if i not in src]
    for dd, ss in sorted(zip(dst, src)):
        order.insert(dd, ss)
    return input if order == list(range(n)) else permute(input, order)


moveaxis = movedim
swapdims = swapaxes


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: the square matrix with ``input`` on diagonal ``diagonal``; 2-D input: that diagonal.

    >>> import einframe as ef
    >>> ef.diag(ef.tensor([1, 2])).tolist()
    [[1, 0], [0, 2]]
    >>> ef.diag(ef.tensor([[1, 2], [3, 4]]), 1).tolist()
    [2]
    """
    if input._data.ndim == 2:
        n, m = input._data.shape
        r0, c0 = builtins.max(-diagonal, 0), builtins.max(diagonal, 0)
        k = builtins.max(builtins.min(n - r0, m - c0), 0)
        return _c.contract("ii->i", _v.Index((slice(r0, r0 + k), slice(c0, c0 + k)))(input))
    if input._data.ndim != 1:
        raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input._data.ndim}D")
    return diag_embed(input, diagonal, 0, 1)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Tensor whose ``(dim1, dim2)`` diagonals (at ``offset``) hold the last dim of ``input``; zeros elsewhere.

    >>> import einframe as ef
    >>> ef.diag_embed(ef.tensor([[1, 2], [3, 4]])).tolist()
    [[[1, 0], [0, 2]], [[3, 0], [0, 4]]]
    """
    n_out = input._data.ndim + 1
    d1, d2 = (d % n_out if -n_out <= d < n_out else None for d in (dim1, dim2))
    if d1 is None or d2 is None:
        bad = dim1 if d1 is None else dim2
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n_out}, {n_out - 1}], but got {bad})")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = reshape(input, (1,)) if input._data.ndim == 0 else input
    k = x._data.shape[-1]
    m = k + builtins.abs(offset)
    xp = input._device.xp
    r = xp.arange(k) + builtins.max(-offset, 0)
    c = xp.arange(k) + builtins.max(offset, 0)
    y = _v.IndexAdd(x._data.shape[:-1] + (m, m), (Ellipsis, r, c))(x)
    return movedim(y, (-2, -1), (d1, d2))


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input on diagonal ``offset`` of a square matrix.

    >>> import einframe as ef
    >>> ef.diagflat(ef.tensor([[1, 2]]), 1).tolist()
    [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    """
    return diag_embed(reshape(input, -1), offset, 0, 1)


def _tri_indices(fn, row: int, col: int, offset: int, dtype, device) -> Tensor:
    r, c = fn(row, offset, col)
    arr = np.stack([r, c]).astype(_dt.to_numpy_dtype(dtype) if dtype is not None else np.int64)
    return tensor(arr, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
    """The (2, N) coordinates of the lower triangle of a ``row`` x ``col`` matrix, row by row.

    >>> import einframe as ef
    >>> ef.tril_indices(3, 3).tolist()
    [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    """
    return _tri_indices(np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=None, device=None, layout=None) -> Tensor:
    """The (2, N) coordinates of the upper triangle of a ``row`` x ``col`` matrix, row by row.

    >>> import einframe as ef
    >>> ef.triu_indices(2, 3, 1).tolist()
    [[0, 0, 1], [1, 2, 2]]
    """
    return _tri_indices(np.triu_indices, row, col, offset, dtype, device)


def _tensors(tensors) -> list[Tensor]:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return list(tensors[0])
    return list(tensors)


def meshgrid(*tensors, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids from 1-D tensors (``indexing='ij'``, the default, or ``'xy'``): broadcast views.

    >>> import einframe as ef
    >>> a, b = ef.meshgrid(ef.tensor([1, 2]), ef.tensor([3, 4, 5]), indexing='ij')
    >>> a.tolist(), b.tolist()
    ([[1, 1, 1], [2, 2, 2]], [[3, 4, 5], [3, 4, 5]])
    """
    ts = _tensors(tensors)
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in ts:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t._data.ndim}D")
    sizes = [t._data.size for t in ts]
    pos = list(range(len(ts)))
    if indexing == "xy" and len(ts) >= 2:
        pos[0], pos[1] = 1, 0
    shape = [0] * len(ts)
    for i, p in enumerate(pos):
        shape[p] = sizes[i]
    out = []
    for i, t in enumerate(ts):
        s = [1] * len(ts)
        s[pos[i]] = sizes[i]
        out.append(expand(reshape(t, tuple(s)), tuple(shape)))
    return tuple(out)


def broadcast_to(input: Tensor, size) -> Tensor:
    """``input.expand(size)``: a broadcast view.

    >>> import einframe as ef
    >>> ef.broadcast_to(ef.tensor([1, 2]), (2, 2)).tolist()
    [[1, 2], [1, 2]]
    """
    return expand(input, _size((size,)))


def broadcast_shapes(*shapes) -> Size:
    """The shape the given shapes broadcast to.

    >>> import einframe as ef
    >>> ef.broadcast_shapes((2, 1), (3,))
    einframe.Size([2, 3])
    """
    shapes = [(s,) if isinstance(s, _ints) else tuple(s) for s in shapes]
    try:
        return Size(np.broadcast_shapes(*shapes))
    except ValueError as e:
        raise RuntimeError(f"Shape mismatch: objects cannot be broadcast to a single shape: {shapes}") from e


def broadcast_tensors(*tensors) -> tuple[Tensor, ...]:
    """The tensors expanded to their common broadcast shape (views).

    >>> import einframe as ef
    >>> [t.shape for t in ef.broadcast_tensors(ef.zeros(2, 1), ef.zeros(3))]
    [einframe.Size([2, 3]), einframe.Size([2, 3])]
    """
    ts = _tensors(tensors)
    shape = tuple(broadcast_shapes(*(t._data.shape for t in ts)))
    return tuple(expand(t, shape) for t in ts)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``n`` nearly equal parts (the first ``size % n`` one longer), or at the given indices (views).

    >>> import einframe as ef
    >>> [t.tolist() for t in ef.tensor_split(ef.arange(5), 2)]
    [[0, 1, 2], [3, 4]]
    >>> [t.tolist() for t in ef.tensor_split(ef.arange(5), [1, 4])]
    [[0], [1, 2, 3], [4]]
    """
    d = input._dim(dim)
    n = input._data.shape[d]
    ios = indices_or_sections
    if isinstance(ios, Tensor):
        if ios._data.ndim > 1 or ios._data.dtype.kind not in "iu":
            raise RuntimeError(
                "tensor_split expected tensor_indices_or_sections to be a zero-dimensional or one-dimensional tensor of long"
            )
        ios = int(ios._data) if ios._data.ndim == 0 else [int(v) for v in ios._data.tolist()]
    if isinstance(ios, _ints):
        s = int(ios)
        if s <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {s}")
        q, r = divmod(n, s)
        bounds = list(itertools.accumulate([q + 1] * r + [q] * (s - r), initial=0))
    else:
        bounds = [0, *[int(i) for i in ios], n]
    lead = (slice(None),) * d
    return tuple(_v.Index(lead + (slice(a, b),))(input) for a, b in zip(bounds[:-1], bounds[1:]))


def _split_along(input: Tensor, ios, dim: int, name: str, need: int) -> tuple[Tensor, ...]:
    if input._data.ndim < need:
        raise RuntimeError(
            f"torch.{name} requires a tensor with at least {need} dimension, but got a tensor with {input._data.ndim} dimensions!"
        )
    if isinstance(ios, _ints):
        n = input._data.shape[dim]
        if ios == 0 or n % ios:
            raise RuntimeError(
                f"torch.{name} attempted to split along dimension {dim}, but the size of the dimension {n} is not "
                f"divisible by the split_size {ios}!"
            )
    return tensor_split(input, ios, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 1 (dim 0 for 1-D input); an int must divide the size.

    >>> import einframe as ef
    >>> [t.tolist() for t in ef.hsplit(ef.tensor([[1, 2, 3, 4]]), 2)]
    [[[1, 2]], [[3, 4]]]
    """
    return _split_along(input, indices_or_sections, 1 if input._data.ndim > 1 else 0, "hsplit", 1)


def vsplit(input: Tensor, indices_or_sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 0 of an at least 2-D tensor.

    >>> import einframe as ef
    >>> [t.tolist() for t in ef.vsplit(ef.tensor([[1, 2], [3, 4]]), 2)]
    [[[1, 2]], [[3, 4]]]
    """
    return _split_along(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input: Tensor, indices_or_sections) -> tuple[Tensor, ...]:
    """``tensor_split`` along dim 2 of an at least 3-D tensor.

    >>> import einframe as ef
    >>> [t.shape for t in ef.dsplit(ef.zeros(1, 2, 4), [1])]
    [einframe.Size([1, 2, 1]), einframe.Size([1, 2, 3])]
    """
    return _split_along(input, indices_or_sections, 2, "dsplit", 3)


def _atleast(shape_of, tensors):
    ts = _tensors(tensors)
    out = tuple(reshape(t, shape_of(t._data.shape)) if t._data.ndim < len(shape_of(())) else t for t in ts)
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else out


def atleast_1d(*tensors):
    """Each tensor with at least 1 dim (one tensor in, one out; several in, a tuple).

    >>> import einframe as ef
    >>> ef.atleast_1d(ef.tensor(5)).tolist()
    [5]
    """
    return _atleast(lambda s: s if len(s) >= 1 else (1,), tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dims (1-D ``(n,)`` becomes ``(1, n)``).

    >>> import einframe as ef
    >>> ef.atleast_2d(ef.tensor([1, 2])).shape
    einframe.Size([1, 2])
    """
    return _atleast(lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` -> ``(m, n, 1)``).

    >>> import einframe as ef
    >>> ef.atleast_3d(ef.tensor([1, 2])).shape
    einframe.Size([1, 2, 1])
    """
    return _atleast(lambda s: s if len(s) >= 3 else {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}[len(s)], tensors)


def hstack(tensors) -> Tensor:
    """Concatenate horizontally: along dim 1, or dim 0 for 1-D tensors.

    >>> import einframe as ef
    >>> ef.hstack([ef.tensor([1, 2]), ef.tensor([3])]).tolist()
    [1, 2, 3]
    """
    ts = atleast_1d(*tensors) if len(tensors) != 1 else (atleast_1d(tensors[0]),)
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate vertically (along dim 0) after ``atleast_2d``.

    >>> import einframe as ef
    >>> ef.vstack([ef.tensor([1, 2]), ef.tensor([3, 4])]).tolist()
    [[1, 2], [3, 4]]
    """
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def dstack(tensors) -> Tensor:
    """Concatenate depth-wise (along dim 2) after ``atleast_3d``.

    >>> import einframe as ef
    >>> ef.dstack([ef.tensor([1, 2]), ef.tensor([3, 4])]).tolist()
    [[[1, 3], [2, 4]]]
    """
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors) -> Tensor:
    """Stack as columns: 0-D and 1-D tensors become ``(n, 1)`` columns, then ``hstack``.

    >>> import einframe as ef
    >>> ef.column_stack([ef.tensor([1, 2]), ef.tensor([3, 4])]).tolist()
    [[1, 3], [2, 4]]
    """
    ts = [reshape(t, (t._data.size, 1)) if t._data.ndim <= 1 else t for t in tensors]
    return cat(ts, 1)


def cartesian_prod(*tensors) -> Tensor:
    """The Cartesian product of 1-D tensors as an ``(N, len(tensors))`` tensor (itertools.product order).

    >>> import einframe as ef
    >>> ef.cartesian_prod(ef.tensor([1, 2]), ef.tensor([3, 4])).tolist()
    [[1, 3], [1, 4], [2, 3], [2, 4]]
    """
    ts = _tensors(tensors)
    if len(ts) == 1:
        return ts[0]
    return stack([reshape(g, -1) for g in meshgrid(*ts, indexing="ij")], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The ``r``-element combinations of a 1-D tensor's elements as an ``(N, r)`` tensor (itertools order).

    >>> import einframe as ef
    >>> ef.combinations(ef.tensor([1, 2, 3])).tolist()
    [[1, 2], [1, 3], [2, 3]]
    """
    if input._data.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input._data.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    fn = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(fn(range(input._data.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    if r == 0:
        return _wrap(input._device.xp.zeros((0,), dtype=input._data.dtype), input)
    return _v.Index((input._device.xp.asarray(idx),))(input)


def block_diag(*tensors) -> Tensor:
    """The block-diagonal matrix of the given tensors (0-D, 1-D as one row, or 2-D): ``Pad`` + ``Cat``.

    >>> import einframe as ef
    >>> ef.block_diag(ef.tensor([[1, 2]]), ef.tensor(3)).tolist()
    [[1, 2, 0], [0, 0, 3]]
    """
    ts = _tensors(tensors)
    if not ts:
        return tensor(np.zeros((1, 0), dtype=_dt.get_default_dtype().np))
    blocks = []
    for i, t in enumerate(ts):
        if t._data.ndim > 2:
            raise RuntimeError(
                f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has {t._data.ndim} dimensions"
            )
        blocks.append(reshape(t, (1, 1)) if t._data.ndim == 0 else reshape(t, (1, -1)) if t._data.ndim == 1 else t)
    dt = np.result_type(*(b._data.dtype for b in blocks))
    total = builtins.sum(b._data.shape[1] for b in blocks)
    rows, c0 = [], 0
    for b in blocks:
        w = b._data.shape[1]
        rows.append(_v.Pad(((0, 0), (c0, total - c0 - w)))(_cast(b, dt)))
        c0 += w
    return _v.Cat(0)(*rows)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A copy (not a view) of ``narrow(input, dim, start, length)``.

    >>> import einframe as ef
    >>> ef.narrow_copy(ef.tensor([1, 2, 3, 4]), 0, 1, 2).tolist()
    [2, 3]
    """
    return clone(narrow(input, dim, start, length))


# ------------------------------------------------------------------------------------------------
# products and differences


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (after concatenating ``prepend``/``append``).

    >>> import einframe as ef
    >>> ef.diff(ef.tensor([1, 4, 9, 16])).tolist()
    [3, 5, 7]
    """
    from ._functions import ne, sub

    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = input._dim(dim)
    parts = []
    for extra in (prepend, input, append):
        if extra is None:
            continue
        if not isinstance(extra, Tensor):
            shape = list(input._data.shape)
            shape[d] = 1
            extra = expand(tensor(extra, dtype=input.dtype, device=input.device), tuple(shape))
        parts.append(extra)
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        m = x._data.shape[d]
        if m == 0:
            break
        a, b = narrow(x, d, 1, m - 1), narrow(x, d, 0, m - 1)
        x = ne(a, b) if x._data.dtype == np.bool_ else sub(a, b)
    return x


def kron(input: Tensor, other: Tensor) -> Tensor:
    """Kronecker product: the outer-product einsum ``'ab,cd->acbd'`` (any rank) reshaped.

    >>> import einframe as ef
    >>> ef.kron(ef.tensor([1, 2]), ef.tensor([1, 10])).tolist()
    [1, 10, 2, 20]
    """
    from opt_einsum import get_symbol

    a, b = _operands(input, other)
    n = builtins.max(a._data.ndim, b._data.ndim)
    sa = (1,) * (n - a._data.ndim) + a._data.shape
    sb = (1,) * (n - b._data.ndim) + b._data.shape
    a, b = reshape(a, sa), reshape(b, sb)
    la = "".join(get_symbol(i) for i in range(n))
    lb = "".join(get_symbol(n + i) for i in range(n))
    out = "".join(x + y for x, y in zip(la, lb))
    r = _c.contract(f"{la},{lb}->{out}", a, b)
    return reshape(r, tuple(p * q for p, q in zip(sa, sb)))


# ------------------------------------------------------------------------------------------------
# in-place variants and Tensor methods


def _make_inplace(fn, tensor_args=()):
    """The in-place Tensor method ``fn_`` of an out-of-place ``fn``: ``self`` takes ``fn(self, ...)``'s value.

    >>> import einframe as ef
    >>> x = ef.zeros(3)
    >>> x.index_fill_(0, ef.tensor([1]), 2.0) is x, x.tolist()
    (True, [0.0, 2.0, 0.0])
    """

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        others = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        return _inplace(self, lambda s: fn(s, *args, **kwargs), *others)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place :func:`{fn.__name__}`."
    return method


scatter_ = _make_inplace(scatter)
scatter_add_ = _make_inplace(scatter_add)
scatter_reduce_ = _make_inplace(scatter_reduce)
index_add_ = _make_inplace(index_add)
index_copy_ = _make_inplace(index_copy)
index_fill_ = _make_inplace(index_fill)
index_reduce_ = _make_inplace(index_reduce)
index_put_ = _make_inplace(index_put)
index_put_.__doc__ += """

>>> import einframe as ef
>>> x = ef.zeros(3)
>>> ef.index_put_(x, (ef.tensor([1]),), ef.tensor(5.0)) is x, x.tolist()
(True, [0.0, 5.0, 0.0])
"""
masked_scatter_ = _make_inplace(masked_scatter)
put_ = _make_inplace(put)

METHODS: dict = {
    name: globals()[name]
    for name in (
        "sort", "argsort", "msort", "topk", "kthvalue", "unique", "unique_consecutive", "nonzero", "argwhere",
        "masked_select", "take", "take_along_dim", "bincount", "histc",
        "scatter", "scatter_", "scatter_add", "scatter_add_", "scatter_reduce", "scatter_reduce_", "index_add",
        "index_add_", "index_copy", "index_copy_", "index_fill", "index_fill_", "index_put", "index_put_",
        "index_reduce", "index_reduce_", "masked_scatter", "masked_scatter_", "put", "put_", "select_scatter", "slice_scatter", "diagonal_scatter",
        "roll", "rot90", "flipud", "fliplr", "tile", "repeat_interleave", "unbind", "movedim", "moveaxis", "swapdims",
        "diag", "diag_embed", "diagflat", "broadcast_to", "tensor_split", "hsplit", "vsplit", "dsplit",
        "narrow_copy", "diff", "kron",
    )
}  # fmt: skip
