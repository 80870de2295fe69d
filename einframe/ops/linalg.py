"""Linear-algebra primitives (``ef.linalg``): inverse, solve, log|det|, Cholesky, QR, symmetric
eigendecomposition, SVD and pseudo-inverse.

Each forward runs ``xp.linalg`` (numpy or cupy) on the raw arrays, batched over leading dims. The
vjp/jvp rules are the standard matrix-calculus results written with einframe Tensor ops (matmul,
``Inv``, ``Where`` with constant masks ...), so derivatives of any order work.

Factorisations with several results (``Eigh``: eigenvalues and eigenvectors, ``SVD``: U, S, V,
``QR``: Q, R) return ONE tensor: every result flattened over its matrix dims and concatenated along
the last dim, shape ``(*batch, total)``; :meth:`_Packed.unpack` slices it back into the results as
differentiable views. The cotangent of the packed tensor then holds every result's cotangent (zeros
where a result was not used).

Limitations (as documented by PyTorch for the same formulas): ``Eigh`` eigenvector gradients need
distinct eigenvalues, ``SVD`` U/V gradients need distinct nonzero singular values; exactly tied
values get a zero coupling term instead of inf, so eigenvalue-only / singular-value-only uses
(``eigvalsh``, ``svdvals``, nuclear norm) stay finite. ``SlogDet``'s gradient needs an invertible
matrix. ``QR`` is differentiated for m >= n (``ef.linalg.qr`` composes the m < n case).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .core import Node, primitive
from .pointwise import Where

__all__ = ["LinAlgError", "Inv", "Solve", "SlogDet", "Cholesky", "Eigh", "SVD", "QR", "Pinv"]


class LinAlgError(RuntimeError):
    """A matrix is singular / not positive-definite (PyTorch's ``torch.linalg.LinAlgError``)."""


def _linalg_errors(xp):
    errs = [np.linalg.LinAlgError]
    if xp.__name__ != "numpy":  # pragma: no cover - GPU only
        errs.append(getattr(xp.linalg, "LinAlgError", np.linalg.LinAlgError))
    return tuple(errs)


# ---- small Tensor helpers (batched over leading dims) ------------------------------------------


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-2, -1)


def _mm(a: Tensor, b: Tensor) -> Tensor:
    from .contract import contract

    return contract("...ij,...jk->...ik", a, b)


def _diag(x: Tensor) -> Tensor:
    """The diagonal of the last two dims: ``'...ii->...i'``."""
    from .contract import contract

    return contract("...ii->...i", x)


def _diag_embed(v: Tensor) -> Tensor:
    """A batch of diagonal matrices from a batch of vectors."""
    from .contract import _eye, contract

    return contract("...i,ij->...ij", v, _eye(v._data.shape[-1], v))


def _sym(x: Tensor) -> Tensor:
    return (x + _mT(x)) * 0.5


def _const(x: Tensor, array) -> Tensor:
    return Tensor._wrap(array, x._device)


def _tril(x: Tensor, k: int = 0) -> Tensor:
    m = x._device.xp.tri(*x._data.shape[-2:], k=k, dtype=bool)
    return Where(m)(x, 0)


def _triu(x: Tensor, k: int = 0) -> Tensor:
    m = ~x._device.xp.tri(*x._data.shape[-2:], k=k - 1, dtype=bool)
    return Where(m)(x, 0)


def _inv_gaps(w: Tensor) -> Tensor:
    """``F[..., i, j] = 1 / (w_j - w_i)`` off the diagonal; 0 on it and where ``w_i == w_j`` exactly."""
    d = w.unsqueeze(-2) - w.unsqueeze(-1)
    xp = w._device.xp
    n = w._data.shape[-1]
    mask = (d._data == 0) | xp.eye(n, dtype=bool)
    return Where(mask)(0.0, 1.0 / Where(mask)(1.0, d))


def _safe_recip(s: Tensor) -> Tensor:
    """``1 / s``, with 0 where ``s == 0`` (rank-deficient inputs)."""
    mask = s._data == 0
    return Where(mask)(0.0, 1.0 / Where(mask)(1.0, s))


class _Packed(Node):
    """A primitive whose results are packed into one tensor (see the module docstring)."""

    def _pack(self, xp, batch, *arrays):
        self.batch = tuple(batch)
        self.parts = [a.shape[len(batch) :] for a in arrays]
        return xp.concatenate([xp.reshape(a, self.batch + (-1,)) for a in arrays], axis=-1)

    def unpack(self, t: Tensor) -> list[Tensor]:
        out, o = [], 0
        for shape in self.parts:
            n = int(np.prod(shape))
            out.append(t[..., o : o + n].reshape(self.batch + tuple(shape)))
            o += n
        return out

    def pack(self, *ts: Tensor) -> Tensor:
        from .view import Cat

        return Cat(-1)(*[t.reshape(self.batch + (-1,)) for t in ts])


