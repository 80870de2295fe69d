"""Window / Fold: the sliding-window view behind convolution, pooling and ``unfold``, and its adjoint.

``Window(k, s, d)`` turns the trailing ``n = len(k)`` (spatial) dims ``S`` of ``x`` into
``O + k``: ``out[..., o, κ] = x[..., o·s + κ·d]`` with ``O = ⌊(S − d·(k−1) − 1)/s⌋ + 1``. It is a
zero-copy ``as_strided`` view (numpy and cupy). ``Fold(S, k, s, d)`` is its adjoint, the
overlap-add (col2im): ``out[..., o·s + κ·d] += g[..., o, κ]``, run as ``prod(k)`` strided slice
adds (or one strided write when windows do not overlap). Each is the other's vjp; both are linear,
so each one's jvp is itself applied to the tangent.

A convolution is ``Window`` followed by one ``Contract`` (``'cklo,chwklb->ohwb'``, the batch label last); its input
gradient is that contraction's derived einsum followed by ``Fold``.
"""

from __future__ import annotations

import itertools
from math import prod

from .core import Node, primitive

__all__ = ["Window", "Fold", "window_out_size"]


def window_out_size(size: int, k: int, s: int, d: int) -> int:
    """Number of windows of ``k`` taps (dilation ``d``) at stride ``s`` that fit in ``size``."""
    return (size - d * (k - 1) - 1) // s + 1


def _as_strided(xp, x, shape, strides):
    st = xp.lib.stride_tricks
    try:
        return st.as_strided(x, shape=shape, strides=strides, writeable=False)
    except TypeError:  # cupy's as_strided has no ``writeable``
        return st.as_strided(x, shape=shape, strides=strides)


def _check(k, s, d):
    k, s, d = tuple(int(v) for v in k), tuple(int(v) for v in s), tuple(int(v) for v in d)
    if not (len(k) == len(s) == len(d)):
        raise ValueError(f"Window: kernel, stride and dilation need one entry per spatial dim, got {k}, {s}, {d}")
    if min(k + s + d, default=1) < 1:
        raise ValueError(f"Window: kernel, stride and dilation must be >= 1, got {k}, {s}, {d}")
    return k, s, d


@primitive("Window")
class Window(Node):
    """Sliding windows over the trailing ``len(kernel)`` dims: ``(..., *S) -> (..., *O, *kernel)``.

    ``out`` optionally caps the number of windows per dim (used by ``Fold``'s vjp so the shapes
    round-trip exactly). The result is a read-only view sharing memory with the input.

    >>> import einframe as ef
    >>> from einframe.ops.window import Window
    >>> x = ef.arange(5.0)
    >>> Window((3,), (2,), (1,))(x).tolist()
    [[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]]
    """

    is_view = True

    def __init__(self, kernel, stride, dilation, out=None):
        self.k, self.s, self.d = _check(kernel, stride, dilation)
        self.out = None if out is None else tuple(int(o) for o in out)

    def forward(self, xp, x):
        n = len(self.k)
        if x.ndim < n:
            raise ValueError(f"Window: expected at least {n} dims, got an input of shape {tuple(x.shape)}")
        S = x.shape[x.ndim - n :]
        outs = tuple(window_out_size(*a) for a in zip(S, self.k, self.s, self.d))
        if self.out is not None:
            outs = tuple(min(a, b) for a, b in zip(outs, self.out))
        if min(outs, default=1) < 1:
            raise ValueError(
                f"Window: kernel {self.k} with dilation {self.d} does not fit in the spatial size {tuple(S)}; "
                f"pad the input or use a smaller kernel"
            )
        self.size = tuple(S)
        st = x.strides[x.ndim - n :]
        shape = x.shape[: x.ndim - n] + outs + self.k
        strides = x.strides[: x.ndim - n] + tuple(a * b for a, b in zip(st, self.s)) + tuple(a * b for a, b in zip(st, self.d))
        return _as_strided(xp, x, shape, strides)

    def vjp(self, g, xs, out):
        return (Fold(self.size, self.k, self.s, self.d)(g),)

    def jvp(self, ts, xs, out):
        return Window(self.k, self.s, self.d, self.out)(ts[0])

    def __repr__(self) -> str:
        return f"<WindowBackward kernel={self.k} stride={self.s} dilation={self.d}>"


