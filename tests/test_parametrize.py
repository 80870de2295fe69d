"""nn.utils.parametrize / parametrizations, the legacy hook-based weight_norm and spectral_norm, and
the small nn.utils helpers (fuse_linear_bn_*, skip_init, clip_grad_norm, clip_grads_with_norm_).

Constants marked "PyTorch" were produced by torch 2.x with the same inputs."""

import copy
import warnings

import numpy as np
import pytest

import einframe as ef
from einframe import nn
from einframe.autograd import gradcheck
from einframe.nn.utils import parametrizations as PZ
from einframe.nn.utils import parametrize as P


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT

    def right_inverse(self, A):
        return A.triu()


class Scale(nn.Module):
    def __init__(self, s):
        super().__init__()
        self.s = s

    def forward(self, X):
        return X * self.s

    def right_inverse(self, Y):
        return Y / self.s


class RankOne(nn.Module):
    def forward(self, x, y):
        return x.unsqueeze(-1) @ y.unsqueeze(-2)

    def right_inverse(self, Z):
        U, S, Vh = ef.linalg.svd(Z, full_matrices=False)
        s0 = S[0].sqrt()
        return U[:, 0] * s0, Vh[0, :] * s0


def lin(out, inp, bias=True):
    return nn.Linear(inp, out, bias=bias).double()


def npy(t):
    return t.detach().numpy()


# ------------------------------------------------------------------------------------------------
# register_parametrization


def test_register_swaps_class_and_moves_original():
    m = lin(3, 3)
    w = m.weight
    P.register_parametrization(m, "weight", Symmetric())
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, nn.Linear)
    assert P.type_before_parametrizations(m) is nn.Linear
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
    assert isinstance(m.parametrizations.weight, P.ParametrizationList)
    assert m.parametrizations.weight.original is w  # same Parameter object, value = right_inverse(w)
    assert np.allclose(npy(w), np.triu(npy(w)))
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert "weight" not in m._parameters
    assert np.allclose(npy(m.weight), npy(m.weight).T)
    assert repr(m).startswith(
        "ParametrizedLinear(\n  in_features=3, out_features=3, bias=True\n  (parametrizations): ModuleDict("
    )
    assert nn.Linear(3, 3).weight is not None  # the class of other Linears is untouched
    assert type(nn.Linear(3, 3)) is nn.Linear


def test_assignment_goes_through_right_inverse():
    m = P.register_parametrization(lin(3, 3), "weight", Symmetric())
    A = ef.randn(3, 3, dtype=ef.float64)
    A = A + A.mT
    orig = m.parametrizations.weight.original
    m.weight = A
    assert m.parametrizations.weight.original is orig  # updated in place: optimizers keep working
    assert np.allclose(npy(m.weight), npy(A))


def test_forward_uses_parametrized_weight_and_grads_reach_original():
    m = P.register_parametrization(lin(3, 4), "weight", Scale(2.0))
    x = ef.randn(5, 4, dtype=ef.float64)
    W = npy(m.parametrizations.weight.original) * 2.0
    assert np.allclose(npy(m(x)), npy(x) @ W.T + npy(m.bias))
    m(x).sum().backward()
    g = m.parametrizations.weight.original.grad
    assert np.allclose(npy(g), 2.0 * np.ones((3, 1)) * npy(x).sum(0))


def test_gradcheck_through_parametrized_linear():
    m = P.register_parametrization(lin(3, 3), "weight", Symmetric())
    P.register_parametrization(m, "weight", nn.Tanh())
    x = ef.randn(2, 3, dtype=ef.float64)
    orig = m.parametrizations.weight.original
    assert gradcheck(lambda w, b: m(x), (orig, m.bias))


