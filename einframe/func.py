"""Function transforms (``torch.func``-shaped): ``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``jacrev``, ``jacfwd``, ``hessian``, ``vmap``; and the functional module API: ``functional_call``,
``stack_module_state`` (``functionalize`` is the identity).

They compose the autograd engine and own no derivative rule: reverse-mode transforms call
``autograd.grad`` on fresh aliases of the arguments, ``jvp`` runs forward mode (every primitive's
``jvp`` from the primitive table). Reverse transforms nest (``grad(grad(f))``) and run inside
forward mode (``hessian = jacfwd(jacrev(f))``); forward mode itself does not nest (einframe keeps one
tangent per tensor), so ``jacfwd(jacfwd(f))`` raises and says to use ``jacrev`` for one level.

Arguments and results are tensors or (nested) tuples/lists/dicts of tensors, e.g. the dict of
parameters that ``functional_call`` takes.

>>> import einframe as ef
>>> f = lambda x: (x ** 3).sum()
>>> ef.func.grad(f)(ef.tensor([1.0, 2.0]))
tensor([ 3., 12.])
>>> ef.func.grad(ef.func.grad(lambda x: x ** 3))(ef.tensor(2.0))
tensor(12.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from . import _functions as F
from ._state import STATE
from .autograd.engine import grad as _autograd_grad
from .autograd.forward_ad import _attach, dual_level, make_dual
from .autograd.grad_mode import enable_grad
from .ops.core import AccumulateGrad
from .ops.view import Reshape
from .tensor import Tensor

__all__ = [
    "grad",
    "grad_and_value",
    "vjp",
    "jvp",
    "linearize",
    "jacrev",
    "jacfwd",
    "hessian",
    "vmap",
    "functional_call",
    "stack_module_state",
    "functionalize",
]


# ------------------------------------------------------------------------------------------------
# pytrees: arguments and results may be nested tuples/lists/dicts of tensors (a dict of parameters
# from ``functional_call``, for example); the transforms work on their leaves.


def _tree_flatten(x) -> tuple[list, Any]:
    """The leaves of ``x`` (depth first, dicts in insertion order) and a spec to rebuild it."""
    if isinstance(x, (tuple, list)):
        leaves: list = []
        specs = []
        for v in x:
            lv, s = _tree_flatten(v)
            leaves.extend(lv)
            specs.append(s)
        return leaves, (type(x), None, tuple(specs))
    if isinstance(x, dict):
        leaves, specs = [], []
        for v in x.values():
            lv, s = _tree_flatten(v)
            leaves.extend(lv)
            specs.append(s)
        return leaves, (type(x), tuple(x), tuple(specs))
    return [x], None


def _tree_unflatten(leaves, spec):
    it = iter(leaves)
    out = _build(it, spec)
    rest = sum(1 for _ in it)
    if rest:
        raise RuntimeError(f"internal error: {rest} leaves left over when rebuilding a pytree")
    return out


def _build(it, spec):
    if spec is None:
        return next(it)
    typ, keys, specs = spec
    children = [_build(it, s) for s in specs]
    if keys is not None:
        return typ(zip(keys, children))
    if hasattr(typ, "_fields"):  # namedtuple
        return typ(*children)
    return typ(children)


def _alias(x: Tensor) -> Tensor:
    """A new tensor for ``x`` that the transform differentiates with respect to.

    It stays connected to ``x``'s graph (and carries its tangent), so outer transforms see through it.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a Tensor argument to differentiate, got {type(x).__name__}")
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"can only differentiate with respect to floating point tensors, got {x.dtype}")
    if x._rg:
        with enable_grad():
            return Reshape(x._data.shape)(x)
    a = x.detach().requires_grad_(True)
    if x._tangent is not None:
        _attach(a, x._tangent)
    return a


