"""Recurrent layers (RNN, LSTM, GRU and their cells) and nn.utils.rnn packing.

References: a plain numpy loop written from PyTorch's documented equations, finite differences
(float64 gradcheck / gradgradcheck), and known values produced once with PyTorch (deterministic
weights, outputs pasted as constants). The suite does not need PyTorch.
"""

import math
import warnings

import numpy as np
import pytest

import einframe as ef
from einframe import nn
from einframe.nn.utils import rnn as R

# ---------------------------------------------------------------------------------------------
# a numpy reference: one direction of one layer at a time, written from PyTorch's equations


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def np_cell(mode, x, h, c, p, sfx=""):
    """One step for (B, I) input; ``p`` maps PyTorch parameter names (with suffix ``sfx``) to arrays."""
    w_ih, w_hh = p["weight_ih" + sfx], p["weight_hh" + sfx]
    b_ih = p.get("bias_ih" + sfx, 0.0)
    b_hh = p.get("bias_hh" + sfx, 0.0)
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if mode in ("RNN_TANH", "RNN_RELU"):
        pre = gi + gh
        return (np.tanh(pre) if mode == "RNN_TANH" else np.maximum(pre, 0.0)), None
    if mode == "GRU":
        H = h.shape[-1]
        r = _sig(gi[:, :H] + gh[:, :H])
        z = _sig(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        return (1 - z) * n + z * h, None
    H = c.shape[-1]
    g = gi + gh
    i, f, gg, o = _sig(g[:, :H]), _sig(g[:, H : 2 * H]), np.tanh(g[:, 2 * H : 3 * H]), _sig(g[:, 3 * H :])
    c = f * c + i * gg
    h = o * np.tanh(c)
    if "weight_hr" + sfx in p:
        h = h @ p["weight_hr" + sfx].T
    return h, c


def np_rnn(m, x, h0=None, c0=None, lengths=None):
    """Reference forward of an ``RNNBase`` module on (T, B, I) numpy input (batch_first not handled here)."""
    p = {k: v.detach().numpy().astype(np.float64) for k, v in m.named_parameters()}
    T, B, _ = x.shape
    D = 2 if m.bidirectional else 1
    Ho = m.proj_size or m.hidden_size
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    h0 = np.zeros((m.num_layers * D, B, Ho)) if h0 is None else h0
    c0 = np.zeros((m.num_layers * D, B, m.hidden_size)) if c0 is None else c0
    hn, cn = [], []
    inp = x
    for layer in range(m.num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            lp = {k[: -len(sfx)]: v for k, v in p.items() if k.endswith(sfx)}
            out = np.zeros((T, B, Ho))
            hF, cF = np.zeros((B, Ho)), np.zeros((B, m.hidden_size))
            for b in range(B):  # one sequence at a time: its own length, no masking needed
                h, c = h0[layer * D + d, b : b + 1], c0[layer * D + d, b : b + 1]
                steps = range(lengths[b]) if d == 0 else reversed(range(lengths[b]))
                for t in steps:
                    h, c = np_cell(m.mode, inp[t, b : b + 1], h, c, lp)
                    out[t, b] = h[0]
                hF[b] = h[0]
                if c is not None:
                    cF[b] = c[0]
            outs.append(out)
            hn.append(hF)
            cn.append(cF)
        inp = np.concatenate(outs, -1)
    return inp, np.stack(hn), np.stack(cn)


def det(m):
    """Deterministic parameters, set in sorted-name order exactly as the PyTorch script that produced the constants."""
    with ef.no_grad():
        for i, (_, p) in enumerate(sorted(m.named_parameters())):
            v = np.sin(np.arange(p.numel()) * 0.37 + i).reshape(tuple(p.shape)) * 0.5
            p.copy_(ef.tensor(v, dtype=p.dtype))
    return m


def _np(t):
    return t.detach().numpy()


# ---------------------------------------------------------------------------------------------
# outputs against the numpy reference

CONFIGS = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("RNN", {"bidirectional": True, "bias": False}),
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 2, "bidirectional": True, "num_layers": 2}),
    ("GRU", {}),
    ("GRU", {"num_layers": 3, "bidirectional": True}),
    ("GRU", {"bias": False}),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for n, kw in CONFIGS]


