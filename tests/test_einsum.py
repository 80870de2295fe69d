"""ef.einsum: forward semantics against numpy, the 38 reference equations (VJP and JVP against
central finite differences in float64), error messages, and the plan cache / plan inspection."""

from __future__ import annotations

import re

import numpy as np
import opt_einsum as oe
import pytest

import einframe as ef
import einframe.autograd.forward_ad as fwAD

# --------------------------------------------------------------------------------------------------
# helpers


def _t(a, requires_grad=False):
    return ef.tensor(np.asarray(a, dtype=np.float64), dtype=ef.float64, requires_grad=requires_grad)


def _np(t):
    return np.asarray(t.detach().numpy())


def _ascii_eq(eq: str) -> str:
    """Map every non-ASCII label to an unused ASCII letter so numpy can run the equation."""
    used = {c for c in eq if c.isascii() and c.isalpha()}
    free = iter(c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used)
    table: dict[str, str] = {}
    out = []
    for c in eq:
        if c.isalpha() and not c.isascii():
            if c not in table:
                table[c] = next(free)
            out.append(table[c])
        else:
            out.append(c)
    return "".join(out)


def ref_einsum(eq: str, *arrays) -> np.ndarray:
    """numpy.einsum, plus the summing of ellipsis dims absent from an explicit output (numpy raises)."""
    eq = _ascii_eq(eq.replace(" ", ""))
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    lhs, arrow, rhs = eq.partition("->")
    if arrow and "..." in lhs and "..." not in rhs:
        terms = lhs.split(",")
        ell = max((a.ndim - len(t.replace("...", "")) for t, a in zip(terms, arrays) if "..." in t), default=0)
        full = np.einsum(lhs + "->..." + rhs, *arrays)
        return full.sum(axis=tuple(range(ell)))
    return np.einsum(eq, *arrays)


def _fd_vjp(f, xs, G, eps=1e-6):
    """Central finite differences of <f(xs), G> with respect to every element of every x (float64 arrays)."""
    grads = []
    for i in range(len(xs)):
        g = np.zeros_like(xs[i])
        flat = xs[i].reshape(-1)
        gf = g.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = np.vdot(f(*xs), G)
            flat[j] = orig - eps
            minus = np.vdot(f(*xs), G)
            flat[j] = orig
            gf[j] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads


def check_einsum_derivatives(eq, shapes, tie=None, seed=0):
    """Forward vs numpy, VJP of every operand vs finite differences, JVP vs finite differences.

    ``tie`` lists, per operand position, which distinct tensor it holds (e.g. (0, 0) = the same tensor twice).
    """
    rng = np.random.default_rng(seed)
    tie = tuple(range(len(shapes))) if tie is None else tuple(tie)
    n_distinct = max(tie, default=-1) + 1
    base = [None] * n_distinct
    for pos, k in enumerate(tie):
        if base[k] is None:
            base[k] = rng.standard_normal(shapes[pos])

    def f_np(*xs):
        return ref_einsum(eq, *[xs[k] for k in tie])

    leaves = [_t(b, requires_grad=True) for b in base]
    out = ef.einsum(eq, *[leaves[k] for k in tie])
    expected = f_np(*base)
    assert tuple(out.shape) == expected.shape
    np.testing.assert_allclose(_np(out), expected, rtol=1e-10, atol=1e-10)

    # reverse mode: one cotangent, gradient of every distinct tensor (tied positions are summed)
    G = rng.standard_normal(expected.shape)
    grads = ef.autograd.grad(out, leaves, grad_outputs=_t(G))
    num = _fd_vjp(f_np, [b.copy() for b in base], G)
    for k, (g, n) in enumerate(zip(grads, num)):
        assert g is not None, f"no gradient for tensor {k}"
        assert tuple(g.shape) == base[k].shape, f"gradient {k} has shape {tuple(g.shape)}, expected {base[k].shape}"
        np.testing.assert_allclose(_np(g), n, rtol=1e-6, atol=1e-6, err_msg=f"{eq}: d/d(tensor {k})")

    # forward mode: tangent of the output for random input tangents vs a directional difference
    vs = [rng.standard_normal(b.shape) for b in base]
    with fwAD.dual_level():
        duals = [fwAD.make_dual(_t(b), _t(v)) for b, v in zip(base, vs)]
        y = ef.einsum(eq, *[duals[k] for k in tie])
        tangent = fwAD.unpack_dual(y).tangent
        assert tangent is not None
        tangent = _np(tangent)
    eps = 1e-6
    plus = f_np(*[b + eps * v for b, v in zip(base, vs)])
    minus = f_np(*[b - eps * v for b, v in zip(base, vs)])
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-6, err_msg=f"{eq}: jvp")


