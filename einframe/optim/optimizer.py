"""``ef.optim.Optimizer``: the base class of every optimizer (param groups, state, state_dict).

Updates run in place on the parameters' raw arrays (numpy or CuPy, via ``p._device.xp``), outside
the autograd graph, and bump each parameter's version counter as an in-place op would.

    >>> import einframe as ef
    >>> w = ef.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = ef.optim.SGD([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0., 0.], requires_grad=True)
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from ..autograd import enable_grad
from ..tensor import Tensor, zero_grads

__all__ = ["Optimizer", "required"]


class _RequiredParameter:
    """Marks a hyperparameter that has no default (each group must give it)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _is_lazy(p) -> bool:
    return "Uninitialized" in type(p).__name__ or bool(getattr(p, "_is_lazy", False))


def _check_float(name: str, value, low: float = 0.0, *, strict: bool = False, label: str | None = None) -> None:
    """PyTorch-style hyperparameter validation: ``Invalid learning rate: -1``."""
    label = label or f"{name} value"
    if isinstance(value, Tensor):
        value = value.item()
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if value < low or (strict and value == low):
        raise ValueError(f"Invalid {label}: {value}")


class Optimizer:
    """Base class of all optimizers.

    ``params`` is an iterable of tensors, or of dicts (param groups) each holding ``"params"`` and
    options that override ``defaults`` for that group.

        >>> import einframe as ef
        >>> a, b = ef.randn(2, requires_grad=True), ef.randn(3, requires_grad=True)
        >>> opt = ef.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.1}], lr=0.01, momentum=0.9)
        >>> [g["lr"] for g in opt.param_groups]
        [0.01, 0.1]
    """

    def __init_subclass__(cls, **kw) -> None:
        super().__init_subclass__(**kw)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_counted", False):

            @functools.wraps(step)
            def counted_step(self, *args, **kwargs):
                self._step_count = getattr(self, "_step_count", 0) + 1
                return step(self, *args, **kwargs)

            counted_step._counted = True
            cls.step = counted_step

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._step_count = 0
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got a Tensor; "
                "pass [tensor] or model.parameters()"
            )
        if isinstance(params, dict):
            params = [params]
        if isinstance(params, (set, frozenset)):
            params = {"params": params}  # add_param_group explains why sets are refused
            params = [params]
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list; pass model.parameters() of a model that has parameters")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # --------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}"
            for key in sorted(group):
                if key != "params":
                    s += f"\n    {key}: {group[key]}"
        return s + "\n)"

    def __getstate__(self):
        raise TypeError("optimizers are not pickled; save optimizer.state_dict() with ef.save instead")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to the optimizer.

        Examples:
            >>> import einframe as ef
            >>> a, b = ef.randn(2, requires_grad=True), ef.randn(2, requires_grad=True)
            >>> opt = ef.optim.Adam([a], lr=1e-3)
            >>> opt.add_param_group({"params": [b], "lr": 1e-4})
            >>> len(opt.param_groups), opt.param_groups[1]["betas"]
            (2, (0.9, 0.999))
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise KeyError("param_group must have a 'params' key holding the tensors to optimize")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors in "
                "sets will change between runs; use a list instead"
            )
        else:
            params = list(params)
        for p in params:
            if _is_lazy(p):
                raise ValueError(
                    f"can't optimize an uninitialized parameter ({type(p).__name__}): run one forward pass of the lazy "
                    "module (e.g. model(example_input)) before creating the optimizer"
                )
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    "can't optimize a non-leaf Tensor; optimize the leaf it was computed from, or .detach().requires_grad_()"
                )
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error",
                UserWarning,
                stacklevel=3,
            )
        group = {"params": params}
        for name, default in self.defaults.items():
            if name in param_group:
                group[name] = param_group[name]
            elif default is required:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            else:
                group[name] = default
        for name, value in param_group.items():
            group.setdefault(name, value)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group; each tensor may be in one group only")
        self.param_groups.append(group)

    # --------------------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to ``None`` by default, else to zeros)."""
        for group in self.param_groups:
            zero_grads(group["params"], set_to_none)

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError(f"{type(self).__name__}.step is not implemented")

    def _closure_loss(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # --------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as PyTorch lays it out: ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are replaced by their index (counted across groups in order); state tensors are
        references (``ef.save`` copies them to disk).

            >>> import einframe as ef
            >>> w = ef.randn(2, requires_grad=True)
            >>> opt = ef.optim.SGD([w], lr=0.1, momentum=0.9)
            >>> w.sum().backward(); opt.step()
            >>> sd = opt.state_dict()
            >>> list(sd["state"]), sd["param_groups"][0]["params"], sorted(sd["state"][0])
            ([0], [0], ['momentum_buffer'])
        """
        mapping: dict[int, int] = {}
        groups = []
        index = 0
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                if id(p) not in mapping:
                    mapping[id(p)] = index
                    index += 1
                ids.append(mapping[id(p)])
            packed["params"] = ids
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            key = mapping.get(id(p), p) if isinstance(p, Tensor) else p
            state[key] = dict(s)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state produced by :meth:`state_dict` (possibly after ``ef.save``/``ef.load``).

        State tensors are copied and moved to their parameter's device; floating-point state takes
        the parameter's dtype.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError(
                "optimizer.load_state_dict expected a dict with keys 'state' and 'param_groups' "
                f"(from optimizer.state_dict()), got {type(state_dict).__name__}"
                + (f" with keys {sorted(map(str, state_dict))}" if isinstance(state_dict, dict) else "")
            )
        groups = self.param_groups
        saved_groups = state_dict["param_groups"]
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"loaded state dict has a different number of parameter groups: expected {len(groups)}, got {len(saved_groups)}"
            )
        for i, (g, sg) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(sg["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group that doesn't match the size of optimizer's group: "
                    f"group {i} has {len(g['params'])} parameters here, {len(sg['params'])} in the state dict"
                )
        id_map = {}
        for g, sg in zip(groups, saved_groups):
            for old, p in zip(sg["params"], g["params"]):
                id_map[old] = p

        def cast(param: Tensor, value, key):
            if isinstance(value, Tensor):
                data = value._data
                xp = param._device.xp
                if param.is_floating_point() and value.is_floating_point() and key != "step":
                    data = data.astype(param._data.dtype, copy=False)
                if value._device is not param._device:
                    from ..backend import to_backend

                    data = to_backend(data, param._device)
                return Tensor._wrap(xp.array(data, copy=True), param._device)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v, key) for v in value)
            return copy.deepcopy(value)

        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if isinstance(k, str) and k.lstrip("-").isdigit():
                k = int(k)
            if k in id_map:
                p = id_map[k]
                state[p] = cast(p, v, None)
            else:
                state[k] = copy.deepcopy(v)
        new_groups = []
        for g, sg in zip(groups, saved_groups):
            ng = {k: copy.deepcopy(v) for k, v in sg.items() if k != "params"}
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.state = state
        self.param_groups = new_groups

    # --------------------------------------------------------------------------------------------
    @staticmethod
    def _bump(p: Tensor) -> None:
        p._vc[0] += 1

    def _grad_array(self, p: Tensor, maximize: bool = False):
        """The raw gradient array of ``p`` (negated when maximizing), or None when there is no grad."""
        g = p.grad
        if g is None:
            return None
        if g._device is not p._device:
            raise RuntimeError(f"{type(self).__name__}: the gradient is on {g._device} but the parameter is on {p._device}")
        if tuple(g.shape) != tuple(p.shape):
            raise RuntimeError(
                f"{type(self).__name__}: gradient of shape {tuple(g.shape)} doesn't match parameter of shape {tuple(p.shape)}"
            )
        a = g._data
        return -a if maximize else a

    def _each_param(self, group: dict, *buffers: str, init=None, decoupled: bool | None = None):
        """``(p, g, state)`` for every parameter of ``group`` with a gradient, its ``step`` counted.

        A new state starts at step 0 with one zero tensor per name in ``buffers``, then
        ``init(p, state)`` adds anything else. ``g`` already has weight decay applied: L2
        (``g + wd·p``), or when decoupled (``decoupled``, else the group's ``decoupled_weight_decay``)
        the parameter itself is decayed (``p ← p·(1 − lr·wd)``, AdamW's rule).
        """
        wd = group.get("weight_decay", 0.0)
        if decoupled is None:
            decoupled = group.get("decoupled_weight_decay", False)
        for p in group["params"]:
            g = self._grad_array(p, group.get("maximize", False))
            if g is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = 0
                for name in buffers:
                    state[name] = self._zeros_like(p)
                if init is not None:
                    init(p, state)
            state["step"] += 1
            if wd != 0:
                if decoupled:
                    p._data *= 1 - group["lr"] * wd
                else:
                    g = g + wd * p._data
            yield p, g, state

    @staticmethod
    def _zeros_like(p: Tensor, fill: float = 0.0) -> Tensor:
        xp = p._device.xp
        return Tensor._wrap(xp.full(p._data.shape, fill, dtype=p._data.dtype), p._device)
