"""The table of public ops in docs/tensors.md matches what tracing the ops produces today."""

import importlib.util
import pathlib

import einframe as ef
from einframe import _functions

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _gen():
    spec = importlib.util.spec_from_file_location("optable", ROOT / "docs" / "_gen" / "optable.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_table_is_current():
    gen = _gen()
    page = (ROOT / "docs" / "tensors.md").read_text()
    committed = page.split(gen.BEGIN)[1].split(gen.END)[0].strip()
    assert committed == gen.table(), "docs/tensors.md is stale: run `python docs/_gen/optable.py --write`"


def test_every_differentiable_public_op_is_in_the_table():
    gen = _gen()
    listed = set(gen.SAMPLES) | set(gen.NO_GRAD)
    creation = {"tensor", "as_tensor", "from_numpy", "zeros", "ones", "empty", "full", "eye", "arange", "linspace",
                "rand", "randn", "randint", "randperm", "zeros_like", "ones_like", "empty_like", "full_like",
                "rand_like", "randn_like", "randint_like", "true_divide", "clip", "concat", "detach"}  # fmt: skip
    missing = set(_functions.__all__) - listed - creation - set(gen.OTHER)
    assert not missing, f"ops without a row in docs/tensors.md: {sorted(missing)}"


def test_traced_kinds_are_primitives():
    gen = _gen()
    kinds = {cls.kind for cls in ef.PRIMITIVES.values()}
    for name, make in gen.SAMPLES.items():
        for kind, _ in gen.trace(make()):
            assert kind in kinds, (name, kind)
