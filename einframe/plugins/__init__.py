"""``ef.plugins``: the plugin host (pluggy) and the registries of layers, initializers, optimizers
and named module hooks.

Nothing is loaded at ``import einframe``: the first lookup registers the built-ins and loads the
installed plugins (entry-point group ``einframe``), each distribution in isolation.

>>> import einframe as ef
>>> "Linear" in ef.plugins.names("layers")
True
>>> ef.plugins.get("layers", "Linear")
<class 'einframe.nn.modules.linear.Linear'>

Environment switches: ``EINFRAME_DISABLE_PLUGIN_AUTOLOAD=1`` (built-ins only),
``EINFRAME_PLUGINS=dist-a,dist-b`` (allow-list), ``EINFRAME_PLUGINS_STRICT=1`` (failures raise).
"""

from __future__ import annotations

from typing import Any

from .hookspecs import API_VERSION, GROUP, hookimpl, hookspec
from .manager import (
    ENV_ALLOW,
    ENV_DISABLE_AUTOLOAD,
    ENV_STRICT,
    KINDS,
    PluginConflictError,
    PluginError,
    PluginHost,
    PluginLoadError,
    PluginRecord,
    PluginReport,
    PluginWarning,
)

__all__ = [
    "hookimpl", "hookspec", "API_VERSION", "GROUP", "KINDS", "get", "names", "register", "unregister", "report",
    "load", "get_host", "reset", "PluginHost", "PluginRecord", "PluginReport", "PluginError", "PluginLoadError",
    "PluginConflictError", "PluginWarning", "ENV_DISABLE_AUTOLOAD", "ENV_ALLOW", "ENV_STRICT",
]  # fmt: skip

_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process-wide plugin host (created on first use; plugins load on the first lookup).

    >>> import einframe as ef
    >>> ef.plugins.get_host() is ef.plugins.get_host()
    True
    """
    global _host
    if _host is None:
        _host = PluginHost()
    return _host


def reset() -> None:
    """Forget the process-wide host: the next lookup re-reads the environment and reloads plugins.

    >>> import einframe as ef
    >>> ef.plugins.reset()
    >>> "ReLU" in ef.plugins.names("layers")
    True
    """
    global _host
    _host = None


def load() -> None:
    """Load the built-ins and installed plugins now (otherwise the first lookup does it).

    >>> import einframe as ef
    >>> ef.plugins.load()
    """
    get_host().load()


def get(kind: str, name: str) -> Any:
    """The object registered as ``name`` for ``kind`` (``layers``, ``initializers``, ``optimizers``, ``hooks``).

    An unknown name raises KeyError listing the registered names.

    >>> import einframe as ef
    >>> ef.plugins.get("hooks", "nan_check").__name__
    'nan_check'
    """
    return get_host().get(kind, name)


def names(kind: str) -> list[str]:
    """Sorted names registered for ``kind``.

    >>> import einframe as ef
    >>> [n for n in ef.plugins.names("hooks") if n in ("nan_check", "activation_stats")]
    ['activation_stats', 'nan_check']
    """
    return get_host().names(kind)


def register(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object (module, class or instance with ``@ef.hookimpl`` functions) at run time.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> class Square(nn.Module):
    ...     def forward(self, x):
    ...         return x * x
    >>> class SquarePlugin:
    ...     @ef.hookimpl
    ...     def register_layers(self, register):
    ...         register("Square", Square)
    >>> ef.plugins.register(SquarePlugin(), name="square")
    'square'
    >>> ef.nn.build({"type": "Square"})(ef.tensor([3.0]))
    tensor([9.])
    >>> ef.plugins.unregister("square")
    """
    return get_host().register(plugin, name)


def unregister(plugin: Any) -> None:
    """Remove a plugin (object or name) and everything it registered.

    >>> import einframe as ef
    >>> class P:
    ...     @ef.hookimpl
    ...     def register_hooks(self, register):
    ...         register("noop", lambda module, **kw: None)
    >>> name = ef.plugins.register(P(), name="p")
    >>> ef.plugins.unregister(name)
    >>> "noop" in ef.plugins.names("hooks")
    False
    """
    get_host().unregister(plugin)


def report() -> PluginReport:
    """A structured report: one record per distribution (version, status, what it registered, error).

    >>> import einframe as ef
    >>> rec = ef.plugins.report()["einframe"]
    >>> rec.status, "Linear" in rec.registered["layers"]
    ('loaded', True)
    """
    return get_host().report()
