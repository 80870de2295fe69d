"""Einsum equations: parsing, validation and the canonical integer-label form.

The canonical form (:class:`Canon`) is what the planner, the executor and the symbolic
derivative rules work on: integer labels, ellipses expanded (right-aligned), the implicit output
resolved, and size-1 broadcasting of a label removed by giving such a dimension a private label
(reference notes §2.1), so that no later stage has to think about broadcasting.
"""

from __future__ import annotations

from opt_einsum import get_symbol

__all__ = ["Canon", "canonicalize", "EinsumError"]


class EinsumError(ValueError):
    """A malformed einsum equation or operands that do not fit it."""


class Canon:
    """An einsum in canonical form: ``out[O] = sum over other labels of prod_k ops[k][S_k]``.

    ``ins[k]`` are the integer labels of operand k, ``out`` the output labels and ``size`` maps
    every label to its extent. Internal equations (derived gradients) may name output labels that
    no operand has: those are broadcast (a ones factor), which keeps gradients sparse in memory.
    """

    __slots__ = ("ins", "out", "size", "eq", "key", "is_permutation", "names", "positions", "plans")

    def __init__(self, ins, out, size, eq: str | None = None, names: dict[int, str] | None = None):
        self.ins = tuple(tuple(s) for s in ins)
        self.out = tuple(out)
        self.size = size
        self.names = names or {}
        self.positions = tuple(range(len(self.ins)))
        self.plans: dict = {}  # (dtype, backend) -> Plan: a per-canon shortcut into the plan cache
        # renumber labels by first appearance so that 'ab,bc->ac' and 'ij,jk->ik' share plans
        order: dict[int, int] = {}
        for term in (*self.ins, self.out):
            for label in term:
                order.setdefault(label, len(order))
        sym = {label: get_symbol(i) for label, i in order.items()}
        self.key = ",".join("".join(sym[x] for x in s) for s in self.ins) + "->" + "".join(sym[x] for x in self.out)
        have = set().union(*self.ins)
        if any(x not in have for x in self.out):
            # output-only (broadcast) labels take their sizes from the equation, not from the shapes
            self.key += "|" + ",".join(f"{sym[x]}={size[x]}" for x in self.out if x not in have)
        self.eq = eq if eq is not None else self.key
        self.is_permutation = (
            len(self.ins) == 1 and sorted(self.ins[0]) == sorted(self.out) and len(set(self.out)) == len(self.out)
        )

    def name(self, label: int) -> str:
        """The letter a label is shown as (the user's letter where there was one)."""
        n = self.names.get(label)
        if n is None:
            used = set(self.names.values())
            n = next(c for c in map(get_symbol, range(1 << 20)) if c not in used)
            self.names[label] = n
        return n

    def format(self, operands: list[str] | None = None) -> str:
        """The equation with readable letters; output labels no operand has appear as ones factors."""
        terms = ["".join(self.name(x) for x in s) for s in self.ins]
        have = set().union(*map(set, self.ins)) if self.ins else set()
        ones = [x for x in self.out if x not in have]
        terms += [self.name(x) for x in ones]
        eq = ",".join(terms) + "->" + "".join(self.name(x) for x in self.out)
        if operands is None:
            return eq
        operands = list(operands) + [f"ones({self.size[x]})" for x in ones]
        return f"einsum('{eq}', {', '.join(operands)})"

    def shape_of(self, labels) -> tuple[int, ...]:
        return tuple(self.size[x] for x in labels)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.shape_of(self.out)

    def __repr__(self) -> str:
        return f"Canon({self.key!r})"


_FORBIDDEN = set(",->. ")


def _split_terms(eq: str):
    eq_ns = eq.replace(" ", "")
    if eq_ns.count("->") > 1:
        raise EinsumError(f"einsum '{eq}': '->' may appear only once")
    lhs, arrow, rhs = eq_ns.partition("->")
    terms = lhs.split(",")
    return terms, (rhs if arrow else None)


def _parse_term(eq: str, term: str, where: str):
    """Return the list of labels in a term, with the string '...' standing for the ellipsis."""
    labels: list[str] = []
    i = 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if term[i : i + 3] != "...":
                raise EinsumError(f"einsum '{eq}': {where} has a '.' that is not part of '...'")
            if "..." in labels:
                raise EinsumError(f"einsum '{eq}': {where} has more than one '...'")
            labels.append("...")
            i += 3
            continue
        if c in _FORBIDDEN:
            raise EinsumError(
                f"einsum '{eq}': {where} has the invalid character {c!r}; labels are letters (any character except , - > . and space)"
            )
        labels.append(c)
        i += 1
    return labels


