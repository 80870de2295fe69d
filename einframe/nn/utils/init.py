"""``skip_init`` (PyTorch's ``torch.nn.utils.skip_init``): build a module whose values will be overwritten."""

from __future__ import annotations

import inspect
from typing import Any

from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    """Instantiate ``module_cls(*args, **kwargs)`` for parameters and buffers that the caller will set.

    The checks are PyTorch's: ``module_cls`` must be an ``nn.Module`` subclass (else RuntimeError)
    and accept a ``device`` argument (else RuntimeError); ``device`` defaults to ``"cpu"``. PyTorch
    builds the module on its ``meta`` device and then allocates uninitialised memory; einframe
    has no meta device, so the module is simply built on ``device`` (its values are the default
    initialisation, which callers must treat as arbitrary, as with PyTorch's uninitialised memory).

    >>> from einframe import nn
    >>> m = nn.utils.skip_init(nn.Linear, 5, 1)
    >>> tuple(m.weight.shape), str(m.weight.device)
    ((1, 5), 'cpu')
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs["device"] = kwargs.pop("device", "cpu")
    return module_cls(*args, **kwargs)
