"""NAdam (Adam with Nesterov momentum, Dozat 2016), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.NAdam([w], lr=0.1)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 3)
0.894
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .adam import _check_adam
from .optimizer import Optimizer, _check_float

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam: :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi})`, :math:`m_t`, :math:`v_t` as in Adam,
    :math:`p \leftarrow p - \gamma\,\big(\tfrac{(1-\mu_t) g_t}{1-\prod_{i\le t}\mu_i} + \tfrac{\mu_{t+1} m_t}{1-\prod_{i\le t+1}\mu_i}\big)
    / (\sqrt{v_t/(1-\beta_2^t)} + \epsilon)`; ``decoupled_weight_decay`` decays like AdamW.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_adam(lr, betas, eps, weight_decay)
        _check_float("momentum_decay", momentum_decay)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one NAdam step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, psi = group["lr"], group["betas"], group["eps"], group["momentum_decay"]
            for p, g, state in self._each_param(
                group, "exp_avg", "exp_avg_sq", init=lambda p, state: state.update(mu_product=1.0)
            ):
                xp = p._device.xp
                t = state["step"]
                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                state["mu_product"] *= mu
                mu_product = state["mu_product"]
                m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
                m += (1 - beta1) * (g - m)
                v *= beta2
                v += (1 - beta2) * (g * g)
                denom = xp.sqrt(v / (1 - beta2**t)) + eps
                p._data -= (lr * (1.0 - mu) / (1.0 - mu_product)) * (g / denom)
                p._data -= (lr * mu_next / (1.0 - mu_product * mu_next)) * (m / denom)
                self._bump(p)
        return loss
