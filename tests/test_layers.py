"""Layer modules: PyTorch names/layouts/defaults, default-init statistics, running stats, gradchecks,
known values from PyTorch (deterministic weights, outputs pasted as constants), registry/build."""

import math

import numpy as np
import pytest

import einframe as ef
import einframe.nn.functional as F
from einframe import nn


def det(m):
    """Deterministic parameters, set in sorted-name order exactly as the PyTorch script that produced the constants."""
    with ef.no_grad():
        for i, (_, p) in enumerate(sorted(m.named_parameters())):
            v = np.sin(np.arange(p.numel()) * 0.37 + i).reshape(tuple(p.shape)) * 0.5
            p.copy_(ef.tensor(v, dtype=p.dtype))
    return m


# ---------------------------------------------------------------------------------------------
# parameter names, layouts, defaults


def test_conv_layouts_and_state_dict_keys():
    c = nn.Conv2d(4, 8, (3, 5), groups=2)
    assert c.weight.shape == (8, 2, 3, 5) and c.bias.shape == (8,)
    assert list(c.state_dict()) == ["weight", "bias"]
    t = nn.ConvTranspose2d(4, 6, 3, groups=2)
    assert t.weight.shape == (4, 3, 3, 3)
    t3 = nn.ConvTranspose3d(4, 6, (3, 2, 1), groups=2)  # (in, out/groups, kD, kH, kW), as PyTorch
    assert t3.weight.shape == (4, 3, 3, 2, 1) and t3.bias.shape == (6,) and list(t3.state_dict()) == ["weight", "bias"]
    assert nn.ConvTranspose3d(2, 3, 2, bias=False).bias is None
    bn = nn.BatchNorm2d(3)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert bn.num_batches_tracked.dtype == ef.int64
    mha = nn.MultiheadAttention(8, 2)
    assert list(mha.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert mha.in_proj_weight.shape == (24, 8)
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    assert [k for k in layer.state_dict() if not k.startswith("self_attn")] == [
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
    ]  # fmt: skip


def test_multihead_attention_kdim_vdim_bias_kv_state_dict_like_pytorch():
    # names, shapes and order of torch.nn.MultiheadAttention(8, 2, ...).state_dict()
    sep = nn.MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert not sep._qkv_same_embed_dim and sep.in_proj_weight is None and (sep.kdim, sep.vdim) == (3, 5)
    assert [(k, tuple(v.shape)) for k, v in sep.state_dict().items()] == [
        ("q_proj_weight", (8, 8)), ("k_proj_weight", (8, 3)), ("v_proj_weight", (8, 5)), ("in_proj_bias", (24,)),
        ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,)),
    ]  # fmt: skip
    kv = nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True)
    assert kv._qkv_same_embed_dim and kv.q_proj_weight is None and kv.add_zero_attn
    assert [(k, tuple(v.shape)) for k, v in kv.state_dict().items()] == [
        ("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("bias_k", (1, 1, 8)), ("bias_v", (1, 1, 8)),
        ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,)),
    ]  # fmt: skip
    both = nn.MultiheadAttention(8, 2, bias=False, add_bias_kv=True, kdim=3, vdim=8)
    assert list(both.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v", "out_proj.weight"]
    assert nn.MultiheadAttention(8, 2, kdim=8, vdim=8)._qkv_same_embed_dim  # explicit E is the packed layout
    assert nn.MultiheadAttention(8, 2).bias_k is None and nn.MultiheadAttention(8, 2).bias_v is None
    # a state_dict saved as safetensors (what a PyTorch export gives) loads unchanged
    sd = {k: ef.randn(*v.shape) for k, v in both.state_dict().items()}
    path = __import__("tempfile").mkdtemp() + "/mha.safetensors"
    ef.save(sd, path)
    both.load_state_dict(ef.load(path))
    assert all(ef.equal(both.state_dict()[k], v) for k, v in sd.items())


def test_reprs_match_pytorch():
    assert repr(nn.Conv2d(3, 6, 3)) == "Conv2d(3, 6, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv1d(2, 3, 3, padding="same", padding_mode="circular")) == (
        "Conv1d(2, 3, kernel_size=(3,), stride=(1,), padding=same, padding_mode=circular)"
    )
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.BatchNorm2d(6)) == "BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.Dropout()) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.ConvTranspose3d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2, bias=False)) == (
        "ConvTranspose3d(4, 6, kernel_size=(3, 3, 3), stride=(2, 2, 2), padding=(1, 1, 1), dilation=(2, 2, 2), "
        "output_padding=(1, 1, 1), groups=2, bias=False)"
    )
    assert repr(nn.ConvTranspose3d(2, 2, (1, 2, 3))) == "ConvTranspose3d(2, 2, kernel_size=(1, 2, 3), stride=(1, 1, 1))"
    assert repr(nn.MaxPool3d(2)) == "MaxPool3d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.MaxPool3d((2, 1, 3), stride=1, padding=1, dilation=2, ceil_mode=True)) == (
        "MaxPool3d(kernel_size=(2, 1, 3), stride=1, padding=1, dilation=2, ceil_mode=True)"
    )
    assert repr(nn.AvgPool3d(2)) == "AvgPool3d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AvgPool3d((2, 2, 1), padding=1)) == "AvgPool3d(kernel_size=(2, 2, 1), stride=(2, 2, 1), padding=1)"
    assert repr(nn.AdaptiveAvgPool3d((2, None, 3))) == "AdaptiveAvgPool3d(output_size=(2, None, 3))"
    assert repr(nn.AdaptiveMaxPool3d(2, return_indices=True)) == "AdaptiveMaxPool3d(output_size=2)"