# --------------------------------------------------------------------------------------------------
# forward semantics

FORWARD_CASES = [
    # explicit and implicit output
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ba", [(2, 3)]),  # implicit output sorted by code point: a transpose
    ("ij->ji", [(2, 3)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("ij,ij", [(2, 3), (2, 3)]),
    ("ij,kl->ijkl", [(2, 3), (1, 2)]),
    # ellipsis (right-aligned, different ranks), implicit output puts ellipsis first
    ("...ij,...jk->...ik", [(5, 1, 2, 3), (4, 3, 2)]),
    ("...ij,...jk", [(5, 1, 2, 3), (4, 3, 2)]),
    ("i...,i...->...", [(2, 3, 4), (2, 4)]),
    ("...i->...", [(2, 3, 4)]),
    ("...->...", [()]),
    ("i...j->j...i", [(2, 3, 4, 5)]),
    # ellipsis absent from an explicit output is summed (torch semantics; numpy raises)
    ("i...->i", [(2, 3, 4)]),
    ("...ij,...jk->ik", [(5, 1, 2, 3), (4, 3, 2)]),
    ("b...,b...->b", [(2, 3, 1), (2, 1, 4)]),
    # diagonals and traces
    ("ii->i", [(3, 3)]),
    ("ii->", [(3, 3)]),
    ("ii", [(4, 4)]),
    ("iij->j", [(3, 3, 2)]),
    ("iji->ij", [(3, 2, 3)]),
    ("iii->i", [(3, 3, 3)]),
    ("iijj->", [(2, 2, 3, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("ii,i->i", [(3, 3), (3,)]),
    # labels in only one operand are summed
    ("ij,jk->i", [(2, 3), (3, 4)]),
    ("ijk,k->i", [(2, 3, 4), (4,)]),
    ("ij->", [(2, 3)]),
    # size-1 broadcasting of a label (kept or contracted)
    ("ij,ij->ij", [(3, 1), (3, 4)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("ij,j->i", [(3, 4), (1,)]),
    ("...,...->...", [(2, 1, 3), (4, 1)]),
    ("bn,nd,bd->b", [(2, 5), (5, 3), (1, 3)]),
    # scalar operands
    (",->", [(), ()]),
    (",ij->ij", [(), (2, 3)]),
    ("ij,->", [(2, 3), ()]),
    # upper and lower case, unicode
    ("Ab,bC->AC", [(2, 3), (3, 4)]),
    ("bA", [(2, 3)]),
    ("ZaA,aB", [(2, 3, 4), (3, 5)]),
    ("αβ,βγ->αγ", [(2, 3), (3, 4)]),
    ("αβ,βγ", [(2, 3), (3, 4)]),
    ("ñi,iü->üñ", [(2, 3), (3, 2)]),
    # many operands, spaces
    ("pi,qj,ijkl,rk,sl->pqrs", [(2, 3), (2, 2), (3, 2, 2, 3), (2, 2), (2, 3)]),
    ("ij , jk -> ik", [(2, 3), (3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
]


@pytest.mark.parametrize("eq,shapes", FORWARD_CASES, ids=[f"{e}|{s}" for e, s in FORWARD_CASES])
def test_forward_matches_numpy(eq, shapes):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    out = ef.einsum(eq, *[_t(a) for a in arrays])
    expected = ref_einsum(eq, *arrays)
    assert tuple(out.shape) == expected.shape
    assert out.dtype == ef.float64
    np.testing.assert_allclose(_np(out), expected, rtol=1e-12, atol=1e-12)


def test_reference_helper_really_sums_ellipsis():
    # guard the reference itself: numpy raises on this equation, our helper must sum the '...' dims
    a = np.arange(24.0).reshape(2, 3, 4)
    with pytest.raises(ValueError):
        np.einsum("i...->i", a)
    np.testing.assert_allclose(ref_einsum("i...->i", a), a.sum(axis=(1, 2)))


def test_implicit_output_order_is_code_point():
    x = ef.randn(2, 3, 4)
    # 'A' (65) sorts before 'Z' (90) before 'a' (97): 'ZaA,aB' -> 'ABZ'
    y = ef.einsum("ZaA,aB", x, ef.randn(3, 5))
    assert tuple(y.shape) == (4, 5, 2)
    assert tuple(ef.einsum("bA", ef.randn(2, 3)).shape) == (3, 2)
    assert tuple(ef.einsum("ba", ef.randn(2, 3)).shape) == (3, 2)


def test_float32_in_float32_out_and_mixed_dtypes_promote():
    a, b = ef.randn(2, 3), ef.randn(3, 4)
    assert ef.einsum("ij,jk->ik", a, b).dtype == ef.float32
    c = ef.einsum("ij,jk->ik", a, b.double())
    assert c.dtype == ef.float64
    np.testing.assert_allclose(c.numpy(), a.numpy().astype(np.float64) @ b.numpy().astype(np.float64), rtol=1e-6)


def test_list_operands_and_integer_tensors():
    a = ef.tensor([[1, 2], [3, 4]])
    b = ef.tensor([[5, 6], [7, 8]])
    r = ef.einsum("ij,jk->ik", [a, b])
    assert r.dtype == ef.int64
    np.testing.assert_array_equal(r.numpy(), np.array([[19, 22], [43, 50]]))


def test_result_owns_memory():
    # a bare diagonal / transpose must not let a later in-place write corrupt the input
    x = ef.tensor(np.arange(9.0).reshape(3, 3))
    d = ef.einsum("ii->i", x)
    d.add_(100.0)
    np.testing.assert_array_equal(x.numpy(), np.arange(9.0).reshape(3, 3))
    np.testing.assert_array_equal(d.numpy(), [100.0, 104.0, 108.0])


def test_grad_fn_shows_equation_and_backward_equations():
    x = ef.randn(4, 3, requires_grad=True)
    w = ef.randn(5, 3, requires_grad=True)
    y = ef.einsum("bi,oi->bo", x, w)
    assert y.grad_fn.equation == "bi,oi->bo"
    assert "bi,oi->bo" in repr(y.grad_fn)
    assert y.grad_fn.backward_equations == [
        "dA = einsum('bo,oi->bi', grad, B)",
        "dB = einsum('bo,bi->oi', grad, A)",
    ]
    # a diagonal needs a Kronecker delta; a lonely label a ones factor
    d = ef.einsum("ii->i", ef.randn(3, 3, requires_grad=True))
    (eq,) = d.grad_fn.backward_equations
    assert "eye(3)" in eq and eq.startswith("dA = einsum(")
    s = ef.einsum("ijk,k->i", ef.randn(2, 3, 4, requires_grad=True), ef.randn(4, requires_grad=True))
    assert "ones(3)" in s.grad_fn.backward_equations[0]


def test_backward_equations_are_what_runs():
    # the printed equation for dA of 'ij,jk->ik' must compute the gradient we get from backward
    rng = np.random.default_rng(3)
    A, B, G = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    a, b = _t(A, True), _t(B, True)
    y = ef.einsum("ij,jk->ik", a, b)
    text = y.grad_fn.backward_equations[0]
    m = re.match(r"dA = einsum\('([^']*)', grad, B\)", text)
    assert m, text
    np.testing.assert_allclose(np.einsum(m.group(1), G, B), G @ B.T)
    y.backward(_t(G))
    np.testing.assert_allclose(a.grad.numpy(), G @ B.T)
    np.testing.assert_allclose(b.grad.numpy(), A.T @ G)


# --------------------------------------------------------------------------------------------------
# the 38 verified equations of the reference notes §2.6: forward, VJP (every operand) and JVP

EQ38 = [
    ("ij,jk->ik", [(2, 3), (3, 4)], None),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], None),
    ("ij,jk", [(2, 3), (3, 4)], None),
    ("ii->", [(3, 3)], None),
    ("ii->i", [(3, 3)], None),
    ("iij->j", [(3, 3, 2)], None),
    ("iji->ij", [(3, 2, 3)], None),
    ("iii->i", [(3, 3, 3)], None),
    ("ij->", [(2, 3)], None),
    ("ijk,k->i", [(2, 3, 4), (4,)], None),
    ("i,j->ij", [(3,), (4,)], None),
    (",->", [(), ()], None),
    (",ij->ij", [(), (2, 3)], None),
    ("ij,ij->ij", [(3, 1), (3, 4)], None),
    ("ij,jk->ik", [(2, 1), (3, 4)], None),
    ("...ij,...jk->...ik", [(5, 1, 2, 3), (4, 3, 2)], None),
    ("...ij,...jk", [(5, 1, 2, 3), (4, 3, 2)], None),
    ("i...->i", [(2, 3, 4)], None),
    ("...ii->...i", [(2, 3, 3)], None),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)], None),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)], None),
    ("pi,qj,ijkl,rk,sl->pqrs", [(2, 3), (2, 2), (3, 2, 2, 3), (2, 2), (2, 3)], None),
    ("ij,ij->", [(2, 3), (2, 3)], (0, 0)),
    ("ij,jk,kl->il", [(3, 3), (3, 3), (3, 3)], (0, 0, 0)),
    ("ii,i->i", [(3, 3), (3,)], None),
    ("nd,nn->d", [(4, 2), (4, 4)], None),
    ("ijji,kji,jj->kj", [(2, 3, 3, 2), (4, 3, 2), (3, 3)], None),
    ("αβ,βγ->αγ", [(2, 3), (3, 4)], None),
    ("Ab,bC->AC", [(2, 3), (3, 4)], None),
    ("bchwkl,ockl->bohw", [(2, 2, 3, 3, 2, 2), (3, 2, 2, 2)], None),
    ("ij,j->i", [(3, 4), (1,)], None),
    ("...,...->...", [(2, 1, 3), (4, 1)], None),
    ("ij,jk->", [(2, 3), (3, 4)], None),
    ("ba,ab->", [(3, 3), (3, 3)], (0, 0)),
    ("i,i,i->", [(3,), (3,), (3,)], (0, 0, 0)),
    ("ijk->kji", [(2, 3, 4)], None),
    ("iijj->", [(2, 2, 3, 3)], None),
    ("bn,nd,bd->b", [(2, 5), (5, 3), (1, 3)], None),
]


def test_eq38_has_38_equations():
    assert len(EQ38) == 38


@pytest.mark.parametrize("eq,shapes,tie", EQ38, ids=[f"{i:02d}:{e}" for i, (e, _, _) in enumerate(EQ38)])
def test_eq38_vjp_jvp(eq, shapes, tie):
    check_einsum_derivatives(eq, shapes, tie)


@pytest.mark.parametrize(
    "eq,shapes,tie",
    [
        ("ij,ij->", [(2, 3), (2, 3)], (0, 1)),  # A and B distinct ...
        ("ij,jk,kl->il", [(3, 3), (3, 3), (3, 3)], (0, 1, 0)),  # mixed tie
        ("ij,ji->", [(3, 3), (3, 3)], (0, 0)),
        ("ii,ij->j", [(3, 3), (3, 3)], (0, 0)),
    ],
)
def test_more_ties(eq, shapes, tie):
    check_einsum_derivatives(eq, shapes, tie, seed=7)


def test_tie_gradient_is_sum_over_positions():
    # einsum('ij,ij->', A, A) = sum(A^2): gradient 2A exactly
    A = np.random.default_rng(0).standard_normal((2, 3))
    a = _t(A, True)
    ef.einsum("ij,ij->", a, a).backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * A)
    # tr(A A): gradient 2 A^T
    a.grad = None
    ef.einsum("ba,ab->", a[:, :2], a[:, :2]).backward()
    expected = np.zeros_like(A)
    expected[:, :2] = 2 * A[:, :2].T
    np.testing.assert_allclose(a.grad.numpy(), expected)


def test_broadcast_gradient_shapes():
    # other-operand broadcasting (HIPS autograd returned (1,4) and (3,1) here)
    a, b = _t(np.ones((2, 1)), True), _t(np.ones((3, 4)), True)
    ef.einsum("ij,jk->ik", a, b).sum().backward()
    assert tuple(a.grad.shape) == (2, 1) and tuple(b.grad.shape) == (3, 4)
    np.testing.assert_allclose(a.grad.numpy(), np.full((2, 1), 12.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full((3, 4), 2.0))
    x, v = _t(np.ones((3, 4)), True), _t([2.0], True)
    ef.einsum("ij,j->i", x, v).sum().backward()
    assert tuple(x.grad.shape) == (3, 4)
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 4), 2.0))
    np.testing.assert_allclose(v.grad.numpy(), [12.0])


