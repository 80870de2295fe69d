"""Seeing the backward graph: ``ef.autograd.explain(t)`` lists every node that backward would run.

For each node: its name, primitive kind, the forward operation (the einsum equation for a
contraction), the derived backward equations, the output shape, and where each input comes from.
``explain(t).to_dot()`` gives the same graph as Graphviz text (``dot -Tsvg``).

>>> import einframe as ef
>>> x = ef.randn(4, 3, requires_grad=True)
>>> w = ef.randn(5, 3, requires_grad=True)
>>> g = ef.autograd.explain(ef.einsum("bi,oi->bo", x, w).tanh().sum(), file=None)
>>> [n.name for n in g.nodes]
['ContractBackward', 'TanhBackward', 'ContractBackward', 'AccumulateGrad', 'AccumulateGrad']
>>> g.nodes[2].backward
["dA = einsum('bo,oi->bi', grad, B)", "dB = einsum('bo,bi->oi', grad, A)"]
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from typing import TextIO

from ..ops.core import AccumulateGrad, Node
from ..tensor import Tensor

__all__ = ["explain", "GraphExplanation", "NodeInfo"]


@dataclass
class NodeInfo:
    """One node of the backward graph, as ``explain`` shows it."""

    index: int
    name: str
    kind: str
    forward: str
    backward: list[str]
    shape: tuple[int, ...] | None
    #: one entry per input position: (index of the producing node, its output number, shape) or None
    inputs: list[tuple[int, int, tuple[int, ...] | None] | None] = field(default_factory=list)
    node: Node | None = field(default=None, repr=False)


def _out_shape(node: Node, nr: int):
    if isinstance(node, AccumulateGrad):
        return tuple(node.variable._data.shape)
    meta = getattr(node, "_out_meta", None)
    if meta:
        m = meta[nr] if nr < len(meta) else None
        return tuple(m[0]) if m is not None else None
    return tuple(node._shape) if node._shape is not None else None


def _describe(node: Node) -> tuple[str, list[str]]:
    if isinstance(node, AccumulateGrad):
        v = node.variable
        what = "Parameter" if getattr(v, "_is_param", False) else "leaf tensor"
        return f"{what} {tuple(v._data.shape)} {v.dtype.name}", ["grad += incoming gradient (after the tensor's hooks)"]
    canon = getattr(node, "canon", None)
    if canon is not None and hasattr(node, "backward_equations"):
        return f"einsum('{canon.eq}')", list(node.backward_equations)
    fcls = getattr(node, "_forward_cls", None)
    if fcls is not None:
        return f"{fcls.__qualname__}.forward (custom Function)", [f"{fcls.__qualname__}.backward (user code)"]
    cls = type(node).__name__
    params = []
    for attr in ("shape", "key", "dims", "pad", "dim"):
        v = node.__dict__.get(attr)
        if v is not None and not callable(v):
            params.append(f"{attr}={v!r}")
    fwd = cls + (f"({', '.join(params)})" if params else "")
    return fwd, [f"{cls}.vjp (einframe/ops primitive table)"]


class GraphExplanation:
    """The backward graph of a tensor: ``nodes`` (root first, in the order backward runs them),
    ``str()`` for a readable listing, ``to_dot()`` for Graphviz."""

    def __init__(self, root: Tensor, nodes: list[NodeInfo]):
        self.root_shape = tuple(root._data.shape)
        self.nodes = nodes

    def __str__(self) -> str:
        if not self.nodes:
            return f"tensor of shape {self.root_shape} has no backward graph (requires_grad=False)"
        lines = [f"backward graph of a tensor of shape {self.root_shape}: {len(self.nodes)} nodes, run top to bottom"]
        for n in self.nodes:
            shape = "?" if n.shape is None else str(n.shape)
            lines.append(f"[{n.index}] {n.name}  ({n.kind})  -> {shape}")
            lines.append(f"    forward : {n.forward}")
            for k, b in enumerate(n.backward):
                lines.append(f"    {'backward:' if k == 0 else '         '} {b}")
            for k, src in enumerate(n.inputs):
                if src is None:
                    lines.append(f"    input {k}: no gradient (constant or requires_grad=False)")
                else:
                    j, nr, s = src
                    out = f" output {nr}" if nr else ""
                    lines.append(f"    input {k}: {s if s is not None else '?'} from [{j}] {self.nodes[j].name}{out}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<GraphExplanation: {len(self.nodes)} nodes, root shape {self.root_shape}>"

    def to_dot(self) -> str:
        """Graphviz ``digraph`` text: nodes in forward direction (inputs point to their consumers).

        >>> import einframe as ef
        >>> x = ef.ones(2, requires_grad=True)
        >>> print(ef.autograd.explain((x * 2).sum(), file=None).to_dot().splitlines()[0])
        digraph backward {
        """

        def esc(s: str) -> str:
            return s.replace("\\", "\\\\").replace('"', '\\"')

        lines = ["digraph backward {", "  rankdir=BT;", '  node [shape=box, fontname="monospace", fontsize=10];']
        for n in self.nodes:
            label = "\\n".join([esc(n.name), esc(n.forward), *(esc(b) for b in n.backward[:4])])
            style = ', style=filled, fillcolor="lightblue"' if n.kind == "AccumulateGrad" else ""
            lines.append(f'  n{n.index} [label="{label}"{style}];')
        for n in self.nodes:
            for src in n.inputs:
                if src is not None:
                    j, _, s = src
                    lines.append(f'  n{j} -> n{n.index} [label="{esc(str(s))}"];')
        lines.append("}")
        return "\n".join(lines)


def explain(t: Tensor, file: TextIO | None | str = "stdout") -> GraphExplanation:
    """Print (to ``file``, default stdout; None prints nothing) and return the backward graph of ``t``.

    >>> import einframe as ef
    >>> a = ef.randn(2, 3, requires_grad=True)
    >>> _ = ef.autograd.explain(ef.einsum("ij->j", a))  # doctest: +ELLIPSIS
    backward graph of a tensor of shape (3,): 2 nodes, run top to bottom
    [0] ContractBackward  (Contract)  -> (3,)
        forward : einsum('ij->j')
        backward: dA = einsum('j,i->ij', grad, ones(2))
        input 0: (2, 3) from [1] AccumulateGrad
    [1] AccumulateGrad  (AccumulateGrad)  -> (2, 3)
    ...
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"explain expects a Tensor, got {type(t).__name__}")
    if not t._rg:
        nodes: list[NodeInfo] = []
    else:
        root = t.grad_fn if t.grad_fn is not None else t._accumulator()
        # every reachable node, in the order the engine runs them (decreasing creation number)
        seen = {root}
        stack = [root]
        order = []
        while stack:
            n = stack.pop()
            order.append(n)
            for e in n._edges:
                if e is not None and e[0] not in seen:
                    seen.add(e[0])
                    stack.append(e[0])
        order.sort(key=lambda n: n._seq, reverse=True)
        index = {n: i for i, n in enumerate(order)}
        nodes = []
        for i, n in enumerate(order):
            fwd, bwd = _describe(n)
            shape = _out_shape(n, t._output_nr if n is root else 0) if n is root else _out_shape(n, 0)
            ins = [None if e is None else (index[e[0]], e[1], _out_shape(e[0], e[1])) for e in n._edges]
            nodes.append(NodeInfo(i, n.name(), n.kind, fwd, bwd, shape, ins, n))
        # a multi-output node's shape: take the one its consumers see
        for info in nodes:
            for src in info.inputs:
                if src is not None and nodes[src[0]].shape is None:
                    nodes[src[0]].shape = src[2]
    g = GraphExplanation(t, nodes)
    if file is not None:
        print(g, file=sys.stdout if file == "stdout" else file)
    return g


class _CallableModule(types.ModuleType):
    """``ef.autograd.explain`` is this function; should an importer (pytest's importlib mode) rebind
    the package attribute to the module of the same name, calling it still works."""

    def __call__(self, t: Tensor, file: TextIO | None | str = "stdout") -> GraphExplanation:
        return explain(t, file)


sys.modules[__name__].__class__ = _CallableModule