def test_chained_parametrizations():
    m = P.register_parametrization(lin(3, 3), "weight", Symmetric())
    P.register_parametrization(m, "weight", Scale(3.0))
    assert len(m.parametrizations.weight) == 2
    o = npy(m.parametrizations.weight.original)
    sym = np.triu(o) + np.triu(o, 1).T
    assert np.allclose(npy(m.weight), 3.0 * sym)
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    A = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 5.0], [3.0, 5.0, 6.0]])
    m.weight = ef.tensor(A)  # right_inverse of both, newest first
    assert np.allclose(npy(m.weight), A)


def test_tuple_right_inverse_registers_original0_original1():
    m = P.register_parametrization(lin(3, 4), "weight", RankOne())
    sd = m.state_dict()
    assert [(k, tuple(v.shape)) for k, v in sd.items()] == [
        ("bias", (3,)),
        ("parametrizations.weight.original0", (3,)),
        ("parametrizations.weight.original1", (4,)),
    ]
    assert all(isinstance(p, nn.Parameter) for p in m.parameters())
    assert np.linalg.matrix_rank(npy(m.weight)) == 1
    m(ef.randn(2, 4, dtype=ef.float64)).sum().backward()
    assert m.parametrizations.weight.original0.grad is not None and m.parametrizations.weight.original1.grad is not None
    # assigning a rank-one matrix stores its factors
    R = np.outer([1.0, 2.0, -1.0], [0.5, 1.0, 0.0, 2.0])
    m.weight = ef.tensor(R)
    assert np.allclose(npy(m.weight), R)


def test_state_dict_round_trip_through_save_load(tmp_path):
    src = P.register_parametrization(lin(3, 4), "weight", RankOne())
    PZ.spectral_norm(src, "bias")  # a 1-D parametrization: the bias is normalised
    path = tmp_path / "ckpt.safetensors"
    ef.save(src.state_dict(), path)
    dst = P.register_parametrization(lin(3, 4), "weight", RankOne())
    PZ.spectral_norm(dst, "bias")
    assert dst.load_state_dict(ef.load(path)).missing_keys == []
    x = ef.randn(2, 4, dtype=ef.float64)
    assert np.allclose(npy(dst(x)), npy(src(x)))
    assert abs(np.linalg.norm(npy(dst.bias)) - 1.0) < 1e-12


def test_parametrize_a_buffer():
    m = nn.BatchNorm1d(3).double()
    P.register_parametrization(m, "running_var", Scale(2.0))
    assert "parametrizations.running_var.original" in m.state_dict()
    assert m.parametrizations.running_var.original is m.parametrizations.running_var._buffers["original"]
    assert np.allclose(npy(m.running_var), 1.0)


def test_cached():
    m = P.register_parametrization(lin(2, 2), "weight", Scale(2.0))
    calls = []
    m.parametrizations.weight[0].register_forward_hook(lambda *a: calls.append(1))
    with P.cached():
        a, b = m.weight, m.weight
        with P.cached():  # nested: the cache lives until the outermost block exits
            c = m.weight
    assert a is b is c and len(calls) == 1
    assert m.weight is not m.weight and len(calls) == 3


def test_remove_parametrizations_leave_parametrized():
    m = P.register_parametrization(lin(3, 3), "weight", Symmetric())
    orig = m.parametrizations.weight.original
    value = npy(m.weight)
    P.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and not hasattr(m, "parametrizations")
    assert m.weight is orig and isinstance(m.weight, nn.Parameter)  # the same Parameter, now with the value
    assert np.allclose(npy(m.weight), value)
    assert list(m.state_dict()) == ["bias", "weight"]


def test_remove_parametrizations_unparametrized_value():
    m = P.register_parametrization(lin(3, 3), "weight", Scale(2.0))
    raw = npy(m.parametrizations.weight.original).copy()
    P.remove_parametrizations(m, "weight", leave_parametrized=False)
    assert np.allclose(npy(m.weight), raw)


def test_remove_keeps_other_parametrizations():
    m = P.register_parametrization(lin(3, 3), "weight", Scale(2.0))
    P.register_parametrization(m, "bias", Scale(3.0))
    P.remove_parametrizations(m, "weight")
    assert type(m).__name__ == "ParametrizedLinear" and P.is_parametrized(m, "bias")
    assert list(m.state_dict()) == ["weight", "parametrizations.bias.original"]


