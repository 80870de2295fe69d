import subprocess
import sys

import numpy as np
from einframe_lsuv import GradLogger, orthonormal_

import einframe as ef
from einframe import nn


def _deep_net():
    layers = []
    for _ in range(6):
        layers += [nn.Linear(64, 64), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(64, 10))


def test_orthonormal_rows_and_columns():
    w = orthonormal_(ef.empty(4, 2, 3))  # rows < columns: orthonormal rows
    m = w.reshape(4, 6).numpy()
    assert np.allclose(m @ m.T, np.eye(4), atol=1e-5)
    w = orthonormal_(ef.empty(6, 3), gain=2.0)  # rows > columns: orthonormal columns
    assert np.allclose(w.numpy().T @ w.numpy(), 4 * np.eye(3), atol=1e-5)


def test_lsuv_gives_unit_variance_at_every_layer():
    ef.manual_seed(0)
    net = _deep_net()
    x = ef.randn(512, 64)
    with net.attach_hook("lsuv", tol=0.01) as h:
        net(x)
    assert len(h.variances) == 7
    # after the pass, every Linear output has unit variance on the same batch
    seen = {}
    hooks = [
        m.register_forward_hook(lambda m, i, o, p=p: seen.__setitem__(p, float(o.var())))
        for p, m in net.named_modules()
        if isinstance(m, nn.Linear)
    ]
    with ef.no_grad():
        net(x)
    for hk in hooks:
        hk.remove()
    assert all(abs(v - 1.0) < 0.02 for v in seen.values()), seen


def test_lsuv_hook_is_removed():
    net = nn.Sequential(nn.Linear(4, 4))
    h = net.attach_hook("lsuv")
    h.remove()
    h.remove()  # idempotent
    w = net[0].weight.detach().clone()
    net(ef.randn(16, 4) * 10)
    assert ef.equal(w, net[0].weight.detach())


def test_grad_logger_records_activations_and_gradients():
    net = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 1))
    log = net.attach_hook("grad_logger")
    assert isinstance(log, GradLogger)
    x = ef.randn(8, 3)
    out = net(x)
    out.sum().backward()
    assert set(log.activations) == {"", "0", "1", "2"}
    assert np.isclose(log.gradients["2"][0], np.sqrt(8.0))  # d(sum)/d(out) is ones(8, 1)
    assert np.isclose(log.activations["2"][0]["mean"], float(out.mean()))
    log.remove()
    net(x).sum().backward()
    assert len(log.gradients["2"]) == 1


def test_discovered_through_entry_points():
    assert "orthonormal_" in ef.plugins.names("initializers")
    assert {"lsuv", "grad_logger"} <= set(ef.plugins.names("hooks"))
    init = ef.plugins.get("initializers", "orthonormal_")
    w = init(ef.empty(2, 2))
    assert np.allclose(w.numpy() @ w.numpy().T, np.eye(2), atol=1e-5)
    out = subprocess.run([sys.executable, "-m", "einframe", "plugins"], capture_output=True, text=True, check=True).stdout
    assert "einframe-lsuv" in out and "grad_logger" in out
