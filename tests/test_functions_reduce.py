"""Reductions and scans (einframe/_functions_reduce.py): values vs numpy (NaN, ties, zeros, long dims),
float64 gradchecks (and gradgradchecks for the scans, prod and quantile), dtypes, errors."""

import math

import numpy as np
import pytest

import einframe as ef
from einframe import _functions_reduce as R
from einframe.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)
nan = float("nan")


def t64(a, rg=True):
    return ef.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def close(t, ref, tol=1e-7):
    a = t.detach().numpy() if isinstance(t, ef.Tensor) else np.asarray(t)
    ref = np.asarray(ref)
    assert a.shape == ref.shape, (a.shape, ref.shape)
    np.testing.assert_allclose(a, ref, rtol=tol, atol=tol, equal_nan=True)


X = rng.standard_normal((3, 5, 4))
XZ = X.copy()
XZ[0, 1, 2] = 0.0
XZ[1, :, 3] = 0.0
XZ[2, 2, :] = 0.0
XZ[2, 4, :] = 0.0  # two zeros along dim 1


# ---------------------------------------------------------------------------------------------
# cumsum / cumprod / prod / logcumsumexp


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_cumsum_cumprod_prod_values(dim):
    x = ef.tensor(XZ)
    close(ef.cumsum(x, dim), np.cumsum(XZ, dim))
    close(x.cumsum(dim), np.cumsum(XZ, dim))
    close(ef.cumprod(x, dim), np.cumprod(XZ, dim))
    close(ef.prod(x, dim), np.prod(XZ, dim))
    close(x.prod(dim, keepdim=True), np.prod(XZ, dim, keepdims=True))
    close(ef.logcumsumexp(x, dim), np.logaddexp.accumulate(XZ, dim))


def test_prod_all_and_dtypes():
    close(ef.prod(ef.tensor(XZ)), np.prod(XZ))
    close(ef.prod(ef.tensor(X), keepdim=True), np.prod(X, keepdims=True))
    assert ef.prod(ef.tensor([[1.0, 2.0], [3.0, 4.0]]), 1).tolist() == [2.0, 12.0]
    i = ef.tensor([[1, 2, 3], [4, 5, 6]], dtype=ef.int32)
    assert ef.prod(i).dtype == ef.int64 and ef.prod(i).item() == 720
    assert ef.prod(i, 0).tolist() == [4, 10, 18]
    assert ef.prod(ef.tensor([True, False])).dtype == ef.int64
    assert ef.prod(i, 1, dtype=ef.float64).dtype == ef.float64
    assert ef.prod(ef.ones(0)).item() == 1.0
    assert ef.prod(ef.tensor(3.0), 0).item() == 3.0


def test_cumsum_cumprod_dtypes():
    i = ef.tensor([1, 2, 3], dtype=ef.int32)
    assert ef.cumsum(i, 0).dtype == ef.int64 and ef.cumsum(i, 0).tolist() == [1, 3, 6]
    assert ef.cumprod(i, 0).dtype == ef.int64 and ef.cumprod(i, 0).tolist() == [1, 2, 6]
    assert ef.cumsum(ef.tensor([True, False, True]), 0).tolist() == [1, 1, 2]
    f = ef.cumsum(i, 0, dtype=ef.float64)
    assert f.dtype == ef.float64 and f.tolist() == [1.0, 3.0, 6.0]
    assert ef.cumsum(ef.ones(3, dtype=ef.float32), 0).dtype == ef.float32
    assert ef.cumsum(ef.tensor(2.0), 0).item() == 2.0  # 0-d: dim 0 allowed
    assert ef.cumsum(ef.zeros(2, 0), 1).shape == (2, 0)


@pytest.mark.parametrize("n", [257, 1000, 70_000])
def test_cumsum_long_dims_blocked(n):
    a = rng.standard_normal((2, n))
    close(ef.cumsum(ef.tensor(a), 1), np.cumsum(a, 1), tol=1e-8)
    close(ef.cumsum(ef.tensor(a.T.copy()), 0), np.cumsum(a.T, 0), tol=1e-8)


def test_cumsum_blocked_grad(monkeypatch):
    monkeypatch.setattr(R, "CUMSUM_BLOCK", 3)  # 11 > 3 * 3: two levels of blocks
    a = rng.standard_normal((2, 11, 2))
    close(ef.cumsum(ef.tensor(a), 1), np.cumsum(a, 1))
    x = t64(a)
    assert gradcheck(lambda v: ef.cumsum(v, 1), (x,))
    assert gradgradcheck(lambda v: ef.cumsum(v, 1) ** 2, (x,))


