"""``ef.*`` functions and ``Tensor`` methods: pointwise math: rounding, trigonometric and special functions, in-place variants.

Wired by :mod:`einframe._functions`: every name in ``__all__`` becomes ``ef.<name>``, and every entry
of ``METHODS`` (method name -> function taking the tensor first) a ``Tensor`` method.

Dtype rules are PyTorch's: floating functions of integer or bool tensors compute in the default float
dtype; rounding functions return integer tensors unchanged; binary functions promote as ``ef.add``.
Derivatives come from the primitives in :mod:`einframe.ops.math` and :mod:`einframe.ops.pointwise`;
piecewise-constant functions (floor, ceil, round, trunc, sign) have zero gradient, and boolean or
integer results (signbit, isclose, bitwise ops, heaviside) none.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple

import numpy as np

from . import _functions as _F
from . import dtypes as _dt
from .ops import math as _m
from .ops import pointwise as _p
from .tensor import Tensor

__all__ = [
    # rounding and remainders
    "floor", "ceil", "round", "trunc", "fix", "frac", "fmod", "remainder", "floor_divide",
    # trigonometric and hyperbolic
    "tan", "asin", "arcsin", "acos", "arccos", "atan", "arctan", "atan2", "arctan2", "hypot", "sinh", "cosh",
    "asinh", "arcsinh", "acosh", "arccosh", "atanh", "arctanh", "deg2rad", "rad2deg", "sinc",
    # exponentials, logarithms, special functions
    "log2", "log10", "exp2", "logaddexp", "logaddexp2", "xlogy", "logit", "erfc", "erfinv", "lgamma", "digamma",
    "polygamma", "mvlgamma", "float_power", "ldexp", "frexp", "i0",
    # signs, blends, clamps
    "sgn", "signbit", "copysign", "heaviside", "lerp", "addcmul", "addcdiv", "nan_to_num", "clamp_min", "clamp_max",
    "fmin", "fmax",
    # predicates and integer ops
    "isclose", "isposinf", "isneginf", "isreal", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm", "nextafter",
    # NumPy-style aliases
    "multiply", "divide", "subtract", "negative", "positive", "absolute", "rsub",
]  # fmt: skip


def _check(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def _default_float():
    return _dt.get_default_dtype().np


def _floating(x: Tensor) -> Tensor:
    """``x`` itself when floating, else cast to the default float dtype (PyTorch's rule for sin(int))."""
    return x if x._data.dtype.kind == "f" else _F._cast(x, _default_float())


def _float_unary(cls, name: str, doc: str):
    def fn(input: Tensor) -> Tensor:
        _check(input, name)
        return cls()(_floating(input))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _promote(a, b, to_float: bool = False):
    """PyTorch's promotion of two operands (tensors or numbers), then the default float dtype for
    integer results when ``to_float`` (atan2, hypot, ...) or when the other operand is a Python float."""
    a, b = _F._operands(a, b)
    t = a if isinstance(a, Tensor) else b
    other = b if t is a else a
    if t._data.dtype.kind in "biu" and (to_float or isinstance(other, float)):
        f = _default_float()
        a = _F._cast(a, f) if isinstance(a, Tensor) else a
        b = _F._cast(b, f) if isinstance(b, Tensor) else b
    return a, b


def _tensor_of(v, like: Tensor) -> Tensor:
    """``v`` (a number or a tensor) as a tensor of ``like``'s dtype and device."""
    if isinstance(v, Tensor):
        return v
    return Tensor._wrap(like._device.xp.asarray(v, dtype=like._data.dtype), like._device)


def _raw(v):
    return v._data if isinstance(v, Tensor) else v


def _any(mask) -> bool:
    return bool(mask.any()) if hasattr(mask, "any") else bool(mask)


# ------------------------------------------------------------------------------------------------
# rounding and remainders


def _rounding(mode: str, doc: str):
    def fn(input: Tensor) -> Tensor:
        _check(input, mode)
        if input._data.dtype.kind != "f":
            return _F.clone(input)  # integers are already whole (PyTorch returns a copy)
        return _m.Rounding(mode)(input)

    fn.__name__ = fn.__qualname__ = mode
    fn.__doc__ = doc
    return fn


floor = _rounding(
    "floor",
    """Largest integer <= x (same dtype; gradient zero).

    >>> import einframe as ef
    >>> ef.floor(ef.tensor([-1.5, 0.5, 2.0])).tolist()
    [-2.0, 0.0, 2.0]
    """,
)
ceil = _rounding(
    "ceil",
    """Smallest integer >= x (same dtype; gradient zero).

    >>> import einframe as ef
    >>> ef.ceil(ef.tensor([-1.5, 0.5, 2.0])).tolist()
    [-1.0, 1.0, 2.0]
    """,
)
trunc = _rounding(
    "trunc",
    """Round toward zero (same dtype; gradient zero).

    >>> import einframe as ef
    >>> ef.trunc(ef.tensor([-1.5, 0.5, 2.7])).tolist()
    [-1.0, 0.0, 2.0]
    """,
)
fix = trunc


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even (``round(2.5) == 2``), to ``decimals`` places (negative: left of the point);
    gradient zero.

    >>> import einframe as ef
    >>> ef.round(ef.tensor([0.5, 1.5, 2.5, -0.5])).tolist()
    [0.0, 2.0, 2.0, -0.0]
    """
    _check(input, "round")
    if input._data.dtype.kind != "f":
        return _F.clone(input)
    return _m.Rounding("round", int(decimals))(input)


def frac(input: Tensor) -> Tensor:
    """``x - trunc(x)`` (the sign of ``x``); gradient 1.

    >>> import einframe as ef
    >>> ef.frac(ef.tensor([-1.5, 2.25])).tolist()
    [-0.5, 0.25]
    """
    _check(input, "frac")
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"\"frac_cpu\" not implemented for '{input.dtype.name}': frac needs a floating tensor")
    return input - trunc(input)


def _int_division_check(a, b, name: str) -> None:
    t = a if isinstance(a, Tensor) else b
    if t._data.dtype.kind in "biu" and _any(_raw(b) == 0):
        raise RuntimeError(f"ZeroDivisionError: {name} of an integer tensor by zero")


def _remainder_op(cls, name: str, doc: str):
    def fn(input, other) -> Tensor:
        a, b = _promote(input, other)
        _int_division_check(a, b, name)
        return cls()(a, b)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


fmod = _remainder_op(
    _m.Fmod,
    "fmod",
    """C's remainder, with the sign of the dividend: ``fmod(-3, 2) == -1``; gradient 1 for input.

    >>> import einframe as ef
    >>> ef.fmod(ef.tensor([-3, 3]), 2).tolist()
    [-1, 1]
    """,
)
remainder = _remainder_op(
    _m.Remainder,
    "remainder",
    """Python's ``%``, with the sign of the divisor: ``remainder(-3, 2) == 1``; gradient 1 for input.

    >>> import einframe as ef
    >>> ef.remainder(ef.tensor([-3, 3]), 2).tolist()
    [1, 1]
    """,
)


def floor_divide(input, other) -> Tensor:
    """``floor(input / other)``, as ``div(..., rounding_mode='floor')`` (no gradient).

    >>> import einframe as ef
    >>> ef.floor_divide(ef.tensor([-7, 7]), 2).tolist()
    [-4, 3]
    """
    a, b = _promote(input, other)
    _int_division_check(a, b, "floor_divide")
    return _F.div(a, b, rounding_mode="floor")


# ------------------------------------------------------------------------------------------------
# trigonometric and hyperbolic

tan = _float_unary(
    _m.Tan,
    "tan",
    """Tangent.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 1.0], dtype=ef.float64)
    >>> ef.tan(x).round(decimals=4).tolist()
    [0.0, 1.5574]
    """,
)
sinh = _float_unary(
    _m.Sinh,
    "sinh",
    """Hyperbolic sine.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 1.0], dtype=ef.float64)
    >>> ef.sinh(x).round(decimals=4).tolist()
    [0.0, 1.1752]
    """,
)
cosh = _float_unary(
    _m.Cosh,
    "cosh",
    """Hyperbolic cosine.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 1.0], dtype=ef.float64)
    >>> ef.cosh(x).round(decimals=4).tolist()
    [1.0, 1.5431]
    """,
)
asin = _float_unary(
    _m.Asin,
    "asin",
    """Inverse sine (NaN outside [-1, 1]).

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 1.0], dtype=ef.float64)
    >>> ef.asin(x).round(decimals=4).tolist()
    [0.0, 1.5708]
    """,
)
acos = _float_unary(
    _m.Acos,
    "acos",
    """Inverse cosine (NaN outside [-1, 1]).

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 0.0], dtype=ef.float64)
    >>> ef.acos(x).round(decimals=4).tolist()
    [0.0, 1.5708]
    """,
)
atan = _float_unary(
    _m.Atan,
    "atan",
    """Inverse tangent.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 1.0], dtype=ef.float64)
    >>> ef.atan(x).round(decimals=4).tolist()
    [0.0, 0.7854]
    """,
)
asinh = _float_unary(
    _m.Asinh,
    "asinh",
    """Inverse hyperbolic sine.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 1.0], dtype=ef.float64)
    >>> ef.asinh(x).round(decimals=4).tolist()
    [0.0, 0.8814]
    """,
)
acosh = _float_unary(
    _m.Acosh,
    "acosh",
    """Inverse hyperbolic cosine (NaN below 1).

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 2.0], dtype=ef.float64)
    >>> ef.acosh(x).round(decimals=4).tolist()
    [0.0, 1.317]
    """,
)
atanh = _float_unary(
    _m.Atanh,
    "atanh",
    """Inverse hyperbolic tangent (±inf at ±1, NaN outside).

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 0.5], dtype=ef.float64)
    >>> ef.atanh(x).round(decimals=4).tolist()
    [0.0, 0.5493]
    """,
)
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def atan2(input, other) -> Tensor:
    """The angle of the point (other, input) in (-pi, pi], quadrant-aware; integers compute in float.

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, -1.0], dtype=ef.float64)
    >>> ef.atan2(x, -x).round(decimals=4).tolist()
    [2.3562, -0.7854]
    """
    a, b = _promote(input, other, to_float=True)
    return _m.Atan2()(a, b)


arctan2 = atan2


def hypot(input, other) -> Tensor:
    """``sqrt(input² + other²)`` without intermediate overflow.

    >>> import einframe as ef
    >>> ef.hypot(ef.tensor([3.0, 5.0]), ef.tensor([4.0, 12.0])).tolist()
    [5.0, 13.0]
    """
    a, b = _promote(input, other, to_float=True)
    return _m.Hypot()(a, b)


def deg2rad(input: Tensor) -> Tensor:
    """Degrees to radians.

    >>> import einframe as ef
    >>> x = ef.tensor([180.0, 90.0], dtype=ef.float64)
    >>> ef.deg2rad(x).round(decimals=4).tolist()
    [3.1416, 1.5708]
    """
    _check(input, "deg2rad")
    return _floating(input) * (math.pi / 180)


def rad2deg(input: Tensor) -> Tensor:
    """Radians to degrees.

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, -0.5], dtype=ef.float64)
    >>> ef.rad2deg(x).round(decimals=4).tolist()
    [57.2958, -28.6479]
    """
    _check(input, "rad2deg")
    return _floating(input) * (180 / math.pi)


def sinc(input: Tensor) -> Tensor:
    """The normalised sinc, ``sin(pi x) / (pi x)``, 1 at 0 (gradient 0 there).

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 0.5, 1.5], dtype=ef.float64)
    >>> ef.sinc(x).round(decimals=4).tolist()
    [1.0, 0.6366, -0.2122]
    """
    _check(input, "sinc")
    x = _floating(input)
    zero = x._data == 0
    if not _any(zero):
        px = x * math.pi
        return _p.Sin()(px) / px
    safe = _p.Where(zero)(1.0, x) * math.pi  # no 0/0 in the branch that is not taken (nor in its gradient)
    return _p.Where(zero)(1.0, _p.Sin()(safe) / safe)


# ------------------------------------------------------------------------------------------------
# exponentials, logarithms, special functions

log2 = _float_unary(
    _m.Log2,
    "log2",
    """Base-2 logarithm.

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 8.0, 0.5], dtype=ef.float64)
    >>> ef.log2(x).round(decimals=4).tolist()
    [0.0, 3.0, -1.0]
    """,
)
log10 = _float_unary(
    _m.Log10,
    "log10",
    """Base-10 logarithm.

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 100.0, 0.001], dtype=ef.float64)
    >>> ef.log10(x).round(decimals=4).tolist()
    [0.0, 2.0, -3.0]
    """,
)
erfc = _float_unary(
    _m.Erfc,
    "erfc",
    """Complementary error function ``1 - erf(x)``, accurate in the tail.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 1.0], dtype=ef.float64)
    >>> ef.erfc(x).round(decimals=4).tolist()
    [1.0, 0.1573]
    """,
)


def i0(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 0, ``exp(|x|) * i0e(x)`` (inf past
    |x| ~ 713 in float64, as PyTorch).

    >>> import einframe as ef
    >>> ef.i0(ef.tensor([0.0, 1.0], dtype=ef.float64)).round(decimals=6).tolist()
    [1.0, 1.266066]
    """
    _check(input, "i0")
    x = _floating(input)
    return _m.I0e()(x) * _F.abs(x).exp()


