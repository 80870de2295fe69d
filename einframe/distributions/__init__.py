"""Probability distributions shaped like ``torch.distributions``.

>>> import einframe as ef
>>> from einframe.distributions import Normal, kl_divergence
>>> p, q = Normal(ef.tensor(0.0), ef.tensor(1.0)), Normal(ef.tensor(0.0), ef.tensor(2.0))
>>> round(kl_divergence(p, q).item(), 4)
0.3181
"""

from __future__ import annotations

from . import constraints, transforms
from .continuous import Cauchy, Exponential, Gumbel, HalfNormal, Laplace, LogNormal
from .counts import Geometric, MixtureSameFamily, Poisson, RelaxedOneHotCategorical
from .discrete import Bernoulli, Categorical, OneHotCategorical
from .distribution import Distribution
from .gamma import Beta, Dirichlet, Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Normal, Uniform
from .transformed import TransformedDistribution

__all__ = [
    "Distribution", "Normal", "Uniform", "Bernoulli", "Categorical", "OneHotCategorical", "Gamma", "Beta",
    "MultivariateNormal", "Independent", "kl_divergence", "register_kl", "constraints", "Exponential", "Laplace",
    "Cauchy", "Gumbel", "LogNormal", "HalfNormal", "Poisson", "Geometric", "RelaxedOneHotCategorical",
    "MixtureSameFamily", "TransformedDistribution", "transforms", "Dirichlet",
]  # fmt: skip
