"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells.

PyTorch's constructors, defaults, parameter names, layouts and registration order, so a PyTorch
``state_dict`` loads unchanged. The input projection of every time step is ONE contraction per
layer, for both directions at once (``einsum('tbi,dgi->tdbg', x, W_ih)``); only the recurrent part
``einsum('dbh,dgh->dbg', h, W_hh)`` runs step by step, again for both directions together.

Re-exported by :mod:`einframe.nn` (and registered as built-in layers): every name in ``__all__``.

>>> import einframe as ef
>>> from einframe import nn
>>> lstm = nn.LSTM(10, 20, num_layers=2)
>>> output, (h_n, c_n) = lstm(ef.randn(5, 3, 10))
>>> output.shape, h_n.shape, c_n.shape
(einframe.Size([5, 3, 20]), einframe.Size([2, 3, 20]), einframe.Size([2, 3, 20]))
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from ... import _functions as _ef
from ...ops.contract import contract
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter
from .linear import _empty_param, _uniform_
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _int_arg(cls: str, name: str, v: Any) -> int:
    if not isinstance(v, numbers.Integral) or isinstance(v, bool):
        raise TypeError(f"{cls}: {name} should be of type int, got: {type(v).__name__}")
    return int(v)


def _step(
    mode: str, gi: Tensor, h: Tensor, c: Tensor | None, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None,
    eq_hh: str, eq_hr: str,
) -> tuple[Tensor, Tensor | None]:  # fmt: skip
    """One time step from the precomputed input projection ``gi`` (biases included, except GRU's ``b_hh``).

    Gate order as PyTorch: LSTM ``i, f, g, o``; GRU ``r, z, n`` with
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.
    """
    gh = contract(eq_hh, h, w_hh)
    if mode == "GRU":
        if b_hh is not None:
            gh = gh + b_hh
        H = h.shape[-1]
        rz = _ef.sigmoid(gi[..., : 2 * H] + gh[..., : 2 * H])
        r, z = rz[..., :H], rz[..., H:]
        n = _ef.tanh(gi[..., 2 * H :] + r * gh[..., 2 * H :])
        return n + z * (h - n), None  # (1 - z) * n + z * h
    pre = gi + gh
    if mode == "LSTM":
        H = c.shape[-1]
        s = _ef.sigmoid(pre)  # i, f and o (the g slice of it is unused)
        c = s[..., H : 2 * H] * c + s[..., :H] * _ef.tanh(pre[..., 2 * H : 3 * H])
        h = s[..., 3 * H :] * _ef.tanh(c)
        if w_hr is not None:
            h = contract(eq_hr, h, w_hr)
        return h, c
    return (_ef.tanh(pre) if mode == "RNN_TANH" else _ef.relu(pre)), None


def _reverse_index(T: int, B: int, lengths: np.ndarray | None) -> np.ndarray:
    """Rows of a ``(T, 2, B, ...)`` tensor (flattened to ``(T*2*B, ...)``) that time-reverse direction 1.

    Direction 0 is left alone; direction 1 is reversed within each sequence's length (past its
    end the rows stay put). The map is its own inverse, so it serves the inputs and the outputs.
    """
    t = np.arange(T)[:, None]
    L = np.full((1, B), T) if lengths is None else lengths[None, :]
    src = np.where(t < L, L - 1 - t, t)  # (T, B)
    b = np.arange(B)[None, :]
    idx = np.stack([np.broadcast_to(t * 2 * B + b, (T, B)), (src * 2 + 1) * B + b], 1)  # (T, 2, B)
    return idx.reshape(-1)


