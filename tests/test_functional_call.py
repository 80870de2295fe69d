"""ef.func.functional_call / stack_module_state / functionalize and nn.utils.stateless.

Known values were checked against PyTorch 2.x by hand (torch.func.functional_call); references in
the tests themselves are numpy, ordinary ``backward`` and Python loops.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import einframe as ef
from einframe import nn
from einframe.func import functional_call, grad, jacfwd, jacrev, jvp, stack_module_state, vjp, vmap


def N(t):
    return t.detach().numpy()


def T(a):
    return ef.tensor(np.asarray(a, dtype=np.float64), dtype=ef.float64)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))

    def forward(self, x, scale=1.0):
        return self.layers(x) * scale


class Tied(nn.Module):
    """PyTorch's docstring example: ``foo`` and ``foo_tied`` are one parameter."""

    def __init__(self):
        super().__init__()
        self.foo = nn.Parameter(ef.ones(()))
        self.foo_tied = self.foo

    def forward(self, x):
        return x + self.foo + self.foo_tied


def mlp(seed=0):
    ef.manual_seed(seed)
    return MLP().double()


# ---------------------------------------------------------------------------------------------
# replacement and restoration


def test_replaces_parameters_by_dotted_name_and_restores():
    m = mlp()
    before = dict(m.named_parameters())
    x = T(np.random.default_rng(0).standard_normal((5, 3)))
    zeros = {k: ef.zeros_like(v) for k, v in before.items()}
    out = functional_call(m, zeros, (x,))
    np.testing.assert_allclose(N(out), np.zeros((5, 2)))
    # only the last layer: the output is its bias
    out = functional_call(m, {"layers.2.weight": ef.zeros(2, 4, dtype=ef.float64), "layers.2.bias": T([1.0, 2.0])}, x)
    np.testing.assert_allclose(N(out), np.tile([1.0, 2.0], (5, 1)))
    after = dict(m.named_parameters())
    assert all(after[k] is before[k] and isinstance(after[k], nn.Parameter) for k in before)
    np.testing.assert_allclose(N(functional_call(m, {}, x)), N(m(x)))


def test_args_kwargs_and_tuple_of_dicts():
    m = mlp()
    x = T(np.ones((2, 3)))
    params = {k: v.detach() for k, v in m.named_parameters() if k.endswith("weight")}
    biases = {k: v.detach() for k, v in m.named_parameters() if k.endswith("bias")}
    ref = N(m(x, scale=3.0))
    np.testing.assert_allclose(N(functional_call(m, (params, biases), (x,), {"scale": 3.0})), ref)
    np.testing.assert_allclose(N(functional_call(m, [params, biases], x, {"scale": 3.0})), ref)
    with pytest.raises(ValueError, match=r"\['layers.0.weight'\] appeared in multiple dictionaries"):
        functional_call(m, (params, {"layers.0.weight": ef.zeros(4, 3)}), x)
    with pytest.raises(ValueError, match="all elements of parameter_and_buffer_dicts to be dictionaries"):
        functional_call(m, (params, 3), x)
    with pytest.raises(ValueError, match="to be a dict, or a list/tuple of dicts"):
        functional_call(m, 3, x)


def test_buffers_batchnorm_running_stats_update_the_given_tensors():
    # as PyTorch: the in-place running-stat updates land in the given tensors, not in the module's
    bn = nn.BatchNorm1d(2)
    x = ef.tensor([[1.0, 2.0], [3.0, 5.0], [0.0, -1.0]])
    state = {"running_mean": ef.zeros(2), "running_var": ef.ones(2), "num_batches_tracked": ef.tensor(0)}
    y = functional_call(bn, state, x)
    np.testing.assert_allclose(N(state["running_mean"]), [0.4 / 3, 0.2], rtol=1e-6)
    np.testing.assert_allclose(N(state["running_var"]), [1.13333333, 1.8], rtol=1e-6)
    assert int(state["num_batches_tracked"]) == 1
    np.testing.assert_allclose(N(y[:, 0]), [-0.2673, 1.3363, -1.0690], atol=1e-4)
    np.testing.assert_allclose(N(bn.running_mean), [0.0, 0.0])
    assert int(bn.num_batches_tracked) == 0
    # buffers that are not given are the module's own (and they are updated)
    functional_call(bn, {"running_mean": ef.zeros(2)}, x)
    np.testing.assert_allclose(N(bn.running_mean), [0.0, 0.0])
    np.testing.assert_allclose(N(bn.running_var), [1.13333333, 1.8], rtol=1e-6)
    assert int(bn.num_batches_tracked) == 1
    # eval mode uses the given statistics
    bn.eval()
    out = functional_call(bn, {"running_mean": T([1.0, 1.0]).float(), "running_var": ef.ones(2)}, ef.ones(1, 2))
    np.testing.assert_allclose(N(out), [[0.0, 0.0]], atol=1e-6)


