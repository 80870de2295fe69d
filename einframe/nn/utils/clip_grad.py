"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_`` (in place on ``p.grad``, outside the graph).

>>> import einframe as ef
>>> from einframe.nn.utils import clip_grad_norm_
>>> w = ef.zeros(2, requires_grad=True)
>>> w.grad = ef.tensor([3.0, 4.0])
>>> clip_grad_norm_([w], max_norm=1.0)  # returns the norm before clipping
tensor(5.)
>>> w.grad
tensor([0.6000, 0.8000])
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np

from ...backend import CPU
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _params(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


def _grads(parameters) -> list[Tensor]:
    return [p.grad for p in _params(parameters) if p.grad is not None]


def get_total_norm(tensors: Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if concatenated into one vector.

    >>> import einframe as ef
    >>> from einframe.nn.utils import get_total_norm
    >>> get_total_norm([ef.tensor([3.0]), ef.tensor([4.0])])
    tensor(5.)
    """
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if not tensors:
        return Tensor._wrap(np.zeros((), dtype=np.float32), CPU)
    norm_type = float(norm_type)
    dev = tensors[0]._device
    xp = dev.xp
    for t in tensors:
        if t._device is not dev:
            raise RuntimeError(f"all gradients must be on one device to compute their norm: found {dev} and {t._device}")
    if math.isinf(norm_type):
        parts = [xp.max(xp.abs(t._data)) if t._data.size else xp.zeros((), t._data.dtype) for t in tensors]
        total = xp.max(xp.stack(parts)) if norm_type > 0 else xp.min(xp.stack([xp.min(xp.abs(t._data)) for t in tensors]))
    else:
        parts = [
            xp.sum(xp.abs(t._data.astype(xp.result_type(t._data.dtype, xp.float32), copy=False)) ** norm_type) for t in tensors
        ]
        total = xp.sum(xp.stack(parts)) ** (1.0 / norm_type)
    total = xp.asarray(total, dtype=tensors[0]._data.dtype if tensors[0]._data.dtype.kind == "f" else xp.float32)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be clipped. "
            "To disable this error and scale the gradients by the non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return Tensor._wrap(total, dev)


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Scale all gradients together so that their total norm is at most ``max_norm``; returns the total norm
    before clipping. The scale is ``max_norm / (total_norm + 1e-6)``, applied only when it is below 1 (as PyTorch)."""
    parameters = _params(parameters)
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    clip_grads_with_norm_(parameters, max_norm, total, foreach)
    return total


def clip_grads_with_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, total_norm, foreach=None) -> None:
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))`` given a precomputed ``total_norm``
    (e.g. from :func:`get_total_norm`, possibly reduced across several parameter groups), as PyTorch.

    >>> import einframe as ef
    >>> from einframe.nn.utils import clip_grads_with_norm_, get_total_norm
    >>> w = ef.zeros(2, requires_grad=True)
    >>> w.grad = ef.tensor([3.0, 4.0])
    >>> clip_grads_with_norm_([w], 1.0, get_total_norm([w.grad]))
    >>> w.grad
    tensor([0.6000, 0.8000])
    """
    grads = _grads(parameters)
    if not grads:
        return
    total = float(total_norm._data) if isinstance(total_norm, Tensor) else float(total_norm)
    clip_coef = float(max_norm) / (total + 1e-6)
    if clip_coef < 1.0:  # multiplying by a coefficient clamped to 1 would change nothing
        for g in grads:
            g._data *= clip_coef
            g._vc[0] += 1


def clip_grad_norm(
    parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False, foreach=None
) -> Tensor:
    """Deprecated alias of :func:`clip_grad_norm_` (emits a FutureWarning, as PyTorch)."""
    warnings.warn(
        "`nn.utils.clip_grad_norm` is now deprecated in favor of `nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2
    )
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]`` in place.

    >>> import einframe as ef
    >>> from einframe.nn.utils import clip_grad_value_
    >>> w = ef.zeros(3, requires_grad=True); w.grad = ef.tensor([-2.0, 0.5, 3.0])
    >>> clip_grad_value_([w], 1.0); w.grad
    tensor([-1.0000,  0.5000,  1.0000])
    """
    clip_value = float(clip_value)
    for g in _grads(parameters):
        xp = g._device.xp
        xp.clip(g._data, -clip_value, clip_value, out=g._data)
        g._vc[0] += 1
