"""Plugin host in-process: built-ins through the hooks, run-time plugins, conflicts, validation,
overrides, lookups, report; nn.build and optim.create on top of the registry."""

import types

import pluggy
import pytest

import einframe as ef
from einframe import nn
from einframe.nn.build import BuildError
from einframe.plugins import PluginConflictError, PluginHost, hookimpl


@pytest.fixture
def host():
    return PluginHost(autoload=False)


@pytest.fixture
def fresh_global(monkeypatch):
    """A fresh process-wide host that loads no installed plugin."""
    monkeypatch.setenv("EINFRAME_DISABLE_PLUGIN_AUTOLOAD", "1")
    ef.plugins.reset()
    yield
    ef.plugins.reset()


class Swish(nn.Module):
    def forward(self, x):
        return x * x.sigmoid()


class SwishPlugin:
    @hookimpl
    def register_layers(self, register):
        register("Swish", Swish)


# ---- built-ins --------------------------------------------------------------------------------


def test_builtin_registers_every_public_layer(host):
    expected = {n for n in nn.__all__ if isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module)}
    expected.discard("Module")
    assert expected <= set(host.names("layers"))
    for name in ("Linear", "LazyLinear", "ReLU", "Identity", "Flatten", "MSELoss", "Sequential", "ModuleList", "ModuleDict"):
        assert host.get("layers", name) is getattr(nn, name)
    assert host.names("hooks") == ["activation_stats", "nan_check"]
    assert host.source("layers", "Linear") == "einframe"


def test_builtin_initializers_and_optimizers_follow_their_packages(host):
    init = pytest.importorskip("einframe.nn.init")
    for name in getattr(init, "__all__", ()):
        if name.endswith("_"):
            assert host.get("initializers", name) is getattr(init, name)
    assert "calculate_gain" not in host.names("initializers")
    base = getattr(ef.optim, "Optimizer", None)
    for name in host.names("optimizers"):
        assert issubclass(host.get("optimizers", name), base)


def test_builtins_go_through_the_hooks(host):
    report = host.report()
    rec = report["einframe"]
    assert rec.source == "builtin" and rec.status == "loaded"
    assert rec.hooks == ["register_hooks", "register_initializers", "register_layers", "register_optimizers"]
    assert set(rec.registered["layers"]) == set(host.names("layers"))


def test_a_layer_added_to_nn_is_registered_without_touching_the_plugin(host, monkeypatch):
    class Brand(nn.Module):
        def forward(self, x):
            return x

    monkeypatch.setattr(nn, "Brand", Brand, raising=False)
    monkeypatch.setattr(nn, "__all__", [*nn.__all__, "Brand"])
    assert host.get("layers", "Brand") is Brand


# ---- lookups --------------------------------------------------------------------------------------


def test_unknown_name_lists_registered(host):
    with pytest.raises(KeyError, match="no layer named 'Linaer'.*Registered layers: .*Linear"):
        host.get("layers", "Linaer")
    with pytest.raises(KeyError, match="Did you mean 'Linear'"):
        host.get("layers", "linear")
    with pytest.raises(ValueError, match="unknown registry kind 'layer'"):
        host.names("layer")


def test_lazy_until_first_lookup():
    h = PluginHost(autoload=False)
    assert not h._loaded and h.pm.get_plugins() == set()
    h.names("layers")
    assert h._loaded and h.pm.has_plugin("einframe")


# ---- run-time plugins --------------------------------------------------------------------------


def test_register_and_unregister_plugin_object(host):
    plugin = SwishPlugin()
    assert host.register(plugin, name="swish") == "swish"
    assert host.get("layers", "Swish") is Swish
    rec = host.report()["swish"]
    assert rec.source == "runtime" and rec.registered == {"layers": ["Swish"]}
    host.unregister(plugin)
    assert "Swish" not in host.names("layers")
    with pytest.raises(ValueError, match="not registered"):
        host.unregister("swish")


def test_register_module_object(host):
    mod = types.ModuleType("my_einframe_plugin")

    @hookimpl
    def register_hooks(register):
        register("count_calls", lambda module, **kw: None)

    mod.register_hooks = register_hooks
    assert host.register(mod) == "my_einframe_plugin"
    assert "count_calls" in host.names("hooks")


