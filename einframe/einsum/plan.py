"""Contraction plans: a pairwise order from opt_einsum, every pairwise step run as (batched) matmul.

opt_einsum's own executor falls back to a slow einsum loop whenever a label is shared by both
inputs and the output (attention, grouped conv); here each step transposes and reshapes its two
operands to ``(B, M, K) @ (B, K, N)`` so batch labels reach BLAS too (reference notes §4).
Plans are cached by (canonical equation, shapes, dtype, backend) in a bounded LRU cache.
"""

from __future__ import annotations

from collections import OrderedDict
from math import prod

import numpy as np
import opt_einsum as oe

from .parse import Canon, canonicalize

__all__ = ["Plan", "get_plan", "plan_cache", "canon_for"]


def _letters(labels) -> dict[int, str]:
    return {x: oe.get_symbol(i) for i, x in enumerate(dict.fromkeys(labels))}


_ONES: dict = {}


def _ones(n: int, dtype) -> np.ndarray:
    o = _ONES.get((n, dtype))
    if o is None:
        o = _ONES[n, dtype] = np.ones(n, dtype)
        o.flags.writeable = False
    return o


class _Unary:
    """Take diagonals of repeated labels, then sum the labels nobody needs later."""

    __slots__ = ("diag_eq", "sum_axes", "labels", "fresh", "active", "rows_n")

    def __init__(self, labels: tuple[int, ...], keep: set[int], size: dict[int, int] | None = None):
        uniq = tuple(dict.fromkeys(labels))
        self.diag_eq = None
        if len(uniq) != len(labels):
            sym = _letters(labels)
            self.diag_eq = "".join(sym[x] for x in labels) + "->" + "".join(sym[x] for x in uniq)
        self.sum_axes = tuple(i for i, x in enumerate(uniq) if x not in keep)
        self.labels = tuple(x for x in uniq if x in keep)
        self.fresh = bool(self.sum_axes)
        self.active = self.diag_eq is not None or bool(self.sum_axes)
        # numpy reduces a short trailing axis row by row (~9 ns a row: a softmax's sums over
        # 128-wide rows run at 1/4 of memory speed); a product with a ones vector is one BLAS call
        # with the same accuracy while the rows are short (8 partial sums of <= 32 terms each)
        self.rows_n = None
        k, nd = len(self.sum_axes), len(uniq)
        if size is not None and k and self.diag_eq is None and self.sum_axes == tuple(range(nd - k, nd)):
            n, rows = prod(size[x] for x in uniq[nd - k :]), prod(size[x] for x in uniq[: nd - k])
            if 2 <= n <= 256 and rows >= 8:
                self.rows_n = (rows, n)

    def __call__(self, xp, a):
        if self.diag_eq is not None:
            a = xp.einsum(self.diag_eq, a)
        if self.sum_axes:
            rn = self.rows_n
            if rn is not None and xp is np and a.dtype.char in "fd" and a.flags.c_contiguous:
                return (a.reshape(rn) @ _ones(rn[1], a.dtype)).reshape(a.shape[: -len(self.sum_axes)])
            # np.add.reduce skips ndarray.sum's Python wrapper
            a = np.add.reduce(a, axis=self.sum_axes) if xp is np else a.sum(axis=self.sum_axes)
        return a


