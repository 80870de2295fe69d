"""Graph plumbing for module backward hooks (not a compute primitive, like ``AccumulateGrad``).

:class:`BackwardHookFunction` is an identity over several tensors recorded as ONE node with one
output per tensor, as PyTorch's ``BackwardHookFunction``. ``nn.Module`` wraps a module's inputs
and outputs in it when full backward hooks are registered: a pre-hook on the output node sees every
``grad_output`` at once, a pre-hook on the input node sees every ``grad_input`` at once.
"""

from __future__ import annotations

from .._state import STATE
from ..tensor import Tensor
from . import core

__all__ = ["BackwardHookFunction"]


class BackwardHookFunction(core.Node):
    """Identity on ``n`` tensors; its backward passes each output gradient to its input."""

    kind = "Identity"
    is_view = True

    def __init__(self, n: int):
        self._n_outputs = n

    def forward(self, xp, *arrays):  # pragma: no cover - apply() is the entry point
        raise RuntimeError("BackwardHookFunction is applied with BackwardHookFunction.apply(tensors)")

    def apply_backward(self, grads):
        return tuple(grads)

    def vjp(self, g, xs, out):  # pragma: no cover - apply_backward handles every output
        return (g,)

    def name(self) -> str:
        return "BackwardHookFunctionBackward"

    @classmethod
    def apply(cls, tensors) -> tuple[tuple[Tensor, ...], BackwardHookFunction | None]:
        """``(outputs, node)``: aliases of ``tensors`` (same memory), recorded as one node.

        ``node`` is None when nothing was recorded (no tensor requires grad, or grad mode is off).
        Outputs of inputs that do not require grad do not require grad either.
        """
        outs = []
        for t in tensors:
            o = Tensor._wrap(t._data, t._device)
            o._vc = t._vc
            if t._tangent is not None:
                from ..autograd.forward_ad import _attach

                _attach(o, t._tangent)
            outs.append(o)
        if not (STATE.grad_enabled and any(t._rg for t in tensors)):
            return tuple(outs), None
        node = cls(len(tensors))
        edges = []
        for k, (t, o) in enumerate(zip(tensors, outs)):
            if t._rg:
                fn = t.grad_fn
                edges.append((fn, t._output_nr) if fn is not None else (t._accumulator(), 0))
                o._rg = True
                o.grad_fn = node
                o._output_nr = k
            else:
                edges.append(None)
        node._edges = tuple(edges)
        node._seq = next(core._seq)
        return tuple(outs), node
