"""Ready-made parametrizations (PyTorch's ``torch.nn.utils.parametrizations``): ``orthogonal``,
``spectral_norm`` and ``weight_norm``, each registered with :mod:`~einframe.nn.utils.parametrize`.

State-dict layouts are PyTorch's: ``weight_norm`` stores ``parametrizations.weight.original0``
(``g``) and ``original1`` (``v``); ``spectral_norm`` stores ``parametrizations.weight.original``
and the buffers ``parametrizations.weight.0._u`` / ``._v``; ``orthogonal`` stores
``parametrizations.weight.original`` and the buffer ``parametrizations.weight.0.base``.

>>> import einframe as ef
>>> from einframe import nn
>>> from einframe.nn.utils import parametrizations as PZ
>>> m = PZ.orthogonal(nn.Linear(4, 4))
>>> bool(ef.allclose(m.weight @ m.weight.mT, ef.eye(4), atol=1e-5))
True
>>> list(PZ.weight_norm(nn.Linear(3, 2)).state_dict())
['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']
"""

from __future__ import annotations

from enum import Enum, auto

import numpy as np

from ... import _functions as ef
from ... import linalg
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..modules.module import Module
from . import parametrize
from .spectral_norm import _default_dim
from .weight_norm import _norm_except_dim, _weight_norm

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


# ------------------------------------------------------------------------------------------------
# orthogonal


def _eps(t: Tensor) -> float:
    return float(np.finfo(t._data.dtype).eps)


def _is_orthogonal(Q: Tensor) -> bool:
    n, k = Q.size(-2), Q.size(-1)
    Id = ef.eye(k, dtype=Q.dtype, device=Q.device)
    return bool(ef.allclose(Q.mH @ Q, Id, atol=10.0 * n * _eps(Q)))


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q factor of ``A = QR`` normalised so that ``R`` has a positive diagonal (unique for full rank)."""
    Q, R = linalg.qr(A)
    return Q * R.diagonal(0, -2, -1).sgn().unsqueeze(-2)


def _householder_product(A: Tensor, tau: Tensor) -> Tensor:
    """PyTorch's ``linalg.householder_product``: the first ``k`` columns of ``H_1 ... H_k`` with
    ``H_i = I - tau_i v_i v_i^H`` and ``v_i`` column ``i`` of ``A`` below the diagonal, 1 on it.
    Composed of differentiable ef ops (``k`` rank-one updates of an ``n x n`` matrix)."""
    n, k = A.size(-2), A.size(-1)
    batch = tuple(A.shape[:-2])
    V = A.tril(-1) + ef.eye(n, k, dtype=A.dtype, device=A.device)
    Q = ef.eye(n, dtype=A.dtype, device=A.device).expand(*batch, n, n)
    for i in range(k):
        v = V[..., :, i : i + 1]
        Q = Q - ((Q @ v) * tau[..., i : i + 1].unsqueeze(-1)) @ v.mH
    return Q[..., :k]


def _geqrf(Q: Tensor) -> tuple[Tensor, Tensor]:
    """LAPACK's ``geqrf`` (Householder vectors below the diagonal, R on and above it, and ``tau``), computed
    on the host without gradient: only used by ``right_inverse`` when ``use_trivialization=False``."""
    data = Q._data.get() if hasattr(Q._data, "get") else np.asarray(Q._data)
    flat = data.reshape(-1, *data.shape[-2:])
    hs, taus = [], []
    for a in flat:
        h, tau = np.linalg.qr(a, mode="raw")
        hs.append(h.T)
        taus.append(tau)
    A = np.stack(hs).reshape(data.shape).astype(data.dtype)
    tau = np.stack(taus).reshape(*data.shape[:-2], -1).astype(data.dtype)
    xp = Q._device.xp
    return Tensor._wrap(xp.asarray(A), Q._device), Tensor._wrap(xp.asarray(tau), Q._device)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            X = X.tril()
            if n != k:
                X = ef.cat([X, ef.zeros(*X.shape[:-2], n, n - k, dtype=X.dtype, device=X.device)], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = linalg.matrix_exp(A)
            else:
                Id = ef.eye(n, dtype=A.dtype, device=A.device)
                Q = linalg.solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            A = X.tril(-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = _householder_product(A, tau)
            Q = Q * X[..., :k, :k].diagonal(0, -2, -1).int().to(Q.dtype).unsqueeze(-2)  # n >= k here
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(
                    f"Expected a matrix or batch of matrices of shape {self.shape}. Got a tensor of shape {Q.shape}."
                )
            Q_init = Q
            n, k = Q.size(-2), Q.size(-1)
            transpose = n < k
            if transpose:
                Q = Q.mT
                n, k = k, n
            if not hasattr(self, "base"):
                if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                    raise NotImplementedError(
                        "It is not possible to assign to the matrix exponential "
                        "or the Cayley parametrizations when use_trivialization=False."
                    )
                A, tau = _geqrf(Q)
                # R's diagonal becomes its signs (flipped where tau == 0: no reflector), as PyTorch
                sign = A._device.xp.sign(A._data.diagonal(0, -2, -1))
                sign[tau._data == 0.0] *= -1
                idx = A._device.xp.arange(k)
                A._data[..., idx, idx] = sign
                return A.mT if transpose else A
            if n == k:
                Q = _make_orthogonal(Q) if not _is_orthogonal(Q) else Q.clone()
            else:
                N = ef.randn(*Q.shape[:-2], n, n - k, dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(ef.cat([Q, N], dim=-1))
            self.base = Q
            n0, k0 = Q_init.size(-2), Q_init.size(-1)
            return (-ef.eye(n0, k0, dtype=Q_init.dtype, device=Q_init.device)).expand(*Q_init.shape).clone()


def orthogonal(
    module: Module, name: str = "weight", orthogonal_map: str | None = None, *, use_trivialization: bool = True
) -> Module:
    """Constrain the matrix (or batch of matrices) ``module.<name>`` to be orthogonal; returns ``module``.

    ``Q`` has orthonormal columns when it is tall and orthonormal rows when it is wide, computed as
    PyTorch does from the unconstrained ``original``: ``"matrix_exp"`` (default for square matrices)
    takes the exponential of a skew-symmetric matrix built from the lower triangle, ``"cayley"``
    the Cayley map ``(I - A/2)^{-1}(I + A/2)``, and ``"householder"`` (default for non-square) a
    product of Householder reflectors. With ``use_trivialization=True`` (default) the result is
    ``base @ map(original)`` with the buffer ``base`` (an orthogonal matrix, reset whenever the
    weight is assigned), so registration keeps the initial weight's orthogonalisation (the Q of its
    QR decomposition) and assigning an orthogonal matrix stores it exactly. Complex weights are
    not supported by einframe. An optimizer step on ``original`` keeps the weight orthogonal.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> from einframe.nn.utils.parametrizations import orthogonal
    >>> m = orthogonal(nn.Linear(5, 3))  # wide weight (3, 5): orthonormal rows
    >>> bool(ef.allclose(m.weight @ m.weight.mT, ef.eye(3), atol=1e-5))
    True
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = "matrix_exp" if weight.size(-2) == weight.size(-1) or weight.is_complex() else "householder"
    orth_enum = getattr(_OrthMaps, orthogonal_map, None) if isinstance(orthogonal_map, str) else None
    if orth_enum is None:
        raise ValueError(f'orthogonal_map has to be one of "matrix_exp", "cayley", "householder". Got: {orthogonal_map}')
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