def test_conv_default_init_bounds_and_statistics():
    c = nn.Conv2d(16, 64, 3)
    bound = 1 / math.sqrt(16 * 9)
    w = c.weight.detach().numpy()
    assert np.abs(w).max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert np.abs(c.bias.detach().numpy()).max() <= bound
    t = nn.ConvTranspose2d(64, 4, 3)  # PyTorch's fan_in for the transposed weight: weight.shape[1] * k*k
    assert np.abs(t.weight.detach().numpy()).max() <= 1 / math.sqrt(4 * 9)
    assert np.abs(t.weight.detach().numpy()).max() > 1 / math.sqrt(64 * 9)
    t3 = nn.ConvTranspose3d(64, 4, 3)  # fan_in = weight.shape[1] * kD*kH*kW = 4 * 27
    bound3 = 1 / math.sqrt(4 * 27)
    w3 = t3.weight.detach().numpy()
    assert np.abs(w3).max() <= bound3 and abs(w3.std() - bound3 / math.sqrt(3)) < 0.05 * bound3
    assert np.abs(t3.bias.detach().numpy()).max() <= bound3 and np.abs(t3.bias.detach().numpy()).max() > 0


def test_other_default_inits():
    e = nn.Embedding(2000, 8, padding_idx=3).weight.detach().numpy()
    assert (e[3] == 0).all() and abs(e.std() - 1) < 0.05
    mha = nn.MultiheadAttention(16, 4)
    xb = math.sqrt(6 / (16 + 48))
    assert np.abs(mha.in_proj_weight.detach().numpy()).max() <= xb
    assert (mha.in_proj_bias.detach().numpy() == 0).all() and (mha.out_proj.bias.detach().numpy() == 0).all()
    sep = nn.MultiheadAttention(64, 4, kdim=16, vdim=32, add_bias_kv=True)  # xavier_uniform_ with each fan
    for name, fan_in in (("q_proj_weight", 64), ("k_proj_weight", 16), ("v_proj_weight", 32)):
        w = getattr(sep, name).detach().numpy()
        bound = math.sqrt(6 / (fan_in + 64))
        assert np.abs(w).max() <= bound and abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    bkv = np.concatenate([sep.bias_k.detach().numpy().ravel(), sep.bias_v.detach().numpy().ravel()])
    assert abs(bkv.std() - 1 / math.sqrt(64)) < 0.3 / math.sqrt(64)  # xavier_normal_: fan_in = fan_out = E
    assert (sep.in_proj_bias.detach().numpy() == 0).all()
    bn = nn.BatchNorm1d(3)
    assert bn.weight.tolist() == [1, 1, 1] and bn.bias.tolist() == [0, 0, 0] and bn.running_var.tolist() == [1, 1, 1]
    b = nn.Bilinear(4, 5, 2)
    assert np.abs(b.weight.detach().numpy()).max() <= 0.5


