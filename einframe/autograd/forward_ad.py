"""Forward-mode AD with dual tensors: every primitive's ``jvp`` pushes tangents alongside values.

>>> import einframe as ef
>>> import einframe.autograd.forward_ad as fwAD
>>> x = ef.tensor([1.0, 2.0])
>>> with fwAD.dual_level():
...     y = (fwAD.make_dual(x, ef.ones(2)) ** 2).sum()
...     fwAD.unpack_dual(y).tangent
tensor(6.)
"""

from __future__ import annotations

import weakref
from collections import namedtuple

from .._state import STATE

__all__ = ["dual_level", "make_dual", "unpack_dual", "UnpackedDualTensor", "enter_dual_level", "exit_dual_level"]

UnpackedDualTensor = namedtuple("UnpackedDualTensor", ["primal", "tangent"])
_levels: list[list] = []


def _attach(t, tangent) -> None:
    if tangent is None:
        return
    t._tangent = tangent
    if _levels:
        _levels[-1].append(weakref.ref(t))


class dual_level:
    """Scope of forward-mode AD: tangents attached inside are dropped on exit."""

    def __enter__(self):
        STATE.fwd_level += 1
        _levels.append([])
        return STATE.fwd_level

    def __exit__(self, *exc) -> None:
        for ref in _levels.pop():
            t = ref()
            if t is not None and "_tangent" in t.__dict__:
                del t.__dict__["_tangent"]
        STATE.fwd_level -= 1


_open: list[dual_level] = []  # levels entered by enter_dual_level, innermost last


def enter_dual_level() -> int:
    """Open a forward-mode level without a ``with`` block; returns its index (``dual_level().__enter__``).

    >>> import einframe.autograd.forward_ad as fwAD
    >>> level = fwAD.enter_dual_level(); fwAD.exit_dual_level(level=level)
    """
    lvl = dual_level()
    _open.append(lvl)
    return lvl.__enter__()


def exit_dual_level(*, level: int | None = None) -> None:
    """Close the innermost level opened by ``enter_dual_level`` (``level`` must be it, if given)."""
    if not _open:
        raise RuntimeError("exit_dual_level: no level was entered with enter_dual_level()")
    if level is not None and level != STATE.fwd_level:
        raise RuntimeError(f"exit_dual_level: trying to exit level {level} but the current level is {STATE.fwd_level}")
    _open.pop().__exit__(None, None, None)


def make_dual(tensor, tangent):
    """A view of ``tensor`` carrying ``tangent`` (same shape) as its forward derivative."""
    if STATE.fwd_level == 0:
        raise RuntimeError("make_dual must be called inside a `with dual_level():` block")
    if tuple(tangent.shape) != tuple(tensor.shape):
        raise RuntimeError(f"make_dual: tangent shape {tuple(tangent.shape)} does not match primal shape {tuple(tensor.shape)}")
    from ..ops.view import Reshape

    prev, STATE.fwd_level = STATE.fwd_level, 0  # the view itself must not propagate an old tangent
    try:
        dual = Reshape(tensor.shape)(tensor)
    finally:
        STATE.fwd_level = prev
    _attach(dual, tangent.to(dtype=tensor.dtype))
    return dual


def unpack_dual(tensor) -> UnpackedDualTensor:
    """``(primal, tangent)``; the tangent is None when the tensor carries none."""
    return UnpackedDualTensor(tensor, tensor._tangent)