@pytest.mark.parametrize("name,kw", CONFIGS, ids=IDS)
def test_forward_matches_numpy_reference(name, kw):
    m = getattr(nn, name)(3, 4, **kw).double()
    D = 2 if m.bidirectional else 1
    Ho = m.proj_size or 4
    x = np.random.randn(5, 2, 3)
    h0 = np.random.randn(m.num_layers * D, 2, Ho)
    c0 = np.random.randn(m.num_layers * D, 2, 4)
    hx = (ef.tensor(h0), ef.tensor(c0)) if name == "LSTM" else ef.tensor(h0)
    out, hn = m(ef.tensor(x), hx)
    ref_out, ref_h, ref_c = np_rnn(m, x, h0, c0)
    assert out.shape == (5, 2, D * Ho)
    np.testing.assert_allclose(_np(out), ref_out, rtol=1e-10, atol=1e-12)
    if name == "LSTM":
        hn, cn = hn
        np.testing.assert_allclose(_np(cn), ref_c, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(hn), ref_h, rtol=1e-10, atol=1e-12)
    # no initial state means zeros
    out0, _ = m(ef.tensor(x))
    np.testing.assert_allclose(_np(out0), np_rnn(m, x)[0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_batch_first_and_unbatched_agree_with_sequence_first(name):
    m = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True).double()
    mb = getattr(nn, name)(3, 4, num_layers=2, bidirectional=True, batch_first=True).double()
    mb.load_state_dict(m.state_dict())
    x = ef.randn(5, 2, 3, dtype=ef.float64)
    out, h = m(x)
    outb, hb = mb(x.transpose(0, 1))
    assert outb.shape == (2, 5, 8)
    assert np.allclose(_np(outb.transpose(0, 1)), _np(out))
    h, hb = (h[0], hb[0]) if name == "LSTM" else (h, hb)
    assert np.allclose(_np(hb), _np(h))  # h_n is never batch-first, as PyTorch
    for mod in (m, mb):  # unbatched (L, H_in) ignores batch_first
        ou, hu = mod(x[:, 1])
        hu = hu[0] if name == "LSTM" else hu
        assert ou.shape == (5, 8) and hu.shape == (4, 4)
        assert np.allclose(_np(ou), _np(out[:, 1])) and np.allclose(_np(hu), _np(h[:, 1]))


# ---------------------------------------------------------------------------------------------
# known values from PyTorch (torch 2.x, float64, det() weights, x = cos(0.7 k) reshaped (3, 2, 2))

X_KNOWN = np.cos(np.arange(12) * 0.7).reshape(3, 2, 2)


def test_lstm_proj_bidirectional_known_values_from_pytorch():
    m = det(nn.LSTM(2, 3, proj_size=2, bidirectional=True).double())
    out, (h, c) = m(ef.tensor(X_KNOWN))
    # fmt: off
    want_out = [[[0.02018449, 0.07881097, 0.01442997, 0.03103719], [-0.02953441, -0.11496237, -0.24045957, -0.23079802]],
                [[-0.04487418, -0.12653942, -0.3636921, -0.28928643], [-0.03929748, -0.14513039, -0.20053621, -0.17540237]],
                [[0.01405362, 0.05157527, 0.03736993, 0.04733859], [-0.00305156, -0.06527692, -0.03529356, -0.03101598]]]
    want_h = [[[0.01405362, 0.05157527], [-0.00305156, -0.06527692]], [[0.01442997, 0.03103719], [-0.24045957, -0.23079802]]]
    want_c = [[[-0.03455737, 0.22547642, 0.12811824], [-0.12604889, -0.10783489, -0.13454063]],
              [[0.14318338, 0.10956571, -0.16367465], [-0.53738484, -0.46821676, -0.34347645]]]
    # fmt: on
    np.testing.assert_allclose(_np(out), want_out, atol=1e-7)
    np.testing.assert_allclose(_np(h), want_h, atol=1e-7)
    np.testing.assert_allclose(_np(c), want_c, atol=1e-7)


def test_gru_two_layers_known_values_from_pytorch():
    m = det(nn.GRU(2, 3, num_layers=2).double())
    out, h = m(ef.tensor(X_KNOWN))
    # fmt: off
    want_out = [[[-0.27752748, -0.26493916, -0.08312083], [-0.24514058, -0.23887059, -0.16226075]],
                [[-0.2360471, -0.30565074, -0.26671088], [-0.36594286, -0.38008603, -0.26340494]],
                [[-0.37928824, -0.41022426, -0.28325112], [-0.48732168, -0.48842313, -0.2731036]]]
    want_h = [[[0.18684256, -0.17404205, -0.49883618], [-0.14538185, -0.31273027, -0.43544059]],
              [[-0.37928824, -0.41022426, -0.28325112], [-0.48732168, -0.48842313, -0.2731036]]]
    # fmt: on
    np.testing.assert_allclose(_np(out), want_out, atol=1e-7)
    np.testing.assert_allclose(_np(h), want_h, atol=1e-7)


def test_relu_rnn_bidirectional_known_values_from_pytorch():
    m = det(nn.RNN(2, 3, nonlinearity="relu", bidirectional=True).double())
    out, h = m(ef.tensor(X_KNOWN))
    # fmt: off
    want_out = [[[0.34809905, 1.03136942, 1.38044448, 0.88659919, 1.52569826, 1.34697878],
                 [0.40901647, 0.38120481, 0.35927481, 0.0, 0.54030854, 0.85759115]],
                [[0.0, 0.0, 0.20286777, 0.0, 0.0, 1.05129624], [0.01734757, 0.08882576, 0.55481712, 0.0, 0.38451012, 1.06429898]],
                [[0.28824764, 1.02575308, 1.4570205, 1.18857576, 1.24564201, 0.79722818],
                 [0.03026981, 0.59573962, 1.14677963, 0.80682672, 0.8254333, 0.55835538]]]
    want_h = [[[0.28824764, 1.02575308, 1.4570205], [0.03026981, 0.59573962, 1.14677963]],
              [[0.88659919, 1.52569826, 1.34697878], [0.0, 0.54030854, 0.85759115]]]
    # fmt: on
    np.testing.assert_allclose(_np(out), want_out, atol=1e-7)
    np.testing.assert_allclose(_np(h), want_h, atol=1e-7)


def test_cells_known_values_from_pytorch():
    x = ef.tensor(X_KNOWN[0])
    np.testing.assert_allclose(
        _np(det(nn.RNNCell(2, 3).double())(x)),
        [[0.38396772, 0.07385439, -0.0353471], [0.45412408, 0.68094868, 0.76047526]],
        atol=1e-7,
    )
    h, c = det(nn.LSTMCell(2, 3).double())(x)
    np.testing.assert_allclose(_np(h), [[0.13433505, 0.05848815, 0.00140467], [0.0443527, -0.01684868, -0.06121687]], atol=1e-7)
    np.testing.assert_allclose(_np(c), [[0.49984546, 0.34785748, 0.00906655], [0.11327074, -0.04725445, -0.19092083]], atol=1e-7)
    np.testing.assert_allclose(
        _np(det(nn.GRUCell(2, 3).double())(x)),
        [[0.35094735, 0.20236205, -0.00687493], [0.009226, -0.04644879, -0.10850583]],
        atol=1e-7,
    )


@pytest.mark.parametrize("name,mode", [("RNNCell", "RNN_TANH"), ("LSTMCell", "LSTM"), ("GRUCell", "GRU")])
def test_cells_match_numpy_reference_batched_and_unbatched(name, mode):
    m = getattr(nn, name)(3, 4).double()
    p = {k: _np(v) for k, v in m.named_parameters()}
    x, h, c = np.random.randn(2, 3), np.random.randn(2, 4), np.random.randn(2, 4)
    ref_h, ref_c = np_cell(mode, x, h, c, p)
    hx = (ef.tensor(h), ef.tensor(c)) if name == "LSTMCell" else ef.tensor(h)
    got = m(ef.tensor(x), hx)
    got_h = got[0] if name == "LSTMCell" else got
    np.testing.assert_allclose(_np(got_h), ref_h, rtol=1e-12)
    if name == "LSTMCell":
        np.testing.assert_allclose(_np(got[1]), ref_c, rtol=1e-12)
    hx1 = (ef.tensor(h[1]), ef.tensor(c[1])) if name == "LSTMCell" else ef.tensor(h[1])
    one = m(ef.tensor(x[1]), hx1)
    one_h = one[0] if name == "LSTMCell" else one
    assert one_h.shape == (4,)
    np.testing.assert_allclose(_np(one_h), ref_h[1], rtol=1e-12)


def test_relu_cell_and_no_bias():
    m = nn.RNNCell(3, 4, bias=False, nonlinearity="relu").double()
    assert m.bias_ih is None and m.bias_hh is None and [n for n, _ in m.named_parameters()] == ["weight_ih", "weight_hh"]
    x = np.random.randn(2, 3)
    ref, _ = np_cell("RNN_RELU", x, np.zeros((2, 4)), None, {k: _np(v) for k, v in m.named_parameters()})
    np.testing.assert_allclose(_np(m(ef.tensor(x))), ref, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# gradients (float64 finite differences)

GRAD_CONFIGS = [
    ("RNN", {"nonlinearity": "tanh", "bidirectional": True}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("LSTM", {"batch_first": True}),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 1}),
    ("GRU", {"bidirectional": True, "batch_first": True}),
    ("GRU", {"num_layers": 2, "bias": False}),
]


@pytest.mark.parametrize("name,kw", GRAD_CONFIGS, ids=[f"{n}-{sorted(kw)}" for n, kw in GRAD_CONFIGS])
def test_layer_gradcheck_wrt_input_state_and_parameters(name, kw):
    m = getattr(nn, name)(2, 2, **kw).double()
    D = 2 if m.bidirectional else 1
    Ho = m.proj_size or 2
    x = ef.randn(*((2, 3, 2) if m.batch_first else (3, 2, 2)), dtype=ef.float64, requires_grad=True)
    h0 = ef.randn(m.num_layers * D, 2, Ho, dtype=ef.float64, requires_grad=True)
    if name == "LSTM":
        c0 = ef.randn(m.num_layers * D, 2, 2, dtype=ef.float64, requires_grad=True)
        fn = lambda a, h, c: (lambda o, hc: (o, *hc))(*m(a, (h, c)))  # noqa: E731
        assert ef.autograd.gradcheck(fn, (x, h0, c0))
    else:
        assert ef.autograd.gradcheck(lambda a, h: m(a, h), (x, h0))
    params = tuple(m.parameters())
    assert ef.autograd.gradcheck(lambda *ps: m(x)[0], params)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradcheck(name):
    m = getattr(nn, name)(2, 3).double()
    x = ef.randn(2, 2, dtype=ef.float64, requires_grad=True)
    h = ef.randn(2, 3, dtype=ef.float64, requires_grad=True)
    if name == "LSTMCell":
        c = ef.randn(2, 3, dtype=ef.float64, requires_grad=True)
        assert ef.autograd.gradcheck(lambda a, b, d: m(a, (b, d)), (x, h, c))
    else:
        assert ef.autograd.gradcheck(m, (x, h))
    assert ef.autograd.gradcheck(lambda *ps: m(x), tuple(m.parameters()))


def test_lstm_gradgradcheck():
    m = nn.LSTM(2, 2, bidirectional=True, proj_size=1).double()
    x = ef.randn(2, 1, 2, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradgradcheck(lambda a: m(a)[0], (x,))


def test_gru_cell_gradgradcheck_wrt_weights():
    m = nn.GRUCell(2, 2).double()
    x = ef.randn(1, 2, dtype=ef.float64)
    h = ef.randn(1, 2, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradgradcheck(lambda w, hh: m(x, hh), (m.weight_hh, h))


def test_backward_reaches_every_parameter():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    out, (h, c) = m(ef.randn(4, 2, 3))
    (out.sum() + h.sum() + c.sum()).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in m.parameters())


def test_input_projection_is_one_contraction_per_layer():
    """All time steps' input projections (both directions) come from ONE 'tbi,dgi->tdbg' contraction per layer."""
    m = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    out, _ = m(ef.randn(6, 2, 3))
    eqs, seen, todo = [], set(), [out.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        eqs.append(getattr(node, "equation", None))
        todo.extend(fn for fn, _ in node.next_functions)
    assert eqs.count("tbi,dgi->tdbg") == 2  # one per layer, whatever the sequence length
    assert eqs.count("dbh,dgh->dbg") == 2 * 6  # the recurrent part: one per step per layer, both directions together


# ---------------------------------------------------------------------------------------------
# parameters: names, shapes, order, init, state_dict interchange, repr


def test_state_dict_names_shapes_and_order_like_pytorch():
    # names/shapes/order of torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2).state_dict()
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == [
        ("weight_ih_l0", (16, 3)), ("weight_hh_l0", (16, 2)), ("bias_ih_l0", (16,)), ("bias_hh_l0", (16,)),
        ("weight_hr_l0", (2, 4)), ("weight_ih_l0_reverse", (16, 3)), ("weight_hh_l0_reverse", (16, 2)),
        ("bias_ih_l0_reverse", (16,)), ("bias_hh_l0_reverse", (16,)), ("weight_hr_l0_reverse", (2, 4)),
        ("weight_ih_l1", (16, 4)), ("weight_hh_l1", (16, 2)), ("bias_ih_l1", (16,)), ("bias_hh_l1", (16,)),
        ("weight_hr_l1", (2, 4)), ("weight_ih_l1_reverse", (16, 4)), ("weight_hh_l1_reverse", (16, 2)),
        ("bias_ih_l1_reverse", (16,)), ("bias_hh_l1_reverse", (16,)), ("weight_hr_l1_reverse", (2, 4)),
    ]  # fmt: skip
    assert m._flat_weights_names == list(m.state_dict())
    assert m._all_weights[1] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_hr_l0_reverse"]  # fmt: skip
    assert m.all_weights[2][0] is m.weight_ih_l1 and len(m._flat_weights) == 20
    g = nn.GRU(5, 3, num_layers=2, bias=False)
    assert [(k, tuple(v.shape)) for k, v in g.state_dict().items()] == [
        ("weight_ih_l0", (9, 5)), ("weight_hh_l0", (9, 3)), ("weight_ih_l1", (9, 3)), ("weight_hh_l1", (9, 3)),
    ]  # fmt: skip
    r = nn.RNN(2, 6, bidirectional=True)
    assert [(k, tuple(v.shape)) for k, v in r.state_dict().items()] == [
        ("weight_ih_l0", (6, 2)), ("weight_hh_l0", (6, 6)), ("bias_ih_l0", (6,)), ("bias_hh_l0", (6,)),
        ("weight_ih_l0_reverse", (6, 2)), ("weight_hh_l0_reverse", (6, 6)), ("bias_ih_l0_reverse", (6,)),
        ("bias_hh_l0_reverse", (6,)),
    ]  # fmt: skip
    assert [(k, tuple(v.shape)) for k, v in nn.LSTMCell(3, 5).state_dict().items()] == [
        ("weight_ih", (20, 3)), ("weight_hh", (20, 5)), ("bias_ih", (20,)), ("bias_hh", (20,)),
    ]  # fmt: skip


def test_a_pytorch_safetensors_export_loads_unchanged(tmp_path):
    """A flat {name: array} safetensors file, as ``safetensors.torch.save_file(lstm.state_dict())`` writes it."""
    from safetensors.numpy import save_file

    ref = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    arrays = {k: np.random.randn(*v.shape).astype(np.float32) for k, v in ref.state_dict().items()}
    save_file(arrays, str(tmp_path / "lstm.safetensors"))
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    result = m.load_state_dict(ef.load(tmp_path / "lstm.safetensors"))
    assert not result.missing_keys and not result.unexpected_keys
    assert all(np.array_equal(_np(getattr(m, k)), v) for k, v in arrays.items())


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.RNN(3, 16, num_layers=2, bidirectional=True),
        lambda: nn.LSTM(3, 16, proj_size=4),
        lambda: nn.GRU(3, 16),
        lambda: nn.RNNCell(3, 16),
        lambda: nn.LSTMCell(3, 16),
        lambda: nn.GRUCell(3, 16),
    ],
)
def test_default_init_is_uniform_one_over_sqrt_hidden(make):
    m = make()
    bound = 1 / math.sqrt(16)
    vals = np.concatenate([_np(p).ravel() for p in m.parameters()])
    assert np.abs(vals).max() <= bound
    assert np.abs(vals).max() > 0.9 * bound and abs(vals.mean()) < 0.1 * bound
    for p in m.parameters():  # every parameter, biases included, drawn from the same range
        assert np.abs(_np(p)).max() > 0.5 * bound


def test_constructor_defaults_and_repr_like_pytorch():
    m = nn.LSTM(3, 4)
    assert (m.num_layers, m.bias, m.batch_first, m.dropout, m.bidirectional, m.proj_size) == (1, True, False, 0.0, False, 0)
    assert m.mode == "LSTM" and nn.GRU(1, 2).mode == "GRU"
    assert repr(m) == "LSTM(3, 4)"
    assert repr(nn.LSTM(3, 4, proj_size=2)) == "LSTM(3, 4, proj_size=2)"
    assert (
        repr(nn.RNN(3, 4, 2, "relu", False, True, 0.1, True))  # nonlinearity is the 4th positional argument, as PyTorch
        == "RNN(3, 4, num_layers=2, bias=False, batch_first=True, dropout=0.1, bidirectional=True)"
    )
    assert nn.RNN(3, 4, 2, "relu").mode == "RNN_RELU" and nn.RNN(3, 4).nonlinearity == "tanh"
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)" and repr(nn.GRUCell(3, 4, bias=False)) == "GRUCell(3, 4, bias=False)"
    seq = nn.Sequential(nn.GRU(2, 3))
    assert repr(seq) == "Sequential(\n  (0): GRU(2, 3)\n)"


