"""``einframe.nn.functional`` (imported as ``F``): stateless layer functions, as ``torch.nn.functional``.

Every function composes differentiable einframe ops (no derivative code lives here): a linear layer
is one contraction ``'...i,oi->...o'``, a squared-error sum is one contraction ``'...,...->'``.

>>> import einframe as ef
>>> import einframe.nn.functional as F
>>> F.relu(ef.tensor([-1.0, 2.0]))
tensor([0., 2.])
"""

from __future__ import annotations

from ..ops.contract import contract
from ..tensor import Tensor

__all__ = ["linear", "relu", "mse_loss"]


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y = x Wᵀ + b`` as ONE contraction ``einsum('...i,oi->...o', x, W)`` plus the bias.

    ``weight`` has PyTorch's layout ``(out_features, in_features)``.

    >>> import einframe as ef
    >>> import einframe.nn.functional as F
    >>> F.linear(ef.ones(2, 3), ef.ones(4, 3), ef.zeros(4)).shape
    einframe.Size([2, 4])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"linear(): argument 'input' must be a Tensor, got {type(input).__name__}")
    if input.ndim == 0:
        raise RuntimeError("linear(): expected an input with at least 1 dimension, got a 0-d tensor")
    if weight.ndim != 2:
        raise RuntimeError(
            f"linear(): expected a 2-D weight of shape (out_features, in_features), got shape {tuple(weight.shape)}"
        )
    n_in = input._data.shape[-1]
    if n_in != weight._data.shape[1]:
        raise RuntimeError(
            f"expected last dimension {weight._data.shape[1]}, got {n_in} "
            f"(input shape {tuple(input.shape)}, weight shape {tuple(weight.shape)})"
        )
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(
            f"linear(): input dtype {input.dtype} does not match weight dtype {weight.dtype}; "
            f"convert one of them, e.g. x.to({weight.dtype}) or module.to({input.dtype})"
        )
    out = contract("...i,oi->...o", input, weight)
    if bias is not None:
        out = out + bias
    return out


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` elementwise.

    >>> import einframe as ef
    >>> import einframe.nn.functional as F
    >>> F.relu(ef.tensor([-1.0, 0.5]))
    tensor([0.0000, 0.5000])
    """
    return input.relu_() if inplace else input.relu()


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Mean (or summed, or per-element) squared error; the sum is one contraction ``'...,...->'``.

    ``size_average`` and ``reduce`` are PyTorch's deprecated spellings of ``reduction``.

    >>> import einframe as ef
    >>> import einframe.nn.functional as F
    >>> F.mse_loss(ef.tensor([1.0, 2.0]), ef.tensor([0.0, 0.0]), reduction="sum")
    tensor(5.)
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction: expected 'mean', 'sum' or 'none'")
    if not isinstance(target, Tensor):
        raise TypeError(f"mse_loss(): argument 'target' must be a Tensor, got {type(target).__name__}")
    if tuple(input.shape) != tuple(target.shape):
        import warnings

        warnings.warn(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size ({tuple(input.shape)}). "
            "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.",
            UserWarning,
            stacklevel=2,
        )
    diff = input - target
    if reduction == "none":
        return diff * diff
    total = contract("...,...->", diff, diff)
    if reduction == "sum":
        return total
    return total / diff.numel()


def _legacy_reduction(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"
