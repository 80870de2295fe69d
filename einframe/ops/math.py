"""Pointwise primitives of the math family: trigonometric and hyperbolic inverses, logarithms of other
bases, special functions (erfc, erfinv, lgamma, polygamma), rounding, atan2, hypot, fmod, remainder.

Each is one class with ``forward`` on raw arrays and its derivative as einframe Tensor ops (the
``df``/``da``/``db`` of :class:`~einframe.ops.pointwise.Unary` / ``Binary``), so gradients of any
order and forward-mode tangents work. Special functions use ``scipy.special`` (``cupyx.scipy.special``
on a GPU) when installed, and numpy fallbacks written here otherwise.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor
from .core import primitive
from .pointwise import Binary, Unary, Where

__all__: list[str] = []

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_SQRT_PI = math.sqrt(math.pi)


def _scipy(xp, name: str):
    """``scipy.special.<name>`` (``cupyx.scipy.special`` on a GPU), or None when scipy is not installed."""
    if xp.__name__ != "numpy":
        import cupyx.scipy.special as sp

        return getattr(sp, name)
    try:
        import scipy.special as sp
    except ImportError:
        return None
    return getattr(sp, name)


def _const(ref, arr) -> Tensor:
    """A constant tensor (no gradient) on the device of ``ref``, a Tensor."""
    return Tensor._wrap(arr, ref._device)


def _raw(v):
    return v._data if isinstance(v, Tensor) else v


def _ref(a, b) -> Tensor:
    return a if isinstance(a, Tensor) else b


# ------------------------------------------------------------------------------------------------
# trigonometric and hyperbolic


@primitive("Pointwise")
class Tan(Unary):
    saves_out = True

    def forward(self, xp, x):
        return xp.tan(x)

    def df(self, x, out):
        return 1 + out * out


@primitive("Pointwise")
class Sinh(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.sinh(x)

    def df(self, x, out):
        return Cosh()(x)


@primitive("Pointwise")
class Cosh(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.cosh(x)

    def df(self, x, out):
        return Sinh()(x)


@primitive("Pointwise")
class Asin(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.arcsin(x)

    def df(self, x, out):
        return 1 / (1 - x * x).sqrt()


@primitive("Pointwise")
class Acos(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.arccos(x)

    def df(self, x, out):
        return -1 / (1 - x * x).sqrt()


@primitive("Pointwise")
class Atan(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.arctan(x)

    def df(self, x, out):
        return 1 / (1 + x * x)


@primitive("Pointwise")
class Asinh(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.arcsinh(x)

    def df(self, x, out):
        return 1 / (x * x + 1).sqrt()


@primitive("Pointwise")
class Acosh(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.arccosh(x)

    def df(self, x, out):
        return 1 / (x * x - 1).sqrt()


@primitive("Pointwise")
class Atanh(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.arctanh(x)

    def df(self, x, out):
        return 1 / (1 - x * x)


@primitive("Pointwise")
class Atan2(Binary):
    """``atan2(a, b)``: the angle of the point (b, a); da = b/(a²+b²), db = -a/(a²+b²)."""

    saves = (0, 1)

    def forward(self, xp, a, b):
        return xp.arctan2(a, b)

    def da(self, a, b, out):
        return b / (a * a + b * b)

    def db(self, a, b, out):
        return -a / (a * a + b * b)


@primitive("Pointwise")
class Hypot(Binary):
    """``sqrt(a² + b²)`` without overflow; da = a/out, db = b/out."""

    saves = (0, 1)
    saves_out = True

    def forward(self, xp, a, b):
        return xp.hypot(a, b)

    def da(self, a, b, out):
        return a / out

    def db(self, a, b, out):
        return b / out


# ------------------------------------------------------------------------------------------------
# logarithms and exponentials


@primitive("Pointwise")
class Log2(Unary):
    saves = (0,)

    def forward(self, xp, x):
        return xp.log2(x)

    def df(self, x, out):
        return 1 / (x * _LN2)


@primitive("Pointwise")
class Log10(Unary):
    saves = (0,)

    def forward(self, xp, x):
        if x.dtype.itemsize < 8 and x.dtype.kind == "f":  # numpy's float32 log10 is 1-2 ulp off at 100, 1000
            return xp.log10(x.astype(np.float64)).astype(x.dtype)
        return xp.log10(x)

    def df(self, x, out):
        return 1 / (x * _LN10)


@primitive("Pointwise")
class Log1p(Unary):
    """``log(1 + x)``, accurate for tiny ``x``."""

    saves = (0,)

    def forward(self, xp, x):
        return xp.log1p(x)

    def df(self, x, out):
        return 1 / (1 + x)


@primitive("Pointwise")
class Expm1(Unary):
    """``exp(x) - 1``, accurate for tiny ``x``."""

    saves_out = True

    def forward(self, xp, x):
        return xp.expm1(x)

    def df(self, x, out):
        return out + 1


# ------------------------------------------------------------------------------------------------
# special functions


def _vectorize(fn):
    return np.vectorize(fn, otypes=[np.float64])


def _lgamma1(v: float) -> float:
    try:
        return math.lgamma(v)
    except ValueError:  # poles at 0, -1, -2, ...
        return math.inf


_np_erf = _vectorize(math.erf)
_np_erfc = _vectorize(math.erfc)
_np_lgamma = _vectorize(_lgamma1)


def _erfinv_np(x):
    """erfinv without scipy: Winitzki's approximation, then three Halley steps on erf (erfc in the tails)."""
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    with np.errstate(all="ignore"):
        inside = ax < 1
        a = np.where(inside, ax, 0.5)
        ln = np.log1p(-a * a)
        k = 2 / (math.pi * 0.147) + ln / 2
        y = np.sqrt(np.sqrt(k * k - ln / 0.147) - k)
        tail = a > 0.5
        for _ in range(3):
            # f(y) = erf(y) - a, written as (1 - a) - erfc(y) where 1 - a is exact (a in (0.5, 1))
            f = np.where(tail, (1 - a) - _np_erfc(y), _np_erf(y) - a)
            d = (2 / _SQRT_PI) * np.exp(-y * y)
            y = y - f / (d + y * f)
        y = np.where(inside, y, np.where(ax == 1, np.inf, np.nan))
        return np.copysign(y, x)