def _nums(argnums, nargs: int, name: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(f"{name}: argnums {argnums} is out of range for a function called with {nargs} positional arguments")
    return tuple(n % nargs for n in nums)


def _flat(out, name: str) -> tuple[list[Tensor], Any]:
    """The tensor leaves of a result (a Tensor, or nested tuples/lists/dicts of them) and its spec."""
    leaves, spec = _tree_flatten(out)
    if not leaves or not all(isinstance(o, Tensor) for o in leaves):
        raise TypeError(
            f"{name}: expected the function to return a Tensor or a tuple/list/dict of Tensors, got {type(out).__name__}"
        )
    return leaves, spec


def _alias_args(args: list, nums: Sequence[int]) -> tuple[list[Tensor], list]:
    """Replace ``args[i]`` (``i`` in ``nums``) by fresh aliases of its tensor leaves.

    Returns the aliases, flat, and the layout ``[(number of leaves, spec)]`` to regroup results by argument.
    """
    xs: list[Tensor] = []
    layout = []
    for i in nums:
        leaves, spec = _tree_flatten(args[i])
        aliases = [_alias(v) for v in leaves]
        args[i] = _tree_unflatten(aliases, spec)
        xs.extend(aliases)
        layout.append((len(aliases), spec))
    return xs, layout


def _regroup(flat: Sequence, layout: list) -> list:
    out, k = [], 0
    for n, spec in layout:
        out.append(_tree_unflatten(flat[k : k + n], spec))
        k += n
    return out


def _reaches_outside(outs: Sequence[Tensor], own: Sequence[Tensor]) -> bool:
    """Whether the graph of ``outs`` reaches a leaf other than the transform's own fresh leaves.

    Then the results must keep their graph, so that an enclosing transform or ``backward`` can
    differentiate them (closures over parameters, nested transforms); otherwise they are detached.
    """
    own_ids = {id(t) for t in own}
    stack = [o.grad_fn if o.grad_fn is not None else o._accumulator() for o in outs if isinstance(o, Tensor) and o._rg]
    seen = set()
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if isinstance(n, AccumulateGrad):
            if id(n.variable) not in own_ids:
                return True
            continue
        stack.extend(e[0] for e in n._edges if e is not None)
    return False


def _zeros_like(x: Tensor) -> Tensor:
    return Tensor._wrap(x._device.xp.zeros_like(x._data), x._device)


def _split_aux(out, has_aux: bool, name: str):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{name}(f, has_aux=True): expected f to return a tuple (output, aux), got {type(out).__name__}")
    return out


def _detach_tree(x, keep: bool):
    if keep:
        return x
    if isinstance(x, Tensor):
        return x.detach()
    if isinstance(x, tuple):
        return tuple(_detach_tree(v, keep) for v in x)
    if isinstance(x, list):
        return [_detach_tree(v, keep) for v in x]
    if isinstance(x, dict):
        return {k: _detach_tree(v, keep) for k, v in x.items()}
    return x


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """Like :func:`grad`, but the new function returns ``(gradient, value)``.

    >>> import einframe as ef
    >>> g, v = ef.func.grad_and_value(lambda x: (x * x).sum())(ef.tensor([1.0, 2.0]))
    >>> g, v
    (tensor([2., 4.]), tensor(5.))
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _nums(argnums, len(args), "grad")
        outer = STATE.grad_enabled
        args = list(args)
        with enable_grad():
            xs, layout = _alias_args(args, nums)
            out, aux = _split_aux(func(*args, **kwargs), has_aux, "grad")
            if not isinstance(out, Tensor) or out._data.size != 1:
                got = f"a tensor of shape {tuple(out.shape)}" if isinstance(out, Tensor) else type(out).__name__
                raise RuntimeError(
                    f"grad(f)(*args): expected f(*args) to return a scalar Tensor (one element), got {got}; "
                    f"reduce it (.sum()) or use jacrev/vjp for non-scalar outputs"
                )
            keep = outer and _reaches_outside([out], xs)
            if out._rg:
                gs = _autograd_grad(out, xs, create_graph=keep, allow_unused=True)
            else:
                gs = (None,) * len(xs)
        gs = _regroup([g if g is not None else _zeros_like(x) for g, x in zip(gs, xs)], layout)
        g = gs[0] if isinstance(argnums, int) else tuple(gs)
        value = _detach_tree(out, keep)
        if has_aux:
            return g, (value, _detach_tree(aux, keep))
        return g, value

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function: ``grad(f)(x)`` is ``df/dx`` (a tuple for tuple ``argnums``).

    An argument may be a tuple/list/dict of tensors (a dict of parameters for
    :func:`functional_call`): its gradient has the same structure.

    With ``has_aux=True``, ``f`` returns ``(value, aux)`` and the new function ``(gradient, aux)``.

    >>> import einframe as ef
    >>> ef.func.grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(ef.tensor([1.0]), ef.tensor([3.0]))
    (tensor([3.]), tensor([1.]))
    """
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals: Tensor, has_aux: bool = False):
    """``(output, vjp_fn)``: ``vjp_fn(cotangent)`` gives ``cotangent^T J`` for each primal (a tuple).

    ``vjp_fn`` can be called many times.

    >>> import einframe as ef
    >>> out, fn = ef.func.vjp(lambda x: x * x, ef.tensor([1.0, 2.0]))
    >>> fn(ef.tensor([1.0, 1.0]))
    (tensor([2., 4.]),)
    """
    outer = STATE.grad_enabled
    args = list(primals)
    with enable_grad():
        xs, layout = _alias_args(args, range(len(args)))
        out, aux = _split_aux(func(*args), has_aux, "vjp")
    outs, _ = _flat(out, "vjp")
    keep = outer and _reaches_outside(outs, xs)

    def vjp_fn(cotangents):
        cts = _tree_flatten(cotangents)[0]
        if len(cts) != len(outs) or not all(isinstance(c, Tensor) for c in cts):
            raise RuntimeError(f"vjp_fn: expected {len(outs)} cotangent(s) matching the outputs of f, got {cotangents!r:.80}")
        for k, (o, c) in enumerate(zip(outs, cts)):
            if tuple(o.shape) != tuple(c.shape):
                raise RuntimeError(
                    f"vjp_fn: cotangent {k} has shape {tuple(c.shape)} but output {k} of f has shape {tuple(o.shape)}"
                )
        pairs = [(o, c) for o, c in zip(outs, cts) if o._rg]
        keep_now = keep or (STATE.grad_enabled and any(c._rg for c in cts))
        if pairs:
            with enable_grad():
                gs = _autograd_grad(
                    [o for o, _ in pairs], xs, [c for _, c in pairs], retain_graph=True, create_graph=keep_now, allow_unused=True
                )
        else:
            gs = (None,) * len(xs)
        return tuple(_regroup([g if g is not None else _zeros_like(x) for g, x in zip(gs, xs)], layout))

    value = _detach_tree(out, keep)
    if has_aux:
        return value, vjp_fn, _detach_tree(aux, keep)
    return value, vjp_fn


