"""Optimizers vs numpy references of the update rules PyTorch documents (float64, several steps, every option)."""

import math
import warnings

import numpy as np
import pytest

import einframe as ef

A = np.array([0.5, -1.5, 2.0, 0.3, -0.7])
P0 = np.array([0.8, -0.2, 0.4, -1.1, 0.6])
STEPS = 6


def grad_of(p):  # loss = sum(A * p**3)
    return 3 * A * p * p


# --- reference implementations (straight from the documented algorithms) -------------------------


def ref_sgd(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    p, b = P0.copy(), None
    for _ in range(STEPS):
        g = grad_of(p)
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


def ref_adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False, decoupled=False):
    p, m, v, vmax = P0.copy(), 0 * P0, 0 * P0, 0 * P0
    b1, b2 = betas
    for t in range(1, STEPS + 1):
        g = grad_of(p)
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1**t)
        vmax = np.maximum(vmax, v)
        vhat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def ref_adamw(weight_decay=1e-2, **kw):
    return ref_adam(weight_decay=weight_decay, decoupled=True, **kw)


def ref_rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, maximize=False):
    p, v, b, ga = P0.copy(), 0 * P0, 0 * P0, 0 * P0
    for _ in range(STEPS):
        g = grad_of(p)
        g = -g if maximize else g
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        vt = v
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            vt = v - ga * ga
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(vt) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(vt) + eps)
    return p


def ref_adagrad(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, maximize=False):
    p, s = P0.copy(), np.full_like(P0, initial_accumulator_value)
    for t in range(1, STEPS + 1):
        g = grad_of(p)
        g = -g if maximize else g
        g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (np.sqrt(s) + eps)
    return p


def ref_adamax(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    p, m, u = P0.copy(), 0 * P0, 0 * P0
    b1, b2 = betas
    for t in range(1, STEPS + 1):
        g = grad_of(p)
        g = -g if maximize else g
        g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g) + eps)
        p = p - lr / (1 - b1**t) * m / u
    return p


def ref_nadam(
    lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False
):
    p, m, v, prod = P0.copy(), 0 * P0, 0 * P0, 1.0
    b1, b2 = betas
    for t in range(1, STEPS + 1):
        g = grad_of(p)
        g = -g if maximize else g
        if decoupled_weight_decay:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        prod *= mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vhat = v / (1 - b2**t)
        p = (
            p
            - lr * (1 - mu) * g / (1 - prod) / (np.sqrt(vhat) + eps)
            - lr * mu_next * m / (1 - prod * mu_next) / (np.sqrt(vhat) + eps)
        )
    return p


