"""``Bernoulli``, ``Categorical`` and ``OneHotCategorical`` (parametrized by ``probs`` or ``logits``)."""

from __future__ import annotations

import math

import numpy as np

from .. import _functions as F
from ..autograd import no_grad
from ..nn import functional as NF
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution, broadcast_all, lazy_property

__all__ = ["Bernoulli", "Categorical", "OneHotCategorical"]


def _one_of(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def _clamp_probs(p: Tensor) -> Tensor:
    eps = float(np.finfo(p.detach().cpu().numpy().dtype).eps)
    return p.clamp(min=eps, max=1 - eps)


class _BinaryProbs:
    """``probs`` and ``logits`` of one success probability, each computed from the other on demand."""

    def _take(self, probs, logits):
        """Keep the one parametrization given (as a tensor); return it."""
        _one_of(probs, logits)
        if probs is not None:
            (self.probs,) = broadcast_all(probs)
            return self.probs
        (self.logits,) = broadcast_all(logits)
        return self.logits

    @lazy_property
    def logits(self):
        p = _clamp_probs(self.probs)
        return p.log() - (-p).log1p()

    @lazy_property
    def probs(self):
        return F.sigmoid(self.logits)


class Bernoulli(_BinaryProbs, Distribution):
    """0/1 draws with probability ``probs`` (or ``sigmoid(logits)``).

    >>> import einframe as ef
    >>> ef.distributions.Bernoulli(probs=ef.tensor([0.25])).log_prob(ef.tensor([1.0])).exp().tolist()
    [0.25]
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._param = param = self._take(probs, logits)
        super().__init__(param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Bernoulli, _instance)
        batch_shape = Size(tuple(batch_shape))
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(batch_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(batch_shape)
            new._param = new.logits
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return F.where(self.probs == 0.5, F.full_like(mode, float("nan")), mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return F.bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return logits * value - NF.softplus(logits)

    def entropy(self):
        return NF.softplus(self.logits) - self.probs * self.logits

    def enumerate_support(self, expand: bool = True):
        values = F.arange(2, dtype=self._param.dtype).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


class Categorical(Distribution):
    """Indices ``0 .. K-1`` drawn with the (unnormalised) weights ``probs`` or ``logits`` of the last dim.

    >>> import einframe as ef
    >>> d = ef.distributions.Categorical(probs=ef.tensor([[0.2, 0.8], [0.5, 0.5]]))
    >>> d.batch_shape, d.sample((3,)).shape
    (einframe.Size([2]), einframe.Size([3, 2]))
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of(probs, logits)
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._param = self.probs
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - F.logsumexp(logits, -1, keepdim=True)
            self._param = self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(self._param.shape[:-1], validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Categorical, _instance)
        batch_shape = Size(tuple(batch_shape))
        shape = tuple(batch_shape) + (self._num_events,)
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(shape)
            new._param = new.logits
        new._num_events = self._num_events
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @lazy_property
    def logits(self):
        return _clamp_probs(self.probs).log()

    @lazy_property
    def probs(self):
        return F.softmax(self.logits, -1)

    @property
    def param_shape(self) -> Size:
        return self._param.shape

    @property
    def mean(self):
        return F.full(tuple(self._extended_shape()), float("nan"), dtype=self.probs.dtype)

    @property
    def mode(self):
        return self.probs.argmax(-1)

    @property
    def variance(self):
        return self.mean

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        n = max(math.prod(shape[: len(shape) - len(self._batch_shape)]), 1)
        with no_grad():
            probs_2d = self.probs.reshape(-1, self._num_events)
            samples_2d = F.multinomial(probs_2d, n, True).T
        return samples_2d.reshape(tuple(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value = value.long()
        shape = F.broadcast_shapes(value.shape, self._batch_shape)
        logits = self.logits.expand(tuple(shape) + (self._num_events,))
        return F.gather(logits, -1, value.expand(shape).unsqueeze(-1)).squeeze(-1)

    def entropy(self):
        min_real = float(np.finfo(self.logits.detach().cpu().numpy().dtype).min)
        logits = self.logits.clamp(min=min_real)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand: bool = True):
        values = F.arange(self._num_events).reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((-1,) + tuple(self._batch_shape)) if expand else values


class _OverCategorical(Distribution):
    """Distributions over a ``Categorical`` kept as ``self._categorical`` (one-hot draws, relaxed
    draws): its parameters read through, and ``expand`` expanding it."""

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(type(self), _instance)
        new.__dict__.update({k: v for k, v in self.__dict__.items() if k != "_categorical"})
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, new._categorical.batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits


class OneHotCategorical(_OverCategorical):
    """``Categorical`` whose draws are one-hot vectors (event shape ``(K,)``).

    >>> import einframe as ef
    >>> ef.distributions.OneHotCategorical(probs=ef.tensor([0.0, 1.0])).sample().tolist()
    [0.0, 1.0]
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @property
    def _param(self):
        return self._categorical._param

    @property
    def mean(self):
        return self._categorical.probs

    @property
    def mode(self):
        probs = self._categorical.probs
        return NF.one_hot(probs.argmax(-1), probs.shape[-1]).to(probs.dtype)

    @property
    def variance(self):
        return self._categorical.probs * (1 - self._categorical.probs)

    @property
    def param_shape(self):
        return self._categorical.param_shape

    def sample(self, sample_shape=()):
        probs = self._categorical.probs
        indices = self._categorical.sample(sample_shape)
        return NF.one_hot(indices, probs.shape[-1]).to(probs.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._categorical.log_prob(value.max(-1)[1])

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True):
        n = self.event_shape[0]
        values = F.eye(n, dtype=self._param.dtype).reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        return values.expand((n,) + tuple(self.batch_shape) + (n,)) if expand else values
