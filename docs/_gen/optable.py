"""Generate the table of public ops in docs/tensors.md by tracing each op's backward graph.

    python docs/_gen/optable.py          # print the table
    python docs/_gen/optable.py --write  # rewrite it between the markers in docs/tensors.md

tests/test_op_table.py fails when the committed table differs from what this script produces.
"""

from __future__ import annotations

import pathlib
import sys

import einframe as ef

PAGE = pathlib.Path(__file__).resolve().parents[1] / "tensors.md"
BEGIN, END = "<!-- optable:begin -->", "<!-- optable:end -->"


def _x(*shape):
    return ef.randn(*shape, dtype=ef.float64).requires_grad_()


def _pos(*shape):
    return (ef.rand(*shape, dtype=ef.float64) + 0.5).requires_grad_()


# one call per public op, on small sample inputs
SAMPLES = {
    "add": lambda: ef.add(_x(2, 3), _x(3)),
    "sub": lambda: ef.sub(_x(2, 3), 1.0),
    "mul": lambda: ef.mul(_x(2, 3), _x(2, 3)),
    "div": lambda: ef.div(_x(2, 3), 2.0),
    "pow": lambda: ef.pow(_x(2, 3), 3),
    "neg": lambda: ef.neg(_x(3)),
    "exp": lambda: ef.exp(_x(3)),
    "log": lambda: ef.log(_pos(3)),
    "sqrt": lambda: ef.sqrt(_pos(3)),
    "rsqrt": lambda: ef.rsqrt(_pos(3)),
    "abs": lambda: ef.abs(_x(3)),
    "sign": lambda: ef.sign(_x(3)),
    "sin": lambda: ef.sin(_x(3)),
    "cos": lambda: ef.cos(_x(3)),
    "tanh": lambda: ef.tanh(_x(3)),
    "sigmoid": lambda: ef.sigmoid(_x(3)),
    "relu": lambda: ef.relu(_x(3)),
    "erf": lambda: ef.erf(_x(3)),
    "square": lambda: ef.square(_x(3)),
    "reciprocal": lambda: ef.reciprocal(_x(3)),
    "log1p": lambda: ef.log1p(_pos(3)),
    "expm1": lambda: ef.expm1(_x(3)),
    "clamp": lambda: ef.clamp(_x(3), -0.5, 0.5),
    "maximum": lambda: ef.maximum(_x(3), _x(3)),
    "minimum": lambda: ef.minimum(_x(3), _x(3)),
    "where": lambda: ef.where(ef.randn(3) > 0, _x(3), _x(3)),
    "softmax": lambda: ef.softmax(_x(2, 3), -1),
    "log_softmax": lambda: ef.log_softmax(_x(2, 3), -1),
    "logsumexp": lambda: ef.logsumexp(_x(2, 3), -1),
    "sum": lambda: ef.sum(_x(2, 3), 1),
    "mean": lambda: ef.mean(_x(2, 3), 0),
    "var": lambda: ef.var(_x(2, 3), 1),
    "std": lambda: ef.std(_x(2, 3), 1),
    "max": lambda: ef.max(_x(2, 3), 1).values,
    "min": lambda: ef.min(_x(2, 3)),
    "amax": lambda: ef.amax(_x(2, 3), 1),
    "amin": lambda: ef.amin(_x(2, 3), 1),
    "norm": lambda: ef.norm(_x(2, 3)),
    "reshape": lambda: ef.reshape(_x(2, 3), (3, 2)),
    "flatten": lambda: ef.flatten(_x(2, 3)),
    "unflatten": lambda: ef.unflatten(_x(6), 0, (2, 3)),
    "permute": lambda: ef.permute(_x(2, 3, 4), (2, 0, 1)),
    "transpose": lambda: ef.transpose(_x(2, 3), 0, 1),
    "t": lambda: ef.t(_x(2, 3)),
    "squeeze": lambda: ef.squeeze(_x(2, 1)),
    "unsqueeze": lambda: ef.unsqueeze(_x(2), 0),
    "expand": lambda: _x(1, 3).expand(2, 3),
    "repeat": lambda: _x(2, 3).repeat(2, 1),
    "cat": lambda: ef.cat([_x(2, 3), _x(1, 3)]),
    "stack": lambda: ef.stack([_x(3), _x(3)]),
    "chunk": lambda: ef.chunk(_x(4, 3), 2)[0],
    "split": lambda: ef.split(_x(4, 3), 2)[1],
    "narrow": lambda: ef.narrow(_x(4, 3), 0, 1, 2),
    "select": lambda: ef.select(_x(4, 3), 0, 1),
    "flip": lambda: ef.flip(_x(4, 3), 0),
    "index_select": lambda: ef.index_select(_x(4, 3), 0, ef.tensor([0, 2])),
    "gather": lambda: ef.gather(_x(2, 3), 1, ef.tensor([[0], [2]])),
    "masked_fill": lambda: ef.masked_fill(_x(3), ef.tensor([True, False, True]), 0.0),
    "tril": lambda: ef.tril(_x(3, 3)),
    "triu": lambda: ef.triu(_x(3, 3)),
    "__getitem__": lambda: _x(4, 3)[1:, [0, 2]],
    "matmul": lambda: ef.matmul(_x(2, 3), _x(3, 4)),
    "mm": lambda: ef.mm(_x(2, 3), _x(3, 4)),
    "bmm": lambda: ef.bmm(_x(2, 2, 3), _x(2, 3, 4)),
    "dot": lambda: ef.dot(_x(3), _x(3)),
    "outer": lambda: ef.outer(_x(3), _x(2)),
    "tensordot": lambda: ef.tensordot(_x(2, 3), _x(3, 4), 1),
    "trace": lambda: ef.trace(_x(3, 3)),
    "diagonal": lambda: ef.diagonal(_x(3, 3)),
    "einsum": lambda: ef.einsum("ij,jk,kl->il", _x(2, 3), _x(3, 4), _x(4, 2)),
    "clone": lambda: ef.clone(_x(3)),
    "to(dtype)": lambda: _x(3).to(ef.float32),
}
NO_GRAD = [
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not", "isnan", "isinf", "isfinite",
    "argmax", "argmin", "all", "any", "allclose", "equal",
]  # fmt: skip