def test_cumprod_zeros_exact_and_grad():
    x = t64([2.0, 0.0, 3.0, 0.0, 5.0])
    y = ef.cumprod(x, 0)
    assert y.tolist() == [2.0, 0.0, 0.0, 0.0, 0.0]
    y.sum().backward()
    # d/dx_i sum_j prod_{k<=j} x_k, by hand: x0 -> 1 + 0, x1 -> 2 + 2*3 = 8, x2 -> 0, x3 -> 0, x4 -> 0
    assert x.grad.tolist() == [1.0, 8.0, 0.0, 0.0, 0.0]
    x = t64([2.0, 0.0, 3.0])
    ef.prod(x).backward()
    assert x.grad.tolist() == [0.0, 6.0, 0.0]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 13])
def test_scans_odd_lengths(n):
    a = rng.standard_normal((2, n))
    a[0, n // 2] = 0.0
    close(ef.cumprod(ef.tensor(a), 1), np.cumprod(a, 1))
    close(ef.logcumsumexp(ef.tensor(a), 1), np.logaddexp.accumulate(a, 1))
    close(ef.prod(ef.tensor(a), 1), np.prod(a, 1))


def test_logcumsumexp_stable_and_infinite():
    close(ef.logcumsumexp(ef.tensor([-1000.0, 0.0, 1000.0]), 0), [-1000.0, 0.0, 1000.0])
    close(ef.logcumsumexp(ef.tensor([0.0, 0.0]), 0), [0.0, math.log(2)])
    close(ef.logcumsumexp(ef.tensor([-math.inf, -math.inf, 0.0]), 0), [-math.inf, -math.inf, 0.0])
    x = t64([-math.inf, -math.inf, 0.0, 1.0])
    ef.logcumsumexp(x, 0).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    with pytest.raises(RuntimeError):
        ef.logcumsumexp(ef.tensor([1, 2]), 0)


@pytest.mark.parametrize(
    "fn",
    [
        lambda v: ef.cumsum(v, 1),
        lambda v: ef.cumprod(v, 1),
        lambda v: ef.cumprod(v, 0),
        lambda v: ef.prod(v, 1),
        lambda v: ef.prod(v),
        lambda v: ef.logcumsumexp(v, 1),
        lambda v: ef.logcumsumexp(v, 0),
    ],
    ids=["cumsum", "cumprod1", "cumprod0", "prod1", "prod_all", "logcumsumexp1", "logcumsumexp0"],
)
def test_scan_gradcheck_gradgradcheck(fn):
    a = rng.standard_normal((3, 5))
    a[1, 2] = 0.0  # a zero inside the products
    x = t64(a)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_scans_forward_mode():
    import einframe.autograd.forward_ad as fwAD

    with fwAD.dual_level():
        d = fwAD.make_dual(ef.tensor([1.0, 2.0, 0.0, 3.0]), ef.ones(4))
        close(fwAD.unpack_dual(ef.cumprod(d, 0)).tangent, [1.0, 3.0, 2.0, 6.0])
        close(fwAD.unpack_dual(ef.cumsum(d, 0)).tangent, [1.0, 2.0, 3.0, 4.0])


def test_inplace_scans():
    y = ef.tensor([1.0, 2.0, 3.0])
    assert y.cumsum_(0) is y and y.tolist() == [1.0, 3.0, 6.0]
    y.cumprod_(0)
    assert y.tolist() == [1.0, 3.0, 18.0]


# ---------------------------------------------------------------------------------------------
# cummax / cummin


def test_cummax_cummin_ties_and_nan():
    x = ef.tensor([1.0, 3.0, 3.0, 2.0, nan, 5.0, nan, 1.0])
    r = ef.cummax(x, 0)
    assert type(r).__name__ == "cummax" and r._fields == ("values", "indices")
    close(r.values, [1, 3, 3, 3, nan, nan, nan, nan])
    assert r.indices.tolist() == [0, 1, 2, 2, 4, 4, 6, 6]  # a later tie wins; NaN propagates (PyTorch's)
    r = x.cummin(0)
    close(r.values, [1, 1, 1, 1, nan, nan, nan, nan])
    assert r.indices.tolist() == [0, 0, 0, 0, 4, 4, 6, 6]
    i = ef.cummax(ef.tensor([1, 3, 3, 2, 3]), 0)
    assert i.values.tolist() == [1, 3, 3, 3, 3] and i.indices.tolist() == [0, 1, 2, 2, 4]


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_cummax_cummin_values(dim):
    x = ef.tensor(X)
    close(ef.cummax(x, dim).values, np.maximum.accumulate(X, dim))
    close(ef.cummin(x, dim).values, np.minimum.accumulate(X, dim))
    r = ef.cummax(x, dim)
    close(ef.gather(x, dim, r.indices), r.values)


def test_cummax_grad_goes_to_the_source():
    x = t64([1.0, 3.0, 2.0, 4.0])
    ef.cummax(x, 0).values.sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 0.0, 1.0]
    assert gradcheck(lambda v: ef.cummin(v, 1).values, (t64(rng.standard_normal((2, 5))),))


