import math

import numpy as np
import pytest
from einframe_tensorlayers import KroneckerLinear, LowRankLinear, TTLinear

import einframe as ef


def _double(m):
    return m.double()


def test_low_rank_matches_dense_product():
    layer = LowRankLinear(6, 4, rank=2)
    x = ef.randn(3, 6)
    dense = (layer.U @ layer.V).detach()
    assert np.allclose(layer(x).detach().numpy(), (x @ dense.T + layer.bias.detach()).numpy(), atol=1e-5)


def test_kronecker_matches_dense_kron():
    layer = KroneckerLinear((2, 3), (4, 5))
    x = ef.randn(7, 6)
    w = np.kron(layer.A.detach().numpy(), layer.B.detach().numpy())  # (20, 6)
    ref = x.numpy() @ w.T + layer.bias.detach().numpy()
    assert np.allclose(layer(x).detach().numpy(), ref, atol=1e-5)


def test_tt_matches_its_dense_weight():
    layer = TTLinear((2, 3, 2), (2, 2, 3), ranks=(1, 3, 2, 1))
    x = ef.randn(4, 12)
    w = layer.dense_weight().detach()
    assert w.shape == (12, 12)
    ref = x @ w.T + layer.bias.detach()
    assert np.allclose(layer(x).detach().numpy(), ref.numpy(), atol=1e-5)


@pytest.mark.parametrize(
    "make,n_in",
    [
        (lambda: LowRankLinear(5, 3, rank=2), 5),
        (lambda: KroneckerLinear((2, 2), (3, 2)), 4),
        (lambda: TTLinear((2, 2), (2, 3), ranks=(1, 2, 1)), 4),
    ],
)
def test_gradcheck(make, n_in):
    layer = make().double()
    x = ef.randn(2, n_in, dtype=ef.float64, requires_grad=True)
    params = list(layer.parameters())

    def f(x, *ps):
        return layer(x)

    assert ef.autograd.gradcheck(f, (x, *params))


def test_default_init_variance_matches_linear():
    ef.manual_seed(0)
    layer = LowRankLinear(256, 256, rank=16, bias=False)
    w = (layer.U @ layer.V).detach().numpy()
    assert abs(w.var() - 1 / (3 * 256)) < 0.2 / (3 * 256)
    tt = TTLinear((8, 8, 4), (8, 8, 4), ranks=(1, 4, 4, 1), bias=False)
    w = tt.dense_weight().detach().numpy()
    assert abs(w.var() - 1 / (3 * 256)) < 0.3 / (3 * 256)


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="expected last dimension 6"):
        KroneckerLinear((2, 3), (2, 2))(ef.randn(2, 5))
    with pytest.raises(ValueError, match="ranks of length"):
        TTLinear((2, 2), (2, 2), ranks=(1, 2))
    with pytest.raises(ValueError, match="rank must be >= 1"):
        LowRankLinear(3, 3, rank=0)


def test_discovered_through_entry_points():
    assert "LowRankLinear" in ef.plugins.names("layers")
    assert ef.plugins.get("layers", "TTLinear") is TTLinear
    layer = ef.nn.build({"type": "LowRankLinear", "in_features": 8, "out_features": 4, "rank": 2})
    assert isinstance(layer, LowRankLinear)
    assert math.prod(layer(ef.randn(1, 8)).shape) == 4


def test_cli_lists_the_plugin():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "einframe", "plugins"], capture_output=True, text=True, check=True).stdout
    assert "einframe-tensorlayers" in out and "LowRankLinear" in out
