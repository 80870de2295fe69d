"""einframe.nn.functional (layer catalogue): float64 gradchecks, numpy references, known values from PyTorch."""

import math

import numpy as np
import pytest

import einframe as ef
import einframe.nn.functional as F

rng = np.random.default_rng(0)


def t64(*shape, rg=True, scale=1.0):
    return ef.tensor(rng.normal(size=shape) * scale, dtype=ef.float64, requires_grad=rg)


def const(a):
    return ef.tensor(np.asarray(a))


# ---------------------------------------------------------------------------------------------
# gradchecks: (name, fn, input shapes); every input is a float64 leaf that requires grad

IDX = const([2, 0, 1])
TGT = const([2, 0, -100, 1])
W3 = const([0.2, 1.0, 3.0])
BIN = const((rng.uniform(size=(3, 4)) > 0.5) * 1.0)
PROB = const(rng.dirichlet(np.ones(3), size=4))
KPM = const([[False, False, True, False], [False, True, False, False]])
AMASK = const(np.triu(np.ones((3, 4), bool), 2))


def _mha_kdim_vdim_bias_kv_zero_attn(q, k, v, wq, wk, wv, b, bk, bv, ow, ob):
    return F.multi_head_attention_forward(
        q, k, v, 4, 2, None, b, bk, bv, True, 0.0, ow, ob, key_padding_mask=KPM, attn_mask=AMASK,
        use_separate_proj_weight=True, q_proj_weight=wq, k_proj_weight=wk, v_proj_weight=wv,
    )[0]  # fmt: skip


GRAD_CASES = [
    ("conv1d", lambda x, w, b: F.conv1d(x, w, b, 2, 1, 2), [(2, 2, 9), (3, 2, 3), (3,)]),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, (2, 1), 1, (1, 2)), [(2, 2, 6, 6), (3, 2, 3, 2), (3,)]),
    ("conv2d-groups-same", lambda x, w: F.conv2d(x, w, None, 1, "same", 1, 2), [(1, 4, 5, 4), (4, 2, 3, 3)]),
    ("conv3d", lambda x, w: F.conv3d(x, w, None, 1, (0, 1, 0)), [(1, 2, 3, 4, 3), (2, 2, 2, 2, 2)]),
    ("conv_transpose1d", lambda x, w, b: F.conv_transpose1d(x, w, b, 2, 1, 1), [(2, 2, 4), (2, 3, 3), (3,)]),
    ("conv_transpose2d", lambda x, w: F.conv_transpose2d(x, w, None, 2, 1, 1, 2, 1), [(1, 4, 3, 3), (4, 1, 3, 2)]),
    ("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 8)]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1, dilation=1), [(1, 2, 6, 5)]),
    ("max_pool2d-dilated", lambda x: F.max_pool2d(x, 2, 1, 0, 2), [(1, 2, 5, 5)]),
    ("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1, count_include_pad=False), [(2, 2, 7)]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), [(1, 2, 6, 5)]),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [(1, 2, 5, 5)]),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (2, 3)), [(1, 2, 5, 5)]),
    (
        "conv_transpose3d",
        lambda x, w, b: F.conv_transpose3d(x, w, b, (2, 1, 2), (1, 0, 0), (1, 0, 0), 2, (1, 2, 1)),
        [(1, 4, 2, 2, 2), (4, 1, 2, 2, 2), (2,)],
    ),
    ("max_pool3d", lambda x: F.max_pool3d(x, 2, (1, 2, 2), 1, ceil_mode=True), [(1, 2, 3, 4, 3)]),
    ("max_pool3d-dilated", lambda x: F.max_pool3d(x, 2, 1, 0, (2, 1, 1)), [(1, 1, 3, 3, 3)]),
    (
        "avg_pool3d",
        lambda x: F.avg_pool3d(x, (2, 3, 2), 2, (1, 1, 0), ceil_mode=True, count_include_pad=False),
        [(1, 2, 3, 4, 3)],
    ),
    ("avg_pool3d-divisor", lambda x: F.avg_pool3d(x, 2, 1, divisor_override=3), [(1, 1, 3, 3, 3)]),
    ("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, (2, None, 3)), [(1, 2, 3, 2, 4)]),
    ("adaptive_max_pool3d", lambda x: F.adaptive_max_pool3d(x, (2, 1, 3)), [(1, 2, 3, 2, 4)]),
    ("batch_norm", lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [(3, 2, 2, 2), (2,), (2,)]),
    ("batch_norm-eval", lambda x, w: F.batch_norm(x, const([0.1, -0.2]), const([1.5, 0.7]), w, None), [(3, 2, 2), (2,)]),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (3, 2), w, b), [(2, 3, 2), (3, 2), (3, 2)]),
    ("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    ("normalize", lambda x: F.normalize(x, 2.0, 1), [(3, 4)]),
    ("embedding", lambda w: F.embedding(IDX, w), [(3, 4)]),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [(3, 4)]),
    ("elu", lambda x: F.elu(x, 1.3), [(3, 4)]),
    ("gelu", F.gelu, [(3, 4)]),
    ("gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), [(3, 4)]),
    ("silu", F.silu, [(3, 4)]),
    ("softplus", lambda x: F.softplus(x, 2.0, 1.5), [(3, 4)]),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 0.5), [(3, 4)]),
    ("softmax", lambda x: F.softmax(x, -1), [(3, 4)]),
    ("log_softmax", lambda x: F.log_softmax(x, 0), [(3, 4)]),
    ("bilinear", F.bilinear, [(2, 3), (2, 2), (4, 3, 2), (4,)]),
    ("sdpa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [(1, 2, 3, 4), (1, 2, 3, 4), (1, 2, 3, 2)]),
    (
        "mha",
        lambda x, w, b, ow: F.multi_head_attention_forward(x, x, x, 4, 2, w, b, None, None, False, 0.0, ow, None)[0],
        [(3, 1, 4), (12, 4), (12,), (4, 4)],
    ),
    (
        "mha-kdim-vdim-bias_kv-zero_attn",
        _mha_kdim_vdim_bias_kv_zero_attn,
        [(3, 2, 4), (4, 2, 3), (4, 2, 5), (4, 4), (4, 3), (4, 5), (12,), (1, 1, 4), (1, 1, 4), (4, 4), (4,)],
    ),
    (
        "mha-self-bias_kv-weights",
        lambda x, w, bk, bv, ow: F.multi_head_attention_forward(
            x, x, x, 4, 2, w, None, bk, bv, False, 0.0, ow, None, average_attn_weights=False
        )[1],
        [(3, 1, 4), (12, 4), (1, 1, 4), (1, 1, 4), (4, 4)],
    ),
    ("pad-reflect", lambda x: F.pad(x, (2, 1, 1, 0), mode="reflect"), [(1, 1, 3, 4)]),
    ("pad-replicate", lambda x: F.pad(x, (2, 1), mode="replicate"), [(1, 2, 3)]),
    ("pad-circular", lambda x: F.pad(x, (1, 2, 1, 1), mode="circular"), [(1, 1, 3, 4)]),
    ("interpolate-bilinear", lambda x: F.interpolate(x, size=(4, 5), mode="bilinear"), [(1, 1, 3, 2)]),
    ("interpolate-nearest", lambda x: F.interpolate(x, scale_factor=2), [(1, 1, 2, 3)]),
    ("interpolate-bicubic", lambda x: F.interpolate(x, size=(5, 2), mode="bicubic"), [(1, 2, 3, 4)]),
    ("unfold", lambda x: F.unfold(x, 2, padding=1, stride=2), [(1, 2, 3, 4)]),
    ("fold", lambda x: F.fold(x, (3, 4), 2, padding=1, stride=2), [(1, 8, 6)]),
    ("l1_loss", lambda a, b: F.l1_loss(a, b), [(3, 4), (3, 4)]),
    ("smooth_l1_loss", lambda a, b: F.smooth_l1_loss(a, b, beta=0.5, reduction="sum"), [(3, 4), (3, 4)]),
    ("huber_loss", lambda a, b: F.huber_loss(a, b, delta=0.7), [(3, 4), (3, 4)]),
    ("cross_entropy", lambda x: F.cross_entropy(x, TGT, W3, label_smoothing=0.1), [(4, 3)]),
    ("cross_entropy-probs", lambda x: F.cross_entropy(x, PROB, label_smoothing=0.2), [(4, 3)]),
    ("nll_loss", lambda x: F.nll_loss(x, TGT, W3, reduction="sum"), [(4, 3)]),
    ("binary_cross_entropy", lambda x: F.binary_cross_entropy(x.sigmoid(), BIN), [(3, 4)]),
    (
        "bce_with_logits",
        lambda x, w: F.binary_cross_entropy_with_logits(x, BIN, w, pos_weight=const([1.0, 2.0, 0.5, 3.0])),
        [(3, 4), (3, 4)],
    ),
    ("kl_div", lambda x: F.kl_div(x, PROB, reduction="batchmean"), [(4, 3)]),
    ("kl_div-log", lambda x, t: F.kl_div(x, t, log_target=True), [(4, 3), (4, 3)]),
]


