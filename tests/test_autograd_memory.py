"""Memory ownership of gradients and in-place semantics under autograd (engine and in-place rules)."""

import numpy as np
import pytest

import einframe as ef
from einframe import nn


def test_leaf_grads_never_share_memory_through_views():
    a = ef.randn(2, 3, requires_grad=True)
    b = ef.randn(6, requires_grad=True)
    (a + b.reshape(2, 3)).sum().backward()  # one gradient array reaches b through a reshape view
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.add_(1.0)
    assert np.allclose(b.grad.numpy(), 1.0)


@pytest.mark.parametrize("shape", [(4, 5), (200, 300)])  # small gradients are written out, large ones broadcast
def test_broadcast_gradients_are_copied_into_writable_grads(shape):
    x = ef.randn(*shape, requires_grad=True)
    x.sum().backward()  # the derived gradient broadcasts the scalar cotangent
    assert x.grad.numpy().flags.writeable and 0 not in x.grad.numpy().strides
    x.sum().backward()  # accumulates in place
    assert np.allclose(x.grad.numpy(), 2.0)
    (g,) = ef.autograd.grad((x * 3).sum(), x)
    assert np.allclose(g.numpy(), 3.0)


def test_caller_gradient_is_not_aliased():
    x = ef.randn(3, requires_grad=True)
    g = ef.ones(3)
    y = x.reshape(3)
    y.backward(g)
    x.grad.mul_(5)
    assert np.allclose(g.numpy(), 1.0)


@pytest.mark.parametrize("zero", ["module", "optimizer"])
def test_zero_grad_keep_tensors_after_create_graph(zero):
    m = nn.Linear(3, 2)
    m(ef.randn(4, 3)).sum().backward(create_graph=True)
    if zero == "module":
        m.zero_grad(set_to_none=False)
    else:
        ef.optim.SGD(m.parameters(), lr=0.1).zero_grad(set_to_none=False)
    for p in m.parameters():
        assert p.grad is not None and p.grad.grad_fn is None and not p.grad.requires_grad
        assert np.all(p.grad.numpy() == 0)


def test_inplace_on_non_leaf_keeps_the_saved_old_value():
    x = ef.tensor([1.0, 2.0, 3.0], dtype=ef.float64, requires_grad=True)
    y = x * 2
    y.mul_(3)  # Mul saved the old value (a snapshot), not y itself
    (y * y).sum().backward()
    assert np.allclose(x.grad.numpy(), 2 * 36 * x.detach().numpy())


def test_inplace_after_save_is_detected():
    x = ef.randn(3, requires_grad=True)
    y = x * 2
    z = y * y  # saves y
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


# in-place ops on views while autograd records: the base takes the new values, and gradients flow
# through the update (PyTorch's semantics; expected values derived by hand)


def test_inplace_on_a_slice_view_updates_the_base():
    x = ef.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    c = np.array([1.0, 2.0, 3.0, 4.0], dtype=np.float32)
    y = x * 1
    y[1:3].mul_(10)
    assert np.allclose(y.detach().numpy(), [1, 20, 30, 4])
    (y * ef.tensor(c)).sum().backward()
    assert np.allclose(x.grad.numpy(), c * np.array([1, 10, 10, 1]))


def test_inplace_on_a_reshaped_view_updates_the_base():
    x = ef.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    y = x * 2
    y.view(4).relu_()
    assert np.allclose(y.detach().numpy(), [[0, 4], [6, 0]])
    (y * y).sum().backward()  # d/dx sum(relu(2x)^2) = 8x where x > 0
    assert np.allclose(x.grad.numpy(), [[0, 16], [24, 0]])


def test_inplace_through_a_chain_of_views():
    x = ef.arange(6.0).reshape(2, 3).requires_grad_()
    w = ef.tensor(5.0, requires_grad=True)
    y = x + 0
    y.t()[0].add_(w)  # y[:, 0] += w through a transpose and an index
    assert np.allclose(y.detach().numpy(), [[5, 1, 2], [8, 4, 5]])
    (y**2).sum().backward()
    assert np.allclose(x.grad.numpy(), 2 * y.detach().numpy())
    assert np.isclose(w.grad.item(), 2 * (5 + 8))


def test_setitem_on_a_view_updates_the_base():
    x = ef.ones(2, 3, requires_grad=True)
    y = x * 1
    y.reshape(3, 2)[0, :] = 7.0
    assert np.allclose(y.detach().numpy(), [[7, 7, 1], [1, 1, 1]])
    (y * 2).sum().backward()
    assert np.allclose(x.grad.numpy(), [[0, 0, 2], [2, 2, 2]])


def test_a_reshape_that_copies_is_not_a_view():
    x = ef.arange(6.0).reshape(2, 3).requires_grad_()
    y = x * 1
    r = y.t().reshape(6)  # non-contiguous: reshape copies, as PyTorch's
    r.mul_(2)
    assert np.allclose(y.detach().numpy(), np.arange(6.0).reshape(2, 3))