erfinv = _float_unary(
    _m.Erfinv,
    "erfinv",
    """Inverse error function: ±inf at ±1, NaN outside [-1, 1].

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 0.5], dtype=ef.float64)
    >>> ef.erfinv(x).round(decimals=4).tolist()
    [0.0, 0.4769]
    """,
)
lgamma = _float_unary(
    _m.Lgamma,
    "lgamma",
    """``log|Γ(x)|``; +inf at 0, -1, -2, ... (gradient: digamma).

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 5.0], dtype=ef.float64)
    >>> ef.lgamma(x).round(decimals=4).tolist()
    [0.0, 3.1781]
    """,
)


def digamma(input: Tensor) -> Tensor:
    """``Γ'(x)/Γ(x)``: -inf at +0, +inf at -0, NaN at negative integers (as PyTorch).

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 2.0], dtype=ef.float64)
    >>> ef.digamma(x).round(decimals=4).tolist()
    [-0.5772, 0.4228]
    """
    _check(input, "digamma")
    return _m.Polygamma(0)(_floating(input))


def polygamma(n: int, input: Tensor) -> Tensor:
    """The ``n``-th derivative of digamma (``polygamma(0, x) == digamma(x)``).

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 2.0], dtype=ef.float64)
    >>> ef.polygamma(1, x).round(decimals=4).tolist()
    [1.6449, 0.6449]
    """
    _check(input, "polygamma")
    if not isinstance(n, numbers.Integral) or n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got {n!r})")
    return _m.Polygamma(int(n))(_floating(input))


