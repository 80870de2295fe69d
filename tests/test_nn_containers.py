"""Containers: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict."""

from collections import OrderedDict

import pytest

import einframe as ef
from einframe import nn


def test_sequential_positional_and_ordereddict():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    assert list(net._modules) == ["0", "1"]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert list(named._modules) == ["fc", "act"] and isinstance(named.fc, nn.Linear)
    assert named(ef.ones(1, 2)).shape == (1, 3)


def test_sequential_indexing():
    a, b, c = nn.Linear(1, 1), nn.ReLU(), nn.Identity()
    net = nn.Sequential(a, b, c)
    assert net[0] is a and net[-1] is c and net[-3] is a
    sl = net[1:]
    assert isinstance(sl, nn.Sequential) and list(sl) == [b, c] and list(sl._modules) == ["1", "2"]
    with pytest.raises(IndexError, match="out of range"):
        net[3]
    with pytest.raises(IndexError):
        net[-4]
    net[1] = nn.Flatten()
    assert isinstance(net[1], nn.Flatten)
    assert len(net) == 3 and list(iter(net))[0] is a


def test_sequential_nested_indexing():
    inner = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    net = nn.Sequential(nn.Sequential(nn.Identity(), inner), nn.Linear(8, 1))
    assert net[0][1][0] is inner[0]


def test_sequential_mutation():
    net = nn.Sequential(nn.ReLU())
    net.append(nn.Identity())
    net.insert(0, nn.Flatten())
    assert [type(m).__name__ for m in net] == ["Flatten", "ReLU", "Identity"]
    assert list(net._modules) == ["0", "1", "2"]
    net.extend([nn.ReLU(), nn.ReLU()])
    assert len(net) == 5
    popped = net.pop(0)
    assert isinstance(popped, nn.Flatten) and list(net._modules) == ["0", "1", "2", "3"]
    del net[1:3]
    assert len(net) == 2 and list(net._modules) == ["0", "1"]
    net.insert(-1, nn.Identity())
    assert type(net[1]).__name__ == "Identity"
    assert len(net + nn.Sequential(nn.ReLU())) == 4
    assert len(net * 2) == 6
    with pytest.raises(IndexError):
        net.insert(10, nn.ReLU())


def test_sequential_forward_chains():
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    x = ef.randn(3, 4)
    assert net(x).allclose(net[2](net[1](net[0](x))))
    assert nn.Sequential()(x) is x


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(layers.parameters())) == 6
    assert repr(layers) == "ModuleList(\n  (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)\n)"
    layers.append(nn.ReLU())
    layers.insert(0, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Identity", "Linear", "Linear", "Linear", "ReLU"]
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    assert layers[-1] is layers[4]
    del layers[0]
    assert list(layers._modules) == ["0", "1", "2", "3"]
    layers += [nn.Identity()]
    assert len(layers) == 5
    assert isinstance(layers.pop(-1), nn.Identity)
    with pytest.raises(NotImplementedError, match=r"Module \[ModuleList\] is missing the required \"forward\" function"):
        layers(ef.ones(1))
    with pytest.raises(IndexError):
        layers[10]
    assert repr(nn.ModuleList()) == "ModuleList()"


def test_module_dict():
    d = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
    assert list(d) == ["cls", "reg"] and "cls" in d and len(d) == 2
    d["act"] = nn.ReLU()
    assert list(d.keys()) == ["cls", "reg", "act"]
    assert [k for k, _ in d.items()] == ["cls", "reg", "act"]
    assert isinstance(d.pop("act"), nn.ReLU)
    d.update([("extra", nn.Identity())])
    assert "extra" in d
    del d["extra"]
    assert [n for n, _ in d.named_parameters()] == ["cls.weight", "cls.bias", "reg.weight", "reg.bias"]
    d.clear()
    assert len(d) == 0
    with pytest.raises(ValueError, match="length 3"):
        d.update([("a", nn.ReLU(), 1)])


def test_parameter_list():
    pl = nn.ParameterList([nn.Parameter(ef.ones(2, 2)), ef.zeros(3)])
    assert all(isinstance(p, nn.Parameter) for p in pl)
    assert len(pl) == 2 and len(list(pl.parameters())) == 2
    pl.append(ef.ones(1))
    assert pl[-1].shape == (1,)
    pl[0] = ef.full((2,), 5.0)
    assert isinstance(pl[0], nn.Parameter) and pl[0].tolist() == [5.0, 5.0]
    # PyTorch's own quirk: a one-element list prints on one line
    assert repr(nn.ParameterList([ef.ones(2, 3)])) == "ParameterList(  (0): Parameter containing: [einframe.float32 of size 2x3])"
    two = "ParameterList(\n    (0): Parameter containing: [einframe.float32 of size 2x3]\n    (1): Parameter containing: [einframe.float32 of size 1]\n)"
    assert repr(nn.ParameterList([ef.ones(2, 3), ef.ones(1)])) == two
    assert len(pl[0:2]) == 2
    with pytest.raises(RuntimeError, match="should not be called"):
        pl(1)


def test_parameter_dict():
    pd = nn.ParameterDict({"b": ef.ones(1), "a": nn.Parameter(ef.zeros(2))})
    assert list(pd) == ["a", "b"]  # a plain dict is sorted, as in PyTorch
    assert isinstance(pd["b"], nn.Parameter)
    pd["c"] = ef.ones(3)
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "c"]
    assert pd.get("zzz") is None and "c" in pd
    assert pd.pop("c").shape == (3,)
    assert pd.setdefault("d", ef.ones(1)).shape == (1,)
    assert len(pd.copy()) == 3
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []
    with pytest.raises(TypeError, match="not a string"):
        pd[3] = ef.ones(1)
