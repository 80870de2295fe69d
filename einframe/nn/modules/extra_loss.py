"""More losses, distances, pools and ``EmbeddingBag``.

Re-exported by :mod:`einframe.nn` (and registered as built-in layers): every name in ``__all__``.

>>> import einframe as ef
>>> from einframe import nn
>>> nn.MarginRankingLoss(margin=0.5)(ef.tensor([1.0]), ef.tensor([1.0]), ef.tensor([1.0]))
tensor(0.5000)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...autograd.grad_mode import no_grad
from ...backend import get_device
from ...dtypes import get_default_dtype, to_numpy_dtype
from ...tensor import Tensor
from .. import _functional_extra_loss as FX
from ..parameter import Parameter
from .loss import _Loss, _WeightedLoss
from .module import Module
from .pooling import _AdaptiveMaxPoolNd, _AdaptivePoolNd

__all__: list[str] = [
    "CosineEmbeddingLoss", "MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
    "MultiMarginLoss", "MultiLabelMarginLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss", "PoissonNLLLoss",
    "GaussianNLLLoss", "CTCLoss", "CosineSimilarity", "PairwiseDistance", "AdaptiveAvgPool1d", "AdaptiveMaxPool1d",
    "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "EmbeddingBag",
]  # fmt: skip


# ------------------------------------------------------------------------------------------------
# losses


class CosineEmbeddingLoss(_Loss):
    """``1 - cos(x1, x2)`` for ``y = 1``, ``max(0, cos(x1, x2) - margin)`` for ``y = -1``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.CosineEmbeddingLoss()(ef.tensor([[1.0, 0.0]]), ef.tensor([[0.0, 1.0]]), ef.tensor([1])).item()
    1.0
    """

    __constants__ = ["margin", "reduction"]

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return FX.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """``max(0, -y·(x1 - x2) + margin)``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.MarginRankingLoss()(ef.tensor([1.0, 3.0]), ef.tensor([2.0, 2.0]), ef.tensor([1.0, 1.0])).item()
    0.5
    """

    __constants__ = ["margin", "reduction"]

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Tensor) -> Tensor:
        return FX.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``x`` for ``y = 1``, ``max(0, margin - x)`` for ``y = -1`` (``x`` is typically a distance).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.HingeEmbeddingLoss(margin=2.0, reduction="sum")(ef.tensor([0.5, 0.5]), ef.tensor([1, -1])).item()
    2.0
    """

    __constants__ = ["margin", "reduction"]

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FX.hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss ``log(1 + exp(-y·x))`` with ``y`` in {1, -1}.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> round(nn.SoftMarginLoss()(ef.tensor([0.0]), ef.tensor([1.0])).item(), 4)
    0.6931
    """

    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FX.soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-versus-all logistic loss over C classes, averaged over the classes (``weight``: per class).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.MultiLabelSoftMarginLoss(weight=ef.ones(3))
    MultiLabelSoftMarginLoss()
    >>> round(nn.MultiLabelSoftMarginLoss()(ef.zeros(2, 3), ef.ones(2, 3)).item(), 4)
    0.6931
    """

    __constants__ = ["reduction"]

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None, reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FX.multilabel_soft_margin_loss(input, target, weight=self.weight, reduction=self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge ``Σ_{i≠y} max(0, margin - x[y] + x[i])^p / C`` (``p`` 1 or 2; ``weight``: per class).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.MultiMarginLoss()(ef.tensor([[0.0, 1.0]]), ef.tensor([1])).item()
    0.0
    """

    __constants__ = ["p", "margin", "reduction"]

    def __init__(
        self, p: int = 1, margin: float = 1.0, weight: Tensor | None = None, size_average=None, reduce=None,
        reduction: str = "mean",
    ) -> None:  # fmt: skip
        super().__init__(weight, size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got p={p}")
        if weight is not None and weight.dim() != 1:
            raise ValueError(f"MultiMarginLoss: expected weight to be None or a 1-D tensor, got {weight.dim()}-D")
        self.p = p
        self.margin = margin

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FX.multi_margin_loss(input, target, p=self.p, margin=self.margin, weight=self.weight, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge between target classes (indices, ``-1``-terminated) and the other classes.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.MultiLabelMarginLoss()(ef.tensor([[0.0, 5.0, 0.0]]), ef.tensor([[1, -1, 0]])).item()
    0.0
    """

    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return FX.multilabel_margin_loss(input, target, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """``max(0, margin + ||a - p + eps||_p - ||a - n + eps||_p)`` (``swap``: Balntas et al.'s distance swap).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> loss = nn.TripletMarginLoss(margin=1.0, p=2)
    >>> loss(ef.randn(4, 8, requires_grad=True), ef.randn(4, 8), ef.randn(4, 8)).shape
    einframe.Size([])
    """

    __constants__ = ["margin", "p", "eps", "swap", "reduction"]

    def __init__(
        self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
        reduction: str = "mean",
    ) -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got {margin} instead")
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return FX.triplet_margin_loss(
            anchor, positive, negative, margin=self.margin, p=self.p, eps=self.eps, swap=self.swap, reduction=self.reduction
        )


class TripletMarginWithDistanceLoss(_Loss):
    """Triplet loss with any ``distance_function`` (default: a ``PairwiseDistance()`` submodule, as PyTorch).

    >>> from einframe import nn
    >>> nn.TripletMarginWithDistanceLoss()
    TripletMarginWithDistanceLoss(
      (distance_function): PairwiseDistance()
    )
    """

    __constants__ = ["margin", "swap", "reduction"]

    def __init__(
        self, *, distance_function: Callable[[Tensor, Tensor], Tensor] | None = None, margin: float = 1.0, swap: bool = False,
        reduction: str = "mean",
    ) -> None:  # fmt: skip
        super().__init__(size_average=None, reduce=None, reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} instead")
        self.distance_function = distance_function if distance_function is not None else PairwiseDistance()
        self.margin = margin
        self.swap = swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return FX.triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function, margin=self.margin, swap=self.swap,
            reduction=self.reduction,
        )  # fmt: skip


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood (``log_input``: the input is ``log λ``; ``full``: the Stirling term).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.PoissonNLLLoss()(ef.zeros(3), ef.zeros(3)).item()
    1.0
    """

    __constants__ = ["log_input", "full", "eps", "reduction"]

    def __init__(
        self, log_input: bool = True, full: bool = False, size_average=None, eps: float = 1e-8, reduce=None,
        reduction: str = "mean",
    ) -> None:  # fmt: skip
        super().__init__(size_average, reduce, reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def forward(self, log_input: Tensor, target: Tensor) -> Tensor:
        return FX.poisson_nll_loss(
            log_input, target, log_input=self.log_input, full=self.full, eps=self.eps, reduction=self.reduction
        )


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood with predicted variances ``var`` (clamped at ``eps`` in value).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.GaussianNLLLoss()(ef.zeros(2, 3), ef.ones(2, 3), ef.ones(2, 1)).item()
    0.5
    """

    __constants__ = ["full", "eps", "reduction"]

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(None, None, reduction)
        self.full = full
        self.eps = eps

    def forward(self, input: Tensor, target: Tensor, var: Tensor | float) -> Tensor:
        return FX.gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps, reduction=self.reduction)


