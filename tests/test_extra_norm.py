"""More norms (BatchNorm3d, InstanceNorm*, RMSNorm, LocalResponseNorm), the transformer stack
(TransformerEncoder/DecoderLayer/Decoder/Transformer) and the lazy convs/norms.

Values are checked against numpy references and against constants computed once with PyTorch 2.x
(same deterministic weights; the script is described next to each constant). PyTorch is not needed."""

import copy
import math
import warnings

import numpy as np
import pytest

import einframe as ef
import einframe.nn.functional as F
from einframe import nn
from einframe.ops.contract import Contract


def det(m):
    """Deterministic parameters, set in sorted-name order exactly as the PyTorch script that produced the constants."""
    with ef.no_grad():
        for i, (_, p) in enumerate(sorted(m.named_parameters())):
            v = np.sin(np.arange(p.numel()) * 0.37 + i).reshape(tuple(p.shape)) * 0.5
            p.copy_(ef.tensor(v, dtype=p.dtype))
    return m


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


X_IN = [[[1.0, 2.0, 4.0], [0.0, 3.0, 3.0]], [[2.0, 2.0, 5.0], [1.0, 1.0, -2.0]]]  # (N=2, C=2, L=3)


# ---------------------------------------------------------------------------------------------
# functional: values vs numpy and PyTorch constants


def np_instance_norm(x, w=None, b=None, eps=1e-5):
    ax = tuple(range(2, x.ndim))
    y = (x - x.mean(ax, keepdims=True)) / np.sqrt(x.var(ax, keepdims=True) + eps)
    cs = (1, -1) + (1,) * (x.ndim - 2)
    if w is not None:
        y = y * w.reshape(cs)
    if b is not None:
        y = y + b.reshape(cs)
    return y


def test_instance_norm_matches_numpy():
    x, w, b = rand(3, 4, 2, 3), rand(4, seed=1), rand(4, seed=2)
    y = F.instance_norm(ef.tensor(x), weight=ef.tensor(w), bias=ef.tensor(b), eps=1e-3)
    assert np.allclose(y.numpy(), np_instance_norm(x, w, b, 1e-3), atol=1e-12)
    y = F.instance_norm(ef.tensor(x[..., 0]))  # (N, C, L)
    assert np.allclose(y.numpy(), np_instance_norm(x[..., 0]), atol=1e-12)


