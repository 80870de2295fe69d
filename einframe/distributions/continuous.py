"""Reparametrized scalar families: ``Exponential``, ``Laplace``, ``Cauchy``, ``Gumbel``, ``LogNormal``,
``HalfNormal``. Each ``rsample`` is a differentiable map of seeded uniform or normal noise, so
gradients reach the parameters; formulas and edge conventions follow ``torch.distributions``."""

from __future__ import annotations

import math

import numpy as np

from .. import _functions as F
from . import constraints
from .distribution import Distribution, LocScale, broadcast_all, expand_params, noise
from .normal import Normal

__all__ = ["Exponential", "Laplace", "Cauchy", "Gumbel", "LogNormal", "HalfNormal"]

EULER_GAMMA = 0.57721566490153286060


def _uniform_open(shape, like, low: float | None = None):
    """Uniform draws in ``(low, 1)`` (default ``low``: the dtype's smallest normal number), never 0."""
    u = noise("uniform", shape, like)
    lo = float(np.finfo(like.detach().cpu().numpy().dtype).tiny) if low is None else low
    return u.clamp(min=lo)


class Exponential(Distribution):
    """Exponential with ``rate`` (mean ``1 / rate``); ``rsample`` is ``-log1p(-u) / rate``.

    >>> import einframe as ef
    >>> d = ef.distributions.Exponential(ef.tensor([0.5, 2.0]))
    >>> d.mean.tolist(), round(d.log_prob(ef.tensor(1.0))[1].item(), 4)
    ([2.0, 0.5], -1.3069)
    """

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Exponential, ("rate",), batch_shape, _instance)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return F.zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        u = noise("uniform", self._extended_shape(sample_shape), self.rate)
        return -F.log1p(-u) / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - F.exp(-self.rate * value)

    def icdf(self, value):
        return -F.log1p(-value) / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(LocScale):
    """Laplace with ``loc`` and ``scale``; ``rsample`` inverts the CDF of a uniform draw.

    >>> import einframe as ef
    >>> d = ef.distributions.Laplace(ef.tensor(0.0), ef.tensor(2.0))
    >>> d.variance.item(), round(d.entropy().item(), 4)
    (8.0, 2.3863)
    """

    support = constraints.real

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return math.sqrt(2) * self.scale

    def rsample(self, sample_shape=()):
        eps = float(np.finfo(self.loc.detach().cpu().numpy().dtype).eps)
        u = noise("uniform", self._extended_shape(sample_shape), self.loc) * (2 - eps) + (eps - 1)  # (eps - 1, 1)
        return self.loc - self.scale * u.sign() * F.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * F.expm1(-(value - self.loc).abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * F.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + (2 * self.scale).log()


class Cauchy(LocScale):
    """Cauchy with ``loc`` (median) and ``scale``; ``rsample`` is ``loc + scale * tan(pi (u - 1/2))``.
    The mean is undefined (NaN) and the variance infinite, as in PyTorch.

    >>> import einframe as ef
    >>> d = ef.distributions.Cauchy(ef.tensor(1.0), ef.tensor(2.0))
    >>> d.cdf(ef.tensor(3.0)).item(), round(d.entropy().item(), 4)
    (0.75, 3.2242)
    """

    support = constraints.real

    @property
    def mean(self):
        return F.full(tuple(self._extended_shape()), float("nan"), dtype=self.loc.dtype)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return F.full(tuple(self._extended_shape()), float("inf"), dtype=self.loc.dtype)

    def rsample(self, sample_shape=()):
        u = noise("uniform", self._extended_shape(sample_shape), self.loc)
        return self.loc + self.scale * F.tan(math.pi * (u - 0.5))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - F.log1p(((value - self.loc) / self.scale).pow(2))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return F.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return F.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()


class Gumbel(LocScale):
    """Gumbel (type-I extreme value) with ``loc`` and ``scale``; ``rsample`` is
    ``loc - scale * log(-log(u))``.

    >>> import einframe as ef
    >>> d = ef.distributions.Gumbel(ef.tensor(0.0), ef.tensor(1.0))
    >>> round(d.mean.item(), 4), round(d.log_prob(ef.tensor(0.0)).item(), 4)
    (0.5772, -1.0)
    """

    support = constraints.real

    @property
    def mean(self):
        return self.loc + self.scale * EULER_GAMMA

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def rsample(self, sample_shape=()):
        u = _uniform_open(self._extended_shape(sample_shape), self.loc)
        eps = float(np.finfo(self.loc.detach().cpu().numpy().dtype).eps)
        return self.loc - self.scale * F.log(-F.log(u.clamp(max=1 - eps)))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return F.exp(-F.exp(-(value - self.loc) / self.scale))

    def icdf(self, value):
        return self.loc - self.scale * F.log(-F.log(value))

    def entropy(self):
        return self.scale.log() + (1 + EULER_GAMMA)


class LogNormal(LocScale):
    """``exp(X)`` with ``X ~ Normal(loc, scale)``; ``rsample`` is ``exp(loc + scale * eps)``.

    >>> import einframe as ef
    >>> d = ef.distributions.LogNormal(ef.tensor(0.0), ef.tensor(1.0))
    >>> round(d.mean.item(), 4), round(d.log_prob(ef.tensor(1.0)).item(), 4)
    (1.6487, -0.9189)
    """

    support = constraints.positive

    @property
    def base_dist(self) -> Normal:
        return Normal(self.loc, self.scale, validate_args=False)

    @property
    def mean(self):
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.pow(2)).exp()

    @property
    def variance(self):
        s2 = self.scale.pow(2)
        return F.expm1(s2) * (2 * self.loc + s2).exp()

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = value.log()
        return self.base_dist.log_prob(y) - y

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.base_dist.cdf(value.log())

    def icdf(self, value):
        return self.base_dist.icdf(value).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class HalfNormal(Distribution):
    """``|X|`` with ``X ~ Normal(0, scale)``; ``log_prob`` is ``-inf`` below zero.

    >>> import einframe as ef
    >>> d = ef.distributions.HalfNormal(ef.tensor(1.0))
    >>> round(d.mean.item(), 4), d.cdf(ef.tensor(0.0)).item()
    (0.7979, 0.0)
    """

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, scale, validate_args=None):
        (self.scale,) = broadcast_all(scale)
        super().__init__(self.scale.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, HalfNormal, ("scale",), batch_shape, _instance)

    @property
    def base_dist(self) -> Normal:
        return Normal(F.zeros_like(self.scale), self.scale, validate_args=False)

    @property
    def mean(self):
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def mode(self):
        return F.zeros_like(self.scale)

    @property
    def variance(self):
        return self.scale.pow(2) * (1 - 2 / math.pi)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).abs()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        lp = self.base_dist.log_prob(value) + math.log(2)
        return F.where(value >= 0, lp, float("-inf"))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, value):
        return self.base_dist.icdf((value + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)
