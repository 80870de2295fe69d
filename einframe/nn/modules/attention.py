"""``MultiheadAttention`` and ``TransformerEncoderLayer`` (PyTorch's parameter names and layouts).

Both attention contractions are einsums with the head split folded into the labels:
``'lnhd,snhd->nhls'`` (scores) and ``'nhls,snhd->lnhd'`` (weighted values).

>>> import einframe as ef
>>> from einframe import nn
>>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
>>> x = ef.randn(3, 5, 8)
>>> out, w = mha(x, x, x)
>>> out.shape, w.shape
(einframe.Size([3, 5, 8]), einframe.Size([3, 5, 5]))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...backend import get_device
from ...dtypes import get_default_dtype, to_numpy_dtype
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["MultiheadAttention", "TransformerEncoderLayer"]


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's name for ``MultiheadAttention.out_proj`` (a plain ``Linear``), kept so reprs match."""


class MultiheadAttention(Module):
    """Multi-head attention (PyTorch's ``nn.MultiheadAttention``: parameter names, layouts, init).

    Parameters, in PyTorch's registration (and ``state_dict``) order:

    - ``in_proj_weight`` (3E, E), packed query/key/value projection, when ``kdim == vdim == E``
      (``_qkv_same_embed_dim``); otherwise ``in_proj_weight`` is None and there are three:
      ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
    - ``in_proj_bias`` (3E,) when ``bias`` (one vector either way);
    - ``bias_k``, ``bias_v`` (1, 1, E) when ``add_bias_kv``: a learnt key/value appended to the
      projected key/value sequence;
    - ``out_proj`` (Linear E->E).

    ``add_zero_attn`` appends a zero key/value after the projections. Either addition pads
    ``attn_mask`` and ``key_padding_mask`` with a "may attend" column. Initialisation as PyTorch:
    ``xavier_uniform_`` for the projection weights, ``xavier_normal_`` for ``bias_k``/``bias_v``,
    zeros for ``in_proj_bias`` and ``out_proj.bias``.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns ``(output, weights or None)``. Inputs are
    (L, N, E) / (S, N, kdim) / (S, N, vdim), or batch first with ``batch_first=True``, or unbatched
    (L, E) / (S, kdim) / (S, vdim).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> mha = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True, add_zero_attn=True, batch_first=True)
    >>> [(name, tuple(p.shape)) for name, p in mha.named_parameters()]
    [('q_proj_weight', (8, 8)), ('k_proj_weight', (8, 3)), ('v_proj_weight', (8, 5)), ('in_proj_bias', (24,)),
     ('bias_k', (1, 1, 8)), ('bias_v', (1, 1, 8)), ('out_proj.weight', (8, 8)), ('out_proj.bias', (8,))]
    >>> out, w = mha(ef.randn(2, 4, 8), ef.randn(2, 6, 3), ef.randn(2, 6, 5))
    >>> out.shape, w.shape  # 6 keys + bias_k + the zero key
    (einframe.Size([2, 4, 8]), einframe.Size([2, 4, 8]))
    """

    __constants__ = ["batch_first"]

    def __init__(
        self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True, add_bias_kv: bool = False,
        add_zero_attn: bool = False, kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
        device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and num_heads={num_heads} instead"
            )
        if embed_dim % num_heads:
            raise AssertionError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        dev = get_device(device)
        dt = to_numpy_dtype(dtype or get_default_dtype())

        def empty(*shape: int) -> Parameter:
            return Parameter(Tensor._wrap(dev.xp.empty(shape, dtype=dt), dev))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = empty(1, 1, embed_dim)
            self.bias_v = empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """PyTorch's: ``xavier_uniform_`` the projection weights, zero biases, ``xavier_normal_`` bias_k/bias_v.

        ``out_proj.weight`` keeps Linear's default.
        """
        from .. import init

        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, average_attn_weights: bool = True, is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """Attend from ``query`` to ``key``/``value``; returns ``(output, weights)`` (weights None unless ``need_weights``).

        ``key_padding_mask`` (N, S): True (or -inf) = ignore that key; ``attn_mask`` (L, S) or
        (N·num_heads, L, S): True (or -inf) = may not attend; weights are averaged over heads when
        ``average_attn_weights`` ((N, L, S'), else (N, num_heads, L, S')), with S' = S plus one per
        ``add_bias_kv`` / ``add_zero_attn`` key.

        >>> import einframe as ef
        >>> from einframe import nn
        >>> mha = nn.MultiheadAttention(4, 2, add_zero_attn=True)
        >>> x = ef.randn(3, 1, 4)
        >>> out, w = mha(x, x, x, key_padding_mask=ef.tensor([[False, False, True]]))
        >>> out.shape, w.shape, w[0, :, 2].tolist()
        (einframe.Size([3, 1, 4]), einframe.Size([1, 3, 4]), [0.0, 0.0, 0.0])
        """
        batched = query.dim() == 3
        if self.batch_first and batched:
            if key is value:
                if query is key:
                    query = key = value = query.transpose(0, 1)
                else:
                    query, key = query.transpose(0, 1), key.transpose(0, 1)
                    value = key
            else:
                query, key, value = (x.transpose(0, 1) for x in (query, key, value))
        separate = not self._qkv_same_embed_dim
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias, self.bias_k,
            self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=separate, q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights, is_causal=is_causal,
        )  # fmt: skip
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        return out, weights


def _activation(name: str | Callable) -> Callable:
    if callable(name):
        return name
    if name == "relu":
        return F.relu
    if name == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {name}")


class TransformerEncoderLayer(Module):
    """Self-attention + feed-forward block (post-norm by default, ``norm_first=True`` for pre-norm).

    Submodules ``self_attn``, ``linear1``, ``dropout``, ``linear2``, ``norm1``, ``norm2``,
    ``dropout1``, ``dropout2`` as in PyTorch, so state_dicts line up.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16, batch_first=True)
    >>> layer(ef.randn(2, 5, 8)).shape
    einframe.Size([2, 5, 8])
    """

    def __init__(
        self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1, activation: str | Callable = "relu",
        layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False, bias: bool = True,
        device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, Module):
            self.activation = activation
        else:
            self.activation_relu_or_gelu = activation if isinstance(activation, str) else None
            self._act = _activation(activation)

    def _apply_act(self, x: Tensor) -> Tensor:
        return self.activation(x) if "activation" in self._modules else self._act(x)

    def forward(
        self, src: Tensor, src_mask: Tensor | None = None, src_key_padding_mask: Tensor | None = None, is_causal: bool = False
    ) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.self_attn(
            x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False, is_causal=is_causal
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self._apply_act(self.linear1(x)))))