def test_eq38_second_order_sample():
    # gradgradcheck on a few of the hardest equations (diagonals, broadcasting, ellipsis, ties)
    rng = np.random.default_rng(5)
    for eq, shapes in [
        ("ijji,kji,jj->kj", [(2, 2, 2, 2), (2, 2, 2), (2, 2)]),
        ("ij,jk->ik", [(2, 1), (3, 2)]),
        ("...ij,...jk->...ik", [(2, 1, 2, 2), (2, 2, 2)]),
        ("iij->j", [(2, 2, 3)]),
        ("bn,nd,bd->b", [(2, 3), (3, 2), (1, 2)]),
    ]:
        xs = tuple(_t(rng.standard_normal(s), True) for s in shapes)
        assert ef.autograd.gradgradcheck(lambda *a, eq=eq: ef.einsum(eq, *a), xs), eq
    x = _t(rng.standard_normal((3, 3)), True)
    assert ef.autograd.gradgradcheck(lambda a: ef.einsum("ij,jk,kl->il", a, a, a), (x,))


def test_integer_operands_get_no_gradient_but_float_does():
    idx = ef.tensor([[1, 0], [0, 1]])
    w = ef.randn(2, 3, dtype=ef.float64, requires_grad=True)
    y = ef.einsum("ij,jk->ik", idx, w)
    assert y.dtype == ef.float64
    y.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones((2, 3)))


