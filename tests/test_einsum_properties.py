"""Property tests: random valid einsum equations (1-4 operands, ellipsis, diagonals, size-1
broadcasting, implicit/explicit output) against numpy.einsum, and their gradients (VJP and JVP)
against central finite differences in float64."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import einframe as ef
import einframe.autograd.forward_ad as fwAD

LETTERS = "abcdeAB"
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def einsum_cases(draw, max_operands=4, max_size=3, max_elems=200):
    """(equation, shapes, numpy_ok): a valid equation and operand shapes that fit it.

    ``numpy_ok`` is False when the explicit output omits '...' while operands have ellipsis dims
    (numpy raises there; einframe sums those dims, as torch does).
    """
    n_ops = draw(st.integers(1, max_operands))
    size = {c: draw(st.integers(1, max_size)) for c in LETTERS}
    use_ell = draw(st.booleans())
    ell_max = draw(st.integers(0, 2)) if use_ell else 0
    ell_sizes = [draw(st.integers(1, max_size)) for _ in range(ell_max)]
    terms, shapes = [], []
    has_ell = False
    for _ in range(n_ops):
        labels = draw(st.lists(st.sampled_from(LETTERS[:5] + "AB"), min_size=0, max_size=3))
        shape: list[int] = []
        counts = {c: labels.count(c) for c in labels}
        for c in labels:
            # size-1 broadcasting of a label, except on repeated labels (diagonals need equal sizes)
            broadcast = counts[c] == 1 and size[c] > 1 and draw(st.integers(0, 4)) == 0
            shape.append(1 if broadcast else size[c])
        term = "".join(labels)
        if use_ell and draw(st.booleans()):
            has_ell = True
            r = draw(st.integers(0, ell_max))
            ell_shape = [1 if draw(st.integers(0, 3)) == 0 else n for n in ell_sizes[ell_max - r :]]
            pos = draw(st.integers(0, len(labels)))
            term = "".join(labels[:pos]) + "..." + "".join(labels[pos:])
            shape = shape[:pos] + ell_shape + shape[pos:]
        terms.append(term)
        shapes.append(tuple(shape))
    lhs = ",".join(terms)
    numpy_ok = True
    if draw(st.booleans()):
        eq = lhs  # implicit output
    else:
        present = sorted({c for t in terms for c in t if c != "."})
        out = draw(st.permutations(present))
        out = out[: draw(st.integers(0, len(out)))]
        rhs = "".join(out)
        if has_ell:
            if draw(st.integers(0, 3)) == 0:
                numpy_ok = False  # ellipsis summed away
            else:
                pos = draw(st.integers(0, len(rhs)))
                rhs = rhs[:pos] + "..." + rhs[pos:]
        eq = lhs + "->" + rhs
    # keep the work small: the full (unsummed) index space stays below max_elems
    total = 1
    for c in {c for t in terms for c in t if c != "."}:
        total *= size[c]
    for n in ell_sizes:
        total *= n
    if total > max_elems:
        from hypothesis import assume

        assume(False)
    return eq, shapes, numpy_ok


def reference(eq: str, arrays) -> np.ndarray:
    """numpy.einsum; when an explicit output omits '...', keep the ellipsis dims in front and sum them."""
    lhs, arrow, rhs = eq.partition("->")
    if arrow and "..." in lhs and "..." not in rhs:
        ell = max(a.ndim - len(t.replace("...", "")) for t, a in zip(lhs.split(","), arrays) if "..." in t)
        return np.einsum(lhs + "->..." + rhs, *arrays).sum(axis=tuple(range(ell)))
    return np.einsum(eq, *arrays)


def _t(a, rg=False):
    return ef.tensor(np.asarray(a, dtype=np.float64), dtype=ef.float64, requires_grad=rg)


@settings(max_examples=300, **SETTINGS)
@given(case=einsum_cases(), seed=st.integers(0, 2**16))
def test_forward_matches_numpy(case, seed):
    eq, shapes, numpy_ok = case
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in shapes]
    try:
        expected = np.einsum(eq, *arrays)
    except ValueError:
        # only an ellipsis of rank > 0 summed away by an explicit output may make numpy refuse
        assert not numpy_ok, eq
        expected = reference(eq, arrays)
    out = ef.einsum(eq, *[_t(a) for a in arrays])
    assert tuple(out.shape) == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-10)
    # float32 follows the same semantics
    out32 = ef.einsum(eq, *[ef.tensor(a, dtype=ef.float32) for a in arrays])
    assert out32.dtype == ef.float32
    np.testing.assert_allclose(out32.numpy(), expected, rtol=1e-4, atol=1e-4)


@settings(max_examples=120, **SETTINGS)
@given(case=einsum_cases(max_operands=3, max_elems=64), seed=st.integers(0, 2**16))
def test_vjp_and_jvp_match_finite_differences(case, seed):
    eq, shapes, _ = case
    rng = np.random.default_rng(seed)
    base = [rng.standard_normal(s) for s in shapes]
    leaves = [_t(b, True) for b in base]
    out = ef.einsum(eq, *leaves)
    expected = reference(eq, base)
    G = rng.standard_normal(expected.shape)
    grads = ef.autograd.grad(out, leaves, grad_outputs=_t(G))

    eps = 1e-6
    for k, (g, b) in enumerate(zip(grads, base)):
        assert g is not None and tuple(g.shape) == b.shape, (eq, k)
        num = np.zeros(b.shape)
        flat, nf = b.reshape(-1), num.reshape(-1)
        for j in range(flat.size):
            orig = flat[j]
            flat[j] = orig + eps
            plus = np.vdot(reference(eq, base), G)
            flat[j] = orig - eps
            minus = np.vdot(reference(eq, base), G)
            flat[j] = orig
            nf[j] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(g.numpy(), num, rtol=1e-6, atol=1e-6, err_msg=f"{eq} {shapes} operand {k}")

    vs = [rng.standard_normal(s) for s in shapes]
    with fwAD.dual_level():
        y = ef.einsum(eq, *[fwAD.make_dual(_t(b), _t(v)) for b, v in zip(base, vs)])
        tangent = fwAD.unpack_dual(y).tangent.numpy()
    fd = (reference(eq, [b + eps * v for b, v in zip(base, vs)]) - reference(eq, [b - eps * v for b, v in zip(base, vs)])) / (
        2 * eps
    )
    np.testing.assert_allclose(tangent, fd, rtol=1e-6, atol=1e-6, err_msg=f"{eq} {shapes} jvp")


@settings(max_examples=30, **SETTINGS)
@given(case=einsum_cases(max_operands=2, max_size=2, max_elems=16), seed=st.integers(0, 2**16))
def test_second_order(case, seed):
    eq, shapes, _ = case
    rng = np.random.default_rng(seed)
    xs = tuple(_t(rng.standard_normal(s), True) for s in shapes)
    assert ef.autograd.gradgradcheck(lambda *a: ef.einsum(eq, *a), xs)


@settings(max_examples=100, **SETTINGS)
@given(case=einsum_cases(), seed=st.integers(0, 2**16))
def test_canonical_renaming_does_not_change_result(case, seed):
    # renaming labels consistently (to other letters, incl. non-ASCII) gives the same result
    eq, shapes, _ = case
    rng = np.random.default_rng(seed)
    arrays = [_t(rng.standard_normal(s)) for s in shapes]
    table = str.maketrans({"a": "α", "b": "Z", "c": "ß", "d": "q", "e": "ж", "A": "K", "B": "é"})
    renamed = eq.translate(table)
    a = ef.einsum(eq, *arrays).numpy()
    b = ef.einsum(renamed, *arrays)
    if "->" in eq:  # implicit outputs sort by code point, so only explicit ones are invariant
        np.testing.assert_allclose(b.numpy(), a, rtol=1e-12, atol=1e-12)
    else:
        assert b.numel() == a.size
        np.testing.assert_allclose(np.sort(b.numpy().reshape(-1)), np.sort(a.reshape(-1)), rtol=1e-12, atol=1e-12)
