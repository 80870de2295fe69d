"""``ef.special``: PyTorch's ``torch.special`` functions that einframe has, under their names there.

Most are the same functions as ``ef.*`` (``expit`` is ``sigmoid``, ``gammaln`` is ``lgamma``, ...);
``entr``, ``xlog1py``, ``ndtr``, ``log_ndtr``, ``i0`` and ``i1`` are compositions of differentiable
einframe ops; ``ndtri`` (accurate to the last bits also for tail probabilities such as 1e-300) and the
scaled Bessel functions ``i0e``/``i1e`` are primitives.
Every function here has gradients of any order.

>>> import einframe as ef
>>> f"{ef.special.ndtr(ef.tensor(1.0)).item():.6f} {ef.special.ndtri(ef.tensor(0.975)).item():.6f}"
'0.841345 1.959964'
"""

from __future__ import annotations

import math

from . import _functions as F
from . import _functions_math as FM
from .ops.math import I0e, I1e, Ndtri
from .tensor import Tensor

__all__ = [
    "expit", "logit", "erf", "erfc", "erfinv", "gammaln", "digamma", "psi", "polygamma", "multigammaln", "exp2",
    "expm1", "log1p", "logsumexp", "softmax", "log_softmax", "round", "sinc", "xlogy", "xlog1py", "entr", "ndtr",
    "ndtri", "log_ndtr", "i0", "i0e", "i1", "i1e", "modified_bessel_i0", "modified_bessel_i1",
]  # fmt: skip

expit = F.sigmoid
logit = FM.logit
erf = F.erf
erfc = FM.erfc
erfinv = FM.erfinv
gammaln = FM.lgamma
digamma = psi = FM.digamma
polygamma = FM.polygamma
multigammaln = FM.mvlgamma
exp2 = FM.exp2
expm1 = F.expm1
log1p = F.log1p
logsumexp = F.logsumexp
round = FM.round  # noqa: A001 - torch.special.round
sinc = FM.sinc
xlogy = FM.xlogy


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``torch.special.softmax``: ``ef.softmax`` along ``dim``."""
    return F.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``torch.special.log_softmax``: ``ef.log_softmax`` along ``dim``."""
    return F.log_softmax(input, dim, dtype)


def _float(x) -> Tensor:
    return FM._floating(x if isinstance(x, Tensor) else F.tensor(x))


def entr(input: Tensor) -> Tensor:
    """Elementwise entropy term ``-x log x``: 0 at 0, ``-inf`` below 0 (as PyTorch).

    >>> import einframe as ef
    >>> ef.special.entr(ef.tensor([0.0, 0.5, -1.0])).tolist()
    [0.0, 0.3465735912322998, -inf]
    """
    x = _float(input)
    pos = x > 0
    safe = F.where(pos, x, 1.0)  # the unselected branches stay finite, so their gradient is a clean 0
    return F.where(pos, -safe * safe.log(), F.where(x == 0, 0.0, F.where(x < 0, float("-inf"), x)))


def xlog1py(input, other) -> Tensor:
    """``x * log1p(y)``, 0 where ``x == 0`` (unless ``y`` is NaN), as PyTorch.

    >>> import einframe as ef
    >>> ef.special.xlog1py(ef.tensor([0.0, 2.0]), ef.tensor([-1.0, 0.0])).tolist()
    [0.0, 0.0]
    """
    x, y = _float(input), _float(other)
    zero = (x == 0) & ~F.isnan(y)
    safe = F.where(zero, 0.0, y)
    return F.where(zero, 0.0, x * F.log1p(safe))


def ndtr(input: Tensor) -> Tensor:
    """The standard normal CDF, ``erfc(-x / sqrt 2) / 2``.

    >>> import einframe as ef
    >>> ef.special.ndtr(ef.tensor([0.0])).tolist()
    [0.5]
    """
    return FM.erfc(-_float(input) * (1 / math.sqrt(2))) * 0.5


def ndtri(input: Tensor) -> Tensor:
    """The standard normal quantile, the inverse of ``ndtr`` on [0, 1].

    >>> import einframe as ef
    >>> ef.special.ndtri(ef.tensor([0.5, 0.0])).tolist()
    [0.0, -inf]
    """
    return Ndtri()(_float(input))


# log Φ(x) for x < -20: -x²/2 - log(-x) - log sqrt(2π) + log(1 - 1/x² + 3/x⁴ - ...) (the asymptotic
# series of erfc; 7 terms leave an error below 1e-16 there)
_ASYMPTOTIC = (1.0, -1.0, 3.0, -15.0, 105.0, -945.0, 10395.0)


def log_ndtr(input: Tensor) -> Tensor:
    """``log(ndtr(x))`` without underflow: exact to double precision far into the lower tail (where
    ``ndtr`` is 0) and for large ``x`` (where it rounds to 1). Computed in float64.

    >>> import einframe as ef
    >>> f"{ef.special.log_ndtr(ef.tensor(-40.0, dtype=ef.float64)).item():.6f}"
    '-804.608442'
    """
    x0 = _float(input)
    x = x0.double()
    far = x < -20
    low = F.where(far, 0.0, x)  # each branch sees only inputs it is accurate and finite for
    mid = (FM.erfc(-low * (1 / math.sqrt(2))) * 0.5).log()
    high = F.where(x > 0, x, 1.0)
    upper = F.log1p(FM.erfc(high * (1 / math.sqrt(2))) * -0.5)
    t = F.where(far, x, -21.0)
    r = 1 / (t * t)
    series = _ASYMPTOTIC[-1]
    for c in reversed(_ASYMPTOTIC[:-1]):
        series = series * r + c
    tail = -0.5 * t * t - (-t).log() - 0.5 * math.log(2 * math.pi) + series.log()
    out = F.where(far, tail, F.where(x > 0, upper, mid))
    return out if x0.dtype == out.dtype else out.to(x0.dtype)


i0 = modified_bessel_i0 = FM.i0


def i0e(input: Tensor) -> Tensor:
    """``exp(-|x|) I0(x)``: the modified Bessel function of order 0, scaled so it stays finite.

    >>> import einframe as ef
    >>> f"{ef.special.i0e(ef.tensor(1000.0, dtype=ef.float64)).item():.10f}"
    '0.0126172405'
    """
    return I0e()(_float(input))


def i1e(input: Tensor) -> Tensor:
    """``exp(-|x|) I1(x)``: the modified Bessel function of order 1, scaled (odd in ``x``)."""
    return I1e()(_float(input))


def i1(input: Tensor) -> Tensor:
    """The modified Bessel function of the first kind of order 1, ``exp(|x|) * i1e(x)``.

    >>> import einframe as ef
    >>> f"{ef.special.i1(ef.tensor(1.0, dtype=ef.float64)).item():.6f}"
    '0.565159'
    """
    x = _float(input)
    return I1e()(x) * F.abs(x).exp()


modified_bessel_i1 = i1
