"""Rows of the op table for einframe/_functions_math.py: move to docs/_gen/optable_math.py."""

import einframe as ef


def _x(*shape):
    return ef.randn(*shape, dtype=ef.float64).requires_grad_()


def _pos(*shape):
    return (ef.rand(*shape, dtype=ef.float64) + 0.5).requires_grad_()


def _unit(*shape):
    return (ef.rand(*shape, dtype=ef.float64) * 1.6 - 0.8).requires_grad_()


SAMPLES = {
    "floor": lambda: ef.floor(_x(3)),
    "ceil": lambda: ef.ceil(_x(3)),
    "round": lambda: ef.round(_x(3), decimals=1),
    "trunc": lambda: ef.trunc(_x(3)),
    "fix": lambda: ef.fix(_x(3)),
    "frac": lambda: ef.frac(_x(3)),
    "fmod": lambda: ef.fmod(_x(2, 3), _pos(3)),
    "remainder": lambda: ef.remainder(_x(2, 3), _pos(3)),
    "tan": lambda: ef.tan(_unit(3)),
    "asin": lambda: ef.asin(_unit(3)),
    "arcsin": lambda: ef.arcsin(_unit(3)),
    "acos": lambda: ef.acos(_unit(3)),
    "arccos": lambda: ef.arccos(_unit(3)),
    "atan": lambda: ef.atan(_x(3)),
    "arctan": lambda: ef.arctan(_x(3)),
    "atan2": lambda: ef.atan2(_x(2, 3), _x(3)),
    "arctan2": lambda: ef.arctan2(_x(2, 3), _x(3)),
    "hypot": lambda: ef.hypot(_x(2, 3), _x(3)),
    "sinh": lambda: ef.sinh(_x(3)),
    "cosh": lambda: ef.cosh(_x(3)),
    "asinh": lambda: ef.asinh(_x(3)),
    "arcsinh": lambda: ef.arcsinh(_x(3)),
    "acosh": lambda: ef.acosh(_pos(3) + 1),
    "arccosh": lambda: ef.arccosh(_pos(3) + 1),
    "atanh": lambda: ef.atanh(_unit(3)),
    "arctanh": lambda: ef.arctanh(_unit(3)),
    "deg2rad": lambda: ef.deg2rad(_x(3)),
    "rad2deg": lambda: ef.rad2deg(_x(3)),
    "sinc": lambda: ef.sinc(_x(3)),
    "log2": lambda: ef.log2(_pos(3)),
    "log10": lambda: ef.log10(_pos(3)),
    "exp2": lambda: ef.exp2(_x(3)),
    "logaddexp": lambda: ef.logaddexp(_x(2, 3), _x(3)),
    "logaddexp2": lambda: ef.logaddexp2(_x(2, 3), _x(3)),
    "xlogy": lambda: ef.xlogy(_x(3), _pos(3)),
    "logit": lambda: ef.logit(_unit(3) * 0.5 + 0.5),
    "erfc": lambda: ef.erfc(_x(3)),
    "erfinv": lambda: ef.erfinv(_unit(3)),
    "i0": lambda: ef.i0(_x(2, 3)),
    "lgamma": lambda: ef.lgamma(_pos(3)),
    "digamma": lambda: ef.digamma(_pos(3)),
    "polygamma": lambda: ef.polygamma(1, _pos(3)),
    "mvlgamma": lambda: ef.mvlgamma(_pos(3) + 1, 2),
    "float_power": lambda: ef.float_power(_pos(3), 2.5),
    "ldexp": lambda: ef.ldexp(_x(3), ef.tensor([1, 2, 3])),
    "sgn": lambda: ef.sgn(_x(3)),
    "copysign": lambda: ef.copysign(_x(3), ef.randn(3)),
    "lerp": lambda: ef.lerp(_x(3), _x(3), 0.3),
    "addcmul": lambda: ef.addcmul(_x(3), _x(3), _x(3), value=0.5),
    "addcdiv": lambda: ef.addcdiv(_x(3), _x(3), _pos(3), value=0.5),
    "nan_to_num": lambda: ef.nan_to_num(_x(3)),
    "clamp_min": lambda: ef.clamp_min(_x(3), 0.0),
    "clamp_max": lambda: ef.clamp_max(_x(3), 0.0),
    "fmin": lambda: ef.fmin(_x(3), _x(3)),
    "fmax": lambda: ef.fmax(_x(3), _x(3)),
    "multiply": lambda: ef.multiply(_x(3), _x(3)),
    "divide": lambda: ef.divide(_x(3), _pos(3)),
    "subtract": lambda: ef.subtract(_x(3), _x(3)),
    "negative": lambda: ef.negative(_x(3)),
    "absolute": lambda: ef.absolute(_x(3)),
    "rsub": lambda: ef.rsub(_x(3), 1.0),
}
NO_GRAD = [
    "floor_divide", "signbit", "heaviside", "frexp", "isclose", "isposinf", "isneginf", "isreal", "logical_xor",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "bitwise_left_shift", "bitwise_right_shift", "gcd",
    "lcm", "nextafter",
]  # fmt: skip
# positive(x) returns x itself: no op of its own
OTHER = ["positive"]
