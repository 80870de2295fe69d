"""The backward engine: walks the graph in reverse creation order, one pass per call.

Nodes run in decreasing sequence number, which is a topological order because a node is always
created after the nodes of its inputs. Gradients for each node output are summed in a buffer
before the node runs; with ``create_graph`` the whole pass is recorded, so it can be
differentiated again.
"""

from __future__ import annotations

from heapq import heappop, heappush
from operator import attrgetter

from .._state import STATE
from ..ops.core import AccumulateGrad, Node
from ..tensor import Tensor

__all__ = ["backward", "grad"]


def _as_list(x) -> list:
    if x is None:
        return []
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _root_grads(outputs: list[Tensor], grad_outputs: list) -> list[Tensor]:
    grads = []
    for k, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if not t._rg:
            raise RuntimeError(f"element {k} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; output {k} has shape {tuple(t.shape)}: "
                    f"pass gradient= (backward) or grad_outputs= (autograd.grad)"
                )
            xp = t._device._xp or t._device.xp
            g = Tensor._wrap(
                xp.array(1, dtype=t._data.dtype) if not t._data.shape else xp.ones(t._data.shape, dtype=t._data.dtype), t._device
            )
        elif not isinstance(g, Tensor):
            from .._functions import tensor

            g = tensor(g, dtype=t.dtype, device=t.device)
        elif g._data.shape != t._data.shape:
            raise RuntimeError(
                f"Mismatch in shape: grad_output[{k}] has a shape of {g.shape} and output[{k}] has a shape of {t.shape}"
            )
        elif g._device is not t._device:
            raise RuntimeError(f"grad_output[{k}] is on {g._device} but output[{k}] is on {t._device}")
        grads.append(g)
    return grads


_by_seq = attrgetter("_seq")


def _reachable(roots: list[Node]) -> list[Node]:
    """Every node reachable from ``roots``, children after their parents (decreasing sequence)."""
    seen = set()
    stack = list(roots)
    nodes = []
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        nodes.append(n)
        for e in n._edges:
            if e is not None and e[0] not in seen:
                stack.append(e[0])
    nodes.sort(key=_by_seq, reverse=True)
    return nodes


def _edge_of(t: Tensor):
    return (t.grad_fn, t._output_nr) if t.grad_fn is not None else (t._accumulator(), 0)


def run_backward(
    outputs: list[Tensor],
    grad_outputs: list[Tensor],
    retain_graph: bool,
    create_graph: bool,
    inputs: list[Tensor] | None = None,
    accumulate: bool = True,
) -> list[Tensor | None] | None:
    """The one engine behind ``Tensor.backward``, ``autograd.backward`` and ``autograd.grad``.

    With ``accumulate`` the gradients of leaves (or of ``inputs`` only, when given) go into
    ``.grad``; otherwise the gradients of ``inputs`` are returned and no ``.grad`` changes.

    Nodes wait in a heap keyed by sequence number from the moment their first gradient arrives:
    everything that can still feed a node was created after it, so it has run when the node is
    popped (PyTorch's ready queue); nodes no gradient reaches are never visited.
    """
    buffers: dict[Node, list] = {}
    heap: list = []
    for t, g in zip(outputs, grad_outputs):
        node, nr = _edge_of(t)
        if node not in buffers:
            heappush(heap, (-node._seq, id(node), node))
        _add(buffers, node, nr, g)

    capture: dict[tuple[Node, int], int] = {}
    needed = None
    if inputs is not None:
        for i, t in enumerate(inputs):
            if not t._rg:
                raise RuntimeError(f"one of the differentiated Tensors (input {i}) does not require grad")
            capture[_edge_of(t)] = i
        targets = {key[0] for key in capture}
        needed = set()
        for n in reversed(_reachable([entry[2] for entry in heap])):  # children before parents
            if n in targets or any(e is not None and e[0] in needed for e in n._edges):
                needed.add(n)
    results: list = [None] * (len(inputs) if inputs is not None else 0)

    handed_out: set[int] = {id(_owner(g._data)) for g in grad_outputs}
    anomaly = STATE.anomaly
    prev = STATE.grad_enabled
    STATE.grad_enabled = create_graph
    try:
        while heap:
            node = heappop(heap)[2]
            grads = buffers.pop(node)
            if needed is not None and node not in needed:
                continue
            if node.__class__ is AccumulateGrad:
                t = node.variable
                g = grads[0]
                if t._hooks:
                    for hook in list(t._hooks.values()):
                        r = hook(g)
                        if r is not None:
                            g = r
                if capture:
                    key = (node, 0)
                    if key in capture:
                        results[capture[key]] = g
                        if accumulate:
                            _accumulate(t, g, create_graph, handed_out)
                elif accumulate:
                    _accumulate(t, g, create_graph, handed_out)
                continue
            if node._tensor_hooks or node._pre_hooks or node._retained:
                grads = _pre_hooks(node, grads, create_graph)
            edges = node._edges
            if capture:
                for nr, g in enumerate(grads):
                    key = (node, nr)
                    if key in capture:
                        results[capture[key]] = g
                if not any(e is not None and e[0] in needed for e in edges):
                    continue
            gin = node.apply_backward(grads)
            if len(gin) != len(edges):
                raise RuntimeError(
                    f"function {node.name()} returned an incorrect number of gradients (expected {len(edges)}, got {len(gin)})"
                )
            if anomaly:
                _check_anomaly(node, gin)
            if node._hooks:
                for hook in list(node._hooks.values()):
                    r = hook(gin, grads)
                    if r is not None:
                        gin = tuple(r)
            for e, g in zip(edges, gin):
                if e is not None and g is not None:
                    nxt, nr = e
                    buf = buffers.get(nxt)
                    if buf is None:
                        if nxt._n_outputs == 1:
                            buffers[nxt] = [g]
                        else:
                            buf = buffers[nxt] = [None] * nxt._n_outputs
                            buf[nr] = g
                        heappush(heap, (-nxt._seq, id(nxt), nxt))
                    else:
                        buf[nr] = g if buf[nr] is None else buf[nr] + g
            if not retain_graph and node._saved is not None:
                node.release()
    finally:
        STATE.grad_enabled = prev
    return results if inputs is not None else None