class _Pair:
    """One pairwise contraction as a (batched) matmul, or a broadcast product when nothing is summed."""

    __slots__ = ("pa", "pb", "perm_a", "perm_b", "shape_a", "shape_b", "shape_r", "matmul", "labels", "kind", "flops")

    def __init__(self, la, lb, keep: set[int], size: dict[int, int], strides_a=None):
        self.pa = _Unary(la, keep | set(lb), size)
        self.pb = _Unary(lb, keep | set(la), size)
        la, lb = self.pa.labels, self.pb.labels
        sb = set(lb)
        batch = [x for x in la if x in sb and x in keep]
        contracted = [x for x in la if x in sb and x not in keep]
        if strides_a is not None and not self.pa.active and len(contracted) > 1:
            # the summed labels may go in any order: take operand a's memory order, so that its
            # (..., K) block is a view when it can be (BatchNorm's 'bcl,bcl->c' on batch-innermost memory)
            contracted.sort(key=lambda x: -abs(strides_a[la.index(x)]))
        left = [x for x in la if x not in sb]
        right = [x for x in lb if x not in set(la)]
        self.labels = tuple(batch + left + right)
        n = lambda labels: prod(size[x] for x in labels)  # noqa: E731
        self.flops = 2 * n(batch) * n(left) * n(right) * max(n(contracted), 1)
        self.matmul = bool(contracted)
        if self.matmul:
            self.perm_a = tuple(la.index(x) for x in batch + left + contracted)
            self.perm_b = tuple(lb.index(x) for x in batch + contracted + right)
            bm = (n(batch),) if batch else ()
            self.shape_a = bm + (n(left), n(contracted))
            self.shape_b = bm + (n(contracted), n(right))
            self.kind = "bmm" if batch else "gemm"
        else:  # outer/broadcast product: no BLAS needed, one multiply
            self.perm_a = tuple(la.index(x) for x in batch + left)
            self.perm_b = tuple(lb.index(x) for x in batch + right)
            self.shape_a = tuple(size[x] for x in batch + left) + (1,) * len(right)
            self.shape_b = tuple(size[x] for x in batch) + (1,) * len(left) + tuple(size[x] for x in right)
            self.kind = "mul"
        self.shape_r = tuple(size[x] for x in self.labels)
        if self.perm_a == tuple(range(len(la))):
            self.perm_a = None
        if self.perm_b == tuple(range(len(lb))):
            self.perm_b = None

    def __call__(self, xp, a, b):
        if self.pa.active:
            a = self.pa(xp, a)
        if self.pb.active:
            b = self.pb(xp, b)
        if self.perm_a is not None:
            a = a.transpose(self.perm_a)
        if self.perm_b is not None:
            b = b.transpose(self.perm_b)
        if a.shape != self.shape_a:
            a = a.reshape(self.shape_a)
        if b.shape != self.shape_b:
            b = b.reshape(self.shape_b)
        r = xp.matmul(a, b) if self.matmul else a * b
        return r.reshape(self.shape_r) if r.shape != self.shape_r else r


def _free(step: _Pair, size: dict[int, int], side: int) -> int:
    """Number of output elements spanned by the labels only operand ``side`` of ``step`` brings."""
    own = step.pa.labels if side == 0 else step.pb.labels
    other = set(step.pb.labels if side == 0 else step.pa.labels)
    return prod(size[x] for x in step.labels if x in own and x not in other)