# ---- primitives --------------------------------------------------------------------------------


@primitive("LinAlg")
class Inv(Node):
    """``B = A^-1``; ``dB = -B dA B``, ``gA = -B^T g B^T``."""

    saves_out = True

    def forward(self, xp, a):
        try:
            return xp.linalg.inv(a)
        except _linalg_errors(xp):
            raise LinAlgError("linalg.inv: The inversion could not be completed because the input matrix is singular.") from None

    def vjp(self, g, xs, out):
        bt = _mT(out)
        return (-_mm(_mm(bt, g), bt),)

    def jvp(self, ts, xs, out):
        return -_mm(_mm(out, ts[0]), out)


@primitive("LinAlg")
class Solve(Node):
    """``X = A^-1 B`` (B a batch of matrices, same batch dims as A); ``gB = A^-T g``, ``gA = -gB X^T``."""

    saves = (0,)
    saves_out = True

    def forward(self, xp, a, b):
        try:
            return xp.linalg.solve(a, b)
        except _linalg_errors(xp):
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") from None

    def vjp(self, g, xs, out):
        gb = Solve()(_mT(xs[0]), g)
        need = self._edges  # an edge (truthy) where the input needs a gradient, else None
        return (-_mm(gb, _mT(out)) if need[0] else None, gb if need[1] else None)

    def jvp(self, ts, xs, out):
        ta, tb = ts
        rhs = tb
        if ta is not None:
            rhs = -_mm(ta, out) if rhs is None else rhs - _mm(ta, out)
        return Solve()(xs[0], rhs)


@primitive("LinAlg")
class SlogDet(Node):
    """``log|det A|`` (the sign is piecewise constant and computed apart); ``gA = g A^-T``."""

    saves = (0,)

    def forward(self, xp, a):
        return xp.linalg.slogdet(a)[1]

    def vjp(self, g, xs, out):
        return (g.unsqueeze(-1).unsqueeze(-1) * _mT(Inv()(xs[0])),)

    def jvp(self, ts, xs, out):
        from .contract import contract

        return contract("...ij,...ji->...", Inv()(xs[0]), ts[0])


def _phi(x: Tensor) -> Tensor:
    """The lower triangle with its diagonal halved."""
    return _tril(x) - _diag_embed(_diag(x)) * 0.5


@primitive("LinAlg")
class Cholesky(Node):
    """``A = L L^T`` (lower). ``dL = L Φ(L^-1 sym(dA) L^-T)``; ``gA = sym(L^-T Φ(L^T g) L^-1)``
    (Murray 2016); Φ takes the lower triangle and halves the diagonal. Gradients are symmetric, as
    PyTorch's: the input is taken as a symmetric matrix."""

    saves_out = True

    def forward(self, xp, a):
        try:
            r = xp.linalg.cholesky(a)
        except _linalg_errors(xp):
            raise LinAlgError(
                "linalg.cholesky: The factorization could not be completed because the input is not positive-definite."
            ) from None
        if xp.__name__ != "numpy" and bool(xp.isnan(r).any()):  # pragma: no cover - cupy reports by NaN
            raise LinAlgError(
                "linalg.cholesky: The factorization could not be completed because the input is not positive-definite."
            )
        return r

    def vjp(self, g, xs, out):
        li = Inv()(out)
        return (_sym(_mm(_mm(_mT(li), _phi(_mm(_mT(out), g))), li)),)

    def jvp(self, ts, xs, out):
        li = Inv()(out)
        return _mm(out, _phi(_mm(_mm(li, _sym(ts[0])), _mT(li))))


@primitive("LinAlg")
class Eigh(_Packed):
    """Symmetric eigendecomposition ``A = V diag(w) V^T``; packs ``(w, V)``.

    ``dw = diag(P)``, ``dV = V (F ∘ P)`` with ``P = V^T sym(dA) V``, ``F_ij = 1/(w_j - w_i)``;
    ``gA = V (diag(gw) + F ∘ skew(V^T gV)) V^T`` (symmetric, as PyTorch's)."""

    saves_out = True

    def __init__(self, uplo: str = "L"):
        self.uplo = uplo

    def forward(self, xp, a):
        w, v = xp.linalg.eigh(a, UPLO=self.uplo)
        return self._pack(xp, a.shape[:-2], w, v)

    def vjp(self, g, xs, out):
        w, v = self.unpack(out)
        gw, gv = self.unpack(g)
        m = _mm(_mT(v), gv)
        inner = _diag_embed(gw) + _inv_gaps(w) * (m - _mT(m)) * 0.5
        return (_mm(_mm(v, inner), _mT(v)),)

    def jvp(self, ts, xs, out):
        w, v = self.unpack(out)
        p = _mm(_mm(_mT(v), _sym(ts[0])), v)
        return self.pack(_diag(p), _mm(v, _inv_gaps(w) * p))


