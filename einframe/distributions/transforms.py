"""Bijections for ``TransformedDistribution`` (``torch.distributions.transforms``): each maps ``x`` to
``y``, inverts, and gives ``log |dy/dx|``, all with einframe ops (differentiable to any order).

>>> import einframe as ef
>>> from einframe.distributions.transforms import TanhTransform
>>> t = TanhTransform(cache_size=1)
>>> x = ef.tensor([0.0, 20.0])
>>> y = t(x)
>>> t.inv(y).tolist()  # the cached x: atanh(1.0) would be inf
[0.0, 20.0]
"""

from __future__ import annotations

import math

import numpy as np

from .. import _functions as F
from ..nn import functional as NF
from ..tensor import Tensor
from . import constraints
from .distribution import broadcast_all

__all__ = [
    "Transform", "ComposeTransform", "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform",
    "SoftplusTransform", "PowerTransform",
]  # fmt: skip


class Transform:
    """A bijection ``y = T(x)``: ``__call__``, ``inv`` (the inverse transform), ``log_abs_det_jacobian(x, y)``.

    ``cache_size=1`` remembers the last ``(x, y)`` pair, so ``inv(T(x))`` returns ``x`` itself (exact
    where the inverse is ill-conditioned, as tanh near ±1).
    """

    bijective = True
    sign = 1
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size: int = 0):
        if cache_size not in (0, 1):
            raise ValueError("cache_size must be 0 or 1")
        self._cache_size = cache_size
        self._cached = (None, None)

    @property
    def event_dim(self) -> int:
        return getattr(self.domain, "event_dim", 0)

    @property
    def inv(self) -> Transform:
        return _Inverse(self)

    def __call__(self, x: Tensor) -> Tensor:
        if self._cache_size and self._cached[0] is x:
            return self._cached[1]
        y = self._call(x)
        if self._cache_size:
            self._cached = (x, y)
        return y

    def _inv_call(self, y: Tensor) -> Tensor:
        if self._cache_size and self._cached[1] is y:
            return self._cached[0]
        x = self._inverse(y)
        if self._cache_size:
            self._cached = (x, y)
        return x

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _Inverse(Transform):
    def __init__(self, base: Transform):
        super().__init__()
        self._inv = base

    domain = property(lambda self: self._inv.codomain)
    codomain = property(lambda self: self._inv.domain)
    sign = property(lambda self: self._inv.sign)

    @property
    def inv(self) -> Transform:
        return self._inv

    def __call__(self, y: Tensor) -> Tensor:
        return self._inv._inv_call(y)

    def log_abs_det_jacobian(self, y: Tensor, x: Tensor) -> Tensor:
        return -self._inv.log_abs_det_jacobian(x, y)

    def __repr__(self) -> str:
        return f"{self._inv!r}.inv"


class ComposeTransform(Transform):
    """``parts`` applied in order; the log-determinants add up."""

    def __init__(self, parts, cache_size: int = 0):
        super().__init__(cache_size)
        self.parts = list(parts)

    @property
    def domain(self):
        return self.parts[0].domain if self.parts else constraints.real

    @property
    def codomain(self):
        return self.parts[-1].codomain if self.parts else constraints.real

    @property
    def sign(self):
        s = 1
        for p in self.parts:
            s *= p.sign
        return s

    def _call(self, x):
        for p in self.parts:
            x = p(x)
        return x

    def _inverse(self, y):
        for p in reversed(self.parts):
            y = p.inv(y)
        return y

    def log_abs_det_jacobian(self, x, y):
        total, xs = 0.0, [x]
        for p in self.parts[:-1]:
            xs.append(p(xs[-1]))
        xs.append(y)
        for p, a, b in zip(self.parts, xs[:-1], xs[1:]):
            total = total + p.log_abs_det_jacobian(a, b)
        return total


class ExpTransform(Transform):
    """``y = exp(x)``."""

    codomain = constraints.positive

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class AffineTransform(Transform):
    """``y = loc + scale * x`` (``event_dim`` trailing dims form one event: their log-scales add)."""

    def __init__(self, loc, scale, event_dim: int = 0, cache_size: int = 0):
        super().__init__(cache_size)
        self.loc, self.scale = loc, scale
        self._event_dim = event_dim

    @property
    def event_dim(self) -> int:
        return self._event_dim

    @property
    def sign(self):
        s = self.scale
        return (1 if s > 0 else -1) if isinstance(s, (int, float)) else s.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        s = self.scale
        r = F.full_like(x, math.log(abs(s))) if isinstance(s, (int, float)) else broadcast_all(s.abs().log(), x)[0]
        for _ in range(self._event_dim):
            r = r.sum(-1)
        return r


class SigmoidTransform(Transform):
    """``y = sigmoid(x)``, kept strictly inside (0, 1) as PyTorch's; ``log|dy/dx| = -softplus(-x) - softplus(x)``."""

    codomain = constraints.unit_interval

    def _call(self, x):
        fi = np.finfo(x._data.dtype)
        return F.sigmoid(x).clamp(min=float(fi.tiny), max=1 - float(fi.eps))

    def _inverse(self, y):
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -NF.softplus(-x) - NF.softplus(x)


class TanhTransform(Transform):
    """``y = tanh(x)``; ``log|dy/dx| = 2 (log 2 - x - softplus(-2x))`` (stable for large ``|x|``).
    Use ``cache_size=1`` to score samples exactly (the squashed Gaussian of SAC)."""

    codomain = constraints.interval(-1.0, 1.0)

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return 0.5 * ((1 + y).log() - (1 - y).log())  # atanh

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - NF.softplus(-2.0 * x))


class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))``; inverse ``y + log(-expm1(-y))``; ``log|dy/dx| = -softplus(-x)``."""

    codomain = constraints.positive

    def _call(self, x):
        return NF.softplus(x)

    def _inverse(self, y):
        return (-F.expm1(-y)).log() + y

    def log_abs_det_jacobian(self, x, y):
        return -NF.softplus(-x)


class PowerTransform(Transform):
    """``y = x ** exponent`` on positive ``x``."""

    domain = constraints.positive
    codomain = constraints.positive

    def __init__(self, exponent, cache_size: int = 0):
        super().__init__(cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()
