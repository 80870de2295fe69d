"""Factorised linear layers. Each forward is one einsum over the input and all factors, so
opt_einsum picks the cheapest order (for a batch it contracts the input with one factor at a time
instead of building the dense ``out x in`` weight)."""

from __future__ import annotations

import math

from opt_einsum import get_symbol

import einframe as ef
from einframe import nn


def _uniform_(t: ef.Tensor, bound: float) -> None:
    with ef.no_grad():
        t.uniform_(-bound, bound)


class LowRankLinear(nn.Module):
    """``y = x (U Vᵀ)ᵀ + b`` with ``U: (out, rank)``, ``V: (rank, in)`` as ``'...i,ri,or->...o'``.

    >>> import einframe as ef
    >>> layer = LowRankLinear(6, 4, rank=2)
    >>> layer(ef.randn(3, 6)).shape
    einframe.Size([3, 4])
    """

    equation = "...i,ri,or->...o"

    def __init__(self, in_features: int, out_features: int, rank: int, bias: bool = True):
        super().__init__()
        if rank < 1:
            raise ValueError(f"LowRankLinear: rank must be >= 1, got {rank}")
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.V = nn.Parameter(ef.empty(rank, in_features))
        self.U = nn.Parameter(ef.empty(out_features, rank))
        if bias:
            self.bias = nn.Parameter(ef.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # the product U V has the variance of a default Linear weight (uniform ±1/sqrt(in))
        _uniform_(self.V, math.sqrt(3.0 / self.in_features))
        _uniform_(self.U, 1.0 / math.sqrt(self.rank))
        if self.bias is not None:
            _uniform_(self.bias, 1 / math.sqrt(self.in_features))

    def forward(self, x: ef.Tensor) -> ef.Tensor:
        y = ef.einsum(self.equation, x, self.V, self.U)
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}, bias={self.bias is not None}"


class KroneckerLinear(nn.Module):
    """``W = A ⊗ B`` on inputs of ``in_shape = (a, b)`` to ``out_shape = (c, d)``: ``'...ab,ca,db->...cd'``.

    The input's last dim (a*b) is viewed as (a, b); the output is flattened back to c*d.

    >>> import einframe as ef
    >>> layer = KroneckerLinear((2, 3), (4, 5))
    >>> layer(ef.randn(7, 6)).shape
    einframe.Size([7, 20])
    """

    equation = "...ab,ca,db->...cd"

    def __init__(self, in_shape: tuple[int, int], out_shape: tuple[int, int], bias: bool = True):
        super().__init__()
        (a, b), (c, d) = in_shape, out_shape
        self.in_shape, self.out_shape = (a, b), (c, d)
        self.A = nn.Parameter(ef.empty(c, a))
        self.B = nn.Parameter(ef.empty(d, b))
        if bias:
            self.bias = nn.Parameter(ef.empty(c * d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        a, b = self.in_shape
        # Var(W) = Var(A) Var(B) = 1/(3a) * 1/b: the variance of a default Linear over a*b inputs
        _uniform_(self.A, 1 / math.sqrt(a))
        _uniform_(self.B, math.sqrt(3.0 / b))
        if self.bias is not None:
            _uniform_(self.bias, 1 / math.sqrt(a * b))

    def forward(self, x: ef.Tensor) -> ef.Tensor:
        a, b = self.in_shape
        if x.shape[-1] != a * b:
            raise ValueError(f"KroneckerLinear: expected last dimension {a * b} (= {a} x {b}), got {x.shape[-1]}")
        xv = x.reshape(*x.shape[:-1], a, b)
        y = ef.einsum(self.equation, xv, self.A, self.B)
        y = y.reshape(*x.shape[:-1], self.out_shape[0] * self.out_shape[1])
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return f"in_shape={self.in_shape}, out_shape={self.out_shape}, bias={self.bias is not None}"


class TTLinear(nn.Module):
    """Tensor-train linear layer: ``in_features = prod(in_modes)``, ``out_features = prod(out_modes)``.

    Core k has shape ``(r_k, in_modes[k], out_modes[k], r_{k+1})`` with ``r_0 = r_d = 1``; the forward
    pass is ONE einsum of the input with every core (e.g. ``'...abc,xaiy,ybjz,zckw->...ijk'``).

    >>> import einframe as ef
    >>> layer = TTLinear((2, 3, 4), (3, 2, 2), ranks=(1, 2, 2, 1))
    >>> layer(ef.randn(5, 24)).shape
    einframe.Size([5, 12])
    """

    def __init__(self, in_modes, out_modes, ranks, bias: bool = True):
        super().__init__()
        in_modes, out_modes, ranks = tuple(in_modes), tuple(out_modes), tuple(ranks)
        d = len(in_modes)
        if len(out_modes) != d or len(ranks) != d + 1 or ranks[0] != 1 or ranks[-1] != 1:
            raise ValueError(
                f"TTLinear: expected len(out_modes) == len(in_modes) == {d} and ranks of length {d + 1} starting and ending "
                f"with 1, got in_modes={in_modes}, out_modes={out_modes}, ranks={ranks}"
            )
        self.in_modes, self.out_modes, self.ranks = in_modes, out_modes, ranks
        self.in_features = math.prod(in_modes)
        self.out_features = math.prod(out_modes)
        self.cores = nn.ParameterList(
            [nn.Parameter(ef.empty(ranks[k], in_modes[k], out_modes[k], ranks[k + 1])) for k in range(d)]
        )
        if bias:
            self.bias = nn.Parameter(ef.empty(self.out_features))
        else:
            self.register_parameter("bias", None)
        # labels: inputs i_k, outputs o_k, ranks r_0..r_d
        ins = [get_symbol(k) for k in range(d)]
        outs = [get_symbol(d + k) for k in range(d)]
        rks = [get_symbol(2 * d + k) for k in range(d + 1)]
        cores = [rks[k] + ins[k] + outs[k] + rks[k + 1] for k in range(d)]
        self.equation = "..." + "".join(ins) + "," + ",".join(cores) + "->..." + "".join(outs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # each entry of W is a sum over prod(inner ranks) products of d core entries; pick the core
        # std so Var(W) = 1/(3 in_features), the default Linear variance
        d = len(self.in_modes)
        paths = math.prod(self.ranks[1:-1])
        std = (1.0 / (3.0 * self.in_features * paths)) ** (1.0 / (2 * d))
        with ef.no_grad():
            for core in self.cores:
                core.normal_(0.0, std)
        if self.bias is not None:
            _uniform_(self.bias, 1 / math.sqrt(self.in_features))

    def forward(self, x: ef.Tensor) -> ef.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"TTLinear: expected last dimension {self.in_features}, got {x.shape[-1]}")
        xv = x.reshape(*x.shape[:-1], *self.in_modes)
        y = ef.einsum(self.equation, xv, *self.cores)
        y = y.reshape(*x.shape[:-1], self.out_features)
        return y + self.bias if self.bias is not None else y

    def dense_weight(self) -> ef.Tensor:
        """The equivalent dense ``(out_features, in_features)`` weight (for checks and export)."""
        eye = ef.eye(self.in_features, dtype=self.cores[0].dtype).reshape(self.in_features, *self.in_modes)
        return ef.einsum(self.equation, eye, *self.cores).reshape(self.in_features, self.out_features).T

    def extra_repr(self) -> str:
        return f"in_modes={self.in_modes}, out_modes={self.out_modes}, ranks={self.ranks}, bias={self.bias is not None}"