@primitive("LinAlg")
class SVD(_Packed):
    """Reduced real SVD ``A = U diag(S) V^T``; packs ``(U, S, V)`` (V, not V^T).

    With ``dP = U^T dA V``, ``F_ij = 1/(s_j² - s_i²)``:
    ``dS = diag(dP)``, ``dU = U (F ∘ (dP S + S dP^T)) + (I - UU^T) dA V S^-1``,
    ``dV = V (F ∘ (S dP + dP^T S)) + (I - VV^T) dA^T U S^-1``; the vjp is its adjoint
    ``gA = U [J S + S K + diag(gS)] V^T + (I - UU^T) gU S^-1 V^T + U S^-1 gV^T (I - VV^T)`` with
    ``J = F ∘ (U^T gU - gU^T U)``, ``K = F ∘ (V^T gV - gV^T V)``.
    Valid for distinct nonzero singular values (the U/V terms are undefined otherwise)."""

    saves_out = True

    def forward(self, xp, a):
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        self.mn = a.shape[-2:]
        return self._pack(xp, a.shape[:-2], u, s, xp.swapaxes(vh, -1, -2))

    def vjp(self, g, xs, out):
        u, s, v = self.unpack(out)
        gu, gs, gv = self.unpack(g)
        m, n = self.mn
        k = min(m, n)
        f = _inv_gaps(s * s)
        mu = _mm(_mT(u), gu)
        mv = _mm(_mT(v), gv)
        inner = f * (mu - _mT(mu)) * s.unsqueeze(-2) + s.unsqueeze(-1) * (f * (mv - _mT(mv))) + _diag_embed(gs)
        ga = _mm(_mm(u, inner), _mT(v))
        sinv = _safe_recip(s)
        if m > k:
            ga = ga + _mm((gu - _mm(u, mu)) * sinv.unsqueeze(-2), _mT(v))
        if n > k:
            ga = ga + _mm(u * sinv.unsqueeze(-2), _mT(gv - _mm(v, mv)))
        return (ga,)

    def jvp(self, ts, xs, out):
        u, s, v = self.unpack(out)
        da = ts[0]
        m, n = self.mn
        k = min(m, n)
        f = _inv_gaps(s * s)
        dp = _mm(_mm(_mT(u), da), v)
        dpt = _mT(dp)
        su, sv = s.unsqueeze(-2), s.unsqueeze(-1)  # right / left multiplication by diag(S)
        du = _mm(u, f * (dp * su + sv * dpt))
        dv = _mm(v, f * (sv * dp + dpt * su))
        sinv = _safe_recip(s).unsqueeze(-2)
        if m > k:
            dav = _mm(da, v)
            du = du + (dav - _mm(u, _mm(_mT(u), dav))) * sinv
        if n > k:
            datu = _mm(_mT(da), u)
            dv = dv + (datu - _mm(v, _mm(_mT(v), datu))) * sinv
        return self.pack(du, _diag(dp), dv)


@primitive("LinAlg")
class QR(_Packed):
    """Householder QR of an m x n matrix, m >= n; packs ``(Q, R)``.

    ``C = Q^T dA R^-1``, ``Ω = tril(C,-1) - tril(C,-1)^T``: ``dR = (C - Ω) R``, ``dQ = dA R^-1 - Q (C - Ω)``;
    the vjp is ``gA = (gQ + Q copyltu(M)) R^-T`` with ``M = gR R^T - Q^T gQ``.
    ``mode='complete'`` with m > n and ``mode='r'`` compute but are not differentiable (as PyTorch)."""

    saves_out = True

    def __init__(self, mode: str = "reduced"):
        self.mode = mode

    def forward(self, xp, a):
        m, n = a.shape[-2:]
        mode = "complete" if self.mode == "complete" else "reduced"
        q, r = xp.linalg.qr(a, mode=mode)
        self.differentiable = self.mode == "reduced" or (self.mode == "complete" and m <= n)
        return self._pack(xp, a.shape[:-2], q, r)

    def _check(self):
        if not self.differentiable:
            if self.mode == "r":
                raise RuntimeError(
                    "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use "
                    "linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr."
                )
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")

    def vjp(self, g, xs, out):
        self._check()
        q, r = self.unpack(out)
        gq, gr = self.unpack(g)
        ri = Inv()(r)
        m = _mm(gr, _mT(r)) - _mm(_mT(q), gq)
        nmat = _triu(m) + _mT(_triu(m, 1))
        return (_mm(gq + _mm(q, nmat), _mT(ri)),)

    def jvp(self, ts, xs, out):
        self._check()
        q, r = self.unpack(out)
        ri = Inv()(r)
        dari = _mm(ts[0], ri)
        c = _mm(_mT(q), dari)
        low = _tril(c, -1)
        up = c - (low - _mT(low))  # C - Ω: upper triangular
        return self.pack(dari - _mm(q, up), _mm(up, r))


