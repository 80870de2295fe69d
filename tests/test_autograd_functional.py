"""ef.autograd.functional (PyTorch's torch.autograd.functional) and ef.autograd.Variable.

Checked against analytic derivatives and numpy central finite differences.
"""

import numpy as np
import pytest

import einframe as ef
from einframe.autograd import Variable
from einframe.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
S = RNG.standard_normal((4, 4))


def t(a, **kw):
    return ef.tensor(np.asarray(a, dtype=np.float64), **kw)


def fd_jacobian(f, xs, out_index=0, eps=1e-6):
    """Central differences: list over inputs of arrays of shape out.shape + x.shape."""
    xs = [np.asarray(x, dtype=np.float64) for x in xs]

    def call(vals):
        out = f(*[t(v) for v in vals])
        out = out if isinstance(out, tuple) else (out,)
        return out[out_index].numpy()

    base = call(xs)
    jacs = []
    for k, x in enumerate(xs):
        J = np.zeros(base.shape + x.shape)
        for idx in np.ndindex(x.shape):
            plus = [v.copy() for v in xs]
            minus = [v.copy() for v in xs]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            J[(...,) + idx] = (call(plus) - call(minus)) / (2 * eps)
        jacs.append(J)
    return jacs


def f_single(x):  # R^4 -> R^3
    return ef.einsum("ij,j->i", t(A), x.sin() * x)


def f_two(x, y):  # (R^4, R^3) -> (R^3, R^4)
    return ef.einsum("ij,j->i", t(A), x).tanh() * y, x * x.sum()


def scalar(x):
    return (ef.einsum("i,ij,j->", x, t(S), x) + (x**3).sum()).squeeze()


def scalar2(x, y):
    return (x**2 * y.exp()).sum() + (x * y).sum() ** 2


X = RNG.standard_normal(4)
Y = RNG.standard_normal(3)
Y4 = RNG.standard_normal(4)


# ------------------------------------------------------------------------------------------------
# jacobian


def test_jacobian_single_in_single_out():
    J = jacobian(f_single, t(X))
    assert isinstance(J, ef.Tensor) and tuple(J.shape) == (3, 4)
    np.testing.assert_allclose(J.numpy(), fd_jacobian(f_single, [X])[0], atol=1e-7)
    analytic = A * (np.cos(X) * X + np.sin(X))
    np.testing.assert_allclose(J.numpy(), analytic, atol=1e-12)
    assert not J.requires_grad


def test_jacobian_tuple_in_tuple_out():
    J = jacobian(f_two, (t(X), t(Y)))
    assert isinstance(J, tuple) and len(J) == 2 and all(isinstance(r, tuple) and len(r) == 2 for r in J)
    shapes = [[tuple(j.shape) for j in row] for row in J]
    assert shapes == [[(3, 4), (3, 3)], [(4, 4), (4, 3)]]
    for k in range(2):
        fd = fd_jacobian(f_two, [X, Y], out_index=k)
        for j in range(2):
            np.testing.assert_allclose(J[k][j].numpy(), fd[j], atol=1e-7)
    np.testing.assert_array_equal(J[1][1].numpy(), np.zeros((4, 3)))  # second output ignores y


def test_jacobian_mixed_tuple_conventions():
    J = jacobian(lambda x: (x * 2, x.sum()), t(X))  # tuple out, single in -> tuple of tensors
    assert isinstance(J, tuple) and [tuple(j.shape) for j in J] == [(4, 4), (4,)]
    np.testing.assert_allclose(J[0].numpy(), 2 * np.eye(4))
    J = jacobian(lambda x, y: (x * y).sum(), (t(X), t(Y4)))  # single out, tuple in -> tuple of tensors
    assert isinstance(J, tuple) and len(J) == 2
    np.testing.assert_allclose(J[0].numpy(), Y4)
    np.testing.assert_allclose(J[1].numpy(), X)
    J = jacobian(lambda x: (x * x).sum(), (t(X),))  # 1-tuple in -> 1-tuple out
    assert isinstance(J, tuple) and len(J) == 1
    np.testing.assert_allclose(J[0].numpy(), 2 * X)


def test_jacobian_scalar_and_matrix_inputs():
    J = jacobian(lambda x: x**3, t(2.0))
    assert tuple(J.shape) == () and J.item() == pytest.approx(12.0)
    M = RNG.standard_normal((2, 3))
    J = jacobian(lambda m: m.exp().sum(dim=1), t(M))
    assert tuple(J.shape) == (2, 2, 3)
    np.testing.assert_allclose(J.numpy(), fd_jacobian(lambda m: m.exp().sum(dim=1), [M])[0], atol=1e-7)