def test_conflict_names_both_and_is_atomic(host):
    host.register(SwishPlugin(), name="first-dist")

    class OtherSwish(Swish):
        pass

    class Other:
        @hookimpl
        def register_layers(self, register):
            register("SwishVariant", Swish)  # a name no built-in registers
            register("Swish", OtherSwish)

        @hookimpl
        def register_hooks(self, register):
            register("other_hook", lambda m: None)

    with pytest.raises(PluginConflictError, match="layer 'Swish' is registered by both 'first-dist' and 'second-dist'"):
        host.register(Other(), name="second-dist")
    assert "SwishVariant" not in host.names("layers") and "other_hook" not in host.names("hooks")
    assert not host.pm.has_plugin("second-dist")


def test_same_object_twice_is_not_a_conflict(host):
    host.register(SwishPlugin(), name="a")
    host.register(SwishPlugin(), name="b")
    host.unregister("a")
    assert host.get("layers", "Swish") is Swish


def test_conflict_with_builtin_and_override(host):
    class Shadow:
        @hookimpl
        def register_layers(self, register):
            register("ReLU", Swish)

    with pytest.raises(PluginConflictError, match="'einframe' and 'shadow'"):
        host.register(Shadow(), name="shadow")

    class Override:
        @hookimpl
        def register_layers(self, register):
            register("ReLU", Swish, override=True)

    host.register(Override(), name="override")
    assert host.get("layers", "ReLU") is Swish
    host.unregister("override")
    assert host.get("layers", "ReLU") is nn.ReLU  # the built-in comes back


def test_same_name_twice_in_one_plugin(host):
    class Twice:
        @hookimpl
        def register_layers(self, register):
            register("A", Swish)
            register("A", Swish)

    with pytest.raises(PluginConflictError, match="registered twice"):
        host.register(Twice(), name="twice")


def test_hookimpls_are_validated_against_specs(host):
    class WrongArg:
        @hookimpl
        def register_layers(self, registry):
            pass

    with pytest.raises(pluggy.PluginValidationError, match="registry"):
        host.register(WrongArg(), name="wrong")

    class Typo:
        @hookimpl
        def register_layer(self, register):
            pass

    with pytest.raises(pluggy.PluginValidationError, match="unknown hook 'register_layer'"):
        host.register(Typo(), name="typo")
    assert not host.pm.has_plugin("typo")


def test_register_callback_checks_arguments(host):
    class BadName:
        @hookimpl
        def register_layers(self, register):
            register("", Swish)

    with pytest.raises(TypeError, match="non-empty string"):
        host.register(BadName(), name="bad-name")

    class NotCallable:
        @hookimpl
        def register_optimizers(self, register):
            register("Thing", 3)

    with pytest.raises(TypeError, match="must be callable"):
        host.register(NotCallable(), name="not-callable")


def test_duplicate_plugin_name(host):
    host.register(SwishPlugin(), name="dup")
    with pytest.raises(ValueError, match="already registered"):
        host.register(SwishPlugin(), name="dup")


def test_global_api(fresh_global):
    name = ef.plugins.register(SwishPlugin(), name="swish-global")
    try:
        assert "Swish" in ef.plugins.names("layers")
        assert ef.plugins.get("layers", "Swish") is Swish
        rep = ef.plugins.report()
        assert [r.distribution for r in rep.plugins if r.status == "loaded"] == ["einframe", "swish-global"]
        assert all(r.status == "disabled" for r in rep.plugins if r.source == "entry-point")
        assert rep["swish-global"].to_dict()["registered"] == {"layers": ["Swish"]}
        assert "swish-global" in str(rep)
    finally:
        ef.plugins.unregister(name)
    assert "Swish" not in ef.plugins.names("layers")


def test_hookimpl_is_exported_at_top_level():
    assert ef.hookimpl is ef.plugins.hookimpl
    assert ef.plugins.API_VERSION == "1.0"


# ---- nn.build ------------------------------------------------------------------------------------