def test_device_dtype_and_registry():
    m = nn.GRU(3, 4, dtype=ef.float64)
    assert all(p.dtype == ef.float64 for p in m.parameters())
    out, h = m(ef.randn(2, 1, 3, dtype=ef.float64))
    assert out.dtype == ef.float64 and h.dtype == ef.float64
    assert nn.LSTMCell(2, 3, device="cpu").weight_ih.device == ef.device("cpu")
    names = set(ef.plugins.names("layers"))
    assert {"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"} <= names
    built = nn.build({"type": "LSTM", "input_size": 3, "hidden_size": 5, "num_layers": 2})
    assert isinstance(built, nn.LSTM) and built.num_layers == 2


# ---------------------------------------------------------------------------------------------
# dropout between layers


def test_dropout_between_layers_only_while_training():
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5).double()
    x = ef.randn(5, 2, 3, dtype=ef.float64)
    m.eval()
    ref = np_rnn(m, _np(x))[0]
    assert np.allclose(_np(m(x)[0]), ref) and np.allclose(_np(m(x)[0]), _np(m(x)[0]))
    m.train()
    ef.manual_seed(3)
    a = _np(m(x)[0])
    ef.manual_seed(3)
    b = _np(m(x)[0])
    c = _np(m(x)[0])
    assert np.array_equal(a, b) and not np.allclose(a, c) and not np.allclose(a, ref)


