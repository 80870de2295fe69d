"""Module hooks: forward pre/post (kwargs, prepend, always_call), full backward (pre) hooks, global
hooks, idempotent handles, named hooks (nan_check, activation_stats), errors naming the module path."""

import numpy as np
import pytest

import einframe as ef
from einframe import nn
from einframe.nn.hooks import NonFiniteError
from einframe.nn.modules import module as module_mod


class Scale(nn.Module):
    def forward(self, x, factor=1.0):
        return x * factor


def test_forward_pre_hook_replaces_args_and_wraps_non_tuple():
    m = Scale()
    h1 = m.register_forward_pre_hook(lambda mod, args: args[0] + 1)  # non-tuple: wrapped
    assert m(ef.zeros(2)).tolist() == [1.0, 1.0]
    h1.remove()
    h2 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 3,))
    assert m(ef.ones(1)).tolist() == [3.0]
    h2.remove()
    h2.remove()  # idempotent
    assert m(ef.ones(1)).tolist() == [1.0]


def test_forward_pre_hook_with_kwargs():
    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {**kwargs, "factor": 5.0}), with_kwargs=True)
    assert m(ef.ones(1), factor=2.0).tolist() == [5.0]
    m2 = Scale()
    m2.register_forward_pre_hook(lambda mod, args, kwargs: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match="must return None or a tuple of"):
        m2(ef.ones(1))


def test_forward_hook_replaces_output_with_kwargs_and_order():
    m = Scale()
    calls = []
    m.register_forward_hook(lambda mod, args, out: calls.append("a"))
    m.register_forward_hook(lambda mod, args, out: calls.append("b"), prepend=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: out + kwargs["factor"], with_kwargs=True)
    out = m(ef.ones(1), factor=2.0)
    assert out.tolist() == [4.0]
    assert calls == ["b", "a"]


def test_forward_hook_always_call_runs_on_error():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append(out), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("never"))
    with pytest.raises(ValueError, match="boom"):
        m(ef.ones(1))
    assert seen == [None]


def test_handle_as_context_manager_and_hook_dicts_are_ordered():
    m = nn.Identity()
    with m.register_forward_hook(lambda mod, a, out: out * 0):
        assert m(ef.ones(1)).tolist() == [0.0]
    assert m(ef.ones(1)).tolist() == [1.0]
    assert len(m._forward_hooks) == 0


def test_full_backward_hook_sees_input_and_output_grads():
    m = nn.Linear(3, 2)
    x = ef.randn(4, 3, requires_grad=True)
    got = {}

    def hook(mod, grad_input, grad_output):
        got["gi"], got["go"] = grad_input, grad_output

    h = m.register_full_backward_hook(hook)
    m(x).sum().backward()
    assert got["go"][0].shape == (4, 2) and np.allclose(got["go"][0].numpy(), 1.0)
    expected = np.ones((4, 2), np.float32) @ m.weight.detach().numpy()
    assert np.allclose(got["gi"][0].numpy(), expected, atol=1e-6)
    assert np.allclose(x.grad.numpy(), expected, atol=1e-6)
    h.remove()
    got.clear()
    m(x).sum().backward()
    assert got == {}


def test_full_backward_hook_can_replace_grad_input():
    m = nn.Linear(2, 2)
    x = ef.ones(1, 2, requires_grad=True)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 0 + 7,))
    m(x).sum().backward()
    assert x.grad.tolist() == [[7.0, 7.0]]


def test_full_backward_pre_hook_replaces_grad_output():
    m = nn.Linear(2, 1)
    x = ef.ones(1, 2, requires_grad=True)
    seen = []
    m.register_full_backward_pre_hook(lambda mod, go: (go[0] * 2,))
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(go[0].tolist()))
    m(x).sum().backward()
    assert seen == [[[2.0]]]  # the full hook sees the replaced grad_output
    assert np.allclose(m.bias.grad.numpy(), [2.0])
    assert np.allclose(x.grad.numpy(), 2 * m.weight.detach().numpy())


def test_backward_hook_when_no_input_requires_grad():
    m = nn.Linear(2, 1)
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go[0].shape)))
    m(ef.ones(3, 2)).sum().backward()
    assert seen == [((None,), (3, 1))]
    m2 = nn.Linear(2, 1)
    m2.register_full_backward_hook(lambda mod, gi, go: (ef.ones(3, 2),))
    with pytest.raises(RuntimeError, match="no input requires gradient"):
        m2(ef.ones(3, 2)).sum().backward()


def test_backward_hooks_multiple_inputs_and_outputs():
    class Two(nn.Module):
        def forward(self, a, flag, b):
            return a * b, a + b

    m = Two()
    a = ef.randn(3, requires_grad=True)
    b = ef.randn(3)
    seen = {}
    m.register_full_backward_hook(lambda mod, gi, go: seen.update(gi=gi, go=go))
    p, s = m(a, True, b)
    (p.sum() + s.sum()).backward()
    assert len(seen["gi"]) == 2 and seen["gi"][1] is None  # one entry per tensor argument
    assert np.allclose(seen["gi"][0].numpy(), b.numpy() + 1)
    assert len(seen["go"]) == 2


def test_backward_hook_grads_are_correct_gradcheck():
    # the hook plumbing must not change gradients (float64 finite differences)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    for sub in m:
        sub.register_full_backward_hook(lambda mod, gi, go: None)
        sub.register_full_backward_pre_hook(lambda mod, go: None)
    x = ef.randn(5, 3, dtype=ef.float64, requires_grad=True)
    assert ef.autograd.gradcheck(lambda x: m(x), (x,))


