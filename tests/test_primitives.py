"""The primitive table: every primitive class in ``ef.PRIMITIVES`` has at least one sample below, and
every sample passes gradcheck, gradgradcheck (float64 finite differences) and a JVP-vs-VJP test
(<J u, v> == <u, J^T v>).

TO ADD A PRIMITIVE: add an entry ``"ClassName": [S(...), ...]`` to ``SAMPLES``. ``S`` takes the input
shapes (float64 random tensors are made for them), a callable ``fn(*tensors) -> Tensor`` that runs
the primitive (directly, or through the ef.* function that lowers to it), and optionally ``init``
(one ``(rng, shape) -> array`` per input, to keep inputs inside the domain or away from kinks) and
``grad=False`` for primitives without a gradient. The meta-test fails for a primitive without
samples, and each sample is checked to really create a node of its primitive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

import einframe as ef
import einframe.autograd.forward_ad as fwAD
from einframe.ops.pointwise import Cast, Clamp, Compare, Erf, Where
from einframe.ops.view import Amax, Cat, Expand, Flip, Index, IndexAdd, IndexPut, Pad, Reshape, ToDevice
from einframe.ops.window import Fold, Window


@dataclass
class S:
    shapes: list  # one shape per tensor input
    fn: object  # (*tensors) -> Tensor
    init: list | None = None  # optional (rng, shape) -> array per input
    grad: bool = True  # False: the primitive has no gradient (vjp gives None)
    id: str = ""
    second_order: bool = True
    extra: dict = field(default_factory=dict)


def away(lo=0.2, hi=1.5):
    """Values with |x| in [lo, hi] and a random sign: keeps abs/relu/sign/clamp away from their kinks."""

    def draw(rng, shape):
        return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)

    return draw


def positive(lo=0.5, hi=2.0):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def distinct(rng, shape):
    """A random permutation of well-separated values (no ties for max/min)."""
    n = int(np.prod(shape)) if shape else 1
    return (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)


def normal(rng, shape):
    return rng.standard_normal(shape)


_MASK = np.array([[True, False, True], [False, True, True]])

SAMPLES: dict[str, list[S]] = {
    "Contract": [
        S([(2, 3), (3, 4)], lambda a, b: ef.einsum("ij,jk->ik", a, b), id="matmul"),
        S([(3, 3)], lambda a: ef.einsum("ii->i", a), id="diagonal"),
        S([(2, 3, 2)], lambda a: ef.einsum("iji->j", a), id="trace-like"),
        S([(2, 1), (3, 2)], lambda a, b: ef.einsum("ij,jk->ik", a, b), id="broadcast-contracted"),
        S([(2, 2, 3), (2, 3, 2)], lambda a, b: ef.einsum("bij,bjk->bik", a, b), id="bmm"),
        S([(2, 3), (3, 2), (2, 2)], lambda a, b, c: ef.einsum("ij,jk,kl->il", a, b, c), id="chain"),
        S([(2, 3, 4)], lambda a: a.permute(2, 0, 1), id="permute"),
        S([(2, 3)], lambda a: a.sum(dim=1), id="sum"),
        S([(3,), (2,)], lambda a, b: ef.einsum("i,j->ij", a, b), id="outer"),
    ],
    "Neg": [S([(2, 3)], lambda a: -a)],
    "Exp": [S([(2, 3)], lambda a: a.exp())],
    "Log": [S([(2, 3)], lambda a: a.log(), init=[positive()])],
    "Sqrt": [S([(2, 3)], lambda a: a.sqrt(), init=[positive()])],
    "Abs": [S([(2, 3)], lambda a: a.abs(), init=[away()])],
    "Sign": [S([(2, 3)], lambda a: a.sign(), init=[away()])],
    "Sin": [S([(2, 3)], lambda a: a.sin())],
    "Cos": [S([(2, 3)], lambda a: a.cos())],
    "Tanh": [S([(2, 3)], lambda a: a.tanh())],
    "Sigmoid": [S([(2, 3)], lambda a: a.sigmoid())],
    "Relu": [S([(2, 3)], lambda a: a.relu(), init=[away()])],
    "Erf": [S([(2, 3)], lambda a: Erf()(a))],
    "Add": [
        S([(2, 3), (2, 3)], lambda a, b: a + b, id="same-shape"),
        S([(2, 3), (3,)], lambda a, b: a + b, id="broadcast"),
        S([(2, 1), (1, 3)], lambda a, b: a + b, id="broadcast-both"),
        S([(2, 3)], lambda a: 2.5 + a, id="scalar"),
    ],
    "Sub": [
        S([(2, 3), (2, 1)], lambda a, b: a - b, id="broadcast"),
        S([(2, 3)], lambda a: 1.0 - a, id="rscalar"),
    ],
    "Mul": [
        S([(2, 3), (3,)], lambda a, b: a * b, id="broadcast"),
        S([(2, 3)], lambda a: a * 3.0, id="scalar"),
    ],
    "Div": [
        S([(2, 3), (2, 3)], lambda a, b: a / b, init=[normal, away(0.5, 2.0)], id="tensors"),
        S([(2, 3)], lambda a: 2.0 / a, init=[away(0.5, 2.0)], id="rscalar"),
        S([(1, 3), (2, 1)], lambda a, b: a / b, init=[normal, away(0.5, 2.0)], id="broadcast"),
    ],
    "Pow": [
        S([(2, 3), (2, 3)], lambda a, b: a**b, init=[positive(), normal], id="tensors"),
        S([(2, 3)], lambda a: a**3, id="int-exponent"),
        S([(2, 3)], lambda a: a**2.5, init=[positive()], id="float-exponent"),
        S([(2, 3)], lambda a: 2.0**a, id="scalar-base"),
        S([(2, 3)], lambda a: a**2, id="square"),
    ],
    "Maximum": [
        S([(2, 3), (2, 3)], lambda a, b: ef.maximum(a, b), id="tensors"),
        S([(2, 3), (3,)], lambda a, b: ef.maximum(a, b), id="broadcast"),
    ],
    "Minimum": [S([(2, 3), (2, 3)], lambda a, b: ef.minimum(a, b))],
    "Where": [
        S([(2, 3), (2, 3)], lambda a, b: Where(_MASK)(a, b), id="tensors"),
        S([(2, 3), (3,)], lambda a, b: ef.where(ef.tensor(_MASK), a, b), id="broadcast"),
        S([(2, 3)], lambda a: ef.where(ef.tensor(_MASK), a, 0.0), id="scalar"),
    ],
    "Clamp": [
        S([(2, 3)], lambda a: Clamp(-0.5, 0.7)(a), init=[lambda rng, s: rng.choice([-1.2, -0.3, 0.2, 0.5, 1.1], s)]),
        S([(2, 3)], lambda a: a.clamp(min=0.1), init=[away()], id="min-only"),
    ],
    "Compare": [
        S([(2, 3), (2, 3)], lambda a, b: a > b, grad=False, id="gt"),
        S([(2, 3)], lambda a: Compare("equal")(a, 0.0), grad=False, id="eq-scalar"),
    ],
    "Cast": [
        S([(2, 3)], lambda a: Cast(np.float64)(a), id="identity-copy"),
        S([(2, 3)], lambda a: a.clone(), id="clone"),
    ],
    "Reshape": [S([(2, 3)], lambda a: Reshape((3, 2))(a)), S([(2, 3)], lambda a: a.unsqueeze(1), id="unsqueeze")],
    "Expand": [S([(3, 1)], lambda a: Expand((2, 3, 4))(a)), S([(3,)], lambda a: a.expand(2, 3), id="method")],
    "Flip": [S([(2, 3)], lambda a: Flip((1,))(a)), S([(2, 3, 2)], lambda a: a.flip((0, 2)), id="two-dims")],
    "Index": [
        S([(3, 4)], lambda a: Index((slice(None), slice(1, 3)))(a), id="slice"),
        S([(3, 4)], lambda a: a[1], id="int"),
        S([(3, 4)], lambda a: a[None, ..., ::2], id="none-ellipsis-step"),
        S([(4, 3)], lambda a: a[ef.tensor([0, 2, 2, 3])], id="gather-repeated"),
        S([(2, 3)], lambda a: a[ef.tensor(_MASK)], id="bool-mask"),
    ],
    "IndexAdd": [
        S([(4, 3)], lambda g: IndexAdd((3, 3), (np.array([0, 2, 2, 1]),))(g), id="repeated"),
        S([(2, 2)], lambda g: IndexAdd((3, 4), (slice(0, 2), slice(1, 3)))(g), id="basic"),
    ],
    "IndexPut": [
        S([(3, 4), (2,)], lambda x, v: IndexPut((1, slice(1, 3)))(x, v), id="slice"),
        S([(3, 4)], lambda x: IndexPut((np.array([0, 2]),))(x, 0.0), id="scalar"),
    ],
    "Pad": [S([(2, 3)], lambda a: Pad(((1, 0), (2, 1)))(a)), S([(2, 3)], lambda a: Pad(((0, 0), (1, 1)), 5.0)(a), id="value")],
    "Cat": [
        S([(2, 3), (1, 3), (2, 3)], lambda a, b, c: Cat(0)(a, b, c), id="dim0"),
        S([(2, 3), (2, 2)], lambda a, b: ef.cat([a, b], dim=1), id="dim1"),
        S([(2, 3), (2, 3)], lambda a, b: ef.stack([a, b], dim=1), id="stack"),
        S([(2, 3), (2, 2)], lambda a, b: Cat(-1)(a, b), id="negative-dim"),  # its adjoint slices the last dim
    ],
    "ToDevice": [S([(2, 3)], lambda a: ToDevice(ef.device("cpu"))(a))],
    "Amax": [
        S([(3, 4)], lambda a: Amax((1,), False)(a), init=[distinct], id="max"),
        S([(3, 4)], lambda a: Amax((0, 1), True, "min")(a), init=[distinct], id="min-keepdim"),
        S([(3, 4)], lambda a: a.max(), init=[distinct], id="method"),
    ],
    "Window": [
        S([(2, 7)], lambda a: Window((3,), (2,), (1,))(a), id="1d-stride"),
        S([(1, 5, 6)], lambda a: Window((2, 3), (1, 2), (2, 1))(a), id="2d-dilation"),
    ],
    "Fold": [
        S([(3, 3)], lambda g: Fold((7,), (3,), (2,), (1,))(g), id="1d-overlap"),
        S([(2, 2, 2, 2)], lambda g: Fold((4, 5), (2, 2), (2, 2), (1, 2))(g), id="2d"),
        S([(2, 2)], lambda g: Fold((6,), (2,), (3,), (1,))(g), id="1d-gaps"),
    ],
}


def _family_samples() -> None:
    """Further primitive families keep their samples next to their tests: ``tests/_samples_<family>.py``
    defines ``samples(S, helpers) -> {"ClassName": [S(...), ...]}`` (``helpers``: away, positive,
    distinct, normal), merged into ``SAMPLES`` here."""
    import importlib.util
    import pathlib

    helpers = {"away": away, "positive": positive, "distinct": distinct, "normal": normal}
    for path in sorted(pathlib.Path(__file__).parent.glob("_samples_*.py")):
        spec = importlib.util.spec_from_file_location(f"einframe_tests_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name, samples in mod.samples(S, helpers).items():
            SAMPLES.setdefault(name, []).extend(samples)


_family_samples()


def _cases():
    out = []
    for name, samples in SAMPLES.items():
        for i, s in enumerate(samples):
            out.append(pytest.param(name, s, id=f"{name}-{s.id or i}"))
    return out


CASES = _cases()
GRAD_CASES = [c for c in CASES if c.values[1].grad]


def make_inputs(sample: S, seed: int = 0, requires_grad: bool = True):
    rng = np.random.default_rng(seed)
    inits = sample.init or [normal] * len(sample.shapes)
    return tuple(
        ef.tensor(init(rng, shape), dtype=ef.float64, requires_grad=requires_grad) for init, shape in zip(inits, sample.shapes)
    )


def _node_classes(out) -> set[type]:
    seen, stack, found = set(), [out.grad_fn], set()
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        found.add(type(n))
        stack.extend(e[0] for e in n.next_functions)
    return found


# --------------------------------------------------------------------------------------------------
# meta-tests


def test_every_primitive_has_a_sample():
    missing = sorted(set(ef.PRIMITIVES) - {k for k, v in SAMPLES.items() if v})
    assert not missing, f"primitives without a sample in tests/test_primitives.py SAMPLES: {missing}"


def test_no_sample_for_unknown_primitive():
    unknown = sorted(set(SAMPLES) - set(ef.PRIMITIVES))
    assert not unknown, f"SAMPLES names primitives that are not in ef.PRIMITIVES: {unknown}"


def test_primitive_table_is_consistent():
    for name, cls in ef.PRIMITIVES.items():
        assert cls.__name__ == name
        assert isinstance(cls.kind, str) and cls.kind != "Node"
        assert "forward" in vars(cls) or any("forward" in vars(b) for b in cls.__mro__[1:-1]), name
        assert callable(cls.vjp) and callable(cls.jvp)


@pytest.mark.parametrize("name,sample", CASES)
def test_sample_exercises_its_primitive(name, sample):
    xs = make_inputs(sample)
    out = sample.fn(*xs)
    assert isinstance(out, ef.Tensor)
    if sample.grad:
        assert out.requires_grad, f"{name}: output does not require grad"
        assert ef.PRIMITIVES[name] in _node_classes(out), f"sample does not create a {name} node"
    else:
        # a primitive without gradient records nothing: its output is not differentiable
        assert not out.requires_grad and out.grad_fn is None


# --------------------------------------------------------------------------------------------------
# derivative checks


@pytest.mark.parametrize("name,sample", GRAD_CASES)
def test_gradcheck(name, sample):
    assert ef.autograd.gradcheck(sample.fn, make_inputs(sample))


@pytest.mark.parametrize("name,sample", [c for c in GRAD_CASES if c.values[1].second_order])
def test_gradgradcheck(name, sample):
    assert ef.autograd.gradgradcheck(sample.fn, make_inputs(sample, seed=1))


@pytest.mark.parametrize("name,sample", GRAD_CASES)
def test_jvp_matches_vjp(name, sample):
    """<J u, v> == <u, J^T v> for random input tangents u and output cotangent v."""
    rng = np.random.default_rng(2)
    xs = make_inputs(sample, seed=2)
    us = [ef.tensor(rng.standard_normal(tuple(x.shape)), dtype=ef.float64) for x in xs]
    out = sample.fn(*xs)
    v = ef.tensor(rng.standard_normal(tuple(out.shape)), dtype=ef.float64)
    grads = ef.autograd.grad(out, xs, grad_outputs=v, allow_unused=True)
    rhs = sum(float(np.vdot(u.numpy(), g.numpy())) for u, g in zip(us, grads) if g is not None)
    with fwAD.dual_level():
        duals = [fwAD.make_dual(x.detach(), u) for x, u in zip(xs, us)]
        y = sample.fn(*duals)
        tangent = fwAD.unpack_dual(y).tangent
        assert tangent is not None, f"{name}: no tangent"
        assert tuple(tangent.shape) == tuple(y.shape)
        lhs = float(np.vdot(tangent.numpy(), v.numpy()))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("name,sample", GRAD_CASES)
def test_jvp_matches_finite_differences(name, sample):
    rng = np.random.default_rng(3)
    xs = make_inputs(sample, seed=3, requires_grad=False)
    us = [rng.standard_normal(tuple(x.shape)) for x in xs]
    with fwAD.dual_level():
        y = sample.fn(*[fwAD.make_dual(x, ef.tensor(u, dtype=ef.float64)) for x, u in zip(xs, us)])
        tangent = fwAD.unpack_dual(y).tangent.numpy().copy()
    eps = 1e-6

    def at(sign):
        return sample.fn(*[ef.tensor(x.numpy() + sign * eps * u, dtype=ef.float64) for x, u in zip(xs, us)]).numpy()

    np.testing.assert_allclose(tangent, (at(1) - at(-1)) / (2 * eps), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,sample", [c for c in CASES if not c.values[1].grad])
def test_no_gradient_primitives_return_none(name, sample):
    xs = make_inputs(sample)
    cls = ef.PRIMITIVES[name]
    node = cls.__new__(cls)
    out = sample.fn(*xs)
    # the rule itself gives no gradient for any input, and no tangent
    assert all(g is None for g in cls.vjp(node, out, xs, out))
    assert cls.jvp(node, [None] * len(xs), xs, out) is None
    # through the engine: the inputs are unused
    y = (xs[0] * 1.0).sum() + out.sum()
    gs = ef.autograd.grad(y, xs, allow_unused=True)
    np.testing.assert_array_equal(gs[0].numpy(), np.ones(xs[0].shape))
    assert all(g is None for g in gs[1:])
    assert out.dtype == ef.bool


# --------------------------------------------------------------------------------------------------
# a few primitive-specific facts the generic checks do not pin down


def test_maximum_ties_split_gradient():
    a = ef.tensor([1.0, 2.0, 3.0], dtype=ef.float64, requires_grad=True)
    b = ef.tensor([1.0, 5.0, 0.0], dtype=ef.float64, requires_grad=True)
    ef.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1.0, 0.0])


def test_amax_ties_share_gradient():
    x = ef.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], dtype=ef.float64, requires_grad=True)
    Amax((1,), False)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])


def test_relu_and_clamp_gradient_at_the_kink():
    x = ef.tensor([-1.0, 0.0, 2.0], dtype=ef.float64, requires_grad=True)
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 1.0])  # PyTorch: 0 at 0
    y = ef.tensor([-1.0, 0.0, 1.0, 2.0], dtype=ef.float64, requires_grad=True)
    y.clamp(0.0, 1.0).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 1.0, 1.0, 0.0])  # bounds included


def test_pow_gradient_at_zero_base():
    x = ef.tensor([0.0, 2.0], dtype=ef.float64, requires_grad=True)
    e = ef.tensor([2.0, 3.0], dtype=ef.float64, requires_grad=True)
    (x**e).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 12.0])
    np.testing.assert_allclose(e.grad.numpy(), [0.0, 8.0 * np.log(2.0)])  # 0 where the base is 0
    assert np.isfinite(e.grad.numpy()).all()


def test_cast_gradient_comes_back_in_input_dtype():
    x = ef.tensor([1.0, 2.0], dtype=ef.float32, requires_grad=True)
    y = x.double() * ef.tensor([3.0, 4.0], dtype=ef.float64)
    assert y.dtype == ef.float64
    y.sum().backward()
    assert x.grad.dtype == ef.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_index_add_accumulates_repeated_indices():
    g = ef.tensor([1.0, 2.0, 3.0], dtype=ef.float64)
    out = IndexAdd((3,), (np.array([0, 0, 2]),))(g)
    np.testing.assert_array_equal(out.numpy(), [3.0, 0.0, 3.0])


def test_window_fold_are_adjoint():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 9))
    w = Window((3,), (2,), (2,))(ef.tensor(x)).numpy()
    g = rng.standard_normal(w.shape)
    f = Fold((9,), (3,), (2,), (2,))(ef.tensor(g)).numpy()
    assert np.vdot(w, g) == pytest.approx(np.vdot(x, f))


def test_branch_free_select_matches_numpy_where():
    # Where's numpy fast path works on the bits: NaN, inf and signed zeros must come out as np.where's
    from einframe.ops.pointwise import _select

    rng = np.random.default_rng(0)
    m = rng.random((64, 70)) > 0.5  # large enough for the bitwise path
    for dt in (np.float16, np.float32, np.float64, np.int64):
        a = rng.standard_normal((64, 70)).astype(dt)
        b = rng.standard_normal((64, 70)).astype(dt)
        if dt != np.int64:
            a[0, 0], a[1, 1], b[2, 2] = np.nan, np.inf, -0.0
        for x, y in [(a, 0), (0, a), (a, 0.0), (a, -0.0), (a[:, ::-1], 0), (a, b), (a, b[0]), (a, 2.5), (0, b[0])]:
            got, want = _select(np, m, x, y), np.where(m, x, y)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)
            if want.dtype.kind == "f":
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
