"""The ``ef.*`` tensor functions and ``Tensor`` methods, composed from the primitives in ``ops``.

Nothing here has a derivative rule: everything differentiable is a composition of primitives, so
gradients (of any order) and forward-mode tangents come from the primitive table alone.
"""

from __future__ import annotations

import builtins
import math
import numbers
from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from . import dtypes as _dt
from ._state import STATE
from .backend import CPU, get_device, to_backend
from .einsum import EinsumError
from .ops import contract as _c
from .ops import math as _m
from .ops import pointwise as _p
from .ops import view as _v
from .ops.core import Node as _Node
from .random import generator
from .tensor import Size, Tensor

__all__ = [
    # creation
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye", "arange", "linspace",
    "rand", "randn", "randint", "randperm", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
    "randn_like", "randint_like",
    # math
    "einsum", "add", "sub", "mul", "div", "true_divide", "pow", "neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign",
    "sin", "cos", "tanh", "sigmoid", "relu", "erf", "square", "reciprocal", "clamp", "clip", "maximum", "minimum",
    "where", "softmax", "log_softmax", "logsumexp", "log1p", "expm1",
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not", "isnan", "isinf", "isfinite",
    "allclose", "equal",
    "sum", "mean", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin", "norm", "all", "any",
    "reshape", "flatten", "unflatten", "permute", "transpose", "t", "squeeze", "unsqueeze", "cat", "concat",
    "stack", "chunk", "split", "flip", "narrow", "select", "index_select", "gather", "masked_fill", "tril", "triu",
    "matmul", "mm", "bmm", "dot", "outer", "tensordot", "trace", "diagonal", "clone", "detach",
]  # fmt: skip

_ints = (numbers.Integral,)
_numbers = (numbers.Number,)

# ------------------------------------------------------------------------------------------------
# creation


def _size(args) -> tuple[int, ...]:
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        args = args[0]
    try:
        return tuple(int(a) for a in args)
    except TypeError as e:
        raise TypeError(f"size must be integers or one tuple of integers, got {args!r}") from e


def _make(data, dtype, device_, requires_grad: bool) -> Tensor:
    dev = get_device(device_)
    t = Tensor._wrap(to_backend(data, dev) if dev is not CPU else data, dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _np_dtype(dtype, default=None):
    if dtype is None:
        return default if default is not None else _dt.get_default_dtype().np
    return _dt.to_numpy_dtype(dtype)


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, numpy arrays or tensors).

    >>> import einframe as ef
    >>> ef.tensor([[1, 2], [3, 4]]).dtype, ef.tensor([1.5]).dtype
    (einframe.int64, einframe.float32)
    """
    if isinstance(data, Tensor):
        arr = to_backend(data._data, CPU).copy()
    else:
        if isinstance(data, (list, tuple)) and builtins.any(isinstance(x, Tensor) for x in _flat(data)):
            data = _tolist(data)
        arr = np.array(data)
        if dtype is None:
            if arr.dtype.kind == "f" and not isinstance(data, np.ndarray):
                arr = arr.astype(_dt.get_default_dtype().np)
            elif arr.dtype.kind in "iu" and not isinstance(data, np.ndarray):
                arr = arr.astype(np.int64)
            elif arr.dtype.kind not in "fiub":
                raise TypeError(f"can't convert {arr.dtype} data to a tensor: expected numbers, bools or nested lists of them")
    if dtype is not None:
        arr = arr.astype(_dt.to_numpy_dtype(dtype))
    else:
        _dt.from_numpy_dtype(arr.dtype)
    return _make(arr, dtype, device, requires_grad)


def _flat(seq):
    for x in seq:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _tolist(seq):
    return [(_tolist(x) if isinstance(x, (list, tuple)) else x.item() if isinstance(x, Tensor) else x) for x in seq]


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like :func:`tensor`, but shares memory with a numpy array or tensor when it can."""
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype) if (device or dtype) else data
    if isinstance(data, np.ndarray) and (dtype is None or _dt.to_numpy_dtype(dtype) == data.dtype):
        return _make(data, None, device, False)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    _dt.from_numpy_dtype(array.dtype)
    return Tensor._wrap(array, CPU)


def _factory(fill):
    def factory(*size, dtype=None, device=None, requires_grad: bool = False, out=None) -> Tensor:
        dev = get_device(device)
        return _make(fill(dev.xp, _size(size), _np_dtype(dtype)), dtype, dev, requires_grad)

    return factory


