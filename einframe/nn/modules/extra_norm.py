"""More normalisation layers and the transformer stack.

Re-exported by :mod:`einframe.nn` (and registered as built-in layers): every name in ``__all__``.

- ``BatchNorm3d``, ``InstanceNorm1d/2d/3d``, ``RMSNorm``, ``LocalResponseNorm``: statistics are
  contractions (see :func:`~einframe.nn.functional.instance_norm`, ``rms_norm``, ``local_response_norm``);
  the batch and instance norms share ``_NormBase`` with ``BatchNorm1d/2d`` (same buffers and state_dict).
- ``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder``, ``Transformer``:
  compositions of ``MultiheadAttention``, ``Linear``, ``LayerNorm`` and ``Dropout`` with PyTorch's
  submodule names, so a PyTorch ``state_dict`` loads unchanged.
- ``LazyConv1d/3d``, ``LazyConvTranspose1d/2d/3d``, ``LazyBatchNorm1d/2d/3d``,
  ``LazyInstanceNorm1d/2d/3d``: ``in_channels`` / ``num_features`` come from the first input (or
  from ``load_state_dict``), then the module turns into its eager class.

>>> import einframe as ef
>>> from einframe import nn
>>> nn.InstanceNorm2d(3)(ef.randn(2, 3, 4, 4)).shape
einframe.Size([2, 3, 4, 4])
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

from ...autograd.grad_mode import no_grad
from ...dtypes import int64
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter, UninitializedBuffer, UninitializedParameter, is_lazy
from .attention import MultiheadAttention, TransformerEncoderLayer, _activation
from .container import ModuleList
from .conv import Conv1d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, _LazyConvNd, _LazyConvTransposeNd
from .dropout import Dropout
from .lazy import LazyModuleMixin
from .linear import Linear
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm, _BatchNorm, _full, _NormBase

__all__: list[str] = [
    "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "LocalResponseNorm",
    "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder", "Transformer",
    "LazyConv1d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d", "LazyInstanceNorm2d",
    "LazyInstanceNorm3d", "SyncBatchNorm",
]  # fmt: skip


# ------------------------------------------------------------------------------------------------
# batch / instance norms


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W), per channel (running stats as ``BatchNorm2d``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> bn = nn.BatchNorm3d(2)
    >>> bn(ef.randn(3, 2, 2, 2, 2)).shape, [name for name, _ in bn.state_dict().items()]
    (einframe.Size([3, 2, 2, 2, 2]), ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'])
    """

    _dims = (5,)
    _layout = "(N, C, D, H, W)"


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over any (N, C, ...) input whose statistics PyTorch syncs across the
    processes of a group. einframe trains in one process, where that sum is the batch itself: it
    computes what ``BatchNorm1d/2d/3d`` compute (same parameters and buffers, same state_dict).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> net = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)))
    >>> type(net[1]).__name__, net(ef.randn(2, 1, 5, 5)).shape
    ('SyncBatchNorm', einframe.Size([2, 2, 3, 3]))
    """

    _layout = "(N, C, ...)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None) -> None:  # fmt: skip
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm layer inside replaced by a ``SyncBatchNorm`` holding the same
        parameters, buffers and training mode (``module`` itself when it is one)."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats, process_group)
            if module.affine:
                out.weight, out.bias = module.weight, module.bias
            out.running_mean, out.running_var = module.running_mean, module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


class _InstanceNorm(_NormBase):
    _no_batch_dim = 2

    def __init__(
        self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
        track_running_stats: bool = False, device: Any = None, dtype: Any = None, *, bias: bool = True,
    ) -> None:  # fmt: skip
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def _apply_instance_norm(self, input: Tensor) -> Tensor:
        return F.instance_norm(
            input, self.running_mean, self.running_var, self.weight, self.bias,
            self.training or not self.track_running_stats, self.momentum if self.momentum is not None else 0.0, self.eps,
        )  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        feature_dim = input.dim() - self._no_batch_dim
        got = input.shape[feature_dim]
        if got != self.num_features:
            if self.affine:
                raise ValueError(
                    f"{type(self).__name__}: expected input's size at dim={feature_dim} to match num_features "
                    f"({self.num_features}), got {got} (input of shape {list(input.shape)})"
                )
            warnings.warn(
                f"{type(self).__name__}: input's size at dim={feature_dim} ({got}) does not match num_features "
                f"({self.num_features}); num_features is not used because affine=False",
                stacklevel=2,
            )
        if input.dim() == self._no_batch_dim:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation over (N, C, L) or (C, L): per sample and channel, over L.

    Defaults as PyTorch: ``affine=False`` (no parameters), ``track_running_stats=False`` (no buffers,
    instance statistics in train and eval). With ``track_running_stats=True`` the running stats are
    updated in training (``num_batches_tracked`` is not counted, as PyTorch) and used in eval.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.InstanceNorm1d(2)
    >>> m, list(m.state_dict())
    (InstanceNorm1d(2, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False), [])
    >>> [round(v, 4) for v in m(ef.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 2.0]]))[1].tolist()]
    [-0.7071, -0.7071, 1.4142]
    """

    _no_batch_dim = 2
    _dims = (2, 3)
    _layout = "(C, L) or (N, C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation over (N, C, H, W) or (C, H, W): per sample and channel, over H·W.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.InstanceNorm2d(3, affine=True, track_running_stats=True)
    >>> list(m.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    >>> m(ef.randn(2, 3, 4, 4)).shape
    einframe.Size([2, 3, 4, 4])
    """

    _no_batch_dim = 3
    _dims = (3, 4)
    _layout = "(C, H, W) or (N, C, H, W)"


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation over (N, C, D, H, W) or (C, D, H, W): per sample and channel, over D·H·W.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.InstanceNorm3d(2)(ef.randn(2, 2, 2, 2)).shape  # unbatched
    einframe.Size([2, 2, 2, 2])
    """

    _no_batch_dim = 4
    _dims = (4, 5)
    _layout = "(C, D, H, W) or (N, C, D, H, W)"


# ------------------------------------------------------------------------------------------------
# RMSNorm, LocalResponseNorm


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dims, times ``weight`` (ones).

    ``eps=None`` (default) means the machine epsilon of the input's dtype. No bias, as PyTorch.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.RMSNorm([2, 3])
    >>> m
    RMSNorm((2, 3), eps=None, elementwise_affine=True)
    >>> m(ef.randn(4, 2, 3)).shape
    einframe.Size([4, 2, 3])
    """

    __constants__ = ["normalized_shape", "eps", "elementwise_affine"]

    def __init__(
        self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(v) for v in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_full(self.normalized_shape, 1.0, device, dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            with no_grad():
                self.weight.fill_(1)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """Local response normalisation across channels of (N, C, *): ``x / (k + alpha/size · Σ_window x²)^beta``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LocalResponseNorm(2)
    >>> m
    LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)
    >>> m(ef.randn(2, 4, 3, 3)).shape
    einframe.Size([2, 4, 3, 3])
    """

    __constants__ = ["size", "alpha", "beta", "k"]

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


# ------------------------------------------------------------------------------------------------
# transformer stack


def _get_clones(module: Module, n: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
    from ... import _functions as _ef

    return _ef.triu(_ef.full((sz, sz), float("-inf"), dtype=dtype, device=device), diagonal=1)


def _get_seq_len(src: Tensor, batch_first: bool) -> int:
    if src.dim() == 2:  # unbatched (S, E)
        return src.shape[0]
    return src.shape[1 if batch_first else 0]


def _detect_is_causal_mask(mask: Tensor | None, is_causal: bool | None = None, size: int | None = None) -> bool:
    """``is_causal`` when given; otherwise whether ``mask`` is exactly the square subsequent mask (PyTorch's hint)."""
    make_causal = is_causal is True
    if is_causal is None and mask is not None:
        sz = size if size is not None else mask.shape[-2]
        if tuple(mask.shape) != (sz, sz):
            return False
        xp = mask._device.xp
        upper = xp.triu(xp.ones((sz, sz), dtype=bool), 1)
        data = mask._data
        want = upper if data.dtype == bool else xp.where(upper, -math.inf, 0.0).astype(data.dtype)
        make_causal = bool((data == want).all())
    return make_causal


class TransformerEncoder(Module):
    """A stack of ``num_layers`` deep copies of ``encoder_layer`` (``layers.0``, ``layers.1``, ...), then ``norm``.

    ``enable_nested_tensor`` and ``mask_check`` are accepted and stored but have no effect: einframe
    has no nested tensors, so there is no inference fast path (PyTorch's fast path, taken under
    ``no_grad`` in eval with a ``src_key_padding_mask``, returns zeros at the padded positions; here
    they hold the ordinary computation, which every non-padded position ignores).

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``: ``is_causal=None`` detects
    a square subsequent ``mask``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
    >>> enc = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(8))
    >>> enc(ef.randn(3, 5, 8), mask=nn.Transformer.generate_square_subsequent_mask(5)).shape
    einframe.Size([3, 5, 8])
    >>> [k for k in enc.state_dict() if k.endswith("norm1.weight") or k.startswith("norm")]
    ['layers.0.norm1.weight', 'layers.1.norm1.weight', 'norm.weight', 'norm.bias']
    """

    __constants__ = ["norm"]

    def __init__(
        self, encoder_layer: Module, num_layers: int, norm: Module | None = None, enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(
                f"TransformerEncoder: expected encoder_layer to be an nn.Module (e.g. nn.TransformerEncoderLayer), "
                f"got {type(encoder_layer).__name__}"
            )
        self.layers = _get_clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.use_nested_tensor = False  # no nested tensors in einframe
        self.mask_check = mask_check

    def forward(
        self, src: Tensor, mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None, is_causal: bool | None = None
    ) -> Tensor:
        output = src
        batch_first = self.layers[0].self_attn.batch_first if len(self.layers) else False
        is_causal = _detect_is_causal_mask(mask, is_causal, _get_seq_len(src, batch_first))
        for mod in self.layers:
            output = mod(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output


class TransformerDecoderLayer(Module):
    """Self-attention, cross-attention on ``memory``, feed-forward (post-norm; ``norm_first=True`` for pre-norm).

    Submodules as PyTorch, so state_dicts line up: ``self_attn``, ``multihead_attn``, ``linear1``,
    ``dropout``, ``linear2``, ``norm1``, ``norm2``, ``norm3``, ``dropout1``, ``dropout2``,
    ``dropout3``. ``activation`` is ``"relu"``, ``"gelu"`` or any callable (a Module is registered).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> layer = nn.TransformerDecoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
    >>> layer(ef.randn(2, 4, 8), ef.randn(2, 6, 8)).shape
    einframe.Size([2, 4, 8])
    """

    __constants__ = ["norm_first"]

    def __init__(
        self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
        activation: str | Callable[[Tensor], Tensor] = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
        norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(
        self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False, memory_is_causal: bool = False,
    ) -> Tensor:  # fmt: skip
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool) -> Tensor:
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=bool(is_causal), need_weights=False
        )[0]
        return self.dropout1(x)

    def _mha_block(
        self, x: Tensor, mem: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor | None, is_causal: bool
    ) -> Tensor:
        x = self.multihead_attn(
            x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask, is_causal=bool(is_causal), need_weights=False
        )[0]
        return self.dropout2(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoder(Module):
    """A stack of ``num_layers`` deep copies of ``decoder_layer`` (``layers.0``, ...), then ``norm``.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), num_layers=2)
    >>> tgt, memory = ef.randn(4, 3, 8), ef.randn(6, 3, 8)  # (T, N, E), (S, N, E)
    >>> dec(tgt, memory, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4)).shape
    einframe.Size([4, 3, 8])
    """

    __constants__ = ["norm"]

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        if not isinstance(decoder_layer, Module):
            raise TypeError(
                f"TransformerDecoder: expected decoder_layer to be an nn.Module (e.g. nn.TransformerDecoderLayer), "
                f"got {type(decoder_layer).__name__}"
            )
        self.layers = _get_clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None, memory_is_causal: bool = False,
    ) -> Tensor:  # fmt: skip
        output = tgt
        batch_first = self.layers[0].self_attn.batch_first if len(self.layers) else False
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _get_seq_len(tgt, batch_first))
        for mod in self.layers:
            output = mod(
                output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )  # fmt: skip
        if self.norm is not None:
            output = self.norm(output)
        return output


class Transformer(Module):
    """PyTorch's encoder-decoder transformer: ``encoder`` (a ``TransformerEncoder`` with a final LayerNorm)
    and ``decoder`` (a ``TransformerDecoder`` with a final LayerNorm), or ``custom_encoder``/``custom_decoder``.

    Every parameter with more than one dim is re-drawn with ``xavier_uniform_``, as PyTorch.
    ``forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None, src_key_padding_mask=None,
    tgt_key_padding_mask=None, memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
    memory_is_causal=False)``; ``generate_square_subsequent_mask(sz)`` is the causal float mask.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16)
    >>> src, tgt = ef.randn(5, 2, 8), ef.randn(3, 2, 8)  # (S, N, E), (T, N, E)
    >>> model(src, tgt, tgt_mask=model.generate_square_subsequent_mask(3)).shape
    einframe.Size([3, 2, 8])
    >>> nn.Transformer.generate_square_subsequent_mask(3).tolist()
    [[0.0, -inf, -inf], [0.0, 0.0, -inf], [0.0, 0.0, 0.0]]
    """

    def __init__(
        self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
        dim_feedforward: int = 2048, dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = F.relu,
        custom_encoder: Any | None = None, custom_decoder: Any | None = None, layer_norm_eps: float = 1e-5,
        batch_first: bool = False, norm_first: bool = False, bias: bool = True, device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            encoder_layer = TransformerEncoderLayer(*args, **kw)
            encoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.encoder = TransformerEncoder(encoder_layer, num_encoder_layers, encoder_norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            decoder_layer = TransformerDecoderLayer(*args, **kw)
            decoder_norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
            self.decoder = TransformerDecoder(decoder_layer, num_decoder_layers, decoder_norm)
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(
        self, src: Tensor, tgt: Tensor, src_mask: Tensor | None = None, tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None, memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None, tgt_is_causal: bool | None = None, memory_is_causal: bool = False,
    ) -> Tensor:  # fmt: skip
        if src.dim() == 3:
            bdim = 0 if self.batch_first else 1
            if src.shape[bdim] != tgt.shape[bdim]:
                raise RuntimeError(
                    f"Transformer: the batch number of src and tgt must be equal (dim {bdim} with "
                    f"batch_first={self.batch_first}), got src of shape {list(src.shape)} and tgt of shape {list(tgt.shape)}"
                )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(
                f"Transformer: the feature number of src and tgt must be equal to d_model ({self.d_model}), got "
                f"src of shape {list(src.shape)} and tgt of shape {list(tgt.shape)}"
            )
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(
            tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal,
        )  # fmt: skip

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The (sz, sz) causal mask: ``-inf`` above the diagonal (may not attend), ``0`` elsewhere.

        >>> from einframe import nn
        >>> nn.Transformer.generate_square_subsequent_mask(2).tolist()
        [[0.0, -inf], [0.0, 0.0]]
        """
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def _reset_parameters(self) -> None:
        """``xavier_uniform_`` every parameter with more than one dim (PyTorch's)."""
        from .. import init

        for p in self.parameters():
            if p.dim() > 1:
                init.xavier_uniform_(p)


# ------------------------------------------------------------------------------------------------
# lazy convolutions


class LazyConv1d(_LazyConvNd, Conv1d):
    """A ``Conv1d`` whose ``in_channels`` is inferred from the first input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyConv1d(4, 3)
    >>> _ = m(ef.randn(2, 5, 8))
    >>> m, tuple(m.weight.shape)
    (Conv1d(5, 4, kernel_size=(3,), stride=(1,)), (4, 5, 3))
    """

    cls_to_become = Conv1d


class LazyConv3d(_LazyConvNd, Conv3d):
    """A ``Conv3d`` whose ``in_channels`` is inferred from the first input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyConv3d(2, 2, groups=2)
    >>> m(ef.randn(1, 4, 3, 3, 3)).shape, tuple(m.weight.shape)
    (einframe.Size([1, 2, 2, 2, 2]), (2, 2, 2, 2, 2))
    """

    cls_to_become = Conv3d


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):
    """A ``ConvTranspose1d`` whose ``in_channels`` is inferred from the first input; weight (C, out/groups, k).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyConvTranspose1d(3, 2, stride=2)
    >>> m(ef.randn(1, 5, 4)).shape, tuple(m.weight.shape)
    (einframe.Size([1, 3, 8]), (5, 3, 2))
    """

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):
    """A ``ConvTranspose2d`` whose ``in_channels`` is inferred from the first input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyConvTranspose2d(2, 3, stride=2, padding=1)
    >>> m(ef.randn(1, 4, 5, 5), output_size=(10, 10)).shape
    einframe.Size([1, 2, 10, 10])
    >>> m
    ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
    """

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):
    """A ``ConvTranspose3d`` whose ``in_channels`` is inferred from the first input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyConvTranspose3d(2, 2)
    >>> m(ef.randn(3, 2, 2, 2)).shape  # unbatched (C, D, H, W)
    einframe.Size([2, 3, 3, 3])
    """

    cls_to_become = ConvTranspose3d


# ------------------------------------------------------------------------------------------------
# lazy batch / instance norms


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """``num_features`` from the first input's channel dim; ``weight``/``bias``/running stats start uninitialised.

    Defaults are ``_NormBase``'s (``affine=True``, ``track_running_stats=True``) for the lazy
    instance norms too, as PyTorch. The accepted input ranks come from ``cls_to_become``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("_dims", "_layout", "_no_batch_dim"):
            if hasattr(cls.cls_to_become, name):
                setattr(cls, name, getattr(cls.cls_to_become, name))

    def __init__(
        self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True, track_running_stats: bool = True,
        device: Any = None, dtype: Any = None, *, bias: bool = True,
    ) -> None:  # fmt: skip
        # affine/track_running_stats False first: nothing is allocated that is replaced right away
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = _full((), 0, device, int64)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        """Set ``num_features`` from the input's channel dim and materialise the (num_features,) tensors."""
        if not (self.has_uninitialized_params() or self.num_features == 0):
            return
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor to infer num_features, got {type(input).__name__}")
        self._check_input_dim(input)
        no_batch = getattr(self, "_no_batch_dim", None)
        feature_dim = 1 if no_batch is None else input.dim() - no_batch
        self.num_features = input.shape[feature_dim]
        with no_grad():
            for name in ("weight", "bias", "running_mean", "running_var"):
                t = getattr(self, name)
                if t is not None and is_lazy(t):
                    t.materialize((self.num_features,))
            self.reset_parameters()

    def _infer_from_state(self) -> None:
        for name in ("weight", "running_mean"):
            t = getattr(self, name)
            if t is not None:
                self.num_features = t.shape[0]
                return


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm1d`` whose ``num_features`` is inferred from the first input (dim 1).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyBatchNorm1d()
    >>> _ = m(ef.randn(4, 3))
    >>> m
    BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm2d`` whose ``num_features`` is inferred from the first input (or a state_dict).

    >>> from einframe import nn
    >>> m = nn.LazyBatchNorm2d()
    >>> m.load_state_dict(nn.BatchNorm2d(5).state_dict())
    <All keys matched successfully>
    >>> type(m).__name__, m.num_features
    ('BatchNorm2d', 5)
    """

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """A ``BatchNorm3d`` whose ``num_features`` is inferred from the first input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyBatchNorm3d(affine=False)
    >>> _ = m(ef.randn(2, 3, 2, 2, 2))
    >>> type(m).__name__, tuple(m.running_mean.shape), m.weight
    ('BatchNorm3d', (3,), None)
    """

    cls_to_become = BatchNorm3d


class LazyInstanceNorm1d(_LazyNormBase, _InstanceNorm):
    """An ``InstanceNorm1d`` whose ``num_features`` is inferred from the first input.

    Note the defaults, PyTorch's: ``affine=True`` and ``track_running_stats=True`` (unlike ``InstanceNorm1d``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyInstanceNorm1d()
    >>> _ = m(ef.randn(3, 5))  # unbatched (C, L): C = 3
    >>> m
    InstanceNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyNormBase, _InstanceNorm):
    """An ``InstanceNorm2d`` whose ``num_features`` is inferred from the first input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyInstanceNorm2d(affine=False, track_running_stats=False)
    >>> _ = m(ef.randn(2, 4, 3, 3))
    >>> m
    InstanceNorm2d(4, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)
    """

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyNormBase, _InstanceNorm):
    """An ``InstanceNorm3d`` whose ``num_features`` is inferred from the first input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> m = nn.LazyInstanceNorm3d()
    >>> m(ef.randn(1, 2, 2, 2, 2)).shape, tuple(m.weight.shape)
    (einframe.Size([1, 2, 2, 2, 2]), (2,))
    """

    cls_to_become = InstanceNorm3d