# ------------------------------------------------------------------------------------------------
# weight_norm


class _WeightNorm(Module):
    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        if dim is None:
            dim = -1
        self.dim = dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return _norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize ``module.<name>`` as ``g * v / ||v||``; returns ``module``.

    ``g`` is ``module.parametrizations.<name>.original0`` (the norm over every dimension but
    ``dim``, kept with size 1; a scalar when ``dim`` is None or -1) and ``v`` is ``original1``.
    A ``state_dict`` saved by the legacy :func:`einframe.nn.utils.weight_norm` (keys ``<name>_g``
    and ``<name>_v``) loads into the module as in PyTorch.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> from einframe.nn.utils.parametrizations import weight_norm
    >>> m = weight_norm(nn.Linear(3, 2))
    >>> tuple(m.parametrizations.weight.original0.shape), tuple(m.parametrizations.weight.original1.shape)
    ((2, 1), (2, 3))
    """
    _wn = _WeightNorm(dim)
    parametrize.register_parametrization(module, name, _wn, unsafe=True)

    def _weight_norm_compat_hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


# ------------------------------------------------------------------------------------------------
# spectral_norm


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, {ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            with no_grad():
                weight_mat = self._reshape_weight_to_matrix(weight)
                h, w = weight_mat.size()
                u = ef.randn(h, dtype=weight.dtype, device=weight.device)
                v = ef.randn(w, dtype=weight.dtype, device=weight.device)
                self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
                self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.dim()) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        # u, v: the left/right singular vectors of the largest singular value, refined in place
        with no_grad():
            for _ in range(n_power_iterations):
                self._u.copy_(F.normalize(ef.mv(weight_mat, self._v), dim=0, eps=self.eps))
                self._v.copy_(F.normalize(ef.mv(weight_mat.mH, self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        u = self._u.clone()
        v = self._v.clone()
        sigma = ef.vdot(u, ef.mv(weight_mat, v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(
    module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12, dim: int | None = None
) -> Module:
    """Divide ``module.<name>`` by its spectral norm (largest singular value), estimated by power iteration.

    The weight is viewed as a matrix with ``dim`` (default 0; 1 for ConvTranspose layers) as rows.
    The singular-vector estimates are the buffers ``_u`` and ``_v`` of
    ``module.parametrizations.<name>[0]``: 15 power iterations at registration, then
    ``n_power_iterations`` per access of ``module.<name>`` in training mode only (frozen in eval
    mode, so evaluation is deterministic). A 1-D tensor is simply normalised.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> from einframe.nn.utils.parametrizations import spectral_norm
    >>> m = spectral_norm(nn.Linear(3, 4))
    >>> list(m.state_dict())
    ['bias', 'parametrizations.weight.original', 'parametrizations.weight.0._u', 'parametrizations.weight.0._v']
    """
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        dim = _default_dim(module)
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
