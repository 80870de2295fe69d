"""View / Pad / Cat / Gather-ScatterAdd primitives: data movement, each paired with its adjoint."""

from __future__ import annotations

from math import prod

import numpy as np

from ..backend import memory_order, scatter_add, to_backend, zeros_in_order
from ..tensor import Tensor
from .contract import Contract, reduce_canon
from .core import Node, primitive

__all__ = ["Reshape", "Expand", "Index", "IndexAdd", "IndexPut", "Pad", "Cat", "Flip", "ToDevice", "Amax"]


def _is_basic(key: tuple) -> bool:
    return all(k is None or k is Ellipsis or isinstance(k, (int, slice)) for k in key)


@primitive("View")
class Reshape(Node):
    is_view = True

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, xp, x):
        self.src = x.shape
        return x.reshape(self.shape)

    def vjp(self, g, xs, out):
        return (Reshape(self.src)(g),)

    def jvp(self, ts, xs, out):
        return Reshape(self.shape)(ts[0])

    def reapply(self, base):
        return Reshape(self.shape)(base)

    def scatter(self, base, value):
        return Reshape(base._data.shape)(value)


@primitive("View")
class Expand(Node):
    """Broadcast to a larger shape (a zero-stride view); its adjoint sums with a Contract."""

    is_view = True

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, xp, x):
        self.src = x.shape
        return xp.broadcast_to(x, self.shape)

    def vjp(self, g, xs, out):
        from .pointwise import sum_to

        return (sum_to(g, self.src),)

    def jvp(self, ts, xs, out):
        return Expand(self.shape)(ts[0])


@primitive("View")
class Flip(Node):
    is_view = True

    def __init__(self, dims):
        self.dims = tuple(dims)

    def forward(self, xp, x):
        return xp.flip(x, self.dims)

    def vjp(self, g, xs, out):
        return (Flip(self.dims)(g),)

    def jvp(self, ts, xs, out):
        return Flip(self.dims)(ts[0])

    def reapply(self, base):
        return Flip(self.dims)(base)

    def scatter(self, base, value):
        return Flip(self.dims)(value)


@primitive("Gather")
class Index(Node):
    """``x[key]`` (ints, slices, None, Ellipsis, integer arrays); adjoint: IndexAdd (scatter-add)."""

    def __init__(self, key: tuple):
        self.key = key
        self.is_view = _is_basic(key)

    def forward(self, xp, x):
        self.src = x.shape
        return x[self.key]

    def vjp(self, g, xs, out):
        return (IndexAdd(self.src, self.key)(g),)

    def jvp(self, ts, xs, out):
        return Index(self.key)(ts[0])

    def reapply(self, base):
        return Index(self.key)(base)

    def scatter(self, base, value):
        return IndexPut(self.key)(base, value)


@primitive("ScatterAdd")
class IndexAdd(Node):
    """``zeros(shape)[key] += g``, repeated indices accumulated; adjoint: Index."""

    def __init__(self, shape, key: tuple):
        self.shape = tuple(shape)
        self.key = key

    def forward(self, xp, g):
        if _is_basic(self.key) and g.ndim == len(self.shape) and all(isinstance(k, slice) for k in self.key):
            # a crop's gradient keeps the cropped gradient's layout (batch-innermost after a conv)
            z = zeros_in_order(xp, self.shape, g.dtype, memory_order(g))
        else:
            z = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic(self.key):
            z[self.key] = g
        else:
            scatter_add(xp, z, self.key, g)
        return z

    def vjp(self, g, xs, out):
        return (Index(self.key)(g),)

    def jvp(self, ts, xs, out):
        return IndexAdd(self.shape, self.key)(ts[0])


@primitive("ScatterAdd")
class IndexPut(Node):
    """Functional ``x[key] = v``: a copy of ``x`` with the indexed entries replaced."""

    def __init__(self, key: tuple):
        self.key = key

    def forward(self, xp, x, v):
        self.vshape = getattr(v, "shape", ())
        out = x.copy()
        out[self.key] = v
        return out

    def vjp(self, g, xs, out):
        from .pointwise import sum_to

        need = self._edges  # an edge (truthy) where the input needs a gradient, else None
        gx = IndexPut(self.key)(g, 0) if need[0] else None
        gv = sum_to(Index(self.key)(g), self.vshape) if need[1] else None
        return gx, gv

    def jvp(self, ts, xs, out):
        tx = ts[0] if ts[0] is not None else out * 0
        tv = ts[1] if ts[1] is not None else 0
        return IndexPut(self.key)(tx, tv)