def _run(
    mode: str, x: Tensor, h0: Tensor, c0: Tensor | None, weights: list[tuple], num_layers: int, D: int, dropout: float,
    training: bool, lengths: np.ndarray | None,
) -> tuple[Tensor, Tensor, Tensor | None]:  # fmt: skip
    """All layers over a ``(T, B, I)`` sequence; returns ``(output (T, B, D*H_out), h_n, c_n)``.

    ``weights[layer*D + d] = (w_ih, w_hh, b_ih, b_hh, w_hr)``; ``lengths`` (sorted or not) masks the
    steps past each sequence's end: its state is held, so ``h_n`` is the state at its last step.
    """
    T, B = x.shape[0], x.shape[1]
    rev = None
    if D == 2:
        rev = _ef.tensor(_reverse_index(T, B, lengths), device=x.device)
    masks = None
    if lengths is not None and np.any(lengths < T):
        masks = _ef.tensor((np.arange(T)[:, None] < lengths[None, :]).reshape(T, 1, B, 1), device=x.device)

    def flip_dir1(z: Tensor) -> Tensor:  # (T, 2, B, F): time-reverse direction 1 with ONE gather
        return z.reshape(T * 2 * B, z.shape[-1]).index_select(0, rev).reshape(T, 2, B, z.shape[-1])

    def stacked(ts: list) -> Tensor | None:
        if ts[0] is None:
            return None
        return ts[0].unsqueeze(0) if D == 1 else _ef.stack(ts, 0)

    hs, cs = [], []
    for layer in range(num_layers):
        w_ih, w_hh, b_ih, b_hh, w_hr = (stacked(list(p)) for p in zip(*weights[layer * D : (layer + 1) * D]))
        gi = contract("tbi,dgi->tdbg", x, w_ih)  # every step's input projection, both directions: ONE contraction
        if b_ih is not None:
            gi = gi + (b_ih if mode == "GRU" else b_ih + b_hh).unsqueeze(1)
        if D == 2:
            gi = flip_dir1(gi)
        b_step = b_hh.unsqueeze(1) if mode == "GRU" and b_hh is not None else None
        h = h0[layer * D : (layer + 1) * D]
        c = c0[layer * D : (layer + 1) * D] if c0 is not None else None
        outs = []
        for s in range(T):
            h_new, c_new = _step(mode, gi[s], h, c, w_hh, b_step, w_hr, "dbh,dgh->dbg", "dbh,dph->dbp")
            if masks is not None:
                m = masks[s]
                h_new = _ef.where(m, h_new, h)
                c_new = _ef.where(m, c_new, c) if c is not None else None
            h, c = h_new, c_new
            outs.append(h)
        y = _ef.stack(outs, 0)  # (T, D, B, H_out)
        H_out = y.shape[-1]
        x = y.reshape(T, B, H_out) if D == 1 else flip_dir1(y).permute(0, 2, 1, 3).reshape(T, B, D * H_out)
        if dropout > 0 and training and layer < num_layers - 1:
            x = F.dropout(x, dropout, True)
        hs.append(h)
        cs.append(c)
    h_n = hs[0] if num_layers == 1 else _ef.cat(hs, 0)
    c_n = None if c0 is None else (cs[0] if num_layers == 1 else _ef.cat(cs, 0))
    return x, h_n, c_n


# ================================================================================================
# multi-layer, optionally bidirectional sequence layers
# ================================================================================================


