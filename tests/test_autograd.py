"""Reverse-mode autograd: backward options, accumulation, grad modes, autograd.grad, higher order
(grad of grad, Hessian-vector products against finite differences), and every documented error."""

from __future__ import annotations

import numpy as np
import pytest

import einframe as ef
from einframe.autograd.graph import saved_tensors_hooks


def A(t):
    return np.asarray(t.detach().numpy())


def f64(a, rg=True):
    return ef.tensor(np.asarray(a, dtype=np.float64), dtype=ef.float64, requires_grad=rg)


# --------------------------------------------------------------------------------------------------
# backward and accumulation


def test_backward_scalar_and_values():
    x = f64([1.0, 2.0, 3.0])
    y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(A(x.grad), [2.0, 4.0, 6.0])
    assert x.grad.dtype == ef.float64 and not x.grad.requires_grad


def test_backward_with_gradient_argument():
    x = f64([1.0, 2.0, 3.0])
    y = x * 3
    y.backward(gradient=ef.tensor([1.0, 0.5, -1.0], dtype=ef.float64))
    np.testing.assert_allclose(A(x.grad), [3.0, 1.5, -3.0])
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).backward(ef.ones(2, dtype=ef.float64))


def test_non_scalar_backward_without_gradient_errors():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (x * 2).backward()
    # a single-element non-0-d output is fine (as PyTorch)
    (x[:1] * 2).backward()
    np.testing.assert_allclose(A(x.grad), [2.0, 0.0])