# --------------------------------------------------------------------------------------------------
# errors


def _raises(eq, shapes, *fragments):
    with pytest.raises(ef.EinsumError) as info:
        ef.einsum(eq, *[ef.ones(*s) for s in shapes])
    msg = str(info.value)
    assert msg.startswith(f"einsum '{eq}'"), msg
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in {msg!r}"
    return msg


def test_error_size_mismatch_names_label_positions_sizes():
    msg = _raises("ij,jk->ik", [(2, 3), (4, 5)])
    assert msg == "einsum 'ij,jk->ik': index 'j' is 3 in operand 0 but 4 in operand 1"
    _raises("ij,jk,kl->il", [(2, 3), (3, 4), (5, 6)], "index 'k'", "4 in operand 1", "5 in operand 2")
    _raises("ij,ij->ij", [(3, 2), (3, 4)], "index 'j'", "2 in operand 0", "4 in operand 1")
    # a size-1 occurrence broadcasts; the mismatch is then between the two real sizes
    _raises("ij,ij,ij->ij", [(3, 1), (3, 4), (3, 5)], "index 'j'", "4 in operand 1", "5 in operand 2")


def test_einsum_error_is_a_value_error():
    assert issubclass(ef.EinsumError, ValueError)


def test_error_wrong_operand_count():
    _raises("ij,jk->ik", [(2, 3)], "2 operand", "1 were given")
    _raises("ij,jk->ik", [(2, 3), (3, 4), (4,)], "2 operand", "3 were given")
    _raises("ij->ij", [(2, 3), (2, 3)], "1 operand", "2 were given")