class RNNBase(Module):
    """Base of :class:`RNN`, :class:`LSTM` and :class:`GRU` (PyTorch's ``nn.RNNBase``).

    ``mode`` is ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'`` or ``'GRU'``. Parameters per layer ``k``
    and direction (suffix ``_reverse`` for the backward one), in this registration order:
    ``weight_ih_l{k}`` (G·H, in), ``weight_hh_l{k}`` (G·H, H_out), ``bias_ih_l{k}`` (G·H),
    ``bias_hh_l{k}`` (G·H), ``weight_hr_l{k}`` (proj_size, H) for an LSTM with ``proj_size > 0``;
    G = 1, 4, 3 gates; H_out = ``proj_size or hidden_size``; ``in`` = ``input_size`` for layer 0,
    else ``D·H_out`` (D = 2 when bidirectional). Every parameter starts U(-1/√H, 1/√H).

    >>> from einframe import nn
    >>> nn.RNNBase("GRU", 3, 4, num_layers=2, bidirectional=True)
    RNNBase(3, 4, num_layers=2, bidirectional=True)
    """

    __constants__ = [
        "mode", "input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional", "proj_size",
    ]  # fmt: skip

    def __init__(
        self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True, batch_first: bool = False,
        dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0, device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode!r}; expected one of {sorted(_GATES)}")
        if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
            raise ValueError(
                f"dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got {dropout!r}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=2 if type(self) is RNNBase else 3,
            )
        input_size = _int_arg(name, "input_size", input_size)
        hidden_size = _int_arg(name, "hidden_size", hidden_size)
        num_layers = _int_arg(name, "num_layers", num_layers)
        proj_size = _int_arg(name, "proj_size", proj_size)
        if input_size < 0:
            raise ValueError(f"{name}: input_size must be non-negative, got {input_size}")
        if hidden_size <= 0:
            raise ValueError(f"hidden_size must be greater than zero, got {hidden_size}")
        if num_layers <= 0:
            raise ValueError(f"num_layers must be greater than zero, got {num_layers}")
        if proj_size < 0:
            raise ValueError(f"proj_size should be a positive integer or zero to disable projections, got {proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(
                f"proj_size has to be smaller than hidden_size, got proj_size={proj_size} >= hidden_size={hidden_size}"
            )
        if proj_size > 0 and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        gate_size = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                shapes = [("weight_ih_l{}{}", (gate_size, layer_input)), ("weight_hh_l{}{}", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih_l{}{}", (gate_size,)), ("bias_hh_l{}{}", (gate_size,))]
                if proj_size > 0:
                    shapes += [("weight_hr_l{}{}", (proj_size, hidden_size))]
                suffix = "_reverse" if direction == 1 else ""
                names = []
                for fmt, shape in shapes:
                    pname = fmt.format(layer, suffix)
                    setattr(self, pname, _empty_param(shape, device, dtype))
                    names.append(pname)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            _uniform_(p, stdv)

    def flatten_parameters(self) -> None:
        """A no-op (PyTorch compacts cuDNN weights here; einframe has no packed weight buffer)."""

    @property
    def _flat_weights(self) -> list[Parameter]:
        return [getattr(self, n) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters grouped per layer and direction, as PyTorch's ``all_weights``."""
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def _layer_weights(self) -> list[tuple]:
        out = []
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[: 2 if self.bidirectional else 1]:
                key = f"l{layer}{suffix}"
                out.append(
                    tuple(
                        getattr(self, f"{p}_{key}", None) for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
                    )
                )
        return out

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ---- forward ------------------------------------------------------------------------------------

    def _check_states(self, names: str, states: list[tuple[str, Tensor, int]], batched: bool, batch: int, x: Tensor) -> None:
        """PyTorch's checks and wording: ``names`` for the dimension error, each state's label for its size error."""
        D = 2 if self.bidirectional else 1
        dims = [s.dim() for _, s, _ in states]
        want = 3 if batched else 2
        if any(d != want for d in dims):
            got = f"{dims[0]}-D tensor" if len(dims) == 1 else "(" + ", ".join(f"{d}-D" for d in dims) + ") tensors"
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise RuntimeError(
                f"For {kind} input, {names} should also be {want}-D but got {got}; "
                f"pass states of shape (num_layers*num_directions, {'N, ' if batched else ''}H)"
            )
        for label, s, size in states:
            expected = (self.num_layers * D, batch, size) if batched else (self.num_layers * D, size)
            if tuple(s.shape) != expected:
                raise RuntimeError(f"Expected {label} size {expected}, got {list(s.shape)}")
            if s.dtype != x.dtype:
                raise RuntimeError(
                    f"{type(self).__name__}: input and hidden tensors are not the same dtype, found input tensor with "
                    f"{x.dtype} and hidden tensor with {s.dtype}; convert the state with .to({x.dtype})"
                )

    def forward(self, input: Any, hx: Tensor | tuple[Tensor, Tensor] | None = None) -> tuple[Any, Any]:
        """Run the whole sequence; returns ``(output, h_n)`` (an LSTM: ``(output, (h_n, c_n))``).

        ``input``: (L, N, H_in), (N, L, H_in) with ``batch_first``, unbatched (L, H_in), or a
        :class:`~einframe.nn.utils.rnn.PackedSequence` (then ``output`` is one too).
        ``hx``: (D·num_layers, N, H_out) (unbatched: (D·num_layers, H_out)), zeros when omitted;
        an LSTM takes ``(h_0, c_0)`` with ``c_0`` of size ``hidden_size``.
        ``output``: (L, N, D·H_out), the last layer's hidden state at every step, the two
        directions concatenated; ``h_n[k·D + d]`` is layer k, direction d's final state.
        """
        from ..utils.rnn import PackedSequence, _packed_to_padded, _padded_to_packed

        name = type(self).__name__
        is_lstm = self.mode == "LSTM"
        D = 2 if self.bidirectional else 1
        H_out = self.proj_size if self.proj_size > 0 else self.hidden_size
        packed = isinstance(input, PackedSequence)
        lengths = None
        if packed:
            bs = np.asarray(input.batch_sizes.tolist(), dtype=np.int64)
            x = _packed_to_padded(input.data, bs)  # (T, B, I) in sorted batch order
            lengths = (bs[None, :] > np.arange(int(bs[0]))[:, None]).sum(1)
            batched = True
            if x.dim() != 3:
                raise ValueError(f"{name}: expected packed data of shape (sum of lengths, H_in), got {tuple(input.data.shape)}")
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: expected input to be a Tensor or a PackedSequence, got {type(input).__name__}")
            if input.dim() not in (2, 3):
                raise ValueError(
                    f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead; pass (L, N, H_in), "
                    f"(N, L, H_in) with batch_first=True, or unbatched (L, H_in)"
                )
            batched = input.dim() == 3
            x = input
            if not batched:
                x = x.unsqueeze(1)
            elif self.batch_first:
                x = x.transpose(0, 1)
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, got {x.shape[-1]}")
        w = self.weight_ih_l0
        if x.dtype != w.dtype:
            raise ValueError(
                f"{name} input dtype ({x.dtype}) does not match weight dtype ({w.dtype}). Convert input: "
                f"input.to({w.dtype}), or convert model: model.to({x.dtype})"
            )
        if x.device != w.device:
            raise RuntimeError(f"{name}: input is on {x.device} but the weights are on {w.device}; move one of them")
        T, B = x.shape[0], x.shape[1]
        if T == 0:
            raise RuntimeError(f"Expected sequence length to be larger than 0 in {name}")

        if hx is None:
            h0 = _ef.zeros(self.num_layers * D, B, H_out, dtype=x.dtype, device=x.device)
            c0 = _ef.zeros(self.num_layers * D, B, self.hidden_size, dtype=x.dtype, device=x.device) if is_lstm else None
        else:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2 or not all(isinstance(s, Tensor) for s in hx):
                    raise TypeError(f"{name}: expected hx to be a tuple (h_0, c_0) of two tensors, got {type(hx).__name__}")
                h0, c0 = hx
                names, states = "hx and cx", [("hidden[0]", h0, H_out), ("hidden[1]", c0, self.hidden_size)]
            else:
                if not isinstance(hx, Tensor):
                    raise TypeError(f"{name}: expected hx to be a Tensor, got {type(hx).__name__}")
                h0, c0 = hx, None
                names, states = "hx", [("hidden", h0, H_out)]
            self._check_states(names, states, batched, B, x)
            if not batched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
            if packed and input.sorted_indices is not None:  # states follow the packed (sorted) batch order
                h0 = h0.index_select(1, input.sorted_indices)
                c0 = c0.index_select(1, input.sorted_indices) if c0 is not None else None

        out, h_n, c_n = _run(
            self.mode, x, h0, c0, self._layer_weights(), self.num_layers, D, self.dropout, self.training, lengths
        )
        if packed:
            output = PackedSequence(_padded_to_packed(out, bs), input.batch_sizes, input.sorted_indices, input.unsorted_indices)
            if input.unsorted_indices is not None:
                h_n = h_n.index_select(1, input.unsorted_indices)
                c_n = c_n.index_select(1, input.unsorted_indices) if c_n is not None else None
        elif not batched:
            output, h_n = out.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        else:
            output = out.transpose(0, 1) if self.batch_first else out
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)


class RNN(RNNBase):
    r"""Elman RNN: ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)`` (``nonlinearity='relu'``: relu).

    PyTorch's ``nn.RNN`` (same positional order: ``nonlinearity`` is the 4th argument). See
    :class:`RNNBase` for the parameters and :meth:`RNNBase.forward` for shapes.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> rnn = nn.RNN(10, 20, 2, nonlinearity="relu", bidirectional=True)
    >>> output, h_n = rnn(ef.randn(5, 3, 10), ef.zeros(4, 3, 20))
    >>> output.shape, h_n.shape
    (einframe.Size([5, 3, 40]), einframe.Size([4, 3, 20]))
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", bias: bool = True,
        batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )  # fmt: skip
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    r"""Long short-term memory; gates ``i, f, g, o`` (in that order in ``weight_ih``/``weight_hh``).

    ``c_t = σ(f)·c_{t-1} + σ(i)·tanh(g)``, ``h_t = σ(o)·tanh(c_t)``, each gate being
    ``x_t W_iᵀ + b_i + h_{t-1} W_hᵀ + b_h``; with ``proj_size > 0`` also ``h_t ← h_t W_hrᵀ``.
    Returns ``output, (h_n, c_n)``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> lstm = nn.LSTM(4, 8, proj_size=3, batch_first=True)
    >>> output, (h_n, c_n) = lstm(ef.randn(2, 5, 4))
    >>> output.shape, h_n.shape, c_n.shape
    (einframe.Size([2, 5, 3]), einframe.Size([1, 2, 3]), einframe.Size([1, 2, 8]))
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True, batch_first: bool = False,
        dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0, device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, proj_size, device, dtype
        )  # fmt: skip


class GRU(RNNBase):
    r"""Gated recurrent unit; gates ``r, z, n`` (in that order in ``weight_ih``/``weight_hh``).

    ``r = σ(W_ir x + b_ir + W_hr h + b_hr)``, ``z = σ(W_iz x + b_iz + W_hz h + b_hz)``,
    ``n = tanh(W_in x + b_in + r·(W_hn h + b_hn))``, ``h_t = (1 - z)·n + z·h_{t-1}``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> gru = nn.GRU(4, 6, num_layers=2, dropout=0.1)
    >>> output, h_n = gru(ef.randn(7, 4))  # unbatched (L, H_in)
    >>> output.shape, h_n.shape
    (einframe.Size([7, 6]), einframe.Size([2, 6]))
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True, batch_first: bool = False,
        dropout: float = 0.0, bidirectional: bool = False, device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)


# ================================================================================================
# single-step cells
# ================================================================================================


class RNNCellBase(Module):
    """Base of the cells: ``weight_ih`` (G·H, input_size), ``weight_hh`` (G·H, H), ``bias_ih``, ``bias_hh`` (G·H).

    All drawn from U(-1/√H, 1/√H), as PyTorch; ``bias=False`` registers the biases as None.

    >>> from einframe import nn
    >>> [(n, tuple(p.shape)) for n, p in nn.GRUCell(3, 2).named_parameters()]
    [('weight_ih', (6, 3)), ('weight_hh', (6, 2)), ('bias_ih', (6,)), ('bias_hh', (6,))]
    """

    __constants__ = ["input_size", "hidden_size", "bias"]
    _mode = "RNN_TANH"

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        name = type(self).__name__
        input_size = _int_arg(name, "input_size", input_size)
        hidden_size = _int_arg(name, "hidden_size", hidden_size)
        if input_size < 0 or hidden_size <= 0:
            raise ValueError(
                f"{name}: expected input_size >= 0 and hidden_size > 0, got input_size={input_size}, hidden_size={hidden_size}"
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = _empty_param((num_chunks * hidden_size, input_size), device, dtype)
        self.weight_hh = _empty_param((num_chunks * hidden_size, hidden_size), device, dtype)
        if bias:
            self.bias_ih = _empty_param((num_chunks * hidden_size,), device, dtype)
            self.bias_hh = _empty_param((num_chunks * hidden_size,), device, dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/√hidden_size, 1/√hidden_size), as PyTorch."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            _uniform_(p, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, states: list[tuple[str, Tensor | None]]) -> tuple[Tensor, list[Tensor | None], bool]:
        """Check shapes/dtypes; returns the batched input, the batched states and whether the input was batched."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: expected input to be a Tensor, got {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead; pass (N, H_in) or (H_in,)")
        for label, s in states:
            if s is not None and s.dim() not in (1, 2):
                raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {s.dim()}D instead")
        batched = input.dim() == 2
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected {self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise ValueError(
                f"{name} input dtype ({input.dtype}) does not match weight dtype ({self.weight_ih.dtype}). Convert input: "
                f"input.to({self.weight_ih.dtype}), or convert model: model.to({input.dtype})"
            )
        x = input if batched else input.unsqueeze(0)
        out = []
        for label, s in states:
            if s is None:
                out.append(None)
                continue
            if s.dim() != input.dim():
                raise RuntimeError(
                    f"{name}: for {'batched 2-D' if batched else 'unbatched 1-D'} input, {label} should also be "
                    f"{input.dim()}-D, got {s.dim()}-D"
                )
            s = s if batched else s.unsqueeze(0)
            if s.shape[0] != x.shape[0]:
                raise RuntimeError(f"Input batch size {x.shape[0]} doesn't match hidden0 batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden0 has inconsistent hidden_size: got {s.shape[1]}, expected {self.hidden_size}")
            if s.dtype != x.dtype:
                raise RuntimeError(f"{name}: {label} dtype {s.dtype} does not match input dtype {x.dtype}")
            out.append(s)
        return x, out, batched

    def _input_projection(self, x: Tensor) -> Tensor:
        gi = contract("bi,gi->bg", x, self.weight_ih)
        if self.bias_ih is not None:
            gi = gi + (self.bias_ih if self._mode == "GRU" else self.bias_ih + self.bias_hh)
        return gi

    def _zeros(self, x: Tensor) -> Tensor:
        return _ef.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)


