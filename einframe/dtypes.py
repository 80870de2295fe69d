"""dtypes with PyTorch's names (``ef.float32``, ``ef.int64``, ...) mapped onto numpy dtypes."""

from __future__ import annotations

import numpy as np

__all__ = ["dtype", "get_default_dtype", "set_default_dtype", "to_numpy_dtype", "from_numpy_dtype"]


class dtype:
    """A tensor element type; ``x.dtype == ef.float32``. Interned: one object per numpy dtype.

    >>> import einframe as ef
    >>> ef.float64.is_floating_point, ef.float64.itemsize
    (True, 8)
    """

    __slots__ = ("name", "np")
    _by_np: dict[np.dtype, dtype] = {}

    def __init__(self, name: str, np_dtype):
        self.name = name
        self.np = np.dtype(np_dtype)
        dtype._by_np[self.np] = self

    @property
    def is_floating_point(self) -> bool:
        return self.np.kind == "f"

    @property
    def is_signed(self) -> bool:
        return self.np.kind in "fi"

    @property
    def itemsize(self) -> int:
        return self.np.itemsize

    def __repr__(self) -> str:
        return f"einframe.{self.name}"

    def __reduce__(self):
        return (from_numpy_dtype, (self.np.str,))


float16 = dtype("float16", np.float16)
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool_ = dtype("bool", np.bool_)

ALIASES = {
    "half": float16,
    "float": float32,
    "double": float64,
    "short": int16,
    "int": int32,
    "long": int64,
    "bool": bool_,
}

_default = [float32]


def get_default_dtype() -> dtype:
    """The dtype of new floating-point tensors (float32 unless changed)."""
    return _default[0]


def set_default_dtype(d) -> None:
    """Change the default floating-point dtype (``ef.set_default_dtype(ef.float64)``)."""
    d = from_numpy_dtype(to_numpy_dtype(d))
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default[0] = d


def from_numpy_dtype(np_dtype) -> dtype:
    nd = np.dtype(np_dtype)
    d = dtype._by_np.get(nd)
    if d is None:
        raise TypeError(f"unsupported dtype {nd}: einframe supports {sorted(x.name for x in dtype._by_np.values())}")
    return d


def to_numpy_dtype(d) -> np.dtype:
    """Accept an einframe dtype, a numpy dtype, a string name or a Python type; return a numpy dtype."""
    if isinstance(d, dtype):
        return d.np
    if d is float:
        return _default[0].np
    if d is int:
        return np.dtype(np.int64)
    if d is bool:
        return np.dtype(np.bool_)
    if isinstance(d, str) and d in ALIASES:
        return ALIASES[d].np
    try:
        nd = np.dtype(d)
    except TypeError as e:
        raise TypeError(f"cannot interpret {d!r} as a dtype; use e.g. ef.float32 or ef.int64") from e
    from_numpy_dtype(nd)
    return nd