def test_jacobian_forward_mode_matches_reverse():
    rev = jacobian(f_two, (t(X), t(Y)))
    fwd = jacobian(f_two, (t(X), t(Y)), vectorize=True, strategy="forward-mode")
    for k in range(2):
        for j in range(2):
            np.testing.assert_allclose(fwd[k][j].numpy(), rev[k][j].numpy(), atol=1e-12)
    single = jacobian(f_single, t(X), vectorize=True, strategy="forward-mode")
    assert isinstance(single, ef.Tensor)
    np.testing.assert_allclose(single.numpy(), jacobian(f_single, t(X)).numpy(), atol=1e-12)
    np.testing.assert_allclose(jacobian(f_single, t(X), vectorize=True).numpy(), single.numpy(), atol=1e-12)


def test_jacobian_strategy_errors():
    with pytest.raises(ValueError, match="forward-mode"):
        jacobian(f_single, t(X), strategy="sideways")
    with pytest.raises(NotImplementedError, match="vectorize=True"):
        jacobian(f_single, t(X), strategy="forward-mode")
    with pytest.raises(NotImplementedError, match="create_graph"):
        jacobian(f_single, t(X), vectorize=True, strategy="forward-mode", create_graph=True)
    with pytest.raises(RuntimeError, match="not supported together"):
        jacobian(f_single, t(X), vectorize=True, strict=True)


def test_jacobian_independent_input_zero_or_strict():
    J = jacobian(lambda x, y: x * 2, (t(X), t(Y)))
    np.testing.assert_array_equal(J[1].numpy(), np.zeros((4, 3)))
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
        jacobian(lambda x, y: x * 2, (t(X), t(Y)), strict=True)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        jacobian(lambda x: t(Y), t(X), strict=True)
    np.testing.assert_array_equal(jacobian(lambda x: t(Y), t(X)).numpy(), np.zeros((3, 4)))


def test_jacobian_create_graph_is_differentiable():
    x = t(X, requires_grad=True)
    J = jacobian(lambda x: x**3, x, create_graph=True)  # diag(3 x^2)
    assert J.requires_grad
    (g,) = ef.autograd.grad(J.sum(), x)
    np.testing.assert_allclose(g.numpy(), 6 * X)


def test_results_detached_and_caller_graph_untouched():
    x = t(X, requires_grad=True)
    J = jacobian(lambda x: x**3, x)
    out, g = vjp(lambda x: (x**2).sum(), x)
    assert not J.requires_grad and not g.requires_grad and not out.requires_grad
    assert x.grad is None


def test_type_errors():
    with pytest.raises(TypeError, match="inputs given to jacobian must be either a Tensor or a tuple of Tensors"):
        jacobian(f_single, X)
    with pytest.raises(TypeError, match="value at index 1"):
        vjp(lambda a, b: a, (t(X), 3.0), t(X))
    with pytest.raises(TypeError, match="outputs of the user-provided function"):
        vjp(lambda a: [a], t(X), t(X))


# ------------------------------------------------------------------------------------------------
# vjp / jvp


def test_vjp_values_and_conventions():
    v = RNG.standard_normal(3)
    out, g = vjp(f_single, t(X), t(v))
    np.testing.assert_allclose(out.numpy(), f_single(t(X)).numpy())
    np.testing.assert_allclose(g.numpy(), v @ fd_jacobian(f_single, [X])[0], atol=1e-7)
    v1, v2 = RNG.standard_normal(3), RNG.standard_normal(4)
    outs, gs = vjp(f_two, (t(X), t(Y)), (t(v1), t(v2)))
    assert isinstance(outs, tuple) and isinstance(gs, tuple) and len(gs) == 2
    J0, J1 = fd_jacobian(f_two, [X, Y], 0), fd_jacobian(f_two, [X, Y], 1)
    np.testing.assert_allclose(gs[0].numpy(), v1 @ J0[0] + v2 @ J1[0], atol=1e-6)
    np.testing.assert_allclose(gs[1].numpy(), v1 @ J0[1] + v2 @ J1[1], atol=1e-6)


def test_vjp_v_none_only_for_scalar_output():
    out, g = vjp(scalar, t(X))
    np.testing.assert_allclose(g.numpy(), (S + S.T) @ X + 3 * X**2, atol=1e-12)
    with pytest.raises(RuntimeError, match="v can only be None"):
        vjp(f_single, t(X))


