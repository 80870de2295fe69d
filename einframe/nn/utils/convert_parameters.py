"""Flatten parameters into one vector and back (``parameters_to_vector`` / ``vector_to_parameters``).

>>> import einframe as ef
>>> from einframe.nn.utils import parameters_to_vector, vector_to_parameters
>>> a, b = ef.zeros(2, requires_grad=True), ef.zeros(1, 2, requires_grad=True)
>>> v = parameters_to_vector([a, b]); v.shape
einframe.Size([4])
>>> vector_to_parameters(ef.arange(4.0), [a, b]); b
tensor([[2., 3.]], requires_grad=True)
"""

from __future__ import annotations

from collections.abc import Iterable

from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """One 1-d tensor holding every parameter, flattened, in order (differentiable)."""
    from ... import cat

    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    if not params:
        raise ValueError("parameters_to_vector got no parameters")
    dev = params[0]._device
    for p in params:
        if p._device is not dev:
            raise TypeError(f"Found two parameters on different devices, this is currently not supported: {dev} and {p._device}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-d ``vec`` into the parameters (in place, outside the graph)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected vec to be a Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"expected a 1-d vector, got shape {tuple(vec.shape)}")
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    total = sum(p.numel() for p in params)
    if vec.numel() != total:
        raise ValueError(f"vector has {vec.numel()} elements but the parameters hold {total}; they must match")
    src = vec._data
    i = 0
    for p in params:
        if p._device is not vec._device:
            raise TypeError(
                f"Found two parameters on different devices, this is currently not supported: {vec._device} and {p._device}"
            )
        n = p.numel()
        p._data[...] = src[i : i + n].reshape(p._data.shape)
        p._vc[0] += 1
        i += n