class CTCLoss(_Loss):
    """Connectionist Temporal Classification loss (the forward recursion in log space; see ``F.ctc_loss``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> T, N, C = 6, 2, 4
    >>> lp = ef.randn(T, N, C, requires_grad=True).log_softmax(2)
    >>> loss = nn.CTCLoss()(lp, ef.tensor([[1, 2], [3, 3]]), [T, T - 1], [2, 2])
    >>> loss.backward()
    >>> loss.shape
    einframe.Size([])
    """

    __constants__ = ["blank", "reduction"]

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank = blank
        self.zero_infinity = zero_infinity

    def forward(self, log_probs: Tensor, targets: Tensor, input_lengths, target_lengths) -> Tensor:
        return FX.ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction, self.zero_infinity)


# ------------------------------------------------------------------------------------------------
# distances


class CosineSimilarity(Module):
    """Cosine similarity of ``x1`` and ``x2`` along ``dim`` (norms clamped at ``eps``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.CosineSimilarity(dim=0)(ef.tensor([1.0, 0.0]), ef.tensor([2.0, 0.0])).item()
    1.0
    """

    __constants__ = ["dim", "eps"]

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return FX.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``||x1 - x2 + eps||_p`` over the last dimension (the norm's order is the attribute ``norm``, as PyTorch).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.PairwiseDistance(eps=0.0)(ef.tensor([[0.0, 0.0]]), ef.tensor([[3.0, 4.0]])).tolist()
    [5.0]
    """

    __constants__ = ["norm", "eps", "keepdim"]

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return FX.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


# ------------------------------------------------------------------------------------------------
# pools


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    """Average over PyTorch's adaptive bins of (N, C, L): one contraction ``'bcw,iw->bci'``.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.AdaptiveAvgPool1d(3)
    AdaptiveAvgPool1d(output_size=3)
    >>> nn.AdaptiveAvgPool1d(3)(ef.randn(2, 4, 7)).shape
    einframe.Size([2, 4, 3])
    """

    _fn = staticmethod(FX.adaptive_avg_pool1d)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max over PyTorch's adaptive bins of (N, C, L) (first maximum; ``return_indices`` as ``MaxPool1d``).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.AdaptiveMaxPool1d(2, return_indices=True)(ef.tensor([[[1.0, 4.0, 2.0]]]))[1].tolist()
    [[[1, 1]]]
    """

    _fn = staticmethod(FX.adaptive_max_pool1d)


class _LPPoolNd(Module):
    __constants__ = ["norm_type", "kernel_size", "stride", "ceil_mode"]
    _fn: Callable[..., Tensor]

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, ceil_mode={self.ceil_mode}"

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._fn(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)


class LPPool1d(_LPPoolNd):
    """Power-average pooling ``(Σ_window x^p)^(1/p)`` over (N, C, L).

    >>> from einframe import nn
    >>> nn.LPPool1d(2, 3, stride=2)
    LPPool1d(norm_type=2, kernel_size=3, stride=2, ceil_mode=False)
    """

    _fn = staticmethod(FX.lp_pool1d)


class LPPool2d(_LPPoolNd):
    """Power-average pooling ``(Σ_window x^p)^(1/p)`` over (N, C, H, W).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.LPPool2d(2, (2, 2))(ef.ones(1, 1, 4, 4)).tolist()
    [[[[2.0, 2.0], [2.0, 2.0]]]]
    """

    _fn = staticmethod(FX.lp_pool2d)


class LPPool3d(_LPPoolNd):
    """Power-average pooling ``(Σ_window x^p)^(1/p)`` over (N, C, D, H, W).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> nn.LPPool3d(1, 2)(ef.ones(1, 2, 4, 4, 4)).shape
    einframe.Size([1, 2, 2, 2, 2])
    """

    _fn = staticmethod(FX.lp_pool3d)


class _MaxUnpoolNd(Module):
    _n: int
    _fn: Callable[..., Tensor]

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        n, name = self._n, type(self).__name__
        self.kernel_size = FX._ntuple(kernel_size, n, "kernel_size", name)
        self.stride = FX._ntuple(stride if stride is not None else kernel_size, n, "stride", name)
        self.padding = FX._ntuple(padding, n, "padding", name)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        return type(self)._fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool1d``: scatter the pooled values back to their indices (zeros elsewhere).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> pool, unpool = nn.MaxPool1d(2, return_indices=True), nn.MaxUnpool1d(2)
    >>> unpool
    MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    >>> unpool(*pool(ef.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]])), output_size=[5]).tolist()
    [[[0.0, 3.0, 0.0, 5.0, 0.0]]]
    """

    _n = 1
    _fn = staticmethod(FX.max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool2d``: scatter the pooled values back to their indices (zeros elsewhere).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    >>> unpool(*pool(ef.randn(1, 3, 4, 4))).shape
    einframe.Size([1, 3, 4, 4])
    """

    _n = 2
    _fn = staticmethod(FX.max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of ``MaxPool3d``: scatter the pooled values back to their indices (zeros elsewhere).

    >>> from einframe import nn
    >>> nn.MaxUnpool3d(2, stride=2)
    MaxUnpool3d(kernel_size=(2, 2, 2), stride=(2, 2, 2), padding=(0, 0, 0))
    """

    _n = 3
    _fn = staticmethod(FX.max_unpool3d)


# ------------------------------------------------------------------------------------------------
# sparse


class EmbeddingBag(Module):
    """Sums, means or maxima of bags of rows of ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1).

    ``forward(input, offsets=None, per_sample_weights=None)``: ``input`` (B, L) is B bags of L
    indices; a 1-D ``input`` is cut into bags at ``offsets`` (with ``include_last_offset``, the
    last offset is the end of the last bag). ``per_sample_weights`` scale each row (``mode='sum'``
    only); ``padding_idx`` entries are left out of their bag and that row starts at zero.
    ``sparse=True`` raises ``NotImplementedError`` (einframe's gradients are dense).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> bag = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=0)
    >>> bag
    EmbeddingBag(10, 3, mode='sum', padding_idx=0)
    >>> bag(ef.tensor([1, 2, 4, 5, 4, 3, 2, 9]), ef.tensor([0, 4])).shape
    einframe.Size([2, 3])
    """

    __constants__ = [
        "num_embeddings", "embedding_dim", "max_norm", "norm_type", "scale_grad_by_freq", "mode", "sparse",
        "include_last_offset", "padding_idx",
    ]  # fmt: skip

    def __init__(
        self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None, norm_type: float = 2.0,
        scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False, _weight: Tensor | None = None,
        include_last_offset: bool = False, padding_idx: int | None = None, device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        if sparse:
            raise NotImplementedError(f"EmbeddingBag: {FX._SPARSE_MSG}")
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of 'sum', 'mean' or 'max', got {mode!r}")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError(f"padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}")
            if padding_idx < 0:
                padding_idx = num_embeddings + padding_idx
        self.padding_idx = padding_idx
        if _weight is None:
            dev = get_device(device)
            data = dev.xp.empty((num_embeddings, embedding_dim), dtype=to_numpy_dtype(dtype or get_default_dtype()))
            self.weight = Parameter(Tensor._wrap(data, dev))
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError(
                    f"Shape of weight {tuple(_weight.shape)} does not match num_embeddings and embedding_dim "
                    f"({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight.detach())
        self.mode = mode
        self.sparse = sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self) -> None:
        """``normal_(weight)``, then zero the padding row."""
        from .. import init

        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Tensor, offsets: Tensor | None = None, per_sample_weights: Tensor | None = None) -> Tensor:
        """One row of shape ``(embedding_dim,)`` per bag: ``(B, embedding_dim)``.

        >>> import einframe as ef
        >>> from einframe import nn
        >>> bag = nn.EmbeddingBag.from_pretrained(ef.eye(3), mode="mean")
        >>> bag(ef.tensor([[0, 1], [2, 2]])).tolist()
        [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]
        """
        return FX.embedding_bag(
            input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.mode, self.sparse,
            per_sample_weights, self.include_last_offset, self.padding_idx,
        )  # fmt: skip

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm!r}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type!r}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq!r}"
        s += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx!r}"
        return s

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor, freeze: bool = True, max_norm: float | None = None, norm_type: float = 2.0,
        scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False, include_last_offset: bool = False,
        padding_idx: int | None = None,
    ) -> EmbeddingBag:  # fmt: skip
        """An ``EmbeddingBag`` holding ``embeddings`` (2-D, shared, not copied), frozen unless ``freeze=False``.

        >>> import einframe as ef
        >>> from einframe import nn
        >>> bag = nn.EmbeddingBag.from_pretrained(ef.tensor([[1.0, 2.3, 3.0], [4.0, 5.1, 6.3]]))
        >>> [round(v, 4) for v in bag(ef.tensor([[1, 0]]))[0].tolist()], bag.weight.requires_grad
        ([2.5, 3.7, 4.65], False)
        """
        if embeddings.dim() != 2:
            raise AssertionError(f"Embeddings parameter is expected to be 2-dimensional, got {embeddings.dim()}-D")
        rows, cols = embeddings.shape
        bag = cls(
            rows, cols, max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, mode=mode,
            sparse=sparse, _weight=embeddings, include_last_offset=include_last_offset, padding_idx=padding_idx,
        )  # fmt: skip
        bag.weight.requires_grad = not freeze
        return bag
