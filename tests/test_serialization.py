"""ef.save / ef.load: round trips, the no-pickle rule, fuzzed files, atomic writes, checkpoints and exact resume."""

import io
import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import einframe as ef
from einframe import nn
from einframe.serialization import MAX_HEADER_BYTES, SerializationError


def roundtrip(obj):
    buf = io.BytesIO()
    ef.save(obj, buf)
    buf.seek(0)
    return ef.load(buf)


def same(a, b):
    if isinstance(a, ef.Tensor):
        assert isinstance(b, ef.Tensor) and a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a.detach().numpy(), b.detach().numpy(), equal_nan=True)
        return
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("dtype", [ef.float16, ef.float32, ef.float64, ef.int8, ef.int16, ef.int32, ef.int64, ef.uint8, ef.bool])
def test_every_dtype_round_trips(dtype):
    x = (ef.randn(3, 4) * 10).to(dtype)
    same(roundtrip(x), x)
    same(roundtrip(x[0, 0]), x[0, 0])  # 0-d
    assert roundtrip(x[0, 0]).shape == ()


def test_non_contiguous_and_empty_and_shared():
    x = ef.randn(4, 6)
    views = [x.t(), x[:, ::2], x[1:3], ef.zeros(0, 3)]
    for v in views:
        same(roundtrip(v), v)
    out = roundtrip({"a": x, "b": x})
    assert out["a"] is out["b"]  # a tensor shared between entries is stored once


def test_nested_structure_round_trips_exactly():
    obj = {
        "epoch": 7,
        "loss": 0.123456789012345678,
        "ok": True,
        "none": None,
        "name": "résumé ✓",
        "betas": (0.9, 0.999),
        "nested": [1, [2, (3, "x")], {"k": [None, False]}],
        0: {"step": 3},
        -5: "neg",
        2.5: "float key",
        (1, 2): "tuple key",
        None: "none key",
        "big": 2**70,
        "inf": float("inf"),
        "nan": float("nan"),
        "dev": ef.device("cpu"),
        "dt": ef.float16,
        "np": np.float32(0.5),
    }
    out = roundtrip(obj)
    obj["np"] = 0.5
    same(out, obj)


def test_requires_grad_restored_grad_not_saved():
    w = ef.randn(2, requires_grad=True)
    w.sum().backward()
    out = roundtrip(w)
    assert out.requires_grad and out.grad is None and out.is_leaf


def test_unsupported_objects_raise_type_error():
    with pytest.raises(TypeError, match="can't store object"):
        ef.save({"f": object()}, io.BytesIO())
    with pytest.raises(TypeError, match="dict key"):
        ef.save({frozenset(): 1}, io.BytesIO())


def test_paths_and_file_objects(tmp_path):
    p = tmp_path / "x.safetensors"
    ef.save({"w": ef.ones(2)}, p)  # PathLike
    same(ef.load(str(p)), {"w": ef.ones(2)})
    with open(p, "rb") as f:
        same(ef.load(f), {"w": ef.ones(2)})
    with open(tmp_path / "y.safetensors", "wb") as f:
        ef.save([1, 2], f)
    assert ef.load(tmp_path / "y.safetensors") == [1, 2]
    with pytest.raises(IsADirectoryError):
        ef.save(1, tmp_path)


def test_file_is_standard_safetensors(tmp_path):
    p = tmp_path / "m.safetensors"
    x = ef.randn(2, 3)
    ef.save({"model": {"w": x}, "step": 1}, p)
    arrays = load_file(str(p))  # the safetensors library reads einframe's files
    assert len(arrays) == 1 and np.array_equal(next(iter(arrays.values())), x.numpy())


def test_plain_safetensors_loads_as_name_to_tensor(tmp_path):
    p = tmp_path / "torch_export.safetensors"
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    save_file({"0.weight": w, "0.bias": np.ones(2, np.float32), "mask": np.array([True, False])}, str(p))
    out = ef.load(p)
    assert set(out) == {"0.weight", "0.bias", "mask"}
    assert np.array_equal(out["0.weight"].numpy(), w) and out["mask"].dtype == ef.bool
    model = nn.Sequential(nn.Linear(3, 2))
    model.load_state_dict({k: v for k, v in out.items() if k != "mask"})
    assert np.array_equal(model[0].weight.detach().numpy(), w)


