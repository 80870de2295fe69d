"""The math family of ``ef.*`` / Tensor methods (einframe/_functions_math.py): values (special values
included), dtype rules, errors, gradients at the conventions PyTorch picks, in-place variants.

Reference values come from the ``math`` module or were computed with PyTorch; no PyTorch needed here.
Derivatives of the new primitives are checked generically by tests/test_primitives.py (samples in
tests/_samples_math.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import einframe as ef
from einframe import _functions_math as fm
from einframe.ops import math as om

INF, NAN = math.inf, math.nan


def t64(v):
    return ef.tensor(v, dtype=ef.float64)


def close(x, expected, rtol=1e-12, atol=0.0):
    np.testing.assert_allclose(x.numpy(), np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol, equal_nan=True)


def same_bits(x, expected):
    """Equal values with equal signs of zero and NaN in the same places."""
    a, e = x.numpy().astype(np.float64), np.asarray(expected, dtype=np.float64)
    np.testing.assert_array_equal(a, e)
    np.testing.assert_array_equal(np.signbit(a), np.signbit(e))


def grad_of(fn, *values):
    xs = [t64(v).requires_grad_() for v in values]
    fn(*xs).sum().backward()
    return [x.grad.numpy() for x in xs]


# --------------------------------------------------------------------------------------------------
# wiring


def test_every_name_is_public_and_a_method():
    for name in fm.__all__:
        assert callable(getattr(ef, name)), name
    for name in fm.METHODS:
        assert callable(getattr(ef.Tensor, name)), name
    for name in ("floor_", "round_", "abs_", "log_", "sin_", "cos_", "lerp_", "addcmul_", "addcdiv_", "clamp_min_",
                 "nan_to_num_", "sign_", "square_", "rsqrt_", "reciprocal_", "true_divide_", "float_power_"):  # fmt: skip
        assert hasattr(ef.Tensor, name), name


def test_core_methods_are_not_replaced():
    from einframe import _functions as F

    for name in F._METHODS:
        assert name not in fm.METHODS, name


def test_aliases():
    assert ef.multiply is ef.mul and ef.divide is ef.div and ef.subtract is ef.sub
    assert ef.negative is ef.neg and ef.absolute is ef.abs and ef.fix is ef.trunc
    assert ef.arcsin is ef.asin and ef.arctan2 is ef.atan2 and ef.arctanh is ef.atanh
    x = t64([1.0, -2.0])
    close(ef.rsub(x, 5), [4.0, 7.0])
    close(ef.rsub(x, 5, alpha=2), [3.0, 9.0])
    close(x.multiply(x), [1.0, 4.0])
    close(ef.divide(ef.tensor([-7, 7]), 2, rounding_mode="floor"), [-4, 3])
    assert ef.positive(x) is x
    with pytest.raises(RuntimeError, match="bool"):
        ef.positive(ef.tensor([True]))


def test_non_tensor_input_is_a_type_error():
    with pytest.raises(TypeError, match="must be Tensor"):
        ef.floor(1.5)
    with pytest.raises(TypeError, match="must be Tensor"):
        ef.asin(0.5)


# --------------------------------------------------------------------------------------------------
# rounding


def test_round_half_to_even_and_signed_zero():
    x = ef.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 1.7, INF, -INF])
    same_bits(ef.round(x), [0.0, 2.0, 2.0, -0.0, -2.0, 2.0, INF, -INF])
    assert ef.round(x).dtype == ef.float32
    assert np.isnan(ef.round(ef.tensor([NAN])).numpy()).all()


def test_round_decimals():
    close(ef.round(t64([1.25, 1.35, -1.25, 1234.5678]), decimals=1), [1.2, 1.4, -1.2, 1234.6])
    close(ef.round(t64([1.005, 2.675, 15.0, 25.0, 35.0, 1250.0]), decimals=-1), [0.0, 0.0, 20.0, 20.0, 40.0, 1250.0])
    close(t64([1234.5678]).round(decimals=2), [1234.57])
    close(ef.round(t64([1250.0, 1350.0]), decimals=-2), [1200.0, 1400.0])  # ties to even at any place
    r = ef.round(ef.tensor([1.25, 1.35]), decimals=1)
    assert r.dtype == ef.float32
    np.testing.assert_array_equal(r.numpy(), np.array([1.2, 1.4], dtype=np.float32))


def test_floor_ceil_trunc_frac():
    x = t64([-1.5, -0.5, -0.0, 0.5, 1.5, INF, -INF])
    same_bits(ef.floor(x), [-2.0, -1.0, -0.0, 0.0, 1.0, INF, -INF])
    same_bits(ef.ceil(x), [-1.0, -0.0, -0.0, 1.0, 2.0, INF, -INF])
    same_bits(ef.trunc(x), [-1.0, -0.0, -0.0, 0.0, 1.0, INF, -INF])
    close(ef.frac(t64([-1.5, 2.25, INF])), [-0.5, 0.25, NAN])
    close(x[:5].frac(), [-0.5, -0.5, 0.0, 0.5, 0.5])


def test_rounding_integers_unchanged():
    i = ef.tensor([1, -2, 3])
    for fn in (ef.floor, ef.ceil, ef.trunc, ef.round):
        r = fn(i)
        assert r.dtype == ef.int64
        np.testing.assert_array_equal(r.numpy(), [1, -2, 3])
        assert r is not i
    with pytest.raises(RuntimeError, match="floating"):
        ef.frac(i)


def test_rounding_gradient_is_zero_and_frac_is_one():
    x = t64([0.3, 1.7, -2.5]).requires_grad_()
    for fn in (ef.floor, ef.ceil, ef.trunc, ef.round, lambda v: ef.round(v, decimals=1)):
        y = fn(x)
        assert y.requires_grad
        (g,) = ef.autograd.grad(y.sum(), x)
        np.testing.assert_array_equal(g.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(grad_of(ef.frac, [0.3, -1.7])[0], [1.0, 1.0])


# --------------------------------------------------------------------------------------------------
# remainders


def test_fmod_and_remainder_signs():
    a, b = t64([-3.0, 3.0, -3.0, 3.0, -0.0]), t64([2.0, 2.0, -2.0, -2.0, 2.0])
    same_bits(ef.fmod(a, b), [-1.0, 1.0, -1.0, 1.0, -0.0])  # sign of the dividend
    same_bits(ef.remainder(a, b), [1.0, 1.0, -1.0, -1.0, -0.0])  # sign of the divisor
    close(ef.fmod(t64([3.0]), 0.0), [NAN])
    close(ef.remainder(t64([3.0]), 0.0), [NAN])
    close(ef.fmod(t64([3.0, -3.0]), INF), [3.0, -3.0])
    close(ef.remainder(5.5, t64([2.0, -2.0])), [1.5, -0.5])  # a number as the dividend
    close(t64([7.5]).fmod(2), [1.5])


def test_fmod_remainder_integer_dtypes_and_zero_division():
    i = ef.tensor([-7, 7])
    r = ef.fmod(i, 3)
    assert r.dtype == ef.int64
    np.testing.assert_array_equal(r.numpy(), [-1, 1])
    np.testing.assert_array_equal(ef.remainder(i, 3).numpy(), [2, 1])
    np.testing.assert_array_equal(ef.remainder(i, ef.tensor([-3, -3])).numpy(), [-1, -2])
    assert ef.fmod(i, 2.5).dtype == ef.float32  # a float scalar: the default float dtype
    close(ef.fmod(i, 2.5), [-2.0, 2.0])
    for fn in (ef.fmod, ef.remainder, ef.floor_divide):
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            fn(i, 0)
    np.testing.assert_array_equal(ef.floor_divide(i, 2).numpy(), [-4, 3])
    close(ef.floor_divide(t64([-7.0, 7.0]), 2), [-4.0, 3.0])


def test_fmod_remainder_gradients():
    ga, gb = grad_of(ef.fmod, [-3.5, 3.5], [2.0, 2.0])
    close(ef.tensor(ga), [1.0, 1.0])
    close(ef.tensor(gb), [1.0, -1.0])  # -trunc(a/b)
    ga, gb = grad_of(ef.remainder, [-3.5, 3.5], [2.0, 2.0])
    close(ef.tensor(gb), [2.0, -1.0])  # -floor(a/b)


# --------------------------------------------------------------------------------------------------
# trigonometric and hyperbolic


@pytest.mark.parametrize(
    "name,ref,xs",
    [
        ("tan", math.tan, [-1.0, 0.3, 1.2]),
        ("sinh", math.sinh, [-2.0, 1e-10, 3.0]),
        ("cosh", math.cosh, [-2.0, 0.0, 3.0]),
        ("asin", math.asin, [-1.0, 0.3, 1.0]),
        ("acos", math.acos, [-1.0, 0.3, 1.0]),
        ("atan", math.atan, [-5.0, 0.3, 1e6]),
        ("asinh", math.asinh, [-5.0, 0.3, 1e6]),
        ("acosh", math.acosh, [1.0, 1.5, 1e6]),
        ("atanh", math.atanh, [-0.9, 0.3, 0.99]),
        ("log2", math.log2, [0.5, 8.0, 3.0]),
        ("log10", math.log10, [1000.0, 1e-5, 3.0]),
        ("exp2", lambda v: 2.0**v, [-3.0, 0.5, 10.0]),
        ("erfc", math.erfc, [-1.0, 0.5, 10.0]),
        ("lgamma", math.lgamma, [0.5, 3.5, -2.5, 100.0]),
        ("deg2rad", math.radians, [180.0, -90.0, 1.0]),
        ("rad2deg", math.degrees, [math.pi, -1.0, 0.5]),
    ],
)
def test_unary_values_and_dtypes(name, ref, xs):
    fn = getattr(ef, name)
    close(fn(t64(xs)), [ref(v) for v in xs], rtol=1e-14)
    close(getattr(t64(xs), name)(), [ref(v) for v in xs], rtol=1e-14)
    assert fn(ef.tensor(xs, dtype=ef.float32)).dtype == ef.float32
    assert fn(ef.tensor([1, 2])).dtype == ef.float32  # integers compute in the default float dtype
    assert fn(ef.tensor([True])).dtype == ef.float32


def test_domain_edges():
    close(ef.asin(t64([1.5, -1.5, NAN])), [NAN, NAN, NAN])
    close(ef.acosh(t64([0.5, 1.0])), [NAN, 0.0])
    close(ef.atanh(t64([1.0, -1.0, 2.0])), [INF, -INF, NAN])
    close(ef.log2(t64([0.0, -1.0, INF])), [-INF, NAN, INF])
    close(ef.cosh(t64([INF, -INF])), [INF, INF])
    close(ef.tan(t64([INF])), [NAN])
    assert ef.log2(t64([8.0])).item() == 3.0 and ef.log10(t64([1000.0])).item() == 3.0  # exact on powers


def test_atan2_quadrants_and_signed_zeros():
    y, x = t64([0.0, -0.0, 1.0, -1.0, 1.0, 0.0]), t64([-1.0, -1.0, 0.0, 0.0, 1.0, 0.0])
    close(ef.atan2(y, x), [math.pi, -math.pi, math.pi / 2, -math.pi / 2, math.pi / 4, 0.0])
    assert ef.atan2(ef.tensor([1, 2]), ef.tensor([1, 1])).dtype == ef.float32
    close(ef.atan2(t64([1.0]), 2.0), [math.atan2(1.0, 2.0)])
    ga, gb = grad_of(ef.atan2, [1.0], [2.0])
    close(ef.tensor(ga), [2.0 / 5.0])
    close(ef.tensor(gb), [-1.0 / 5.0])


def test_hypot_no_overflow():
    close(ef.hypot(t64([3.0, 1e200, INF]), t64([4.0, 1e200, NAN])), [5.0, math.hypot(1e200, 1e200), INF])
    ga, gb = grad_of(ef.hypot, [3.0], [4.0])
    close(ef.tensor(ga), [0.6])
    close(ef.tensor(gb), [0.8])


def test_sinc():
    close(ef.sinc(t64([0.0, 0.25, -1.5, 1.0])), [1.0, 0.9003163161571061, -0.2122065907891938, 0.0], atol=1e-16)
    g = grad_of(ef.sinc, [0.0, 0.5])[0]
    close(ef.tensor(g), [0.0, -4.0 / math.pi])  # d/dx sin(pi x)/(pi x) at 1/2 = -4/pi


# --------------------------------------------------------------------------------------------------
# special functions


def test_erfc_tail_erfinv_values():
    close(ef.erfc(t64([10.0, -1.0, 0.5])), [2.088487583762545e-45, 1.8427007929497148, 0.4795001221869535])
    close(ef.erfinv(t64([0.5, -0.9, 0.999999])), [0.4769362762044699, -1.1630871536766743, 3.458910737275499])
    same_bits(ef.erfinv(t64([1.0, -1.0, 0.0, -0.0])), [INF, -INF, 0.0, -0.0])
    close(ef.erfinv(t64([1.5, -2.0, NAN])), [NAN, NAN, NAN])
    x = t64(np.linspace(-0.99, 0.99, 11))
    close(ef.erf(ef.erfinv(x)), x.numpy(), rtol=1e-14, atol=1e-15)


def test_lgamma_digamma_polygamma_values():
    close(
        ef.lgamma(t64([0.5, 3.5, -2.5, 100.0])), [0.5723649429247001, 1.2009736023470743, -0.05624371649767405, 359.1342053695754]
    )
    close(ef.lgamma(t64([0.0, -0.0, -1.0, INF, -INF])), [INF] * 5)
    close(
        ef.digamma(t64([1.0, 0.5, -2.5, 100.0])),
        [-0.5772156649015328, -1.9635100260214229, 1.1031566406452433, 4.600161852738088],
    )
    same_bits(ef.digamma(t64([0.0, -0.0])), [-INF, INF])
    close(ef.digamma(t64([-1.0, -INF, INF, NAN])), [NAN, NAN, INF, NAN])
    close(ef.polygamma(1, t64([1.0, 0.5])), [math.pi**2 / 6, math.pi**2 / 2])
    close(ef.polygamma(3, t64([2.5])), [0.2239058488172521])
    close(ef.polygamma(0, t64([0.5])), ef.digamma(t64([0.5])).numpy())
    close(t64([1.0]).polygamma(1), [math.pi**2 / 6])
    with pytest.raises(RuntimeError, match="negative n"):
        ef.polygamma(-1, t64([1.0]))
    close(ef.mvlgamma(t64([2.5, 4.0]), 3), [1.8809954616117743, 5.402975080909175])
    with pytest.raises(RuntimeError, match=r"\(p-1\)/2"):
        ef.mvlgamma(t64([0.5]), 3)


def test_lgamma_gradient_chain_is_polygamma():
    x = t64([2.5]).requires_grad_()
    (g,) = ef.autograd.grad(ef.lgamma(x), x, create_graph=True)
    close(g.detach(), ef.digamma(t64([2.5])).numpy())
    (h,) = ef.autograd.grad(g.sum(), x)
    close(h, ef.polygamma(1, t64([2.5])).numpy())


def test_special_functions_without_scipy(monkeypatch):
    """The numpy fallbacks (used where scipy is not installed) agree with the scipy path."""
    xs = {
        "erfc": [-3.0, -0.5, 0.0, 0.5, 5.0, 26.0, INF, NAN],
        "erfinv": [-0.999999, -0.5, -0.0, 0.0, 1e-300, 0.3, 0.75, 1 - 2**-52, 1.0, -1.0, 2.0, NAN],
        "lgamma": [-2.5, -1.0, 0.0, 0.5, 1.0, 7.3, 171.5, 1e10, INF, -INF, NAN],
        "digamma": [-7.9, -2.5, -1.0, -0.0, 0.0, 1e-8, 0.5, 1.0, 3.3, 14.0, 1e10, INF, -INF, NAN],
    }
    rng = np.random.default_rng(0)
    wide = list(rng.uniform(-15, 15, 200))
    want = {k: getattr(ef, k)(t64(v)).numpy() for k, v in xs.items()}
    want_wide = {k: getattr(ef, k)(t64(wide)).numpy() for k in ("lgamma", "digamma")}
    want_poly = {n: ef.polygamma(n, t64(wide)).numpy() for n in (1, 2, 5)}
    monkeypatch.setattr(om, "_scipy", lambda xp, name: None)
    for k, v in xs.items():
        np.testing.assert_allclose(getattr(ef, k)(t64(v)).numpy(), want[k], rtol=1e-13, equal_nan=True, err_msg=k)
    for k in want_wide:
        got = getattr(ef, k)(t64(wide)).numpy()
        np.testing.assert_allclose(got, want_wide[k], rtol=1e-10, atol=1e-12, equal_nan=True, err_msg=k)
    for n, w in want_poly.items():
        np.testing.assert_allclose(ef.polygamma(n, t64(wide)).numpy(), w, rtol=1e-10, equal_nan=True, err_msg=str(n))
    assert ef.erfinv(ef.tensor([0.5])).dtype == ef.float32


# --------------------------------------------------------------------------------------------------
# logs and exponentials of sums


def test_logaddexp():
    a, b = t64([-INF, INF, 0.0, 1000.0, -INF, 2.0]), t64([-INF, INF, -40.0, 1000.0, 3.0, NAN])
    close(ef.logaddexp(a, b), [-INF, INF, 4.248354255291589e-18, 1000.0 + math.log(2.0), 3.0, NAN])
    close(ef.logaddexp2(t64([3.0, 100.0, -INF]), t64([3.0, 1.0, -INF])), [4.0, 100.0, -INF])
    ga, gb = grad_of(ef.logaddexp, [0.0, 1.0, 2.0], [0.0, 3.0, 2.0])
    close(ef.tensor(ga + gb), [1.0, 1.0, 1.0])
    close(ef.tensor(ga), [0.5, 1 / (1 + math.e**2), 0.5])
    ga, gb = grad_of(ef.logaddexp, [-INF, 0.0], [-INF, 1.0])  # no NaN leaks from the infinite entries
    assert np.isfinite(ga).all() and np.isfinite(gb).all()
    assert ef.logaddexp(ef.tensor([1, 2]), ef.tensor([1, 1])).dtype == ef.float32


def test_xlogy():
    close(
        ef.xlogy(t64([0.0, 0.0, 1.0, 0.0, 0.0, 2.0]), t64([0.0, NAN, 2.0, INF, -1.0, 0.5])),
        [0.0, NAN, math.log(2.0), 0.0, 0.0, 2 * math.log(0.5)],
    )
    close(ef.xlogy(2, t64([3.0])), [2 * math.log(3.0)])
    close(ef.xlogy(t64([0.0, 1.0]), 0.0), [0.0, -INF])
    gx, gy = grad_of(ef.xlogy, [0.0, 0.0, 3.0], [0.0, 2.0, 2.0])
    close(ef.tensor(gx), [0.0, math.log(2.0), math.log(2.0)])  # PyTorch's: log(y), 0 where x == 0 and y <= 0
    close(ef.tensor(gy), [0.0, 0.0, 1.5])


def test_logit_float_power_ldexp_frexp():
    close(ef.logit(t64([0.25, 0.5])), [-math.log(3.0), 0.0])
    close(ef.logit(t64([0.0, 0.25, 1.0]), eps=1e-6), [-13.815509557963773, -1.0986122886681098, 13.815509557935018], rtol=1e-9)
    r = ef.float_power(ef.tensor([2, 3]), 2)
    assert r.dtype == ef.float64
    close(r, [4.0, 9.0])
    close(ef.float_power(2, ef.tensor([0.5])), [math.sqrt(2.0)])
    x = ef.tensor([2.0])
    with pytest.raises(RuntimeError, match="float64"):
        x.float_power_(2)
    y = t64([2.0])
    y.float_power_(3)
    close(y, [8.0])
    close(ef.ldexp(t64([1.5]), ef.tensor([3])), [12.0])
    m, e = ef.frexp(ef.tensor([8.0, 0.3]))
    assert e.dtype == ef.int32 and m.dtype == ef.float32
    np.testing.assert_array_equal(e.numpy(), [4, -1])
    close(m, [0.5, 0.6], rtol=1e-7)


# --------------------------------------------------------------------------------------------------
# signs, blends, clamps


def test_sgn_signbit_copysign():
    np.testing.assert_array_equal(ef.sgn(ef.tensor([-2, 0, 3])).numpy(), [-1, 0, 1])
    np.testing.assert_array_equal(ef.signbit(t64([-0.0, 0.0, -1.0, NAN, -INF])).numpy(), [True, False, True, False, True])
    np.testing.assert_array_equal(ef.signbit(ef.tensor([-1, 0, 2])).numpy(), [True, False, False])
    assert ef.signbit(t64([1.0])).dtype == ef.bool
    same_bits(ef.copysign(t64([1.0, 2.0, -3.0, 0.0]), t64([-0.0, 0.0, 1.0, -1.0])), [-1.0, 2.0, 3.0, -0.0])
    c = ef.copysign(ef.tensor([1, 2]), -1)
    assert c.dtype == ef.float32
    close(c, [-1.0, -2.0])
    close(ef.copysign(t64([INF, NAN]), -1.0), [-INF, NAN])
    g = grad_of(lambda x: ef.copysign(x, t64([-1.0, 1.0, -1.0])), [0.0, -2.0, 3.0])[0]
    close(ef.tensor(g), [0.0, -1.0, -1.0])


def test_heaviside():
    close(ef.heaviside(t64([-1.0, 0.0, 2.0, NAN]), t64([0.5])), [0.0, 0.5, 1.0, 0.0])
    assert ef.heaviside(ef.tensor([-1, 0, 3]), ef.tensor([7])).tolist() == [0, 7, 1]
    with pytest.raises(RuntimeError, match="different dtypes"):
        ef.heaviside(ef.tensor([1.0]), t64([0.5]))


def test_lerp_addcmul_addcdiv():
    close(ef.lerp(t64([1.0, 0.1]), t64([3.0, 0.7]), 0.25), [1.5, 0.25])
    assert ef.lerp(t64([0.1]), t64([0.7]), 1.0).item() == 0.7  # exact at weight 1
    close(ef.lerp(t64([1.0, 1.0]), t64([3.0, 3.0]), t64([0.25, 0.9])), [1.5, 2.8])
    gi, ge, gw = grad_of(ef.lerp, [1.0, 2.0], [3.0, -1.0], [0.25, 0.75])
    close(ef.tensor(gi), [0.75, 0.25])
    close(ef.tensor(ge), [0.25, 0.75])
    close(ef.tensor(gw), [2.0, -3.0])
    x, a, b = t64([1.0, 2.0]), t64([2.0, 3.0]), t64([4.0, 0.5])
    close(ef.addcmul(x, a, b), [9.0, 3.5])
    close(ef.addcmul(x, a, b, value=0.5), [5.0, 2.75])
    close(ef.addcdiv(x, a, b, value=2), [2.0, 14.0])
    with pytest.raises(RuntimeError, match="Integer division"):
        ef.addcdiv(x, ef.tensor([1]), ef.tensor([2]))


def test_nan_to_num():
    x = ef.tensor([NAN, INF, -INF, 1.0])
    f32 = np.finfo(np.float32)
    close(ef.nan_to_num(x), [0.0, f32.max, f32.min, 1.0])
    assert ef.nan_to_num(x).dtype == ef.float32
    close(ef.nan_to_num(t64([NAN, INF, -INF]), nan=1.0, posinf=2.0, neginf=-2.0), [1.0, 2.0, -2.0])
    close(t64([INF]).nan_to_num(), [np.finfo(np.float64).max])
    assert ef.nan_to_num(ef.tensor([1, 2])).dtype == ef.int64
    np.testing.assert_array_equal(grad_of(ef.nan_to_num, [NAN, 1.0, INF])[0], [0.0, 1.0, 0.0])


def test_clamp_min_max_fmin_fmax():
    x = t64([-2.0, 0.5, 3.0])
    close(ef.clamp_min(x, 0.0), [0.0, 0.5, 3.0])
    close(x.clamp_max(1.0), [-2.0, 0.5, 1.0])
    close(ef.clamp_min(x, t64([0.0, 1.0, 0.0])), [0.0, 1.0, 3.0])
    a, b = t64([1.0, NAN, NAN, 1.0]), t64([NAN, 2.0, NAN, 3.0])
    close(ef.fmax(a, b), [1.0, 2.0, NAN, 3.0])
    close(ef.fmin(a, b), [1.0, 2.0, NAN, 1.0])
    close(ef.maximum(a, b), [NAN, NAN, NAN, 3.0])  # unlike maximum, NaN loses
    ga, gb = grad_of(ef.fmax, [1.0, 2.0], [2.0, 2.0])
    np.testing.assert_array_equal(ga, [0.0, 1.0])  # ties go to input (as PyTorch)
    np.testing.assert_array_equal(gb, [1.0, 0.0])
    np.testing.assert_array_equal(ef.fmax(ef.tensor([1, 5]), ef.tensor([3, 2])).numpy(), [3, 5])


# --------------------------------------------------------------------------------------------------
# predicates and integer ops


def test_isclose_and_inf_predicates():
    a, b = ef.tensor([1.0, NAN, INF, INF, 1.0]), ef.tensor([1.0 + 1e-6, NAN, INF, -INF, 1.1])
    np.testing.assert_array_equal(ef.isclose(a, b).numpy(), [True, False, True, False, False])
    np.testing.assert_array_equal(ef.isclose(a, b, equal_nan=True).numpy(), [True, True, True, False, False])
    np.testing.assert_array_equal(a.isclose(b, rtol=0.2).numpy(), [True, False, True, False, True])
    with pytest.raises(RuntimeError, match="same dtype"):
        ef.isclose(ef.tensor([1.0]), t64([1.0]))
    x = ef.tensor([INF, -INF, NAN, 1.0])
    np.testing.assert_array_equal(ef.isposinf(x).numpy(), [True, False, False, False])
    np.testing.assert_array_equal(x.isneginf().numpy(), [False, True, False, False])
    assert ef.isreal(x).all().item() and ef.isposinf(ef.tensor([1])).dtype == ef.bool


def test_bitwise_and_integer_ops():
    i, j = ef.tensor([12, 10, -1]), ef.tensor([10, 6, 5])
    assert ef.bitwise_and(i, j).tolist() == [8, 2, 5]
    assert ef.bitwise_or(i, j).tolist() == [14, 14, -1]
    assert i.bitwise_xor(j).tolist() == [6, 12, -6]
    assert ef.bitwise_and(i, 3).tolist() == [0, 2, 3]
    assert ef.bitwise_not(ef.tensor([5, -1])).tolist() == [-6, 0]
    p, q = ef.tensor([True, False, True]), ef.tensor([True, True, False])
    assert ef.bitwise_and(p, q).tolist() == [True, False, False]
    assert ef.bitwise_xor(p, q).dtype == ef.bool
    assert ef.bitwise_not(p).tolist() == [False, True, False]
    assert ef.bitwise_left_shift(ef.tensor([1, 3]), 2).tolist() == [4, 12]
    assert ef.bitwise_right_shift(ef.tensor([16, -16]), 2).tolist() == [4, -4]
    assert ef.gcd(ef.tensor([12, -18]), ef.tensor([8, 12])).tolist() == [4, 6]
    assert ef.lcm(ef.tensor([4, 6]), ef.tensor([6, 4])).tolist() == [12, 12]
    for fn in (ef.bitwise_and, ef.gcd):
        with pytest.raises(NotImplementedError, match="not implemented for 'float32'"):
            fn(ef.tensor([1.0]), ef.tensor([1.0]))
    with pytest.raises(RuntimeError):  # NotImplementedError is a RuntimeError, as in PyTorch
        ef.bitwise_not(ef.tensor([1.0]))
    assert ef.logical_xor(ef.tensor([1.0, 0.0]), ef.tensor([1.0, 1.0])).tolist() == [False, True]
    assert ef.nextafter(t64([1.0]), t64([2.0])).item() == np.nextafter(1.0, 2.0)


# --------------------------------------------------------------------------------------------------
# in-place variants


def test_inplace_without_autograd():
    x = t64([1.5, -2.5, 0.5])
    assert x.floor_() is x
    close(x, [1.0, -3.0, 0.0])
    y = t64([1.25, 2.675])
    y.round_(decimals=1)
    close(y, [1.2, 2.7])
    z = t64([0.0, math.pi / 2])
    z.sin_()
    close(z, [0.0, 1.0])
    w = t64([1.0, 2.0])
    w.lerp_(t64([3.0, 4.0]), 0.5).addcmul_(t64([1.0, 1.0]), t64([2.0, 3.0]), value=2).clamp_min_(7.0)
    close(w, [7.0, 9.0])
    n = t64([NAN, -INF, 2.0])
    n.nan_to_num_(nan=-1.0, neginf=-9.0)
    close(n, [-1.0, -9.0, 2.0])
    a = t64([-4.0, 9.0])
    a.abs_().sqrt_().reciprocal_()
    close(a, [0.5, 1 / 3])
    v = t64([8.0, 4.0])[:1]  # views see the update of their base and vice versa
    v.log2_()
    close(v, [3.0])


def test_inplace_dtype_rules():
    i = ef.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        i.sin_()
    i.floor_()  # integers stay integers
    assert i.tolist() == [1, 2]
    i.bitwise_and_(ef.tensor([3, 3]))
    assert i.tolist() == [1, 2]
    i.fmod_(2)
    assert i.tolist() == [1, 0]


def test_inplace_records_for_autograd():
    leaf = t64([0.3, 1.2]).requires_grad_()
    x = leaf * 1.0
    x.sin_()
    x.atan2_(t64([1.0, 2.0]))
    x.sum().backward()
    s = np.sin(leaf.detach().numpy())
    expected = np.cos(leaf.detach().numpy()) * np.array([1.0, 2.0]) / (s**2 + np.array([1.0, 2.0]) ** 2)
    np.testing.assert_allclose(leaf.grad.numpy(), expected, rtol=1e-12)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.floor_()


def test_higher_order_through_composites():
    # gradgradcheck of the composed ops (the primitives' own checks are in test_primitives)
    rng = np.random.default_rng(0)
    a = ef.tensor(rng.standard_normal((2, 3)), dtype=ef.float64, requires_grad=True)
    b = ef.tensor(rng.standard_normal((2, 3)), dtype=ef.float64, requires_grad=True)
    p = ef.tensor(rng.uniform(0.5, 2.0, (2, 3)), dtype=ef.float64, requires_grad=True)
    w = ef.tensor(rng.uniform(0.0, 1.0, (2, 3)), dtype=ef.float64, requires_grad=True)
    for fn, xs in [
        (ef.logaddexp, (a, b)),
        (ef.logaddexp2, (a, b)),
        (ef.xlogy, (a, p)),
        (lambda x: ef.sinc(x), (a,)),
        (lambda x, y, z: ef.lerp(x, y, z), (a, b, w)),
        (lambda x, y: ef.copysign(x, y.detach()), (a, b)),
        (lambda x: ef.logit(x, eps=0.01), (w,)),
        (ef.exp2, (a,)),
        (ef.deg2rad, (a,)),
    ]:
        assert ef.autograd.gradcheck(fn, xs), fn
        assert ef.autograd.gradgradcheck(fn, xs), fn


def test_log10_of_float32_powers_of_ten_is_exact():
    assert ef.log10(ef.tensor([100.0, 1000.0, 1e-5])).tolist() == [2.0, 3.0, -5.0]