def test_v_validation_errors():
    with pytest.raises(RuntimeError, match="v has invalid size"):
        vjp(f_single, t(X), t(np.ones(4)))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length: should be 2 but got 1"):
        vjp(f_two, (t(X), t(Y)), (t(np.ones(3)),))
    with pytest.raises(RuntimeError, match="Entry 1 in v has invalid size"):
        jvp(f_two, (t(X), t(Y)), (t(np.ones(4)), t(np.ones(4))))
    with pytest.raises(RuntimeError, match="single Tensor"):
        jvp(f_single, t(X), (t(X), t(X)))


def test_jvp_values_and_conventions():
    v = RNG.standard_normal(4)
    out, tan = jvp(f_single, t(X), t(v))
    assert isinstance(tan, ef.Tensor)
    np.testing.assert_allclose(tan.numpy(), fd_jacobian(f_single, [X])[0] @ v, atol=1e-7)
    vx, vy = RNG.standard_normal(4), RNG.standard_normal(3)
    outs, tans = jvp(f_two, (t(X), t(Y)), (t(vx), t(vy)))
    assert isinstance(tans, tuple) and [tuple(a.shape) for a in tans] == [(3,), (4,)]
    for k in range(2):
        Jx, Jy = fd_jacobian(f_two, [X, Y], k)
        np.testing.assert_allclose(tans[k].numpy(), Jx @ vx + Jy @ vy, atol=1e-6)
    # v=None for a one-element input
    out, tan = jvp(lambda x: x.exp() * 2, t(0.5))
    assert tan.item() == pytest.approx(2 * np.exp(0.5))
    with pytest.raises(RuntimeError, match="v can only be None"):
        jvp(f_single, t(X))


def test_jvp_linear_function_and_strict():
    v = RNG.standard_normal(4)
    _, tan = jvp(lambda x: x * 3, t(X), t(v), strict=True)
    np.testing.assert_allclose(tan.numpy(), 3 * v)
    _, tans = jvp(lambda x, y: (x * 2, y.sum()), (t(X), t(Y)), (t(v), t(np.ones(3))))
    np.testing.assert_allclose(tans[0].numpy(), 2 * v)
    assert tans[1].item() == pytest.approx(3.0)
    with pytest.raises(RuntimeError, match="does not require gradients"):
        jvp(lambda x: t(Y), t(X), t(v), strict=True)


def test_vjp_strict_independent_input():
    out, gs = vjp(lambda x, y: (x * 2).sum(), (t(X), t(Y)))
    np.testing.assert_array_equal(gs[1].numpy(), np.zeros(3))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        vjp(lambda x, y: (x * 2).sum(), (t(X), t(Y)), strict=True)


def test_vjp_create_graph():
    x = t(X, requires_grad=True)
    _, g = vjp(lambda x: (x**3).sum(), x, create_graph=True)  # 3 x^2
    assert g.requires_grad
    (gg,) = ef.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), 6 * X)


# ------------------------------------------------------------------------------------------------
# hessian / vhp / hvp


def test_hessian_single():
    H = hessian(scalar, t(X))
    assert tuple(H.shape) == (4, 4)
    np.testing.assert_allclose(H.numpy(), S + S.T + np.diag(6 * X), atol=1e-12)
    Hf = hessian(scalar, t(X), vectorize=True, outer_jacobian_strategy="forward-mode")
    np.testing.assert_allclose(Hf.numpy(), H.numpy(), atol=1e-12)


def hessian2_analytic(x, y):
    s = (x * y).sum()
    hxx = np.diag(2 * np.exp(y)) + 2 * np.outer(y, y)
    hxy = np.diag(2 * x * np.exp(y)) + 2 * np.outer(y, x) + 2 * s * np.eye(len(x))
    hyy = np.diag(x**2 * np.exp(y)) + 2 * np.outer(x, x)
    return hxx, hxy, hyy


def test_hessian_tuple_inputs():
    H = hessian(scalar2, (t(X), t(Y4)))
    assert isinstance(H, tuple) and all(isinstance(r, tuple) and len(r) == 2 for r in H)
    hxx, hxy, hyy = hessian2_analytic(X, Y4)
    np.testing.assert_allclose(H[0][0].numpy(), hxx, atol=1e-10)
    np.testing.assert_allclose(H[0][1].numpy(), hxy, atol=1e-10)
    np.testing.assert_allclose(H[1][0].numpy(), hxy.T, atol=1e-10)
    np.testing.assert_allclose(H[1][1].numpy(), hyy, atol=1e-10)


