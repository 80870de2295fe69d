"""Custom autograd operations: ``ef.autograd.Function``, as in PyTorch, plus einsum-declared Functions.

A Function subclass defines static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)``;
``Function.apply`` runs ``forward`` without recording and puts one node in the graph whose backward
calls the user's ``backward``. The ``ctx`` object *is* that node (``out.grad_fn``), so everything
stored on it (``save_for_backward``, plain attributes) lives exactly as long as the graph.

Two einframe extras:

* ``equation = "bi,oi->bo"`` instead of ``forward``/``backward``: the Function is one contraction,
  and its vjp, jvp and higher derivatives are derived from the equation like any ``ef.einsum``.
* ``jvp(ctx, *tangents)`` gives forward mode (``ef.func.jvp``, ``forward_ad``); without it forward
  mode through the Function raises an error saying so.

>>> import einframe as ef
>>> class Square(ef.autograd.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x
...
...     @staticmethod
...     def backward(ctx, g):
...         (x,) = ctx.saved_tensors
...         return 2 * x * g
>>> x = ef.tensor([1.0, 3.0], requires_grad=True)
>>> Square.apply(x).sum().backward()
>>> x.grad
tensor([2., 6.])
"""

from __future__ import annotations

import functools
import inspect
import traceback
from typing import Any

from .._state import STATE
from ..ops import core as _core
from ..ops.contract import Contract
from ..ops.core import Node
from ..tensor import Tensor

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable"]


def _edge(t: Tensor):
    fn = t.grad_fn
    return (fn, t._output_nr) if fn is not None else (t._accumulator(), 0)


class FunctionCtx:
    """What ``forward``/``backward`` see as ``ctx``: saving tensors and marking outputs.

    Any other attribute may be set on it (``ctx.constant = 3``) and read back in ``backward``.
    """

    needs_input_grad: tuple[bool, ...] = ()
    _to_save: tuple | None = None
    _fwd_saved: tuple | None = None
    _in_jvp = False
    _dirty: tuple = ()
    _non_diff: tuple = ()
    _materialize = True

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors (or None) for ``backward``; read them back with ``ctx.saved_tensors``.

        Saved tensors are checked for in-place changes and freed after backward (unless
        ``retain_graph=True``), with a clear error if used after that.
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors or None, but argument {i} is a {type(t).__name__}; "
                    f"store other objects as attributes of ctx (ctx.{type(t).__name__.lower()} = ...)"
                )
        self._to_save = tensors

    def save_for_forward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for ``jvp``; inside ``jvp`` they are ``ctx.saved_tensors``."""
        self._fwd_saved = tensors

    def mark_dirty(self, *tensors: Tensor) -> None:
        """Declare inputs that ``forward`` modified in place (they must also be returned)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """Declare outputs that have no gradient (indices, masks); backward gets zeros for them."""
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With False, ``backward`` receives None (not zeros) for outputs that got no gradient."""
        self._materialize = bool(value)


class BackwardCFunction(FunctionCtx, Node):
    """The graph node (and ``ctx``) of one ``Function.apply`` call; ``out.grad_fn`` is this object."""

    kind = "Function"
    _forward_cls: type[Function]
    _in_meta: tuple = ()
    _out_meta: tuple = ()

    # ``needs_input_grad`` is a plain attribute here (Node derives it from the edges)
    needs_input_grad: tuple[bool, ...] = ()

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward`` (``save_for_forward`` inside ``jvp``)."""
        if self._in_jvp:
            return tuple(self._fwd_saved or ())
        if self._saved is None and not self._freed:
            return tuple(self._to_save or ())
        return self.saved[0]

    def name(self) -> str:
        return f"{self._forward_cls.__name__}Backward"

    def apply(self, *grad_outputs):
        """Call the user's ``backward`` directly with these output gradients (as PyTorch does)."""
        return self._forward_cls._backward_fn()(self, *grad_outputs)

    def apply_backward(self, grads):
        grads = list(grads)
        if self._materialize:
            for i, (g, meta) in enumerate(zip(grads, self._out_meta)):
                if g is None and meta is not None:
                    shape, dt, dev = meta
                    grads[i] = Tensor._wrap(dev.xp.zeros(shape, dtype=dt), dev)
        result = self._forward_cls._backward_fn()(self, *grads)
        return self._validate(result)

    def _validate(self, result) -> tuple:
        name = self.name()
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self._in_meta)
        if len(result) > n and all(g is None for g in result[n:]):
            result = result[:n]  # trailing Nones for optional arguments are fine
        if len(result) != n:
            raise RuntimeError(
                f"function {name} returned an incorrect number of gradients (expected {n}, got {len(result)}): "
                f"backward must return one gradient per argument of forward (None for non-tensor arguments "
                f"and for inputs that need no gradient)"
            )
        out = []
        for i, (g, meta, edge) in enumerate(zip(result, self._in_meta, self._edges)):
            if g is None:
                out.append(None)
                continue
            if meta is None:
                raise RuntimeError(
                    f"function {name} returned a gradient different than None at position {i + 1}, but the "
                    f"corresponding forward input was not a Tensor; return None for it"
                )
            if not isinstance(g, Tensor):
                raise TypeError(
                    f"function {name} returned a {type(g).__name__} as gradient {i}; expected a Tensor or None "
                    f"(wrap numbers with ef.tensor(..) or multiply the incoming gradient)"
                )
            if edge is None:
                out.append(None)  # returning a gradient for an input that does not need one is allowed
                continue
            shape, dt, dev = meta
            if g._device is not dev:
                raise RuntimeError(
                    f"function {name} returned a gradient on {g._device} at index {i}, but input {i} is on {dev}; "
                    f"move the gradient with .to(input.device)"
                )
            if g._data.shape != shape:
                if not _expandable(shape, g._data.shape):
                    raise RuntimeError(
                        f"Function {name} returned an invalid gradient at index {i} - got {list(g._data.shape)} but "
                        f"expected shape compatible with {list(shape)} (the shape of input {i}); return a gradient "
                        f"of the input's shape"
                    )
                from ..ops.pointwise import sum_to

                g = sum_to(g, shape)
            if g._data.dtype != dt:
                from .._functions import _cast

                g = _cast(g, dt)
            out.append(g)
        return tuple(out)


