"""Tensor: factories, dtypes and promotion, operators, reductions, shape ops, indexing, math,
products, in-place ops, conversions and repr. Values are compared against numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import einframe as ef


def A(t):
    """The tensor's values as a numpy array (detached, on the CPU)."""
    return np.asarray(t.detach().cpu().numpy())


# --------------------------------------------------------------------------------------------------
# factories and dtypes


def test_default_dtypes():
    assert ef.tensor([1.0, 2.0]).dtype == ef.float32
    assert ef.tensor([1, 2]).dtype == ef.int64
    assert ef.tensor([True, False]).dtype == ef.bool
    assert ef.tensor(3.5).dtype == ef.float32 and ef.tensor(3.5).shape == ()
    assert ef.tensor(3).dtype == ef.int64
    assert ef.tensor([1, 2.5]).dtype == ef.float32
    assert ef.zeros(2, 3).dtype == ef.float32
    assert ef.ones(2).dtype == ef.float32
    assert ef.empty(2).dtype == ef.float32
    assert ef.rand(2).dtype == ef.float32 and ef.randn(2).dtype == ef.float32
    assert ef.randint(0, 5, (3,)).dtype == ef.int64
    assert ef.arange(5).dtype == ef.int64
    assert ef.arange(0.0, 1.0, 0.25).dtype == ef.float32
    assert ef.full((2,), 7).dtype == ef.int64
    assert ef.full((2,), 7.0).dtype == ef.float32
    assert ef.full((2,), True).dtype == ef.bool
    assert ef.eye(3).dtype == ef.float32
    assert ef.linspace(0, 1, 5).dtype == ef.float32


def test_explicit_dtypes():
    for dt, npdt in [
        (ef.float64, np.float64),
        (ef.float32, np.float32),
        (ef.int32, np.int32),
        (ef.int64, np.int64),
        (ef.bool, np.bool_),
    ]:
        assert ef.zeros(2, dtype=dt).numpy().dtype == npdt
        assert ef.tensor([1, 0], dtype=dt).dtype == dt
    assert ef.tensor(np.array([1.0], dtype=np.float64)).dtype == ef.float64  # numpy dtype is kept
    assert ef.tensor([1.0], dtype=ef.float64).dtype == ef.float64
    assert ef.ones(2, dtype=ef.double).dtype == ef.float64
    assert ef.float64.is_floating_point and not ef.int64.is_floating_point


def test_set_default_dtype():
    ef.set_default_dtype(ef.float64)
    try:
        assert ef.tensor([1.0]).dtype == ef.float64
        assert ef.zeros(2).dtype == ef.float64
        assert ef.get_default_dtype() == ef.float64
    finally:
        ef.set_default_dtype(ef.float32)
    with pytest.raises(TypeError):
        ef.set_default_dtype(ef.int64)


