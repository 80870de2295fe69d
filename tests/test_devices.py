"""Devices: ef.device parsing, equality and repr; ef.cuda without CuPy; the clear error when CUDA is
asked for without CuPy; device mixing errors (simulated on CPU-only machines); and the same
tensor/einsum/autograd checks on CUDA when a GPU is present (``@pytest.mark.cuda``)."""

from __future__ import annotations

import platform
import sys

import numpy as np
import pytest

import einframe as ef
from einframe import backend
from einframe.tensor import Tensor

CUDA = pytest.mark.cuda
DEVICES = ["cpu", pytest.param("cuda:0", marks=CUDA, id="gpu")]


def A(t):
    return np.asarray(t.detach().cpu().numpy())


# --------------------------------------------------------------------------------------------------
# ef.device


def test_device_parsing_and_repr():
    cpu = ef.device("cpu")
    assert cpu.type == "cpu" and cpu.index is None
    assert repr(cpu) == "device(type='cpu')" and str(cpu) == "cpu"
    g = ef.device("cuda:1")
    assert g.type == "cuda" and g.index == 1
    assert repr(g) == "device(type='cuda', index=1)" and str(g) == "cuda:1"
    g0 = ef.device("cuda")
    assert g0.index == 0 and str(g0) == "cuda:0"
    assert ef.device("cuda", 2).index == 2 and str(ef.device("cuda", 2)) == "cuda:2"


def test_device_equality_interning_hash():
    assert ef.device("cpu") == ef.device("cpu") and ef.device("cpu") is ef.device("cpu")
    assert ef.device("cuda") == ef.device("cuda:0")
    assert ef.device("cuda:0") != ef.device("cuda:1")
    assert ef.device("cpu") != ef.device("cuda:0")
    assert ef.device("cpu") == "cpu" and ef.device("cuda:0") == "cuda:0" and ef.device("cuda") == "cuda:0"
    assert ef.device(ef.device("cuda:1")) is ef.device("cuda:1")
    assert len({ef.device("cpu"), ef.device("cpu"), ef.device("cuda:0"), ef.device("cuda")}) == 2
    assert ef.zeros(2).device == ef.device("cpu") and ef.zeros(2).device == "cpu"


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "cuda:-1", "gpu:0", "CPU"])
def test_device_parse_errors(spec):
    with pytest.raises(RuntimeError, match=spec.split(":")[0] if spec != "cuda:-1" else "index"):
        ef.device(spec)


def test_device_type_error():
    with pytest.raises(TypeError):
        ef.device(3)


# --------------------------------------------------------------------------------------------------
# CUDA without CuPy


def test_cuda_queries_work_without_gpu():
    avail = ef.cuda.is_available()
    count = ef.cuda.device_count()
    assert isinstance(avail, bool) and isinstance(count, int)
    assert avail == (count > 0)


@pytest.fixture
def no_cupy(monkeypatch):
    """Pretend CuPy is not installed (the state of a CPU-only machine), whatever this machine has."""
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_cupy_error", ModuleNotFoundError("No module named 'cupy'"))
    for dev in list(backend.device._interned.values()):
        if dev.type == "cuda":
            monkeypatch.setattr(dev, "_xp", None)
    return None


def test_cuda_reports_unavailable_without_cupy(no_cupy):
    assert ef.cuda.is_available() is False
    assert ef.cuda.device_count() == 0
    ef.cuda.manual_seed(1)  # a no-op, not an error
    ef.manual_seed(1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ef.zeros(2, device="cuda"),
        lambda: ef.tensor([1.0], device="cuda:0"),
        lambda: ef.ones(2).to("cuda"),
        lambda: ef.ones(2).cuda(),
        lambda: ef.ones(2).to(ef.device("cuda:0")),
        lambda: ef.randn(2, device="cuda"),
    ],
    ids=["zeros", "tensor", "to", "cuda()", "to-device", "randn"],
)
def test_asking_for_cuda_without_cupy_is_a_clear_error(no_cupy, make):
    with pytest.raises(RuntimeError) as info:
        make()
    msg = str(info.value)
    assert "CuPy" in msg and "cuda:0" in msg
    assert "pip install einframe[cuda12]" in msg


