"""Contract: every multilinear operation. Its backward is derived from the equation (einsum/derive)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from opt_einsum import get_symbol

from .._state import STATE
from ..einsum import Canon, canon_for, get_plan, vjp_canon
from ..tensor import Tensor
from .core import Node, primitive

__all__ = ["Contract", "contract", "reduce_canon"]


@primitive("Contract")
class Contract(Node):
    """``out = einsum(eq, *operands)``; vjp of operand k = the derived einsum of ``vjp_canon``.

    ``contiguous=True`` makes the result own C-ordered memory even when the equation is a bare
    permutation (``x.permute(...).contiguous()``); the derivative is unchanged.
    """

    contiguous = False

    def __init__(self, canon: Canon, contiguous: bool = False):
        self.canon = canon
        # a one-operand contraction's gradient needs only the cotangent (and deltas made from it)
        self.saves = canon.positions if len(canon.ins) > 1 else ()
        if contiguous:
            self.contiguous = True
        elif canon.is_permutation:
            self.is_view = True

    def forward(self, xp, *arrays):
        r = get_plan(self.canon, arrays, xp).run(xp, arrays)
        if self.contiguous and not r.flags.c_contiguous:
            r = xp.ascontiguousarray(r)
        return r

    def vjp(self, g, xs, out):
        edges = self._edges
        grads = []
        n = len(edges)
        # outside create_graph and forward mode nothing records the derived contractions: run their
        # plans directly instead of through nodes (a quarter of a small backward pass's overhead)
        direct = not (STATE.grad_enabled or STATE.fwd_level)
        for k in range(n):
            if edges[k] is None:  # this input needs no gradient
                grads.append(None)
                continue
            derived, deltas = vjp_canon(self.canon, k)
            if n == 2:
                ops = [g, xs[1 - k]]
            else:
                ops = [g] if n == 1 else [g, *xs[:k], *xs[k + 1 :]]
            if deltas:
                ops += [_eye(n, g) for n in deltas]
            grads.append(_run(derived, ops) if direct else Contract(derived)(*ops))
        return tuple(grads)

    def jvp(self, ts, xs, out):
        total = None
        for k, t in enumerate(ts):
            if t is not None:
                term = Contract(self.canon)(*xs[:k], t, *xs[k + 1 :])
                total = term if total is None else total + term
        return total

    def reapply(self, base):
        return Contract(self.canon)(base)

    def scatter(self, base, value):
        # only permutations are views: undo it
        (labels,) = self.canon.ins
        inv = tuple(self.canon.out.index(x) for x in labels)
        return Contract(permute_canon(value._data.shape, inv))(value)

    @property
    def equation(self) -> str:
        """The forward equation, as the user wrote it."""
        return self.canon.eq

    @property
    def backward_equations(self) -> list[str]:
        """One derived einsum per operand: the gradient of operand k (named A, B, C, ...)."""
        names = [chr(ord("A") + k) for k in range(len(self.canon.ins))]
        lines = []
        for k in range(len(self.canon.ins)):
            derived, deltas = vjp_canon(self.canon, k)
            ops = ["grad", *(n for j, n in enumerate(names) if j != k), *(f"eye({n})" for n in deltas)]
            lines.append(f"d{names[k]} = {derived.format(ops)}")
        return lines

    def name(self) -> str:
        return "ContractBackward"

    def __repr__(self) -> str:
        return f"<ContractBackward '{self.canon.eq}'>"


def _run(canon: Canon, ops: list) -> Tensor:
    """``Contract(canon)(*ops)`` for operands on one device while nothing records."""
    dev = ops[0]._device
    xp = dev._xp or dev.xp
    arrays = [t._data for t in ops]
    r = get_plan(canon, arrays, xp).run(xp, arrays)
    return Tensor._wrap(xp.asarray(r) if isinstance(r, np.generic) else r, dev)


def _eye(n: int, like: Tensor) -> Tensor:
    xp = like._device.xp
    return Tensor._wrap(xp.eye(n, dtype=like._data.dtype), like._device)


def contract(eq: str, *operands: Tensor) -> Tensor:
    """``einsum`` on tensors (dtypes must already agree)."""
    if len(operands) == 2:
        a, b = operands
        return Contract(canon_for(eq, (a._data.shape, b._data.shape)))(a, b)
    return Contract(canon_for(eq, tuple([t._data.shape for t in operands])))(*operands)


@lru_cache(maxsize=2048)
def reduce_canon(shape: tuple[int, ...], axes: tuple[int, ...]) -> Canon:
    """The canonical ``'abc->b'``-style einsum that sums ``axes`` of a tensor of ``shape``."""
    labels = tuple(range(len(shape)))
    out = tuple(i for i in labels if i not in axes)
    eq = "".join(get_symbol(i) for i in labels) + "->" + "".join(get_symbol(i) for i in out)
    return Canon([labels], out, dict(zip(labels, shape)), eq)


@lru_cache(maxsize=2048)
def permute_canon(shape: tuple[int, ...], perm: tuple[int, ...]) -> Canon:
    labels = tuple(range(len(shape)))
    eq = "".join(get_symbol(i) for i in labels) + "->" + "".join(get_symbol(i) for i in perm)
    return Canon([labels], perm, dict(zip(labels, shape)), eq)