def test_remove_tuple_parametrization():
    m = P.register_parametrization(lin(3, 4), "weight", RankOne())
    value = npy(m.weight)
    with pytest.raises(ValueError, match="sequence of tensors"):
        P.remove_parametrizations(m, "weight", leave_parametrized=False)
    P.remove_parametrizations(m, "weight")
    assert isinstance(m.weight, nn.Parameter) and m.weight.grad_fn is None and m.weight.requires_grad
    assert np.allclose(npy(m.weight), value)


def test_deepcopy_gets_its_own_class():
    m = P.register_parametrization(lin(3, 3), "weight", Symmetric())
    c = copy.deepcopy(m)
    assert type(c) is not type(m) and type(c).__name__ == "ParametrizedLinear"
    assert c.parametrizations.weight.original is not m.parametrizations.weight.original
    assert np.allclose(npy(c.weight), npy(m.weight))
    P.remove_parametrizations(c, "weight")
    assert type(c) is nn.Linear
    assert np.allclose(npy(m.weight), npy(m.weight).T)  # the original still has its property


def test_transfer_parametrizations_and_params():
    a = P.register_parametrization(lin(3, 3), "weight", Symmetric())
    b = lin(3, 3)
    P.transfer_parametrizations_and_params(a, b)
    assert b.parametrizations.weight.original is a.parametrizations.weight.original
    assert np.allclose(npy(b.weight), npy(a.weight))
    assert P.transfer_parametrizations_and_params(lin(2, 2), b) is b  # nothing to transfer


def test_register_errors():
    m = lin(3, 3)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        P.register_parametrization(m, "nope", Symmetric())
    with pytest.raises(TypeError, match="nn.Module"):
        P.register_parametrization(m, "weight", lambda X: X)

    class Shrink(nn.Module):
        def forward(self, X):
            return X[:2]

    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(m, "weight", Shrink())
    assert type(m) is nn.Linear and "weight" in m._parameters  # untouched after the failure
    P.register_parametrization(m, "weight", Shrink(), unsafe=True)
    assert tuple(m.weight.shape) == (2, 3)

    class ToFloat32(nn.Module):
        def forward(self, X):
            return X.float()

    with pytest.raises(ValueError, match="may not change the dtype"):
        P.register_parametrization(lin(2, 2), "weight", ToFloat32())
    with pytest.raises(ValueError, match="does not have a parametrization"):
        P.remove_parametrizations(lin(2, 2), "weight")
    m = P.register_parametrization(lin(2, 2), "weight", nn.Tanh())
    with pytest.raises(RuntimeError, match="right_inverse"):
        m.weight = ef.zeros(2, 2, dtype=ef.float64)


def test_training_mode_follows_module():
    m = lin(2, 2).eval()
    P.register_parametrization(m, "weight", Scale(1.0))
    assert m.parametrizations.weight[0].training is False


def test_load_state_dict_pre_hook():
    m = lin(2, 2)
    seen = []
    m.register_load_state_dict_pre_hook(lambda mod, sd, prefix, *rest: seen.append((mod is m, prefix, sorted(sd))))
    m.load_state_dict(lin(2, 2).state_dict())
    assert seen == [(True, "", ["bias", "weight"])]


# ------------------------------------------------------------------------------------------------
# orthogonal


