"""Functional twins for more losses, distances, pools and ``EmbeddingBag``.

Re-exported by :mod:`einframe.nn.functional` (``F.*``); every name in ``__all__`` is public there.

Nothing here has derivative code: every function composes differentiable einframe ops (Contract,
Pointwise, Gather/ScatterAdd, Pad, Window), so first- and higher-order gradients come from the
primitives. Sums over a feature axis are contractions (``'...i,...i->...'``); the pairwise hinge of
``multilabel_margin_loss`` is reduced by one contraction ``'nc,ni,nci->n'``; ``embedding_bag`` is a
gather of rows followed by a scatter-add into the bags; ``max_unpool`` is a scatter of the input
into a zero output (its adjoint, a gather); ``ctc_loss`` runs the CTC forward recursion in log space.

>>> import einframe as ef, einframe.nn.functional as F
>>> F.margin_ranking_loss(ef.tensor([1.0, 2.0]), ef.tensor([2.0, 0.0]), ef.tensor([1.0, 1.0])).item()
0.5
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np

from .. import _functions as _ef
from ..dtypes import get_default_dtype
from ..ops import view as _vw
from ..tensor import Tensor
from .functional import (
    _SPARSE_MSG,
    _adaptive_avg_poolnd,
    _adaptive_max_poolnd,
    _batched,
    _const,
    _contract,
    _embedding_renorm_,
    _legacy_reduction,
    _log_sigmoid,
    _max_poolnd,
    _ntuple,
    _reduce,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    embedding,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)

__all__: list[str] = [
    # losses
    "cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
    "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "triplet_margin_loss",
    "triplet_margin_with_distance_loss", "poisson_nll_loss", "gaussian_nll_loss", "ctc_loss",
    # distances
    "cosine_similarity", "pairwise_distance", "pdist",
    # pools
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices", "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
    # sparse
    "embedding_bag",
]  # fmt: skip


# ------------------------------------------------------------------------------------------------
# helpers


def _reduction(reduction: str, size_average, reduce, fn: str) -> str:
    """The effective reduction (legacy ``size_average``/``reduce`` win, as in PyTorch), validated."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{fn}: {reduction!r} is not a valid value for reduction; use 'none', 'mean' or 'sum'")
    return reduction


