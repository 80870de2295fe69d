"""Indexing, sorting, scattering and shape functions (einframe/_functions_index.py).

References are numpy and known values (checked once against PyTorch); gradients are float64
finite-difference checks; the ops themselves have no derivative code (they compose primitives).
"""

from __future__ import annotations

import numpy as np
import pytest

import einframe as ef
from einframe.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(0)


def X(*shape, grad=True):
    return ef.tensor(RNG.standard_normal(shape), dtype=ef.float64, requires_grad=grad)


def A(t):
    return t.detach().numpy()


def check(fn, *inputs, second=False):
    assert gradcheck(fn, inputs)
    if second:
        assert gradgradcheck(fn, inputs)


# ------------------------------------------------------------------------------------------------
# sorting and selection


def test_sort_values_indices_and_namedtuple():
    x = X(3, 5, grad=False)
    r = ef.sort(x, 1)
    assert type(r).__name__ == "sort" and r._fields == ("values", "indices")
    np.testing.assert_array_equal(A(r.values), np.sort(A(x), 1))
    np.testing.assert_array_equal(A(r.indices), np.argsort(A(x), 1, kind="stable"))
    assert r.indices.dtype == ef.int64
    v, i = x.sort(dim=0, descending=True)
    np.testing.assert_array_equal(A(v), -np.sort(-A(x), 0))
    np.testing.assert_array_equal(A(ef.argsort(x, 0, descending=True)), A(i))


def test_sort_stable_ties_both_directions():
    x = ef.tensor([[1.0, 2, 2, 1], [3, 3, 0, 3]])
    v, i = ef.sort(x, dim=1, descending=True, stable=True)
    assert i.tolist() == [[1, 2, 0, 3], [0, 1, 3, 2]]
    assert v.tolist() == [[2, 2, 1, 1], [3, 3, 3, 0]]
    assert ef.sort(x, dim=1, stable=True).indices.tolist() == [[0, 3, 1, 2], [2, 0, 1, 3]]
    n = ef.tensor([1.0, float("nan"), 2, float("nan"), 2])
    assert ef.sort(n, stable=True).indices.tolist() == [0, 2, 4, 1, 3]  # NaN last ascending
    assert ef.sort(n, descending=True, stable=True).indices.tolist() == [1, 3, 2, 4, 0]  # first descending


def test_argsort_msort():
    x = X(4, 3, grad=False)
    np.testing.assert_array_equal(A(x.argsort(0)), np.argsort(A(x), 0, kind="stable"))
    np.testing.assert_array_equal(A(ef.msort(x)), np.sort(A(x), 0))


def test_topk_kthvalue():
    x = X(3, 6, grad=False)
    v, i = ef.topk(x, 2)
    np.testing.assert_array_equal(A(v), -np.sort(-A(x), 1)[:, :2])
    np.testing.assert_array_equal(A(x)[np.arange(3)[:, None], A(i)], A(v))
    v, _ = x.topk(3, dim=0, largest=False)
    np.testing.assert_array_equal(A(v), np.sort(A(x), 0)[:3])
    r = ef.kthvalue(x, 2, 1)
    assert type(r).__name__ == "kthvalue"
    np.testing.assert_array_equal(A(r.values), np.sort(A(x), 1)[:, 1])
    assert x.kthvalue(1, 0, keepdim=True).values.shape == (1, 6)
    with pytest.raises(RuntimeError, match="out of range"):
        ef.topk(x, 7)
    with pytest.raises(RuntimeError, match="out of range"):
        ef.kthvalue(x, 0)


def test_sort_topk_gradients():
    check(lambda a: ef.sort(a, 1).values, X(3, 4), second=True)
    check(lambda a: ef.sort(a, 0, descending=True).values, X(3, 4))
    check(lambda a: ef.topk(a, 2, 0).values, X(4, 3))
    check(lambda a: ef.kthvalue(a, 2, 1).values, X(3, 4))
    check(lambda a: ef.msort(a), X(3, 2))


def test_unique():
    x = ef.tensor([[2, 1, 2], [0, 1, 3]])
    assert ef.unique(x).tolist() == [0, 1, 2, 3]
    out, inv, cnt = x.unique(return_inverse=True, return_counts=True)
    assert inv.tolist() == [[2, 1, 2], [0, 1, 3]] and cnt.tolist() == [1, 2, 2, 1]
    out, cnt = ef.unique(x, return_counts=True)
    assert cnt.tolist() == [1, 2, 2, 1]
    m = ef.tensor([[1, 2], [0, 3], [1, 2]])
    out, inv, cnt = ef.unique(m, dim=0, return_inverse=True, return_counts=True)
    assert out.tolist() == [[0, 3], [1, 2]] and inv.tolist() == [1, 0, 1] and cnt.tolist() == [1, 2]
    out, inv = ef.unique(ef.tensor([[1, 2, 1], [0, 3, 0]]), dim=1, return_inverse=True)
    assert out.tolist() == [[1, 2], [0, 3]] and inv.tolist() == [0, 1, 0]


