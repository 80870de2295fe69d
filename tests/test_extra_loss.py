"""More losses, distances, pools and EmbeddingBag (einframe/nn/modules/extra_loss.py and
einframe/nn/_functional_extra_loss.py): values against numpy references and known PyTorch values,
float64 finite-difference gradient checks (first and, for some, second order), errors, reprs."""

import math

import numpy as np
import pytest

import einframe as ef
import einframe.nn.functional as F
from einframe import nn
from einframe.autograd import gradcheck, gradgradcheck

REDUCTIONS = ("none", "mean", "sum")


def _t(a, grad=False):
    return ef.tensor(np.asarray(a), requires_grad=grad)


def _red(v, reduction):
    v = np.asarray(v, dtype=np.float64)
    return {"none": v, "mean": v.mean(), "sum": v.sum()}[reduction]


def _close(got, want, atol=1e-10):
    got = got.detach().numpy() if isinstance(got, ef.Tensor) else np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=atol)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ------------------------------------------------------------------------------------------------
# pairwise losses


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cosine_embedding_loss_values(reduction):
    x1, x2 = _rand(5, 4, seed=1), _rand(5, 4, seed=2)
    y = np.array([1, -1, 1, -1, -1])
    cos = (x1 * x2).sum(1) / np.sqrt(((x1 * x1).sum(1) + 1e-12) * ((x2 * x2).sum(1) + 1e-12))
    ref = np.where(y == 1, 1 - cos, np.maximum(cos - 0.1, 0))
    _close(F.cosine_embedding_loss(_t(x1), _t(x2), _t(y), margin=0.1, reduction=reduction), _red(ref, reduction))
    m = nn.CosineEmbeddingLoss(margin=0.1, reduction=reduction)
    _close(m(_t(x1), _t(x2), _t(y)), _red(ref, reduction))
    # 1-D inputs with a 0-d target
    _close(F.cosine_embedding_loss(_t(x1[0]), _t(x2[0]), _t(np.array(1)), reduction=reduction), _red(1 - cos[0], reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_and_hinge_embedding_values(reduction):
    a, b = _rand(6, seed=3), _rand(6, seed=4)
    y = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    ref = np.maximum(0, -y * (a - b) + 0.2)
    _close(F.margin_ranking_loss(_t(a), _t(b), _t(y), margin=0.2, reduction=reduction), _red(ref, reduction))
    _close(nn.MarginRankingLoss(0.2, reduction=reduction)(_t(a), _t(b), _t(y)), _red(ref, reduction))
    x = np.abs(_rand(2, 5, seed=5))
    t = np.array([[1.0, -1.0, 1.0, -1.0, 0.5], [-1.0, -1.0, 1.0, 1.0, -1.0]])
    # PyTorch: the margin term where y != 1, the input itself where y != -1 (a 0.5 gets both)
    ref = np.where(t != 1, np.maximum(0, 1.5 - x), 0) + np.where(t != -1, x, 0)
    _close(F.hinge_embedding_loss(_t(x), _t(t), margin=1.5, reduction=reduction), _red(ref, reduction))
    _close(nn.HingeEmbeddingLoss(1.5, reduction=reduction)(_t(x), _t(t)), _red(ref, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_losses_values(reduction):
    x = _rand(3, 5, seed=6) * 30  # large logits: no overflow
    y = np.sign(_rand(3, 5, seed=7))
    ref = np.logaddexp(0, -y * x)
    _close(F.soft_margin_loss(_t(x), _t(y), reduction=reduction), _red(ref, reduction))
    _close(nn.SoftMarginLoss(reduction=reduction)(_t(x), _t(y)), _red(ref, reduction))
    t = (y > 0).astype(float)
    w = np.array([0.5, 1.0, 2.0, 1.5, 0.1])
    per = (np.logaddexp(0, -x) * t + np.logaddexp(0, x) * (1 - t)) * w
    ref = per.mean(1)
    _close(F.multilabel_soft_margin_loss(_t(x), _t(t), weight=_t(w), reduction=reduction), _red(ref, reduction))
    m = nn.MultiLabelSoftMarginLoss(weight=_t(w), reduction=reduction)
    _close(m(_t(x), _t(t)), _red(ref, reduction))
    assert [n for n, _ in m.named_buffers()] == ["weight"]


def _multi_margin_ref(x, y, p, margin, w):
    N, C = x.shape
    out = np.zeros(N)
    for n in range(N):
        for i in range(C):
            if i != y[n]:
                z = max(0.0, margin - x[n, y[n]] + x[n, i]) ** p
                out[n] += z * (w[y[n]] if w is not None else 1.0)
    return out / C


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss_values(reduction, p):
    x = _rand(4, 5, seed=8)
    y = np.array([0, 3, 4, 3])
    w = np.array([1.0, 0.5, 2.0, 1.5, 3.0])
    for weight in (None, w):
        ref = _multi_margin_ref(x, y, p, 0.7, weight)
        wt = None if weight is None else _t(weight)
        _close(F.multi_margin_loss(_t(x), _t(y), p=p, margin=0.7, weight=wt, reduction=reduction), _red(ref, reduction))
        _close(nn.MultiMarginLoss(p, 0.7, wt, reduction=reduction)(_t(x), _t(y)), _red(ref, reduction))
    # 1-D input with a 0-d target: a 0-d loss
    out = F.multi_margin_loss(_t(x[1]), _t(np.array(3)), reduction="none")
    assert out.shape == () and np.isclose(out.item(), _multi_margin_ref(x[1:2], y[1:2], 1, 1.0, None)[0])


def test_multi_and_multilabel_margin_known_pytorch_values():
    x = ef.tensor([[0.1, 0.2, 0.4, 0.8], [0.9, -0.3, 0.5, 0.0]])
    got = F.multilabel_margin_loss(x, ef.tensor([[3, 0, -1, 1], [1, 1, -1, 2]]), reduction="none")
    np.testing.assert_allclose(got.numpy(), [0.8500000238418579, 2.6499998569488525], rtol=1e-6)
    got = F.multi_margin_loss(x, ef.tensor([3, 1]), p=2, margin=0.7, weight=ef.tensor([1.0, 2.0, 3.0, 4.0]), reduction="none")
    np.testing.assert_allclose(got.numpy(), [0.09999998658895493, 3.429999828338623], rtol=1e-6)


def _multilabel_margin_ref(x, t):
    N, C = x.shape
    out = np.zeros(N)
    for n in range(N):
        ys = []
        for v in t[n]:
            if v == -1:
                break
            ys.append(v)
        for j in ys:
            for i in range(C):
                if i not in ys:
                    out[n] += max(0.0, 1 - (x[n, j] - x[n, i]))
    return out / C


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_values(reduction):
    x = _rand(4, 5, seed=9)
    t = np.array([[3, 0, -1, 1, 2], [1, 1, 4, -1, -1], [-1, 2, 3, 0, 0], [0, 1, 2, 3, 4]])
    ref = _multilabel_margin_ref(x, t)
    _close(F.multilabel_margin_loss(_t(x), _t(t), reduction=reduction), _red(ref, reduction))
    _close(nn.MultiLabelMarginLoss(reduction=reduction)(_t(x), _t(t)), _red(ref, reduction))
    one = F.multilabel_margin_loss(_t(x[0]), _t(t[0]), reduction="none")  # 1-D: a 0-d loss
    assert one.shape == () and np.isclose(one.item(), ref[0])


def _pdist_ref(a, b, p, eps):
    d = np.abs(a - b + eps)
    if p == math.inf:
        return d.max(-1)
    return (d**p).sum(-1) ** (1 / p)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,swap", [(2, False), (1, True), (3, False), (math.inf, True)])
def test_triplet_margin_loss_values(reduction, p, swap):
    a, pos, neg = _rand(6, 3, seed=10), _rand(6, 3, seed=11), _rand(6, 3, seed=12)
    dp, dn = _pdist_ref(a, pos, p, 1e-6), _pdist_ref(a, neg, p, 1e-6)
    if swap:
        dn = np.minimum(dn, _pdist_ref(pos, neg, p, 1e-6))
    ref = np.maximum(1.5 + dp - dn, 0)
    _close(F.triplet_margin_loss(_t(a), _t(pos), _t(neg), margin=1.5, p=p, swap=swap, reduction=reduction), _red(ref, reduction))
    m = nn.TripletMarginLoss(margin=1.5, p=p, swap=swap, reduction=reduction)
    _close(m(_t(a), _t(pos), _t(neg)), _red(ref, reduction))
    # with the default distance, the distance-function variant is the same loss
    m2 = nn.TripletMarginWithDistanceLoss(margin=1.5, swap=swap, reduction=reduction)
    dp2, dn2 = _pdist_ref(a, pos, 2, 1e-6), _pdist_ref(a, neg, 2, 1e-6)
    if swap:
        dn2 = np.minimum(dn2, _pdist_ref(pos, neg, 2, 1e-6))
    _close(m2(_t(a), _t(pos), _t(neg)), _red(np.maximum(1.5 + dp2 - dn2, 0), reduction))


def test_triplet_margin_with_custom_distance():
    a, p, n = _rand(4, 3, seed=13), _rand(4, 3, seed=14), _rand(4, 3, seed=15)

    def cos(u, v):
        return (u * v).sum(-1) / np.maximum(np.linalg.norm(u, axis=-1), 1e-8) / np.maximum(np.linalg.norm(v, axis=-1), 1e-8)

    ref = np.maximum(0.5 + (1 - cos(a, p)) - (1 - cos(a, n)), 0)
    fn = lambda x, y: 1.0 - F.cosine_similarity(x, y)  # noqa: E731
    _close(F.triplet_margin_with_distance_loss(_t(a), _t(p), _t(n), distance_function=fn, margin=0.5, reduction="none"), ref)
    m = nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(p=1.0), margin=0.5)
    assert "(distance_function): PairwiseDistance()" in repr(m)
    ref1 = np.maximum(0.5 + _pdist_ref(a, p, 1, 1e-6) - _pdist_ref(a, n, 1, 1e-6), 0).mean()
    _close(m(_t(a), _t(p), _t(n)), ref1)


# ------------------------------------------------------------------------------------------------
# likelihood losses


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input,full", [(True, False), (True, True), (False, False), (False, True)])
def test_poisson_nll_loss_values(reduction, log_input, full):
    x = _rand(3, 4, seed=16) if log_input else np.abs(_rand(3, 4, seed=16)) + 0.1
    y = np.array([[0.0, 1.0, 2.0, 5.0], [3.0, 0.0, 1.0, 7.0], [1.5, 4.0, 0.0, 2.0]])
    ref = np.exp(x) - y * x if log_input else x - y * np.log(x + 1e-8)
    if full:
        ys = np.where(y > 1, y, 1.0)
        ref = ref + np.where(y > 1, ys * np.log(ys) - ys + 0.5 * np.log(2 * np.pi * ys), 0.0)
    _close(F.poisson_nll_loss(_t(x), _t(y), log_input=log_input, full=full, reduction=reduction), _red(ref, reduction))
    m = nn.PoissonNLLLoss(log_input=log_input, full=full, reduction=reduction)
    _close(m(_t(x), _t(y)), _red(ref, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("vshape", [(3, 4), (3,), (3, 1), (1, 4)])
def test_gaussian_nll_loss_values_and_var_broadcasting(reduction, vshape):
    x, y = _rand(3, 4, seed=17), _rand(3, 4, seed=18)
    var = np.abs(_rand(*vshape, seed=19)) + 0.1
    var.flat[0] = 1e-9  # clamped at eps
    v = np.maximum(var, 1e-6)
    v = v[:, None] if vshape == (3,) else v
    for full in (False, True):
        ref = 0.5 * (np.log(v) + (x - y) ** 2 / v) + (0.5 * np.log(2 * np.pi) if full else 0.0)
        _close(F.gaussian_nll_loss(_t(x), _t(y), _t(var), full=full, reduction=reduction), _red(ref, reduction))
        m = nn.GaussianNLLLoss(full=full, reduction=reduction)
        _close(m(_t(x), _t(y), _t(var)), _red(ref, reduction))
    ref = 0.5 * (np.log(0.5) + (x - y) ** 2 / 0.5)
    _close(F.gaussian_nll_loss(_t(x), _t(y), 0.5, reduction=reduction), _red(ref, reduction))


def test_gaussian_nll_clamp_keeps_the_gradient():
    """PyTorch clamps ``var`` in place under no_grad: the value is eps, the gradient is the unclamped one."""
    x, y = ef.tensor([1.0], dtype=ef.float64), ef.tensor([0.0], dtype=ef.float64)
    var = ef.tensor([1e-9], dtype=ef.float64, requires_grad=True)
    F.gaussian_nll_loss(x, y, var, eps=1e-3).backward()
    # d/dv 0.5 (log v + d²/v) at v = eps = 1e-3
    np.testing.assert_allclose(var.grad.numpy(), [0.5 * (1 / 1e-3 - 1 / 1e-6)])


# ------------------------------------------------------------------------------------------------
# CTC


def _ctc_inputs():
    T, N, C = 6, 2, 4
    logits = np.sin(np.arange(T * N * C)).reshape(T, N, C) * 2
    return logits, ef.tensor(logits).log_softmax(2)


@pytest.mark.parametrize(
    "reduction,want",
    [("none", [7.0470966712438905, 5.081493693319213]), ("mean", 2.444889535203785), ("sum", 12.128590364563102)],
)
def test_ctc_loss_known_pytorch_values(reduction, want):
    _, lp = _ctc_inputs()
    tg = ef.tensor([[1, 2, 2], [3, 1, 0]])
    _close(F.ctc_loss(lp, tg, ef.tensor([6, 5]), ef.tensor([3, 2]), reduction=reduction), want, atol=1e-9)
    # concatenated targets, tuple lengths, the module
    flat = ef.tensor([1, 2, 2, 3, 1])
    _close(nn.CTCLoss(reduction=reduction)(lp, flat, (6, 5), (3, 2)), want, atol=1e-9)


def test_ctc_loss_blank_impossible_zero_infinity_unbatched():
    _, lp = _ctc_inputs()
    got = F.ctc_loss(lp, ef.tensor([[1, 3, 3], [3, 1, 0]]), [6, 5], [3, 2], blank=2, reduction="none")
    _close(got, [6.860323868314048, 4.319030924162939], atol=1e-9)
    rep = ef.tensor([[1, 1, 1], [3, 1, 0]])  # three 1s need 5 frames: impossible in 4
    got = F.ctc_loss(lp, rep, [4, 5], [3, 2], reduction="none")
    assert math.isinf(got[0].item()) and np.isclose(got[1].item(), 5.081493693319213)
    x = ef.tensor(_ctc_inputs()[0], requires_grad=True)
    got = nn.CTCLoss(reduction="none", zero_infinity=True)(x.log_softmax(2), rep, [4, 5], [3, 2])
    _close(got, [0.0, 5.081493693319213], atol=1e-9)
    got.sum().backward()
    assert np.isfinite(x.grad.numpy()).all() and not x.grad.numpy()[:, 0].any()  # the zeroed loss has no gradient
    # unbatched: (T, C) log-probs and (S) targets
    one = F.ctc_loss(lp[:, 0], ef.tensor([1, 2, 2]), 6, 3, reduction="none")
    assert one.shape == () and np.isclose(one.item(), 7.0470966712438905)


def test_ctc_loss_counts_paths():
    # T=3 frames of uniform probabilities over {blank, a}: the label "a" has 6 alignments of 3 frames
    lp = ef.full((3, 1, 2), math.log(0.5), dtype=ef.float64)
    loss = F.ctc_loss(lp, ef.tensor([[1]]), [3], [1], reduction="sum")
    assert np.isclose(loss.item(), -math.log(6 / 8))
    # an empty target: only the all-blank path
    assert np.isclose(F.ctc_loss(lp, ef.tensor([[1]]), [3], [0], reduction="sum").item(), -3 * math.log(0.5))


def test_ctc_loss_gradcheck():
    logits = ef.tensor(_rand(5, 2, 4, seed=20), requires_grad=True)
    tg = ef.tensor([[1, 2, 2], [3, 1, 0]])

    def f(x):
        return F.ctc_loss(x.log_softmax(2), tg, [5, 4], [3, 2], reduction="mean")

    assert gradcheck(f, (logits,))
    assert gradcheck(lambda lp: F.ctc_loss(lp, tg, [5, 4], [3, 2], reduction="none"), (logits.detach().requires_grad_(),))
    small = ef.tensor(_rand(3, 1, 3, seed=21), requires_grad=True)
    assert gradgradcheck(lambda x: F.ctc_loss(x.log_softmax(2), ef.tensor([[1, 2]]), [3], [2]), (small,))


# ------------------------------------------------------------------------------------------------
# distances


def test_cosine_similarity_values_broadcasting_and_zero_vectors():
    a, b = _rand(3, 4, seed=22), _rand(3, 4, seed=23)
    for dim in (0, 1, -1):
        ref = (a * b).sum(dim) / (np.linalg.norm(a, axis=dim) * np.linalg.norm(b, axis=dim))
        _close(F.cosine_similarity(_t(a), _t(b), dim=dim), ref)
        _close(nn.CosineSimilarity(dim=dim)(_t(a), _t(b)), ref)
    u, v = _rand(2, 1, 3, seed=24), _rand(4, 3, seed=25)
    ref = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    _close(F.cosine_similarity(_t(u), _t(v), dim=-1), ref)
    # a zero vector: similarity 0, and a finite gradient (PyTorch: x2 / (eps |x2|))
    z = ef.zeros(1, 3, dtype=ef.float64, requires_grad=True)
    w = ef.tensor([[1.0, 2.0, 2.0]], dtype=ef.float64)
    s = F.cosine_similarity(z, w)
    s.sum().backward()
    assert s.item() == 0.0
    np.testing.assert_allclose(z.grad.numpy(), [[1 / 3 / 1e-8, 2 / 3 / 1e-8, 2 / 3 / 1e-8]], rtol=1e-6)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
def test_pairwise_distance_and_pdist_values(p):
    a, b = _rand(4, 3, seed=26), _rand(4, 3, seed=27)
    _close(F.pairwise_distance(_t(a), _t(b), p=p), _pdist_ref(a, b, p, 1e-6))
    _close(nn.PairwiseDistance(p=p, keepdim=True)(_t(a), _t(b)), _pdist_ref(a, b, p, 1e-6)[:, None])
    _close(F.pairwise_distance(_t(a), _t(b[0]), p=p), _pdist_ref(a, b[0], p, 1e-6))  # broadcasting
    x = _rand(5, 3, seed=28)
    i, j = np.triu_indices(5, 1)
    _close(F.pdist(_t(x), p=p), _pdist_ref(x[i], x[j], p, 0.0))


def test_pairwise_distance_p0_counts_nonzeros_with_zero_gradient():
    a = ef.tensor([[1.0, 2.0, 3.0]], dtype=ef.float64, requires_grad=True)
    d = F.pairwise_distance(a, ef.tensor([[1.0, 0.0, 3.0]], dtype=ef.float64), p=0, eps=0.0)
    assert d.tolist() == [1.0]
    d.sum().backward()
    assert not a.grad.numpy().any()


def test_pdist_identical_rows_have_zero_gradient():
    x = ef.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]], dtype=ef.float64, requires_grad=True)
    d = F.pdist(x)
    d.sum().backward()
    assert d[0].item() == 0.0 and np.isfinite(x.grad.numpy()).all()


# ------------------------------------------------------------------------------------------------
# pools


def _adaptive_bins(size, out):
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


@pytest.mark.parametrize("L,out", [(7, 3), (8, 4), (5, 5), (6, 1)])
def test_adaptive_pool1d_values(L, out):
    x = _rand(2, 3, L, seed=29)
    bins = _adaptive_bins(L, out)
    avg = np.stack([x[..., a:b].mean(-1) for a, b in bins], -1)
    mx = np.stack([x[..., a:b].max(-1) for a, b in bins], -1)
    arg = np.stack([x[..., a:b].argmax(-1) + a for a, b in bins], -1)
    _close(F.adaptive_avg_pool1d(_t(x), out), avg)
    _close(nn.AdaptiveAvgPool1d(out)(_t(x)), avg)
    _close(F.adaptive_max_pool1d(_t(x), (out,)), mx)
    y, idx = nn.AdaptiveMaxPool1d(out, return_indices=True)(_t(x))
    _close(y, mx)
    assert idx.tolist() == arg.tolist()
    _close(F.adaptive_avg_pool1d(_t(x[0]), out), avg[0])  # unbatched (C, L)
    y, idx = F.adaptive_max_pool1d_with_indices(_t(x), out)
    assert idx.tolist() == arg.tolist()


def test_with_indices_aliases_always_return_indices():
    x = ef.tensor(_rand(1, 2, 6, 6, seed=30))
    for fn, ref in [
        (F.max_pool2d_with_indices, lambda: F.max_pool2d(x, 3, 2, 1, return_indices=True)),
        (F.adaptive_max_pool2d_with_indices, lambda: F.adaptive_max_pool2d(x, (4, 3), return_indices=True)),
    ]:
        args = (3, 2, 1) if fn is F.max_pool2d_with_indices else ((4, 3),)
        y, i = fn(x, *args)
        y2, i2 = ref()
        assert ef.equal(y, y2) and i.tolist() == i2.tolist()
    y, i = F.max_pool1d_with_indices(x[0], 2)
    assert i.shape == (2, 6, 3)
    y, i = F.max_pool3d_with_indices(x, 2)
    assert y.shape == (1, 1, 3, 3)
    y, i = F.adaptive_max_pool3d_with_indices(x, (1, 2, 2))
    assert i.shape == (1, 1, 2, 2)


@pytest.mark.parametrize("p", [1, 2, 3, 1.5, math.inf])
def test_lp_pool_values(p):
    x = np.abs(_rand(2, 3, 8, seed=31)) + 0.1
    win = np.stack([x[..., s : s + 3] for s in range(0, 6, 2)], -2)  # kernel 3, stride 2
    ref = win.max(-1) if p == math.inf else (win**p).sum(-1) ** (1 / p)
    _close(F.lp_pool1d(_t(x), p, 3, 2), ref)
    _close(nn.LPPool1d(p, 3, stride=2)(_t(x)), ref)
    x2 = np.abs(_rand(1, 2, 4, 6, seed=32)) + 0.1
    w2 = x2.reshape(1, 2, 2, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(1, 2, 2, 3, 4)
    ref2 = w2.max(-1) if p == math.inf else (w2**p).sum(-1) ** (1 / p)
    _close(F.lp_pool2d(_t(x2), p, 2), ref2)
    _close(nn.LPPool2d(p, (2, 2))(_t(x2)), ref2)
    x3 = np.abs(_rand(1, 1, 2, 2, 4, seed=33)) + 0.1
    w3 = x3.reshape(1, 1, 2, 2, 2, 2)  # kernel (2, 2, 2): two windows along the last dim
    w3 = w3.transpose(0, 1, 4, 2, 3, 5).reshape(1, 1, 1, 1, 2, 8)
    ref3 = w3.max(-1) if p == math.inf else (w3**p).sum(-1) ** (1 / p)
    _close(F.lp_pool3d(_t(x3), p, 2), ref3)
    _close(nn.LPPool3d(p, 2)(_t(x3)), ref3)


def test_lp_pool_zero_window_has_zero_gradient():
    x = ef.tensor([[[0.0, 0.0, 1.0, 2.0]]], dtype=ef.float64, requires_grad=True)
    y = F.lp_pool1d(x, 2, 2)
    y.sum().backward()
    assert y.tolist()[0][0][0] == 0.0 and x.grad.tolist()[0][0][:2] == [0.0, 0.0]


@pytest.mark.parametrize(
    "n,k,s,p,size",
    [(1, 3, 2, 1, (9,)), (2, (2, 3), (2, 2), (1, 1), (6, 7)), (3, 2, 2, 0, (4, 4, 4)), (1, 3, 1, 0, (8,))],
)
def test_max_unpool_scatters_back(n, k, s, p, size):
    pool = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[n]
    unpool = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}[n]
    x = ef.tensor(_rand(2, 3, *size, seed=34))
    y, idx = pool(x, k, s, p, return_indices=True)
    out = unpool(y, idx, k, s, p, output_size=size)
    ref = np.zeros((2, 3, int(np.prod(size))))
    yi, ii = y.numpy().reshape(2, 3, -1), idx.numpy().reshape(2, 3, -1)
    for b in range(2):
        for c in range(3):
            ref[b, c, ii[b, c]] = yi[b, c]
    _close(out, ref.reshape(2, 3, *size))
    M = {1: nn.MaxUnpool1d, 2: nn.MaxUnpool2d, 3: nn.MaxUnpool3d}[n](k, s, p)
    _close(M(y, idx, output_size=(2, 3, *size)), ref.reshape(2, 3, *size))  # output_size with (N, C) too
    _close(unpool(y[0], idx[0], k, s, p, output_size=size), ref[0].reshape(3, *size))  # unbatched


def test_max_unpool_default_size_and_gradient_is_a_gather():
    x = ef.tensor([[[1.0, 3.0, 2.0, 5.0]]], dtype=ef.float64)
    y, idx = F.max_pool1d(x, 2, return_indices=True)
    y = y.detach().requires_grad_()
    out = F.max_unpool1d(y, idx, 2)
    assert out.tolist() == [[[0.0, 3.0, 0.0, 5.0]]]
    g = ef.tensor([[[10.0, 20.0, 30.0, 40.0]]], dtype=ef.float64)
    (out * g).sum().backward()
    assert y.grad.tolist() == [[[20.0, 40.0]]]


# ------------------------------------------------------------------------------------------------
# EmbeddingBag


def _bag_ref(W, inp, starts, ends, mode, pad=None, psw=None):
    out = np.zeros((len(starts), W.shape[1]))
    for b, (s, e) in enumerate(zip(starts, ends)):
        rows = [(W[inp[i]] * (psw[i] if psw is not None else 1.0)) for i in range(s, e) if inp[i] != pad]
        if rows:
            r = np.stack(rows)
            out[b] = {"sum": r.sum(0), "mean": r.mean(0), "max": r.max(0)}[mode]
    return out


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("pad", [None, 2])
def test_embedding_bag_values(mode, pad):
    W = _rand(10, 3, seed=35)
    inp = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 0])
    off = np.array([0, 4, 4, 8])
    ref = _bag_ref(W, inp, off, [4, 4, 8, 10], mode, pad)
    _close(F.embedding_bag(_t(inp), _t(W), _t(off), mode=mode, padding_idx=pad), ref)
    got = F.embedding_bag(_t(inp), _t(W), _t(np.append(off, 10)), mode=mode, padding_idx=pad, include_last_offset=True)
    _close(got, ref)
    ref2 = _bag_ref(W, inp, [0, 5], [5, 10], mode, pad)
    _close(F.embedding_bag(_t(inp.reshape(2, 5)), _t(W), mode=mode, padding_idx=pad), ref2)
    bag = nn.EmbeddingBag.from_pretrained(_t(W), mode=mode, padding_idx=pad)
    _close(bag(_t(inp), _t(off)), ref)