def _tensor(x, name: str, fn: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: expected argument '{name}' to be a Tensor, got {type(x).__name__}")
    return x


def _host(t: Tensor) -> np.ndarray:
    """A host (numpy) copy of an index or length tensor."""
    return np.asarray(t.numpy(force=True))


def _floating(x: Tensor) -> Tensor:
    return x if x._data.dtype.kind == "f" else x.to(get_default_dtype())


def _positive_root(s: Tensor, q: float) -> Tensor:
    """``s ** q`` for ``s >= 0``, with value and gradient 0 where ``s == 0`` (no inf·0 = nan)."""
    pos = s > 0
    return _ef.where(pos, _ef.where(pos, s, 1.0) ** q, 0.0)


def _pnorm(x: Tensor, p: float, dim: int, keepdim: bool = False) -> Tensor:
    """The vector ``p``-norm along ``dim``; its gradient at a zero vector is 0 (PyTorch's convention)."""
    if p == 2:
        if dim in (-1, x.dim() - 1) and not keepdim:
            sq = _contract("...i,...i->...", x, x)
        else:
            sq = _ef.sum(x * x, dim, keepdim)
        return _positive_root(sq, 0.5)
    if p == 1:
        return _ef.sum(_ef.abs(x), dim, keepdim)
    if p == math.inf:
        return _ef.amax(_ef.abs(x), dim, keepdim)
    if p == -math.inf:
        return _ef.amin(_ef.abs(x), dim, keepdim)
    if p == 0:  # the count of nonzeros; differentiable with gradient 0 (as PyTorch)
        return _ef.sum(_ef.where(x != 0, 1.0, x * 0.0), dim, keepdim)
    return _positive_root(_ef.sum(_ef.abs(x) ** p, dim, keepdim), 1.0 / p)


def _clamp_min_nograd(x: Tensor, lo: float) -> Tensor:
    """``max(x, lo)`` in value, with the gradient of ``x`` itself (PyTorch's in-place clamp under no_grad)."""
    low = x < lo
    return _ef.where(low, (x - x.detach()) + lo, x)


def _same_ndim(tensors: dict, fn: str) -> None:
    dims = {name: t.dim() for name, t in tensors.items()}
    if len(set(dims.values())) != 1:
        got = ", ".join(f"{name} {d}D" for name, d in dims.items())
        raise RuntimeError(f"{fn}: expected {', '.join(dims)} with the same number of dimensions, got {got}")


# ------------------------------------------------------------------------------------------------
# distances


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dimension (broadcasting ``x1`` against ``x2``).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.pairwise_distance(ef.tensor([[0.0, 0.0], [1.0, 1.0]]), ef.tensor([3.0, 4.0])).tolist()]
    [5.0, 3.6056]
    """
    _tensor(x1, "x1", "pairwise_distance")
    _tensor(x2, "x2", "pairwise_distance")
    d = _floating(x1 - x2) + eps
    if d.dim() == 0:
        return _pnorm(d.reshape(1), p, -1)
    return _pnorm(d, p, -1, keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``Σ x1·x2 / (max(||x1||, eps) · max(||x2||, eps))`` along ``dim`` (inputs broadcast).

    As PyTorch, each norm is clamped at ``eps`` in value only (the gradient passes the clamp).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> [round(v, 4) for v in F.cosine_similarity(ef.tensor([[1.0, 0.0], [1.0, 1.0]]), ef.tensor([[0.0, 2.0], [2.0, 2.0]])).tolist()]
    [0.0, 1.0]
    """
    _tensor(x1, "x1", "cosine_similarity")
    _tensor(x2, "x2", "cosine_similarity")
    try:
        shape = tuple(np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape)))
    except ValueError:
        raise RuntimeError(
            f"cosine_similarity: expected x1 {list(x1.shape)} and x2 {list(x2.shape)} to be broadcastable to a common shape"
        ) from None
    a, b = _floating(x1), _floating(x2)
    if tuple(a.shape) != shape:
        a = a.expand(*shape)
    if tuple(b.shape) != shape:
        b = b.expand(*shape)
    n = len(shape)
    if not -max(n, 1) <= dim < max(n, 1):
        raise IndexError(f"cosine_similarity: dim {dim} is out of range for inputs with {n} dimensions")
    if n == 0:
        a, b, dim = a.reshape(1), b.reshape(1), 0
    na = _clamp_min_nograd(_pnorm(a, 2, dim, keepdim=True), eps)
    nb = _clamp_min_nograd(_pnorm(b, 2, dim, keepdim=True), eps)
    return _ef.sum((a / na) * (b / nb), dim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """``||x_i - x_j||_p`` for every pair of rows ``i < j`` of an (N, M) input, as a flat (N(N-1)/2,) vector.

    The rows are gathered by index (adjoint: scatter-add); the distance of identical rows has gradient 0.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.pdist(ef.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])).tolist()
    [5.0, 10.0, 5.0]
    """
    _tensor(input, "input", "pdist")
    if input.dim() != 2:
        raise RuntimeError(f"pdist: expected a 2-D input (N, M), got {input.dim()}-D of shape {list(input.shape)}")
    if p < 0:
        raise RuntimeError(f"pdist: expected a non-negative p, got {p}")
    N = input.shape[0]
    i, j = np.triu_indices(N, 1)
    xp = input._device.xp
    x = _floating(input)
    diff = _vw.Index((xp.asarray(i),))(x) - _vw.Index((xp.asarray(j),))(x)
    return _pnorm(diff, p, -1)


# ------------------------------------------------------------------------------------------------
# losses


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None, reduce=None,
    reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """``1 - cos(x1, x2)`` where ``y == 1``, ``max(0, cos(x1, x2) - margin)`` where ``y == -1``.

    ``cos = einsum('...i,...i->...', x1, x2) / sqrt((|x1|² + 1e-12)(|x2|² + 1e-12))`` (PyTorch's epsilon);
    inputs (N, D) with target (N), or (D) with a 0-d target.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x1, x2 = ef.tensor([[1.0, 0.0], [1.0, 0.0]]), ef.tensor([[1.0, 0.0], [0.6, 0.8]])
    >>> [round(v, 4) for v in F.cosine_embedding_loss(x1, x2, ef.tensor([1, -1]), reduction="none").tolist()]
    [0.0, 0.6]
    """
    fn = "cosine_embedding_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        _tensor(t, name, fn)
    if target.dim() not in (0, 1):
        raise RuntimeError(f"{fn}: expected a 0-D or 1-D target (multi-target is not supported), got {target.dim()}-D")
    want = 2 if target.dim() == 1 else 1
    if input1.dim() != want or input2.dim() != want:
        raise RuntimeError(
            f"{fn}: a {target.dim()}-D target expects {want}-D inputs, got input1 {list(input1.shape)} and "
            f"input2 {list(input2.shape)}"
        )
    prod = _contract("...i,...i->...", input1, input2)
    m1 = _contract("...i,...i->...", input1, input1) + 1e-12
    m2 = _contract("...i,...i->...", input2, input2) + 1e-12
    cos = prod / _ef.sqrt(m1 * m2)
    pos = _ef.where(target == 1, 1 - cos, 0.0)
    neg = _ef.where(target == -1, (cos - margin).clamp(min=0.0), 0.0)
    return _reduce(pos + neg, reduction, fn)


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0, size_average=None, reduce=None,
    reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """``max(0, -y·(x1 - x2) + margin)``: ``y = 1`` ranks ``x1`` above ``x2``, ``y = -1`` below.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.margin_ranking_loss(ef.tensor([1.0, 2.0]), ef.tensor([2.0, 0.0]), ef.tensor([1.0, -1.0]), reduction="none").tolist()
    [1.0, 2.0]
    """
    fn = "margin_ranking_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        _tensor(t, name, fn)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(
            f"{fn}: expected input1, input2 and target with the same number of dimensions, got input1 "
            f"{list(input1.shape)}, input2 {list(input2.shape)} and target {list(target.shape)}"
        )
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0.0), reduction, fn)


