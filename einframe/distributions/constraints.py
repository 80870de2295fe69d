"""Parameter and support constraints (``torch.distributions.constraints``, the parts the families use).

A constraint's ``check(value)`` returns a numpy bool array over the batch (event dims reduced away);
it never touches autograd, so validation costs no graph.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "Constraint", "real", "real_vector", "positive", "nonnegative", "unit_interval", "boolean", "simplex",
    "lower_cholesky", "positive_definite", "greater_than", "less_than", "interval", "integer_interval",
    "one_hot", "independent", "nonnegative_integer",
]  # fmt: skip


def _np(x) -> np.ndarray:
    if hasattr(x, "_data"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


class Constraint:
    """A region of valid values; ``event_dim`` dims on the right are checked together."""

    is_discrete = False
    event_dim = 0

    def check(self, value) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def check(self, value):
        v = _np(value)
        return v == v  # not nan


class _Independent(Constraint):
    def __init__(self, base: Constraint, reinterpreted_batch_ndims: int):
        self.base, self.reinterpreted_batch_ndims = base, reinterpreted_batch_ndims
        self.is_discrete = base.is_discrete
        self.event_dim = base.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base.check(value)
        n = self.reinterpreted_batch_ndims
        return ok.reshape(ok.shape[: ok.ndim - n] + (-1,)).all(-1) if n else ok

    def __repr__(self):
        return f"IndependentConstraint({self.base!r}, {self.reinterpreted_batch_ndims})"


class _GreaterThan(Constraint):
    def __init__(self, lower_bound, eq: bool = False):
        self.lower_bound, self.eq = lower_bound, eq

    def check(self, value):
        v, b = _np(value), _np(self.lower_bound)
        return v >= b if self.eq else v > b

    def __repr__(self):
        name = "GreaterThanEq" if self.eq else "GreaterThan"
        return f"{name}(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return _np(value) < _np(self.upper_bound)

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound, half_open: bool = False):
        self.lower_bound, self.upper_bound, self.half_open = lower_bound, upper_bound, half_open

    def check(self, value):
        v, lo, hi = _np(value), _np(self.lower_bound), _np(self.upper_bound)
        return (lo <= v) & ((v < hi) if self.half_open else (v <= hi))

    def __repr__(self):
        name = "HalfOpenInterval" if self.half_open else "Interval"
        return f"{name}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound: int, upper_bound: int):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        v = _np(value)
        return (v % 1 == 0) & (self.lower_bound <= v) & (v <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound: int):
        self.lower_bound = lower_bound

    def check(self, value):
        v = _np(value)
        return (v % 1 == 0) & (v >= self.lower_bound)

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        v = _np(value)
        return (v == 0) | (v == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        v = _np(value)
        return (((v == 0) | (v == 1)).all(-1)) & (v.sum(-1) == 1)


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        v = _np(value)
        return (v >= 0).all(-1) & (np.abs(v.sum(-1) - 1) < 1e-6)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        v = _np(value)
        lower = (np.triu(v, 1) == 0).all((-2, -1))
        return lower & (np.diagonal(v, axis1=-2, axis2=-1) > 0).all(-1)


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        v = _np(value).astype(np.float64)
        sym = np.isclose(v, np.swapaxes(v, -2, -1), atol=1e-6).all((-2, -1))
        flat = v.reshape((-1,) + v.shape[-2:])
        pd = np.array([bool(s) and np.isfinite(m).all() and (np.linalg.eigvalsh(m) > 0).all() for s, m in
                       zip(sym.reshape(-1), flat)])  # fmt: skip
        return pd.reshape(v.shape[:-2])


real = _Real()
real_vector = _Independent(real, 1)
positive = _GreaterThan(0.0)
nonnegative = _GreaterThan(0.0, eq=True)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
one_hot = _OneHot()
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
greater_than = _GreaterThan
less_than = _LessThan
interval = _Interval
integer_interval = _IntegerInterval
nonnegative_integer = _IntegerGreaterThan(0)
independent = _Independent
