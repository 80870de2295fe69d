"""The primitive machinery: a primitive is a graph node class with ``forward`` (arrays), ``vjp`` and
``jvp`` (both written with einframe Tensor ops, so every derivative is differentiable again).

One call of a primitive creates one node instance; when no input needs a gradient, or grad mode is
off, the instance is discarded after the forward pass and nothing is recorded.
"""

from __future__ import annotations

import itertools
import traceback

import numpy as np

from .._state import STATE
from ..tensor import Tensor

__all__ = ["Node", "AccumulateGrad", "PRIMITIVES", "primitive"]

_seq = itertools.count()

#: name -> primitive class; every primitive einframe has, for docs and the meta-test of the suite
PRIMITIVES: dict[str, type[Node]] = {}


def primitive(kind: str):
    """Class decorator adding a primitive of ``kind`` (Contract, Pointwise, ...) to the table."""

    def register(cls):
        cls.kind = kind
        PRIMITIVES[cls.__name__] = cls
        return cls

    return register


class Node:
    """A node of the backward graph (PyTorch's ``grad_fn``).

    Subclasses that are primitives define:

    * ``forward(self, xp, *arrays) -> array`` on raw arrays (``xp`` is numpy or cupy);
    * ``vjp(self, g, xs, out) -> tuple`` one gradient (or None) per input position;
    * ``jvp(self, ts, xs, out) -> Tensor`` the output tangent, ``ts`` one tangent (or None) per input;
    * ``saves``: indices of inputs the vjp needs, ``saves_out``: whether it needs the output (or a
      tuple of input indices: the output is saved only when one of those inputs needs a gradient).

    ``xs`` holds the saved inputs (None where not saved; Python scalars are always kept).
    """

    kind = "Node"
    saves: tuple[int, ...] = ()
    saves_out: bool | tuple[int, ...] = False
    #: ``{i: (j, ...)}``: save input ``i`` only when one of inputs ``j`` needs a gradient (as PyTorch
    #: does: ``x /= 2`` in a loop must not trip the version check on ``x``, whose value the vjp never reads)
    save_when: dict[int, tuple[int, ...]] | None = None
    is_view = False  # the output may share memory with input 0 (shares its version counter)

    _edges: tuple = ()
    _saved = None
    _versions = ()
    _freed = False
    _packed = False
    _seq = -1
    _pre_hooks = None
    _hooks = None
    _tensor_hooks = None  # {output_nr: {id: hook}}: Tensor.register_hook on this node's outputs
    _retained = None  # {output_nr: weakref to tensor}: retain_grad()
    _n_outputs = 1
    _stack = None
    _shape = None  # shape of the output, set when the node is recorded

    # ---- forward -------------------------------------------------------------------------------
    def __call__(self, *inputs) -> Tensor:
        dev = None
        arrays = []
        need = False  # some input requires a gradient
        for t in inputs:
            if isinstance(t, Tensor):
                if dev is None:
                    dev = t._device
                elif t._device is not dev:
                    raise RuntimeError(
                        f"{type(self).__name__}: expected all tensors on the same device, but found {dev} and {t._device}; "
                        f"move them with .to(device)"
                    )
                arrays.append(t._data)
                if t._rg:
                    need = True
            else:
                arrays.append(t)
        data = self.forward(dev._xp or dev.xp, *arrays)
        if isinstance(data, np.generic):  # numpy ufuncs return scalars for 0-d inputs
            data = np.asarray(data)
        out = Tensor._wrap(data, dev)
        if self.is_view:
            out._vc = inputs[0]._vc
            out._view_of = (inputs[0], self)  # lets an in-place op on the view update its base
        if need and STATE.grad_enabled:
            if data.dtype.kind not in "fc":  # integer and bool results are never differentiable (as PyTorch)
                return out
            self._record(inputs, out)
        if STATE.fwd_level and data.dtype.kind in "fc":
            ts = [t._tangent if isinstance(t, Tensor) else None for t in inputs]
            if any(t is not None for t in ts):
                from ..autograd.forward_ad import _attach

                # the rule's own ops (cos for sin's jvp, ...) carry no tangents: one level of forward mode
                STATE.fwd_level, level = 0, STATE.fwd_level
                try:
                    tangent = self.jvp(ts, inputs, out)
                finally:
                    STATE.fwd_level = level
                _attach(out, tangent)
                saved = self._saved
                if saved is not None and not self._packed and saved[1] is not None:
                    _attach(saved[1], tangent)  # the saved copy of the output (forward-over-reverse reads it)
        return out

    def _record(self, inputs, out: Tensor) -> None:
        edges = []
        for t in inputs:
            if isinstance(t, Tensor) and t._rg:
                fn = t.grad_fn
                edges.append((fn, t._output_nr) if fn is not None else (t._acc or t._accumulator(), 0))
            else:
                edges.append(None)
        self._edges = edges = tuple(edges)
        self._seq = next(_seq)
        saves, saves_out = self.saves, self.saves_out
        if saves or saves_out:
            save_when = self.save_when
            if save_when is None and len(saves) == len(inputs):  # saves every input (the common case)
                versions = []
                for t in inputs:
                    if isinstance(t, Tensor):
                        versions.append((t, t._vc[0]))
                xs = inputs
            else:
                versions = []
                xs = [None if isinstance(t, Tensor) else t for t in inputs]
                for i in saves:
                    if save_when is not None and i in save_when:
                        for j in save_when[i]:  # saved only if an input whose gradient reads it needs one
                            if edges[j] is not None:
                                break
                        else:
                            continue
                    t = inputs[i]
                    xs[i] = t
                    if isinstance(t, Tensor):
                        versions.append((t, t._vc[0]))
            keep = None
            if saves_out is True or (saves_out and any(edges[j] is not None for j in saves_out)):
                if STATE.saved_hooks:
                    keep = out  # pack hooks see the output itself
                else:
                    # kept without its grad_fn (this node), as PyTorch keeps saved outputs: no
                    # reference cycle, so a graph nobody differentiates is freed by refcount;
                    # ``saved`` hands the vjp the output with its grad_fn again
                    keep = Tensor._wrap(out._data, out._device)
                    keep._vc = out._vc
                versions.append((keep, keep._vc[0]))
            self._saved = (tuple(xs), keep)
            self._versions = versions
            if STATE.saved_hooks:
                from ..autograd.graph import _pack

                self._saved = _pack(self._saved)
                self._packed = True
        if STATE.anomaly:
            self._stack = traceback.format_stack()[:-3]
        self._shape = out._data.shape  # for autograd.explain
        out._rg = True
        out.grad_fn = self

    # ---- backward ------------------------------------------------------------------------------
    @property
    def saved(self):
        if self._freed:
            raise RuntimeError(
                f"Trying to backward through the graph a second time (or directly access saved tensors after they "
                f"have already been freed) at {self.name()}; pass retain_graph=True to the first backward() or "
                f"autograd.grad() call if you need to backward twice"
            )
        for t, v in self._versions:
            if t._vc[0] != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace operation: "
                    f"a tensor of shape {tuple(t.shape)} saved by {self.name()} is at version {t._vc[0]}; expected version {v} instead. "
                    f"Hint: replace the in-place operation with an out-of-place one (x = x + y instead of x += y)"
                )
        if self._packed:
            from ..autograd.graph import _unpack

            return _unpack(self._saved)
        xs, out = self._saved
        if out is not None:
            t = Tensor._wrap(out._data, out._device)
            t._vc = out._vc
            t._rg = True
            t.grad_fn = self
            if out._tangent is not None:
                t._tangent = out._tangent
            return xs, t
        return xs, None

    def apply_backward(self, grads):
        """Gradients for every input position, given the gradient of each output."""
        if self._saved is None and not self._freed:  # a node that saves nothing
            return self.vjp(grads[0], None, None)
        xs, out = self.saved
        return self.vjp(grads[0], xs, out)

    def release(self) -> None:
        if self._saved is not None:
            # the version records hold the saved tensors too (the output among them, whose grad_fn
            # is this node): dropping both leaves no cycle, so the graph is freed by refcount
            self._saved = None
            self._versions = ()
            self._freed = True

    # ---- inspection ----------------------------------------------------------------------------
    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        return tuple([e is not None for e in self._edges])

    @property
    def next_functions(self) -> tuple:
        return tuple(e if e is not None else (None, 0) for e in self._edges)

    def name(self) -> str:
        return f"{type(self).__name__}Backward"

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node computed its input gradients."""
        from ..autograd.graph import RemovableHandle

        if self._hooks is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node; it may return replacement gradients."""
        from ..autograd.graph import RemovableHandle

        if self._pre_hooks is None:
            self._pre_hooks = {}
        return RemovableHandle(self._pre_hooks, fn)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def vjp(self, g, xs, out):  # pragma: no cover - every primitive overrides this
        raise NotImplementedError(f"{type(self).__name__} has no vjp rule")

    def jvp(self, ts, xs, out):
        raise NotImplementedError(f"{type(self).__name__} has no jvp rule: forward-mode AD is not available for it")

    # ---- views: how an in-place change of a view reaches its base (PyTorch's view replay) --------
    def reapply(self, base: Tensor) -> Tensor:
        """This view of ``base`` again (after ``base`` took a new value)."""
        raise RuntimeError(f"in-place operations on a {self.name()[:-8]} view are not supported while autograd records")

    def scatter(self, base: Tensor, value: Tensor) -> Tensor:
        """``base`` with the region this view shows replaced by ``value``."""
        raise RuntimeError(
            f"in-place operations on a {self.name()[:-8]} view are not supported while autograd records "
            f"(it is not writable, or several of its elements share memory); clone() it first"
        )


class AccumulateGrad(Node):
    """The sink node of a leaf tensor: adds incoming gradients into ``leaf.grad``."""

    kind = "AccumulateGrad"

    def __init__(self, variable: Tensor):
        self.variable = variable
        self._seq = -1  # runs after every node that feeds it

    def name(self) -> str:
        return "AccumulateGrad"
