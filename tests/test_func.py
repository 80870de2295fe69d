"""ef.func transforms: grad, grad_and_value, vjp, jvp, jacrev, jacfwd, hessian, vmap.

References are numpy and finite differences. The jvp-vs-vjp identity <J u, v> = <u, J^T v> is
checked through ef.func.jvp / ef.func.vjp for every primitive in ef.PRIMITIVES, using the sample
table of tests/test_primitives.py when it is there (a small table of our own otherwise).
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import einframe as ef
from einframe.autograd import Function


def N(t):
    return t.detach().numpy()


def T(a):
    return ef.tensor(np.asarray(a, dtype=np.float64), dtype=ef.float64)


def numerical_jacobian(f, x: np.ndarray, eps=1e-6) -> np.ndarray:
    out = np.asarray(N(f(T(x))))
    jac = np.zeros(out.shape + x.shape)
    flat = x.reshape(-1)
    for j in range(flat.size):
        xp, xm = flat.copy(), flat.copy()
        xp[j] += eps
        xm[j] -= eps
        d = (N(f(T(xp.reshape(x.shape)))) - N(f(T(xm.reshape(x.shape))))) / (2 * eps)
        jac.reshape(out.shape + (-1,))[..., j] = d
    return jac


# ---------------------------------------------------------------------------------------------
# grad / grad_and_value


def test_grad_basic_and_argnums():
    f = lambda x, y: (x * x * y).sum()  # noqa: E731
    x, y = T([1.0, 2.0]), T([3.0, 4.0])
    np.testing.assert_allclose(N(ef.func.grad(f)(x, y)), [6.0, 16.0])
    gx, gy = ef.func.grad(f, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(N(gx), [6.0, 16.0])
    np.testing.assert_allclose(N(gy), [1.0, 4.0])
    np.testing.assert_allclose(N(ef.func.grad(f, argnums=-1)(x, y)), [1.0, 4.0])
    assert not x.requires_grad  # the caller's tensors are untouched
    assert not ef.func.grad(f)(x, y).requires_grad


def test_grad_and_value_with_aux():
    def f(x):
        y = (x**2).sum()
        return y, {"mean": x.mean()}

    g, (value, aux) = ef.func.grad_and_value(f, has_aux=True)(T([1.0, 3.0]))
    np.testing.assert_allclose(N(g), [2.0, 6.0])
    assert value.item() == 10.0 and aux["mean"].item() == 2.0
    g, aux = ef.func.grad(f, has_aux=True)(T([1.0, 3.0]))
    assert aux["mean"].item() == 2.0


def test_grad_errors():
    with pytest.raises(RuntimeError, match="expected f\\(\\*args\\) to return a scalar Tensor.*shape \\(2,\\)"):
        ef.func.grad(lambda x: x * 2)(T([1.0, 2.0]))
    with pytest.raises(ValueError, match="argnums 3 is out of range"):
        ef.func.grad(lambda x: x.sum(), argnums=3)(T([1.0]))
    with pytest.raises(RuntimeError, match="has_aux=True"):
        ef.func.grad(lambda x: x.sum(), has_aux=True)(T([1.0]))


def test_grad_of_constant_function_is_zero():
    np.testing.assert_allclose(N(ef.func.grad(lambda x: ef.tensor(3.0, dtype=ef.float64))(T([1.0, 2.0]))), [0.0, 0.0])


def test_nested_grad():
    x = T(1.5)
    d3 = ef.func.grad(ef.func.grad(ef.func.grad(lambda t: t**4)))
    assert d3(x).item() == pytest.approx(24 * 1.5)


def test_nested_grad_no_perturbation_confusion():
    # d/dx [ x * d/dy (x * y) ] = d/dx [x * x] = 2x: the inner derivative must treat x as a constant
    def f(x):
        inner = ef.func.grad(lambda y: (x * y).sum())(x)
        return (x * inner).sum()

    np.testing.assert_allclose(N(ef.func.grad(f)(T([3.0]))), [6.0])


def test_grad_composes_with_autograd():
    w = ef.tensor([2.0], dtype=ef.float64, requires_grad=True)
    g = ef.func.grad(lambda x: (w * x * x).sum())(T([3.0]))  # 2 w x
    assert g.requires_grad
    g.sum().backward()
    np.testing.assert_allclose(N(w.grad), [6.0])


def test_grad_inside_no_grad():
    with ef.no_grad():
        g = ef.func.grad(lambda x: (x**3).sum())(T([2.0]))
    np.testing.assert_allclose(N(g), [12.0])


# ---------------------------------------------------------------------------------------------
# vjp / jvp


def test_vjp_tuple_outputs_and_repeated_calls():
    out, fn = ef.func.vjp(lambda x, y: (x * y, x.exp()), T([1.0, 2.0]), T([3.0, 4.0]))
    assert isinstance(out, tuple) and len(out) == 2
    gx, gy = fn((T([1.0, 1.0]), T([0.0, 0.0])))
    np.testing.assert_allclose(N(gx), [3.0, 4.0])
    np.testing.assert_allclose(N(gy), [1.0, 2.0])
    gx, gy = fn((T([0.0, 0.0]), T([1.0, 1.0])))
    np.testing.assert_allclose(N(gx), np.exp([1.0, 2.0]))
    np.testing.assert_allclose(N(gy), [0.0, 0.0])
    with pytest.raises(RuntimeError, match="cotangent 0 has shape \\(3,\\) but output 0 of f has shape \\(2,\\)"):
        fn((T([1.0, 1.0, 1.0]), T([0.0, 0.0])))


def test_jvp_matches_finite_differences():
    f = lambda x: ef.einsum("ij,j->i", x * x, x.sin().sum(0))  # noqa: E731
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    out, t = ef.func.jvp(f, (T(x),), (T(v),))
    fd = (N(f(T(x + 1e-6 * v))) - N(f(T(x - 1e-6 * v)))) / 2e-6
    np.testing.assert_allclose(N(t), fd, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(N(out), N(f(T(x))))


def test_jvp_errors_and_tuple_outputs():
    with pytest.raises(TypeError, match="tuples of Tensors"):
        ef.func.jvp(lambda x: x, T([1.0]), T([1.0]))
    with pytest.raises(RuntimeError, match="tangent 0 has shape \\(2,\\) but primal 0 has shape \\(1,\\)"):
        ef.func.jvp(lambda x: x, (T([1.0]),), (T([1.0, 2.0]),))
    (a, b), (ta, tb) = ef.func.jvp(lambda x: (x * 2, x.sum() * 0 + 1), (T([1.0, 2.0]),), (T([1.0, 1.0]),))
    np.testing.assert_allclose(N(ta), [2.0, 2.0])
    assert tb.item() == 0.0


def test_nested_forward_mode_is_a_clear_error():
    with pytest.raises(RuntimeError, match="cannot run inside another forward-mode transform"):
        ef.func.jacfwd(ef.func.jacfwd(lambda x: (x**3).sum()))(T([1.0, 2.0]))


# ---------------------------------------------------------------------------------------------
# Jacobians and Hessians


def _chain(x):
    a = ef.einsum("ij,jk->ik", x, x.t())
    return ef.einsum("ik,k->i", a.tanh(), x.sum(1))


def test_jacrev_jacfwd_agree_with_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2))
    num = numerical_jacobian(_chain, x)
    jr = ef.func.jacrev(_chain)(T(x))
    jf = ef.func.jacfwd(_chain)(T(x))
    assert jr.shape == (3, 3, 2) and jf.shape == (3, 3, 2)
    np.testing.assert_allclose(N(jr), num, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(N(jf), num, rtol=1e-5, atol=1e-7)


def test_jacobians_with_argnums_and_tuple_outputs():
    f = lambda x, y: (x * y, (x + y).sum())  # noqa: E731
    x, y = T([1.0, 2.0]), T([3.0, 4.0])
    for jac in (ef.func.jacrev, ef.func.jacfwd):
        (dxy_dx, dxy_dy), (ds_dx, ds_dy) = jac(f, argnums=(0, 1))(x, y)
        np.testing.assert_allclose(N(dxy_dx), np.diag([3.0, 4.0]))
        np.testing.assert_allclose(N(dxy_dy), np.diag([1.0, 2.0]))
        np.testing.assert_allclose(N(ds_dx), [1.0, 1.0])
        assert ds_dy.shape == (2,)


def test_hessian_of_einsum_chain_vs_finite_differences():
    rng = np.random.default_rng(2)
    A = T(rng.standard_normal((3, 4)))
    B = T(rng.standard_normal((4, 4)))

    def f(x):  # scalar: sum tanh(A x) . (B x) x^T ...
        y = ef.einsum("ij,j->i", A, x).tanh()
        z = ef.einsum("jk,k->j", B, x)
        return ef.einsum("i,ij,j,j->", y, A, z, x)

    x = rng.standard_normal(4)
    H = ef.func.hessian(f)(T(x))
    grad_f = lambda t: ef.func.grad(f)(t)  # noqa: E731
    num = numerical_jacobian(grad_f, x, eps=1e-5)
    assert H.shape == (4, 4)
    np.testing.assert_allclose(N(H), num, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(N(H), N(H).T, rtol=1e-8, atol=1e-10)  # symmetric
    # reverse-over-reverse gives the same
    np.testing.assert_allclose(N(ef.func.jacrev(ef.func.jacrev(f))(T(x))), N(H), rtol=1e-9, atol=1e-10)


def test_hessian_vector_product_by_forward_over_reverse():
    f = lambda x: (x**3).sum() + ef.einsum("i,i->", x, x).exp()  # noqa: E731
    x, v = T([0.1, 0.2, -0.3]), T([1.0, -2.0, 0.5])
    _, hvp = ef.func.jvp(ef.func.grad(f), (x,), (v,))
    H = ef.func.hessian(f)(x)
    np.testing.assert_allclose(N(hvp), N(H) @ N(v), rtol=1e-10)


@settings(max_examples=15, deadline=None)
@given(
    m=st.integers(1, 3),
    n=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_property_jacrev_equals_jacfwd(m, n, seed):
    rng = np.random.default_rng(seed)
    W = T(rng.standard_normal((m, n)))
    f = lambda x: ef.einsum("mn,n->m", W, x.sigmoid()) * x.sum()  # noqa: E731
    x = T(rng.standard_normal(n))
    np.testing.assert_allclose(N(ef.func.jacrev(f)(x)), N(ef.func.jacfwd(f)(x)), rtol=1e-9, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_property_vjp_is_transpose_of_jvp(n, seed):
    rng = np.random.default_rng(seed)
    M = T(rng.standard_normal((n + 1, n)))
    f = lambda x: ef.einsum("ij,j->i", M, x.tanh()) ** 2  # noqa: E731
    x, u, v = T(rng.standard_normal(n)), T(rng.standard_normal(n)), T(rng.standard_normal(n + 1))
    _, Ju = ef.func.jvp(f, (x,), (u,))
    _, fn = ef.func.vjp(f, x)
    (JTv,) = fn(v)
    assert float(np.vdot(N(Ju), N(v))) == pytest.approx(float(np.vdot(N(u), N(JTv))), rel=1e-9, abs=1e-12)


# ---------------------------------------------------------------------------------------------
# vmap


def test_vmap_matches_loop():
    rng = np.random.default_rng(3)
    xs = T(rng.standard_normal((5, 3)))
    w = T(rng.standard_normal((4, 3)))
    f = lambda x: ef.einsum("oi,i->o", w, x).tanh()  # noqa: E731
    out = ef.func.vmap(f)(xs)
    np.testing.assert_allclose(N(out), np.tanh(N(xs) @ N(w).T))


def test_vmap_in_dims_out_dims_and_tuples():
    rng = np.random.default_rng(4)
    a = T(rng.standard_normal((3, 6)))  # mapped over dim 1
    b = T(rng.standard_normal(3))
    out = ef.func.vmap(lambda x, y: (x * y, (x * y).sum()), in_dims=(1, None), out_dims=(1, 0))(a, b)
    np.testing.assert_allclose(N(out[0]), N(a) * N(b)[:, None])
    np.testing.assert_allclose(N(out[1]), (N(a) * N(b)[:, None]).sum(0))
    with pytest.raises(ValueError, match="same size in the mapped dimension, got sizes \\[2, 3\\]"):
        ef.func.vmap(lambda x, y: x + y)(T(np.ones((2, 1))), T(np.ones((3, 1))))
    with pytest.raises(ValueError, match="at least one argument must be mapped"):
        ef.func.vmap(lambda x: x, in_dims=None)(T([1.0]))


def test_vmap_of_einsum_is_one_contraction_with_a_new_label():
    rng = np.random.default_rng(5)
    xs, w = T(rng.standard_normal((5, 3))), T(rng.standard_normal((4, 3)))
    out = ef.func.vmap(ef.einsum, in_dims=(None, 0, None))("i,oi->o", xs, w)
    assert out.grad_fn is None
    np.testing.assert_allclose(N(out), N(xs) @ N(w).T)
    xr = xs.detach().requires_grad_(True)
    out = ef.func.vmap(ef.einsum, in_dims=(None, 0, None))("i,oi", xr, w)  # implicit output
    assert out.grad_fn.equation == "Zi,oi->Zo"

    class Outer(Function):
        equation = "i,j"

    ys = T(rng.standard_normal((5, 2)))
    o = ef.func.vmap(Outer.apply)(xs, ys)
    np.testing.assert_allclose(N(o), np.einsum("bi,bj->bij", N(xs), N(ys)))


def test_vmap_is_differentiable_and_composes_with_grad():
    rng = np.random.default_rng(6)
    xs = T(rng.standard_normal((4, 3)))
    per_example_grads = ef.func.vmap(ef.func.grad(lambda x: (x**3).sum()))(xs)
    np.testing.assert_allclose(N(per_example_grads), 3 * N(xs) ** 2)
    w = ef.tensor(rng.standard_normal(3), dtype=ef.float64, requires_grad=True)
    ef.func.vmap(lambda x: (x * w).sum())(xs).sum().backward()
    np.testing.assert_allclose(N(w.grad), N(xs).sum(0))


# ---------------------------------------------------------------------------------------------
# every primitive: <J u, v> == <u, J^T v> through ef.func.jvp / ef.func.vjp


def _load_primitive_table():
    path = pathlib.Path(__file__).with_name("test_primitives.py")
    if not path.exists():
        return None
    try:
        spec = importlib.util.spec_from_file_location("_einframe_primitive_samples", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses look their module up
        spec.loader.exec_module(mod)
        return mod
    except Exception:  # the other table is broken or mid-edit: fall back to ours
        sys.modules.pop("_einframe_primitive_samples", None)
        return None


_TABLE = _load_primitive_table()


def _own_samples():
    def s(shapes, fn, positive=False):
        return {"shapes": shapes, "fn": fn, "positive": positive}

    return {
        "Contract": [
            s([(2, 3), (3, 4)], lambda a, b: ef.einsum("ij,jk->ik", a, b)),
            s([(3, 3)], lambda a: ef.einsum("ii->i", a)),
        ],
        "Neg": [s([(2, 3)], lambda a: -a)],
        "Exp": [s([(2, 3)], lambda a: a.exp())],
        "Log": [s([(2, 3)], lambda a: a.log(), True)],
        "Sqrt": [s([(2, 3)], lambda a: a.sqrt(), True)],
        "Sin": [s([(2, 3)], lambda a: a.sin())],
        "Cos": [s([(2, 3)], lambda a: a.cos())],
        "Tanh": [s([(2, 3)], lambda a: a.tanh())],
        "Sigmoid": [s([(2, 3)], lambda a: a.sigmoid())],
        "Add": [s([(2, 3), (3,)], lambda a, b: a + b)],
        "Sub": [s([(2, 3), (2, 3)], lambda a, b: a - b)],
        "Mul": [s([(2, 3), (2, 1)], lambda a, b: a * b)],
        "Div": [s([(2, 3), (2, 3)], lambda a, b: a / b, True)],
        "Pow": [s([(2, 3), (2, 3)], lambda a, b: a**b, True)],
        "Reshape": [s([(2, 3)], lambda a: a.reshape(3, 2))],
        "Expand": [s([(1, 3)], lambda a: a.expand(4, 3))],
        "Flip": [s([(2, 3)], lambda a: a.flip(1))],
        "Index": [s([(4, 3)], lambda a: a[1:3])],
        "Cat": [s([(2, 3), (1, 3)], lambda a, b: ef.cat([a, b]))],
    }


def _cases():
    cases = []
    if _TABLE is not None:
        for name, samples in _TABLE.SAMPLES.items():
            for i, smp in enumerate(samples):
                if smp.grad:
                    cases.append(pytest.param(name, smp, id=f"{name}-{smp.id or i}"))
        return cases
    for name, samples in _own_samples().items():
        for i, smp in enumerate(samples):
            cases.append(pytest.param(name, smp, id=f"{name}-{i}"))
    return cases


def _inputs(sample, seed):
    if _TABLE is not None:
        return _TABLE.make_inputs(sample, seed=seed, requires_grad=False), sample.fn
    rng = np.random.default_rng(seed)
    xs = []
    for shape in sample["shapes"]:
        a = rng.uniform(0.5, 2.0, shape) if sample["positive"] else rng.standard_normal(shape)
        xs.append(T(a))
    return tuple(xs), sample["fn"]


@pytest.mark.parametrize("name,sample", _cases())
def test_func_jvp_vs_vjp_for_every_primitive(name, sample):
    xs, fn = _inputs(sample, seed=7)
    rng = np.random.default_rng(8)
    us = tuple(T(rng.standard_normal(tuple(x.shape))) for x in xs)
    out, Ju = ef.func.jvp(fn, xs, us)
    v = T(rng.standard_normal(tuple(out.shape)))
    _, vjp_fn = ef.func.vjp(fn, *xs)
    JTv = vjp_fn(v)
    lhs = float(np.vdot(N(Ju), N(v)))
    rhs = sum(float(np.vdot(N(u), N(g))) for u, g in zip(us, JTv))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9), name


def test_every_primitive_is_covered():
    covered = {c.values[0] for c in _cases()}
    if _TABLE is None:
        pytest.skip("tests/test_primitives.py is not there; our own table covers the core primitives only")
    no_grad = {name for name, samples in _TABLE.SAMPLES.items() if samples and not any(s.grad for s in samples)}
    missing = sorted(set(ef.PRIMITIVES) - covered - no_grad)
    assert not missing, f"primitives without a jvp-vs-vjp case: {missing}"
