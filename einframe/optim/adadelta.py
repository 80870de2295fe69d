"""Adadelta (Zeiler 2012), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.Adadelta([w], lr=1.0)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 5)  # the first step is ~sqrt(eps / (1 - rho))
0.99684
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .optimizer import Optimizer, _check_float

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta: :math:`v_t = \rho v_{t-1} + (1-\rho) g_t^2`,
    :math:`\Delta x_t = \sqrt{u_{t-1} + \epsilon} / \sqrt{v_t + \epsilon}\; g_t`,
    :math:`u_t = \rho u_{t-1} + (1-\rho)\Delta x_t^2`, :math:`p \leftarrow p - \gamma \Delta x_t`;
    ``weight_decay`` adds :math:`\lambda p` to the gradient. State: ``step``, ``square_avg``, ``acc_delta``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        _check_float("lr", lr, label="learning rate")
        _check_float("rho", rho)
        if rho > 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_float("eps", eps, label="epsilon value")
        _check_float("weight_decay", weight_decay)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one Adadelta step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, rho, eps = group["lr"], group["rho"], group["eps"]
            for p, g, state in self._each_param(group, "square_avg", "acc_delta"):
                xp = p._device.xp
                v, u = state["square_avg"]._data, state["acc_delta"]._data
                v *= rho
                v += (1 - rho) * (g * g)
                delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
                u *= rho
                u += (1 - rho) * (delta * delta)
                p._data -= lr * delta
                self._bump(p)
        return loss
