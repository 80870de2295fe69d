"""The built-in plugin: registers einframe's own layers, initializers, optimizers and named hooks
through the very same hooks a third-party plugin implements.

Nothing is listed by hand: every public ``nn.Module`` subclass exported by ``einframe.nn``, every
name in ``einframe.nn.init.__all__``, every ``Optimizer`` subclass in ``einframe.optim.__all__``
and every name in ``einframe.nn.hooks.__all__`` is registered, so a layer added to ``einframe.nn``
later is found without touching this file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .hookspecs import hookimpl


def _optional(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        return None


@hookimpl
def register_layers(register: Callable) -> None:
    from .. import nn

    for name in nn.__all__:
        obj = getattr(nn, name, None)
        if isinstance(obj, type) and issubclass(obj, nn.Module) and obj is not nn.Module:
            register(name, obj)


@hookimpl
def register_initializers(register: Callable) -> None:
    init = _optional("einframe.nn.init")
    if init is None:
        return
    for name in getattr(init, "__all__", ()):
        obj = getattr(init, name, None)
        if name.endswith("_") and callable(obj) and not isinstance(obj, type):  # in-place initializers, not calculate_gain
            register(name, obj)


@hookimpl
def register_optimizers(register: Callable) -> None:
    from .. import optim

    base = getattr(optim, "Optimizer", None)
    if base is None:
        return
    for name in getattr(optim, "__all__", ()):
        obj = getattr(optim, name, None)
        if isinstance(obj, type) and issubclass(obj, base) and obj is not base:
            register(name, obj)


@hookimpl
def register_hooks(register: Callable) -> None:
    from ..nn import hooks

    for name in hooks.__all__:
        register(name, getattr(hooks, name))
