"""``nn.Module``: the base class of every layer and model, with PyTorch's registration, traversal,
state_dict, device/dtype conversion and hook semantics.

Attribute routing is the heart of it: assigning a :class:`~einframe.nn.Parameter` registers it in
``_parameters``, assigning a Module registers it in ``_modules``, assigning a tensor to a buffer
name updates ``_buffers``; everything else is a plain attribute. Modules stored inside a plain
``dict``/``list`` attribute are therefore *not* registered (use ``nn.ModuleDict``/``nn.ModuleList``,
``add_module`` or ``setattr``).

Per-call hooks live in ordered dicts and are plain Python calls (pluggy is only used to discover
named hooks, see :meth:`Module.attach_hook`).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(4, 2)
    ...         self.output = nn.Linear(2, 3)
    ...
    ...     def forward(self, x):
    ...         return self.output(self.hidden(x).relu())
    >>> net = MLP()
    >>> list(net.state_dict())
    ['hidden.weight', 'hidden.bias', 'output.weight', 'output.bias']
    >>> net(ef.randn(2, 4)).shape
    einframe.Size([2, 3])
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from ... import dtypes as _dt
from ...autograd.grad_mode import no_grad
from ...autograd.graph import RemovableHandle
from ...backend import device as _device_cls
from ...tensor import Tensor, zero_grads
from ..parameter import Parameter, is_lazy

__all__ = [
    "Module",
    "register_module_forward_pre_hook",
    "register_module_forward_hook",
    "register_module_full_backward_pre_hook",
    "register_module_full_backward_hook",
]

T = TypeVar("T", bound="Module")

# ------------------------------------------------------------------------------------------------
# global module hooks (run for every module, before the module's own hooks)

_global_forward_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_forward_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_forward_hooks_with_kwargs: dict[int, bool] = {}
_global_forward_hooks_always_called: dict[int, bool] = {}
_global_backward_pre_hooks: OrderedDict[int, Callable] = OrderedDict()
_global_backward_hooks: OrderedDict[int, Callable] = OrderedDict()


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """Run ``hook(module, args)`` before the ``forward`` of EVERY module (global, as in PyTorch).

    Examples:
        >>> import einframe as ef
        >>> from einframe import nn
        >>> from einframe.nn.modules.module import register_module_forward_pre_hook
        >>> seen = []
        >>> h = register_module_forward_pre_hook(lambda m, args: seen.append(type(m).__name__))
        >>> _ = nn.Sequential(nn.ReLU())(ef.ones(1))
        >>> h.remove()
        >>> seen
        ['Sequential', 'ReLU']
    """
    return RemovableHandle(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook: Callable, *, with_kwargs: bool = False, always_call: bool = False) -> RemovableHandle:
    """Run ``hook(module, args, output)`` after the ``forward`` of EVERY module (global).

    Examples:
        >>> import einframe as ef
        >>> from einframe import nn
        >>> from einframe.nn.modules.module import register_module_forward_hook
        >>> with register_module_forward_hook(lambda m, a, out: out * 0):
        ...     nn.Identity()(ef.ones(2))
        tensor([0., 0.])
    """
    h = RemovableHandle(_global_forward_hooks, hook, _global_forward_hooks_with_kwargs, _global_forward_hooks_always_called)
    if with_kwargs:
        _global_forward_hooks_with_kwargs[h.id] = True
    if always_call:
        _global_forward_hooks_always_called[h.id] = True
    return h


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """Run ``hook(module, grad_output)`` in backward for EVERY module (global).

    Examples:
        >>> import einframe as ef
        >>> from einframe import nn
        >>> from einframe.nn.modules.module import register_module_full_backward_pre_hook
        >>> seen = []
        >>> with register_module_full_backward_pre_hook(lambda m, g: seen.append(type(m).__name__)):
        ...     nn.Linear(2, 1)(ef.ones(2)).sum().backward()
        >>> seen
        ['Linear']
    """
    return RemovableHandle(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """Run ``hook(module, grad_input, grad_output)`` in backward for EVERY module (global).

    Examples:
        >>> import einframe as ef
        >>> from einframe import nn
        >>> from einframe.nn.modules.module import register_module_full_backward_hook
        >>> seen = []
        >>> x = ef.ones(2, requires_grad=True)
        >>> with register_module_full_backward_hook(lambda m, gi, go: seen.append(gi[0].shape)):
        ...     nn.Linear(2, 1)(x).sum().backward()
        >>> seen
        [einframe.Size([2])]
    """
    return RemovableHandle(_global_backward_hooks, hook)


# ------------------------------------------------------------------------------------------------
# helpers


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: ``(missing_keys, unexpected_keys)``."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s_: str, num_spaces: int) -> str:
    lines = s_.split("\n")
    if len(lines) == 1:
        return s_
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


def _typename(v: Any) -> str:
    if isinstance(v, Tensor):
        return "einframe.nn.Parameter" if isinstance(v, Parameter) else "einframe.Tensor"
    mod = type(v).__module__
    return type(v).__qualname__ if mod in (None, "builtins") else f"{mod}.{type(v).__qualname__}"


def _forward_unimplemented(self, *input: Any) -> None:
    raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')


class _CallDepth(threading.local):
    n = 0


_depth = _CallDepth()


def _name_error(exc: BaseException, module: Module) -> None:
    """Record ``module`` on the exception's path; at the outermost call, prefix the message."""
    chain = exc.__dict__.setdefault("_ef_modules", [])
    if not chain or chain[-1] is not module:
        chain.append(module)
    if _depth.n != 1 or exc.__dict__.get("_ef_named") or len(chain) < 2:
        return
    exc._ef_named = True
    parts = []
    for child, parent in zip(reversed(chain[:-1]), reversed(chain[1:])):
        rel = next((n for n, m in parent.named_modules(remove_duplicate=False) if m is child and n), None)
        parts.append(rel if rel is not None else f"<{type(child).__name__}>")
    path = ".".join(parts)
    exc.module_path = path
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{path} ({type(chain[0]).__name__}): {exc.args[0]}", *exc.args[1:])