def _families() -> None:
    """Further op families keep their rows next to this file: ``docs/_gen/optable_<family>.py`` defines
    ``SAMPLES`` (name -> zero-argument callable making the op's output), ``NO_GRAD`` (names) and
    optionally ``OTHER`` (public names that are not tensor ops: creation, dtype queries, settings)."""
    import importlib.util

    for path in sorted(pathlib.Path(__file__).parent.glob("optable_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        SAMPLES.update(mod.SAMPLES)
        NO_GRAD.extend(n for n in mod.NO_GRAD if n not in NO_GRAD)
        OTHER.extend(getattr(mod, "OTHER", []))


OTHER: list[str] = []


_families()


def trace(t) -> list[tuple[str, str]]:
    """The primitives in ``t``'s backward graph (kind, name/equation), in creation order."""
    seen, stack, found = set(), [t.grad_fn], []
    while stack:
        n = stack.pop()
        if n is None or n in seen or type(n).__name__ == "AccumulateGrad":
            continue
        seen.add(n)
        found.append(n)
        stack.extend(e[0] for e in n._edges if e is not None)
    found.sort(key=lambda n: n._seq)
    return [(n.kind, f"`{n.canon.eq}`" if n.kind == "Contract" else type(n).__name__) for n in found]


def table() -> str:
    ef.manual_seed(0)
    rows = ["| op | primitives (in graph order; Contract shows its equation) |", "|---|---|"]
    for name, make in SAMPLES.items():
        prims = trace(make())
        rows.append(f"| `{name}` | {', '.join(f'{k}: {v}' if k == 'Contract' else v for k, v in prims)} |")
    for name in NO_GRAD:
        rows.append(f"| `{name}` | no gradient (boolean/integer result) |")
    return "\n".join(rows)


def main() -> None:
    text = table()
    if "--write" in sys.argv:
        page = PAGE.read_text()
        head, rest = page.split(BEGIN)
        _, tail = rest.split(END)
        PAGE.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")
    else:
        print(text)


if __name__ == "__main__":
    main()