def test_cpu_tensors_need_no_cupy(no_cupy):
    x = ef.ones(2, device="cpu", requires_grad=True)
    (x * 2).sum().backward()
    assert x.to("cpu") is x and x.cpu() is x
    np.testing.assert_array_equal(A(x.grad), [2.0, 2.0])


# --------------------------------------------------------------------------------------------------
# mixing devices: simulated with a CUDA device whose array module is numpy


@pytest.fixture
def fake_gpu(monkeypatch):
    if ef.cuda.is_available():
        return ef.device("cuda:0"), lambda a: ef.tensor(a, device="cuda:0")
    dev = ef.device("cuda:1")
    monkeypatch.setattr(dev, "_xp", np)  # arrays stay numpy; only the device label differs

    def make(a):
        return Tensor._wrap(np.array(a, dtype=np.float32), dev)

    return dev, make


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a * b,
        lambda a, b: ef.einsum("i,i->", a, b),
        lambda a, b: ef.einsum("i,j->ij", b, a),
        lambda a, b: a @ b,
        lambda a, b: ef.maximum(a, b),
        lambda a, b: ef.cat([a, b]),
        lambda a, b: ef.where(a > 0, a, b),
    ],
    ids=["add", "mul", "einsum", "einsum-reversed", "matmul", "maximum", "cat", "where"],
)
def test_mixing_devices_is_an_error_naming_both(fake_gpu, op):
    dev, make = fake_gpu
    a = ef.ones(3)
    b = make([1.0, 2.0, 3.0])
    assert b.device == dev and a.device != b.device
    with pytest.raises(RuntimeError) as info:
        op(a, b)
    msg = str(info.value)
    assert "cpu" in msg and str(dev) in msg, msg


def test_mixing_devices_in_setitem_and_index(fake_gpu):
    dev, make = fake_gpu
    a = ef.zeros(3)
    with pytest.raises(RuntimeError, match=str(dev)):
        a[0:2] = make([1.0, 2.0])
    with pytest.raises(RuntimeError, match="cpu"):
        make([1.0, 2.0]).index_select(0, ef.tensor([0]))


def test_backward_gradient_on_other_device_errors(fake_gpu):
    dev, make = fake_gpu
    x = ef.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError) as info:
        y.backward(make([1.0, 1.0]))
    assert "cpu" in str(info.value) and str(dev) in str(info.value)


# --------------------------------------------------------------------------------------------------
# the same checks on every available device (CUDA ones skip without a GPU)


@pytest.mark.parametrize("dev", DEVICES)
def test_factories_on_device(dev):
    for t in [
        ef.zeros(2, 3, device=dev),
        ef.ones(2, device=dev),
        ef.randn(2, device=dev),
        ef.arange(4, device=dev),
        ef.eye(2, device=dev),
    ]:
        assert t.device == ef.device(dev)
    x = ef.tensor([[1.0, 2.0], [3.0, 4.0]], device=dev)
    assert x.device == dev and x.dtype == ef.float32
    assert ef.zeros_like(x).device == dev
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert x.sum().item() == 10.0
    if dev != "cpu":
        assert "device='cuda:0'" in repr(x)
        with pytest.raises(TypeError, match="cpu"):
            x.numpy()


@pytest.mark.parametrize("dev", DEVICES)
def test_math_on_device_matches_numpy(dev):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    x, y = ef.tensor(a, device=dev), ef.tensor(b, device=dev)
    np.testing.assert_allclose(A(x * y + 2), a * b + 2)
    np.testing.assert_allclose(A((x / (y.abs() + 1)).exp()), np.exp(a / (np.abs(b) + 1)))
    np.testing.assert_allclose(A(x.softmax(-1)), np.exp(a) / np.exp(a).sum(-1, keepdims=True))
    np.testing.assert_allclose(A(x.max(1).values), a.max(1))
    np.testing.assert_array_equal(A(x.argmax(1)), a.argmax(1))
    np.testing.assert_allclose(A(x[ef.tensor([2, 0], device=dev)]), a[[2, 0]])
    np.testing.assert_allclose(A(x[x > 0]), a[a > 0])