def test_inplace_on_a_view_of_a_leaf_is_refused():
    w = ef.ones(4, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w[1:].mul_(2)


def test_inplace_on_an_expanded_view_is_refused_while_recording():
    x = ef.ones(1, 3, requires_grad=True)
    e = (x * 1).expand(4, 3)
    with pytest.raises(RuntimeError, match="not supported while autograd records"):
        e.add_(1.0)


def test_a_refused_inplace_on_a_view_changes_nothing():
    x = ef.ones(1, 3, requires_grad=True)
    y = x * 1
    e = y.expand(4, 3)
    fn, version = e.grad_fn, e._version
    with pytest.raises(RuntimeError):
        e.add_(1.0)
    assert e.grad_fn is fn and e._version == version and np.allclose(e.detach().numpy(), 1.0)


@pytest.mark.parametrize("differentiate", [False, True])
def test_graphs_are_freed_by_refcount_without_the_cycle_collector(differentiate):
    # nodes that save their output (exp, tanh, relu, sigmoid, pow) keep it without a grad_fn, as
    # PyTorch does, so a graph holds no reference cycle whether or not backward runs
    import gc
    import weakref

    x = ef.randn(3, 4, requires_grad=True)
    was = gc.isenabled()
    gc.disable()
    try:
        h = x.exp().tanh()
        probe = weakref.ref(h)
        y = (h.relu().sigmoid() ** 2).sum()
        node = weakref.ref(y.grad_fn)
        if differentiate:
            y.backward()
        del h, y
        assert probe() is None and node() is None
    finally:
        if was:
            gc.enable()


def test_saved_output_keeps_version_check_and_grad_fn():
    x = ef.randn(5, requires_grad=True, dtype=ef.float64)
    (g,) = ef.autograd.grad(x.exp().sum(), x, create_graph=True)  # exp's vjp reads the saved output
    assert g.grad_fn is not None
    (gg,) = ef.autograd.grad(g.sum(), x)
    assert np.allclose(gg.numpy(), np.exp(x.detach().numpy()))
    y = x.exp()
    z = y.sum() * 1.0
    with ef.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


# ---- in-place view ops: t_, transpose_, swapaxes_/swapdims_, squeeze_, unsqueeze_ ----------------
def test_inplace_view_ops_change_shape_not_data():
    x = ef.arange(6.0).reshape(2, 1, 3)
    mem = x.numpy()
    assert x.squeeze_(1) is x and x.shape == (2, 3) and x._version == 1
    assert x.unsqueeze_(0).shape == (1, 2, 3)
    assert x.transpose_(0, 2).shape == (3, 2, 1) and x.swapdims_(1, 2).shape == (3, 1, 2)
    assert x.swapaxes_(0, 1).squeeze_().t_().shape == (2, 3)
    assert np.shares_memory(x.numpy(), mem)
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))
    y = ef.zeros(3, 4)
    y.t_()
    assert y.shape == (4, 3) and y.stride() == (1, 4)


def test_inplace_view_ops_under_autograd():
    leaf = ef.randn(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.t_()
    assert leaf.shape == (2, 3)
    with ef.no_grad():
        leaf.t_()  # allowed outside recording; still a leaf that requires grad
    assert leaf.shape == (3, 2) and leaf.is_leaf and leaf.requires_grad
    b = ef.randn(2, 3, requires_grad=True, dtype=ef.float64)
    c = b * ef.tensor([1.0, 2.0, 3.0], dtype=ef.float64)
    c.t_()
    assert c.shape == (3, 2) and "ba" in repr(c.grad_fn)
    (c * ef.tensor([[1.0], [10.0], [100.0]], dtype=ef.float64)).sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [[1, 20, 300]] * 2)
    w = b * 1
    u = w * w  # saves w
    w.t_()  # moves w's version, as PyTorch
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        u.sum().backward()


def test_inplace_view_op_on_a_view_keeps_writing_to_the_base():
    b = ef.randn(2, 3, requires_grad=True)
    base = b * 1
    v = base[0]
    v.unsqueeze_(0)
    v.mul_(2)  # reaches base through both views
    base.sum().backward()
    np.testing.assert_allclose(b.grad.numpy(), [[2, 2, 2], [1, 1, 1]])


def test_save_on_cpu_disable_hooks_and_increment_version():
    x = ef.tensor([1.0, 2.0], requires_grad=True, dtype=ef.float64)
    with ef.autograd.graph.save_on_cpu(pin_memory=True):
        y = (x * x).exp()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy() * np.exp(x.detach().numpy() ** 2))
    with ef.autograd.graph.disable_saved_tensors_hooks("hooks are off in this library"):
        with pytest.raises(RuntimeError, match="hooks are off"):
            with ef.autograd.graph.save_on_cpu():
                pass
    with ef.autograd.graph.save_on_cpu():  # allowed again outside
        pass
    u = ef.ones(2, requires_grad=True) * 1
    v = u * u  # saves u
    ef.autograd.graph.increment_version(u)  # a write einframe did not see (through numpy(), say)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        v.sum().backward()


def test_manual_dual_levels_and_linearize():
    import einframe.autograd.forward_ad as fwAD

    level = fwAD.enter_dual_level()
    d = fwAD.make_dual(ef.tensor([1.0], dtype=ef.float64), ef.tensor([2.0], dtype=ef.float64))
    np.testing.assert_allclose(fwAD.unpack_dual(d.sin()).tangent.numpy(), 2 * np.cos(1.0))
    with pytest.raises(RuntimeError, match="trying to exit level"):
        fwAD.exit_dual_level(level=level + 1)
    fwAD.exit_dual_level(level=level)
    assert fwAD.unpack_dual(d).tangent is None  # dropped with the level
    with pytest.raises(RuntimeError, match="no level was entered"):
        fwAD.exit_dual_level()
    out, jvp_fn = ef.func.linearize(
        lambda a, b: (a * b).exp(), ef.tensor([0.5], dtype=ef.float64), ef.tensor([2.0], dtype=ef.float64)
    )
    np.testing.assert_allclose(out.numpy(), np.exp(1.0))
    np.testing.assert_allclose(
        jvp_fn(ef.tensor([1.0], dtype=ef.float64), ef.tensor([0.0], dtype=ef.float64)).numpy(), 2 * np.exp(1.0)
    )
    np.testing.assert_allclose(
        jvp_fn(ef.tensor([0.0], dtype=ef.float64), ef.tensor([1.0], dtype=ef.float64)).numpy(), 0.5 * np.exp(1.0)
    )
