"""Variable-length sequences for recurrent layers (PyTorch's ``torch.nn.utils.rnn``).

A :class:`PackedSequence` stores a batch of sequences of different lengths without padding: the
rows of ``data`` are the time steps, step by step, each step holding the sequences still running
(``batch_sizes[t]`` of them, longest first). Packing and unpacking are one :class:`Gather`
(``index_select``) each, so gradients flow through both.

>>> import einframe as ef
>>> from einframe.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
>>> x = ef.tensor([[1.0, 2.0], [3.0, 0.0], [5.0, 0.0]])  # (T=3, B=2); lengths 3 and 1
>>> p = pack_padded_sequence(x, [3, 1])
>>> p.data.tolist(), p.batch_sizes.tolist()
([1.0, 2.0, 3.0, 5.0], [2, 1, 1])
>>> padded, lengths = pad_packed_sequence(p)
>>> padded.tolist(), lengths.tolist()
([[1.0, 2.0], [3.0, 0.0], [5.0, 0.0]], [3, 1])
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import _functions as _ef
from ...backend import CPU, to_backend
from ...tensor import Tensor

__all__ = [
    "PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
    "unpad_sequence", "pack_sequence", "unpack_sequence",
]  # fmt: skip


def _host_ints(v: Any, what: str, fn: str) -> np.ndarray:
    """A 1-D int64 numpy array from a list, numpy array or (any-device) Tensor."""
    if isinstance(v, Tensor):
        arr = np.asarray(to_backend(v._data, CPU))
    else:
        arr = np.asarray(v)
    if arr.ndim != 1 or not (arr.size == 0 or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{fn}: expected {what} as a 1-D list or tensor of ints, got {arr.dtype} of shape {arr.shape}")
    return arr.astype(np.int64)


def _index(idx: np.ndarray, like: Tensor) -> Tensor:
    """An int64 index tensor on ``like``'s device."""
    return _ef.tensor(np.ascontiguousarray(idx, dtype=np.int64), device=like.device)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse permutation (``None`` stays ``None``).

    >>> import einframe as ef
    >>> from einframe.nn.utils.rnn import invert_permutation
    >>> invert_permutation(ef.tensor([2, 0, 1])).tolist()
    [1, 2, 0]
    """
    if permutation is None:
        return None
    p = _host_ints(permutation, "permutation", "invert_permutation")
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size)
    return _ef.tensor(inv, device=permutation.device)


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A packed batch of variable-length sequences (build it with :func:`pack_padded_sequence` or :func:`pack_sequence`).

    - ``data`` (sum of lengths, *): the time steps, step by step, longest sequence first;
    - ``batch_sizes`` (int64, CPU): how many sequences are still running at each step;
    - ``sorted_indices``: the original batch index of each packed column (None when the batch was
      already sorted by decreasing length); ``unsorted_indices`` is its inverse.

    >>> import einframe as ef
    >>> from einframe.nn.utils.rnn import pack_sequence
    >>> p = pack_sequence([ef.ones(2), ef.ones(3)], enforce_sorted=False)
    >>> p.batch_sizes.tolist(), p.sorted_indices.tolist(), p.unsorted_indices.tolist()
    ([2, 2, 1], [1, 0], [1, 0])
    """

    __slots__ = ()

    def __new__(
        cls, data: Tensor, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:  # fmt: skip
        if batch_sizes is None:
            raise TypeError("PackedSequence: expected batch_sizes (an int64 tensor); build one with pack_padded_sequence")
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = _ef.tensor(_host_ints(batch_sizes, "batch_sizes", "PackedSequence"), device="cpu")
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data: Tensor) -> PackedSequence:
        if data is self.data:
            return self
        move = lambda t: None if t is None else t.to(data.device)  # noqa: E731
        return type(self)(data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices))

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)``; the indices follow ``data``'s device, ``batch_sizes`` stays on the CPU."""
        return self._with_data(self.data.to(*args, **kwargs))

    def cpu(self) -> PackedSequence:
        return self._with_data(self.data.cpu())

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self._with_data(self.data.cuda(*args, **kwargs))

    def double(self) -> PackedSequence:
        return self._with_data(self.data.double())

    def float(self) -> PackedSequence:
        return self._with_data(self.data.float())

    def half(self) -> PackedSequence:
        return self._with_data(self.data.half())

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


# ---- the gathers shared with the recurrent layers ------------------------------------------------


def _lengths_from_batch_sizes(bs: np.ndarray) -> np.ndarray:
    """Each (sorted) sequence's length: how many steps have more than b sequences running."""
    return (bs[None, :] > np.arange(int(bs[0]))[:, None]).sum(1).astype(np.int64)