def test_dropout_one_feeds_zeros_to_the_next_layer_and_never_the_last_output():
    m = nn.RNN(3, 4, num_layers=2, dropout=1.0).double().train()
    x = ef.randn(4, 2, 3, dtype=ef.float64)
    out, h = m(x)
    # layer 2 sees an all-zero input: its output is the reference run on zeros (no dropout on the last layer)
    top = nn.RNN(4, 4).double()
    with ef.no_grad():
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(top, f"{k}_l0").copy_(getattr(m, f"{k}_l1"))
    ref = np_rnn(top, np.zeros((4, 2, 4)))[0]
    np.testing.assert_allclose(_np(out), ref, rtol=1e-12)
    assert np.abs(_np(h[0])).sum() > 0  # layer 1's final state is not dropped


def test_dropout_warning_and_validation():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(3, 4, num_layers=2, dropout=0.2)
    for bad in (1.5, -0.1, True, "0.1"):
        with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
            nn.GRU(3, 4, num_layers=2, dropout=bad)


# ---------------------------------------------------------------------------------------------
# errors


def test_constructor_errors():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        nn.RNNCell(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        nn.LSTM(3, 4, proj_size=-1)
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(ValueError, match="num_layers must be greater than zero"):
        nn.RNN(3, 4, num_layers=0)
    with pytest.raises(TypeError, match="hidden_size should be of type int, got: float"):
        nn.LSTM(3, 4.0)
    with pytest.raises(ValueError, match="Unrecognized RNN mode"):
        nn.RNNBase("SRU", 3, 4)


def test_forward_shape_and_dtype_errors():
    m = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        m(ef.randn(2, 3, 3, 3))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 5"):
        m(ef.randn(2, 3, 5))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 3, 4\), got \[1, 2, 4\]"):
        m(ef.randn(2, 3, 3), (ef.randn(1, 2, 4), ef.randn(1, 3, 4)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 3, 4\), got \[1, 3, 5\]"):
        m(ef.randn(2, 3, 3), (ef.randn(1, 3, 4), ef.randn(1, 3, 5)))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx and cx should also be 2-D"):
        m(ef.randn(2, 3), (ef.randn(1, 3, 4), ef.randn(1, 3, 4)))
    with pytest.raises(TypeError, match=r"expected hx to be a tuple \(h_0, c_0\)"):
        m(ef.randn(2, 3, 3), ef.randn(1, 3, 4))
    with pytest.raises(ValueError, match="input dtype .*float64.* does not match weight dtype .*float32"):
        m(ef.randn(2, 3, 3, dtype=ef.float64))
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0"):
        m(ef.randn(0, 3, 3))
    with pytest.raises(TypeError, match="expected input to be a Tensor or a PackedSequence"):
        m([[1.0, 2.0, 3.0]])
    g = nn.GRU(3, 4)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 3, 4\), got \[2, 3, 4\]"):
        g(ef.randn(2, 3, 3), ef.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="For batched 3-D input, hx should also be 3-D but got 2-D tensor"):
        g(ef.randn(2, 3, 3), ef.randn(3, 4))
    with pytest.raises(RuntimeError, match="not the same dtype"):
        g(ef.randn(2, 3, 3), ef.randn(1, 3, 4, dtype=ef.float64))


