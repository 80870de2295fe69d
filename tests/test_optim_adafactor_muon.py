"""Adafactor and Muon: known trajectories (PyTorch 2.13, float64; Muon's Newton-Schulz run in float64
there, since PyTorch's own runs it in bfloat16) and the algorithms' defining properties."""

from __future__ import annotations

import numpy as np
import pytest

import einframe as ef
from einframe import nn
from einframe.optim.muon import zeropower_via_newtonschulz

W0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]])
V0 = np.array([0.3, -2.0, 1.0])


def _run(opt_cls, params, steps=3, **kw):
    opt = opt_cls(params, **kw)
    for _ in range(steps):
        opt.zero_grad()
        sum(((p - 0.3) ** 2).sum() * (k + 1) for k, p in enumerate(params)).backward()
        opt.step()
    return opt


def test_adafactor_known_trajectory():
    ps = [nn.Parameter(ef.tensor(W0)), nn.Parameter(ef.tensor(V0))]
    opt = _run(ef.optim.Adafactor, ps, lr=0.05, weight_decay=0.1)
    np.testing.assert_allclose(ps[0].detach().numpy(), [[0.4603322534196044, -0.7901600865700893, 1.800144905934477],
                                                        [1.2129750430280408, 0.21775175266016705, -0.55189402461322]], rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(ps[1].detach().numpy(), [0.2909004905430873, -1.8004145609893214, 0.8202265520877651], rtol=1e-12)
    # factored state for matrices (one row and one column statistic), a full one for vectors
    assert opt.state[ps[0]]["row_var"].shape == (2, 1) and opt.state[ps[0]]["col_var"].shape == (1, 3)
    assert opt.state[ps[1]]["variance"].shape == (3,) and opt.state[ps[1]]["step"] == 3.0


def test_adafactor_update_is_rms_clipped_and_relative():
    # first step on a vector: the second moment is g² itself, so the update is sign(g), and the step
    # is alpha = max(eps2, rms(p)) * min(lr, 1) in every coordinate
    g = np.random.default_rng(0).normal(size=5)
    p = nn.Parameter(ef.tensor(np.full(5, 2.0)))
    opt = ef.optim.Adafactor([p], lr=0.5)
    (p * ef.tensor(g)).sum().backward()
    opt.step()
    np.testing.assert_allclose(2.0 - p.detach().numpy(), 2.0 * 0.5 * np.sign(g), rtol=1e-12)
    # a matrix: the factored estimate gives an update whose RMS is clipped to at most d
    m = nn.Parameter(ef.tensor(np.full((3, 4), 2.0)))
    opt = ef.optim.Adafactor([m], lr=0.5, d=1.0)
    (m * ef.tensor(np.random.default_rng(1).normal(size=(3, 4)) * 100)).sum().backward()
    opt.step()
    assert np.sqrt(((2.0 - m.detach().numpy()) ** 2).mean()) <= 1.0 + 1e-12
    with pytest.raises(ValueError, match="beta2_decay"):
        ef.optim.Adafactor([p], beta2_decay=0.5)
    with pytest.raises(ValueError, match="Clipping threshold"):
        ef.optim.Adafactor([p], d=0.5)


def test_muon_known_trajectory():
    ps = [nn.Parameter(ef.tensor(W0)), nn.Parameter(ef.tensor(W0.T.copy()))]
    _run(ef.optim.Muon, ps, lr=0.02)
    np.testing.assert_allclose(ps[0].detach().numpy(), [[0.4879333826162723, -0.9602232953251749, 1.9475766361597353],
                                                        [1.4530765563571812, 0.20619090639625598, -0.670291370120627]], rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(ps[1].detach().numpy(), [[0.48586734906482854, 1.4445154644631137], [-0.9526494217780077, 0.20788697519611224],
                                                        [1.9385412387248904, -0.6645755905803684]], rtol=1e-12)  # fmt: skip


@pytest.mark.parametrize("shape", [(4, 7), (7, 4), (5, 5)])
def test_newton_schulz_orthogonalizes_with_the_same_singular_vectors(shape):
    g = np.random.default_rng(1).normal(size=shape)
    o = zeropower_via_newtonschulz(g)
    u, s, vt = np.linalg.svd(g, full_matrices=False)
    core = u.T @ o @ vt.T  # diagonal: o = U S' V^T
    assert np.abs(core - np.diag(np.diag(core))).max() < 1e-10
    assert np.all(np.diag(core) > 0.6) and np.all(np.diag(core) < 1.25)  # S' ~ 1 (the quintic overshoots a little)


def test_muon_rejects_non_matrices_and_bad_settings():
    with pytest.raises(ValueError, match="only supports 2D parameters"):
        ef.optim.Muon([nn.Parameter(ef.ones(3))])
    with pytest.raises(ValueError, match="not supported"):
        ef.optim.Muon([nn.Parameter(ef.ones(2, 2))], adjust_lr_fn="bogus")
    with pytest.raises(ValueError, match="less than 100"):
        zeropower_via_newtonschulz(np.ones((2, 2)), steps=100)
