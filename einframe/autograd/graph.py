"""Graph-level hooks: tensor hooks, retain_grad, post-accumulate hooks, saved-tensor hooks."""

from __future__ import annotations

import itertools
import weakref

from .._state import STATE

__all__ = [
    "RemovableHandle", "saved_tensors_hooks", "register_tensor_hook", "register_post_accumulate_grad_hook", "save_on_cpu",
    "disable_saved_tensors_hooks", "increment_version",
]  # fmt: skip

_disabled: list[str] = []  # messages of the active disable_saved_tensors_hooks blocks

_ids = itertools.count()


class RemovableHandle:
    """Returned by every hook registration; ``remove()`` is idempotent. Also a context manager."""

    def __init__(self, hooks_dict: dict, fn=None, *extra_dicts: dict):
        self.id = next(_ids)
        self._dicts = [weakref.ref(hooks_dict)] if _weakrefable(hooks_dict) else [lambda d=hooks_dict: d]
        for d in extra_dicts:
            self._dicts.append(lambda d=d: d)
        if fn is not None:
            hooks_dict[self.id] = fn

    def remove(self) -> None:
        for ref in self._dicts:
            d = ref()
            if d is not None:
                d.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _weakrefable(d) -> bool:
    try:
        weakref.ref(d)
        return True
    except TypeError:
        return False


def register_tensor_hook(t, hook) -> RemovableHandle:
    if not t._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t.grad_fn is None:  # leaf: run by its AccumulateGrad before accumulation
        if t._hooks is None:
            t._hooks = {}
        return RemovableHandle(t._hooks, hook)
    node = t.grad_fn
    hooks = node.__dict__.setdefault("_tensor_hooks", {}).setdefault(t._output_nr, {})
    return RemovableHandle(hooks, hook)


def register_retain_grad(t) -> None:
    node = t.grad_fn
    node.__dict__.setdefault("_retained", {})[t._output_nr] = weakref.ref(t)


def register_post_accumulate_grad_hook(t, hook) -> RemovableHandle:
    if t.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not t._rg:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if t._post_acc_hooks is None:
        t._post_acc_hooks = {}
    return RemovableHandle(t._post_acc_hooks, hook)


class saved_tensors_hooks:
    """Transform tensors as autograd saves them (``pack``) and when backward needs them (``unpack``).

    >>> import einframe as ef
    >>> seen = []
    >>> with ef.autograd.graph.saved_tensors_hooks(lambda t: seen.append(t.shape) or t, lambda t: t):
    ...     y = (ef.ones(3, requires_grad=True) * 2).exp()
    >>> seen  # x * 2 saves no tensor (its gradient needs only the 2); exp saves its output
    [einframe.Size([3])]
    """

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        if _disabled:
            raise RuntimeError(_disabled[-1])
        STATE.saved_hooks.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc) -> None:
        STATE.saved_hooks.pop()


class save_on_cpu(saved_tensors_hooks):
    """Keep the tensors autograd saves on the CPU and move them back when backward needs them (GPU
    memory for activations traded for transfers); on CPU tensors nothing moves.

    >>> import einframe as ef
    >>> x = ef.ones(3, requires_grad=True)
    >>> with ef.autograd.graph.save_on_cpu():
    ...     y = x.exp()
    >>> y.sum().backward(); x.grad.tolist()[0] > 2.7
    True
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        super().__init__(lambda t: (t.device, t.cpu()), lambda packed: packed[1].to(packed[0]))


class disable_saved_tensors_hooks:
    """Inside, entering ``saved_tensors_hooks`` raises ``RuntimeError(error_message)`` (a library that
    cannot cope with them says so).

    >>> import einframe as ef
    >>> with ef.autograd.graph.disable_saved_tensors_hooks("not here"):
    ...     try:
    ...         ef.autograd.graph.save_on_cpu().__enter__()
    ...     except RuntimeError as e:
    ...         print(e)
    not here
    """

    def __init__(self, error_message: str):
        self.error_message = error_message

    def __enter__(self):
        _disabled.append(self.error_message)
        return self

    def __exit__(self, *exc) -> None:
        _disabled.pop()


def increment_version(tensor) -> None:
    """Bump ``tensor``'s version counter, as an in-place change would (nodes that saved it then refuse
    to backward): for writes einframe cannot see, such as through ``numpy()``."""
    tensor._vc[0] += 1


def _pack(saved):
    from ..tensor import Tensor

    pack, unpack = STATE.saved_hooks[-1]
    xs, out = saved

    def p(t):
        return (unpack, pack(t)) if isinstance(t, Tensor) else (None, t)

    return (tuple(p(t) for t in xs), p(out) if out is not None else None)


def _unpack(saved):
    xs, out = saved

    def u(item):
        unpack, v = item
        return unpack(v) if unpack is not None else v

    return (tuple(u(x) for x in xs), u(out) if out is not None else None)
