"""ef.special: the torch.special names, the normal CDF family in its tails, and gradients of any order."""

from __future__ import annotations

import math

import numpy as np
import pytest

import einframe as ef
from einframe.autograd import gradcheck, gradgradcheck
from einframe.ops import math as M

S = ef.special


def t64(*v):
    return ef.tensor(np.array(v, dtype=np.float64))


def test_aliases_are_the_einframe_functions():
    x = t64(0.3, 1.7)
    assert ef.allclose(S.expit(x), ef.sigmoid(x)) and ef.allclose(S.gammaln(x), ef.lgamma(x))
    assert ef.allclose(S.psi(x), ef.digamma(x)) and ef.allclose(S.multigammaln(x + 1, 2), ef.mvlgamma(x + 1, 2))
    assert ef.allclose(S.softmax(x, 0), ef.softmax(x, 0)) and ef.allclose(S.log_softmax(x, dim=0), ef.log_softmax(x, 0))
    assert set(S.__all__) <= set(dir(S))


def test_ndtr_and_ndtri_known_values():
    # standard normal table values
    np.testing.assert_allclose(S.ndtr(t64(0.0, 1.0, -1.96, 3.0)).numpy(),
                               [0.5, 0.8413447460685429, 0.024997895148220435, 0.9986501019683699], rtol=1e-14)  # fmt: skip
    np.testing.assert_allclose(S.ndtri(t64(0.5, 0.975, 0.8413447460685429)).numpy(), [0.0, 1.959963984540054, 1.0],
                               rtol=1e-13, atol=1e-15)  # fmt: skip
    # deep tails keep full relative precision (the quantile of 1e-300 is about -37.05)
    q = S.ndtri(t64(1e-300, 1e-20)).numpy()
    np.testing.assert_allclose(S.ndtr(ef.tensor(q)).numpy(), [1e-300, 1e-20], rtol=1e-12)
    assert S.ndtri(t64(0.0)).item() == -math.inf and S.ndtri(t64(1.0)).item() == math.inf
    assert np.isnan(S.ndtri(t64(-0.1, 1.1)).numpy()).all()
    assert S.ndtri(ef.tensor([0.5])).dtype == ef.float32


def test_ndtri_without_scipy_matches_the_inverse(monkeypatch):
    p = np.array([1e-300, 1e-100, 1e-10, 0.001, 0.1, 0.3, 0.5, 0.7, 0.999, 1 - 1e-12])
    y = M._ndtri_np(p)
    back = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in y])
    # relative to p the round trip is |y| times more sensitive than y itself (|y| = 37 at 1e-300)
    np.testing.assert_allclose(back, p, rtol=1e-11)
    monkeypatch.setattr(M, "_scipy", lambda xp, name: None)
    np.testing.assert_allclose(S.ndtri(ef.tensor(p)).numpy(), y)


def test_log_ndtr_in_every_regime():
    x = np.array([-50.0, -30.0, -20.5, -19.5, -5.0, -0.5, 0.0, 0.5, 3.0, 10.0])
    got = S.log_ndtr(ef.tensor(x)).numpy()
    for xi, gi in zip(x, got):
        if xi > -37:  # math.erfc is exact enough to be the reference until it underflows
            ref = math.log1p(-0.5 * math.erfc(xi / math.sqrt(2))) if xi > 0 else math.log(0.5 * math.erfc(-xi / math.sqrt(2)))
        else:  # Mills-ratio series with many more terms than the implementation's
            r, term, s = 1 / xi**2, 1.0, 1.0
            for k in range(1, 25):
                term *= -(2 * k - 1) * r
                s += term
            ref = -xi * xi / 2 - math.log(-xi) - 0.5 * math.log(2 * math.pi) + math.log(s)
        assert abs(gi - ref) <= 1e-14 * max(1.0, abs(ref)) or abs(gi - ref) <= 1e-13 * abs(ref), (xi, gi, ref)
    assert S.log_ndtr(ef.tensor([-40.0])).dtype == ef.float32 and math.isfinite(S.log_ndtr(ef.tensor([-40.0])).item())


def test_entr_and_xlog1py():
    np.testing.assert_allclose(S.entr(t64(0.0, 0.5, 2.0)).numpy(), [0.0, -0.5 * math.log(0.5), -2 * math.log(2)])
    assert S.entr(t64(-1.0)).item() == -math.inf and np.isnan(S.entr(t64(math.nan)).item())
    np.testing.assert_allclose(S.xlog1py(t64(0.0, 2.0, 3.0), t64(-1.0, 0.0, 1.0)).numpy(), [0.0, 0.0, 3 * math.log(2)])
    assert np.isnan(S.xlog1py(t64(0.0), t64(math.nan)).item())


