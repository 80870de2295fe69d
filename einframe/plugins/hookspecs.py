"""The plugin contract: hook specifications of the ``einframe`` pluggy project.

Every hook receives a ``register(name, obj, *, override=False)`` callback; the host owns the
registries and records which distribution registered what. Implement any subset of them, marking
each implementation with :data:`hookimpl`:

>>> import einframe as ef
>>> from einframe import nn
>>> class Swish(nn.Module):
...     def forward(self, x):
...         return x * x.sigmoid()
>>> @ef.hookimpl
... def register_layers(register):
...     register("Swish", Swish)

Rules for compatibility: arguments are only ever added to these specs, never removed, so a plugin
written against this version keeps working (:data:`API_VERSION` says which contract this is).
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

__all__ = ["hookimpl", "hookspec", "API_VERSION", "PROJECT", "GROUP"]

#: pluggy project name; also the entry-point group plugins declare (``[project.entry-points.einframe]``)
PROJECT = GROUP = "einframe"
#: version of the hook contract below
API_VERSION = "1.0"

hookspec = pluggy.HookspecMarker(PROJECT)
#: marker for plugin hook implementations (also ``einframe.hookimpl``)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[..., None]


@hookspec
def register_layers(register: Register) -> None:
    """Register layer classes (``nn.Module`` subclasses or factories returning a Module).

    ``register("Swish", Swish)`` makes ``ef.plugins.get("layers", "Swish")`` and
    ``ef.nn.build({"type": "Swish"})`` work.
    """


@hookspec
def register_initializers(register: Register) -> None:
    """Register initializers: ``fn(tensor, **options)`` filling ``tensor`` in place and returning it."""


@hookspec
def register_optimizers(register: Register) -> None:
    """Register optimizer classes: ``cls(params, **options)``, used by ``ef.optim.create(name, params)``."""


@hookspec
def register_hooks(register: Register) -> None:
    """Register named module hooks: ``attach(module, **options)`` returning a handle with ``remove()``.

    Used by ``module.attach_hook(name, **options)``.
    """


HOOK_FOR_KIND: dict[str, str] = {
    "layers": "register_layers",
    "initializers": "register_initializers",
    "optimizers": "register_optimizers",
    "hooks": "register_hooks",
}
