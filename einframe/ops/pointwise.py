"""Pointwise primitives: elementwise maps with numpy broadcasting.

The vjp multiplies by the derivative map, then sums broadcast dimensions away with a Contract
(``sum_to``). Binary ops accept Python scalars in either position (kept as weak scalars, so
``float32_tensor * 2.0`` stays float32, as in PyTorch).
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .contract import Contract, reduce_canon
from .core import Node, primitive

__all__ = ["sum_to"]


def sum_to(g: Tensor | None, shape: tuple[int, ...]) -> Tensor | None:
    """Sum ``g`` over the dimensions that broadcasting added or stretched to reach ``shape``."""
    if g is None:
        return None
    gs = g._data.shape
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, n in enumerate(shape) if n == 1 and gs[i + lead] != 1)
    r = Contract(reduce_canon(gs, axes))(g)
    return r if r._data.shape == shape else Reshape(shape)(r)


class Unary(Node):
    """``out = f(x)``; subclasses give ``f`` (forward) and ``df`` (the derivative, as Tensor ops)."""

    def vjp(self, g, xs, out):
        return (g * self.df(xs[0], out),)

    def jvp(self, ts, xs, out):
        return ts[0] * self.df(xs[0], out)


@primitive("Pointwise")
class Neg(Unary):
    def forward(self, xp, x):
        return -x

    def vjp(self, g, xs, out):
        return (-g,)

    def jvp(self, ts, xs, out):
        return -ts[0]


@primitive("Pointwise")
class Exp(Unary):
    saves_out = True

    def forward(self, xp, x):
        return xp.exp(x)

    def df(self, x, out):
        return out


@primitive("Pointwise")
class Log(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.log(x)

    def vjp(self, g, xs, out):
        return (g / xs[0],)

    def jvp(self, ts, xs, out):
        return ts[0] / xs[0]


@primitive("Pointwise")
class Sqrt(Unary):
    saves_out = True

    def forward(self, xp, x):
        return xp.sqrt(x)

    def vjp(self, g, xs, out):
        return (g / (2 * out),)

    def jvp(self, ts, xs, out):
        return ts[0] / (2 * out)


@primitive("Pointwise")
class Abs(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.abs(x)

    def df(self, x, out):
        return x.sign()


@primitive("Pointwise")
class Sign(Unary):
    """Derivative zero everywhere (as PyTorch)."""

    def forward(self, xp, x):
        return xp.sign(x)

    def vjp(self, g, xs, out):
        return (g * 0,)

    def jvp(self, ts, xs, out):
        return ts[0] * 0


@primitive("Pointwise")
class Sin(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.sin(x)

    def df(self, x, out):
        return x.cos()


@primitive("Pointwise")
class Cos(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.cos(x)

    def df(self, x, out):
        return -x.sin()


@primitive("Pointwise")
class Tanh(Unary):
    saves_out = True

    def forward(self, xp, x):
        return xp.tanh(x)

    def df(self, x, out):
        return 1 - out * out


@primitive("Pointwise")
class Sigmoid(Unary):
    saves_out = True

    def forward(self, xp, x):
        # split by sign so neither branch overflows
        e = xp.exp(-xp.abs(x))
        return _select(xp, x >= 0, (1 / (1 + e)).astype(x.dtype, copy=False), (e / (1 + e)).astype(x.dtype, copy=False))

    def df(self, x, out):
        return out * (1 - out)


@primitive("Pointwise")
class Relu(Unary):
    saves_out = True

    def forward(self, xp, x):
        return xp.maximum(x, 0)

    # the mask out > 0 is piecewise constant (its own derivative is zero), so it selects as a constant
    def vjp(self, g, xs, out):
        return (Where(out._data > 0)(g, 0),)

    def jvp(self, ts, xs, out):
        return Where(out._data > 0)(ts[0], 0)


@primitive("Pointwise")
class Erf(Unary):
    """The error function (for exact GELU): scipy's when installed, else ``math.erf`` per element."""

    saves = (0,)

    def forward(self, xp, x):
        if xp.__name__ != "numpy":
            import cupyx.scipy.special as sp

            return sp.erf(x)
        try:
            from scipy.special import erf

            return erf(x).astype(x.dtype, copy=False)
        except ImportError:
            vec = getattr(Erf, "_vec", None)
            if vec is None:
                import numpy as np

                vec = Erf._vec = np.vectorize(math.erf, otypes=[float])
            return vec(x).astype(x.dtype, copy=False)

    def df(self, x, out):
        return (-(x * x)).exp() * (2 / math.sqrt(math.pi))