def hinge_embedding_loss(
    input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """``x`` where ``y == 1``, ``max(0, margin - x)`` where ``y == -1`` (PyTorch: ``y ∉ {1, -1}`` gets both terms).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.hinge_embedding_loss(ef.tensor([0.5, 0.25, 2.0]), ef.tensor([1.0, -1.0, -1.0]), reduction="none").tolist()
    [0.5, 0.75, 0.0]
    """
    fn = "hinge_embedding_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    _tensor(input, "input", fn)
    _tensor(target, "target", fn)
    margin_term = _ef.where(target != 1, (margin - input).clamp(min=0.0), 0.0)
    self_term = _ef.where(target != -1, input, 0.0)
    return _reduce(margin_term + self_term, reduction, fn)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-y·x))``, computed without overflow (``-logsigmoid(y·x)``).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.soft_margin_loss(ef.tensor([0.0, 2.0]), ef.tensor([1.0, -1.0])).item(), 4)
    1.41
    """
    fn = "soft_margin_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    _tensor(input, "input", fn)
    _tensor(target, "target", fn)
    return _reduce(-_log_sigmoid(input * target), reduction, fn)


def multilabel_soft_margin_loss(
    input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Per sample, the mean over the C classes of ``-(y log σ(x) + (1-y) log σ(-x))`` (optionally ``weight``-ed).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.multilabel_soft_margin_loss(ef.tensor([[0.0, 2.0]]), ef.tensor([[1.0, 0.0]])).item(), 4)
    1.41
    """
    fn = "multilabel_soft_margin_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    _tensor(input, "input", fn)
    _tensor(target, "target", fn)
    if input.dim() == 0:
        raise RuntimeError(f"{fn}: expected an input (C) or (N, C), got a 0-d tensor")
    loss = -(target * _log_sigmoid(input) + (1 - target) * _log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    C = input.shape[-1]
    return _reduce(_ef.sum(loss, -1) * (1.0 / C), reduction, fn)


def _class_targets(input: Tensor, target: Tensor, fn: str) -> tuple[Tensor, np.ndarray, tuple]:
    """(N, C) input and host (N,) targets of ``multi_margin_loss``; also the shape of the unreduced loss."""
    if input.dim() > 2 or input.numel() == 0:
        raise RuntimeError(f"{fn}: expected a non-empty input (C) or (N, C), got shape {list(input.shape)}")
    x = input.reshape(1, -1) if input.dim() <= 1 else input
    N, C = x.shape
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}: expected a target of class indices (Long), got {target.dtype}")
    if target.numel() != N or target.dim() > 1:
        raise RuntimeError(
            f"{fn}: inconsistent target size: expected {N} class indices, got target of shape {list(target.shape)}"
        )
    t = _host(target).reshape(N)
    if t.size and (t.min() < 0 or t.max() >= C):
        raise IndexError(f"{fn}: target values must be in [0, {C}), got [{int(t.min())}, {int(t.max())}]")
    return x, t, tuple(target.shape)