def test_bfloat16_widened_to_float32(tmp_path):
    vals = np.array([1.0, -2.5, 3.140625], dtype=np.float32)
    bf16 = (vals.view(np.uint32) >> 16).astype(np.uint16)
    header = json.dumps({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}).encode()
    data = struct.pack("<Q", len(header)) + header + bf16.tobytes()
    out = ef.load(io.BytesIO(data))
    assert out["x"].dtype == ef.float32 and out["x"].tolist() == vals.tolist()


def test_map_location(tmp_path):
    p = tmp_path / "m.safetensors"
    ef.save({"w": ef.ones(2)}, p)
    for loc in ("cpu", ef.device("cpu"), {"cpu": "cpu"}, lambda d: "cpu", None):
        assert ef.load(p, map_location=loc)["w"].device == ef.device("cpu")


@pytest.mark.skipif(not ef.cuda.is_available(), reason="needs a CUDA GPU with CuPy")
def test_map_location_cuda(tmp_path):
    p = tmp_path / "m.safetensors"
    ef.save({"w": ef.ones(2).cuda()}, p)
    assert ef.load(p)["w"].device == ef.device("cuda:0")
    assert ef.load(p, map_location="cpu")["w"].device == ef.device("cpu")
    assert ef.load(p, map_location="cuda")["w"].device == ef.device("cuda:0")


# --- no pickle, ever --------------------------------------------------------------------------------


class Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_pickle_is_refused_and_never_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for proto in (2, 3, 4, 5):
        data = pickle.dumps(Boom(), protocol=proto)
        with pytest.raises(SerializationError, match="pickle file and is refused.*safetensors"):
            ef.load(io.BytesIO(data))
    assert not os.path.exists("PWNED")


def test_pytorch_zip_is_refused(tmp_path):
    p = tmp_path / "model.pt"
    with zipfile.ZipFile(p, "w") as z:  # the layout torch.save writes
        z.writestr("archive/data.pkl", pickle.dumps({"a": 1}))
        z.writestr("archive/version", "3\n")
    with pytest.raises(SerializationError, match="zip archive.*safetensors.torch.save_file"):
        ef.load(p)


def test_save_never_pickles():
    with pytest.raises(TypeError):
        pickle.dumps(ef.ones(2))


# --- fuzzing: malformed files raise SerializationError and nothing else ------------------------------


def small_file() -> bytes:
    buf = io.BytesIO()
    ef.save({"w": ef.arange(4.0), "b": (1, ef.tensor([True])), 3: "x"}, buf)
    return buf.getvalue()


def load_bytes(data: bytes):
    return ef.load(io.BytesIO(data))


def test_truncation_at_every_offset():
    data = small_file()
    for n in range(len(data)):
        with pytest.raises(SerializationError):
            load_bytes(data[:n])


def test_random_bytes():
    rng = np.random.default_rng(1)
    for n in list(range(0, 40)) + [100, 1000, 5000]:
        for _ in range(5):
            with pytest.raises(SerializationError):
                load_bytes(rng.integers(0, 256, n, dtype=np.uint8).tobytes())


def test_random_byte_flips_raise_or_load():
    data = small_file()
    rng = np.random.default_rng(2)
    for _ in range(300):
        b = bytearray(data)
        for i in rng.integers(0, len(b), rng.integers(1, 4)):
            b[i] = rng.integers(0, 256)
        try:
            load_bytes(bytes(b))  # a flip in the tensor bytes still loads
        except SerializationError:
            pass