CASES = [
    ("SGD", ref_sgd, dict(lr=0.1)),
    ("SGD", ref_sgd, dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05)),
    ("SGD", ref_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, maximize=True)),
    ("Adam", ref_adam, dict(lr=0.05)),
    ("Adam", ref_adam, dict(lr=0.05, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", ref_adamw, dict(lr=0.05)),
    ("AdamW", ref_adamw, dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.3, amsgrad=True)),
    ("RMSprop", ref_rmsprop, dict(lr=0.01)),
    ("RMSprop", ref_rmsprop, dict(lr=0.01, alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("Adagrad", ref_adagrad, dict(lr=0.1)),
    (
        "Adagrad",
        ref_adagrad,
        dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5, eps=1e-6, maximize=True),
    ),
    ("Adamax", ref_adamax, dict(lr=0.1)),
    ("Adamax", ref_adamax, dict(lr=0.1, betas=(0.7, 0.95), weight_decay=0.1, maximize=True)),
    ("NAdam", ref_nadam, dict(lr=0.1)),
    ("NAdam", ref_nadam, dict(lr=0.1, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", ref_nadam, dict(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
]


def run(name, kw, steps=STEPS, dtype=ef.float64):
    p = ef.tensor(P0, dtype=dtype, requires_grad=True)
    opt = getattr(ef.optim, name)([p], **kw)
    a = ef.tensor(A, dtype=dtype)
    for _ in range(steps):
        opt.zero_grad()
        (a * p * p * p).sum().backward()
        opt.step()
    return p, opt


@pytest.mark.parametrize("name,ref,kw", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_documented_update(name, ref, kw):
    p, _ = run(name, kw)
    np.testing.assert_allclose(p.detach().numpy(), ref(**kw), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name,ref,kw", CASES[::3], ids=[c[0] for c in CASES[::3]])
def test_float32_close_and_stays_float32(name, ref, kw):
    p, opt = run(name, kw, dtype=ef.float32)
    assert p.dtype == ef.float32
    np.testing.assert_allclose(p.detach().numpy(), ref(**kw), rtol=2e-4, atol=2e-5)
    for s in opt.state[p].values():
        if isinstance(s, ef.Tensor):
            assert s.dtype == ef.float32


def test_known_values_from_pytorch():
    # torch.optim.Adam([p], lr=0.1) on loss = sum(p**2), p0 = [1, -2], 3 steps (values printed by PyTorch 2.13)
    p = ef.tensor([1.0, -2.0], dtype=ef.float64, requires_grad=True)
    opt = ef.optim.Adam([p], lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.7015862729460302, -1.700623392046465], rtol=1e-14)


@pytest.mark.parametrize("name,ref,kw", CASES[1::2], ids=[c[0] for c in CASES[1::2]])
def test_state_dict_round_trip_continues_identically(name, ref, kw, tmp_path):
    p, opt = run(name, kw, steps=3)
    ef.save({"p": p.detach(), "opt": opt.state_dict()}, tmp_path / "o.safetensors")
    ck = ef.load(tmp_path / "o.safetensors")
    q = ef.tensor(ck["p"].numpy().copy(), dtype=ef.float64, requires_grad=True)
    opt2 = getattr(ef.optim, name)([q], lr=123.0)  # hyperparameters come from the state dict
    opt2.load_state_dict(ck["opt"])
    assert opt2.param_groups[0]["lr"] == kw["lr"]
    a = ef.tensor(A, dtype=ef.float64)
    for o, t in ((opt, p), (opt2, q)):
        for _ in range(STEPS - 3):
            o.zero_grad()
            (a * t * t * t).sum().backward()
            o.step()
    assert np.array_equal(p.detach().numpy(), q.detach().numpy())
    np.testing.assert_allclose(q.detach().numpy(), ref(**kw), rtol=1e-10, atol=1e-12)


def test_state_dict_structure_like_pytorch():
    a, b, c = (ef.randn(2, requires_grad=True) for _ in range(3))
    opt = ef.optim.SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    for t in (a, b, c):
        t.sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sorted(sd["state"]) == [0, 1, 2]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5 and sd["param_groups"][0]["momentum"] == 0.9
    assert set(sd["param_groups"][0]) == {"params", "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"}


def test_load_state_dict_errors():
    a, b = ef.randn(2, requires_grad=True), ef.randn(2, requires_grad=True)
    sd = ef.optim.Adam([a, b]).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        ef.optim.Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        ef.optim.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        ef.optim.Adam([a, b]).load_state_dict({"foo": 1})


def test_load_state_dict_copies_and_casts():
    a = ef.randn(3, dtype=ef.float64, requires_grad=True)
    opt = ef.optim.Adam([a])
    a.sum().backward()
    opt.step()
    sd = opt.state_dict()
    b = ef.randn(3, requires_grad=True)  # float32
    opt2 = ef.optim.Adam([b])
    opt2.load_state_dict(sd)
    assert opt2.state[b]["exp_avg"].dtype == ef.float32
    assert opt2.state[b]["step"] == 1
    opt2.state[b]["exp_avg"].zero_()
    assert float(opt.state[a]["exp_avg"].abs().sum()) > 0


@pytest.mark.parametrize(
    "make,msg",
    [
        (lambda p: ef.optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
        (lambda p: ef.optim.SGD(p, momentum=-0.1), "Invalid momentum value: -0.1"),
        (lambda p: ef.optim.SGD(p, weight_decay=-1), "Invalid weight_decay value: -1"),
        (lambda p: ef.optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (lambda p: ef.optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
        (lambda p: ef.optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
        (lambda p: ef.optim.AdamW(p, eps=-1e-8), "Invalid epsilon value"),
        (lambda p: ef.optim.RMSprop(p, alpha=-1), "Invalid alpha value"),
        (lambda p: ef.optim.Adagrad(p, lr_decay=-1), "Invalid lr_decay value"),
        (lambda p: ef.optim.Adagrad(p, initial_accumulator_value=-1), "Invalid initial_accumulator_value value"),
        (lambda p: ef.optim.NAdam(p, momentum_decay=-1), "Invalid momentum_decay value"),
    ],
)
def test_hyperparameter_validation(make, msg):
    with pytest.raises(ValueError, match=msg):
        make([ef.randn(2, requires_grad=True)])


def test_param_errors():
    a = ef.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        ef.optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        ef.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        ef.optim.SGD([a * 2], lr=0.1)
    with pytest.raises(TypeError, match="sets"):
        ef.optim.SGD({a}, lr=0.1)
    opt = ef.optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        ef.optim.SGD([a, a], lr=0.1)


def test_lazy_parameter_refused():
    from einframe import nn

    with pytest.raises(ValueError, match="uninitialized"):
        ef.optim.Adam([nn.UninitializedParameter()])


def test_param_groups_use_own_options():
    a, b = ef.ones(1, requires_grad=True), ef.ones(1, requires_grad=True)
    opt = ef.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a + b).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(0.9) and b.item() == pytest.approx(0.5)
    c = ef.ones(1, requires_grad=True)
    opt.add_param_group({"params": c, "momentum": 0.9})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.9


def test_zero_grad_and_skipped_params():
    a, b = ef.ones(2, requires_grad=True), ef.ones(2, requires_grad=True)
    opt = ef.optim.Adam([a, b], lr=0.1)
    a.sum().backward()
    opt.step()
    assert b.tolist() == [1.0, 1.0] and b not in opt.state  # no grad: untouched, no state
    opt.zero_grad(set_to_none=False)
    assert a.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert a.grad is None


def test_step_closure_and_version_counter():
    a = ef.ones(2, requires_grad=True)
    opt = ef.optim.SGD([a], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (a * a).sum()
        loss.backward()
        return loss

    v = a._version
    with ef.no_grad():
        loss = opt.step(closure)  # the closure runs with grad enabled
    assert loss.item() == 2.0 and a._version == v + 1
    assert a.tolist() == pytest.approx([0.8, 0.8])


def test_create_through_plugin_registry():
    a = ef.randn(3, requires_grad=True)
    opt = ef.optim.create("Adam", [a], lr=1e-3)
    assert type(opt) is ef.optim.Adam and opt.param_groups[0]["lr"] == 1e-3
    names = set(ef.plugins.names("optimizers"))
    assert {"SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam"} <= names
    assert type(ef.optim.create("sgd", [a], lr=0.1)) is ef.optim.SGD


def test_repr_and_no_pickle():
    import pickle

    opt = ef.optim.SGD([ef.randn(2, requires_grad=True)], lr=0.1)
    assert repr(opt).startswith("SGD (\nParameter Group 0\n    dampening: 0")
    with pytest.raises(TypeError, match="state_dict"):
        pickle.dumps(opt)


def test_clip_grad_norm_and_value():
    from einframe.nn.utils import clip_grad_norm_, clip_grad_value_

    a, b = ef.zeros(2, requires_grad=True), ef.zeros(1, requires_grad=True)
    a.grad, b.grad = ef.tensor([3.0, 0.0]), ef.tensor([4.0])
    n = clip_grad_norm_([a, b], 2.5)
    assert n.item() == pytest.approx(5.0)
    coef = 2.5 / (5.0 + 1e-6)
    np.testing.assert_allclose(a.grad.numpy(), [3 * coef, 0], rtol=1e-6)
    assert clip_grad_norm_([a, b], 100).item() == pytest.approx(2.5, rel=1e-5)  # below max: unchanged
    np.testing.assert_allclose(b.grad.numpy(), [4 * coef], rtol=1e-6)
    a.grad = ef.tensor([-3.0, 1.0])
    assert clip_grad_norm_(a, 1.0, norm_type=math.inf).item() == 3.0
    np.testing.assert_allclose(a.grad.numpy(), [-1.0, 1 / 3], rtol=1e-5)
    a.grad = ef.tensor([1.0, 2.0])
    assert clip_grad_norm_([a], 10.0, norm_type=1).item() == 3.0
    a.grad = ef.tensor([-3.0, 0.2])
    clip_grad_value_([a], 0.5)
    assert a.grad.tolist() == pytest.approx([-0.5, 0.2])
    a.grad = ef.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)


def test_parameters_vector_round_trip():
    from einframe.nn.utils import parameters_to_vector, vector_to_parameters

    a, b = ef.randn(2, 3, requires_grad=True), ef.randn(4, requires_grad=True)
    v = parameters_to_vector([a, b])
    assert v.shape == (10,)
    np.testing.assert_array_equal(v.detach().numpy(), np.concatenate([a.detach().numpy().ravel(), b.detach().numpy()]))
    vector_to_parameters(ef.arange(10.0), [a, b])
    assert a.tolist() == [[0, 1, 2], [3, 4, 5]] and b.tolist() == [6, 7, 8, 9]
    with pytest.raises(ValueError, match="10 elements"):
        vector_to_parameters(ef.arange(10.0), [a])
    v.sum().backward()  # differentiable
    assert a.grad.shape == (2, 3)


def test_no_warnings_in_plain_training_loop():
    a = ef.randn(3, requires_grad=True)
    opt = ef.optim.AdamW([a], lr=0.01)
    sched = ef.optim.lr_scheduler.StepLR(opt, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.zero_grad()
            (a * a).sum().backward()
            opt.step()
            sched.step()
