"""Learning-rate schedules vs the formulas PyTorch documents (closed forms computed here)."""

import math
import warnings

import pytest

import einframe as ef
from einframe.optim import lr_scheduler as S

N = 14


def opt(lr=1.0, kind="SGD"):
    p = ef.zeros(1, requires_grad=True)
    return ef.optim.SGD([p], lr=lr, momentum=0.9) if kind == "SGD" else ef.optim.Adam([p], lr=lr)


def lrs(o, s, n=N, metric=None):
    out = []
    for _ in range(n):
        o.step()
        out.append(s.get_last_lr()[0])
        assert o.param_groups[0]["lr"] == out[-1]
        s.step()
    return out


def cos_anneal(e, T, base=1.0, eta_min=0.0):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / T)) / 2


CLOSED = {
    "LambdaLR": (lambda o: S.LambdaLR(o, lambda e: 1 / (1 + e)), lambda e: 1 / (1 + e)),
    "MultiplicativeLR": (lambda o: S.MultiplicativeLR(o, lambda e: 0.9), lambda e: 0.9**e),
    "StepLR": (lambda o: S.StepLR(o, step_size=3, gamma=0.5), lambda e: 0.5 ** (e // 3)),
    "MultiStepLR": (lambda o: S.MultiStepLR(o, [2, 5, 5, 9], gamma=0.5), lambda e: 0.5 ** sum(m <= e for m in [2, 5, 5, 9])),
    "ConstantLR": (lambda o: S.ConstantLR(o, factor=0.25, total_iters=4), lambda e: 0.25 if e < 4 else 1.0),
    "LinearLR": (lambda o: S.LinearLR(o, 0.2, 0.9, total_iters=6), lambda e: 0.2 + (0.9 - 0.2) * min(e, 6) / 6),
    "ExponentialLR": (lambda o: S.ExponentialLR(o, gamma=0.8), lambda e: 0.8**e),
    "CosineAnnealingLR": (lambda o: S.CosineAnnealingLR(o, T_max=N, eta_min=0.1), lambda e: cos_anneal(e, N, eta_min=0.1)),
    "CosineAnnealingWarmRestarts": (
        lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.05),
        # restarts at 0, 3, 9 with periods 3, 6, 12
        lambda e: cos_anneal(e - (0 if e < 3 else 3 if e < 9 else 9), 3 if e < 3 else 6 if e < 9 else 12, eta_min=0.05),
    ),
    "CyclicLR": (
        lambda o: S.CyclicLR(o, base_lr=0.1, max_lr=1.0, step_size_up=3, step_size_down=2, mode="triangular2"),
        lambda e: 0.1 + 0.9 * (1 - abs(((e % 5) - 3) / (3 if e % 5 <= 3 else 2))) * 0.5 ** (e // 5),
    ),
    "OneCycleLR": (
        lambda o: S.OneCycleLR(o, max_lr=2.0, total_steps=N, pct_start=0.25, div_factor=10.0, final_div_factor=100.0),
        lambda e: (
            0.2 + (2.0 - 0.2) * (1 - math.cos(math.pi * e / (0.25 * N - 1))) / 2
            if e <= 0.25 * N - 1
            else 0.002 + (2.0 - 0.002) * (1 + math.cos(math.pi * (e - (0.25 * N - 1)) / (N - 1 - (0.25 * N - 1)))) / 2
        ),
    ),
}


@pytest.mark.parametrize("name", list(CLOSED))
def test_schedule_matches_formula(name):
    make, formula = CLOSED[name]
    o = opt()
    s = make(o)
    got = lrs(o, s)
    want = [formula(e) for e in range(N)]
    assert got == pytest.approx(want, rel=1e-12, abs=1e-14)


def test_one_cycle_momentum_and_betas():
    o = opt()
    s = S.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="linear")
    assert o.param_groups[0]["momentum"] == 0.95
    o.step()
    s.step()
    assert 0.85 < o.param_groups[0]["momentum"] < 0.95
    a = opt(kind="Adam")
    S.OneCycleLR(a, max_lr=1.0, total_steps=10)
    assert a.param_groups[0]["betas"] == (0.95, 0.999)
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        for _ in range(11):
            o.step()
            s.step()
    with pytest.raises(ValueError, match="total_steps OR"):
        S.OneCycleLR(opt(), max_lr=1.0)


def test_sequential_and_chained():
    o = opt()
    s = S.SequentialLR(o, [S.ConstantLR(o, factor=0.1, total_iters=2), S.ExponentialLR(o, gamma=0.9)], milestones=[2])
    assert lrs(o, s, 6) == pytest.approx([0.1, 0.1, 1.0, 0.9, 0.81, 0.729])
    o = opt()
    s = S.ChainedScheduler([S.ConstantLR(o, factor=0.1, total_iters=2), S.ExponentialLR(o, gamma=0.9)])
    assert lrs(o, s, 4) == pytest.approx([0.1, 0.09, 0.81, 0.729])
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[1])


