"""Stochastic gradient descent (optionally with momentum, Nesterov momentum, weight decay).

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.SGD([w], lr=0.1, momentum=0.9)
>>> for _ in range(2):
...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
>>> round(w.item(), 4)
0.46
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..tensor import Tensor
from .optimizer import Optimizer, _check_float

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""SGD as PyTorch documents it.

    With :math:`g_t` the gradient (negated if ``maximize``) plus ``weight_decay * p``:
    :math:`b_1 = g_1`, :math:`b_t = \mu b_{t-1} + (1-\tau) g_t`; the step is
    :math:`p \leftarrow p - \gamma\,(g_t + \mu b_t)` with ``nesterov``, else :math:`p - \gamma b_t`
    (:math:`p - \gamma g_t` without momentum).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_float("lr", lr, label="learning rate")
        _check_float("momentum", momentum)
        _check_float("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"Nesterov momentum requires a momentum and zero dampening; got momentum={momentum}, dampening={dampening}"
            )
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov, maximize=maximize
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one SGD step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, mom, damp, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
            for p in group["params"]:
                g = self._grad_array(p, group["maximize"])
                if g is None:
                    continue
                xp = p._device.xp
                if wd != 0:
                    g = g + wd * p._data
                if mom != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = Tensor._wrap(xp.array(g, copy=True), p._device)
                    else:
                        b = buf._data
                        b *= mom
                        b += (1 - damp) * g
                    g = g + mom * buf._data if group["nesterov"] else buf._data
                p._data -= lr * g
                self._bump(p)
        return loss