def test_cell_errors():
    c = nn.LSTMCell(3, 4)
    with pytest.raises(ValueError, match="LSTMCell: Expected input to be 1D or 2D, got 3D"):
        c(ef.randn(2, 3, 3))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 5 expected 3"):
        c(ef.randn(2, 5))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0 batch size 3"):
        c(ef.randn(2, 3), (ef.randn(3, 4), ef.randn(3, 4)))
    with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 5, expected 4"):
        c(ef.randn(2, 3), (ef.randn(2, 5), ef.randn(2, 4)))
    with pytest.raises(ValueError, match=r"Expected hx\[0\] to be 1D or 2D, got 3D"):
        c(ef.randn(2, 3), (ef.randn(2, 4, 1), ef.randn(2, 4)))
    with pytest.raises(RuntimeError, match="for unbatched 1-D input, hx\\[0\\] should also be 1-D"):
        c(ef.randn(3), (ef.randn(2, 4), ef.randn(2, 4)))
    with pytest.raises(TypeError, match=r"expected hx to be a tuple \(h, c\)"):
        c(ef.randn(2, 3), ef.randn(2, 4))
    with pytest.raises(ValueError, match="GRUCell: Expected hidden to be 1D or 2D, got 3D"):
        nn.GRUCell(3, 4)(ef.randn(2, 3), ef.randn(2, 4, 1))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        nn.RNNCell(3, 4)(ef.randn(2, 3, dtype=ef.float64))