def test_global_hooks_run_before_module_hooks():
    order = []
    m = nn.Identity()
    m.register_forward_pre_hook(lambda mod, a: order.append("local-pre"))
    m.register_forward_hook(lambda mod, a, o: order.append("local"))
    g1 = module_mod.register_module_forward_pre_hook(lambda mod, a: order.append("global-pre"))
    g2 = module_mod.register_module_forward_hook(lambda mod, a, o: order.append("global"))
    try:
        m(ef.ones(1))
    finally:
        g1.remove()
        g2.remove()
    assert order == ["global-pre", "local-pre", "global", "local"]
    order.clear()
    m(ef.ones(1))
    assert order == ["local-pre", "local"]


def test_global_backward_hooks():
    seen = []
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    x = ef.ones(1, 2, requires_grad=True)
    with module_mod.register_module_full_backward_hook(lambda mod, gi, go: seen.append(type(mod).__name__)):
        with module_mod.register_module_full_backward_pre_hook(lambda mod, go: seen.append("pre-" + type(mod).__name__)):
            net(x).sum().backward()
    assert seen[0] == "pre-Sequential"
    assert "Linear" in seen and "ReLU" in seen and seen[-1] == "Sequential"


# ---- errors name the module path ------------------------------------------------------------


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(20, 8), nn.ReLU())
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.features(x))


def test_error_names_module_path():
    with pytest.raises(RuntimeError, match=r"^features\.0 \(Linear\): expected last dimension 20, got 32") as ei:
        Classifier()(ef.ones(2, 32))
    assert ei.value.module_path == "features.0"


def test_error_from_grandchild_called_directly_and_root_unchanged():
    class Direct(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 3))

        def forward(self, x):
            return self.body[0](x)  # skips Sequential.__call__

    with pytest.raises(RuntimeError, match=r"^body\.0 \(Linear\): expected last dimension 3, got 4"):
        Direct()(ef.ones(4))
    with pytest.raises(RuntimeError, match=r"^expected last dimension 3, got 4"):
        nn.Linear(3, 3)(ef.ones(4))  # the root itself: the message is unchanged


def test_error_path_is_added_once():
    net = nn.Sequential(Classifier())
    with pytest.raises(RuntimeError) as ei:
        net(ef.ones(1, 5))
    assert str(ei.value).startswith("0.features.0 (Linear): expected last dimension 20, got 5")
    assert str(ei.value).count("(Linear)") == 1


# ---- named hooks ---------------------------------------------------------------------------------


def test_attach_hook_unknown_name_lists_registered():
    with pytest.raises(KeyError, match="no hook named 'nope'.*activation_stats, .*nan_check"):
        nn.Identity().attach_hook("nope")


def test_nan_check_forward_names_module():
    net = Classifier()
    h = net.attach_hook("nan_check")
    with ef.no_grad():
        net.head.weight.fill_(float("nan"))
    with pytest.raises(NonFiniteError, match=r"output of 'head' \(Linear\) contains non-finite values: 4 NaN") as ei:
        net(ef.ones(2, 20))
    assert not str(ei.value).startswith("head (Linear)")  # already named, not prefixed twice
    h.remove()
    h.remove()
    net(ef.ones(2, 20))  # removed: no error


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_check_gradient():
    class Blowup(nn.Module):
        def forward(self, x):
            return x.sqrt()  # d/dx sqrt at 0 is inf

    net = nn.Sequential(nn.Linear(2, 2), Blowup())
    with ef.no_grad():
        net[0].weight.zero_()
        net[0].bias.zero_()
    x = ef.ones(1, 2, requires_grad=True)
    with net.attach_hook("nan_check"):
        y = net(x).sum()
        with pytest.raises(NonFiniteError, match=r"gradient w.r.t. the input of '1' \(Blowup\)"):
            y.backward()


def test_nan_check_options():
    net = nn.Sequential(nn.Linear(2, 2))
    h = net.attach_hook("nan_check", grads=False, recurse=False)
    assert len(h.handles) == 1
    h.remove()


def test_activation_stats():
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    h = net.attach_hook("activation_stats")
    x = ef.randn(16, 4)
    out = net(x)
    s = h.stats["1"]
    a = out.detach().numpy().astype(np.float64)
    assert s["calls"] == 1 and s["numel"] == 64
    assert np.isclose(s["mean"], a.mean()) and np.isclose(s["std"], a.std(ddof=1))
    assert np.isclose(s["min"], a.min()) and np.isclose(s["max"], a.max())
    assert set(h.stats) == {"", "0", "1"}
    net(x)
    assert h.stats["1"]["calls"] == 2
    h.remove()
    net(x)
    assert h.stats["1"]["calls"] == 2
    h2 = net.attach_hook("activation_stats", history=True, recurse=False)
    net(x)
    net(x)
    assert len(h2.stats[""]["mean"]) == 2 and set(h2.stats) == {""}
    h2.remove()


def test_backward_hook_plumbing_keeps_forward_mode_tangents():
    import einframe.autograd.forward_ad as fwAD

    m = nn.Linear(2, 1).double()
    m.register_full_backward_hook(lambda *a: None)
    x = ef.ones(2, dtype=ef.float64)
    with fwAD.dual_level():
        y = m(fwAD.make_dual(x, ef.ones(2, dtype=ef.float64)))
        tangent = fwAD.unpack_dual(y).tangent
    assert np.allclose(tangent.detach().numpy(), m.weight.detach().numpy().sum())