@pytest.mark.parametrize("name,fn,shapes", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn, shapes):
    xs = [t64(*s) for s in shapes]
    assert ef.autograd.gradcheck(fn, xs)


@pytest.mark.parametrize(
    "name", ["conv2d", "conv_transpose2d", "conv_transpose3d", "max_pool2d", "max_pool3d", "batch_norm", "sdpa", "cross_entropy"]
)
def test_gradgradcheck(name):
    fn, shapes = next((f, s) for n, f, s in GRAD_CASES if n == name)
    xs = [t64(*s) for s in shapes]
    assert ef.autograd.gradgradcheck(fn, xs)


# ---------------------------------------------------------------------------------------------
# numpy references


def np_conv2d(x, w, b, s, p, d, g):
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    B, C, H, W = x.shape
    n_out, cg, kh, kw = w.shape
    oh = (H - d[0] * (kh - 1) - 1) // s[0] + 1
    ow = (W - d[1] * (kw - 1) - 1) // s[1] + 1
    y = np.zeros((B, n_out, oh, ow))
    og = n_out // g
    for o in range(n_out):
        gi = o // og
        for i in range(oh):
            for j in range(ow):
                patch = x[
                    :,
                    gi * cg : (gi + 1) * cg,
                    i * s[0] : i * s[0] + d[0] * (kh - 1) + 1 : d[0],
                    j * s[1] : j * s[1] + d[1] * (kw - 1) + 1 : d[1],
                ]
                y[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3)) + (b[o] if b is not None else 0)
    return y