def test_reassigned_tensors_are_written_back_to_the_dict():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("count", ef.zeros(()))

        def forward(self, x):
            self.count = self.count + 1
            return x * self.count

    m = Counter()
    state = {"count": ef.tensor(5.0)}
    assert functional_call(m, state, ef.tensor(2.0)).item() == 12.0
    assert state["count"].item() == 6.0
    assert m.count.item() == 0.0


def test_unknown_names_are_set_as_attributes_for_the_call_only():
    class UsesExtra(nn.Module):
        def forward(self, x):
            return x * self.extra

    m = UsesExtra()
    assert functional_call(m, {"extra": ef.tensor(3.0)}, ef.tensor(2.0)).item() == 6.0
    assert not hasattr(m, "extra")


def test_restores_after_forward_raises():
    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.register_buffer("buf", ef.zeros(2))

        def forward(self, x):
            assert self.lin.weight.shape == (2, 2) and float(self.buf.sum()) == 2.0
            raise ValueError("boom")

    m = Boom()
    w, b, buf = m.lin.weight, m.lin.bias, m.buf
    with pytest.raises(ValueError, match="boom"):
        functional_call(m, {"lin.weight": ef.zeros(2, 2), "lin.bias": ef.zeros(2), "buf": ef.ones(2)}, ef.ones(2))
    assert m.lin.weight is w and m.lin.bias is b and m.buf is buf
    # an error while swapping in (a path that is no submodule) undoes the swaps already done
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        functional_call(m, {"lin.weight": ef.zeros(2, 2), "nope.weight": ef.zeros(2)}, ef.ones(2))
    assert m.lin.weight is w
    with pytest.raises(TypeError, match="not an instance of einframe.Tensor"):
        functional_call(m, {"lin.bias": ef.zeros(2), "lin.weight": [[0.0, 0.0]]}, ef.ones(2))
    assert m.lin.bias is b and m.lin.weight is w


def test_shared_submodule_is_restored():
    lin = nn.Linear(2, 2)
    w = lin.weight
    seq = nn.Sequential(lin, lin)  # one module under two names: "0.weight" and "1.weight" are tied
    out = functional_call(seq, {"0.weight": ef.zeros(2, 2), "0.bias": ef.zeros(2)}, ef.ones(2))
    np.testing.assert_allclose(N(out), [0.0, 0.0])
    assert seq[0].weight is w and seq[1].weight is w


# ---------------------------------------------------------------------------------------------
# tie_weights / strict


def test_tie_weights():
    m, z = Tied(), ef.zeros(())
    assert m(z).item() == 2.0
    assert functional_call(m, {"foo": z}, z).item() == 0.0  # foo_tied follows
    assert functional_call(m, {"foo": z}, z, tie_weights=False).item() == 1.0
    assert functional_call(m, {"foo": z, "foo_tied": z}, z).item() == 0.0  # the same tensor twice is fine
    with pytest.raises(
        ValueError, match=r"multiple values for keys \['foo', 'foo_tied'\], which are tied\. Consider using tie_weights=False"
    ):
        functional_call(m, {"foo": z, "foo_tied": ef.zeros(())}, z)
    assert functional_call(m, {"foo": z, "foo_tied": ef.full((), 5.0)}, z, tie_weights=False).item() == 5.0
    assert m.foo is m.foo_tied and m.foo.item() == 1.0


def test_tied_weights_across_submodules():
    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(5, 3)
            self.dec = nn.Linear(3, 5, bias=False)
            self.dec.weight = self.emb.weight

        def forward(self, idx):
            return self.dec(self.emb(idx))

    m = LM()
    w = ef.randn(5, 3)
    ref = (w[ef.tensor([1, 2])] @ w.T).numpy()
    np.testing.assert_allclose(N(functional_call(m, {"emb.weight": w}, ef.tensor([1, 2]))), ref, rtol=1e-5)
    g = grad(lambda p: functional_call(m, p, ef.tensor([1, 2])).sum())({"emb.weight": w})["emb.weight"]
    w2 = w.detach().requires_grad_(True)
    (w2[ef.tensor([1, 2])] @ w2.T).sum().backward()
    np.testing.assert_allclose(N(g), N(w2.grad), rtol=1e-5)