@pytest.mark.parametrize("dev", DEVICES)
@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
        ("ii->i", [(3, 3)]),
        ("...ij,...jk", [(5, 1, 2, 3), (4, 3, 2)]),
    ],
)
def test_einsum_and_gradients_on_device(dev, eq, shapes):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in shapes]
    xs = [ef.tensor(a, dtype=ef.float64, device=dev, requires_grad=True) for a in arrays]
    out = ef.einsum(eq, *xs)
    assert out.device == dev
    np.testing.assert_allclose(A(out), np.einsum(eq, *arrays), rtol=1e-12)
    G = rng.standard_normal(out.shape)
    out.backward(ef.tensor(G, dtype=ef.float64, device=dev))
    # the same computation on the CPU is the reference for the gradients
    cs = [ef.tensor(a, dtype=ef.float64, requires_grad=True) for a in arrays]
    ef.einsum(eq, *cs).backward(ef.tensor(G, dtype=ef.float64))
    for x, c in zip(xs, cs):
        assert x.grad.device == dev
        np.testing.assert_allclose(A(x.grad), A(c.grad), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dev", DEVICES)
def test_gradcheck_on_device(dev):
    x = ef.randn(2, 3, dtype=ef.float64, device=dev, requires_grad=True)
    w = ef.randn(3, 2, dtype=ef.float64, device=dev, requires_grad=True)
    assert ef.autograd.gradcheck(lambda a, b: (a @ b).tanh(), (x, w))
    assert ef.autograd.gradgradcheck(lambda a, b: (a @ b).tanh(), (x, w))


@CUDA
def test_to_and_back_moves_gradient():
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda:0" and y.is_cuda and not x.is_cuda
    z = (y * y).sum()
    z.backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(A(x.grad), [2.0, 4.0])
    back = y.cpu()
    assert back.device == "cpu"
    np.testing.assert_allclose(back.detach().numpy(), [1.0, 2.0])
    assert ef.cuda.device_count() >= 1


@CUDA
def test_real_device_mixing_error():
    a, b = ef.ones(2), ef.ones(2, device="cuda")
    with pytest.raises(RuntimeError) as info:
        a + b
    assert "cpu" in str(info.value) and "cuda:0" in str(info.value)


@pytest.mark.parametrize("dev", DEVICES)
def test_gradient_accumulation_on_device(dev):
    x = ef.tensor([1.0, 2.0], device=dev, requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()  # accumulates in place into the existing .grad
    assert x.grad.device == dev
    np.testing.assert_allclose(A(x.grad), [5.0, 7.0])
    a, b = ef.ones(2, device=dev, requires_grad=True), ef.ones(2, device=dev, requires_grad=True)
    (a + b).sum().backward()
    a.grad.add_(1)
    np.testing.assert_allclose(A(b.grad), [1.0, 1.0])  # not aliased


@pytest.mark.parametrize("dev", DEVICES)
def test_manual_seed_reproducible_on_device(dev):
    ef.manual_seed(3)
    a = A(ef.randn(4, device=dev))
    ef.manual_seed(3)
    np.testing.assert_array_equal(A(ef.randn(4, device=dev)), a)


def test_tune_malloc_respects_opt_out_and_user_settings(monkeypatch):
    from einframe.backend import tune_malloc

    monkeypatch.setenv("EINFRAME_MALLOC_TUNING", "0")
    assert tune_malloc() is False
    monkeypatch.delenv("EINFRAME_MALLOC_TUNING")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")  # the user's own glibc setting wins
    assert tune_malloc() is False
    for name in backend._MALLOC_ENV:
        monkeypatch.delenv(name, raising=False)
    expected = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert tune_malloc() is expected
