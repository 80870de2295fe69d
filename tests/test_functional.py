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
    ("pad-reflect", lambda x: F.pad(x, (2, 1, 1, 0), mode="reflect"), [(1, 1, 3, 4)]),
    ("pad-replicate", lambda x: F.pad(x, (2, 1), mode="replicate"), [(1, 2, 3)]),
    ("pad-circular", lambda x: F.pad(x, (1, 2, 1, 1), mode="circular"), [(1, 1, 3, 4)]),
    ("interpolate-bilinear", lambda x: F.interpolate(x, size=(4, 5), mode="bilinear"), [(1, 1, 3, 2)]),
    ("interpolate-nearest", lambda x: F.interpolate(x, scale_factor=2), [(1, 1, 2, 3)]),
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


@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d", "max_pool2d", "batch_norm", "sdpa", "cross_entropy"])
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
