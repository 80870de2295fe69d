"""Adagrad, as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.Adagrad([w], lr=0.1)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 4)
0.9
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .optimizer import Optimizer, _check_float

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad: :math:`\tilde\gamma = \gamma / (1 + (t-1)\eta)`, :math:`s_t = s_{t-1} + g_t^2`,
    :math:`p \leftarrow p - \tilde\gamma\, g_t / (\sqrt{s_t} + \epsilon)`; :math:`s_0` = ``initial_accumulator_value``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        _check_float("lr", lr, label="learning rate")
        _check_float("lr_decay", lr_decay)
        _check_float("weight_decay", weight_decay)
        _check_float("initial_accumulator_value", initial_accumulator_value)
        _check_float("eps", eps, label="epsilon value")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        for group in self.param_groups:  # PyTorch creates Adagrad's state eagerly
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group: dict) -> None:
        self.state[p]["step"] = 0
        self.state[p]["sum"] = self._zeros_like(p, group["initial_accumulator_value"])

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        if hasattr(self, "state"):
            group = self.param_groups[-1]
            for p in group["params"]:
                if not self.state[p]:
                    self._init_state(p, group)

    def step(self, closure: Callable | None = None):
        """Perform one Adagrad step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            init = lambda p, state, group=group: self._init_state(p, group)  # noqa: E731
            for p, g, state in self._each_param(group, init=init):
                xp = p._device.xp
                clr = lr / (1 + (state["step"] - 1) * lr_decay)
                s = state["sum"]._data
                s += g * g
                p._data -= clr * (g / (xp.sqrt(s) + eps))
                self._bump(p)
        return loss