class Binary(Node):
    """``out = f(a, b)`` with broadcasting; ``da``/``db`` are the partial derivatives (Tensor ops)."""

    def _record(self, inputs, out: Tensor) -> None:
        # the vjp sums each broadcast gradient back to its input's shape (Python scalars: ())
        a, b = inputs
        self.shapes = (a._data.shape if isinstance(a, Tensor) else (), b._data.shape if isinstance(b, Tensor) else ())
        Node._record(self, inputs, out)

    def vjp(self, g, xs, out):
        a, b = xs
        need = self._edges  # an edge (truthy) where the input needs a gradient, else None
        ga = sum_to(g * self.da(a, b, out), self.shapes[0]) if need[0] else None
        gb = sum_to(g * self.db(a, b, out), self.shapes[1]) if need[1] else None
        return ga, gb

    def jvp(self, ts, xs, out):
        a, b = xs
        r = None
        if ts[0] is not None:
            r = ts[0] * self.da(a, b, out)
        if ts[1] is not None:
            t = ts[1] * self.db(a, b, out)
            r = t if r is None else r + t
        return _broadcast_like(r, out)


def _broadcast_like(t: Tensor, out: Tensor) -> Tensor:
    return t if t._data.shape == out._data.shape else Expand(out._data.shape)(t)


@primitive("Pointwise")
class Add(Binary):
    def forward(self, xp, a, b):
        return a + b

    def vjp(self, g, xs, out):
        need = self._edges  # an edge (truthy) where the input needs a gradient, else None
        return (sum_to(g, self.shapes[0]) if need[0] else None, sum_to(g, self.shapes[1]) if need[1] else None)

    def jvp(self, ts, xs, out):
        a, b = ts
        return _broadcast_like(a if b is None else b if a is None else a + b, out)


@primitive("Pointwise")
class Sub(Binary):
    def forward(self, xp, a, b):
        return a - b

    def vjp(self, g, xs, out):
        need = self._edges  # an edge (truthy) where the input needs a gradient, else None
        return (sum_to(g, self.shapes[0]) if need[0] else None, sum_to(-g, self.shapes[1]) if need[1] else None)

    def jvp(self, ts, xs, out):
        a, b = ts
        return _broadcast_like(-b if a is None else a if b is None else a - b, out)


@primitive("Pointwise")
class Mul(Binary):
    saves = (0, 1)
    save_when = {0: (1,), 1: (0,)}  # da = b, db = a

    def forward(self, xp, a, b):
        return a * b

    def da(self, a, b, out):
        return b

    def db(self, a, b, out):
        return a


@primitive("Pointwise")
class Div(Binary):
    saves = (0, 1)
    save_when = {0: (1,), 1: (0, 1)}  # da = 1/b, db = -a/b²

    def forward(self, xp, a, b):
        return a / b

    def vjp(self, g, xs, out):
        a, b = xs
        need = self._edges  # an edge (truthy) where the input needs a gradient, else None
        ga = sum_to(g / b, self.shapes[0]) if need[0] else None
        gb = None
        if need[1]:
            # b is constant along the dims broadcasting added, so reduce g*a first and divide the
            # small result: one full-size pass instead of four (softmax's denominator)
            gb = -sum_to(g * a, self.shapes[1]) / (b * b)
        return ga, gb

    def da(self, a, b, out):
        return 1 / b

    def db(self, a, b, out):
        return -a / (b * b)


@primitive("Pointwise")
class Pow(Binary):
    saves = (0, 1)
    saves_out = (1,)  # only d/db reads the output (x ** 2 does not keep it)

    def forward(self, xp, a, b):
        return a**b

    def da(self, a, b, out):
        if isinstance(b, (int, float)):
            if b == 0:
                return a * 0
            if b == 1:
                return 1
            return a * 2 if b == 2 else b * a ** (b - 1)
        return b * a ** (b - 1)

    def db(self, a, b, out):
        # d/db a^b = a^b log a; defined as 0 where a == 0 (PyTorch's convention)
        if isinstance(a, (int, float)):
            return out * math.log(a) if a > 0 else out * 0
        return out * Where(a._data != 0)(a, 1).log()


def _pick(a, b, out: Tensor, op: str) -> Tensor:
    """Constant weights: 1 where ``a`` wins over ``b``, 1/2 on ties, else 0 (in the inputs' dtype)."""
    ref = a if isinstance(a, Tensor) else b  # ``out`` is not saved by Maximum/Minimum (None in the vjp)
    xp = ref._device.xp
    a = a._data if isinstance(a, Tensor) else a
    b = b._data if isinstance(b, Tensor) else b
    w = xp.where(a == b, 0.5, getattr(xp, op)(a, b)).astype(ref._data.dtype, copy=False)
    return Tensor._wrap(w, ref._device)


