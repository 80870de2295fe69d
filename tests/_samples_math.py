"""Samples of the math family's primitives (einframe/ops/math.py), merged into the primitive table's
meta-tests (gradcheck, gradgradcheck, jvp vs vjp, jvp vs finite differences) by tests/test_primitives.py."""

from __future__ import annotations

import einframe as ef
from einframe.ops.math import Erfinv, I0e, I1e, Ndtri, Polygamma


def samples(S, helpers):
    away, positive, normal = helpers["away"], helpers["positive"], helpers["normal"]

    def unit(lo=-0.8, hi=0.8):
        return lambda rng, shape: rng.uniform(lo, hi, shape)

    def above(lo):
        return lambda rng, shape: rng.uniform(lo, lo + 2.0, shape)

    def off_integers(rng, shape):  # quotients a/b away from whole numbers: fmod/remainder are smooth there
        return rng.integers(-3, 4, shape) + rng.uniform(0.2, 0.8, shape)

    def one(rng, shape):
        return rng.uniform(1.0, 1.0, shape)

    return {
        "Tan": [S([(2, 3)], lambda a: a.tan(), init=[unit(-1.2, 1.2)])],
        "Sinh": [S([(2, 3)], lambda a: a.sinh())],
        "Cosh": [S([(2, 3)], lambda a: ef.cosh(a))],
        "Asin": [S([(2, 3)], lambda a: a.asin(), init=[unit()])],
        "Acos": [S([(2, 3)], lambda a: ef.arccos(a), init=[unit()])],
        "Atan": [S([(2, 3)], lambda a: a.atan())],
        "Asinh": [S([(2, 3)], lambda a: a.asinh())],
        "Acosh": [S([(2, 3)], lambda a: a.acosh(), init=[above(1.3)])],
        "Atanh": [S([(2, 3)], lambda a: a.atanh(), init=[unit()])],
        "Atan2": [
            S([(2, 3), (2, 3)], lambda a, b: ef.atan2(a, b), init=[away(), away()], id="tensors"),
            S([(2, 3), (3,)], lambda a, b: a.arctan2(b), init=[away(), away()], id="broadcast"),
            S([(2, 3)], lambda a: ef.atan2(a, 0.7), init=[normal], id="scalar"),
        ],
        "Hypot": [
            S([(2, 3), (2, 3)], lambda a, b: ef.hypot(a, b), init=[away(), away()], id="tensors"),
            S([(2, 3), (1, 3)], lambda a, b: a.hypot(b), init=[away(), away()], id="broadcast"),
        ],
        "Log2": [S([(2, 3)], lambda a: a.log2(), init=[positive()])],
        "Log10": [S([(2, 3)], lambda a: ef.log10(a), init=[positive()])],
        "Log1p": [S([(2, 3)], lambda a: ef.logaddexp(a, a * 0.5), id="via-logaddexp")],
        "Expm1": [S([(2, 3)], lambda a: ef.ops.math.Expm1()(a))],
        "Erfc": [S([(2, 3)], lambda a: a.erfc())],
        "Erfinv": [
            S([(2, 3)], lambda a: Erfinv()(a), init=[unit()]),
            S([(2, 3)], lambda a: a.erfinv(), init=[unit(-0.95, 0.95)], id="method"),
        ],
        "I0e": [
            S([(2, 3)], lambda a: I0e()(a * 4)),
            S([(2, 3)], lambda a: ef.i0(a), id="i0"),
        ],
        "I1e": [
            S([(2, 3)], lambda a: I1e()(a * 4)),
            S([(2, 3)], lambda a: ef.special.i1(a * 40), id="i1-asymptotic"),
        ],
        "Ndtri": [
            S([(2, 3)], lambda a: Ndtri()(a), init=[unit(0.02, 0.98)]),
            S([(2, 3)], lambda a: ef.special.ndtri(a), init=[unit(0.001, 0.2)], id="lower-tail"),
        ],
        "Lgamma": [
            S([(2, 3)], lambda a: a.lgamma(), init=[positive(0.3, 4.0)]),
            S([(2, 3)], lambda a: ef.mvlgamma(a, 2), init=[positive(1.0, 3.0)], id="mvlgamma"),
        ],
        "Polygamma": [
            S([(2, 3)], lambda a: a.digamma(), init=[positive(0.3, 4.0)], id="digamma"),
            S([(2, 3)], lambda a: Polygamma(1)(a), init=[positive(0.3, 4.0)], id="trigamma"),
            S([(2, 3)], lambda a: ef.digamma(a), init=[lambda rng, s: -rng.uniform(0.2, 0.8, s)], id="negative"),
        ],
        "Rounding": [
            S([(2, 3)], lambda a: a.floor(), init=[off_integers], id="floor"),
            S([(2, 3)], lambda a: ef.round(a, decimals=1) + a, init=[normal], id="round-decimals"),
            S([(2, 3)], lambda a: ef.frac(a), init=[off_integers], id="frac"),
        ],
        "Fmod": [
            S([(2, 3), (2, 3)], lambda a, b: ef.fmod(a, b), init=[off_integers, one], id="tensors"),
            S([(2, 3)], lambda a: a.fmod(1.5), init=[off_integers], id="scalar"),
        ],
        "Remainder": [
            S([(2, 3), (3,)], lambda a, b: ef.remainder(a, b), init=[off_integers, one], id="broadcast"),
            S([(2, 3)], lambda a: a.remainder(-1.5), init=[off_integers], id="scalar"),
        ],
    }
