"""``einframe.nn``: modules, parameters, containers, layers, losses (PyTorch's ``torch.nn``).

>>> import einframe as ef
>>> from einframe import nn
>>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
>>> net(ef.ones(2, 4)).shape
einframe.Size([2, 1])
"""

from __future__ import annotations

import importlib
from typing import Any

from . import functional, modules, parameter  # noqa: F401
from .build import build
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parameter import Parameter, UninitializedBuffer, UninitializedParameter

__all__ = [*_modules_all, "Parameter", "UninitializedParameter", "UninitializedBuffer", "functional", "build"]

_LAZY_SUBMODULES = ("init", "utils")


def __getattr__(name: str) -> Any:
    # nn.init / nn.utils are imported on first use (they are written in their own files)
    if name in _LAZY_SUBMODULES:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'einframe.nn' has no attribute '{name}'")