class Plan:
    """How one canonical einsum is executed: a pairwise path of matmuls plus a final permutation.

    ``path`` is opt_einsum's contraction order, ``flops`` the multiply-add count x2, ``largest_intermediate``
    the element count of the largest pairwise result, ``steps`` a readable list of what runs.
    ``strides`` (of the operands the plan is first made for) only orders the summed labels of a
    step by the memory of its first operand; any layout gives the same values.
    """

    def __init__(self, canon: Canon, shapes, strides=None):
        self.canon = canon
        self.shapes = shapes
        size = canon.size
        out = canon.out
        ops = [tuple(s) for s in canon.ins]
        self.path: list[tuple[int, ...]]
        if len(ops) <= 2:
            self.path = [tuple(range(len(ops)))]
        else:
            # output-only labels (broadcast ones factors of derived gradients) are added after the path
            have = set().union(*ops)
            eq = (
                ",".join("".join(oe.get_symbol(x) for x in s) for s in ops)
                + "->"
                + "".join(oe.get_symbol(x) for x in out if x in have)
            )
            self.path, _ = oe.contract_path(eq, *[canon.shape_of(s) for s in ops], shapes=True, optimize="auto")
        self.steps: list[tuple[tuple[int, ...], tuple[int, ...], object]] = []  # (pop order, argument order, step)
        labels = list(ops)
        hints = list(strides) if strides is not None else [None] * len(ops)  # memory of inputs, not of results
        fresh = False
        self.flops = 0
        self.largest_intermediate = 0
        for contraction in self.path:
            idx = sorted(contraction, reverse=True)  # pop from the back so indices stay valid
            taken = [labels.pop(i) for i in idx][::-1]
            hint = [hints.pop(i) for i in idx][::-1]
            keep = set(out).union(*labels) if labels else set(out)
            order = None
            if len(taken) == 2 and not labels:
                # last step: pick the operand order whose result is already in output order, so
                # the result needs no final transpose (a leaf's gradient then owns C-ordered memory)
                want = tuple(x for x in out if x in set(taken[0]) | set(taken[1]))
                ab, ba = _Pair(taken[0], taken[1], keep, size, hint[0]), _Pair(taken[1], taken[0], keep, size, hint[1])
                if ab.labels != want and (ba.labels == want or (ba.labels != want and _free(ab, size, 0) > _free(ab, size, 1))):
                    # otherwise the operand contributing the larger block of output goes last, so
                    # the result has long contiguous runs (a conv's input gradient then reaches
                    # Fold as (c, k, l, b, h, w): 3x faster overlap-add than (b, h, w, c, k, l))
                    taken, hint = taken[::-1], hint[::-1]
                    order = (0, 1)
            if order is None:
                order = tuple(range(len(taken)))[::-1]
            if len(taken) == 1:
                step = _Unary(taken[0], keep, size)
                fresh |= step.fresh
                self.flops += prod(canon.shape_of(taken[0]))
            else:
                # fold a multi-operand step pairwise (opt_einsum only emits these under memory limits)
                step = _Pair(taken[0], taken[1], keep | set().union(*taken[2:]), size, hint[0])
                sub = [step]
                for extra in taken[2:]:
                    sub.append(_Pair(sub[-1].labels, extra, keep, size))
                step = sub[0] if len(sub) == 1 else _Chain(sub)
                fresh = True
                self.flops += sum(s.flops for s in sub)
            self.largest_intermediate = max(self.largest_intermediate, prod(size[x] for x in step.labels))
            self.steps.append((tuple(idx), order, step))
            labels.append(step.labels)
            hints.append(None)
        (final,) = labels
        # bring the result into output order; output labels no operand has are broadcast
        present = [x for x in out if x in final]
        self.perm = tuple(final.index(x) for x in present)
        if self.perm == tuple(range(len(final))):
            self.perm = None
        self.expand = None
        if len(present) != len(out):
            self.expand = (tuple(size[x] if x in final else 1 for x in out), canon.out_shape)
        self.expand_small = self.expand is not None and prod(canon.out_shape) < 1 << 14
        self.copy = not fresh and self.expand is None and not canon.is_permutation
        self.single = None
        self.swap = False  # the single pairwise step takes the operands in the other order
        if len(self.steps) == 1 and not isinstance(self.steps[0][2], _Chain):
            if self.steps[0][1] == tuple(range(len(ops)))[::-1]:
                self.single = self.steps[0][2]
            elif len(ops) == 2:
                self.single, self.swap = self.steps[0][2], True
        self.run = self._compile()

    def _compile(self):
        """The cheapest callable ``run(xp, arrays)`` for this plan.

        A plan is specific to its operand shapes, so for the common single pairwise product every
        transpose/reshape decision is made here, once; the closure does only the array calls.
        """
        if len(self.steps) == 1 and isinstance(self.steps[0][2], _Unary) and self.expand is None:
            unary, perm, copy = self.steps[0][2], self.perm, self.copy

            def run(xp, arrays):  # one operand: sums, diagonals, permutations
                r = unary(xp, arrays[0])
                if perm is not None:
                    r = r.transpose(perm)
                return r.copy() if copy else r

            return run
        step = self.single
        if (
            not isinstance(step, _Pair)
            or step.pa.active
            or step.pb.active
            or self.perm is not None
            or self.expand is not None
            or self.copy
        ):
            return self.__call__
        pa, pb = step.perm_a, step.perm_b
        ia, ib = (1, 0) if self.swap else (0, 1)
        sa, sb = self.shapes[ia], self.shapes[ib]
        if pa is not None:
            sa = tuple(sa[i] for i in pa)
        if pb is not None:
            sb = tuple(sb[i] for i in pb)
        ra = step.shape_a if sa != step.shape_a else None
        rb = step.shape_b if sb != step.shape_b else None
        out_shape = (
            (*step.shape_a[:-1], step.shape_b[-1])
            if step.matmul
            else tuple(max(x, y) for x, y in zip(step.shape_a, step.shape_b))
        )
        rr = step.shape_r if out_shape != step.shape_r else None
        # ndarray.dot reaches the same BLAS call as matmul at a third of the dispatch cost, which is
        # most of a small 2-D product's time
        dot = step.matmul and len(step.shape_a) == 2 and len(step.shape_b) == 2 and step.flops < 1 << 22
        if step.matmul and pa is None and pb is None and ra is None and rb is None and rr is None:
            if dot:

                def run(xp, arrays):
                    return arrays[ia].dot(arrays[ib])

                return run

            def run(xp, arrays):
                return xp.matmul(arrays[ia], arrays[ib])

            return run
        mm = step.matmul

        def run(xp, arrays):
            a, b = arrays[ia], arrays[ib]
            if pa is not None:
                a = a.transpose(pa)
            if pb is not None:
                b = b.transpose(pb)
            if ra is not None:
                a = a.reshape(ra)
            if rb is not None:
                b = b.reshape(rb)
            r = a.dot(b) if dot else xp.matmul(a, b) if mm else a * b
            return r if rr is None else r.reshape(rr)

        return run

    def __call__(self, xp, arrays):
        if self.single is not None:  # one step: no bookkeeping
            r = self.single(xp, arrays[1], arrays[0]) if self.swap else self.single(xp, *arrays)
        else:
            ops = list(arrays)
            for idx, order, step in self.steps:
                popped = [ops.pop(i) for i in idx]
                ops.append(step(xp, *[popped[j] for j in order]))
            (r,) = ops
        if self.perm is not None:
            r = r.transpose(self.perm)
        if self.expand is not None:
            # output-only labels (the ones factor of a derived gradient) broadcast as a zero-stride
            # view, as PyTorch's expand in sum's backward; leaf accumulation copies such views.
            # Small ones are written out: np.broadcast_to costs more than the copy below 16k elements
            if self.expand_small:
                out = xp.empty(self.expand[1], dtype=r.dtype)
                out[...] = r.reshape(self.expand[0])
                return out
            return xp.broadcast_to(r.reshape(self.expand[0]), self.expand[1])
        if self.copy:  # a bare diagonal is a view of the input; results must own their memory
            r = r.copy()
        return r

    def describe(self) -> str:
        lines = [f"einsum {self.canon.eq!r} (canonical {self.canon.key!r}) on shapes {list(self.shapes)}"]
        for idx, _, step in self.steps:
            kinds = [s.kind for s in step.parts] if isinstance(step, _Chain) else [getattr(step, "kind", "reduce")]
            lines.append(f"  contract operands {tuple(sorted(idx))}: {'+'.join(kinds)}")
        lines.append(f"  flops: {self.flops:,}  largest intermediate: {self.largest_intermediate:,} elements")
        return "\n".join(lines)

    __str__ = describe

    def __repr__(self) -> str:
        return f"Plan({self.canon.key!r}, path={self.path}, flops={self.flops})"


