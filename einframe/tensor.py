"""Tensor: an array on a device plus autograd metadata. Its methods are thin sugar over the
functions in :mod:`einframe._functions`, which compose the primitives of :mod:`einframe.ops`.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from . import dtypes as _dt
from .backend import CPU, device, get_device, to_backend

__all__ = ["Tensor", "Size", "zero_grads"]

#: repr options, changed by ``ef.set_printoptions``
PRINT_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


class Size(tuple):
    """The shape of a tensor: a tuple that prints like PyTorch's ``torch.Size``."""

    def __repr__(self) -> str:
        return f"einframe.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


def _is_integral_float(a) -> bool:
    finite = a[np.isfinite(a)]
    return finite.size == 0 or bool(np.all(finite == np.round(finite)))


_engine_backward = None


class Tensor:
    """A multi-dimensional array with autograd, as ``torch.Tensor``.

    >>> import einframe as ef
    >>> x = ef.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x @ x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([[ 7., 11.],
            [ 9., 13.]])
    """

    __slots__ = ("_data", "_device", "_rg", "grad", "grad_fn", "_vc", "__dict__", "__weakref__")
    __array_priority__ = 1000  # numpy defers to Tensor's reflected operators

    # rarely set: kept off the slots so creating a tensor stays cheap
    _output_nr = 0
    _acc = None
    _tangent = None
    _hooks = None
    _retains_grad = False
    _post_acc_hooks = None
    _is_param = False
    _view_of = None  # (base tensor, view node) when this tensor is a view made by a View primitive

    def __init__(self, *args, dtype=None, device=None):
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            src = args[0]
            data = (
                src._data
                if isinstance(src, Tensor)
                else np.asarray(src, dtype=_dt.to_numpy_dtype(dtype or _dt.get_default_dtype()))
            )
        else:
            shape = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            data = np.empty(tuple(shape), dtype=_dt.to_numpy_dtype(dtype or _dt.get_default_dtype()))
        dev = get_device(device)
        self._data = to_backend(data, dev)
        self._device = dev
        self._rg = False
        self.grad = None
        self.grad_fn = None
        self._vc = [0]

    @classmethod
    def _wrap(cls, data, dev: device) -> Tensor:
        t = object.__new__(Tensor)
        t._data = data
        t._device = dev
        t._rg = False
        t.grad = None
        t.grad_fn = None
        t._vc = [0]
        return t

    # ---- autograd metadata ----------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set whether autograd records operations on this leaf tensor (in place)."""
        if self.grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                    "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach()."
                )
            return self
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, got {self.dtype}")
        self._rg = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._vc[0]

    def _accumulator(self):
        acc = self._acc
        if acc is None:
            from .ops.core import AccumulateGrad

            acc = self._acc = AccumulateGrad(self)
        return acc

    def backward(
        self, gradient: Tensor | None = None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``einframe.autograd.backward``)."""
        global _engine_backward
        if _engine_backward is None:  # bound on first use: the core imports nothing above it at import time
            from .autograd.engine import backward as _engine_backward
        _engine_backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    def register_hook(self, hook):
        """Run ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        from .autograd.graph import register_tensor_hook

        return register_tensor_hook(self, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """On a leaf, run ``hook(tensor)`` after its ``.grad`` has been updated."""
        from .autograd.graph import register_post_accumulate_grad_hook

        return register_post_accumulate_grad_hook(self, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on a non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self._rg:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        if not self._retains_grad:
            from .autograd.graph import register_retain_grad

            register_retain_grad(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def detach(self) -> Tensor:
        """A tensor sharing this one's memory (and version counter), outside the graph."""
        t = Tensor._wrap(self._data, self._device)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._rg = False
        return self

    @property
    def data(self) -> Tensor:
        """The same memory as a tensor that autograd does not track."""
        return Tensor._wrap(self._data, self._device)

    @data.setter
    def data(self, value: Tensor) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._device = value._device

    # ---- array properties -----------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape (``Size``), or the length of one dimension."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._dim(dim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def nelement(self) -> int:
        return int(self._data.size)

    @property
    def dtype(self) -> _dt.dtype:
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> device:
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def _dim(self, d: int) -> int:
        n = self._data.ndim
        if not -max(n, 1) <= d < max(n, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-max(n, 1)}, {max(n, 1) - 1}], but got {d})")
        return d % max(n, 1)

    # ---- conversion -----------------------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The data as a numpy array (sharing memory on the CPU)."""
        if self._rg and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self._device is not CPU:
            if not force:
                raise TypeError(
                    f"can't convert {self._device} tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first."
                )
            return to_backend(self._data, CPU)
        return self._data

    def __array__(self, dtype=None, copy=None):
        a = to_backend(self._data, CPU)
        return a.astype(dtype) if dtype is not None else a

    def item(self) -> numbers.Number:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(()).item()

    def tolist(self):
        return to_backend(self._data, CPU).tolist()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with {self._data.size} values is ambiguous")
        return bool(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def to(self, *args, **kwargs) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``; differentiable."""
        dev, dt = None, kwargs.pop("dtype", None)
        dev = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dev, dt = a.device, a.dtype
            elif isinstance(a, (str, device)):
                dev = a
            else:
                dt = a
        return _F.to(self, device=dev, dtype=dt, copy=copy)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Tensor:
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device)

    def float(self) -> Tensor:
        return self.to(_dt.float32)

    def double(self) -> Tensor:
        return self.to(_dt.float64)

    def half(self) -> Tensor:
        return self.to(_dt.float16)

    def long(self) -> Tensor:
        return self.to(_dt.int64)

    def int(self) -> Tensor:
        return self.to(_dt.int32)

    def bool(self) -> Tensor:
        return self.to(_dt.bool_)

    def type(self, dtype=None):
        if dtype is None:
            return f"einframe.{self.dtype.name}"
        return self.to(dtype)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    def clone(self) -> Tensor:
        return _F.clone(self)

    def contiguous(self, memory_format=None) -> Tensor:
        """This tensor when its memory is C-ordered, else a C-ordered copy (gradients flow back).

        >>> import einframe as ef
        >>> x = ef.arange(6.0).reshape(2, 3).t()
        >>> x.is_contiguous(), x.contiguous().is_contiguous()
        (False, True)
        """
        return _F.contiguous(self)

    def is_contiguous(self, memory_format=None) -> bool:
        """Whether the memory is C-ordered (views from ``permute``/``t``/``expand`` are not)."""
        return bool(self._data.flags.c_contiguous)

    # ---- repr -----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        a = to_backend(self._data, CPU)
        po = PRINT_OPTIONS
        opts: dict[str, Any] = dict(
            separator=", ", prefix="tensor(", threshold=po["threshold"], edgeitems=po["edgeitems"], max_line_width=po["linewidth"]
        )
        if a.dtype.kind == "f":
            opts["precision"] = po["precision"]
            if not _is_integral_float(a):
                opts["floatmode"] = "fixed"
            if po["sci_mode"] is not None:
                opts["suppress_small"] = not po["sci_mode"]
                if po["sci_mode"]:
                    opts["formatter"] = {"float_kind": lambda v: f"{v:.{po['precision']}e}"}
        body = np.array2string(a, **opts)
        if a.size == 0:
            body = f"[], size={tuple(a.shape)}" if a.ndim > 1 else "[]"
        extras = []
        dt = self.dtype
        if dt not in (_dt.get_default_dtype(), _dt.int64, _dt.bool_):
            extras.append(f"dtype={dt!r}")
        if self._device is not CPU:
            extras.append(f"device='{self._device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self._rg:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self) if not spec else format(repr(self), spec)

    def __hash__(self) -> int:
        return id(self)

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol at the moment"
            )
        t = Tensor._wrap(self._data.copy(), self._device)
        t._rg = self._rg
        if self.grad is not None:
            t.grad = self.grad.__deepcopy__(memo)
        t.__class__ = self.__class__
        if self.__dict__:
            import copy

            for k, v in self.__dict__.items():
                setattr(t, k, copy.deepcopy(v, memo))
        memo[id(self)] = t
        return t

    def __reduce_ex__(self, protocol):
        raise TypeError("einframe tensors are not pickled; use ef.save / ef.load (safetensors, no code on load)")


def zero_grads(tensors, set_to_none: bool = True) -> None:
    """Reset ``.grad`` of each tensor: to None, or to zeros (in place when the gradient owns writable
    memory; a fresh zero tensor when it carries a graph or is a broadcast view). Used by
    ``Module.zero_grad`` and ``Optimizer.zero_grad``."""
    for t in tensors:
        g = t.grad
        if g is None:
            continue
        if set_to_none:
            t.grad = None
        elif g.grad_fn is not None or not getattr(g._data.flags, "writeable", True) or 0 in g._data.strides:
            t.grad = Tensor._wrap(g._device.xp.zeros(g._data.shape, dtype=g._data.dtype), g._device)
        else:
            g._rg = False
            g._data[...] = 0
            g._vc[0] += 1


# the methods are installed by _functions itself, at the end of its import, so the two modules can
# be imported in either order
from . import _functions as _F  # noqa: E402  (to() and clone() delegate to it)