def test_instance_norm_statistics_are_contractions():
    y = F.instance_norm(ef.randn(2, 3, 4, requires_grad=True))
    eqs = set()
    stack, seen = [y.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        if isinstance(fn, Contract):
            eqs.add(fn.equation)
        stack.extend(f for f, _ in fn.next_functions)
    assert {"bcl->bc", "bcl,bcl->bc"} <= eqs


def test_instance_norm_running_stats_as_pytorch():
    x = ef.tensor(X_IN, dtype=ef.float64)
    rm, rv = ef.zeros(2, dtype=ef.float64), ef.ones(2, dtype=ef.float64)
    F.instance_norm(x, rm, rv, momentum=0.5)
    # batch-averaged instance statistics, the variance unbiased (n/(n-1))
    xn = np.array(X_IN)
    assert np.allclose(rm.numpy(), 0.5 * xn.mean(2).mean(0))
    assert np.allclose(rv.numpy(), 0.5 + 0.5 * xn.var(2, ddof=1).mean(0))
    # PyTorch: InstanceNorm1d(2, track_running_stats=True, momentum=0.5)(x)
    assert np.allclose(rm.numpy(), [1.3333333333333335, 0.5]) and np.allclose(rv.numpy(), [1.8333333333333335, 2.0])
    # use_input_stats=False normalises with the running stats (PyTorch's eval values)
    y = F.instance_norm(x[:1], rm, rv, use_input_stats=False)
    ref = [
        [
            [-0.24618231055327955, 0.4923646211065589, 1.9694584844262357],
            [-0.35355250671311184, 1.7677625335655591, 1.7677625335655591],
        ]
    ]
    assert np.allclose(y.numpy(), ref)


def test_instance_norm_errors():
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(ef.randn(2, 3))
    with pytest.raises(RuntimeError, match="running_mean and running_var are required"):
        F.instance_norm(ef.randn(2, 3, 4), use_input_stats=False)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        F.instance_norm(ef.randn(3))
    with pytest.raises(TypeError, match="expected input to be a Tensor"):
        F.instance_norm(np.ones((2, 3, 4)))


def test_rms_norm_matches_numpy_and_pytorch():
    x, w = rand(2, 3, 4), rand(3, 4, seed=1)
    y = F.rms_norm(ef.tensor(x), (3, 4), ef.tensor(w), eps=1e-3)
    ref = x / np.sqrt((x**2).mean((1, 2), keepdims=True) + 1e-3) * w
    assert np.allclose(y.numpy(), ref, atol=1e-12)
    # eps=None is the dtype's machine epsilon; PyTorch: F.rms_norm(x, (3,))
    y = F.rms_norm(ef.tensor(X_IN, dtype=ef.float64), 3)
    ref = [
        [[0.3779644730092272, 0.7559289460184544, 1.5118578920369088], [0.0, 1.2247448713915892, 1.2247448713915892]],
        [
            [0.6030226891555273, 0.6030226891555273, 1.5075567228888183],
            [0.7071067811865475, 0.7071067811865475, -1.414213562373095],
        ],
    ]
    assert np.allclose(y.numpy(), ref)
    tiny = ef.tensor([1e-5, 0.0], dtype=ef.float32)  # mean square 5e-11, well below float32's eps
    expected = 1e-5 / math.sqrt(5e-11 + np.finfo(np.float32).eps)
    assert np.isclose(F.rms_norm(tiny, (2,))[0].item(), expected, rtol=1e-5)
    assert F.rms_norm(ef.tensor([1e-5, 0.0], dtype=ef.float64), (2,))[0].item() > 1.4  # float64 eps is tiny


def test_rms_norm_errors():
    with pytest.raises(RuntimeError, match=r"rms_norm: expected input with shape \[\*, 3\], got \[2, 4\]"):
        F.rms_norm(ef.randn(2, 4), (3,))
    with pytest.raises(RuntimeError, match="expected weight of shape"):
        F.rms_norm(ef.randn(2, 4), (4,), ef.ones(3))


def np_lrn(x, size, alpha, beta, k):
    C = x.shape[1]
    out = np.empty_like(x)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C - 1, c + (size - 1) // 2)
        s = (x[:, lo : hi + 1] ** 2).sum(1)
        out[:, c] = x[:, c] / (k + alpha / size * s) ** beta
    return out


@pytest.mark.parametrize("shape", [(2, 5, 3), (1, 6, 2, 3), (2, 4, 2, 1, 2)])
@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm_matches_numpy(shape, size):
    x = rand(*shape)
    y = F.local_response_norm(ef.tensor(x), size, alpha=0.3, beta=0.6, k=1.5)
    assert y.shape == shape
    assert np.allclose(y.numpy(), np_lrn(x, size, 0.3, 0.6, 1.5), atol=1e-12)


def test_local_response_norm_pytorch_values_and_errors():
    y = F.local_response_norm(ef.tensor(X_IN, dtype=ef.float64), 2, alpha=0.5, beta=0.75, k=1.0)
    ref = [  # PyTorch: F.local_response_norm(x, 2, alpha=0.5, beta=0.75, k=1.0)
        [[0.8458970107524513, 1.189207115002721, 1.1962790249769764], [0.0, 1.0135135450679649, 0.6789968348092326]],
        [
            [1.189207115002721, 1.189207115002721, 1.131661391348721],
            [0.5443310539518174, 0.5443310539518174, -0.4108559059721448],
        ],
    ]
    assert np.allclose(y.numpy(), ref)
    with pytest.raises(ValueError, match="expected 3D or higher dimensional input"):
        F.local_response_norm(ef.randn(2, 3), 2)
    assert F.local_response_norm(ef.ones(0, 3, 2), 2).shape == (0, 3, 2)


# ---------------------------------------------------------------------------------------------
# modules: BatchNorm3d, InstanceNorm*, RMSNorm, LocalResponseNorm


def test_batchnorm3d_running_stats_and_eval():
    bn = nn.BatchNorm3d(2, momentum=0.3)
    x = rand(3, 2, 2, 2, 3).astype(np.float32)
    y = bn(ef.tensor(x)).detach().numpy()
    ax = (0, 2, 3, 4)
    mean, var = x.mean(ax, keepdims=True), x.var(ax, keepdims=True)
    assert np.allclose(y, (x - mean) / np.sqrt(var + 1e-5), atol=1e-5)
    assert np.allclose(bn.running_mean.numpy(), 0.3 * x.mean(ax), atol=1e-6)
    assert np.allclose(bn.running_var.numpy(), 0.7 + 0.3 * x.var(ax, ddof=1), atol=1e-6)
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    y = bn(ef.tensor(x)).detach().numpy()
    rm, rv = bn.running_mean.numpy().reshape(1, 2, 1, 1, 1), bn.running_var.numpy().reshape(1, 2, 1, 1, 1)
    assert np.allclose(y, (x - rm) / np.sqrt(rv + 1e-5), atol=1e-5)
    with pytest.raises(ValueError, match=r"BatchNorm3d: expected 5D input \(N, C, D, H, W\), got 4D input"):
        bn(ef.randn(2, 2, 2, 2))
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def test_instance_norm_defaults_repr_and_state_dict():
    m = nn.InstanceNorm2d(3)
    assert m.weight is None and m.bias is None and m.running_mean is None and list(m.state_dict()) == []
    assert repr(m) == "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"
    t = nn.InstanceNorm1d(3, affine=True, track_running_stats=True, bias=False)
    assert list(t.state_dict()) == ["weight", "running_mean", "running_var", "num_batches_tracked"]
    assert not isinstance(t, nn.BatchNorm1d)


@pytest.mark.parametrize(
    "cls,shape", [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm2d", (2, 3, 2, 3)), ("InstanceNorm3d", (2, 3, 2, 2, 2))]
)
def test_instance_norm_modules_train_eval_and_unbatched(cls, shape):
    m = getattr(nn, cls)(3, affine=True, track_running_stats=True).double()
    with ef.no_grad():
        m.weight.copy_(ef.tensor([1.0, 2.0, -1.0]))
        m.bias.copy_(ef.tensor([0.0, 0.5, 1.0]))
    x = rand(*shape)
    y = m(ef.tensor(x))
    assert np.allclose(y.detach().numpy(), np_instance_norm(x, np.array([1.0, 2.0, -1.0]), np.array([0.0, 0.5, 1.0])))
    ax = tuple(range(2, x.ndim))
    assert np.allclose(m.running_mean.numpy(), 0.1 * x.mean(ax).mean(0))
    assert np.allclose(m.running_var.numpy(), 0.9 + 0.1 * x.var(ax, ddof=1).mean(0))
    assert int(m.num_batches_tracked) == 0  # PyTorch's instance norms do not count batches
    m.eval()
    rm = m.running_mean.numpy().reshape((1, 3) + (1,) * len(ax))
    rv = m.running_var.numpy().reshape((1, 3) + (1,) * len(ax))
    w, b = np.array([1.0, 2.0, -1.0]).reshape(rm.shape), np.array([0.0, 0.5, 1.0]).reshape(rm.shape)
    assert np.allclose(m(ef.tensor(x)).detach().numpy(), (x - rm) / np.sqrt(rv + 1e-5) * w + b)
    unbatched = m(ef.tensor(x[0])).detach().numpy()
    assert np.allclose(unbatched, m(ef.tensor(x[:1])).detach().numpy()[0])


def test_instance_norm_momentum_none_and_no_tracking_in_eval():
    m = nn.InstanceNorm1d(2, track_running_stats=True, momentum=None).double()
    m(ef.tensor(X_IN, dtype=ef.float64))
    assert m.running_mean.tolist() == [0.0, 0.0] and m.running_var.tolist() == [1.0, 1.0]  # None means 0.0, as PyTorch
    nt = nn.InstanceNorm1d(2).eval()  # no running stats: instance statistics in eval too
    x = rand(2, 2, 4)
    assert np.allclose(nt(ef.tensor(x)).detach().numpy(), np_instance_norm(x), atol=1e-6)


def test_instance_norm_checks():
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected 3D or 4D input .*, got 2D input"):
        nn.InstanceNorm2d(3)(ef.randn(3, 4))
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(3\), got 4"):
        nn.InstanceNorm1d(3, affine=True)(ef.randn(2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(ef.randn(4, 5))  # unbatched: dim 0 is the channel dim


def test_rmsnorm_module():
    m = nn.RMSNorm([2, 3], eps=1e-6)
    assert repr(m) == "RMSNorm((2, 3), eps=1e-06, elementwise_affine=True)" and list(m.state_dict()) == ["weight"]
    assert m.weight.shape == (2, 3) and m.weight.tolist() == [[1.0] * 3] * 2
    x = rand(4, 2, 3).astype(np.float32)
    ref = x / np.sqrt((x**2).mean((1, 2), keepdims=True) + 1e-6)
    assert np.allclose(m(ef.tensor(x)).detach().numpy(), ref, atol=1e-6)
    n = nn.RMSNorm(3, elementwise_affine=False)
    assert n.weight is None and list(n.state_dict()) == [] and n.eps is None
    assert repr(n) == "RMSNorm((3,), eps=None, elementwise_affine=False)"


def test_local_response_norm_module():
    m = nn.LocalResponseNorm(3, alpha=0.2, beta=0.5, k=2.0)
    assert repr(m) == "LocalResponseNorm(3, alpha=0.2, beta=0.5, k=2.0)" and list(m.state_dict()) == []
    x = rand(2, 5, 3, 3)
    assert np.allclose(m(ef.tensor(x)).numpy(), np_lrn(x, 3, 0.2, 0.5, 2.0), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# gradchecks (float64)

NORMS = [
    ("BatchNorm3d", lambda: nn.BatchNorm3d(2), (2, 2, 2, 1, 2)),
    ("BatchNorm3d-eval", lambda: nn.BatchNorm3d(2).eval(), (2, 2, 1, 2, 2)),
    ("InstanceNorm1d-affine", lambda: nn.InstanceNorm1d(2, affine=True), (2, 2, 3)),
    ("InstanceNorm2d-tracked-eval", lambda: nn.InstanceNorm2d(2, track_running_stats=True).eval(), (1, 2, 2, 2)),
    ("InstanceNorm3d", lambda: nn.InstanceNorm3d(2), (2, 2, 1, 2)),
    ("RMSNorm", lambda: nn.RMSNorm((2, 3)), (2, 2, 3)),
    ("LocalResponseNorm", lambda: nn.LocalResponseNorm(3, alpha=0.5), (2, 4, 3)),
]


@pytest.mark.parametrize("name,make,shape", NORMS, ids=[c[0] for c in NORMS])
def test_norm_gradcheck(name, make, shape):
    m = make().double()
    x = ef.randn(*shape, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradcheck(m, (x,))


def test_functional_gradcheck_with_parameters():
    x = ef.randn(2, 3, 4, dtype=ef.float64, requires_grad=True)
    w = ef.randn(3, dtype=ef.float64, requires_grad=True)
    b = ef.randn(3, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradcheck(lambda a, c, d: F.instance_norm(a, weight=c, bias=d), (x, w, b))
    w4 = ef.randn(4, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradcheck(lambda a, c: F.rms_norm(a, (4,), c, eps=1e-3), (x, w4))


def test_gradgradcheck():
    x = ef.randn(2, 3, 3, dtype=ef.float64, requires_grad=True)
    w = ef.randn(3, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradgradcheck(lambda a, c: F.rms_norm(a, (3,), c), (x, w))
    assert ef.autograd.gradgradcheck(lambda a: F.instance_norm(a), (x,))
    assert ef.autograd.gradgradcheck(lambda a: F.local_response_norm(a, 2, alpha=0.5), (x,))


def test_transformer_decoder_layer_gradcheck():
    layer = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, norm_first=True).double()
    tgt = ef.randn(3, 1, 4, dtype=ef.float64, requires_grad=True)
    mem = ef.randn(2, 1, 4, dtype=ef.float64, requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=ef.float64)
    assert ef.autograd.gradcheck(lambda t, m: layer(t, m, tgt_mask=mask), (tgt, mem))


# ---------------------------------------------------------------------------------------------
# the transformer stack: names, layouts, PyTorch values

DECODER_LAYER_KEYS = [
    "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
    "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight",
    "multihead_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
    "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias",
]  # fmt: skip
ENCODER_LAYER_KEYS = [
    "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
    "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight",
    "norm2.bias",
]  # fmt: skip


def test_decoder_layer_state_dict_layout():
    layer = nn.TransformerDecoderLayer(8, 2, 16)
    sd = layer.state_dict()
    assert list(sd) == DECODER_LAYER_KEYS
    assert sd["multihead_attn.in_proj_weight"].shape == (24, 8) and sd["linear1.weight"].shape == (16, 8)
    assert [n for n, _ in layer.named_children()] == [
        "self_attn", "multihead_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "norm3", "dropout1",
        "dropout2", "dropout3",
    ]  # fmt: skip
    nb = nn.TransformerDecoderLayer(8, 2, 16, bias=False)
    assert [k for k in nb.state_dict() if "bias" in k] == []
    assert nn.TransformerDecoderLayer(8, 2).linear1.out_features == 2048  # PyTorch's default dim_feedforward


def test_transformer_state_dict_layout_and_defaults():
    model = nn.Transformer(8, 2, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=16)
    keys = list(model.state_dict())
    expected = [f"encoder.layers.{i}.{k}" for i in range(2) for k in ENCODER_LAYER_KEYS]
    expected += ["encoder.norm.weight", "encoder.norm.bias"]
    expected += [f"decoder.layers.0.{k}" for k in DECODER_LAYER_KEYS] + ["decoder.norm.weight", "decoder.norm.bias"]
    assert keys == expected
    assert (model.d_model, model.nhead, model.batch_first) == (8, 2, False)
    assert model.encoder.num_layers == 2 and model.decoder.num_layers == 1
    # deep copies: every layer owns its parameters
    p0 = model.encoder.layers[0].linear1.weight
    p1 = model.encoder.layers[1].linear1.weight
    assert p0 is not p1 and not np.array_equal(p0.detach().numpy(), p1.detach().numpy())  # xavier re-drawn per layer
    d = nn.Transformer()
    assert (d.d_model, d.nhead, d.encoder.num_layers, d.decoder.num_layers) == (512, 8, 6, 6)
    assert d.encoder.layers[0].linear1.out_features == 2048 and d.encoder.layers[0].dropout.p == 0.1


def test_transformer_custom_encoder_decoder():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 1)
    model = nn.Transformer(8, 2, custom_encoder=enc, custom_decoder=dec)
    assert model.encoder is enc and model.decoder is dec
    assert "encoder.norm.weight" not in model.state_dict()
    assert model(ef.randn(5, 2, 8), ef.randn(3, 2, 8)).shape == (3, 2, 8)


def test_transformer_encoder_clones_and_flags():
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False, mask_check=False)
    assert len(enc.layers) == 3 and enc.norm is None and enc.enable_nested_tensor is False
    assert enc.layers[0] is not layer and enc.layers[0].linear1.weight is not layer.linear1.weight
    assert np.array_equal(enc.layers[2].linear1.weight.detach().numpy(), layer.linear1.weight.detach().numpy())
    assert list(enc.state_dict())[: len(ENCODER_LAYER_KEYS)] == [f"layers.0.{k}" for k in ENCODER_LAYER_KEYS]


def test_known_transformer_decoder_layer():
    ef.set_default_dtype(ef.float64)
    layer = det(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True)).eval()
    tgt = ef.tensor(np.cos(np.arange(2 * 3 * 8) * 0.21).reshape(2, 3, 8))
    mem = ef.tensor(np.sin(np.arange(2 * 4 * 8) * 0.13).reshape(2, 4, 8))
    mkpm = ef.tensor([[False, False, False, True], [False, False, False, False]])
    out = layer(tgt, mem, tgt_mask=nn.Transformer.generate_square_subsequent_mask(3), memory_key_padding_mask=mkpm)
    ref = [
        [1.109801179636483, 1.1120032906882045, 1.1230306190971335],
        [1.110937653739076, 1.1075318252976853, 1.108007428488707],
    ]
    assert np.allclose(out.sum(-1).detach().numpy(), ref)
    row = [-0.3631299891655205, -0.695368950176287, -0.17239179572881252, -0.09082305071047837, 0.42483590920264597,
           0.7487770543916735, 0.7055813671837999, 0.5505268834916857]  # fmt: skip
    assert np.allclose(out[1, 2].detach().numpy(), row)


def test_known_transformer_decoder_pre_norm_seq_first():
    ef.set_default_dtype(ef.float64)
    layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=True)
    dec = det(nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(8))).eval()
    tgt = ef.tensor(np.cos(np.arange(2 * 3 * 8) * 0.21).reshape(2, 3, 8)).transpose(0, 1)
    mem = ef.tensor(np.sin(np.arange(2 * 4 * 8) * 0.13).reshape(2, 4, 8)).transpose(0, 1)
    out = dec(tgt, mem, tgt_mask=nn.Transformer.generate_square_subsequent_mask(3))
    ref = [
        [-0.18455468929239616, 0.09561436296003378],
        [-0.23272206700032194, -0.15064594532337483],
        [-0.010912385655107215, -0.09870818748822263],
    ]
    assert np.allclose(out.sum(-1).detach().numpy(), ref)


def test_known_transformer():
    ef.set_default_dtype(ef.float64)
    model = det(nn.Transformer(8, 2, 2, 1, 16, dropout=0.0, batch_first=True)).eval()
    src = ef.tensor(np.cos(np.arange(2 * 5 * 8) * 0.17).reshape(2, 5, 8))
    tgt = ef.tensor(np.cos(np.arange(2 * 3 * 8) * 0.21).reshape(2, 3, 8))
    skpm = ef.tensor([[False] * 5, [False, False, False, True, True]])
    mask = nn.Transformer.generate_square_subsequent_mask(3)
    out = model(src, tgt, tgt_mask=mask, src_key_padding_mask=skpm, memory_key_padding_mask=skpm)
    ref = [
        [1.5871292095761085, 1.588079844443286, 1.5968835031952326],
        [1.5916496781071823, 1.5874992880680838, 1.5905775859690974],
    ]
    assert np.allclose(out.sum(-1).detach().numpy(), ref)
    row = [-0.44561788550140496, -0.6520209920240726, -0.2810680235135924, -0.09544977974260828, 0.5584024929470336,
           0.9466425589123557, 0.9065614512077566, 0.649679387290641]  # fmt: skip
    assert np.allclose(out[0, 0].detach().numpy(), row)


def test_known_transformer_encoder_bool_causal_mask():
    ef.set_default_dtype(ef.float64)
    enc = det(nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2, norm=nn.LayerNorm(8))).eval()
    src = ef.tensor(np.cos(np.arange(2 * 5 * 8) * 0.17).reshape(2, 5, 8)).transpose(0, 1)
    out = enc(src, mask=ef.tensor(np.triu(np.ones((5, 5), bool), 1)))
    ref = [
        [1.469282071665552, 1.4680959846296076], [1.4673816209523913, 1.468688271490496],
        [1.4692808336085683, 1.475800847380346], [1.4902955951456143, 1.4880176217460006],
        [1.481985152426602, 1.4761742683427537],
    ]  # fmt: skip
    assert np.allclose(out.sum(-1).detach().numpy(), ref)
    # the same mask as floats, and as the is_causal hint, give the same output
    fl = enc(src, mask=nn.Transformer.generate_square_subsequent_mask(5), is_causal=True)
    assert np.allclose(fl.detach().numpy(), out.detach().numpy())


def test_transformer_unbatched_matches_batched():
    model = nn.Transformer(8, 2, 1, 1, 16, dropout=0.0).double().eval()
    src, tgt = ef.randn(5, 8, dtype=ef.float64), ef.randn(3, 8, dtype=ef.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=ef.float64)
    one = model(src, tgt, tgt_mask=mask)
    batched = model(src.unsqueeze(1), tgt.unsqueeze(1), tgt_mask=mask)
    assert one.shape == (3, 8) and np.allclose(one.detach().numpy(), batched[:, 0].detach().numpy())


def test_transformer_dropout_trains_and_backprops():
    ef.manual_seed(0)
    model = nn.Transformer(8, 2, 1, 1, 16, dropout=0.5, batch_first=True)
    src, tgt = ef.randn(2, 4, 8), ef.randn(2, 3, 8)
    a, b = model(src, tgt), model(src, tgt)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())  # dropout in training mode
    a.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    assert np.allclose(model(src, tgt).detach().numpy(), model(src, tgt).detach().numpy())


def test_generate_square_subsequent_mask():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == ef.float32 and m.tolist() == [[0.0, -math.inf, -math.inf], [0.0, 0.0, -math.inf], [0.0] * 3]
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=ef.float64).dtype == ef.float64