class RNNCell(RNNCellBase):
    """One Elman step: ``h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)`` (``nonlinearity='relu'``: relu).

    An unknown ``nonlinearity`` is rejected in the constructor (PyTorch only fails at the first call).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> cell = nn.RNNCell(10, 20)
    >>> h = cell(ef.randn(3, 10))
    >>> cell(ef.randn(3, 10), h).shape
    einframe.Size([3, 20])
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", device: Any = None,
        dtype: Any = None,
    ) -> None:  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """``input`` (N, H_in) or (H_in,); ``hx`` (N, H) or (H,), zeros when omitted; returns ``h'``."""
        x, (h,), batched = self._prepare(input, [("hidden", hx)])
        mode = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}.get(self.nonlinearity)
        if mode is None:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        h = self._zeros(x) if h is None else h
        h, _ = _step(mode, self._input_projection(x), h, None, self.weight_hh, None, None, "bh,gh->bg", "")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates ``i, f, g, o``); ``forward(input, (h, c))`` returns ``(h', c')``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> cell = nn.LSTMCell(10, 20)
    >>> h, c = cell(ef.randn(3, 10))
    >>> h, c = cell(ef.randn(3, 10), (h, c))
    >>> h.shape, c.shape
    (einframe.Size([3, 20]), einframe.Size([3, 20]))
    """

    _mode = "LSTM"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """``input`` (N, H_in) or (H_in,); ``hx = (h, c)``, each (N, H) or (H,), zeros when omitted."""
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: expected hx to be a tuple (h, c) of two tensors, got {type(hx).__name__}")
        h, c = hx if hx is not None else (None, None)
        x, (h, c), batched = self._prepare(input, [("hx[0]", h), ("hx[1]", c)])
        h = self._zeros(x) if h is None else h
        c = self._zeros(x) if c is None else c
        h, c = _step("LSTM", self._input_projection(x), h, c, self.weight_hh, None, None, "bh,gh->bg", "")
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates ``r, z, n``; ``n = tanh(W_in x + b_in + r·(W_hn h + b_hn))``); returns ``h'``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> cell = nn.GRUCell(10, 20)
    >>> cell(ef.randn(10)).shape  # unbatched
    einframe.Size([20])
    """

    _mode = "GRU"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """``input`` (N, H_in) or (H_in,); ``hx`` (N, H) or (H,), zeros when omitted; returns ``h'``."""
        x, (h,), batched = self._prepare(input, [("hidden", hx)])
        h = self._zeros(x) if h is None else h
        h, _ = _step("GRU", self._input_projection(x), h, None, self.weight_hh, self.bias_hh, None, "bh,gh->bg", "")
        return h if batched else h.squeeze(0)