_ZETA_TERMS = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)  # B_2, B_4, ..., B_16


def _digamma_np(x):
    """digamma without scipy: reflection below 1/2, recurrence up to 12, then the asymptotic series."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        refl = x < 0.5
        y = np.where(refl, 1 - x, x)
        acc = np.zeros_like(y)
        for _ in range(12):
            low = y < 12
            if not low.any():
                break
            acc = acc - np.where(low, 1 / y, 0.0)
            y = np.where(low, y + 1, y)
        inv2 = 1 / (y * y)
        s = np.zeros_like(y)
        p = np.ones_like(y)
        for k, b in enumerate(_ZETA_TERMS[:6], start=1):
            p = p * inv2
            s = s + b / (2 * k) * p
        r = acc + np.log(y) - 0.5 / y - s
        r = np.where(refl, r - math.pi / np.tan(math.pi * (x - np.rint(x))), r)  # tan's period: exact reduction
        r = np.where(x == np.floor(x), np.where(x == 0, np.copysign(np.inf, -x), np.where(x > 0, r, np.nan)), r)
        return np.where(x == -np.inf, np.nan, r)


def _polygamma_np(n: int, x):
    """polygamma(n >= 1) without scipy: (-1)^(n+1) n! zeta(n+1, x), the Hurwitz zeta by recurrence up
    to 20 and the Euler-Maclaurin tail."""
    x = np.asarray(x, dtype=np.float64)
    s = n + 1
    with np.errstate(all="ignore"):
        y = np.where(x < -1e4, np.nan, np.where(x == 0, 0.0, x))  # -0.0 as +0.0; far left: not worth 10^4 steps
        acc = np.zeros_like(y)
        while True:
            low = np.isfinite(y) & (y < 20)
            if not low.any():
                break
            acc = acc + np.where(low, y ** (-s), 0.0)
            y = np.where(low, y + 1, y)
        z = y ** (1 - s) / (s - 1) + 0.5 * y ** (-s)
        rising = float(s)  # s (s+1) ... (s + 2k - 2)
        fact = 2.0  # (2k)!
        for k, b in enumerate(_ZETA_TERMS, start=1):
            z = z + b / fact * rising * y ** (-s - 2 * k + 1)
            rising *= (s + 2 * k - 1) * (s + 2 * k)
            fact *= (2 * k + 1) * (2 * k + 2)
        r = (-1) ** (n + 1) * math.factorial(n) * (acc + z)
        return np.where(np.isnan(x) | (x == -np.inf), np.nan, r)


@primitive("Pointwise")
class Erfc(Unary):
    """``1 - erf(x)``, accurate in the right tail."""

    saves = (0,)

    def forward(self, xp, x):
        fn = _scipy(xp, "erfc")
        return (fn(x) if fn is not None else _np_erfc(x)).astype(x.dtype, copy=False)

    def df(self, x, out):
        return (-(x * x)).exp() * (-2 / _SQRT_PI)


@primitive("Pointwise")
class Erfinv(Unary):
    """Inverse of erf on (-1, 1); ±inf at ±1, NaN outside; derivative sqrt(pi)/2 · exp(out²)."""

    saves_out = True

    def forward(self, xp, x):
        fn = _scipy(xp, "erfinv")
        if fn is None:
            return _erfinv_np(x).astype(x.dtype, copy=False)
        return xp.where(x == 0, x, fn(x)).astype(x.dtype, copy=False)  # erfinv(-0.0) is -0.0 (as PyTorch)

    def df(self, x, out):
        return (out * out).exp() * (_SQRT_PI / 2)


def _ndtri_np(p):
    """The standard normal quantile without scipy: erfc(y) = q with q = 2 min(p, 1 - p) solved by
    Winitzki's start and three Halley steps on erfc, so tiny tail probabilities keep full precision."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(all="ignore"):
        lower = p < 0.5
        q = np.where(lower, 2 * p, 2 * (1 - p))
        inside = (q > 0) & (q <= 1)
        qs = np.where(inside, q, 0.5)
        ln = np.log(qs) + np.log(2 - qs)  # log(1 - a²) for a = 1 - q, without cancelling
        k = 2 / (math.pi * 0.147) + ln / 2
        y = np.sqrt(np.maximum(np.sqrt(k * k - ln / 0.147) - k, 0.0))
        for _ in range(3):
            f = qs - _np_erfc(y)
            d = (2 / _SQRT_PI) * np.exp(-y * y)
            y = y - f / (d + y * f)
        y = np.where(inside, y, np.where(q == 0, np.inf, np.nan))
        y = np.where((p >= 0) & (p <= 1), y, np.nan)
        return np.where(lower, -y, y) * math.sqrt(2)


