"""Miscellaneous ef.* functions and Tensor methods of einframe/_functions_misc.py: new_*, metadata,
H/mH, Python-callable in-place maps, no-op memory methods, sum_to_size, seeded random fills and
samplers, dtype queries, print options. (The torch.* linear-algebra spellings are in test_linalg.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

import einframe as ef


def test_new_factories_take_dtype_and_device_from_self():
    x = ef.ones(2, dtype=ef.float64)
    for t in (x.new_zeros(2, 3), x.new_ones((2, 3)), x.new_empty(2, 3), x.new_full((2, 3), 7)):
        assert t.shape == (2, 3) and t.dtype == ef.float64 and t.device == x.device
    np.testing.assert_array_equal(x.new_full((2,), 7).numpy(), [7.0, 7.0])
    assert not x.new_zeros(2).numpy().any() and x.new_ones(2).numpy().all()
    assert x.new_zeros(2, dtype=ef.int64).dtype == ef.int64
    n = x.new_tensor([1, 2])
    assert n.dtype == ef.float64 and n.tolist() == [1.0, 2.0]
    assert x.new_zeros(2, requires_grad=True).requires_grad
    src = ef.ones(2, requires_grad=True)
    assert not x.new_tensor(src).requires_grad


def test_metadata():
    x = ef.zeros(2, 3)
    assert x.stride() == (3, 1) and x.stride(0) == 3 and x.stride(-1) == 1
    assert x.t().stride() == (1, 3)
    assert x.storage_offset() == 0 and x[:, 1:].storage_offset() == 1 and x[1].storage_offset() == 3
    assert x.nbytes == 24 and x.itemsize == 4 and x.element_size() == 4
    assert x.ndimension() == 2 and x.nelement() == 6
    assert isinstance(x.data_ptr(), int) and x[1].data_ptr() == x.data_ptr() + 12


def test_H_and_mH():
    x = ef.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(x.H.numpy(), x.numpy().T)
    b = ef.arange(12.0).reshape(2, 2, 3)
    np.testing.assert_array_equal(b.mH.numpy(), np.swapaxes(b.numpy(), -1, -2))
    with pytest.raises(RuntimeError, match="tensor.H is only supported on matrices"):
        ef.ones(3).H  # noqa: B018
    with pytest.raises(RuntimeError, match="tensor.mH is only supported on matrices"):
        ef.ones(3).mH  # noqa: B018
    y = ef.ones(2, 3, requires_grad=True)
    y.H.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), np.ones((2, 3)))


def test_apply_and_map():
    x = ef.tensor([1.0, 2.0, 3.0])
    v = x._version
    assert x.apply_(lambda a: a * 2) is x
    np.testing.assert_array_equal(x.numpy(), [2.0, 4.0, 6.0])
    assert x._version == v + 1
    x.map_(ef.tensor([1.0, 1.0, 2.0]), lambda a, b: a + b)
    np.testing.assert_array_equal(x.numpy(), [3.0, 5.0, 8.0])
    x.map_(ef.tensor(10.0), lambda a, b: a * b)  # broadcast
    np.testing.assert_array_equal(x.numpy(), [30.0, 50.0, 80.0])
    with pytest.raises(RuntimeError, match="requires grad"):
        ef.ones(2, requires_grad=True).apply_(lambda a: a)


def test_memory_no_ops():
    x = ef.ones(2)
    assert x.pin_memory() is x and x.share_memory_() is x and x.is_pinned() is False


def test_sum_to_size():
    x = ef.ones(2, 3, requires_grad=True)
    np.testing.assert_array_equal(x.sum_to_size(3).detach().numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(x.sum_to_size(1, 3).detach().numpy(), [[2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(x.sum_to_size((2, 1)).detach().numpy(), [[3.0], [3.0]])
    assert x.sum_to_size(2, 3).shape == (2, 3)
    x.sum_to_size(2, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="is not expandable to size"):
        x.sum_to_size(4)


@pytest.mark.parametrize(
    "fill,check",
    [
        (lambda x: x.bernoulli_(0.3), lambda a: set(np.unique(a)) <= {0.0, 1.0}),
        (lambda x: x.bernoulli_(p=ef.full((1000,), 1.0)), lambda a: (a == 1).all()),
        (lambda x: x.exponential_(lambd=2.0), lambda a: (a > 0).all() and abs(a.mean() - 0.5) < 0.1),
        (lambda x: x.geometric_(0.5), lambda a: (a >= 1).all() and (a == np.round(a)).all()),
        (lambda x: x.log_normal_(0.0, 0.5), lambda a: (a > 0).all()),
        (lambda x: x.cauchy_(), lambda a: np.isfinite(a).all()),
        (lambda x: x.random_(5), lambda a: set(np.unique(a)) <= {0, 1, 2, 3, 4}),
        (lambda x: x.random_(2, 4), lambda a: set(np.unique(a)) <= {2, 3}),
        (lambda x: x.random_(), lambda a: (a >= 0).all() and (a <= 2**24).all() and (a == np.round(a)).all()),
    ],
)
def test_random_fills_are_seeded_and_in_place(fill, check):
    ef.manual_seed(3)
    x = ef.zeros(1000)
    assert fill(x) is x
    a = x.numpy().copy()
    assert check(a)
    ef.manual_seed(3)
    np.testing.assert_array_equal(fill(ef.zeros(1000)).numpy(), a)


def test_random_on_integer_tensor_and_error():
    x = ef.zeros(100, dtype=ef.int64).random_(2, 5)
    assert x.dtype == ef.int64 and set(np.unique(x.numpy())) <= {2, 3, 4}
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to'"):
        ef.zeros(3).random_(5, 2)


def test_samplers():
    ef.manual_seed(0)
    b = ef.bernoulli(ef.full((500,), 0.25))
    assert b.dtype == ef.float32 and set(np.unique(b.numpy())) <= {0.0, 1.0} and abs(b.numpy().mean() - 0.25) < 0.08
    assert ef.full((3,), 0.5).bernoulli().shape == (3,)
    assert (ef.bernoulli(ef.zeros(5), p=1.0).numpy() == 1).all()
    m = ef.multinomial(ef.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]]), 1)
    assert m.dtype == ef.int64 and m.shape == (2, 1) and m[0, 0].item() == 1 and m[1, 0].item() in (0, 2)
    perm = ef.multinomial(ef.ones(5), 5)
    assert sorted(perm.tolist()) == [0, 1, 2, 3, 4]
    assert ef.multinomial(ef.tensor([0.0, 1.0]), 4, replacement=True).tolist() == [1, 1, 1, 1]
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        ef.multinomial(ef.ones(3), 4)
    with pytest.raises(RuntimeError, match="probability tensor contains"):
        ef.multinomial(ef.tensor([1.0, -1.0]), 1)
    p = ef.poisson(ef.full((1000,), 3.0))
    assert p.dtype == ef.float32 and abs(p.numpy().mean() - 3.0) < 0.3
    assert ef.normal(ef.zeros(3, 2), 1.0).shape == (3, 2)
    assert ef.normal(0.0, ef.ones(4)).shape == (4,)
    assert ef.normal(ef.zeros(2, 1), ef.ones(3)).shape == (2, 3)
    n = ef.normal(2.0, 0.0, (2, 2))
    assert n.dtype == ef.float32 and (n.numpy() == 2.0).all()
    assert ef.normal(0.0, 1.0, size=(3,), dtype=ef.float64).dtype == ef.float64
    ef.manual_seed(7)
    a = ef.normal(ef.zeros(4), 1.0).numpy()
    ef.manual_seed(7)
    np.testing.assert_array_equal(ef.normal(ef.zeros(4), 1.0).numpy(), a)


def test_logspace():
    np.testing.assert_allclose(ef.logspace(0, 2, 3).numpy(), [1.0, 10.0, 100.0])
    np.testing.assert_allclose(ef.logspace(0, 2, 3, base=2).numpy(), [1.0, 2.0, 4.0])
    assert ef.logspace(0, 1, 5).dtype == ef.float32
    assert ef.logspace(0, 2, 3, dtype=ef.int64).tolist() == [1, 10, 100]


def test_queries():
    x = ef.ones(2, 3)
    assert ef.is_tensor(x) and not ef.is_tensor(np.ones(2))
    assert ef.numel(x) == 6
    assert ef.is_floating_point(x) and not ef.is_floating_point(ef.ones(2, dtype=ef.int64))
    assert ef.result_type(ef.ones(2, dtype=ef.int32), 2.5) == ef.float32
    assert ef.result_type(2, 2.5) == ef.float32
    assert ef.result_type(ef.tensor(1), ef.ones(2, dtype=ef.int8)) == ef.int8
    assert ef.result_type(ef.ones(2, dtype=ef.float64), ef.ones(2)) == ef.float64
    assert ef.promote_types(ef.int64, ef.float16) == ef.float16
    assert ef.promote_types(ef.uint8, ef.int8) == ef.int16
    assert ef.promote_types(ef.bool, ef.int32) == ef.int32
    assert not ef.can_cast(ef.float64, ef.int32)
    assert ef.can_cast(ef.int32, ef.float16) and ef.can_cast(ef.float64, ef.float32)
    assert not ef.can_cast(ef.int32, ef.bool) and ef.can_cast(ef.bool, ef.int64)


def test_set_printoptions():
    x = ef.tensor([1.23456789, 2.0])
    try:
        ef.set_printoptions(precision=2)
        assert repr(x) == "tensor([1.23, 2.00])"
        ef.set_printoptions(threshold=5, edgeitems=2)
        assert "..." in repr(ef.arange(10))
        ef.set_printoptions(profile="full")
        assert "..." not in repr(ef.arange(2000))
        ef.set_printoptions(sci_mode=True)
        assert "e+00" in repr(x)
    finally:
        ef.set_printoptions(profile="default")
    assert repr(x) == "tensor([1.2346, 2.0000])"


def test_fused_multiply_adds_are_one_contraction_each():
    rng = np.random.default_rng(0)
    cn, an, bn = (rng.standard_normal(s) for s in ((3, 5), (3, 4), (4, 5)))
    c, a, b = (ef.tensor(v) for v in (cn, an, bn))
    np.testing.assert_allclose(ef.addmm(c, a, b, beta=0.5, alpha=2).numpy(), 0.5 * cn + 2 * an @ bn)
    leaves = tuple(ef.tensor(v, requires_grad=True) for v in (cn, an, bn))
    assert ef.autograd.gradcheck(lambda c, a, b: ef.addmm(c, a, b, beta=0.5, alpha=2), leaves)
    bb1, bb2, cc = (ef.tensor(rng.standard_normal(s)) for s in ((2, 3, 4), (2, 4, 5), (2, 3, 5)))
    np.testing.assert_allclose(ef.baddbmm(cc, bb1, bb2).numpy(), cc.numpy() + bb1.numpy() @ bb2.numpy())
    np.testing.assert_allclose(ef.addbmm(c, bb1, bb2).numpy(), c.numpy() + (bb1.numpy() @ bb2.numpy()).sum(0))
    v = ef.tensor(rng.standard_normal(4))
    np.testing.assert_allclose(ef.addmv(ef.zeros(3, dtype=ef.float64), a, v).numpy(), a.numpy() @ v.numpy())
    np.testing.assert_allclose(
        ef.addr(ef.zeros(3, 4, dtype=ef.float64), c[:, 0], v).numpy(), np.outer(c.numpy()[:, 0], v.numpy())
    )
    nan = ef.full((3, 5), float("nan"), dtype=ef.float64)
    assert not np.isnan(ef.addmm(nan, a, b, beta=0).numpy()).any()  # beta=0 ignores input
    x = ef.zeros(3, 5, dtype=ef.float64)
    assert x.addmm_(a, b) is x and np.allclose(x.numpy(), a.numpy() @ b.numpy())


@pytest.mark.parametrize("dim,size,step", [(0, 1, 1), (1, 2, 1), (2, 2, 2), (-1, 3, 1)])
def test_tensor_unfold_is_a_window_view(dim, size, step):
    x = np.arange(24.0).reshape(2, 3, 4)
    got = ef.tensor(x).unfold(dim, size, step).numpy()
    d = dim % 3
    want = np.lib.stride_tricks.sliding_window_view(x, size, axis=d)
    want = np.take(want, np.arange(0, want.shape[d], step), axis=d)
    np.testing.assert_array_equal(got, want)
    assert ef.autograd.gradcheck(lambda t: t.unfold(dim, size, step), (ef.tensor(x, requires_grad=True),))


@pytest.mark.parametrize(
    "shape,wrap", [((3, 3), False), ((5, 3), True), ((5, 3), False), ((3, 5), False), ((3, 3, 3), False), ((7, 3), True)]
)
def test_fill_diagonal_matches_pytorch(shape, wrap):
    # PyTorch: a (7, 3) with wrap=True fills rows 0,1,2 then 4,5,6 (a gap row after every N columns)
    x = ef.zeros(*shape).fill_diagonal_(2.0, wrap=wrap).numpy()
    want = np.zeros(shape)
    if len(shape) == 3:
        want[range(3), range(3), range(3)] = 2
    else:
        rows, cols = shape
        for r in range(rows if wrap else min(rows, cols)):
            if not wrap or r % (cols + 1) < cols:
                want[r, r % (cols + 1) if wrap else r] = 2
    np.testing.assert_array_equal(x, want)


def test_small_queries_and_aliases():
    x = ef.arange(6.0).reshape(2, 3)
    assert ef.ravel(x).shape == (6,) and x.ravel().shape == (6,)
    assert x.is_same_size(ef.zeros(2, 3)) and not x.is_same_size(ef.zeros(3, 2))
    assert ef.tensor([2.0]).is_nonzero() and not ef.tensor(0.0).is_nonzero()
    with pytest.raises(RuntimeError, match="ambiguous"):
        x.is_nonzero()
    assert x.get_device() == -1 and x.is_cpu and not x.is_complex() and x.is_signed() and not x.byte().is_signed()
    assert x.byte().dtype == ef.uint8 and x.char().dtype == ef.int8 and x.short().dtype == ef.int16
    assert ef.greater(x, 2).tolist() == [[False, False, False], [True, True, True]] and x.less_equal(2).sum().item() == 3
    s = ef.split_with_sizes(x, [1, 2], 1) if hasattr(ef, "split_with_sizes") else x.split_with_sizes([1, 2], 1)
    assert [t.shape[1] for t in s] == [1, 2]


def test_inplace_comparisons_and_small_aliases():
    x = ef.tensor([1.0, 2.0, 3.0])
    assert x.ge_(2.0) is x and x.tolist() == [0.0, 1.0, 1.0] and x.dtype == ef.float32
    y = ef.tensor([1.0, 2.0, 3.0])
    y.lt_(ef.tensor([2.0, 2.0, 2.0]))
    assert y.tolist() == [1.0, 0.0, 0.0]
    for name, expect in [("eq_", [0, 1, 0]), ("ne_", [1, 0, 1]), ("gt_", [0, 0, 1]), ("le_", [1, 1, 0]),
                         ("greater_equal_", [0, 1, 1]), ("less_", [1, 0, 0]), ("not_equal_", [1, 0, 1])]:  # fmt: skip
        i = ef.tensor([1, 2, 3])
        assert getattr(i, name)(2).tolist() == expect and i.dtype == ef.int64, name
    # a tensor that requires grad keeps a graph with zero gradient (as PyTorch)
    b = ef.tensor([1.0, 5.0], requires_grad=True)
    a = b * 1
    a.lt_(3.0)
    assert a.requires_grad and a.tolist() == [1.0, 0.0]
    a.sum().backward()
    assert b.grad.tolist() == [0.0, 0.0]
    m = ef.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert m.adjoint().tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert [c.tolist() for c in m.unsafe_chunk(2, 0)] == [[[1.0, 2.0]], [[3.0, 4.0]]]
    assert [c.shape for c in m.unsafe_split(1, 1)] == [(2, 1), (2, 1)]
    assert ef.tensor([0.0, 1.0]).multinomial(2, replacement=True).tolist() == [1, 1]
