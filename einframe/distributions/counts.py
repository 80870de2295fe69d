"""``Poisson`` and ``Geometric`` (counts), ``RelaxedOneHotCategorical`` (the concrete relaxation) and
``MixtureSameFamily``, with ``torch.distributions``' formulas and conventions."""

from __future__ import annotations

import math

import numpy as np

from .. import _functions as F
from ..autograd import no_grad
from ..nn import functional as NF
from ..random import generator
from . import constraints
from .discrete import Categorical, _BinaryProbs, _clamp_probs, _OverCategorical
from .distribution import Distribution, broadcast_all, expand_params, host, noise

__all__ = ["Poisson", "Geometric", "RelaxedOneHotCategorical", "MixtureSameFamily"]


class Poisson(Distribution):
    """Counts with mean ``rate``; draws come from the seeded generator (no ``rsample``).

    >>> import einframe as ef
    >>> d = ef.distributions.Poisson(ef.tensor([2.0]))
    >>> round(d.log_prob(ef.tensor([3.0])).exp().item(), 4)
    0.1804
    """

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(self.rate.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, Poisson, ("rate",), batch_shape, _instance)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        x = generator().poisson(np.broadcast_to(host(self.rate), shape))
        return F.as_tensor(np.asarray(x), dtype=self.rate.dtype, device=self.rate.device)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return F.xlogy(value, rate) - rate - F.lgamma(value + 1)


class Geometric(_BinaryProbs, Distribution):
    """Number of failures before the first success, success probability ``probs`` (or
    ``sigmoid(logits)``): ``P(k) = (1 - p)^k p``.

    >>> import einframe as ef
    >>> d = ef.distributions.Geometric(probs=ef.tensor(0.25))
    >>> d.mean.item(), round(d.log_prob(ef.tensor(2.0)).exp().item(), 4)
    (3.0, 0.1406)
    """

    arg_constraints = {"probs": constraints.interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, probs=None, logits=None, validate_args=None):
        param = self._take(probs, logits)
        super().__init__(param.shape, validate_args=validate_args)
        if self._validate_args and probs is not None and not bool((self.probs > 0).all()):
            raise ValueError(f"Expected parameter probs of Geometric to be in (0, 1], but found {self.probs}")

    def expand(self, batch_shape, _instance=None):
        names = tuple(n for n in ("probs", "logits") if n in self.__dict__)
        return expand_params(self, Geometric, names, batch_shape, _instance)

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return F.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            u = noise("uniform", shape, self.probs)
            tiny = float(np.finfo(host(self.probs).dtype).tiny)
            return (u.clamp(min=tiny).log() / F.log1p(-self.probs)).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        # 0 * log(0) counts as 0 for a sure success (p = 1, k = 0), as PyTorch
        failures = F.where((probs == 1) & (value == 0), 0.0, value * F.log1p(-probs))
        return failures + self.probs.log()

    def entropy(self):
        return NF.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


