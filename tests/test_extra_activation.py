"""More activations, dropouts, padding, pixel/channel shuffles, upsampling and Fold/Unfold modules:
values against numpy references and known values (printed by PyTorch, pasted here), float64
finite-difference gradients (first and second order), in-place semantics, train/eval behaviour of
the dropouts, reprs and errors."""

import math
import warnings

import numpy as np
import pytest

import einframe as ef
import einframe.nn.functional as F
from einframe import nn
from einframe.autograd import gradcheck, gradgradcheck

# the kinks of the piecewise activations sit on this grid (0, ±3, ±0.25, ±1)
GRID = [-3.5, -3.0, -1.0, -0.25, 0.0, 0.25, 1.0, 3.0, 3.5]
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softplus(x):
    return np.logaddexp(0.0, x)


NUMPY_REFS = {
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))),
    "celu": (lambda x: F.celu(x, 2.0), lambda x: np.where(x > 0, x, 2.0 * np.expm1(np.minimum(x, 0) / 2.0))),
    "mish": (F.mish, lambda x: x * np.tanh(_softplus(x))),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x))),
    "softshrink": (lambda x: F.softshrink(x, 0.7), lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.7, 0)),
    "hardshrink": (lambda x: F.hardshrink(x, 0.7), lambda x: np.where(np.abs(x) > 0.7, x, 0.0)),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x)),
    "threshold": (lambda x: F.threshold(x, 0.1, 20.0), lambda x: np.where(x > 0.1, x, 20.0)),
    "softmin": (lambda x: F.softmin(x, dim=1), lambda x: np.exp(-x) / np.exp(-x).sum(1, keepdims=True)),
    "glu": (lambda x: F.glu(x, 1), lambda x: x[:, :2] / (1 + np.exp(-x[:, 2:]))),
    "rrelu-eval": (lambda x: F.rrelu(x, 0.1, 0.3), lambda x: np.where(x > 0, x, 0.2 * x)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6)),
    "logsigmoid": (F.logsigmoid, lambda x: -_softplus(-x)),
}


@pytest.mark.parametrize("name", list(NUMPY_REFS))
def test_activation_matches_numpy(name):
    fn, ref = NUMPY_REFS[name]
    x = np.random.default_rng(0).standard_normal((3, 4, 5)) * 4
    x[0, 0, : len(GRID)] = GRID[:5]
    for dtype in (np.float64, np.float32):
        y = fn(ef.tensor(x.astype(dtype)))
        assert y.dtype == (ef.float64 if dtype == np.float64 else ef.float32)
        assert y.shape == ref(x).shape
        np.testing.assert_allclose(y.numpy(), ref(x), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


# values and slopes at GRID, printed by torch 2 (float64, rounded to 6 decimals): the derivative
# PyTorch picks at each kink (x = 0, ±3, ±lambd, threshold) included
KNOWN = {
    "selu": (
        F.selu,
        [-1.705009, -1.670569, -1.111331, -0.38889, 0.0, 0.262675, 1.050701, 3.152103, 3.677453],
        [0.05309, 0.087531, 0.646769, 1.369209, 1.758099, 1.050701, 1.050701, 1.050701, 1.050701],
    ),
    "celu": (
        lambda x: F.celu(x, 2.0),
        [-1.652452, -1.55374, -0.786939, -0.235006, 0.0, 0.25, 1.0, 3.0, 3.5],
        [0.173774, 0.22313, 0.606531, 0.882497, 1.0, 1.0, 1.0, 1.0, 1.0],
    ),
    "mish": (
        F.mish,
        [-0.104096, -0.145647, -0.303401, -0.129927, 0.0, 0.169572, 0.865098, 2.986535, 3.493991],
        [-0.07276, -0.093393, 0.059217, 0.439816, 0.6, 0.754173, 1.049036, 1.021107, 1.009939],
    ),
    "hardswish": (
        F.hardswish,
        [0.0, 0.0, -0.333333, -0.114583, 0.0, 0.135417, 0.666667, 3.0, 3.5],
        [0.0, 0.0, 0.166667, 0.416667, 0.5, 0.583333, 0.833333, 1.0, 1.0],
    ),
    "hardsigmoid": (
        F.hardsigmoid,
        [0.0, 0.0, 0.333333, 0.458333, 0.5, 0.541667, 0.666667, 1.0, 1.0],
        [0.0, 0.0, 0.166667, 0.166667, 0.166667, 0.166667, 0.166667, 0.0, 0.0],
    ),
    "softsign": (
        F.softsign,
        [-0.777778, -0.75, -0.5, -0.2, 0.0, 0.2, 0.5, 0.75, 0.777778],
        [0.049383, 0.0625, 0.25, 0.64, 1.0, 0.64, 0.25, 0.0625, 0.049383],
    ),
    "tanhshrink": (
        F.tanhshrink,
        [-2.501822, -2.004945, -0.238406, -0.005081, 0.0, 0.005081, 0.238406, 2.004945, 2.501822],
        [0.996359, 0.990134, 0.580026, 0.059985, 0.0, 0.059985, 0.580026, 0.990134, 0.996359],
    ),
    "softshrink": (
        F.softshrink,
        [-3.0, -2.5, -0.5, 0.0, 0.0, 0.0, 0.5, 2.5, 3.0],
        [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    ),
    "hardshrink": (
        F.hardshrink,
        [-3.5, -3.0, -1.0, 0.0, 0.0, 0.0, 1.0, 3.0, 3.5],
        [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    ),
    "threshold": (
        lambda x: F.threshold(x, 0.25, -1.0),
        [-1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 1.0, 3.0, 3.5],
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    ),
    "relu6": (
        lambda x: F.relu6(x * 2),
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 2.0, 6.0, 6.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 2.0, 0.0, 0.0],
    ),
}


@pytest.mark.parametrize("name", list(KNOWN))
def test_activation_known_values_and_kink_slopes(name):
    fn, values, slopes = KNOWN[name]
    x = ef.tensor(GRID, dtype=ef.float64, requires_grad=True)
    y = fn(x)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), values, atol=2e-6)
    np.testing.assert_allclose(x.grad.numpy(), slopes, atol=2e-6)


