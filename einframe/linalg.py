"""``ef.linalg``: linear algebra (PyTorch's ``torch.linalg``).

Every name in ``__all__`` is public as ``ef.linalg.<name>``. Functions take batches of matrices
(leading batch dims) as PyTorch does. The factorisations and inverses are primitives of
:mod:`einframe.ops.linalg` (Inv, Solve, SlogDet, Cholesky, QR, Eigh, SVD, Pinv); everything else here
composes them with ordinary einframe ops, so gradients of any order and forward-mode tangents work.

>>> import einframe as ef
>>> a = ef.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=ef.float64)
>>> round(ef.linalg.det(a).item(), 12)
11.0
>>> ef.linalg.solve(a, ef.tensor([1.0, 2.0], dtype=ef.float64)).tolist()
[0.09090909090909091, 0.6363636363636364]
"""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from . import _functions as F
from .ops import linalg as _la
from .ops.linalg import LinAlgError, _mT
from .tensor import Tensor

__all__ = [
    "LinAlgError", "inv", "inv_ex", "solve", "solve_triangular", "det", "slogdet", "cholesky", "cholesky_ex", "qr",
    "eigh", "eigvalsh", "svd", "svdvals", "pinv", "lstsq", "matrix_power", "matrix_exp", "norm", "vector_norm",
    "matrix_norm", "cross", "multi_dot", "vecdot", "matmul", "diagonal", "matrix_rank", "cond", "lu", "lu_factor",
    "lu_factor_ex", "lu_solve",
]  # fmt: skip

