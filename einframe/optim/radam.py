"""RAdam (rectified Adam, Liu et al. 2019), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.RAdam([w], lr=0.1)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 4)  # the first steps are un-adapted momentum SGD (rho_t <= 5)
0.9
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .adam import _check_adam
from .optimizer import Optimizer

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam: :math:`m_t`, :math:`v_t` as in Adam, :math:`\rho_\infty = 2/(1-\beta_2) - 1`,
    :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`; when :math:`\rho_t > 5`,
    :math:`p \leftarrow p - \gamma\,\hat m_t\, r_t \sqrt{1-\beta_2^t}/(\sqrt{v_t}+\epsilon)` with
    :math:`r_t = \sqrt{(\rho_t-4)(\rho_t-2)\rho_\infty / ((\rho_\infty-4)(\rho_\infty-2)\rho_t)}`, else
    :math:`p \leftarrow p - \gamma \hat m_t`. ``decoupled_weight_decay`` decays like AdamW.
    State: ``step``, ``exp_avg``, ``exp_avg_sq``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_adam(lr, betas, eps, weight_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one RAdam step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            for p, g, state in self._each_param(group, "exp_avg", "exp_avg_sq"):
                xp = p._device.xp
                t = state["step"]
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                m += (1 - beta1) * (g - m)
                v *= beta2
                v += (1 - beta2) * (g * g)
                bias_correction1 = 1 - beta1**t
                bias_correction2 = 1 - beta2**t
                rho_inf = 2 / (1 - beta2) - 1
                rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                    adaptive = bias_correction2**0.5 / (xp.sqrt(v) + eps)
                    p._data -= (m / bias_correction1) * lr * adaptive * rect
                else:
                    p._data -= (m / bias_correction1) * lr
                self._bump(p)
        return loss
