"""ChainDataset, StackDataset, WeightedRandomSampler and get_worker_info in ef.utils.data."""

import numpy as np
import pytest

import einframe as ef
from einframe.utils.data import (
    ChainDataset,
    DataLoader,
    IterableDataset,
    StackDataset,
    TensorDataset,
    WeightedRandomSampler,
    get_worker_info,
)


class Count(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


def test_chain_dataset():
    chain = ChainDataset([Count(0, 3), Count(10, 12)])
    assert list(chain) == [0, 1, 2, 10, 11]
    assert list(chain) == [0, 1, 2, 10, 11]  # re-iterable
    assert len(chain) == 5
    assert [b.tolist() for b in DataLoader(chain, batch_size=2)] == [[0, 1], [2, 10], [11]]
    added = Count(0, 2) + Count(5, 6)
    assert isinstance(added, ChainDataset) and list(added) == [0, 1, 5]


def test_chain_dataset_rejects_map_style():
    chain = ChainDataset([Count(0, 2), TensorDataset(ef.arange(3.0))])
    with pytest.raises(TypeError, match="ChainDataset only supports IterableDataset"):
        list(chain)
    with pytest.raises(TypeError, match="ChainDataset only supports IterableDataset"):
        len(chain)


def test_stack_dataset_tuple_and_dict():
    x = ef.arange(6.0).reshape(3, 2)
    labels = ["a", "b", "c"]
    st = StackDataset(TensorDataset(x), labels)
    assert len(st) == 3
    (row,), lab = st[1]
    assert row.tolist() == [2.0, 3.0] and lab == "b"
    sd = StackDataset(x=x, label=labels)
    assert len(sd) == 3 and sd[2]["label"] == "c" and sd[2]["x"].tolist() == [4.0, 5.0]
    batch = next(iter(DataLoader(sd, batch_size=3)))
    assert tuple(batch["x"].shape) == (3, 2) and batch["label"] == labels


def test_stack_dataset_errors():
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset([1, 2], [1])
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(a=[1, 2], b=[1, 2, 3])
    with pytest.raises(ValueError, match="both types are given"):
        StackDataset([1], b=[1])
    with pytest.raises(ValueError, match="At least one dataset should be passed"):
        StackDataset()


def test_weighted_sampler_distribution_and_len():
    sampler = WeightedRandomSampler([1.0, 0.0, 3.0], 4000, generator=0)
    draws = np.array(list(sampler))
    assert len(sampler) == 4000 and len(draws) == 4000
    assert not np.any(draws == 1)
    assert abs((draws == 2).mean() - 0.75) < 0.03
    assert sampler.weights.dtype == ef.float64 and sampler.weights.tolist() == [1.0, 0.0, 3.0]


def test_weighted_sampler_reproducible_with_manual_seed_and_generator():
    s = WeightedRandomSampler(ef.tensor([0.1, 0.2, 0.3, 0.4]), 20)
    ef.manual_seed(123)
    a = list(s)
    ef.manual_seed(123)
    b = list(s)
    assert a == b
    assert list(s) != a  # the global stream moves on between epochs
    g1 = WeightedRandomSampler(np.array([1, 2, 3, 4]), 20, generator=np.random.default_rng(7))
    g2 = WeightedRandomSampler(np.array([1, 2, 3, 4]), 20, generator=np.random.default_rng(7))
    assert list(g1) == list(g2)
    assert list(WeightedRandomSampler([1, 2], 8, generator=5)) == list(WeightedRandomSampler([1, 2], 8, generator=5))


def test_weighted_sampler_without_replacement():
    draws = list(WeightedRandomSampler([1.0, 1.0, 5.0, 1.0], 4, replacement=False, generator=1))
    assert sorted(draws) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler([1.0, 1.0], 3, replacement=False)


def test_weighted_sampler_argument_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0], 2.5)
    with pytest.raises(ValueError, match="replacement should be a boolean"):
        WeightedRandomSampler([1.0], 2, replacement=1)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(RuntimeError, match="invalid multinomial distribution"):
        WeightedRandomSampler([1.0, -1.0], 2)


def test_weighted_sampler_in_dataloader():
    ds = TensorDataset(ef.arange(4.0), ef.arange(4))
    sampler = WeightedRandomSampler([0.0, 0.0, 1.0, 1.0], 6, generator=3)
    loader = DataLoader(ds, batch_size=4, sampler=sampler)
    assert len(loader) == 2
    ys = [y for _, yb in loader for y in yb.tolist()]
    assert len(ys) == 6 and set(ys) <= {2, 3}


def test_get_worker_info_is_none():
    assert get_worker_info() is None
    seen = []

    class Probe(IterableDataset):
        def __iter__(self):
            seen.append(get_worker_info())
            return iter([1])

    list(DataLoader(Probe()))
    assert seen == [None]


def test_distributed_sampler_partitions_the_dataset():
    from einframe.utils.data import DistributedSampler

    for n, reps, drop in [(10, 3, False), (10, 3, True), (5, 2, False), (2, 5, False)]:
        shares = [
            list(DistributedSampler(range(n), num_replicas=reps, rank=r, shuffle=False, drop_last=drop)) for r in range(reps)
        ]
        assert len({len(s) for s in shares}) == 1  # equal shares
        flat = sorted(i for s in shares for i in s)
        if drop:
            assert len(flat) == n - n % reps and len(set(flat)) == len(flat)
        else:  # every index at least once, padded by repeating the start
            assert set(flat) == set(range(n)) and len(flat) == -(-n // reps) * reps
    # shuffled: the same permutation on every replica for an epoch, a new one per epoch, disjoint shares
    samplers = [DistributedSampler(range(12), num_replicas=3, rank=r, seed=7) for r in range(3)]
    first = [list(s) for s in samplers]
    assert sorted(sum(first, [])) == list(range(12))
    for s in samplers:
        s.set_epoch(1)
    second = [list(s) for s in samplers]
    assert sorted(sum(second, [])) == list(range(12)) and first != second
    assert [list(s) for s in samplers] == second  # deterministic given seed and epoch
    with pytest.raises(RuntimeError, match="num_replicas= and rank="):
        DistributedSampler(range(3))
    with pytest.raises(ValueError, match="Invalid rank 3"):
        DistributedSampler(range(3), num_replicas=3, rank=3)
