"""``einframe.nn.init``: in-place parameter initialisers with PyTorch's names, defaults and fan rules.

Every initialiser runs under ``no_grad``, draws from einframe's generator (``ef.manual_seed`` makes it
reproducible), writes into the tensor in place and returns it.

>>> import einframe as ef
>>> from einframe import nn
>>> w = nn.init.kaiming_uniform_(ef.empty(64, 3, 3, 3), a=5 ** 0.5)
>>> bound = 1 / (3 * 3 * 3) ** 0.5
>>> bool(w.abs().max() <= bound)
True
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd import no_grad
from ..random import generator
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
]  # fmt: skip


def _write(tensor: Tensor, arr) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"init: expected a Tensor, got {type(tensor).__name__}")
    with no_grad():
        src = Tensor._wrap(tensor._device.xp.asarray(np.asarray(arr).astype(tensor._data.dtype, copy=False)), tensor._device)
        tensor.copy_(src)
    return tensor


def _shape(tensor: Tensor) -> tuple[int, ...]:
    return tuple(tensor.shape)


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The recommended gain for ``nonlinearity`` (PyTorch's table).

    >>> from einframe.nn import init
    >>> init.calculate_gain("tanh"), round(init.calculate_gain("leaky_relu", 0.2), 4)
    (1.6666666666666667, 1.3868)
    """
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, numbers.Number):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator_=None) -> Tensor:
    """Fill with samples of U(a, b)."""
    return _write(tensor, generator().uniform(a, b, _shape(tensor)))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator_=None) -> Tensor:
    """Fill with samples of N(mean, std²)."""
    return _write(tensor, generator().normal(mean, std, _shape(tensor)))


def trunc_normal_(
    tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator_=None
) -> Tensor:
    """Fill with N(mean, std²) samples redrawn until they fall in [a, b] (absolute bounds, as PyTorch).

    >>> import einframe as ef
    >>> from einframe.nn import init
    >>> w = init.trunc_normal_(ef.empty(1000), std=1.0, a=-0.5, b=0.5)
    >>> bool((w.abs() <= 0.5).all())
    True
    """
    if mean < a - 2 * std or mean > b + 2 * std:
        import warnings

        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values may be incorrect.",
            stacklevel=2,
        )
    g = generator()
    n = math.prod(_shape(tensor))
    out = np.empty(0)
    while out.size < n:
        draw = g.normal(mean, std, max(2 * (n - out.size), 16))
        out = np.concatenate([out, draw[(draw >= a) & (draw <= b)]])
    return _write(tensor, out[:n].reshape(_shape(tensor)))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    return _write(tensor, np.full(_shape(tensor), val))


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return constant_(tensor, 1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return constant_(tensor, 0.0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (2-D tensors only)."""
    if tensor.dim() != 2:
        raise ValueError(f"eye_: only tensors with 2 dimensions are supported, got {tensor.dim()}")
    return _write(tensor, np.eye(*_shape(tensor)))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Dirac delta kernels (3-, 4- or 5-D conv weights): a conv with them is the identity on the first channels.

    >>> import einframe as ef, einframe.nn.functional as F
    >>> from einframe.nn import init
    >>> x = ef.randn(1, 2, 5, 5)
    >>> bool(ef.allclose(F.conv2d(x, init.dirac_(ef.empty(2, 2, 3, 3)), padding=1), x))
    True
    """
    shape = _shape(tensor)
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac_: only tensors with 3, 4, or 5 dimensions are supported, got {len(shape)}")
    if shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({shape[0]}) must be divisible by groups ({groups})")
    out_per_group = shape[0] // groups
    min_dim = min(out_per_group, shape[1])
    arr = np.zeros(shape)
    centre = tuple(s // 2 for s in shape[2:])
    for g in range(groups):
        for d in range(min_dim):
            arr[(g * out_per_group + d, d, *centre)] = 1
    return _write(tensor, arr)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator_=None) -> Tensor:
    """U(-a, a) with ``a = gain·sqrt(6 / (fan_in + fan_out))`` (Glorot)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator_=None) -> Tensor:
    """N(0, std²) with ``std = gain·sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)))


def kaiming_uniform_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator_=None
) -> Tensor:
    """U(-b, b) with ``b = gain·sqrt(3 / fan)`` (He); Linear/Conv defaults use ``a=sqrt(5)``."""
    if 0 in _shape(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(
    tensor: Tensor, a: float = 0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator_=None
) -> Tensor:
    """N(0, std²) with ``std = gain / sqrt(fan)`` (He)."""
    if 0 in _shape(tensor):
        return tensor
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(tensor, mode))
    return normal_(tensor, 0.0, std)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator_=None) -> Tensor:
    """A (semi-)orthogonal matrix from the QR decomposition of a normal sample (trailing dims flattened).

    >>> import einframe as ef
    >>> from einframe.nn import init
    >>> w = init.orthogonal_(ef.empty(3, 5))
    >>> bool(ef.allclose(w @ w.T, ef.eye(3), atol=1e-5))
    True
    """
    shape = _shape(tensor)
    if len(shape) < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if 0 in shape:
        return tensor
    rows = shape[0]
    cols = math.prod(shape) // rows
    flat = generator().normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, (q * gain).reshape(shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator_=None) -> Tensor:
    """N(0, std²) with a fraction ``sparsity`` of each column set to zero (2-D only).

    >>> import einframe as ef
    >>> from einframe.nn import init
    >>> w = init.sparse_(ef.empty(10, 4), sparsity=0.3)
    >>> (w == 0).sum(0).tolist()
    [3, 3, 3, 3]
    """
    shape = _shape(tensor)
    if len(shape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = shape
    num_zeros = int(math.ceil(sparsity * rows))
    g = generator()
    arr = g.normal(0.0, std, shape)
    for c in range(cols):
        arr[g.permutation(rows)[:num_zeros], c] = 0
    return _write(tensor, arr)


# PyTorch's deprecated aliases without the trailing underscore
uniform, normal, constant, xavier_uniform, xavier_normal = uniform_, normal_, constant_, xavier_uniform_, xavier_normal_
kaiming_uniform, kaiming_normal, orthogonal, sparse, eye, dirac = (
    kaiming_uniform_,
    kaiming_normal_,
    orthogonal_,
    sparse_,
    eye_,
    dirac_,
)
