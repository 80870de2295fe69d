"""Window / Fold primitives: values against numpy, first and second order gradients, jvp == vjp adjoint."""

import itertools

import numpy as np
import pytest

import einframe as ef
import einframe.autograd.forward_ad as fwAD
from einframe.ops.window import Fold, Window

# (name, input shape, primitive factory)
SAMPLES = [
    ("Window1d", (2, 3, 7), lambda: Window((3,), (2,), (1,))),
    ("Window2d-dilated", (2, 2, 7, 6), lambda: Window((3, 2), (2, 1), (1, 2))),
    ("Window3d", (1, 2, 4, 4, 5), lambda: Window((2, 2, 3), (1, 2, 1), (1, 1, 1))),
    ("Fold1d", (2, 3, 3, 3), lambda: Fold((7,), (3,), (2,), (1,))),
    ("Fold2d-overlap", (2, 3, 3, 4, 2, 2), lambda: Fold((7, 6), (2, 2), (2, 1), (1, 2))),
    ("Fold2d-disjoint", (2, 3, 3, 4, 2, 2), lambda: Fold((6, 9), (2, 2), (2, 2), (1, 1))),
    ("Fold2d-remainder", (1, 2, 2, 2, 3, 3), lambda: Fold((7, 8), (3, 3), (2, 2), (1, 1))),
    ("Fold2d-wide-lead", (4, 4, 3, 2, 2, 3), lambda: Fold((4, 5), (2, 3), (1, 1), (1, 1))),
]


def _rand(shape):
    return ef.randn(*shape, dtype=ef.float64, requires_grad=True)


@pytest.mark.parametrize("name,shape,make", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_gradcheck(name, shape, make):
    x = _rand(shape)
    assert ef.autograd.gradcheck(lambda a: make()(a), (x,))
    assert ef.autograd.gradgradcheck(lambda a: make()(a), (x,))


@pytest.mark.parametrize("name,shape,make", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_jvp_matches_vjp(name, shape, make):
    """<J t, u> from forward mode equals <t, J^T u> from reverse mode."""
    x = _rand(shape)
    t = ef.randn(*shape, dtype=ef.float64)
    with fwAD.dual_level():
        y = make()(fwAD.make_dual(x, t))
        jt = fwAD.unpack_dual(y).tangent
    u = ef.randn(*y.shape, dtype=ef.float64)
    (vj,) = ef.autograd.grad((make()(x) * u).sum(), (x,))
    assert np.allclose((jt * u).sum().item(), (vj * t).sum().item())


def test_every_new_primitive_has_a_sample():
    covered = {type(make()).__name__ for _, _, make in SAMPLES}
    assert {"Window", "Fold"} <= covered
    assert ef.PRIMITIVES["Window"].kind == "Window" and ef.PRIMITIVES["Fold"].kind == "Fold"


def test_window_values_and_view():
    x = ef.arange(2 * 6 * 5.0).reshape(2, 6, 5)
    w = Window((2, 3), (2, 1), (2, 1))(x)
    ref = np.lib.stride_tricks.sliding_window_view(x.numpy(), (3, 3), axis=(1, 2))[:, ::2, :, ::2, :]
    assert w.shape == (2, 2, 3, 2, 3)
    assert np.array_equal(w.numpy(), ref)
    assert np.shares_memory(w.numpy(), x.numpy())  # zero-copy


def test_fold_values():
    g = np.random.default_rng(0).normal(size=(2, 2, 2))
    out = Fold((5,), (2,), (2,), (2,))(ef.tensor(g)).numpy()
    ref = np.zeros((2, 5))
    for o in range(2):
        for k in range(2):
            ref[:, o * 2 + k * 2] += g[:, o, k]
    assert np.allclose(out, ref)


def test_errors_are_clear():
    with pytest.raises(ValueError, match="does not fit"):
        Window((5,), (1,), (1,))(ef.zeros(3))
    with pytest.raises(ValueError, match="overrun"):
        Fold((3,), (2,), (2,), (1,))(ef.zeros(3, 2))


def _fold_reference(g, size, k, s, d):
    n = len(k)
    lead, outs = g.shape[: g.ndim - 2 * n], g.shape[g.ndim - 2 * n : g.ndim - n]
    out = np.zeros(lead + tuple(size))
    for o in itertools.product(*map(range, outs)):
        for kappa in itertools.product(*map(range, k)):
            pos = tuple(oo * ss + kk * dd for oo, ss, kk, dd in zip(o, s, kappa, d))
            out[(Ellipsis, *pos)] += g[(Ellipsis, *o, *kappa)]
    return out


@pytest.mark.parametrize(
    "size, k, s, d",
    [((9,), (3,), (2,), (1,)), ((10, 11), (3, 2), (2, 3), (1, 2)), ((7, 8), (3, 3), (1, 1), (1, 1)),
     ((12, 10), (4, 3), (3, 2), (2, 1)), ((6, 7, 8), (2, 3, 2), (2, 1, 3), (1, 1, 1))],
)  # fmt: skip
@pytest.mark.parametrize("batch_innermost", [False, True])
def test_fold_matches_loops_for_any_stride_and_layout(size, k, s, d, batch_innermost):
    # overlapping strided windows are accumulated by phase, in the memory order of the input
    n = len(k)
    outs = tuple((S - dd * (kk - 1) - 1) // ss + 1 for S, kk, ss, dd in zip(size, k, s, d))
    g = np.random.default_rng(0).standard_normal((2, 3) + outs + k)
    if batch_innermost:  # (c, *k, *O, b) memory, as a conv's input gradient arrives
        nd = 2 + n
        order = [1, *range(nd, nd + n), *range(2, nd), 0]
        g = np.ascontiguousarray(g.transpose(order)).transpose(np.argsort(order))
    got = Fold(size, k, s, d)(ef.tensor(g)).numpy()
    np.testing.assert_allclose(got, _fold_reference(g, size, k, s, d), rtol=1e-12, atol=1e-12)
