"""``ef.save`` / ``ef.load``: checkpoints as safetensors files, never pickle.

A file is a standard safetensors file: an 8-byte little-endian header length, a JSON header that
lists each tensor (dtype, shape, byte offsets), then the raw bytes. einframe adds one metadata
entry, ``"einframe"``, holding the JSON structure of the saved object (dicts with their key types,
lists, tuples, numbers, strings, None) in which each tensor is a reference to a named tensor of the
file. Loading parses the header with bounds checks and decodes the bytes with ``numpy.frombuffer``:
a file can be rejected, but loading never runs code from it.

Every malformed file (garbage, truncated, oversized header, a pickle or PyTorch zip file) raises
:class:`SerializationError` (a ``RuntimeError``).

>>> import einframe as ef, io
>>> buf = io.BytesIO()
>>> ef.save({"epoch": 3, "w": ef.arange(3), "betas": (0.9, 0.999), 0: None}, buf)
>>> _ = buf.seek(0)
>>> ef.load(buf)
{'epoch': 3, 'w': tensor([0, 1, 2]), 'betas': (0.9, 0.999), 0: None}
"""

from __future__ import annotations

import json
import math
import numbers
import os
import struct
import tempfile
from typing import IO, Any

import numpy as np

from . import dtypes as _dt
from .backend import CPU, device, get_device, to_backend
from .tensor import Tensor

__all__ = ["save", "load", "SerializationError", "FORMAT_VERSION", "MAX_HEADER_BYTES"]

FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 100_000_000  # the limit safetensors itself enforces
_MAX_DIMS = 64

SUPPORTED = (
    "einframe reads safetensors files only (files written by ef.save, or plain safetensors files from other tools, "
    "e.g. PyTorch's safetensors.torch.save_file)"
)

# safetensors dtype tag <-> numpy dtype (little-endian)
_TAG_TO_NP = {
    "BOOL": np.dtype("bool"),
    "U8": np.dtype("u1"),
    "I8": np.dtype("i1"),
    "I16": np.dtype("<i2"),
    "I32": np.dtype("<i4"),
    "I64": np.dtype("<i8"),
    "F16": np.dtype("<f2"),
    "F32": np.dtype("<f4"),
    "F64": np.dtype("<f8"),
    "BF16": np.dtype("<u2"),  # widened to float32 on load (numpy has no bfloat16)
    "U16": np.dtype("<u2"),  # widened to int64 on load
    "U32": np.dtype("<u4"),  # widened to int64 on load
}
_NP_TO_TAG = {
    np.dtype(n): k
    for n, k in [
        ("bool", "BOOL"),
        ("u1", "U8"),
        ("i1", "I8"),
        ("i2", "I16"),
        ("i4", "I32"),
        ("i8", "I64"),
        ("f2", "F16"),
        ("f4", "F32"),
        ("f8", "F64"),
    ]
}


class SerializationError(RuntimeError):
    """A file that ``ef.load`` can't read: not a safetensors file (pickle, PyTorch zip, garbage), truncated,
    or with a header that is malformed or points outside the file."""


# ------------------------------------------------------------------------------------------------
# encoding the structure


class _Encoder:
    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}
        self._names: dict[int, str] = {}

    def tensor(self, t: Tensor) -> dict:
        name = self._names.get(id(t))
        if name is None:
            name = self._names[id(t)] = f"t{len(self._names)}"
            a = to_backend(t._data, CPU)
            if a.dtype not in _NP_TO_TAG:
                raise TypeError(
                    f"ef.save: tensors of dtype {a.dtype} can't be stored; supported dtypes: {sorted(map(str, _NP_TO_TAG))}"
                )
            self.tensors[name] = a
        ref: dict[str, Any] = {"$tensor": name}
        if t.requires_grad:
            ref["requires_grad"] = True
        if t._device is not CPU:
            ref["device"] = str(t._device)
        return ref

    def enc(self, obj: Any, path: str) -> Any:
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if isinstance(obj, numbers.Integral):
            return int(obj)
        if isinstance(obj, numbers.Real):
            f = float(obj)
            return f if math.isfinite(f) else {"$float": repr(f)}
        if isinstance(obj, (list, tuple)):
            items = [self.enc(v, f"{path}[{i}]") for i, v in enumerate(obj)]
            return {"$tuple": items} if isinstance(obj, tuple) else items
        if isinstance(obj, dict):
            pairs = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (str, bool, numbers.Integral, numbers.Real, tuple))):
                    raise TypeError(
                        f"ef.save: dict key {k!r} at {path} has type {type(k).__name__}; keys must be str, int, float, bool, None or tuples of them"
                    )
                pairs.append([self.enc(k, f"{path} key"), self.enc(v, f"{path}[{k!r}]")])
            return {"$dict": pairs}
        if isinstance(obj, device):
            return {"$device": str(obj)}
        if isinstance(obj, _dt.dtype):
            return {"$dtype": obj.name}
        raise TypeError(
            f"ef.save can't store {type(obj).__name__} (at {path}): expected tensors and nested dict/list/tuple of "
            "str/int/float/bool/None; save a model as model.state_dict() and an optimizer as optimizer.state_dict()"
        )