zeros = _factory(lambda xp, s, d: xp.zeros(s, dtype=d))
ones = _factory(lambda xp, s, d: xp.ones(s, dtype=d))
empty = _factory(lambda xp, s, d: xp.empty(s, dtype=d))
zeros.__doc__ = "A tensor of zeros: ``ef.zeros(2, 3)`` or ``ef.zeros((2, 3), dtype=ef.float64)``."
ones.__doc__ = "A tensor of ones: ``ef.ones(2, 3)``."
empty.__doc__ = "An uninitialised tensor: ``ef.empty(2, 3)``."


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from the value, as PyTorch)."""
    if dtype is None:
        dtype = _dt.bool_ if isinstance(fill_value, bool) else _dt.int64 if isinstance(fill_value, _ints) else None
    dev = get_device(device)
    return _make(dev.xp.full(_size((size,)), fill_value, dtype=_np_dtype(dtype)), dtype, dev, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    dev = get_device(device)
    return _make(dev.xp.eye(n, m, dtype=_np_dtype(dtype)), dtype, dev, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive); int64 when all arguments are integers."""
    if end is None:
        start, end = 0, start
    if dtype is None and builtins.all(isinstance(v, _ints) for v in (start, end, step)):
        dtype = _dt.int64
    dev = get_device(device)
    return _make(dev.xp.arange(start, end, step, dtype=_np_dtype(dtype)), dtype, dev, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    dev = get_device(device)
    return _make(dev.xp.linspace(start, end, steps, dtype=_np_dtype(dtype)), dtype, dev, requires_grad)


def _random(draw):
    def factory(*size, dtype=None, device=None, requires_grad: bool = False, generator_=None) -> Tensor:
        d = _np_dtype(dtype)
        return _make(draw(generator(), _size(size)).astype(d, copy=False), dtype, device, requires_grad)

    return factory


rand = _random(lambda g, s: g.random(s, dtype=np.float64))
randn = _random(lambda g, s: g.standard_normal(s))
rand.__doc__ = "Uniform samples on [0, 1), seeded by ``ef.manual_seed``: ``ef.rand(2, 3)``."
randn.__doc__ = "Standard normal samples, seeded by ``ef.manual_seed``: ``ef.randn(2, 3)``."


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Random integers in [low, high): ``ef.randint(0, 10, (3,))`` or ``ef.randint(10, (3,))``."""
    if size is None:
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    arr = generator().integers(low, high, size=_size((size,)))
    return _make(arr.astype(_np_dtype(dtype, np.dtype(np.int64))), dtype, device, requires_grad)


def randperm(n: int, dtype=None, device=None) -> Tensor:
    """A random permutation of 0..n-1."""
    return _make(generator().permutation(n).astype(_np_dtype(dtype, np.dtype(np.int64))), dtype, device, False)


def _like(factory):
    def like(input: Tensor, *args, dtype=None, device=None, requires_grad: bool = False, **kw) -> Tensor:
        dtype = dtype or input.dtype
        device = device or input.device
        return factory(*args, input.shape, dtype=dtype, device=device, requires_grad=requires_grad, **kw)

    like.__doc__ = f"``{factory.__name__}`` with the shape, dtype and device of ``input``."
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device or input.device, requires_grad=requires_grad)


def randint_like(input: Tensor, low, high=None, dtype=None, device=None) -> Tensor:
    return randint(low, high, input.shape, dtype=dtype or input.dtype, device=device or input.device)


# ------------------------------------------------------------------------------------------------
# dtype promotion (PyTorch's categories: bool < integer < floating; 0-d tensors and Python
# scalars do not raise the precision within a category)


def _category(np_dtype) -> int:
    return {"b": 0, "u": 1, "i": 1, "f": 2}[np_dtype.kind]


def _cast(t: Tensor, np_dtype) -> Tensor:
    return t if t._data.dtype == np_dtype else _p.Cast(np_dtype)(t)


def _operands(a, b):
    """Bring two operands (tensors or Python numbers) to a common dtype, PyTorch's way."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            if da == db:
                return a, b
            ca, cb = _category(da), _category(db)
            za, zb = a._data.ndim == 0, b._data.ndim == 0
            if ca == cb:
                dt = (db if za else da) if za != zb else np.promote_types(da, db)
            else:  # the higher category wins with its own dtype: int64 + float32 -> float32 (0-d or not)
                dt = da if ca > cb else db
            return _cast(a, dt), _cast(b, dt)
        return a, _scalar(b)
    if isinstance(b, Tensor):
        return _scalar(a), b
    raise TypeError(f"expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")


def _scalar(s):
    if isinstance(s, np.generic):
        s = s.item()
    if not isinstance(s, _numbers):
        raise TypeError(f"unsupported operand type {type(s).__name__}: expected a Tensor or a Python number")
    return s


def _binary(cls, a, b) -> Tensor:
    # the common cases first: nothing to promote
    ca, cb = a.__class__, b.__class__
    if ca is Tensor:
        if cb is Tensor:
            if a._data.dtype == b._data.dtype:
                return cls()(a, b)
        elif (cb is float or cb is int) and a._data.dtype.kind == "f":
            return cls()(a, b)
    elif cb is Tensor and (ca is float or ca is int) and b._data.dtype.kind == "f":
        return cls()(a, b)
    a, b = _operands(a, b)
    t = a if isinstance(a, Tensor) else b
    kind = t._data.dtype.kind
    other = b if t is a else a
    if kind in "biu" and isinstance(other, float):
        # an integer tensor with a float scalar computes in the default float dtype
        t2 = _cast(t, _dt.get_default_dtype().np)
        a, b = (t2, b) if t is a else (a, t2)
    return cls()(a, b)


def add(input, other, *, alpha=1) -> Tensor:
    """``input + alpha * other`` with broadcasting."""
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(_p.Add, input, other)


def sub(input, other, *, alpha=1) -> Tensor:
    """``input - alpha * other`` with broadcasting.

    >>> import einframe as ef
    >>> ef.sub(ef.tensor([5.0, 5.0]), ef.tensor([1.0, 2.0]), alpha=2).tolist()
    [3.0, 1.0]
    """
    if alpha != 1:
        other = mul(other, alpha)
    return _binary(_p.Sub, input, other)


def mul(input, other) -> Tensor:
    """Elementwise product with broadcasting.

    >>> import einframe as ef
    >>> ef.mul(ef.tensor([1, 2]), ef.tensor([3, 4])).tolist()
    [3, 8]
    """
    return _binary(_p.Mul, input, other)


def div(input, other, *, rounding_mode: str | None = None) -> Tensor:
    """True division (integers divide to the default float dtype), or ``'floor'``/``'trunc'``.

    >>> import einframe as ef
    >>> ef.div(ef.tensor([7, -7]), 2).tolist()
    [3.5, -3.5]
    >>> ef.div(ef.tensor([7, -7]), 2, rounding_mode='floor').tolist()
    [3, -4]
    """
    a, b = _operands(input, other)
    t = a if isinstance(a, Tensor) else b
    if rounding_mode is not None:
        xp = t._device.xp
        raw = lambda v: v._data if isinstance(v, Tensor) else v  # noqa: E731
        fn = xp.floor_divide if rounding_mode == "floor" else lambda x, y: xp.trunc(x / y).astype(np.result_type(x, y))
        return Tensor._wrap(xp.asarray(fn(raw(a), raw(b))), t._device)
    if t._data.dtype.kind in "biu":
        f = _dt.get_default_dtype().np
        a = _cast(a, f) if isinstance(a, Tensor) else a
        b = _cast(b, f) if isinstance(b, Tensor) else b
    return _p.Div()(a, b)


true_divide = div


def pow(input, exponent) -> Tensor:
    """``input ** exponent`` (either may be a Python number)."""
    return _binary(_p.Pow, input, exponent)


def _unary(cls, doc: str):
    def fn(input: Tensor) -> Tensor:
        if input._data.dtype.kind != "f" and cls not in (_p.Abs, _p.Neg, _p.Sign, _p.Relu):
            input = _cast(input, _dt.get_default_dtype().np)
        return cls()(input)

    fn.__name__ = cls.__name__.lower()
    fn.__doc__ = doc
    return fn


neg = _unary(
    _p.Neg,
    """``-input``.

    >>> import einframe as ef
    >>> ef.neg(ef.tensor([1, -2])).tolist()
    [-1, 2]
    """,
)
exp = _unary(_p.Exp, "Elementwise ``e**x``.")
log = _unary(_p.Log, "Natural logarithm.")
sqrt = _unary(_p.Sqrt, "Square root.")
abs = _unary(
    _p.Abs,
    """Absolute value (gradient sign(x)).

    >>> import einframe as ef
    >>> ef.abs(ef.tensor([-1.5, 2.0])).tolist()
    [1.5, 2.0]
    """,
)
sign = _unary(_p.Sign, "Sign (-1, 0, 1); gradient zero.")
sin = _unary(_p.Sin, "Sine.")
cos = _unary(_p.Cos, "Cosine.")
tanh = _unary(_p.Tanh, "Hyperbolic tangent.")
sigmoid = _unary(_p.Sigmoid, "Logistic sigmoid, overflow-safe.")
relu = _unary(_p.Relu, "``max(x, 0)``; gradient 0 at 0 (as PyTorch).")
erf = _unary(_p.Erf, "The error function.")


def rsqrt(input: Tensor) -> Tensor:
    """``1 / sqrt(x)``."""
    return 1 / sqrt(input)


def square(input: Tensor) -> Tensor:
    """``x * x``."""
    return mul(input, input)


def reciprocal(input: Tensor) -> Tensor:
    """``1 / x``."""
    return div(1.0, input)


log1p = _unary(_m.Log1p, "``log(1 + x)``, accurate for tiny ``x``.")
expm1 = _unary(_m.Expm1, "``exp(x) - 1``, accurate for tiny ``x``.")


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limit values to [min, max] (either bound may be None); gradient passes inside, bounds included."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return _p.Clamp(min, max)(input)


clip = clamp


def maximum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum; ties split the gradient evenly."""
    return _binary(_p.Maximum, input, other)


def minimum(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum; ties split the gradient evenly."""
    return _binary(_p.Minimum, input, other)


def where(condition: Tensor, input=None, other=None):
    """``input`` where ``condition`` holds, else ``other`` (numbers allowed); ``where(c)`` = nonzero."""
    if input is None and other is None:
        return tuple(Tensor._wrap(i, condition._device) for i in condition._data.nonzero())
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond != 0
    a, b = _operands(input, other)
    return _p.Where(cond)(a, b)


def _compare(op: str, doc: str):
    def fn(input, other) -> Tensor:
        a, b = _operands(input, other)
        return _p.Compare(op)(a, b)

    fn.__doc__ = doc
    return fn


eq = _compare("equal", "Elementwise ``==`` (bool tensor).")
ne = _compare("not_equal", "Elementwise ``!=``.")
lt = _compare("less", "Elementwise ``<``.")
le = _compare("less_equal", "Elementwise ``<=``.")
gt = _compare("greater", "Elementwise ``>``.")
ge = _compare("greater_equal", "Elementwise ``>=``.")
logical_and = _compare("logical_and", "Elementwise logical and.")
logical_or = _compare("logical_or", "Elementwise logical or.")
logical_xor = _compare(
    "logical_xor",
    """Elementwise logical xor.

    >>> import einframe as ef
    >>> ef.logical_xor(ef.tensor([True, True, False]), ef.tensor([True, False, False])).tolist()
    [False, True, False]
    """,
)


def _raw_map(fn):
    def op(input: Tensor) -> Tensor:
        return Tensor._wrap(getattr(input._device.xp, fn)(input._data), input._device)

    op.__doc__ = f"Elementwise ``{fn}`` (no gradient)."
    return op


logical_not = _raw_map("logical_not")
isnan = _raw_map("isnan")
isinf = _raw_map("isinf")
isfinite = _raw_map("isfinite")


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    return bool(input._device.xp.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input: Tensor, other: Tensor) -> bool:
    return input.shape == other.shape and bool((input._data == other._data).all())


# ------------------------------------------------------------------------------------------------
# einsum and products


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation, planned by opt_einsum and differentiable to any order.

    numpy's semantics plus PyTorch's summing of ellipsis dims absent from an explicit output.

    >>> import einframe as ef
    >>> a, b = ef.ones(2, 3), ef.ones(3, 4)
    >>> ef.einsum("ij,jk->ik", a, b).shape
    einframe.Size([2, 4])
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = []
    for k, t in enumerate(operands):
        if isinstance(t, Tensor):
            ops.append(t)
        elif isinstance(t, (_numbers, np.ndarray)):
            ops.append(tensor(t))
        else:
            raise TypeError(f"einsum '{equation}': operand {k} is a {type(t).__name__}, expected a Tensor")
    if not ops:
        raise EinsumError(f"einsum '{equation}': at least one operand is needed")
    dts = {t._data.dtype for t in ops}
    if len(dts) > 1:
        dt = np.result_type(*dts)
        ops = [_cast(t, dt) for t in ops]
    return _c.contract(equation, *ops)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules for 1-D operands and broadcast batch dimensions."""
    if input.__class__ is Tensor and other.__class__ is Tensor and input._data.dtype == other._data.dtype:
        a, b = input, other
    else:
        a, b = _operands(input, other)
    na, nb = a._data.ndim, b._data.ndim
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D and {nb}D")
    ka, kb = a._data.shape[-1], b._data.shape[0 if nb == 1 else -2]
    if ka != kb:
        sa, sb = "x".join(map(str, a._data.shape)), "x".join(map(str, b._data.shape))
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({sa} and {sb}): inner dimensions {ka} and {kb} differ")
    return _c.contract(_MATMUL_EQ[na > 1, nb > 1], a, b)


_MATMUL_EQ = {
    (False, False): "k,k->",
    (False, True): "k,...kj->...j",
    (True, False): "...ik,k->...i",
    (True, True): "...ik,...kj->...ij",
}


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """2-D matrix product (``'ij,jk->ik'``)."""
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {input.ndim}-D and {mat2.ndim}-D")
    return matmul(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product (``'bij,bjk->bik'``)."""
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {input.ndim}-D and {mat2.ndim}-D")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {input.shape[0]} and {mat2.shape[0]}")
    return matmul(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors (``'i,i->'``)."""
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    a, b = _operands(input, other)
    return _c.contract("i,i->", a, b)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product (``'i,j->ij'``)."""
    a, b = _operands(input, vec2)
    return _c.contract("i,j->ij", a, b)


ger = outer


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first of ``b`` (or explicit dim lists)."""
    from opt_einsum import get_symbol

    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = [list(d) if isinstance(d, (list, tuple)) else [d] for d in dims]
    la = [get_symbol(i) for i in range(a.ndim)]
    lb = [get_symbol(a.ndim + i) for i in range(b.ndim)]
    for i, j in zip(da, db):
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in da] + [c for j, c in enumerate(lb) if j not in db]
    x, y = _operands(a, b)
    return _c.contract(f"{''.join(la)},{''.join(lb)}->{''.join(out)}", x, y)


def trace(input: Tensor) -> Tensor:
    """Sum of the diagonal of a 2-D tensor (``'ii->'`` on its leading square block).

    >>> import einframe as ef
    >>> ef.trace(ef.arange(6.0).reshape(2, 3)).item()
    4.0
    """
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return _c.contract("ii->", _diagonal_block(input, 0, 0, 1))


def _diagonal_block(input: Tensor, offset: int, dim1: int, dim2: int) -> Tensor:
    """The square block of dims ``dim1``/``dim2`` whose main diagonal is ``input``'s ``offset`` diagonal."""
    n, m = input.shape[dim1], input.shape[dim2]
    sl1 = slice(0, n) if offset >= 0 else slice(-offset, n)
    sl2 = slice(offset, m) if offset >= 0 else slice(0, m)
    k = builtins.max(0, builtins.min(len(range(n)[sl1]), len(range(m)[sl2])))
    if (n, m) == (k, k):
        return input
    key = [slice(None)] * input.ndim
    key[dim1] = slice(sl1.start, sl1.start + k)
    key[dim2] = slice(sl2.start, sl2.start + k)
    return input[tuple(key)]


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of dims ``dim1``/``dim2`` as the last dim (``'ii->i'`` generalised).

    >>> import einframe as ef
    >>> ef.diagonal(ef.arange(6.0).reshape(2, 3)).tolist(), ef.diagonal(ef.arange(6.0).reshape(2, 3), 1).tolist()
    ([0.0, 4.0], [1.0, 5.0])
    """
    input = _diagonal_block(input, offset, dim1, dim2)
    from opt_einsum import get_symbol

    d1, d2 = dim1 % input.ndim, dim2 % input.ndim
    labels = [get_symbol(i) for i in range(input.ndim)]
    labels[d2] = labels[d1]
    out = [c for i, c in enumerate(labels) if i not in (d1, d2)] + [labels[d1]]
    return _c.contract("".join(labels) + "->" + "".join(out), input)


# ------------------------------------------------------------------------------------------------
# reductions


def _axes(x: Tensor, dim) -> tuple[int, ...]:
    if dim is None:
        return tuple(range(x._data.ndim))
    if isinstance(dim, (tuple, list)):
        axes = tuple(sorted(x._dim(d) for d in dim))
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"dim {tuple(dim)} appears multiple times in the list of dims")
        return axes
    return (x._dim(dim),)


def _keep(x: Tensor, r: Tensor, axes, keepdim: bool) -> Tensor:
    if not keepdim:
        return r
    shape = tuple(1 if i in axes else n for i, n in enumerate(x._data.shape))
    return _v.Reshape(shape)(r)


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (int, tuple or all): a Contract such as ``'ij->j'``."""
    if dtype is not None:
        input = input.to(dtype)
    elif input._data.dtype.kind in "biu" and input._data.dtype != np.int64:
        input = _cast(input, np.dtype(np.int64))
    axes = _axes(input, dim)
    r = _c.Contract(_c.reduce_canon(input._data.shape, axes))(input)
    return _keep(input, r, axes, keepdim)


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim``: the sum Contract scaled by 1/n."""
    if dtype is not None:
        input = input.to(dtype)
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            f"mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: {input.dtype.name}"
        )
    axes = _axes(input, dim)
    n = 1
    for a in axes:
        n *= input._data.shape[a]
    return sum(input, dim, keepdim) * (1.0 / n if n else math.nan)


def var(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``; ``unbiased=False`` gives 0)."""
    if correction is None:
        correction = 0 if unbiased is False else 1
    axes = _axes(input, dim)
    n = 1
    for a in axes:
        n *= input._data.shape[a]
    d = input - mean(input, dim, keepdim=True)
    return sum(d * d, dim, keepdim) / builtins.max(n - correction, 0)


def std(input: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation: ``sqrt(var)``."""
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction))


def amax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Maximum over ``dim``; tied maxima share the gradient evenly."""
    _nonempty(input, "amax")
    return _v.Amax(_axes(input, dim), keepdim, "max")(input)


def amin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Minimum over ``dim``; tied minima share the gradient evenly."""
    _nonempty(input, "amin")
    return _v.Amax(_axes(input, dim), keepdim, "min")(input)


def _nonempty(x: Tensor, name: str) -> None:
    if x._data.size == 0:
        raise RuntimeError(f"{name}(): expected a non-empty tensor, got shape {tuple(x.shape)}")


MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _arg(x: Tensor, dim, keepdim: bool, op: str) -> Tensor:
    _nonempty(x, op)
    xp = x._device.xp
    if dim is None:
        return Tensor._wrap(xp.asarray(getattr(xp, op)(x._data)).astype(np.int64), x._device)
    d = x._dim(dim)
    return Tensor._wrap(xp.asarray(getattr(xp, op)(x._data, axis=d, keepdims=keepdim)).astype(np.int64), x._device)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) maximum, flat when ``dim`` is None."""
    return _arg(input, dim, keepdim, "argmax")


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the (first) minimum, flat when ``dim`` is None."""
    return _arg(input, dim, keepdim, "argmin")


def _max_min(input, dim, keepdim, other, op):
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return (maximum if op == "max" else minimum)(input, other)
    if dim is None:
        return (amax if op == "max" else amin)(input)
    idx = _arg(input, dim, True, "arg" + op)
    values = gather(input, dim, idx)
    if not keepdim:
        d = input._dim(dim)
        values, idx = values.squeeze(d), idx.squeeze(d)
    return (MaxResult if op == "max" else MinResult)(values, idx)


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """``max(x)`` (all elements), ``max(x, dim)`` -> (values, indices), or ``max(x, other)``."""
    return _max_min(input, dim, keepdim, other, "max")


def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None):
    """``min(x)`` (all elements), ``min(x, dim)`` -> (values, indices), or ``min(x, other)``."""
    return _max_min(input, dim, keepdim, other, "min")


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, stabilised by the (constant) maximum."""
    m = amax(input.detach(), dim, keepdim=True)
    m = where(isinf(m), 0.0, m)
    r = log(sum(exp(input - m), dim, keepdim=True)) + m
    return r if keepdim else r.squeeze(_axes(input, dim))


def softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``, stabilised by the (constant) maximum."""
    if dtype is not None:
        input = input.to(dtype)
    e = exp(input - amax(input.detach(), dim, keepdim=True))
    return e / sum(e, dim, keepdim=True)


def log_softmax(input: Tensor, dim: int, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``."""
    if dtype is not None:
        input = input.to(dtype)
    return input - logsumexp(input, dim, keepdim=True)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default): 'fro'/2, 1, inf, -inf or any p."""
    if dtype is not None:
        input = input.to(dtype)
    if p in ("fro", 2, 2.0):
        return sqrt(sum(input * input, dim, keepdim))
    if p == 1:
        return sum(abs(input), dim, keepdim)
    if p == math.inf:
        return amax(abs(input), dim, keepdim)
    if p == -math.inf:
        return amin(abs(input), dim, keepdim)
    if p == 0:
        return sum(ne(input, 0).to(input.dtype), dim, keepdim)
    return sum(abs(input) ** p, dim, keepdim) ** (1.0 / p)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element (along ``dim``) is nonzero."""
    return Tensor._wrap(input._device.xp.asarray(input._data.all(axis=dim, keepdims=keepdim)), input._device)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where some element (along ``dim``) is nonzero."""
    return Tensor._wrap(input._device.xp.asarray(input._data.any(axis=dim, keepdims=keepdim)), input._device)


# ------------------------------------------------------------------------------------------------
# shapes


def reshape(input: Tensor, *shape) -> Tensor:
    """The same elements in a new shape (one dim may be -1)."""
    shape = _size(shape)
    n = input._data.size
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in shape:
        known = 1
        for s in shape:
            if s != -1:
                known *= s
        if known == 0 or n % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    elif math.prod(shape) != n:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {n}")
    return _v.Reshape(shape)(input)


view = reshape


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    if input._data.ndim == 0:
        return reshape(input, 1)
    s, e = input._dim(start_dim), input._dim(end_dim)
    shape = input._data.shape
    return reshape(input, shape[:s] + (math.prod(shape[s : e + 1]),) + shape[e + 1 :])


def unflatten(input: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes``."""
    d = input._dim(dim)
    shape = input._data.shape
    return reshape(input, shape[:d] + tuple(sizes) + shape[d + 1 :])


def permute(input: Tensor, *dims) -> Tensor:
    """Reorder dims: a Contract such as ``'ijk->kij'`` executed as a zero-copy transpose."""
    dims = _size(dims)
    if len(dims) != input._data.ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of the desired ordering of dimensions i.e. input.dim() = {input._data.ndim} is not equal to len(dims) = {len(dims)}"
        )
    perm = tuple(input._dim(d) for d in dims)
    if sorted(perm) != list(range(len(perm))):
        raise RuntimeError(f"permute(): dims {dims} are not a permutation of 0..{len(perm) - 1}")
    return _c.Contract(_c.permute_canon(input._data.shape, perm))(input)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims."""
    perm = list(range(input._data.ndim))
    d0, d1 = input._dim(dim0), input._dim(dim1)
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return permute(input, perm)


swapaxes = transpose


def t(input: Tensor) -> Tensor:
    """Transpose a tensor of at most 2 dims."""
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return input if input._data.ndim < 2 else transpose(input, 0, 1)


def squeeze(input: Tensor, dim=None) -> Tensor:
    """Remove dims of size 1 (all, or those in ``dim``)."""
    shape = input._data.shape
    axes = (
        set(i for i, n in enumerate(shape) if n == 1)
        if dim is None
        else {input._dim(d) for d in ((dim,) if isinstance(dim, int) else dim)}
    )
    return reshape(input, tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1)))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    """Insert a dim of size 1 at ``dim``."""
    n = input._data.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    d = dim % n
    shape = input._data.shape
    return reshape(input, shape[:d] + (1,) + shape[d:])


def expand(input: Tensor, *sizes) -> Tensor:
    """Broadcast to ``sizes`` (-1 keeps a dim) without copying."""
    sizes = _size(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        cur = shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = cur
        if cur is not None and cur != 1 and cur != s:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at non-singleton dimension {i}.  "
                f"Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}"
            )
        target.append(s)
    target = tuple(target)
    return input if target == shape else _v.Expand(target)(input)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    return expand(input, other.shape)


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dim (PyTorch's ``repeat``)."""
    sizes = _size(sizes)
    shape = input._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor")
    shape = (1,) * (len(sizes) - len(shape)) + shape
    x = reshape(input, tuple(v for n in shape for v in (1, n)))
    x = expand(x, tuple(v for r, n in zip(sizes, shape) for v in (r, n)))
    return reshape(x, tuple(r * n for r, n in zip(sizes, shape)))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenate along ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat(): expected a non-empty list of Tensors")
    tensors = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or tensors[:1]
    d = tensors[0]._dim(dim)
    ref = tensors[0]._data.shape
    for k, t in enumerate(tensors):
        s = t._data.shape
        if len(s) != len(ref) or builtins.any(a != b for i, (a, b) in enumerate(zip(s, ref)) if i != d):
            raise RuntimeError(
                f"Sizes of tensors must match except in dimension {d}. Expected size {list(ref)} but got size {list(s)} for tensor number {k} in the list."
            )
    dts = {t._data.dtype for t in tensors}
    if len(dts) > 1:
        dt = np.result_type(*dts)
        tensors = [_cast(t, dt) for t in tensors]
    return _v.Cat(d)(*tensors)


