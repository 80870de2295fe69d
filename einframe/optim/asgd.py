"""ASGD (averaged SGD, Polyak & Juditsky 1992), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.ASGD([w], lr=0.1)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 5), sorted(opt.state[w])
(0.89999, ['ax', 'eta', 'mu', 'step'])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .optimizer import Optimizer, _check_float

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""ASGD: :math:`p \leftarrow p(1 - \lambda\eta_t) - \eta_t g_t`; the average
    :math:`a \leftarrow a + \mu_t (p - a)` (a copy of :math:`p` while :math:`\mu_t = 1`), then
    :math:`\eta_{t+1} = \gamma / (1 + \lambda\gamma t)^\alpha`, :math:`\mu_{t+1} = 1/\max(1, t - t_0)`.
    State: ``step``, ``eta``, ``mu`` (Python floats here; 0-d tensors in PyTorch) and ``ax`` (the average).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        maximize: bool = False,
    ) -> None:
        _check_float("lr", lr, label="learning rate")
        _check_float("weight_decay", weight_decay)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one ASGD step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0, wd = group["lr"], group["lambd"], group["alpha"], group["t0"], group["weight_decay"]
            for p in group["params"]:
                g = self._grad_array(p, group["maximize"])
                if g is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["eta"] = float(lr)
                    state["mu"] = 1.0
                    state["ax"] = self._zeros_like(p)
                state["step"] += 1
                if wd != 0:
                    g = g + wd * p._data
                eta = state["eta"]
                p._data *= 1 - lambd * eta
                p._data -= eta * g
                ax = state["ax"]._data
                if state["mu"] != 1:
                    ax += (p._data - ax) * state["mu"]
                else:
                    ax[...] = p._data
                t = state["step"]
                state["eta"] = lr / ((1 + lambd * lr * t) ** alpha)
                state["mu"] = 1 / max(1, t - t0)
                self._bump(p)
        return loss