@pytest.mark.parametrize(
    "fn,points",
    [
        (S.log_ndtr, [-45.0, -25.0, -20.5, -19.5, -5.0, -0.3, 0.4, 6.0]),
        (S.ndtr, [-3.0, -0.2, 0.7, 2.5]),
        (S.ndtri, [0.01, 0.3, 0.8, 0.999]),
        (S.entr, [0.2, 1.5, 3.0]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_gradients_of_any_order(fn, points):
    x = ef.tensor(np.array(points), requires_grad=True)
    assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,))


def test_xlog1py_gradients_and_log_ndtr_gradient_formula():
    a, b = ef.tensor(np.array([0.5, 2.0]), requires_grad=True), ef.tensor(np.array([0.3, 1.2]), requires_grad=True)
    assert gradcheck(S.xlog1py, (a, b)) and gradgradcheck(S.xlog1py, (a, b))
    # d/dx log Φ(x) = φ(x) / Φ(x), the inverse Mills ratio, also where Φ underflows
    x = ef.tensor(np.array([-60.0, -10.0, 0.0, 5.0]), requires_grad=True)
    S.log_ndtr(x).sum().backward()
    xs = x.detach().numpy()
    mills = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) / (0.5 * math.erfc(-v / math.sqrt(2))) for v in xs[1:]]
    np.testing.assert_allclose(x.grad.numpy()[1:], mills, rtol=1e-12)
    assert abs(x.grad.numpy()[0] - 60.0166) < 1e-3  # ~ -x - 1/x in the far tail


def test_modified_bessel_functions():
    # Abramowitz & Stegun table 9.8 values
    x = t64(0.0, 1.0, 2.0, 5.0)
    np.testing.assert_allclose(S.i0(x).numpy(), [1.0, 1.2660658777520082, 2.2795853023360673, 27.239871823604442], rtol=1e-14)
    np.testing.assert_allclose(S.i1(x).numpy(), [0.0, 0.5651591039924851, 1.5906368546373291, 24.335642142450524], rtol=1e-14)
    big = t64(40.0, 1000.0)  # the scaled forms stay finite where I0 overflows (1000) and use the asymptotic branch
    z = big.numpy()
    hankel = 1 + 1 / (8 * z) + 9 / (2 * (8 * z) ** 2) + 225 / (6 * (8 * z) ** 3) + 11025 / (24 * (8 * z) ** 4)
    np.testing.assert_allclose(S.i0e(big).numpy() * np.sqrt(2 * np.pi * z), hankel, rtol=1e-8)  # next term: 2e-9 at 40
    assert S.i0(t64(1000.0)).item() == math.inf and np.isfinite(S.i0e(t64(1000.0)).item())
    np.testing.assert_allclose(S.i1e(t64(-2.0)).item(), -S.i1e(t64(2.0)).item())  # odd
    assert ef.equal(S.modified_bessel_i0(x), S.i0(x)) and ef.equal(ef.tensor([1.0]).i0(), ef.i0(ef.tensor([1.0])))


def test_bessel_without_scipy_and_derivatives(monkeypatch):
    xs = np.array([-50.0, -3.0, -0.5, 0.0, 1e-4, 0.7, 2.0, 29.0, 31.0, 100.0])
    with_scipy = [S.i0e(ef.tensor(xs)).numpy(), S.i1e(ef.tensor(xs)).numpy()]
    monkeypatch.setattr(M, "_scipy", lambda xp, name: None)
    np.testing.assert_allclose(S.i0e(ef.tensor(xs)).numpy(), with_scipy[0], rtol=1e-14)
    np.testing.assert_allclose(S.i1e(ef.tensor(xs)).numpy(), with_scipy[1], rtol=1e-14, atol=1e-300)
    # I0' = I1 and I1'(0) = 1/2, through the scaled primitives' rules
    x = ef.tensor(np.array([0.0, 0.8, -2.5]), requires_grad=True)
    (g,) = ef.autograd.grad(S.i0(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), S.i1(x.detach()).numpy(), rtol=1e-13)
    (g1,) = ef.autograd.grad(S.i1(x).sum(), x)
    assert abs(g1.numpy()[0] - 0.5) < 1e-15
    for fn in (S.i0, S.i0e, S.i1, S.i1e):
        y = ef.tensor(np.array([-3.0, -0.5, 0.3, 2.0, 35.0]), requires_grad=True)
        assert gradcheck(fn, (y,)) and gradgradcheck(fn, (y,))