def linearize(func: Callable, *primals: Tensor):
    """``(func(*primals), jvp_fn)`` with ``jvp_fn(*tangents)`` the Jacobian-vector product at ``primals``
    (each call runs forward mode at the fixed primals).

    >>> import einframe as ef
    >>> out, jvp_fn = ef.func.linearize(lambda x: x.sin(), ef.tensor([0.0, 1.0]))
    >>> [round(v, 4) for v in jvp_fn(ef.tensor([1.0, 1.0])).tolist()]
    [1.0, 0.5403]
    """
    fixed = tuple(p.detach() for p in primals)
    out = func(*fixed)

    def jvp_fn(*tangents: Tensor):
        return jvp(func, fixed, tangents)[1]

    return out, jvp_fn


def jvp(func: Callable, primals: Sequence[Tensor], tangents: Sequence[Tensor], *, has_aux: bool = False):
    """``(func(*primals), J @ tangents)`` by forward mode: one pass, the primitives' jvp rules.

    >>> import einframe as ef
    >>> out, t = ef.func.jvp(lambda x: x.sin(), (ef.tensor([0.0]),), (ef.tensor([2.0]),))
    >>> t
    tensor([2.])
    """
    if isinstance(primals, Tensor) or isinstance(tangents, Tensor):
        raise TypeError("jvp(f, primals, tangents): primals and tangents must be tuples of Tensors, e.g. jvp(f, (x,), (v,))")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise RuntimeError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents; give one tangent per primal")
    primals, spec = _tree_flatten(primals)
    tangents, tspec = _tree_flatten(tangents)
    if spec[2] != tspec[2]:
        raise RuntimeError("jvp: the tangents must have the same structure (tuples/lists/dicts) as the primals")
    for k, (p, t) in enumerate(zip(primals, tangents)):
        if not isinstance(p, Tensor) or not isinstance(t, Tensor):
            raise TypeError(f"jvp: primal and tangent {k} must be Tensors, got {type(p).__name__} and {type(t).__name__}")
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(
                f"jvp: tangent {k} has shape {tuple(t.shape)} but primal {k} has shape {tuple(p.shape)}; they must match"
            )
    if STATE.fwd_level > 0:
        raise RuntimeError(
            "jvp/jacfwd cannot run inside another forward-mode transform (jvp, jacfwd or forward_ad.dual_level): "
            "einframe keeps one tangent per tensor. Use jacrev (reverse mode) for one of the two levels, "
            "e.g. hessian = jacfwd(jacrev(f))"
        )
    with dual_level():
        duals = [make_dual(p, t) for p, t in zip(primals, tangents)]
        out, aux = _split_aux(func(*_tree_unflatten(duals, spec)), has_aux, "jvp")
        outs, out_spec = _flat(out, "jvp")
        touts = [o._tangent if o._tangent is not None else _zeros_like(o) for o in outs]
        # the primal results: new tensors without the tangent (the dual level drops it on exit anyway)
        values = list(outs)
    result_t = _tree_unflatten(touts, out_spec)
    result_v = _tree_unflatten(values, out_spec)
    if has_aux:
        return result_v, result_t, aux
    return result_v, result_t


