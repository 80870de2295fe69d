"""The plugin host: discovers plugins through entry points, loads each distribution in isolation and
keeps the four registries (layers, initializers, optimizers, hooks).

Loading is lazy: nothing is imported until the first lookup. The built-in plugin is registered
first, through the same hooks; then every distribution that declares an entry point in the
``einframe`` group is loaded, sorted by name, one at a time. A distribution that fails to import,
to validate against the hook specs, or to register (a name already taken) is rolled back, reported
with a :class:`PluginWarning` naming it and its error, and skipped; the others load.

Environment switches (read when the registry is first used):

``EINFRAME_DISABLE_PLUGIN_AUTOLOAD=1``
    load no third-party plugin (the built-ins still load);
``EINFRAME_PLUGINS=a,b``
    allow-list: load only these distributions or entry-point names (empty: none);
``EINFRAME_PLUGINS_STRICT=1``
    a failing plugin raises :class:`PluginLoadError` instead of being skipped.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .hookspecs import HOOK_FOR_KIND

__all__ = [
    "KINDS", "PluginHost", "PluginRecord", "PluginReport", "PluginError", "PluginLoadError", "PluginConflictError",
    "PluginWarning", "ENV_DISABLE_AUTOLOAD", "ENV_ALLOW", "ENV_STRICT",
]  # fmt: skip

KINDS: tuple[str, ...] = tuple(HOOK_FOR_KIND)
ENV_DISABLE_AUTOLOAD = "EINFRAME_DISABLE_PLUGIN_AUTOLOAD"
ENV_ALLOW = "EINFRAME_PLUGINS"
ENV_STRICT = "EINFRAME_PLUGINS_STRICT"
BUILTIN = "einframe"


class PluginError(RuntimeError):
    """Base of the plugin host's errors."""


class PluginLoadError(PluginError):
    """A plugin failed to load (raised only in strict mode; otherwise it is a warning + report entry)."""


class PluginConflictError(PluginError):
    """Two plugins registered the same name for one kind; the message names both distributions."""


class PluginWarning(UserWarning):
    """A plugin failed to load and was skipped."""


def _truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "false", "no", "off")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class PluginRecord:
    """What happened to one plugin distribution (or one plugin object registered at run time)."""

    distribution: str
    version: str | None
    source: str  # "builtin" | "entry-point" | "runtime"
    status: str  # "loaded" | "failed" | "disabled"
    entry_points: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    plugin_names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "distribution": self.distribution, "version": self.version, "source": self.source, "status": self.status,
            "entry_points": list(self.entry_points), "registered": {k: list(v) for k, v in self.registered.items()},
            "hooks": list(self.hooks), "error": self.error,
        }  # fmt: skip


@dataclass
class PluginReport:
    """Structured report of the plugin host: one :class:`PluginRecord` per distribution.

    ``str(report)`` is the text ``python -m einframe plugins`` prints; ``to_dict()`` its ``--json``.
    """

    plugins: list[PluginRecord]
    autoload: bool
    allow_list: list[str] | None
    strict: bool

    @property
    def failed(self) -> list[PluginRecord]:
        """Records of the distributions that failed to load."""
        return [p for p in self.plugins if p.status == "failed"]

    def __getitem__(self, distribution: str) -> PluginRecord:
        for p in self.plugins:
            if _norm(p.distribution) == _norm(distribution):
                return p
        raise KeyError(f"no plugin distribution {distribution!r} in the report; known: {[p.distribution for p in self.plugins]}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "api_version": hookspecs.API_VERSION,
            "autoload": self.autoload,
            "allow_list": self.allow_list,
            "strict": self.strict,
            "plugins": [p.to_dict() for p in self.plugins],
        }

    def __str__(self) -> str:
        lines = []
        for p in self.plugins:
            head = f"{p.distribution} {p.version or '?'} [{p.source}] {p.status}"
            lines.append(head)
            if p.entry_points:
                label = "module" if p.source == "builtin" else "entry points"
                lines.append(f"  {label}: {', '.join(p.entry_points)}")
            for kind in KINDS:
                names = p.registered.get(kind)
                if names:
                    lines.append(f"  {kind} ({len(names)}): {', '.join(names)}")
            if p.error:
                lines.append(f"  error: {p.error}")
        notes = []
        if not self.autoload:
            notes.append(f"third-party plugins not loaded ({ENV_DISABLE_AUTOLOAD} is set)")
        if self.allow_list is not None:
            notes.append(f"allow-list {ENV_ALLOW}={','.join(self.allow_list)}")
        if self.strict:
            notes.append(f"strict mode ({ENV_STRICT} is set)")
        if notes:
            lines.append("note: " + "; ".join(notes))
        return "\n".join(lines)


