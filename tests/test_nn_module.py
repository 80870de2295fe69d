"""nn.Module: attribute routing, registration, traversal, state_dict, apply/to/train, repr, deepcopy."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import einframe as ef
from einframe import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 2)
        self.output = nn.Linear(2, 3)

    def forward(self, x):
        return self.output(self.hidden(x).relu())


# ---- routing and registration ---------------------------------------------------------------------


def test_assign_parameter_module_tensor_routes():
    m = nn.Module()
    m.w = nn.Parameter(ef.ones(2))
    m.sub = nn.Linear(2, 2)
    m.plain = ef.ones(3)  # a plain tensor stays a plain attribute
    m.number = 3
    assert list(m._parameters) == ["w"]
    assert list(m._modules) == ["sub"]
    assert "plain" in m.__dict__ and "plain" not in m._buffers
    assert m.w is m._parameters["w"]
    assert [n for n, _ in m.named_parameters()] == ["w", "sub.weight", "sub.bias"]


def test_assign_before_init_raises_attribute_error():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ef.ones(1))
            super().__init__()

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__\(\) call"):
        Bad()

    class BadModule(nn.Module):
        def __init__(self):
            self.l = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\) call"):
        BadModule()


def test_wrong_type_into_parameter_slot():
    m = nn.Linear(2, 2)
    with pytest.raises(
        TypeError, match=r"cannot assign 'einframe.Tensor' as parameter 'weight' \(einframe.nn.Parameter or None expected\)"
    ):
        m.weight = ef.ones(2, 2)
    m.bias = None  # None is allowed
    assert m.bias is None and "bias" in m._parameters
    with pytest.raises(TypeError, match=r"as child module 'sub' \(einframe.nn.Module or None expected\)"):
        mm = nn.Module()
        mm.sub = nn.ReLU()
        mm.sub = 3


def test_buffer_slot_type_check_and_update():
    m = nn.Module()
    m.register_buffer("running", ef.zeros(2))
    m.running = ef.ones(2)
    assert m._buffers["running"] is m.running
    with pytest.raises(TypeError, match="as buffer 'running'"):
        m.running = 5


def test_register_parameter_checks():
    m = nn.Module()
    with pytest.raises(
        TypeError, match=r"cannot assign 'einframe.Tensor' object to parameter 'w' \(einframe.nn.Parameter or None required\)"
    ):
        m.register_parameter("w", ef.ones(2))
    leaf = ef.ones(2, requires_grad=True)
    nonleaf = nn.Parameter(ef.ones(2))
    nonleaf.grad_fn = (leaf * 2).grad_fn  # simulate a computed parameter
    with pytest.raises(ValueError, match=r"compute the value in the forward\(\) method"):
        m.register_parameter("w", nonleaf)
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="empty string"):
        m.register_parameter("", None)
    with pytest.raises(TypeError, match="should be a string"):
        m.register_parameter(3, None)
    m.attr = 1
    with pytest.raises(KeyError, match="attribute 'attr' already exists"):
        m.register_parameter("attr", None)


def test_add_module_and_register_module():
    m = nn.Module()
    m.add_module("block 0", nn.ReLU())
    m.register_module("act", nn.Identity())
    assert list(m._modules) == ["block 0", "act"]
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(KeyError, match="contain"):
        m.add_module("a.b", nn.ReLU())


def test_reassign_moves_between_dicts_and_delattr():
    m = nn.Module()
    m.x = nn.Parameter(ef.ones(1))
    m.x = None
    assert m._parameters == {"x": None}
    del m.x
    assert "x" not in m._parameters
    m.y = nn.ReLU()
    del m.y
    assert "y" not in m._modules
    m.register_buffer("b", ef.zeros(1), persistent=False)
    del m.b
    assert "b" not in m._buffers and "b" not in m._non_persistent_buffers_set
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope  # noqa: B018


def test_plain_dict_pitfall_and_fixes():
    class Pitfall(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = {i: nn.Linear(2, 2) for i in range(2)}  # NOT registered

    assert list(Pitfall().parameters()) == []

    class FixSetattr(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = {i: nn.Linear(2, 2) for i in range(2)}
            for i in self.layers:
                setattr(self, f"part{i}", self.layers[i])

    class FixModuleDict(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleDict({str(i): nn.Linear(2, 2) for i in range(2)})

    assert len(list(FixSetattr().parameters())) == 4
    assert [n for n, _ in FixModuleDict().named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]


def test_get_submodule_parameter_buffer():
    net = nn.Sequential(nn.Sequential(nn.Linear(2, 3)), nn.ReLU())
    net[1].register_buffer("steps", ef.zeros(1))
    assert net.get_submodule("0.0") is net[0][0]
    assert net.get_submodule("") is net
    assert net.get_parameter("0.0.weight") is net[0][0].weight
    assert net.get_buffer("1.steps") is net[1].steps
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        net.get_submodule("0.nope")
    with pytest.raises(AttributeError, match="is not an nn.Module"):
        net.get_submodule("0.0.weight")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        net.get_parameter("1.steps")


def test_module_without_forward():
    with pytest.raises(NotImplementedError, match=r"Module \[Module\] is missing the required \"forward\" function"):
        nn.Module()(ef.ones(1))

    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward"):
        NoForward()(1)


def test_module_init_takes_no_arguments():
    with pytest.raises(TypeError, match="takes no arguments"):
        nn.Module(3)


# ---- traversal --------------------------------------------------------------------------------


def test_traversal_orders_and_dedup():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert [n for n, _ in net.named_modules()] == ["", "0", "1"]
    assert [n for n, _ in net.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert [n for n, _ in net.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(net.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in net.named_children()] == ["0", "1"]
    assert [n for n, _ in net.named_modules(prefix="model")] == ["model", "model.0", "model.1"]
    assert [n for n, _ in net.named_parameters(prefix="model")] == ["model.0.weight", "model.0.bias"]
    assert list(net.parameters(recurse=False)) == []
    assert len(list(net.modules())) == 3


def test_shared_parameter_between_modules():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.weight = a.weight
    net = nn.Sequential(a, b)
    names = [n for n, _ in net.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.bias"]
    assert list(net.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]  # state_dict keeps every key


def test_buffers_traversal_and_persistence():
    m = nn.Sequential(nn.Module())
    m[0].register_buffer("mean", ef.zeros(2))
    m[0].register_buffer("tmp", ef.ones(1), persistent=False)
    m[0].register_buffer("none", None)
    assert [n for n, _ in m.named_buffers()] == ["0.mean", "0.tmp"]
    assert list(m.state_dict()) == ["0.mean"]
    assert len(list(m.buffers())) == 2


# ---- state_dict / load_state_dict ---------------------------------------------------------------


def test_state_dict_detached_shares_memory_keep_vars():
    m = nn.Linear(3, 2)
    sd = m.state_dict()
    assert isinstance(sd, OrderedDict)
    assert not sd["weight"].requires_grad and not isinstance(sd["weight"], nn.Parameter)
    with ef.no_grad():
        m.weight.fill_(7.0)
    assert float(sd["weight"][0, 0]) == 7.0  # same memory
    assert m.state_dict(keep_vars=True)["weight"] is m.weight
    assert list(m.state_dict(prefix="fc.")) == ["fc.weight", "fc.bias"]


def test_load_state_dict_roundtrip_in_place():
    a, b = MLP(), MLP()
    w_before = b.hidden.weight
    result = b.load_state_dict(a.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.hidden.weight is w_before  # copied in place: optimizers keep working
    for (n1, p1), (n2, p2) in zip(a.named_parameters(), b.named_parameters()):
        assert n1 == n2 and np.array_equal(p1.detach().numpy(), p2.detach().numpy())
        assert p1._data is not p2._data


def test_load_state_dict_strict_errors_pytorch_wording():
    m = MLP()
    sd = m.state_dict()
    del sd["output.bias"]
    sd["extra.weight"] = ef.zeros(1)
    with pytest.raises(RuntimeError) as ei:
        m.load_state_dict(sd)
    msg = str(ei.value)
    assert msg.startswith("Error(s) in loading state_dict for MLP:")
    assert 'Missing key(s) in state_dict: "output.bias".' in msg
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in msg
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["output.bias"] and unexpected == ["extra.weight"]


def test_load_state_dict_size_mismatch():
    m = nn.Linear(4, 2)
    with pytest.raises(
        RuntimeError,
        match=r"size mismatch for weight: copying a param with shape einframe.Size\(\[3, 4\]\) from checkpoint, the shape in current model is einframe.Size\(\[2, 4\]\)",
    ):
        m.load_state_dict({"weight": ef.zeros(3, 4), "bias": ef.zeros(2)})
    with pytest.raises(RuntimeError, match="size mismatch"):  # even when not strict
        m.load_state_dict({"weight": ef.zeros(3, 4)}, strict=False)


def test_load_state_dict_casts_and_rejects_non_tensors():
    m = nn.Linear(2, 1)
    m.load_state_dict({"weight": ef.ones(1, 2, dtype=ef.float64), "bias": ef.zeros(1, dtype=ef.float64)})
    assert m.weight.dtype == ef.float32 and float(m.weight.sum()) == 2.0
    with pytest.raises(RuntimeError, match="expected einframe.Tensor"):
        m.load_state_dict({"weight": [[1.0, 2.0]], "bias": ef.zeros(1)})
    with pytest.raises(TypeError, match="dict-like"):
        m.load_state_dict([1, 2])


def test_load_state_dict_assign():
    m = nn.Linear(2, 1)
    w = ef.ones(1, 2)
    m.load_state_dict({"weight": w, "bias": ef.zeros(1)}, assign=True)
    assert isinstance(m.weight, nn.Parameter) and m.weight._data is w._data


def test_load_state_dict_buffers_and_submodule():
    class WithBuf(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("running", ef.zeros(2))
            self.register_buffer("scratch", ef.zeros(2), persistent=False)

    a, b = WithBuf(), WithBuf()
    a.running.fill_(3.0)
    b.load_state_dict(a.state_dict())
    assert b.running.tolist() == [3.0, 3.0]
    net = MLP()
    net.hidden.load_state_dict(nn.Linear(4, 2).state_dict())  # a single layer's state


def test_extra_state():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.count = 0

        def get_extra_state(self):
            return {"count": self.count}

        def set_extra_state(self, state):
            self.count = state["count"]

    a = Counter()
    a.count = 5
    sd = a.state_dict()
    assert sd["_extra_state"] == {"count": 5}
    b = Counter()
    b.load_state_dict(sd)
    assert b.count == 5


def test_load_state_dict_post_hook():
    m = nn.Linear(1, 1)
    seen = []
    h = m.register_load_state_dict_post_hook(lambda mod, keys: seen.append(keys))
    m.load_state_dict(m.state_dict())
    h.remove()
    m.load_state_dict(m.state_dict())
    assert len(seen) == 1


# ---- apply / to / train / zero_grad ---------------------------------------------------------------


def test_apply_children_first_then_self():
    order = []
    net = nn.Sequential(nn.Sequential(nn.ReLU()), nn.Identity())
    assert net.apply(lambda m: order.append(type(m).__name__)) is net
    assert order == ["ReLU", "Sequential", "Identity", "Sequential"]


def test_to_keeps_parameter_identity_and_integer_buffers():
    m = nn.Linear(2, 2)
    m.register_buffer("count", ef.zeros(1, dtype=ef.int64))
    w = m.weight
    m(ef.ones(2)).sum().backward()
    assert m.to(ef.float64) is m
    assert m.weight is w and w.dtype == ef.float64 and isinstance(w, nn.Parameter)
    assert w.grad.dtype == ef.float64
    assert m.count.dtype == ef.int64
    m.float()
    assert m.weight.dtype == ef.float32
    m.double()
    assert m.bias.dtype == ef.float64
    m.to("cpu", dtype=ef.float32)
    assert m.weight.dtype == ef.float32 and m.cpu() is m
    m.to(ef.zeros(1, dtype=ef.float64))
    assert m.weight.dtype == ef.float64
    with pytest.raises(TypeError, match="floating point"):
        m.to(ef.int64)
    assert m.weight.requires_grad and m.weight.is_leaf


def test_train_eval_requires_grad_zero_grad():
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    assert net.training
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("yes")
    net(ef.ones(2)).sum().backward()
    net.zero_grad(set_to_none=False)
    assert net[0].weight.grad.abs().sum().item() == 0.0
    net.zero_grad()
    assert net[0].weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


# ---- repr / dir / copy ------------------------------------------------------------------------


def test_repr_nested_like_pytorch():
    def block1():
        return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())

    def block2():
        net = nn.Sequential()
        for i in range(2):
            net.add_module(f"block {i}", block1())
        return net

    net = nn.Sequential(block2(), nn.Linear(4, 1))
    expected = """Sequential(
  (0): Sequential(
    (block 0): Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=4, bias=True)
      (3): ReLU()
    )
    (block 1): Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=4, bias=True)
      (3): ReLU()
    )
  )
  (1): Linear(in_features=4, out_features=1, bias=True)
)"""
    assert repr(net) == expected
    assert net[0][1][0].bias.shape == (8,)


def test_repr_extra_repr_multiline_and_custom():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(1, 1)

        def extra_repr(self):
            return "alpha=1"

    assert repr(Custom()) == "Custom(\n  alpha=1\n  (fc): Linear(in_features=1, out_features=1, bias=True)\n)"
    assert repr(nn.Module()) == "Module()"


def test_dir_lists_children_and_parameters():
    m = MLP()
    d = dir(m)
    assert "hidden" in d and "forward" in d
    assert "weight" in dir(m.hidden)


def test_deepcopy_is_independent_and_keeps_sharing():
    shared = nn.Linear(2, 2)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    net.register_forward_hook(lambda m, a, o: None)
    c = copy.deepcopy(net)
    assert c[0] is c[2] and c[0] is not shared
    assert c[0].weight is not shared.weight
    assert np.array_equal(c[0].weight.detach().numpy(), shared.weight.detach().numpy())
    with ef.no_grad():
        c[0].weight.fill_(0.0)
    assert float(shared.weight.abs().sum()) > 0
    assert isinstance(c[0].weight, nn.Parameter) and c[0].weight.requires_grad
    assert len(c._forward_hooks) == 1


def test_no_pickle():
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(nn.Linear(1, 1))


def test_parameter_basics():
    p = nn.Parameter(ef.zeros(2))
    assert p.requires_grad and p.is_leaf and isinstance(p, ef.Tensor)
    assert repr(p) == "Parameter containing:\ntensor([0., 0.], requires_grad=True)"
    q = nn.Parameter(ef.zeros(2), requires_grad=False)
    assert not q.requires_grad
    y = p * 2
    assert type(y) is ef.Tensor  # ops give plain tensors
    t = ef.ones(3)
    assert nn.Parameter(t)._data is t._data  # shares memory
    with pytest.raises(TypeError, match="expected a Tensor"):
        nn.Parameter([1.0])
    assert tuple(nn.Parameter().shape) == (0,)


def test_in_place_update_under_no_grad_keeps_parameter():
    m = nn.Linear(2, 1)
    w = m.weight
    m(ef.ones(2)).sum().backward()
    with ef.no_grad():
        for p in m.parameters():
            p -= 0.1 * p.grad
    assert m.weight is w and w.is_leaf and w.requires_grad