def test_embedding_bag_known_pytorch_values_and_per_sample_weights():
    W = ef.tensor(np.cos(np.arange(30)).reshape(10, 3))
    inp, off = ef.tensor([1, 2, 4, 5, 4, 3, 2, 9]), ef.tensor([0, 4, 4])
    want = {
        "sum": [[-0.9058264507, -0.7038563197, 0.1452360656], [0.0, 0.0, 0.0], [-0.3594151119, -0.8942306139, -0.6068946135]],
        "mean": [[-0.3019421502, -0.2346187732, 0.0484120219], [0.0, 0.0, 0.0], [-0.1198050373, -0.2980768713, -0.2022982045]],
        "max": [[0.8438539587, 0.9074467815, 0.2836621855], [0.0, 0.0, 0.0], [0.8438539587, 0.9074467815, 0.1367372182]],
    }
    for mode, w in want.items():
        _close(F.embedding_bag(inp, W, off, mode=mode, padding_idx=2), w, atol=1e-9)
    psw = ef.linspace(-1, 1, 8, dtype=ef.float64)
    want = [[0.0510317257, -0.1369552557, -0.1990262065], [0.0, 0.0, 0.0], [0.1237632779, -0.6540710855, -0.8305555092]]
    _close(F.embedding_bag(inp, W, off, mode="sum", per_sample_weights=psw), want, atol=1e-9)
    bag = nn.EmbeddingBag.from_pretrained(W, mode="sum")
    _close(bag(inp, off, per_sample_weights=psw), want, atol=1e-9)