SlogdetResult = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
QRResult = namedtuple("linalg_qr", ["Q", "R"])
EighResult = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])
SVDResult = namedtuple("linalg_svd", ["U", "S", "Vh"])
LstsqResult = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
InvExResult = namedtuple("linalg_inv_ex", ["inverse", "info"])
CholeskyExResult = namedtuple("linalg_cholesky_ex", ["L", "info"])
LUResult = namedtuple("linalg_lu", ["P", "L", "U"])
LUFactorResult = namedtuple("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])

_TORCH_NAMES = {
    "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
    "float16": "Half", "bfloat16": "BFloat16",
}  # fmt: skip


# ---- checks ------------------------------------------------------------------------------------


def _check(a, name: str, square: bool = True, arg: str = "A") -> None:
    if not isinstance(a, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(a).__name__}")
    if a._data.ndim < 2:
        raise RuntimeError(f"{name}: The input tensor {arg} must have at least 2 dimensions.")
    _check_float(a, name)
    if square and a._data.shape[-1] != a._data.shape[-2]:
        m, n = a._data.shape[-2:]
        raise RuntimeError(f"{name}: {arg} must be batches of square matrices, but they are {m} by {n} matrices")


def _check_float(a: Tensor, name: str) -> None:
    dt = a._data.dtype
    if dt.kind != "f" or dt == np.float16:
        got = _TORCH_NAMES.get(dt.name, dt.name)
        raise RuntimeError(f"{name}: Expected a floating point or complex tensor as input. Got {got}")


def _zero_info(a: Tensor) -> Tensor:
    return Tensor._wrap(a._device.xp.zeros(a._data.shape[:-2], dtype=np.int32), a._device)


# ---- inverses and solvers ----------------------------------------------------------------------


def inv(A: Tensor, *, out=None) -> Tensor:
    """The inverse of a batch of square matrices; raises :class:`LinAlgError` when singular.

    >>> import einframe as ef
    >>> ef.linalg.inv(ef.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=ef.float64)).tolist()
    [[1.0, -2.0], [0.0, 1.0]]
    """
    _check(A, "linalg.inv")
    return _la.Inv()(A)


def inv_ex(A: Tensor, *, check_errors: bool = False, out=None):
    """``(inverse, info)``; ``info`` is 0 where the inversion succeeded (NaN-filled and 1 otherwise).

    >>> import einframe as ef
    >>> r = ef.linalg.inv_ex(ef.zeros(2, 2, dtype=ef.float64))
    >>> r.info.item(), r.inverse.isnan().all().item()
    (1, True)
    """
    _check(A, "linalg.inv_ex")
    return _with_info(lambda: _la.Inv()(A), A, check_errors, InvExResult)


def _with_info(compute, A: Tensor, check_errors: bool, result):
    """``result(compute(), info)`` as PyTorch's ``*_ex`` functions: on failure NaNs and ``info`` 1
    (or the error itself with ``check_errors``)."""
    try:
        return result(compute(), _zero_info(A))
    except LinAlgError:
        if check_errors:
            raise
        xp = A._device.xp
        bad = Tensor._wrap(xp.full(A._data.shape, np.nan, dtype=A._data.dtype), A._device)
        return result(bad, Tensor._wrap(xp.ones(A._data.shape[:-2], dtype=np.int32), A._device))


def _broadcast_batch(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    batch = np.broadcast_shapes(a._data.shape[:-2], b._data.shape[:-2])
    if a._data.shape[:-2] != batch:
        a = a.expand(*batch, *a._data.shape[-2:])
    if b._data.shape[:-2] != batch:
        b = b.expand(*batch, *b._data.shape[-2:])
    return a, b


def solve(A: Tensor, B: Tensor, *, left: bool = True, out=None) -> Tensor:
    """The solution ``X`` of ``A X = B`` (``X A = B`` when ``left=False``).

    ``B`` is a batch of vectors when it has one dim fewer than ``A`` (or is 1-D), as in PyTorch;
    batch dims broadcast.

    >>> import einframe as ef
    >>> A = ef.tensor([[2.0, 0.0], [0.0, 4.0]], dtype=ef.float64)
    >>> ef.linalg.solve(A, ef.tensor([2.0, 2.0], dtype=ef.float64)).tolist()
    [1.0, 0.5]
    """
    _check(A, "linalg.solve")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve(): argument 'B' must be Tensor, not {type(B).__name__}")
    A, B = F._operands(A, B)
    n = A._data.shape[-1]
    vector = B._data.ndim == 1 or (B._data.ndim == A._data.ndim - 1 and B._data.shape == A._data.shape[:-1])
    if vector:
        if not left:
            raise RuntimeError("linalg.solve: Vector broadcasting of the left hand side is not supported for left=False")
        B = B.unsqueeze(-1)
    if not left:
        return solve(A.mT, B.mT).mT
    if B._data.shape[-2] != n:
        bs = B._data.shape[-2:]
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B ({n}x{n} and {bs[0]}x{bs[1]})")
    A, B = _broadcast_batch(A, B)
    x = _la.Solve()(A, B)
    return x.squeeze(-1) if vector else x


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False, out=None):
    """Solve a triangular system (only the ``upper``/lower triangle of ``A`` is read).

    >>> import einframe as ef
    >>> A = ef.tensor([[2.0, 1.0], [0.0, 4.0]], dtype=ef.float64)
    >>> ef.linalg.solve_triangular(A, ef.tensor([[3.0], [4.0]], dtype=ef.float64), upper=True).tolist()
    [[1.0], [1.0]]
    """
    _check(A, "linalg.solve_triangular")
    t = A.triu() if upper else A.tril()
    if unitriangular:
        n = A._data.shape[-1]
        eye = Tensor._wrap(A._device.xp.eye(n, dtype=A._data.dtype), A._device)
        t = t - t * eye + eye
    if B._data.ndim < 2:
        raise RuntimeError("linalg.solve_triangular: The input tensor B must have at least 2 dimensions.")
    return solve(t, B, left=left)


# ---- determinants ------------------------------------------------------------------------------


def slogdet(A: Tensor, *, out=None):
    """``(sign, logabsdet)`` with ``det = sign * exp(logabsdet)``; the sign has no gradient.

    >>> import einframe as ef
    >>> r = ef.linalg.slogdet(ef.tensor([[-2.0, 0.0], [0.0, 3.0]], dtype=ef.float64))
    >>> r.sign.item(), round(r.logabsdet.item(), 4)
    (-1.0, 1.7918)
    """
    _check(A, "linalg.slogdet")
    sign = A._device.xp.linalg.slogdet(A._data)[0]
    return SlogdetResult(Tensor._wrap(A._device.xp.asarray(sign), A._device), _la.SlogDet()(A))


def det(A: Tensor, *, out=None) -> Tensor:
    """The determinant, ``sign * exp(logabsdet)`` (its gradient ``det(A) A^-T`` needs an invertible A).

    >>> import einframe as ef
    >>> round(ef.linalg.det(ef.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=ef.float64)).item(), 10)
    -2.0
    """
    _check(A, "linalg.det")
    sign, logabs = slogdet(A)
    return sign * logabs.exp()


# ---- factorisations ----------------------------------------------------------------------------


def cholesky(A: Tensor, *, upper: bool = False, out=None) -> Tensor:
    """Lower (``upper=False``) Cholesky factor of a batch of symmetric positive-definite matrices.

    >>> import einframe as ef
    >>> ef.linalg.cholesky(ef.tensor([[4.0, 2.0], [2.0, 2.0]], dtype=ef.float64)).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    _check(A, "linalg.cholesky")
    lo = _la.Cholesky()(A)
    return lo.mT if upper else lo


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out=None):
    """``(L, info)``: ``info`` is 0 on success, 1 (and L NaN) where A is not positive-definite.

    >>> import einframe as ef
    >>> A = ef.tensor([[4.0, 2.0], [2.0, 2.0]], dtype=ef.float64)
    >>> ef.linalg.cholesky_ex(A).L.tolist(), ef.linalg.cholesky_ex(-A).info.item()
    ([[2.0, 0.0], [1.0, 1.0]], 1)
    """
    _check(A, "linalg.cholesky_ex")
    return _with_info(lambda: cholesky(A, upper=upper), A, check_errors, CholeskyExResult)


def qr(A: Tensor, mode: str = "reduced", *, out=None):
    """``(Q, R)`` with ``mode`` 'reduced' (default), 'complete' or 'r' (Q empty).

    >>> import einframe as ef
    >>> A = ef.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=ef.float64)
    >>> Q, R = ef.linalg.qr(A)
    >>> Q.shape, R.shape, ef.allclose(Q @ R, A), ef.allclose(Q.mT @ Q, ef.eye(2, dtype=ef.float64))
    (einframe.Size([3, 2]), einframe.Size([2, 2]), True, True)
    """
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or 'complete'")
    _check(A, "linalg.qr", square=False)
    m, n = A._data.shape[-2:]
    if m >= n:
        node = _la.QR(mode)
        q, r = node.unpack(node(A))
    else:  # A = [X | Y]: Q R_x = X (square), R = [R_x | Q^T Y]
        node = _la.QR("reduced" if mode != "r" else "r")
        q, rx = node.unpack(node(A[..., :m]))
        r = F.cat([rx, q.mT @ A[..., m:]], dim=-1)
    if mode == "r":
        q = Tensor._wrap(A._device.xp.zeros((0,), dtype=A._data.dtype), A._device)
    return QRResult(q, r)


def eigh(A: Tensor, UPLO: str = "L", *, out=None):
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a batch of symmetric matrices,
    reading the ``UPLO`` ('L' or 'U') triangle. Eigenvector gradients need distinct eigenvalues.

    >>> import einframe as ef
    >>> A = ef.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=ef.float64)
    >>> w, V = ef.linalg.eigh(A)
    >>> [round(x, 4) for x in w.tolist()], ef.allclose(A @ V, V * w)
    ([1.0, 3.0], True)
    """
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _check(A, "linalg.eigh")
    node = _la.Eigh(UPLO)
    w, v = node.unpack(node(A))
    return EighResult(w, v)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out=None) -> Tensor:
    """Eigenvalues (ascending) of a batch of symmetric matrices.

    >>> import einframe as ef
    >>> A = ef.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=ef.float64)
    >>> [round(x, 4) for x in ef.linalg.eigvalsh(A).tolist()]
    [1.0, 3.0]
    """
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _check(A, "linalg.eigvalsh")
    return eigh(A, UPLO).eigenvalues