# ---------------------------------------------------------------------------------------------
# median / nanmedian / mode


def _lower_median(a, axis):
    s = np.sort(a, axis=axis)
    return np.take(s, (a.shape[axis] - 1) // 2, axis=axis)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_median_dim(dim):
    x = ef.tensor(X)
    r = ef.median(x, dim)
    assert type(r).__name__ == "median"
    close(r.values, _lower_median(X, dim))
    close(ef.gather(x, dim, r.indices.unsqueeze(dim)).squeeze(dim), r.values)
    rk = x.median(dim, keepdim=True)
    assert rk.values.shape == rk.indices.shape and rk.values.shape[dim] == 1


def test_median_all_and_ties():
    assert ef.median(ef.tensor([4.0, 1.0, 3.0, 2.0])).item() == 2.0  # the lower median
    close(ef.median(ef.tensor(X)), _lower_median(X.ravel(), 0))
    x = t64([1.0, 2.0, 2.0, 0.5, 3.0, 2.0])
    ef.median(x).backward()  # tied medians share the gradient evenly (PyTorch's median())
    close(x.grad, [0, 1 / 3, 1 / 3, 0, 0, 1 / 3])
    x = t64([1.0, 2.0, 2.0, 0.5])
    ef.median(x, 0).values.backward()  # with dim: to the one index
    assert x.grad.sum().item() == 1.0 and x.grad[ef.median(x.detach(), 0).indices].item() == 1.0
    assert ef.median(ef.tensor([3, 1, 2])).item() == 2 and ef.median(ef.tensor([3, 1, 2])).dtype == ef.int64


def test_median_nan():
    a = np.array([[1.0, nan, 2.0, nan], [2.0, 2.0, 1.0, 1.0], [3.0, 1.0, 2.0, 0.0]])
    r = ef.median(ef.tensor(a), 1)
    close(r.values, [nan, 1.0, 1.0])
    assert r.indices[0].item() == 1  # the first NaN (as PyTorch)
    n = ef.nanmedian(ef.tensor(a), 1)
    assert type(n).__name__ == "nanmedian"
    close(n.values, [1.0, 1.0, 1.0])
    assert n.indices[0].item() == 0
    assert math.isnan(ef.median(ef.tensor(a)).item())
    assert ef.nanmedian(ef.tensor(a)).item() == 1.0
    assert math.isnan(ef.nanmedian(ef.tensor([nan, nan])).item())
    assert math.isnan(ef.nanmedian(ef.tensor([[nan, nan]]), 1).values.item())
    b = rng.standard_normal((4, 7))
    b[b > 0.8] = nan
    close(ef.nanmedian(ef.tensor(b), 1).values, [_lower_median(r[~np.isnan(r)], 0) for r in b])


def test_median_grad():
    assert gradcheck(lambda v: ef.median(v, 1).values, (t64(rng.standard_normal((3, 6))),))
    assert gradcheck(lambda v: ef.nanmedian(v), (t64(rng.standard_normal((3, 5))),))


def test_mode():
    r = ef.mode(ef.tensor([[1, 2, 2, 1, 3], [3, 3, 1, 1, 1]]), 1)
    assert type(r).__name__ == "mode"
    assert r.values.tolist() == [1, 1]  # the smallest of the most frequent
    assert r.indices.tolist() == [3, 4]  # its last occurrence (as PyTorch)
    x = t64([[0.5, 2.0, 2.0, 0.1], [7.0, 7.0, 7.0, 1.0]])
    m = x.mode()
    assert m.values.tolist() == [2.0, 7.0]
    m.values.sum().backward()
    assert x.grad.sum().item() == 2.0
    assert ef.mode(ef.tensor([1.0, nan, nan, 2.0]), 0).values.item() == 1.0
    assert ef.mode(ef.tensor([[1, 1], [2, 3]]), 0, keepdim=True).values.shape == (1, 2)


# ---------------------------------------------------------------------------------------------
# quantile / nanquantile


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "nearest", "midpoint"])
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_quantile_vs_numpy(method, dim):
    q = [0.0, 0.1, 0.25, 0.5, 0.7, 1.0]
    got = ef.quantile(ef.tensor(X), t64(q, rg=False), dim, interpolation=method)
    close(got, np.quantile(X, q, axis=dim, method=method))
    got = ef.quantile(ef.tensor(X), 0.3, dim, keepdim=True, interpolation=method)
    close(got, np.quantile(X, 0.3, axis=dim, keepdims=True, method=method))


