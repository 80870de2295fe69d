"""Tensor hooks, retain_grad, post-accumulate hooks, node hooks, saved-tensor hooks and anomaly mode,
checked against PyTorch's documented semantics (values worked out by hand, no torch needed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import einframe as ef


def N(t):
    return t.detach().numpy()


def test_leaf_hook_replaces_gradient_before_accumulation():
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    def hook(g):
        seen.append((N(g).copy(), x.grad))  # .grad not yet updated when the hook runs
        return g * 10

    x.register_hook(hook)
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0][0], [3.0, 3.0])
    assert seen[0][1] is None
    np.testing.assert_allclose(N(x.grad), [30.0, 30.0])
    (x * 3).sum().backward()  # second pass: hook sees the new gradient only, .grad accumulates
    np.testing.assert_allclose(seen[1][0], [3.0, 3.0])
    np.testing.assert_allclose(N(x.grad), [60.0, 60.0])


def test_intermediate_hook_replacement_propagates():
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * 0 + 1)  # returns a new gradient for y
    (y * 5).sum().backward()
    np.testing.assert_allclose(N(x.grad), [2.0, 4.0])  # dy/dx with the replaced upstream gradient 1


def test_hook_returning_none_keeps_gradient():
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(1))
    (x * 2).sum().backward()
    assert calls == [1]
    np.testing.assert_allclose(N(x.grad), [2.0, 2.0])


def test_hooks_run_in_registration_order_and_chain():
    x = ef.tensor([1.0], requires_grad=True)
    y = x * 1
    order = []
    y.register_hook(lambda g: order.append("a") or g + 1)
    y.register_hook(lambda g: order.append("b") or g * 3)
    y.sum().backward()
    assert order == ["a", "b"]
    np.testing.assert_allclose(N(x.grad), [(1 + 1) * 3])


def test_handle_remove_is_idempotent_and_a_context_manager():
    x = ef.tensor([1.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 100)
    h.remove()
    h.remove()
    (x * 1).sum().backward()
    np.testing.assert_allclose(N(x.grad), [1.0])
    x.grad = None
    with x.register_hook(lambda g: g * 7):
        (x * 1).sum().backward()
    np.testing.assert_allclose(N(x.grad), [7.0])
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_allclose(N(x.grad), [1.0])


def test_hook_on_tensor_without_grad_is_an_error():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ef.ones(2).register_hook(lambda g: g)


def test_hook_not_called_when_tensor_gets_no_gradient():
    x = ef.tensor([1.0], requires_grad=True)
    y = x * 2
    unused = x * 3
    calls = []
    unused.register_hook(lambda g: calls.append(g))
    y.sum().backward()
    assert calls == []


def test_hook_sees_summed_gradient_of_all_uses():
    x = ef.tensor([2.0], requires_grad=True)
    y = x * 1
    seen = []
    y.register_hook(lambda g: seen.append(N(g).copy()))
    (y * 3 + y * 4).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [7.0])


def test_retain_grad_on_intermediate():
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert not y.retains_grad
    y.retain_grad()
    y.retain_grad()  # twice is fine
    assert y.retains_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(N(y.grad), [4.0, 8.0])
    z = x * 3
    (z * 1).sum().backward()
    assert z.grad is None  # not retained


def test_retain_grad_sees_hook_results_regardless_of_order():
    # PyTorch >= 2.0: the retained .grad of a non-leaf reflects all tensor hooks, even later ones
    x = ef.tensor([1.0], requires_grad=True)
    y = x * 1
    y.retain_grad()
    y.register_hook(lambda g: g * 5)
    y.sum().backward()
    np.testing.assert_allclose(N(y.grad), [5.0])
    np.testing.assert_allclose(N(x.grad), [5.0])


def test_retain_grad_accumulates_and_leaf_is_noop():
    x = ef.tensor([1.0], requires_grad=True)
    x.retain_grad()  # a leaf already keeps .grad
    y = x * 2
    y.retain_grad()
    (y * 1).sum().backward(retain_graph=True)
    (y * 1).sum().backward()
    np.testing.assert_allclose(N(y.grad), [2.0])
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        ef.ones(1).retain_grad()


def test_post_accumulate_grad_hook():
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_post_accumulate_grad_hook(lambda t: seen.append(N(t.grad).copy()))
    x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [6.0, 6.0])  # after the tensor hook and accumulation
    np.testing.assert_allclose(seen[1], [12.0, 12.0])
    h.remove()
    (x * 3).sum().backward()
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_post_accumulate_hook_can_step_an_optimizer_in_backward():
    w = ef.tensor([1.0, 1.0], requires_grad=True)

    def sgd_step(p):
        with ef.no_grad():
            p -= 0.1 * p.grad
        p.grad = None

    w.register_post_accumulate_grad_hook(sgd_step)
    (w * ef.tensor([1.0, 2.0])).sum().backward()
    np.testing.assert_allclose(N(w), [0.9, 0.8])
    assert w.grad is None


def test_autograd_grad_runs_tensor_hooks_but_not_accumulation_hooks():
    x = ef.tensor([1.0], requires_grad=True)
    post = []
    x.register_hook(lambda g: g * 2)
    x.register_post_accumulate_grad_hook(lambda t: post.append(1))
    (g,) = ef.autograd.grad((x * 3).sum(), x)
    np.testing.assert_allclose(N(g), [6.0])
    assert x.grad is None and post == []


def test_hook_on_intermediate_captured_by_autograd_grad():
    x = ef.tensor([1.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: g + 100)
    (gy,) = ef.autograd.grad((y * 3).sum(), y)
    np.testing.assert_allclose(N(gy), [103.0])


def test_node_hooks():
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    y.grad_fn.register_prehook(lambda gout: (gout[0] * 10,))
    y.grad_fn.register_hook(lambda gin, gout: seen.append((N(gin[0]).copy(), N(gout[0]).copy())))
    y.sum().backward()
    np.testing.assert_allclose(seen[0][1], [10.0, 10.0])
    np.testing.assert_allclose(seen[0][0], [20.0, 20.0])
    np.testing.assert_allclose(N(x.grad), [20.0, 20.0])


def test_hooks_with_create_graph_are_differentiable():
    x = ef.tensor([2.0], dtype=ef.float64, requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * x)  # the replacement depends on x
    (g,) = ef.autograd.grad(y.sum(), x, create_graph=True)  # g = 2x * x
    np.testing.assert_allclose(N(g), [8.0])
    (gg,) = ef.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(N(gg), [8.0])  # d(2x^2)/dx = 4x


@settings(max_examples=25, deadline=None)
@given(
    scales=st.lists(st.floats(-3, 3, allow_nan=False), min_size=0, max_size=4),
    adds=st.lists(st.floats(-3, 3, allow_nan=False), min_size=0, max_size=4),
    leaf=st.booleans(),
    removed=st.integers(0, 4),
)
def test_property_hooks_compose_in_order(scales, adds, leaf, removed):
    """Hooks g -> g * s_k + a_k chain in registration order; removed hooks drop out."""
    x = ef.tensor([1.5, -0.5], dtype=ef.float64, requires_grad=True)
    y = x * 1.0
    target = x if leaf else y
    handles, expected = [], 1.0
    for k, (s, a) in enumerate(zip(scales, adds)):
        handles.append(target.register_hook(lambda g, s=s, a=a: g * s + a))
        if k != removed:
            expected = expected * s + a
    if removed < len(handles):
        handles[removed].remove()
    (y * 1.0).sum().backward()
    np.testing.assert_allclose(N(x.grad), [expected, expected], rtol=1e-12, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), k=st.integers(1, 3))
def test_property_retained_grads_along_a_chain(n, k):
    """In y_i = y_{i-1} * k, the retained gradient of y_i is k ** (n - i)."""
    x = ef.tensor([1.0], dtype=ef.float64, requires_grad=True)
    ys = []
    y = x
    for _ in range(n):
        y = y * float(k)
        y.retain_grad()
        ys.append(y)
    y.sum().backward()
    for i, t in enumerate(ys, start=1):
        np.testing.assert_allclose(N(t.grad), [float(k) ** (n - i)])
    np.testing.assert_allclose(N(x.grad), [float(k) ** n])


def test_saved_tensors_hooks_pack_and_unpack():
    packed, unpacked = [], []

    def pack(t):
        packed.append(tuple(t.shape))
        return N(t).copy()  # e.g. offload: keep a host copy

    def unpack(a):
        unpacked.append(a.shape)
        return ef.tensor(a)

    x = ef.randn(3, 4, requires_grad=True)
    w = ef.randn(4, 2, requires_grad=True)
    with ef.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = ef.einsum("ij,jk->ik", x, w).exp()
    assert (3, 4) in packed and (4, 2) in packed
    y.sum().backward()
    assert len(unpacked) >= 2
    np.testing.assert_allclose(N(w.grad), N(x).T @ np.exp(N(x) @ N(w)), rtol=1e-5)


def test_detect_anomaly_names_node_and_forward_line():
    x = ef.tensor([0.0, 1.0], requires_grad=True)
    with ef.autograd.detect_anomaly():
        y = x.sqrt() * 0  # the line that should be named
        with pytest.raises(RuntimeError, match=r"SqrtBackward(?s:.*)test_hooks\.py(?s:.*)x\.sqrt\(\)"):
            y.sum().backward()


def test_hooks_before_and_after_an_inplace_op():
    # PyTorch: hooks registered before the in-place op see the gradient of the old value, hooks
    # registered after see the new value's gradient, and run first (they sit closer to the output)
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(("before", N(g).tolist())))
    y.add_(3)
    y.register_hook(lambda g: seen.append(("after", N(g).tolist())))
    (y * y).sum().backward()
    assert seen == [("after", [10.0, 14.0]), ("before", [10.0, 14.0])]
    np.testing.assert_allclose(N(x.grad), [20.0, 28.0])