def test_unique_consecutive():
    x = ef.tensor([1, 1, 2, 2, 3, 1, 1, 2])
    out, inv, cnt = ef.unique_consecutive(x, return_inverse=True, return_counts=True)
    assert out.tolist() == [1, 2, 3, 1, 2]
    assert inv.tolist() == [0, 0, 1, 1, 2, 3, 3, 4] and cnt.tolist() == [2, 2, 1, 2, 1]
    m = ef.tensor([[1, 2], [1, 2], [0, 3], [1, 2]])
    out, cnt = m.unique_consecutive(return_counts=True, dim=0)
    assert out.tolist() == [[1, 2], [0, 3], [1, 2]] and cnt.tolist() == [2, 1, 1]


def test_nonzero_argwhere():
    x = ef.tensor([[0, 1, 0], [2, 0, 3]])
    assert ef.nonzero(x).tolist() == [[0, 1], [1, 0], [1, 2]]
    assert ef.argwhere(x).tolist() == [[0, 1], [1, 0], [1, 2]]
    r, c = x.nonzero(as_tuple=True)
    assert r.tolist() == [0, 1, 1] and c.tolist() == [1, 0, 2] and r.dtype == ef.int64
    assert ef.nonzero(ef.tensor(5)).shape == (1, 0)


def test_masked_select_take_take_along_dim():
    x = X(3, 4)
    m = ef.tensor([True, False, True, True])
    np.testing.assert_array_equal(A(ef.masked_select(x, m)), A(x)[np.broadcast_to(A(m), (3, 4))])
    with pytest.raises(RuntimeError, match="BoolTensor"):
        ef.masked_select(x, ef.tensor([1, 0, 1, 1]))
    idx = ef.tensor([[0, -1], [5, 11]])
    np.testing.assert_array_equal(A(ef.take(x, idx)), A(x).reshape(-1)[[[0, -1], [5, 11]]])
    with pytest.raises(IndexError, match="out of range"):
        x.take(ef.tensor([12]))
    ii = ef.tensor([[0], [3], [1]])
    np.testing.assert_array_equal(A(ef.take_along_dim(x, ii, 1)), np.take_along_axis(A(x), A(ii), 1))
    ib = ef.tensor([[0, 2]])  # broadcast against the other dims
    np.testing.assert_array_equal(A(x.take_along_dim(ib, 1)), np.take_along_axis(A(x), np.broadcast_to(A(ib), (3, 2)), 1))
    np.testing.assert_array_equal(A(ef.take_along_dim(x, ib)), A(x).reshape(-1)[[0, 2]])
    np.testing.assert_array_equal(A(ef.take_along_dim(x, ef.argsort(x, 0), 0)), np.sort(A(x), 0))
    check(lambda a: ef.masked_select(a, m), X(3, 4))
    check(lambda a: ef.take(a, idx), X(3, 4))
    check(lambda a: ef.take_along_dim(a, ib, 1), X(3, 4), second=True)


def test_searchsorted_bucketize():
    s = ef.tensor([1.0, 2, 2, 4])
    v = ef.tensor([[0.0, 2, 5], [2, 3, 4]])
    assert ef.searchsorted(s, v).tolist() == [[0, 1, 4], [1, 3, 3]]
    assert ef.searchsorted(s, v, right=True).tolist() == [[0, 3, 4], [3, 3, 4]]
    r = ef.searchsorted(s, v, side="right", out_int32=True)
    assert r.dtype == ef.int32 and r.tolist() == [[0, 3, 4], [3, 3, 4]]
    nd = ef.tensor([[1.0, 2, 3], [0, 5, 6]])
    assert ef.searchsorted(nd, ef.tensor([[2.5, 0], [5, 7]])).tolist() == [[2, 0], [1, 3]]
    assert ef.searchsorted(ef.tensor([3.0, 1, 2]), ef.tensor([2.5, 0]), sorter=ef.tensor([1, 2, 0])).tolist() == [2, 0]
    assert ef.searchsorted(s, 3.0).item() == 3
    with pytest.raises(RuntimeError, match="opposites"):
        ef.searchsorted(s, v, right=True, side="left")
    b = ef.tensor([1.0, 2, 4])
    assert ef.bucketize(v, b).tolist() == [[0, 1, 3], [1, 2, 2]]
    assert ef.bucketize(v, b, right=True).tolist() == [[0, 2, 3], [2, 2, 3]]