def test_error_no_operands():
    with pytest.raises(ef.EinsumError, match="einsum 'ij->ij'"):
        ef.einsum("ij->ij")


def test_error_bad_characters():
    _raises("i-j->ij", [(2, 3)], "'-'", "operand 0")
    _raises("i.j->ij", [(2, 3)], "'.'", "operand 0")
    _raises("ij,j>k->ik", [(2, 3), (3, 4)], "'>'", "operand 1")
    _raises("ij->i-j", [(2, 3)], "'-'", "output")
    _raises("i->i->i", [(2,)], "'->'")
    _raises("...i...->i", [(2, 3)], "more than one '...'")
    with pytest.raises(TypeError):
        ef.einsum(3, ef.ones(2))


def test_error_output_label_not_in_inputs():
    _raises("ij->k", [(2, 3)], "output index 'k'", "does not appear")
    _raises("ij,jk->iz", [(2, 3), (3, 4)], "output index 'z'")


def test_error_repeated_output_label():
    _raises("ij->ii", [(2, 3)], "output index 'i'", "more than once")


def test_error_repeated_label_unequal_sizes_in_one_operand():
    _raises("ii->i", [(3, 4)], "index 'i'", "operand 0", "3 and 4")
    # numpy rejects size-1 broadcasting inside one operand's diagonal; so do we
    _raises("ii->i", [(3, 1)], "index 'i'", "operand 0", "3 and 1")
    _raises("j,iji->j", [(2,), (3, 2, 4)], "index 'i'", "operand 1", "3 and 4")


