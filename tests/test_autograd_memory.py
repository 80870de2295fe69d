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


def test_broadcast_gradients_are_copied_into_writable_grads():
    x = ef.randn(4, 5, requires_grad=True)
    x.sum().backward()  # the derived gradient is a zero-stride broadcast of the scalar cotangent
    assert x.grad.numpy().flags.writeable and 0 not in x.grad.numpy().strides
    x.sum().backward()  # accumulates in place
    assert np.allclose(x.grad.numpy(), 2.0)


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