def _expandable(shape: tuple, to: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``to`` (a gradient of shape ``to`` can be summed down)."""
    if len(shape) > len(to):
        return False
    return all(a == b or a == 1 for a, b in zip(reversed(shape), reversed(to)))


class _FunctionMeta(type):
    def __init__(cls, name, bases, ns):
        super().__init__(name, bases, ns)
        cls._backward_cls = type(f"{name}Backward", (BackwardCFunction,), {"_forward_cls": cls})
        if ns.get("equation") is not None:
            eq_cls = cls

            class _EquationBackward(Contract):
                def name(self) -> str:
                    return f"{eq_cls.__name__}Backward"

                def __repr__(self) -> str:
                    return f"<{eq_cls.__name__}Backward '{self.canon.eq}'>"

            _EquationBackward.__name__ = _EquationBackward.__qualname__ = f"{name}Backward"
            cls._contract_cls = _EquationBackward


class Function(metaclass=_FunctionMeta):
    """Base class of custom differentiable operations (PyTorch's ``torch.autograd.Function``).

    Subclasses define ``forward(ctx, *args, **kwargs)`` and ``backward(ctx, *grad_outputs)`` as
    static methods (or ``equation``, see below) and are used through ``apply``. ``backward``
    returns one gradient per ``forward`` argument (None for non-tensors); it runs with grad mode
    on when ``create_graph=True``, so a backward written with einframe ops can be differentiated
    again. An optional ``jvp(ctx, *tangents)`` static method gives forward mode.

    Setting ``equation`` makes the Function a single einsum contraction of its arguments, whose
    vjp, jvp and higher derivatives are derived from the equation:

    >>> import einframe as ef
    >>> class Bilinear(ef.autograd.Function):
    ...     equation = "bi,oij,bj->bo"
    >>> x, y = ef.randn(2, 3), ef.randn(2, 4)
    >>> w = ef.randn(5, 3, 4, requires_grad=True)
    >>> out = Bilinear.apply(x, w, y)
    >>> out.grad_fn.backward_equations[1]
    "dB = einsum('bo,bi,bj->oij', grad, A, C)"
    """

    #: an einsum equation; when set, ``apply(*tensors)`` is that contraction, derivatives derived
    equation: str | None = None
    _backward_cls: type[BackwardCFunction]
    _contract_cls: type[Contract]

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError(
            f"{type(self).__name__} is an autograd.Function: call it through the class, "
            f"{type(self).__name__}.apply(...), with forward/backward defined as @staticmethods"
        )

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        """Compute the outputs (runs without recording a graph). Override as a @staticmethod."""
        raise NotImplementedError("You must implement the forward function for custom autograd.Function (or set `equation`).")

    @staticmethod
    def setup_context(ctx: FunctionCtx, inputs: tuple, output: Any) -> None:
        """Optional (PyTorch 2 style): when overridden, ``forward`` takes no ctx and this fills it."""
        raise NotImplementedError("setup_context is not overridden")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Tensor) -> Any:
        """Gradients of the inputs from the gradients of the outputs. Override as a @staticmethod."""
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom autograd.Function "
            "to use it with backward mode AD."
        )

    vjp = backward

    @staticmethod
    def jvp(ctx: FunctionCtx, *tangents: Tensor | None) -> Any:
        """Output tangents from input tangents (forward mode). Override as a @staticmethod."""
        raise NotImplementedError

    @classmethod
    def _backward_fn(cls):
        if cls.backward is not Function.backward:
            return cls.backward
        if cls.vjp is not Function.backward:
            return cls.vjp
        return Function.backward

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` and record one graph node whose backward is ``backward``."""
        if cls.equation is not None:
            return cls._apply_equation(args, kwargs)
        if kwargs:  # give keyword arguments their positions, so gradients line up with them
            params = list(inspect.signature(cls.forward).parameters.values())
            if cls.setup_context is Function.setup_context:
                params = params[1:]  # drop ctx
            bound = inspect.Signature(params).bind(*args, **kwargs)
            bound.apply_defaults()
            args, kwargs = bound.args, bound.kwargs

        ctx = cls._backward_cls()
        needs = tuple(isinstance(a, Tensor) and a._rg for a in args)
        ctx.needs_input_grad = needs
        record = STATE.grad_enabled and any(needs)
        if record:
            ctx._edges = tuple(_edge(a) if n else None for a, n in zip(args, needs))
            ctx._in_meta = tuple((a._data.shape, a._data.dtype, a._device) if isinstance(a, Tensor) else None for a in args)

        fwd_level = STATE.fwd_level
        prev_grad = STATE.grad_enabled
        STATE.grad_enabled = False
        STATE.fwd_level = 0
        try:
            if cls.setup_context is not Function.setup_context:
                raw = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, raw)
            else:
                raw = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.grad_enabled = prev_grad
            STATE.fwd_level = fwd_level

        is_tuple = isinstance(raw, tuple)
        outs = list(raw) if is_tuple else [raw]
        outs = _wrap_outputs(cls, ctx, args, outs, record)

        if record:
            ctx._seq = next(_core._seq)
            ctx._n_outputs = len(outs)
            ctx._out_meta = tuple(
                (o._data.shape, o._data.dtype, o._device) if isinstance(o, Tensor) and o._data.dtype.kind in "fc" else None
                for o in outs
            )
            if ctx._to_save is not None:
                saved = tuple(ctx._to_save)
                ctx._saved = (saved, None)
                ctx._versions = tuple((t, t._vc[0]) for t in saved if isinstance(t, Tensor))
                if STATE.saved_hooks:
                    from .graph import _pack

                    ctx._saved = _pack(ctx._saved)
                    ctx._packed = True
            if STATE.anomaly:
                ctx._stack = traceback.format_stack()[:-1]

        if fwd_level and any(isinstance(a, Tensor) and a._tangent is not None for a in args):
            _forward_mode(cls, ctx, args, outs)
        return tuple(outs) if is_tuple else outs[0]

    @classmethod
    def _apply_equation(cls, args: tuple, kwargs: dict) -> Tensor:
        if kwargs:
            raise TypeError(
                f"{cls.__name__}.apply takes the operands of '{cls.equation}' positionally, got keywords {sorted(kwargs)}"
            )
        import numpy as np

        from .. import _functions as F
        from ..einsum import canon_for

        ops = []
        for k, t in enumerate(args):
            if isinstance(t, Tensor):
                ops.append(t)
            elif isinstance(t, (int, float)):
                ops.append(F.tensor(t))
            else:
                raise TypeError(
                    f"{cls.__name__} (equation '{cls.equation}'): operand {k} is a {type(t).__name__}, expected a Tensor"
                )
        dts = {t._data.dtype for t in ops}
        if len(dts) > 1:
            dt = np.result_type(*dts)
            ops = [F._cast(t, dt) for t in ops]
        canon = canon_for(cls.equation, tuple(t._data.shape for t in ops))
        return cls._contract_cls(canon)(*ops)


def _wrap_outputs(cls, ctx, args, outs: list, record: bool) -> list:
    dirty = {id(t) for t in ctx._dirty}
    non_diff = {id(t) for t in ctx._non_diff}
    input_ids = {id(a) for a in args if isinstance(a, Tensor)}
    if dirty:
        returned = {id(o) for o in outs}
        for t in ctx._dirty:
            if id(t) not in input_ids:
                raise RuntimeError(
                    f"{cls.__name__}: mark_dirty only accepts input tensors, but got a tensor that is not an input"
                )
            if id(t) not in returned:
                raise RuntimeError(
                    f"{cls.__name__}: some elements marked as dirty during the forward method were not returned as output"
                )
    result = []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            result.append(o)
            continue
        if id(o) in dirty:
            if record and o.grad_fn is None and o._rg:
                raise RuntimeError(
                    f"{cls.__name__}: a leaf Variable that requires grad has been used in an in-place operation "
                    f"(marked dirty); operate on a clone of it"
                )
            r = o
        elif id(o) in input_ids:
            r = Tensor._wrap(o._data, o._device)  # an input returned as is: a new tensor sharing its memory
            r._vc = o._vc
        else:
            r = o
        differentiable = record and id(o) not in non_diff and o._data.dtype.kind in "fc"
        if differentiable:
            r.grad_fn = ctx
            r._rg = True
            r._output_nr = i
        elif r is o and id(o) not in dirty and o.grad_fn is not None:
            r = o.detach()
        result.append(r)
    return result


def _forward_mode(cls, ctx, args, outs) -> None:
    if cls.jvp is Function.jvp:
        raise RuntimeError(
            f"{cls.__name__} has no forward-mode rule: define `@staticmethod def jvp(ctx, *tangents)` returning "
            f"the output tangent(s), or declare the Function as an einsum with `equation = ...` "
            f"(then its jvp is derived); got tangents for its inputs inside forward-mode AD"
        )
    from .forward_ad import _attach

    tangents = []
    for a in args:
        if not isinstance(a, Tensor):
            tangents.append(None)
        elif a._tangent is not None:
            tangents.append(a._tangent)
        elif ctx._materialize and a._data.dtype.kind in "fc":
            tangents.append(Tensor._wrap(a._device.xp.zeros_like(a._data), a._device))
        else:
            tangents.append(None)
    ctx._in_jvp = True
    STATE.fwd_level, level = 0, STATE.fwd_level  # the rule's own ops carry no tangents (as for primitives)
    try:
        res = cls.jvp(ctx, *tangents)
    finally:
        ctx._in_jvp = False
        STATE.fwd_level = level
    res = list(res) if isinstance(res, tuple) else [res]
    if len(res) != len(outs):
        raise RuntimeError(f"{cls.__name__}.jvp returned {len(res)} tangents, expected {len(outs)} (one per output of forward)")
    for i, (o, t) in enumerate(zip(outs, res)):
        if t is None or not isinstance(o, Tensor) or id(o) in {id(x) for x in ctx._non_diff}:
            continue
        if not isinstance(t, Tensor):
            raise TypeError(f"{cls.__name__}.jvp returned a {type(t).__name__} for output {i}; expected a Tensor or None")
        if t._data.shape != o._data.shape:
            raise RuntimeError(
                f"{cls.__name__}.jvp returned a tangent of shape {tuple(t.shape)} for output {i} of shape {tuple(o.shape)}"
            )
        _attach(o, t)


class _DelayedError(Function):
    """Identity whose backward raises: marks results of a once_differentiable backward."""

    @staticmethod
    def forward(ctx, msg, *xs):
        ctx.msg = msg
        return tuple(Tensor._wrap(x._data, x._device) for x in xs)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(ctx.msg)


def once_differentiable(fn):
    """Decorate a ``backward`` that cannot be differentiated again (it may use raw arrays).

    It runs without recording; if ``create_graph=True`` asks for a graph, differentiating its
    results raises an error instead of silently giving zeros.
    """

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        from .grad_mode import no_grad

        with no_grad():
            outputs = fn(ctx, *args)
        if not STATE.grad_enabled:
            return outputs
        try:  # what the results depend on: the incoming gradients and the saved tensors
            saved = tuple(ctx.saved_tensors)
        except RuntimeError:
            saved = ()
        deps = [a for a in (*args, *saved) if isinstance(a, Tensor) and a._rg]
        if not deps:
            return outputs
        tup = outputs if isinstance(outputs, tuple) else (outputs,)
        idx = [i for i, o in enumerate(tup) if isinstance(o, Tensor)]
        msg = f"trying to differentiate twice a function that was marked with @once_differentiable ({fn.__qualname__})"
        wrapped = _DelayedError.apply(msg, *(tup[i] for i in idx), *deps)
        res = list(tup)
        for k, i in enumerate(idx):
            res[i] = wrapped[k]
        return tuple(res) if isinstance(outputs, tuple) else res[0]

    return wrapper