def test_bincount_histc():
    v = ef.tensor([0, 1, 1, 3, 1])
    assert ef.bincount(v).tolist() == [1, 3, 0, 1]
    assert v.bincount(minlength=6).tolist() == [1, 3, 0, 1, 0, 0]
    w = X(5)
    np.testing.assert_allclose(A(ef.bincount(v, w)), np.bincount(A(v), A(w)))
    assert ef.bincount(v, ef.tensor([1, 2, 3, 4, 5])).dtype == ef.float64
    assert ef.bincount(v, ef.ones(5)).dtype == ef.float32
    check(lambda a: ef.bincount(v, a), w)
    with pytest.raises(RuntimeError, match="non-negative"):
        ef.bincount(ef.tensor([-1, 2]))
    h = ef.histc(ef.tensor([0.0, 0.75, 1.5, 2.25, 3, 3.1, -0.1]), bins=4, min=0, max=3)
    assert h.tolist() == [1, 1, 1, 2] and h.dtype == ef.float32
    d = RNG.standard_normal(200)
    np.testing.assert_array_equal(A(ef.histc(ef.tensor(d), 7)), np.histogram(d, 7)[0])
    assert ef.histc(ef.tensor([2.0, 2.0]), 4).tolist() == [0, 0, 2, 0]


# ------------------------------------------------------------------------------------------------
# scatters


IDX = ef.tensor([[0, 1, 2, 0], [2, 0, 0, 1]])


def _np_scatter(x, idx, src, op):
    out = x.copy()
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            out[idx[i, j], j] = op(out[idx[i, j], j], src[i, j])
    return out


def test_scatter_and_scatter_add():
    x, src = X(3, 4, grad=False), X(2, 5, grad=False)
    np.testing.assert_array_equal(A(ef.scatter(x, 0, IDX, src)), _np_scatter(A(x), A(IDX), A(src), lambda a, b: b))
    np.testing.assert_allclose(A(x.scatter_add(0, IDX, src)), _np_scatter(A(x), A(IDX), A(src), np.add))
    np.testing.assert_allclose(A(ef.scatter(x, 0, IDX, src, reduce="add")), A(ef.scatter_add(x, 0, IDX, src)))
    np.testing.assert_allclose(A(ef.scatter(x, 0, IDX, src, reduce="multiply")), _np_scatter(A(x), A(IDX), A(src), np.multiply))
    r = ef.scatter(x, 1, ef.tensor([[0], [1], [3]]), 2.5)
    assert A(r)[0, 0] == A(r)[1, 1] == A(r)[2, 3] == 2.5
    y = x.clone()
    assert y.scatter_(0, IDX, src) is y
    np.testing.assert_array_equal(A(y), A(ef.scatter(x, 0, IDX, src)))
    y.scatter_add_(0, IDX, src)
    with pytest.raises(RuntimeError, match="dtype"):
        ef.scatter(x, 0, IDX, src.float())
    with pytest.raises(RuntimeError, match="out of bounds"):
        ef.scatter(x, 0, IDX + 1, src)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        ef.scatter_add(x, 0, ef.tensor([0, 1]), src)


def test_scatter_gradients_self_and_src():
    src = X(2, 4)
    check(lambda a, s: ef.scatter(a, 0, IDX, s), X(3, 4), src, second=True)
    check(lambda a, s: ef.scatter_add(a, 0, IDX, s), X(3, 4), X(2, 5), second=True)
    check(lambda a: ef.scatter(a, 1, ef.tensor([[0], [2], [3]]), 1.5), X(3, 4))

    def inplace(a, s):
        b = a * 1
        b.scatter_add_(0, IDX, s)
        return b

    check(inplace, X(3, 4), src)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    x = ef.tensor(np.round(RNG.standard_normal((3, 4)) * 2) / 2)  # ties for amax/amin
    src = ef.tensor(np.round(RNG.standard_normal((2, 4)) * 2) / 2)
    ops = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum, "mean": np.add}
    ref = A(x).copy()
    idx = A(IDX)
    touched = np.zeros_like(ref, dtype=bool)
    touched[idx, np.arange(4)] = True
    if not include_self:
        ident = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
        ref[touched] = ident
    ref = _np_scatter(ref, idx, A(src), ops[reduce])
    if reduce == "mean":
        cnt = np.zeros_like(ref)
        np.add.at(cnt, (idx, np.broadcast_to(np.arange(4), idx.shape)), 1)
        cnt = np.maximum(cnt + include_self, 1)
        ref = ref / cnt
    out = ef.scatter_reduce(x, 0, IDX, src, reduce, include_self=include_self)
    np.testing.assert_allclose(A(out), ref)
    y = x.clone()
    y.scatter_reduce_(0, IDX, src, reduce, include_self=include_self)
    np.testing.assert_allclose(A(y), ref)
    # gradients w.r.t. both self and src (distinct values: no ties, so amax/amin are smooth)
    dist = lambda *s: ef.tensor(RNG.permutation(int(np.prod(s))).reshape(s) * 0.3 - 1.0, requires_grad=True)  # noqa: E731
    check(lambda a, s: ef.scatter_reduce(a, 0, IDX, s, reduce, include_self=include_self), dist(3, 4), dist(2, 4))