def svd(A: Tensor, full_matrices: bool = True, *, driver=None, out=None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``. With ``full_matrices=True`` (the default, as PyTorch)
    the extra columns of U / rows of Vh complete the bases and carry no gradient (PyTorch narrows
    them away too). U/V gradients need distinct nonzero singular values.

    >>> import einframe as ef
    >>> A = ef.tensor([[0.0, 2.0], [1.0, 0.0], [0.0, 0.0]], dtype=ef.float64)
    >>> U, S, Vh = ef.linalg.svd(A)
    >>> S.tolist(), U.shape, Vh.shape, ef.allclose(U[:, :2] @ ef.diag(S) @ Vh, A)
    ([2.0, 1.0], einframe.Size([3, 3]), einframe.Size([2, 2]), True)
    """
    _check(A, "linalg.svd", square=False)
    node = _la.SVD()
    u, s, v = node.unpack(node(A))
    m, n = A._data.shape[-2:]
    if full_matrices and m != n:
        xp = A._device.xp
        uf, _, vhf = xp.linalg.svd(A._data, full_matrices=True)
        k = builtins.min(m, n)
        if m > k:
            u = F.cat([u, Tensor._wrap(xp.ascontiguousarray(uf[..., k:]), A._device)], dim=-1)
        else:
            rest = Tensor._wrap(xp.ascontiguousarray(xp.swapaxes(vhf[..., k:, :], -1, -2)), A._device)
            v = F.cat([v, rest], dim=-1)
    return SVDResult(u, s, v.mT)


def svdvals(A: Tensor, *, driver=None, out=None) -> Tensor:
    """Singular values in descending order.

    >>> import einframe as ef
    >>> ef.linalg.svdvals(ef.tensor([[3.0, 0.0], [0.0, -4.0]], dtype=ef.float64)).tolist()
    [4.0, 3.0]
    """
    _check(A, "linalg.svdvals", square=False)
    node = _la.SVD()
    return node.unpack(node(A))[1]


def _default_rtol(A: Tensor, atol, rtol):
    if rtol is None:
        if atol is not None and atol > 0:
            return 0.0
        return float(np.finfo(A._data.dtype).eps) * builtins.max(A._data.shape[-2:])
    return float(rtol)


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, rcond=None, out=None) -> Tensor:
    """Moore-Penrose pseudo-inverse; singular values at or below ``max(atol, rtol * σ_max)`` are cut
    (``rtol`` defaults to ``eps * max(m, n)``, as PyTorch; ``rcond`` is the old name of ``rtol``).

    >>> import einframe as ef
    >>> p = ef.linalg.pinv(ef.tensor([[1.0, 2.0]], dtype=ef.float64))
    >>> [[round(v, 4) for v in row] for row in p.tolist()]
    [[0.2], [0.4]]
    """
    _check(A, "linalg.pinv", square=False)
    if rcond is not None:
        rtol = rcond
    return _la.Pinv(float(atol or 0.0), _default_rtol(A, atol, rtol), hermitian)(A)


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """Least-squares (minimum-norm) solution of ``A X = B``, as ``pinv(A) @ B``.

    ``solution`` and ``rank`` are filled; ``residuals`` and ``singular_values`` are empty, as
    PyTorch's default CPU driver ('gelsy') returns them.

    >>> import einframe as ef
    >>> A = ef.tensor([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]], dtype=ef.float64)
    >>> r = ef.linalg.lstsq(A, ef.tensor([[1.0], [3.0], [5.0]], dtype=ef.float64))
    >>> [round(v, 4) for v in r.solution.flatten().tolist()], r.rank.item()
    ([1.0, 2.0], 2)
    """
    _check(A, "linalg.lstsq", square=False)
    A, B = F._operands(A, B)
    vector = B._data.ndim == A._data.ndim - 1
    if vector:
        B = B.unsqueeze(-1)
    if B._data.shape[-2] != A._data.shape[-2]:
        raise RuntimeError(
            f"torch.linalg.lstsq: input.size(-2) should match other.size(-2). Got {A._data.shape[-2]} and {B._data.shape[-2]}"
        )
    x = pinv(A, rtol=rcond) @ B
    if vector:
        x = x.squeeze(-1)
    xp = A._device.xp
    empty = Tensor._wrap(xp.zeros((0,), dtype=A._data.dtype), A._device)
    return LstsqResult(x, empty, matrix_rank(A, rtol=rcond), empty)


# ---- matrix functions --------------------------------------------------------------------------


def _eye_like(A: Tensor) -> Tensor:
    n = A._data.shape[-1]
    xp = A._device.xp
    return Tensor._wrap(xp.broadcast_to(xp.eye(n, dtype=A._data.dtype), A._data.shape), A._device)


def matrix_power(A: Tensor, n: int, *, out=None) -> Tensor:
    """``A`` to the integer power ``n`` by repeated squaring (``n < 0`` inverts first, ``n = 0`` gives I).

    >>> import einframe as ef
    >>> A = ef.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=ef.float64)
    >>> ef.linalg.matrix_power(A, 3).tolist(), ef.linalg.matrix_power(A, -1).tolist()
    ([[1.0, 3.0], [0.0, 1.0]], [[1.0, -1.0], [0.0, 1.0]])
    """
    if A._data.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A._data.shape[-1] != A._data.shape[-2]:
        m, k = A._data.shape[-2:]
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are {m} by {k} matrices")
    n = int(n)
    if n == 0:
        return Tensor._wrap(_eye_like(A)._data.copy(), A._device)
    if n < 0:
        A, n = inv(A), -n
    result, base = None, A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def matrix_exp(A: Tensor) -> Tensor:
    """``exp(A)`` by scaling and squaring with a degree-18 Taylor polynomial (differentiable by composition).

    >>> import einframe as ef
    >>> ef.linalg.matrix_exp(ef.tensor([[0.0, 1.0], [0.0, 0.0]], dtype=ef.float64)).tolist()
    [[1.0, 1.0], [0.0, 1.0]]
    >>> [round(v, 4) for v in ef.linalg.matrix_exp(ef.eye(2, dtype=ef.float64)).diagonal().tolist()]
    [2.7183, 2.7183]
    """
    _check(A, "linalg.matrix_exp")
    norm1 = float(A._device.xp.abs(A._data).sum(-2).max()) if A._data.size else 0.0
    s = builtins.max(0, int(math.ceil(math.log2(norm1))) + 1) if norm1 > 0 else 0
    x = A * (1.0 / 2**s) if s else A
    eye = _eye_like(A)
    result, term = eye, eye
    for k in range(1, 19):
        term = (term @ x) * (1.0 / k)
        result = result + term
    for _ in range(s):
        result = result @ result
    return result


# ---- norms -------------------------------------------------------------------------------------


def _dims(x: Tensor, dim) -> tuple[int, ...] | None:
    if dim is None:
        return None
    if isinstance(dim, int):
        return (x._dim(dim),)
    return tuple(x._dim(d) for d in dim)


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements by default): 2, 1, inf, -inf, 0 or any real.
    The 2-norm has gradient 0 (not NaN) at the zero vector, as PyTorch's.

    >>> import einframe as ef
    >>> x = ef.tensor([3.0, -4.0])
    >>> [ef.linalg.vector_norm(x, ord).item() for ord in (2, 1, float('inf'), 0)]
    [5.0, 7.0, 4.0, 2.0]
    """
    if dtype is not None:
        x = x.to(dtype)
    _check_float(x, "linalg.vector_norm")
    dims = _dims(x, dim)
    if dims is not None and len(dims) == 0:
        dims = None
    if ord in (2, 2.0):
        s = F.sum(x * x, dims, keepdim)
        zero = s._data == 0
        if zero.any():
            return F.where(Tensor._wrap(zero, s._device), 0.0, F.where(Tensor._wrap(zero, s._device), 1.0, s).sqrt())
        return s.sqrt()
    if ord == math.inf:
        return F.amax(x.abs(), dims, keepdim)
    if ord == -math.inf:
        return F.amin(x.abs(), dims, keepdim)
    if ord == 0:
        return F.sum(F.ne(x, 0).to(x.dtype), dims, keepdim)
    if ord == 1:
        return F.sum(x.abs(), dims, keepdim)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number, got '{ord}'")
    return F.sum(x.abs() ** ord, dims, keepdim) ** (1.0 / ord)


