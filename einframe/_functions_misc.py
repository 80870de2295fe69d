"""``ef.*`` functions and ``Tensor`` methods: tensor creation helpers and miscellaneous Tensor methods (new_*, random in-place fills, metadata).

Wired by :mod:`einframe._functions`: every name in ``__all__`` becomes ``ef.<name>``, and every entry
of ``METHODS`` (method name -> function taking the tensor first) a ``Tensor`` method (a ``property``
object as the value gives a property, such as ``x.mH``).

Also PyTorch's top-level linear-algebra names (``ef.inverse``, ``ef.det``, ``ef.svd`` with
``torch.svd``'s V-not-Vᴴ semantics, ...), thin wrappers over :mod:`einframe.linalg`.
"""

from __future__ import annotations

import math
import sys
from collections import namedtuple

import numpy as np

from . import _functions as F
from . import dtypes as _dt
from . import linalg as _linalg
from ._functions_index import _make_inplace
from .backend import CPU, to_backend
from .ops.pointwise import sum_to
from .random import generator
from .tensor import Tensor

__all__ = [
    # linear algebra (torch.* spellings)
    "inverse", "det", "logdet", "slogdet", "cholesky", "cholesky_solve", "cholesky_inverse", "triangular_solve",
    "svd", "qr", "pinverse", "matrix_power", "matrix_exp", "chain_matmul", "mv", "inner", "vdot", "cross", "ger",
    "lu", "lu_unpack", "lu_solve",
    # creation / random
    "logspace", "bernoulli", "multinomial", "poisson", "normal",
    # type and tensor queries
    "is_tensor", "numel", "is_floating_point", "result_type", "promote_types", "can_cast", "set_printoptions",
]  # fmt: skip

SVDResult = namedtuple("svd", ["U", "S", "V"])
QRResult = namedtuple("qr", ["Q", "R"])
SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])
TriangularSolveResult = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])
LUUnpackResult = namedtuple("lu_unpack", ["P", "L", "U"])


# ------------------------------------------------------------------------------------------------
# linear algebra with torch.* spellings


def inverse(input: Tensor, *, out=None) -> Tensor:
    """``ef.linalg.inv``.

    >>> import einframe as ef
    >>> ef.inverse(ef.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=ef.float64)).tolist()
    [[1.0, -2.0], [0.0, 1.0]]
    """
    return _linalg.inv(input)


def det(input: Tensor) -> Tensor:
    """``ef.linalg.det``.

    >>> import einframe as ef
    >>> round(ef.det(ef.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=ef.float64)).item(), 10)
    -2.0
    """
    return _linalg.det(input)


def slogdet(input: Tensor):
    """``(sign, logabsdet)``, as ``ef.linalg.slogdet``.

    >>> import einframe as ef
    >>> r = ef.slogdet(ef.tensor([[-2.0, 0.0], [0.0, 3.0]], dtype=ef.float64))
    >>> r.sign.item(), round(r.logabsdet.item(), 4)
    (-1.0, 1.7918)
    """
    return SlogdetResult(*_linalg.slogdet(input))


def logdet(input: Tensor) -> Tensor:
    """``log(det(input))``: NaN for a negative determinant, -inf for a singular matrix.

    >>> import einframe as ef
    >>> a = ef.tensor([[2.0, 0.0], [0.0, 3.0]], dtype=ef.float64)
    >>> round(ef.logdet(a).item(), 4), ef.logdet(-ef.eye(3, dtype=ef.float64)).isnan().item()
    (1.7918, True)
    """
    sign, logabs = _linalg.slogdet(input)
    return F.where(F.lt(sign, 0), math.nan, logabs)