class _Chain:
    __slots__ = ("parts", "labels")

    def __init__(self, parts):
        self.parts = parts
        self.labels = parts[-1].labels

    def __call__(self, xp, *ops):
        r = self.parts[0](xp, ops[0], ops[1])
        for part, b in zip(self.parts[1:], ops[2:]):
            r = part(xp, r, b)
        return r


class PlanCache:
    """Bounded LRU cache of plans keyed by (canonical equation, shapes, dtype, backend).

    >>> import einframe as ef
    >>> info = ef.plan_cache.info()
    >>> sorted(info)
    ['hits', 'maxsize', 'misses', 'size']
    """

    def __init__(self, maxsize: int = 4096):
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._plans: OrderedDict = OrderedDict()
        self._canons: dict = {}

    def get(self, canon: Canon, shapes, dtype, backend: str, strides=None) -> Plan:
        key = (canon.key, shapes, dtype, backend)
        plan = self._plans.get(key)
        if plan is not None:
            self.hits += 1
            self._plans.move_to_end(key)
            return plan
        self.misses += 1
        plan = Plan(canon, shapes, strides)
        self._plans[key] = plan
        while len(self._plans) > self.maxsize:
            _, old = self._plans.popitem(last=False)
            _forget(old)
        return plan

    def canon(self, eq: str, shapes) -> Canon:
        key = (eq, shapes)
        c = self._canons.get(key)
        if c is None:
            if len(self._canons) >= self.maxsize:
                self._canons.clear()
            c = self._canons[key] = canonicalize(eq, shapes)
        return c

    def info(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "size": len(self._plans), "maxsize": self.maxsize}

    def clear(self) -> None:
        for plan in self._plans.values():
            _forget(plan)
        self._plans.clear()
        self._canons.clear()
        self.hits = self.misses = 0

    def __repr__(self) -> str:
        return "PlanCache({hits} hits, {misses} misses, {size}/{maxsize} plans)".format(**self.info())


def _forget(plan: Plan) -> None:
    """Drop the shortcuts canons keep to an evicted plan."""
    for key, p in list(plan.canon.plans.items()):
        if p is plan:
            del plan.canon.plans[key]


plan_cache = PlanCache()


canon_for = plan_cache.canon  # the canonical form of ``eq`` on operands of ``shapes`` (cached)


def get_plan(canon: Canon, arrays, xp) -> Plan:
    """The plan for ``canon`` on these arrays. A canon is specific to its operand shapes, so the
    plans it has fetched are remembered on it by (dtype, backend): a hit costs one small dict lookup."""
    key = arrays[0].dtype if xp is np else (arrays[0].dtype, xp.__name__)
    plan = canon.plans.get(key)
    if plan is not None:
        plan_cache.hits += 1
        return plan
    shapes, strides = tuple([a.shape for a in arrays]), tuple([a.strides for a in arrays])
    plan = canon.plans[key] = plan_cache.get(canon, shapes, arrays[0].dtype, xp.__name__, strides)
    return plan