def _check_orthogonal(W, atol=1e-10):
    W = npy(W)
    n, k = W.shape[-2:]
    G = W.swapaxes(-1, -2) @ W if n >= k else W @ W.swapaxes(-1, -2)
    assert np.allclose(G, np.eye(min(n, k)), atol=atol), G


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("orthogonal_map", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("use_trivialization", [True, False])
def test_orthogonal_stays_orthogonal_after_optimizer_steps(shape, orthogonal_map, use_trivialization):
    out, inp = shape
    m = PZ.orthogonal(lin(out, inp), orthogonal_map=orthogonal_map, use_trivialization=use_trivialization)
    _check_orthogonal(m.weight)
    opt = ef.optim.SGD(m.parameters(), lr=0.1)
    before = npy(m.weight).copy()
    for _ in range(3):
        opt.zero_grad()
        (m(ef.randn(8, inp, dtype=ef.float64)) ** 2).sum().backward()
        opt.step()
    _check_orthogonal(m.weight)
    assert not np.allclose(npy(m.weight), before)


def test_orthogonal_keeps_qr_of_initial_weight_and_stores_assigned():
    W = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])
    m = lin(3, 2, bias=False)
    with ef.no_grad():
        m.weight.copy_(ef.tensor(W))
    PZ.orthogonal(m)  # householder for a non-square matrix, trivialization: Q of W = QR with diag(R) > 0
    Q, R = np.linalg.qr(W)
    assert np.allclose(npy(m.weight), Q * np.sign(np.diag(R)))
    assert list(m.state_dict()) == ["parametrizations.weight.original", "parametrizations.weight.0.base"]
    target = np.linalg.qr(np.random.default_rng(0).standard_normal((3, 2)))[0]
    m.weight = ef.tensor(target)
    assert np.allclose(npy(m.weight), target)


def test_orthogonal_householder_without_trivialization_matches_pytorch():
    W = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])
    m = lin(3, 2, bias=False)
    with ef.no_grad():
        m.weight.copy_(ef.tensor(W))
    PZ.orthogonal(m, orthogonal_map="householder", use_trivialization=False)
    # PyTorch: parametrizations.weight.original, m.weight and the gradient below
    original = [[-1.0, 0.2733040833], [0.7140201466, 1.0], [0.1190033578, -0.0099675425]]
    weight = [[0.3123475238, 0.9337433680], [0.9370425713, -0.3330897394], [0.1561737619, 0.1310517008]]
    grad = [[0.0, 0.0], [-6.9699811928, 0.0], [-1.2782496813, 10.2085263421]]
    assert np.allclose(npy(m.parametrizations.weight.original), original, atol=1e-9)
    assert np.allclose(npy(m.weight), weight, atol=1e-9)
    (m(ef.tensor([[1.0, -2.0]], dtype=ef.float64)) * ef.tensor([[1.0, 2.0, 3.0]], dtype=ef.float64)).sum().backward()
    assert np.allclose(npy(m.parametrizations.weight.original.grad), grad, atol=1e-8)