def test_reduce_on_plateau():
    o = opt()
    s = S.ReduceLROnPlateau(o, patience=1, cooldown=1, factor=0.5, threshold=0.1, min_lr=0.1)
    got = []
    for m in [5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3]:
        s.step(m)
        got.append(o.param_groups[0]["lr"])
    # values printed by torch.optim.lr_scheduler.ReduceLROnPlateau with the same arguments (PyTorch 2.13)
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125]
    o = opt()
    s = S.ReduceLROnPlateau(o, mode="max", patience=0, threshold_mode="abs", threshold=1.0, min_lr=0.05)
    for m in [1, 1.5, 3, 3, 3, 3]:
        s.step(ef.tensor(m))
    assert s.get_last_lr() == [pytest.approx(0.05)]
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(o, factor=1.0)


def test_warning_when_scheduler_steps_first():
    o = opt()
    s = S.StepLR(o, 1)
    with pytest.warns(UserWarning, match=r"`lr_scheduler.step\(\)` before `optimizer.step\(\)`"):
        s.step()
    o = opt()
    s = S.StepLR(o, 1)
    o.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()


@pytest.mark.parametrize(
    "name", ["StepLR", "MultiStepLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "CyclicLR", "LambdaLR"]
)
def test_state_dict_round_trip_through_file(name, tmp_path):
    make, _ = CLOSED[name]
    o1 = opt()
    s1 = make(o1)
    lrs(o1, s1, 5)
    ef.save({"opt": o1.state_dict(), "sched": s1.state_dict()}, tmp_path / "s.safetensors")
    ck = ef.load(tmp_path / "s.safetensors")
    o2 = opt(lr=7.0)
    s2 = make(o2)
    o2.load_state_dict(ck["opt"])
    s2.load_state_dict(ck["sched"])
    assert s2.get_last_lr() == s1.get_last_lr()
    assert lrs(o2, s2, 6) == lrs(o1, s1, 6)


def test_sequential_state_dict_round_trip(tmp_path):
    def make(o):
        return S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=3), S.CosineAnnealingLR(o, 5)], milestones=[3])

    o1 = opt()
    s1 = make(o1)
    lrs(o1, s1, 4)
    ef.save({"o": o1.state_dict(), "s": s1.state_dict()}, tmp_path / "q.safetensors")
    ck = ef.load(tmp_path / "q.safetensors")
    o2 = opt()
    s2 = make(o2)
    o2.load_state_dict(ck["o"])
    s2.load_state_dict(ck["s"])
    assert lrs(o2, s2, 5) == lrs(o1, s1, 5)


def test_resume_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(opt(), 2, last_epoch=3)


def test_param_groups_scheduled_separately():
    a, b = ef.zeros(1, requires_grad=True), ef.zeros(1, requires_grad=True)
    o = ef.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=1.0)
    s = S.LambdaLR(o, [lambda e: 0.5**e, lambda e: 1.0])
    o.step()
    s.step()
    assert s.get_last_lr() == [0.5, 0.5]
