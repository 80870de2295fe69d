"""Layers and F.*: Linear (one contraction, PyTorch default init), LazyLinear, ReLU, Identity,
Flatten, MSELoss; gradients checked with finite differences in float64."""

import math

import numpy as np
import pytest

import einframe as ef
import einframe.nn.functional as F
from einframe import nn
from einframe.ops.contract import Contract


def test_linear_shapes_layout_and_repr():
    m = nn.Linear(20, 30)
    assert m.weight.shape == (30, 20) and m.bias.shape == (30,)
    assert m(ef.randn(128, 20)).shape == (128, 30)
    assert m(ef.randn(20)).shape == (30,)
    assert m(ef.randn(2, 5, 20)).shape == (2, 5, 30)
    assert repr(m) == "Linear(in_features=20, out_features=30, bias=True)"
    nb = nn.Linear(3, 2, bias=False)
    assert nb.bias is None and repr(nb) == "Linear(in_features=3, out_features=2, bias=False)"
    assert [n for n, _ in nb.named_parameters()] == ["weight"]


def test_linear_matches_numpy():
    m = nn.Linear(4, 3)
    x = ef.randn(5, 4)
    expected = x.numpy() @ m.weight.detach().numpy().T + m.bias.detach().numpy()
    assert np.allclose(m(x).detach().numpy(), expected, atol=1e-6)


def test_linear_forward_is_one_contraction():
    m = nn.Linear(4, 3, bias=False)
    y = m(ef.randn(2, 4))
    assert isinstance(y.grad_fn, Contract) and y.grad_fn.equation == "...i,oi->...o"
    yb = nn.Linear(4, 3)(ef.randn(2, 4))
    contracts = [fn for fn, _ in yb.grad_fn.next_functions if isinstance(fn, Contract)]
    assert len(contracts) == 1


def test_linear_default_init_is_kaiming_uniform_a_sqrt5():
    ef.manual_seed(1)
    fan_in = 400
    m = nn.Linear(fan_in, 300)
    bound = 1 / math.sqrt(fan_in)
    w = m.weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    # uniform(-b, b) has std b/sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    assert np.abs(m.bias.detach().numpy()).max() <= bound
    ef.manual_seed(1)
    again = nn.Linear(fan_in, 300)
    assert np.array_equal(again.weight.detach().numpy(), w)  # seeded


def test_linear_dtype_device_args():
    m = nn.Linear(2, 2, dtype=ef.float64, device="cpu")
    assert m.weight.dtype == ef.float64 and str(m.weight.device) == "cpu"
    with pytest.raises(RuntimeError, match="dtype"):
        m(ef.ones(2))
    with pytest.raises(ValueError, match="non-negative int"):
        nn.Linear(-1, 2)


def test_linear_gradcheck_float64():
    m = nn.Linear(3, 2).double()
    x = ef.randn(4, 3, dtype=ef.float64, requires_grad=True)
    w, b = m.weight, m.bias
    assert ef.autograd.gradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))
    assert ef.autograd.gradgradcheck(lambda x, w, b: F.linear(x, w, b), (x, w, b))


def test_functional_linear_errors():
    with pytest.raises(RuntimeError, match="expected last dimension 3, got 4"):
        F.linear(ef.ones(2, 4), ef.ones(5, 3))
    with pytest.raises(RuntimeError, match="2-D weight"):
        F.linear(ef.ones(2, 3), ef.ones(3))
    with pytest.raises(TypeError, match="must be a Tensor"):
        F.linear([1.0], ef.ones(1, 1))


def test_relu_module_and_inplace():
    x = ef.tensor([-1.0, 0.5, 2.0])
    assert nn.ReLU()(x).tolist() == [0.0, 0.5, 2.0]
    assert x.tolist() == [-1.0, 0.5, 2.0]
    y = ef.tensor([-1.0, 3.0])
    out = nn.ReLU(inplace=True)(y)
    assert out is y and y.tolist() == [0.0, 3.0]
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.ReLU(True)) == "ReLU(inplace=True)"
    xs = ef.tensor([[-1.0, 0.7], [0.3, -0.2]], dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradcheck(lambda t: nn.ReLU()(t), (xs,))


def test_identity_and_flatten():
    x = ef.randn(2, 3, 4)
    assert nn.Identity(1, 2, k=3)(x) is x
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, -1)(x).shape == (24,)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert nn.Unflatten(1, (3, 4))(ef.ones(2, 12)).shape == (2, 3, 4)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_values_and_grad(reduction):
    a = ef.randn(3, 4, dtype=ef.float64, requires_grad=True)
    b = ef.randn(3, 4, dtype=ef.float64)
    out = nn.MSELoss(reduction=reduction)(a, b)
    d = (a.detach().numpy() - b.numpy()) ** 2
    expected = {"mean": d.mean(), "sum": d.sum(), "none": d}[reduction]
    assert np.allclose(out.detach().numpy(), expected)
    assert ef.autograd.gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), (a, b.requires_grad_()))


