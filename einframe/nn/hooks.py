"""Built-in named module hooks, attached with ``module.attach_hook(name, **options)``.

They are registered (kind ``"hooks"``) by the built-in plugin; a plugin can add its own. A named
hook is a callable ``attach(module, **options)`` returning a handle with an idempotent ``remove()``.

>>> import einframe as ef
>>> from einframe import nn
>>> net = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
>>> with net.attach_hook("nan_check"):
...     _ = net(ef.ones(2, 3))
"""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .modules.module import Module

__all__ = ["nan_check", "activation_stats"]


class NonFiniteError(RuntimeError):
    """An output or gradient of a module holds NaN or Inf (raised by the ``nan_check`` hook)."""


class HookGroup:
    """Handle of a named hook: ``remove()`` detaches every per-module hook it added (idempotent).

    Also a context manager.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.handles: list[Any] = []

    def remove(self) -> None:
        """Detach the hook from every module (calling it again does nothing)."""
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def __enter__(self) -> HookGroup:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} on {len(self.handles)} hook(s)>"


def _targets(module: Module, recurse: bool) -> list[tuple[str, Module]]:
    return list(module.named_modules()) if recurse else [("", module)]


def _where(path: str, m: Module) -> str:
    return f"'{path}' ({type(m).__name__})" if path else f"the root module ({type(m).__name__})"


def _tensors(x: Any) -> list[Tensor]:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (tuple, list)):
        return [t for item in x for t in _tensors(item)]
    if isinstance(x, dict):
        return [t for item in x.values() for t in _tensors(item)]
    return []


def _check(x: Any, what: str) -> None:
    for k, t in enumerate(_tensors(x)):
        a = t._data
        if a.dtype.kind not in "fc":
            continue
        xp = t._device.xp
        if bool(xp.isfinite(a).all()):
            continue
        n_nan, n_inf = int(xp.isnan(a).sum()), int(xp.isinf(a).sum())
        which = f" (tensor {k})" if k else ""
        err = NonFiniteError(
            f"nan_check: {what}{which} contains non-finite values: {n_nan} NaN and {n_inf} Inf of {a.size} "
            f"(shape {tuple(a.shape)}); run the step under ef.autograd.detect_anomaly() to find the op that made them"
        )
        err._ef_named = True  # the message already names the module
        raise err


def nan_check(module: Module, *, grads: bool = True, recurse: bool = True) -> HookGroup:
    """Raise :class:`NonFiniteError` naming the module when an output (or gradient) holds NaN/Inf.

    Watches ``module`` and, with ``recurse``, every submodule; with ``grads`` also the gradients
    w.r.t. each module's outputs and inputs during backward.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> net = nn.Sequential(nn.Linear(2, 2))
    >>> h = net.attach_hook("nan_check")
    >>> try:
    ...     net(ef.tensor([[float("nan"), 0.0]]))
    ... except RuntimeError as e:
    ...     print(str(e)[:45])
    nan_check: output of '0' (Linear) contains no
    >>> h.remove()
    """
    group = HookGroup("nan_check")
    for path, m in _targets(module, recurse):
        where = _where(path, m)

        def forward_hook(mod: Module, args: tuple, out: Any, where: str = where) -> None:
            _check(out, f"output of {where}")

        group.handles.append(m.register_forward_hook(forward_hook))
        if grads:

            def backward_hook(mod: Module, grad_input: tuple, grad_output: tuple, where: str = where) -> None:
                _check(grad_output, f"gradient w.r.t. the output of {where}")
                _check(grad_input, f"gradient w.r.t. the input of {where}")

            group.handles.append(m.register_full_backward_hook(backward_hook))
    return group


class ActivationStats(HookGroup):
    """Handle of ``activation_stats``: ``stats[path]`` holds ``mean``, ``std``, ``min``, ``max``, ``numel``, ``calls``.

    With ``history=True`` each statistic is a list with one value per call.
    """

    def __init__(self, history: bool) -> None:
        super().__init__("activation_stats")
        self.history = history
        self.stats: dict[str, dict[str, Any]] = {}

    def _record(self, path: str, out: Any) -> None:
        ts = [t for t in _tensors(out) if t._data.dtype.kind in "fc"]
        if not ts:
            return
        a = ts[0]._data
        xp = ts[0]._device.xp
        a64 = a.astype(xp.float64)
        n = int(a.size)
        values = {
            "mean": float(a64.mean()) if n else float("nan"),
            "std": float(a64.std(ddof=1)) if n > 1 else float("nan"),
            "min": float(a64.min()) if n else float("nan"),
            "max": float(a64.max()) if n else float("nan"),
            "numel": n,
        }
        s = self.stats.setdefault(path, {"calls": 0})
        s["calls"] += 1
        for k, v in values.items():
            if self.history:
                s.setdefault(k, []).append(v)
            else:
                s[k] = v

    def clear(self) -> None:
        """Forget the recorded statistics."""
        self.stats.clear()


def activation_stats(module: Module, *, recurse: bool = True, history: bool = False) -> ActivationStats:
    """Record mean/std/min/max of each module's output (first floating tensor) on every call.

    The returned handle's ``stats`` maps each module path (``""`` is ``module`` itself) to its
    statistics of the latest call (or every call, with ``history=True``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    >>> h = net.attach_hook("activation_stats")
    >>> _ = net(ef.randn(8, 4))
    >>> h.stats["1"]["min"] >= 0.0
    True
    >>> h.remove()
    """
    group = ActivationStats(history)
    for path, m in _targets(module, recurse):

        def forward_hook(mod: Module, args: tuple, out: Any, path: str = path) -> None:
            group._record(path, out)

        group.handles.append(m.register_forward_hook(forward_hook))
    return group