def test_embedding_bag_gradients_follow_pytorch():
    W = ef.tensor(_rand(6, 2, seed=36), requires_grad=True)
    inp = ef.tensor([[0, 1, 1], [2, 3, 5]])
    F.embedding_bag(inp, W, mode="mean", padding_idx=5).sum().backward()
    # bag 0 averages 3 rows, bag 1 two (the padding entry is left out); row 5 gets nothing
    np.testing.assert_allclose(W.grad.numpy()[:, 0], [1 / 3, 2 / 3, 1 / 2, 1 / 2, 0.0, 0.0])
    W.grad = None
    Wt = ef.tensor([[1.0, 5.0], [1.0, 0.0], [3.0, 3.0]], requires_grad=True)
    F.embedding_bag(ef.tensor([[0, 1, 2]]), Wt, mode="max").sum().backward()
    # the first maximum per feature takes the gradient (ties: the first row)
    assert Wt.grad.tolist() == [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
    W2 = ef.ones(4, 2, requires_grad=True)
    F.embedding_bag(ef.tensor([0, 0, 1, 0]), W2, ef.tensor([0, 2]), mode="sum", scale_grad_by_freq=True).sum().backward()
    assert W2.grad.tolist() == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]


def test_embedding_bag_module_parameters_repr_and_padding_row():
    bag = nn.EmbeddingBag(10, 3, padding_idx=-1)
    assert [n for n, _ in bag.named_parameters()] == ["weight"] and bag.weight.shape == (10, 3)
    assert list(bag.state_dict()) == ["weight"]
    assert bag.padding_idx == 9 and not bag.weight.detach().numpy()[9].any()
    assert repr(bag) == "EmbeddingBag(10, 3, mode='mean', padding_idx=9)"
    m = nn.EmbeddingBag(10, 3, max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True, mode="sum", dtype=ef.float64)
    assert repr(m) == "EmbeddingBag(10, 3, max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True, mode='sum')"
    assert m.weight.dtype == ef.float64
    m(ef.tensor([[1, 2], [2, 3]]))
    assert (np.abs(m.weight.detach().numpy()[[1, 2, 3]]) ** 3).sum(1).max() ** (1 / 3) <= 1.0 + 1e-6  # max_norm renorm
    frozen = nn.EmbeddingBag.from_pretrained(ef.eye(3))
    assert not frozen.weight.requires_grad
    assert nn.EmbeddingBag.from_pretrained(ef.eye(3), freeze=False).weight.requires_grad
    assert ef.plugins.get("layers", "EmbeddingBag") is nn.EmbeddingBag