def test_softmin_glu_softmax2d_known_values():
    np.testing.assert_allclose(
        F.softmin(ef.tensor([[1.0, 2.0, 3.0]]), 1).numpy(), [[0.66524094, 0.24472848, 0.09003057]], atol=1e-7
    )
    np.testing.assert_allclose(F.glu(ef.tensor([[1.0, -2.0, 0.5, 3.0]])).numpy(), [[0.62245935, -1.90514827]], atol=1e-7)
    y = nn.Softmax2d()(ef.tensor([[[1.0, 0.0]], [[2.0, 0.0]]]))
    np.testing.assert_allclose(y.numpy(), [[[0.26894143, 0.5]], [[0.7310586, 0.5]]], atol=1e-7)
    assert nn.Softmax2d()(ef.randn(2, 3, 4, 5)).sum(1).allclose(ef.ones(2, 4, 5))
    # softmin's default dim follows softmax's legacy rule (dim 1 of a 2-D input)
    x = ef.randn(3, 4)
    assert F.softmin(x).allclose(F.softmax(-x, dim=1))


# ---- gradients ---------------------------------------------------------------------------------------


def _away_from_kinks(shape, seed=0, kinks=(0.0, 3.0, -3.0, 0.5, -0.5, 0.1)):
    x = np.random.default_rng(seed).uniform(-4, 4, shape)
    for k in kinks:
        near = np.abs(x - k) < 1e-3
        x[near] += 0.01
    return ef.tensor(x, dtype=ef.float64, requires_grad=True)


DIFFERENTIABLE = [
    ("ReLU6", lambda: nn.ReLU6(), (3, 4)),
    ("SELU", lambda: nn.SELU(), (3, 4)),
    ("CELU", lambda: nn.CELU(0.7), (3, 4)),
    ("Mish", lambda: nn.Mish(), (3, 4)),
    ("Hardswish", lambda: nn.Hardswish(), (3, 4)),
    ("Hardsigmoid", lambda: nn.Hardsigmoid(), (3, 4)),
    ("LogSigmoid", lambda: nn.LogSigmoid(), (3, 4)),
    ("Softsign", lambda: nn.Softsign(), (3, 4)),
    ("Softmin", lambda: nn.Softmin(dim=0), (3, 4)),
    ("Softshrink", lambda: nn.Softshrink(), (3, 4)),
    ("Hardshrink", lambda: nn.Hardshrink(), (3, 4)),
    ("Tanhshrink", lambda: nn.Tanhshrink(), (3, 4)),
    ("Threshold", lambda: nn.Threshold(0.1, -2.0), (3, 4)),
    ("GLU", lambda: nn.GLU(dim=0), (4, 3)),
    ("PReLU", lambda: nn.PReLU(3), (2, 3, 4)),
    ("RReLU-eval", lambda: nn.RReLU().eval(), (3, 4)),
    ("Softmax2d", lambda: nn.Softmax2d(), (2, 3, 2, 2)),
    ("AlphaDropout-eval", lambda: nn.AlphaDropout().eval(), (3, 4)),
    ("ZeroPad2d", lambda: nn.ZeroPad2d((1, -1, 0, 2)), (1, 2, 3, 3)),
    ("ConstantPad3d", lambda: nn.ConstantPad3d(1, 2.0), (1, 2, 2, 2)),
    ("ReflectionPad1d", lambda: nn.ReflectionPad1d((2, 1)), (2, 2, 4)),
    ("ReflectionPad3d", lambda: nn.ReflectionPad3d((1, 2, 0, 1, 1, 1)), (1, 1, 3, 3, 3)),
    ("ReplicationPad2d", lambda: nn.ReplicationPad2d((2, 0, 1, 3)), (1, 2, 2, 3)),
    ("ReplicationPad3d", lambda: nn.ReplicationPad3d(1), (1, 2, 2, 2)),
    ("CircularPad1d", lambda: nn.CircularPad1d((3, 1)), (1, 2, 3)),
    ("CircularPad3d", lambda: nn.CircularPad3d((1, 0, 2, 1, 0, 1)), (1, 2, 2, 3)),
    ("PixelShuffle", lambda: nn.PixelShuffle(2), (2, 8, 2, 3)),
    ("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), (2, 1, 4, 2)),
    ("ChannelShuffle", lambda: nn.ChannelShuffle(3), (2, 6, 2)),
    ("Upsample-nearest", lambda: nn.Upsample(scale_factor=(2, 1.5)), (1, 2, 2, 2)),
    ("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(size=(3, 4)), (1, 2, 2, 3)),
    ("Upsample-trilinear", lambda: nn.Upsample(size=3, mode="trilinear"), (1, 1, 2, 2, 2)),
    ("Unfold", lambda: nn.Unfold((2, 3), dilation=1, padding=1, stride=2), (1, 2, 4, 4)),
    ("Fold", lambda: nn.Fold((3, 4), 2), (1, 8, 6)),
]


@pytest.mark.parametrize("name,make,shape", DIFFERENTIABLE, ids=[c[0] for c in DIFFERENTIABLE])
def test_layer_gradcheck(name, make, shape):
    m = make().double()
    assert gradcheck(m, (_away_from_kinks(shape),))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: F.selu(x),
        lambda x: F.celu(x, 1.5),
        lambda x: F.mish(x),
        lambda x: F.softmin(x, 1),
        lambda x: F.glu(x, -1),
        lambda x: F.softsign(x),
        lambda x: F.pixel_shuffle(x.reshape(4, 1, 2), 2),
        lambda x: F.pad(x.reshape(1, 2, 2, 2), (1, 1, 1, 0), mode="reflect") ** 2,
    ],
    ids=["selu", "celu", "mish", "softmin", "glu", "softsign", "pixel_shuffle", "reflect-squared"],
)
def test_second_order(fn):
    assert gradgradcheck(fn, (_away_from_kinks((2, 4), seed=1),))


def test_prelu_and_rrelu_training_gradients():
    m = nn.PReLU(3, init=0.1).double()
    x = _away_from_kinks((2, 3, 4))
    assert gradcheck(lambda a, w: F.prelu(a, w), (x, m.weight))
    assert gradgradcheck(lambda a, w: F.prelu(a, w) * a, (x, m.weight))
    x1 = _away_from_kinks((5,))
    assert gradcheck(lambda a, w: F.prelu(a, w), (x1, nn.PReLU().double().weight))

    def seeded_rrelu(a):
        ef.manual_seed(3)  # the same slopes at every finite-difference evaluation
        return F.rrelu(a, 0.1, 0.4, training=True)

    assert gradcheck(seeded_rrelu, (_away_from_kinks((3, 4)),))