def _basis(x: Tensor, j: int) -> Tensor:
    e = x._device.xp.zeros(x._data.size, dtype=x._data.dtype)
    e[j] = 1
    return Tensor._wrap(e.reshape(x._data.shape), x._device)


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False) -> Callable:
    """The Jacobian by reverse mode (one vjp per output element): shape ``out.shape + x.shape``.

    >>> import einframe as ef
    >>> ef.func.jacrev(lambda x: x * x)(ef.tensor([1.0, 2.0]))
    tensor([[2., 0.],
            [0., 4.]])
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _nums(argnums, len(args), "jacrev")

        def f(*xs):
            a = list(args)
            for i, x in zip(nums, xs):
                a[i] = x
            return func(*a, **kwargs)

        res = vjp(f, *(args[i] for i in nums), has_aux=has_aux)
        out, fn = res[0], res[1]
        outs, out_spec = _flat(out, "jacrev")
        arg_trees = [_tree_flatten(args[i]) for i in nums]  # (leaves, spec) per differentiated argument
        jac = []
        for k, o in enumerate(outs):
            rows = [[[] for _ in leaves] for leaves, _ in arg_trees]  # [argument][leaf] -> one vjp per element of o
            for j in range(int(o._data.size)):
                cts = [_basis(o2, j) if k2 == k else _zeros_like(o2) for k2, o2 in enumerate(outs)]
                for a, g in enumerate(fn(_tree_unflatten(cts, out_spec))):
                    for r, gl in zip(rows[a], _tree_flatten(g)[0]):
                        r.append(gl)
            per_arg = []
            for (leaves, spec), arg_rows in zip(arg_trees, rows):
                per_leaf = []
                for r, x in zip(arg_rows, leaves):
                    shape = (*o.shape, *x.shape)
                    per_leaf.append(
                        F.stack(r).reshape(shape)
                        if r
                        else Tensor._wrap(x._device.xp.zeros(shape, dtype=x._data.dtype), x._device)
                    )
                per_arg.append(_tree_unflatten(per_leaf, spec))
            jac.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        result = _tree_unflatten(jac, out_spec)
        return (result, res[2]) if has_aux else result

    return wrapper


def jacfwd(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False) -> Callable:
    """The Jacobian by forward mode (one jvp per input element): shape ``out.shape + x.shape``.

    >>> import einframe as ef
    >>> ef.func.jacfwd(lambda x: ef.einsum("ij,j->i", ef.ones(2, 3), x))(ef.zeros(3))
    tensor([[1., 1., 1.],
            [1., 1., 1.]])
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        nums = _nums(argnums, len(args), "jacfwd")
        primals = tuple(args[i] for i in nums)

        def f(*xs):
            a = list(args)
            for i, x in zip(nums, xs):
                a[i] = x
            return func(*a, **kwargs)

        flat, spec = _tree_flatten(primals)
        for x in flat:
            if not isinstance(x, Tensor):
                raise TypeError(f"jacfwd: expected Tensors to differentiate, got a {type(x).__name__}")
        cols: list[list[list[Tensor]]] = []  # [leaf][element] -> tangent of each output
        out = aux = None
        for a, x in enumerate(flat):
            cols.append([])
            for j in range(int(x._data.size)):
                tangents = _tree_unflatten([_basis(p, j) if b == a else _zeros_like(p) for b, p in enumerate(flat)], spec)
                res = jvp(f, primals, tangents, has_aux=has_aux)
                out, t = res[0], res[1]
                if has_aux:
                    aux = res[2]
                cols[a].append(_tree_flatten(t)[0])
        if out is None:  # every argument is empty
            out = f(*primals)
            if has_aux:
                out, aux = out
        outs, out_spec = _flat(out, "jacfwd")
        layout = [(len(_tree_flatten(p)[0]), _tree_flatten(p)[1]) for p in primals]
        jac = []
        for k, o in enumerate(outs):
            per_leaf = []
            for a, x in enumerate(flat):
                shape = (*o.shape, *x.shape)
                if cols[a]:
                    col = F.stack([c[k] for c in cols[a]], dim=-1)  # out.shape + (x.numel,)
                    per_leaf.append(col.reshape(shape))
                else:
                    per_leaf.append(Tensor._wrap(x._device.xp.zeros(shape, dtype=x._data.dtype), x._device))
            per_arg = _regroup(per_leaf, layout)
            jac.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        result = _tree_unflatten(jac, out_spec)
        return (result, aux) if has_aux else result

    return wrapper


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Hessian of a scalar function, ``jacfwd(jacrev(func))``: shape ``x.shape + x.shape``.

    >>> import einframe as ef
    >>> ef.func.hessian(lambda x: (x ** 3).sum())(ef.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)


