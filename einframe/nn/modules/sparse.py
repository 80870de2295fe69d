"""``Embedding``: a lookup table; the forward pass is a gather and its gradient a scatter-add.

>>> import einframe as ef
>>> from einframe import nn
>>> emb = nn.Embedding(10, 3, padding_idx=0)
>>> emb
Embedding(10, 3, padding_idx=0)
>>> emb(ef.tensor([[1, 2, 0]])).shape
einframe.Size([1, 3, 3])
"""

from __future__ import annotations

from typing import Any

from ...autograd.grad_mode import no_grad
from ...backend import get_device
from ...dtypes import get_default_dtype, to_numpy_dtype
from ...tensor import Tensor
from .. import functional as F
from ..parameter import Parameter
from .module import Module

__all__ = ["Embedding"]


class Embedding(Module):
    """``weight[input]`` with ``weight`` of shape (num_embeddings, embedding_dim), initialised N(0, 1).

    - ``padding_idx``: that row starts at zero and receives no gradient.
    - ``max_norm``: each forward first rescales, in place, the looked-up rows whose ``norm_type``-norm
      exceeds ``max_norm`` to norm ``max_norm`` (see ``F.embedding``).
    - ``scale_grad_by_freq``: each row's gradient is divided by how often its index occurs in the batch.
    - ``sparse``: einframe has no sparse gradients; ``sparse=True`` raises ``NotImplementedError``
      (use ``sparse=False``: the same gradient values, as a dense tensor).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> emb = nn.Embedding(4, 3, max_norm=1.0, scale_grad_by_freq=True)
    >>> emb
    Embedding(4, 3, max_norm=1.0, scale_grad_by_freq=True)
    >>> emb(ef.tensor([1, 1, 3])).norm(dim=1).max().item() <= 1.0
    True
    """

    __constants__ = ["num_embeddings", "embedding_dim", "padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse"]

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, max_norm: float | None = None,
        norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False, _weight: Tensor | None = None,
        _freeze: bool = False, device: Any = None, dtype: Any = None,
    ) -> None:  # fmt: skip
        super().__init__()
        if sparse:
            raise NotImplementedError(f"Embedding: {F._SPARSE_MSG}")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError(f"Padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}")
            if padding_idx < 0:
                padding_idx = num_embeddings + padding_idx
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            dev = get_device(device)
            data = dev.xp.empty((num_embeddings, embedding_dim), dtype=to_numpy_dtype(dtype or get_default_dtype()))
            self.weight = Parameter(Tensor._wrap(data, dev), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise AssertionError(f"Shape of weight {tuple(_weight.shape)} does not match num_embeddings and embedding_dim")
            self.weight = Parameter(_weight.detach(), requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """``normal_(weight)``, then zero the padding row."""
        from .. import init

        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input: Tensor) -> Tensor:
        """The rows of ``weight`` indexed by the integer tensor ``input``: shape ``(*input.shape, embedding_dim)``.

        >>> import einframe as ef
        >>> from einframe import nn
        >>> nn.Embedding(5, 2)(ef.tensor([[0, 4, 4]])).shape
        einframe.Size([1, 3, 2])
        """
        return F.embedding(
            input, self.weight, self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq, self.sparse
        )

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None, max_norm: float | None = None,
        norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
    ) -> Embedding:  # fmt: skip
        """An ``Embedding`` holding ``embeddings`` (2-D, shared, not copied), frozen unless ``freeze=False``.

        The other arguments are ``Embedding``'s; the ``padding_idx`` row is kept as given (not zeroed).

        >>> import einframe as ef
        >>> from einframe import nn
        >>> nn.Embedding.from_pretrained(ef.eye(3))(ef.tensor([2])).tolist()
        [[0.0, 0.0, 1.0]]
        """
        if embeddings.dim() != 2:
            raise ValueError(f"Embeddings parameter is expected to be 2-dimensional, got {embeddings.dim()}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings, _freeze=freeze)
