"""Lazy modules: parameters whose shapes are inferred from the first input.

>>> import einframe as ef
>>> from einframe import nn
>>> net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
>>> net[0].has_uninitialized_params()
True
>>> _ = net(ef.ones(2, 5))
>>> net[0]
Linear(in_features=5, out_features=8, bias=True)
"""

from __future__ import annotations

from typing import Any

from ..parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixin for modules that infer their parameter shapes from the first input (PyTorch's).

    A subclass lists it first (``class LazyLinear(LazyModuleMixin, Linear)``), creates
    :class:`~einframe.nn.UninitializedParameter` s, and implements ``initialize_parameters(*inputs)``
    that materialises them. On the first call a forward pre-hook runs ``initialize_parameters``,
    then the module turns into ``cls_to_become`` (e.g. ``Linear``). ``load_state_dict``
    materialises the parameters from the checkpoint's shapes.

    Pass the sample input through before creating an optimizer: an optimizer cannot hold
    parameters of unknown shape.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyLinear(3)
    >>> m.load_state_dict(nn.Linear(4, 3).state_dict())
    <All keys matched successfully>
    >>> m
    Linear(in_features=4, out_features=3, bias=True)
    """

    cls_to_become: type | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        handle = self.register_forward_pre_hook(_infer_parameters, with_kwargs=True)
        # the hook's key, not its handle: a deep-copied module must remove its own copy of the hook
        self._lazy_hook_id = handle.id

    def has_uninitialized_params(self) -> bool:
        """Whether some parameter or buffer still has an unknown shape."""
        params = self._parameters.values()
        buffers = self._buffers.values()
        return any(is_lazy(p) for p in (*params, *buffers))

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Materialise every uninitialised parameter from the sample input (subclasses implement it)."""
        raise NotImplementedError(f"initialize_parameters is not implemented for {self.__class__.__name__}")

    def _infer_from_state(self) -> None:
        """Update attributes (such as ``in_features``) after ``load_state_dict`` materialised the parameters."""

    def _finish_lazy(self) -> None:
        if self.has_uninitialized_params():
            raise RuntimeError(
                f"module {self._get_name()} has not been fully initialized: initialize_parameters() left some "
                f"parameters uninitialized"
            )
        hid = self.__dict__.pop("_lazy_hook_id", None)
        if hid is not None:
            self._forward_pre_hooks.pop(hid, None)
            self._forward_pre_hooks_with_kwargs.pop(hid, None)
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs, assign=False
    ):
        materialized = False
        for name, t in (*self._parameters.items(), *self._buffers.items()):
            key = prefix + name
            if t is not None and is_lazy(t) and key in state_dict and not is_lazy(state_dict[key]):
                t.materialize(tuple(state_dict[key].shape))
                materialized = True
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs, assign
        )
        if materialized and not self.has_uninitialized_params():
            self._infer_from_state()
            self._finish_lazy()


def _infer_parameters(module: Any, args: tuple, kwargs: dict | None = None) -> None:
    module.initialize_parameters(*args, **(kwargs or {}))
    module._finish_lazy()