def test_detect_is_causal_mask():
    from einframe.nn.modules.extra_norm import _detect_is_causal_mask

    causal = nn.Transformer.generate_square_subsequent_mask(4)
    assert _detect_is_causal_mask(causal) and _detect_is_causal_mask(ef.tensor(np.triu(np.ones((4, 4), bool), 1)))
    assert not _detect_is_causal_mask(causal, size=3)
    assert not _detect_is_causal_mask(ef.zeros(4, 4))
    assert not _detect_is_causal_mask(causal, is_causal=False) and _detect_is_causal_mask(None, True)


def test_transformer_errors():
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        model(ef.randn(5, 2, 8), ef.randn(3, 3, 8))
    with pytest.raises(RuntimeError, match=r"must be equal to d_model \(8\)"):
        model(ef.randn(5, 2, 8), ef.randn(3, 2, 6))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerDecoderLayer(8, 2, activation="tanh")
    with pytest.raises(TypeError, match="expected decoder_layer to be an nn.Module"):
        nn.TransformerDecoder("layer", 2)


def test_decoder_layer_activation_choices():
    assert nn.TransformerDecoderLayer(8, 2, 16).activation is F.relu
    assert nn.TransformerDecoderLayer(8, 2, 16, activation="gelu").activation is F.gelu
    mod = nn.TransformerDecoderLayer(8, 2, 16, activation=nn.GELU())
    assert "activation" in dict(mod.named_children())
    copy.deepcopy(mod)(ef.randn(2, 1, 8), ef.randn(3, 1, 8))