# ---------------------------------------------------------------------------------------------
# nn.utils.rnn and PackedSequence input


def test_pack_pad_roundtrip_and_layout():
    x = ef.arange(12.0).reshape(3, 4, 1)  # (T=3, B=4)
    p = R.pack_padded_sequence(x, [3, 1, 2, 2], enforce_sorted=False)
    # the values PyTorch gives for the same call
    assert _np(p.data).ravel().tolist() == [0.0, 2.0, 3.0, 1.0, 4.0, 6.0, 7.0, 8.0]
    assert p.batch_sizes.tolist() == [4, 3, 1] and p.batch_sizes.dtype == ef.int64
    assert p.sorted_indices.tolist() == [0, 2, 3, 1] and p.unsorted_indices.tolist() == [0, 3, 1, 2]
    padded, lengths = R.pad_packed_sequence(p)
    assert lengths.tolist() == [3, 1, 2, 2]
    assert _np(padded)[:, :, 0].tolist() == [[0.0, 1.0, 2.0, 3.0], [4.0, 0.0, 6.0, 7.0], [8.0, 0.0, 0.0, 0.0]]
    padded, _ = R.pad_packed_sequence(p, batch_first=True, padding_value=-1.0, total_length=4)
    assert padded.shape == (4, 4, 1) and _np(padded)[1, :, 0].tolist() == [1.0, -1.0, -1.0, -1.0]
    sorted_p = R.pack_padded_sequence(x, [3, 2, 2, 1])
    assert sorted_p.sorted_indices is None and sorted_p.unsorted_indices is None
    assert sorted_p.batch_sizes.tolist() == [4, 3, 1]


