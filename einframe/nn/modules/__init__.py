"""Every layer class of ``einframe.nn``, one file per family.

The built-in plugin registers every name in :data:`__all__` that is a Module subclass as a layer,
so a layer added here (and to ``__all__``) is automatically available to ``ef.nn.build`` and
``ef.plugins.get("layers", ...)``.
"""

from .activation import ReLU
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .flatten import Flatten, Unflatten
from .lazy import LazyModuleMixin
from .linear import Identity, LazyLinear, Linear
from .loss import MSELoss
from .module import Module

__all__ = [
    "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "LazyModuleMixin",
    "Identity", "Linear", "LazyLinear", "ReLU", "Flatten", "Unflatten", "MSELoss",
]  # fmt: skip