def test_embedding_bag_errors():
    W = ef.randn(5, 2)
    with pytest.raises(ValueError, match="offsets has to be None"):
        F.embedding_bag(ef.tensor([[0, 1]]), W, ef.tensor([0]))
    with pytest.raises(ValueError, match="needs offsets"):
        F.embedding_bag(ef.tensor([0, 1]), W)
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(ef.tensor([0, 1]), W, ef.tensor([0]), per_sample_weights=ef.ones(2))
    with pytest.raises(ValueError, match="per_sample_weights of the input's shape"):
        F.embedding_bag(ef.tensor([0, 1]), W, ef.tensor([0]), mode="sum", per_sample_weights=ef.ones(3))
    with pytest.raises(ValueError, match="mode has to be one of"):
        F.embedding_bag(ef.tensor([0, 1]), W, ef.tensor([0]), mode="median")
    with pytest.raises(ValueError, match="max mode does not support scaling"):
        F.embedding_bag(ef.tensor([0, 1]), W, ef.tensor([0]), mode="max", scale_grad_by_freq=True)
    with pytest.raises(RuntimeError, match=r"offsets\[0\] has to be 0"):
        F.embedding_bag(ef.tensor([0, 1]), W, ef.tensor([1]))
    with pytest.raises(ValueError, match="last offset to be the input's length 2"):
        F.embedding_bag(ef.tensor([0, 1]), W, ef.tensor([0, 1]), include_last_offset=True)
    with pytest.raises(IndexError, match=r"indices must be in \[0, 5\)"):
        F.embedding_bag(ef.tensor([0, 7]), W, ef.tensor([0]))
    with pytest.raises(ValueError, match="2-D weight"):
        F.embedding_bag(ef.tensor([0, 1]), ef.randn(5), ef.tensor([0]))
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.EmbeddingBag(5, 2, sparse=True)
    with pytest.raises(AssertionError, match="padding_idx must be within"):
        nn.EmbeddingBag(5, 2, padding_idx=5)