@primitive("Fold")
class Fold(Node):
    """Overlap-add of windows back into ``size``: ``(..., *O, *kernel) -> (..., *size)`` (col2im).

    >>> import einframe as ef
    >>> from einframe.ops.window import Fold
    >>> Fold((5,), (3,), (2,), (1,))(ef.ones(2, 3)).tolist()
    [1.0, 1.0, 2.0, 1.0, 1.0]
    """

    def __init__(self, size, kernel, stride, dilation):
        self.k, self.s, self.d = _check(kernel, stride, dilation)
        self.size = tuple(int(v) for v in size)
        if len(self.size) != len(self.k):
            raise ValueError(f"Fold: output size {self.size} needs one entry per kernel dim {self.k}")

    def forward(self, xp, g):
        n = len(self.k)
        if g.ndim < 2 * n or tuple(g.shape[g.ndim - n :]) != self.k:
            raise ValueError(f"Fold: expected an input of shape (..., *O, *{self.k}), got {tuple(g.shape)}")
        lead = g.shape[: g.ndim - 2 * n]
        outs = tuple(g.shape[g.ndim - 2 * n : g.ndim - n])
        self.outs = outs
        for o, S, k, s, d in zip(outs, self.size, self.k, self.s, self.d):
            if (o - 1) * s + d * (k - 1) + 1 > S:
                raise ValueError(
                    f"Fold: {outs} windows of kernel {self.k} (stride {self.s}, dilation {self.d}) overrun the size {self.size}"
                )
        if prod(outs) == 0 or prod(self.k) == 0:
            return xp.zeros(lead + self.size, dtype=g.dtype)
        if all(k == 1 or s >= d * (k - 1) + 1 for k, s, d in zip(self.k, self.s, self.d)):
            out = xp.zeros(lead + self.size, dtype=g.dtype)
            # windows do not overlap: one strided write through the window view of ``out``
            st = out.strides[out.ndim - n :]
            strides = (
                out.strides[: out.ndim - n] + tuple(a * b for a, b in zip(st, self.s)) + tuple(a * b for a, b in zip(st, self.d))
            )
            xp.lib.stride_tricks.as_strided(out, shape=g.shape, strides=strides)[...] = g
            return out
        # accumulate in the memory order of g's (lead, O) dims, so every strided add walks both
        # operands in memory order (a conv's input gradient arrives as (c, k, l, h, w, b) memory).
        # Strided windows are split by phase: position o*s + κ*d = s*(o + q//s) + q%s with q = κ*d,
        # so each tap adds a contiguous block of o into phase q%s of an accumulator (rows of W*B
        # floats instead of single elements at stride s), and the phases are interleaved at the end
        nl, nd = len(lead), len(lead) + n
        order = sorted(range(nd), key=lambda i: -abs(g.strides[i]))
        spatial = [i - nl for i in order if i >= nl]  # spatial dims, in memory order
        first = min(order.index(nl + i) for i in range(n))  # phase dims go before the outermost spatial dim
        phased = any(v > 1 for v in self.s)
        full = lead + self.size
        dims = [full[i] if i < nl else -(-full[i] // self.s[i - nl]) for i in order]  # positions per phase
        if phased:
            dims[first:first] = [self.s[i] for i in spatial]
        acc = xp.zeros(tuple(dims), dtype=g.dtype)
        gv = g.transpose(tuple(order) + tuple(range(nd, nd + n)))
        for kappa in itertools.product(*(range(k) for k in self.k)):
            q = [c * d for c, d in zip(kappa, self.d)]
            sl = [slice(None)] * nd
            for i in range(n):
                sl[order.index(nl + i)] = slice(q[i] // self.s[i], q[i] // self.s[i] + outs[i])
            if phased:
                sl[first:first] = [q[i] % self.s[i] for i in spatial]
            acc[tuple(sl)] += gv[(Ellipsis, *kappa)]
        if phased:  # interleave the phases: out[..., r::s, ...] = acc[..., r, :count, ...]
            out = xp.empty(tuple(full[i] for i in order), dtype=g.dtype)
            for r in itertools.product(*(range(self.s[i]) for i in spatial)):
                dst = [slice(None)] * nd
                src = [slice(None)] * nd
                for j, i in enumerate(spatial):
                    dst[order.index(nl + i)] = slice(r[j], None, self.s[i])
                    src[order.index(nl + i)] = slice(0, -(-(self.size[i] - r[j]) // self.s[i]))
                src[first:first] = list(r)
                out[tuple(dst)] = acc[tuple(src)]
            acc = out
        inv = [0] * nd
        for j, i in enumerate(order):
            inv[i] = j
        return acc.transpose(inv)

    def vjp(self, g, xs, out):
        return (Window(self.k, self.s, self.d, self.outs)(g),)

    def jvp(self, ts, xs, out):
        return Fold(self.size, self.k, self.s, self.d)(ts[0])

    def __repr__(self) -> str:
        return f"<FoldBackward size={self.size} kernel={self.k} stride={self.s} dilation={self.d}>"