class _BackwardHook:
    """Per-call state of full backward hooks (PyTorch's ``BackwardHook``): wraps inputs and outputs."""

    def __init__(self, module: Module, hooks: list[Callable], pre_hooks: list[Callable]):
        self.module = module
        self.hooks = hooks
        self.pre_hooks = pre_hooks
        self.n_inputs = 0
        self.input_node = None
        self.grad_outputs = None

    def setup_input_hook(self, args: tuple) -> tuple:
        from ...ops.hooks import BackwardHookFunction

        pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(pos)
        self.input_rg = [args[i]._rg for i in pos]
        if not self.hooks or not any(self.input_rg):
            return args
        outs, node = BackwardHookFunction.apply([args[i] for i in pos])
        if node is None:
            return args
        self.input_node = node
        node.register_prehook(self._on_grad_input)
        new = list(args)
        for i, o in zip(pos, outs):
            new[i] = o
        return tuple(new)

    def setup_output_hook(self, result: Any) -> Any:
        from ...ops.hooks import BackwardHookFunction

        if isinstance(result, Tensor):
            outs, node = BackwardHookFunction.apply([result])
            if node is not None:
                node.register_prehook(self._on_grad_output)
                return outs[0]
            return result
        if isinstance(result, (tuple, list)):
            pos = [i for i, r in enumerate(result) if isinstance(r, Tensor)]
            if not pos:
                return result
            outs, node = BackwardHookFunction.apply([result[i] for i in pos])
            if node is None:
                return result
            node.register_prehook(self._on_grad_output)
            new = list(result)
            for i, o in zip(pos, outs):
                new[i] = o
            return type(result)(new) if isinstance(result, list) else tuple(new)
        return result

    def _on_grad_output(self, grad_outputs: tuple) -> tuple:
        for hook in self.pre_hooks:
            r = hook(self.module, grad_outputs)
            if r is not None:
                r = (r,) if isinstance(r, Tensor) else tuple(r)
                if len(r) != len(grad_outputs):
                    raise RuntimeError(
                        f"backward pre hook returned {len(r)} gradients for {len(grad_outputs)} outputs of "
                        f"{type(self.module).__name__}: return one gradient (or None) per output"
                    )
                grad_outputs = r
        self.grad_outputs = grad_outputs
        if self.input_node is None and self.hooks:  # no input needs grad: the hooks run now
            grad_inputs = (None,) * self.n_inputs
            for hook in self.hooks:
                r = hook(self.module, grad_inputs, grad_outputs)
                if r is not None and any(g is not None for g in r):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should always return None or None for all gradients."
                    )
        return grad_outputs

    def _on_grad_input(self, grads: tuple) -> tuple:
        # grads: one per tensor argument (None where it does not require grad)
        grad_inputs = tuple(grads)
        for hook in self.hooks:
            r = hook(self.module, grad_inputs, self.grad_outputs)
            if r is not None:
                r = (r,) if isinstance(r, Tensor) else tuple(r)
                if len(r) != len(grad_inputs):
                    raise RuntimeError(
                        f"backward hook returned {len(r)} gradients but {type(self.module).__name__} has "
                        f"{len(grad_inputs)} tensor inputs: return one gradient (or None) per input"
                    )
                grad_inputs = r
        return grad_inputs