# ------------------------------------------------------------------------------------------------
# gradient checks (float64)


def _g(*shape, seed=0, positive=False):
    a = _rand(*shape, seed=seed)
    return ef.tensor(np.abs(a) + 0.2 if positive else a, requires_grad=True)


def test_gradcheck_pairwise_losses():
    x1, x2 = _g(4, 3, seed=40), _g(4, 3, seed=41)
    y = ef.tensor([1, -1, 1, -1])
    assert gradcheck(lambda a, b: F.cosine_embedding_loss(a, b, y, margin=-0.5, reduction="none"), (x1, x2))
    assert gradgradcheck(lambda a, b: F.cosine_embedding_loss(a, b, y, margin=-0.5), (x1, x2))
    yf = ef.tensor([1.0, -1.0, 1.0, 1.0], dtype=ef.float64)
    a, b = _g(4, seed=42), _g(4, seed=43)
    assert gradcheck(lambda a, b: F.margin_ranking_loss(a, b, yf, margin=0.1, reduction="sum"), (a, b))
    t = ef.tensor([1.0, -1.0, 1.0, 0.5], dtype=ef.float64)
    assert gradcheck(lambda a: F.hinge_embedding_loss(a, t, margin=2.5), (_g(4, seed=44, positive=True),))
    x, ys = _g(3, 4, seed=45), ef.tensor(np.sign(_rand(3, 4, seed=46)))
    assert gradcheck(lambda a, t: F.soft_margin_loss(a, t), (x, ys.requires_grad_()))
    tt = ef.tensor((_rand(3, 4, seed=47) > 0).astype(float), requires_grad=True)
    w = ef.tensor([0.5, 1.0, 2.0, 1.5], dtype=ef.float64, requires_grad=True)
    assert gradcheck(lambda a, t, w: F.multilabel_soft_margin_loss(a, t, w, reduction="none"), (x, tt, w))
    assert gradgradcheck(lambda a: F.multilabel_soft_margin_loss(a, tt.detach()), (x,))