def _packed_rows(bs: np.ndarray) -> np.ndarray:
    """``rows[t, b]``: the row of ``data`` holding step t of sorted sequence b, or -1 past its end."""
    T, B = len(bs), int(bs[0])
    rows = np.full((T, B), -1, dtype=np.int64)
    valid = np.arange(B)[None, :] < bs[:, None]
    rows[valid] = np.arange(int(bs.sum()))  # row-major over (t, b): exactly the packed order
    return rows


def _packed_to_padded(data: Tensor, bs: np.ndarray, total_length: int | None = None, padding_value: float = 0.0) -> Tensor:
    """``(T, B, *)`` padded in sorted batch order: ONE gather from ``data`` plus a padding row."""
    rows = _packed_rows(bs)
    if total_length is not None and total_length > rows.shape[0]:
        rows = np.concatenate([rows, np.full((total_length - rows.shape[0], rows.shape[1]), -1, np.int64)])
    n = data.shape[0]
    pad_row = _ef.full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    ext = _ef.cat([data, pad_row], 0)
    idx = np.where(rows < 0, n, rows)
    return ext.index_select(0, _index(idx.reshape(-1), data)).reshape(*rows.shape, *data.shape[1:])


def _padded_to_packed(padded: Tensor, bs: np.ndarray) -> Tensor:
    """The inverse of :func:`_packed_to_padded` for a ``(T, B, *)`` tensor in sorted batch order (ONE gather)."""
    T, B = padded.shape[0], padded.shape[1]
    rows = _packed_rows(bs)
    t, b = np.nonzero(rows >= 0)  # row-major: packed order
    flat = padded.reshape(T * B, *padded.shape[2:])
    return flat.index_select(0, _index(t * B + b, padded))


# ---- public functions ---------------------------------------------------------------------------------