def test_orthogonal_batched_and_errors():
    m = nn.Module()
    m.register_parameter("w", nn.Parameter(ef.randn(2, 4, 3, dtype=ef.float64)))
    PZ.orthogonal(m, "w")
    for i in range(2):
        _check_orthogonal(m.w[i])
    with pytest.raises(ValueError, match="matrix or batch"):
        PZ.orthogonal(nn.Linear(2, 2), "bias")
    with pytest.raises(ValueError, match="orthogonal_map has to be one of"):
        PZ.orthogonal(nn.Linear(2, 2), orthogonal_map="svd")
    with pytest.raises(ValueError, match="no parameter or buffer"):
        PZ.orthogonal(nn.Linear(2, 2), "nope")
    m = PZ.orthogonal(lin(3, 3), orthogonal_map="cayley", use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = ef.eye(3, dtype=ef.float64)


# ------------------------------------------------------------------------------------------------
# spectral_norm (parametrization)


def _sigma(W, dim=0):
    W = np.moveaxis(npy(W), dim, 0)
    return np.linalg.svd(W.reshape(W.shape[0], -1), compute_uv=False)[0]


def test_spectral_norm_parametrization():
    m = PZ.spectral_norm(lin(5, 4))
    assert list(m.state_dict()) == [
        "bias",
        "parametrizations.weight.original",
        "parametrizations.weight.0._u",
        "parametrizations.weight.0._v",
    ]
    sn = m.parametrizations.weight[0]
    assert tuple(sn._u.shape) == (5,) and tuple(sn._v.shape) == (4,)
    for _ in range(30):
        m(ef.randn(1, 4, dtype=ef.float64))
    assert abs(_sigma(m.weight) - 1.0) < 1e-6
    # the normalised weight is original / sigma(original)
    orig = m.parametrizations.weight.original
    assert np.allclose(npy(m.weight), npy(orig) / _sigma(orig), atol=1e-6)
    m(ef.randn(3, 4, dtype=ef.float64)).sum().backward()
    assert orig.grad is not None and np.isfinite(npy(orig.grad)).all()


def test_spectral_norm_power_iteration_only_in_training():
    m = PZ.spectral_norm(lin(3, 3), n_power_iterations=2)
    sn = m.parametrizations.weight[0]
    u0 = npy(sn._u).copy()
    with ef.no_grad():
        m.parametrizations.weight.original.mul_(ef.tensor(np.diag([1.0, 2.0, 3.0])))
    m.eval()
    _ = m.weight
    assert np.array_equal(npy(sn._u), u0)
    m.train()
    _ = m.weight
    assert not np.array_equal(npy(sn._u), u0)


def test_spectral_norm_conv_dims_and_1d():
    m = PZ.spectral_norm(nn.ConvTranspose2d(2, 3, 3).double())  # dim 1 by default for transposed convs
    assert tuple(m.parametrizations.weight[0]._u.shape) == (3,) and tuple(m.parametrizations.weight[0]._v.shape) == (18,)
    for _ in range(30):
        _ = m.weight
    assert abs(_sigma(m.weight, dim=1) - 1.0) < 1e-6
    m = PZ.spectral_norm(nn.Conv2d(2, 3, 3).double())
    assert tuple(m.parametrizations.weight[0]._u.shape) == (3,) and tuple(m.parametrizations.weight[0]._v.shape) == (18,)
    m = PZ.spectral_norm(lin(3, 3), "bias")
    assert abs(np.linalg.norm(npy(m.bias)) - 1.0) < 1e-12
    assert list(m.state_dict()) == ["weight", "parametrizations.bias.original"]
    with pytest.raises(ValueError, match="n_power_iterations"):
        PZ.spectral_norm(lin(2, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        PZ.spectral_norm(lin(2, 2), dim=2)


# ------------------------------------------------------------------------------------------------
# weight_norm (parametrization)


@pytest.mark.parametrize(
    ("dim", "g_shape"),
    [(0, (4, 1)), (1, (1, 3)), (None, ()), (-1, ()), (-2, (4, 1))],  # PyTorch's shapes
)
def test_weight_norm_parametrization_reproduces_weight(dim, g_shape):
    m = lin(4, 3)
    W = npy(m.weight).copy()
    PZ.weight_norm(m, dim=dim)
    pl = m.parametrizations.weight
    assert list(m.state_dict()) == ["bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
    assert tuple(pl.original0.shape) == g_shape and tuple(pl.original1.shape) == (4, 3)
    assert np.allclose(npy(m.weight), W)


def test_weight_norm_parametrization_gradients():
    W = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])
    m = lin(3, 2, bias=False)
    with ef.no_grad():
        m.weight.copy_(ef.tensor(W))
    PZ.weight_norm(m)
    (m(ef.tensor([[1.0, -2.0]], dtype=ef.float64)) * ef.tensor([[1.0, 2.0, 3.0]], dtype=ef.float64)).sum().backward()
    pl = m.parametrizations.weight
    # PyTorch's gradients of g (original0) and v (original1)
    assert np.allclose(npy(pl.original0.grad), [[-1.3416407865], [3.1622776602], [0.0]])
    assert np.allclose(npy(pl.original1.grad), [[1.6, -0.8], [-1.0, -3.0], [3.0, -6.0]])
    x = ef.randn(2, 2, dtype=ef.float64)
    assert gradcheck(lambda g, v: m(x), (pl.original0, pl.original1))


def test_weight_norm_parametrization_loads_legacy_state_dict():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = nn.utils.weight_norm(lin(4, 3))
    with ef.no_grad():
        old.weight_g.mul_(2.0)
    new = PZ.weight_norm(lin(4, 3))
    sd = old.state_dict()
    new.load_state_dict(sd)
    assert sorted(sd) == ["bias", "weight_g", "weight_v"]  # the caller's dict is not renamed
    x = ef.randn(2, 3, dtype=ef.float64)
    assert np.allclose(npy(new(x)), npy(old(x)))


# ------------------------------------------------------------------------------------------------
# legacy hook-based weight_norm / spectral_norm


def test_legacy_weight_norm():
    m = lin(4, 3)
    W = npy(m.weight).copy()
    with pytest.warns(FutureWarning, match="parametrizations.weight_norm"):
        nn.utils.weight_norm(m)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == [
        ("bias", (4,)),
        ("weight_g", (4, 1)),
        ("weight_v", (4, 3)),
    ]
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_g", "weight_v"]
    assert np.allclose(npy(m.weight), W)
    with ef.no_grad():
        m.weight_g.mul_(3.0)
    x = ef.randn(2, 3, dtype=ef.float64)
    y = m(x)  # the pre-hook recomputes weight
    assert np.allclose(npy(y), npy(x) @ (3 * W).T + npy(m.bias))
    y.sum().backward()
    assert m.weight_g.grad is not None and m.weight_v.grad is not None
    assert gradcheck(lambda g, v: m(x), (m.weight_g, m.weight_v))
    with pytest.raises(RuntimeError, match="two weight_norm hooks"), pytest.warns(FutureWarning):
        nn.utils.weight_norm(m)
    nn.utils.remove_weight_norm(m)
    assert isinstance(m.weight, nn.Parameter) and list(m.state_dict()) == ["bias", "weight"]
    assert np.allclose(npy(m.weight), 3 * W) and not m._forward_pre_hooks
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(m)


def test_legacy_weight_norm_dim_none():
    with pytest.warns(FutureWarning):
        m = nn.utils.weight_norm(lin(4, 3), dim=None)
    assert tuple(m.weight_g.shape) == ()
    assert abs(float(m.weight_g) - np.linalg.norm(npy(m.weight_v))) < 1e-12


def test_legacy_spectral_norm():
    m = nn.utils.spectral_norm(lin(5, 4))
    assert list(m.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_orig"]
    for _ in range(30):
        m(ef.randn(1, 4, dtype=ef.float64))
    assert abs(_sigma(m.weight) - 1.0) < 1e-6
    m(ef.randn(2, 4, dtype=ef.float64)).sum().backward()
    assert m.weight_orig.grad is not None
    m.eval()
    u = npy(m.weight_u).copy()
    m(ef.randn(1, 4, dtype=ef.float64))
    assert np.array_equal(npy(m.weight_u), u)  # no power iteration in eval mode
    with pytest.raises(RuntimeError, match="two spectral_norm hooks"):
        nn.utils.spectral_norm(m)
    value = npy(m.weight).copy()
    nn.utils.remove_spectral_norm(m)
    assert list(m.state_dict()) == ["bias", "weight"] and isinstance(m.weight, nn.Parameter)
    assert np.allclose(npy(m.weight), value)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        nn.utils.remove_spectral_norm(m)


def test_legacy_spectral_norm_conv_transpose_and_errors():
    m = nn.utils.spectral_norm(nn.ConvTranspose2d(2, 3, 3))
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == {
        "bias": (3,),
        "weight_orig": (2, 3, 3, 3),
        "weight_u": (3,),
        "weight_v": (18,),
    }
    with pytest.raises(ValueError, match="n_power_iterations"):
        nn.utils.spectral_norm(lin(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="is None"):
        nn.utils.spectral_norm(nn.Linear(2, 2, bias=False), "bias")


def test_legacy_round_trip_through_save_load(tmp_path):
    src = nn.utils.spectral_norm(lin(3, 4))
    src(ef.randn(1, 4, dtype=ef.float64))
    ef.save(src.state_dict(), tmp_path / "sn.safetensors")
    dst = nn.utils.spectral_norm(lin(3, 4)).eval()
    dst.load_state_dict(ef.load(tmp_path / "sn.safetensors"))
    src.eval()
    x = ef.randn(2, 4, dtype=ef.float64)
    assert np.allclose(npy(dst(x)), npy(src(x)))


# ------------------------------------------------------------------------------------------------
# small helpers


@pytest.mark.parametrize("features", [4, 1])
def test_fuse_linear_bn_eval(features):
    linear = nn.Linear(3, 4).eval()
    bn = nn.BatchNorm1d(features)
    with ef.no_grad():
        bn.running_mean.copy_(ef.randn(features))
        bn.running_var.copy_(ef.rand(features) + 0.5)
        bn.weight.copy_(ef.randn(features))
        bn.bias.copy_(ef.randn(features))
    bn.eval()
    fused = nn.utils.fuse_linear_bn_eval(linear, bn)
    x = ef.randn(2, 1, 3) if features == 1 else ef.randn(5, 3)
    assert np.allclose(npy(fused(x)), npy(bn(linear(x))), atol=1e-5)
    assert fused is not linear and tuple(fused.weight.shape) == (4, 3)


def test_fuse_linear_bn_errors_and_weights():
    with pytest.raises(nn.utils.FusionError, match="eval"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(2, 2), nn.BatchNorm1d(2))
    with pytest.raises(nn.utils.FusionError, match="out_features"):
        nn.utils.fuse_linear_bn_eval(nn.Linear(2, 3).eval(), nn.BatchNorm1d(2).eval())
    w, b = nn.utils.fuse_linear_bn_weights(
        ef.ones(2, 2), ef.ones(2), ef.tensor([1.0, 0.0]), ef.tensor([4.0, 1.0]), 0.0, ef.tensor([2.0, 1.0]), ef.tensor([0.0, 1.0])
    )
    assert isinstance(w, nn.Parameter) and np.allclose(npy(w), [[1.0, 1.0], [1.0, 1.0]]) and np.allclose(npy(b), [0.0, 2.0])


def test_skip_init():
    m = nn.utils.skip_init(nn.Linear, 5, 2, bias=False)
    assert type(m) is nn.Linear and tuple(m.weight.shape) == (2, 5) and m.bias is None
    with pytest.raises(RuntimeError, match="Expected a Module"):
        nn.utils.skip_init(int)

    class NoDevice(nn.Module):
        def __init__(self, n):
            super().__init__()

    with pytest.raises(RuntimeError, match="'device' arg"):
        nn.utils.skip_init(NoDevice, 2)


def test_clip_grad_norm_alias_and_clip_grads_with_norm():
    w = ef.zeros(2, requires_grad=True)
    w.grad = ef.tensor([3.0, 4.0])
    with pytest.warns(FutureWarning, match="clip_grad_norm_"):
        total = nn.utils.clip_grad_norm([w], 1.0)
    assert abs(float(total) - 5.0) < 1e-6 and np.allclose(npy(w.grad), [0.6, 0.8], atol=1e-5)
    a, b = ef.zeros(1, requires_grad=True), ef.zeros(1, requires_grad=True)
    a.grad, b.grad = ef.tensor([3.0]), ef.tensor([4.0])
    total = nn.utils.get_total_norm([a.grad, b.grad])
    nn.utils.clip_grads_with_norm_(iter([a, b]), 2.5, total)
    assert np.allclose([float(a.grad), float(b.grad)], [1.5, 2.0], atol=1e-5)
    nn.utils.clip_grads_with_norm_([a], 100.0, 5.0)  # coefficient clamped to 1: unchanged
    assert np.allclose(float(a.grad), 1.5, atol=1e-5)