def test_dropouts_gradcheck_with_a_fixed_mask():
    for fn, shape in [
        (lambda a: F.dropout1d(a, 0.4), (2, 5, 3)),
        (lambda a: F.dropout3d(a, 0.4), (2, 3, 2, 1, 2)),
        (lambda a: F.alpha_dropout(a, 0.3, training=True), (3, 4)),
        (lambda a: F.feature_alpha_dropout(a, 0.3, training=True), (3, 4, 2)),
    ]:

        def seeded(a, fn=fn):
            ef.manual_seed(7)
            return fn(a)

        assert gradcheck(seeded, (_away_from_kinks(shape),))


# ---- in-place semantics ------------------------------------------------------------------------------

INPLACE = [
    ("relu_", lambda x: F.relu_(x), lambda x: F.relu(x)),
    ("elu_", lambda x: F.elu_(x, 0.5), lambda x: F.elu(x, 0.5)),
    ("leaky_relu_", lambda x: F.leaky_relu_(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    ("hardtanh_", lambda x: F.hardtanh_(x, -0.5, 0.5), lambda x: F.hardtanh(x, -0.5, 0.5)),
    ("selu_", lambda x: F.selu_(x), lambda x: F.selu(x)),
    ("celu_", lambda x: F.celu_(x, 2.0), lambda x: F.celu(x, 2.0)),
    ("threshold_", lambda x: F.threshold_(x, 0.1, 5.0), lambda x: F.threshold(x, 0.1, 5.0)),
    ("rrelu_", lambda x: F.rrelu_(x), lambda x: F.rrelu(x)),
    ("selu-inplace", lambda x: F.selu(x, inplace=True), lambda x: F.selu(x)),
    ("celu-inplace", lambda x: F.celu(x, inplace=True), lambda x: F.celu(x)),
    ("mish-inplace", lambda x: F.mish(x, inplace=True), lambda x: F.mish(x)),
    ("hardswish-inplace", lambda x: F.hardswish(x, inplace=True), lambda x: F.hardswish(x)),
    ("hardsigmoid-inplace", lambda x: F.hardsigmoid(x, inplace=True), lambda x: F.hardsigmoid(x)),
    ("threshold-inplace", lambda x: F.threshold(x, 0.0, 1.0, inplace=True), lambda x: F.threshold(x, 0.0, 1.0)),
    ("rrelu-inplace", lambda x: F.rrelu(x, inplace=True), lambda x: F.rrelu(x)),
    ("SELU(inplace)", lambda x: nn.SELU(inplace=True)(x), lambda x: F.selu(x)),
    ("CELU(inplace)", lambda x: nn.CELU(inplace=True)(x), lambda x: F.celu(x)),
    ("Mish(inplace)", lambda x: nn.Mish(inplace=True)(x), lambda x: F.mish(x)),
    ("Hardswish(inplace)", lambda x: nn.Hardswish(inplace=True)(x), lambda x: F.hardswish(x)),
    ("Hardsigmoid(inplace)", lambda x: nn.Hardsigmoid(inplace=True)(x), lambda x: F.hardsigmoid(x)),
    ("Threshold(inplace)", lambda x: nn.Threshold(0.0, 2.0, inplace=True)(x), lambda x: F.threshold(x, 0.0, 2.0)),
    ("RReLU(inplace).eval", lambda x: nn.RReLU(inplace=True).eval()(x), lambda x: F.rrelu(x)),
    ("ReLU6(inplace)", lambda x: nn.ReLU6(inplace=True)(x), lambda x: F.relu6(x)),
]


@pytest.mark.parametrize("name,inplace,ref", INPLACE, ids=[c[0] for c in INPLACE])
def test_inplace_overwrites_the_input(name, inplace, ref):
    x0 = ef.randn(3, 4) * 3
    x = x0.clone()
    out = inplace(x)
    assert out is x
    assert np.allclose(x.numpy(), ref(x0).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "name,inplace,ref", [c for c in INPLACE if c[0] != "ReLU6(inplace)"], ids=[c[0] for c in INPLACE if c[0] != "ReLU6(inplace)"]
)
def test_inplace_on_a_graph_tensor_keeps_gradients_and_refuses_a_leaf(name, inplace, ref):
    leaf = ef.randn(3, 4, dtype=ef.float64, requires_grad=True)
    h = leaf * 2.0
    out = inplace(h)
    assert out is h and h.grad_fn is not None
    g = ef.randn(3, 4, dtype=ef.float64)
    h.backward(g)
    expected = ef.randn(3, 4, dtype=ef.float64, requires_grad=True)
    with ef.no_grad():
        expected.copy_(leaf)
    ref(expected * 2.0).backward(g)
    assert np.allclose(leaf.grad.numpy(), expected.grad.numpy())
    with pytest.raises(RuntimeError, match="leaf"):
        inplace(ef.randn(3, dtype=ef.float64, requires_grad=True))


def test_inplace_dropouts_overwrite_and_views_see_it():
    ef.manual_seed(0)
    x = ef.ones(4, 6, 5)
    view = x[1]
    out = F.dropout1d(x, 0.5, inplace=True)
    assert out is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    assert np.array_equal(view.numpy(), x.numpy()[1])
    y = ef.ones(2, 3, 1, 2, 2)
    assert nn.Dropout3d(0.5, inplace=True)(y) is y
    z = ef.randn(100)
    assert F.alpha_dropout(z, 0.2, training=True, inplace=True) is z
    # AlphaDropout/FeatureAlphaDropout ignore inplace=True in forward, as PyTorch's modules do
    w = ef.ones(10, 10)
    assert nn.AlphaDropout(0.5, inplace=True)(w) is not w and w.numpy().min() == 1.0


# ---- dropouts ------------------------------------------------------------------------------------------


def test_channel_dropouts_drop_whole_channels_with_rate_p():
    ef.manual_seed(0)
    for fn, shape, n in [
        (F.dropout1d, (40, 50, 3), 1),
        (F.dropout1d, (400, 3), 1),
        (F.dropout3d, (40, 50, 2, 1, 2), 3),
        (F.dropout3d, (400, 2, 2, 1), 3),
    ]:
        y = fn(ef.ones(*shape), p=0.3).numpy()
        flat = y.reshape(*y.shape[: y.ndim - n], -1)
        assert (flat == flat[..., :1]).all()  # a channel is kept or dropped as a whole
        assert set(np.unique(flat)) == {0.0, 1 / 0.7} or np.allclose(sorted(np.unique(flat)), [0.0, 1 / 0.7])
        assert abs((flat[..., 0] == 0).mean() - 0.3) < 0.06
    assert F.dropout1d(ef.ones(2, 3), p=1.0).sum().item() == 0.0
    x = ef.randn(2, 3, 4)
    assert F.dropout1d(x, training=False) is x and F.dropout1d(x, p=0.0) is x
    assert F.dropout3d(ef.randn(1, 2, 1, 1, 1), training=False).shape == (1, 2, 1, 1, 1)


def test_dropout_modules_follow_train_eval_and_the_seed():
    for m, shape in [
        (nn.Dropout1d(0.5), (4, 8, 6)),
        (nn.Dropout3d(0.5), (4, 8, 2, 2, 2)),
        (nn.AlphaDropout(0.5), (8, 16)),
        (nn.FeatureAlphaDropout(0.5), (4, 8, 3)),
    ]:
        x = ef.randn(*shape)
        ef.manual_seed(11)
        a = m(x)
        ef.manual_seed(11)
        b = m(x)
        assert ef.equal(a, b) and not ef.equal(a, x)  # seeded, and not the identity while training
        assert not ef.equal(m(x), a)  # the generator moved on
        m.eval()
        assert ef.equal(m(x), x)
        m.train()


def test_alpha_dropout_keeps_mean_and_variance_and_uses_selu_saturation():
    ef.manual_seed(0)
    x = ef.randn(200_000, dtype=ef.float64)
    for p in (0.1, 0.5):
        y = F.alpha_dropout(x, p, training=True).numpy()
        assert abs(y.mean()) < 0.01 and abs(y.var() - 1.0) < 0.02
        alpha = 1.7580993408473766
        a = 1 / math.sqrt((alpha**2 * p + 1) * (1 - p))
        dropped_value = -alpha * a + alpha * a * p
        dropped = np.isclose(y, dropped_value)
        assert abs(dropped.mean() - p) < 0.01
        kept = ~dropped
        np.testing.assert_allclose(y[kept], a * x.numpy()[kept] + alpha * a * p)
    assert F.alpha_dropout(x, 1.0, training=True).abs().sum().item() == 0.0
    assert F.alpha_dropout(x) is x  # training=False by default (as PyTorch)
    assert F.feature_alpha_dropout(x.reshape(1000, 200)) is not None


def test_feature_alpha_dropout_draws_per_channel():
    ef.manual_seed(1)
    y = F.feature_alpha_dropout(ef.ones(50, 40, 3, 2), 0.4, training=True).numpy()
    flat = y.reshape(50, 40, -1)
    assert (flat == flat[..., :1]).all()
    assert len(np.unique(np.round(flat, 6))) == 2
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.feature_alpha_dropout(ef.ones(5), 0.5, training=True)


def test_dropout_errors():
    for fn in (F.dropout1d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout):
        with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
            fn(ef.ones(2, 3, 4, 5), 1.5)
    for cls in (nn.Dropout1d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout):
        with pytest.raises(ValueError, match="between 0 and 1"):
            cls(-0.1)
    with pytest.raises(RuntimeError, match=r"dropout1d: expected 2-D \(C, L\) or 3-D \(N, C, L\) input, got a 4-D"):
        F.dropout1d(ef.ones(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match="dropout3d: expected 4-D"):
        nn.Dropout3d()(ef.ones(2, 3, 4))


# ---- RReLU and PReLU ---------------------------------------------------------------------------------


def test_rrelu_training_draws_seeded_slopes_in_range():
    x = -ef.rand(1000) - 0.1
    ef.manual_seed(5)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slopes = (y / x).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    assert abs(slopes.mean() - 0.2) < 0.01
    ef.manual_seed(5)
    assert ef.equal(F.rrelu(x, 0.1, 0.3, training=True), y)
    pos = ef.rand(10) + 0.1
    assert ef.equal(F.rrelu(pos, training=True), pos)
    m = nn.RReLU(0.1, 0.3)
    assert m.training and not ef.equal(m(x), F.rrelu(x, 0.1, 0.3))
    m.eval()
    assert np.allclose(m(x).numpy(), 0.2 * x.numpy())
    # the gradient is the drawn slope
    xs = (-ef.rand(6, dtype=ef.float64) - 0.1).requires_grad_()
    ef.manual_seed(2)
    out = F.rrelu(xs, training=True)
    out.sum().backward()
    assert np.allclose(xs.grad.numpy(), (out / xs).detach().numpy())
    with pytest.raises(RuntimeError, match="lower bound should be less than or equal to the upper bound"):
        F.rrelu(x, 0.5, 0.2)


def test_prelu_parameter_layout_and_channel_semantics():
    m = nn.PReLU()
    assert [n for n, _ in m.named_parameters()] == ["weight"] and m.weight.shape == (1,)
    assert m.weight.tolist() == [0.25] and m.init == 0.25 and m.num_parameters == 1
    assert list(m.state_dict()) == ["weight"]
    m3 = nn.PReLU(3, init=0.5, dtype=ef.float64)
    assert m3.weight.dtype == ef.float64 and m3.weight.tolist() == [0.5, 0.5, 0.5]
    with ef.no_grad():
        m3.weight.copy_(ef.tensor([0.1, 0.2, 0.3], dtype=ef.float64))
    x = -ef.ones(2, 3, 2, dtype=ef.float64)
    assert m3(x)[0, :, 0].tolist() == [-0.1, -0.2, -0.3]  # weights along dim 1
    assert m3(ef.tensor([[1.0, -1.0, 2.0]], dtype=ef.float64)).tolist() == [[1.0, -0.2, 2.0]]
    assert nn.PReLU()(ef.tensor(-4.0)).item() == -1.0  # 0-d input, one parameter
    m3(x).sum().backward()
    assert m3.weight.grad.tolist() == [-4.0, -4.0, -4.0]
    m3.reset_parameters()
    assert m3.weight.tolist() == [0.5, 0.5, 0.5]
    with pytest.raises(RuntimeError, match="Found parameter numbers = 3 and channel size = 4"):
        m3(ef.ones(2, 4))
    with pytest.raises(RuntimeError, match="channel size = 1"):
        m3(ef.ones(3))
    with pytest.raises(RuntimeError, match="scalar or 1-D"):
        F.prelu(ef.ones(2, 2), ef.ones(2, 1))
    with pytest.raises(ValueError, match="num_parameters must be a positive int"):
        nn.PReLU(0)


# ---- padding -------------------------------------------------------------------------------------------

NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
PAD_CLASSES = {
    "reflect": (nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d),
    "replicate": (nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d),
    "circular": (nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d),
}


def _np_pad_width(padding, ndim):
    n = len(padding) // 2
    width = [(0, 0)] * (ndim - n)
    for i in reversed(range(n)):
        width.append((padding[2 * i], padding[2 * i + 1]))
    return width


@pytest.mark.parametrize("mode", list(PAD_CLASSES))
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("batched", [True, False])
def test_mode_padding_matches_numpy(mode, n, batched):
    cls = PAD_CLASSES[mode][n - 1]
    padding = (2, 1, 0, 3, 1, 2)[: 2 * n]
    shape = (2, 3) + (4, 5, 3)[:n] if batched else (3,) + (4, 5, 3)[:n]
    x = np.random.default_rng(n).standard_normal(shape)
    y = cls(padding)(ef.tensor(x))
    np.testing.assert_array_equal(y.numpy(), np.pad(x, _np_pad_width(padding, x.ndim), mode=NP_MODE[mode]))
    assert cls(1)(ef.tensor(x)).shape == tuple(s + 2 if i >= x.ndim - n else s for i, s in enumerate(x.shape))


@pytest.mark.parametrize("n", [1, 2, 3])
def test_constant_and_zero_padding(n):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2, 3)[: n + 2])
    cls = (nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)[n - 1]
    zero = (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d)[n - 1]
    padding = (1, 2, 0, 1, 2, 0)[: 2 * n]
    y = cls(padding, -1.5)(ef.tensor(x))
    np.testing.assert_array_equal(y.numpy(), np.pad(x, _np_pad_width(padding, x.ndim), constant_values=-1.5))
    z = zero(padding)(ef.tensor(x))
    np.testing.assert_array_equal(z.numpy(), np.pad(x, _np_pad_width(padding, x.ndim)))
    assert isinstance(zero(1), cls) and zero(1).value == 0.0
    # negative padding crops (constant mode only), as in PyTorch
    crop = (-1,) + (0,) * (2 * n - 1)
    assert zero(crop)(ef.tensor(x)).shape[-1] == x.shape[-1] - 1


def test_padding_errors():
    with pytest.raises(
        NotImplementedError, match=r"ReflectionPad2d: expected 3D \(C, H, W\) or 4D \(N, C, H, W\) input \(got 2D"
    ):
        nn.ReflectionPad2d(1)(ef.ones(3, 3))
    with pytest.raises(NotImplementedError, match="ReplicationPad1d: expected 2D"):
        nn.ReplicationPad1d(1)(ef.ones(3))
    with pytest.raises(ValueError, match=r"CircularPad3d: expected 4D .* \(got 3D input\)"):
        nn.CircularPad3d(1)(ef.ones(2, 2, 2))
    with pytest.raises(ValueError, match="must be smaller than the input size"):
        nn.ReflectionPad1d(3)(ef.ones(1, 3))
    with pytest.raises(ValueError, match="at most the input size"):
        nn.CircularPad1d(4)(ef.ones(1, 3))
    with pytest.raises(
        ValueError, match=r"ZeroPad2d: expected padding as an int or a tuple of 4 ints \(left, right, top, bottom\)"
    ):
        nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match="tuple of 2 ints"):
        nn.ReflectionPad1d(1.5)


