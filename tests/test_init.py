"""nn.init: PyTorch's fans, gains, bounds and statistics; seeded; no autograd recording."""

import math

import numpy as np
import pytest

import einframe as ef
from einframe.nn import init


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("conv2d") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    assert math.isclose(init.calculate_gain("leaky_relu"), math.sqrt(2 / (1 + 0.01**2)))
    assert math.isclose(init.calculate_gain("leaky_relu", math.sqrt(5)), math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(ef.empty(16, 8, 3, 3)) == (72, 144)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(ef.empty(5))


def test_kaiming_uniform_default_layer_bound_and_stats():
    w = init.kaiming_uniform_(ef.empty(256, 64, 3, 3), a=math.sqrt(5))
    bound = 1 / math.sqrt(64 * 9)  # gain sqrt(1/3) * sqrt(3 / fan_in)
    a = w.numpy()
    assert a.max() <= bound and a.min() >= -bound
    assert abs(a.std() - bound / math.sqrt(3)) < 0.02 * bound


@pytest.mark.parametrize(
    "fn,std",
    [
        (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2 / 400)),
        (lambda t: init.xavier_normal_(t, gain=2.0), 2 * math.sqrt(2 / 500)),
        (lambda t: init.xavier_uniform_(t), math.sqrt(2 / 500)),
        (lambda t: init.normal_(t, 0.5, 0.1), 0.1),
        (lambda t: init.uniform_(t, -1, 3), 4 / math.sqrt(12)),
        (lambda t: init.trunc_normal_(t, std=0.02), 0.02),  # bounds +-2 are absolute: 100 sigma, no visible truncation
    ],
)
def test_statistics(fn, std):
    w = fn(ef.empty(400, 100))
    assert abs(w.numpy().std() - std) < 0.03 * std


def test_trunc_normal_bounds_absolute():
    w = init.trunc_normal_(ef.empty(2000), mean=1.0, std=1.0, a=0.5, b=1.5).numpy()
    assert w.min() >= 0.5 and w.max() <= 1.5


def test_constant_ones_zeros_eye_dirac():
    assert (init.constant_(ef.empty(2, 3), 0.3) == 0.3).all()
    assert (init.ones_(ef.empty(3)) == 1).all() and (init.zeros_(ef.empty(3)) == 0).all()
    assert init.eye_(ef.empty(2, 3)).tolist() == [[1, 0, 0], [0, 1, 0]]
    d = init.dirac_(ef.empty(4, 2, 3), groups=2).numpy()
    assert d[0, 0, 1] == 1 and d[1, 1, 1] == 1 and d[2, 0, 1] == 1 and d.sum() == 4


def test_orthogonal_and_sparse():
    w = init.orthogonal_(ef.empty(6, 2, 2), gain=2.0).reshape(6, 4).numpy()
    assert np.allclose(w.T @ w, 4 * np.eye(4), atol=1e-5)
    s = init.sparse_(ef.empty(10, 5), 0.25).numpy()
    assert ((s == 0).sum(0) == 3).all()


def test_seeded_and_in_place_without_recording():
    p = ef.zeros(3, 4, requires_grad=True)
    ef.manual_seed(7)
    out = init.kaiming_uniform_(p)
    assert out is p and p.grad_fn is None and p.requires_grad
    first = p.detach().clone()
    ef.manual_seed(7)
    init.kaiming_uniform_(p)
    assert ef.equal(first, p.detach())