def test_quantile_known_values_and_shapes():
    assert ef.quantile(ef.tensor([0.0, 1.0, 2.0, 3.0]), 0.5).item() == 1.5
    # nearest rounds half to even (PyTorch); values from torch.quantile
    v = ef.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 10.0])
    q = ef.tensor([0.1, 0.3, 0.5, 0.7, 0.9])
    assert ef.quantile(v, q, interpolation="nearest").tolist() == [0.0, 2.0, 2.0, 4.0, 4.0]
    close(ef.quantile(v, q), [0.5, 1.5, 2.5, 3.5, 7.0], tol=1e-6)
    a = ef.arange(12.0).reshape(3, 4)
    assert ef.quantile(a, ef.tensor([0.25, 0.6]), dim=1, keepdim=True).shape == (2, 3, 1)
    assert ef.quantile(a, 0.6, dim=None, keepdim=True).shape == (1, 1)
    assert ef.quantile(a, ef.tensor(0.6), dim=1).shape == (3,)
    assert a.quantile(0.5).shape == ()


def test_nanquantile():
    a = X.copy()
    a[0, 0, :2] = nan
    a[1, 1, :] = nan
    close(ef.nanquantile(ef.tensor(a), 0.3, 2), np.nanquantile(a, 0.3, axis=2))
    close(ef.quantile(ef.tensor(a), 0.3, 2), np.quantile(a, 0.3, axis=2))  # NaN rows -> NaN
    close(ef.tensor(a).nanquantile(t64([0.2, 0.9], rg=False), 0), np.nanquantile(a, [0.2, 0.9], axis=0))
    assert math.isnan(ef.quantile(ef.tensor(a), 0.5).item())
    close(ef.nanquantile(ef.tensor(a), 0.5), np.nanquantile(a, 0.5))


def test_quantile_grad():
    x = t64([1.0, 2.0, 2.5, 0.5])
    ef.quantile(x, ef.tensor([0.3, 0.5], dtype=ef.float64)).sum().backward()
    close(x.grad, [1.4, 0.5, 0.0, 0.1])  # from torch.quantile
    x = t64(rng.standard_normal((3, 5)))
    q = ef.tensor([0.2, 0.75], dtype=ef.float64)
    assert gradcheck(lambda v: ef.quantile(v, q, 1), (x,))
    assert gradgradcheck(lambda v: ef.quantile(v, q, 1) ** 2, (x,))
    assert gradcheck(lambda v: ef.quantile(v, 0.4, interpolation="midpoint"), (x,))