# ---- shuffles, upsampling, fold/unfold ---------------------------------------------------------------


def _np_pixel_shuffle(x, r):
    *B, C, H, W = x.shape
    y = x.reshape(*B, C // (r * r), r, r, H, W)
    nb = len(B)
    y = y.transpose(*range(nb), nb, nb + 3, nb + 1, nb + 4, nb + 2)
    return y.reshape(*B, C // (r * r), H * r, W * r)


def test_pixel_shuffle_and_unshuffle():
    x = np.arange(2 * 3 * 18 * 2 * 3, dtype=np.float64).reshape(2, 3, 18, 2, 3)  # extra leading batch dims
    y = F.pixel_shuffle(ef.tensor(x), 3)
    np.testing.assert_array_equal(y.numpy(), _np_pixel_shuffle(x, 3))
    assert y.shape == (2, 3, 2, 6, 9)
    assert ef.equal(F.pixel_unshuffle(y, 3), ef.tensor(x))
    assert ef.equal(nn.PixelUnshuffle(3)(nn.PixelShuffle(3)(ef.tensor(x))), ef.tensor(x))
    # known values (PyTorch): channels c*r*r + i*r + j land at (h*r + i, w*r + j)
    known = F.pixel_shuffle(ef.arange(16.0).reshape(1, 4, 2, 2), 2)[0, 0].tolist()
    assert known == [[0.0, 4.0, 1.0, 5.0], [8.0, 12.0, 9.0, 13.0], [2.0, 6.0, 3.0, 7.0], [10.0, 14.0, 11.0, 15.0]]
    assert F.pixel_shuffle(ef.ones(4, 1, 1), 2).shape == (1, 2, 2)
    with pytest.raises(RuntimeError, match=r"input.size\(-3\)=5 is not divisible by 4"):
        F.pixel_shuffle(ef.ones(1, 5, 2, 2), 2)
    with pytest.raises(RuntimeError, match="at least 3 dimensions"):
        nn.PixelShuffle(2)(ef.ones(4, 2))
    with pytest.raises(RuntimeError, match=r"height to be divisible by downscale_factor, but input.size\(-2\)=3"):
        F.pixel_unshuffle(ef.ones(1, 1, 3, 4), 2)
    with pytest.raises(RuntimeError, match="positive upscale_factor"):
        F.pixel_shuffle(ef.ones(1, 4, 2, 2), 0)


def test_channel_shuffle():
    x = np.arange(2 * 6 * 2, dtype=np.float64).reshape(2, 6, 2)
    y = nn.ChannelShuffle(3)(ef.tensor(x))
    np.testing.assert_array_equal(y.numpy(), x.reshape(2, 3, 2, 2).transpose(0, 2, 1, 3).reshape(2, 6, 2))
    assert y[0, :, 0].tolist() == [0.0, 4.0, 8.0, 2.0, 6.0, 10.0]  # PyTorch's order
    assert ef.equal(F.native_channel_shuffle(ef.tensor(x), 3), y)
    assert F.channel_shuffle(ef.ones(1, 4, 2, 2, 2), 2).shape == (1, 4, 2, 2, 2)
    with pytest.raises(RuntimeError, match="Got 5 channels and 2 groups"):
        F.channel_shuffle(ef.ones(1, 5, 2), 2)
    with pytest.raises(RuntimeError, match="> 2 dims"):
        F.channel_shuffle(ef.ones(2, 4), 2)
    with pytest.raises(RuntimeError, match="must be positive"):
        F.channel_shuffle(ef.ones(2, 4, 1), 0)


def test_upsampling_known_values():
    x = ef.arange(6.0).reshape(1, 1, 2, 3)
    bilinear = nn.Upsample(scale_factor=2, mode="bilinear")(x)[0, 0]
    np.testing.assert_allclose(
        bilinear.numpy(),
        [
            [0.0, 0.25, 0.75, 1.25, 1.75, 2.0],
            [0.75, 1.0, 1.5, 2.0, 2.5, 2.75],
            [2.25, 2.5, 3.0, 3.5, 4.0, 4.25],
            [3.0, 3.25, 3.75, 4.25, 4.75, 5.0],
        ],
        atol=1e-6,
    )
    aligned = nn.UpsamplingBilinear2d(scale_factor=2)(x)[0, 0]
    np.testing.assert_allclose(
        aligned.numpy(),
        [
            [0.0, 0.4, 0.8, 1.2, 1.6, 2.0],
            [1.0, 1.4, 1.8, 2.2, 2.6, 3.0],
            [2.0, 2.4, 2.8, 3.2, 3.6, 4.0],
            [3.0, 3.4, 3.8, 4.2, 4.6, 5.0],
        ],
        atol=1e-6,
    )
    nearest = nn.UpsamplingNearest2d(size=(3, 4))(x)[0, 0].tolist()
    assert nearest == [[0.0, 0.0, 1.0, 2.0], [0.0, 0.0, 1.0, 2.0], [3.0, 3.0, 4.0, 5.0]]
    assert ef.equal(nn.Upsample(scale_factor=2)(x), F.interpolate(x, scale_factor=2))
    m = nn.Upsample(scale_factor=(2, 3))
    assert m.scale_factor == (2.0, 3.0) and m.name == "Upsample" and m(x).shape == (1, 1, 4, 9)
    assert nn.UpsamplingBilinear2d(size=5).align_corners is True and nn.UpsamplingNearest2d(size=5).mode == "nearest"
    with pytest.raises(ValueError, match="exactly one of size or scale_factor"):
        nn.Upsample()(x)


def test_deprecated_upsample_functions_warn_and_match_interpolate():
    x = ef.arange(6.0).reshape(1, 1, 2, 3)
    with pytest.warns(UserWarning, match="upsample_bilinear` is deprecated"):
        y = F.upsample_bilinear(x, scale_factor=2)
    assert ef.equal(y, F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))
    with pytest.warns(UserWarning, match="upsample_nearest` is deprecated"):
        assert ef.equal(F.upsample_nearest(x, size=(4, 6)), F.interpolate(x, size=(4, 6)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ef.equal(F.upsample(x, scale_factor=2, mode="bilinear"), F.interpolate(x, scale_factor=2, mode="bilinear"))


def test_fold_unfold_modules():
    x = ef.randn(2, 3, 5, 6)
    unfold = nn.Unfold(kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=2)
    cols = unfold(x)
    assert ef.equal(cols, F.unfold(x, (2, 3), (1, 2), 1, 2))
    fold = nn.Fold(output_size=(5, 6), kernel_size=(2, 3), dilation=(1, 2), padding=1, stride=2)
    assert ef.equal(fold(cols), F.fold(cols, (5, 6), (2, 3), (1, 2), 1, 2))
    # non-overlapping blocks: Fold inverts Unfold
    y = ef.randn(1, 2, 4, 6)
    assert ef.allclose(nn.Fold((4, 6), 2, stride=2)(nn.Unfold(2, stride=2)(y)), y)


# ---- reprs, registration, errors ---------------------------------------------------------------------

# printed by PyTorch for the same constructor calls
REPRS = [
    (lambda: nn.ReLU6(), "ReLU6()"),
    (lambda: nn.ReLU6(True), "ReLU6(inplace=True)"),
    (lambda: nn.SELU(), "SELU()"),
    (lambda: nn.SELU(True), "SELU(inplace=True)"),
    (lambda: nn.CELU(), "CELU(alpha=1.0)"),
    (lambda: nn.CELU(2.0, True), "CELU(alpha=2.0, inplace=True)"),
    (lambda: nn.Mish(True), "Mish(inplace=True)"),
    (lambda: nn.Hardswish(True), "Hardswish()"),
    (lambda: nn.Hardsigmoid(True), "Hardsigmoid()"),
    (lambda: nn.LogSigmoid(), "LogSigmoid()"),
    (lambda: nn.Softsign(), "Softsign()"),
    (lambda: nn.Softmin(), "Softmin(dim=None)"),
    (lambda: nn.Softshrink(), "Softshrink(0.5)"),
    (lambda: nn.Hardshrink(0.3), "Hardshrink(0.3)"),
    (lambda: nn.Tanhshrink(), "Tanhshrink()"),
    (lambda: nn.Threshold(0.1, 20, True), "Threshold(threshold=0.1, value=20, inplace=True)"),
    (lambda: nn.GLU(), "GLU(dim=-1)"),
    (lambda: nn.PReLU(), "PReLU(num_parameters=1)"),
    (lambda: nn.RReLU(), "RReLU(lower=0.125, upper=0.3333333333333333)"),
    (lambda: nn.RReLU(0.1, 0.3, True), "RReLU(lower=0.1, upper=0.3, inplace=True)"),
    (lambda: nn.Softmax2d(), "Softmax2d()"),
    (lambda: nn.Dropout1d(), "Dropout1d(p=0.5, inplace=False)"),
    (lambda: nn.Dropout3d(0.2), "Dropout3d(p=0.2, inplace=False)"),
    (lambda: nn.AlphaDropout(), "AlphaDropout(p=0.5, inplace=False)"),
    (lambda: nn.FeatureAlphaDropout(0.1, True), "FeatureAlphaDropout(p=0.1, inplace=True)"),
    (lambda: nn.ZeroPad1d(2), "ZeroPad1d((2, 2))"),
    (lambda: nn.ZeroPad2d(2), "ZeroPad2d((2, 2, 2, 2))"),
    (lambda: nn.ZeroPad3d((1, 2, 3, 4, 5, 6)), "ZeroPad3d((1, 2, 3, 4, 5, 6))"),
    (lambda: nn.ConstantPad1d(2, 3.5), "ConstantPad1d(padding=(2, 2), value=3.5)"),
    (lambda: nn.ConstantPad2d((1, 2, 3, 4), 1), "ConstantPad2d(padding=(1, 2, 3, 4), value=1)"),
    (lambda: nn.ConstantPad3d(1, 0.0), "ConstantPad3d(padding=(1, 1, 1, 1, 1, 1), value=0.0)"),
    (lambda: nn.ReflectionPad1d(2), "ReflectionPad1d((2, 2))"),
    (lambda: nn.ReflectionPad3d(1), "ReflectionPad3d((1, 1, 1, 1, 1, 1))"),
    (lambda: nn.ReplicationPad1d((1, 2)), "ReplicationPad1d((1, 2))"),
    (lambda: nn.ReplicationPad2d(1), "ReplicationPad2d((1, 1, 1, 1))"),
    (lambda: nn.CircularPad2d(1), "CircularPad2d((1, 1, 1, 1))"),
    (lambda: nn.PixelShuffle(2), "PixelShuffle(upscale_factor=2)"),
    (lambda: nn.PixelUnshuffle(3), "PixelUnshuffle(downscale_factor=3)"),
    (lambda: nn.ChannelShuffle(2), "ChannelShuffle(groups=2)"),
    (lambda: nn.Upsample(scale_factor=2), "Upsample(scale_factor=2.0, mode='nearest')"),
    (lambda: nn.Upsample(size=(3, 4), mode="bilinear"), "Upsample(size=(3, 4), mode='bilinear')"),
    (
        lambda: nn.Upsample(scale_factor=(2, 3), mode="bilinear", align_corners=True),
        "Upsample(scale_factor=(2.0, 3.0), mode='bilinear')",
    ),
    (lambda: nn.UpsamplingNearest2d(scale_factor=2), "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')"),
    (lambda: nn.UpsamplingBilinear2d(size=5), "UpsamplingBilinear2d(size=5, mode='bilinear')"),
    (lambda: nn.Fold((4, 5), 2), "Fold(output_size=(4, 5), kernel_size=2, dilation=1, padding=0, stride=1)"),
    (lambda: nn.Unfold((2, 3), padding=1), "Unfold(kernel_size=(2, 3), dilation=1, padding=1, stride=1)"),
]


@pytest.mark.parametrize("make,expected", REPRS, ids=[r for _, r in REPRS])
def test_repr_matches_pytorch(make, expected):
    assert repr(make()) == expected


def test_every_new_layer_is_public_and_registered():
    from einframe.nn.modules import extra_activation

    names = set(ef.plugins.names("layers"))
    for name in extra_activation.__all__:
        cls = getattr(nn, name)
        assert issubclass(cls, nn.Module) and name in names and ef.plugins.get("layers", name) is cls
    assert issubclass(nn.ReLU6, nn.Hardtanh) and nn.ReLU6().min_val == 0.0 and nn.ReLU6().max_val == 6.0
    for fn in ("selu", "rrelu_", "dropout1d", "alpha_dropout", "pixel_shuffle", "channel_shuffle", "upsample_bilinear", "relu6"):
        assert callable(getattr(F, fn)) and fn in F.__all__
    net = nn.build(
        {
            "type": "Sequential",
            "layers": [
                {"type": "ReflectionPad2d", "padding": 1},
                {"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
                {"type": "PReLU", "num_parameters": 4},
                {"type": "PixelShuffle", "upscale_factor": 2},
                {"type": "Hardswish"},
            ],
        }
    )
    assert net(ef.randn(2, 1, 5, 5)).shape == (2, 1, 10, 10)


def test_activation_errors():
    with pytest.raises(RuntimeError, match="halving dimension must be even, but dimension 1 is size 3"):
        F.glu(ef.ones(2, 3))
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        nn.GLU()(ef.tensor(1.0))
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        F.glu(ef.ones(2, 4), dim=2)
    with pytest.raises(RuntimeError, match="softshrink: lambd must be >= 0, got -1"):
        nn.Softshrink(-1)(ef.ones(3))
    with pytest.raises(RuntimeError, match="alpha cannot be 0"):
        nn.CELU(0.0)(ef.ones(3))
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D"):
        nn.Softmax2d()(ef.ones(2, 3))
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(2.0, 1.0)


def test_gumbel_softmax_samples_the_softmax_and_passes_soft_gradients():
    logits = ef.tensor([1.0, 0.0, -1.0])
    ef.manual_seed(0)
    y = F.gumbel_softmax(logits.expand(20000, 3), tau=1.0, hard=True)
    assert set(y.flatten().tolist()) == {0.0, 1.0} and ef.allclose(y.sum(-1), ef.ones(20000))
    # the argmax of logits + Gumbel noise is a draw from softmax(logits): frequencies within 4 sigma
    p = ef.softmax(logits, 0).numpy()
    assert np.all(np.abs(y.mean(0).numpy() - p) < 4 * np.sqrt(p * (1 - p) / 20000))
    soft = F.gumbel_softmax(ef.randn(2, 3, 4), tau=0.3, dim=1)
    assert ef.allclose(soft.sum(1), ef.ones(2, 4), atol=1e-6) and (soft.numpy() > 0).all()
    # straight-through: the hard sample carries the soft sample's gradient (same noise via the seed)
    w = ef.tensor([1.0, 2.0, 3.0])
    grads = []
    for hard in (True, False):
        x = ef.tensor([[0.5, 1.0, -1.0]], requires_grad=True)
        ef.manual_seed(3)
        (F.gumbel_softmax(x, tau=0.7, hard=hard) * w).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
    assert np.abs(grads[0]).sum() > 0
    with pytest.raises(ValueError, match="tau must be positive"):
        F.gumbel_softmax(logits, tau=0.0)


# ---- spatial transformers -------------------------------------------------------------------------
def test_grid_sample_known_values():
    # PyTorch 2.13, float64: the 2x3 ramp sampled at three points, one inside and two outside
    x = ef.arange(6.0, dtype=ef.float64).reshape(1, 1, 2, 3)
    g = ef.tensor([[[[-1.2, 0.3], [0.5, -0.9], [1.1, 1.4]]]], dtype=ef.float64)
    known = {
        ("zeros", False): [0.4800000000000002, 1.0499999999999998, 0.175],
        ("zeros", True): [1.56, 1.65, 3.5999999999999996],
        ("border", False): [2.4000000000000004, 1.75, 5.0],
        ("border", True): [1.9500000000000002, 1.65, 5.0],
        ("reflection", False): [2.4000000000000004, 1.75, 5.0],
        ("reflection", True): [2.15, 1.65, 4.3],
    }
    for (pm, ac), want in known.items():
        got = F.grid_sample(x, g, padding_mode=pm, align_corners=ac).flatten().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=f"{pm} {ac}")
    assert F.grid_sample(x, g, mode="nearest", align_corners=False).flatten().tolist() == [0.0, 2.0, 0.0]


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 2, 3, 4, 5)])
def test_affine_grid_identity_resamples_the_input(align_corners, shape):
    d = len(shape) - 2
    theta = ef.tensor(np.tile(np.eye(d, d + 1), (shape[0], 1, 1)))
    grid = F.affine_grid(theta, shape, align_corners=align_corners)
    assert grid.shape == (shape[0], *shape[2:], d)
    x = ef.randn(*shape, dtype=ef.float64)
    for pm in ("zeros", "border", "reflection"):
        y = F.grid_sample(x, grid, padding_mode=pm, align_corners=align_corners)
        np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-12)
    # the grid's x coordinate runs along the last (width) dim, as PyTorch's
    w = shape[-1]
    xs = np.linspace(-1, 1, w) if align_corners else (2 * np.arange(w) + 1) / w - 1
    np.testing.assert_allclose(grid.numpy()[0, ..., 0].reshape(-1, w)[0], xs)