def test_strict():
    lin = nn.Linear(2, 1)
    with pytest.raises(RuntimeError) as e:
        functional_call(lin, {"weight": ef.ones(1, 2), "extra": ef.ones(1)}, ef.ones(2), strict=True)
    assert str(e.value) == "Error(s) in reparametrizing for Linear:\n\tUnexpected key(s): 'extra'.\n\tMissing key(s): 'bias'."
    assert lin.weight.shape == (1, 2) and not hasattr(lin, "extra")
    out = functional_call(lin, {"weight": ef.ones(1, 2), "bias": ef.zeros(1)}, ef.ones(2), strict=True)
    assert out.item() == 2.0
    m, z = Tied(), ef.zeros(())
    assert functional_call(m, {"foo": z}, z, strict=True).item() == 0.0  # the tied name counts as given
    with pytest.raises(RuntimeError, match=r"reparametrizing for Tied:\n\tMissing key\(s\): 'foo_tied'\.$"):
        functional_call(m, {"foo": z}, z, strict=True, tie_weights=False)


# ---------------------------------------------------------------------------------------------
# composition with the transforms


def _xy(n=6, seed=1):
    rng = np.random.default_rng(seed)
    return T(rng.standard_normal((n, 3))), T(rng.standard_normal((n, 2)))


def test_grad_through_functional_call_matches_backward():
    m = mlp()
    x, y = _xy()

    def loss(params, x, y):
        return ((functional_call(m, params, (x,)) - y) ** 2).mean()

    params = {k: v.detach() for k, v in m.named_parameters()}
    g = grad(loss)(params, x, y)
    assert list(g) == list(params) and not any(v.requires_grad for v in g.values())
    ((m(x) - y) ** 2).mean().backward()
    for k, p in m.named_parameters():
        np.testing.assert_allclose(N(g[k]), N(p.grad), rtol=1e-10, atol=1e-12)
    # with the module's own (grad-requiring) parameters the gradients keep their graph, as in PyTorch
    m.zero_grad()
    g2 = grad(loss)(dict(m.named_parameters()), x, y)
    assert g2["layers.0.weight"].requires_grad
    assert all(p.grad is None for p in m.parameters())
    np.testing.assert_allclose(N(g2["layers.2.bias"]), N(g["layers.2.bias"]))
    # argnums over a tuple: params and x
    gp, gx = grad(loss, argnums=(0, 1))(params, x, y)
    xr = x.detach().requires_grad_(True)
    ((m(xr) - y) ** 2).mean().backward()
    np.testing.assert_allclose(N(gx), N(xr.grad), rtol=1e-10)


def test_per_sample_gradients_vmap_grad_matches_loop():
    m = mlp()
    x, y = _xy(5)
    params = {k: v.detach() for k, v in m.named_parameters()}

    def loss(params, xi, yi):
        return ((functional_call(m, params, (xi.unsqueeze(0),)) - yi.unsqueeze(0)) ** 2).sum()

    per = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    assert {k: tuple(v.shape) for k, v in per.items()} == {k: (5, *v.shape) for k, v in params.items()}
    for i in range(5):
        m.zero_grad()
        ((m(x[i : i + 1]) - y[i : i + 1]) ** 2).sum().backward()
        for k, p in m.named_parameters():
            np.testing.assert_allclose(N(per[k][i]), N(p.grad), rtol=1e-10, atol=1e-12)


def test_vmap_pytree_in_dims_and_out_dims():
    lin = nn.Linear(3, 2).double()
    ws = T(np.random.default_rng(2).standard_normal((4, 2, 3)))
    b = T([1.0, -1.0])
    x = T(np.ones(3))
    f = lambda p, x: {"out": functional_call(lin, p, (x,))}  # noqa: E731
    out = vmap(f, in_dims=({"weight": 0, "bias": None}, None))({"weight": ws, "bias": b}, x)
    np.testing.assert_allclose(N(out["out"]), N(ws).sum(-1) + N(b))
    out = vmap(lambda p: (p["w"] * 2, p["w"].sum()), in_dims=({"w": 1},), out_dims=(1, 0))({"w": ws})
    np.testing.assert_allclose(N(out[0]), 2 * N(ws))
    np.testing.assert_allclose(N(out[1]), N(ws).sum(axis=(0, 2)))
    with pytest.raises(ValueError, match="structure of argument 0"):
        vmap(f, in_dims=({"weight": 0}, None))({"weight": ws, "bias": b}, x)


