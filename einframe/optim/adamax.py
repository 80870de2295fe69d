"""Adamax (Adam with the infinity norm), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.Adamax([w], lr=0.1)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 4)
0.9
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .adam import _check_adam
from .optimizer import Optimizer

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax: :math:`m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t`, :math:`u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon)`,
    :math:`p \leftarrow p - \gamma\, m_t / ((1-\beta_1^t)\, u_t)`.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        _check_adam(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one Adamax step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p, g, state in self._each_param(group, "exp_avg", "exp_inf"):
                xp = p._device.xp
                m, u = state["exp_avg"]._data, state["exp_inf"]._data
                m += (1 - beta1) * (g - m)
                u *= beta2
                xp.maximum(u, xp.abs(g) + eps, out=u)
                clr = lr / (1 - beta1 ** state["step"])
                p._data -= clr * (m / u)
                self._bump(p)
        return loss