concat = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Stack along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    for k, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(tensors[0].shape)} at entry 0 and {list(t.shape)} at entry {k}"
            )
    return cat([unsqueeze(t, dim) for t in tensors], dim)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple[Tensor, ...]:
    """Views of consecutive pieces along ``dim`` (a size, or a list of sizes)."""
    d = tensor._dim(dim)
    n = tensor._data.shape[d]
    if isinstance(split_size_or_sections, _ints):
        step = int(split_size_or_sections)
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's size at dimension {d}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, start, s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Split into ``chunks`` pieces of (nearly) equal size."""
    n = input._data.shape[input._dim(dim)]
    return split(input, builtins.max(1, -(-n // chunks)), dim)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A view of ``length`` elements from ``start`` along ``dim``."""
    d = input._dim(dim)
    return _v.Index((slice(None),) * d + (slice(start, start + length),))(input)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim`` (that dim removed)."""
    d = input._dim(dim)
    return _v.Index((slice(None),) * d + (index,))(input)


def flip(input: Tensor, dims) -> Tensor:
    """Reverse the order along ``dims``."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return _v.Flip(tuple(input._dim(d) for d in dims))(input)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Entries ``index`` (1-D integer tensor) along ``dim``: a gather."""
    d = input._dim(dim)
    return _v.Index((slice(None),) * d + (_index_array(index, input),))(input)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j] = input[index[i][j]][j]`` for dim 0 (PyTorch's ``gather``); adjoint: scatter-add."""
    d = input._dim(dim)
    idx = _index_array(index, input)
    xp = input._device.xp
    if idx.ndim != input._data.ndim:
        raise RuntimeError(
            f"gather(): index tensor must have the same number of dimensions ({idx.ndim}) as input tensor ({input._data.ndim})"
        )
    key = []
    for i, n in enumerate(idx.shape):
        if i == d:
            key.append(idx)
        else:
            shape = [1] * idx.ndim
            shape[i] = n
            key.append(xp.arange(n).reshape(shape))
    return _v.Index(tuple(key))(input)


take_along_dim = gather


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``value`` where ``mask`` is true, ``input`` elsewhere."""
    m = _mask(mask)
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                f"masked_fill only supports a 0-dimensional value tensor, but got tensor with {value._data.ndim} dimension(s)"
            )
        return _p.Where(m)(_cast(value, input._data.dtype), input)
    return _p.Where(m)(_scalar(value), input)


def _mask(mask) -> np.ndarray:
    m = mask._data if isinstance(mask, Tensor) else mask
    return m if m.dtype == np.bool_ else m != 0


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle (other entries zero)."""
    xp = input._device.xp
    m = xp.tri(*input._data.shape[-2:], k=diagonal, dtype=bool)
    return _p.Where(m)(input, False if input._data.dtype == bool else 0)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle (other entries zero)."""
    xp = input._device.xp
    m = ~xp.tri(*input._data.shape[-2:], k=diagonal - 1, dtype=bool)
    return _p.Where(m)(input, False if input._data.dtype == bool else 0)


# ------------------------------------------------------------------------------------------------
# indexing


def _index_array(index, like: Tensor):
    if isinstance(index, Tensor):
        if index._device is not like._device:
            raise RuntimeError(
                f"indices should be on the same device as the indexed tensor ({like._device}), got {index._device}"
            )
        a = index._data
    else:
        a = like._device.xp.asarray(index)
    if a.dtype.kind not in "iub":
        raise IndexError(f"tensors used as indices must be long, int, byte or bool tensors, got {a.dtype}")
    return a


def _norm_key(x: Tensor, key) -> tuple:
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    for k in key:
        if isinstance(k, Tensor) or isinstance(k, (list, np.ndarray)):
            a = _index_array(k, x)
            if a.dtype == np.bool_:
                out.extend(a.nonzero())
            else:
                out.append(a)
        elif isinstance(k, (bool, np.bool_)):
            out.append(x._device.xp.asarray(bool(k)))
        elif isinstance(k, _ints):
            out.append(int(k))
        elif k is None or k is Ellipsis or isinstance(k, slice):
            if isinstance(k, slice) and k.step is not None and k.step <= 0:
                raise ValueError("step must be greater than zero")
            out.append(k)
        else:
            raise IndexError(
                f"only integers, slices, None, Ellipsis and integer or boolean tensors are valid indices (got {type(k).__name__})"
            )
    return tuple(out)


def _check_bounds(x: Tensor, key: tuple) -> None:
    dim = 0
    for k in key:
        if k is None:
            continue
        if k is Ellipsis:
            dim = x._data.ndim - builtins.sum(1 for j in key if j is not None and j is not Ellipsis)
            continue
        if isinstance(k, int) and dim < x._data.ndim:
            n = x._data.shape[dim]
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {n}")
        dim += 1


def getitem(x: Tensor, key) -> Tensor:
    key = _norm_key(x, key)
    _check_bounds(x, key)
    return _v.Index(key)(x)


def setitem(x: Tensor, key, value) -> None:
    key = _norm_key(x, key)
    _check_bounds(x, key)
    if isinstance(value, Tensor):
        if value._device is not x._device:
            raise RuntimeError(f"setitem: value is on {value._device} but the tensor is on {x._device}")
        value = _cast(value, x._data.dtype)
    elif isinstance(value, (list, tuple, np.ndarray)):
        value = tensor(value, dtype=x.dtype, device=x.device)
    if STATE.grad_enabled and (x._rg or (isinstance(value, Tensor) and value._rg)):
        _check_leaf(x)
        _check_view(x)
        old = x._data
        _rebase(x, _v.IndexPut(key)(_snapshot(x), value))
        _propagate_to_base(x, old)
    else:
        x._data[key] = value._data if isinstance(value, Tensor) else value
        x._vc[0] += 1


# ------------------------------------------------------------------------------------------------
# in-place ops: with autograd recording, the result takes over the tensor (its grad_fn is rebased
# onto the new node); without, the result is written into the tensor's memory (views see it).


def _check_leaf(x: Tensor) -> None:
    if x.grad_fn is None and x._rg:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation; "
            "wrap the update in `with ef.no_grad():` or operate on a clone"
        )
    fn = x.grad_fn
    if (
        fn is not None
        and fn.is_view
        and fn._edges
        and fn._edges[0] is not None
        and type(fn._edges[0][0]).__name__ == "AccumulateGrad"
    ):
        # the recorded op would replace the view's array and leave the leaf unchanged (as PyTorch, refuse)
        raise RuntimeError(
            f"a view of a leaf Variable that requires grad is being used in an in-place operation "
            f"(the view comes from {fn.name()}); update the leaf under `with ef.no_grad():` or use an out-of-place op"
        )


def _snapshot(x: Tensor) -> Tensor:
    """The value of ``x`` before an in-place op, as its own tensor in the graph.

    The op's node saves this snapshot (not ``x``), so it stays valid after ``x`` takes the new value;
    nodes that saved ``x`` itself see its version change and raise at backward, as in PyTorch.
    """
    old = Tensor._wrap(x._data, x._device)
    old._rg = x._rg
    old.grad_fn = x.grad_fn
    if x._output_nr:
        old._output_nr = x._output_nr
    return old


def _check_view(x: Tensor) -> None:
    """Refuse, before anything changes, an in-place op on a view that cannot pass it to its base."""
    origin = x._view_of
    if origin is not None and _owner(x._data) is _owner(origin[0]._data):
        _check_leaf(origin[0])
        view = origin[1]
        if type(view).scatter is _Node.scatter:
            view.scatter(origin[0], x)  # raises the error that names the view


def _propagate_to_base(x: Tensor, old_data) -> None:
    """After a recorded in-place op on ``x`` (whose memory was ``old_data``): if ``x`` is a view of a
    base tensor, give the base its new value (the view's region replaced, recorded in the graph)
    and make ``x`` a view of the new base again, up the whole chain of views, as PyTorch does."""
    origin = x._view_of
    if origin is None:
        return
    base, view = origin
    if _owner(old_data) is not _owner(base._data):
        return  # a reshape that had to copy is not a view: the base keeps its value (as PyTorch)
    base_data = base._data
    _rebase(base, view.scatter(_snapshot(base), x))
    _propagate_to_base(base, base_data)
    again = view.reapply(base)
    x._data, x.grad_fn, x._rg, x._view_of = again._data, again.grad_fn, again._rg, again._view_of


def _owner(a):
    return a if a.base is None else a.base


def _rebase(x: Tensor, r: Tensor) -> None:
    if r._data.dtype != x._data.dtype:
        r = _cast(r, x._data.dtype)
    x._data = r._data
    x.grad_fn = r.grad_fn
    x._rg = r._rg
    if "_output_nr" in x.__dict__:
        del x.__dict__["_output_nr"]
    x._vc[0] += 1


def _inplace(x: Tensor, make, *others, direct=None) -> Tensor:
    if STATE.grad_enabled and (x._rg or builtins.any(isinstance(o, Tensor) and o._rg for o in others)):
        _check_leaf(x)
        _check_view(x)
        old = x._data
        _rebase(x, make(_snapshot(x)))
        _propagate_to_base(x, old)
        return x
    try:
        if direct is not None:
            direct(x._data)
        else:
            r = make(x)
            if r._data.dtype.kind == "f" and x._data.dtype.kind in "biu":
                raise RuntimeError(f"result type {r.dtype.name} can't be cast to the desired output type {x.dtype.name}")
            if r._device is not x._device:
                raise RuntimeError(f"in-place operation: expected {x._device}, got {r._device}")
            x._data[...] = r._data
    except ValueError as e:
        raise RuntimeError(
            f"in-place operation on a tensor of shape {tuple(x.shape)} failed ({e}): the result must broadcast to "
            f"the tensor's shape and its memory must be writable (expand()ed tensors are not; clone() them first)"
        ) from e
    x._vc[0] += 1
    return x


def _inplace_view(x: Tensor, make) -> Tensor:
    """``x`` becomes ``make(x)``, a view of its own memory: the in-place view ops (``t_``,
    ``transpose_``, ``squeeze_``, ``unsqueeze_``) change shape and strides, never the data.

    As in PyTorch the version counter moves (nodes that saved ``x`` refuse to backward), a leaf
    that requires grad is refused while recording, and a non-leaf gets the view's ``grad_fn``.
    """
    record = STATE.grad_enabled and x._rg
    if record:
        _check_leaf(x)
    old = Tensor._wrap(x._data, x._device)  # x as it was: same memory, version counter, base and grad_fn
    old._vc, old._view_of, old._rg, old.grad_fn = x._vc, x._view_of, x._rg, x.grad_fn
    if x._output_nr:
        old._output_nr = x._output_nr
    r = make(old)
    x._data, x._view_of = r._data, r._view_of
    if record:
        x.grad_fn, x._rg = r.grad_fn, r._rg
        x.__dict__.pop("_output_nr", None)
    x._vc[0] += 1
    return x


def t_(x: Tensor) -> Tensor:
    """In-place ``t()``: ``x`` becomes its transpose (a view of the same memory).

    >>> import einframe as ef
    >>> x = ef.zeros(2, 3)
    >>> x.t_().shape
    einframe.Size([3, 2])
    """
    return _inplace_view(x, t)


def transpose_(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """In-place ``transpose(dim0, dim1)`` (a view of the same memory)."""
    return _inplace_view(x, lambda s: transpose(s, dim0, dim1))


def squeeze_(x: Tensor, dim=None) -> Tensor:
    """In-place ``squeeze(dim)``: drops size-1 dims from ``x``'s shape."""
    return _inplace_view(x, lambda s: squeeze(s, dim))


def unsqueeze_(x: Tensor, dim: int) -> Tensor:
    """In-place ``unsqueeze(dim)``: inserts a size-1 dim into ``x``'s shape."""
    return _inplace_view(x, lambda s: unsqueeze(s, dim))


swapaxes_ = swapdims_ = transpose_


def _ufunc_(name: str, x: Tensor, other, alpha=1):
    """Outside the graph, ``x <op>= other`` runs as one in-place ufunc (no temporary, no copy)."""
    if isinstance(other, Tensor):
        if other._device is not x._device:
            raise RuntimeError(f"in-place {name}: expected all tensors on {x._device}, but found {other._device}")
        if other._data.dtype.kind == "f" and x._data.dtype.kind != "f":
            return None  # let the generic path raise PyTorch's casting error
        o = other._data
    elif isinstance(other, _numbers):
        if isinstance(other, float) and x._data.dtype.kind != "f":
            return None
        o = other
    else:
        return None
    if alpha != 1:
        o = o * alpha
    fn = getattr(x._device.xp, name)

    def direct(a):
        fn(a, o, out=a, casting="unsafe")

    return direct


def add_(x: Tensor, other, *, alpha=1) -> Tensor:
    return _inplace(x, lambda s: add(s, other, alpha=alpha), other, direct=_ufunc_("add", x, other, alpha))


def sub_(x: Tensor, other, *, alpha=1) -> Tensor:
    return _inplace(x, lambda s: sub(s, other, alpha=alpha), other, direct=_ufunc_("subtract", x, other, alpha))


def mul_(x: Tensor, other) -> Tensor:
    return _inplace(x, lambda s: mul(s, other), other, direct=_ufunc_("multiply", x, other))


def div_(x: Tensor, other) -> Tensor:
    direct = _ufunc_("true_divide", x, other) if x._data.dtype.kind == "f" else None
    return _inplace(x, lambda s: div(s, other), other, direct=direct)


def pow_(x: Tensor, exponent) -> Tensor:
    return _inplace(x, lambda s: pow(s, exponent), exponent)


def clamp_(x: Tensor, min=None, max=None) -> Tensor:
    return _inplace(x, lambda s: clamp(s, min, max), min, max)


def neg_(x: Tensor) -> Tensor:
    return _inplace(x, neg)


def exp_(x: Tensor) -> Tensor:
    return _inplace(x, exp)


def relu_(x: Tensor) -> Tensor:
    return _inplace(x, relu)


def sigmoid_(x: Tensor) -> Tensor:
    return _inplace(x, sigmoid)


def tanh_(x: Tensor) -> Tensor:
    return _inplace(x, tanh)


def sqrt_(x: Tensor) -> Tensor:
    return _inplace(x, sqrt)


def zero_(x: Tensor) -> Tensor:
    """Fill with zeros, in place."""
    return _inplace(x, lambda s: s * 0, direct=lambda a: a.fill(0))


def fill_(x: Tensor, value) -> Tensor:
    """Fill with ``value``, in place."""
    v = value.item() if isinstance(value, Tensor) else value
    return _inplace(x, lambda s: s * 0 + v, direct=lambda a: a.fill(v))


def copy_(x: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast, moved to this device) into this tensor, in place."""
    if not isinstance(src, Tensor):
        src = tensor(src)
    moved = src.to(device=x.device)

    def direct(a):
        a[...] = moved._data

    return _inplace(x, lambda s: s * 0 + _cast(moved, s._data.dtype), moved, direct=direct)


def _random_(draw):
    def op(x: Tensor, *args) -> Tensor:
        def sample():
            return to_backend(draw(generator(), x._data.shape, *args).astype(x._data.dtype, copy=False), x._device)

        def direct(a):
            a[...] = sample()

        return _inplace(x, lambda s: s * 0 + Tensor._wrap(sample(), s._device), direct=direct)

    return op


uniform_ = _random_(lambda g, s, a=0.0, b=1.0: g.uniform(a, b, s))
normal_ = _random_(lambda g, s, mean=0.0, std=1.0: g.normal(mean, std, s))
uniform_.__doc__ = "Fill with samples from U(from, to), in place."
normal_.__doc__ = "Fill with samples from N(mean, std²), in place."


def masked_fill_(x: Tensor, mask, value) -> Tensor:
    return _inplace(x, lambda s: masked_fill(s, mask, value), value)


# ------------------------------------------------------------------------------------------------
# misc


def contiguous(input: Tensor) -> Tensor:
    """``input`` if its memory is C-ordered, else a C-ordered copy: an identity ``Contract`` that copies."""
    if input._data.flags.c_contiguous:
        return input
    n = input._data.ndim
    return _c.Contract(_c.permute_canon(input._data.shape, tuple(range(n))), contiguous=True)(input)


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own memory; gradients flow back to ``input``."""
    return (
        _p.Cast(input._data.dtype)(input)
        if input._rg or input._tangent is not None
        else Tensor._wrap(input._data.copy(), input._device)
    )


def detach(input: Tensor) -> Tensor:
    return input.detach()


def to(x: Tensor, device=None, dtype=None, copy: bool = False) -> Tensor:
    out = x
    if dtype is not None:
        nd = _dt.to_numpy_dtype(dtype)
        if nd != x._data.dtype:
            out = _p.Cast(nd)(out)
    if device is not None:
        dev = get_device(device)
        if dev is not out._device:
            dev.xp  # noqa: B018 - raises a clear error when the device is unavailable
            out = _v.ToDevice(dev)(out)
    if copy and out is x:
        out = clone(x)
    return out


# ------------------------------------------------------------------------------------------------
# Tensor methods

_METHODS = [
    "add", "sub", "mul", "div", "true_divide", "pow", "neg", "exp", "log", "sqrt", "rsqrt", "abs", "sign", "sin",
    "cos", "tanh", "sigmoid", "relu", "erf", "square", "reciprocal", "log1p", "expm1", "clamp", "clip", "maximum",
    "minimum", "softmax", "log_softmax", "logsumexp", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
    "logical_or", "logical_not", "isnan", "isinf", "isfinite", "allclose", "equal", "sum", "mean", "var", "std",
    "max", "min", "amax", "amin", "argmax", "argmin", "norm", "all", "any", "reshape", "view", "flatten",
    "unflatten", "permute", "transpose", "swapaxes", "t", "squeeze", "unsqueeze", "expand", "expand_as", "repeat",
    "split", "chunk", "narrow", "select", "flip", "index_select", "gather", "masked_fill", "tril", "triu",
    "matmul", "mm", "bmm", "dot", "outer", "trace", "diagonal", "add_", "sub_", "mul_", "div_", "pow_", "clamp_",
    "neg_", "exp_", "relu_", "sigmoid_", "tanh_", "sqrt_", "zero_", "fill_", "copy_", "uniform_", "normal_",
    "masked_fill_", "t_", "transpose_", "swapaxes_", "swapdims_", "squeeze_", "unsqueeze_",
]  # fmt: skip


def _install_tensor_methods(cls) -> None:
    g = globals()
    for name in _METHODS:
        setattr(cls, name, g[name])
    cls.where = lambda self, condition, other: where(condition, self, other)
    cls.view_as = lambda self, other: reshape(self, other.shape)
    cls.reshape_as = lambda self, other: reshape(self, other.shape)
    cls.T = property(lambda self: permute(self, tuple(reversed(range(self._data.ndim)))))
    cls.mT = property(lambda self: transpose(self, -2, -1))
    cls.__getitem__ = getitem
    cls.__setitem__ = setitem
    cls.__add__ = lambda a, b: _binary(_p.Add, a, b)
    cls.__radd__ = lambda a, b: _binary(_p.Add, b, a)
    cls.__sub__ = lambda a, b: _binary(_p.Sub, a, b)
    cls.__rsub__ = lambda a, b: _binary(_p.Sub, b, a)
    cls.__mul__ = lambda a, b: _binary(_p.Mul, a, b)
    cls.__rmul__ = lambda a, b: _binary(_p.Mul, b, a)
    cls.__truediv__ = lambda a, b: div(a, b)
    cls.__rtruediv__ = lambda a, b: div(b, a)
    cls.__floordiv__ = lambda a, b: div(a, b, rounding_mode="floor")
    cls.__rfloordiv__ = lambda a, b: div(b, a, rounding_mode="floor")
    cls.__mod__ = lambda a, b: a - div(a, b, rounding_mode="floor") * b
    cls.__pow__ = lambda a, b: _binary(_p.Pow, a, b)
    cls.__rpow__ = lambda a, b: _binary(_p.Pow, b, a)
    cls.__matmul__ = matmul
    cls.__rmatmul__ = lambda a, b: matmul(b, a)
    cls.__neg__ = neg
    cls.__pos__ = lambda a: a
    cls.__abs__ = abs
    cls.__invert__ = lambda a: logical_not(a) if a._data.dtype == np.bool_ else Tensor._wrap(~a._data, a._device)
    cls.__and__ = lambda a, b: _compare_raw(a, b, "logical_and" if a._data.dtype == np.bool_ else "bitwise_and")
    cls.__or__ = lambda a, b: _compare_raw(a, b, "logical_or" if a._data.dtype == np.bool_ else "bitwise_or")
    cls.__xor__ = lambda a, b: _compare_raw(a, b, "logical_xor" if a._data.dtype == np.bool_ else "bitwise_xor")
    cls.__eq__ = eq
    cls.__ne__ = ne
    cls.__lt__ = lt
    cls.__le__ = le
    cls.__gt__ = gt
    cls.__ge__ = ge
    cls.__iadd__ = add_
    cls.__isub__ = sub_
    cls.__imul__ = mul_
    cls.__itruediv__ = div_
    cls.__hash__ = lambda self: id(self)


def _compare_raw(a, b, op):
    a, b = _operands(a, b)
    return _p.Compare(op)(a, b)


_install_tensor_methods(Tensor)

# ---- further families, one file each: ``ef.<name>`` for their ``__all__``, Tensor methods for ``METHODS``
from . import _functions_index as _f_index  # noqa: E402
from . import _functions_math as _f_math  # noqa: E402
from . import _functions_misc as _f_misc  # noqa: E402
from . import _functions_reduce as _f_reduce  # noqa: E402

for _family in (_f_math, _f_index, _f_reduce, _f_misc):
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)  # noqa: PLE0605
    for _name, _fn in _family.METHODS.items():
        setattr(Tensor, _name, _fn)