@pytest.mark.parametrize("p", [1, 2])
def test_gradcheck_margin_losses(p):
    x = _g(3, 5, seed=48)
    w = ef.tensor([1.0, 0.5, 2.0, 1.5, 3.0], dtype=ef.float64)
    assert gradcheck(lambda a: F.multi_margin_loss(a, ef.tensor([0, 3, 4]), p=p, margin=1.3, weight=w), (x,))
    t = ef.tensor([[3, 0, -1, 1, 2], [1, 1, 4, -1, -1], [-1, 2, 3, 0, 0]])
    assert gradcheck(lambda a: F.multilabel_margin_loss(a, t, reduction="none"), (x,))


def test_gradcheck_triplet_losses():
    a, p, n = _g(4, 3, seed=49), _g(4, 3, seed=50), _g(4, 3, seed=51)
    for norm in (2, 1, 3):
        assert gradcheck(lambda a, p, n, norm=norm: F.triplet_margin_loss(a, p, n, margin=4.0, p=norm, swap=True), (a, p, n))
    assert gradgradcheck(lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=4.0), (a, p, n))
    fn = lambda x, y: 1 - F.cosine_similarity(x, y)  # noqa: E731
    assert gradcheck(lambda a, p, n: F.triplet_margin_with_distance_loss(a, p, n, distance_function=fn, margin=3.0), (a, p, n))