def _header_bytes(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> tuple[bytes, list[np.ndarray]]:
    header: dict[str, Any] = {"__metadata__": metadata}
    offset = 0
    arrays = []
    for name, a in tensors.items():
        tag = _NP_TO_TAG[a.dtype]
        a = np.asarray(a, dtype=_TAG_TO_NP[tag], order="C")  # C order, little-endian (ascontiguousarray would make 0-d 1-d)
        n = a.nbytes
        header[name] = {"dtype": tag, "shape": list(a.shape), "data_offsets": [offset, offset + n]}
        offset += n
        arrays.append(a)
    h = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    h += b" " * (-len(h) % 8)  # align the data to 8 bytes, as safetensors does
    return struct.pack("<Q", len(h)) + h, arrays


def _write_payload(f: IO[bytes], head: bytes, arrays: list[np.ndarray]) -> None:
    f.write(head)
    for a in arrays:
        if a.nbytes:
            f.write(memoryview(a.reshape(-1)).cast("B"))


def save(obj: Any, f: str | os.PathLike | IO[bytes]) -> None:
    """Save tensors and nested dict/list/tuple/str/int/float/bool/None to ``f`` (a path or binary file object).

    The file is a safetensors file; tuples stay tuples, int keys stay ints, tensors shared between
    entries are stored once. Writing to a path is atomic: the data goes to a temporary file in the same
    folder, which then replaces ``f``; if anything fails, the old file is untouched and no temporary
    file is left behind.

    >>> import einframe as ef, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
    >>> ef.save({"epoch": 1, "loss": 0.25, "w": ef.ones(2, 2)}, path)
    >>> ef.load(path)["w"]
    tensor([[1., 1.],
            [1., 1.]])
    """
    enc = _Encoder()
    structure = enc.enc(obj, "obj")
    meta = {
        "format": "einframe",
        "einframe_version": FORMAT_VERSION,
        "einframe": json.dumps(structure, separators=(",", ":"), allow_nan=False),
    }
    head, arrays = _header_bytes(enc.tensors, meta)
    if hasattr(f, "write"):
        _write_payload(f, head, arrays)
        return
    path = os.fspath(f)
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"ef.save: {path!r} is a directory; pass a file path such as {os.path.join(path, 'checkpoint.safetensors')!r}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            _write_payload(out, head, arrays)
            out.flush()
            os.fsync(out.fileno())
        _set_mode(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _set_mode(tmp: str, path: str) -> None:
    """Give the new file the old file's permissions (or the usual umask-based ones): mkstemp makes it 0600."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.chmod(tmp, mode)
    except OSError:
        pass


# ------------------------------------------------------------------------------------------------
# reading


def _bad(msg: str) -> SerializationError:
    return SerializationError(f"{msg}; {SUPPORTED}")


def _sniff(buf: bytes) -> None:
    """Refuse pickle, PyTorch zip and numpy files by their magic bytes before parsing anything."""
    if buf[:4] == b"PK\x03\x04" or buf[:4] == b"PK\x05\x06":
        raise _bad(
            "this is a zip archive (PyTorch's torch.save format, which holds pickled code) and is refused: einframe never "
            "unpickles. Convert it in PyTorch with safetensors.torch.save_file(model.state_dict(), 'model.safetensors')"
        )
    # a safetensors header length of 0x280, 0x380, 0x480 or 0x580 bytes also starts with b"\x80\x02".."\x80\x05":
    # such a file (high length bytes zero, then the JSON header's "{") is not a pickle
    looks_safetensors = buf[2:8] == b"\x00" * 6 and buf[8:9] == b"{"
    if len(buf) >= 2 and buf[0] == 0x80 and 2 <= buf[1] <= 5 and not looks_safetensors:
        raise _bad("this is a pickle file and is refused: unpickling can run arbitrary code, so einframe never does it")
    if buf[:6] == b"\x93NUMPY":
        raise _bad("this is a numpy .npy file, not a safetensors file; load it with numpy.load(path, allow_pickle=False)")


def _no_dupes(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError(f"duplicate key {k!r} in the header")
        d[k] = v
    return d


def _parse(buf: bytes) -> tuple[dict[str, str], list[tuple[str, np.ndarray]]]:
    _sniff(buf)
    if len(buf) < 8:
        raise _bad(f"file too short to be a safetensors file ({len(buf)} bytes; the header length alone takes 8)")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER_BYTES:
        raise _bad(f"header length {n} exceeds the limit of {MAX_HEADER_BYTES} bytes (corrupt or not a safetensors file)")
    if n < 2 or 8 + n > len(buf):
        raise _bad(f"header of {n} bytes doesn't fit in the file of {len(buf)} bytes (truncated or not a safetensors file)")
    try:
        header = json.loads(buf[8 : 8 + n].decode("utf-8"), object_pairs_hook=_no_dupes)
    except (ValueError, RecursionError) as e:
        raise _bad(f"the header is not valid JSON ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(header, dict):
        raise _bad(f"the header must be a JSON object, got {type(header).__name__}")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise _bad("the header's __metadata__ must map strings to strings")
    data = memoryview(buf)[8 + n :]
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) - {"dtype", "shape", "data_offsets"}:
            raise _bad(f"tensor entry {name!r} must be an object with dtype, shape and data_offsets")
        tag, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if tag not in _TAG_TO_NP:
            raise _bad(f"tensor {name!r} has dtype {tag!r}, which einframe doesn't read (supported: {sorted(_TAG_TO_NP)})")
        if not isinstance(shape, list) or len(shape) > _MAX_DIMS or not all(type(s) is int and s >= 0 for s in shape):
            raise _bad(f"tensor {name!r} has an invalid shape {shape!r}")
        if not isinstance(offs, list) or len(offs) != 2 or not all(type(o) is int for o in offs):
            raise _bad(f"tensor {name!r} has invalid data_offsets {offs!r}")
        b, e = offs
        npd = _TAG_TO_NP[tag]
        count = math.prod(shape)
        if not 0 <= b <= e <= len(data) or e - b != count * npd.itemsize:
            raise _bad(
                f"tensor {name!r}: data_offsets {offs} don't match its shape {shape} and dtype {tag} within the {len(data)} "
                "data bytes of the file (truncated or corrupt)"
            )
        entries.append((b, e, name, tag, npd, shape, count))
    entries.sort(key=lambda x: x[:2])
    end = 0
    for b, e, name, *_ in entries:
        if b < end:
            raise _bad(f"tensor {name!r} overlaps the previous tensor's bytes (corrupt header)")
        end = e
    out = []
    for b, _e, name, tag, npd, shape, count in entries:
        a = np.frombuffer(data, dtype=npd, count=count, offset=b).reshape(tuple(shape))
        if tag == "BF16":
            a = (a.astype(np.uint32) << 16).view(np.float32)
        elif tag in ("U16", "U32"):
            a = a.astype(np.int64)
        else:
            a = a.astype(npd.newbyteorder("="), copy=True)  # own, writable, native-order memory
        out.append((name, a))
    return meta, out


def _target_device(saved: str, map_location) -> device:
    if map_location is None:
        dev = get_device(saved)
    elif isinstance(map_location, dict):
        dev = get_device(map_location.get(saved, saved))
    elif isinstance(map_location, (str, device)):
        dev = get_device(map_location)
    elif callable(map_location):
        dev = get_device(map_location(saved))
    else:
        raise TypeError(
            f"map_location must be None, a device, a str like 'cpu', a dict or a callable, got {type(map_location).__name__}"
        )
    if dev.type == "cuda":
        try:
            dev.xp  # noqa: B018 - raises when CUDA is not usable
        except RuntimeError as e:
            raise SerializationError(
                f"the file asks for device {dev} but it is not available ({e}); pass map_location='cpu' to ef.load"
            ) from None
    return dev


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray], map_location) -> None:
        self.arrays = arrays
        self.map_location = map_location
        self.done: dict[tuple[str, str], Tensor] = {}

    def tensor(self, ref: dict) -> Tensor:
        name = ref.get("$tensor")
        if not isinstance(name, str) or name not in self.arrays or set(ref) - {"$tensor", "requires_grad", "device"}:
            raise _bad(f"the structure refers to a tensor {name!r} that is not in the file")
        saved = ref.get("device", "cpu")
        try:
            dev = _target_device(saved, self.map_location) if isinstance(saved, str) else None
        except (RuntimeError, ValueError) as e:
            if isinstance(e, SerializationError):
                raise
            raise _bad(f"invalid device {saved!r} for tensor {name!r}") from None
        if dev is None:
            raise _bad(f"invalid device {saved!r} for tensor {name!r}")
        key = (name, str(dev))
        t = self.done.get(key)
        if t is None:
            a = self.arrays[name]
            t = Tensor._wrap(a if dev is CPU else to_backend(a, dev), dev)
            if ref.get("requires_grad") is True and a.dtype.kind == "f":
                t.requires_grad_(True)
            self.done[key] = t
        return t

    def dec(self, x: Any) -> Any:
        if x is None or isinstance(x, (bool, str, int, float)):
            return x
        if isinstance(x, list):
            return [self.dec(v) for v in x]
        if isinstance(x, dict) and len(x) >= 1:
            if "$tensor" in x:
                return self.tensor(x)
            if len(x) == 1:
                ((tag, v),) = x.items()
                if tag == "$tuple" and isinstance(v, list):
                    return tuple(self.dec(i) for i in v)
                if tag == "$dict" and isinstance(v, list):
                    out = {}
                    for pair in v:
                        if not isinstance(pair, list) or len(pair) != 2:
                            raise _bad("malformed dict entry in the structure")
                        k = self.dec(pair[0])
                        try:
                            out[k] = self.dec(pair[1])
                        except TypeError:
                            raise _bad(f"unhashable dict key {k!r} in the structure") from None
                    return out
                if tag == "$float" and v in ("inf", "-inf", "nan"):
                    return float(v)
                if tag == "$device" and isinstance(v, str):
                    try:
                        return device(v)
                    except (RuntimeError, TypeError):
                        raise _bad(f"invalid device {v!r} in the structure") from None
                if (
                    tag == "$dtype"
                    and isinstance(v, str)
                    and isinstance(getattr(_dt, v if v != "bool" else "bool_", None), _dt.dtype)
                ):
                    return getattr(_dt, v if v != "bool" else "bool_")
        raise _bad(f"unknown entry in the structure: {str(x)[:100]}")


def load(f: str | os.PathLike | IO[bytes], map_location: str | device | dict | None = None, *, weights_only: bool = True) -> Any:
    """Load what :func:`save` wrote (or any safetensors file) from a path or binary file object.

    A plain safetensors file (no einframe structure) loads as ``{name: Tensor}`` in file order.
    ``map_location`` moves tensors: ``'cpu'``, ``'cuda'``, an ``ef.device``, a dict mapping saved device
    names to new ones, or a callable; by default tensors return to the device they were saved from.
    ``weights_only`` is accepted for PyTorch compatibility: einframe only ever loads data.

    Raises :class:`SerializationError` for anything that is not a well-formed safetensors file.

    >>> import einframe as ef, io
    >>> try:
    ...     ef.load(io.BytesIO(b"\\x80\\x04K\\x01."))  # a pickle
    ... except ef.SerializationError as e:
    ...     print(str(e)[:40])
    this is a pickle file and is refused: un
    """
    if hasattr(f, "read"):
        buf = f.read()
        if not isinstance(buf, (bytes, bytearray)):
            raise TypeError("ef.load: the file object must be opened in binary mode ('rb')")
    else:
        with open(os.fspath(f), "rb") as fh:
            buf = fh.read()
    meta, arrays = _parse(bytes(buf))
    if "einframe" not in meta:
        dec = _Decoder(dict(arrays), map_location)
        return {name: dec.tensor({"$tensor": name}) for name, _ in arrays}
    try:
        structure = json.loads(meta["einframe"])
    except (ValueError, RecursionError):
        raise _bad("the einframe structure in the metadata is not valid JSON") from None
    try:
        return _Decoder(dict(arrays), map_location).dec(structure)
    except RecursionError:
        raise _bad("the einframe structure is nested too deeply") from None