def cholesky(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """``ef.linalg.cholesky`` (``upper`` positional, as ``torch.cholesky``).

    >>> import einframe as ef
    >>> ef.cholesky(ef.tensor([[4.0, 2.0], [2.0, 2.0]], dtype=ef.float64)).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    return _linalg.cholesky(input, upper=upper)


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """Solve ``A X = input`` given the Cholesky factor ``input2`` of ``A`` (two triangular solves).

    >>> import einframe as ef
    >>> L = ef.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=ef.float64)  # A = L @ L.mT = [[4, 2], [2, 2]]
    >>> ef.cholesky_solve(ef.tensor([[6.0], [4.0]], dtype=ef.float64), L).tolist()
    [[1.0], [1.0]]
    """
    lo = input2.mT if upper else input2
    y = _linalg.solve_triangular(lo, input, upper=False)
    return _linalg.solve_triangular(lo.mT, y, upper=True)


def cholesky_inverse(input: Tensor, upper: bool = False, *, out=None) -> Tensor:
    """``A^-1`` given the Cholesky factor of ``A``: ``L^-T L^-1``.

    >>> import einframe as ef
    >>> L = ef.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=ef.float64)
    >>> ef.cholesky_inverse(L).tolist()
    [[0.5, -0.5], [-0.5, 1.0]]
    """
    lo = input.mT if upper else input
    li = _linalg.inv(lo)
    return li.mT @ li


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False, unitriangular: bool = False):
    """``(solution, cloned_coefficient)`` of ``A X = b`` (``A^T X = b`` with ``transpose``), reading one triangle.

    >>> import einframe as ef
    >>> A = ef.tensor([[2.0, 1.0], [0.0, 4.0]], dtype=ef.float64)
    >>> ef.triangular_solve(ef.tensor([[3.0], [4.0]], dtype=ef.float64), A).solution.tolist()
    [[1.0], [1.0]]
    """
    t = A.mT if transpose else A
    x = _linalg.solve_triangular(t, b, upper=upper != transpose, unitriangular=unitriangular)
    return TriangularSolveResult(x, A.clone())


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out=None):
    """``torch.svd``: ``(U, S, V)`` with ``input = U diag(S) V^T`` (V, not Vᴴ); ``some=False`` gives
    full U and V; ``compute_uv=False`` gives zero-filled U and V (m x m, n x n).

    >>> import einframe as ef
    >>> a = ef.tensor([[0.0, 2.0], [1.0, 0.0], [0.0, 0.0]], dtype=ef.float64)
    >>> U, S, V = ef.svd(a)
    >>> S.tolist(), U.shape, ef.allclose(U @ ef.diag(S) @ V.mT, a)
    ([2.0, 1.0], einframe.Size([3, 2]), True)
    """
    if not compute_uv:
        s = _linalg.svdvals(input)
        xp, dev = input._device.xp, input._device
        m, n = input._data.shape[-2:]
        batch = input._data.shape[:-2]
        z = [Tensor._wrap(xp.zeros((*batch, k, k), dtype=input._data.dtype), dev) for k in (m, n)]
        return SVDResult(z[0], s, z[1])
    u, s, vh = _linalg.svd(input, full_matrices=not some)
    return SVDResult(u, s, vh.mT)


def qr(input: Tensor, some: bool = True, *, out=None):
    """``torch.qr``: reduced (``some=True``) or complete QR.

    >>> import einframe as ef
    >>> a = ef.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=ef.float64)
    >>> Q, R = ef.qr(a)
    >>> Q.shape, R.shape, ef.allclose(Q @ R, a)
    (einframe.Size([3, 2]), einframe.Size([2, 2]), True)
    """
    return QRResult(*_linalg.qr(input, "reduced" if some else "complete"))


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """Pseudo-inverse cutting singular values below ``rcond * σ_max``.

    >>> import einframe as ef
    >>> p = ef.pinverse(ef.tensor([[1.0, 2.0]], dtype=ef.float64))
    >>> [[round(v, 4) for v in row] for row in p.tolist()]
    [[0.2], [0.4]]
    """
    return _linalg.pinv(input, rtol=rcond)


def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out=None):
    """Deprecated ``torch.lu``: ``(LU, pivots)`` (and ``infos`` with ``get_infos=True``) of
    ``ef.linalg.lu_factor_ex``.

    >>> import einframe as ef
    >>> LU, piv = ef.lu(ef.tensor([[1.0, 2.0], [3.0, 4.0]]))
    >>> piv.tolist()
    [2, 2]
    """
    r = _linalg.lu_factor_ex(A, pivot=pivot)
    return (r.LU, r.pivots, r.info) if get_infos else (r.LU, r.pivots)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True):
    """``(P, L, U)`` from ``lu_factor``'s packed ``LU`` and pivots: ``A = P L U``.

    >>> import einframe as ef
    >>> A = ef.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=ef.float64)
    >>> P, L, U = ef.lu_unpack(*ef.linalg.lu_factor(A))
    >>> ef.allclose(P @ L @ U, A)
    True
    """
    if LU_data._data.ndim < 2:
        raise RuntimeError(f"lu_unpack: expected LU factors of at least 2 dims, got shape {tuple(LU_data.shape)}")
    m, n = LU_data._data.shape[-2:]
    k = min(m, n)
    xp = LU_data._device.xp
    L = U = P = None
    if unpack_data:  # L (m, k) with its unit diagonal, U (k, n)
        eye = Tensor._wrap(xp.eye(m, k, dtype=LU_data._data.dtype), LU_data._device)
        L, U = F.tril(LU_data, -1)[..., :k] + eye, F.triu(LU_data)[..., :k, :]
    if unpack_pivots:
        perm = xp.asarray(_linalg._perm_from_pivots(LU_pivots, m))
        P = Tensor._wrap(xp.swapaxes(xp.eye(m, dtype=LU_data._data.dtype)[perm], -1, -2), LU_data._device)
    return LUUnpackResult(P, L, U)


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out=None) -> Tensor:
    """Deprecated ``torch.lu_solve(b, LU_data, LU_pivots)``: ``ef.linalg.lu_solve(LU, pivots, b)``."""
    return _linalg.lu_solve(LU_data, LU_pivots, b)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """``ef.linalg.matrix_power``.

    >>> import einframe as ef
    >>> ef.matrix_power(ef.tensor([[1, 1], [0, 1]]), 3).tolist()
    [[1, 3], [0, 1]]
    """
    return _linalg.matrix_power(input, n)


def matrix_exp(input: Tensor) -> Tensor:
    """``ef.linalg.matrix_exp``.

    >>> import einframe as ef
    >>> ef.matrix_exp(ef.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=ef.float64)).tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    """
    return _linalg.matrix_exp(input)


def chain_matmul(*matrices, out=None) -> Tensor:
    """The product of 2-D matrices in the cheapest order (``ef.linalg.multi_dot``).

    >>> import einframe as ef
    >>> ef.chain_matmul(ef.ones(2, 3), ef.ones(3, 4), ef.ones(4, 1)).tolist()
    [[12.0], [12.0]]
    """
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0].clone()
    return _linalg.multi_dot(matrices)


def mv(input: Tensor, vec: Tensor, *, out=None) -> Tensor:
    """Matrix-vector product (``'ij,j->i'``).

    >>> import einframe as ef
    >>> ef.mv(ef.tensor([[1.0, 2.0], [3.0, 4.0]]), ef.tensor([1.0, 1.0])).tolist()
    [3.0, 7.0]
    """
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({input.shape[0]}), mat ({input.shape[0]}x{input.shape[1]}), vec ({vec.shape[0]})"
        )
    return F.matmul(input, vec)


def inner(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Sum over the last dims: shape ``input.shape[:-1] + other.shape[:-1]`` (a product for 0-d inputs).

    >>> import einframe as ef
    >>> ef.inner(ef.tensor([1.0, 2.0]), ef.tensor([3.0, 4.0])).item(), ef.inner(ef.ones(2, 3), ef.ones(4, 3)).shape
    (11.0, einframe.Size([2, 4]))
    """
    if not isinstance(other, Tensor) or input.ndim == 0 or other.ndim == 0:
        return input * other
    if input.shape[-1] != other.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes {list(input.shape)} and {list(other.shape)}"
        )
    return F.einsum(_inner_eq(input.ndim, other.ndim), input, other)


