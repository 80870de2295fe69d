"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` (context managers and decorators)."""

from __future__ import annotations

import functools

from .._state import STATE

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled"]


def is_grad_enabled() -> bool:
    """Whether operations are recorded for reverse-mode autograd now."""
    return STATE.grad_enabled


class _GradMode:
    """Base: sets grad mode on enter, restores it on exit; usable as a decorator."""

    mode = True

    def __enter__(self):
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self.mode
        return self

    def __exit__(self, *exc) -> None:
        STATE.grad_enabled = self._prev

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording (evaluation, optimizer updates).

    >>> import einframe as ef
    >>> x = ef.ones(2, requires_grad=True)
    >>> with ef.no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    mode = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True


class inference_mode(no_grad):
    """Same as ``no_grad`` in einframe (there is no separate inference tensor kind)."""

    def __init__(self, mode: bool = True):
        self.mode = not mode


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` switches grad mode now; as a context manager it restores on exit."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._prev = STATE.grad_enabled
        STATE.grad_enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        STATE.grad_enabled = self._prev
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
