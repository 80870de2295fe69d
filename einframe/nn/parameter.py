"""``nn.Parameter``: a tensor that a :class:`~einframe.nn.Module` registers as one of its parameters.

>>> import einframe as ef
>>> from einframe import nn
>>> p = nn.Parameter(ef.zeros(2))
>>> p
Parameter containing:
tensor([0., 0.], requires_grad=True)
"""

from __future__ import annotations

from .. import dtypes as _dt
from ..backend import get_device
from ..tensor import Tensor

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


class Parameter(Tensor):
    """A Tensor that is a module parameter; it requires grad by default.

    ``Parameter(t)`` shares ``t``'s memory. Assigning a Parameter as a module attribute registers
    it (it then appears in ``parameters()`` and ``state_dict()``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> p = nn.Parameter(ef.ones(3))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    _is_param = True

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            data = Tensor._wrap(_empty(), get_device(None))
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter(data): expected a Tensor, got {type(data).__name__}; wrap it with ef.tensor(...) first")
        p = object.__new__(cls)
        p._data = data._data
        p._device = data._device
        p._vc = data._vc
        p._rg = False
        p.grad = None
        p.grad_fn = None
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        raise TypeError("einframe parameters are not pickled; save model.state_dict() with ef.save instead")


def _empty():
    import numpy as np

    return np.empty((0,), dtype=_dt.get_default_dtype().np)


def _new_uninitialized(cls, requires_grad: bool, device, dtype):
    """An empty placeholder tensor of ``cls`` that remembers the dtype it will materialize with."""
    t = object.__new__(cls)
    t._data = _empty()
    t._device = get_device(device)
    t._vc = [0]
    t._rg = bool(requires_grad)
    t.grad = None
    t.grad_fn = None
    t._lazy_dtype = _dt.get_default_dtype() if dtype is None else _dt.from_numpy_dtype(_dt.to_numpy_dtype(dtype))
    return t


class _UninitializedMixin:
    """Shared by :class:`UninitializedParameter` and :class:`UninitializedBuffer`."""

    cls_to_become: type = Tensor
    _hint = (
        "run one forward pass with a sample input (or load a state_dict) so the lazy module can infer its shape, before using it"
    )

    @property
    def _data(self):
        raise RuntimeError(
            f"can't use an uninitialized {self._kind()} (of a lazy module) in a computation or access its data: {self._hint}"
        )

    @_data.setter
    def _data(self, value) -> None:
        Tensor._data.__set__(self, value)

    def _kind(self) -> str:
        return "parameter" if isinstance(self, Parameter) else "buffer"

    @property
    def shape(self):
        raise RuntimeError(f"can't access the shape of an uninitialized {self._kind()}: {self._hint}")

    def size(self, dim=None):
        raise RuntimeError(f"can't access the shape of an uninitialized {self._kind()}: {self._hint}")

    def numel(self) -> int:
        raise RuntimeError(f"can't count the elements of an uninitialized {self._kind()}: {self._hint}")

    @property
    def ndim(self):
        raise RuntimeError(f"can't access the shape of an uninitialized {self._kind()}: {self._hint}")

    def dim(self):
        raise RuntimeError(f"can't access the shape of an uninitialized {self._kind()}: {self._hint}")

    @property
    def dtype(self):
        return self._lazy_dtype

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the tensor its shape: allocate it (uninitialised values) and turn it into ``cls_to_become``."""
        import numpy as np

        dev = get_device(device if device is not None else self._device)
        dt = _dt.to_numpy_dtype(dtype if dtype is not None else self._lazy_dtype)
        shape = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
        data = dev.xp.empty(shape, dtype=dt) if dev.type != "cpu" else np.empty(shape, dtype=dt)
        self.__class__ = self.cls_to_become
        self._data = data
        self._device = dev
        self.__dict__.pop("_lazy_dtype", None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        new = type(self)(requires_grad=self._rg, device=self._device, dtype=self._lazy_dtype)
        memo[id(self)] = new
        return new


class UninitializedParameter(_UninitializedMixin, Parameter):
    """A parameter whose shape is not known yet (used by lazy modules such as ``nn.LazyLinear``).

    Anything that needs its data or shape raises an error that says how to materialise it.

    >>> from einframe import nn
    >>> p = nn.UninitializedParameter()
    >>> p
    <UninitializedParameter>
    >>> p.materialize((2, 3))
    >>> type(p).__name__, tuple(p.shape)
    ('Parameter', (2, 3))
    """

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None) -> UninitializedParameter:
        return _new_uninitialized(cls, requires_grad, device, dtype)

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        pass


class UninitializedBuffer(_UninitializedMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy module's running statistics, for example).

    >>> from einframe import nn
    >>> b = nn.UninitializedBuffer()
    >>> b.materialize(3)
    >>> tuple(b.shape)
    (3,)
    """

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None) -> UninitializedBuffer:
        return _new_uninitialized(cls, requires_grad, device, dtype)

    def __init__(self, requires_grad: bool = False, device=None, dtype=None) -> None:
        pass


def is_lazy(param) -> bool:
    """Whether ``param`` is an uninitialised parameter or buffer of a lazy module.

    >>> from einframe import nn
    >>> nn.parameter.is_lazy(nn.UninitializedParameter())
    True
    """
    return isinstance(param, _UninitializedMixin)