def _lu_np(xp, a):
    """Batched LU with partial pivoting of (m, n) matrices (LAPACK getrf's choices: the first largest
    |pivot|, no scaling below a zero pivot). Returns the swaps (at step k row k was exchanged with
    row ``swaps[..., k]``, k < min(m, n)), the row permutation ``perm`` (``A[perm] = L U``), L (m, k)
    unit lower trapezoidal and U (k, n) upper trapezoidal, k = min(m, n)."""
    m, n = a.shape[-2:]
    kk = min(m, n)
    batch = a.shape[:-2]
    u = a.astype(a.dtype, copy=True)
    lo = xp.zeros(batch + (m, kk), dtype=a.dtype)
    perm = xp.broadcast_to(xp.arange(m), batch + (m,)).copy()
    swaps = xp.zeros(batch + (kk,), dtype=np.int64)
    flat_u, flat_l, flat_p = u.reshape(-1, m, n), lo.reshape(-1, m, kk), perm.reshape(-1, m)
    flat_s = swaps.reshape(-1, kk)
    rows = xp.arange(flat_u.shape[0])
    for k in range(kk):
        piv = xp.argmax(xp.abs(flat_u[:, k:, k]), axis=1) + k
        flat_s[:, k] = piv
        for arr in (flat_u, flat_l, flat_p):  # swap rows k and piv (L holds nothing right of column k yet)
            top = arr[rows, k].copy()
            arr[rows, k] = arr[rows, piv]
            arr[rows, piv] = top
        p = flat_u[:, k, k]
        nz = p != 0
        mult = xp.where(nz[:, None], flat_u[:, k + 1 :, k] / xp.where(nz, p, 1)[:, None], 0)
        flat_l[:, k + 1 :, k] = mult
        flat_u[:, k + 1 :, k:] -= mult[:, :, None] * flat_u[:, k, None, k:]
    lo += xp.eye(m, kk, dtype=a.dtype)
    return swaps, perm, lo, xp.triu(u)[..., :kk, :]


def _lu_square_vjp(lo: Tensor, up: Tensor, glo: Tensor, gup: Tensor) -> Tensor:
    """``L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T`` for square L, U (before applying P)."""
    phi = _tril(_mm(_mT(lo), glo), -1) + _triu(_mm(gup, _mT(up)))
    left = Solve()(_mT(lo), phi)  # L^-T phi
    return _mT(Solve()(up, _mT(left)))  # ... U^-T