def test_grid_sample_and_affine_grid_gradients():
    r = np.random.default_rng(5)
    x = ef.tensor(r.normal(size=(1, 2, 3, 4)), requires_grad=True)
    g = ef.tensor(r.uniform(-1.2, 1.2, size=(1, 2, 3, 2)), requires_grad=True)
    for pm in ("zeros", "border", "reflection"):
        fn = lambda a, b, pm=pm: F.grid_sample(a, b, padding_mode=pm, align_corners=False)  # noqa: E731
        assert gradcheck(fn, (x, g)) and gradgradcheck(fn, (x, g)), pm
    theta = ef.tensor(r.normal(size=(2, 2, 3)), requires_grad=True)
    assert gradcheck(lambda t: F.affine_grid(t, (2, 1, 3, 4), align_corners=True), (theta,))
    # nearest sampling: the grid gets a zero gradient (as PyTorch), the input its gathered one
    gn = ef.tensor(r.uniform(-1, 1, size=(1, 2, 3, 2)), requires_grad=True)
    F.grid_sample(x, gn, mode="nearest", align_corners=True).sum().backward()
    assert gn.grad.abs().sum().item() == 0


def test_grid_sample_errors_and_warning():
    x, g = ef.zeros(1, 1, 2, 2), ef.zeros(1, 1, 1, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.grid_sample(x, g)
    with pytest.raises(NotImplementedError, match="'bilinear', 'nearest' or 'bicubic'"):
        F.grid_sample(x, g, mode="area", align_corners=False)
    with pytest.raises(RuntimeError, match="bicubic interpolation only supports 4D"):
        F.grid_sample(ef.zeros(1, 1, 2, 2, 2), ef.zeros(1, 1, 1, 1, 3), mode="bicubic", align_corners=False)
    with pytest.raises(ValueError, match="padding_mode"):
        F.grid_sample(x, g, padding_mode="wrap", align_corners=False)
    with pytest.raises(RuntimeError, match=r"grid \(N, \*out, 2\)"):
        F.grid_sample(x, ef.zeros(1, 1, 1, 3), align_corners=False)
    with pytest.raises(ValueError, match=r"expected theta of shape \(1, 2, 3\)"):
        F.affine_grid(ef.zeros(1, 3, 3), (1, 1, 2, 2), align_corners=False)


def test_grid_sample_bicubic_known_values_and_gradients():
    # PyTorch 2.13 (float64): the squared ramp at a point outside, one inside, one near the centre
    x = (ef.arange(6.0, dtype=ef.float64).reshape(1, 1, 2, 3)) ** 2
    g = ef.tensor([[[[-1.2, 0.3], [0.5, -0.9], [0.1, 0.2]]]], dtype=ef.float64)
    known = {
        "zeros": [1.2979200000000142, -0.07143750000000244, 15.522759179687503],
        "border": [7.273344000000008, 1.211499999999998, 13.18334256249999],
        "reflection": [6.702720000000005, -0.2178125000000038, 13.18334256249999],
    }
    for pm, want in known.items():
        got = F.grid_sample(x, g, mode="bicubic", padding_mode=pm, align_corners=False).flatten().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=pm)
    r = np.random.default_rng(6)
    a = ef.tensor(r.normal(size=(1, 2, 4, 5)), requires_grad=True)
    b = ef.tensor(r.uniform(-1.1, 1.1, size=(1, 2, 3, 2)), requires_grad=True)
    for pm in ("zeros", "border", "reflection"):
        fn = lambda s, t, pm=pm: F.grid_sample(s, t, mode="bicubic", padding_mode=pm, align_corners=True)  # noqa: E731
        assert gradcheck(fn, (a, b)) and gradgradcheck(fn, (a, b)), pm
