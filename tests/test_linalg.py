"""ef.linalg and the torch.* linear-algebra spellings: values against numpy.linalg (batched), first and
second derivatives (float64 finite differences) on well-conditioned inputs, PyTorch's errors.

The primitives themselves (Inv, Solve, SlogDet, Cholesky, Eigh, SVD, QR, Pinv) are also checked by
tests/test_primitives.py through the samples of tests/_samples_linalg.py (gradcheck, gradgradcheck,
JVP against VJP and finite differences).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import einframe as ef
import einframe.autograd.forward_ad as fwAD
from einframe.autograd import gradcheck, gradgradcheck

LA = ef.linalg
RNG = np.random.default_rng(0)


def t(a, grad=False):
    return ef.tensor(np.asarray(a, dtype=np.float64), dtype=ef.float64, requires_grad=grad)


def shifted(*shape):
    """Gaussian + 3 I: well conditioned."""
    return RNG.standard_normal(shape) + 3 * np.eye(shape[-1])


def spd(*shape):
    a = RNG.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + 3 * np.eye(shape[-1])


def sym(*shape):
    a = RNG.standard_normal(shape)
    return a + np.swapaxes(a, -1, -2)


def close(x, y, rtol=1e-9, atol=1e-10):
    np.testing.assert_allclose(x.detach().numpy() if isinstance(x, ef.Tensor) else x, y, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------------------------------
# values (batched) against numpy


def test_inv_solve_det_slogdet_values():
    a = shifted(2, 3, 4, 4)
    b = RNG.standard_normal((2, 3, 4, 2))
    close(LA.inv(t(a)), np.linalg.inv(a))
    close(LA.solve(t(a), t(b)), np.linalg.solve(a, b))
    close(LA.det(t(a)), np.linalg.det(a))
    sign, logabs = LA.slogdet(t(a))
    ns, nl = np.linalg.slogdet(a)
    close(sign, ns)
    close(logabs, nl)
    assert LA.slogdet(t(a))._fields == ("sign", "logabsdet")


def test_solve_vector_left_false_and_broadcast():
    a = shifted(3, 3)
    v = RNG.standard_normal(3)
    close(LA.solve(t(a), t(v)), np.linalg.solve(a, v))
    ab = shifted(2, 3, 3)
    vb = RNG.standard_normal((2, 3))
    assert LA.solve(t(ab), t(vb)).shape == (2, 3)  # a batch of vectors
    close(LA.solve(t(ab), t(vb)), np.linalg.solve(ab, vb[..., None])[..., 0])
    b = RNG.standard_normal((4, 3))
    close(LA.solve(t(a), t(b), left=False), b @ np.linalg.inv(a))
    # batch dims broadcast: one matrix against a batch of right-hand sides
    bb = RNG.standard_normal((5, 3, 2))
    close(LA.solve(t(a), t(bb)), np.linalg.solve(a, bb))


def test_det_of_singular_matrix_is_zero_and_logdet():
    close(LA.det(t(np.zeros((2, 2)))), 0.0)
    s = LA.slogdet(t(np.zeros((2, 2))))
    assert s.sign.item() == 0 and s.logabsdet.item() == -math.inf
    assert math.isnan(ef.logdet(t(-np.eye(3))).item())
    m = spd(3, 3)
    close(ef.logdet(t(m)), np.log(np.linalg.det(m)))


def test_cholesky_values():
    a = spd(2, 4, 4)
    lo = LA.cholesky(t(a))
    close(lo, np.linalg.cholesky(a))
    close(LA.cholesky(t(a), upper=True), np.swapaxes(np.linalg.cholesky(a), -1, -2))
    close(ef.cholesky(t(a)), np.linalg.cholesky(a))
    l2, info = LA.cholesky_ex(t(a))
    close(l2, np.linalg.cholesky(a))
    assert (info.numpy() == 0).all()
    _, info = LA.cholesky_ex(t(-np.eye(3)))
    assert info.item() == 1


def test_qr_values_and_modes():
    for shape in [(5, 3), (2, 4, 4), (3, 5)]:
        a = RNG.standard_normal(shape)
        q, r = LA.qr(t(a))
        nq, nr = np.linalg.qr(a)
        close(q, nq)
        close(r, nr)
        close(q @ r, a)
    a = RNG.standard_normal((5, 3))
    q, r = LA.qr(t(a), mode="complete")
    assert q.shape == (5, 5) and r.shape == (5, 3)
    close(q @ r, a)
    q, r = LA.qr(t(a), mode="r")
    assert q.numel() == 0
    close(r, np.linalg.qr(a)[1])
    q, r = ef.qr(t(a), some=False)
    assert q.shape == (5, 5)


def test_eigh_values():
    a = sym(2, 4, 4)
    w, v = LA.eigh(t(a))
    nw, nv = np.linalg.eigh(a)
    close(w, nw)
    close(v @ (w.unsqueeze(-1) * v.mT), a)
    close(LA.eigvalsh(t(a)), nw)
    close(LA.eigvalsh(t(a), UPLO="U"), np.linalg.eigvalsh(a, UPLO="U"))
    assert LA.eigh(t(a))._fields == ("eigenvalues", "eigenvectors")


def test_svd_values_full_and_reduced():
    for shape in [(5, 3), (3, 5), (2, 4, 4)]:
        a = RNG.standard_normal(shape)
        u, s, vh = LA.svd(t(a), full_matrices=False)
        close(s, np.linalg.svd(a, compute_uv=False))
        close((u * s.unsqueeze(-2)) @ vh, a)
        uf, sf, vhf = LA.svd(t(a))  # full_matrices=True by default, as PyTorch
        m, n = shape[-2:]
        assert uf.shape[-2:] == (m, m) and vhf.shape[-2:] == (n, n)
        k = min(m, n)
        close(uf.mT @ uf, np.broadcast_to(np.eye(m), uf.shape))
        close(vhf @ vhf.mT, np.broadcast_to(np.eye(n), vhf.shape))
        close((uf[..., :k] * sf.unsqueeze(-2)) @ vhf[..., :k, :], a)
        close(LA.svdvals(t(a)), np.linalg.svd(a, compute_uv=False))
    # torch.svd: V, not V^H
    a = RNG.standard_normal((4, 3))
    u, s, v = ef.svd(t(a))
    assert v.shape == (3, 3) and u.shape == (4, 3)
    close((u * s) @ v.T, a)
    u, s, v = ef.svd(t(a), compute_uv=False)
    assert u.shape == (4, 4) and v.shape == (3, 3) and not u.numpy().any()


def test_pinv_lstsq_rank_cond():
    a = RNG.standard_normal((2, 5, 3))
    close(LA.pinv(t(a)), np.linalg.pinv(a))
    close(ef.pinverse(t(a[0])), np.linalg.pinv(a[0]))
    lowrank = RNG.standard_normal((5, 2)) @ RNG.standard_normal((2, 4))
    close(LA.pinv(t(lowrank)), np.linalg.pinv(lowrank), atol=1e-8)
    assert LA.matrix_rank(t(lowrank)).item() == 2
    assert LA.matrix_rank(t(lowrank)).dtype == ef.int64
    assert LA.matrix_rank(t(lowrank), hermitian=False, atol=1e3).item() == 0
    assert LA.matrix_rank(t(spd(3, 3)), hermitian=True).item() == 3
    b = RNG.standard_normal((5, 2))
    res = LA.lstsq(t(a[0]), t(b))
    close(res.solution, np.linalg.lstsq(a[0], b, rcond=None)[0])
    assert res._fields == ("solution", "residuals", "rank", "singular_values")
    m = shifted(3, 3)
    close(LA.cond(t(m)), np.linalg.cond(m))
    for p in ("fro", "nuc", 1, -1, math.inf, -math.inf, -2):
        close(LA.cond(t(m), p), np.linalg.cond(m, p))


def test_matrix_power_and_exp():
    a = RNG.standard_normal((2, 3, 3)) * 0.5
    for n in (0, 1, 2, 5):
        close(LA.matrix_power(t(a), n), np.linalg.matrix_power(a, n))
    m = shifted(3, 3)
    close(LA.matrix_power(t(m), -3), np.linalg.matrix_power(m, -3), rtol=1e-8)
    close(ef.matrix_power(t(m), 2), m @ m)
    # exp of a skew matrix is a rotation; of a diagonal one, elementwise exp
    th = 0.7
    close(LA.matrix_exp(t([[0.0, -th], [th, 0.0]])), [[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    close(LA.matrix_exp(t(np.diag([1.0, -2.0, 3.0]))), np.diag(np.exp([1.0, -2.0, 3.0])), rtol=1e-12)
    big = RNG.standard_normal((3, 3)) * 3
    w, v = np.linalg.eig(big)
    ref = (v @ np.diag(np.exp(w)) @ np.linalg.inv(v)).real
    np.testing.assert_allclose(ef.matrix_exp(t(big)).numpy(), ref, rtol=1e-9, atol=1e-9)


def test_norms():
    x = RNG.standard_normal((2, 3, 4))
    for ord in (2, 1, 0, 3.5, math.inf, -math.inf):
        close(LA.vector_norm(t(x), ord), np.linalg.norm(x.reshape(-1), ord))
        close(LA.vector_norm(t(x), ord, dim=-1), np.linalg.norm(x, ord, axis=-1))
    close(LA.vector_norm(t(x), 2, dim=(0, 2), keepdim=True), np.sqrt((x * x).sum((0, 2), keepdims=True)))
    for ord in ("fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf):
        close(LA.matrix_norm(t(x), ord), np.linalg.norm(x, ord, axis=(-2, -1)))
        close(LA.matrix_norm(t(x), ord, dim=(0, 2)), np.linalg.norm(x, ord, axis=(0, 2)))
    assert LA.matrix_norm(t(x), "nuc", keepdim=True).shape == (2, 1, 1)
    assert LA.matrix_norm(t(x), 2, dim=(0, 2), keepdim=True).shape == (1, 3, 1)
    close(LA.norm(t(x)), np.linalg.norm(x.reshape(-1)))
    close(LA.norm(t(x[0]), "nuc"), np.linalg.norm(x[0], "nuc"))
    close(LA.norm(t(x[0]), 1), np.linalg.norm(x[0], 1))
    close(LA.norm(t(x[0, 0]), 1), np.linalg.norm(x[0, 0], 1))
    close(LA.norm(t(x), dim=(1, 2)), np.linalg.norm(x, axis=(1, 2)))
    close(LA.norm(t(x), 3, dim=1), np.linalg.norm(x, 3, axis=1))


def test_vector_norm_gradient_is_zero_at_zero():
    z = t(np.zeros(3), grad=True)
    LA.vector_norm(z).backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros(3))


def test_products():
    a, b = RNG.standard_normal((4, 3)), RNG.standard_normal((4, 3))
    close(LA.cross(t(a), t(b)), np.cross(a, b))
    close(LA.cross(t(a[:1]), t(b)), np.cross(a[:1], b))  # broadcast
    close(LA.cross(t(a.T), t(b.T), dim=0), np.cross(a.T, b.T, axis=0))
    close(ef.cross(t(a), t(b)), np.cross(a, b))
    ms = [RNG.standard_normal(s) for s in [(2, 5), (5, 3), (3, 4), (4, 2)]]
    close(LA.multi_dot([t(m) for m in ms]), np.linalg.multi_dot(ms))
    v1, v2 = RNG.standard_normal(2), RNG.standard_normal(2)
    close(LA.multi_dot([t(v1), t(ms[0]), t(ms[1]), t(ms[2]), t(ms[3]), t(v2)]), np.linalg.multi_dot([v1, *ms, v2]))
    close(ef.chain_matmul(*[t(m) for m in ms]), np.linalg.multi_dot(ms))
    close(LA.vecdot(t(a), t(b)), (a * b).sum(-1))
    m, v = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    close(ef.mv(t(m), t(v)), m @ v)
    close(t(m).mv(t(v)), m @ v)
    x, y = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((5, 4))
    close(ef.inner(t(x), t(y)), np.inner(x, y))
    close(ef.vdot(t(v), t(v)), v @ v)
    close(ef.ger(t(v), t(v[:2])), np.outer(v, v[:2]))
    close(LA.matmul(t(m), t(v)), m @ v)
    close(LA.diagonal(t(x)), np.diagonal(x, axis1=-2, axis2=-1))


def test_triangular_and_cholesky_helpers():
    a = spd(4, 4)
    lo = np.linalg.cholesky(a)
    b = RNG.standard_normal((4, 2))
    close(ef.cholesky_solve(t(b), t(lo)), np.linalg.solve(a, b))
    close(ef.cholesky_solve(t(b), t(lo.T), upper=True), np.linalg.solve(a, b))
    close(ef.cholesky_inverse(t(lo)), np.linalg.inv(a))
    close(LA.solve_triangular(t(lo), t(b), upper=False), np.linalg.solve(lo, b))
    close(LA.solve_triangular(t(lo.T), t(b), upper=True), np.linalg.solve(lo.T, b))
    x, coef = ef.triangular_solve(t(b), t(lo.T))
    close(x, np.linalg.solve(lo.T, b))
    close(coef, lo.T)


def test_tensor_methods():
    a = shifted(3, 3)
    x = t(a)
    close(x.inverse(), np.linalg.inv(a))
    close(x.det(), np.linalg.det(a))
    close(x.slogdet().logabsdet, np.linalg.slogdet(a)[1])
    close(x.pinverse(), np.linalg.pinv(a))
    close(x.matrix_power(3), a @ a @ a)
    m = spd(3, 3)
    close(t(m).cholesky(), np.linalg.cholesky(m))
    close(t(m).logdet(), np.linalg.slogdet(m)[1])
    u, s, v = x.svd()
    close((u * s) @ v.T, a)
    q, r = x.qr()
    close(q @ r, a)


def test_float32_stays_float32():
    a = ef.tensor(shifted(3, 3), dtype=ef.float32)
    for fn in (LA.inv, LA.det, LA.svdvals, LA.pinv, LA.matrix_exp, lambda m: LA.eigh(m @ m.mT).eigenvalues):
        assert fn(a).dtype == ef.float32


# --------------------------------------------------------------------------------------------------
# derivatives of the public functions (the primitives' own samples run in test_primitives.py)


def _spd_t(a):
    return a @ a.mT + 3 * ef.eye(a.shape[-1], dtype=a.dtype)


GRAD_CASES = {
    "inv": (lambda a: LA.inv(a), [shifted(2, 3, 3)]),
    "solve": (lambda a, b: LA.solve(a, b), [shifted(2, 3, 3), RNG.standard_normal((3, 2))]),
    "solve-left-false": (lambda a, b: LA.solve(a, b, left=False), [shifted(3, 3), RNG.standard_normal((2, 3))]),
    "det": (lambda a: LA.det(a), [shifted(2, 3, 3)]),
    "slogdet": (lambda a: LA.slogdet(a).logabsdet, [shifted(3, 3)]),
    "logdet": (lambda a: ef.logdet(_spd_t(a)), [RNG.standard_normal((3, 3))]),
    "cholesky": (lambda a: LA.cholesky(_spd_t(a)), [RNG.standard_normal((2, 3, 3))]),
    "eigh": (lambda a: LA.eigh(a + a.mT), [RNG.standard_normal((2, 3, 3))]),
    "eigvalsh": (lambda a: LA.eigvalsh(a + a.mT), [RNG.standard_normal((3, 3))]),
    "svd-tall": (lambda a: LA.svd(a, full_matrices=False), [RNG.standard_normal((4, 3))]),
    "svd-wide": (lambda a: LA.svd(a, full_matrices=False), [RNG.standard_normal((2, 3))]),
    "svd-full-S": (lambda a: LA.svd(a).S, [RNG.standard_normal((4, 3))]),
    "torch-svd": (lambda a: ef.svd(a), [RNG.standard_normal((3, 4))]),
    "svdvals": (lambda a: LA.svdvals(a), [RNG.standard_normal((2, 3, 4))]),
    "qr": (lambda a: LA.qr(a), [RNG.standard_normal((2, 4, 3))]),
    "qr-wide": (lambda a: LA.qr(a), [RNG.standard_normal((2, 4))]),
    "pinv": (lambda a: LA.pinv(a), [RNG.standard_normal((4, 3))]),
    "lstsq": (lambda a, b: LA.lstsq(a, b).solution, [RNG.standard_normal((4, 3)), RNG.standard_normal((4, 2))]),
    "matrix_power": (lambda a: LA.matrix_power(a, 3), [RNG.standard_normal((3, 3))]),
    "matrix_power-neg": (lambda a: LA.matrix_power(a, -2), [shifted(3, 3)]),
    "matrix_exp": (lambda a: LA.matrix_exp(a), [RNG.standard_normal((2, 3, 3))]),
    "nuc": (lambda a: LA.matrix_norm(a, "nuc"), [RNG.standard_normal((3, 4))]),
    "spectral": (lambda a: LA.matrix_norm(a, 2), [RNG.standard_normal((3, 4))]),
    "fro": (lambda a: LA.norm(a), [RNG.standard_normal((3, 4))]),
    "cond": (lambda a: LA.cond(a), [RNG.standard_normal((3, 3))]),
    "cross": (lambda a, b: LA.cross(a, b), [RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))]),
    "multi_dot": (lambda a, b, c: LA.multi_dot([a, b, c]), [RNG.standard_normal(s) for s in [(2, 3), (3, 4), (4,)]]),
    "cholesky_solve": (lambda b, a: ef.cholesky_solve(b, LA.cholesky(_spd_t(a))), [RNG.standard_normal((3, 2)), RNG.standard_normal((3, 3))]),
    "cholesky_inverse": (lambda a: ef.cholesky_inverse(LA.cholesky(_spd_t(a))), [RNG.standard_normal((3, 3))]),
}  # fmt: skip


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, arrays = GRAD_CASES[name]
    xs = [t(a, grad=True) for a in arrays]
    assert gradcheck(fn, xs)
    assert gradgradcheck(fn, xs)


@pytest.mark.parametrize("name", ["inv", "solve", "det", "cholesky", "eigh", "svd-tall", "qr", "pinv", "matrix_exp"])
def test_forward_mode_matches_finite_differences(name):
    fn, arrays = GRAD_CASES[name]
    rng = np.random.default_rng(5)
    us = [rng.standard_normal(a.shape) for a in arrays]

    def flat(out):
        outs = [out] if isinstance(out, ef.Tensor) else list(out)
        return np.concatenate([o.numpy().reshape(-1) for o in outs])

    with fwAD.dual_level():
        out = fn(*[fwAD.make_dual(t(a), t(u)) for a, u in zip(arrays, us)])
        outs = [out] if isinstance(out, ef.Tensor) else list(out)
        tangent = np.concatenate([fwAD.unpack_dual(o).tangent.numpy().reshape(-1) for o in outs])
    eps = 1e-6
    plus = flat(fn(*[t(a + eps * u) for a, u in zip(arrays, us)]))
    minus = flat(fn(*[t(a - eps * u) for a, u in zip(arrays, us)]))
    np.testing.assert_allclose(tangent, (plus - minus) / (2 * eps), rtol=1e-5, atol=1e-6)


def test_eigvalsh_and_svdvals_gradients_finite_for_repeated_values():
    x = t(np.eye(3), grad=True)
    LA.eigvalsh(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.eye(3))
    y = t(2 * np.eye(3), grad=True)
    LA.svdvals(y).sum().backward()  # nuclear norm of 2I: gradient I
    np.testing.assert_allclose(y.grad.numpy(), np.eye(3))


def test_eigh_gradient_is_symmetric():
    x = t(sym(3, 3), grad=True)
    w, v = LA.eigh(x)
    (w.sum() + (v * v.detach()[..., :1, :]).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), x.grad.numpy().T, atol=1e-12)


def test_solve_gradient_matches_inverse_gradient():
    a, b = shifted(3, 3), RNG.standard_normal((3, 2))
    x1, y1 = t(a, grad=True), t(b, grad=True)
    LA.solve(x1, y1).pow(2).sum().backward()
    x2, y2 = t(a, grad=True), t(b, grad=True)
    (LA.inv(x2) @ y2).pow(2).sum().backward()
    close(x1.grad, x2.grad.numpy())
    close(y1.grad, y2.grad.numpy())


def test_backward_errors_as_pytorch():
    x = t(RNG.standard_normal((4, 3)), grad=True)
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        LA.qr(x, mode="complete").Q.sum().backward()
    with pytest.raises(RuntimeError, match="mode='r'"):
        LA.qr(x, mode="r").R.sum().backward()
    # complete mode with m <= n is differentiable
    y = t(RNG.standard_normal((3, 4)), grad=True)
    assert gradcheck(lambda a: LA.qr(a, mode="complete"), [y])


# --------------------------------------------------------------------------------------------------
# errors


def test_errors():
    with pytest.raises(RuntimeError, match="A must be batches of square matrices, but they are 2 by 3 matrices"):
        LA.inv(t(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="must have at least 2 dimensions"):
        LA.inv(t(np.ones(3)))
    with pytest.raises(RuntimeError, match="Expected a floating point or complex tensor as input. Got Long"):
        LA.inv(ef.ones(3, 3, dtype=ef.int64))
    with pytest.raises(LA.LinAlgError):
        LA.inv(t(np.ones((3, 3))))
    assert issubclass(LA.LinAlgError, RuntimeError)
    with pytest.raises(LA.LinAlgError, match="singular"):
        LA.solve(t(np.ones((3, 3))), t(np.ones(3)))
    with pytest.raises(RuntimeError, match="Incompatible shapes"):
        LA.solve(t(np.eye(3)), t(np.ones(4)))
    with pytest.raises(LA.LinAlgError, match="not positive-definite"):
        LA.cholesky(t(-np.eye(3)))
    with pytest.raises(RuntimeError, match="square"):
        LA.det(t(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="square"):
        LA.eigh(t(np.ones((2, 3))))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.svd(t(np.ones(3)))
    with pytest.raises(RuntimeError, match="unrecognized mode 'x'"):
        LA.qr(t(np.ones((3, 2))), mode="x")
    with pytest.raises(RuntimeError, match="Order 3 not supported"):
        LA.matrix_norm(t(np.ones((3, 3))), 3)
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        LA.matrix_norm(t(np.ones(3)))
    with pytest.raises(RuntimeError, match="must have length 3"):
        LA.cross(t(np.ones((3, 2))), t(np.ones((3, 2))))
    with pytest.raises(RuntimeError, match="square"):
        LA.matrix_power(t(np.ones((2, 3))), 2)
    with pytest.raises(RuntimeError, match="expected at least 2 tensors"):
        LA.multi_dot([t(np.ones(3))])
    with pytest.raises(RuntimeError, match="cannot be multiplied"):
        LA.multi_dot([t(np.ones((2, 3))), t(np.ones((4, 2)))])
    with pytest.raises(RuntimeError, match="input must be 1D or 2D. Got 3D"):
        LA.norm(t(np.ones((2, 3, 4))), "fro")
    with pytest.raises(RuntimeError, match="Expected UPLO"):
        LA.eigh(t(np.eye(2)), UPLO="X")
    with pytest.raises(RuntimeError, match="size mismatch"):
        ef.mv(t(np.ones((2, 3))), t(np.ones(2)))
    with pytest.raises(RuntimeError, match="1D tensors expected"):
        ef.vdot(t(np.ones((2, 3))), t(np.ones(3)))
    with pytest.raises(RuntimeError, match="the last dimension must match"):
        ef.inner(t(np.ones((2, 3))), t(np.ones(4)))


# ---- LU -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (2, 3, 5, 5), (3, 5), (5, 3), (2, 4, 6), (1, 3), (3, 1)])
def test_lu_factors_with_partial_pivoting(shape):
    a = RNG.standard_normal(shape)
    P, L, U = LA.lu(t(a))
    p, lo, up = P.numpy(), L.numpy(), U.numpy()
    np.testing.assert_allclose(p @ lo @ up, a, atol=1e-12)
    m, n = shape[-2:]
    k = min(m, n)
    assert lo.shape[-2:] == (m, k) and up.shape[-2:] == (k, n) and p.shape[-2:] == (m, m)
    assert np.allclose(np.triu(lo, 1), 0) and np.allclose(np.diagonal(lo, 0, -2, -1), 1) and np.allclose(np.tril(up, -1), 0)
    assert np.all(np.abs(lo) <= 1 + 1e-12)  # partial pivoting: every multiplier is at most 1 in size
    assert np.allclose(p.sum(-1), 1) and np.allclose(p.sum(-2), 1) and set(np.unique(p)) <= {0.0, 1.0}
    LU, piv = LA.lu_factor(t(a))
    assert piv.dtype == ef.int32 and piv.shape == shape[:-2] + (k,) and (piv.numpy() >= 1).all() and (piv.numpy() <= m).all()
    P2, L2, U2 = ef.lu_unpack(LU, piv)
    np.testing.assert_allclose(P2.numpy(), p)
    np.testing.assert_allclose(L2.numpy(), lo, atol=1e-15)
    np.testing.assert_allclose(U2.numpy(), up, atol=1e-15)
    assert [x.shape for x in ef.lu(t(a), get_infos=True)] == [shape, shape[:-2] + (k,), shape[:-2]]


def test_lu_known_pivots_and_singular_info():
    # LAPACK's choice on [[1, 2], [3, 4]]: swap the rows, multiplier 1/3 (PyTorch gives the same)
    LU, piv = LA.lu_factor(t([[1.0, 2.0], [3.0, 4.0]]))
    assert piv.tolist() == [2, 2]
    np.testing.assert_allclose(LU.numpy(), [[3.0, 4.0], [1 / 3, 2 / 3]])
    r = LA.lu_factor_ex(t([[1.0, 2.0], [2.0, 4.0]]))
    assert r.info.item() == 2 and r.LU.numpy()[1, 1] == 0
    with pytest.raises(ef.linalg.LinAlgError, match="singular U"):
        LA.lu_factor_ex(t([[1.0, 2.0], [2.0, 4.0]]), check_errors=True)
    assert LA.lu_factor_ex(t(np.zeros((2, 2)))).info.item() == 1
    with pytest.raises(NotImplementedError, match="pivot=True"):
        LA.lu(t(np.eye(2)), pivot=False)


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("adjoint", [False, True])
def test_lu_solve_matches_numpy(left, adjoint):
    a = shifted(2, 4, 4)
    b = RNG.standard_normal((2, 4, 3) if left else (2, 3, 4))
    x = LA.lu_solve(*LA.lu_factor(t(a)), t(b), left=left, adjoint=adjoint).numpy()
    m = np.swapaxes(a, -1, -2) if adjoint else a
    ref = np.linalg.solve(m, b) if left else np.swapaxes(np.linalg.solve(np.swapaxes(m, -1, -2), np.swapaxes(b, -1, -2)), -1, -2)
    np.testing.assert_allclose(x, ref, rtol=1e-10, atol=1e-12)
    if left and not adjoint:  # the deprecated torch.lu_solve(b, LU, pivots) spelling
        np.testing.assert_allclose(ef.lu_solve(t(b), *LA.lu_factor(t(a))).numpy(), ref, rtol=1e-10)


def test_lu_gradients_any_order_and_forward_mode():
    a = t(shifted(3, 3), grad=True)
    b = t(RNG.standard_normal((3, 2)), grad=True)
    assert gradcheck(lambda x: LA.lu(x).L, (a,)) and gradgradcheck(lambda x: LA.lu(x).U, (a,))
    solve = lambda x, y: LA.lu_solve(*LA.lu_factor(x), y)  # noqa: E731
    assert gradcheck(solve, (a, b)) and gradgradcheck(solve, (a, b))
    # the solve's gradient equals that of A^-1 B (the factorization is an implementation detail)
    (ga, gb) = ef.autograd.grad(solve(a, b).sum(), (a, b))
    (ha, hb) = ef.autograd.grad(LA.solve(a, b).sum(), (a, b))
    np.testing.assert_allclose(ga.numpy(), ha.numpy(), rtol=1e-10)
    np.testing.assert_allclose(gb.numpy(), hb.numpy(), rtol=1e-10)
    tangent = t(RNG.standard_normal((3, 3)))
    with fwAD.dual_level():
        U = LA.lu(fwAD.make_dual(a.detach(), tangent)).U
        jvp = fwAD.unpack_dual(U).tangent
    eps = 1e-6
    fd = (LA.lu(a.detach() + eps * tangent).U - LA.lu(a.detach() - eps * tangent).U) / (2 * eps)
    np.testing.assert_allclose(jvp.numpy(), fd.numpy(), rtol=1e-6, atol=1e-8)