# ------------------------------------------------------------------------------------------------
# vmap


def _moved(x, d):
    """``x`` with mapped dim ``d`` (int or None) moved to the front."""
    if d is None or not isinstance(x, Tensor):
        return x
    if d != 0:
        return _movedim(x, d)
    return x


def _movedim(x: Tensor, d: int) -> Tensor:
    perm = [d] + [i for i in range(x.ndim) if i != d]
    return x.permute(*perm)


def _implicit_out(lhs: str) -> str:
    terms = lhs.split(",")
    counts: dict[str, int] = {}
    ell = False
    for term in terms:
        if "..." in term:
            ell = True
        for c in term.replace("...", ""):
            counts[c] = counts.get(c, 0) + 1
    return ("..." if ell else "") + "".join(sorted(c for c, n in counts.items() if n == 1))


def _batched_equation(eq: str, mapped: Sequence[bool]) -> str:
    """``eq`` with a new batch label leading every mapped operand and the output."""
    eq = eq.replace(" ", "")
    lhs, _, rhs = eq.partition("->")
    if "->" not in eq:
        rhs = _implicit_out(lhs)
    used = set(eq)
    label = next(c for c in "ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjihgfedcba" if c not in used)
    terms = lhs.split(",")
    if len(terms) != len(mapped):
        raise RuntimeError(f"vmap: equation '{eq}' has {len(terms)} operands, got {len(mapped)}")
    terms = [label + t if m else t for t, m in zip(terms, mapped)]
    return ",".join(terms) + "->" + label + rhs


