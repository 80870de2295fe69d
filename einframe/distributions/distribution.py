"""The ``Distribution`` base class (``torch.distributions.Distribution``) and shared helpers."""

from __future__ import annotations

import math

import numpy as np

from .. import _functions as F
from ..autograd import no_grad
from ..random import generator
from ..tensor import Size, Tensor
from . import constraints

__all__ = ["Distribution"]


class lazy_property:
    """Computed once on first access, then stored on the instance (as PyTorch's ``lazy_property``)."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.fn.__name__] = value
        return value


def broadcast_all(*values):
    """Tensors and numbers broadcast to one shape; numbers take the first tensor's dtype (else the default)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = like.dtype if like is not None and like.dtype.is_floating_point else None
    ts = [v if isinstance(v, Tensor) else F.tensor(float(v), dtype=dtype) for v in values]
    shape = F.broadcast_shapes(*(t.shape for t in ts))
    return tuple(t if tuple(t.shape) == tuple(shape) else t.expand(shape) for t in ts)


def sum_rightmost(value: Tensor, dim: int) -> Tensor:
    return value if dim == 0 else value.reshape(tuple(value.shape[: value.dim() - dim]) + (-1,)).sum(-1)


def noise(kind: str, shape, like: Tensor) -> Tensor:
    """Draws from ``ef``'s seeded generator, in ``like``'s dtype and device, carrying no gradient."""
    g = generator()
    shape = tuple(shape)
    if kind == "normal":
        data = g.standard_normal(shape)
    elif kind == "uniform":
        data = g.random(shape)
    else:
        raise ValueError(kind)
    return F.as_tensor(np.asarray(data), dtype=like.dtype, device=like.device)


def expand_params(self, cls, names, batch_shape, _instance=None):
    """``Distribution.expand`` for families whose parameters all have the batch shape: a new instance
    of ``cls`` with each parameter in ``names`` expanded (no copy)."""
    new = self._get_checked_instance(cls, _instance)
    batch_shape = Size(tuple(batch_shape))
    for name in names:
        setattr(new, name, getattr(self, name).expand(batch_shape))
    Distribution.__init__(new, batch_shape, validate_args=False)
    new._validate_args = self._validate_args
    return new


def host(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


class Distribution:
    """The base of every distribution: shapes, sampling, validation.

    ``batch_shape`` indexes independent (not identical) distributions, ``event_shape`` is the shape of
    one draw; ``sample(sample_shape)`` returns ``sample_shape + batch_shape + event_shape``.
    """

    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__
    arg_constraints: dict = {}

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args: bool | None = None):
        self._batch_shape = Size(tuple(batch_shape))
        self._event_shape = Size(tuple(event_shape))
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue  # the parametrization not given (probs vs logits) is not checked
                value = getattr(self, param)
                if not constraint.check(value).all():
                    raise ValueError(
                        f"Expected parameter {param} (Tensor of shape {tuple(value.shape)}) of distribution "
                        f"{self!r} to satisfy the constraint {constraint!r}, but found invalid values:\n{value}"
                    )

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    @property
    def support(self):
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def expand(self, batch_shape, _instance=None):
        raise NotImplementedError

    def sample(self, sample_shape=()) -> Tensor:
        """A draw of shape ``sample_shape + batch_shape + event_shape``, without gradient."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        """A reparametrized draw: gradients flow back to the parameters."""
        raise NotImplementedError

    def sample_n(self, n: int) -> Tensor:
        return self.sample(Size((n,)))

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def cdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def icdf(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> Tensor:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    def perplexity(self) -> Tensor:
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=()) -> Size:
        if not isinstance(sample_shape, tuple):
            sample_shape = (sample_shape,) if isinstance(sample_shape, int) else tuple(sample_shape)
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = value.dim() - len(self._event_shape)
        if tuple(value.shape[event_dim_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: {value.shape} vs {self._event_shape}.")
        actual = tuple(value.shape)
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {Size(actual)} vs {Size(expected)}.")
        support = self.support
        ok = support.check(value)
        if not np.asarray(ok).all():
            raise ValueError(
                f"Expected value argument (Tensor of shape {tuple(value.shape)}) to be within the support "
                f"({support!r}) of the distribution {self!r}, but found invalid values:\n{value}"
            )

    def _get_checked_instance(self, cls, _instance=None):
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {type(self).__name__} of {cls.__name__} that defines a custom __init__ method "
                "must also define a custom .expand() method."
            )
        return self.__new__(type(self)) if _instance is None else _instance

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        return f"{type(self).__name__}({', '.join(f'{k}: {_fmt(self.__dict__[k])}' for k in names)})"


def _fmt(t: Tensor) -> str:
    """One-element tensors print as numbers, others as their size (as PyTorch)."""
    return repr(t.item()) if t.numel() == 1 else str(t.size())


class LocScale(Distribution):
    """Families of one batch shape with a real ``loc`` and a positive ``scale`` (Normal, Laplace,
    Cauchy, Gumbel, LogNormal): their shared constructor and ``expand``."""

    has_rsample = True
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        return expand_params(self, type(self), ("loc", "scale"), batch_shape, _instance)