def test_default_init_is_seeded():
    ef.manual_seed(5)
    a = nn.Conv2d(3, 4, 3).weight.detach().numpy()
    ef.manual_seed(5)
    b = nn.Conv2d(3, 4, 3).weight.detach().numpy()
    assert np.array_equal(a, b)


def test_init_apply_pattern():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2))

    def init_fn(m):
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 2.0)

    net.apply(init_fn)
    assert (net[0].bias.detach().numpy() == 0).all() and net[1].weight.tolist() == [2, 2, 2, 2]


# ---------------------------------------------------------------------------------------------
# BatchNorm running statistics


def test_batchnorm_running_stats_and_momentum_none():
    bn = nn.BatchNorm1d(2, momentum=None)
    xs = [np.array([[1.0, 2.0], [3.0, 5.0], [2.0, 2.0]]), np.array([[0.0, 1.0], [4.0, 1.0]])]
    for x in xs:
        bn(ef.tensor(x, dtype=ef.float32))
    assert int(bn.num_batches_tracked) == 2
    # cumulative average: factor 1/1 then 1/2
    rm = 0.5 * xs[0].mean(0) + 0.5 * xs[1].mean(0)
    rv = 0.5 * xs[0].var(0, ddof=1) + 0.5 * xs[1].var(0, ddof=1)
    assert np.allclose(bn.running_mean.numpy(), rm) and np.allclose(bn.running_var.numpy(), rv)
    bn.eval()
    x = ef.tensor([[1.0, 1.0]])
    assert np.allclose(bn(x).detach().numpy(), (np.array([[1.0, 1.0]]) - rm) / np.sqrt(rv + 1e-5), atol=1e-6)
    assert int(bn.num_batches_tracked) == 2  # eval does not count


def test_batchnorm_momentum_and_no_tracking():
    bn = nn.BatchNorm2d(1, momentum=0.3)
    x = np.arange(8.0).reshape(2, 1, 2, 2)
    bn(ef.tensor(x, dtype=ef.float32))
    assert np.isclose(bn.running_mean.item(), 0.3 * 3.5)
    assert np.isclose(bn.running_var.item(), 0.7 + 0.3 * x.var(ddof=1))
    nt = nn.BatchNorm2d(1, track_running_stats=False).eval()
    assert nt.running_mean is None and list(nt.state_dict()) == ["weight", "bias"]
    y = nt(ef.tensor(x, dtype=ef.float32)).detach().numpy()  # batch statistics even in eval
    assert np.allclose(y, (x - x.mean()) / np.sqrt(x.var() + 1e-5), atol=1e-5)


def test_batchnorm_input_check():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(ef.randn(2, 3))


# ---------------------------------------------------------------------------------------------
# gradchecks through the modules (float64)

