"""Rprop (resilient backpropagation), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.Rprop([w], lr=0.1)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 4)  # the first step moves each weight by lr against the gradient's sign
0.9
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .optimizer import Optimizer, _check_float

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Rprop: each weight has its own step size :math:`\eta`, started at ``lr``; it is multiplied by
    :math:`\eta_+` when :math:`g_t g_{t-1} > 0`, by :math:`\eta_-` when :math:`g_t g_{t-1} < 0` (and that
    gradient is then taken as 0), clamped to ``step_sizes``; :math:`p \leftarrow p - \eta\,\mathrm{sign}(g_t)`.
    State: ``step``, ``prev``, ``step_size``.
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        maximize: bool = False,
    ) -> None:
        _check_float("lr", lr, label="learning rate")
        if not isinstance(etas, (tuple, list)) or len(etas) != 2:
            raise ValueError(f"etas must be a pair (etaminus, etaplus), got {etas!r}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        if not isinstance(step_sizes, (tuple, list)) or len(step_sizes) != 2:
            raise ValueError(f"step_sizes must be a pair (min, max), got {step_sizes!r}")
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults)

    def step(self, closure: Callable | None = None):
        """Perform one Rprop step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            (etaminus, etaplus), (step_size_min, step_size_max) = group["etas"], group["step_sizes"]

            def init(p, state, lr=group["lr"]):
                state["step_size"] = self._zeros_like(p, lr)

            for p, g, state in self._each_param(group, "prev", init=init):
                xp = p._device.xp
                prev, step_size = state["prev"]._data, state["step_size"]._data
                sign = xp.sign(g * prev)
                factor = xp.where(sign > 0, etaplus, xp.where(sign < 0, etaminus, 1.0)).astype(step_size.dtype, copy=False)
                step_size *= factor
                xp.clip(step_size, step_size_min, step_size_max, out=step_size)
                g = xp.where(sign < 0, 0, g).astype(p._data.dtype, copy=False)
                p._data -= xp.sign(g) * step_size
                prev[...] = g
                self._bump(p)
        return loss