def test_quantile_errors():
    with pytest.raises(RuntimeError, match="float or double"):
        ef.quantile(ef.tensor([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match=r"range \[0, 1\]"):
        ef.quantile(ef.tensor([1.0, 2.0]), 1.5)
    with pytest.raises(RuntimeError, match="same dtype"):
        ef.quantile(ef.tensor([1.0, 2.0]), ef.tensor([0.5], dtype=ef.float64))
    with pytest.raises(ValueError, match="interpolation"):
        ef.quantile(ef.tensor([1.0, 2.0]), 0.5, interpolation="cubic")
    with pytest.raises(RuntimeError, match="1D"):
        ef.quantile(ef.tensor([1.0, 2.0]), ef.tensor([[0.5]]))


# ---------------------------------------------------------------------------------------------
# NaN-aware and paired reductions


def test_nansum_nanmean():
    a = X.copy()
    a[a > 1.0] = nan
    for dim in [None, 0, (0, 2)]:
        close(ef.nansum(ef.tensor(a), dim), np.nansum(a, axis=dim))
        close(ef.tensor(a).nanmean(dim), np.nanmean(a, axis=dim))
    close(ef.nansum(ef.tensor(a), 1, keepdim=True), np.nansum(a, axis=1, keepdims=True))
    assert math.isnan(ef.nanmean(ef.tensor([nan, nan])).item())
    assert ef.nansum(ef.tensor([1, 2])).dtype == ef.int64
    with pytest.raises(RuntimeError, match="floating point"):
        ef.nanmean(ef.tensor([1, 2]))
    x = t64([1.0, nan, 3.0])
    ef.nanmean(x).backward()
    assert x.grad.tolist() == [0.5, 0.0, 0.5]


def test_std_mean_var_mean():
    x = ef.tensor(X)
    v, m = ef.var_mean(x, 1)
    close(v, X.var(1, ddof=1))
    close(m, X.mean(1))
    s, m = ef.std_mean(x, (0, 2), correction=0, keepdim=True)
    close(s, X.std((0, 2), keepdims=True))
    close(m, X.mean((0, 2), keepdims=True))
    s, m = ef.std_mean(x, unbiased=False)
    close(s, X.std())
    assert gradcheck(lambda a: ef.std_mean(a, 1)[0] + ef.std_mean(a, 1)[1], (t64(rng.standard_normal((3, 4))),))


def test_count_nonzero_aminmax():
    c = ef.tensor([[0, 1, 2], [0, 0, 3]])
    assert ef.count_nonzero(c).item() == 3 and ef.count_nonzero(c).dtype == ef.int64
    assert c.count_nonzero(0).tolist() == [0, 1, 2]
    assert ef.count_nonzero(c, (0, 1)).item() == 3
    r = ef.aminmax(ef.tensor(X), dim=1)
    assert r._fields == ("min", "max")
    close(r.min, X.min(1))
    close(r.max, X.max(1))
    r = ef.tensor(X).aminmax()
    assert r.min.item() == X.min() and r.max.item() == X.max()
    assert ef.aminmax(ef.tensor(X), dim=0, keepdim=True).max.shape == (1, 5, 4)


# ---------------------------------------------------------------------------------------------
# distances


def _cdist_ref(a, b, p):
    d = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == 0:
        return (d != 0).sum(-1).astype(a.dtype)
    if p == math.inf:
        return d.max(-1)
    return (d**p).sum(-1) ** (1 / p)


@pytest.mark.parametrize("p", [0, 1, 2, 3, 0.5, math.inf])
def test_cdist_dist_values(p):
    a, b = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 6, 3))
    close(ef.cdist(ef.tensor(a), ef.tensor(b), p), _cdist_ref(a, b, p))
    close(ef.dist(ef.tensor(a), ef.tensor(b[:, :1]), p), _cdist_ref(a.reshape(1, -1), (a - a + b[:, :1]).reshape(1, -1), p)[0, 0])


def test_cdist_large_uses_matmul_and_broadcasts():
    a, b = rng.standard_normal((3, 120, 40)), rng.standard_normal((1, 300, 40))
    close(ef.cdist(ef.tensor(a), ef.tensor(b)), _cdist_ref(a, np.broadcast_to(b, (3, 300, 40)), 2), tol=1e-6)


def test_cdist_grad_zero_distance_is_finite():
    x = t64(rng.standard_normal((4, 3)))
    for p in [1.0, 2.0, 3.0]:
        g = ef.autograd.grad(ef.cdist(x, x, p).sum(), x)[0]
        assert np.isfinite(g.numpy()).all()
    y = t64(rng.standard_normal((5, 3)))
    for p in [1.0, 2.0, 3.0, math.inf]:
        assert gradcheck(lambda a, b, p=p: ef.cdist(a, b, p), (x, y))
    assert gradcheck(lambda a, b: ef.dist(a, b, 3), (x, t64(rng.standard_normal(3))))


def test_cdist_errors():
    with pytest.raises(RuntimeError, match="at least 2D"):
        ef.cdist(ef.ones(3), ef.ones(2, 3))
    with pytest.raises(RuntimeError, match="same number of columns"):
        ef.cdist(ef.ones(2, 3), ef.ones(2, 4))
    with pytest.raises(RuntimeError, match="non-negative"):
        ef.cdist(ef.ones(2, 3), ef.ones(2, 3), -1)