LAYERS = [
    ("Conv1d-reflect", lambda: nn.Conv1d(2, 3, 3, padding=1, padding_mode="reflect"), (2, 2, 5)),
    ("Conv2d-circular", lambda: nn.Conv2d(2, 2, 3, padding="same", padding_mode="circular"), (1, 2, 4, 4)),
    (
        "Conv2d-replicate-groups",
        lambda: nn.Conv2d(4, 2, 2, stride=2, padding=1, padding_mode="replicate", groups=2),
        (1, 4, 4, 3),
    ),
    ("Conv3d", lambda: nn.Conv3d(1, 2, 2, padding=(1, 0, 0)), (1, 1, 2, 3, 3)),
    ("ConvTranspose1d", lambda: nn.ConvTranspose1d(2, 2, 3, stride=2), (1, 2, 3)),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(2, 2, 2, stride=2, padding=1, output_padding=1), (1, 2, 3, 3)),
    ("MaxPool1d", lambda: nn.MaxPool1d(2), (1, 2, 6)),
    ("MaxPool2d", lambda: nn.MaxPool2d(3, 2, 1, ceil_mode=True), (1, 1, 5, 5)),
    ("AvgPool1d", lambda: nn.AvgPool1d(3, 2, 1), (1, 2, 6)),
    ("AvgPool2d", lambda: nn.AvgPool2d(2, 1, 1, count_include_pad=False), (1, 1, 3, 3)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 4)),
    ("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d(2), (1, 2, 5, 4)),
    (
        "ConvTranspose3d",
        lambda: nn.ConvTranspose3d(2, 2, 2, stride=(2, 1, 2), padding=1, output_padding=(1, 0, 0)),
        (1, 2, 2, 2, 2),
    ),
    ("ConvTranspose3d-groups", lambda: nn.ConvTranspose3d(2, 4, (1, 2, 2), groups=2, dilation=(1, 2, 1)), (2, 2, 2, 2)),
    ("MaxPool3d", lambda: nn.MaxPool3d(2, 1, 1, ceil_mode=True), (1, 1, 3, 2, 3)),
    ("AvgPool3d", lambda: nn.AvgPool3d(2, 1, 1, count_include_pad=False), (1, 1, 2, 3, 2)),
    ("AdaptiveAvgPool3d", lambda: nn.AdaptiveAvgPool3d((2, 1, 3)), (1, 2, 3, 2, 4)),
    ("AdaptiveMaxPool3d", lambda: nn.AdaptiveMaxPool3d(2), (2, 3, 2, 3)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(3), (4, 3)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(2), (2, 2, 2, 2)),
    ("BatchNorm2d-eval", lambda: nn.BatchNorm2d(2).eval(), (2, 2, 2, 2)),
    ("LayerNorm", lambda: nn.LayerNorm(4), (2, 4)),
    ("GroupNorm", lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
    ("Dropout-eval", lambda: nn.Dropout().eval(), (3, 3)),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.1), (3, 3)),
    ("ELU", lambda: nn.ELU(), (3, 3)),
    ("GELU", lambda: nn.GELU(), (3, 3)),
    ("SiLU", lambda: nn.SiLU(), (3, 3)),
    ("Sigmoid", lambda: nn.Sigmoid(), (3, 3)),
    ("Tanh", lambda: nn.Tanh(), (3, 3)),
    ("Softplus", lambda: nn.Softplus(beta=2), (3, 3)),
    ("Hardtanh", lambda: nn.Hardtanh(), (3, 3)),
    ("Softmax", lambda: nn.Softmax(dim=1), (3, 3)),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=1), (3, 3)),
    ("MultiheadAttention", lambda: nn.MultiheadAttention(4, 2, batch_first=True), (2, 3, 4)),
    (
        "TransformerEncoderLayer",
        lambda: nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, norm_first=True, activation="gelu"),
        (3, 1, 4),
    ),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_gradcheck(name, make, shape):
    m = make().double()
    x = ef.randn(*shape, dtype=ef.float64, requires_grad=True)
    if name == "MultiheadAttention":
        fn = lambda a: m(a, a, a)[0]  # noqa: E731
    else:
        fn = m
    assert ef.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_options_gradcheck(batch_first):
    m = nn.MultiheadAttention(4, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True, batch_first=batch_first)
    m = m.double()
    shp = (lambda n, d: (2, n, d)) if batch_first else (lambda n, d: (n, 2, d))
    q = ef.randn(*shp(3, 4), dtype=ef.float64, requires_grad=True)
    k = ef.randn(*shp(4, 3), dtype=ef.float64, requires_grad=True)
    v = ef.randn(*shp(4, 5), dtype=ef.float64, requires_grad=True)
    kpm = ef.tensor([[False, True, False, False], [False, False, False, True]])
    assert ef.autograd.gradcheck(lambda a, b, c: m(a, b, c, key_padding_mask=kpm)[0], (q, k, v))
    params = (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight, m.bias_k, m.bias_v)
    assert ef.autograd.gradcheck(lambda *ps: m(q, k, v)[1], params)
    m(q, k, v)[0].sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_parameter_gradients_of_a_conv_layer():
    m = nn.Conv2d(2, 3, 3, stride=2, padding=1, groups=1).double()
    x = ef.randn(2, 2, 5, 5, dtype=ef.float64)
    assert ef.autograd.gradcheck(lambda w, b: F.conv2d(x, w, b, 2, 1), (m.weight, m.bias))