@primitive("Pointwise")
class Maximum(Binary):
    """Ties split the gradient evenly between the two inputs (PyTorch's rule)."""

    saves = (0, 1)

    def forward(self, xp, a, b):
        return xp.maximum(a, b)

    def da(self, a, b, out):
        return _pick(a, b, out, "greater")

    def db(self, a, b, out):
        return _pick(b, a, out, "greater")


@primitive("Pointwise")
class Minimum(Binary):
    saves = (0, 1)

    def forward(self, xp, a, b):
        return xp.minimum(a, b)

    def da(self, a, b, out):
        return _pick(a, b, out, "less")

    def db(self, a, b, out):
        return _pick(b, a, out, "less")


@primitive("Pointwise")
class Where(Binary):
    """``out = cond ? a : b``; ``cond`` is a boolean array (never differentiated)."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, xp, a, b):
        return _select(xp, self.cond, a, b)

    def vjp(self, g, xs, out):
        need = self._edges  # an edge (truthy) where the input needs a gradient, else None
        ga = sum_to(Where(self.cond)(g, 0), self.shapes[0]) if need[0] else None
        gb = sum_to(Where(self.cond)(0, g), self.shapes[1]) if need[1] else None
        return ga, gb

    def jvp(self, ts, xs, out):
        a = ts[0] if ts[0] is not None else out * 0
        b = ts[1] if ts[1] is not None else out * 0
        return _broadcast_like(Where(self.cond)(a, b), out)


# keyed by dtype.char: numpy 2 computes dtype.name in Python (3 us a call)
_BITS = {"e": np.int16, "f": np.int32, "d": np.int64}


def _select(xp, cond, a, b):
    """``xp.where(cond, a, b)``. On numpy, float selects run branch-free on the bits: np.where
    mispredicts a branch per element of a random mask, which makes it 15x slower than a multiply on
    a ReLU mask of 512x2048 (NaN and inf stay exactly where they are picked). Small arrays keep
    np.where, which costs fewer calls."""
    if xp.__name__ == "numpy" and isinstance(cond, xp.ndarray) and cond.size >= 4096 and cond.dtype == bool:
        r = None
        if _is_pos_zero(b) and hasattr(a, "dtype"):
            r = _keep_bits(xp, cond, a)
        elif _is_pos_zero(a) and hasattr(b, "dtype"):
            r = _keep_bits(xp, ~cond, b)
        elif hasattr(a, "dtype") and hasattr(b, "dtype") and a.dtype == b.dtype:
            r = _keep_bits(xp, cond, a)
            rb = _keep_bits(xp, ~cond, b) if r is not None else None
            if rb is None:
                r = None
            else:
                it = _BITS[r.dtype.char]
                xp.bitwise_or(r.view(it), rb.view(it), out=r.view(it))
        if r is not None:
            return r
    return xp.where(cond, a, b)


def _is_pos_zero(v) -> bool:
    return isinstance(v, (int, float)) and v == 0 and math.copysign(1.0, v) > 0


def _keep_bits(xp, keep, x):
    """``x`` where ``keep``, +0 elsewhere (bitwise), or None where the dtype or shape do not allow it."""
    it = _BITS.get(x.dtype.char)
    if it is None or not isinstance(x, xp.ndarray) or x.shape != keep.shape:
        return None
    m = keep.astype(it)
    xp.negative(m, out=m)  # 0 or all ones
    xp.bitwise_and(m, x.view(it), out=m)
    return m.view(x.dtype)


@primitive("Pointwise")
class Clamp(Unary):
    """Gradient passes where ``min <= x <= max`` (PyTorch's rule, boundaries included)."""

    saves = (0,)

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, xp, x):
        return xp.clip(x, self.lo, self.hi)

    def df(self, x, out):
        m = None
        if self.lo is not None:
            m = x >= self.lo
        if self.hi is not None:
            m = (x <= self.hi) if m is None else m * (x <= self.hi)
        return m


@primitive("Pointwise")
class Compare(Node):
    """Comparisons (``== != < <= > >=``) and logical ops: boolean results, no gradient."""

    def __init__(self, op: str):
        self.op = op

    def forward(self, xp, a, b):
        return getattr(xp, self.op)(a, b)

    def vjp(self, g, xs, out):
        return None, None

    def jvp(self, ts, xs, out):
        return None


@primitive("Pointwise")
class Cast(Node):
    """dtype conversion; gradients are cast back to the input dtype."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, xp, x):
        self.src = x.dtype
        return x.astype(self.dtype)

    def vjp(self, g, xs, out):
        return (Cast(self.src)(g),)

    def jvp(self, ts, xs, out):
        return Cast(self.dtype)(ts[0])


from .view import Expand, Reshape  # noqa: E402