def test_error_rank_mismatch():
    _raises("ijk->i", [(2, 3)], "operand 0", "2 dimension", "'ijk'", "3")
    _raises("ij,j->i", [(2, 3), (3, 1)], "operand 1", "2 dimension", "'j'")
    _raises("ij...->i", [(2,)], "operand 0", "at least 2")


def test_error_bad_operand_type():
    with pytest.raises(TypeError, match="operand 1"):
        ef.einsum("i,i->", ef.ones(2), "not a tensor")


# --------------------------------------------------------------------------------------------------
# plans and the plan cache


def _kinds(plan):
    """The kind of every pairwise step of a plan ('gemm', 'bmm', 'mul', ...); the step object is last."""
    return [entry[-1].kind for entry in plan.steps]


@pytest.fixture
def fresh_cache():
    cache = ef.plan_cache
    old = cache.maxsize
    cache.clear()
    yield cache
    cache.maxsize = old
    cache.clear()


def test_plan_cache_counts_hits_and_misses(fresh_cache):
    info = fresh_cache.info()
    assert info == {"hits": 0, "misses": 0, "size": 0, "maxsize": info["maxsize"]}
    a, b = ef.randn(2, 3), ef.randn(3, 4)
    ef.einsum("ij,jk->ik", a, b)
    assert fresh_cache.info()["misses"] == 1 and fresh_cache.info()["hits"] == 0
    ef.einsum("ij,jk->ik", a, b)
    ef.einsum("ab,bc->ac", a, b)  # the same canonical equation shares the plan
    info = fresh_cache.info()
    assert info["hits"] == 2 and info["misses"] == 1 and info["size"] == 1
    # new shape, new dtype: new plans
    ef.einsum("ij,jk->ik", ef.randn(2, 1), b)
    ef.einsum("ij,jk->ik", a.double(), b.double())
    info = fresh_cache.info()
    assert info["misses"] == 3 and info["size"] == 3
    assert "3 misses" in repr(fresh_cache)


def test_plan_cache_is_bounded_and_evicts_lru(fresh_cache):
    fresh_cache.maxsize = 2
    xs = [ef.randn(2, n) for n in (3, 4, 5)]
    for x in xs:
        ef.einsum("ij->j", x)
    info = fresh_cache.info()
    assert info["size"] == 2 and info["misses"] == 3
    ef.einsum("ij->j", xs[2])  # most recent: still cached
    assert fresh_cache.info()["hits"] == 1
    ef.einsum("ij->j", xs[0])  # the least recently used was evicted
    info = fresh_cache.info()
    assert info["misses"] == 4 and info["size"] == 2
    # many distinct shapes never grow the cache beyond maxsize
    for n in range(1, 20):
        ef.einsum("ij->j", ef.randn(1, n))
    assert fresh_cache.info()["size"] == 2


def test_training_loop_plans_each_contraction_once(fresh_cache):
    x = ef.randn(4, 3)
    w = ef.randn(5, 3, requires_grad=True)
    for _ in range(3):
        w.grad = None
        ef.einsum("bi,oi->bo", x, w).sum().backward()
    info = fresh_cache.info()
    # planned in the first step (forward and backward contractions), reused afterwards
    assert info["misses"] == info["size"]
    assert info["hits"] >= 2 * info["misses"]


def test_plan_cache_clear(fresh_cache):
    ef.einsum("ij->", ef.ones(2, 2))
    fresh_cache.clear()
    assert fresh_cache.info()["size"] == 0 and fresh_cache.info()["misses"] == 0


def test_einsum_plan_path_flops_largest_intermediate():
    p = ef.einsum_plan("ij,jk,kl->il", (8, 64), (64, 64), (64, 2))
    # cheap order: (64x64)(64x2) first, then (8x64)(64x2)
    assert [tuple(sorted(c)) for c in p.path] == [(1, 2), (0, 1)]
    assert p.flops == 2 * 64 * 64 * 2 + 2 * 8 * 64 * 2
    assert p.largest_intermediate == 64 * 2
    assert _kinds(p) == ["gemm", "gemm"]
    text = str(p)
    assert "ij,jk,kl->il" in text and "flops" in text and "gemm" in text
    # agrees with opt_einsum's own cost model on other shapes (independent reference)
    for shapes in [((64, 2), (2, 64), (64, 64)), ((3, 5), (5, 7), (7, 2))]:
        p2 = ef.einsum_plan("ij,jk,kl->il", *shapes)
        path, info = oe.contract_path("ij,jk,kl->il", *shapes, shapes=True)
        assert [tuple(sorted(c)) for c in p2.path] == [tuple(sorted(c)) for c in path]
        assert p2.flops == int(info.opt_cost)
        assert p2.largest_intermediate == int(info.largest_intermediate)