def test_embedding_and_bilinear_gradients():
    e = nn.Embedding(5, 3, padding_idx=1).double()
    e(ef.tensor([[0, 1, 1, 4]])).sum().backward()
    g = e.weight.grad.numpy()
    assert g[1].tolist() == [0, 0, 0] and g[0].tolist() == [1, 1, 1] and g[2].tolist() == [0, 0, 0]
    b = nn.Bilinear(2, 3, 2).double()
    x1, x2 = ef.randn(4, 2, dtype=ef.float64, requires_grad=True), ef.randn(4, 3, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradcheck(b, (x1, x2))


def test_embedding_options():
    e = nn.Embedding(6, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True).double()
    assert repr(e) == "Embedding(6, 3, max_norm=1.0, norm_type=1.0, scale_grad_by_freq=True)"
    w0 = e.weight.detach().numpy().copy()
    out = e(ef.tensor([[0, 0, 5]]))
    assert np.all(np.abs(out.detach().numpy()).sum(-1) <= 1.0 + 1e-6)  # rows renormalised in place (L1)
    assert np.array_equal(e.weight.detach().numpy()[1:5], w0[1:5])
    out.sum().backward()
    assert np.allclose(e.weight.grad.numpy()[[0, 5]], 1.0) and (e.weight.grad.numpy()[1:5] == 0).all()
    with pytest.raises(NotImplementedError, match="sparse gradients.*use sparse=False"):
        nn.Embedding(6, 3, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse=False"):
        nn.Embedding.from_pretrained(ef.ones(2, 2), sparse=True)
    assert nn.Embedding(6, 3, sparse=False).sparse is False


def test_embedding_from_pretrained():
    w = ef.tensor([[1.0, 2.0], [3.0, 4.0], [0.5, 0.5]])
    e = nn.Embedding.from_pretrained(w)
    assert (e.num_embeddings, e.embedding_dim) == (3, 2) and not e.weight.requires_grad
    assert e(ef.tensor([1])).tolist() == [[3.0, 4.0]]
    e2 = nn.Embedding.from_pretrained(w, freeze=False, padding_idx=2, max_norm=2.0, scale_grad_by_freq=True)
    assert e2.weight.requires_grad and e2.padding_idx == 2 and e2.scale_grad_by_freq
    assert repr(e2) == "Embedding(3, 2, padding_idx=2, max_norm=2.0, scale_grad_by_freq=True)"
    assert e2.weight.tolist()[2] == [0.5, 0.5]  # the padding row is kept as given
    e2(ef.tensor([1, 2, 2])).sum().backward()
    assert np.allclose(w.numpy()[1], [1.2, 1.6], atol=1e-6)  # the weight shares w's memory, as PyTorch
    assert e2.weight.grad.tolist() == [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    with pytest.raises(ValueError, match="Embeddings parameter is expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(ef.ones(3))


LOSSES = [
    ("L1Loss", nn.L1Loss(), lambda: ef.randn(3, 4, dtype=ef.float64)),
    ("SmoothL1Loss", nn.SmoothL1Loss(beta=0.5), lambda: ef.randn(3, 4, dtype=ef.float64)),
    ("HuberLoss", nn.HuberLoss(delta=0.5), lambda: ef.randn(3, 4, dtype=ef.float64)),
    ("CrossEntropyLoss", nn.CrossEntropyLoss(ignore_index=1, label_smoothing=0.1), lambda: ef.tensor([0, 1, 3])),
    ("CrossEntropyLoss-probs", nn.CrossEntropyLoss(), lambda: ef.softmax(ef.randn(3, 4, dtype=ef.float64), 1)),
    ("NLLLoss", nn.NLLLoss(weight=ef.tensor([1.0, 2.0, 0.5, 1.0], dtype=ef.float64)), lambda: ef.tensor([0, 2, 3])),
    (
        "BCEWithLogitsLoss",
        nn.BCEWithLogitsLoss(pos_weight=ef.tensor([2.0, 1.0, 1.0, 0.5], dtype=ef.float64)),
        lambda: ef.rand(3, 4, dtype=ef.float64),
    ),
    ("KLDivLoss", nn.KLDivLoss(reduction="batchmean", log_target=True), lambda: ef.randn(3, 4, dtype=ef.float64)),
]


@pytest.mark.parametrize("name,loss,target", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss_gradcheck(name, loss, target):
    x = ef.randn(3, 4, dtype=ef.float64, requires_grad=True)
    t = target()
    assert ef.autograd.gradcheck(lambda a: loss(a, t), (x,))


def test_bce_loss_module():
    p = ef.rand(3, 4, dtype=ef.float64, requires_grad=True)
    y = (ef.rand(3, 4, dtype=ef.float64) > 0.5).double()
    assert ef.autograd.gradcheck(lambda a: nn.BCELoss()(a * 0.8 + 0.1, y), (p,))


# ---------------------------------------------------------------------------------------------
# known values computed with PyTorch (same deterministic weights), pasted as constants


def test_known_transformer_encoder_layer():
    ef.set_default_dtype(ef.float64)
    layer = det(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True, norm_first=True)).eval()
    x = ef.tensor(np.cos(np.arange(2 * 4 * 8) * 0.21).reshape(2, 4, 8))
    mask = ef.tensor([[False, False, False, True], [False, False, False, False]])
    out = layer(x, src_key_padding_mask=mask).sum(-1)
    ref = [
        [-1.4068405007998113, -11.375013366670519, -12.053735861200293, -2.098278977434713],
        [-3.3058072236203566, -13.431508557579338, -9.485043617466987, -0.7959655829557581],
    ]
    assert np.allclose(out.detach().numpy(), ref)


def test_known_multihead_attention():
    ef.set_default_dtype(ef.float64)
    mha = det(nn.MultiheadAttention(8, 2, batch_first=True))
    x = ef.tensor(np.cos(np.arange(2 * 4 * 8) * 0.21).reshape(2, 4, 8))
    out, w = mha(x, x, x, attn_mask=ef.tensor(np.triu(np.ones((4, 4), bool), 1)))
    assert np.allclose(
        out.sum(-1).detach().numpy(),
        [[-0.4644056957813594, -0.16975458458440773, -0.31490197754393834, -1.258414334851128],
         [-0.5452689338978165, -0.2633912290404696, -0.6326722729901613, -1.0635307928418598]],
    )  # fmt: skip
    assert np.allclose(
        w[0].detach().numpy(),
        [[1.0, 0.0, 0.0, 0.0], [0.46793196852266933, 0.5320680314773306, 0.0, 0.0],
         [0.36922346311324383, 0.6263573003196302, 0.004419236567125885, 0.0],
         [0.006245378860319394, 0.00023518112167575576, 0.4951522586667069, 0.4983671813512979]],
    )  # fmt: skip


def test_known_multihead_attention_kdim_vdim_bias_kv_zero_attn():
    ef.set_default_dtype(ef.float64)
    mha = det(nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True, batch_first=True))
    q = ef.tensor(np.cos(np.arange(2 * 4 * 8) * 0.21).reshape(2, 4, 8))
    k = ef.tensor(np.sin(np.arange(2 * 3 * 3) * 0.4).reshape(2, 3, 3))
    v = ef.tensor(np.cos(np.arange(2 * 3 * 5) * 0.3).reshape(2, 3, 5))
    kpm = ef.tensor([[False, False, True], [False, False, False]])
    am = ef.tensor(np.triu(np.ones((4, 3), bool), 1))
    out, w = mha(q, k, v, key_padding_mask=kpm, attn_mask=am, average_attn_weights=False)
    assert w.shape == (2, 2, 4, 5)
    assert np.allclose(
        out.sum(-1).detach().numpy(),
        [[-2.2569337541591157, -2.3312684524594323, -2.376868146242108, -2.36073997274422],
         [-2.277435075381521, -2.3134041766495104, -2.339869077054108, -2.3493851781616106]],
    )  # fmt: skip
    assert np.allclose(
        w[1, 0].detach().numpy(),
        [[0.2889684047469766, 0.0, 0.0, 0.38164016927063626, 0.32939142598238697],
         [0.24819618447719993, 0.28301909285959914, 0.0, 0.26588902317890906, 0.20289569948429204],
         [0.25091986522642834, 0.25614367951414313, 0.13096939073092198, 0.17597661836887143, 0.18599044615963506],
         [0.22488298001699616, 0.20520297632885554, 0.11922292621052603, 0.21324500189847231, 0.23744611554515]],
    )  # fmt: skip


def test_known_conv_reflect_padding():
    ef.set_default_dtype(ef.float64)
    conv = det(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"))
    x = ef.tensor(np.cos(np.arange(2 * 2 * 4 * 5) * 0.3).reshape(2, 2, 4, 5))
    ref = [
        [-6.962566818589291, -3.290075196605284, 0.862049441784225],
        [-6.230189342920129, -1.2319079282127186, 3.9572103088304695],
    ]
    assert np.allclose(conv(x).sum((2, 3)).detach().numpy(), ref)


# ---------------------------------------------------------------------------------------------
# behaviour


def test_dropout_modules_respect_train_eval():
    d = nn.Dropout(0.5)
    x = ef.ones(200)
    assert (d(x) == 0).any()
    d.eval()
    assert ef.equal(d(x), x)
    d2 = nn.Dropout2d(0.5)
    y = d2(ef.ones(2, 8, 2, 2)).numpy().reshape(2, 8, 4)
    assert np.all((y == 0).all(-1) | (y == 2).all(-1))


def test_lazy_conv2d():
    m = nn.LazyConv2d(4, 3, padding=1)
    y = m(ef.randn(2, 5, 6, 6))
    assert type(m) is nn.Conv2d and m.in_channels == 5 and m.weight.shape == (4, 5, 3, 3) and y.shape == (2, 4, 6, 6)
    assert np.abs(m.weight.detach().numpy()).max() <= 1 / math.sqrt(45)


def test_conv_transpose_output_size():
    m = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    x = ef.randn(1, 3, 4, 4)
    assert m(x).shape == (1, 2, 7, 7)
    assert m(x, output_size=(8, 8)).shape == (1, 2, 8, 8)
    with pytest.raises(ValueError, match="not reachable"):
        m(x, output_size=(10, 10))


def test_conv_transpose3d_output_size_and_errors():
    m = nn.ConvTranspose3d(3, 2, 3, stride=(2, 2, 1), padding=1)
    x = ef.randn(1, 3, 4, 3, 5)
    assert m(x).shape == (1, 2, 7, 5, 5)
    assert m(x, output_size=(8, 6, 5)).shape == (1, 2, 8, 6, 5)
    assert m(x, output_size=[1, 2, 8, 5, 5]).shape == (1, 2, 8, 5, 5)  # leading (N, C) entries are ignored
    assert m(x[0]).shape == (2, 7, 5, 5)
    with pytest.raises(ValueError, match="not reachable"):
        m(x, output_size=(8, 6, 6))
    with pytest.raises(ValueError, match="in_channels .* must be divisible by groups"):
        nn.ConvTranspose3d(3, 4, 2, groups=2)
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose3d(2, 2, 2, padding_mode="reflect")
    with pytest.raises(RuntimeError, match="conv_transpose3d: expected input with 3 channels"):
        m(ef.randn(1, 2, 4, 3, 5))


def test_3d_pool_modules_match_functional():
    x = ef.randn(2, 3, 5, 4, 6)
    y, idx = nn.MaxPool3d(2, stride=(1, 2, 2), padding=1, return_indices=True)(x)
    ry, ridx = F.max_pool3d(x, 2, (1, 2, 2), 1, return_indices=True)
    assert ef.equal(y, ry) and ef.equal(idx, ridx)
    assert ef.equal(nn.AvgPool3d(3, 2, 1, True, False, None)(x), F.avg_pool3d(x, 3, 2, 1, True, False))
    assert ef.allclose(nn.AvgPool3d(2, divisor_override=4)(x), F.avg_pool3d(x, 2) * 2)
    assert ef.allclose(nn.AdaptiveAvgPool3d(1)(x), x.mean((2, 3, 4), keepdim=True))
    v, i = nn.AdaptiveMaxPool3d((1, 1, 1), return_indices=True)(x)
    assert ef.equal(v.flatten(2), x.flatten(2).max(2, keepdim=True).values)
    assert ef.equal(i.flatten(2), x.flatten(2).argmax(2, keepdim=True))


def test_build_from_config_and_registry():
    net = nn.build(
        {
            "type": "Sequential",
            "layers": [
                {"type": "Conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3, "padding": 1},
                {"type": "BatchNorm2d", "num_features": 4},
                {"type": "ReLU"},
                {"type": "MaxPool2d", "kernel_size": 2},
                {"type": "Flatten"},
                {"type": "Linear", "in_features": 16, "out_features": 3},
            ],
        }
    )
    assert net(ef.randn(2, 1, 4, 4)).shape == (2, 3)
    names = set(ef.plugins.names("layers"))
    for n in [
        "Conv2d",
        "ConvTranspose2d",
        "BatchNorm2d",
        "MultiheadAttention",
        "CrossEntropyLoss",
        "Embedding",
        "GELU",
        "AdaptiveAvgPool2d",
        "ConvTranspose3d",
        "MaxPool3d",
        "AvgPool3d",
        "AdaptiveAvgPool3d",
        "AdaptiveMaxPool3d",
    ]:
        assert n in names
    assert "kaiming_uniform_" in set(ef.plugins.names("initializers"))


def test_seed_mnist_net_runs_and_trains():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(320, 50)
            self.fc2 = nn.Linear(50, 10)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 320)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            return F.log_softmax(self.fc2(x), dim=1)

    net = Net()
    x, y = ef.randn(8, 1, 28, 28), ef.randint(0, 10, (8,))
    net.eval()
    first = F.nll_loss(net(x), y).item()
    for _ in range(5):
        loss = F.nll_loss(net(x), y)
        net.zero_grad()
        loss.backward()
        with ef.no_grad():
            for p in net.parameters():
                p.sub_(p.grad * 0.05)
    assert F.nll_loss(net(x), y).item() < first


def test_build_single_layers():
    conv = nn.build(
        {"type": "Conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "padding": "same", "padding_mode": "reflect"}
    )
    assert isinstance(conv, nn.Conv2d) and conv(ef.randn(1, 3, 5, 5)).shape == (1, 8, 5, 5)
    loss = nn.build({"type": "CrossEntropyLoss", "label_smoothing": 0.1})
    assert isinstance(loss, nn.CrossEntropyLoss) and loss.label_smoothing == 0.1
