"""Lion and Shampoo, written against einframe's public Optimizer API."""

from __future__ import annotations

import numpy as np

import einframe as ef


class Lion(ef.optim.Optimizer):
    """Lion: the sign of an interpolated momentum, with decoupled weight decay.

    >>> import einframe as ef
    >>> w = ef.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Lion([w], lr=0.1)
    >>> (w * w).sum().backward(); _ = opt.step()
    >>> w
    tensor([ 0.9000, -1.9000], requires_grad=True)
    """

    def __init__(self, params, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.99), weight_decay: float = 0.0):
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Invalid beta parameters: {betas}; each must be in [0, 1)")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay))

    @ef.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with ef.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["exp_avg"] = ef.zeros_like(p)
                m, g = state["exp_avg"], p.grad
                if wd:
                    p.mul_(1 - lr * wd)
                p.add_((m * b1 + g * (1 - b1)).sign(), alpha=-lr)
                m.mul_(b2).add_(g, alpha=1 - b2)
        return loss


def _inv_root(stat: ef.Tensor, root: int, eps: float) -> ef.Tensor:
    """``(stat + eps I)^(-1/root)`` of a symmetric PSD matrix, by eigendecomposition."""
    a = stat.detach().cpu().numpy().astype(np.float64)
    w, v = np.linalg.eigh(a + eps * np.eye(a.shape[0]))
    r = (v * np.clip(w, eps, None) ** (-1.0 / root)) @ v.T
    return ef.tensor(r, dtype=stat.dtype, device=stat.device)


class Shampoo(ef.optim.Optimizer):
    """Shampoo with Kronecker-factored statistics for matrices, written as einsum contractions.

    >>> import einframe as ef
    >>> w = ef.randn(3, 2, requires_grad=True)
    >>> opt = Shampoo([w], lr=0.1)
    >>> (w * w).sum().backward(); _ = opt.step()
    >>> sorted(opt.state[w])
    ['L', 'L_inv', 'R', 'R_inv', 'step']
    """

    def __init__(self, params, lr: float = 1e-1, eps: float = 1e-4, update_freq: int = 1):
        if lr <= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps <= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if update_freq < 1:
            raise ValueError(f"Invalid update_freq: {update_freq}; it must be >= 1")
        super().__init__(params, dict(lr=lr, eps=eps, update_freq=update_freq))

    @ef.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with ef.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, eps, freq = group["lr"], group["eps"], group["update_freq"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if g.ndim == 2:
                    if not state:
                        state["step"] = 0
                        state["L"] = ef.zeros(g.shape[0], g.shape[0], dtype=g.dtype, device=g.device)
                        state["R"] = ef.zeros(g.shape[1], g.shape[1], dtype=g.dtype, device=g.device)
                    state["step"] += 1
                    state["L"].add_(ef.einsum("ik,jk->ij", g, g))
                    state["R"].add_(ef.einsum("ki,kj->ij", g, g))
                    if (state["step"] - 1) % freq == 0:
                        state["L_inv"] = _inv_root(state["L"], 4, eps)
                        state["R_inv"] = _inv_root(state["R"], 4, eps)
                    p.add_(ef.einsum("ij,jk,kl->il", state["L_inv"], g, state["R_inv"]), alpha=-lr)
                else:
                    if not state:
                        state["step"] = 0
                        state["sum"] = ef.zeros_like(g)
                    state["step"] += 1
                    state["sum"].add_(g * g)
                    p.add_(g / (state["sum"].sqrt() + eps), alpha=-lr)
        return loss
