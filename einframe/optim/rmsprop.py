"""RMSprop (optionally centered, with momentum), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.RMSprop([w], lr=0.01)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 4)  # 1 - 0.01 / sqrt(0.01)
0.9
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .optimizer import Optimizer, _check_float

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop: :math:`v_t = \alpha v_{t-1} + (1-\alpha) g_t^2`; centered subtracts :math:`\bar g_t^2`
    (:math:`\bar g_t = \alpha \bar g_{t-1} + (1-\alpha) g_t`); with momentum
    :math:`b_t = \mu b_{t-1} + g_t/(\sqrt{v_t}+\epsilon)`, :math:`p \leftarrow p - \gamma b_t`,
    else :math:`p \leftarrow p - \gamma g_t/(\sqrt{v_t}+\epsilon)`.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_float("lr", lr, label="learning rate")
        _check_float("eps", eps, label="epsilon value")
        _check_float("momentum", momentum)
        _check_float("weight_decay", weight_decay)
        _check_float("alpha", alpha)
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered, maximize=maximize
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one RMSprop step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, alpha, eps, mom = group["lr"], group["alpha"], group["eps"], group["momentum"]

            def init(p, state, mom=mom, group=group):
                if mom > 0:
                    state["momentum_buffer"] = self._zeros_like(p)
                if group["centered"]:
                    state["grad_avg"] = self._zeros_like(p)

            for p, g, state in self._each_param(group, "square_avg", init=init):
                xp = p._device.xp
                v = state["square_avg"]._data
                v *= alpha
                v += (1 - alpha) * (g * g)
                if group["centered"]:
                    ga = state["grad_avg"]._data
                    ga += (1 - alpha) * (g - ga)
                    avg = xp.sqrt(v - ga * ga) + eps
                else:
                    avg = xp.sqrt(v) + eps
                if mom > 0:
                    buf = state["momentum_buffer"]._data
                    buf *= mom
                    buf += g / avg
                    p._data -= lr * buf
                else:
                    p._data -= lr * (g / avg)
                self._bump(p)
        return loss