def mvlgamma(input: Tensor, p: int) -> Tensor:
    """The multivariate log-gamma of dimension ``p``: ``p(p-1)/4 log(pi) + sum_j lgamma(x - j/2)``.

    >>> import einframe as ef
    >>> x = ef.tensor([2.5, 3.0], dtype=ef.float64)
    >>> ef.mvlgamma(x, 2).round(decimals=4).tolist()
    [0.857, 1.5502]
    """
    _check(input, "mvlgamma")
    if p < 1:
        raise RuntimeError(f"mvlgamma: p has to be greater than or equal to 1 (got {p})")
    x = _floating(input)
    if not bool((x._data > (p - 1) / 2).all()):
        raise RuntimeError(f"mvlgamma: all elements must be greater than (p-1)/2 = {(p - 1) / 2}")
    out = _m.Lgamma()(x)
    for j in range(1, p):
        out = out + _m.Lgamma()(x - j / 2)
    return out + p * (p - 1) / 4 * math.log(math.pi)


def exp2(input: Tensor) -> Tensor:
    """``2 ** x``.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 3.0, -1.0], dtype=ef.float64)
    >>> ef.exp2(x).round(decimals=4).tolist()
    [1.0, 8.0, 0.5]
    """
    _check(input, "exp2")
    return _p.Pow()(2.0, _floating(input))