def test_scatter_reduce_prod_zero_and_ties():
    x = ef.tensor([1.0, 2.0, 3.0], requires_grad=True)
    s = ef.tensor([0.0, 4.0, 5.0, 2.0], requires_grad=True)
    out = ef.scatter_reduce(x, 0, ef.tensor([0, 0, 1, 1]), s, "prod")
    assert out.tolist() == [0.0, 20.0, 3.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 10.0, 1.0] and s.grad.tolist() == [4.0, 0.0, 4.0, 10.0]
    check(lambda a, b: ef.scatter_reduce(a, 0, ef.tensor([0, 0, 1, 1]), b, "prod"), X(3), X(4), second=True)
    # amax: tied maxima share the gradient evenly (as PyTorch)
    x = ef.tensor([1.0, 0.0], requires_grad=True)
    s = ef.tensor([1.0, 1.0, 0.5], requires_grad=True)
    out = ef.scatter_reduce(x, 0, ef.tensor([0, 0, 1]), s, "amax")
    out.sum().backward()
    assert out.tolist() == [1.0, 0.5]
    np.testing.assert_allclose(A(x.grad), [1 / 3, 0])
    np.testing.assert_allclose(A(s.grad), [1 / 3, 1 / 3, 1])
    with pytest.raises(RuntimeError, match="reduce argument"):
        ef.scatter_reduce(x, 0, ef.tensor([0]), s, "max")


def test_scatter_reduce_integer_mean_floors():
    x = ef.tensor([1, 2])
    assert ef.scatter_reduce(x, 0, ef.tensor([0, 0]), ef.tensor([2, 4]), "mean").tolist() == [2, 2]
    assert ef.scatter_reduce(x, 0, ef.tensor([1]), ef.tensor([-5]), "amin", include_self=False).tolist() == [1, -5]


def test_index_add_copy_fill():
    x, s = X(3, 4, grad=False), X(3, 3, grad=False)
    idx = ef.tensor([0, 2, 0])
    ref = A(x).copy()
    np.add.at(ref, (slice(None), A(idx)), 2 * A(s))
    np.testing.assert_allclose(A(ef.index_add(x, 1, idx, s, alpha=2)), ref)
    y = x.clone()
    y.index_add_(1, idx, s, alpha=2)
    np.testing.assert_allclose(A(y), ref)
    c = X(2, 4, grad=False)
    ref = A(x).copy()
    ref[[2, 0]] = A(c)
    np.testing.assert_array_equal(A(x.index_copy(0, ef.tensor([2, 0]), c)), ref)
    ref = A(x).copy()
    ref[:, [2, 0]] = -1
    np.testing.assert_array_equal(A(ef.index_fill(x, 1, ef.tensor([2, 0]), -1.0)), ref)
    y = x.clone()
    y.index_fill_(1, ef.tensor([2, 0]), ef.tensor(-1.0, dtype=ef.float64))
    np.testing.assert_array_equal(A(y), ref)
    with pytest.raises(IndexError, match="out of bounds"):
        ef.index_add(x, 1, ef.tensor([4]), X(3, 1, grad=False))
    with pytest.raises(RuntimeError, match="same scalar type"):
        ef.index_add(x, 1, idx, s.float())
    check(lambda a, b: ef.index_add(a, 1, idx, b, alpha=2), X(3, 4), X(3, 3), second=True)
    check(lambda a, b: ef.index_copy(a, 0, ef.tensor([2, 0]), b), X(3, 4), X(2, 4))
    check(lambda a: ef.index_fill(a, 1, ef.tensor([2]), 0.5), X(3, 4))


