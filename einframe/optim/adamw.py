"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), as PyTorch documents it.

>>> import einframe as ef
>>> w = ef.tensor([1.0], requires_grad=True)
>>> opt = ef.optim.AdamW([w], lr=0.1, weight_decay=0.5)
>>> w.sum().backward(); opt.step()
>>> round(w.item(), 4)  # 1 * (1 - 0.1 * 0.5) - 0.1
0.85
"""

from __future__ import annotations

from collections.abc import Iterable

from .adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    r"""AdamW: first :math:`p \leftarrow p\,(1 - \gamma\lambda)`, then the Adam step without L2 in the gradient."""

    _decoupled = True

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