def vmap(
    func: Callable,
    in_dims: int | None | Sequence[int | None] = 0,
    out_dims: int | Sequence[int] = 0,
    randomness: str = "error",
    *,
    chunk_size: int | None = None,
) -> Callable:
    """Map ``func`` over a dimension of its arguments (``in_dims``; None = not mapped).

    Einsum-declared work batches as a new label of the equation: ``vmap(ef.einsum)`` and
    ``vmap(F.apply)`` for a ``Function`` with ``equation`` run one contraction. Any other function
    is called once per batch element and the results are stacked along ``out_dims`` (still
    differentiable, just not fused).

    >>> import einframe as ef
    >>> xs, w = ef.ones(5, 3), ef.ones(4, 3)
    >>> ef.func.vmap(lambda x: ef.einsum("i,oi->o", x, w))(xs).shape
    einframe.Size([5, 4])
    >>> ef.func.vmap(ef.einsum, in_dims=(None, 0, None))("i,oi->o", xs, w).shape
    einframe.Size([5, 4])
    """
    if randomness not in ("error", "different", "same"):
        raise ValueError(f"vmap: randomness must be 'error', 'different' or 'same', got {randomness!r}")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        dims = (in_dims,) * len(args) if isinstance(in_dims, int) or in_dims is None else tuple(in_dims)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries but the function got {len(args)} positional arguments")
        sizes = set()
        trees = []  # per argument: (leaves moved so the mapped dim leads, mapped per leaf, spec)
        for k, (a, d) in enumerate(zip(args, dims)):
            leaves, spec = _tree_flatten(a)
            leaf_dims = _leaf_dims(d, a, k)
            moved, mapped = [], []
            for leaf, ld in zip(leaves, leaf_dims):
                if ld is None:
                    moved.append(leaf)
                    mapped.append(False)
                    continue
                if not isinstance(leaf, Tensor):
                    raise ValueError(
                        f"vmap: in_dims[{k}]={ld} but argument {k} is (or holds) a {type(leaf).__name__}, not a Tensor; "
                        f"use None for it"
                    )
                if not -leaf.ndim <= ld < leaf.ndim:
                    raise ValueError(f"vmap: in_dims[{k}]={ld} is out of range for argument {k} of shape {tuple(leaf.shape)}")
                ld = ld % leaf.ndim
                sizes.add(leaf.shape[ld])
                moved.append(_moved(leaf, ld))
                mapped.append(True)
            trees.append((moved, mapped, spec))
        if not sizes:
            raise ValueError("vmap: at least one argument must be mapped (in_dims are all None)")
        if len(sizes) != 1:
            raise ValueError(
                f"vmap: expected all mapped arguments to have the same size in the mapped dimension, got sizes {sorted(sizes)}"
            )
        (n,) = sizes

        if all(spec is None for _, _, spec in trees):
            fast = _einsum_fast_path(func, [m[0] for m, _, _ in trees], [mp[0] for _, mp, _ in trees], kwargs)
            if fast is not None:
                return _place(fast, out_dims)
        results = []
        for i in range(n):
            call = [_tree_unflatten([v[i] if m else v for v, m in zip(moved, mapped)], spec) for moved, mapped, spec in trees]
            results.append(func(*call, **kwargs))
        return _stack_results(results, out_dims)

    return wrapper