def test_einsum_plan_accepts_tensors_and_matches_the_run():
    a, b = ef.randn(3, 4), ef.randn(4, 5)
    p = ef.einsum_plan("ij,jk->ik", a, b)
    assert p.flops == 2 * 3 * 4 * 5
    assert p.largest_intermediate == 15
    r = p(np, [a.numpy(), b.numpy()])
    np.testing.assert_allclose(r, a.numpy() @ b.numpy(), rtol=1e-6)


def test_batched_plan_uses_bmm():
    p = ef.einsum_plan("bhqd,bhkd->bhqk", (8, 8, 128, 64), (8, 8, 128, 64))
    kinds = _kinds(p)
    assert kinds == ["bmm"]
    assert p.flops == 2 * 8 * 8 * 128 * 128 * 64
    assert p.largest_intermediate == 8 * 8 * 128 * 128
    # and it computes the right thing
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 2, 3, 4)), rng.standard_normal((2, 2, 5, 4))
    out = ef.einsum("bhqd,bhkd->bhqk", _t(q), _t(k))
    np.testing.assert_allclose(_np(out), np.einsum("bhqd,bhkd->bhqk", q, k), rtol=1e-12)
    # the backward contractions are batched too
    p_dq = ef.einsum_plan("bhqk,bhkd->bhqd", (8, 8, 128, 128), (8, 8, 128, 64))
    assert _kinds(p_dq) == ["bmm"]


def test_plain_product_steps():
    assert _kinds(ef.einsum_plan("ij,jk->ik", (4, 5), (5, 6))) == ["gemm"]
    assert _kinds(ef.einsum_plan("i,j->ij", (4,), (5,))) == ["mul"]
    assert _kinds(ef.einsum_plan("bij,bjk->bik", (2, 3, 4), (2, 4, 5))) == ["bmm"]


def test_backward_equations_of_real_ops():
    # matmul, sum, transpose and trace are Contract nodes whose derived equations can be printed
    a = ef.randn(2, 3, requires_grad=True)
    b = ef.randn(3, 4, requires_grad=True)
    y = a @ b
    assert type(y.grad_fn).__name__ == "Contract"
    eqs = y.grad_fn.backward_equations
    assert len(eqs) == 2 and eqs[0].startswith("dA = einsum(") and eqs[1].startswith("dB = einsum(")
    s = a.sum(dim=0)
    assert type(s.grad_fn).__name__ == "Contract"
    (eq,) = s.grad_fn.backward_equations
    assert "ones(2)" in eq  # the summed label comes back as a broadcast ones factor
    m = ef.randn(3, 3, requires_grad=True)
    (eq,) = m.trace().grad_fn.backward_equations
    assert "eye(3)" in eq
    print(y.grad_fn.backward_equations, s.grad_fn.backward_equations, eq)


def test_summed_labels_follow_the_first_operands_memory_order():
    # BatchNorm's statistics on batch-innermost activations: summing (b, l) in memory order (l, b)
    # makes both operands' (c, K) blocks views instead of copies; the values do not depend on it
    from einframe.einsum.plan import Plan

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5))  # (b, c, l)
    xb = np.ascontiguousarray(x.transpose(1, 2, 0)).transpose(2, 0, 1)  # (c, l, b) memory
    from einframe.einsum import canon_for

    canon = canon_for("bcl,bcl->c", (x.shape, x.shape))
    c_order = Plan(canon, (x.shape, x.shape), (x.strides, x.strides)).single
    b_last = Plan(canon, (x.shape, x.shape), (xb.strides, xb.strides)).single
    assert c_order.perm_a == (1, 0, 2) and b_last.perm_a == (1, 2, 0)
    for arr in (x, xb):
        got = ef.einsum("bcl,bcl->c", ef.tensor(arr), ef.tensor(arr)).numpy()
        np.testing.assert_allclose(got, np.einsum("bcl,bcl->c", x, x), rtol=1e-12)
