import subprocess
import sys

import numpy as np
import pytest
from einframe_lion import Lion, Shampoo

import einframe as ef


def _lion_ref(p, grads, lr, b1, b2, wd):
    m = np.zeros_like(p)
    for g in grads:
        p = p * (1 - lr * wd)
        p = p - lr * np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
    return p


def test_lion_matches_the_paper_update():
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(5)]
    w = ef.tensor(p0, requires_grad=True)
    opt = Lion([w], lr=0.01, betas=(0.8, 0.95), weight_decay=0.1)
    for g in grads:
        w.grad = ef.tensor(g)
        opt.step()
    assert np.allclose(w.detach().numpy(), _lion_ref(p0, grads, 0.01, 0.8, 0.95, 0.1))


def _inv4(a, eps):
    w, v = np.linalg.eigh(a + eps * np.eye(len(a)))
    return (v * np.clip(w, eps, None) ** -0.25) @ v.T


def test_shampoo_matches_reference():
    rng = np.random.default_rng(1)
    p0 = rng.standard_normal((3, 2))
    grads = [rng.standard_normal((3, 2)) for _ in range(3)]
    w = ef.tensor(p0, requires_grad=True)
    opt = Shampoo([w], lr=0.1, eps=1e-4)
    p, L, R = p0.copy(), np.zeros((3, 3)), np.zeros((2, 2))
    for g in grads:
        w.grad = ef.tensor(g)
        opt.step()
        L += g @ g.T
        R += g.T @ g
        p -= 0.1 * _inv4(L, 1e-4) @ g @ _inv4(R, 1e-4)
    assert np.allclose(w.detach().numpy(), p, atol=1e-8)


def test_shampoo_vector_params_use_the_diagonal_rule():
    b = ef.tensor([1.0, -1.0], dtype=ef.float64, requires_grad=True)
    opt = Shampoo([b], lr=0.5, eps=1e-8)
    b.grad = ef.tensor([2.0, 4.0], dtype=ef.float64)
    opt.step()
    assert np.allclose(b.detach().numpy(), [0.5, -1.5])


def test_lion_minimises_a_quadratic():
    ef.manual_seed(0)
    w = ef.randn(5, requires_grad=True)
    opt = Lion([w], lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        ((w - 3.0) ** 2).sum().backward()
        opt.step()
    assert np.allclose(w.detach().numpy(), 3.0, atol=0.1)


def test_invalid_hyperparameters():
    w = ef.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="learning rate"):
        Lion([w], lr=-1)
    with pytest.raises(ValueError, match="beta"):
        Lion([w], betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="update_freq"):
        Shampoo([w], update_freq=0)


def test_discovered_through_entry_points():
    assert {"Lion", "Shampoo"} <= set(ef.plugins.names("optimizers"))
    w = ef.zeros(2, requires_grad=True)
    opt = ef.optim.create("Lion", [w], lr=1e-3)
    assert isinstance(opt, Lion)
    out = subprocess.run([sys.executable, "-m", "einframe", "plugins"], capture_output=True, text=True, check=True).stdout
    assert "einframe-lion" in out and "Shampoo" in out