def _add(buffers, node, nr, g) -> None:
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * node._n_outputs
    buf[nr] = g if buf[nr] is None else buf[nr] + g


def _pre_hooks(node: Node, grads: list, create_graph: bool) -> list:
    th = node._tensor_hooks
    if th:
        grads = list(grads)
        for nr, hooks in th.items():
            for hook in list(hooks.values()):
                if grads[nr] is not None:
                    r = hook(grads[nr])
                    if r is not None:
                        grads[nr] = r
    if node._pre_hooks:
        for hook in list(node._pre_hooks.values()):
            r = hook(tuple(grads))
            if r is not None:
                grads = list(r)
    retained = node._retained
    if retained:
        for nr, ref in retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                g = grads[nr] if create_graph else grads[nr].detach()
                t.grad = g if t.grad is None else t.grad + g
    return grads


def _owner(a):
    """The array owning ``a``'s memory (numpy and cupy keep ``base`` pointing at the owner)."""
    return a if a.base is None else a.base


def _accumulate(t: Tensor, g: Tensor, create_graph: bool, handed_out: set[int]) -> None:
    if g._data.dtype != t._data.dtype:
        from .._functions import _cast

        g = _cast(g, t._data.dtype)
    if g._data.shape != t._data.shape:
        raise RuntimeError(f"gradient of shape {tuple(g.shape)} cannot be accumulated into a leaf of shape {tuple(t.shape)}")
    if t.grad is None:
        if create_graph:
            t.grad = g
        else:
            data = g._data
            # .grad must own its memory: later backward passes add into it in place. A gradient
            # array is shared when its memory was already handed to another leaf (add passes one
            # array to both inputs; a reshape passes a view of it) or given by the caller, and
            # broadcast views are not writable (numpy) or alias (cupy: a zero stride)
            owner = _owner(data)
            if id(owner) in handed_out or not getattr(data.flags, "writeable", True) or (data.size > 1 and 0 in data.strides):
                data = data.copy()
                owner = data
            handed_out.add(id(owner))
            t.grad = Tensor._wrap(data, t._device)
    elif create_graph:
        t.grad = t.grad + g
    else:
        gd = t.grad._data
        if getattr(getattr(gd, "flags", None), "writeable", True) and gd.shape == g._data.shape:  # cupy flags have no writeable
            gd += g._data
            t.grad._vc[0] += 1
        else:
            t.grad = Tensor._wrap(gd + g._data, t._device)
    if t._post_acc_hooks:
        for hook in list(t._post_acc_hooks.values()):
            hook(t)


def _check_anomaly(node: Node, gin) -> None:
    for i, g in enumerate(gin):
        if g is None:
            continue
        xp = g._device.xp
        if not bool(xp.isfinite(g._data).all()):
            where = "".join(node._stack or []) or "(run the forward pass inside detect_anomaly() to see where it was created)\n"
            raise RuntimeError(
                f"Function '{node.name()}' returned nan or inf values in its {i}th output.\n"
                f"The forward call that created this node:\n{where}"
            )


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None) -> None:
    """Accumulate gradients of ``tensors`` into the ``.grad`` of leaves (or only of ``inputs``).

    >>> import einframe as ef
    >>> x = ef.tensor([1.0, 2.0], requires_grad=True)
    >>> ef.autograd.backward((x * x).sum())
    >>> x.grad
    tensor([2., 4.])
    """
    outputs = _as_list(tensors)
    gs = _as_list(grad_tensors) if grad_tensors is not None else [None] * len(outputs)
    if len(gs) != len(outputs):
        raise RuntimeError(f"got {len(gs)} gradients for {len(outputs)} tensors")
    if retain_graph is None:
        retain_graph = create_graph
    ins = _as_list(inputs) if inputs is not None else None
    run_backward(outputs, _root_grads(outputs, gs), retain_graph, create_graph, ins, accumulate=True)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (``.grad`` is untouched).

    >>> import einframe as ef
    >>> x = ef.tensor(3.0, requires_grad=True)
    >>> (g,) = ef.autograd.grad(x ** 3, x, create_graph=True)
    >>> ef.autograd.grad(g, x)[0]
    tensor(18.)
    """
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    gs = _as_list(grad_outputs) if grad_outputs is not None else [None] * len(outs)
    if len(gs) != len(outs):
        raise RuntimeError(f"grad_outputs has {len(gs)} entries but there are {len(outs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    res = run_backward(outs, _root_grads(outs, gs), retain_graph, create_graph, ins, accumulate=False)
    out = []
    for i, (t, g) in enumerate(zip(ins, res)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"One of the differentiated Tensors (input {i}) appears to not have been used in the graph. "
                    f"Set allow_unused=True if this is the desired behavior."
                )
            if materialize_grads:
                g = Tensor._wrap(t._device.xp.zeros_like(t._data), t._device)
        out.append(g)
    return tuple(out)
