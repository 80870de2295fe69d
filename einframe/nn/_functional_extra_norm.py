"""Functional twins for more normalisation layers and the transformer stack.

Re-exported by :mod:`einframe.nn.functional` (``F.*``); every name in ``__all__`` is public there.

Every statistic is a contraction, as in :func:`~einframe.nn.functional.batch_norm`:
``instance_norm`` uses ``'bcl->bc'`` / ``'bcl,bcl->bc'``, ``rms_norm`` ``'...d,...d->...'`` and
``local_response_norm`` sums the squares of neighbouring channels with one banded contraction
``'bcl,dc->bdl'``.

>>> import einframe as ef, einframe.nn.functional as F
>>> F.rms_norm(ef.tensor([[1.0, 7.0]]), (2,), eps=0.0).tolist()  # sqrt((1 + 49) / 2) = 5
[[0.20000000298023224, 1.399999976158142]]
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _functions as _ef
from ..autograd.grad_mode import no_grad
from ..ops.contract import contract
from ..tensor import Tensor
from .functional import batch_norm

__all__: list[str] = ["instance_norm", "rms_norm", "local_response_norm"]


def _as_shape(normalized_shape) -> tuple[int, ...]:
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(int(v) for v in normalized_shape)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalisation of (N, C, *spatial): statistics per (sample, channel) over the spatial dims.

    ``mean = einsum('bcl->bc', x)/n`` and ``var = einsum('bcl,bcl->bc', xc, xc)/n`` (biased), then a
    per-channel affine. With ``use_input_stats`` and running stats given, these are updated in place
    as PyTorch does: ``r = (1-m)·r + m·s`` where ``s`` is the statistic averaged over the batch (the
    variance unbiased, ``n/(n-1)``). ``use_input_stats=False`` normalises with the running stats
    instead (as ``batch_norm`` in eval).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> x = ef.tensor([[[1.0, 3.0], [0.0, 4.0]]])
    >>> F.instance_norm(x, eps=0.0).tolist()
    [[[-1.0, 1.0], [-1.0, 1.0]]]
    >>> rm, rv = ef.zeros(2), ef.ones(2)
    >>> _ = F.instance_norm(x, rm, rv, momentum=0.5)
    >>> rm.tolist(), rv.tolist()
    ([1.0, 1.0], [1.5, 4.5])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"instance_norm: expected input to be a Tensor, got {type(input).__name__}")
    if input.dim() < 2:
        raise ValueError(f"instance_norm: expected input with at least 2 dimensions (N, C, ...), got {input.dim()}")
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise RuntimeError(
                "instance_norm: running_mean and running_var are required when use_input_stats=False; "
                "pass them or use use_input_stats=True"
            )
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    shape = input.shape
    N, C = shape[0], shape[1]
    x = input.reshape(N, C, -1)
    n = x.shape[2]
    if n <= 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, got input size {list(shape)}; "
            f"pass a (N, C, L) input with L > 1"
        )
    mean = contract("bcl->bc", x) * (1.0 / n)
    xc = x - mean.unsqueeze(-1)
    var = contract("bcl,bcl->bc", xc, xc) * (1.0 / n)
    if running_mean is not None or running_var is not None:
        m = 0.0 if momentum is None else momentum
        with no_grad():
            if running_mean is not None:
                batch_mean = contract("bc->c", mean.detach()) * (1.0 / N)
                running_mean.mul_(1 - m).add_(batch_mean.to(running_mean.dtype) * m)
            if running_var is not None:
                batch_var = contract("bc->c", var.detach()) * (1.0 / N)
                running_var.mul_(1 - m).add_(batch_var.to(running_var.dtype) * (m * n / (n - 1)))
    y = xc * _ef.rsqrt(var + eps).unsqueeze(-1)
    if weight is not None:
        y = y * weight.reshape(C, 1)
    if bias is not None:
        y = y + bias.reshape(C, 1)
    return y.reshape(shape)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dims: ``x / sqrt(mean(x²) + eps) · weight``.

    The mean square is one contraction, ``einsum('...d,...d->...', x, x)/D``. ``eps=None`` uses the
    machine epsilon of the input's dtype (``finfo(dtype).eps``), as PyTorch.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> F.rms_norm(ef.tensor([1.0, -1.0, 1.0, -1.0]), (4,), weight=ef.full((4,), 2.0)).tolist()
    [2.0, -2.0, 2.0, -2.0]
    """
    ns = _as_shape(normalized_shape)
    shape = tuple(input.shape)
    if len(ns) > len(shape) or shape[len(shape) - len(ns) :] != ns:
        raise RuntimeError(
            f"rms_norm: expected input with shape [*, {', '.join(map(str, ns))}], got {list(shape)}; "
            f"normalized_shape must match the input's trailing dims"
        )
    if weight is not None and tuple(weight.shape) != ns:
        raise RuntimeError(f"rms_norm: expected weight of shape {list(ns)} (normalized_shape), got {list(weight.shape)}")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    D = math.prod(ns)
    x = input.reshape(*shape[: len(shape) - len(ns)], D)
    ms = contract("...d,...d->...", x, x) * (1.0 / D)
    y = (x * _ef.rsqrt(ms + eps).unsqueeze(-1)).reshape(shape)
    if weight is not None:
        y = y * weight
    return y


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Local response normalisation across channels: ``x / (k + alpha/size · Σ_window x²)^beta``.

    The window of channel ``c`` is ``c - size//2 ... c + (size-1)//2`` (zero-padded, always divided
    by ``size``, as PyTorch's average pooling); the windowed sum is ONE contraction of the squares
    with a constant (C, C) band matrix: ``einsum('bcl,dc->bdl', x·x, band)``. Input (N, C, *).

    >>> import einframe as ef, einframe.nn.functional as F
    >>> y = F.local_response_norm(ef.ones(1, 3, 2), size=2, alpha=1.0, beta=1.0, k=0.0)
    >>> y[0, :, 0].tolist()  # channel 0 sees only itself (plus zero padding), so 1 / (1/2)
    [2.0, 1.0, 1.0]
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"local_response_norm: expected input to be a Tensor, got {type(input).__name__}")
    if input.dim() < 3:
        raise ValueError(
            f"local_response_norm: expected 3D or higher dimensional input (N, C, *), got {input.dim()}D input; "
            f"add a batch dim with unsqueeze(0)"
        )
    if int(size) < 1:
        raise ValueError(f"local_response_norm: expected size to be a positive int, got {size}")
    if input.numel() == 0:
        return input
    shape = tuple(input.shape)
    N, C = shape[0], shape[1]
    x = input.reshape(N, C, -1)
    c = np.arange(C)
    off = c[None, :] - c[:, None]  # band[d, c]: channel c is in the window of channel d
    band = ((off >= -(size // 2)) & (off <= (size - 1) // 2)).astype(input._data.dtype)
    band_t = Tensor._wrap(input._device.xp.asarray(band), input._device)
    div = contract("bcl,dc->bdl", x * x, band_t) * (alpha / size) + k
    return (x / div.pow(beta)).reshape(shape)