@pytest.mark.parametrize("s,p,d,g", [(1, 0, 1, 1), (2, 1, 1, 1), (2, 2, 2, 2), (3, 1, 2, 4)])
def test_conv2d_matches_numpy(s, p, d, g):
    x = rng.normal(size=(2, 4, 9, 8))
    w = rng.normal(size=(8, 4 // g, 3, 2))
    b = rng.normal(size=8)
    y = F.conv2d(ef.tensor(x), ef.tensor(w), ef.tensor(b), s, p, d, g).numpy()
    assert np.allclose(y, np_conv2d(x, w, b, (s, s), (p, p), (d, d), g))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """<conv(x), y> == <x, conv_transpose(y)> for the same weight (definition of the transpose)."""
    x = rng.normal(size=(2, 4, 9, 8))
    w = rng.normal(size=(6, 2, 3, 2))
    y = rng.normal(size=F.conv2d(ef.tensor(x), ef.tensor(w), None, 2, 1, 1, 2).shape)
    lhs = (F.conv2d(ef.tensor(x), ef.tensor(w), None, 2, 1, 1, 2).numpy() * y).sum()
    ct = F.conv_transpose2d(ef.tensor(y), ef.tensor(w), None, 2, 1, output_padding=0, groups=2).numpy()
    assert ct.shape == x.shape
    assert np.isclose(lhs, (ct * x).sum())


def test_max_pool2d_matches_numpy_and_indices():
    x = rng.normal(size=(2, 3, 7, 6))
    y, idx = F.max_pool2d(ef.tensor(x), 3, 2, 1, return_indices=True)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    ref = np.zeros(y.shape)
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            ref[:, :, i, j] = xp[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].max(axis=(2, 3))
    assert np.allclose(y.numpy(), ref)
    assert np.allclose(np.take_along_axis(x.reshape(2, 3, -1), idx.numpy().reshape(2, 3, -1), 2).reshape(y.shape), ref)


def test_max_pool_ties_go_to_the_first_maximum():
    x = ef.ones(1, 1, 2, 2, requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    assert x.grad.flatten().tolist() == [1.0, 0.0, 0.0, 0.0]


def test_avg_pool2d_count_include_pad():
    x = ef.ones(1, 1, 3, 3)
    assert np.allclose(F.avg_pool2d(x, 2, padding=1).numpy(), [[[[0.25, 0.5], [0.5, 1.0]]]])
    assert np.allclose(F.avg_pool2d(x, 2, padding=1, count_include_pad=False).numpy(), 1.0)
    assert F.avg_pool2d(ef.ones(1, 1, 5, 5), 2, ceil_mode=True).shape == (1, 1, 3, 3)


# ---------------------------------------------------------------------------------------------
# 3-D: transposed convolution and pooling against plain-loop numpy references


def _pool_out(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size (incl. the ceil-mode rule that a window may not start in the right padding)."""
    span = size + 2 * p - d * (k - 1) - 1
    o = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (o - 1) * s >= size + p:
        o -= 1
    return o


def np_conv_transpose3d(x, w, b, s, p, op, g, d):
    B, C, *S = x.shape
    cg, og, *k = w.shape[0] // g, w.shape[1], *w.shape[2:]
    full = [(S[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 + op[i] for i in range(3)]
    y = np.zeros((B, og * g, *full))
    for gi in range(g):
        xs, ws = x[:, gi * cg : (gi + 1) * cg], w[gi * cg : (gi + 1) * cg]
        for pos in np.ndindex(*S):
            for tap in np.ndindex(*k):
                at = tuple(pos[i] * s[i] + tap[i] * d[i] for i in range(3))
                y[(slice(None), slice(gi * og, (gi + 1) * og), *at)] += xs[(slice(None), slice(None), *pos)] @ ws[(..., *tap)]
    y = y[(slice(None), slice(None), *(slice(p[i], full[i] - p[i]) for i in range(3)))]
    return y if b is None else y + b.reshape(-1, 1, 1, 1)


@pytest.mark.parametrize(
    "s,p,op,g,d",
    [(1, 0, 0, 1, 1), (2, 1, 1, 1, 1), ((2, 1, 3), (1, 0, 2), (1, 0, 2), 2, 1), ((1, 2, 2), 1, (1, 0, 1), 2, (2, 1, 3))],
)
def test_conv_transpose3d_matches_numpy(s, p, op, g, d):
    x = rng.normal(size=(2, 4, 3, 2, 3))
    w = rng.normal(size=(4, 3, 2, 3, 2))
    b = rng.normal(size=3 * g)
    y = F.conv_transpose3d(ef.tensor(x), ef.tensor(w), ef.tensor(b), s, p, op, g, d).numpy()
    tri = lambda v: (v,) * 3 if isinstance(v, int) else v  # noqa: E731
    assert np.allclose(y, np_conv_transpose3d(x, w, b, tri(s), tri(p), tri(op), g, tri(d)))
    # unbatched (C, D, H, W) input gives the batched result's first item
    y0 = F.conv_transpose3d(ef.tensor(x[0]), ef.tensor(w), ef.tensor(b), s, p, op, g, d).numpy()
    assert np.allclose(y0, y[0])


def test_conv_transpose3d_is_the_adjoint_of_conv3d():
    x = rng.normal(size=(2, 4, 5, 4, 6))
    w = rng.normal(size=(6, 2, 3, 2, 2))
    fwd = F.conv3d(ef.tensor(x), ef.tensor(w), None, (2, 1, 2), 1, (1, 2, 1), 2).numpy()
    y = rng.normal(size=fwd.shape)
    ct = F.conv_transpose3d(ef.tensor(y), ef.tensor(w), None, (2, 1, 2), 1, 0, 2, (1, 2, 1)).numpy()
    assert ct.shape == x.shape
    assert np.isclose((fwd * y).sum(), (ct * x).sum())


def np_max_pool3d(x, k, s, p, d, ceil_mode):
    """Values and PyTorch's indices (flat positions in each input volume; first maximum in scan order)."""
    B, C, *S = x.shape
    osz = [_pool_out(S[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(3)]
    y, idx = np.zeros((B, C, *osz)), np.zeros((B, C, *osz), dtype=np.int64)
    for b, c, *o in np.ndindex(B, C, *osz):
        best, at = -np.inf, -1
        for tap in np.ndindex(*k):
            pos = [o[i] * s[i] - p[i] + tap[i] * d[i] for i in range(3)]
            if all(0 <= pos[i] < S[i] for i in range(3)) and x[(b, c, *pos)] > best:
                best, at = x[(b, c, *pos)], (pos[0] * S[1] + pos[1]) * S[2] + pos[2]
        y[(b, c, *o)], idx[(b, c, *o)] = best, at
    return y, idx


@pytest.mark.parametrize(
    "k,s,p,d,ceil_mode",
    [(2, 2, 0, 1, False), (3, 2, 1, 1, True), ((2, 3, 2), (1, 2, 3), (1, 1, 0), (2, 1, 1), True), (2, 1, 0, (1, 2, 2), False)],
)
def test_max_pool3d_matches_numpy_and_indices(k, s, p, d, ceil_mode):
    x = rng.normal(size=(2, 3, 5, 6, 7))
    y, idx = F.max_pool3d(ef.tensor(x), k, s, p, d, ceil_mode, return_indices=True)
    tri = lambda v: (v,) * 3 if isinstance(v, int) else v  # noqa: E731
    ref, ridx = np_max_pool3d(x, tri(k), tri(s), tri(p), tri(d), ceil_mode)
    assert np.array_equal(y.numpy(), ref)
    assert np.array_equal(idx.numpy(), ridx) and idx.dtype == ef.int64
    assert ef.equal(F.max_pool3d(ef.tensor(x[1]), k, s, p, d, ceil_mode), y[1])  # unbatched


def test_max_pool3d_ties_and_gradient_go_to_the_first_maximum():
    x = ef.ones(1, 1, 2, 2, 2, requires_grad=True)
    y, idx = F.max_pool3d(x, 2, return_indices=True)
    y.sum().backward()
    assert idx.flatten().tolist() == [0] and x.grad.flatten().tolist() == [1.0] + [0.0] * 7


def np_avg_pool3d(x, k, s, p, ceil_mode, count_include_pad, divisor_override):
    B, C, *S = x.shape
    osz = [_pool_out(S[i], k[i], s[i], p[i], 1, ceil_mode) for i in range(3)]
    y = np.zeros((B, C, *osz))
    for o in np.ndindex(*osz):
        start = [o[i] * s[i] - p[i] for i in range(3)]
        end = [min(start[i] + k[i], S[i] + p[i]) for i in range(3)]  # the window may overhang into the padding only
        lo, hi = [max(a, 0) for a in start], [min(e, S[i]) for i, e in enumerate(end)]
        region = x[(slice(None), slice(None), *(slice(a, e) for a, e in zip(lo, hi)))]
        if divisor_override:
            div = divisor_override
        elif count_include_pad:
            div = np.prod([e - a for a, e in zip(start, end)])
        else:
            div = np.prod([e - a for a, e in zip(lo, hi)])
        y[(slice(None), slice(None), *o)] = region.sum(axis=(2, 3, 4)) / div
    return y


@pytest.mark.parametrize(
    "k,s,p,ceil_mode,count_include_pad,divisor_override",
    [
        (2, None, 0, False, True, None),
        (3, 2, 1, True, True, None),
        (3, 2, 1, True, False, None),
        ((2, 3, 2), (1, 2, 3), (1, 1, 0), False, False, None),
        ((3, 2, 2), 2, (1, 0, 1), True, True, 5),
    ],
)
def test_avg_pool3d_matches_numpy(k, s, p, ceil_mode, count_include_pad, divisor_override):
    x = rng.normal(size=(2, 3, 5, 6, 7))
    y = F.avg_pool3d(ef.tensor(x), k, s, p, ceil_mode, count_include_pad, divisor_override).numpy()
    tri = lambda v: (v,) * 3 if isinstance(v, int) else v  # noqa: E731
    ref = np_avg_pool3d(x, tri(k), tri(k if s is None else s), tri(p), ceil_mode, count_include_pad, divisor_override)
    assert np.allclose(y, ref)


def np_adaptive_pool3d(x, osz, reduce):
    """PyTorch's adaptive bins [floor(i*S/O), ceil((i+1)*S/O)) for output size O = osz; ``reduce`` maps each bin (B, C, -1) to values."""
    B, C, *S = x.shape
    out = np.zeros((B, C, *osz))
    idx = np.zeros((B, C, *osz), dtype=np.int64)
    for o in np.ndindex(*osz):
        lo = [o[i] * S[i] // osz[i] for i in range(3)]
        hi = [-(-(o[i] + 1) * S[i] // osz[i]) for i in range(3)]
        region = x[(slice(None), slice(None), *(slice(a, e) for a, e in zip(lo, hi)))]
        out[(slice(None), slice(None), *o)] = reduce(region.reshape(B, C, -1), axis=-1)
        a = np.stack(np.unravel_index(region.reshape(B, C, -1).argmax(-1), region.shape[2:]))
        idx[(slice(None), slice(None), *o)] = ((lo[0] + a[0]) * S[1] + lo[1] + a[1]) * S[2] + lo[2] + a[2]
    return out, idx


@pytest.mark.parametrize("output_size", [1, (2, 3, 4), (3, None, 2), (4, 5, 6), (7, 1, 3)])
def test_adaptive_pools_3d_match_numpy(output_size):
    x = rng.normal(size=(2, 3, 4, 5, 6))
    sizes = (output_size,) * 3 if isinstance(output_size, int) else output_size
    out = tuple(x.shape[2 + i] if o is None else o for i, o in enumerate(sizes))
    avg = F.adaptive_avg_pool3d(ef.tensor(x), output_size).numpy()
    assert np.allclose(avg, np_adaptive_pool3d(x, out, np.mean)[0])
    mx, idx = F.adaptive_max_pool3d(ef.tensor(x), output_size, return_indices=True)
    ref, ridx = np_adaptive_pool3d(x, out, np.max)
    assert np.array_equal(mx.numpy(), ref) and np.array_equal(idx.numpy(), ridx)
    assert np.allclose(F.adaptive_avg_pool3d(ef.tensor(x[0]), output_size).numpy(), avg[0])  # unbatched
    assert ef.equal(F.adaptive_max_pool3d(ef.tensor(x[0]), output_size), mx[0])


# ---------------------------------------------------------------------------------------------
# known values computed with PyTorch 2.x (float64), pasted as constants

X = np.sin(np.arange(2 * 2 * 5 * 5, dtype=np.float64)).reshape(2, 2, 5, 5)
WK = np.cos(np.arange(3 * 1 * 3 * 2, dtype=np.float64)).reshape(3, 1, 3, 2)


def test_known_conv2d():
    w = np.concatenate([WK, WK[::-1]], 0)[:4]
    y = F.conv2d(ef.tensor(X), ef.tensor(w), None, (2, 1), 1, (1, 2), 2).sum((2, 3))
    ref = [
        [-0.9380972066262843, -0.40974602684237105, -0.04988565359290881, -0.04988565359290881],
        [-1.5858232870313744, -0.9560607109569415, -0.4459910822289171, -0.4459910822289171],
    ]
    assert np.allclose(y.numpy(), ref)


def test_known_conv_transpose2d():
    w = np.broadcast_to(WK.reshape(1, 3, 3, 2), (2, 3, 3, 2)).copy()
    y = F.conv_transpose2d(ef.tensor(X), ef.tensor(w), None, 2, 1, 1).sum((1, 3))
    ref = [
        [-7.242696437285669, 7.009263121853804, -5.482013910204297, -13.095610779657735, 4.132616344268953,
         -14.438722269320797, 7.826547877997056, 4.904171751233552, 0.3075750071414891, 3.973026733117693],
        [-7.92677662266925, 2.636545761847858, -3.7337362746955396, -15.571051235164273, 5.808537039422326,
         -11.470382608500987, 7.02906089658881, 9.063623637510727, -1.8207794880613544, 1.6432312358793106],
    ]  # fmt: skip
    assert np.allclose(y.numpy(), ref)


def test_known_pools():
    mp = F.max_pool2d(ef.tensor(X), 3, 2, 1, ceil_mode=True)[0, 0]
    assert np.allclose(mp.numpy(), [[0.8414709848078965, 0.9893582466233818, 0.9893582466233818],
                                    [0.6502878401571168, 0.9893582466233818, 0.9906073556948704],
                                    [0.9129452507276277, 0.8366556385360561, 0.14987720966295234]])  # fmt: skip
    ap = F.avg_pool2d(ef.tensor(X), 3, 2, 1, ceil_mode=True, count_include_pad=False)[0, 1]
    assert np.allclose(ap.numpy(), [[-0.1904656422585243, 0.5228568438696447, 0.2840666125805481],
                                    [-0.37092338344675896, -0.2331740523793087, 0.32918094894959654],
                                    [0.5847955909643918, -0.27496869171309585, -0.6340200329015808]])  # fmt: skip


X3 = np.sin(np.arange(2 * 3 * 4 * 5, dtype=np.float64)).reshape(1, 2, 3, 4, 5)


def test_known_3d():
    w = np.cos(np.arange(2 * 2 * 2 * 2 * 3, dtype=np.float64)).reshape(2, 2, 2, 2, 3)
    y = F.conv_transpose3d(ef.tensor(X3), ef.tensor(w), None, (2, 1, 2), 1, (1, 0, 0), 1, (1, 2, 1))
    assert y.shape == (1, 2, 5, 4, 9)
    assert np.allclose(y.sum((1, 3, 4)).numpy(), [[-1.4975321830514363, 2.1204249346001376, 1.5587294026345573,
                                                   0.506177100837242, 2.7697111999239707]])  # fmt: skip
    mp, mi = F.max_pool3d(ef.tensor(X3), 2, (1, 2, 2), 1, ceil_mode=True, return_indices=True)
    assert mp.shape == (1, 2, 4, 3, 3)
    assert np.allclose(mp[0, 1, :, :, 1].numpy(), [[-0.7391806966492228, 0.9510546532543747, 0.9995201585807313],
                                                   [0.31322878243308516, 0.9510546532543747, 0.9995201585807313],
                                                   [0.9948267913584063, 0.18478174456066745, 0.9835877454343449],
                                                   [0.9948267913584063, 0.18478174456066745, 0.23666139336428604]])  # fmt: skip
    assert mi[0, 1, :, :, 1].tolist() == [[2, 11, 17], [22, 11, 17], [42, 47, 36], [42, 47, 56]]
    ap = F.avg_pool3d(ef.tensor(X3), (2, 3, 2), 2, (1, 1, 0), ceil_mode=True, count_include_pad=False)
    assert ap.shape == (1, 2, 2, 3, 3)
    assert np.allclose(ap[0, 0].sum(-1).numpy(), [[0.4026313680103022, 0.08379895998436954, -0.5251228979166382],
                                                  [-0.289037977515012, 0.2468880187276518, 0.33541673428660007]])  # fmt: skip
    aa = F.adaptive_avg_pool3d(ef.tensor(X3), (2, 3, 2))[0, 1].flatten()
    assert np.allclose(aa.numpy(), [-0.44143760921810266, 0.047366833660369, 0.01855770385146292, -0.43130647103995295,
                                    0.4519658468814732, -0.2920575060196185, -0.31702573924824046, 0.44274744264790394,
                                    -0.4177099639973118, -0.01443371578350644, 0.08004869669375438, -0.45093604137491305])  # fmt: skip
    am, ai = F.adaptive_max_pool3d(ef.tensor(X3), (2, 3, 2), return_indices=True)
    assert ai[0, 0].flatten().tolist() == [27, 8, 27, 33, 15, 33, 27, 27, 52, 33, 52, 33]
    assert np.allclose(am[0, 0].flatten().numpy(), X3[0, 0].flatten()[ai[0, 0].flatten().numpy()])


LOGITS = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0], [0.3, 0.3, 0.3], [2.0, 1.0, -1.0]])


def test_known_losses():
    x = ef.tensor(LOGITS)
    assert math.isclose(F.cross_entropy(x, TGT, W3, label_smoothing=0.1).item(), 1.8177661319906333, rel_tol=1e-12)
    assert math.isclose(F.cross_entropy(x, TGT, reduction="sum").item(), 5.3951654864652445, rel_tol=1e-12)
    y = ef.tensor((LOGITS > 0.5) * 1.0)
    pw = ef.tensor([1.0, 2.0, 0.5], dtype=ef.float64)
    assert math.isclose(F.binary_cross_entropy_with_logits(x, y, pos_weight=pw).item(), 0.5243413211583982, rel_tol=1e-12)


def test_known_activations_and_interpolate():
    g = F.gelu(ef.tensor([-1.5, 0.3, 2.0], dtype=ef.float64))
    assert np.allclose(g.numpy(), [-0.10021080190328704, 0.1853734266566858, 1.9544997361036416])
    r = F.interpolate(ef.tensor(X[:1, :1, :3, :3]), size=(4, 5), mode="bilinear", align_corners=False)[0, 0, 1]
    assert np.allclose(
        r.numpy(), [-0.5993276716644615, -0.30322982982722396, 0.1409169329286325, 0.5073286687267772, 0.7516031592588739]
    )


def test_bicubic_interpolate_known_values():
    # PyTorch 2.13: F.interpolate(torch.arange(8.).reshape(1, 1, 2, 4), size=(3, 5), mode="bicubic", ...)
    x = ef.arange(8.0).reshape(1, 1, 2, 4)
    half = [-0.40797242522239685, 0.2635282874107361, 1.152777910232544, 2.0420279502868652, 2.7135281562805176,
            1.9392503499984741, 2.610750913619995, 3.5, 4.3892502784729, 5.0607500076293945,
            4.286472797393799, 4.957973480224609, 5.847221374511719, 6.736473083496094, 7.4079718589782715]  # fmt: skip
    corners = [0.0, 0.66796875, 1.5, 2.33203125, 3.0, 2.0, 2.66796875, 3.5, 4.33203125, 5.0,
               4.0, 4.66796875, 5.5, 6.33203125, 7.0]  # fmt: skip
    np.testing.assert_allclose(F.interpolate(x, size=(3, 5), mode="bicubic").flatten().numpy(), half, atol=2e-6)
    y = F.interpolate(x, size=(3, 5), mode="bicubic", align_corners=True)
    np.testing.assert_allclose(y.flatten().numpy(), corners, atol=2e-6)
    # the same size is the identity; the rows of each weight matrix sum to one
    np.testing.assert_allclose(F.interpolate(x, size=(2, 4), mode="bicubic").numpy(), x.numpy())
    assert F.interpolate(ef.ones(1, 2, 3, 3), scale_factor=1.7, mode="bicubic").allclose(ef.ones(1, 2, 5, 5))
    assert ef.nn.Upsample(scale_factor=2, mode="bicubic")(x).shape == (1, 1, 4, 8)
    with pytest.raises(ValueError, match="expects 4-D input"):
        F.interpolate(ef.ones(1, 1, 3), size=4, mode="bicubic")
    # anti-aliased shrinking (PyTorch 2.13 values, float64): every input pixel contributes
    sq = (ef.arange(12.0, dtype=ef.float64).reshape(1, 1, 3, 4)) ** 2
    np.testing.assert_allclose(F.interpolate(sq, size=(2, 2), mode="bilinear", antialias=True).flatten().numpy(),
                               [9.14285714285714, 18.57142857142857, 56.28571428571428, 81.42857142857142], rtol=1e-13)  # fmt: skip
    np.testing.assert_allclose(F.interpolate(sq, size=(2, 3), mode="bicubic", antialias=True).flatten().numpy(),
                               [4.2187797290000795, 9.749243556391953, 18.572758226783378, 50.489610690135194,
                                70.48760631722664, 93.77865278731757], rtol=1e-13)  # fmt: skip
    # shrinking a constant image keeps it constant; gradients flow through the weights' contraction
    assert F.interpolate(ef.ones(1, 1, 9, 9), size=(4, 2), mode="bilinear", antialias=True).allclose(ef.ones(1, 1, 4, 2))
    g = ef.randn(1, 2, 7, 6, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradcheck(lambda t: F.interpolate(t, size=(3, 4), mode="bicubic", antialias=True), (g,))
    with pytest.raises(ValueError, match="anti-alias option is restricted"):
        F.interpolate(ef.ones(1, 1, 4), size=2, mode="linear", antialias=True)


def test_batch_norm_running_stats_like_pytorch():
    rm, rv = ef.zeros(2, dtype=ef.float64), ef.ones(2, dtype=ef.float64)
    F.batch_norm(ef.tensor(X), rm, rv, training=True, momentum=0.1)
    assert np.allclose(rm.numpy(), [0.00035296576199320633, 0.00040542349290547167])
    assert np.allclose(rv.numpy(), [0.9510723257448578, 0.9509899938267284])
    # hand-derived: unbiased variance goes into running_var, biased normalises
    x = np.array([[1.0, 2.0], [3.0, 6.0], [2.0, 1.0]])
    rm, rv = ef.zeros(2, dtype=ef.float64), ef.ones(2, dtype=ef.float64)
    y = F.batch_norm(ef.tensor(x), rm, rv, training=True, momentum=0.5, eps=0.0)
    assert np.allclose(y.numpy(), (x - x.mean(0)) / x.std(0))
    assert np.allclose(rm.numpy(), 0.5 * x.mean(0))
    assert np.allclose(rv.numpy(), 0.5 + 0.5 * x.var(0, ddof=1))


def test_layer_and_group_norm_match_numpy():
    x = rng.normal(size=(2, 4, 3))
    ln = F.layer_norm(ef.tensor(x), (4, 3), eps=1e-5).numpy()
    m, v = x.mean((1, 2), keepdims=True), x.var((1, 2), keepdims=True)
    assert np.allclose(ln, (x - m) / np.sqrt(v + 1e-5))
    gn = F.group_norm(ef.tensor(x), 2).numpy()
    xg = x.reshape(2, 2, -1)
    ref = ((xg - xg.mean(-1, keepdims=True)) / np.sqrt(xg.var(-1, keepdims=True) + 1e-5)).reshape(x.shape)
    assert np.allclose(gn, ref)


def test_sdpa_matches_numpy():
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 2))
    mask = rng.uniform(size=(3, 5)) > 0.3
    mask[:, 0] = True
    y = F.scaled_dot_product_attention(ef.tensor(q), ef.tensor(k), ef.tensor(v), attn_mask=ef.tensor(mask)).numpy()
    s = q @ k.transpose(0, 2, 1) / 2.0
    s = np.where(mask, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    assert np.allclose(y, p @ v)


def np_softmax(s):
    p = np.exp(s - s.max(-1, keepdims=True))
    return p / p.sum(-1, keepdims=True)


def np_mha(q, k, v, H, wq, wk, wv, b, bk, bv, zero_attn, ow, ob, kpm=None, am=None):
    """Multi-head attention, sequence first (L, N, E), the way PyTorch documents it: per-head loops."""
    L, N, E = q.shape
    D = E // H
    b = np.zeros(3 * E) if b is None else b
    Q, K, V = q @ wq.T + b[:E], k @ wk.T + b[E : 2 * E], v @ wv.T + b[2 * E :]
    add = np.zeros((N, H, L, K.shape[0]))
    if am is not None:
        add += np.where(am, -np.inf, 0.0) if am.dtype == bool else am.reshape(-1, H, L, K.shape[0])
    if kpm is not None:
        add += np.where(kpm, -np.inf, 0.0)[:, None, None, :]
    extra = []
    if bk is not None:
        extra.append((np.broadcast_to(bk, (1, N, E)), np.broadcast_to(bv, (1, N, E))))
    if zero_attn:
        extra.append((np.zeros((1, N, E)), np.zeros((1, N, E))))
    for ke, ve in extra:  # one more key per addition, every query may attend to it
        K, V = np.concatenate([K, ke]), np.concatenate([V, ve])
        add = np.concatenate([add, np.zeros((N, H, L, 1))], -1)
    out = np.zeros((L, N, E))
    w = np.zeros((N, H, L, K.shape[0]))
    for n in range(N):
        for h in range(H):
            sl = slice(h * D, (h + 1) * D)
            p = np_softmax(Q[:, n, sl] @ K[:, n, sl].T / np.sqrt(D) + add[n, h])
            w[n, h] = p
            out[:, n, sl] = p @ V[:, n, sl]
    return out @ ow.T + (0 if ob is None else ob), w


@pytest.mark.parametrize(
    "kdim,vdim,bias_kv,zero_attn,bias,masks",
    [
        (4, 4, False, False, True, True),
        (3, 5, False, False, True, True),
        (4, 4, True, False, True, True),
        (4, 4, False, True, False, True),
        (3, 5, True, True, True, True),
        (3, 5, True, True, False, False),
    ],
)
def test_multi_head_attention_matches_numpy(kdim, vdim, bias_kv, zero_attn, bias, masks):
    r = np.random.default_rng(7)
    L, S, N, E, H = 3, 4, 2, 4, 2
    q, k, v = r.normal(size=(L, N, E)), r.normal(size=(S, N, kdim)), r.normal(size=(S, N, vdim))
    wq, wk, wv, ow = r.normal(size=(E, E)), r.normal(size=(E, kdim)), r.normal(size=(E, vdim)), r.normal(size=(E, E))
    b, ob = (r.normal(size=3 * E), r.normal(size=E)) if bias else (None, None)
    bk, bv = (r.normal(size=(1, 1, E)), r.normal(size=(1, 1, E))) if bias_kv else (None, None)
    kpm = am = None
    if masks:
        kpm = np.array([[False, True, False, True], [False, False, False, False]])
        am = r.normal(size=(N * H, L, S))  # a float mask, added
    T = lambda a: None if a is None else ef.tensor(a)  # noqa: E731
    separate = (kdim, vdim) != (E, E)
    packed = None if separate else np.concatenate([wq, wk, wv])
    out, w = F.multi_head_attention_forward(
        T(q), T(k), T(v), E, H, T(packed), T(b), T(bk), T(bv), zero_attn, 0.0, T(ow), T(ob),
        key_padding_mask=T(kpm), attn_mask=T(am), use_separate_proj_weight=separate, q_proj_weight=T(wq),
        k_proj_weight=T(wk), v_proj_weight=T(wv), average_attn_weights=False,
    )  # fmt: skip
    ref_out, ref_w = np_mha(q, k, v, H, wq, wk, wv, b, bk, bv, zero_attn, ow, ob, kpm, am)
    assert w.shape == (N, H, L, S + bias_kv + zero_attn)
    assert np.allclose(out.numpy(), ref_out) and np.allclose(w.numpy(), ref_w)
    # unbatched (L, E) inputs give batch entry 0; the head-averaged weights are the mean over heads
    out0, w0 = F.multi_head_attention_forward(
        T(q[:, 0]), T(k[:, 0]), T(v[:, 0]), E, H, T(packed), T(b), T(bk), T(bv), zero_attn, 0.0, T(ow), T(ob),
        key_padding_mask=T(None if kpm is None else kpm[0]), attn_mask=T(None if am is None else am[:H]),
        use_separate_proj_weight=separate, q_proj_weight=T(wq), k_proj_weight=T(wk), v_proj_weight=T(wv),
    )  # fmt: skip
    assert np.allclose(out0.numpy(), ref_out[:, 0]) and np.allclose(w0.numpy(), ref_w[0].mean(0))


def test_multi_head_attention_bias_kv_and_zero_attn_pad_boolean_masks():
    # the appended keys are never masked: with every real key blocked, the bias key and the zero key
    # share the attention (the zero key scores 0 and carries a zero value)
    r = np.random.default_rng(8)
    E, H, L, S = 4, 1, 2, 3
    x, kv = ef.tensor(r.normal(size=(L, 1, E))), ef.tensor(r.normal(size=(S, 1, E)))
    w, ow = ef.tensor(r.normal(size=(3 * E, E))), ef.eye(E, dtype=ef.float64)
    bk, bv = ef.tensor(r.normal(size=(1, 1, E))), ef.tensor(r.normal(size=(1, 1, E)))
    blocked = ef.tensor(np.ones((L, S), bool))
    out, p = F.multi_head_attention_forward(
        x, kv, kv, E, H, w, None, bk, bv, True, 0.0, ow, None, attn_mask=blocked,
        key_padding_mask=ef.tensor(np.ones((1, S), bool)),
    )  # fmt: skip
    q = x.numpy()[:, 0] @ w.numpy()[:E].T
    pb = np_softmax(np.stack([q @ bk.numpy()[0, 0] / 2.0, np.zeros(L)], -1))  # (bias key, zero key)
    assert np.allclose(p.numpy()[0, :, :S], 0) and np.allclose(p.numpy()[0, :, S:], pb)
    assert np.allclose(out.numpy()[:, 0], pb[:, :1] * bv.numpy()[0])


def test_multi_head_attention_returns_weights_after_dropout():
    x = ef.randn(5, 2, 4)
    ef.manual_seed(1)
    out, p = F.multi_head_attention_forward(x, x, x, 4, 2, ef.randn(12, 4), None, None, None, False, 0.5, ef.eye(4), None,
                                            average_attn_weights=False)  # fmt: skip
    kept = p.numpy()
    assert (kept == 0).any()  # as PyTorch: the weights that multiplied the values, dropout included
    _, p_eval = F.multi_head_attention_forward(x, x, x, 4, 2, ef.randn(12, 4), None, None, None, False, 0.5, ef.eye(4),
                                               None, training=False)  # fmt: skip
    assert np.allclose(p_eval.numpy().sum(-1), 1)


def test_multi_head_attention_errors():
    x, w, ow = ef.randn(3, 2, 4), ef.randn(12, 4), ef.randn(4, 4)
    mha = lambda **kw: F.multi_head_attention_forward(**{  # noqa: E731
        "query": x, "key": x, "value": x, "embed_dim_to_check": 4, "num_heads": 2, "in_proj_weight": w,
        "in_proj_bias": None, "bias_k": None, "bias_v": None, "add_zero_attn": False, "dropout_p": 0.0,
        "out_proj_weight": ow, "out_proj_bias": None, **kw})  # fmt: skip
    with pytest.raises(AssertionError, match="bias_k and bias_v must both be given"):
        mha(bias_k=ef.randn(1, 1, 4))
    with pytest.raises(AssertionError, match=r"expecting key_padding_mask shape of \(2, 3\), but got \(3, 2\)"):
        mha(key_padding_mask=ef.zeros(3, 2, dtype=ef.bool))
    with pytest.raises(RuntimeError, match=r"the shape of the 2D attn_mask is \(3, 4\), but should be \(3, 3\)"):
        mha(attn_mask=ef.zeros(3, 4, dtype=ef.bool))
    with pytest.raises(RuntimeError, match=r"the shape of the 3D attn_mask is \(2, 3, 3\), but should be \(4, 3, 3\)"):
        mha(attn_mask=ef.zeros(2, 3, 3))
    with pytest.raises(AssertionError, match="use_separate_proj_weight is False but in_proj_weight is None"):
        mha(in_proj_weight=None)
    with pytest.raises(AssertionError, match="use_separate_proj_weight is True but"):
        mha(use_separate_proj_weight=True, q_proj_weight=ef.randn(4, 4))
    with pytest.raises(AssertionError, match=r"key shape \(3, 2, 4\) does not match value shape \(2, 2, 4\)"):
        mha(value=ef.randn(2, 2, 4))
    with pytest.raises(AssertionError, match=r"static_k of shape \(bsz \* num_heads, S, head_dim\) = \(4, S, 2\)"):
        mha(static_k=ef.randn(2, 3, 2))


@pytest.mark.parametrize("zero_attn", [False, True])
def test_multi_head_attention_static_k_v_matches_numpy(zero_attn):
    r = np.random.default_rng(9)
    L, S, N, E, H = 3, 5, 2, 4, 2
    D = E // H
    q = r.normal(size=(L, N, E))
    w, b, ow, ob = r.normal(size=(3 * E, E)), r.normal(size=3 * E), r.normal(size=(E, E)), r.normal(size=E)
    sk, sv = r.normal(size=(N * H, S, D)), r.normal(size=(N * H, S, D))
    kpm = np.array([[False, True, False, False, True], [False] * S])
    T = ef.tensor
    out, p = F.multi_head_attention_forward(
        T(q), T(q), T(q), E, H, T(w), T(b), None, None, zero_attn, 0.0, T(ow), T(ob), key_padding_mask=T(kpm),
        static_k=T(sk), static_v=T(sv), average_attn_weights=False,
    )  # fmt: skip
    Q = q @ w[:E].T + b[:E]
    ref = np.zeros((L, N, E))
    for n in range(N):
        for h in range(H):
            K, V, add = sk[n * H + h], sv[n * H + h], np.where(kpm[n], -np.inf, 0.0)
            if zero_attn:  # the zero key comes after the static ones and is never masked
                K, V, add = np.vstack([K, np.zeros(D)]), np.vstack([V, np.zeros(D)]), np.append(add, 0.0)
            pr = np_softmax(Q[:, n, h * D : (h + 1) * D] @ K.T / np.sqrt(D) + add)
            assert np.allclose(p.numpy()[n, h], pr)
            ref[:, n, h * D : (h + 1) * D] = pr @ V
    assert np.allclose(out.numpy(), ref @ ow.T + ob)


@pytest.mark.parametrize("name", ["mha-kdim-vdim-bias_kv-zero_attn", "mha-self-bias_kv-weights"])
def test_multi_head_attention_gradgradcheck(name):
    fn, shapes = next((f, s) for n, f, s in GRAD_CASES if n == name)
    assert ef.autograd.gradgradcheck(fn, [t64(*s) for s in shapes])


def test_pad_modes():
    x = ef.tensor([[[1.0, 2.0, 3.0]]])
    assert F.pad(x, (2, 1), mode="reflect").tolist() == [[[3.0, 2.0, 1.0, 2.0, 3.0, 2.0]]]
    assert F.pad(x, (2, 1), mode="replicate").tolist() == [[[1.0, 1.0, 1.0, 2.0, 3.0, 3.0]]]
    assert F.pad(x, (1, 2), mode="circular").tolist() == [[[3.0, 1.0, 2.0, 3.0, 1.0, 2.0]]]
    assert F.pad(x, (1, -1), value=9.0).tolist() == [[[9.0, 1.0, 2.0]]]


def test_unfold_fold_roundtrip():
    x = rng.normal(size=(2, 3, 5, 4))
    cols = F.unfold(ef.tensor(x), (2, 2), stride=(1, 2))
    assert cols.shape == (2, 12, 8)
    back = F.fold(cols, (5, 4), (2, 2), stride=(1, 2)).numpy()
    counts = F.fold(F.unfold(ef.ones(1, 1, 5, 4, dtype=ef.float64), (2, 2), stride=(1, 2)), (5, 4), (2, 2), stride=(1, 2)).numpy()
    assert np.allclose(back, x * counts)


# ---------------------------------------------------------------------------------------------
# dropout, embedding, one_hot


def test_dropout_seeded_and_eval_identity():
    x = ef.ones(1000)
    ef.manual_seed(3)
    a = F.dropout(x, 0.3)
    ef.manual_seed(3)
    b = F.dropout(x, 0.3)
    assert ef.equal(a, b)
    kept = (a != 0).float().mean().item()
    assert 0.62 < kept < 0.78
    assert np.allclose(a.numpy()[a.numpy() != 0], 1 / 0.7)
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0) == 0).all()


def test_dropout2d_zeroes_whole_channels():
    y = F.dropout2d(ef.ones(4, 16, 3, 3), 0.5).numpy()
    per_channel = y.reshape(4, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))


def test_embedding_padding_row_gets_no_gradient():
    w = t64(4, 3)
    out = F.embedding(const([[0, 2], [2, 3]]), w, padding_idx=2)
    assert np.allclose(out.detach().numpy()[0, 0], w.detach().numpy()[0])
    out.sum().backward()
    assert w.grad.numpy()[2].tolist() == [0.0, 0.0, 0.0]
    assert w.grad.numpy()[0].tolist() == [1.0, 1.0, 1.0]


def np_renorm(w, idx, max_norm, p):
    w = w.copy()
    for i in np.unique(idx):
        n = np.linalg.norm(w[i], ord=p)
        if n > max_norm:
            w[i] *= max_norm / (n + 1e-7)
    return w


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_embedding_max_norm_renormalises_looked_up_rows_in_place(norm_type):
    r = np.random.default_rng(3)
    w0 = r.normal(size=(5, 3)) * 2
    w0[4] = [0.1, 0.0, 0.0]  # under max_norm: unchanged
    idx = np.array([[0, 4, 0], [2, 2, 4]])
    w = ef.tensor(w0, requires_grad=True)
    v = w._version
    out = F.embedding(const(idx), w, max_norm=1.5, norm_type=norm_type)
    ref = np_renorm(w0, idx, 1.5, norm_type)
    assert np.allclose(w.detach().numpy(), ref) and w._version > v  # in place, counted like PyTorch
    assert np.array_equal(w.detach().numpy()[[1, 3]], w0[[1, 3]])  # rows not looked up are untouched
    assert np.allclose(out.detach().numpy(), ref[idx])
    assert np.all(np.linalg.norm(out.detach().numpy(), ord=norm_type, axis=-1) <= 1.5 + 1e-6)
    assert w.grad is None and w.is_leaf  # the renormalisation is not recorded
    out.sum().backward()
    assert np.array_equal(w.grad.numpy(), np.array([[2.0] * 3, [0] * 3, [2] * 3, [0] * 3, [2] * 3]))


def test_embedding_max_norm_known_values():
    # torch.nn.functional.embedding(torch.tensor([0, 1]), w, max_norm=1.0), w float32
    w = ef.tensor([[3.0, 4.0], [0.3, 0.4]])
    out = F.embedding(ef.tensor([0, 1]), w, max_norm=1.0)
    assert np.array_equal(out.numpy(), np.array([[0.6, 0.8], [0.3, 0.4]], np.float32))
    assert F.embedding(ef.tensor([], dtype=ef.int64), w, max_norm=1.0).shape == (0, 2)


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding_scale_grad_by_freq(padding_idx):
    r = np.random.default_rng(4)
    w0 = r.normal(size=(5, 3))
    w0[3, 1] = -0.0
    idx = np.array([[0, 1, 1, 3], [3, 3, 0, 1]])
    g = r.normal(size=(2, 4, 3))
    w = ef.tensor(w0, requires_grad=True)
    out = F.embedding(const(idx), w, padding_idx, scale_grad_by_freq=True)
    assert np.array_equal(out.detach().numpy(), w0[idx])  # the value is the plain lookup, bit for bit
    assert np.signbit(out.detach().numpy()[0, 3, 1])  # even the sign of a zero
    out.backward(ef.tensor(g))
    counts = np.bincount(idx.ravel(), minlength=5)
    ref = np.zeros_like(w0)
    for pos, i in np.ndenumerate(idx):
        ref[i] += g[pos] / counts[i]
    if padding_idx is not None:
        ref[padding_idx] = 0
    assert np.allclose(w.grad.numpy(), ref)
    # the gradient stays differentiable: d/dg <grad_w, u> = u[idx] / count[idx]
    gt = ef.tensor(g, requires_grad=True)
    (gw,) = ef.autograd.grad(F.embedding(const(idx), w, padding_idx, scale_grad_by_freq=True), w, gt, create_graph=True)
    u = r.normal(size=w0.shape)
    (gg,) = ef.autograd.grad((gw * ef.tensor(u)).sum(), gt)
    ref_gg = u[idx] / counts[idx][..., None]
    if padding_idx is not None:
        ref_gg[idx == padding_idx] = 0
    assert np.allclose(gg.numpy(), ref_gg)


def test_embedding_scale_grad_by_freq_known_values_and_no_grad():
    # torch: F.embedding(tensor([0, 0, 2, 0]), ones(3, 2, requires_grad=True), scale_grad_by_freq=True)
    #        .backward(tensor([[1., 2.], [3., 4.], [5., 6.], [7., 8.]]))  ->  grad [[11/3, 14/3], [0, 0], [5, 6]]
    w = ef.ones(3, 2, dtype=ef.float64, requires_grad=True)
    F.embedding(const([0, 0, 2, 0]), w, scale_grad_by_freq=True).backward(ef.tensor([[1.0, 2], [3, 4], [5, 6], [7, 8]]))
    assert np.allclose(w.grad.numpy(), [[11 / 3, 14 / 3], [0, 0], [5, 6]])
    with ef.no_grad():  # nothing to scale: a plain gather
        assert F.embedding(const([0, 0]), w, scale_grad_by_freq=True).grad_fn is None
    inf = ef.tensor([[math.inf, 1.0]], requires_grad=True)
    y = F.embedding(const([0, 0]), inf, scale_grad_by_freq=True)
    assert y.tolist() == [[math.inf, 1.0], [math.inf, 1.0]]  # not inf - inf = nan
    y.sum().backward()
    assert inf.grad.tolist() == [[0.0, 1.0]]  # a non-finite entry gets no gradient


def test_embedding_sparse_and_padding_idx_errors():
    w = ef.randn(4, 2)
    assert F.embedding(const([1]), w, sparse=False).shape == (1, 2)
    with pytest.raises(NotImplementedError, match="sparse gradients.*use sparse=False"):
        F.embedding(const([1]), w, sparse=True)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        F.embedding(const([1]), w, padding_idx=4)
    assert F.embedding(const([3]), w, padding_idx=-1).shape == (1, 2)


def test_one_hot():
    assert F.one_hot(const([1, 0])).tolist() == [[0, 1], [1, 0]]
    assert F.one_hot(const([1]), 3).dtype == ef.int64


# ---------------------------------------------------------------------------------------------
# errors say expected vs got


def test_errors():
    with pytest.raises(RuntimeError, match="conv2d: expected input with 4 dimensions"):
        F.conv2d(ef.ones(2, 3), ef.ones(1, 1, 1, 1))
    with pytest.raises(RuntimeError, match="expected input with 4 channels"):
        F.conv2d(ef.ones(1, 3, 5, 5), ef.ones(2, 4, 3, 3))
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        F.conv2d(ef.ones(1, 1, 5, 5), ef.ones(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(RuntimeError, match="at most half"):
        F.max_pool2d(ef.ones(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.l1_loss(ef.ones(2), ef.ones(2), reduction="avg")
    with pytest.raises(IndexError, match="target values must be in"):
        F.cross_entropy(ef.ones(2, 3), const([0, 3]))
    with pytest.raises(ValueError, match="smaller than the input size"):
        F.pad(ef.ones(1, 1, 2), (2, 0), mode="reflect")


def test_errors_3d():
    with pytest.raises(RuntimeError, match=r"max_pool3d: expected input with 5 dimensions \(N, C, D, H, W\) or 4"):
        F.max_pool3d(ef.ones(2, 3, 4), 2)
    with pytest.raises(RuntimeError, match="conv_transpose3d: expected input with 3 channels"):
        F.conv_transpose3d(ef.ones(1, 2, 3, 3, 3), ef.ones(3, 2, 2, 2, 2))
    with pytest.raises(RuntimeError, match="conv_transpose3d: expected weight with 5 dimensions"):
        F.conv_transpose3d(ef.ones(1, 3, 3, 3, 3), ef.ones(3, 2, 2, 2))
    with pytest.raises(ValueError, match="output_padding .* must be smaller than either stride"):
        F.conv_transpose3d(ef.ones(1, 2, 3, 3, 3), ef.ones(2, 2, 2, 2, 2), stride=2, output_padding=2)
    with pytest.raises(RuntimeError, match="avg_pool3d: pad should be at most half"):
        F.avg_pool3d(ef.ones(1, 1, 4, 4, 4), 2, padding=2)
    with pytest.raises(ValueError, match="max_pool3d: expected kernel_size as an int or a tuple of 3 ints"):
        F.max_pool3d(ef.ones(1, 1, 4, 4, 4), (2, 2))
    with pytest.raises(RuntimeError, match="does not fit the padded input"):
        F.max_pool3d(ef.ones(1, 1, 2, 2, 2), 3)
    for fn in (F.adaptive_avg_pool3d, F.adaptive_max_pool3d):
        with pytest.raises(RuntimeError, match=f"{fn.__name__}: output_size must have 3 elements"):
            fn(ef.ones(1, 1, 4, 4, 4), (1, 2))


def test_unbatched_inputs():
    w = ef.randn(2, 3, 3, 3)
    x = ef.randn(3, 6, 6)
    assert ef.allclose(F.conv2d(x, w), F.conv2d(x.unsqueeze(0), w)[0])
    assert F.max_pool2d(x, 2).shape == (3, 3, 3)


# ---- memory layout: results never depend on how the input is laid out ---------------------------
@pytest.mark.parametrize("order", [(0, 1, 2, 3), (1, 2, 3, 0), (2, 0, 3, 1)])
@pytest.mark.parametrize(
    "kw",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(2, 3), stride=(1, 2), dilation=2, ceil_mode=True),
    ],
)
def test_max_pool2d_any_memory_layout(order, kw):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 9, 11))
    strided = np.ascontiguousarray(x.transpose(order)).transpose(np.argsort(order))  # same values, other memory
    g = None
    results = []
    for arr in (x, strided):
        a = ef.tensor(arr, requires_grad=True)
        y, idx = F.max_pool2d(a, return_indices=True, **kw)
        if g is None:
            g = rng.standard_normal(tuple(y.shape))
        y.backward(ef.tensor(g))
        results.append((y.detach().numpy(), idx.numpy(), a.grad.numpy()))
    for ref, got in zip(results[0], results[1]):
        np.testing.assert_array_equal(ref, got)
    # the indices are flat positions within each input plane and point at the maxima
    y, idx, _ = results[0]
    planes = x.reshape(3, 4, -1)
    np.testing.assert_array_equal(np.take_along_axis(planes, idx.reshape(3, 4, -1), 2).reshape(y.shape), y)


def test_conv_output_is_batch_innermost_and_contiguous_copies():
    x = ef.randn(4, 3, 8, 8, dtype=ef.float64)
    w = ef.randn(5, 3, 3, 3, dtype=ef.float64)
    y = F.conv2d(x, w)
    assert y.shape == (4, 5, 6, 6)
    assert not y.is_contiguous()
    assert y.numpy().strides == (8, 6 * 6 * 4 * 8, 6 * 4 * 8, 4 * 8)  # (o, h, w, b) memory
    c = y.contiguous()
    assert c.is_contiguous() and c.contiguous() is c
    np.testing.assert_array_equal(c.numpy(), y.numpy())
    # a second conv reads the first one's output without a layout copy, and agrees with a C-ordered input
    w2 = ef.randn(2, 5, 3, 3, dtype=ef.float64)
    np.testing.assert_allclose(F.conv2d(y, w2).numpy(), F.conv2d(c, w2).numpy(), rtol=1e-12, atol=1e-12)


def test_contiguous_passes_gradients():
    x = ef.randn(3, 4, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradcheck(lambda a: a.t().contiguous() * 2, (x,))
    assert ef.autograd.gradgradcheck(lambda a: a.t().contiguous() ** 2, (x,))


def test_pointwise_conv_agrees_in_both_layouts():
    # a 1x1 kernel runs on an (N, C, H, W)-ordered input as it is, and batch-innermost otherwise
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5, 6))
    w = ef.tensor(rng.standard_normal((2, 4, 1, 1)), requires_grad=True)
    outs = []
    for arr in (x, np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)):
        a = ef.tensor(arr, requires_grad=True)
        y = F.conv2d(a, w, stride=(1, 2))
        (y * y).sum().backward()
        outs.append((y.detach().numpy(), a.grad.numpy(), w.grad.numpy()))
        w.grad = None
    assert outs[0][0].strides != outs[1][0].strides  # the two layouts really took different paths
    for ref, got in zip(*outs):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [F.elu, F.leaky_relu, F.silu, F.hardtanh, F.relu6, F.dropout])
def test_inplace_activations_overwrite_and_differentiate(fn):
    # PyTorch's in-place semantics: a tensor of the graph is overwritten (and the backward pass is
    # right), a leaf that requires grad is refused
    x = ef.randn(5, dtype=ef.float64, requires_grad=True)
    ef.manual_seed(0)
    want = fn(x * 3.0)
    h = x * 3.0
    ef.manual_seed(0)
    out = fn(h, inplace=True)
    assert out is h
    np.testing.assert_array_equal(h.detach().numpy(), want.detach().numpy())
    (g1,) = ef.autograd.grad(want.sum(), x)
    (g2,) = ef.autograd.grad(out.sum(), x)
    np.testing.assert_allclose(g2.numpy(), g1.numpy())
    with pytest.raises(RuntimeError, match="leaf"):
        fn(x, inplace=True)