_MATRIX_ORDS = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """Matrix norms over the two ``dim``: 'fro', 'nuc', inf, -inf, 1, -1, 2, -2.

    >>> import einframe as ef
    >>> A = ef.tensor([[3.0, 0.0], [0.0, 4.0]], dtype=ef.float64)
    >>> [round(ef.linalg.matrix_norm(A, o).item(), 4) for o in ('fro', 'nuc', 2)]
    [5.0, 7.0, 4.0]
    """
    if dtype is not None:
        A = A.to(dtype)
    if A._data.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    _check_float(A, "linalg.matrix_norm")
    if ord not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    d0, d1 = _dims(A, dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    rest = [i for i in range(A._data.ndim) if i not in (d0, d1)]
    B = A.permute(*rest, d0, d1)
    if ord == "fro":
        r = vector_norm(B, 2, (-2, -1))
    elif ord == "nuc":
        r = svdvals(B).sum(-1)
    elif ord in (2, -2):
        s = svdvals(B)
        r = F.amax(s, -1) if ord == 2 else F.amin(s, -1)
    elif ord in (1, -1):
        c = B.abs().sum(-2)
        r = F.amax(c, -1) if ord == 1 else F.amin(c, -1)
    else:
        c = B.abs().sum(-1)
        r = F.amax(c, -1) if ord == math.inf else F.amin(c, -1)
    if keepdim:
        for d in sorted((d0, d1)):
            r = r.unsqueeze(d)
    return r


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None, out=None) -> Tensor:
    """``vector_norm`` or ``matrix_norm`` by ``ord``/``dim``, as ``torch.linalg.norm``: with neither
    given, the 2-norm of the flattened input; a 2-tuple ``dim`` or a string ``ord`` means a matrix norm.

    >>> import einframe as ef
    >>> ef.linalg.norm(ef.tensor([3.0, 4.0])).item(), ef.linalg.norm(ef.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
    (5.0, 6.0)
    """
    if dtype is not None:
        A = A.to(dtype)
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim)
        return vector_norm(A, 2 if ord is None else ord, dims, keepdim)
    if ord is None:
        return vector_norm(A, 2, None, keepdim)
    if A._data.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {A._data.ndim}D.")
    if A._data.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim)
    return vector_norm(A, ord, None, keepdim)


