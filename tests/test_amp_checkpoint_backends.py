"""ef.amp (GradScaler, autocast), ef.utils.checkpoint and the ef.backends switches."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest

import einframe as ef
from einframe import nn
from einframe.utils.checkpoint import checkpoint, checkpoint_sequential


# ---- GradScaler ------------------------------------------------------------------------------------
def _scaled_run(scaler, blowups, steps=7):
    w = nn.Parameter(ef.tensor([1.0, -2.0], dtype=ef.float64))
    opt = ef.optim.SGD([w], lr=0.1)
    scales, stepped = [], []
    for i in range(steps):
        opt.zero_grad()
        loss = (w * w).sum() * (1e308 if i in blowups else 1.0)
        before = w.detach().clone()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        stepped.append(not ef.equal(before, w.detach()))
    return w, scales, stepped


def test_grad_scaler_skips_inf_steps_and_adapts_the_scale():
    # hand-derived: growth every 2 clean steps, halving after each overflow
    w, scales, stepped = _scaled_run(ef.amp.GradScaler(init_scale=8.0, growth_interval=2), blowups={2, 3})
    assert scales == [8.0, 16.0, 8.0, 4.0, 4.0, 8.0, 8.0]
    assert stepped == [True, True, False, False, True, True, True]
    # the five clean steps are plain SGD on sum(w²): w <- 0.8 w each time, whatever the scale was
    np.testing.assert_allclose(w.detach().numpy(), np.array([1.0, -2.0]) * 0.8**5, rtol=1e-12)


def test_grad_scaler_unscale_for_clipping_and_errors():
    w = nn.Parameter(ef.tensor([3.0, 4.0]))
    opt = ef.optim.SGD([w], lr=1.0)
    scaler = ef.amp.GradScaler(init_scale=256.0)
    scaler.scale((w * w).sum() / 2).backward()
    assert w.grad.tolist() == [768.0, 1024.0]
    scaler.unscale_(opt)
    assert w.grad.tolist() == [3.0, 4.0]
    nn.utils.clip_grad_norm_([w], 1.0)  # clip the true gradient, as PyTorch's recipe
    with pytest.raises(RuntimeError, match="already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    np.testing.assert_allclose(w.detach().numpy(), [3.0 - 0.6, 4.0 - 0.8], rtol=1e-6)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    scaler.update()
    assert scaler.state_dict() == {"scale": 256.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
                                   "_growth_tracker": 1}  # fmt: skip
    other = ef.amp.GradScaler()
    other.load_state_dict(scaler.state_dict())
    assert other.get_scale() == 256.0
    with pytest.raises(ValueError, match="growth factor"):
        ef.amp.GradScaler(growth_factor=1.0)


def test_disabled_scaler_and_autocast_change_nothing():
    scaler = ef.amp.GradScaler(enabled=False)
    x = ef.tensor([2.0])
    assert scaler.scale(x) is x and scaler.get_scale() == 1.0 and scaler.state_dict() == {}
    a, b = ef.randn(3, 4), ef.randn(4, 2)
    with ef.autocast("cpu", dtype=ef.float16):
        inside = a @ b
    assert inside.dtype == ef.float32 and ef.equal(inside, a @ b)

    @ef.autocast(device_type="cuda")
    def f(t):
        return t * 2

    assert ef.equal(f(a), a * 2)
    with ef.cuda.amp.autocast(True):
        pass
    assert ef.cuda.amp.GradScaler(init_scale=4.0).get_scale() == 4.0
    with pytest.raises(RuntimeError, match="device_type"):
        ef.autocast("tpu")


# ---- checkpoint ------------------------------------------------------------------------------------
def _net(seed=0):
    ef.manual_seed(seed)
    return nn.Linear(4, 5).double(), nn.Linear(5, 3).double(), nn.Dropout(0.5)


@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_checkpoint_gives_the_gradients_of_the_plain_block(x_requires_grad):
    l1, l2, drop = _net()
    x = ef.randn(6, 4, dtype=ef.float64, requires_grad=x_requires_grad)

    def block(t):
        return drop(l1(t).tanh())  # dropout: the recomputation must draw the same mask

    grads = []
    for use_checkpoint in (True, False):
        for p in (*l1.parameters(), *l2.parameters()):
            p.grad = None
        x.grad = None
        ef.manual_seed(5)
        h = checkpoint(block, x, use_reentrant=False) if use_checkpoint else block(x)
        l2(h).pow(2).sum().backward()
        grads.append(
            [p.grad.numpy().copy() for p in (*l1.parameters(), *l2.parameters())]
            + ([x.grad.numpy().copy()] if x_requires_grad else [])
        )
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_checkpoint_frees_the_block_activations_and_refuses_a_second_backward():
    lin = nn.Linear(8, 8)
    probes = []

    def block(t):
        h = lin(t).relu()
        probes.append(weakref.ref(h))
        return lin(h)

    x = ef.randn(2, 8, requires_grad=True)
    was = gc.isenabled()
    gc.disable()
    try:
        y = checkpoint(block, x, use_reentrant=True)
        assert probes[0]() is None  # nothing inside the block was kept by the forward pass
    finally:
        if was:
            gc.enable()
    y.sum().backward(retain_graph=True)
    g = x.grad.clone()
    y.sum().backward()  # retained: runs again and accumulates
    np.testing.assert_allclose(x.grad.numpy(), 2 * g.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()


def test_checkpoint_sequential_kwargs_tuple_outputs_and_no_grad():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = ef.randn(3, 4, dtype=ef.float64, requires_grad=True)
    checkpoint_sequential(net, 2, x, use_reentrant=False).sum().backward()
    got = [p.grad.numpy().copy() for p in net.parameters()] + [x.grad.numpy().copy()]
    net.zero_grad()
    x.grad = None
    net(x).sum().backward()
    for a, b in zip(got, [p.grad.numpy() for p in net.parameters()] + [x.grad.numpy()]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    a, b = checkpoint(lambda t, scale=1.0: (t * scale, t.exp()), x, scale=3.0, use_reentrant=False)
    (a.sum() + b.sum()).backward()
    with ef.no_grad():
        assert not checkpoint(lambda t: t * 2, x, use_reentrant=False).requires_grad
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint(lambda t: t, x)


# ---- backends and compile -------------------------------------------------------------------------
def test_backend_switches_and_compile():
    old = ef.backends.cudnn.benchmark
    try:
        ef.backends.cudnn.benchmark = True
        assert ef.backends.cudnn.benchmark is True
    finally:
        ef.backends.cudnn.benchmark = old
    with pytest.raises(AttributeError, match="no flag 'benchmrk'"):
        ef.backends.cudnn.benchmrk = True
    ef.backends.cuda.matmul.allow_tf32 = True
    ef.set_float32_matmul_precision("medium")
    assert ef.get_float32_matmul_precision() == "medium"
    ef.set_float32_matmul_precision("highest")
    with pytest.raises(RuntimeError, match="Invalid precision"):
        ef.set_float32_matmul_precision("low")
    ef.use_deterministic_algorithms(True)
    assert ef.are_deterministic_algorithms_enabled()
    ef.use_deterministic_algorithms(False)
    net = nn.Linear(2, 2)
    assert ef.compile(net) is net and ef.compile(mode="reduce-overhead")(math.sqrt) is math.sqrt