def canonicalize(eq: str, shapes: tuple[tuple[int, ...], ...]) -> Canon:
    """Validate ``eq`` against operand ``shapes`` and return its canonical form."""
    if not isinstance(eq, str):
        raise TypeError(f"einsum equation must be a string, got {type(eq).__name__}")
    terms, rhs = _split_terms(eq)
    if len(terms) != len(shapes):
        raise EinsumError(f"einsum '{eq}': the equation has {len(terms)} operand(s) but {len(shapes)} were given")
    parsed = [_parse_term(eq, t, f"operand {k} ('{t}')") for k, t in enumerate(terms)]

    # ellipsis rank per operand, right-aligned across operands
    ell_rank = []
    for k, (labels, shape) in enumerate(zip(parsed, shapes)):
        named = len(labels) - ("..." in labels)
        if "..." in labels:
            if len(shape) < named:
                raise EinsumError(
                    f"einsum '{eq}': operand {k} has {len(shape)} dimension(s) but subscript '{terms[k]}' names at least {named}"
                )
            ell_rank.append(len(shape) - named)
        else:
            if len(shape) != named:
                raise EinsumError(
                    f"einsum '{eq}': operand {k} has {len(shape)} dimension(s) but subscript '{terms[k]}' names {named}"
                )
            ell_rank.append(0)
    max_ell = max(ell_rank, default=0)

    ids: dict[str, int] = {}
    ell_ids = list(range(max_ell))  # ellipsis labels come first
    next_id = max_ell

    def lid(c):
        nonlocal next_id
        if c not in ids:
            ids[c] = next_id
            next_id += 1
        return ids[c]

    ins: list[list[int]] = []
    for labels, r in zip(parsed, ell_rank):
        term: list[int] = []
        for c in labels:
            if c == "...":
                term.extend(ell_ids[max_ell - r :])
            else:
                term.append(lid(c))
        ins.append(term)
    names = {v: k for k, v in ids.items()}

    def name(label):
        return names.get(label, "...")

    # sizes: equal within one operand (diagonals); across operands equal or 1
    size: dict[int, int] = {}
    where: dict[int, int] = {}
    for k, (term, shape) in enumerate(zip(ins, shapes)):
        local: dict[int, int] = {}
        for label, n in zip(term, shape):
            if label in local and local[label] != n:
                raise EinsumError(
                    f"einsum '{eq}': index '{name(label)}' is repeated in operand {k} with sizes {local[label]} and {n}; "
                    f"a repeated index takes a diagonal and needs equal sizes"
                )
            local[label] = n
        for label, n in local.items():
            m = size.get(label)
            if m is None or m == 1:
                if m is None or n != 1:
                    size[label] = n
                    where[label] = k
            elif n != 1 and n != m:
                raise EinsumError(f"einsum '{eq}': index '{name(label)}' is {m} in operand {where[label]} but {n} in operand {k}")

    counts: dict[int, int] = {}
    for term in ins:
        for label in term:
            counts[label] = counts.get(label, 0) + 1
    if rhs is None:
        singles = sorted((c for c, i in ids.items() if counts.get(i) == 1), key=ord)
        out = ell_ids + [ids[c] for c in singles]
    else:
        out_labels = _parse_term(eq, rhs, "the output")
        out = []
        for c in out_labels:
            if c == "...":
                out.extend(ell_ids)
                continue
            if c not in ids:
                raise EinsumError(f"einsum '{eq}': output index '{c}' does not appear in any operand")
            if ids[c] in out:
                raise EinsumError(f"einsum '{eq}': output index '{c}' appears more than once")
            out.append(ids[c])

    # broadcast renaming: a size-1 dim of a label that is larger elsewhere gets a private label
    for term, shape in zip(ins, shapes):
        fresh: dict[int, int] = {}
        for j, (label, n) in enumerate(zip(term, shape)):
            if n == 1 and size[label] != 1:
                if label not in fresh:
                    fresh[label] = next_id
                    size[next_id] = 1
                    next_id += 1
                term[j] = fresh[label]
    for label in ell_ids:
        size.setdefault(label, 1)
    names = {v: k for k, v in ids.items()}
    return Canon(ins, out, size, eq, names)