def test_index_put_masked_scatter_put():
    x = X(3, 4, grad=False)
    ref = A(x).copy()
    ref[[0, 2], [1, 3]] = [5, 6]
    np.testing.assert_array_equal(A(ef.index_put(x, (ef.tensor([0, 2]), ef.tensor([1, 3])), ef.tensor([5.0, 6]))), ref)
    ref = A(x).copy()
    np.add.at(ref, [0, 2, 0], np.arange(4.0))
    np.testing.assert_allclose(A(x.index_put((ef.tensor([0, 2, 0]),), ef.arange(4.0).double(), accumulate=True)), ref)
    ref = A(x).copy()
    ref[ref > 0] = 9
    y = x.clone()
    ef.index_put_(y, (x > 0,), ef.tensor(9.0))
    np.testing.assert_array_equal(A(y), ref)
    m = ef.tensor([True, False, True, True])
    ref = A(x).copy()
    mb = np.broadcast_to(A(m), (3, 4))
    ref[mb] = np.arange(9.0)
    np.testing.assert_array_equal(A(ef.masked_scatter(x, m, ef.arange(20.0).double())), ref)
    with pytest.raises(RuntimeError, match="at least 9"):
        ef.masked_scatter(x, m, ef.ones(3, dtype=ef.float64))
    ref = A(x).copy().reshape(-1)
    ref[[0, 11, 5]] = [1, 2, 3]
    np.testing.assert_array_equal(A(ef.put(x, ef.tensor([0, -1, 5]), ef.tensor([1.0, 2, 3]).double())), ref.reshape(3, 4))
    y = x.clone()
    y.put_(ef.tensor([0, 0]), ef.tensor([1.0, 2]).double(), accumulate=True)
    assert np.isclose(A(y)[0, 0], A(x)[0, 0] + 3)
    with pytest.raises(IndexError, match="out of range"):
        x.put(ef.tensor([12]), ef.ones(1, dtype=ef.float64))
    check(lambda a, b: ef.index_put(a, (ef.tensor([0, 2, 0]),), b, accumulate=True), X(3, 4), X(4))
    check(lambda a, b: ef.masked_scatter(a, m, b), X(3, 4), X(10))
    check(lambda a, b: ef.put(a, ef.tensor([1, 5, 1]), b, accumulate=True), X(3, 4), X(3))


def test_select_slice_diagonal_scatter():
    x = X(3, 4, grad=False)
    ref = A(x).copy()
    ref[:, 2] = [0, 1, 2]
    np.testing.assert_array_equal(A(ef.select_scatter(x, ef.arange(3.0).double(), 1, 2)), ref)
    ref = A(x).copy()
    ref[:, 0:4:2] = 1
    np.testing.assert_array_equal(A(x.slice_scatter(ef.ones(3, 2, dtype=ef.float64), 1, 0, 4, 2)), ref)
    ref = A(x).copy()
    ref[[0, 1, 2], [1, 2, 3]] = [0, 1, 2]
    np.testing.assert_array_equal(A(ef.diagonal_scatter(x, ef.arange(3.0).double(), 1)), ref)
    y = X(2, 3, 4, grad=False)
    r = ef.diagonal_scatter(y, ef.ones(3, 2, dtype=ef.float64), 0, 0, 2)
    assert np.diagonal(A(r), 0, 0, 2).tolist() == [[1, 1]] * 3
    with pytest.raises(RuntimeError, match="size"):
        ef.select_scatter(x, ef.ones(4, dtype=ef.float64), 1, 0)
    check(lambda a, b: ef.select_scatter(a, b, 0, 1), X(3, 4), X(4))
    check(lambda a, b: ef.slice_scatter(a, b, 1, 1, 4, 2), X(3, 4), X(3, 2))
    check(lambda a, b: ef.diagonal_scatter(a, b, -1), X(3, 4), X(2))


# ------------------------------------------------------------------------------------------------
# shapes


def test_roll_rot90_flips():
    x = X(3, 4, grad=False)
    np.testing.assert_array_equal(A(ef.roll(x, 1)), np.roll(A(x), 1))
    np.testing.assert_array_equal(A(x.roll((1, -5), (0, 1))), np.roll(A(x), (1, -5), (0, 1)))
    with pytest.raises(RuntimeError, match="align"):
        ef.roll(x, (1, 2), 0)
    for k in range(-2, 5):
        np.testing.assert_array_equal(A(ef.rot90(x, k)), np.rot90(A(x), k))
    y = X(2, 3, 4, grad=False)
    np.testing.assert_array_equal(A(y.rot90(1, [2, 0])), np.rot90(A(y), 1, (2, 0)))
    np.testing.assert_array_equal(A(ef.flipud(x)), np.flipud(A(x)))
    np.testing.assert_array_equal(A(x.fliplr()), np.fliplr(A(x)))
    with pytest.raises(RuntimeError):
        ef.fliplr(ef.ones(3))
    check(lambda a: ef.roll(a, (1, 3), (0, 1)), X(3, 4), second=True)
    check(lambda a: ef.rot90(a, 3), X(3, 4))