def _inner_eq(na: int, nb: int) -> str:
    from opt_einsum import get_symbol

    a = "".join(get_symbol(i) for i in range(na - 1))
    b = "".join(get_symbol(na + i) for i in range(nb - 1))
    k = get_symbol(na + nb)
    return f"{a}{k},{b}{k}->{a}{b}"


def vdot(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Dot product of two 1-D tensors (real: ``ef.dot``).

    >>> import einframe as ef
    >>> ef.vdot(ef.tensor([1.0, 2.0]), ef.tensor([3.0, 4.0])).item()
    11.0
    """
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input.shape[0] != other.shape[0]:
        n, m = input.shape[0], other.shape[0]
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number of elements, "
            f"but got {n} and {m} elements respectively"
        )
    return F.dot(input, other)


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out=None) -> Tensor:
    """``torch.cross``: with ``dim=None``, the first dim of size 3 (prefer ``ef.linalg.cross``).

    >>> import einframe as ef
    >>> ef.cross(ef.tensor([1.0, 0.0, 0.0]), ef.tensor([0.0, 1.0, 0.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    if dim is None:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
        dim = next((i for i, n in enumerate(shape) if n == 3), -1)
    return _linalg.cross(input, other, dim=dim)


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product (the old name of ``ef.outer``).

    >>> import einframe as ef
    >>> ef.ger(ef.tensor([1, 2]), ef.tensor([3, 4])).tolist()
    [[3, 4], [6, 8]]
    """
    return F.outer(input, vec2)


# ------------------------------------------------------------------------------------------------
# creation and random sampling (seeded by ef.manual_seed)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``.

    >>> import einframe as ef
    >>> ef.logspace(0, 2, 3).tolist()
    [1.0, 10.0, 100.0]
    >>> ef.logspace(0, 3, 4, base=2).tolist()
    [1.0, 2.0, 4.0, 8.0]
    """
    d = F._np_dtype(dtype)
    data = np.power(float(base), np.linspace(float(start), float(end), int(steps), dtype=np.float64))
    if d.kind in "iub":
        data = np.trunc(data)
    return F._make(data.astype(d), dtype, device, requires_grad)


def _host(t: Tensor) -> np.ndarray:
    return np.asarray(to_backend(t._data, CPU))


def _new(like: Tensor, data: np.ndarray) -> Tensor:
    return Tensor._wrap(to_backend(data, like._device), like._device)


def bernoulli(input: Tensor, p=None, *, generator_=None, out=None) -> Tensor:
    """0/1 samples with probability ``input`` (or the scalar ``p``), in ``input``'s dtype (no gradient).

    >>> import einframe as ef
    >>> ef.bernoulli(ef.tensor([0.0, 1.0, 1.0])).tolist()
    [0.0, 1.0, 1.0]
    >>> ef.manual_seed(0)
    >>> ef.bernoulli(ef.full((2, 3), 0.5)).shape
    einframe.Size([2, 3])
    """
    probs = _host(input) if p is None else np.full(tuple(input.shape), float(p))
    if (probs < 0).any() or (probs > 1).any():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    return _new(input, (generator().random(probs.shape) < probs).astype(input._data.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator_=None, out=None) -> Tensor:
    """Indices sampled from the (unnormalised) weights in each row of ``input`` (int64).

    >>> import einframe as ef
    >>> ef.multinomial(ef.tensor([0.0, 1.0, 0.0]), 2, replacement=True).tolist()
    [1, 1]
    >>> ef.manual_seed(0)
    >>> sorted(ef.multinomial(ef.tensor([1.0, 1.0, 1.0]), 3).tolist())
    [0, 1, 2]
    """
    w = _host(input).astype(np.float64)
    if w.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {w.ndim}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    n = w.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rows = w.reshape(-1, n)
    g = generator()
    out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
    for i, r in enumerate(rows):
        s = r.sum()
        if s <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and np.count_nonzero(r) < num_samples:
            raise RuntimeError(
                "invalid multinomial distribution (with replacement=False, not enough non-negative category to sample)"
            )
        out[i] = g.choice(n, size=num_samples, replace=replacement, p=r / s)
    return _new(input, out.reshape(w.shape[:-1] + (num_samples,)))


def poisson(input: Tensor, generator_=None) -> Tensor:
    """Poisson samples with rates ``input``, in ``input``'s dtype (no gradient).

    >>> import einframe as ef
    >>> ef.poisson(ef.zeros(3)).tolist()
    [0.0, 0.0, 0.0]
    >>> ef.manual_seed(0)
    >>> ef.poisson(ef.full((2, 3), 4.0)).shape
    einframe.Size([2, 3])
    """
    return _new(input, generator().poisson(_host(input)).astype(input._data.dtype))


def normal(mean=0.0, std=1.0, size=None, *, generator_=None, out=None, dtype=None, device=None, requires_grad=False):
    """``N(mean, std²)`` samples: tensor means and/or stds (broadcast), or floats with ``size``.
    The samples carry no gradient to ``mean``/``std``.

    >>> import einframe as ef
    >>> ef.normal(ef.tensor([1.0, 2.0]), 0.0).tolist()
    [1.0, 2.0]
    >>> ef.manual_seed(0)
    >>> ef.normal(0.0, 1.0, (2, 3)).shape
    einframe.Size([2, 3])
    """
    tm, ts = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not tm and not ts:
        if size is None:
            raise TypeError("normal() with float mean and std needs a size")
        return F._make(
            generator().normal(float(mean), float(std), F._size((size,))).astype(F._np_dtype(dtype)), dtype, device, requires_grad
        )
    like = mean if tm else std
    m = _host(mean) if tm else float(mean)
    s = _host(std) if ts else float(std)
    if (np.asarray(s) < 0).any():
        raise RuntimeError("normal expects all elements of std >= 0.0")
    shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    dt = like._data.dtype if like._data.dtype.kind == "f" else _dt.get_default_dtype().np
    return _new(like, generator().normal(m, s, shape).astype(dt))


# ------------------------------------------------------------------------------------------------
# type and tensor queries


def is_tensor(obj) -> bool:
    """Whether ``obj`` is an einframe tensor.

    >>> import einframe as ef
    >>> ef.is_tensor(ef.tensor([1])), ef.is_tensor([1])
    (True, False)
    """
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """The number of elements of ``input``.

    >>> import einframe as ef
    >>> ef.numel(ef.zeros(2, 3))
    6
    """
    return int(input._data.size)


def is_floating_point(input: Tensor) -> bool:
    """Whether ``input`` has a floating-point dtype.

    >>> import einframe as ef
    >>> ef.is_floating_point(ef.tensor([1.0])), ef.is_floating_point(ef.tensor([1]))
    (True, False)
    """
    return input._data.dtype.kind == "f"


def _proxy(x):
    if isinstance(x, Tensor):
        return Tensor._wrap(np.zeros(() if x._data.ndim == 0 else (0,), dtype=x._data.dtype), CPU)
    return x


def result_type(tensor1, tensor2) -> _dt.dtype:
    """The dtype an arithmetic op on these operands gives (PyTorch's promotion: categories bool <
    integer < floating; 0-d tensors and Python numbers do not raise the precision within one).

    >>> import einframe as ef
    >>> ef.result_type(ef.tensor([1]), 1.0), ef.result_type(ef.tensor([1], dtype=ef.int8), ef.tensor(1))
    (einframe.float32, einframe.int8)
    """
    a, b = _proxy(tensor1), _proxy(tensor2)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = F.tensor(a)
    return F.add(a, b).dtype


def promote_types(type1, type2) -> _dt.dtype:
    """The smallest dtype both promote to: within a category numpy's rule, across categories the
    higher category's dtype (``promote_types(int64, float16) == float16``).

    >>> import einframe as ef
    >>> ef.promote_types(ef.int64, ef.float16), ef.promote_types(ef.uint8, ef.int8)
    (einframe.float16, einframe.int16)
    """
    a, b = _dt.to_numpy_dtype(type1), _dt.to_numpy_dtype(type2)
    ca, cb = F._category(a), F._category(b)
    if ca == cb:
        return _dt.from_numpy_dtype(np.promote_types(a, b))
    return _dt.from_numpy_dtype(a if ca > cb else b)


def can_cast(from_, to) -> bool:
    """Whether PyTorch allows the cast under its type-promotion rules (no float -> integer, no
    non-bool -> bool).

    >>> import einframe as ef
    >>> ef.can_cast(ef.int32, ef.float32), ef.can_cast(ef.float32, ef.int32)
    (True, False)
    """
    return F._category(_dt.to_numpy_dtype(from_)) <= F._category(_dt.to_numpy_dtype(to))


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Tensor ``repr`` options, as ``torch.set_printoptions`` (``profile``: 'default', 'short', 'full').

    >>> import einframe as ef
    >>> ef.set_printoptions(precision=2)
    >>> ef.tensor([1.23456])
    tensor([1.23])
    >>> ef.set_printoptions(profile='default')
    """
    from .tensor import PRINT_OPTIONS

    profiles = {
        "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
        "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
        "full": dict(precision=4, threshold=sys.maxsize, edgeitems=3, linewidth=80),
    }
    if profile is not None:
        PRINT_OPTIONS.update(profiles[profile])
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if v is not None:
            PRINT_OPTIONS[k] = sys.maxsize if v == math.inf else v
    PRINT_OPTIONS["sci_mode"] = sci_mode


# ------------------------------------------------------------------------------------------------
# Tensor methods


def _new_factory(fill):
    def method(self: Tensor, *size, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
        return fill(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad, **kw)

    return method


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``, with this tensor's dtype and device by default."""
    return F.full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def new_tensor(self: Tensor, data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` with this tensor's dtype and device by default."""
    if isinstance(data, Tensor):
        data = data.detach()
    return F.tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _ptr(a) -> int:
    return int(a.ctypes.data) if isinstance(a, np.ndarray) else int(a.data.ptr)


def stride(self: Tensor, dim: int | None = None):
    """Strides in elements (a tuple, or one dim's)."""
    st = tuple(s // self._data.itemsize for s in self._data.strides)
    return st if dim is None else st[self._dim(dim)]


def storage_offset(self: Tensor) -> int:
    """Offset of the first element from the start of the memory it views, in elements."""
    root = self._data
    while getattr(root, "base", None) is not None and hasattr(root.base, "dtype"):
        root = root.base
    return (_ptr(self._data) - _ptr(root)) // self._data.itemsize


def data_ptr(self: Tensor) -> int:
    return _ptr(self._data)


def ndimension(self: Tensor) -> int:
    return self._data.ndim


def _H(self: Tensor) -> Tensor:
    if self._data.ndim not in (0, 2):
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got {self._data.ndim}-D tensor.")
    return self if self._data.ndim == 0 else self.transpose(0, 1)


def _mH(self: Tensor) -> Tensor:
    if self._data.ndim < 2:
        raise RuntimeError(f"tensor.mH is only supported on matrices or batches of matrices. Got {self._data.ndim}-D tensor.")
    return self.transpose(-2, -1)


def apply_(self: Tensor, callable) -> Tensor:
    """Replace every element ``v`` by ``callable(v)``, in place (CPU tensors, outside autograd)."""
    _check_python_inplace(self, "apply_")
    flat = self._data.reshape(-1)
    for i in range(flat.size):
        flat[i] = callable(flat[i].item())
    self._vc[0] += 1
    return self


def map_(self: Tensor, tensor: Tensor, callable) -> Tensor:
    """``self[i] = callable(self[i], tensor[i])`` elementwise (``tensor`` broadcast), in place."""
    _check_python_inplace(self, "map_")
    other = np.broadcast_to(_host(tensor), self._data.shape).reshape(-1)
    flat = self._data.reshape(-1)
    for i in range(flat.size):
        flat[i] = callable(flat[i].item(), other[i].item())
    self._vc[0] += 1
    return self


def _check_python_inplace(x: Tensor, name: str) -> None:
    if x._device.type != "cpu":
        raise TypeError(f"{name} is only implemented on CPU tensors")
    if x._rg:
        raise RuntimeError(f"{name}(): a tensor that requires grad can't be modified by a Python callable in place")
    if not x._data.flags.c_contiguous or not x._data.flags.writeable:
        x._data = np.ascontiguousarray(x._data)  # pragma: no cover - views are rare here


def pin_memory(self: Tensor, device=None) -> Tensor:
    """A no-op (einframe's host memory needs no pinning): returns ``self``."""
    return self


def share_memory_(self: Tensor) -> Tensor:
    """A no-op: returns ``self``."""
    return self


def is_pinned(self: Tensor, device=None) -> bool:
    return False


def sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum broadcast dims away so the result has ``size`` (which must expand to ``self.shape``)."""
    size = F._size(size)
    shape = tuple(self._data.shape)
    ok = len(size) <= len(shape) and all(s in (1, t) for s, t in zip(reversed(size), reversed(shape)))
    if not ok:
        raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
    r = sum_to(self, size)
    return r if tuple(r._data.shape) == size else r.reshape(size)


def _fill_(draw, name: str):
    def method(self: Tensor, *args, generator=None, **kw) -> Tensor:
        return F._random_(lambda g, s: draw(g, s, *args, **kw))(self)

    method.__name__ = name
    return method


def _bernoulli_draw(g, shape, p=0.5):
    if isinstance(p, Tensor):
        p = np.broadcast_to(_host(p), shape)
    return g.random(shape) < p


bernoulli_ = _fill_(_bernoulli_draw, "bernoulli_")
exponential_ = _fill_(lambda g, s, lambd=1.0: g.exponential(1.0 / lambd, s), "exponential_")
geometric_ = _fill_(lambda g, s, p: g.geometric(p, s), "geometric_")
log_normal_ = _fill_(lambda g, s, mean=1.0, std=2.0: g.lognormal(mean, std, s), "log_normal_")
cauchy_ = _fill_(lambda g, s, median=0.0, sigma=1.0: median + sigma * g.standard_cauchy(s), "cauchy_")


def random_(self: Tensor, from_=None, to=None, *, generator=None) -> Tensor:
    """Integers in ``[from, to)``: ``random_(to)`` from 0; ``random_()`` from 0 to 2**mantissa (floats)
    or the dtype's maximum (integers), as PyTorch."""
    if from_ is None and to is None:
        dt = self._data.dtype
        lo, hi = 0, (2 ** (np.finfo(dt).nmant + 1) + 1 if dt.kind == "f" else (2 if dt == np.bool_ else int(np.iinfo(dt).max)))
    elif to is None:
        lo, hi = 0, int(from_)
    else:
        lo, hi = int(from_), int(to)
    if lo >= hi:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={lo} >= to={hi}")
    return F._random_(lambda g, s: g.integers(lo, hi, s))(self)


METHODS: dict = {
    # linear algebra
    "inverse": inverse, "det": det, "logdet": logdet, "slogdet": slogdet, "cholesky": cholesky,
    "cholesky_solve": cholesky_solve, "cholesky_inverse": cholesky_inverse, "triangular_solve": triangular_solve,
    "svd": svd, "qr": qr, "pinverse": pinverse, "matrix_power": matrix_power, "matrix_exp": matrix_exp, "mv": mv,
    "inner": inner, "vdot": vdot, "cross": cross, "ger": ger, "lu": lu, "lu_solve": lu_solve,
    # creation
    "new_zeros": _new_factory(F.zeros), "new_ones": _new_factory(F.ones), "new_empty": _new_factory(F.empty),
    "new_full": new_full, "new_tensor": new_tensor,
    # metadata
    "stride": stride, "storage_offset": storage_offset, "data_ptr": data_ptr, "ndimension": ndimension,
    "nbytes": property(lambda self: int(self._data.nbytes)), "itemsize": property(lambda self: self._data.itemsize),
    "H": property(_H), "mH": property(_mH), "is_pinned": is_pinned,
    # in place / no-ops
    "apply_": apply_, "map_": map_, "pin_memory": pin_memory, "share_memory_": share_memory_,
    "sum_to_size": sum_to_size,
    # random fills
    "bernoulli_": bernoulli_, "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_,
    "cauchy_": cauchy_, "random_": random_, "bernoulli": bernoulli,
}  # fmt: skip


# ---- fused multiply-adds: ``beta * input + alpha * (one contraction)`` ---------------------------
def _fma(eq: str, name: str, example: str, result: str):
    """``name(input, a, b, *, beta=1, alpha=1)``: one contraction ``eq`` scaled and added to ``input``;
    ``example``/``result`` make its docstring's runnable example."""

    def fn(input: Tensor, a: Tensor, b: Tensor, *, beta=1, alpha=1) -> Tensor:
        prod = F.einsum(eq, a, b)
        prod = prod if alpha == 1 else prod * alpha
        if beta == 0:  # PyTorch ignores input (even NaN/inf in it) when beta is 0
            return prod + F.zeros_like(input)
        return (input if beta == 1 else input * beta) + prod

    fn.__name__ = name
    fn.__doc__ = (
        f"``beta * input + alpha * einsum({eq!r}, a, b)`` (PyTorch's ``{name}``).\n\n"
        f">>> import einframe as ef\n>>> {example}\n{result}\n"
    )
    return fn


addmm = _fma(
    "ij,jk->ik", "addmm", "ef.addmm(ef.ones(2, 2), ef.ones(2, 3), ef.ones(3, 2), beta=2).tolist()", "[[5.0, 5.0], [5.0, 5.0]]"
)
addbmm = _fma(
    "bij,bjk->ik",
    "addbmm",
    "ef.addbmm(ef.zeros(2, 2), ef.ones(3, 2, 4), ef.ones(3, 4, 2)).tolist()",
    "[[12.0, 12.0], [12.0, 12.0]]",
)
baddbmm = _fma(
    "bij,bjk->bik",
    "baddbmm",
    "ef.baddbmm(ef.ones(2, 1, 1), ef.ones(2, 1, 3), ef.ones(2, 3, 1), alpha=0.5).tolist()",
    "[[[2.5]], [[2.5]]]",
)
addmv = _fma("ij,j->i", "addmv", "ef.addmv(ef.ones(2), ef.tensor([[1.0, 2.0], [3.0, 4.0]]), ef.ones(2)).tolist()", "[4.0, 8.0]")
addr = _fma(
    "i,j->ij",
    "addr",
    "ef.addr(ef.zeros(2, 2), ef.tensor([1.0, 2.0]), ef.tensor([3.0, 4.0])).tolist()",
    "[[3.0, 4.0], [6.0, 8.0]]",
)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """Every slice of ``size`` elements along ``dimension``, ``step`` apart, as a new last dim: a ``Window`` view.

    >>> import einframe as ef
    >>> ef.arange(7.0).unfold(0, 3, 2).tolist()
    [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0], [4.0, 5.0, 6.0]]
    """
    from .ops.window import Window

    d = self._dim(dimension) if self.dim() else 0
    n = self.shape[d] if self.dim() else 1
    if size > n or size < 0:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    x = self if self.dim() else self.reshape(1)
    moved = F.movedim(x, d, -1)
    win = Window((size,), (step,), (1,))(moved)  # (..., windows, size)
    return F.movedim(win, -2, d)


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal in place (all dims equal for ndim > 2; ``wrap`` restarts it below N columns)."""
    if self.dim() < 2:
        raise RuntimeError("dimensions must larger than 1")
    shape = self.shape
    if self.dim() > 2 and len(set(shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    xp = self._device.xp
    if self.dim() == 2:
        rows, cols = shape
        n = rows if wrap else min(rows, cols)
        r = xp.arange(n)
        keep = (r % (cols + 1)) < cols if wrap else r < n
        idx = (r[keep], (r % (cols + 1))[keep] if wrap else r)
    else:
        r = xp.arange(shape[0])
        idx = (r,) * self.dim()
    mask = xp.zeros(tuple(shape), dtype=bool)
    mask[idx] = True
    return self.masked_fill_(Tensor._wrap(mask, self._device), fill_value)


def ravel(input: Tensor) -> Tensor:
    """``input.reshape(-1)``.

    >>> import einframe as ef
    >>> ef.ravel(ef.tensor([[1, 2], [3, 4]])).tolist()
    [1, 2, 3, 4]
    """
    return F.reshape(input, (-1,))


def split_with_sizes(self: Tensor, split_sizes, dim: int = 0):
    """``split`` with a list of sizes."""
    return F.split(self, list(split_sizes), dim)


def is_same_size(self: Tensor, other: Tensor) -> bool:
    """Whether ``self`` and ``other`` have the same shape.

    >>> import einframe as ef
    >>> ef.is_same_size(ef.zeros(2, 3), ef.ones(2, 3)), ef.is_same_size(ef.zeros(2, 3), ef.zeros(3, 2))
    (True, False)
    """
    return tuple(self.shape) == tuple(other.shape)


def is_nonzero(input: Tensor) -> bool:
    """The truth of a one-element tensor (PyTorch's error otherwise).

    >>> import einframe as ef
    >>> ef.is_nonzero(ef.tensor([0.5])), ef.is_nonzero(ef.tensor(0))
    (True, False)
    """
    if input.numel() != 1:
        raise RuntimeError(
            "Boolean value of Tensor with more than one value is ambiguous"
            if input.numel()
            else "Boolean value of Tensor with no values is ambiguous"
        )
    return bool(input.item())


def get_device(self: Tensor) -> int:
    """-1 on the CPU, else the CUDA device index (as PyTorch)."""
    return -1 if self.device.type == "cpu" else int(self.device.index or 0)


greater, greater_equal, less, less_equal, not_equal = F.gt, F.ge, F.lt, F.le, F.ne

__all__ += [
    "addmm", "addbmm", "baddbmm", "addmv", "addr", "ravel", "is_nonzero", "is_same_size", "greater", "greater_equal",
    "less", "less_equal", "not_equal",
]  # fmt: skip
METHODS.update({
    "addmm": addmm, "addbmm": addbmm, "baddbmm": baddbmm, "addmv": addmv, "addr": addr,
    "addmm_": _make_inplace(addmm), "addbmm_": _make_inplace(addbmm), "baddbmm_": _make_inplace(baddbmm),
    "addmv_": _make_inplace(addmv), "addr_": _make_inplace(addr), "tril_": _make_inplace(F.tril), "triu_": _make_inplace(F.triu),
    "unfold": unfold, "fill_diagonal_": fill_diagonal_, "ravel": ravel, "split_with_sizes": split_with_sizes,
    "is_same_size": is_same_size, "is_nonzero": is_nonzero, "get_device": get_device,
    "greater": greater, "greater_equal": greater_equal, "less": less, "less_equal": less_equal, "not_equal": not_equal,
    "byte": lambda self: self.to(_dt.uint8), "char": lambda self: self.to(_dt.int8), "short": lambda self: self.to(_dt.int16),
    "is_complex": lambda self: False, "is_signed": lambda self: self._data.dtype.kind in "fic",
    "is_cpu": property(lambda self: self.device.type == "cpu"), "is_inference": lambda self: False,
    "output_nr": property(lambda self: self._output_nr),
    "multinomial": multinomial, "adjoint": property(_mH).fget, "unsafe_chunk": F.chunk, "unsafe_split": F.split,
})  # fmt: skip


def _compare_inplace(fn):
    """``x.<cmp>_(other)``: ``x`` takes 1/0 in its own dtype; a tensor that requires grad keeps a graph
    whose gradient is zero (comparisons are piecewise constant), as PyTorch's ``a.lt_(b)``."""

    def method(self: Tensor, other) -> Tensor:
        def make(s: Tensor) -> Tensor:
            r = F._cast(fn(s, other), s._data.dtype)
            if not s._rg:
                return r
            from .ops.pointwise import Where

            return Where(s._device.xp.zeros(s._data.shape, dtype=bool))(s, r)

        return F._inplace(self, make, other)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"In-place :func:`{fn.__name__}`: 1 where true, 0 elsewhere, in this tensor's dtype."
    return method


METHODS.update({
    name + "_": _compare_inplace(fn)
    for name, fn in (("eq", F.eq), ("ne", F.ne), ("lt", F.lt), ("le", F.le), ("gt", F.gt), ("ge", F.ge),
                     ("greater", F.gt), ("greater_equal", F.ge), ("less", F.lt), ("less_equal", F.le), ("not_equal", F.ne))
})  # fmt: skip