def cond(A: Tensor, p=None, *, out=None) -> Tensor:
    """Condition number: ``σ_max / σ_min`` for ``p`` None/2 (``σ_min/σ_max`` for -2), else
    ``matrix_norm(A, p) * matrix_norm(inv(A), p)``.

    >>> import einframe as ef
    >>> round(ef.linalg.cond(ef.tensor([[1.0, 0.0], [0.0, 4.0]], dtype=ef.float64)).item(), 4)
    4.0
    """
    if p in (None, 2, -2):
        _check(A, "linalg.cond", square=False)
        s = svdvals(A)
        r = s[..., 0] / s[..., -1]
        return r if p != -2 else 1.0 / r
    _check(A, "linalg.cond")
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, tol=None, out=None) -> Tensor:
    """The number of singular values above ``max(atol, rtol * σ_max)`` (int64; no gradient).
    ``tol`` (the old spelling) is an absolute tolerance.

    >>> import einframe as ef
    >>> ef.linalg.matrix_rank(ef.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=ef.float64)).item()
    1
    """
    _check(A, "linalg.matrix_rank", square=False)
    if tol is not None:
        atol, rtol = tol, 0.0
    xp = A._device.xp
    if hermitian:
        s = xp.abs(xp.linalg.eigvalsh(A._data))
        s = xp.sort(s, axis=-1)[..., ::-1]
    else:
        s = xp.linalg.svd(A._data, compute_uv=False)
    r = _default_rtol(A, atol, rtol)
    smax = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), dtype=s.dtype)
    thresh = xp.maximum(float(atol or 0.0), r * smax)
    return Tensor._wrap(xp.asarray((s > thresh).sum(-1)).astype(np.int64), A._device)