def test_tile_repeat_interleave():
    x = X(3, 4, grad=False)
    np.testing.assert_array_equal(A(ef.tile(x, (2,))), np.tile(A(x), (2,)))
    np.testing.assert_array_equal(A(x.tile((2, 1, 2))), np.tile(A(x), (2, 1, 2)))
    np.testing.assert_array_equal(A(ef.repeat_interleave(x, 2)), np.repeat(A(x), 2))
    np.testing.assert_array_equal(A(x.repeat_interleave(2, 0)), np.repeat(A(x), 2, 0))
    np.testing.assert_array_equal(A(ef.repeat_interleave(x, ef.tensor([1, 0, 2]), 0)), np.repeat(A(x), [1, 0, 2], 0))
    assert ef.repeat_interleave(ef.tensor([1, 0, 3])).tolist() == [0, 2, 2, 2]
    with pytest.raises(RuntimeError, match="negative"):
        ef.repeat_interleave(x, -1)
    check(lambda a: ef.tile(a, (2, 1, 2)), X(3, 2))
    check(lambda a: ef.repeat_interleave(a, 2, 1), X(3, 2), second=True)
    check(lambda a: ef.repeat_interleave(a, ef.tensor([2, 0, 1]), 0), X(3, 2))


def test_unbind_movedim_swapdims():
    x = X(2, 3, 4, 5, grad=False)
    parts = ef.unbind(x, 1)
    assert len(parts) == 3 and all(np.array_equal(A(p), A(x)[:, i]) for i, p in enumerate(parts))
    np.testing.assert_array_equal(A(ef.movedim(x, 0, -1)), np.moveaxis(A(x), 0, -1))
    np.testing.assert_array_equal(A(x.movedim((0, 1), (3, 0))), np.moveaxis(A(x), (0, 1), (3, 0)))
    np.testing.assert_array_equal(A(ef.moveaxis(x, -1, 1)), np.moveaxis(A(x), -1, 1))
    np.testing.assert_array_equal(A(ef.swapdims(x, 0, 2)), np.swapaxes(A(x), 0, 2))
    np.testing.assert_array_equal(A(x.swapdims(1, 3)), np.swapaxes(A(x), 1, 3))
    np.testing.assert_array_equal(A(ef.swapaxes(x, 1, 3)), np.swapaxes(A(x), 1, 3))
    with pytest.raises(RuntimeError, match="repeated dim"):
        ef.movedim(x, (0, 0), (1, 2))
    with pytest.raises(RuntimeError, match="same number"):
        ef.movedim(x, (0, 1), (1,))
    check(lambda a: ef.stack(ef.unbind(a, 1), 0), X(2, 3))


def test_diag_family():
    x = X(3, 4, grad=False)
    for k in (-2, 0, 1, 5):
        np.testing.assert_array_equal(A(ef.diag(x, k)), np.diag(A(x), k))
        np.testing.assert_array_equal(A(x[0].diag(k)), np.diag(A(x)[0], k))
    with pytest.raises(RuntimeError, match="1D or 2D"):
        ef.diag(X(2, 2, 2))
    e = ef.diag_embed(x)
    assert e.shape == (3, 4, 4)
    np.testing.assert_array_equal(A(e), np.stack([np.diag(r) for r in A(x)]))
    e = ef.diag_embed(x, 1, 0, 2)
    assert e.shape == (5, 3, 5)
    np.testing.assert_array_equal(A(e)[:, 1, :], np.diag(A(x)[1], 1))
    np.testing.assert_array_equal(A(x.diagflat(-1)), np.diagflat(A(x), -1))
    check(lambda a: ef.diag(a, 1), X(3, 4), second=True)
    check(lambda a: ef.diag(a, -1), X(3))
    check(lambda a: ef.diag_embed(a, 1, 0, 2), X(2, 3))


def test_tri_indices_meshgrid_broadcast():
    assert ef.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    np.testing.assert_array_equal(A(ef.triu_indices(3, 4, 1)), np.stack(np.triu_indices(3, 1, 4)))
    np.testing.assert_array_equal(A(ef.tril_indices(4, 3, -1)), np.stack(np.tril_indices(4, -1, 3)))
    assert ef.tril_indices(3, 3).dtype == ef.int64
    a, b = ef.arange(3.0), ef.arange(2.0)
    for indexing in ("ij", "xy"):
        for g, r in zip(ef.meshgrid(a, b, indexing=indexing), np.meshgrid(A(a), A(b), indexing=indexing)):
            np.testing.assert_array_equal(A(g), r)
    assert [g.shape for g in ef.meshgrid([a, b, a], indexing="xy")] == [(2, 3, 3)] * 3
    assert ef.meshgrid(a, b)[0].shape == (3, 2)
    x = X(3, 4, grad=False)
    assert ef.broadcast_to(x, (2, 3, 4)).shape == (2, 3, 4) and x.broadcast_to((2, -1, 4)).shape == (2, 3, 4)
    p, q = ef.broadcast_tensors(x, X(2, 1, 1, grad=False))
    assert p.shape == q.shape == (2, 3, 4)
    assert ef.broadcast_shapes((3, 1), (4,), 1) == ef.Size([3, 4])
    with pytest.raises(RuntimeError, match="Shape mismatch"):
        ef.broadcast_shapes((3, 2), (4,))
    check(lambda u, v: ef.stack(ef.meshgrid(u, v, indexing="xy")), X(3), X(2))
    check(lambda u, v: ef.broadcast_tensors(u, v)[0] * ef.broadcast_tensors(u, v)[1], X(3, 1), X(4))