def test_mse_loss_options():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.MSELoss(reduction="avg")
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.MSELoss(reduce=False).reduction == "none"
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(ef.ones(3, 1), ef.ones(3))
    assert repr(nn.MSELoss()) == "MSELoss()"


def test_mlp_gradcheck_float64():
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1)).double()
    x = ef.randn(4, 3, dtype=ef.float64, requires_grad=True)
    params = list(net.parameters())

    def f(x, *ps):
        return net(x)

    assert ef.autograd.gradcheck(f, (x, *params))


# ---- lazy -------------------------------------------------------------------------------------


def test_lazy_linear_materializes_and_changes_class():
    m = nn.LazyLinear(256)
    assert repr(m) == "LazyLinear(in_features=0, out_features=256, bias=True)"
    assert isinstance(m.weight, nn.UninitializedParameter) and m.has_uninitialized_params()
    y = m(ef.rand(2, 20))
    assert y.shape == (2, 256)
    assert type(m) is nn.Linear
    assert repr(m) == "Linear(in_features=20, out_features=256, bias=True)"
    assert type(m.weight) is nn.Parameter and m.weight.shape == (256, 20)
    bound = 1 / math.sqrt(20)
    assert np.abs(m.weight.detach().numpy()).max() <= bound
    assert len(m._forward_pre_hooks) == 0


def test_lazy_sequential_seed_example():
    net = nn.Sequential(nn.LazyLinear(256), nn.ReLU(), nn.LazyLinear(10))
    assert repr(net) == (
        "Sequential(\n  (0): LazyLinear(in_features=0, out_features=256, bias=True)\n  (1): ReLU()\n"
        "  (2): LazyLinear(in_features=0, out_features=10, bias=True)\n)"
    )
    net(ef.rand(2, 20))
    assert repr(net) == (
        "Sequential(\n  (0): Linear(in_features=20, out_features=256, bias=True)\n  (1): ReLU()\n"
        "  (2): Linear(in_features=256, out_features=10, bias=True)\n)"
    )


def test_uninitialized_parameter_errors():
    p = nn.UninitializedParameter()
    assert repr(p) == "<UninitializedParameter>" and p.requires_grad and p.dtype == ef.float32
    with pytest.raises(RuntimeError, match="uninitialized parameter.*forward pass"):
        p.shape  # noqa: B018
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        p + 1
    m = nn.LazyLinear(3)
    with pytest.raises(RuntimeError, match="uninitialized"):
        sum(q.numel() for q in m.parameters())
    assert nn.parameter.is_lazy(m.weight)


def test_lazy_load_state_dict_materializes():
    src = nn.Linear(7, 3)
    m = nn.LazyLinear(3)
    m.load_state_dict(src.state_dict())
    assert type(m) is nn.Linear and m.in_features == 7
    assert np.array_equal(m.weight.detach().numpy(), src.weight.detach().numpy())
    assert m(ef.ones(2, 7)).shape == (2, 3)


def test_lazy_to_dtype_before_materialization_and_state_dict():
    m = nn.LazyLinear(2).double()
    assert m.weight.dtype == ef.float64
    sd = m.state_dict()
    assert nn.parameter.is_lazy(sd["weight"])
    m(ef.ones(1, 3, dtype=ef.float64))
    assert m.weight.dtype == ef.float64


def test_lazy_deepcopy_before_first_forward():
    import copy

    m = nn.LazyLinear(4)
    c = copy.deepcopy(m)
    c(ef.ones(1, 2))
    assert type(c) is nn.Linear and type(m) is nn.LazyLinear
    m(ef.ones(1, 5))
    assert m.in_features == 5 and c.in_features == 2


def test_optimizer_rejects_uninitialized_parameters():
    with pytest.raises(ValueError, match="uninitialized parameter of a lazy module.*forward pass"):
        ef.optim.create("SGD", nn.LazyLinear(3).parameters(), lr=0.1)