@primitive("Pad")
class Pad(Node):
    """Constant padding, ``pads`` = ((before, after), ...) per dimension; adjoint: a slice."""

    def __init__(self, pads, value: float = 0.0):
        self.pads = tuple(tuple(p) for p in pads)
        self.value = value

    def forward(self, xp, x):
        return xp.pad(x, self.pads, mode="constant", constant_values=self.value)

    def _crop(self, shape):
        return tuple(slice(b, n - a) for (b, a), n in zip(self.pads, shape))

    def vjp(self, g, xs, out):
        return (Index(self._crop(g._data.shape))(g),)

    def jvp(self, ts, xs, out):
        return Pad(self.pads, 0.0)(ts[0])


@primitive("Cat")
class Cat(Node):
    """Concatenation along ``dim``; adjoint: one slice per input."""

    def __init__(self, dim: int):
        self.dim = dim

    def forward(self, xp, *xs):
        if self.dim < 0:  # the adjoint slices need the dim counted from the left
            self.dim += xs[0].ndim
        self.sizes = [x.shape[self.dim] for x in xs]
        return xp.concatenate(xs, axis=self.dim)

    def vjp(self, g, xs, out):
        need = self._edges  # an edge (truthy) where the input needs a gradient, else None
        grads, start = [], 0
        lead = (slice(None),) * self.dim
        for k, n in enumerate(self.sizes):
            grads.append(Index((*lead, slice(start, start + n)))(g) if need[k] else None)
            start += n
        return tuple(grads)

    def jvp(self, ts, xs, out):
        parts = [t if t is not None else x * 0 for t, x in zip(ts, xs)]
        return Cat(self.dim)(*parts)


@primitive("View")
class ToDevice(Node):
    """Move to another device; the gradient moves back."""

    def __init__(self, target):
        self.target = target

    def __call__(self, x):
        out = super().__call__(x)
        out._device = self.target
        return out

    def forward(self, xp, x):
        return to_backend(x, self.target)

    def _record(self, inputs, out):
        self.src_device = inputs[0]._device
        super()._record(inputs, out)

    def vjp(self, g, xs, out):
        return (ToDevice(self.src_device)(g),)

    def jvp(self, ts, xs, out):
        return ToDevice(self.target)(ts[0])


@primitive("Reduce")
class Amax(Node):
    """max (or min, ``op='min'``) over ``axes``; ties share the gradient evenly (as ``torch.amax``)."""

    saves = (0,)
    saves_out = True

    def __init__(self, axes: tuple[int, ...], keepdim: bool, op: str = "max"):
        self.axes, self.keepdim, self.op = axes, keepdim, op

    def forward(self, xp, x):
        axes, nd = self.axes, x.ndim
        if xp is np and axes and axes == tuple(range(nd - len(axes), nd)) and x.size and x.flags.c_contiguous:
            n = prod(x.shape[nd - len(axes) :])
            if n <= 4096 and x.size > n:
                # numpy reduces a short trailing axis row by row; reduceat walks the rows in one
                # loop (2-3x faster: softmax's stabilising max over 128-wide rows)
                ufunc = np.maximum if self.op == "max" else np.minimum
                r = ufunc.reduceat(x.reshape(-1), np.arange(0, x.size, n))
                return r.reshape(x.shape[: nd - len(axes)] + ((1,) * len(axes) if self.keepdim else ()))
        return getattr(xp, self.op)(x, axis=axes, keepdims=self.keepdim)

    def _weights(self, x: Tensor, out: Tensor) -> tuple[Tensor, tuple[int, ...]]:
        kd = tuple(1 if i in self.axes else n for i, n in enumerate(x._data.shape))
        m = x._data == out._data.reshape(kd)
        w = m / m.sum(axis=self.axes, keepdims=True)
        return Tensor._wrap(w.astype(x._data.dtype, copy=False), x._device), kd

    def vjp(self, g, xs, out):
        w, kd = self._weights(xs[0], out)
        return (Reshape(kd)(g) * w,)

    def jvp(self, ts, xs, out):
        w, kd = self._weights(xs[0], out)
        r = Contract(reduce_canon(w._data.shape, self.axes))(ts[0] * w)
        return Reshape(out._data.shape)(r)