def test_pad_sequence_pack_sequence_unpack():
    seqs = [ef.tensor([[1.0], [2.0]]), ef.tensor([[3.0], [4.0], [5.0]]), ef.tensor([[6.0]])]
    assert _np(R.pad_sequence(seqs))[:, :, 0].tolist() == [[1.0, 3.0, 6.0], [2.0, 4.0, 0.0], [0.0, 5.0, 0.0]]
    left = R.pad_sequence(seqs, batch_first=True, padding_value=9.0, padding_side="left")
    assert _np(left)[:, :, 0].tolist() == [[9.0, 1.0, 2.0], [3.0, 4.0, 5.0], [9.0, 9.0, 6.0]]
    p = R.pack_sequence(seqs, enforce_sorted=False)
    assert p.batch_sizes.tolist() == [3, 2, 1] and p.sorted_indices.tolist() == [1, 0, 2]
    back = R.unpack_sequence(p)
    assert [_np(s).ravel().tolist() for s in back] == [[1.0, 2.0], [3.0, 4.0, 5.0], [6.0]]
    assert [_np(s).ravel().tolist() for s in R.unpad_sequence(R.pad_sequence(seqs), [2, 3, 1])] == [[1, 2], [3, 4, 5], [6]]
    assert R.invert_permutation(ef.tensor([2, 0, 1])).tolist() == [1, 2, 0] and R.invert_permutation(None) is None
    assert nn.utils.rnn.PackedSequence is R.PackedSequence


