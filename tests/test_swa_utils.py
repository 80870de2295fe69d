"""ef.optim.swa_utils: AveragedModel (SWA and EMA), update_bn, SWALR — against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

import einframe as ef
from einframe import nn
from einframe.optim.swa_utils import (
    SWALR,
    AveragedModel,
    get_ema_avg_fn,
    get_ema_multi_avg_fn,
    update_bn,
)


def _snapshots(avg, net, values):
    for v in values:
        with ef.no_grad():
            for p in net.parameters():
                p.fill_(v)
        avg.update_parameters(net)


def test_swa_is_the_mean_and_ema_the_exponential_average():
    net = nn.Linear(2, 2).double()
    values = [1.0, 4.0, -2.0, 5.0]
    swa = AveragedModel(net)
    _snapshots(swa, net, values)
    assert swa.n_averaged.item() == 4
    for p in swa.module.parameters():
        np.testing.assert_allclose(p.detach().numpy(), np.mean(values), rtol=1e-12)
    for make in (lambda: AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9)),
                 lambda: AveragedModel(net, avg_fn=get_ema_avg_fn(0.9))):  # fmt: skip
        ema = make()
        _snapshots(ema, net, values)
        expect = values[0]
        for v in values[1:]:
            expect = 0.9 * expect + 0.1 * v
        for p in ema.module.parameters():
            np.testing.assert_allclose(p.detach().numpy(), expect, rtol=1e-12)
    # the average is a separate copy: training the model leaves it alone, forward uses it
    assert not any(p is q for p, q in zip(swa.module.parameters(), net.parameters()))
    x = ef.ones(1, 2, dtype=ef.float64)
    np.testing.assert_allclose(swa(x).detach().numpy(), (x @ ef.full((2, 2), 2.0, dtype=ef.float64) + 2.0).numpy())
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        AveragedModel(net, avg_fn=get_ema_avg_fn(), multi_avg_fn=get_ema_multi_avg_fn())
    with pytest.raises(ValueError, match="decay"):
        get_ema_multi_avg_fn(1.5)


def test_buffers_are_copied_or_averaged():
    net = nn.BatchNorm1d(2).double()
    copied, averaged = AveragedModel(net), AveragedModel(net, use_buffers=True)
    for m in (1.0, 3.0):
        with ef.no_grad():
            net.running_mean.fill_(m)
            net.num_batches_tracked.fill_(int(m))
        copied.update_parameters(net)
        averaged.update_parameters(net)
    assert copied.module.running_mean.tolist() == [3.0, 3.0] and copied.module.num_batches_tracked.item() == 3
    assert averaged.module.running_mean.tolist() == [2.0, 2.0]
    assert averaged.module.num_batches_tracked.item() == 2 and averaged.module.num_batches_tracked.dtype == ef.int64


def test_update_bn_recomputes_running_statistics_over_the_loader():
    ef.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU()).double()
    batches = [ef.randn(8, 3, dtype=ef.float64) for _ in range(3)]
    with ef.no_grad():
        net[1].running_mean.fill_(100.0)
    net.eval()
    update_bn([(b, None) for b in batches], net)  # tuples: the first element is the input
    assert not net.training  # the mode is restored
    with ef.no_grad():
        h = ef.cat([net[0](b) for b in batches])
    # momentum=None during the pass: the running mean is the mean of the three (equal-size) batch means
    np.testing.assert_allclose(net[1].running_mean.numpy(), h.numpy().mean(0), rtol=1e-12)
    var = np.mean([net[0](b).detach().numpy().var(0, ddof=1) for b in batches], 0)
    np.testing.assert_allclose(net[1].running_var.numpy(), var, rtol=1e-12)
    assert net[1].momentum == 0.1


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_swalr_anneals_to_the_swa_lr(strategy):
    opt = ef.optim.SGD([ef.zeros(1, requires_grad=True)], lr=1.0)
    sched = SWALR(opt, swa_lr=0.05, anneal_epochs=3, anneal_strategy=strategy)
    lrs = []
    for _ in range(6):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    f = (lambda t: (1 - math.cos(math.pi * t)) / 2) if strategy == "cos" else (lambda t: t)
    # lr_k = swa_lr * a_k + lr_0 * (1 - a_k) with a_k = f(k / 3), held at swa_lr afterwards
    expect = [0.05 * f(k / 3) + 1.0 * (1 - f(k / 3)) for k in (1, 2, 3)] + [0.05] * 3
    np.testing.assert_allclose(lrs, expect, rtol=1e-12)
    with pytest.raises(ValueError, match="anneal_strategy"):
        SWALR(opt, 0.1, anneal_strategy="step")