def test_factory_values():
    np.testing.assert_array_equal(A(ef.zeros(2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(A(ef.zeros((2, 3))), np.zeros((2, 3)))
    np.testing.assert_array_equal(A(ef.ones(2, 3)), np.ones((2, 3)))
    np.testing.assert_array_equal(A(ef.full((2, 2), 3.5)), np.full((2, 2), 3.5))
    np.testing.assert_array_equal(A(ef.eye(3)), np.eye(3))
    np.testing.assert_array_equal(A(ef.eye(2, 3)), np.eye(2, 3))
    np.testing.assert_array_equal(A(ef.arange(5)), np.arange(5))
    np.testing.assert_array_equal(A(ef.arange(2, 8, 2)), [2, 4, 6])
    np.testing.assert_allclose(A(ef.linspace(0, 1, 5)), np.linspace(0, 1, 5))
    assert ef.empty(3, 2).shape == (3, 2)
    x = ef.randn(2, 3, dtype=ef.float64)
    for f, ref in [(ef.zeros_like, np.zeros), (ef.ones_like, np.ones)]:
        y = f(x)
        assert y.shape == x.shape and y.dtype == ef.float64
        np.testing.assert_array_equal(A(y), ref((2, 3)))
    y = ef.full_like(x, 2.0)
    assert y.dtype == ef.float64
    np.testing.assert_array_equal(A(y), np.full((2, 3), 2.0))
    assert ef.empty_like(x).shape == (2, 3)
    assert ef.rand_like(x).dtype == ef.float64 and ef.randn_like(x).shape == (2, 3)
    r = ef.randint_like(ef.zeros(4, dtype=ef.int64), 0, 3)
    assert r.dtype == ef.int64 and r.shape == (4,)


def test_random_ranges():
    u = A(ef.rand(1000))
    assert u.min() >= 0 and u.max() < 1 and 0.4 < u.mean() < 0.6
    n = A(ef.randn(4000))
    assert abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1
    r = A(ef.randint(3, 7, (500,)))
    assert r.min() == 3 and r.max() == 6
    r = A(ef.randint(4, (100,)))
    assert r.min() >= 0 and r.max() <= 3
    p = A(ef.randperm(10))
    np.testing.assert_array_equal(np.sort(p), np.arange(10))


def test_manual_seed_reproducible():
    ef.manual_seed(123)
    a = (A(ef.rand(5)), A(ef.randn(3, 2)), A(ef.randint(0, 100, (4,))), A(ef.randperm(6)))
    ef.manual_seed(123)
    b = (A(ef.rand(5)), A(ef.randn(3, 2)), A(ef.randint(0, 100, (4,))), A(ef.randperm(6)))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    ef.manual_seed(124)
    assert not np.array_equal(A(ef.rand(5)), a[0])
    # in-place random fills follow the seed too
    ef.manual_seed(7)
    x = ef.empty(4).uniform_(-1, 1)
    ef.manual_seed(7)
    y = ef.empty(4).uniform_(-1, 1)
    np.testing.assert_array_equal(A(x), A(y))
    assert ef.initial_seed() == 7


def test_rng_state_roundtrip():
    state = ef.get_rng_state()
    a = A(ef.rand(3))
    ef.set_rng_state(state)
    np.testing.assert_array_equal(A(ef.rand(3)), a)


def test_requires_grad_factory_and_errors():
    assert ef.zeros(2, requires_grad=True).requires_grad
    assert ef.tensor([1.0], requires_grad=True).is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        ef.tensor([1, 2], requires_grad=True)


# --------------------------------------------------------------------------------------------------
# arithmetic, comparison, promotion


@pytest.fixture
def ab():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.standard_normal((3,)).astype(np.float32) + 3.0
    return a, b


def test_arithmetic_broadcasting(ab):
    a, b = ab
    x, y = ef.tensor(a), ef.tensor(b)
    for op in ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__"]:
        base = np.abs(a) + 0.5 if op == "__pow__" else a
        got = getattr(ef.tensor(base), op)(y)
        np.testing.assert_allclose(A(got), getattr(base, op)(b), rtol=1e-5, err_msg=op)
        assert got.shape == (2, 3) and got.dtype == ef.float32
    np.testing.assert_allclose(A(-x), -a)
    np.testing.assert_allclose(A(+x), a)
    np.testing.assert_allclose(A(abs(x)), np.abs(a))
    np.testing.assert_allclose(A(ef.add(x, y, alpha=2)), a + 2 * b, rtol=1e-6)
    np.testing.assert_allclose(A(ef.sub(x, y, alpha=0.5)), a - 0.5 * b, rtol=1e-6)
    np.testing.assert_allclose(A(x // 0.3), a // np.float32(0.3), rtol=1e-6)
    np.testing.assert_allclose(A(x % 0.3), np.mod(a, np.float32(0.3)), rtol=1e-4, atol=1e-6)


def test_python_scalars_and_reflected(ab):
    a, _ = ab
    x = ef.tensor(a)
    cases = [
        (x + 2, a + 2), (2 + x, 2 + a), (x - 2, a - 2), (2 - x, 2 - a), (x * 3, a * 3), (3 * x, 3 * a),
        (x / 4, a / 4), (4 / x, 4 / a), (x**2, a**2), (2**x, 2**a), (x + 1.5, a + 1.5), (1.5 - x, 1.5 - a),
    ]  # fmt: skip
    for got, want in cases:
        assert got.dtype == ef.float32
        np.testing.assert_allclose(A(got), want, rtol=1e-5)
    # numpy scalars on the left defer to the tensor
    got = np.float64(2.0) * x
    assert isinstance(got, ef.Tensor)
    np.testing.assert_allclose(A(got), 2 * a, rtol=1e-6)


def test_dtype_promotion_like_torch():
    f32 = ef.ones(2)
    f64 = ef.ones(2, dtype=ef.float64)
    i64 = ef.tensor([1, 2])
    i32 = ef.tensor([1, 2], dtype=ef.int32)
    b = ef.tensor([True, False])
    assert (f32 * 2.0).dtype == ef.float32
    assert (f32 * 2).dtype == ef.float32
    assert (f32 + f64).dtype == ef.float64
    assert (i64 + 1).dtype == ef.int64
    assert (i64 * 2.5).dtype == ef.float32
    assert (i64 / 2).dtype == ef.float32
    assert (i64 / i64).dtype == ef.float32
    np.testing.assert_allclose(A(i64 / 2), [0.5, 1.0])
    assert (i32 + i64).dtype == ef.int64
    assert (i64 + f32).dtype == ef.float32
    assert (b + i64).dtype == ef.int64
    assert (b + b).dtype == ef.bool
    # 0-d tensors do not raise the precision within a category
    assert (f32 * ef.tensor(2.0, dtype=ef.float64)).dtype == ef.float32
    assert (i32 + ef.tensor(2)).dtype == ef.int32
    # across categories the higher category's dtype wins, 0-d or not
    assert (i64 * ef.tensor(2.0, dtype=ef.float64)).dtype == ef.float64
    assert (i64 + ef.ones(2, dtype=ef.float16)).dtype == ef.float16
    assert (b + ef.tensor(2, dtype=ef.int32)).dtype == ef.int32
    assert ef.sqrt(i64).dtype == ef.float32
    assert ef.exp(ef.tensor([0])).dtype == ef.float32


def test_comparisons(ab):
    a, b = ab
    x, y = ef.tensor(a), ef.tensor(b)
    for op in ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"]:
        got = getattr(x, op)(y)
        assert got.dtype == ef.bool
        np.testing.assert_array_equal(A(got), getattr(a, op)(b))
        got = getattr(x, op)(0.0)
        np.testing.assert_array_equal(A(got), getattr(a, op)(0.0))
    np.testing.assert_array_equal(A(0.0 < x), 0.0 < a)
    np.testing.assert_array_equal(A(ef.eq(x, x)), np.ones((2, 3), bool))
    m = x > 0
    np.testing.assert_array_equal(A(m & (x < 1)), (a > 0) & (a < 1))
    np.testing.assert_array_equal(A(m | (x < -1)), (a > 0) | (a < -1))
    np.testing.assert_array_equal(A(~m), ~(a > 0))
    assert ef.equal(x, ef.tensor(a)) and not ef.equal(x, x + 1)
    assert ef.allclose(x, x + 1e-9)
    assert not (x > 0).requires_grad


def test_inplace_operators_keep_identity_and_dtype(ab):
    a, b = ab
    x = ef.tensor(a)
    ident = id(x)
    x += 1
    x -= ef.tensor(b)
    x *= 2.0
    x /= 4
    assert id(x) == ident and x.dtype == ef.float32
    np.testing.assert_allclose(A(x), ((a + 1) - b) * 2.0 / 4, rtol=1e-6)
    i = ef.tensor([1, 2, 3])
    i += 2
    i *= 3
    np.testing.assert_array_equal(A(i), [9, 12, 15])
    assert i.dtype == ef.int64
    with pytest.raises(RuntimeError):
        i /= 2  # float result cannot be stored in an int tensor (as torch)


def test_inplace_updates_views():
    base = ef.zeros(2, 3)
    row = base[1]
    row += 5
    np.testing.assert_array_equal(A(base), [[0, 0, 0], [5, 5, 5]])
    v = base.view(6)
    v.mul_(2)
    np.testing.assert_array_equal(A(base), [[0, 0, 0], [10, 10, 10]])


# --------------------------------------------------------------------------------------------------
# reductions


@pytest.fixture
def x3():
    return np.random.default_rng(1).standard_normal((2, 3, 4))


@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 2), (1, -1), (0, 1, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean_var_std(x3, dim, keepdim):
    t = ef.tensor(x3, dtype=ef.float64)
    axis = dim if dim is None or isinstance(dim, int) else tuple(dim)
    kw = {} if dim is None else {"dim": dim}
    kd = {"keepdims": keepdim} if dim is not None else {}
    np.testing.assert_allclose(A(t.sum(**kw, keepdim=keepdim)), x3.sum(axis=axis, **kd), rtol=1e-12)
    np.testing.assert_allclose(A(t.mean(**kw, keepdim=keepdim)), x3.mean(axis=axis, **kd), rtol=1e-12)
    np.testing.assert_allclose(A(t.var(**kw, keepdim=keepdim)), x3.var(axis=axis, ddof=1, **kd), rtol=1e-10)
    np.testing.assert_allclose(A(t.std(**kw, keepdim=keepdim)), x3.std(axis=axis, ddof=1, **kd), rtol=1e-10)
    np.testing.assert_allclose(A(t.var(**kw, keepdim=keepdim, unbiased=False)), x3.var(axis=axis, **kd), rtol=1e-10)
    np.testing.assert_allclose(A(t.norm(dim=dim, keepdim=keepdim)), np.sqrt((x3**2).sum(axis=axis, **kd)), rtol=1e-12)
    np.testing.assert_allclose(A(t.amax(dim=dim, keepdim=keepdim) if dim is not None else t.amax()), x3.max(axis=axis, **kd))
    np.testing.assert_allclose(A(t.amin(dim=dim, keepdim=keepdim) if dim is not None else t.amin()), x3.min(axis=axis, **kd))
    if dim is not None:
        ref = np.log(np.exp(x3).sum(axis=axis, **kd))
        np.testing.assert_allclose(A(t.logsumexp(dim, keepdim=keepdim)), ref, rtol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_arg(x3, dim, keepdim):
    t = ef.tensor(x3)
    values, indices = t.max(dim, keepdim=keepdim)
    np.testing.assert_allclose(A(values), x3.max(axis=dim, keepdims=keepdim).astype(np.float32))
    np.testing.assert_array_equal(A(indices), x3.argmax(axis=dim, keepdims=keepdim))
    assert indices.dtype == ef.int64
    values, indices = t.min(dim=dim, keepdim=keepdim)
    np.testing.assert_allclose(A(values), x3.min(axis=dim, keepdims=keepdim).astype(np.float32))
    np.testing.assert_array_equal(A(indices), x3.argmin(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(A(t.argmax(dim, keepdim=keepdim)), x3.argmax(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(A(t.argmin(dim=dim, keepdim=keepdim)), x3.argmin(axis=dim, keepdims=keepdim))


def test_full_reductions_and_norms(x3):
    t = ef.tensor(x3, dtype=ef.float64)
    assert t.max().shape == () and t.max().item() == x3.max()
    assert t.min().item() == x3.min()
    assert t.argmax().item() == x3.argmax() and t.argmin().item() == x3.argmin()
    assert t.sum().shape == ()
    assert t.norm().item() == pytest.approx(np.linalg.norm(x3.ravel()))
    assert t.norm(p=1).item() == pytest.approx(np.abs(x3).sum())
    assert t.norm(p=math.inf).item() == pytest.approx(np.abs(x3).max())
    assert t.norm(p=3).item() == pytest.approx((np.abs(x3) ** 3).sum() ** (1 / 3))
    np.testing.assert_allclose(A(t.norm(dim=1)), np.linalg.norm(x3, axis=1))
    np.testing.assert_allclose(A(ef.maximum(t, ef.tensor(0.0, dtype=ef.float64))), np.maximum(x3, 0))
    assert ef.tensor([1, 2, 3]).sum().dtype == ef.int64
    assert ef.tensor([True, True, False]).sum().item() == 2
    assert bool(ef.tensor([1, 0]).any()) and not bool(ef.tensor([1, 0]).all())


def test_reduction_errors():
    t = ef.ones(2, 3)
    with pytest.raises(IndexError):
        t.sum(dim=2)
    with pytest.raises(RuntimeError):
        ef.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError):
        ef.zeros(0).max()


# --------------------------------------------------------------------------------------------------
# shape ops


def test_shape_ops():
    a = np.arange(24.0).reshape(2, 3, 4)
    t = ef.tensor(a)
    np.testing.assert_array_equal(A(t.reshape(6, 4)), a.reshape(6, 4))
    np.testing.assert_array_equal(A(t.reshape(-1, 4)), a.reshape(-1, 4))
    np.testing.assert_array_equal(A(t.view(4, 6)), a.reshape(4, 6))
    np.testing.assert_array_equal(A(t.view((4, 6))), a.reshape(4, 6))
    np.testing.assert_array_equal(A(t.flatten()), a.ravel())
    np.testing.assert_array_equal(A(t.flatten(1)), a.reshape(2, 12))
    np.testing.assert_array_equal(A(t.permute(2, 0, 1)), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(A(t.permute((1, 2, 0))), a.transpose(1, 2, 0))
    np.testing.assert_array_equal(A(t.transpose(0, 2)), a.swapaxes(0, 2))
    np.testing.assert_array_equal(A(t[0].T), a[0].T)
    np.testing.assert_array_equal(A(t.T), a.transpose(2, 1, 0))
    np.testing.assert_array_equal(A(t[0].t()), a[0].T)
    np.testing.assert_array_equal(A(t.unsqueeze(1)), a[:, None])
    np.testing.assert_array_equal(A(t.unsqueeze(-1)), a[..., None])
    np.testing.assert_array_equal(A(t.unsqueeze(1).squeeze(1)), a)
    np.testing.assert_array_equal(A(ef.ones(1, 3, 1).squeeze()), np.ones(3))
    assert ef.ones(1, 3, 1).squeeze(0).shape == (3, 1)
    assert ef.ones(2, 3).squeeze(0).shape == (2, 3)  # not size 1: kept
    np.testing.assert_array_equal(A(ef.tensor([[1.0], [2.0]]).expand(2, 3)), [[1, 1, 1], [2, 2, 2]])
    np.testing.assert_array_equal(A(ef.tensor([1.0, 2.0]).expand(3, -1)), [[1, 2]] * 3)
    np.testing.assert_array_equal(A(ef.tensor([[1.0], [2.0]]).expand_as(ef.ones(2, 2))), [[1, 1], [2, 2]])
    np.testing.assert_array_equal(A(ef.tensor([[1.0, 2.0]]).repeat(2, 3)), np.tile([[1.0, 2.0]], (2, 3)))
    np.testing.assert_array_equal(A(ef.tensor([1.0, 2.0]).repeat(2, 2)), np.tile([1.0, 2.0], (2, 2)))
    parts = t.chunk(2, dim=2)
    assert len(parts) == 2
    for p, q in zip(parts, np.split(a, 2, axis=2)):
        np.testing.assert_array_equal(A(p), q)
    parts = t.split([1, 3], dim=2)
    np.testing.assert_array_equal(A(parts[1]), a[:, :, 1:])
    parts = t.split(2, dim=1)
    assert [p.shape[1] for p in parts] == [2, 1]
    np.testing.assert_array_equal(A(ef.cat([t, t], dim=1)), np.concatenate([a, a], axis=1))
    np.testing.assert_array_equal(A(ef.cat([t, t], -1)), np.concatenate([a, a], axis=-1))
    np.testing.assert_array_equal(A(ef.stack([t, t], dim=0)), np.stack([a, a]))
    np.testing.assert_array_equal(A(ef.stack([t, t], dim=3)), np.stack([a, a], axis=3))
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.shape == ef.Size([2, 3, 4]) and repr(t.shape) == "einframe.Size([2, 3, 4])"
    assert t.ndim == 3 and t.dim() == 3 and t.numel() == 24 and len(t) == 2


def test_shape_errors():
    t = ef.ones(2, 3)
    with pytest.raises(RuntimeError, match="invalid for input of size 6"):
        t.reshape(4, 2)
    with pytest.raises(RuntimeError):
        t.expand(3, 3)
    with pytest.raises(RuntimeError):
        ef.cat([t, ef.ones(2, 4)], dim=0)
    with pytest.raises(RuntimeError):
        ef.stack([t, ef.ones(3, 2)])
    with pytest.raises(RuntimeError):
        t.permute(0, 0)
    with pytest.raises(IndexError):
        t.transpose(0, 2)


def test_shape_ops_are_differentiable():
    x = ef.randn(2, 3, dtype=ef.float64, requires_grad=True)
    y = ef.cat([x.permute(1, 0).reshape(2, 3), x.unsqueeze(0).expand(2, 2, 3).sum(0)], dim=0)
    y.backward(ef.ones(4, 3, dtype=ef.float64))
    np.testing.assert_array_equal(A(x.grad), np.full((2, 3), 3.0))


# --------------------------------------------------------------------------------------------------
# indexing


@pytest.fixture
def arr():
    return np.arange(60.0).reshape(3, 4, 5)


@pytest.mark.parametrize(
    "key",
    [
        1, -1, (1, 2), (1, 2, 3), slice(1, None), (slice(None), 1), (slice(None, None, 2), slice(1, 4, 2)),
        None, (None, 1), (Ellipsis, 2), (1, Ellipsis), (Ellipsis, None), (slice(None), None, 1),
        [0, 2], ([0, 2], [1, 3]), (slice(None), [3, 0, 0]), (1, [0, 1], slice(2, 4)),
        ([[0, 1], [2, 2]],), (-2, slice(-3, None)),
    ],
)  # fmt: skip
def test_getitem_matches_numpy(arr, key):
    t = ef.tensor(arr)

    def conv(k):
        return ef.tensor(k) if isinstance(k, list) else k

    tkey = tuple(conv(k) for k in key) if isinstance(key, tuple) else conv(key)
    npkey = (
        tuple(np.array(k) if isinstance(k, list) else k for k in key)
        if isinstance(key, tuple)
        else (np.array(key) if isinstance(key, list) else key)
    )
    np.testing.assert_array_equal(A(t[tkey]), arr[npkey])


def test_getitem_bool_mask_and_int_arrays(arr):
    t = ef.tensor(arr)
    mask = arr[:, :, 0] > 20
    np.testing.assert_array_equal(A(t[ef.tensor(mask)]), arr[mask])
    np.testing.assert_array_equal(A(t[t > 30]), arr[arr > 30])
    np.testing.assert_array_equal(A(t[np.array([2, 0])]), arr[[2, 0]])
    np.testing.assert_array_equal(A(t[:, ef.tensor([True, False, True, False])]), arr[:, [True, False, True, False]])
    assert t[0, 0, 0].item() == 0.0 and t[2, 3, 4].item() == 59.0


def test_getitem_errors(arr):
    t = ef.tensor(arr)
    with pytest.raises(IndexError):
        t[3]
    with pytest.raises(IndexError):
        t[0, -5]
    with pytest.raises(IndexError):
        t[ef.tensor([0.5])]
    with pytest.raises((IndexError, TypeError)):
        t["a"]


def test_basic_index_is_a_view(arr):
    t = ef.tensor(arr)
    v = t[1, :, ::2]
    v.fill_(-1.0)
    expected = arr.copy()
    expected[1, :, ::2] = -1.0
    np.testing.assert_array_equal(A(t), expected)


@pytest.mark.parametrize(
    "key,value",
    [
        (1, 0.0), ((0, 1), -1.0), (slice(None, 2), 7.0), ((Ellipsis, 0), 3.0), ((slice(None), None, 1), 2.0),
        ([0, 2], 5.0), (([0, 2], [1, 3]), 9.0), ((0, slice(1, 3)), [[1.0, 2.0, 3.0, 4.0, 5.0]] * 2),
        ((slice(None), 2), np.arange(15.0).reshape(3, 5)),
    ],
)  # fmt: skip
def test_setitem_matches_numpy(arr, key, value):
    t = ef.tensor(arr)
    ref = arr.copy()
    tkey = (
        tuple(ef.tensor(k) if isinstance(k, list) else k for k in key)
        if isinstance(key, tuple)
        else (ef.tensor(key) if isinstance(key, list) else key)
    )
    npkey = (
        tuple(np.array(k) if isinstance(k, list) else k for k in key)
        if isinstance(key, tuple)
        else (np.array(key) if isinstance(key, list) else key)
    )
    t[tkey] = value
    ref[npkey] = value
    np.testing.assert_array_equal(A(t), ref)
    t2 = ef.tensor(arr)
    t2[tkey] = ef.tensor(np.asarray(value, dtype=np.float32))
    np.testing.assert_array_equal(A(t2), ref)


def test_setitem_bool_mask(arr):
    t = ef.tensor(arr)
    t[t > 30] = 0.0
    ref = arr.copy()
    ref[ref > 30] = 0.0
    np.testing.assert_array_equal(A(t), ref)
    i = ef.tensor([1, 2, 3])
    i[ef.tensor([True, False, True])] = 0
    np.testing.assert_array_equal(A(i), [0, 2, 0])


def test_setitem_differentiable():
    x = ef.randn(3, 4, dtype=ef.float64, requires_grad=True)
    v = ef.randn(4, dtype=ef.float64, requires_grad=True)
    y = x * 2
    y[1] = v * 3
    y.sum().backward()
    expected = np.full((3, 4), 2.0)
    expected[1] = 0.0
    np.testing.assert_array_equal(A(x.grad), expected)
    np.testing.assert_array_equal(A(v.grad), np.full(4, 3.0))


def test_index_gradient_accumulates_repeats():
    x = ef.randn(4, dtype=ef.float64, requires_grad=True)
    x[ef.tensor([0, 0, 3])].sum().backward()
    np.testing.assert_array_equal(A(x.grad), [2.0, 0.0, 0.0, 1.0])


# --------------------------------------------------------------------------------------------------
# math


MATH = [
    ("exp", np.exp, None), ("log", np.log, "pos"), ("sqrt", np.sqrt, "pos"), ("abs", np.abs, None),
    ("sign", np.sign, None), ("sin", np.sin, None), ("cos", np.cos, None), ("tanh", np.tanh, None),
    ("sigmoid", lambda a: 1 / (1 + np.exp(-a)), None), ("relu", lambda a: np.maximum(a, 0), None),
    ("rsqrt", lambda a: 1 / np.sqrt(a), "pos"), ("square", np.square, None), ("reciprocal", lambda a: 1 / a, "pos"),
    ("log1p", np.log1p, "pos"), ("expm1", np.expm1, None),
]  # fmt: skip


@pytest.mark.parametrize("name,ref,domain", MATH, ids=[m[0] for m in MATH])
def test_math_functions(name, ref, domain):
    a = np.random.default_rng(2).standard_normal((3, 4))
    if domain == "pos":
        a = np.abs(a) + 0.1
    t = ef.tensor(a, dtype=ef.float64)
    np.testing.assert_allclose(A(getattr(t, name)()), ref(a), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(A(getattr(ef, name)(t)), ref(a), rtol=1e-12, atol=1e-15)
    t32 = ef.tensor(a, dtype=ef.float32)
    r = getattr(t32, name)()
    assert r.dtype == ef.float32
    np.testing.assert_allclose(A(r), ref(a), rtol=1e-5, atol=1e-6)


def test_sigmoid_does_not_overflow():
    t = ef.tensor([-1000.0, 0.0, 1000.0])
    np.testing.assert_array_equal(A(t.sigmoid()), [0.0, 0.5, 1.0])


def test_pow_clamp_where_maximum_minimum():
    a = np.random.default_rng(3).standard_normal((3, 4))
    b = np.random.default_rng(4).standard_normal((3, 4))
    x, y = ef.tensor(a, dtype=ef.float64), ef.tensor(b, dtype=ef.float64)
    np.testing.assert_allclose(A(x.abs().pow(1.5)), np.abs(a) ** 1.5)
    np.testing.assert_allclose(A(ef.pow(x.abs(), y)), np.abs(a) ** b)
    np.testing.assert_allclose(A(x.clamp(-0.5, 0.5)), np.clip(a, -0.5, 0.5))
    np.testing.assert_allclose(A(x.clamp(min=0.1)), np.maximum(a, 0.1))
    np.testing.assert_allclose(A(x.clamp(max=0.1)), np.minimum(a, 0.1))
    np.testing.assert_allclose(A(ef.clamp(x, min=y)), np.maximum(a, b))
    with pytest.raises(RuntimeError):
        x.clamp()
    np.testing.assert_allclose(A(ef.where(x > 0, x, y)), np.where(a > 0, a, b))
    np.testing.assert_allclose(A(ef.where(x > 0, x, 0.0)), np.where(a > 0, a, 0.0))
    np.testing.assert_allclose(A(x.where(x > 0, -1.0)), np.where(a > 0, a, -1.0))
    np.testing.assert_allclose(A(ef.maximum(x, y)), np.maximum(a, b))
    np.testing.assert_allclose(A(ef.minimum(x, y)), np.minimum(a, b))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax(dim):
    a = np.random.default_rng(5).standard_normal((3, 4)) * 10
    t = ef.tensor(a, dtype=ef.float64)
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    sm = e / e.sum(axis=dim, keepdims=True)
    np.testing.assert_allclose(A(t.softmax(dim)), sm, rtol=1e-12)
    np.testing.assert_allclose(A(ef.softmax(t, dim=dim)), sm, rtol=1e-12)
    m = a.max(axis=dim, keepdims=True)
    np.testing.assert_allclose(
        A(t.log_softmax(dim)), a - m - np.log(np.exp(a - m).sum(axis=dim, keepdims=True)), rtol=1e-12, atol=1e-13
    )
    big = ef.tensor([[1000.0, 0.0, -1000.0]])
    assert np.isfinite(A(big.softmax(-1))).all() and np.isfinite(A(big.log_softmax(-1))).all()


# --------------------------------------------------------------------------------------------------
# products


def test_matmul_family():
    rng = np.random.default_rng(6)
    m, n, v, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal(4), rng.standard_normal(3)
    b1, b2 = rng.standard_normal((5, 3, 4)), rng.standard_normal((5, 4, 2))
    T = lambda a: ef.tensor(a, dtype=ef.float64)  # noqa: E731
    np.testing.assert_allclose(A(T(m) @ T(n)), m @ n, rtol=1e-12)
    np.testing.assert_allclose(A(ef.matmul(T(m), T(v))), m @ v, rtol=1e-12)
    np.testing.assert_allclose(A(T(w) @ T(m)), w @ m, rtol=1e-12)
    np.testing.assert_allclose(A(T(v) @ T(v)), v @ v, rtol=1e-12)
    np.testing.assert_allclose(A(T(b1) @ T(b2)), b1 @ b2, rtol=1e-12)
    np.testing.assert_allclose(A(T(b1) @ T(n)), b1 @ n, rtol=1e-12)
    x4, y4 = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    np.testing.assert_allclose(A(T(x4) @ T(y4)), x4 @ y4, rtol=1e-12)
    np.testing.assert_allclose(A(T(m).mm(T(n))), m @ n, rtol=1e-12)
    np.testing.assert_allclose(A(ef.bmm(T(b1), T(b2))), b1 @ b2, rtol=1e-12)
    assert T(v).dot(T(v)).item() == pytest.approx(v @ v)
    np.testing.assert_allclose(A(ef.outer(T(v), T(w))), np.outer(v, w), rtol=1e-12)
    np.testing.assert_allclose(A(T(m) @ T(n)), np.matmul(m, n))
    assert (ef.ones(2, 3) @ ef.ones(3, 2)).dtype == ef.float32
    assert (ef.tensor([[1, 2]]) @ ef.tensor([[3], [4]])).item() == 11


def test_matmul_errors():
    with pytest.raises(RuntimeError, match="2x3 and 4x2"):
        ef.ones(2, 3) @ ef.ones(4, 2)
    with pytest.raises(RuntimeError):
        ef.ones(2, 3).mm(ef.ones(3))
    with pytest.raises(RuntimeError):
        ef.bmm(ef.ones(2, 3, 4), ef.ones(3, 4, 2))
    with pytest.raises(RuntimeError):
        ef.dot(ef.ones(2, 2), ef.ones(2))
    with pytest.raises(RuntimeError):
        ef.matmul(ef.tensor(1.0), ef.ones(2))


def test_products_are_contractions():
    a = ef.randn(2, 3, requires_grad=True)
    for y in [
        a @ ef.randn(3, 4),
        a.sum(0),
        a.t(),
        ef.outer(a[0], a[1]),
        ef.randn(5, 2, 3).bmm(ef.randn(5, 3, 2).requires_grad_()),
    ]:
        assert type(y.grad_fn).__name__ == "Contract", y.grad_fn


# --------------------------------------------------------------------------------------------------
# in-place ops


def test_inplace_ops():
    x = ef.ones(2, 3)
    vc = x._version
    assert x.add_(2) is x
    np.testing.assert_array_equal(A(x), np.full((2, 3), 3.0))
    x.mul_(ef.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(A(x), [[3, 6, 9], [3, 6, 9]])
    x.add_(ef.ones(2, 3), alpha=-1)
    np.testing.assert_array_equal(A(x), [[2, 5, 8], [2, 5, 8]])
    x.zero_()
    np.testing.assert_array_equal(A(x), np.zeros((2, 3)))
    x.fill_(4.5)
    np.testing.assert_array_equal(A(x), np.full((2, 3), 4.5))
    x.copy_(ef.tensor([1, 2, 3]))  # broadcast + cast
    np.testing.assert_array_equal(A(x), [[1, 2, 3], [1, 2, 3]])
    assert x.dtype == ef.float32
    x.uniform_(2.0, 3.0)
    assert (A(x) >= 2).all() and (A(x) < 3).all()
    x.normal_(10.0, 0.01)
    assert np.abs(A(x) - 10).max() < 0.1
    assert x._version > vc
    y = ef.tensor([-1.0, 4.0])
    y.sub_(1).div_(2).clamp_(min=0).sqrt_()
    np.testing.assert_allclose(A(y), [0.0, math.sqrt(1.5)])


def test_inplace_ops_differentiable_on_non_leaf():
    x = ef.tensor([1.0, 2.0], dtype=ef.float64, requires_grad=True)
    y = x * 1
    y.mul_(3).add_(x)
    y.sum().backward()
    np.testing.assert_array_equal(A(x.grad), [4.0, 4.0])


# --------------------------------------------------------------------------------------------------
# conversions


def test_conversions():
    t = ef.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert t[0, 0].item() == 1.5 and isinstance(t[0, 0].item(), float)
    assert isinstance(ef.tensor([3]).item(), int)
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert ef.tensor(2.0).tolist() == 2.0
    assert float(ef.tensor([2.5])) == 2.5 and int(ef.tensor(3.7)) == 3
    with pytest.raises(RuntimeError):
        t.item()
    n = t.numpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32
    n[0, 0] = 9.0  # numpy() shares memory on the CPU, as torch
    assert t[0, 0].item() == 9.0
    r = ef.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        r.numpy()
    d = r.detach()
    assert not d.requires_grad and d.grad_fn is None
    d.numpy()[0] = 5.0  # detach shares memory
    assert r.item() == 5.0
    c = t.clone()
    c.fill_(0.0)
    assert t[0, 1].item() == 2.0
    assert t.to(ef.float64).dtype == ef.float64
    assert t.to(dtype=ef.int64).tolist() == [[9, 2], [3, 4]]
    assert t.double().dtype == ef.float64 and t.long().dtype == ef.int64 and t.int().dtype == ef.int32
    assert t.float().dtype == ef.float32 and t.bool().dtype == ef.bool
    assert t.to("cpu") is t
    assert t.to(ef.float32) is t
    assert t.device == ef.device("cpu")
    assert t.type() == "einframe.float32"
    assert np.asarray(t).shape == (2, 2)
    assert t.data is not t and A(t.data).tolist() == [[9.0, 2.0], [3.0, 4.0]]
    assert ef.from_numpy(n) is not None and ef.from_numpy(n).dtype == ef.float32
    assert ef.as_tensor(n).numpy() is n


def test_clone_and_to_are_differentiable():
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone() * 2 + x.to(ef.float64).float() * 3
    assert y.requires_grad and not y.is_leaf
    y.sum().backward()
    np.testing.assert_array_equal(A(x.grad), [5.0, 5.0])


# --------------------------------------------------------------------------------------------------
# repr


def test_repr_like_pytorch():
    assert repr(ef.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(ef.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert repr(ef.tensor([1.5, 2.25])) == "tensor([1.5000, 2.2500])"
    assert repr(ef.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(ef.tensor([True, False])) == "tensor([ True, False])"
    assert repr(ef.tensor(3.0)) == "tensor(3.)"
    assert repr(ef.tensor([1.0], dtype=ef.float64)) == "tensor([1.], dtype=einframe.float64)"
    assert repr(ef.tensor([1, 2], dtype=ef.int32)) == "tensor([1, 2], dtype=einframe.int32)"
    assert repr(ef.zeros(2, 2)) == "tensor([[0., 0.],\n        [0., 0.]])"
    x = ef.tensor([1.0, 2.0], requires_grad=True)
    r = repr(x * 2)
    assert r.startswith("tensor([2., 4.], grad_fn=<") and r.endswith("Backward>)")
    assert repr(x * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"
    assert "grad_fn=<ContractBackward>" in repr(x.sum())
    assert repr(ef.zeros(0)) == "tensor([])"
    assert str(ef.tensor([1.0])) == repr(ef.tensor([1.0]))
    assert f"{ef.tensor(2.5):.1f}" == "2.5"


@pytest.mark.parametrize("dtype", ["bool", "int32", "float64"])
def test_triu_tril_keep_the_dtype(dtype):
    x = ef.ones(3, 3, dtype=getattr(ef, dtype))
    for fn, want in ((ef.triu, np.triu), (ef.tril, np.tril)):
        y = fn(x, 1)
        assert y.dtype == x.dtype
        np.testing.assert_array_equal(y.numpy(), want(x.numpy(), 1))


@pytest.mark.parametrize("shape,dims", [((2, 3), (0, 1)), ((3, 2), (0, 1)), ((2, 3, 4), (1, 2)), ((2, 3, 4), (2, 0))])
@pytest.mark.parametrize("offset", [-3, -1, 0, 1, 3])
def test_diagonal_of_rectangular_dims(shape, dims, offset):
    x = np.arange(np.prod(shape), dtype=float).reshape(shape)
    want = np.diagonal(x, offset, *dims)
    np.testing.assert_array_equal(ef.diagonal(ef.tensor(x), offset, *dims).numpy(), want)
    if len(shape) == 2:
        assert ef.trace(ef.tensor(x)).item() == np.trace(x)


def test_domain_edges_are_silent_as_in_pytorch_but_user_numpy_still_warns():
    import subprocess
    import sys

    code = (
        "import numpy as np, einframe as ef\n"
        "print(ef.log(ef.tensor([0.0, -1.0])).tolist(), (ef.tensor(0.0) / ef.tensor(0.0)).item())\n"
        "np.log(np.array(0.0))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[-inf, nan] nan"
    assert r.stderr.count("RuntimeWarning") == 1 and "<string>:3" in r.stderr  # only the user's own np.log