@primitive("LinAlg")
class LU(_Packed):
    """``A = P L U`` with partial pivoting, of (m, n) matrices: L (m, k) unit lower trapezoidal, U (k, n)
    upper trapezoidal, k = min(m, n); packs ``(L, U)``, the permutation is kept on the node (``perm``:
    ``A[perm] = L U``; piecewise constant, no gradient).

    Square: with ``X = L^-1 P^T dA U^-1``, ``dL = L tril(X, -1)``, ``dU = triu(X) U``, so
    ``gA = P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T``. Wide (``U = [U1 U2]``): the square rule
    on the first m columns with ``gL - L^-T gU2 U2^T`` for ``gL``, and ``P L^-T gU2`` for the rest.
    Tall (``L = [L1; L2]``): the square rule on the first n rows of ``P^T A`` with
    ``gU - L2^T gL2 U^-T`` for ``gU``, and ``gL2 U^-T`` for the rest."""

    saves_out = True

    def forward(self, xp, a):
        self.swaps, self.perm, lo, up = _lu_np(xp, a)
        return self._pack(xp, a.shape[:-2], lo, up)

    def _P(self, like: Tensor) -> Tensor:
        """The permutation matrix P (``A = P L U``) as a constant tensor."""
        xp = like._device.xp
        m = self.perm.shape[-1]
        eye = xp.eye(m, dtype=like._data.dtype)
        return _const(like, xp.swapaxes(eye[self.perm], -1, -2))

    def vjp(self, g, xs, out):
        from .view import Cat

        lo, up = self.unpack(out)
        glo, gup = self.unpack(g)
        m, k = lo._data.shape[-2:]
        n = up._data.shape[-1]
        if m == n:
            gb = _lu_square_vjp(lo, up, glo, gup)
        elif m < n:  # wide: U = [U1 U2]
            up1, up2, gup1, gup2 = up[..., :k], up[..., k:], gup[..., :k], gup[..., k:]
            li_t_gup2 = Solve()(_mT(lo), gup2)  # L^-T gU2
            gb = Cat(-1)(_lu_square_vjp(lo, up1, glo - _mm(li_t_gup2, _mT(up2)), gup1), li_t_gup2)
        else:  # tall: L = [L1; L2]
            lo1, lo2, glo1, glo2 = lo[..., :k, :], lo[..., k:, :], glo[..., :k, :], glo[..., k:, :]
            glo2_ui_t = _mT(Solve()(up, _mT(glo2)))  # gL2 U^-T
            gb = Cat(-2)(_lu_square_vjp(lo1, up, glo1, gup - _mm(_mT(lo2), glo2_ui_t)), glo2_ui_t)
        return (_mm(self._P(out), gb),)

    def jvp(self, ts, xs, out):
        lo, up = self.unpack(out)
        m, k = lo._data.shape[-2:]
        n = up._data.shape[-1]
        db = _mm(_mT(self._P(out)), ts[0])  # P^T dA
        lo1, up1 = lo[..., :k, :], up[..., :k]
        x = _mT(Solve()(_mT(up1), _mT(Solve()(lo1, db[..., :k, :k]))))  # L1^-1 (P^T dA)_11 U1^-1
        dlo1, dup1 = _mm(lo1, _tril(x, -1)), _mm(_triu(x), up1)
        from .view import Cat

        if m == n:
            return self.pack(dlo1, dup1)
        if m < n:  # dU2 = L^-1 (P^T dA_2 - dL U2)
            dup2 = Solve()(lo, db[..., k:] - _mm(dlo1, up[..., k:]))
            return self.pack(dlo1, Cat(-1)(dup1, dup2))
        # tall: dL2 = (P^T dA_2 - L2 dU) U^-1
        dlo2 = _mT(Solve()(_mT(up), _mT(db[..., k:, :] - _mm(lo[..., k:, :], dup1))))
        return self.pack(Cat(-2)(dlo1, dlo2), dup1)


@primitive("LinAlg")
class Pinv(Node):
    """Moore-Penrose pseudo-inverse ``P = A^+`` (singular values at or below ``max(atol, rtol·σ1)`` cut).

    ``dP = -P dA P + P P^T dA^T (I - A P) + (I - P A) dA^T P^T P`` (Golub & Pereyra; constant rank);
    ``gA = -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)``."""

    saves = (0,)
    saves_out = True

    def __init__(self, atol: float = 0.0, rtol: float = 0.0, hermitian: bool = False):
        self.atol, self.rtol, self.hermitian = atol, rtol, hermitian

    def forward(self, xp, a):
        u, s, vh = xp.linalg.svd(a, full_matrices=False)
        smax = s[..., :1] if s.shape[-1] else s
        tol = xp.maximum(self.atol, self.rtol * smax)
        keep = s > tol
        sinv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(a.dtype, copy=False)
        return xp.matmul(xp.swapaxes(vh, -1, -2) * sinv[..., None, :], xp.swapaxes(u, -1, -2))

    def vjp(self, g, xs, out):
        a, p = xs[0], out
        pt, gt = _mT(p), _mT(g)
        t1 = -_mm(_mm(pt, g), pt)
        x = _mm(gt, _mm(p, pt))  # g^T P P^T   (m x n)
        t2 = x - _mm(_mm(a, p), x)
        y = _mm(_mm(pt, p), gt)  # P^T P g^T   (m x n)
        t3 = y - _mm(y, _mm(p, a))
        return (t1 + t2 + t3,)

    def jvp(self, ts, xs, out):
        a, p, da = xs[0], out, ts[0]
        pt, dat = _mT(p), _mT(da)
        t1 = -_mm(_mm(p, da), p)
        x = _mm(_mm(p, pt), dat)  # (n x m)
        t2 = x - _mm(x, _mm(a, p))
        y = _mm(dat, _mm(pt, p))  # (n x m)
        t3 = y - _mm(_mm(p, a), y)
        return t1 + t2 + t3