# ---- products ----------------------------------------------------------------------------------


def cross(input: Tensor, other: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (batch dims broadcast).

    >>> import einframe as ef
    >>> ef.linalg.cross(ef.tensor([1.0, 0.0, 0.0]), ef.tensor([0.0, 1.0, 0.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    a, b = F._operands(input, other)
    shape = np.broadcast_shapes(a._data.shape, b._data.shape)
    if a._data.ndim != b._data.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions. Got {a._data.ndim} and {b._data.ndim}")
    if a._data.shape[dim] != 3 or b._data.shape[dim] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {a._data.shape[dim]} and {b._data.shape[dim]}"
        )
    if a._data.shape != shape:
        a = a.expand(*shape)
    if b._data.shape != shape:
        b = b.expand(*shape)
    a0, a1, a2 = (a.select(dim, i) for i in range(3))
    b0, b1, b2 = (b.select(dim, i) for i in range(3))
    return F.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], dim=dim)


def multi_dot(tensors, *, out=None) -> Tensor:
    """The product of a chain of matrices (the first / last may be vectors), in the cheapest order:
    one einsum, planned by opt_einsum.

    >>> import einframe as ef
    >>> ef.linalg.multi_dot([ef.ones(2, 3), ef.ones(3, 4), ef.ones(4)]).tolist()
    [12.0, 12.0]
    """
    tensors = list(tensors)
    n = len(tensors)
    if n < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {n}")
    from opt_einsum import get_symbol

    subs = []
    for i, t in enumerate(tensors):
        nd = t.ndim
        if i == 0 and nd not in (1, 2):
            raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {nd}D")
        if i == n - 1 and nd not in (1, 2):
            raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {nd}D")
        if 0 < i < n - 1 and nd != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
        if i == 0:
            subs.append(get_symbol(1) if nd == 1 else get_symbol(0) + get_symbol(1))
        else:
            subs.append(get_symbol(i) + get_symbol(i + 1) if nd == 2 else get_symbol(i))
        if i > 0:
            prev, cur = tensors[i - 1], t
            if prev.shape[-1] != cur.shape[0]:
                raise RuntimeError(
                    f"multi_dot(): tensors {i - 1} and {i} with shapes {list(prev.shape)} and {list(cur.shape)} cannot be multiplied"
                )
    out_labels = ""
    if tensors[0].ndim == 2:
        out_labels += get_symbol(0)
    if tensors[-1].ndim == 2:
        out_labels += get_symbol(n)
    return F.einsum(",".join(subs) + "->" + out_labels, *tensors)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out=None) -> Tensor:
    """``sum(x * y, dim)`` with broadcasting (real inputs).

    >>> import einframe as ef
    >>> ef.linalg.vecdot(ef.tensor([[1.0, 2.0], [3.0, 4.0]]), ef.tensor([1.0, 1.0])).tolist()
    [3.0, 7.0]
    """
    return F.sum(x * y, dim)