def _parse_to(*args: Any, **kwargs: Any):
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    non_blocking = kwargs.pop("non_blocking", False)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dev, dtype = a.device, a.dtype
        elif isinstance(a, (str, _device_cls)):
            dev = a
        elif isinstance(a, int) and not isinstance(a, bool):
            dev = f"cuda:{a}"
        elif isinstance(a, bool):
            non_blocking = a
        else:
            dtype = a
    if dtype is not None:
        dtype = _dt.from_numpy_dtype(_dt.to_numpy_dtype(dtype))
    return dev, dtype, non_blocking


# ------------------------------------------------------------------------------------------------


class Module:
    """Base class for all neural network modules (PyTorch's ``nn.Module``).

    Subclasses call ``super().__init__()`` first, assign parameters and submodules as attributes,
    and define ``forward``. Calling the module runs its hooks around ``forward``.

        >>> import einframe as ef
        >>> from einframe import nn
        >>> class Scale(nn.Module):
        ...     def __init__(self, n):
        ...         super().__init__()
        ...         self.w = nn.Parameter(ef.ones(n))
        ...
        ...     def forward(self, x):
        ...         return x * self.w
        >>> m = Scale(3)
        >>> [name for name, _ in m.named_parameters()]
        ['w']
        >>> m(ef.ones(3))
        tensor([1., 1., 1.], grad_fn=<MulBackward>)
    """

    dump_patches: bool = False
    _version: int = 1
    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _modules: dict[str, Module | None]
    call_super_init: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if self.call_super_init is False and (args or kwargs):
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments: Module.__init__() takes no arguments; "
                f"pass them to your subclass instead"
            )
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers_set", set())
        setattr_(self, "_backward_pre_hooks", OrderedDict())
        setattr_(self, "_backward_hooks", OrderedDict())
        setattr_(self, "_forward_hooks", OrderedDict())
        setattr_(self, "_forward_hooks_with_kwargs", {})
        setattr_(self, "_forward_hooks_always_called", {})
        setattr_(self, "_forward_pre_hooks", OrderedDict())
        setattr_(self, "_forward_pre_hooks_with_kwargs", {})
        setattr_(self, "_state_dict_hooks", OrderedDict())
        setattr_(self, "_load_state_dict_pre_hooks", OrderedDict())
        setattr_(self, "_load_state_dict_post_hooks", OrderedDict())
        setattr_(self, "_modules", {})
        if self.call_super_init:
            super().__init__(*args, **kwargs)

    forward: Callable[..., Any] = _forward_unimplemented

    # ---- registration ---------------------------------------------------------------------------
    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer: state that is not a parameter (running statistics, masks, constants).

        Persistent buffers are part of ``state_dict``; all buffers move with ``to()``.

            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Module()
            >>> m.register_buffer("running_mean", ef.zeros(3))
            >>> m.register_buffer("scratch", ef.zeros(1), persistent=False)
            >>> list(m.state_dict())
            ['running_mean']
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' (einframe.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (``None`` is allowed and reserves the name, like ``Linear(bias=False)``).

        Examples:
            >>> from einframe import nn
            >>> import einframe as ef
            >>> m = nn.Module()
            >>> m.register_parameter("w", nn.Parameter(ef.zeros(2)))
            >>> m.register_parameter("b", None)
            >>> [n for n, _ in m.named_parameters()]
            ['w']
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' (einframe.nn.Parameter or None required)"
            )
        elif param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be created explicitly. "
                f"To express '{name}' as a function of another Tensor, compute the value in the forward() method."
            )
        else:
            self._parameters[name] = param

    @staticmethod
    def _check_name(name: Any, what: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string. Got {type(name).__name__}")
        if "." in name:
            raise KeyError(f'{what} name can\'t contain ".", got "{name}"')
        if name == "":
            raise KeyError(f'{what} name can\'t be empty string ""')

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module (same as ``setattr(self, name, module)``, but any string name works).

        Examples:
            >>> from einframe import nn
            >>> net = nn.Sequential()
            >>> net.add_module("block 0", nn.ReLU())
            >>> net
            Sequential(
              (block 0): ReLU()
            )
        """
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_name(name, "module")
        if "_modules" not in self.__dict__:
            raise AttributeError("cannot assign module before Module.__init__() call")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    def register_module(self, name: str, module: Module | None) -> None:
        """Alias of :meth:`add_module`.

        Examples:
            >>> from einframe import nn
            >>> m = nn.Module()
            >>> m.register_module("act", nn.ReLU())
            >>> m.act
            ReLU()
        """
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The submodule at dotted path ``target`` (``""`` is the module itself).

        Examples:
            >>> from einframe import nn
            >>> net = nn.Sequential(nn.Sequential(nn.Linear(2, 2)))
            >>> net.get_submodule("0.0")
            Linear(in_features=2, out_features=2, bias=True)
        """
        if target == "":
            return self
        mod: Module = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target``.

        Examples:
            >>> from einframe import nn
            >>> nn.Sequential(nn.Linear(2, 3)).get_parameter("0.bias").shape
            einframe.Size([3])
        """
        module_path, _, param_name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, param_name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{param_name}`")
        param = getattr(mod, param_name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{param_name}` is not an nn.Parameter")
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target``.

        Examples:
            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Sequential(nn.Module())
            >>> m[0].register_buffer("steps", ef.zeros(1))
            >>> m.get_buffer("0.steps")
            tensor([0.])
        """
        module_path, _, buffer_name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, buffer_name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{buffer_name}`")
        if buffer_name not in mod._buffers:
            raise AttributeError(f"`{buffer_name}` is not a buffer")
        return getattr(mod, buffer_name)

    def get_extra_state(self) -> Any:
        """Override (with :meth:`set_extra_state`) to save extra non-tensor state in ``state_dict``."""
        raise RuntimeError(
            "Reached a code path in Module.get_extra_state() that should never be called; override "
            "get_extra_state() and set_extra_state() together in your module"
        )

    def set_extra_state(self, state: Any) -> None:
        """Restore what :meth:`get_extra_state` returned."""
        raise RuntimeError(
            "Reached a code path in Module.set_extra_state() that should never be called; override "
            "get_extra_state() and set_extra_state() together in your module"
        )

    # ---- attribute routing ----------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if "_parameters" in d:
            params = d["_parameters"]
            if name in params:
                return params[name]
        if "_buffers" in d:
            buffers = d["_buffers"]
            if name in buffers:
                return buffers[name]
        if "_modules" in d:
            modules = d["_modules"]
            if name in modules:
                return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        def remove_from(*dicts_or_sets):
            for d in dicts_or_sets:
                if name in d:
                    if isinstance(d, dict):
                        del d[name]
                    else:
                        d.discard(name)

        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            remove_from(d, self._buffers, self._modules, self._non_persistent_buffers_set)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' (einframe.nn.Parameter or None expected)"
                )
            self.register_parameter(name, value)
        else:
            modules = d.get("_modules")
            if isinstance(value, Module):
                if modules is None:
                    raise AttributeError("cannot assign module before Module.__init__() call")
                remove_from(d, self._parameters, self._buffers, self._non_persistent_buffers_set)
                modules[name] = value
            elif modules is not None and name in modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign '{_typename(value)}' as child module '{name}' (einframe.nn.Module or None expected)"
                    )
                modules[name] = value
            else:
                buffers = d.get("_buffers")
                if buffers is not None and name in buffers:
                    if value is not None and not isinstance(value, Tensor):
                        raise TypeError(
                            f"cannot assign '{_typename(value)}' as buffer '{name}' (einframe.Tensor or None expected)"
                        )
                    buffers[name] = value
                else:
                    object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        module_attrs = dir(self.__class__)
        attrs = list(self.__dict__.keys())
        keys = module_attrs + attrs + list(self._parameters) + list(self._modules) + list(self._buffers)
        keys = [k for k in keys if not k[0].isdigit()]
        return sorted(set(keys))

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        for name in ("_forward_pre_hooks", "_forward_hooks", "_backward_hooks", "_backward_pre_hooks", "_state_dict_hooks",
                     "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks"):  # fmt: skip
            self.__dict__.setdefault(name, OrderedDict())
        for name in ("_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs"):
            self.__dict__.setdefault(name, {})
        self.__dict__.setdefault("_non_persistent_buffers_set", set())

    # ---- traversal ------------------------------------------------------------------------------
    def _named_members(self, get_members_fn, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        memo: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members_fn(module):
                if v is None or id(v) in memo:
                    continue
                if remove_duplicate:
                    memo.add(id(v))
                yield module_prefix + ("." if module_prefix else "") + k, v

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter (of submodules too, when ``recurse``); a shared parameter once.

        Examples:
            >>> from einframe import nn
            >>> sum(p.numel() for p in nn.Linear(4, 8).parameters())
            40
        """
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs; a shared parameter is listed once.

        Examples:
            >>> from einframe import nn
            >>> [(n, tuple(p.shape)) for n, p in nn.Sequential(nn.Linear(4, 8)).named_parameters()]
            [('0.weight', (8, 4)), ('0.bias', (8,))]
        """
        yield from self._named_members(
            lambda m: m._parameters.items(), prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate
        )

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer (of submodules too, when ``recurse``).

        Examples:
            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Module()
            >>> m.register_buffer("b", ef.ones(1))
            >>> list(m.buffers())
            [tensor([1.])]
        """
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """``(dotted name, buffer)`` pairs.

        Examples:
            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Sequential(nn.Module())
            >>> m[0].register_buffer("b", ef.ones(1))
            >>> [n for n, _ in m.named_buffers()]
            ['0.b']
        """
        yield from self._named_members(
            lambda m: m._buffers.items(), prefix=prefix, recurse=recurse, remove_duplicate=remove_duplicate
        )

    def children(self) -> Iterator[Module]:
        """The direct submodules.

        Examples:
            >>> from einframe import nn
            >>> list(nn.Sequential(nn.ReLU(), nn.Identity()).children())
            [ReLU(), Identity()]
        """
        for _, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, submodule)`` for the direct submodules (each module once).

        Examples:
            >>> from einframe import nn
            >>> [n for n, _ in nn.Sequential(nn.ReLU(), nn.Identity()).named_children()]
            ['0', '1']
        """
        memo: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, depth first (each once).

        Examples:
            >>> from einframe import nn
            >>> l = nn.Linear(2, 2)
            >>> [type(m).__name__ for m in nn.Sequential(l, l).modules()]
            ['Sequential', 'Linear']
        """
        for _, module in self.named_modules():
            yield module

    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module (name ``prefix``) and every submodule.

        Examples:
            >>> from einframe import nn
            >>> [n for n, _ in nn.Sequential(nn.Sequential(nn.ReLU())).named_modules()]
            ['', '0', '0.0']
        """
        if memo is None:
            memo = set()
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    # ---- state_dict -----------------------------------------------------------------------------
    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars or is_lazy(param) else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars or is_lazy(buf) else buf.detach()
        if type(self).get_extra_state is not Module.get_extra_state:
            destination[prefix + "_extra_state"] = self.get_extra_state()

    def state_dict(
        self, *args: Any, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> dict[str, Any]:
        """An ordered dict of every parameter and persistent buffer, keyed by dotted name.

        Values are detached tensors sharing memory with the module (``keep_vars=True`` keeps the
        Parameters themselves).

            >>> from einframe import nn
            >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
            >>> list(net.state_dict())
            ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        if args:  # PyTorch's deprecated positional form: state_dict(destination, prefix, keep_vars)
            if len(args) > 3:
                raise TypeError(f"state_dict() takes at most 3 positional arguments ({len(args)} given)")
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            r = hook(self, destination, prefix, {})
            if r is not None:
                destination = r
        return destination

    def _register_state_dict_hook(self, hook: Callable) -> RemovableHandle:
        return RemovableHandle(self._state_dict_hooks, hook)

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> RemovableHandle:
        """Run ``hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)``
        (with the module first when ``with_module``) before this module loads its entries; the hook may
        rename keys of ``state_dict`` in place (used by ``parametrizations.weight_norm``)."""
        if with_module:
            hook = functools.partial(hook, self)
        return RemovableHandle(self._load_state_dict_pre_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
        error_msgs)`` before ``load_state_dict`` loads this module's entries (it may edit ``state_dict``)."""
        return self._register_load_state_dict_pre_hook(hook, with_module=True)

    def register_load_state_dict_post_hook(self, hook: Callable) -> RemovableHandle:
        """Run ``hook(module, incompatible_keys)`` after ``load_state_dict`` loaded this module."""
        return RemovableHandle(self._load_state_dict_post_hooks, hook)

    def _load_from_state_dict(
        self, state_dict: Mapping, prefix: str, local_metadata: dict, strict: bool, missing_keys: list, unexpected_keys: list,
        error_msgs: list, assign: bool = False,
    ) -> None:  # fmt: skip
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        persistent = {k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set}
        local_state = {k: v for k, v in itertools.chain(self._parameters.items(), persistent.items()) if v is not None}
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            input_param = state_dict[key]
            if not isinstance(input_param, Tensor):
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected einframe.Tensor from checkpoint but received {type(input_param)}'
                )
                continue
            if is_lazy(input_param):
                error_msgs.append(f'While copying the parameter named "{key}", the checkpoint holds an uninitialized parameter')
                continue
            if not is_lazy(param) and tuple(input_param.shape) != tuple(param.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {input_param.shape} from checkpoint, "
                    f"the shape in current model is {param.shape}."
                )
                continue
            try:
                with no_grad():
                    if assign:
                        if isinstance(param, Parameter):
                            new = (
                                input_param
                                if isinstance(input_param, Parameter)
                                else Parameter(input_param, requires_grad=param.requires_grad)
                            )
                            setattr(self, name, new)
                        else:
                            setattr(self, name, input_param)
                    else:
                        param.copy_(input_param)
            except Exception as ex:  # noqa: BLE001 - reported with the key, as PyTorch does
                error_msgs.append(
                    f'While copying the parameter named "{key}", whose dimensions in the model are {param.size()} and whose '
                    f"dimensions in the checkpoint are {input_param.size()}, an exception occurred : {ex.args}."
                )
        extra_state_key = prefix + "_extra_state"
        if type(self).set_extra_state is not Module.set_extra_state:
            if extra_state_key in state_dict:
                self.set_extra_state(state_dict[extra_state_key])
            elif strict:
                missing_keys.append(extra_state_key)
        elif strict and extra_state_key in state_dict:
            unexpected_keys.append(extra_state_key)
        if strict:
            for key in state_dict:
                if key.startswith(prefix) and key != extra_state_key:
                    input_name = key[len(prefix) :].split(".", 1)[0]
                    if input_name not in self._modules and input_name not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> _IncompatibleKeys:
        """Copy parameters and buffers from ``state_dict`` into this module, in place.

        The tensors keep their identity (an optimizer holding them keeps working). With
        ``strict=True`` (default), missing or unexpected keys raise RuntimeError; shape mismatches
        always raise. Returns ``(missing_keys, unexpected_keys)``.

            >>> from einframe import nn
            >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
            >>> b.load_state_dict(a.state_dict())
            <All keys matched successfully>
            >>> bool((a.weight == b.weight).all())
            True
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys: list[str] = []
        unexpected_keys: list[str] = []
        error_msgs: list[str] = []
        state_dict = OrderedDict(state_dict)

        def load(module: Module, local_state_dict: Mapping, prefix: str = "") -> None:
            module._load_from_state_dict(local_state_dict, prefix, {}, True, missing_keys, unexpected_keys, error_msgs, assign)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_sd = {k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)}
                    load(child, child_sd, child_prefix)
            incompatible = _IncompatibleKeys(missing_keys, unexpected_keys)
            for hook in module._load_state_dict_post_hooks.values():
                hook(module, incompatible)

        load(self, state_dict)
        if strict:
            if unexpected_keys:
                error_msgs.insert(0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected_keys)))
            if missing_keys:
                error_msgs.insert(0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing_keys)))
        if error_msgs:
            raise RuntimeError(
                "Error(s) in loading state_dict for {}:\n\t{}".format(self.__class__.__name__, "\n\t".join(error_msgs))
            )
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # ---- apply / conversion / mode --------------------------------------------------------------
    def _apply(self: T, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> T:
        """Apply ``fn`` to every parameter (in place: the Parameter objects are kept), grad and buffer."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        for param in self._parameters.values():
            if param is None:
                continue
            if is_lazy(param):
                _apply_lazy(param, fn)
                continue
            with no_grad():
                applied = fn(param)
            param.data = applied
            if param.grad is not None:
                with no_grad():
                    g = fn(param.grad)
                param.grad.data = g
        for key, buf in self._buffers.items():
            if buf is None:
                continue
            if is_lazy(buf):
                _apply_lazy(buf, fn)
                continue
            with no_grad():
                self._buffers[key] = fn(buf)
        return self

    def apply(self: T, fn: Callable[[Module], None]) -> T:
        """Call ``fn(module)`` on every submodule (children first) and then on ``self``.

        The classic use is initialisation:

            >>> import einframe as ef
            >>> from einframe import nn
            >>> def init(m):
            ...     if type(m) is nn.Linear:
            ...         with ef.no_grad():
            ...             m.weight.fill_(1.0)
            ...             m.bias.zero_()
            >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU()).apply(init)
            >>> net[0].weight
            Parameter containing:
            tensor([[1., 1.],
                    [1., 1.]], requires_grad=True)
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    def to(self: T, *args: Any, **kwargs: Any) -> T:
        """Move and/or cast parameters and buffers in place: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``.

        A dtype applies to floating-point tensors only (integer buffers keep their dtype).

            >>> import einframe as ef
            >>> from einframe import nn
            >>> nn.Linear(2, 2).to(ef.float64).weight.dtype
            einframe.float64
        """
        dev, dtype, _ = _parse_to(*args, **kwargs)
        if dtype is not None and not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")

        def convert(t: Tensor) -> Tensor:
            return t.to(device=dev, dtype=dtype if t.is_floating_point() else None)

        return self._apply(convert)

    def cuda(self: T, device: int | str | _device_cls | None = None) -> T:
        """Move every parameter and buffer to a CUDA device (``cuda:0`` by default)."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device)

    def cpu(self: T) -> T:
        """Move every parameter and buffer to the CPU.

        Examples:
            >>> from einframe import nn
            >>> str(nn.Linear(1, 1).cpu().weight.device)
            'cpu'
        """
        return self.to("cpu")

    def float(self: T) -> T:
        """Cast floating-point parameters and buffers to float32."""
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self: T) -> T:
        """Cast floating-point parameters and buffers to float64.

        Examples:
            >>> from einframe import nn
            >>> nn.Linear(1, 1).double().bias.dtype
            einframe.float64
        """
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self: T) -> T:
        """Cast floating-point parameters and buffers to float16."""
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    def type(self: T, dst_type: Any) -> T:
        """Cast every parameter and buffer to ``dst_type``."""
        return self._apply(lambda t: t.to(dst_type))

    def train(self: T, mode: bool = True) -> T:
        """Set training mode (``self.training``) on this module and every submodule.

        Examples:
            >>> from einframe import nn
            >>> net = nn.Sequential(nn.ReLU()).eval()
            >>> net.training, net[0].training
            (False, False)
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self: T) -> T:
        """Evaluation mode: same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self: T, requires_grad: bool = True) -> T:
        """Set ``requires_grad`` on every parameter (freeze with ``requires_grad_(False)``).

        Examples:
            >>> from einframe import nn
            >>> any(p.requires_grad for p in nn.Linear(2, 2).requires_grad_(False).parameters())
            False
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter (to None by default, or to zeros).

        Examples:
            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Linear(2, 1)
            >>> m(ef.ones(2)).sum().backward()
            >>> m.zero_grad()
            >>> m.weight.grad is None
            True
        """
        zero_grads(self.parameters(), set_to_none)

    def share_memory(self: T) -> T:
        """No-op (numpy arrays are not shared across processes); kept for API compatibility."""
        return self

    # ---- hooks ----------------------------------------------------------------------------------
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False) -> RemovableHandle:
        """Run ``hook(module, args)`` before ``forward``; a returned value replaces ``args``.

        A returned non-tuple is wrapped into a 1-tuple. With ``with_kwargs=True`` the hook is
        ``hook(module, args, kwargs)`` and may return ``(args, kwargs)``.

            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Identity()
            >>> h = m.register_forward_pre_hook(lambda mod, args: args[0] * 10)
            >>> m(ef.ones(1))
            tensor([10.])
            >>> h.remove()
        """
        h = RemovableHandle(self._forward_pre_hooks, hook, self._forward_pre_hooks_with_kwargs)
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[h.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(h.id, last=False)
        return h

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """Run ``hook(module, args, output)`` after ``forward``; a returned value replaces the output.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs, output)``; with
        ``always_call=True`` it also runs when ``forward`` raised.

            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Linear(3, 2)
            >>> shapes = []
            >>> h = m.register_forward_hook(lambda mod, args, out: shapes.append(tuple(out.shape)))
            >>> _ = m(ef.ones(4, 3))
            >>> shapes
            [(4, 2)]
        """
        h = RemovableHandle(self._forward_hooks, hook, self._forward_hooks_with_kwargs, self._forward_hooks_always_called)
        if with_kwargs:
            self._forward_hooks_with_kwargs[h.id] = True
        if always_call:
            self._forward_hooks_always_called[h.id] = True
        if prepend:
            self._forward_hooks.move_to_end(h.id, last=False)
        return h

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_output)`` when the gradients of the outputs are known.

        A returned tuple replaces ``grad_output`` for the rest of backward.

            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Linear(2, 1)
            >>> h = m.register_full_backward_pre_hook(lambda mod, g: (g[0] * 0,))
            >>> m(ef.ones(2)).sum().backward()
            >>> m.weight.grad
            tensor([[0., 0.]])
        """
        h = RemovableHandle(self._backward_pre_hooks, hook)
        if prepend:
            self._backward_pre_hooks.move_to_end(h.id, last=False)
        return h

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_input, grad_output)`` when the gradients w.r.t. the inputs are known.

        ``grad_input`` has one entry per tensor positional argument (None where it does not require
        grad); a returned tuple replaces it.

            >>> import einframe as ef
            >>> from einframe import nn
            >>> m = nn.Linear(2, 1)
            >>> x = ef.ones(3, 2, requires_grad=True)
            >>> got = []
            >>> h = m.register_full_backward_hook(lambda mod, gi, go: got.append((gi[0].shape, go[0].shape)))
            >>> m(x).sum().backward()
            >>> got
            [(einframe.Size([3, 2]), einframe.Size([3, 1]))]
        """
        h = RemovableHandle(self._backward_hooks, hook)
        if prepend:
            self._backward_hooks.move_to_end(h.id, last=False)
        return h

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Same as :meth:`register_full_backward_hook` (PyTorch's deprecated non-full hook is not reproduced)."""
        return self.register_full_backward_hook(hook)

    def attach_hook(self, name: str, **options: Any) -> Any:
        """Attach a named hook found through the plugin registry (kind ``"hooks"``).

        Built-ins: ``nan_check`` (raises naming the module when an output or gradient holds NaN/Inf)
        and ``activation_stats`` (records mean/std/min/max of every module's output). Returns a
        handle whose ``remove()`` detaches it.

            >>> import einframe as ef
            >>> from einframe import nn
            >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
            >>> h = net.attach_hook("activation_stats")
            >>> _ = net(ef.ones(3, 2))
            >>> sorted(h.stats)
            ['', '0', '1']
            >>> h.remove()
        """
        from ...plugins import get

        factory = get("hooks", name)
        return factory(self, **options)

    # ---- call -----------------------------------------------------------------------------------
    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        forward_call = self.forward
        if not (
            self._forward_hooks or self._forward_pre_hooks or self._backward_hooks or self._backward_pre_hooks
            or _global_forward_hooks or _global_forward_pre_hooks or _global_backward_hooks or _global_backward_pre_hooks
        ):  # fmt: skip
            return forward_call(*args, **kwargs)

        called_always: set[int] = set()
        result = None
        try:
            if _global_forward_pre_hooks or self._forward_pre_hooks:
                for hook_id, hook in (*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                    if hook_id in self._forward_pre_hooks_with_kwargs:
                        r = hook(self, args, kwargs)
                        if r is not None:
                            if isinstance(r, tuple) and len(r) == 2:
                                args, kwargs = r
                                args = args if isinstance(args, tuple) else (args,)
                            else:
                                raise RuntimeError(
                                    f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {r}."
                                )
                    else:
                        r = hook(self, args)
                        if r is not None:
                            args = r if isinstance(r, tuple) else (r,)
            bw_hook = None
            if self._backward_hooks or self._backward_pre_hooks or _global_backward_hooks or _global_backward_pre_hooks:
                bw_hook = _BackwardHook(
                    self,
                    [*_global_backward_hooks.values(), *self._backward_hooks.values()],
                    [*_global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()],
                )
                args = bw_hook.setup_input_hook(args)
            result = forward_call(*args, **kwargs)
            if _global_forward_hooks or self._forward_hooks:
                for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                    if hook_id in self._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called:
                        called_always.add(hook_id)
                    if hook_id in self._forward_hooks_with_kwargs or hook_id in _global_forward_hooks_with_kwargs:
                        r = hook(self, args, kwargs, result)
                    else:
                        r = hook(self, args, result)
                    if r is not None:
                        result = r
            if bw_hook is not None:
                result = bw_hook.setup_output_hook(result)
            return result
        except Exception:
            for hook_id, hook in (*_global_forward_hooks.items(), *self._forward_hooks.items()):
                if (hook_id in self._forward_hooks_always_called or hook_id in _global_forward_hooks_always_called) and (
                    hook_id not in called_always
                ):
                    try:
                        if hook_id in self._forward_hooks_with_kwargs or hook_id in _global_forward_hooks_with_kwargs:
                            hook(self, args, kwargs, result)
                        else:
                            hook(self, args, result)
                    except Exception:  # noqa: BLE001, S110 - the original error is the one to report
                        pass
            raise

    def _wrapped_call_impl(self, *args: Any, **kwargs: Any) -> Any:
        _depth.n += 1
        try:
            return self._call_impl(*args, **kwargs)
        except (StopIteration, StopAsyncIteration):
            raise
        except Exception as e:
            _name_error(e, self)
            raise
        finally:
            _depth.n -= 1

    __call__: Callable[..., Any] = _wrapped_call_impl

    # ---- repr -----------------------------------------------------------------------------------
    def _get_name(self) -> str:
        return self.__class__.__name__

    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr (override in layers).

        Examples:
            >>> from einframe import nn
            >>> nn.Linear(4, 8).extra_repr()
            'in_features=4, out_features=8, bias=True'
        """
        return ""

    def __repr__(self) -> str:
        extra_lines = []
        extra = self.extra_repr()
        if extra:
            extra_lines = extra.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            mod_str = _addindent(repr(module), 2)
            child_lines.append("(" + key + "): " + mod_str)
        lines = extra_lines + child_lines
        main_str = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main_str += extra_lines[0]
            else:
                main_str += "\n  " + "\n  ".join(lines) + "\n"
        return main_str + ")"


def _apply_lazy(t: Tensor, fn: Callable[[Tensor], Tensor]) -> None:
    """Record the device/dtype ``fn`` would give an uninitialised tensor (applied when it materialises)."""
    import numpy as np

    probe = Tensor._wrap(np.empty((0,), dtype=t.dtype.np), t._device)
    if t._device.type != "cpu":
        probe = Tensor._wrap(t._device.xp.empty((0,), dtype=t.dtype.np), t._device)
    with no_grad():
        out = fn(probe)
    t._device = out._device
    t._lazy_dtype = out.dtype