def test_splits_and_stacks():
    x = X(3, 4, grad=False)
    for got, ref in zip(ef.tensor_split(x, 3, 1), np.array_split(A(x), 3, 1)):
        np.testing.assert_array_equal(A(got), ref)
    assert [p.shape[1] for p in x.tensor_split([1, 3], 1)] == [1, 2, 1]
    assert [p.shape[0] for p in ef.tensor_split(x, ef.tensor([1, 5]))] == [1, 2, 0]
    assert [p.shape[1] for p in ef.tensor_split(x, ef.tensor(3), 1)] == [2, 1, 1]
    assert [p.shape for p in ef.hsplit(x, 2)] == [(3, 2), (3, 2)]
    assert [p.shape for p in ef.vsplit(x, [2])] == [(2, 4), (1, 4)]
    assert [p.shape for p in ef.dsplit(ef.ones(2, 2, 4), 2)] == [(2, 2, 2)] * 2
    with pytest.raises(RuntimeError, match="divisible"):
        ef.hsplit(x, 3)
    a, b = ef.arange(3.0), ef.arange(3.0, 6)
    np.testing.assert_array_equal(A(ef.hstack([a, b])), np.hstack([A(a), A(b)]))
    np.testing.assert_array_equal(A(ef.vstack([a, b])), np.vstack([A(a), A(b)]))
    np.testing.assert_array_equal(A(ef.row_stack([a, b])), np.vstack([A(a), A(b)]))
    np.testing.assert_array_equal(A(ef.dstack([a, b])), np.dstack([A(a), A(b)]))
    np.testing.assert_array_equal(A(ef.column_stack([a, b])), np.column_stack([A(a), A(b)]))
    np.testing.assert_array_equal(A(ef.hstack([x, x])), np.hstack([A(x), A(x)]))
    np.testing.assert_array_equal(A(ef.dstack([x, x])), np.dstack([A(x), A(x)]))
    s = ef.tensor(1.0)
    assert ef.atleast_1d(s).shape == (1,) and ef.atleast_2d(a).shape == (1, 3)
    assert ef.atleast_3d(a).shape == (1, 3, 1) and ef.atleast_3d(x).shape == (3, 4, 1) and ef.atleast_3d(s).shape == (1, 1, 1)
    r = ef.atleast_2d(s, a)
    assert isinstance(r, tuple) and [t.shape for t in r] == [(1, 1), (1, 3)]
    assert isinstance(ef.atleast_1d((s, a)), tuple)
    check(lambda u: ef.tensor_split(u, 3, 1)[1], X(3, 4))
    check(lambda u, v: ef.column_stack([u, v]), X(3), X(3, 2))


def test_cartesian_prod_combinations_block_diag_narrow_copy():
    a, b = ef.tensor([1, 2, 3]), ef.tensor([4, 5])
    assert ef.cartesian_prod(a, b).tolist() == [[1, 4], [1, 5], [2, 4], [2, 5], [3, 4], [3, 5]]
    assert ef.cartesian_prod(a) is a
    assert ef.combinations(a).tolist() == [[1, 2], [1, 3], [2, 3]]
    assert ef.combinations(a, 2, with_replacement=True).tolist() == [[1, 1], [1, 2], [1, 3], [2, 2], [2, 3], [3, 3]]
    assert ef.combinations(a, 4).shape == (0, 4)
    m = ef.block_diag(ef.ones(2, 2), ef.tensor([3.0, 4]), ef.tensor(7.0))
    assert m.tolist() == [[1, 1, 0, 0, 0], [1, 1, 0, 0, 0], [0, 0, 3, 4, 0], [0, 0, 0, 0, 7]]
    x = X(3, 4, grad=False)
    n = ef.narrow_copy(x, 1, 1, 2)
    np.testing.assert_array_equal(A(n), A(x)[:, 1:3])
    assert not np.shares_memory(n.numpy(), x.numpy())
    check(lambda u, v: ef.block_diag(u, v), X(2, 3), X(2))
    check(lambda u: ef.combinations(u, 2), X(4))
    check(lambda u, v: ef.cartesian_prod(u, v), X(3), X(2))


# ------------------------------------------------------------------------------------------------
# products and differences