@primitive("Pointwise")
class Ndtri(Unary):
    """The standard normal quantile (inverse of ``ndtr``) on [0, 1]: -inf at 0, +inf at 1, NaN
    outside; derivative ``sqrt(2 pi) exp(out² / 2)``."""

    saves_out = True

    def forward(self, xp, x):
        fn = _scipy(xp, "ndtri")
        r = fn(x) if fn is not None else _ndtri_np(x)
        return r.astype(x.dtype, copy=False)

    def df(self, x, out):
        return (out * out * 0.5).exp() * math.sqrt(2 * math.pi)


def _bessel_ie_np(x, nu: int):
    """``exp(-|x|) I_nu(x)`` for nu = 0, 1 without scipy: the power series up to |x| = 30, the
    Hankel asymptotic series above (both within a few ulps of scipy)."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    with np.errstate(all="ignore"):
        small = np.where(a <= 30, a, 0.0)
        t = (small / 2) ** 2
        term = np.ones_like(small) if nu == 0 else small / 2
        total = term.copy()
        for k in range(1, 120):
            term = term * t / (k * (k + nu))
            total = total + term
        series = total * np.exp(-small)
        big = np.where(a > 30, a, 31.0)
        mu = 4.0 * nu * nu
        term = np.ones_like(big)
        total = term.copy()
        for k in range(1, 40):
            term = term * -(mu - (2 * k - 1) ** 2) / (8 * k * big)
            total = total + term
        asym = total / np.sqrt(2 * np.pi * big)
        r = np.where(a <= 30, series, asym)
        r = np.where(np.isinf(a), 0.0, r)  # the limit of both at infinity
        return np.where(np.isnan(x), np.nan, np.copysign(r, x) if nu == 1 else r)


class _ScaledBessel(Unary):
    saves = (0,)
    saves_out = True
    nu = 0

    def forward(self, xp, x):
        fn = _scipy(xp, f"i{self.nu}e")
        r = fn(x) if fn is not None else _bessel_ie_np(x, self.nu)
        return r.astype(x.dtype, copy=False)


@primitive("Pointwise")
class I0e(_ScaledBessel):
    """``exp(-|x|) I0(x)``, the scaled modified Bessel function of order 0; derivative
    ``i1e(x) - sign(x) i0e(x)``."""

    nu = 0

    def df(self, x, out):
        return I1e()(x) - x.sign() * out


@primitive("Pointwise")
class I1e(_ScaledBessel):
    """``exp(-|x|) I1(x)``; derivative ``i0e(x) - i1e(x) (sign(x) + 1/x)``, 1/2 at 0."""

    nu = 1

    def df(self, x, out):
        zero = x._data == 0
        over_x = Where(zero)(0.5, out / Where(zero)(1.0, x))  # i1e(x)/x -> 1/2 at 0
        return I0e()(x) - x.sign() * out - over_x


@primitive("Pointwise")
class Lgamma(Unary):
    """``log|Γ(x)|``; +inf at the poles 0, -1, -2, ... and at ±inf (as PyTorch); derivative digamma."""

    saves = (0,)

    def forward(self, xp, x):
        fn = _scipy(xp, "gammaln")
        if fn is None:
            return _np_lgamma(x).astype(x.dtype, copy=False)
        return xp.where(x == -xp.inf, xp.inf, fn(x)).astype(x.dtype, copy=False)

    def df(self, x, out):
        return Polygamma(0)(x)


@primitive("Pointwise")
class Polygamma(Unary):
    """The ``n``-th derivative of digamma (``n = 0``: digamma itself); derivative polygamma(n + 1)."""

    saves = (0,)

    def __init__(self, n: int):
        self.n = n

    def forward(self, xp, x):
        if self.n == 0:
            fn = _scipy(xp, "digamma")
            r = fn(x) if fn is not None else _digamma_np(x)
        else:
            fn = _scipy(xp, "polygamma")
            r = fn(self.n, x) if fn is not None else _polygamma_np(self.n, x)
        return r.astype(x.dtype, copy=False)

    def df(self, x, out):
        return Polygamma(self.n + 1)(x)


# ------------------------------------------------------------------------------------------------
# rounding and division remainders


@primitive("Pointwise")
class Rounding(Unary):
    """``floor``, ``ceil``, ``trunc`` or ``round`` (half to even, optionally to ``decimals`` places):
    piecewise constant, so the derivative is zero everywhere (as PyTorch)."""

    def __init__(self, mode: str, decimals: int = 0):
        self.mode, self.decimals = mode, decimals

    def forward(self, xp, x):
        if self.mode != "round":
            return getattr(xp, self.mode)(x)
        d = self.decimals
        if d == 0:
            return xp.rint(x)
        ten = x.dtype.type(10.0 ** abs(d))  # PyTorch's formula, in the tensor's dtype
        return xp.rint(x * ten) / ten if d > 0 else xp.rint(x / ten) * ten

    def vjp(self, g, xs, out):
        return (g * 0,)

    def jvp(self, ts, xs, out):
        return ts[0] * 0


@primitive("Pointwise")
class Fmod(Binary):
    """C's ``fmod`` (the sign of the dividend): da = 1, db = -trunc(a / b)."""

    saves = (0, 1)
    save_when = {0: (1,), 1: (1,)}

    def forward(self, xp, a, b):
        with np.errstate(all="ignore"):  # x fmod 0 is NaN, quietly (as PyTorch)
            return xp.fmod(a, b)

    def da(self, a, b, out):
        return 1

    def db(self, a, b, out):
        ref = _ref(a, b)
        with np.errstate(all="ignore"):
            q = ref._device.xp.trunc(_raw(a) / _raw(b))
        return _const(ref, -ref._device.xp.asarray(q, dtype=ref._data.dtype))


@primitive("Pointwise")
class Remainder(Binary):
    """Python's ``%`` (the sign of the divisor), computed as PyTorch does from fmod (so ``-0.0 % 2``
    is ``-0.0``): da = 1, db = -floor(a / b)."""

    saves = (0, 1)
    save_when = {0: (1,), 1: (1,)}

    def forward(self, xp, a, b):
        with np.errstate(all="ignore"):
            m = xp.fmod(a, b)
            fix = (m != 0) & ((xp.asarray(b) < 0) != (m < 0))
            return xp.where(fix, m + b, m).astype(m.dtype, copy=False)

    def da(self, a, b, out):
        return 1

    def db(self, a, b, out):
        ref = _ref(a, b)
        with np.errstate(all="ignore"):
            q = ref._device.xp.floor(_raw(a) / _raw(b))
        return _const(ref, -ref._device.xp.asarray(q, dtype=ref._data.dtype))