def test_renorm():
    a = rng.standard_normal((4, 3, 2)) * 2
    for p, dim in [(2, 0), (1, 1), (3, -1)]:
        axes = tuple(i for i in range(3) if i != dim % 3)
        n = (np.abs(a) ** p).sum(axes, keepdims=True) ** (1 / p)
        ref = a * np.where(n > 1.5, 1.5 / (n + 1e-7), 1.0)
        close(ef.renorm(ef.tensor(a), p, dim, 1.5), ref)
    assert gradcheck(lambda v: v.renorm(2, 0, 1.0), (t64(a),))
    y = ef.tensor(a.copy())
    y.renorm_(2, 0, 1.0)
    close(y, ef.renorm(ef.tensor(a), 2, 0, 1.0))
    with pytest.raises(RuntimeError):
        ef.renorm(ef.ones(3), 2, 0, 1.0)


# ---------------------------------------------------------------------------------------------
# cov / corrcoef


def test_cov_corrcoef():
    c = rng.standard_normal((3, 10))
    fw, aw = rng.integers(0, 4, 10), rng.random(10)
    close(ef.cov(ef.tensor(c)), np.cov(c))
    close(ef.tensor(c).cov(correction=0), np.cov(c, ddof=0))
    close(ef.cov(ef.tensor(c), fweights=ef.tensor(fw), aweights=ef.tensor(aw)), np.cov(c, fweights=fw, aweights=aw))
    close(ef.cov(ef.tensor(c), correction=2, aweights=ef.tensor(aw)), np.cov(c, ddof=2, aweights=aw))
    close(ef.cov(ef.tensor(c[0])), np.cov(c[0]))
    assert ef.cov(ef.tensor(c[0])).shape == ()
    close(ef.corrcoef(ef.tensor(c)), np.corrcoef(c))
    assert ef.corrcoef(ef.tensor(c[0])).item() == 1.0
    assert ef.cov(ef.tensor([[1, 2, 4]])).dtype == ef.float32
    assert gradcheck(lambda v: ef.cov(v), (t64(c),))
    assert gradcheck(lambda v: ef.corrcoef(v), (t64(c),))
    with pytest.raises(RuntimeError, match="integral"):
        ef.cov(ef.tensor(c), fweights=ef.tensor(aw))
    with pytest.raises(RuntimeError, match="two or fewer"):
        ef.cov(ef.ones(2, 2, 2))


# ---------------------------------------------------------------------------------------------
# integration


def test_trapezoid_and_cumulative():
    y = rng.standard_normal((2, 5, 4))
    xs = np.sort(rng.random(5))
    assert ef.trapezoid(ef.tensor([1.0, 2.0, 3.0])).item() == 4.0
    close(ef.trapezoid(ef.tensor(y)), np.trapezoid(y))
    close(ef.trapezoid(ef.tensor(y), dx=0.3, dim=1), np.trapezoid(y, dx=0.3, axis=1))
    close(ef.trapezoid(ef.tensor(y), ef.tensor(xs), dim=1), np.trapezoid(y, xs, axis=1))
    xs2 = np.sort(rng.random((2, 5, 4)), axis=1)
    close(ef.trapezoid(ef.tensor(y), ef.tensor(xs2), dim=1), np.trapezoid(y, xs2, axis=1))
    close(ef.trapz(ef.tensor(y), ef.tensor(xs), dim=1), np.trapezoid(y, xs, axis=1))
    close(ef.trapz(ef.tensor(y), dx=2.0), np.trapezoid(y, dx=2.0))
    seg = (y[:, 1:] + y[:, :-1]) / 2 * np.diff(xs)[:, None]
    close(ef.cumulative_trapezoid(ef.tensor(y), ef.tensor(xs), dim=1), np.cumsum(seg, 1))
    close(ef.cumulative_trapezoid(ef.tensor(y), dx=2.0), np.cumsum((y[..., 1:] + y[..., :-1]), -1))
    assert ef.trapezoid(ef.tensor([1, 2, 4])).item() == 4.5
    assert gradcheck(lambda v, w: ef.trapezoid(v, w, dim=1), (t64(y), t64(xs)))
    assert gradcheck(lambda v: ef.cumulative_trapezoid(v, dx=0.5), (t64(y),))
    with pytest.raises(RuntimeError, match="one `x` value"):
        ef.trapezoid(ef.tensor(y), ef.tensor(xs[:3]), dim=1)