class RelaxedOneHotCategorical(_OverCategorical):
    """The concrete / Gumbel-softmax relaxation of a one-hot categorical at ``temperature``:
    ``rsample`` is ``softmax((logits + g) / temperature)`` with Gumbel noise ``g``; its values lie in
    the simplex and gradients reach ``probs``/``logits``.

    >>> import einframe as ef
    >>> d = ef.distributions.RelaxedOneHotCategorical(ef.tensor(0.5), probs=ef.tensor([0.2, 0.3, 0.5]))
    >>> x = d.rsample((4,))
    >>> x.shape, ef.allclose(x.sum(-1), ef.ones(4))
    (einframe.Size([4, 3]), True)
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(constraints.real, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args=validate_args)
        (self.temperature,) = broadcast_all(temperature)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args=validate_args)

    def _log_rsample(self, sample_shape=()):
        """A draw of the log of the relaxed sample (PyTorch's ExpRelaxedCategorical)."""
        shape = self._extended_shape(sample_shape)
        u = _clamp_probs(noise("uniform", shape, self.logits))
        scores = (self.logits - (-u.log()).log()) / self.temperature
        return scores - F.logsumexp(scores, -1, keepdim=True)

    def rsample(self, sample_shape=()):
        return self._log_rsample(sample_shape).exp()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = value.log()
        k = self._categorical._num_events
        log_scale = math.lgamma(k) + (k - 1) * self.temperature.log()
        score = self.logits - y * self.temperature
        score = (score - F.logsumexp(score, -1, keepdim=True)).sum(-1)
        return score + log_scale - y.sum(-1)  # the last term: the Jacobian of exp


class MixtureSameFamily(Distribution):
    """A mixture with weights from a ``Categorical`` over the rightmost batch dim of
    ``component_distribution``: ``log_prob`` is a ``logsumexp`` over components, ``sample`` picks a
    component per draw (no ``rsample``, as PyTorch).

    >>> import einframe as ef
    >>> D = ef.distributions
    >>> mix = D.MixtureSameFamily(D.Categorical(probs=ef.tensor([0.5, 0.5])),
    ...                           D.Normal(ef.tensor([-1.0, 1.0]), ef.tensor([1.0, 1.0])))
    >>> mix.mean.item(), mix.variance.item(), mix.sample((5,)).shape
    (0.0, 2.0, einframe.Size([5]))
    """

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("The Mixture distribution needs to be an instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution need to be an instance of torch.distributions.Distribution")
        mb, cb = tuple(mixture_distribution.batch_shape), tuple(component_distribution.batch_shape)
        if len(cb) < 1 or cb[:-1] != mb:
            raise ValueError(
                f"`mixture_distribution.batch_shape` ({mb}) is not compatible with `component_distribution.batch_shape` "
                f"({cb}): the components' batch shape must be the mixture's plus one dim of components"
            )
        if cb[-1] != mixture_distribution._num_events:
            raise ValueError(
                f"`mixture_distribution component` ({mixture_distribution._num_events}) does not equal "
                f"`component_distribution.batch_shape[-1]` ({cb[-1]})"
            )
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(mb, component_distribution.event_shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        batch_shape = tuple(batch_shape)
        comp = self._component_distribution.expand(batch_shape + (self._mixture_distribution._num_events,))
        MixtureSameFamily.__init__(new, self._mixture_distribution.expand(batch_shape), comp, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mixture_distribution(self):
        return self._mixture_distribution

    @property
    def component_distribution(self):
        return self._component_distribution

    @property
    def support(self):
        return self._component_distribution.support

    def _pad(self, x):
        """``x`` with a components dim before the event dims, to broadcast against the components."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _weights(self):
        """The mixture probabilities shaped to broadcast over the components' event dims."""
        p = self._mixture_distribution.probs
        return p.reshape(tuple(p.shape) + (1,) * self._event_ndims)

    @property
    def mean(self):
        return (self._weights() * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        w, d = self._weights(), -1 - self._event_ndims
        comp = self._component_distribution
        within = (w * comp.variance).sum(d)
        between = (w * (comp.mean - self._pad(self.mean)).pow(2)).sum(d)
        return within + between

    def cdf(self, x):
        cdf_x = self._component_distribution.cdf(self._pad(x))
        return (cdf_x * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))
        log_mix = F.log_softmax(self._mixture_distribution.logits, -1)
        return F.logsumexp(log_prob_x + log_mix, -1)

    def sample(self, sample_shape=()):
        with no_grad():
            sample_shape = tuple(sample_shape) if not isinstance(sample_shape, int) else (sample_shape,)
            idx = self._mixture_distribution.sample(sample_shape)  # sample_shape + batch_shape
            comp = self._component_distribution.sample(sample_shape)  # ... + (K,) + event_shape
            index = idx.reshape(tuple(idx.shape) + (1,) + (1,) * self._event_ndims)
            index = index.expand(tuple(idx.shape) + (1,) + tuple(self._event_shape))
            return F.gather(comp, len(idx.shape), index).squeeze(len(idx.shape))