def _logaddexp(input, other, base2: bool) -> Tensor:
    a, b = _promote(input, other, to_float=True)
    a, b = _tensor_of(a, _ref(a, b)), _tensor_of(b, _ref(a, b))
    ad, bd = a._data, b._data
    xp = a._device.xp
    same_inf = xp.isinf(ad) & (ad == bd)  # inf - inf would be NaN: the result is that infinity
    if _any(same_inf):
        keep = ~same_inf
        sa, sb = _p.Where(keep)(a, 0.0), _p.Where(keep)(b, 0.0)  # NaN-free inputs for the other branch
    else:
        sa, sb = a, b
    d = -_p.Abs()(sa - sb)
    m = _p.Maximum()(sa, sb)
    r = m + _m.Log1p()(_p.Pow()(2.0, d)) * (1 / math.log(2.0)) if base2 else m + _m.Log1p()(_p.Exp()(d))
    return _p.Where(same_inf)(a, r) if _any(same_inf) else r


def _ref(a, b) -> Tensor:
    return a if isinstance(a, Tensor) else b


def logaddexp(input, other) -> Tensor:
    """``log(exp(input) + exp(other))`` without overflow.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 1.0], dtype=ef.float64)
    >>> ef.logaddexp(x, -x).round(decimals=4).tolist()
    [0.6931, 1.1269]
    """
    return _logaddexp(input, other, base2=False)


