"""Array backends: numpy for the CPU, CuPy (imported lazily) for CUDA devices.

Everything above this module talks to arrays through ``device.xp`` so the same code runs on both.
"""

from __future__ import annotations

import os
import sys

import numpy as np

__all__ = ["device", "get_device", "cuda", "to_backend", "tune_malloc"]

_cupy = None
_cupy_error: Exception | None = None


def _import_cupy():
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception as e:  # noqa: BLE001 - any failure means "no usable CUDA"
            _cupy_error = e
    return _cupy


class device:
    """A compute device, as in PyTorch: ``ef.device("cpu")``, ``ef.device("cuda:0")``.

    Devices are interned, so ``a.device is b.device`` holds for equal devices.

    >>> import einframe as ef
    >>> ef.device("cpu")
    device(type='cpu')
    """

    _interned: dict[tuple[str, int | None], device] = {}
    __slots__ = ("type", "index", "_xp")

    def __new__(cls, spec: str | device = "cpu", index: int | None = None) -> device:
        if isinstance(spec, device):
            return spec
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {type(spec).__name__}")
        kind, _, idx = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise RuntimeError(f"unknown device type '{kind}' in '{spec}': expected 'cpu' or 'cuda[:N]'")
        if idx:
            if not idx.isdigit():
                raise RuntimeError(f"invalid device index in '{spec}': expected a non-negative integer")
            index = int(idx)
        if kind == "cuda" and index is None:
            index = 0
        if kind == "cpu":
            index = None
        key = (kind, index)
        dev = cls._interned.get(key)
        if dev is None:
            dev = object.__new__(cls)
            dev.type, dev.index, dev._xp = kind, index, None
            cls._interned[key] = dev
        return dev

    @property
    def xp(self):
        """The array module of this device (numpy or cupy)."""
        if self._xp is None:
            if self.type == "cpu":
                self._xp = np
            else:
                cp = _import_cupy()
                if cp is None:
                    raise RuntimeError(
                        f"device '{self}' needs CuPy with a working CUDA driver "
                        f"({_cupy_error!s}); install it with `pip install einframe[cuda12]`"
                    )
                n = cp.cuda.runtime.getDeviceCount()
                if self.index >= n:
                    raise RuntimeError(f"device '{self}' does not exist: {n} CUDA device(s) found")
                self._xp = cp
        return self._xp

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        return self is other

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


CPU = device("cpu")


def get_device(spec: str | device | None) -> device:
    return CPU if spec is None else device(spec)


def device_of(array) -> device:
    """The device an array lives on."""
    if isinstance(array, np.ndarray):
        return CPU
    return device("cuda", int(array.device.id))


def to_backend(array, dev: device):
    """Move ``array`` to ``dev`` (a no-op when it is already there)."""
    if dev.type == "cpu":
        return array if isinstance(array, np.ndarray) else array.get()
    cp = dev.xp
    with cp.cuda.Device(dev.index):
        return cp.asarray(array)


_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")


def tune_malloc() -> bool:
    """Keep freed array memory in the process instead of returning it to the OS (glibc only).

    A training step allocates and frees the same large temporaries every step. With glibc's
    defaults, blocks above its mmap threshold, and the free top of the heap above its trim
    threshold, go back to the OS and are page-faulted in again on the next step, which doubles
    the time of a strided convolution's backward pass. einframe calls this at import and raises
    both thresholds (mmap to its 32 MiB maximum, trim to 1 GiB), so the resident size stays at its
    peak instead. It does nothing when ``EINFRAME_MALLOC_TUNING=0``, when a ``MALLOC_*_`` or
    ``GLIBC_TUNABLES`` variable already sets these, or on a C library without ``mallopt``.
    Returns whether the thresholds were set.

    >>> from einframe.backend import tune_malloc
    >>> isinstance(tune_malloc(), bool)
    True
    """
    if os.environ.get("EINFRAME_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if any(k in os.environ for k in _MALLOC_ENV):
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # musl and other C libraries: no mallopt
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, 32 << 20)) and bool(mallopt(m_trim_threshold, 1 << 30))


def memory_order(a) -> tuple[int, ...]:
    """The permutation of ``a``'s dims that lists them outermost first in memory (C order: 0, 1, ...)."""
    if a.flags.c_contiguous:
        return tuple(range(a.ndim))
    return tuple(sorted(range(a.ndim), key=lambda i: (-abs(a.strides[i]), i)))


def zeros_in_order(xp, shape, dtype, order):
    """``zeros(shape)`` laid out in memory as ``order`` lists the dims (see ``memory_order``)."""
    z = xp.zeros(tuple(shape[i] for i in order), dtype=dtype)
    return z if order == tuple(range(len(order))) else z.transpose(tuple(order.index(i) for i in range(len(order))))


def scatter_add(xp, target, key, values) -> None:
    """``target[key] += values`` with repeated indices accumulated (np.add.at / cupyx.scatter_add)."""
    if xp is np:
        np.add.at(target, key, values)
    else:
        import cupyx

        cupyx.scatter_add(target, key, values)


class cuda:
    """``ef.cuda.is_available()`` and ``ef.cuda.device_count()``, as in PyTorch.

    >>> import einframe as ef
    >>> isinstance(ef.cuda.is_available(), bool)
    True
    """

    @staticmethod
    def is_available() -> bool:
        return _import_cupy() is not None and _cupy.cuda.runtime.getDeviceCount() > 0

    @staticmethod
    def device_count() -> int:
        return _cupy.cuda.runtime.getDeviceCount() if _import_cupy() is not None else 0

    @staticmethod
    def manual_seed(seed: int) -> None:
        if _import_cupy() is not None:
            _cupy.random.seed(seed)
