"""``ef.utils.checkpoint``: activation checkpointing (recompute a block in backward, keep nothing of
its inside in forward), as ``torch.utils.checkpoint``.

``checkpoint(fn, *args)`` runs ``fn`` without recording a graph and keeps only its inputs; backward
runs ``fn`` again with recording on (the random state restored, so dropout masks repeat) and
backpropagates through that copy. Gradients reach the tensor arguments and every parameter ``fn``
uses, exactly as without checkpointing; memory for the block's intermediate activations is freed
right after forward.

>>> import einframe as ef
>>> from einframe.utils.checkpoint import checkpoint
>>> lin = ef.nn.Linear(3, 3)
>>> x = ef.randn(2, 3, requires_grad=True)
>>> y = checkpoint(lambda t: lin(t).tanh(), x, use_reentrant=False)
>>> y.sum().backward()
>>> x.grad.shape, lin.weight.grad.shape
(einframe.Size([2, 3]), einframe.Size([3, 3]))
"""

from __future__ import annotations

import warnings

from .. import _functions as F
from .._state import STATE
from ..autograd import Function, enable_grad
from ..autograd import backward as _backward
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Recompute(Function):
    @staticmethod
    def forward(ctx, run, preserve_rng_state, anchor, *args):
        # tensors through save_for_backward: the engine frees them after backward unless
        # retain_graph, and refuses a second pass or an in-place change, as for any saved tensor
        ctx.run = run
        ctx.layout = [None if isinstance(a, Tensor) else a for a in args]
        ctx.save_for_backward(*[a for a in args if isinstance(a, Tensor)])
        ctx.rng = get_rng_state() if preserve_rng_state else None
        out = run(*args)
        ctx.is_tuple = isinstance(out, tuple)
        return out

    @staticmethod
    def backward(ctx, *grads):
        tensors = iter(ctx.saved_tensors)
        args = [next(tensors) if a is None else a for a in ctx.layout]
        inputs = [a.detach().requires_grad_(a._rg) if isinstance(a, Tensor) else a for a in args]
        saved_rng = get_rng_state()
        if ctx.rng is not None:
            set_rng_state(ctx.rng)
        try:
            with enable_grad():
                out = ctx.run(*inputs)
        finally:
            if ctx.rng is not None:
                set_rng_state(saved_rng)
        outs = out if ctx.is_tuple else (out,)
        pairs = [(o, g) for o, g in zip(outs, grads) if isinstance(o, Tensor) and o._rg and g is not None]
        if pairs:  # parameters used inside fn accumulate their gradients here, as PyTorch's reentrant variant
            _backward([o for o, _ in pairs], [g for _, g in pairs])
        return (None, None, None, *[a.grad if isinstance(a, Tensor) else None for a in inputs])


def checkpoint(function, *args, use_reentrant: bool | None = None, preserve_rng_state: bool = True, **kwargs):
    """``function(*args)`` with its activations recomputed in backward instead of stored.

    ``use_reentrant`` is accepted for PyTorch's signature (both variants give the same gradients
    here; omitting it warns, as PyTorch does). Keyword arguments are passed to ``function``;
    ``autograd.grad`` and double backward through a checkpointed block are not supported (as with
    PyTorch's reentrant variant): use ``backward()``.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. Pass "
            "use_reentrant=False or use_reentrant=True.",
            stacklevel=2,
        )
    run = (lambda *a: function(*a, **kwargs)) if kwargs else function
    if not STATE.grad_enabled:
        return run(*args)
    # a tensor that requires grad keeps the node recorded even when no argument does (the first
    # block of a network), so the parameters inside still get their gradients
    anchor = F.empty(0, requires_grad=True)
    return _Recompute.apply(run, preserve_rng_state, anchor, *args)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, **kwargs):
    """Run a ``Sequential`` (or a list of modules) in ``segments`` checkpointed chunks; the last
    chunk runs normally, as PyTorch's.

    >>> import einframe as ef
    >>> from einframe.utils.checkpoint import checkpoint_sequential
    >>> net = ef.nn.Sequential(ef.nn.Linear(4, 4), ef.nn.ReLU(), ef.nn.Linear(4, 2))
    >>> checkpoint_sequential(net, 2, ef.randn(3, 4), use_reentrant=False).shape
    einframe.Size([3, 2])
    """
    fns = list(functions.children()) if hasattr(functions, "children") else list(functions)
    size = max(len(fns) // segments, 1)

    def run(start: int, end: int):
        def forward(x):
            for f in fns[start : end + 1]:
                x = f(x)
            return x

        return forward

    end = -1
    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end + 1, len(fns) - 1)(input)