def test_diff():
    x = X(3, 4, grad=False)
    np.testing.assert_allclose(A(ef.diff(x)), np.diff(A(x)))
    np.testing.assert_allclose(A(x.diff(2, 0)), np.diff(A(x), 2, 0))
    p = X(3, 1, grad=False)
    np.testing.assert_allclose(A(ef.diff(x, 1, 1, prepend=p, append=x)), np.diff(A(x), 1, 1, prepend=A(p), append=A(x)))
    assert ef.diff(ef.tensor([True, True, False])).tolist() == [False, True]
    assert ef.diff(x, 6).shape == (3, 0)
    check(lambda a: ef.diff(a, 2, 1), X(3, 4), second=True)
    check(lambda a, b: ef.diff(a, 1, 0, prepend=b), X(3, 4), X(1, 4))


def test_kron():
    a, b = X(3, 4, grad=False), X(2, 3, grad=False)
    np.testing.assert_allclose(A(ef.kron(a, b)), np.kron(A(a), A(b)))
    np.testing.assert_allclose(A(a[0].kron(b)), np.kron(A(a)[0], A(b)))
    np.testing.assert_allclose(A(ef.kron(X(2, 1, 2, grad=False), b)).shape, (2, 2, 6))
    assert ef.kron(ef.tensor([1, 2]), ef.tensor([1, 10])).tolist() == [1, 10, 2, 20]
    check(lambda u, v: ef.kron(u, v), X(2, 2), X(2, 3), second=True)


# ------------------------------------------------------------------------------------------------
# wiring


def test_all_names_and_methods_are_wired():
    from einframe import _functions_index as fi

    for name in fi.__all__:
        assert callable(getattr(ef, name)), name
    for name in fi.METHODS:
        assert callable(getattr(ef.Tensor, name)), name


def test_index_outputs_are_not_differentiable():
    x = X(3, 4)
    assert not ef.sort(x).indices.requires_grad and ef.sort(x).values.requires_grad
    assert not ef.argsort(x).requires_grad and not ef.nonzero(x).requires_grad
    assert not ef.unique(x).requires_grad and not ef.searchsorted(ef.sort(x).values, x).requires_grad


# ---- index_reduce -------------------------------------------------------------------------------
def _index_reduce_ref(x, dim, idx, src, reduce, include_self):
    out = np.moveaxis(x.copy(), dim, 0)
    s = np.moveaxis(src, dim, 0)
    n = out.shape[0]
    groups = {}
    for k, i in enumerate(idx):
        groups.setdefault(i % n, []).append(s[k])
    for i, rows in groups.items():
        vals = ([out[i]] if include_self else []) + rows
        st = np.stack(vals)
        out[i] = {"prod": st.prod(0), "mean": st.mean(0), "amax": st.max(0), "amin": st.min(0)}[reduce]
    return np.moveaxis(out, 0, dim)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_reduce_vs_reference(reduce, include_self, dim):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5, 3))
    n = x.shape[dim]
    idx = rng.integers(-n, n, size=6)
    shape = list(x.shape)
    shape[dim] = 6
    src = rng.standard_normal(shape)
    got = ef.index_reduce(ef.tensor(x), dim, ef.tensor(idx), ef.tensor(src), reduce, include_self=include_self)
    np.testing.assert_allclose(got.numpy(), _index_reduce_ref(x, dim, idx, src, reduce, include_self), rtol=1e-12)
    y = ef.tensor(x)
    assert y.index_reduce_(dim, ef.tensor(idx), ef.tensor(src), reduce, include_self=include_self) is y
    np.testing.assert_allclose(y.numpy(), got.numpy())


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_index_reduce_gradients(reduce):
    rng = np.random.default_rng(4)
    x = ef.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    src = ef.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = ef.tensor([0, 2, 0, 3, 2])
    f = lambda a, b: ef.index_reduce(a, 0, idx, b, reduce)  # noqa: E731
    assert gradcheck(f, (x, src))
    if reduce in ("prod", "mean"):  # amax/amin are piecewise linear: their second derivative is zero a.e.
        assert gradgradcheck(f, (x, src))


def test_index_reduce_errors():
    x = ef.zeros(3, 2)
    with pytest.raises(RuntimeError, match="prod, mean, amax or amin"):
        ef.index_reduce(x, 0, ef.tensor([0]), ef.ones(1, 2), "sum")
    with pytest.raises(RuntimeError, match="does not match the indexed shape"):
        ef.index_reduce(x, 0, ef.tensor([0, 1]), ef.ones(3, 2), "prod")
    with pytest.raises(IndexError, match="out of bounds"):
        ef.index_reduce(x, 0, ef.tensor([5]), ef.ones(1, 2), "amax")