# ---------------------------------------------------------------------------------------------
# lazy convs and norms

LAZY_CONVS = [
    ("LazyConv1d", nn.Conv1d, (4, 3), {"groups": 2, "padding": 1}, (2, 6, 7), (4, 3, 3), 6),
    ("LazyConv3d", nn.Conv3d, (2, 2), {}, (1, 3, 3, 3, 3), (2, 3, 2, 2, 2), 3),
    ("LazyConvTranspose1d", nn.ConvTranspose1d, (4, 3), {"groups": 2, "stride": 2}, (2, 6, 7), (6, 2, 3), 6),
    ("LazyConvTranspose2d", nn.ConvTranspose2d, (2, 3), {"stride": 2}, (1, 3, 4, 4), (3, 2, 3, 3), 3),
    ("LazyConvTranspose3d", nn.ConvTranspose3d, (2, 2), {"dilation": 2}, (3, 2, 2, 2), (3, 2, 2, 2, 2), 3),
]


@pytest.mark.parametrize("name,eager,args,kw,shape,wshape,cin", LAZY_CONVS, ids=[c[0] for c in LAZY_CONVS])
def test_lazy_conv_from_first_input(name, eager, args, kw, shape, wshape, cin):
    m = getattr(nn, name)(*args, **kw)
    assert m.has_uninitialized_params() and m.in_channels == 0
    y = m(ef.randn(*shape))
    assert type(m) is eager and m.in_channels == cin and m.weight.shape == wshape and m.bias.shape == (args[0],)
    fan_in = math.prod(wshape[1:])
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(fan_in)  # kaiming_uniform(a=√5) once shapes are known
    ref = eager(cin, *args, **kw)
    ref.load_state_dict(m.state_dict())
    assert np.allclose(ref(ef.tensor(np.ones(shape, np.float32))).detach().numpy(), m(ef.ones(*shape)).detach().numpy())
    assert y.shape == ref(ef.randn(*shape)).shape