def _leaf_dims(d, arg, k: int) -> list:
    """The in_dim of every leaf of ``arg``: an int/None applies to all of them, a tuple/list/dict
    ``d`` must have ``arg``'s structure (as PyTorch's pytree in_dims)."""
    if d is None or isinstance(d, int):
        return [d] * len(_tree_flatten(arg)[0])
    if isinstance(d, (tuple, list)) and isinstance(arg, (tuple, list)) and len(d) == len(arg):
        return [ld for dd, a in zip(d, arg) for ld in _leaf_dims(dd, a, k)]
    if isinstance(d, dict) and isinstance(arg, dict) and set(d) == set(arg):
        return [ld for key, a in arg.items() for ld in _leaf_dims(d[key], a, k)]
    raise ValueError(
        f"vmap: in_dims[{k}] must be an int, None, or a tuple/list/dict with the structure of argument {k}; "
        f"got {d!r:.80} for a {type(arg).__name__}"
    )


def _stack_results(results: list, out_dims) -> Any:
    """Stack the per-element results of a looped vmap leaf by leaf, placing the new dim at ``out_dims``."""
    leaves0, spec = _tree_flatten(results[0])
    if not all(isinstance(v, Tensor) for v in leaves0):
        raise TypeError(
            f"vmap: the function must return a Tensor or a tuple/list/dict of Tensors, got {type(results[0]).__name__}"
        )
    flat = [_tree_flatten(r)[0] for r in results]
    if any(len(f) != len(leaves0) for f in flat):
        raise RuntimeError("vmap: the function returned results of different structures for different batch elements")
    if isinstance(out_dims, (tuple, list)) and isinstance(results[0], (tuple, list)):
        if len(out_dims) != len(results[0]):
            raise ValueError(f"vmap: out_dims has {len(out_dims)} entries but the function returned {len(results[0])} outputs")
        leaf_dims = _leaf_dims(tuple(out_dims), tuple(results[0]), 0)
    else:
        od = out_dims[0] if isinstance(out_dims, (tuple, list)) else out_dims
        leaf_dims = [od] * len(leaves0)
    stacked = [_place(F.stack([f[j] for f in flat]), d) for j, d in enumerate(leaf_dims)]
    return _tree_unflatten(stacked, spec)


def _place(t: Tensor, out_dim) -> Tensor:
    if isinstance(out_dim, (tuple, list)):
        out_dim = out_dim[0]
    if out_dim is None or out_dim == 0:
        return t
    d = out_dim % t.ndim
    perm = list(range(1, t.ndim))
    perm.insert(d, 0)
    return t.permute(*perm)


def _einsum_fast_path(func, args: list, mapped: list[bool], kwargs: dict) -> Any:
    """vmap of an einsum is the einsum with one more label; None when ``func`` is not one."""
    if kwargs:
        return None
    if func is F.einsum and args and isinstance(args[0], str) and not mapped[0]:
        ops = args[1:]
        if len(ops) == 1 and isinstance(ops[0], (list, tuple)):
            return None
        return F.einsum(_batched_equation(args[0], mapped[1:]), *ops)
    owner = getattr(func, "__self__", None)
    if getattr(func, "__name__", "") == "apply" and isinstance(owner, type) and getattr(owner, "equation", None):
        return F.einsum(_batched_equation(owner.equation, mapped), *args)
    return None


# ------------------------------------------------------------------------------------------------
# the functional module API