def make(header, data=b""):
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize(
    "blob",
    [
        struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}",
        struct.pack("<Q", 2**64 - 1) + b"{}",
        struct.pack("<Q", 1000) + b"{}",
        make(b"\xff\xfe not utf8"),
        make(b"{not json"),
        make(b"[1, 2]"),
        make(b"[" * 100000 + b"]" * 100000),
        make(b'{"a": 1, "a": 2}'),
        make({"__metadata__": {"k": 1}}),
        make({"__metadata__": "x"}),
        make({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4),
        make({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 8),
        make({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
        make({"x": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}, b"\0" * 4),
        make({"x": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 4]}}, b"\0" * 4),
        make({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4),
        make({"x": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, b"\0" * 4),
        make({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, b"\0" * 4),
        make({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, True]}}, b"\0" * 4),
        make({"x": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8),
        make({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "evil": 1}}, b"\0" * 4),
        make({"x": [1, 2]}),
        make(
            {
                "x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "y": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]},
            },
            b"\0" * 8,
        ),
        make({"__metadata__": {"einframe": "{bad"}}),
        make({"__metadata__": {"einframe": json.dumps({"$tensor": "missing"})}}),
        make({"__metadata__": {"einframe": json.dumps({"$pickle": "x"})}}),
        make({"__metadata__": {"einframe": json.dumps({"$dict": [[[1], 2]]})}}),
        make({"__metadata__": {"einframe": json.dumps({"$dict": [[1]]})}}),
        make({"__metadata__": {"einframe": json.dumps({"$float": "1e999x"})}}),
        make({"__metadata__": {"einframe": json.dumps({"$device": "tpu"})}}),
        make({"__metadata__": {"einframe": json.dumps({"$dtype": "__class__"})}}),
        make({"__metadata__": {"einframe": "[" * 50000 + "]" * 50000}}),
        make({"__metadata__": {"einframe": json.dumps({"$tensor": "x", "device": 5})}}, b""),
        b"\x93NUMPY\x01\x00",
        b"",
    ],
)
def test_corrupted_headers(blob):
    with pytest.raises(SerializationError):
        load_bytes(blob)


def test_deep_but_valid_structure_loads():
    obj = []
    for _ in range(50):
        obj = [obj]
    assert roundtrip(obj) == obj


def test_serialization_error_is_documented_type():
    assert issubclass(ef.SerializationError, RuntimeError)


# --- atomic writes -----------------------------------------------------------------------------------


def test_failed_save_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    import einframe.serialization as ser

    p = tmp_path / "ckpt.safetensors"
    ef.save({"v": 1}, p)
    before = p.read_bytes()

    def half_then_fail(f, head, arrays):
        f.write(head[: len(head) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(ser, "_write_payload", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        ef.save({"v": 2, "w": ef.ones(1000)}, p)
    assert p.read_bytes() == before and ef.load(p) == {"v": 1}
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_interrupted_replace_and_unencodable_object(tmp_path, monkeypatch):
    p = tmp_path / "ckpt.safetensors"
    ef.save({"v": 1}, p)

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ef.save({"v": 2}, p)
    monkeypatch.undo()
    with pytest.raises(TypeError):
        ef.save({"v": object()}, p)  # fails before anything is written
    assert ef.load(p) == {"v": 1} and os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_saved_file_permissions_follow_umask(tmp_path):
    p = tmp_path / "perm.safetensors"
    ef.save(1, p)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~umask


# --- checkpoints (the seed's dict) and exact resume -----------------------------------------------------


def make_run():
    ef.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = ef.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    sched = ef.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=20)
    return model, opt, sched


DATA = [(ef.tensor(np.random.default_rng(i).standard_normal((4, 5)), dtype=ef.float32),
         ef.tensor(np.random.default_rng(100 + i).standard_normal((4, 2)), dtype=ef.float32)) for i in range(12)]  # fmt: skip


def train(model, opt, sched, steps):
    loss_fn = nn.MSELoss()
    loss = None
    for x, y in steps:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
    return loss


def test_seed_checkpoint_dict_and_bit_identical_resume(tmp_path):
    model, opt, sched = make_run()
    train(model, opt, sched, DATA)
    reference = [p.detach().numpy().copy() for p in model.parameters()]

    model, opt, sched = make_run()
    loss = train(model, opt, sched, DATA[:5])
    path = tmp_path / "checkpoint.safetensors"
    ef.save(
        {
            "epoch": 5,
            "model_state_dict": model.state_dict(),
            "optimizer_state_dict": opt.state_dict(),
            "scheduler_state_dict": sched.state_dict(),
            "loss": loss,
        },
        path,
    )
    del model, opt, sched

    ef.manual_seed(123)  # a fresh process would initialise differently
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = ef.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
    sched = ef.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=20)
    ck = ef.load(path)
    assert ck["epoch"] == 5 and isinstance(ck["loss"], ef.Tensor) and ck["loss"].shape == ()
    model.load_state_dict(ck["model_state_dict"])
    opt.load_state_dict(ck["optimizer_state_dict"])
    sched.load_state_dict(ck["scheduler_state_dict"])
    train(model, opt, sched, DATA[5:])
    for a, b in zip(reference, model.parameters()):
        assert np.array_equal(a, b.detach().numpy())  # bit for bit