def test_hessian_errors_and_strict():
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        hessian(lambda x: (x.sum(), x.sum()), t(X))
    with pytest.raises(RuntimeError, match="should contain a single element"):
        hessian(lambda x: x * 2, t(X))
    H = hessian(lambda x: (x * 2).sum(), t(X))  # linear: zero Hessian
    np.testing.assert_array_equal(H.numpy(), np.zeros((4, 4)))
    with pytest.raises(RuntimeError, match="jacobian of the user-provided function with respect to input 0 is independent"):
        hessian(lambda x: (x * 2).sum(), t(X), strict=True)
    with pytest.raises(ValueError, match="forward-mode"):
        hessian(scalar, t(X), outer_jacobian_strategy="nope")


def test_vhp_hvp_match_hessian():
    v = RNG.standard_normal(4)
    H = S + S.T + np.diag(6 * X)
    out, r = vhp(scalar, t(X), t(v))
    np.testing.assert_allclose(out.item(), scalar(t(X)).item())
    np.testing.assert_allclose(r.numpy(), v @ H, atol=1e-12)
    out, r = hvp(scalar, t(X), t(v))
    np.testing.assert_allclose(r.numpy(), H @ v, atol=1e-12)


def test_vhp_hvp_tuple_inputs():
    vx, vy = RNG.standard_normal(4), RNG.standard_normal(4)
    hxx, hxy, hyy = hessian2_analytic(X, Y4)
    H = np.block([[hxx, hxy], [hxy.T, hyy]])
    want = H @ np.concatenate([vx, vy])
    for fn in (vhp, hvp):
        out, r = fn(scalar2, (t(X), t(Y4)), (t(vx), t(vy)))
        assert isinstance(r, tuple) and len(r) == 2 and isinstance(out, ef.Tensor)
        np.testing.assert_allclose(np.concatenate([r[0].numpy(), r[1].numpy()]), want, atol=1e-10)


def test_vhp_hvp_errors_and_zero_fill():
    with pytest.raises(RuntimeError, match="should contain a single element"):
        vhp(lambda x: x * x, t(X), t(X))
    with pytest.raises(RuntimeError, match="The function given to hvp should return a single Tensor"):
        hvp(lambda x: (x.sum(),), t(X), t(X))
    with pytest.raises(RuntimeError, match="v can only be None"):
        hvp(scalar, t(X))
    _, r = vhp(lambda x: (x**3).sum(), t(2.0))  # v=None for one element input
    assert r.item() == pytest.approx(12.0)
    _, r = vhp(lambda x: (x * 2).sum(), t(X), t(X))  # linear: zero
    np.testing.assert_array_equal(r.numpy(), np.zeros(4))
    _, r = hvp(lambda x: (x * 2).sum(), t(X), t(X))
    np.testing.assert_array_equal(r.numpy(), np.zeros(4))
    with pytest.raises(RuntimeError, match="jacobian of the user-provided function with respect to input 0"):
        vhp(lambda x: (x * 2).sum(), t(X), t(X), strict=True)


def test_hvp_create_graph():
    x = t(X, requires_grad=True)
    v = t(np.ones(4))
    _, r = hvp(lambda x: (x**4).sum(), x, v, create_graph=True)  # 12 x^2 v
    assert r.requires_grad
    np.testing.assert_allclose(r.detach().numpy(), 12 * X**2, atol=1e-12)
    (g,) = ef.autograd.grad(r.sum(), x)
    np.testing.assert_allclose(g.numpy(), 24 * X, atol=1e-12)


def test_module_reachable_from_autograd():
    assert ef.autograd.functional.jacobian is jacobian
    import einframe.autograd.functional as F

    assert set(F.__all__) == {"vjp", "jvp", "jacobian", "hessian", "vhp", "hvp"}


# ------------------------------------------------------------------------------------------------
# Variable


def test_variable_alias():
    base = ef.tensor([1.0, 2.0])
    v = Variable(base)
    assert isinstance(v, ef.Tensor) and not v.requires_grad and v.is_leaf
    w = Variable(base, requires_grad=True)
    assert w.requires_grad and w.is_leaf and not base.requires_grad
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])
    nonleaf = ef.tensor([1.0], requires_grad=True) * 2
    v = Variable(nonleaf)
    assert v.is_leaf and v.grad_fn is None and not v.requires_grad
    assert isinstance(base, Variable) and issubclass(ef.Tensor, Variable) and not isinstance(3.0, Variable)
    assert tuple(Variable().shape) == (0,)
    with pytest.raises(TypeError, match="Variable data has to be a tensor"):
        Variable([1.0])
    assert ef.autograd.Variable is Variable
