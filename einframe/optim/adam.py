"""Adam (and the AMSGrad variant), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0, -1.0], requires_grad=True)
>>> opt = ef.optim.Adam([w], lr=0.1)
>>> (w * w).sum().backward(); opt.step()
>>> w  # the first Adam step moves each weight by ~lr
tensor([ 0.9000, -0.9000], requires_grad=True)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .optimizer import Optimizer, _check_float

__all__ = ["Adam"]


def _check_adam(lr, betas, eps, weight_decay) -> None:
    _check_float("lr", lr, label="learning rate")
    _check_float("eps", eps, label="epsilon value")
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        if not 0.0 <= float(b) < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {b} (expected 0 <= beta < 1)")
    _check_float("weight_decay", weight_decay)


def adam_update(opt: Optimizer, group: dict, decoupled: bool) -> None:
    """The shared Adam/AdamW update of one param group (in place, outside the graph)."""
    lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]

    def init(p, state):
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = opt._zeros_like(p)

    for p, g, state in opt._each_param(group, "exp_avg", "exp_avg_sq", init=init, decoupled=decoupled):
        xp = p._device.xp
        step = state["step"]
        m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * (g * g)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]._data
            xp.maximum(vmax, v, out=vmax)
            denom = xp.sqrt(vmax) / bias_correction2**0.5 + eps
        else:
            denom = xp.sqrt(v) / bias_correction2**0.5 + eps
        p._data -= step_size * (m / denom)
        opt._bump(p)


class Adam(Optimizer):
    r"""Adam: :math:`m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t`, :math:`v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2`,
    :math:`p \leftarrow p - \gamma\,\hat m_t / (\sqrt{\hat v_t} + \epsilon)` with bias-corrected
    :math:`\hat m_t = m_t/(1-\beta_1^t)`, :math:`\hat v_t = v_t/(1-\beta_2^t)`; ``amsgrad`` uses the running max of
    :math:`v_t`; ``weight_decay`` adds :math:`\lambda p` to the gradient (L2; see AdamW for decoupled decay).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        _check_adam(lr, betas, eps, weight_decay)
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    _decoupled = False  # AdamW: weight decay applied to the parameter, not added to the gradient

    def step(self, closure: Callable | None = None):
        """Perform one step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            adam_update(self, group, decoupled=self._decoupled)
        return loss