def test_gradcheck_likelihood_losses():
    x, y = _g(3, 4, seed=52), ef.tensor(np.abs(_rand(3, 4, seed=53)) * 3, requires_grad=True)
    assert gradcheck(lambda a, t: F.poisson_nll_loss(a, t, full=True), (x, y))
    xp = _g(3, 4, seed=54, positive=True)
    assert gradcheck(lambda a, t: F.poisson_nll_loss(a, t, log_input=False, full=True, reduction="none"), (xp, y))
    var = _g(3, 1, seed=55, positive=True)
    assert gradcheck(lambda a, t, v: F.gaussian_nll_loss(a, t, v, full=True), (x, y, var))
    assert gradgradcheck(lambda a, v: F.gaussian_nll_loss(a, y.detach(), v, reduction="sum"), (x, var))


def test_gradcheck_distances():
    a, b = _g(3, 4, seed=56), _g(3, 4, seed=57)
    assert gradcheck(lambda a, b: F.cosine_similarity(a, b, dim=0), (a, b))
    assert gradgradcheck(lambda a, b: F.cosine_similarity(a, b), (a, b))
    for p in (1.0, 2.0, 3.0, math.inf):
        assert gradcheck(lambda a, b, p=p: F.pairwise_distance(a, b, p=p, keepdim=True), (a, b))
        assert gradcheck(lambda x, p=p: F.pdist(x, p=p), (a,))
    assert gradgradcheck(lambda x: F.pdist(x), (a,))


def test_gradcheck_pools():
    x = _g(2, 3, 7, seed=58)
    assert gradcheck(lambda t: F.adaptive_avg_pool1d(t, 3), (x,))
    assert gradcheck(lambda t: F.adaptive_max_pool1d(t, 3), (x,))
    assert gradcheck(lambda t: F.adaptive_max_pool1d(t, 7 // 2 + 1), (x,))
    xp = _g(1, 2, 5, 6, seed=59, positive=True)
    for p in (1, 2, 3.5):
        assert gradcheck(lambda t, p=p: F.lp_pool2d(t, p, 2, ceil_mode=True), (xp,))
    assert gradgradcheck(lambda t: F.lp_pool2d(t, 2, (2, 3)), (xp,))
    assert gradcheck(lambda t: F.lp_pool1d(t, 2, 3, 2), (_g(2, 3, 8, seed=60, positive=True),))
    assert gradcheck(lambda t: F.lp_pool3d(t, 2, 2), (_g(1, 1, 2, 4, 4, seed=61, positive=True),))
    y, idx = F.max_pool2d(ef.tensor(_rand(1, 2, 4, 6, seed=62)), 2, return_indices=True)
    yy = y.detach().requires_grad_()
    assert gradcheck(lambda t: F.max_unpool2d(t, idx, 2), (yy,))
    assert gradgradcheck(lambda t: F.max_unpool2d(t, idx, 2) ** 2, (yy,))


def test_gradcheck_embedding_bag():
    W = _g(8, 3, seed=63)
    inp, off = ef.tensor([1, 2, 4, 5, 4, 3, 2, 7, 0]), ef.tensor([0, 4, 4, 8])
    for mode in ("sum", "mean", "max"):
        assert gradcheck(lambda w, mode=mode: F.embedding_bag(inp, w, off, mode=mode, padding_idx=2), (W,))
    psw = _g(9, seed=64)
    assert gradcheck(lambda w, s: F.embedding_bag(inp, w, off, mode="sum", per_sample_weights=s), (W, psw))
    assert gradgradcheck(lambda w, s: F.embedding_bag(inp, w, off, mode="sum", per_sample_weights=s), (W, psw))


# ------------------------------------------------------------------------------------------------
# errors, reductions, reprs


@pytest.mark.parametrize(
    "call",
    [
        lambda r: F.cosine_embedding_loss(ef.ones(2, 3), ef.ones(2, 3), ef.ones(2), reduction=r),
        lambda r: F.margin_ranking_loss(ef.ones(2), ef.ones(2), ef.ones(2), reduction=r),
        lambda r: F.hinge_embedding_loss(ef.ones(2), ef.ones(2), reduction=r),
        lambda r: F.soft_margin_loss(ef.ones(2), ef.ones(2), reduction=r),
        lambda r: F.multilabel_soft_margin_loss(ef.ones(2, 3), ef.ones(2, 3), reduction=r),
        lambda r: F.multi_margin_loss(ef.ones(2, 3), ef.tensor([0, 1]), reduction=r),
        lambda r: F.multilabel_margin_loss(ef.ones(2, 3), ef.tensor([[0, -1, 0], [1, -1, 0]]), reduction=r),
        lambda r: F.triplet_margin_loss(ef.ones(2, 3), ef.ones(2, 3), ef.ones(2, 3), reduction=r),
        lambda r: F.triplet_margin_with_distance_loss(ef.ones(2, 3), ef.ones(2, 3), ef.ones(2, 3), reduction=r),
        lambda r: F.poisson_nll_loss(ef.ones(2), ef.ones(2), reduction=r),
        lambda r: F.gaussian_nll_loss(ef.ones(2), ef.ones(2), ef.ones(2), reduction=r),
        lambda r: F.ctc_loss(ef.zeros(3, 1, 2), ef.tensor([[1]]), [3], [1], reduction=r),
    ],
)
def test_bad_reduction_is_a_value_error(call):
    with pytest.raises(ValueError, match="reduction"):
        call("average")


def test_legacy_size_average_and_reduce():
    x, y = ef.tensor([0.0, 2.0]), ef.tensor([1.0, -1.0])
    full = F.soft_margin_loss(x, y, reduction="none")
    assert np.isclose(F.soft_margin_loss(x, y, size_average=False).item(), full.sum().item())
    assert F.soft_margin_loss(x, y, reduce=False).shape == (2,)
    assert nn.SoftMarginLoss(size_average=False).reduction == "sum"
    assert nn.MultiMarginLoss(reduce=False).reduction == "none"
    assert nn.PoissonNLLLoss(size_average=True, reduce=True).reduction == "mean"
    with pytest.raises(ValueError, match="reduction"):
        nn.CosineEmbeddingLoss(reduction="avg")


def test_shape_and_argument_errors():
    with pytest.raises(RuntimeError, match="1-D target expects 2-D inputs"):
        F.cosine_embedding_loss(ef.ones(3), ef.ones(3), ef.ones(1))
    with pytest.raises(RuntimeError, match="0-D or 1-D target"):
        F.cosine_embedding_loss(ef.ones(2, 3), ef.ones(2, 3), ef.ones(2, 1))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.margin_ranking_loss(ef.ones(2), ef.ones(2), ef.ones(2, 1))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(ef.ones(2, 3), ef.tensor([0, 1]), p=3)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(RuntimeError, match="inconsistent target size"):
        F.multi_margin_loss(ef.ones(2, 3), ef.tensor([0, 1, 2]))
    with pytest.raises(IndexError, match=r"target values must be in \[0, 3\)"):
        F.multi_margin_loss(ef.ones(2, 3), ef.tensor([0, 3]))
    with pytest.raises(RuntimeError, match="target of the input's shape"):
        F.multilabel_margin_loss(ef.ones(2, 3), ef.tensor([[0, 1], [1, 0]]))
    with pytest.raises(RuntimeError, match="class indices"):
        F.multilabel_margin_loss(ef.ones(2, 3), ef.ones(2, 3))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(ef.ones(2, 3), ef.ones(2, 3), ef.ones(2, 3), margin=0)
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=-1.0)
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=0.0)
    with pytest.raises(RuntimeError, match="anchor 2D, positive 2D, negative 1D"):
        F.triplet_margin_loss(ef.ones(2, 3), ef.ones(2, 3), ef.ones(3))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(ef.ones(3, 4), ef.ones(3, 4), ef.ones(2, 4))
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(ef.ones(3, 4), ef.ones(3, 4), ef.full((3, 4), -1.0))
    with pytest.raises(ValueError, match="var has negative"):
        F.gaussian_nll_loss(ef.ones(3, 4), ef.ones(3, 4), -1.0)
    with pytest.raises(TypeError, match="must be a Tensor|to be a Tensor"):
        F.soft_margin_loss([1.0], ef.ones(1))
    with pytest.raises(RuntimeError, match="2-D input"):
        F.pdist(ef.ones(3))
    with pytest.raises(RuntimeError, match="broadcastable"):
        F.cosine_similarity(ef.ones(2, 3), ef.ones(4, 3))