def pack_padded_sequence(
    input: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) of sequences of the given ``lengths``.

    With ``enforce_sorted=True`` the lengths must be decreasing; otherwise the batch is sorted here
    and ``sorted_indices`` records the order (the recurrent layers and :func:`pad_packed_sequence`
    undo it).

    >>> import einframe as ef
    >>> from einframe.nn.utils.rnn import pack_padded_sequence
    >>> p = pack_padded_sequence(ef.arange(6.0).reshape(3, 2), [1, 3], enforce_sorted=False)
    >>> p.data.tolist(), p.batch_sizes.tolist(), p.sorted_indices.tolist()
    ([1.0, 0.0, 3.0, 5.0], [2, 1, 1], [1, 0])
    """
    fn = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{fn}: expected input to be a Tensor, got {type(input).__name__}")
    if input.dim() < 2:
        raise ValueError(f"{fn}: expected input with at least 2 dimensions (T, B, *), got shape {tuple(input.shape)}")
    lens = _host_ints(lengths, "lengths", fn)
    if batch_first:
        input = input.transpose(0, 1)
    T, B = input.shape[0], input.shape[1]
    if lens.size != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} (batch_size={B})")
    if lens.size and lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0")
    if lens.size and lens.max() > T:
        raise RuntimeError(
            f"{fn}: a length of {int(lens.max())} exceeds the sequence dimension of the input ({T} steps); "
            f"lengths must be at most {T}"
        )
    sorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
                "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement "
                "if you do not need ONNX exportability."
            )
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = _index(order, input)
        input = input.index_select(1, sorted_indices)
    bs = (lens[None, :] > np.arange(int(lens[0]) if lens.size else 0)[:, None]).sum(1).astype(np.int64)
    data = _padded_to_packed(input[: len(bs)], bs)
    return PackedSequence(data, _ef.tensor(bs, device="cpu"), sorted_indices, None)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length: int | None = None
) -> tuple[Tensor, Tensor]:
    """Unpack to ``(padded, lengths)``: padded ``(T, B, *)`` (``(B, T, *)`` with ``batch_first``) in the original batch order.

    ``total_length`` pads to that many steps (at least the longest sequence); ``lengths`` is an
    int64 CPU tensor.

    >>> import einframe as ef
    >>> from einframe.nn.utils.rnn import pack_sequence, pad_packed_sequence
    >>> p = pack_sequence([ef.tensor([1.0]), ef.tensor([2.0, 3.0])], enforce_sorted=False)
    >>> padded, lengths = pad_packed_sequence(p, batch_first=True, padding_value=-1.0, total_length=3)
    >>> padded.tolist(), lengths.tolist()
    ([[1.0, -1.0, -1.0], [2.0, 3.0, -1.0]], [1, 2])
    """
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    bs = _host_ints(sequence.batch_sizes, "batch_sizes", "pad_packed_sequence")
    T = len(bs)
    if total_length is not None and total_length < T:
        raise ValueError(
            "Expected total_length to be at least the length of the longest sequence in input, but got "
            f"total_length={total_length} and max sequence length being {T}"
        )
    padded = _packed_to_padded(sequence.data, bs, total_length, padding_value)
    lengths = _lengths_from_batch_sizes(bs)
    if sequence.unsorted_indices is not None:
        unsorted = _host_ints(sequence.unsorted_indices, "unsorted_indices", "pad_packed_sequence")
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[unsorted]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _ef.tensor(lengths, device="cpu")


def pad_sequence(
    sequences: Tensor | Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"
) -> Tensor:
    """Stack tensors ``(L_i, *)`` of different lengths into ``(max L, B, *)`` (``(B, max L, *)`` with ``batch_first``).

    ONE gather from the concatenated sequences plus a padding row; ``padding_side='left'`` pads in front.

    >>> import einframe as ef
    >>> from einframe.nn.utils.rnn import pad_sequence
    >>> pad_sequence([ef.tensor([1.0, 2.0]), ef.tensor([3.0])], batch_first=True).tolist()
    [[1.0, 2.0], [3.0, 0.0]]
    >>> pad_sequence([ef.tensor([1.0, 2.0]), ef.tensor([3.0])], batch_first=True, padding_side="left").tolist()
    [[1.0, 2.0], [0.0, 3.0]]
    """
    fn = "pad_sequence"
    if padding_side not in ("left", "right"):
        raise ValueError(f"{fn}: padding_side should be 'left' or 'right', got {padding_side!r}")
    if isinstance(sequences, Tensor):
        sequences = [sequences[i] for i in range(sequences.shape[0])]
    sequences = list(sequences)
    if not sequences:
        raise ValueError(f"{fn}: expected a non-empty list of tensors, got an empty one")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor) or s.dim() == 0:
            what = type(s).__name__ if not isinstance(s, Tensor) else "a 0-d tensor"
            raise TypeError(f"{fn}: expected every sequence to be a tensor with at least 1 dimension, got {what} at index {i}")
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(
                f"{fn}: every sequence must have the same trailing dimensions; sequence 0 has {trailing}, "
                f"sequence {i} has {tuple(s.shape[1:])}"
            )
    lens = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    T = int(lens.max())
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    n = int(lens.sum())
    t = np.arange(T)[:, None]
    shift = (T - lens)[None, :] if padding_side == "left" else 0
    step = t - shift  # the step of sequence b shown at padded position t
    idx = np.where((step >= 0) & (step < lens[None, :]), starts[None, :] + step, n)  # (T, B)
    if batch_first:
        idx = idx.T
    like = sequences[0]
    pad_row = _ef.full((1, *trailing), padding_value, dtype=like.dtype, device=like.device)
    ext = _ef.cat([*sequences, pad_row], 0)
    return ext.index_select(0, _index(idx.reshape(-1), like)).reshape(*idx.shape, *trailing)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False) -> list[Tensor]:
    """The inverse of :func:`pad_sequence`: a list of ``(L_i, *)`` tensors.

    >>> import einframe as ef
    >>> from einframe.nn.utils.rnn import unpad_sequence
    >>> [s.tolist() for s in unpad_sequence(ef.tensor([[1.0, 2.0], [3.0, 0.0]]), [2, 1], batch_first=True)]
    [[1.0, 2.0], [3.0]]
    """
    lens = _host_ints(lengths, "lengths", "unpad_sequence")
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    if lens.size != padded_sequences.shape[0]:
        raise ValueError(
            f"unpad_sequence: expected one length per sequence ({padded_sequences.shape[0]}), got {lens.size} lengths"
        )
    return [padded_sequences[i, : int(n)] for i, n in enumerate(lens)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of ``(L_i, *)`` tensors (longest first, unless ``enforce_sorted=False``).

    >>> import einframe as ef
    >>> from einframe.nn.utils.rnn import pack_sequence
    >>> pack_sequence([ef.tensor([1.0, 2.0, 3.0]), ef.tensor([4.0])]).data.tolist()
    [1.0, 4.0, 2.0, 3.0]
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The inverse of :func:`pack_sequence`: a list of ``(L_i, *)`` tensors in the original order.

    >>> import einframe as ef
    >>> from einframe.nn.utils.rnn import pack_sequence, unpack_sequence
    >>> seqs = [ef.tensor([1.0]), ef.tensor([2.0, 3.0])]
    >>> [s.tolist() for s in unpack_sequence(pack_sequence(seqs, enforce_sorted=False))]
    [[1.0], [2.0, 3.0]]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