def test_vjp_jacrev_jacfwd_jvp_with_parameter_dicts():
    lin = nn.Linear(3, 2).double()
    params = {k: v.detach() for k, v in lin.named_parameters()}
    x = T([1.0, 2.0, -1.0])
    f = lambda p: functional_call(lin, p, (x,)).tanh()  # noqa: E731
    J = jacrev(f)(params)
    Jf = jacfwd(f)(params)
    assert tuple(J["weight"].shape) == (2, 2, 3) and tuple(J["bias"].shape) == (2, 2)
    for k in params:
        np.testing.assert_allclose(N(J[k]), N(Jf[k]), rtol=1e-10, atol=1e-12)
    out, fn = vjp(f, params)
    ct = T([1.0, 0.5])
    (g,) = fn(ct)
    wr, br = lin.weight.detach().requires_grad_(True), lin.bias.detach().requires_grad_(True)
    ((ef.einsum("oi,i->o", wr, x) + br).tanh() * ct).sum().backward()
    np.testing.assert_allclose(N(g["weight"]), N(wr.grad), rtol=1e-10)
    np.testing.assert_allclose(N(g["bias"]), N(br.grad), rtol=1e-10)
    tangent = {k: ef.ones_like(v) for k, v in params.items()}
    _, t = jvp(f, (params,), (tangent,))
    np.testing.assert_allclose(N(t), np.einsum("oij,ij->o", N(J["weight"]), np.ones((2, 3))) + N(J["bias"]).sum(-1))
    with pytest.raises(RuntimeError, match="same structure"):
        jvp(f, (params,), ({"weight": tangent["weight"]},))


# ---------------------------------------------------------------------------------------------
# stack_module_state: ensembling


def test_stack_module_state_and_ensemble_with_vmap():
    ef.manual_seed(3)
    models = [nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double().eval() for _ in range(3)]
    params, buffers = stack_module_state(models)
    assert list(params) == [k for k, _ in models[0].named_parameters()]
    assert list(buffers) == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    w = params["0.weight"]
    assert tuple(w.shape) == (3, 4, 3) and w.is_leaf and w.requires_grad and w.grad_fn is None
    assert not buffers["1.running_mean"].requires_grad
    np.testing.assert_allclose(N(w[1]), N(models[1][0].weight))

    x, y = _xy(5)

    def fmodel(params, buffers, x):
        return functional_call(models[0], (params, buffers), (x,))

    out = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, x)
    assert tuple(out.shape) == (3, 5, 2)
    for i, mdl in enumerate(models):
        np.testing.assert_allclose(N(out[i]), N(mdl(x)), rtol=1e-10)
    # the stacked parameters train directly: their gradient is each model's own
    ((out - y) ** 2).mean(dim=(1, 2)).sum().backward()
    for i, mdl in enumerate(models):
        ((mdl(x) - y) ** 2).mean().backward()
        np.testing.assert_allclose(N(params["0.weight"].grad[i]), N(mdl[0].weight.grad), rtol=1e-10)
    # the models themselves are untouched
    assert all(isinstance(p, nn.Parameter) for mdl in models for p in mdl.parameters())


def test_stack_module_state_errors():
    with pytest.raises(RuntimeError, match="Expected at least one model, got 0"):
        stack_module_state([])
    with pytest.raises(RuntimeError, match="same training/eval mode"):
        stack_module_state([nn.Linear(2, 2), nn.Linear(2, 2).eval()])
    with pytest.raises(RuntimeError, match="same class"):
        stack_module_state([nn.Linear(2, 2), nn.Bilinear(2, 2, 2)])
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    b.bias.requires_grad_(False)
    with pytest.raises(RuntimeError, match="Expected bias from each model to have the same .requires_grad"):
        stack_module_state([a, b])
    a.bias.requires_grad_(False)
    params, _ = stack_module_state(nn.ModuleList([a, b]))
    assert params["weight"].requires_grad and not params["bias"].requires_grad


# ---------------------------------------------------------------------------------------------
# nn.utils.stateless (deprecated) and functionalize


def test_deprecated_stateless_functional_call():
    lin = nn.Linear(2, 1)
    with pytest.warns(FutureWarning, match="einframe.func.functional_call"):
        out = nn.utils.stateless.functional_call(lin, {"weight": ef.ones(1, 2), "bias": ef.zeros(1)}, ef.ones(2))
    assert out.item() == 2.0
    from einframe.nn.utils.stateless import functional_call as fc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'bias'"):
            fc(lin, {"weight": ef.ones(1, 2)}, ef.ones(2), strict=True)
    with pytest.raises(TypeError, match="expected an einframe.nn.Module"):
        functional_call(lambda x: x, {}, ef.ones(2))


def test_functionalize_is_the_identity():
    f = lambda x: x.clone().mul_(2)  # noqa: E731
    assert ef.func.functionalize(f) is f
    assert ef.func.functionalize(f, remove="mutations_and_views") is f
    with pytest.raises(RuntimeError, match="remove="):
        ef.func.functionalize(f, remove="views")
