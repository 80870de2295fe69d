"""Adafactor: Adam-like steps with a factored second moment (one row and one column statistic per
matrix), relative step sizes and update clipping (``torch.optim.Adafactor``; Shazeer & Stern, 2018).

>>> import einframe as ef
>>> w = ef.nn.Parameter(ef.ones(2, 3))
>>> opt = ef.optim.Adafactor([w], lr=0.01)
>>> w.sum().backward(); opt.step()
>>> sorted(opt.state[w])
['col_var', 'row_var', 'step']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from .optimizer import Optimizer

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    r"""Adafactor as PyTorch implements it: with :math:`\beta_{2,t} = 1 - t^{c}` (``beta2_decay`` =
    c), the second moment of a matrix gradient is the outer product of running row and column mean
    squares (normalised by the row statistics' mean), of a vector gradient a running mean square; the
    update :math:`g / \sqrt{\hat v}` is clipped to RMS ``d`` and scaled by
    :math:`\max(\epsilon_2, \mathrm{RMS}(p)) \min(\gamma, 1/\sqrt t)`; weight decay is decoupled.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one Adafactor step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (eps1, eps2), d, wd = group["lr"], group["eps"], group["d"], group["weight_decay"]
            for p in group["params"]:
                g = self._grad_array(p, group["maximize"])
                if g is None:
                    continue
                x = p._data
                e1 = float(np.finfo(x.dtype).eps) if eps1 is None else eps1
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0.0
                    if g.ndim > 1:
                        state["row_var"] = self._zeros_like_shape(p, x.shape[:-1] + (1,))
                        state["col_var"] = self._zeros_like_shape(p, x.shape[:-2] + (1, x.shape[-1]))
                    else:
                        state["variance"] = self._zeros_like(p)
                state["step"] += 1.0
                t = state["step"]
                one_minus_beta2 = t ** group["beta2_decay"]
                rho = min(lr, 1 / math.sqrt(t))
                alpha = max(eps2, float(np.sqrt((x * x).sum())) / math.sqrt(x.size)) * rho
                if wd != 0:
                    x *= 1 - lr * wd
                if g.ndim > 1:
                    row, col = state["row_var"]._data, state["col_var"]._data
                    row += one_minus_beta2 * ((g * g).mean(axis=-1, keepdims=True) - row)
                    col += one_minus_beta2 * ((g * g).mean(axis=-2, keepdims=True) - col)
                    var = (row @ col) / np.maximum(row.mean(axis=-2, keepdims=True), e1)
                else:
                    v = state["variance"]._data
                    v += one_minus_beta2 * (g * g - v)
                    var = v.copy()
                update = g / np.sqrt(np.maximum(var, e1 * e1))
                denom = max(1.0, float(np.sqrt((update * update).sum())) / (math.sqrt(update.size) * d))
                x -= (alpha / denom) * update
                self._bump(p)
        return loss

    @staticmethod
    def _zeros_like_shape(p, shape):
        from ..tensor import Tensor

        xp = p._device.xp
        return Tensor._wrap(xp.zeros(shape, dtype=p._data.dtype), p._device)
