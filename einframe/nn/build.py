"""``nn.build(config)``: build a module from nested dicts and lists, through the layer registry.

>>> from einframe import nn
>>> nn.build({"type": "Sequential", "layers": [
...     {"type": "Linear", "in_features": 4, "out_features": 8},
...     {"type": "ReLU"},
... ]})
Sequential(
  (0): Linear(in_features=4, out_features=8, bias=True)
  (1): ReLU()
)
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from .modules.module import Module

__all__ = ["build", "BuildError"]


class BuildError(TypeError):
    """A config could not be turned into a module (bad type, bad arguments); says where and why."""


def build(config: Mapping[str, Any] | list) -> Module:
    """Build a module from a nested config.

    A config is a dict ``{"type": <layer name>, **constructor_kwargs}``; the name is looked up in
    the plugin registry (``ef.plugins.get("layers", name)``), so plugin layers work too. For
    containers, ``"layers"`` holds the children: a list (``Sequential``/``ModuleList``) or a dict
    (``Sequential`` with names, ``ModuleDict``). A list at the top level means ``Sequential``. Any
    argument value that is itself a dict with a ``"type"`` is built first.

    >>> from einframe import nn
    >>> nn.build([{"type": "Linear", "in_features": 2, "out_features": 1}])[0]
    Linear(in_features=2, out_features=1, bias=True)
    """
    return _build(config, "config")


def _build(config: Any, where: str) -> Module:
    from .. import plugins

    if isinstance(config, Module):
        return config
    if isinstance(config, (list, tuple)):
        config = {"type": "Sequential", "layers": list(config)}
    if not isinstance(config, Mapping):
        raise BuildError(f"{where}: expected a dict with a 'type' key (or a list of them), got {type(config).__name__}")
    if "type" not in config:
        raise BuildError(f"{where}: missing the 'type' key; got keys {sorted(config)} (e.g. {{'type': 'Linear', ...}})")
    name = config["type"]
    try:
        factory = plugins.get("layers", name)
    except KeyError as e:
        raise KeyError(f"{where}: unknown layer type {name!r}. {e.args[0] if e.args else ''}") from None
    kwargs = {k: v for k, v in config.items() if k != "type"}
    args: list[Any] = []
    children = kwargs.pop("layers", None)
    if children is not None:
        if isinstance(children, Mapping):
            built = OrderedDict((str(k), _build(v, f"{where}.layers[{k!r}]")) for k, v in children.items())
            if name in ("ModuleDict",) or _accepts_mapping(factory):
                args = [built]
            else:
                raise BuildError(f"{where}: {name} does not take named 'layers'; use a list")
        elif isinstance(children, (list, tuple)):
            built_list = [_build(v, f"{where}.layers[{i}]") for i, v in enumerate(children)]
            args = [built_list] if name in ("ModuleList",) or _takes_one_iterable(factory) else built_list
        else:
            raise BuildError(f"{where}: 'layers' must be a list or a dict, got {type(children).__name__}")
    for k, v in list(kwargs.items()):
        if isinstance(v, Mapping) and "type" in v:
            kwargs[k] = _build(v, f"{where}.{k}")
    try:
        sig = inspect.signature(factory)
        sig.bind(*args, **kwargs)
    except TypeError as e:
        raise BuildError(f"{where}: bad arguments for {name}: {e}; it takes {name}{_signature(factory)}") from None
    except ValueError:  # no signature available: just call it
        pass
    module = factory(*args, **kwargs)
    if not isinstance(module, Module):
        raise BuildError(f"{where}: layer {name!r} returned a {type(module).__name__}, not an nn.Module")
    return module


def _signature(factory: Any) -> str:
    try:
        return str(inspect.signature(factory))
    except (TypeError, ValueError):
        return "(...)"


def _accepts_mapping(factory: Any) -> bool:
    from .modules.container import ModuleDict, Sequential

    return isinstance(factory, type) and issubclass(factory, (Sequential, ModuleDict))


def _takes_one_iterable(factory: Any) -> bool:
    from .modules.container import ModuleList, ParameterList

    return isinstance(factory, type) and issubclass(factory, (ModuleList, ParameterList))