def functional_call(
    module,
    parameter_and_buffer_dicts: dict[str, Tensor] | Sequence[dict[str, Tensor]],
    args: Any = None,
    kwargs: dict[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """Call ``module(*args, **kwargs)`` with the named parameters/buffers replaced by the given tensors.

    ``parameter_and_buffer_dicts`` maps dotted names (``"0.weight"``, ``"bn.running_mean"``) to
    tensors; a tuple/list of dicts with distinct keys is merged. Names the module does not have are
    set as attributes for the call. The module's own tensors are back afterwards, also when
    ``forward`` raises. With ``tie_weights`` (default) a tensor the module uses under several names
    is replaced under all of them (different values for them are an error); ``strict=True``
    requires exactly the module's names (``RuntimeError`` naming missing and unexpected keys).
    A module that changes a given tensor in place (BatchNorm's running statistics in training)
    changes the tensor in the dict; one that reassigns it has the new tensor written back into the dict.
    ``args`` that is not a tuple is the single positional argument.

    This makes a module a function of its parameters, so the transforms apply to it:

    >>> import einframe as ef
    >>> from einframe import nn
    >>> model = nn.Linear(3, 1)
    >>> params = {k: v.detach() for k, v in model.named_parameters()}
    >>> def loss(params, x, y):
    ...     return ((functional_call(model, params, (x,)) - y) ** 2).mean()
    >>> x, y = ef.randn(8, 3), ef.randn(8, 1)
    >>> grads = ef.func.grad(loss)(params, x, y)
    >>> {k: tuple(g.shape) for k, g in grads.items()}
    {'weight': (1, 3), 'bias': (1,)}
    >>> per_sample = ef.func.vmap(ef.func.grad(loss), in_dims=(None, 0, 0))(params, x, y)
    >>> tuple(per_sample["weight"].shape)
    (8, 1, 3)
    """
    from .nn.utils.stateless import _functional_call

    if isinstance(parameter_and_buffer_dicts, dict):
        parameters_and_buffers = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, (tuple, list)):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts: dict[str, int] = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, c in counts.items() if c > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional call is ambiguous")
        parameters_and_buffers = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError(
            "Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, "
            f"but got {type(parameter_and_buffer_dicts)}"
        )
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)


def stack_module_state(models) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """``(params, buffers)``: the parameters and buffers of ``models`` stacked along a new leading dim.

    For model ensembling with :func:`vmap` over :func:`functional_call`. The models must be of one
    class and in one training mode. The stacked parameters are new leaves (detached from the
    models) that require grad, so an optimizer can train them directly.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> models = [nn.Linear(3, 2) for _ in range(4)]
    >>> params, buffers = ef.func.stack_module_state(models)
    >>> tuple(params["weight"].shape), params["weight"].is_leaf, params["weight"].requires_grad
    ((4, 2, 3), True, True)
    >>> def fmodel(params, buffers, x):
    ...     return ef.func.functional_call(models[0], (params, buffers), (x,))
    >>> ef.func.vmap(fmodel, in_dims=(0, 0, None))(params, buffers, ef.randn(5, 3)).shape
    einframe.Size([4, 5, 2])
    """
    models = list(models)
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(tensors: list[Tensor], name: str) -> Tensor:
        rg = [t.requires_grad for t in tensors]
        if any(rg) and not all(rg):
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        out = F.stack([t.detach() for t in tensors])
        return out.requires_grad_(True) if all(rg) else out

    all_params = [dict(m.named_parameters()) for m in models]
    params = {k: stacked([p[k] for p in all_params], k) for k in all_params[0]}
    all_buffers = [dict(m.named_buffers()) for m in models]
    buffers = {k: stacked([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``func`` itself. PyTorch's ``functionalize`` rewrites in-place operations and views as
    out-of-place ones for its compilers; einframe runs eagerly and has no such graph, so the
    function is returned unchanged (it computes the same values).

    >>> import einframe as ef
    >>> f = lambda x: x.clone().add_(1)
    >>> ef.func.functionalize(f)(ef.zeros(2))
    tensor([1., 1.])
    """
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize called with remove={remove!r}; expected 'mutations' or 'mutations_and_views'")
    return func