def matmul(input: Tensor, other: Tensor, *, out=None) -> Tensor:
    """Alias of ``ef.matmul``.

    >>> import einframe as ef
    >>> ef.linalg.matmul(ef.tensor([[1.0, 2.0]]), ef.tensor([[3.0], [4.0]])).tolist()
    [[11.0]]
    """
    return F.matmul(input, other)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``ef.diagonal`` with the last two dims as default.

    >>> import einframe as ef
    >>> ef.linalg.diagonal(ef.tensor([[1, 2, 3], [4, 5, 6]])).tolist()
    [1, 5]
    >>> ef.linalg.diagonal(ef.arange(8).reshape(2, 2, 2)).tolist()
    [[0, 3], [4, 7]]
    """
    return F.diagonal(A, offset, A._dim(dim1), A._dim(dim2))


# ---- LU --------------------------------------------------------------------------------------------


def _lu(A: Tensor, pivot: bool, name: str):
    _check(A, name, square=False)
    if not pivot:
        raise NotImplementedError(f"{name}: LU without pivoting is not implemented (as on PyTorch's CPU); use pivot=True")
    node = _la.LU()
    lo, up = node.unpack(node(A))
    return node, lo, up


def lu(A: Tensor, *, pivot: bool = True, out=None):
    """``A = P L U`` of (batches of) (m, n) matrices, with partial pivoting: ``P`` an (m, m) permutation,
    ``L`` (m, k) unit lower trapezoidal, ``U`` (k, n) upper trapezoidal, k = min(m, n). Gradients reach
    ``A`` through L and U (any order).

    >>> import einframe as ef
    >>> A = ef.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=ef.float64)
    >>> P, L, U = ef.linalg.lu(A)
    >>> ef.allclose(P @ L @ U, A), P.tolist(), U.tolist()
    (True, [[0.0, 1.0], [1.0, 0.0]], [[3.0, 4.0], [0.0, 0.6666666666666667]])
    """
    node, lo, up = _lu(A, pivot, "linalg.lu")
    return LUResult(node._P(lo), lo, up)


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out=None):
    """``(LU, pivots, info)``: L (below the diagonal, its unit diagonal implied) and U in one matrix,
    LAPACK's 1-based int32 pivots (row ``i`` was exchanged with row ``pivots[i]``), and ``info``: 0,
    or the 1-based index of the first exactly zero pivot of U (a singular matrix).

    >>> import einframe as ef
    >>> ef.linalg.lu_factor_ex(ef.tensor([[1.0, 2.0], [2.0, 4.0]])).info.item()
    2
    """
    node, lo, up = _lu(A, pivot, "linalg.lu_factor_ex")
    m, n = A._data.shape[-2:]
    strict = F.tril(lo, -1)  # L below its unit diagonal, and U, in one (m, n) matrix
    from .ops.view import Pad

    lead = ((0, 0),) * (A._data.ndim - 2)
    if m <= n:
        packed = up + (Pad(lead + ((0, 0), (0, n - m)), 0.0)(strict) if m < n else strict)
    else:
        packed = strict + Pad(lead + ((0, m - n), (0, 0)), 0.0)(up)
    xp = A._device.xp
    pivots = Tensor._wrap((node.swaps + 1).astype(np.int32), A._device)
    zero = xp.diagonal(up._data, axis1=-2, axis2=-1) == 0
    info = Tensor._wrap(xp.where(zero.any(-1), zero.argmax(-1) + 1, 0).astype(np.int32), A._device)
    if check_errors and bool(info._data.any()):
        raise LinAlgError(
            f"linalg.lu_factor_ex: U[{int(info._data.max()) - 1}, {int(info._data.max()) - 1}] is zero, singular U."
        )
    return LUFactorExResult(packed, pivots, info)


def lu_factor(A: Tensor, *, pivot: bool = True, out=None):
    """``(LU, pivots)`` of ``lu_factor_ex`` (a singular matrix still factors, as in PyTorch).

    >>> import einframe as ef
    >>> LU, piv = ef.linalg.lu_factor(ef.tensor([[1.0, 2.0], [3.0, 4.0]]))
    >>> piv.tolist(), LU.tolist()
    ([2, 2], [[3.0, 4.0], [0.3333333432674408, 0.6666666269302368]])
    """
    r = lu_factor_ex(A, pivot=pivot)
    return LUFactorResult(r.LU, r.pivots)


def _perm_from_pivots(pivots: Tensor, m: int | None = None):
    """``perm`` (length ``m``, the number of rows) with ``A[perm] = L U`` from LAPACK's 1-based
    sequential row swaps (one per step, ``min(m, n)`` of them)."""
    piv = np.asarray(pivots._device.xp.asnumpy(pivots._data) if pivots._device.type == "cuda" else pivots._data)
    k_steps = piv.shape[-1]
    m = k_steps if m is None else m
    perm = np.broadcast_to(np.arange(m), piv.shape[:-1] + (m,)).copy()
    flat, fp = perm.reshape(-1, m), piv.reshape(-1, k_steps).astype(np.int64) - 1
    rows = np.arange(flat.shape[0])
    for k in range(k_steps):
        top = flat[rows, k].copy()
        flat[rows, k] = flat[rows, fp[:, k]]
        flat[rows, fp[:, k]] = top
    return perm


def _rows(B: Tensor, perm) -> Tensor:
    """``B`` with its rows (dim -2) taken in the order ``perm`` (broadcast over batch dims)."""
    idx = np.broadcast_to(
        perm[..., :, None], tuple(np.broadcast_shapes(perm.shape[:-1], B._data.shape[:-2])) + (perm.shape[-1], B._data.shape[-1])
    )
    idx = Tensor._wrap(B._device.xp.asarray(np.ascontiguousarray(idx)), B._device)
    return F.take_along_dim(B.expand(*idx._data.shape), idx, -2)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False, out=None):
    """Solve ``A X = B`` (``X A = B`` with ``left=False``; ``A^T`` with ``adjoint=True``) from
    ``lu_factor``'s output, by two triangular solves; gradients reach ``LU`` and ``B``.

    >>> import einframe as ef
    >>> A = ef.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=ef.float64)
    >>> X = ef.linalg.lu_solve(*ef.linalg.lu_factor(A), ef.tensor([[5.0], [6.0]], dtype=ef.float64))
    >>> [round(v, 6) for v in X.flatten().tolist()]
    [-4.0, 4.5]
    """
    _check(LU, "linalg.lu_solve", arg="LU")
    if B._data.ndim < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    if not left:
        return _mT(lu_solve(LU, pivots, _mT(B), adjoint=not adjoint))
    perm = _perm_from_pivots(pivots)
    if not adjoint:  # A = P L U: X = U^-1 L^-1 P^T B, and P^T B = B[perm]
        y = solve_triangular(LU, _rows(B, perm), upper=False, unitriangular=True)
        return solve_triangular(LU, y, upper=True)
    # A^T X = B: U^T L^T P^T X = B, so X = P L^-T U^-T B = rows of L^-T U^-T B put back by perm's inverse
    y = solve_triangular(_mT(LU), B, upper=False)
    z = solve_triangular(_mT(LU), y, upper=True, unitriangular=True)
    return _rows(z, np.argsort(perm, axis=-1))