def test_packing_errors():
    x = ef.randn(3, 4, 2)
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        R.pack_padded_sequence(x, [3, 1, 2, 2])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        R.pack_padded_sequence(x, [3, 2, 2, 0])
    with pytest.raises(RuntimeError, match="Expected `len\\(lengths\\)` to be equal to batch_size"):
        R.pack_padded_sequence(x, [3, 2, 2])
    with pytest.raises(RuntimeError, match="exceeds the sequence dimension"):
        R.pack_padded_sequence(x, [4, 2, 2, 1])
    p = R.pack_padded_sequence(x, [3, 2, 2, 1])
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest sequence"):
        R.pad_packed_sequence(p, total_length=2)
    with pytest.raises(RuntimeError, match="same trailing dimensions"):
        R.pad_sequence([ef.ones(2, 3), ef.ones(2, 4)])
    with pytest.raises(ValueError, match="padding_side should be 'left' or 'right'"):
        R.pad_sequence([ef.ones(2)], padding_side="middle")


@pytest.mark.parametrize(
    "name,kw",
    [
        ("LSTM", {"bidirectional": True, "num_layers": 2, "proj_size": 2}),
        ("GRU", {"bidirectional": True}),
        ("RNN", {"batch_first": True}),
    ],
)
def test_packed_input_equals_each_sequence_run_alone(name, kw):
    m = getattr(nn, name)(3, 4, **kw).double()
    lengths = [2, 5, 3]
    seqs = [ef.randn(n, 3, dtype=ef.float64) for n in lengths]
    packed = R.pack_sequence(seqs, enforce_sorted=False)
    D = 2 if m.bidirectional else 1
    Ho = m.proj_size or 4
    h0 = ef.randn(m.num_layers * D, 3, Ho, dtype=ef.float64)
    c0 = ef.randn(m.num_layers * D, 3, 4, dtype=ef.float64)
    hx = (h0, c0) if name == "LSTM" else h0
    out, hn = m(packed, hx)
    assert isinstance(out, R.PackedSequence) and out.batch_sizes.tolist() == packed.batch_sizes.tolist()
    padded, lens = R.pad_packed_sequence(out, batch_first=True)
    assert lens.tolist() == lengths and padded.shape == (3, 5, D * Ho)
    for b, s in enumerate(seqs):
        hb = (h0[:, b], c0[:, b]) if name == "LSTM" else h0[:, b]
        o1, h1 = m(s, hb)  # unbatched: one sequence at its own length
        np.testing.assert_allclose(_np(padded[b, : lengths[b]]), _np(o1), rtol=1e-10, atol=1e-12)
        assert np.all(_np(padded[b, lengths[b] :]) == 0)
        if name == "LSTM":
            np.testing.assert_allclose(_np(hn[0][:, b]), _np(h1[0]), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(_np(hn[1][:, b]), _np(h1[1]), rtol=1e-10, atol=1e-12)
        else:
            np.testing.assert_allclose(_np(hn[:, b]), _np(h1), rtol=1e-10, atol=1e-12)
    # and the numpy reference with lengths agrees on the sorted padded batch
    ref, ref_h, _ = np_rnn(m, _np(R.pad_sequence(seqs)), _np(h0), _np(c0), lengths) if not m.batch_first else (None, None, None)
    if ref is not None:
        np.testing.assert_allclose(_np(R.pad_packed_sequence(out)[0]), ref, rtol=1e-10, atol=1e-12)


def test_packed_gradcheck():
    m = nn.GRU(2, 2, bidirectional=True).double()
    x = ef.randn(3, 2, 2, dtype=ef.float64, requires_grad=True)

    def fn(a):
        out, h = m(R.pack_padded_sequence(a, [1, 3], enforce_sorted=False))
        return out.data, h

    assert ef.autograd.gradcheck(fn, (x,))
    assert ef.autograd.gradcheck(lambda a: R.pad_packed_sequence(R.pack_padded_sequence(a, [3, 2]), padding_value=1.0)[0], (x,))


def test_packed_sequence_to_and_dtype():
    p = R.pack_sequence([ef.ones(3, 2), ef.ones(1, 2)])
    q = p.double()
    assert q.data.dtype == ef.float64 and q.batch_sizes is p.batch_sizes and not q.is_cuda
    assert p.to(ef.float32) is p and p.cpu().data.device == ef.device("cpu")
    out, h = nn.LSTM(2, 3).double()(q)
    assert out.data.shape == (4, 3) and h[0].shape == (1, 2, 3)