def test_ctc_and_unpool_errors():
    lp = ef.zeros(4, 2, 3)
    with pytest.raises(RuntimeError, match=r"input_lengths in \[0, T=4\]"):
        F.ctc_loss(lp, ef.tensor([[1], [2]]), [5, 4], [1, 1])
    with pytest.raises(RuntimeError, match=r"input_lengths of shape \(2,\)"):
        F.ctc_loss(lp, ef.tensor([[1], [2]]), [4], [1, 1])
    with pytest.raises(RuntimeError, match="exceed the padded target length"):
        F.ctc_loss(lp, ef.tensor([[1], [2]]), [4, 4], [2, 1])
    with pytest.raises(IndexError, match=r"class indices in \[0, 3\)"):
        F.ctc_loss(lp, ef.tensor([[1], [5]]), [4, 4], [1, 1])
    with pytest.raises(RuntimeError, match=r"log_probs of shape \(T, N, C\)"):
        F.ctc_loss(ef.zeros(4), ef.tensor([[1]]), [4], [1])
    y, idx = F.max_pool2d(ef.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(ValueError, match="invalid output_size"):
        F.max_unpool2d(y, idx, 2, output_size=(9, 9))
    with pytest.raises(ValueError, match="2 or 4 elements"):
        F.max_unpool2d(y, idx, 2, output_size=(4, 4, 4))
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(y, idx * 10, 2)
    with pytest.raises(RuntimeError, match="indices of the input's shape"):
        F.max_unpool2d(y, idx[..., :1], 2)
    with pytest.raises(RuntimeError, match="expected input with 4 dimensions"):
        F.max_unpool2d(ef.ones(2, 2), idx, 2)


def test_module_reprs_match_pytorch():
    cases = {
        nn.CosineEmbeddingLoss(): "CosineEmbeddingLoss()",
        nn.MarginRankingLoss(): "MarginRankingLoss()",
        nn.HingeEmbeddingLoss(): "HingeEmbeddingLoss()",
        nn.SoftMarginLoss(): "SoftMarginLoss()",
        nn.MultiLabelSoftMarginLoss(): "MultiLabelSoftMarginLoss()",
        nn.MultiMarginLoss(): "MultiMarginLoss()",
        nn.MultiLabelMarginLoss(): "MultiLabelMarginLoss()",
        nn.TripletMarginLoss(): "TripletMarginLoss()",
        nn.TripletMarginWithDistanceLoss(): "TripletMarginWithDistanceLoss(\n  (distance_function): PairwiseDistance()\n)",
        nn.PoissonNLLLoss(): "PoissonNLLLoss()",
        nn.GaussianNLLLoss(): "GaussianNLLLoss()",
        nn.CTCLoss(): "CTCLoss()",
        nn.CosineSimilarity(): "CosineSimilarity()",
        nn.PairwiseDistance(): "PairwiseDistance()",
        nn.AdaptiveAvgPool1d(3): "AdaptiveAvgPool1d(output_size=3)",
        nn.AdaptiveMaxPool1d(3): "AdaptiveMaxPool1d(output_size=3)",
        nn.LPPool1d(2, 3): "LPPool1d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)",
        nn.LPPool2d(2, 3): "LPPool2d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)",
        nn.LPPool3d(2, 3): "LPPool3d(norm_type=2, kernel_size=3, stride=None, ceil_mode=False)",
        nn.MaxUnpool1d(2): "MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))",
        nn.MaxUnpool2d(2): "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))",
        nn.MaxUnpool3d(2): "MaxUnpool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))",
        nn.EmbeddingBag(10, 3): "EmbeddingBag(10, 3, mode='mean')",
    }
    for m, want in cases.items():
        assert repr(m) == want
    assert [n for n, _ in nn.MultiMarginLoss(weight=ef.ones(3)).named_buffers()] == ["weight"]
    assert nn.PairwiseDistance(p=3.0).norm == 3.0
    assert nn.CTCLoss(blank=2, zero_infinity=True).zero_infinity


def test_every_new_name_is_public_and_a_layer():
    from einframe.nn import _functional_extra_loss as fx
    from einframe.nn.modules import extra_loss as el

    for name in el.__all__:
        assert getattr(nn, name) is getattr(el, name)
        assert ef.plugins.get("layers", name) is getattr(el, name)
    for name in fx.__all__:
        assert getattr(F, name) is getattr(fx, name)
