"""Function transforms (``torch.func``-shaped): ``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``jacrev``, ``jacfwd``, ``hessian``, ``vmap``.

They compose the autograd engine and own no derivative rule: reverse-mode transforms call
``autograd.grad`` on fresh aliases of the arguments, ``jvp`` runs forward mode (every primitive's
``jvp`` from the primitive table). Reverse transforms nest (``grad(grad(f))``) and run inside
forward mode (``hessian = jacfwd(jacrev(f))``); forward mode itself does not nest (einframe keeps one
tangent per tensor), so ``jacfwd(jacfwd(f))`` raises and says to use ``jacrev`` for one level.

Arguments and results are tensors or tuples/lists of tensors.

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

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap"]


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


def _flat(out, name: str) -> tuple[list[Tensor], bool]:
    if isinstance(out, Tensor):
        return [out], False
    if isinstance(out, (tuple, list)) and all(isinstance(o, Tensor) for o in out):
        return list(out), True
    raise TypeError(f"{name}: expected the function to return a Tensor or a tuple of Tensors, got {type(out).__name__}")


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
            xs = [_alias(args[i]) for i in nums]
            for i, x in zip(nums, xs):
                args[i] = x
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
        gs = tuple(g if g is not None else _zeros_like(x) for g, x in zip(gs, xs))
        g = gs[0] if isinstance(argnums, int) else gs
        value = _detach_tree(out, keep)
        if has_aux:
            return g, (value, _detach_tree(aux, keep))
        return g, value

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function: ``grad(f)(x)`` is ``df/dx`` (a tuple for tuple ``argnums``).

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
    with enable_grad():
        xs = [_alias(p) for p in primals]
        out, aux = _split_aux(func(*xs), has_aux, "vjp")
    outs, is_seq = _flat(out, "vjp")
    keep = outer and _reaches_outside(outs, xs)

    def vjp_fn(cotangents):
        cts, _ = _flat(cotangents, "vjp_fn") if isinstance(cotangents, (Tensor, tuple, list)) else (None, None)
        if cts is None or len(cts) != len(outs):
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
        return tuple(g if g is not None else _zeros_like(x) for g, x in zip(gs, xs))

    value = _detach_tree(out, keep)
    if has_aux:
        return value, vjp_fn, _detach_tree(aux, keep)
    return value, vjp_fn


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
        out, aux = _split_aux(func(*duals), has_aux, "jvp")
        outs, is_seq = _flat(out, "jvp")
        touts = [o._tangent if o._tangent is not None else _zeros_like(o) for o in outs]
        # the primal results: new tensors without the tangent (the dual level drops it on exit anyway)
        values = list(outs)
    result_t = tuple(touts) if is_seq else touts[0]
    result_v = tuple(values) if is_seq else values[0]
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
        outs, is_seq = _flat(out, "jacrev")
        jac = []
        for k, o in enumerate(outs):
            rows: list[list[Tensor]] = [[] for _ in nums]
            for j in range(int(o._data.size)):
                cts = [_basis(o2, j) if k2 == k else _zeros_like(o2) for k2, o2 in enumerate(outs)]
                gs = fn(tuple(cts) if is_seq else cts[0])
                for r, g in zip(rows, gs):
                    r.append(g)
            per_arg = []
            for r, i in zip(rows, nums):
                x = args[i]
                shape = (*o.shape, *x.shape)
                per_arg.append(
                    F.stack(r).reshape(shape) if r else Tensor._wrap(x._device.xp.zeros(shape, dtype=x._data.dtype), x._device)
                )
            jac.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        result = tuple(jac) if is_seq else jac[0]
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

        cols: list[list[list[Tensor]]] = []  # [arg][element] -> tangent of each output
        out = aux = None
        for a, x in enumerate(primals):
            cols.append([])
            for j in range(int(x._data.size)):
                tangents = tuple(_basis(p, j) if b == a else _zeros_like(p) for b, p in enumerate(primals))
                res = jvp(f, primals, tangents, has_aux=has_aux)
                out, t = res[0], res[1]
                if has_aux:
                    aux = res[2]
                cols[a].append(list(t) if isinstance(t, tuple) else [t])
        if out is None:  # every argument is empty
            out = f(*primals)
            if has_aux:
                out, aux = out
        outs, is_seq = _flat(out, "jacfwd")
        jac = []
        for k, o in enumerate(outs):
            per_arg = []
            for a, x in enumerate(primals):
                shape = (*o.shape, *x.shape)
                if cols[a]:
                    col = F.stack([c[k] for c in cols[a]], dim=-1)  # out.shape + (x.numel,)
                    per_arg.append(col.reshape(shape))
                else:
                    per_arg.append(Tensor._wrap(x._device.xp.zeros(shape, dtype=x._data.dtype), x._device))
            jac.append(per_arg[0] if isinstance(argnums, int) else tuple(per_arg))
        result = tuple(jac) if is_seq else jac[0]
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
        moved = []
        for k, (a, d) in enumerate(zip(args, dims)):
            if d is None:
                moved.append(a)
                continue
            if not isinstance(a, Tensor):
                raise ValueError(
                    f"vmap: in_dims[{k}]={d} but argument {k} is a {type(a).__name__}, not a Tensor; use None for it"
                )
            if not -a.ndim <= d < a.ndim:
                raise ValueError(f"vmap: in_dims[{k}]={d} is out of range for argument {k} of shape {tuple(a.shape)}")
            d = d % a.ndim
            sizes.add(a.shape[d])
            moved.append(_moved(a, d))
        if not sizes:
            raise ValueError("vmap: at least one argument must be mapped (in_dims are all None)")
        if len(sizes) != 1:
            raise ValueError(
                f"vmap: expected all mapped arguments to have the same size in the mapped dimension, got sizes {sorted(sizes)}"
            )
        (n,) = sizes
        mapped = [d is not None for d in dims]

        fast = _einsum_fast_path(func, moved, mapped, kwargs)
        if fast is not None:
            return _place(fast, out_dims)
        results = []
        for i in range(n):
            results.append(func(*[a[i] if m else a for a, m in zip(moved, mapped)], **kwargs))
        first = results[0]
        if isinstance(first, Tensor):
            return _place(F.stack(results), out_dims)
        if isinstance(first, (tuple, list)) and all(isinstance(r, Tensor) for r in first):
            od = out_dims if isinstance(out_dims, (tuple, list)) else (out_dims,) * len(first)
            return type(first)(_place(F.stack([r[k] for r in results]), od[k]) for k in range(len(first)))
        raise TypeError(f"vmap: the function must return a Tensor or a tuple of Tensors, got {type(first).__name__}")

    return wrapper


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