@pytest.mark.parametrize("name,eager,args,kw,shape,wshape,cin", LAZY_CONVS, ids=[c[0] for c in LAZY_CONVS])
def test_lazy_conv_from_state_dict(name, eager, args, kw, shape, wshape, cin):
    src = eager(cin, *args, **kw)
    m = getattr(nn, name)(*args, **kw)
    assert m.load_state_dict(src.state_dict()) is not None
    assert type(m) is eager and m.in_channels == cin and np.array_equal(m.weight.detach().numpy(), src.weight.detach().numpy())
    assert repr(m) == repr(src)


def test_lazy_conv_transpose_output_size_and_errors():
    m = nn.LazyConvTranspose2d(2, 3, stride=2, padding=1)
    assert m(ef.randn(1, 4, 5, 5), output_size=(10, 10)).shape == (1, 2, 10, 10)
    with pytest.raises(RuntimeError, match=r"LazyConv1d: expected a \(N, C, L\) or \(C, L\) tensor to infer in_channels"):
        nn.LazyConv1d(2, 3)(ef.randn(2, 2, 2, 5))
    with pytest.raises(ValueError, match=r"LazyConv3d: in_channels \(3\) must be divisible by groups \(2\)"):
        nn.LazyConv3d(2, 1, groups=2)(ef.randn(1, 3, 2, 2, 2))
    with pytest.raises(ValueError, match=r"LazyConvTranspose1d: out_channels \(3\) must be divisible by groups \(2\)"):
        nn.LazyConvTranspose1d(3, 2, groups=2)
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        nn.LazyConv1d(2, 3).weight.detach()