def multi_margin_loss(
    input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None, size_average=None,
    reduce=None, reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """Multi-class hinge: per sample ``Σ_{i≠y} w[y]·max(0, margin - x[y] + x[i])^p / C``, ``p`` in {1, 2}.

    ``x[y]`` is a gather; the sum over classes a contraction ``'nc->n'``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.multi_margin_loss(ef.tensor([[0.1, 0.2, 0.4, 0.8]]), ef.tensor([3])).item(), 4)
    0.325
    """
    fn = "multi_margin_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    _tensor(input, "input", fn)
    _tensor(target, "target", fn)
    if p not in (1, 2):
        raise ValueError(f"{fn}: only p == 1 and p == 2 are supported, got p={p}")
    if weight is not None and weight.dim() != 1:
        raise ValueError(f"{fn}: expected weight to be None or a 1-D tensor of C class weights, got {weight.dim()}-D")
    x, t, out_shape = _class_targets(input, target, fn)
    N, C = x.shape
    xp = x._device.xp
    ti = xp.asarray(t)
    xy = _vw.Index((xp.arange(N)[:, None], ti[:, None]))(x)  # (N, 1): the target class' score
    z = _ef.relu(margin - xy + x)  # strict hinge: no gradient at z == 0 (as PyTorch)
    h = z if p == 1 else z * z
    others = _const(ti[:, None] != xp.arange(C)[None, :], x)
    h = _ef.where(others, h, 0.0)
    if weight is not None:
        if weight.shape[0] != C:
            raise RuntimeError(f"{fn}: expected weight of {C} class weights, got shape {list(weight.shape)}")
        h = h * _vw.Index((ti[:, None],))(weight.to(x.dtype))
    loss = _contract("nc->n", h) * (1.0 / C)
    return _reduce(loss.reshape(*out_shape) if tuple(out_shape) != (N,) else loss, reduction, fn)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-label hinge: per sample ``Σ_{j∈Y} Σ_{i∉Y} max(0, 1 - (x[j] - x[i])) / C``.

    ``target`` holds class indices, padded with ``-1`` (the first ``-1`` ends the list). The pairwise
    hinges ``h[n, j, i]`` are reduced by one contraction ``einsum('nc,ni,nci->n', count, non_target, h)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.multilabel_margin_loss(ef.tensor([[0.1, 0.2, 0.4, 0.8]]), ef.tensor([[3, 0, -1, 1]])).item(), 4)
    0.85
    """
    fn = "multilabel_margin_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    _tensor(input, "input", fn)
    _tensor(target, "target", fn)
    if input.dim() not in (1, 2) or input.numel() == 0:
        raise RuntimeError(f"{fn}: expected a non-empty input (C) or (N, C), got shape {list(input.shape)}")
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"{fn}: expected a target of the input's shape {list(input.shape)}, got {list(target.shape)}")
    if target._data.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}: expected a target of class indices (Long) padded with -1, got {target.dtype}")
    x = input.reshape(1, -1) if input.dim() == 1 else input
    N, C = x.shape
    t = _host(target).reshape(N, C)
    if t.size and (t.min() < -1 or t.max() >= C):
        raise IndexError(f"{fn}: target values must be class indices in [0, {C}) or -1 (end of list), got [{t.min()}, {t.max()}]")
    valid = np.cumprod(t != -1, axis=1).astype(bool)  # up to the first -1
    count = ((t[:, :, None] == np.arange(C)) & valid[:, :, None]).sum(1)  # (N, C): how often each class is a target
    dt = x._data.dtype
    cnt = _const(count.astype(dt), x)
    non_target = _const((count == 0).astype(dt), x)
    h = _ef.relu(1 - x.unsqueeze(2) + x.unsqueeze(1))  # h[n, j, i] = max(0, 1 - x[n, j] + x[n, i])
    loss = _contract("nc,ni,nci->n", cnt, non_target, h) * (1.0 / C)
    return _reduce(loss.reshape(()) if input.dim() == 1 else loss, reduction, fn)


def triplet_margin_loss(
    anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2, eps: float = 1e-6,
    swap: bool = False, size_average=None, reduce=None, reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """``max(0, margin + d(a, p) - d(a, n))`` with ``d = pairwise_distance(·, ·, p, eps)``.

    ``swap=True`` uses ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al.).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> a, p, n = ef.tensor([[0.0, 0.0]]), ef.tensor([[3.0, 4.0]]), ef.tensor([[0.0, 1.0]])
    >>> round(F.triplet_margin_loss(a, p, n, eps=0.0).item(), 4)
    5.0
    """
    fn = "triplet_margin_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    if margin <= 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _tensor(t, name, fn)
    _same_ndim({"anchor": anchor, "positive": positive, "negative": negative}, fn)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = _ef.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp(min=0.0), reduction, fn)


def triplet_margin_with_distance_loss(
    anchor: Tensor, positive: Tensor, negative: Tensor, *, distance_function: Callable[[Tensor, Tensor], Tensor] | None = None,
    margin: float = 1.0, swap: bool = False, reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """``max(0, margin + d(a, p) - d(a, n))`` for any ``distance_function`` (default ``pairwise_distance``).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> a, p, n = ef.tensor([[1.0, 0.0]]), ef.tensor([[1.0, 0.0]]), ef.tensor([[0.0, 1.0]])
    >>> cos_dist = lambda x, y: 1 - F.cosine_similarity(x, y)
    >>> F.triplet_margin_with_distance_loss(a, p, n, distance_function=cos_dist, margin=1.5).item()
    0.5
    """
    fn = "triplet_margin_with_distance_loss"
    reduction = _reduction(reduction, None, None, fn)
    if margin <= 0:
        raise ValueError(f"{fn}: margin must be greater than 0, got {margin}")
    _same_ndim({"anchor": anchor, "positive": positive, "negative": negative}, fn)
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = _ef.minimum(d_neg, dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp(min=0.0), reduction, fn)


def poisson_nll_loss(
    input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None, eps: float = 1e-8,
    reduce=None, reduction: str = "mean",
) -> Tensor:  # fmt: skip
    """Poisson NLL: ``exp(x) - y·x`` (``log_input``) or ``x - y·log(x + eps)``.

    ``full=True`` adds the Stirling term ``y log y - y + ½ log(2πy)`` where ``y > 1``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> round(F.poisson_nll_loss(ef.tensor([0.0, 1.0]), ef.tensor([1.0, 2.0])).item(), 4)
    0.8591
    """
    fn = "poisson_nll_loss"
    reduction = _reduction(reduction, size_average, reduce, fn)
    _tensor(input, "input", fn)
    _tensor(target, "target", fn)
    if log_input:
        loss = _ef.exp(input) - target * input
    else:
        loss = input - target * _ef.log(input + eps)
    if full:
        big = target > 1
        ts = _ef.where(big, target, 1.0)
        stirling = ts * _ef.log(ts) - ts + 0.5 * _ef.log(2 * math.pi * ts)
        loss = loss + _ef.where(big, stirling, 0.0)
    return _reduce(loss, reduction, fn)


def gaussian_nll_loss(
    input: Tensor, target: Tensor, var: Tensor | float, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
) -> Tensor:
    """Gaussian NLL ``½ (log max(var, eps) + (x - y)² / max(var, eps))`` (+ ``½ log 2π`` when ``full``).

    ``var`` has the input's shape, or one dimension fewer (the last), or size 1 in exactly one
    dimension, or is a float (PyTorch's rules); the clamp at ``eps`` changes the value only, the
    gradient passes it (as PyTorch's in-place clamp under no_grad).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.gaussian_nll_loss(ef.tensor([[1.0, 2.0]]), ef.tensor([[1.0, 4.0]]), ef.tensor([1.0]), reduction="sum").item()
    2.0
    """
    fn = "gaussian_nll_loss"
    _tensor(input, "input", fn)
    _tensor(target, "target", fn)
    if isinstance(var, numbers.Real) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{fn}: var has negative entry/entries: got {var}; pass a non-negative variance")
        var = _ef.full_like(input, float(var))
    _tensor(var, "var", fn)
    if bool((var < 0).any()):
        raise ValueError(f"{fn}: var has negative entry/entries; pass non-negative variances")
    ishape, vshape = tuple(input.shape), tuple(var.shape)
    if vshape != ishape:
        if ishape[:-1] == vshape:
            var = var.unsqueeze(-1)
        elif len(ishape) == len(vshape) and sum(v for i, v in zip(ishape, vshape) if i != v) == 1:
            pass  # broadcastable with size 1 in exactly one dimension
        else:
            raise ValueError(
                f"{fn}: var is of incorrect size: expected the input's shape {list(ishape)}, that shape without its last "
                f"dimension, or a size of 1 in exactly one dimension, got {list(vshape)}"
            )
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{fn}: {reduction!r} is not a valid value for reduction; use 'none', 'mean' or 'sum'")
    v = _clamp_min_nograd(var, eps)
    d = input - target
    loss = 0.5 * (_ef.log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction, fn)


def _lengths(lengths, n: int, unbatched: bool, name: str, fn: str) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths._data.dtype.kind not in "iu":
            raise RuntimeError(f"{fn}: expected integer {name}, got {lengths.dtype}")
        a = _host(lengths)
    else:
        a = np.asarray(lengths)
        if a.dtype.kind not in "iu":
            raise RuntimeError(f"{fn}: expected integer {name} (a tensor, tuple or list of ints), got {a.dtype}")
    a = a.astype(np.int64).reshape(-1)
    if a.shape != (n,):
        want = "()" if unbatched else f"({n},)"
        raise RuntimeError(f"{fn}: expected {name} of shape {want}, one per batch entry, got {a.size} values")
    return a


_CTC_NEG = -1e30  # log(0) stand-in: exp(-1e30 - m) is 0 and its gradient finite (a true -inf would give inf·0 = nan)


def ctc_loss(
    log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0, reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:  # fmt: skip
    """Connectionist Temporal Classification loss: the CTC forward recursion in log space over time steps.

    ``log_probs`` (T, N, C) or (T, C) are log-probabilities (e.g. ``log_softmax``); ``targets`` (N, S)
    padded or 1-D concatenated; ``input_lengths``/``target_lengths`` tensors, tuples or lists. Each
    step is ``α_t(s) = logsumexp(α_{t-1}(s), α_{t-1}(s-1), α_{t-1}(s-2)) + log_probs[t, l'(s)]`` over
    the blank-interleaved labels ``l'``; the loss is ``-logsumexp`` of the last two states.
    ``'mean'`` divides each loss by its target length (at least 1), then averages over the batch.
    An impossible alignment gives ``inf`` (``0`` with ``zero_infinity``), with zero gradient.

    The gradient is the exact derivative with respect to ``log_probs``; PyTorch's native kernel
    adds ``exp(log_probs)`` to it, a term that cancels through ``log_softmax``, so gradients of the
    logits feeding a ``log_softmax`` agree.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> lp = ef.tensor([[[0.5, 0.5]], [[0.5, 0.5]]]).log()  # T=2, N=1, C=2
    >>> round(F.ctc_loss(lp, ef.tensor([[1]]), [2], [1], reduction="sum").exp().item(), 4)  # 3 paths of 1/4
    1.3333
    """
    fn = "ctc_loss"
    reduction = _reduction(reduction, None, None, fn)
    _tensor(log_probs, "log_probs", fn)
    _tensor(targets, "targets", fn)
    if log_probs.dim() not in (2, 3):
        raise RuntimeError(f"{fn}: expected log_probs of shape (T, N, C) or (T, C), got {list(log_probs.shape)}")
    unbatched = log_probs.dim() == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    T, N, C = lp.shape
    if not 0 <= blank < C:
        raise ValueError(f"{fn}: blank must be a class index in [0, {C}), got {blank}")
    il = _lengths(input_lengths, N, unbatched, "input_lengths", fn)
    tl = _lengths(target_lengths, N, unbatched, "target_lengths", fn)
    if (il < 0).any() or (il > T).any():
        raise RuntimeError(f"{fn}: expected input_lengths in [0, T={T}], got {il.tolist()}")
    if (tl < 0).any():
        raise RuntimeError(f"{fn}: expected non-negative target_lengths, got {tl.tolist()}")
    if targets.numel() and targets._data.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}: expected targets of class indices (integers), got {targets.dtype}")
    tg = _host(targets).astype(np.int64)
    if unbatched:
        if tg.ndim != 1:
            raise RuntimeError(f"{fn}: unbatched log_probs (T, C) expect 1-D targets (S), got shape {list(targets.shape)}")
        tg = tg.reshape(1, -1)
    if tg.ndim == 2:  # padded (N, S)
        if tg.shape[0] != N:
            raise RuntimeError(f"{fn}: expected padded targets of shape (N={N}, S), got {list(targets.shape)}")
        if (tl > tg.shape[1]).any():
            raise RuntimeError(f"{fn}: target_lengths {tl.tolist()} exceed the padded target length {tg.shape[1]}")
        rows = [tg[n, : tl[n]] for n in range(N)]
    elif tg.ndim == 1:  # concatenated
        if tl.sum() > tg.size:
            raise RuntimeError(f"{fn}: expected concatenated targets of sum(target_lengths) = {tl.sum()} labels, got {tg.size}")
        starts = np.concatenate([[0], np.cumsum(tl)[:-1]]).astype(np.int64)
        rows = [tg[s : s + k] for s, k in zip(starts, tl)]
    else:
        raise RuntimeError(f"{fn}: expected targets (N, S) or 1-D concatenated, got shape {list(targets.shape)}")
    S = int(tl.max()) if N else 0
    L = 2 * S + 1
    ext = np.full((N, L), blank, dtype=np.int64)
    for n, r in enumerate(rows):
        if r.size and (r.min() < 0 or r.max() >= C):
            raise IndexError(f"{fn}: target labels must be class indices in [0, {C}), got [{r.min()}, {r.max()}] in entry {n}")
        ext[n, 1 : 2 * r.size : 2] = r
    allow2 = np.zeros((N, L), dtype=bool)  # the skip s-2 -> s: onto a label that differs from the one before
    allow2[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    xp = lp._device.xp
    dt = lp._data.dtype
    lp_ext = _vw.Index((slice(None), xp.arange(N)[:, None], xp.asarray(ext)))(lp)  # (T, N, L) gather
    lp_ext = lp_ext.clamp(min=_CTC_NEG)
    start = np.full((N, L), _CTC_NEG)
    start[:, 0] = 0.0  # a virtual state before t = 0, one step before s = 0
    alpha = _const(start.astype(dt), lp)
    allow2_t = _const(allow2, lp)
    for t in range(int(il.max()) if N else 0):
        s1 = _vw.Pad(((0, 0), (1, 0)), _CTC_NEG)(alpha[:, : L - 1])
        s2 = _ef.where(allow2_t, _vw.Pad(((0, 0), (2, 0)), _CTC_NEG)(alpha[:, : L - 2]), _CTC_NEG) if L > 2 else None
        m = _ef.maximum(alpha, s1) if s2 is None else _ef.maximum(_ef.maximum(alpha, s1), s2)
        m = m.detach()
        acc = _ef.exp(alpha - m) + _ef.exp(s1 - m)
        if s2 is not None:
            acc = acc + _ef.exp(s2 - m)
        new = _ef.log(acc) + m + lp_ext[t]
        active = t < il
        alpha = new if active.all() else _ef.where(_const(active[:, None], lp), new, alpha)
    ar = xp.arange(N)
    last_blank = _vw.Index((ar, xp.asarray(2 * tl)))(alpha)
    last_label = _vw.Index((ar, xp.asarray(np.maximum(2 * tl - 1, 0))))(alpha)
    last_label = _ef.where(_const(tl > 0, lp), last_label, _CTC_NEG)
    m = _ef.maximum(last_blank, last_label).detach()
    nll = -(_ef.log(_ef.exp(last_blank - m) + _ef.exp(last_label - m)) + m)
    impossible = _const(_host(nll) > 1e29, lp)
    nll = _ef.where(impossible, 0.0 if zero_infinity else math.inf, nll)
    if reduction == "mean":
        return (nll / _const(np.maximum(tl, 1).astype(dt), lp)).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.reshape(()) if unbatched else nll


# ------------------------------------------------------------------------------------------------
# pools


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Adaptive 1-D average pooling as one contraction with a bin-averaging matrix: ``einsum('bcw,iw->bci')``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_avg_pool1d(ef.arange(5.0).reshape(1, 1, 5), 2).tolist()
    [[[1.0, 3.0]]]
    """
    return _adaptive_avg_poolnd(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Adaptive 1-D max pooling: a gather of each bin's first maximum (``max_pool1d`` when the bins tile evenly).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_max_pool1d(ef.tensor([[[1.0, 5.0, 2.0, 0.0, 3.0]]]), 2).tolist()
    [[[5.0, 3.0]]]
    """
    return _adaptive_max_poolnd(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool1d`` that always returns ``(values, indices)`` (as PyTorch's alias).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_max_pool1d_with_indices(ef.tensor([[[1.0, 5.0, 2.0, 0.0]]]), 2)[1].tolist()
    [[[1, 2]]]
    """
    return _adaptive_max_poolnd(input, output_size, True, 1, "adaptive_max_pool1d_with_indices")


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool2d`` that always returns ``(values, indices)`` (flat indices into each plane).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_max_pool2d_with_indices(ef.arange(16.0).reshape(1, 1, 4, 4), 1)[1].tolist()
    [[[[15]]]]
    """
    return _adaptive_max_poolnd(input, output_size, True, 2, "adaptive_max_pool2d_with_indices")


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = False) -> tuple[Tensor, Tensor]:
    """``adaptive_max_pool3d`` that always returns ``(values, indices)`` (flat indices into each volume).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.adaptive_max_pool3d_with_indices(ef.arange(8.0).reshape(1, 1, 2, 2, 2), 1)[1].tolist()
    [[[[[7]]]]]
    """
    return _adaptive_max_poolnd(input, output_size, True, 3, "adaptive_max_pool3d_with_indices")


def max_pool1d_with_indices(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """``max_pool1d`` that always returns ``(values, indices)`` (as PyTorch's alias).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.max_pool1d_with_indices(ef.tensor([[[1.0, 3.0, 2.0, 5.0]]]), 2)[1].tolist()
    [[[1, 3]]]
    """
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, True, 1, "max_pool1d_with_indices")


def max_pool2d_with_indices(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """``max_pool2d`` that always returns ``(values, indices)`` (flat indices into each input plane).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.max_pool2d_with_indices(ef.arange(16.0).reshape(1, 1, 4, 4), 2)[1].tolist()
    [[[[5, 7], [13, 15]]]]
    """
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, True, 2, "max_pool2d_with_indices")


def max_pool3d_with_indices(
    input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False, return_indices: bool = False
) -> tuple[Tensor, Tensor]:
    """``max_pool3d`` that always returns ``(values, indices)`` (flat indices into each input volume).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.max_pool3d_with_indices(ef.arange(8.0).reshape(1, 1, 2, 2, 2), 2)[1].tolist()
    [[[[[7]]]]]
    """
    return _max_poolnd(input, kernel_size, stride, padding, dilation, ceil_mode, True, 3, "max_pool3d_with_indices")


_AVG_POOL = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}
_MAX_POOL = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}


def _lp_poolnd(input: Tensor, norm_type, kernel_size, stride, ceil_mode: bool, n: int, fn: str) -> Tensor:
    _tensor(input, "input", fn)
    if norm_type == math.inf:
        return _MAX_POOL[n](_ef.abs(input), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -_MAX_POOL[n](-_ef.abs(input), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == 0:
        raise ValueError(f"{fn}: norm_type must be nonzero (the result is a 1/norm_type power), got {norm_type}")
    k = _ntuple(kernel_size, n, "kernel_size", fn)
    out = _AVG_POOL[n](input**norm_type, k, stride, 0, ceil_mode)
    # PyTorch: (sign(out)·relu(|out|)·prod(k))^(1/p), with gradient 0 where the window's sum is 0
    s = out * math.prod(k)
    nz = s != 0
    return _ef.where(nz, _ef.where(nz, s, 1.0) ** (1.0 / norm_type), 0.0)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling ``(Σ_window x^p)^(1/p)``: ``avg_pool1d(x^p)·k``, then the ``1/p`` power.

    ``norm_type=inf`` is max pooling of ``|x|``; where a window's sum is 0 the gradient is 0 (as PyTorch).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.lp_pool1d(ef.tensor([[[3.0, 4.0, 6.0, 8.0]]]), 2, 2).tolist()
    [[[5.0, 10.0]]]
    """
    return _lp_poolnd(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """2-D power-average pooling: ``(avg_pool2d(x^p)·kh·kw)^(1/p)`` (a Window + one contraction inside).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.lp_pool2d(ef.ones(1, 1, 4, 4), 1, 2).tolist()
    [[[[4.0, 4.0], [4.0, 4.0]]]]
    """
    return _lp_poolnd(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """3-D power-average pooling: ``(avg_pool3d(x^p)·kd·kh·kw)^(1/p)``.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.lp_pool3d(ef.ones(1, 1, 2, 2, 2), 2, 2).flatten().tolist()
    [2.8284270763397217]
    """
    return _lp_poolnd(input, norm_type, kernel_size, stride, ceil_mode, 3, "lp_pool3d")


def _unpool_output_size(input: Tensor, k, s, p, output_size, fn: str) -> tuple[int, ...]:
    n = len(k)
    default = [(input.shape[input.dim() - n + d] - 1) * s[d] + k[d] - 2 * p[d] for d in range(n)]
    if output_size is None:
        out = default
    else:
        output_size = [int(v) for v in (output_size if not isinstance(output_size, numbers.Integral) else [output_size])]
        if len(output_size) == n + 2:
            output_size = output_size[2:]
        if len(output_size) != n:
            raise ValueError(f"{fn}: output_size should be a sequence of {n} or {n + 2} elements, got {len(output_size)}")
        for d in range(n):
            lo, hi = default[d] - s[d], default[d] + s[d]
            if not lo < output_size[d] < hi:
                raise ValueError(f"{fn}: invalid output_size {output_size}: dim {d} must be between {lo} and {hi} (exclusive)")
        out = output_size
    if min(out) < 0:
        raise ValueError(f"{fn}: output size {tuple(out)} has a negative dimension; check kernel_size, stride and padding")
    return tuple(out)


def _max_unpoolnd(input: Tensor, indices: Tensor, kernel_size, stride, padding, output_size, n: int, fn: str) -> Tensor:
    x, batched = _batched(input, n, fn)
    _tensor(indices, "indices", fn)
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{fn}: expected indices of the input's shape {list(input.shape)}, got {list(indices.shape)}")
    if indices._data.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}: expected integer indices (from max_pool with return_indices=True), got {indices.dtype}")
    k = _ntuple(kernel_size, n, "kernel_size", fn)
    s = k if stride is None else _ntuple(stride, n, "stride", fn)
    p = _ntuple(padding, n, "padding", fn)
    out = _unpool_output_size(x, k, s, p, output_size, fn)
    B, C = x.shape[0], x.shape[1]
    P = math.prod(out)
    idx = indices._data.reshape(B, C, -1)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= P):
        bad = int(idx.max()) if int(idx.max()) >= P else int(idx.min())
        raise RuntimeError(
            f"{fn}: found an invalid max index {bad}: the output planes have {'x'.join(map(str, out))} = {P} elements; "
            f"pass the kernel_size/stride/padding (or output_size) of the max_pool that made the indices"
        )
    xp = x._device.xp
    key = (xp.arange(B)[:, None, None], xp.arange(C)[None, :, None], idx)
    zeros = _const(xp.zeros((B, C, P), dtype=x._data.dtype), x)
    y = _vw.IndexPut(key)(zeros, x.reshape(B, C, -1)).reshape(B, C, *out)  # scatter; adjoint: gather at the indices
    return y if batched else y.squeeze(0)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of ``max_pool1d``: each value is written at its index of a zero output (a scatter).

    The output length is ``(L - 1)·stride - 2·padding + kernel_size`` unless ``output_size`` says otherwise.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> y, i = F.max_pool1d(ef.tensor([[[1.0, 3.0, 2.0, 5.0]]]), 2, return_indices=True)
    >>> F.max_unpool1d(y, i, 2).tolist()
    [[[0.0, 3.0, 0.0, 5.0]]]
    """
    return _max_unpoolnd(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of ``max_pool2d``: a scatter of the values into a zero (N, C, H, W) output.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> y, i = F.max_pool2d(ef.arange(16.0).reshape(1, 1, 4, 4), 2, return_indices=True)
    >>> F.max_unpool2d(y, i, 2)[0, 0].tolist()[1]
    [0.0, 5.0, 0.0, 7.0]
    """
    return _max_unpoolnd(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Partial inverse of ``max_pool3d``: a scatter of the values into a zero (N, C, D, H, W) output.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> y, i = F.max_pool3d(ef.arange(8.0).reshape(1, 1, 2, 2, 2), 2, return_indices=True)
    >>> F.max_unpool3d(y, i, 2).flatten().tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 7.0]
    """
    return _max_unpoolnd(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")


# ------------------------------------------------------------------------------------------------
# sparse


def embedding_bag(
    input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None, norm_type: float = 2,
    scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False, per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False, padding_idx: int | None = None,
) -> Tensor:  # fmt: skip
    """Sums, means or maxima of bags of embedding rows, without a one-hot matrix.

    The rows are gathered (``F.embedding``; adjoint: scatter-add) and added into their bag by a
    scatter-add (adjoint: gather); ``'mean'`` divides by each bag's size, ``'max'`` gathers each
    bag's first maximum per feature. ``input`` is (B, L) (fixed-size bags) or 1-D with ``offsets``
    (the start of each bag; with ``include_last_offset`` one more, the end). ``per_sample_weights``
    (``'sum'`` only) scale each row; ``padding_idx`` entries are left out of their bag (not counted
    by ``'mean'``). Empty bags give zeros.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> w = ef.arange(8.0).reshape(4, 2)
    >>> F.embedding_bag(ef.tensor([0, 1, 2, 3]), w, ef.tensor([0, 1]), mode="sum").tolist()
    [[0.0, 1.0], [12.0, 15.0]]
    >>> F.embedding_bag(ef.tensor([[0, 2], [1, 3]]), w, mode="max").tolist()
    [[4.0, 5.0], [6.0, 7.0]]
    """
    fn = "embedding_bag"
    _tensor(input, "input", fn)
    _tensor(weight, "weight", fn)
    if weight._data.dtype.kind in "iu" and input._data.dtype.kind == "f":
        import warnings

        warnings.warn(
            "Argument order of nn.functional.embedding_bag was changed. Usage `embedding_bag(weight, input, ...)` is "
            "deprecated, and should now be `embedding_bag(input, weight, ...)`.",
            stacklevel=2,
        )
        weight, input = input, weight
    if per_sample_weights is not None and tuple(per_sample_weights.shape) != tuple(input.shape):
        raise ValueError(
            f"{fn}: expected per_sample_weights of the input's shape {list(input.shape)}, got {list(per_sample_weights.shape)}"
        )
    if weight.dim() != 2:
        raise ValueError(f"{fn}: expected a 2-D weight (num_embeddings, embedding_dim), got {weight.dim()}-D")
    if input._data.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}: expected an integer index tensor (Long/Int), got {input.dtype}")
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                f"{fn}: if input is 2-D (B, L), offsets has to be None (each row is one bag), got offsets of type "
                f"{type(offsets).__name__}"
            )
        B, Lb = input.shape
        starts = np.arange(B, dtype=np.int64) * Lb
        ends = starts + Lb
        flat = _host(input).reshape(-1)
        psw = per_sample_weights.reshape(-1) if per_sample_weights is not None else None
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError(f"{fn}: a 1-D input needs offsets (a 1-D tensor of bag starts), got None")
        if not isinstance(offsets, Tensor) or offsets.dim() != 1:
            raise ValueError(f"{fn}: offsets has to be a 1-D tensor of bag starts, got {getattr(offsets, 'shape', offsets)}")
        off = _host(offsets).astype(np.int64)
        flat = _host(input).reshape(-1)
        total = flat.size
        if off.size and off[0] != 0:
            raise RuntimeError(f"{fn}: offsets[0] has to be 0 (the first bag starts at position 0), got {int(off[0])}")
        if off.size and off[-1] > total:
            raise RuntimeError(f"{fn}: offsets[-1] can not be greater than the input's length {total}, got {int(off[-1])}")
        if (np.diff(off) < 0).any():
            raise RuntimeError(f"{fn}: offsets must be non-decreasing, got {off.tolist()}")
        if include_last_offset:
            if off.size == 0 or off[-1] != total:
                raise ValueError(
                    f"{fn}: include_last_offset=True expects the last offset to be the input's length {total} (the end of "
                    f"the last bag), got {off.tolist()}; append len(input) to offsets"
                )
            starts, ends = off[:-1], off[1:]
        else:
            starts, ends = off, np.append(off[1:], total)
        B = starts.size
        psw = per_sample_weights
    else:
        raise ValueError(f"{fn}: input has to be a 1-D or 2-D tensor, got {input.dim()}-D")
    if mode == "max":
        if scale_grad_by_freq:
            raise ValueError(f"{fn}: max mode does not support scaling the gradient by the frequency; use mode='sum' or 'mean'")
        if sparse:
            raise ValueError(f"{fn}: max mode does not support sparse weights")
    elif mode not in ("sum", "mean"):
        raise ValueError(f"{fn}: mode has to be one of 'sum', 'mean' or 'max', got {mode!r}")
    if sparse:
        raise NotImplementedError(f"{fn}: {_SPARSE_MSG}")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"{fn}: per_sample_weights is only supported for mode='sum' (got mode={mode!r}); "
            "scale the weights yourself or use mode='sum'"
        )
    num, D = weight.shape
    if flat.size and (flat.min() < 0 or flat.max() >= num):
        raise IndexError(f"{fn}: index out of range: indices must be in [0, {num}), got [{int(flat.min())}, {int(flat.max())}]")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise AssertionError(f"{fn}: padding_idx must be within num_embeddings ({num}), got {padding_idx}")
        if padding_idx < 0:
            padding_idx += num
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    # which input positions land in which bag (positions past the last bag's end, or padding, in none)
    pos = np.arange(flat.size)
    bag = np.searchsorted(ends, pos, side="right")  # ends are non-decreasing: the first bag ending after pos
    keep = bag < B
    keep[keep] &= pos[keep] >= starts[bag[keep]]
    if padding_idx is not None:
        keep &= flat != padding_idx
    kept, bag = pos[keep], bag[keep]
    xp = weight._device.xp
    rows = embedding(_const(flat[kept], weight), weight, scale_grad_by_freq=scale_grad_by_freq)  # (K, D) gather
    K = kept.size
    if mode == "max":
        sizes = np.bincount(bag, minlength=B)
        nonempty = sizes > 0
        if K == 0:
            return _vw.IndexAdd((B, D), (xp.zeros(0, dtype=np.int64),))(rows)
        slot = np.arange(K) - np.concatenate([[0], np.cumsum(sizes)[:-1]])[bag]  # position within the bag
        grid = np.full((B, int(sizes.max())), K, dtype=np.int64)  # K: a -inf row filling the shorter bags
        grid[bag, slot] = np.arange(K)
        g = xp.asarray(grid)
        padded = xp.concatenate([rows._data, xp.full((1, D), -xp.inf, dtype=rows._data.dtype)])
        first = g[xp.arange(B)[:, None], padded[g].argmax(axis=1)]  # (B, D): each bag's first maximum, per feature
        if nonempty.all():
            return _vw.Index((first, xp.arange(D)[None, :]))(rows)
        ne = xp.asarray(np.flatnonzero(nonempty))
        best = _vw.Index((first[ne], xp.arange(D)[None, :]))(rows)
        return _vw.IndexAdd((B, D), (ne,))(best)  # empty bags stay zero
    if psw is not None:
        rows = rows * _vw.Index((xp.asarray(kept),))(psw.to(rows.dtype)).unsqueeze(1)
    out = _vw.IndexAdd((B, D), (xp.asarray(bag),))(rows)  # scatter-add into the bags; adjoint: gather
    if mode == "mean":
        out = out * _const((1.0 / np.maximum(np.bincount(bag, minlength=B), 1))[:, None].astype(out._data.dtype), out)
    return out
