"""``Variable``: PyTorch's deprecated alias from before tensors carried autograd state.

Calling it returns a tensor (sharing storage, detached, a leaf) with ``requires_grad`` set as asked;
``isinstance(t, Variable)`` is true for every tensor.

>>> import einframe as ef
>>> from einframe.autograd import Variable
>>> v = Variable(ef.tensor([1.0, 2.0]), requires_grad=True)
>>> v.requires_grad, isinstance(v, Variable)
(True, True)
"""

from __future__ import annotations

from ..tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, other) -> bool:
        return isinstance(other, Tensor)

    def __subclasscheck__(cls, sub) -> bool:
        return isinstance(sub, type) and issubclass(sub, Tensor)

    def __call__(cls, data=None, requires_grad: bool = False, volatile: bool = False) -> Tensor:
        if data is None:
            from .._functions import tensor

            data = tensor([])
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(bool(requires_grad))


class Variable(metaclass=_VariableMeta):
    """Deprecated: ``Variable(t, requires_grad=False)`` returns ``t.detach().requires_grad_(requires_grad)``."""