LAZY_NORMS = [
    ("LazyBatchNorm1d", nn.BatchNorm1d, (4, 3), 3),
    ("LazyBatchNorm2d", nn.BatchNorm2d, (2, 3, 2, 2), 3),
    ("LazyBatchNorm3d", nn.BatchNorm3d, (2, 3, 2, 1, 2), 3),
    ("LazyInstanceNorm1d", nn.InstanceNorm1d, (3, 5), 3),  # unbatched (C, L)
    ("LazyInstanceNorm2d", nn.InstanceNorm2d, (2, 3, 2, 2), 3),
    ("LazyInstanceNorm3d", nn.InstanceNorm3d, (2, 3, 2, 1, 2), 3),
]


@pytest.mark.parametrize("name,eager,shape,c", LAZY_NORMS, ids=[n[0] for n in LAZY_NORMS])
def test_lazy_norm_from_first_input(name, eager, shape, c):
    m = getattr(nn, name)(momentum=0.5)
    assert m.has_uninitialized_params() and m.num_features == 0 and m.affine and m.track_running_stats  # PyTorch's defaults
    x = rand(*shape).astype(np.float32)
    y = m(ef.tensor(x))
    assert type(m) is eager and m.num_features == c and not any(nn.parameter.is_lazy(t) for t in m.state_dict().values())
    assert m.weight.tolist() == [1.0] * c and m.bias.tolist() == [0.0] * c
    ref = eager(c, momentum=0.5, affine=True, track_running_stats=True)
    assert np.allclose(y.detach().numpy(), ref(ef.tensor(x)).detach().numpy(), atol=1e-6)
    for k, v in ref.state_dict().items():
        assert np.allclose(m.state_dict()[k].numpy(), v.numpy(), atol=1e-6), k
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