def logaddexp2(input, other) -> Tensor:
    """``log2(2**input + 2**other)`` without overflow.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 3.0], dtype=ef.float64)
    >>> ef.logaddexp2(x, x).round(decimals=4).tolist()
    [1.0, 4.0]
    """
    return _logaddexp(input, other, base2=True)


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, 0 where ``input == 0`` (unless ``other`` is NaN).

    Gradients as PyTorch: ``log(other)`` for input (0 where input == 0 and other <= 0), ``input / other``.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0, 2.0], dtype=ef.float64)
    >>> ef.xlogy(x, x).round(decimals=4).tolist()
    [0.0, 1.3863]
    """
    a, b = _promote(input, other, to_float=True)
    ref = _ref(a, b)
    a, b = _tensor_of(a, ref), _tensor_of(b, ref)
    bd = b._data
    # 0 * log(0) and 0 * log(inf) are 0 here, not NaN: log sees 1 there (so no NaN reaches a gradient either)
    bad = (a._data == 0) & ((bd <= 0) | (bd == ref._device.xp.inf))
    if _any(bad):
        b = _p.Where(bad)(1.0, b)
    return a * _p.Log()(b)


def logit(input: Tensor, eps: float | None = None) -> Tensor:
    """``log(x / (1 - x))``; with ``eps``, ``x`` is first clamped to [eps, 1 - eps].

    >>> import einframe as ef
    >>> x = ef.tensor([0.5, 0.75], dtype=ef.float64)
    >>> ef.logit(x).round(decimals=4).tolist()
    [0.0, 1.0986]
    """
    _check(input, "logit")
    x = _floating(input)
    if eps is not None:
        x = _F.clamp(x, eps, 1 - eps)
    return _p.Log()(x / (1 - x))


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64 (as PyTorch).

    >>> import einframe as ef
    >>> r = ef.float_power(ef.tensor([2, 3]), 2)
    >>> r.dtype == ef.float64, r.tolist()
    (True, [4.0, 9.0])
    """
    f64 = np.dtype(np.float64)
    a = _F._cast(input, f64) if isinstance(input, Tensor) else float(input)
    b = _F._cast(exponent, f64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError("float_power(): expected at least one Tensor")
    return _p.Pow()(a, b)


def ldexp(input: Tensor, other) -> Tensor:
    """``input * 2 ** other``.

    >>> import einframe as ef
    >>> ef.ldexp(ef.tensor([1.0, 3.0]), ef.tensor([3, -1])).tolist()
    [8.0, 1.5]
    """
    _check(input, "ldexp")
    x = _floating(input)
    e = _floating(other) if isinstance(other, Tensor) else float(other)
    return x * _F.pow(2.0, e) if isinstance(e, Tensor) else x * (2.0**e)


FrexpResult = namedtuple("frexp", ["mantissa", "exponent"])


def frexp(input: Tensor):
    """``(mantissa, exponent)`` with ``input == mantissa * 2 ** exponent``, |mantissa| in [0.5, 1) (no gradient).

    >>> import einframe as ef
    >>> r = ef.frexp(ef.tensor([8.0, -3.0]))
    >>> r.mantissa.tolist(), r.exponent.tolist()
    ([0.5, -0.75], [4, 2])
    """
    _check(input, "frexp")
    if input._data.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    m, e = input._device.xp.frexp(input._data)
    return FrexpResult(Tensor._wrap(m, input._device), Tensor._wrap(e.astype(np.int32), input._device))


# ------------------------------------------------------------------------------------------------
# signs, blends, clamps


def sgn(input: Tensor) -> Tensor:
    """The sign (``sign`` for real tensors); gradient zero.

    >>> import einframe as ef
    >>> ef.sgn(ef.tensor([-2.0, 0.0, 3.0])).tolist()
    [-1.0, 0.0, 1.0]
    """
    return _F.sign(input)


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (``-0.0`` included); a bool tensor.

    >>> import einframe as ef
    >>> ef.signbit(ef.tensor([-1.0, -0.0, 2.0])).tolist()
    [True, True, False]
    """
    _check(input, "signbit")
    xp = input._device.xp
    d = input._data
    r = xp.signbit(d) if d.dtype.kind == "f" else (d < 0)
    return Tensor._wrap(xp.asarray(r), input._device)


def copysign(input, other) -> Tensor:
    """``|input|`` with the sign (bit) of ``other``; gradient ``sign(input) * sign(out)`` (0 at input 0).

    >>> import einframe as ef
    >>> ef.copysign(ef.tensor([1.0, -2.0]), ef.tensor([-1.0, 1.0])).tolist()
    [-1.0, 2.0]
    """
    a, b = _promote(input, other, to_float=True)
    ref = _ref(a, b)
    a = _tensor_of(a, ref)
    xp = ref._device.xp
    bd = _raw(b)
    neg = xp.signbit(bd) if isinstance(b, Tensor) else math.copysign(1.0, bd) < 0
    s = xp.where(xp.asarray(neg), -1.0, 1.0).astype(a._data.dtype)
    return _p.Abs()(a) * Tensor._wrap(s, ref._device)


def heaviside(input: Tensor, values) -> Tensor:
    """0 where ``input < 0``, ``values`` where ``input == 0``, 1 where ``input > 0`` (not differentiable).

    >>> import einframe as ef
    >>> ef.heaviside(ef.tensor([-1.0, 0.0, 2.0]), ef.tensor(0.5)).tolist()
    [0.0, 0.5, 1.0]
    """
    _check(input, "heaviside")
    if isinstance(values, Tensor) and values._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"heaviside is not yet implemented for tensors with different dtypes ({input.dtype.name} and {values.dtype.name})"
        )
    xp = input._device.xp
    d = input._data
    r = xp.where(d == 0, _raw(values), d > 0).astype(d.dtype)
    return Tensor._wrap(r, input._device)


def lerp(input: Tensor, end: Tensor, weight) -> Tensor:
    """``input + weight * (end - input)``, exact at ``weight == 1`` (PyTorch's two-sided formula).

    >>> import einframe as ef
    >>> ef.lerp(ef.tensor([0.0, 10.0]), ef.tensor([10.0, 20.0]), 0.25).tolist()
    [2.5, 12.5]
    """
    _check(input, "lerp")
    a, b = _F._operands(input, end)
    diff = b - a
    if not isinstance(weight, Tensor):
        return a + weight * diff if builtins.abs(weight) < 0.5 else b - diff * (1 - weight)
    w = _F._cast(weight, diff._data.dtype)
    near = input._device.xp.abs(w._data) < 0.5
    return _p.Where(near)(a + w * diff, b - diff * (1 - w))


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2``.

    >>> import einframe as ef
    >>> ef.addcmul(ef.tensor([1.0, 1.0]), ef.tensor([2.0, 3.0]), ef.tensor([4.0, 5.0]), value=0.5).tolist()
    [5.0, 8.5]
    """
    prod = _F.mul(tensor1, tensor2)
    return _F.add(input, prod if value == 1 else _F.mul(prod, value))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2``.

    >>> import einframe as ef
    >>> ef.addcdiv(ef.tensor([1.0, 1.0]), ef.tensor([2.0, 3.0]), ef.tensor([4.0, 2.0])).tolist()
    [1.5, 2.5]
    """
    if all(isinstance(t, Tensor) and t._data.dtype.kind in "biu" for t in (tensor1, tensor2)):
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future release addcdiv will perform "
            "a true division of tensor1 and tensor2. Use addcdiv with floating tensors instead"
        )
    q = _F.div(tensor1, tensor2)
    return _F.add(input, q if value == 1 else _F.mul(q, value))


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (default: the dtype's largest
    and smallest finite values); gradient 1 where the input is finite, 0 where it was replaced.

    >>> import einframe as ef
    >>> ef.nan_to_num(ef.tensor([float('nan'), float('inf'), -1.0]), posinf=9.0).tolist()
    [0.0, 9.0, -1.0]
    """
    _check(input, "nan_to_num")
    d = input._data
    if d.dtype.kind != "f":
        return _F.clone(input)
    xp = input._device.xp
    finite = xp.isfinite(d)
    fill = xp.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf)
    return _p.Where(finite)(input, Tensor._wrap(fill, input._device))


def clamp_min(input: Tensor, min) -> Tensor:
    """``clamp(input, min=min)``.

    >>> import einframe as ef
    >>> ef.clamp_min(ef.tensor([-1.0, 0.5, 2.0]), 0.0).tolist()
    [0.0, 0.5, 2.0]
    """
    return _F.clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:
    """``clamp(input, max=max)``.

    >>> import einframe as ef
    >>> ef.clamp_max(ef.tensor([-1.0, 0.5, 2.0]), 1.0).tolist()
    [-1.0, 0.5, 1.0]
    """
    return _F.clamp(input, max=max)


def _nan_ignoring(pick: str):
    def fn(input: Tensor, other: Tensor) -> Tensor:
        a, b = _F._operands(input, other)
        xp = _ref(a, b)._device.xp
        ad, bd = _raw(a), _raw(b)
        take_a = getattr(xp, pick)(ad, bd) | (xp.isnan(bd) if xp.asarray(bd).dtype.kind == "f" else False)
        return _p.Where(xp.asarray(take_a))(a, b)

    return fn


fmax = _nan_ignoring("greater_equal")
fmin = _nan_ignoring("less_equal")
fmax.__name__, fmin.__name__ = "fmax", "fmin"
fmax.__doc__ = """Elementwise maximum that ignores NaN (NaN only where both are NaN); ties send the gradient to input.

    >>> import einframe as ef
    >>> ef.fmax(ef.tensor([1.0, float('nan'), 3.0]), ef.tensor([2.0, 0.0, float('nan')])).tolist()
    [2.0, 0.0, 3.0]
    """
fmin.__doc__ = """Elementwise minimum that ignores NaN (NaN only where both are NaN); ties send the gradient to input.

    >>> import einframe as ef
    >>> ef.fmin(ef.tensor([1.0, float('nan'), 3.0]), ef.tensor([2.0, 0.0, float('nan')])).tolist()
    [1.0, 0.0, 3.0]
    """


# ------------------------------------------------------------------------------------------------
# predicates and integer ops


def isclose(input: Tensor, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """``|input - other| <= atol + rtol * |other|`` elementwise (infinities equal when they agree).

    >>> import einframe as ef
    >>> ef.isclose(ef.tensor([1.0, 1.0]), ef.tensor([1.000001, 1.1])).tolist()
    [True, False]
    """
    _check(input, "isclose")
    if isinstance(other, Tensor) and other._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"isclose(): expected both tensors to be the same dtype, but got {input.dtype.name} and {other.dtype.name}"
        )
    xp = input._device.xp
    r = xp.isclose(input._data, _raw(other), rtol=rtol, atol=atol, equal_nan=equal_nan)
    return Tensor._wrap(xp.asarray(r), input._device)


def _raw_pred(name: str, fn, doc: str):
    def pred(input: Tensor) -> Tensor:
        _check(input, name)
        return Tensor._wrap(input._device.xp.asarray(fn(input._device.xp, input._data)), input._device)

    pred.__name__ = pred.__qualname__ = name
    pred.__doc__ = doc
    return pred


isposinf = _raw_pred(
    "isposinf",
    lambda xp, d: d == xp.inf if d.dtype.kind == "f" else xp.zeros(d.shape, bool),
    """True at +inf.

    >>> import einframe as ef
    >>> ef.isposinf(ef.tensor([float('inf'), float('-inf'), 1.0])).tolist()
    [True, False, False]
    """,
)
isneginf = _raw_pred(
    "isneginf",
    lambda xp, d: d == -xp.inf if d.dtype.kind == "f" else xp.zeros(d.shape, bool),
    """True at -inf.

    >>> import einframe as ef
    >>> ef.isneginf(ef.tensor([float('inf'), float('-inf'), 1.0])).tolist()
    [False, True, False]
    """,
)
isreal = _raw_pred(
    "isreal",
    lambda xp, d: xp.ones(d.shape, bool),
    """True everywhere (einframe tensors are real).

    >>> import einframe as ef
    >>> ef.isreal(ef.tensor([1.0, float('nan')])).tolist()
    [True, True]
    """,
)
logical_xor = _F.logical_xor


def _integer_op(name: str, op: str, bool_op: str | None, doc: str):
    def fn(input, other) -> Tensor:
        a, b = _F._operands(input, other)
        t = _ref(a, b)
        kinds = {t._data.dtype.kind} | ({np.asarray(_raw(o)).dtype.kind for o in (a, b) if not isinstance(o, Tensor)})
        if "f" in kinds:
            raise NotImplementedError(
                f"\"{name}_cpu\" not implemented for '{t.dtype.name if t._data.dtype.kind == 'f' else 'Float'}'"
            )
        if t._data.dtype == np.bool_ and bool_op is None:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
        return _p.Compare(bool_op if t._data.dtype == np.bool_ else op)(a, b)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


bitwise_and = _integer_op(
    "bitwise_and",
    "bitwise_and",
    "logical_and",
    """Elementwise ``bitwise_and`` of integer or bool tensors (no gradient).

    >>> import einframe as ef
    >>> ef.bitwise_and(ef.tensor([12, 10]), ef.tensor([10, 6])).tolist()
    [8, 2]
    """,
)
bitwise_or = _integer_op(
    "bitwise_or",
    "bitwise_or",
    "logical_or",
    """Elementwise ``bitwise_or`` of integer or bool tensors (no gradient).

    >>> import einframe as ef
    >>> ef.bitwise_or(ef.tensor([12, 1]), ef.tensor([10, 2])).tolist()
    [14, 3]
    """,
)
bitwise_xor = _integer_op(
    "bitwise_xor",
    "bitwise_xor",
    "logical_xor",
    """Elementwise ``bitwise_xor`` of integer or bool tensors (no gradient).

    >>> import einframe as ef
    >>> ef.bitwise_xor(ef.tensor([12, 1]), ef.tensor([10, 3])).tolist()
    [6, 2]
    """,
)
bitwise_left_shift = _integer_op(
    "bitwise_left_shift",
    "left_shift",
    None,
    """Elementwise ``left_shift`` of integer tensors (no gradient; bool is refused).

    >>> import einframe as ef
    >>> ef.bitwise_left_shift(ef.tensor([1, 3]), 2).tolist()
    [4, 12]
    """,
)
bitwise_right_shift = _integer_op(
    "bitwise_right_shift",
    "right_shift",
    None,
    """Elementwise ``right_shift`` of integer tensors (no gradient; bool is refused).

    >>> import einframe as ef
    >>> ef.bitwise_right_shift(ef.tensor([16, -8]), 2).tolist()
    [4, -2]
    """,
)
gcd = _integer_op(
    "gcd",
    "gcd",
    None,
    """Elementwise ``gcd`` of integer tensors (no gradient; bool is refused).

    >>> import einframe as ef
    >>> ef.gcd(ef.tensor([12, 9]), ef.tensor([8, 6])).tolist()
    [4, 3]
    """,
)
lcm = _integer_op(
    "lcm",
    "lcm",
    None,
    """Elementwise ``lcm`` of integer tensors (no gradient; bool is refused).

    >>> import einframe as ef
    >>> ef.lcm(ef.tensor([4, 3]), ef.tensor([6, 5])).tolist()
    [12, 15]
    """,
)


def bitwise_not(input: Tensor) -> Tensor:
    """``~x`` of an integer tensor, logical not of a bool tensor (no gradient).

    >>> import einframe as ef
    >>> ef.bitwise_not(ef.tensor([0, 5, -1])).tolist()
    [-1, -6, 0]
    """
    _check(input, "bitwise_not")
    if input._data.dtype.kind == "f":
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{input.dtype.name}'")
    xp = input._device.xp
    return Tensor._wrap(xp.asarray(xp.invert(input._data)), input._device)


def nextafter(input: Tensor, other) -> Tensor:
    """The next floating value after ``input`` toward ``other`` (no gradient).

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 1.0])
    >>> (ef.nextafter(x, ef.tensor([2.0, 0.0])) - x).tolist() == [2**-23, -(2**-24)]
    True
    """
    a, b = _F._operands(input, other)
    t = _ref(a, b)
    if t._data.dtype.kind != "f":
        raise RuntimeError("nextafter: expected floating tensors")
    xp = t._device.xp
    return Tensor._wrap(xp.asarray(xp.nextafter(_raw(a), _raw(b))).astype(t._data.dtype, copy=False), t._device)


# ------------------------------------------------------------------------------------------------
# NumPy-style aliases

multiply = _F.mul
divide = _F.div
subtract = _F.sub
negative = _F.neg
absolute = _F.abs


def positive(input: Tensor) -> Tensor:
    """``input`` itself (``+x``); refused for bool tensors, as PyTorch.

    >>> import einframe as ef
    >>> ef.positive(ef.tensor([-1, 2])).tolist()
    [-1, 2]
    """
    _check(input, "positive")
    if input._data.dtype == np.bool_:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def rsub(input, other, *, alpha=1) -> Tensor:
    """``other - alpha * input``.

    >>> import einframe as ef
    >>> ef.rsub(ef.tensor([1.0, 2.0]), ef.tensor([10.0, 10.0]), alpha=2).tolist()
    [8.0, 6.0]
    """
    return _F.sub(other, input if alpha == 1 else _F.mul(input, alpha))


# ------------------------------------------------------------------------------------------------
# Tensor methods and in-place variants


def _ip(fn, name: str):
    """The in-place method ``x.<name>(...)``: ``fn``'s result written into ``x`` (PyTorch's casting
    rules: a float result refuses to go into an integer tensor)."""

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        others = [*args, *kwargs.values()]
        return _F._inplace(self, lambda s: fn(s, *args, **kwargs), *others)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"In-place version of :func:`{fn.__name__}`."
    return method


def _float_power_(self: Tensor, exponent) -> Tensor:
    if self._data.dtype != np.float64:
        raise RuntimeError(
            f"the base given to float_power_ has dtype {self.dtype.name} but the operation's result requires dtype float64"
        )
    return _F._inplace(self, lambda s: float_power(s, exponent), exponent)


_OUT_OF_PLACE = [
    "floor", "ceil", "round", "trunc", "fix", "frac", "fmod", "remainder", "floor_divide", "tan", "asin", "arcsin",
    "acos", "arccos", "atan", "arctan", "atan2", "arctan2", "hypot", "sinh", "cosh", "asinh", "arcsinh", "acosh",
    "arccosh", "atanh", "arctanh", "deg2rad", "rad2deg", "sinc", "log2", "log10", "exp2", "logaddexp",
    "logaddexp2", "xlogy", "logit", "erfc", "erfinv", "lgamma", "digamma", "mvlgamma", "float_power", "ldexp", "i0",
    "frexp", "sgn", "signbit", "copysign", "heaviside", "lerp", "addcmul", "addcdiv", "nan_to_num", "clamp_min",
    "clamp_max", "fmin", "fmax", "isclose", "isposinf", "isneginf", "isreal", "logical_xor", "bitwise_and",
    "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm",
    "nextafter", "multiply", "divide", "subtract", "negative", "positive", "absolute",
]  # fmt: skip

# in-place methods of this family's functions, and of the core ones ``_functions`` has no ``_`` for
_IN_PLACE = [
    "floor", "ceil", "round", "trunc", "fix", "frac", "fmod", "remainder", "floor_divide", "tan", "asin", "arcsin",
    "acos", "arccos", "atan", "arctan", "atan2", "arctan2", "hypot", "sinh", "cosh", "asinh", "arcsinh", "acosh",
    "arccosh", "atanh", "arctanh", "deg2rad", "rad2deg", "sinc", "log2", "log10", "exp2", "xlogy", "logit", "erfc",
    "erfinv", "i0", "lgamma", "digamma", "mvlgamma", "ldexp", "sgn", "copysign", "heaviside", "lerp", "addcmul",
    "addcdiv", "nan_to_num", "clamp_min", "clamp_max", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor",
    "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "gcd", "lcm", "nextafter", "multiply", "divide",
    "subtract", "negative", "absolute",
    # core functions of ``_functions`` without an in-place method there
    "abs", "sign", "log", "sin", "cos", "erf", "square", "rsqrt", "reciprocal", "log1p", "expm1", "true_divide",
    "logical_and", "logical_or", "logical_not", "clip",
]  # fmt: skip


def _methods() -> dict:
    g = globals()
    out = {name: g[name] for name in _OUT_OF_PLACE}
    for name in _IN_PLACE:
        fn = g[name] if name in g else getattr(_F, name)
        out[name + "_"] = _ip(fn, name + "_")
    out["polygamma"] = lambda self, n: polygamma(n, self)
    out["polygamma_"] = lambda self, n: _F._inplace(self, lambda s: polygamma(n, s))
    out["float_power_"] = _float_power_
    return {k: v for k, v in out.items() if not hasattr(Tensor, k)}  # never replace a method the core has


METHODS: dict = _methods()