@dataclass
class _Entry:
    obj: Any
    plugin: str  # pluggy name of the plugin that registered it
    distribution: str
    shadowed: _Entry | None = None


class PluginHost:
    """A plugin manager (pluggy) plus the registries it fills.

    ``autoload=None`` reads ``EINFRAME_DISABLE_PLUGIN_AUTOLOAD``; tests build a private host with
    ``PluginHost(autoload=False)`` so nothing installed leaks in.

    >>> from einframe.plugins import PluginHost, hookimpl
    >>> host = PluginHost(autoload=False)
    >>> class MyPlugin:
    ...     @hookimpl
    ...     def register_initializers(self, register):
    ...         register("halves_", lambda t: t.fill_(0.5))
    >>> host.register(MyPlugin(), name="my-plugin")
    'my-plugin'
    >>> "halves_" in host.names("initializers")
    True
    """

    def __init__(self, *, autoload: bool | None = None, builtins: bool = True, group: str = hookspecs.GROUP) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.group = group
        self._autoload_arg = autoload
        self._builtins = builtins
        self._registry: dict[str, dict[str, _Entry]] = {k: {} for k in KINDS}
        self._records: list[PluginRecord] = []
        self._loaded = False
        self._loading = False
        self.autoload = True
        self.allow_list: list[str] | None = None
        self.strict = False

    # ---- loading ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Register the built-ins and discover entry-point plugins (once; later calls do nothing)."""
        if self._loaded or self._loading:
            return
        self._loading = True
        try:
            self.autoload = (
                (not _truthy(os.environ.get(ENV_DISABLE_AUTOLOAD))) if self._autoload_arg is None else self._autoload_arg
            )
            allow = os.environ.get(ENV_ALLOW)
            self.allow_list = None if allow is None else [a.strip() for a in allow.split(",") if a.strip()]
            self.strict = _truthy(os.environ.get(ENV_STRICT))
            if self._builtins:
                from . import builtin

                version = _einframe_version()
                record = PluginRecord(BUILTIN, version, "builtin", "loaded", ["einframe.plugins.builtin"])
                self._add_plugin(builtin, BUILTIN, BUILTIN, record)
                self._records.append(record)
            self._discover()
            self._loaded = True
        finally:
            self._loading = False

    def _discover(self) -> None:
        try:
            eps = importlib.metadata.entry_points(group=self.group)
        except Exception as e:  # noqa: BLE001 - broken metadata must not break einframe
            warnings.warn(f"einframe: could not scan entry points of group {self.group!r}: {e}", PluginWarning, stacklevel=3)
            return
        by_dist: dict[str, tuple[Any, list]] = {}
        for ep in eps:
            dist = getattr(ep, "dist", None)
            dname = (dist.metadata["Name"] if dist is not None else None) or f"<unknown distribution of {ep.value}>"
            by_dist.setdefault(_norm(dname), (dist, []))[1].append(ep)
        allowed = None if self.allow_list is None else {_norm(a) for a in self.allow_list}
        for key in sorted(by_dist):
            dist, entry_points = by_dist[key]
            entry_points.sort(key=lambda e: e.name)
            dname = dist.metadata["Name"] if dist is not None else key
            version = dist.version if dist is not None else None
            ep_strs = [f"{e.name} = {e.value}" for e in entry_points]
            record = PluginRecord(dname, version, "entry-point", "loaded", ep_strs)
            if not self.autoload:
                record.status, record.error = "disabled", f"{ENV_DISABLE_AUTOLOAD} is set"
                self._records.append(record)
                continue
            if allowed is not None and key not in allowed and not any(_norm(e.name) in allowed for e in entry_points):
                record.status, record.error = "disabled", f"not in {ENV_ALLOW}"
                self._records.append(record)
                continue
            self._records.append(record)
            done: list[str] = []
            try:
                for ep in entry_points:
                    plugin = ep.load()
                    pname = ep.name if not self.pm.has_plugin(ep.name) else f"{dname}:{ep.name}"
                    self._add_plugin(plugin, pname, dname, record)
                    done.append(pname)
            except Exception as e:  # noqa: BLE001 - isolation: one broken plugin must not break the rest
                for pname in done:
                    self._remove_plugin(pname)
                record.status = "failed"
                record.error = f"{type(e).__name__}: {e}"
                record.registered = {}
                record.hooks = []
                if self.strict:
                    raise PluginLoadError(
                        f"einframe plugin distribution {dname!r} ({version}) failed to load: {record.error}"
                    ) from e
                warnings.warn(
                    f"einframe plugin distribution {dname!r} ({version}) failed to load and was skipped: {record.error} "
                    f"(set {ENV_STRICT}=1 to make this an error, or leave it out with {ENV_ALLOW})",
                    PluginWarning,
                    stacklevel=4,
                )

    def _add_plugin(self, plugin: Any, pname: str, dist: str, record: PluginRecord) -> None:
        """Register one plugin object atomically: validate, call its hooks, then commit its names."""
        self.pm.register(plugin, name=pname)  # validates hookimpl signatures against the specs
        try:
            self._check_unknown_hooks(plugin, pname)
            others = [p for p in self.pm.get_plugins() if p is not plugin]
            staged: dict[str, dict[str, _Entry]] = {k: {} for k in KINDS}
            for kind, hook_name in HOOK_FOR_KIND.items():
                caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
                caller(register=self._make_register(kind, pname, dist, staged))
        except Exception:
            self.pm.unregister(name=pname)
            raise
        for kind, entries in staged.items():
            for name, entry in entries.items():
                entry.shadowed = self._registry[kind].get(name)
                self._registry[kind][name] = entry
                record.registered.setdefault(kind, []).append(name)
        hooks = sorted(hc.name for hc in (self.pm.get_hookcallers(plugin) or []))
        record.hooks = sorted(set(record.hooks) | set(hooks))
        record.plugin_names.append(pname)

    def _check_unknown_hooks(self, plugin: Any, pname: str) -> None:
        for hc in self.pm.get_hookcallers(plugin) or []:
            if hc.has_spec():
                continue
            for impl in hc.get_hookimpls():
                if impl.plugin is plugin and not impl.optionalhook:
                    raise pluggy.PluginValidationError(
                        plugin,
                        f"plugin {pname!r} implements unknown hook {hc.name!r}; einframe's hooks are "
                        f"{', '.join(HOOK_FOR_KIND.values())} (a typo?)",
                    )

    def _make_register(self, kind: str, pname: str, dist: str, staged: dict) -> Callable[..., None]:
        singular = kind[:-1]

        def register(name: str, obj: Any, *, override: bool = False) -> None:
            if not isinstance(name, str) or not name:
                raise TypeError(f"register(name, obj): the name of a {singular} must be a non-empty string, got {name!r}")
            if obj is None or not callable(obj):
                raise TypeError(
                    f"register({name!r}, obj): a {singular} must be callable (a class or a function), got {type(obj).__name__}"
                )
            if name in staged[kind]:
                raise PluginConflictError(f"{singular} {name!r} is registered twice by {dist!r}")
            existing = self._registry[kind].get(name)
            if existing is not None and existing.obj is not obj and not override:
                raise PluginConflictError(
                    f"{singular} {name!r} is registered by both {existing.distribution!r} and {dist!r}; "
                    f"uninstall one of them, leave one out with {ENV_ALLOW}=..., or (in the plugin) pass "
                    f"register({name!r}, obj, override=True) to replace it on purpose"
                )
            staged[kind][name] = _Entry(obj, pname, dist)

        return register

    def _remove_plugin(self, pname: str) -> None:
        if self.pm.has_plugin(pname):
            self.pm.unregister(name=pname)
        for reg in self._registry.values():
            for name in [n for n, e in reg.items() if e.plugin == pname]:
                entry = reg.pop(name)
                prev = entry.shadowed
                while prev is not None and prev.plugin == pname:
                    prev = prev.shadowed
                if prev is not None:
                    reg[name] = prev
            for entry in reg.values():  # unlink it from override chains
                e = entry
                while e.shadowed is not None:
                    if e.shadowed.plugin == pname:
                        e.shadowed = e.shadowed.shadowed
                    else:
                        e = e.shadowed

    # ---- public API ------------------------------------------------------------------------------
    def get(self, kind: str, name: str) -> Any:
        """The object registered as ``name`` for ``kind`` (KeyError lists the registered names)."""
        reg = self._kind(kind)
        entry = reg.get(name)
        if entry is None:
            names = sorted(reg)
            close = [n for n in names if n.lower() == str(name).lower()]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"no {kind[:-1]} named {name!r}.{hint} Registered {kind}: {', '.join(names) or '(none)'}")
        return entry.obj

    def names(self, kind: str) -> list[str]:
        """Sorted names registered for ``kind``."""
        return sorted(self._kind(kind))

    def source(self, kind: str, name: str) -> str:
        """The distribution that registered ``name``."""
        self.get(kind, name)
        return self._registry[kind][name].distribution

    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register a plugin object (a module, class or instance with ``@hookimpl`` methods) now.

        Its registrations are checked like an installed plugin's; a conflict raises
        :class:`PluginConflictError` and leaves nothing registered. Returns the plugin's name.
        """
        self.load()
        pname = name or getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{id(plugin):x}"
        if self.pm.has_plugin(pname):
            raise ValueError(f"a plugin named {pname!r} is already registered; pass another name=")
        record = PluginRecord(pname, getattr(plugin, "__version__", None), "runtime", "loaded")
        self._add_plugin(plugin, pname, pname, record)
        self._records.append(record)
        return pname

    def unregister(self, plugin: Any) -> None:
        """Remove a plugin (object or name) and everything it registered; built-ins it replaced come back."""
        self.load()
        if isinstance(plugin, str):
            pname = plugin
        else:
            pname = self.pm.get_name(plugin)
        if pname is None or not self.pm.has_plugin(pname):
            raise ValueError(
                f"plugin {plugin!r} is not registered; registered: {sorted(n for n, _ in self.pm.list_name_plugin())}"
            )
        self._remove_plugin(pname)
        for rec in list(self._records):
            if pname in rec.plugin_names:
                rec.plugin_names.remove(pname)
                if not rec.plugin_names:
                    self._records.remove(rec)

    def report(self) -> PluginReport:
        """What loaded, what failed and what each distribution registered."""
        self.load()
        return PluginReport(list(self._records), self.autoload, self.allow_list, self.strict)

    def _kind(self, kind: str) -> dict[str, _Entry]:
        if kind not in self._registry:
            raise ValueError(f"unknown registry kind {kind!r}: expected one of {', '.join(KINDS)}")
        self.load()
        return self._registry[kind]


def _einframe_version() -> str:
    from .. import __version__

    return __version__