@pytest.mark.parametrize("name,eager,shape,c", LAZY_NORMS, ids=[n[0] for n in LAZY_NORMS])
def test_lazy_norm_from_state_dict(name, eager, shape, c):
    src = eager(5, affine=True, track_running_stats=True)
    with ef.no_grad():
        src.running_mean.copy_(ef.arange(5.0))
        src.weight.copy_(ef.full((5,), 2.0))
    m = getattr(nn, name)()
    m.load_state_dict(src.state_dict())
    assert type(m) is eager and m.num_features == 5
    assert m.running_mean.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and m.weight.tolist() == [2.0] * 5
    assert repr(m) == repr(src)


def test_lazy_norm_options_and_errors():
    m = nn.LazyBatchNorm2d(affine=False, track_running_stats=False)
    assert not m.has_uninitialized_params()
    m(ef.randn(2, 4, 2, 2))
    assert type(m) is nn.BatchNorm2d and m.num_features == 4 and list(m.state_dict()) == []
    b = nn.LazyInstanceNorm2d(bias=False, track_running_stats=False)
    b(ef.randn(2, 3, 2, 2))
    assert b.bias is None and list(b.state_dict()) == ["weight"]
    with pytest.raises(ValueError, match=r"LazyBatchNorm3d: expected 5D input"):
        nn.LazyBatchNorm3d()(ef.randn(2, 3, 4))
    with pytest.raises(TypeError, match="expected a Tensor to infer num_features"):
        nn.LazyBatchNorm1d().initialize_parameters(np.ones((2, 3)))
    assert repr(nn.LazyBatchNorm1d()) == (
        "LazyBatchNorm1d(0, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    )


def test_lazy_norm_deepcopy_and_dtype():
    m = nn.LazyBatchNorm1d(dtype=ef.float64)
    c = copy.deepcopy(m)
    c(ef.randn(3, 2, dtype=ef.float64))
    assert type(c) is nn.BatchNorm1d and c.running_mean.dtype == ef.float64 and m.has_uninitialized_params()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(ef.randn(3, 4, dtype=ef.float64))
    assert m.num_features == 4


def test_sync_batch_norm_is_batch_norm_in_one_process():
    ef.manual_seed(0)
    x = ef.randn(4, 3, 5, 5, dtype=ef.float64)
    bn = nn.BatchNorm2d(3).double()
    sync = nn.SyncBatchNorm(3).double()
    with ef.no_grad():
        for a, b in zip(bn.parameters(), sync.parameters()):
            b.copy_(a)
    np.testing.assert_allclose(sync(x).detach().numpy(), bn(x).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(sync.running_var.numpy(), bn.running_var.numpy(), rtol=1e-12)
    assert sync(ef.randn(6, 3, dtype=ef.float64)).shape == (6, 3)  # any rank >= 2
    with pytest.raises(ValueError, match="at least 2D"):
        sync(ef.randn(3, dtype=ef.float64))
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Sequential(nn.BatchNorm1d(3)))
    net.eval()
    conv = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    assert conv is net and isinstance(net[1], nn.SyncBatchNorm) and isinstance(net[2][0], nn.SyncBatchNorm)
    assert not net[1].training and list(net.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
        "1.running_var", "1.num_batches_tracked", "2.0.weight", "2.0.bias", "2.0.running_mean", "2.0.running_var",
        "2.0.num_batches_tracked"]  # fmt: skip
    single = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(2))
    assert isinstance(single, nn.SyncBatchNorm)


def test_data_parallel_wraps_and_prefixes_state_dict_keys():
    inner = nn.Linear(2, 3)
    model = nn.DataParallel(inner, device_ids=[0])
    x = ef.randn(4, 2)
    assert ef.equal(model(x), inner(x)) and model.module is inner
    assert list(model.state_dict()) == ["module.weight", "module.bias"]
    other = nn.DataParallel(nn.Linear(2, 3))
    other.load_state_dict(model.state_dict())
    assert ef.equal(other.module.weight, inner.weight)
