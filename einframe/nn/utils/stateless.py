"""``nn.utils.stateless``: call a module with some parameters/buffers replaced (PyTorch's
``torch.nn.utils.stateless``).

The replacement tensors are swapped into the owning modules' ``_parameters``/``_buffers`` (or set as
plain attributes for names the module does not have), ``forward`` runs, and the originals are put
back in a ``finally``, so a forward that raises leaves the module as it was. Replacements may be any
tensors: aliases made by :mod:`einframe.func` transforms, slices of a ``vmap``, stacked ensembles.

:func:`functional_call` here is PyTorch's deprecated spelling; use :func:`einframe.func.functional_call`.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> from einframe.func import functional_call
    >>> lin = nn.Linear(2, 1)
    >>> functional_call(lin, {"weight": ef.ones(1, 2), "bias": ef.zeros(1)}, ef.tensor([1.0, 2.0]))
    tensor([3.])
    >>> lin.weight.shape, type(lin.weight).__name__  # the module keeps its own parameters
    (einframe.Size([1, 2]), 'Parameter')
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["functional_call"]

_MISSING: Any = object()


def _get_submodule(module: Module, path: str, memo: dict[str, Module]) -> Module:
    if not path:
        return module
    if path in memo:
        return memo[path]
    prefix, dot, attr = path.rpartition(".")
    parent = _get_submodule(module, prefix, memo) if dot else module
    try:
        sub = getattr(parent, attr)
    except AttributeError as e:
        raise AttributeError(f"{parent._get_name()} has no attribute `{attr}`") from e
    if not isinstance(sub, Module):
        raise TypeError(f"submodule `{path}`: {sub!r:.80} is not an instance of einframe.nn.Module")
    memo[path] = sub
    return sub


def _swap_tensor(module: Module, name: str, tensor: Any) -> Any:
    """Put ``tensor`` (``_MISSING``: remove) at ``module.<name>``; return what was there (``_MISSING``: nothing)."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor!r:.80} is not an instance of einframe.Tensor")
    if name == "":
        raise KeyError('tensor name can\'t be empty string ""')
    if name in module._parameters:
        orig = module._parameters[name]
        if tensor is _MISSING:
            del module._parameters[name]
        else:
            module._parameters[name] = tensor  # any tensor, not only a Parameter (as PyTorch)
    elif name in module._buffers:
        orig = module._buffers[name]
        if tensor is _MISSING:
            del module._buffers[name]
        else:
            module._buffers[name] = tensor
    else:
        orig = getattr(module, name) if hasattr(module, name) else _MISSING
        if orig is not _MISSING and orig is not None and not isinstance(orig, Tensor):
            raise TypeError(f"attribute `{name}`: {orig!r:.80} is not an instance of einframe.Tensor")
        if tensor is not _MISSING:
            setattr(module, name, tensor)
        elif hasattr(module, name):
            delattr(module, name)
    return orig


def _swap_tensors(module: Module, named: Mapping[str, Any], memo: dict[str, Module]) -> dict[str, Any]:
    """Swap every ``dotted.name -> tensor`` in; on an error, swap back what was done and re-raise."""
    orig: dict[str, Any] = {}
    try:
        for name, tensor in named.items():
            prefix, _, attr = name.rpartition(".")
            orig[name] = _swap_tensor(_get_submodule(module, prefix, memo), attr, tensor)
    except Exception:
        _swap_back(module, orig, memo)
        raise
    return orig


def _swap_back(module: Module, orig: Mapping[str, Any], memo: dict[str, Module]) -> dict[str, Any]:
    """Restore ``orig`` (in reverse order, so tied names end up as they were); return what the module held."""
    current: dict[str, Any] = {}
    for name in reversed(list(orig)):
        prefix, _, attr = name.rpartition(".")
        current[name] = _swap_tensor(_get_submodule(module, prefix, memo), attr, orig[name])
    return current


def _untie_named_tensors_map(module: Module, parameters_and_buffers: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """``parameters_and_buffers`` plus, for every given name of a tied tensor, the other names of it.

    Different values given for names of one tied tensor are an error (as PyTorch).
    """
    all_named: dict[str, Tensor] = {}
    all_named.update(module.named_parameters(remove_duplicate=False))
    all_named.update(module.named_buffers(remove_duplicate=False))
    by_tensor: dict[int, set[str]] = {}
    for name, t in all_named.items():
        by_tensor.setdefault(id(t), set()).add(name)
    tied: dict[str, set[str]] = {}
    for names in by_tensor.values():
        if len(names) > 1:
            for n in names:
                tied[n] = names
    given = {n for n in parameters_and_buffers if n in tied}
    for n in given:
        names = tied[n]
        if len(names & given) > 1 and len({id(parameters_and_buffers[m]) for m in names & given}) != 1:
            raise ValueError(
                f"functional_call got multiple values for keys {sorted(names)}, which are tied. Consider using tie_weights=False"
            )
    untied = dict(parameters_and_buffers)
    for n in given:
        for m in tied[n]:
            untied[m] = parameters_and_buffers[n]
    return untied


@contextlib.contextmanager
def _reparametrize_module(
    module: Module, parameters_and_buffers: dict[str, Tensor], tie_weights: bool = False, strict: bool = False
) -> Iterator[None]:
    """Within the block, ``module`` uses ``parameters_and_buffers``; afterwards its own tensors again.

    Tensors the module reassigned during the block (``self.foo = self.foo + 1``) are written back to
    ``parameters_and_buffers`` under the keys it has, as PyTorch does.
    """
    untied = _untie_named_tensors_map(module, parameters_and_buffers) if tie_weights else parameters_and_buffers
    if strict:
        valid = {n for n, _ in module.named_parameters(remove_duplicate=False)}
        valid |= {n for n, _ in module.named_buffers(remove_duplicate=False)}
        missing, unexpected = sorted(valid - set(untied)), sorted(set(untied) - valid)
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(module._get_name(), "\n\t".join(msgs)))
    memo: dict[str, Module] = {}
    orig: dict[str, Any] = {}
    try:
        orig = _swap_tensors(module, untied, memo)
        yield
    finally:
        current = _swap_back(module, orig, memo)
        parameters_and_buffers.update({k: current[k] for k in parameters_and_buffers if k in current})


def _functional_call(
    module: Module,
    parameters_and_buffers: dict[str, Tensor],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    if not isinstance(module, Module):
        raise TypeError(f"functional_call: expected an einframe.nn.Module, got {type(module).__name__}")
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights, strict=strict):
        return module(*args, **kwargs)


def functional_call(
    module: Module,
    parameters_and_buffers: dict[str, Tensor],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Deprecated (as in PyTorch 2.0): use :func:`einframe.func.functional_call`, a drop-in replacement.

    Calls ``module(*args, **kwargs)`` with the parameters and buffers named in
    ``parameters_and_buffers`` (one dict) replaced; see :func:`einframe.func.functional_call`.
    """
    warnings.warn(
        "`einframe.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed in a future "
        "version. Please use `einframe.func.functional_call` instead which is a drop-in replacement.",
        FutureWarning,
        stacklevel=2,
    )
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