def test_accumulation_into_grad():
    x = f64([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(A(x.grad), [3.0 + 2.0, 3.0 + 4.0])
    g = x.grad
    (x * 1).sum().backward()
    np.testing.assert_allclose(A(x.grad), [6.0, 8.0])
    assert g is x.grad or np.allclose(A(g), [6.0, 8.0]) or np.allclose(A(g), [5.0, 7.0])
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(A(x.grad), [1.0, 1.0])


def test_retain_graph_allows_second_backward():
    x = f64([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = A(x.grad).copy()
    y.backward()
    np.testing.assert_allclose(A(x.grad), 2 * first)
    np.testing.assert_allclose(first, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))


def test_backward_twice_without_retain_graph_errors():
    x = f64([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
    z = (x.sin() * 2).sum()
    ef.autograd.grad(z, x)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        ef.autograd.grad(z, x)


def test_leaf_grads_not_aliased():
    a = f64([1.0, 2.0])
    b = f64([3.0, 4.0])
    (a + b).sum().backward()
    np.testing.assert_array_equal(A(a.grad), [1.0, 1.0])
    np.testing.assert_array_equal(A(b.grad), [1.0, 1.0])
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.numpy()[0] = 100.0  # writing one gradient must not touch the other
    assert b.grad[0].item() == 1.0
    # the same with an explicit gradient: the user's tensor is not aliased either
    c, d = f64([0.0, 0.0]), f64([0.0, 0.0])
    g = ef.tensor([5.0, 6.0], dtype=ef.float64)
    (c + d).backward(g)
    assert not np.shares_memory(c.grad.numpy(), g.numpy()) and not np.shares_memory(d.grad.numpy(), g.numpy())
    c.grad.numpy()[:] = 0
    np.testing.assert_array_equal(A(g), [5.0, 6.0])
    np.testing.assert_array_equal(A(d.grad), [5.0, 6.0])


def test_leaf_grad_not_a_view_of_another_tensor():
    x = f64(np.ones((2, 3)))
    y = x.permute(1, 0)  # the gradient arriving at x is a transpose view
    y.backward(ef.tensor(np.arange(6.0).reshape(3, 2), dtype=ef.float64))
    np.testing.assert_array_equal(A(x.grad), np.arange(6.0).reshape(3, 2).T)
    x.grad.add_(1)  # accumulating in place must work on what we got
    (x * 1).sum().backward()
    np.testing.assert_array_equal(A(x.grad), np.arange(6.0).reshape(3, 2).T + 2)


# --------------------------------------------------------------------------------------------------
# leaves, requires_grad, grad_fn


def test_requires_grad_and_is_leaf():
    x = ef.ones(2)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x
    assert x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    x.requires_grad_(False)
    assert not (x * 2).requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    x.requires_grad = True
    assert x.requires_grad
    with pytest.raises(RuntimeError):
        ef.tensor([1, 2]).requires_grad_()
    z = ef.ones(2) * 2  # no input requires grad: nothing recorded
    assert z.grad_fn is None and z.is_leaf and not z.requires_grad


def test_grad_fn_next_functions():
    a = f64([1.0, 2.0])
    b = f64([3.0, 4.0])
    c = ef.ones(2, dtype=ef.float64)
    y = a * b + c
    fn = y.grad_fn
    assert fn.name() == "AddBackward"
    (mul_fn, _), (none_fn, _) = fn.next_functions
    assert none_fn is None  # c does not require grad
    assert mul_fn.name() == "MulBackward"
    names = [n.name() for n, _ in mul_fn.next_functions]
    assert names == ["AccumulateGrad", "AccumulateGrad"]
    assert mul_fn.next_functions[0][0].variable is a and mul_fn.next_functions[1][0].variable is b
    assert "MulBackward" in repr(mul_fn)
    # the same leaf used twice reaches the same accumulator
    z = a * a
    (n0, _), (n1, _) = z.grad_fn.next_functions
    assert n0 is n1


def test_detach_and_data_break_the_graph():
    x = f64([1.0, 2.0])
    y = (x * 2).detach()
    assert not y.requires_grad and y.grad_fn is None
    z = (x * 2).data
    assert not z.requires_grad
    w = x.detach() * x
    w.sum().backward()
    np.testing.assert_array_equal(A(x.grad), [1.0, 2.0])


def test_retain_grad_on_non_leaf():
    x = f64([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(A(y.grad), 2 * np.array([3.0, 6.0]))
    np.testing.assert_allclose(A(x.grad), 2 * np.array([3.0, 6.0]) * 3)


def test_tensor_hook_modifies_gradient():
    x = f64([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(A(g).copy()) or g * 10)
    (x * 2).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 2.0])
    np.testing.assert_array_equal(A(x.grad), [20.0, 20.0])
    h.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(A(x.grad), [2.0, 2.0])


# --------------------------------------------------------------------------------------------------
# grad modes


def test_no_grad_context_and_decorator():
    x = f64([1.0])
    with ef.no_grad():
        assert not ef.is_grad_enabled()
        y = x * 2
    assert ef.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @ef.no_grad()
    def f(t):
        assert not ef.is_grad_enabled()
        return t * 2

    assert not f(x).requires_grad
    assert ef.is_grad_enabled()
    assert f.__name__ == "f"


def test_enable_grad_inside_no_grad():
    x = f64([1.0])
    with ef.no_grad():
        with ef.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad

    @ef.enable_grad()
    def g(t):
        return t * 2

    with ef.no_grad():
        assert g(x).requires_grad
        assert not ef.is_grad_enabled()


def test_set_grad_enabled_function_context_decorator():
    x = f64([1.0])
    with ef.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ef.is_grad_enabled()
    with ef.set_grad_enabled(True):
        assert (x * 2).requires_grad
    ef.set_grad_enabled(False)
    try:
        assert not ef.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        ef.set_grad_enabled(True)
    assert ef.is_grad_enabled()

    @ef.set_grad_enabled(False)
    def h(t):
        return t * 2

    assert ef.is_grad_enabled()  # building the decorator does not switch the mode
    assert not h(x).requires_grad
    assert ef.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with ef.no_grad():
            raise ValueError
    assert ef.is_grad_enabled()


def test_inplace_on_leaf_allowed_under_no_grad():
    w = f64([1.0, 2.0])
    with ef.no_grad():
        w -= 0.5 * ef.ones(2, dtype=ef.float64)
        w.mul_(2)
    assert w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(A(w), [1.0, 3.0])


def test_inplace_on_leaf_requiring_grad_errors():
    w = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="leaf"):
        w += 1
    with pytest.raises(RuntimeError, match="leaf"):
        w.mul_(2)
    with pytest.raises(RuntimeError, match="leaf"):
        w[0] = 5.0
    with pytest.raises(RuntimeError, match="leaf"):
        w.zero_()
    np.testing.assert_array_equal(A(w), [1.0, 2.0])  # nothing was changed


def test_inplace_on_view_of_leaf_requiring_grad_errors():
    w = f64([1.0, 2.0, 3.0])
    for make_view in (lambda t: t[0:2], lambda t: t.reshape(3, 1), lambda t: t.flip(0)):
        v = make_view(w)
        with pytest.raises(RuntimeError, match="view of a leaf"):
            v.add_(1)
    np.testing.assert_array_equal(A(w), [1.0, 2.0, 3.0])
    with ef.no_grad():  # allowed, and written through to the leaf
        w[0:2].add_(1)
    np.testing.assert_array_equal(A(w), [2.0, 3.0, 3.0])


# --------------------------------------------------------------------------------------------------
# version counter: in-place change of a saved tensor


def test_inplace_change_of_saved_tensor_detected_at_backward():
    x = f64([1.0, 2.0])
    y = x * 2
    z = y * y  # saves y
    y.add_(1)  # y is now at a newer version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_inplace_change_through_a_view_detected():
    x = f64([1.0, 2.0, 3.0])
    y = x.exp()  # saves its output y
    v = y[1:]
    with ef.no_grad():
        v.mul_(2)
    with pytest.raises(RuntimeError, match="version"):
        y.sum().backward()


def test_inplace_on_unsaved_tensor_is_fine():
    x = f64([1.0, 2.0])
    y = x * 2
    z = y + 1  # Add saves nothing
    y.add_(5)
    z.sum().backward()
    np.testing.assert_array_equal(A(x.grad), [2.0, 2.0])
    assert x._version == 0


# --------------------------------------------------------------------------------------------------
# autograd.grad


def test_autograd_grad_basic_and_does_not_touch_grad():
    x = f64([1.0, 2.0])
    y = f64([3.0, 4.0])
    z = (x * y).sum()
    gx, gy = ef.autograd.grad(z, (x, y))
    np.testing.assert_array_equal(A(gx), [3.0, 4.0])
    np.testing.assert_array_equal(A(gy), [1.0, 2.0])
    assert x.grad is None and y.grad is None


def test_autograd_grad_outputs_and_multiple_outputs():
    x = f64([1.0, 2.0])
    y1, y2 = x * 2, x * x
    (g,) = ef.autograd.grad([y1, y2], [x], grad_outputs=[ef.ones(2, dtype=ef.float64), f64([1.0, -1.0], False)])
    np.testing.assert_array_equal(A(g), [2.0 + 2.0, 2.0 - 4.0])


def test_autograd_grad_allow_unused():
    x = f64([1.0])
    unused = f64([2.0])
    y = (x * 3).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        ef.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = ef.autograd.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_array_equal(A(gx), [3.0])
    assert gu is None


def test_autograd_grad_of_intermediate():
    x = f64([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = ef.autograd.grad(y, h)
    np.testing.assert_array_equal(A(gh), [6.0, 12.0])


def test_autograd_grad_errors():
    x = f64([1.0])
    c = ef.ones(1, dtype=ef.float64)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ef.autograd.grad((c * 2).sum(), x)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ef.autograd.grad((x * 2).sum(), c)


def test_create_graph_grad_of_grad():
    x = f64([0.5, -1.0, 2.0])
    y = (x**3).sum()
    (g,) = ef.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(A(g), 3 * A(x) ** 2)
    (h,) = ef.autograd.grad(g.sum(), x, create_graph=True)
    np.testing.assert_allclose(A(h), 6 * A(x))
    (t,) = ef.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(A(t), [6.0, 6.0, 6.0])


def test_backward_create_graph():
    x = f64([1.0, 2.0])
    y = (x.sin() * x).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    np.testing.assert_allclose(A(g), np.cos([1.0, 2.0]) * [1.0, 2.0] + np.sin([1.0, 2.0]))
    x.grad = None
    g.sum().backward()
    xs = np.array([1.0, 2.0])
    np.testing.assert_allclose(A(x.grad), -np.sin(xs) * xs + 2 * np.cos(xs))


def _loss(x_np, W_np, V_np):
    h = np.einsum("bi,io->bo", x_np, W_np)
    out = np.einsum("bo,op->bp", np.tanh(h), V_np)
    return (out * out).sum()


def test_hessian_vector_product_of_einsum_chain_vs_finite_differences():
    rng = np.random.default_rng(0)
    xn, Wn, Vn = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal((5, 2))
    vW, vV = rng.standard_normal(Wn.shape), rng.standard_normal(Vn.shape)
    x = f64(xn, False)
    W, V = f64(Wn), f64(Vn)

    def loss(W, V):
        h = ef.einsum("bi,io->bo", x, W)
        out = ef.einsum("bo,op->bp", h.tanh(), V)
        return ef.einsum("bp,bp->", out, out)

    L = loss(W, V)
    assert L.item() == pytest.approx(_loss(xn, Wn, Vn))
    gW, gV = ef.autograd.grad(L, (W, V), create_graph=True)
    dot = (gW * f64(vW, False)).sum() + (gV * f64(vV, False)).sum()
    hW, hV = ef.autograd.grad(dot, (W, V))

    # finite differences of the analytic gradient along (vW, vV)
    def grads_at(Wv, Vv):
        Wt, Vt = f64(Wv), f64(Vv)
        gw, gv = ef.autograd.grad(loss(Wt, Vt), (Wt, Vt))
        return A(gw), A(gv)

    eps = 1e-5
    pW, pV = grads_at(Wn + eps * vW, Vn + eps * vV)
    mW, mV = grads_at(Wn - eps * vW, Vn - eps * vV)
    np.testing.assert_allclose(A(hW), (pW - mW) / (2 * eps), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(A(hV), (pV - mV) / (2 * eps), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 2)]),
        ("ii,ij->j", [(3, 3), (3, 2)]),
        ("...ij,...jk->...ik", [(2, 1, 2, 3), (2, 3, 2)]),
        ("ijk,k->i", [(2, 3, 2), (2,)]),
        ("ij,ij->ij", [(3, 1), (3, 4)]),
        ("iij->ij", [(2, 2, 3)]),
        ("bhqd,bhkd->bhqk", [(1, 2, 3, 2), (1, 2, 2, 2)]),
    ],
)
def test_hvp_of_einsum_vs_finite_differences(eq, shapes):
    """Reference notes §3: for L = <f, f> and h = sum_k <dL/dx_k, v_k>, grad h is the HVP (mixed partials too)."""
    rng = np.random.default_rng(1)
    base = [rng.standard_normal(s) for s in shapes]
    vs = [rng.standard_normal(s) for s in shapes]

    def grads(arrs, create_graph=False):
        xs = [f64(a) for a in arrs]
        f = ef.einsum(eq, *xs)
        L = (f * f).sum()
        return xs, ef.autograd.grad(L, xs, create_graph=create_graph)

    xs, gs = grads(base, create_graph=True)
    h = sum((g * f64(v, False)).sum() for g, v in zip(gs, vs))
    hv = ef.autograd.grad(h, xs)
    eps = 1e-5
    _, gp = grads([b + eps * v for b, v in zip(base, vs)])
    _, gm = grads([b - eps * v for b, v in zip(base, vs)])
    for k in range(len(xs)):
        np.testing.assert_allclose(A(hv[k]), (A(gp[k]) - A(gm[k])) / (2 * eps), rtol=1e-5, atol=1e-6)


def test_gradcheck_reports_a_wrong_gradient():
    from einframe.ops.core import Node, primitive

    @primitive("Pointwise")
    class WrongSquare(Node):
        saves = (0,)

        def forward(self, xp, x):
            return x * x

        def vjp(self, g, xs, out):
            return (g * 3 * xs[0],)  # wrong: should be 2x

        def jvp(self, ts, xs, out):
            return ts[0] * 2 * xs[0]

    try:
        x = f64([1.0, 2.0])
        with pytest.raises(ef.autograd.GradcheckError):
            ef.autograd.gradcheck(lambda a: WrongSquare()(a), (x,))
        assert ef.autograd.gradcheck(lambda a: WrongSquare()(a), (x,), raise_exception=False) is False
        with pytest.raises(ef.autograd.GradcheckError, match="float64"):
            ef.autograd.gradcheck(lambda a: a * 2, (ef.ones(2, requires_grad=True),))
    finally:
        del ef.PRIMITIVES["WrongSquare"]


# --------------------------------------------------------------------------------------------------
# anomaly detection and saved-tensor hooks


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_detect_anomaly_names_the_node_and_forward_line():
    x = f64([0.0, 1.0])
    with ef.autograd.detect_anomaly():
        y = x.sqrt() * 0  # d sqrt at 0 is inf; 0 * inf = nan
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert "SqrtBackward" in msg and "nan" in msg
    assert "test_autograd.py" in msg  # the stack of the forward call
    # without anomaly mode the NaN passes silently
    x.grad = None
    (x.sqrt() * 0).sum().backward()
    assert np.isnan(A(x.grad)[0])


def test_set_detect_anomaly():
    from einframe._state import STATE

    ef.autograd.set_detect_anomaly(True)
    try:
        assert STATE.anomaly
    finally:
        ef.autograd.set_detect_anomaly(False)
    assert not STATE.anomaly


def test_saved_tensors_hooks_pack_and_unpack():
    packed, unpacked = [], []

    def pack(t):
        packed.append(tuple(t.shape))
        return ("box", t)

    def unpack(box):
        assert box[0] == "box"
        unpacked.append(tuple(box[1].shape))
        return box[1]

    x = f64(np.ones((2, 3)))
    w = f64(np.ones((3, 4)))
    with saved_tensors_hooks(pack, unpack):
        y = ef.einsum("ij,jk->ik", x, w)
    assert sorted(packed) == [(2, 3), (3, 4)]
    assert unpacked == []
    y.sum().backward()
    assert sorted(unpacked) == [(2, 3), (3, 4)]
    np.testing.assert_array_equal(A(x.grad), np.full((2, 3), 4.0))
    # outside the context nothing is packed
    packed.clear()
    (x * x).sum()
    assert packed == []


def test_saved_tensors_hooks_can_transform():
    # pack to a numpy copy, unpack back to a tensor: gradient unchanged
    def pack(t):
        return t.detach().numpy().copy()

    def unpack(a):
        return ef.tensor(a, dtype=ef.float64)

    x = f64([1.0, 2.0])
    with saved_tensors_hooks(pack, unpack):
        y = (x * x).sum()
    y.backward()
    np.testing.assert_array_equal(A(x.grad), [2.0, 4.0])


# --------------------------------------------------------------------------------------------------
# graph lifetime and misc


def test_saved_tensors_freed_after_backward():
    x = f64([1.0, 2.0])
    y = x * x
    node = y.grad_fn
    y.sum().backward()
    assert node._saved is None


def test_shared_subgraph_gradient_sums():
    x = f64([1.0, 2.0])
    h = x.exp()
    y = (h * 2 + h.sin()).sum()
    y.backward()
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(A(x.grad), e * (2 + np.cos(e)))


def test_backward_inputs_argument():
    x, y = f64([1.0]), f64([2.0])
    (x * y).sum().backward(inputs=[x])
    np.testing.assert_array_equal(A(x.grad), [2.0])
    assert y.grad is None


def test_float32_gradients_stay_float32():
    x = ef.randn(3, 4, requires_grad=True)
    w = ef.randn(4, 2, requires_grad=True)
    (x @ w).relu().sum().backward()
    assert x.grad.dtype == ef.float32 and w.grad.dtype == ef.float32
    assert x.grad.shape == (3, 4) and w.grad.shape == (4, 2)
