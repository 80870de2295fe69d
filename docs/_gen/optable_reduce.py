"""Rows of the op table for einframe/_functions_reduce.py: move to docs/_gen/optable_reduce.py."""

import einframe as ef


def _x(*shape):
    return ef.randn(*shape, dtype=ef.float64).requires_grad_()


SAMPLES = {
    "prod": lambda: ef.prod(_x(2, 3), 1),
    "cumsum": lambda: ef.cumsum(_x(2, 3), 1),
    "cumprod": lambda: ef.cumprod(_x(3), 0),
    "cummax": lambda: ef.cummax(_x(2, 3), 1).values,
    "cummin": lambda: ef.cummin(_x(2, 3), 1).values,
    "logcumsumexp": lambda: ef.logcumsumexp(_x(3), 0),
    "median": lambda: ef.median(_x(2, 3), 1).values,
    "nanmedian": lambda: ef.nanmedian(_x(2, 3)),
    "mode": lambda: ef.mode(_x(2, 3), 1).values,
    "quantile": lambda: ef.quantile(_x(2, 3), 0.3, 1),
    "nanquantile": lambda: ef.nanquantile(_x(2, 3), 0.3, 1),
    "nansum": lambda: ef.nansum(_x(2, 3), 1),
    "nanmean": lambda: ef.nanmean(_x(2, 3), 1),
    "std_mean": lambda: ef.std_mean(_x(2, 3), 1)[0],
    "var_mean": lambda: ef.var_mean(_x(2, 3), 1)[0],
    "aminmax": lambda: ef.aminmax(_x(2, 3), dim=1).max,
    "dist": lambda: ef.dist(_x(3), _x(3)),
    "cdist": lambda: ef.cdist(_x(2, 3), _x(4, 3)),
    "renorm": lambda: ef.renorm(_x(2, 3), 2, 0, 1.0),
    "cov": lambda: ef.cov(_x(2, 4)),
    "corrcoef": lambda: ef.corrcoef(_x(2, 4)),
    "trapezoid": lambda: ef.trapezoid(_x(2, 3)),
    "trapz": lambda: ef.trapz(_x(2, 3)),
    "cumulative_trapezoid": lambda: ef.cumulative_trapezoid(_x(2, 3)),
}
NO_GRAD = ["count_nonzero", "histogram"]
