"""Muon: momentum SGD whose update of each 2-D weight is orthogonalized by a Newton-Schulz iteration
(``torch.optim.Muon``; K. Jordan et al., 2024).

>>> import einframe as ef
>>> w = ef.nn.Parameter(ef.eye(2) * 3)
>>> opt = ef.optim.Muon([w], lr=0.1, weight_decay=0.0)
>>> (w * ef.tensor([[1.0, 0.0], [0.0, 2.0]])).sum().backward(); opt.step()
>>> w.shape
einframe.Size([2, 2])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from .optimizer import Optimizer

__all__ = ["Muon"]

DEFAULT_NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def zeropower_via_newtonschulz(g, coefficients=DEFAULT_NS_COEFFICIENTS, steps: int = 5, eps: float = 1e-7):
    """``U S' V^T`` with ``S'`` near 1 for ``g = U S V^T``: the quintic Newton-Schulz iteration on
    ``g / |g|_F`` (on the wide orientation). PyTorch runs it in bfloat16; einframe in ``g``'s dtype."""
    if steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if g.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = coefficients
    tall = g.shape[0] > g.shape[1]
    x = g.T if tall else g
    x = x / max(float(np.sqrt((x * x).sum())), eps)
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * (gram @ gram)) @ x
    return x.T if tall else x


class Muon(Optimizer):
    r"""Muon for 2-D parameters: :math:`B \leftarrow \mu B + (1-\mu) g`, the update
    :math:`u = \mathrm{NS}(g + \mu (B - g))` (Nesterov) or :math:`\mathrm{NS}(B)`, then
    :math:`p \leftarrow p (1 - \gamma \lambda) - \gamma' u` with :math:`\gamma' = \gamma \sqrt{\max(1, A/B)}`
    (``adjust_lr_fn='original'``) or :math:`0.2 \gamma \sqrt{\max(A, B)}` (``'match_rms_adamw'``).
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = DEFAULT_NS_COEFFICIENTS,
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn not in (None, "original", "match_rms_adamw"):
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=tuple(ns_coefficients), eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn)  # fmt: skip
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p._data.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: {p.size()}")

    @staticmethod
    def _adjusted_lr(lr: float, rule: str | None, shape) -> float:
        rows, cols = shape[:2]
        if rule in (None, "original"):
            return lr * math.sqrt(max(1, rows / cols))
        return lr * 0.2 * math.sqrt(max(rows, cols))

    def step(self, closure: Callable | None = None):
        """Perform one Muon step; returns the closure's loss if given."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            lr, wd, mom = group["lr"], group["weight_decay"], group["momentum"]
            for p in group["params"]:
                g = self._grad_array(p, False)
                if g is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = self._zeros_like(p)
                buf = state["momentum_buffer"]._data
                buf += (1 - mom) * (g - buf)  # lerp toward the gradient
                update = g + mom * (buf - g) if group["nesterov"] else buf
                update = zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
                p._data *= 1 - lr * wd
                p._data -= self._adjusted_lr(lr, group["adjust_lr_fn"], p._data.shape) * update.astype(p._data.dtype, copy=False)
                self._bump(p)
        return loss
