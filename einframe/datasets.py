"""Small ready-made datasets: scikit-learn's handwritten digits, and MNIST read from IDX files on disk.

Nothing is downloaded. ``load_digits`` needs scikit-learn (``pip install einframe[examples]``);
``MNIST`` reads the four standard IDX files (optionally ``.gz``) from a folder you provide.

>>> import einframe as ef, numpy as np, os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "tiny-idx1-ubyte")
>>> ef.datasets.write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
>>> ef.datasets.read_idx(path)
array([3, 1, 4], dtype=uint8)
"""

from __future__ import annotations

import gzip
import os
import struct
from collections.abc import Callable

import numpy as np

from .tensor import Tensor
from .utils.data import Dataset, TensorDataset

__all__ = ["load_digits", "resize_images", "read_idx", "write_idx", "MNIST", "IDXError"]

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _IDX_TYPES.items()}


class IDXError(ValueError):
    """A file that is not a well-formed IDX file (bad magic, truncated, sizes that don't match)."""


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of ``(..., H, W)`` images to ``(..., size, size)`` (pixel centres aligned, like
    ``F.interpolate(mode='bilinear', align_corners=False)``).

    >>> from einframe.datasets import resize_images
    >>> resize_images(np.ones((2, 8, 8)), 28).shape
    (2, 28, 28)
    """
    images = np.asarray(images, dtype=np.float64)
    h, w = images.shape[-2:]

    def weights(n_in: int, n_out: int) -> np.ndarray:
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = src - lo
        m = np.zeros((n_out, n_in))
        m[np.arange(n_out), lo] += 1 - frac
        m[np.arange(n_out), hi] += frac
        return m

    return np.einsum("yh,...hw,xw->...yx", weights(h, size), images, weights(w, size))


def load_digits(size: int = 8, *, flatten: bool = False, dtype=None) -> TensorDataset:
    """scikit-learn's 1,797 handwritten digits as a :class:`TensorDataset` of ``(image, label)``.

    Images are float32 in [0, 1], shaped ``(1, size, size)`` (``(size*size,)`` with ``flatten``);
    ``size=28`` upsamples the 8x8 originals bilinearly to MNIST's size. Labels are int64 in 0..9.

    >>> import einframe as ef
    >>> ds = ef.datasets.load_digits(size=28)  # doctest: +SKIP
    >>> ds[0][0].shape, len(ds)  # doctest: +SKIP
    (einframe.Size([1, 28, 28]), 1797)
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as e:
        raise ImportError(
            "ef.datasets.load_digits needs scikit-learn, which is not installed; install it with "
            "`pip install einframe[examples]` (or `pip install scikit-learn`)"
        ) from e
    from . import float32, from_numpy

    raw = _sk_load_digits()
    images = raw.images.astype(np.float64) / 16.0
    if size != 8:
        images = resize_images(images, int(size))
    images = images.astype((dtype or float32).np if hasattr(dtype or float32, "np") else np.float32)
    images = images.reshape(len(images), -1) if flatten else images[:, None]
    return TensorDataset(from_numpy(np.ascontiguousarray(images)), from_numpy(raw.target.astype(np.int64)))


def _open(path: str | os.PathLike):
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format; gzip-compressed or not) into a numpy array in native byte order."""
    try:
        with _open(path) as f:
            buf = f.read()
    except (OSError, EOFError) as e:
        if isinstance(e, FileNotFoundError):
            raise
        raise IDXError(f"{os.fspath(path)}: can't read the file ({e})") from None
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_TYPES:
        raise IDXError(f"{os.fspath(path)}: not an IDX file (expected magic bytes 00 00 <type> <ndim>, got {buf[:4].hex(' ')})")
    dt = np.dtype(_IDX_TYPES[buf[2]])
    ndim = buf[3]
    if len(buf) < 4 + 4 * ndim:
        raise IDXError(f"{os.fspath(path)}: truncated IDX header (needs {4 + 4 * ndim} bytes, file has {len(buf)})")
    shape = struct.unpack(f">{ndim}I", buf[4 : 4 + 4 * ndim])
    expected = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    data = buf[4 + 4 * ndim :]
    if len(data) != expected:
        raise IDXError(f"{os.fspath(path)}: IDX shape {shape} of {dt.str} needs {expected} data bytes, the file has {len(data)}")
    return np.frombuffer(data, dtype=dt).reshape(shape).astype(dt.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in ``.gz``)."""
    a = np.asarray(array)
    code = _IDX_CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"IDX stores uint8, int8, int16, int32, float32 or float64, got {a.dtype}")
    payload = bytes([0, 0, code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape) + a.astype(_IDX_TYPES[code]).tobytes()
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


class MNIST(Dataset):
    """MNIST (or Fashion-MNIST) from the standard IDX files in ``root`` (also looked for in ``root/MNIST/raw``).

    ``train`` picks ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (else the ``t10k-`` files),
    each optionally ``.gz``. A sample is ``(image, label)``: a float32 tensor ``(1, 28, 28)`` in [0, 1]
    (after ``transform``) and an int (after ``target_transform``). einframe never downloads.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        if download:
            raise RuntimeError("einframe does not download data sets; put the MNIST IDX files in a folder and pass it as root")
        prefix = "train" if train else "t10k"
        self.root, self.train = os.fspath(root), train
        self.transform, self.target_transform = transform, target_transform
        images = self._find(f"{prefix}-images-idx3-ubyte")
        labels = self._find(f"{prefix}-labels-idx1-ubyte")
        self.data = read_idx(images)
        self.targets = read_idx(labels).astype(np.int64)
        if self.data.ndim != 3 or self.targets.ndim != 1 or len(self.data) != len(self.targets):
            raise IDXError(f"MNIST files don't match: images of shape {self.data.shape}, labels of shape {self.targets.shape}")

    def _find(self, name: str) -> str:
        tried = []
        for folder in (self.root, os.path.join(self.root, "MNIST", "raw")):
            for cand in (name, name + ".gz", name.replace("-idx", ".idx")):
                p = os.path.join(folder, cand)
                tried.append(p)
                if os.path.exists(p):
                    return p
        raise FileNotFoundError(f"MNIST file {name}[.gz] not found; looked for: {', '.join(tried)}")

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        from . import from_numpy

        img: Tensor | np.ndarray = from_numpy((self.data[index].astype(np.float32) / 255.0)[None])
        target = int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