def test_histogram():
    a = rng.standard_normal(100)
    h, e = ef.histogram(ef.tensor(a), 5)
    nh, ne = np.histogram(a, 5)
    close(h, nh.astype(np.float32))
    close(e, ne.astype(np.float32), tol=1e-6)
    r = ef.tensor(a).histogram(ef.tensor([-1.0, 0.0, 1.0]), density=True)
    close(r.hist, np.histogram(a, [-1.0, 0.0, 1.0], density=True)[0], tol=1e-6)
    w = rng.random(100)
    close(
        ef.histogram(ef.tensor(a), 4, range=(-2.0, 2.0), weight=ef.tensor(w)).hist,
        np.histogram(a, 4, (-2, 2), weights=w)[0],
        tol=1e-6,
    )


# ---------------------------------------------------------------------------------------------
# API surface


def test_names_and_methods():
    for name in R.__all__:
        assert getattr(ef, name) is getattr(R, name)
    for name in R.METHODS:
        assert callable(getattr(ef.Tensor, name))
    for name in ["std_mean", "var_mean", "cdist", "trapezoid", "trapz", "cumulative_trapezoid"]:
        assert not hasattr(ef.Tensor, name)  # functions only, as in PyTorch


def test_dim_errors():
    with pytest.raises(IndexError):
        ef.cumsum(ef.ones(2, 3), 2)
    with pytest.raises(IndexError):
        ef.median(ef.ones(2, 3), -3)
    with pytest.raises(IndexError):
        ef.median(ef.ones(2, 0), 1)
    with pytest.raises(TypeError):
        ef.prod(ef.ones(2, 3), (0, 1))


# ---- fast paths for short trailing reductions (ones-vector product for sums, reduceat for max/min) ----
@pytest.mark.parametrize("shape,dim", [((64, 128), -1), ((8, 4, 16, 32), (2, 3)), ((300, 3), 1), ((9, 256), 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_short_trailing_reductions_match_numpy(shape, dim, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype) * 10
    t = ef.from_numpy(x)
    axes = dim if isinstance(dim, tuple) else (dim,)
    exact = x.astype(np.longdouble).sum(axis=axes)
    got = ef.sum(t, dim=dim).numpy()
    # no worse than numpy's own pairwise sum (plus one rounding)
    assert np.abs(got - exact).max() <= 2 * np.abs(x.sum(axis=axes) - exact).max() + np.finfo(dtype).eps * np.abs(exact).max()
    for keepdim in (False, True):
        assert np.array_equal(ef.amax(t, dim=dim, keepdim=keepdim).numpy(), x.max(axis=axes, keepdims=keepdim))
        assert np.array_equal(ef.amin(t, dim=dim, keepdim=keepdim).numpy(), x.min(axis=axes, keepdims=keepdim))
    # non-contiguous input takes numpy's path: same values
    xt = np.ascontiguousarray(x.T).T
    assert np.allclose(ef.sum(ef.from_numpy(xt), dim=dim).numpy(), got, rtol=1e-5, atol=1e-4)


def test_short_trailing_reductions_nan_inf():
    x = np.random.default_rng(1).standard_normal((16, 10)).astype(np.float32)
    x[2, 3] = np.nan
    x[5, :] = -np.inf
    x[7, 1] = np.inf
    t = ef.from_numpy(x)
    assert np.array_equal(ef.amax(t, dim=1).numpy(), x.max(axis=1), equal_nan=True)
    assert np.array_equal(ef.amin(t, dim=1).numpy(), x.min(axis=1), equal_nan=True)
    s = ef.sum(t, dim=1).numpy()
    assert np.isnan(s[2]) and s[5] == -np.inf and s[7] == np.inf
    assert np.allclose(np.delete(s, [2, 5, 7]), np.delete(x.sum(axis=1), [2, 5, 7]), atol=1e-5)
    # softmax over rows with nan, all -inf, and +inf behaves as numpy's formula
    p = ef.from_numpy(x).softmax(-1).numpy()
    assert np.isnan(p[2]).all() and np.isnan(p[5]).all()
    assert np.allclose(p[0], np.exp(x[0] - x[0].max()) / np.exp(x[0] - x[0].max()).sum())
