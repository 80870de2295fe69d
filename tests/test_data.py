"""ef.utils.data and ef.datasets."""

import gzip

import numpy as np
import pytest

import einframe as ef
from einframe.datasets import IDXError, read_idx, write_idx
from einframe.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    random_split,
)


def ds10():
    return TensorDataset(ef.arange(20.0).reshape(10, 2), ef.arange(10))


def test_tensor_dataset_and_batches():
    ds = ds10()
    assert len(ds) == 10 and ds[3][1].item() == 3
    batches = list(DataLoader(ds, batch_size=4))
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == (4, 2)
    assert len(DataLoader(ds, batch_size=4)) == 3
    dl = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 and [b[1].tolist() for b in dl] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(ef.zeros(3), ef.zeros(4))


def test_shuffle_is_seeded_and_a_permutation():
    ef.manual_seed(5)
    a = [b[1].tolist() for b in DataLoader(ds10(), batch_size=3, shuffle=True)]
    ef.manual_seed(5)
    b = [b[1].tolist() for b in DataLoader(ds10(), batch_size=3, shuffle=True)]
    assert a == b and sorted(sum(a, [])) == list(range(10)) and sum(a, []) != list(range(10))
    dl = DataLoader(ds10(), batch_size=10, shuffle=True, generator=7)
    e1, e2 = (next(iter(dl))[1].tolist() for _ in range(2))
    assert e1 == next(iter(DataLoader(ds10(), batch_size=10, shuffle=True, generator=7)))[1].tolist()
    assert e1 == e2  # an int seed restarts the stream each epoch; pass a numpy Generator for fresh orders
    g = np.random.default_rng(0)
    dl = DataLoader(ds10(), batch_size=10, shuffle=True, generator=g)
    assert next(iter(dl))[1].tolist() != next(iter(dl))[1].tolist()


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    ef.manual_seed(0)
    r = list(RandomSampler(range(6)))
    assert sorted(r) == list(range(6))
    assert len(list(RandomSampler(range(6), replacement=True, num_samples=20))) == 20
    assert len(list(RandomSampler(range(4), num_samples=10))) == 10
    assert sorted(SubsetRandomSampler([7, 8, 9])) == [7, 8, 9]
    assert list(BatchSampler(range(5), 2, drop_last=True)) == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(5), 0, False)
    dl = DataLoader(ds10(), sampler=[9, 8, 7], batch_size=2)
    assert [b[1].tolist() for b in dl] == [[9, 8], [7]]
    dl = DataLoader(ds10(), batch_sampler=[[0, 5], [2]])
    assert [b[1].tolist() for b in dl] == [[0, 5], [2]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds10(), batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds10(), sampler=[0], shuffle=True)


def test_default_collate():
    b = default_collate([(ef.zeros(2), 1, 0.5, "a", {"m": np.ones(3)}), (ef.ones(2), 2, 1.5, "b", {"m": np.zeros(3)})])
    x, ints, floats, strs, d = b
    assert isinstance(b, list) and x.shape == (2, 2)
    assert ints.dtype == ef.int64 and ints.tolist() == [1, 2]
    assert floats.dtype == ef.float64 and floats.tolist() == [0.5, 1.5]
    assert strs == ["a", "b"] and d["m"].shape == (2, 3)
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object()])
    dl = DataLoader(list(range(5)), batch_size=2, collate_fn=lambda b: sum(b))
    assert list(dl) == [1, 5, 4]
    assert [[t.tolist() for t in s] for s in DataLoader(ds10(), batch_size=None, sampler=[1])] == [[[2.0, 3.0], 1]]


def test_dict_dataset():
    class D(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {"x": ef.full((2,), float(i)), "y": i}

    (b,) = list(DataLoader(D(), batch_size=3))
    assert b["x"].tolist() == [[0, 0], [1, 1], [2, 2]] and b["y"].tolist() == [0, 1, 2]


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(), shuffle=True)


def test_random_split_subset_concat():
    ef.manual_seed(0)
    a, b, c = random_split(ds10(), [5, 3, 2])
    idx = a.indices + b.indices + c.indices
    assert sorted(idx) == list(range(10)) and (len(a), len(b), len(c)) == (5, 3, 2)
    x, y = random_split(range(11), [0.7, 0.3], generator=0)
    assert (len(x), len(y)) == (8, 3)  # floor(7.7)=7, floor(3.3)=3, the remainder goes round-robin
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(range(10), [5, 6])
    s = Subset(ds10(), [9, 1])
    assert s[0][1].item() == 9 and len(s) == 2
    cat = ConcatDataset([s, ds10()])
    assert len(cat) == 12 and cat[2][1].item() == 0 and cat[-1][1].item() == 9
    assert len(s + s) == 4


def test_num_workers_warns():
    with pytest.warns(UserWarning, match="main process"):
        DataLoader(ds10(), num_workers=2)


# --- datasets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_round_trip(tmp_path, dtype):
    a = (np.arange(24).reshape(2, 3, 4) % 100).astype(dtype)
    write_idx(tmp_path / "a.idx", a)
    assert np.array_equal(read_idx(tmp_path / "a.idx"), a) and read_idx(tmp_path / "a.idx").dtype == dtype


def test_idx_errors(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x05abc")
    with pytest.raises(IDXError, match="needs 5 data bytes"):
        read_idx(p)
    p.write_bytes(b"PK\x03\x04")
    with pytest.raises(IDXError, match="not an IDX file"):
        read_idx(p)
    p.write_bytes(b"\x1f\x8b broken gzip")
    with pytest.raises(IDXError):
        read_idx(p)


def test_mnist_reader_plain_and_gz(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 28, 28)).astype(np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "train-images-idx3-ubyte.gz", imgs)
    write_idx(raw / "train-labels-idx1-ubyte.gz", labels)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", imgs[:2])
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:2])
    with gzip.open(raw / "train-labels-idx1-ubyte.gz") as f:
        assert f.read(4) == b"\x00\x00\x08\x01"
    train = ef.datasets.MNIST(tmp_path)
    test = ef.datasets.MNIST(tmp_path, train=False, target_transform=lambda y: y * 10)
    assert len(train) == 5 and len(test) == 2
    x, y = train[2]
    assert x.shape == (1, 28, 28) and x.dtype == ef.float32 and y == 4
    np.testing.assert_allclose(x.numpy()[0], imgs[2] / 255.0, rtol=1e-6)
    assert test[1][1] == 10
    xb, yb = next(iter(DataLoader(train, batch_size=5)))
    assert xb.shape == (5, 1, 28, 28) and yb.tolist() == [3, 1, 4, 1, 5]
    with pytest.raises(FileNotFoundError, match="train-images"):
        ef.datasets.MNIST(tmp_path / "nowhere")
    with pytest.raises(RuntimeError, match="does not download"):
        ef.datasets.MNIST(tmp_path, download=True)


def test_load_digits_or_clear_import_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *a, **k):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ImportError, match=r"pip install einframe\[examples\]"):
        ef.datasets.load_digits()


def test_load_digits():
    pytest.importorskip("sklearn")
    ds = ef.datasets.load_digits()
    assert len(ds) == 1797 and ds[0][0].shape == (1, 8, 8)
    big = ef.datasets.load_digits(size=28)
    x = big.tensors[0]
    assert x.shape == (1797, 1, 28, 28) and x.dtype == ef.float32
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
    # bilinear upsampling keeps the mean intensity close
    assert abs(float(x.mean()) - float(ds.tensors[0].mean())) < 0.02
    flat = ef.datasets.load_digits(flatten=True)
    assert flat[0][0].shape == (64,) and flat[5][1].dtype == ef.int64