def test_build_nested_sequential():
    net = nn.build(
        {
            "type": "Sequential",
            "layers": [
                {"type": "Linear", "in_features": 4, "out_features": 8},
                {"type": "ReLU"},
                {"type": "Sequential", "layers": [{"type": "Linear", "in_features": 8, "out_features": 1}]},
            ],
        }
    )
    assert isinstance(net, nn.Sequential) and isinstance(net[2][0], nn.Linear)
    assert net(ef.ones(3, 4)).shape == (3, 1)
    assert repr(nn.build([{"type": "ReLU"}])) == "Sequential(\n  (0): ReLU()\n)"


def test_build_named_containers():
    net = nn.build(
        {"type": "Sequential", "layers": {"fc": {"type": "Linear", "in_features": 2, "out_features": 2}, "act": {"type": "ReLU"}}}
    )
    assert list(net._modules) == ["fc", "act"]
    d = nn.build({"type": "ModuleDict", "layers": {"a": {"type": "Identity"}}})
    assert isinstance(d, nn.ModuleDict) and isinstance(d["a"], nn.Identity)
    ml = nn.build({"type": "ModuleList", "layers": [{"type": "Identity"}, {"type": "ReLU"}]})
    assert isinstance(ml, nn.ModuleList) and len(ml) == 2


def test_build_errors():
    with pytest.raises(KeyError, match=r"config.layers\[1\]: unknown layer type 'Relu'.*Did you mean 'ReLU'"):
        nn.build({"type": "Sequential", "layers": [{"type": "Identity"}, {"type": "Relu"}]})
    with pytest.raises(BuildError, match=r"config.layers\[0\]: bad arguments for Linear: .*in_feature"):
        nn.build({"type": "Sequential", "layers": [{"type": "Linear", "in_feature": 4, "out_features": 8}]})
    with pytest.raises(TypeError, match="missing the 'type' key"):
        nn.build({"layers": []})
    with pytest.raises(TypeError, match="expected a dict"):
        nn.build(3)
    with pytest.raises(BuildError, match="does not take named 'layers'"):
        nn.build({"type": "ModuleList", "layers": {"a": {"type": "ReLU"}}})


def test_build_plugin_layer_with_submodule_argument(fresh_global):
    class Residual(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            return x + self.body(x)

    class P:
        @hookimpl
        def register_layers(self, register):
            register("Residual", Residual)

    ef.plugins.register(P(), name="residual")
    m = nn.build({"type": "Residual", "body": {"type": "Linear", "in_features": 3, "out_features": 3}})
    assert isinstance(m.body, nn.Linear) and m(ef.ones(2, 3)).shape == (2, 3)


# ---- optim.create ------------------------------------------------------------------------------------


def test_optim_create_through_the_registry(fresh_global):
    class Plain:
        def __init__(self, params, lr=0.1):
            self.params, self.lr = list(params), lr

    class P:
        @hookimpl
        def register_optimizers(self, register):
            register("PlainDescent", Plain)

    ef.plugins.register(P(), name="plain")
    params = list(nn.Linear(2, 2).parameters())
    opt = ef.optim.create("PlainDescent", params, lr=0.5)
    assert isinstance(opt, Plain) and opt.lr == 0.5 and opt.params == params
    assert isinstance(ef.optim.create("plaindescent", params), Plain)  # case-insensitive fallback
    with pytest.raises(KeyError, match="no optimizer named 'Nope'"):
        ef.optim.create("Nope", params)


def test_optim_create_builtin_sgd_when_available():
    if "SGD" not in ef.plugins.names("optimizers"):
        pytest.skip("optimizers land in their own issue")
    opt = ef.optim.create("SGD", nn.Linear(2, 2).parameters(), lr=0.1)
    assert type(opt).__name__ == "SGD"


def test_every_hookspec_is_documented():
    import inspect
    import pathlib

    from einframe.plugins import hookspecs

    page = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "plugins.md").read_text()
    specs = [n for n, f in vars(hookspecs).items() if inspect.isfunction(f) and n.startswith("register_")]
    assert sorted(specs) == sorted(hookspecs.HOOK_FOR_KIND.values())
    for name in specs:
        assert f"`{name}(register)`" in page, name
    for env in (ef.plugins.ENV_DISABLE_AUTOLOAD, ef.plugins.ENV_ALLOW, ef.plugins.ENV_STRICT):
        assert env in page, env
