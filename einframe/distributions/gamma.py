"""``Gamma`` and ``Beta``: exact log-densities and entropies; draws come from the seeded numpy generator
and are not reparametrized (``rsample`` raises, unlike PyTorch's implicit reparametrization)."""

from __future__ import annotations

import numpy as np

from .. import _functions as F
from ..nn import functional as NF
from ..random import generator
from ..tensor import Size
from . import constraints
from .distribution import Distribution, broadcast_all, host

__all__ = ["Gamma", "Beta", "Dirichlet"]


def _draw(like, data):
    return F.as_tensor(np.asarray(data), dtype=like.dtype, device=like.device)


class Gamma(Distribution):
    """Gamma with shape ``concentration`` and ``rate`` (mean ``concentration / rate``).

    >>> import einframe as ef
    >>> ef.distributions.Gamma(ef.tensor(2.0), ef.tensor(4.0)).mean.item()
    0.5
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        super().__init__(self.concentration.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.concentration, new.rate = self.concentration.expand(batch_shape), self.rate.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        c, r = host(self.concentration), host(self.rate)
        x = generator().gamma(np.broadcast_to(c, shape), 1.0 / np.broadcast_to(r, shape))
        tiny = np.finfo(c.dtype).tiny
        return _draw(self.concentration, np.maximum(x, tiny))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        c, r = self.concentration, self.rate
        return F.xlogy(c, r) + F.xlogy(c - 1, value) - r * value - F.lgamma(c)

    def entropy(self):
        c = self.concentration
        return c - self.rate.log() + F.lgamma(c) + (1.0 - c) * F.digamma(c)


class Beta(Distribution):
    """Beta on ``[0, 1]`` with ``concentration1`` (alpha) and ``concentration0`` (beta).

    >>> import einframe as ef
    >>> ef.distributions.Beta(ef.tensor(1.0), ef.tensor(3.0)).mean.item()
    0.25
    """

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        super().__init__(self.concentration1.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.concentration1 = self.concentration1.expand(batch_shape)
        new.concentration0 = self.concentration0.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        am1, bm1 = (a - 1).clamp(min=0), (b - 1).clamp(min=0)
        interior = am1 / (am1 + bm1)
        # both below 1 the density peaks at both ends; PyTorch's Dirichlet-based mode reports 1
        return F.where((a < 1) & (b < 1), F.ones_like(interior), interior)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        a, b = host(self.concentration1), host(self.concentration0)
        x = generator().beta(np.broadcast_to(a, shape), np.broadcast_to(b, shape))
        eps = np.finfo(a.dtype).eps
        return _draw(self.concentration1, np.clip(x, eps, 1 - eps))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        lbeta = F.lgamma(a) + F.lgamma(b) - F.lgamma(a + b)
        return F.xlogy(a - 1, value) + F.xlogy(b - 1, 1 - value) - lbeta

    def entropy(self):
        a, b = self.concentration1, self.concentration0
        lbeta = F.lgamma(a) + F.lgamma(b) - F.lgamma(a + b)
        return lbeta - (a - 1) * F.digamma(a) - (b - 1) * F.digamma(b) + (a + b - 2) * F.digamma(a + b)


class Dirichlet(Distribution):
    """Dirichlet on the simplex with ``concentration`` (the last dim: one per category); draws are
    normalised gamma draws from the seeded generator (no ``rsample``, as ``Gamma``).

    >>> import einframe as ef
    >>> d = ef.distributions.Dirichlet(ef.tensor([1.0, 2.0, 3.0]))
    >>> d.mean.tolist(), d.event_shape
    ([0.1666666716337204, 0.3333333432674408, 0.5], einframe.Size([3]))
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = Size(tuple(batch_shape))
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        am1 = (self.concentration - 1).clamp(min=0.0)
        mode = am1 / am1.sum(-1, keepdim=True)
        # every concentration below 1: the density peaks at a vertex, the largest concentration's (PyTorch)
        corner = NF.one_hot(self.concentration.argmax(-1), self.concentration.shape[-1]).to(mode.dtype)
        return F.where((self.concentration < 1).all(-1, keepdim=True), corner, mode)

    @property
    def variance(self):
        a0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (a0 - self.concentration) / (a0.pow(2) * (a0 + 1))

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        a = host(self.concentration)
        x = generator().gamma(np.broadcast_to(a, shape))
        x = x / x.sum(-1, keepdims=True)
        tiny = np.finfo(a.dtype).tiny
        return _draw(self.concentration, np.clip(x, tiny, 1 - np.finfo(a.dtype).eps))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return F.xlogy(a - 1.0, value).sum(-1) + F.lgamma(a.sum(-1)) - F.lgamma(a).sum(-1)

    def entropy(self):
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return F.lgamma(a).sum(-1) - F.lgamma(a0) - (k - a0) * F.digamma(a0) - ((a - 1.0) * F.digamma(a)).sum(-1)
