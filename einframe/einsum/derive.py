"""Symbolic derivatives of an einsum: each operand's VJP is a new einsum (reference notes §2.2).

For ``out[O] = sum prod_j A_j[S_j]`` and cotangent ``G[O]``, the gradient of operand k is

    dA_k = einsum(O, S_j for j != k, (l, l') per repeated occurrence of l in S_k -> S_k')

where each repeat of a label in ``S_k`` is renamed to a fresh ``l'`` tied to ``l`` by a Kronecker
delta operand, and labels of ``S_k`` that appear nowhere else become *output-only* labels: the
executor broadcasts them (a ones factor, never materialised as an operand). Broadcasting of size-1
dimensions was removed by the canonicaliser, so nothing else is needed. The result is again a
canonical einsum, hence differentiable again: gradients of any order come from this one rule.
"""

from __future__ import annotations

from functools import lru_cache

from .parse import Canon

__all__ = ["vjp_canon"]


@lru_cache(maxsize=4096)
def vjp_canon(canon: Canon, k: int) -> tuple[Canon, tuple[int, ...]]:
    """The canonical einsum giving operand k's gradient, and the sizes of its delta operands.

    Operand order of the result: the cotangent, the other operands in order, then one identity
    matrix per delta size.
    """
    size = dict(canon.size)
    names = dict(canon.names)
    next_id = max(size, default=-1) + 1
    target: list[int] = []
    deltas: list[tuple[int, int]] = []
    seen: set[int] = set()
    for label in canon.ins[k]:
        if label in seen:
            fresh = next_id
            next_id += 1
            size[fresh] = size[label]
            target.append(fresh)
            deltas.append((label, fresh))
        else:
            seen.add(label)
            target.append(label)
    ins = [canon.out] + [s for j, s in enumerate(canon.ins) if j != k] + deltas
    derived = Canon(ins, target, size, names=names)
    return derived, tuple(size[a] for a, _ in deltas)
