"""LSUV as a forward hook, and a logger of activations and gradients. Public einframe API only."""

from __future__ import annotations

import numpy as np

import einframe as ef
from einframe import nn


def orthonormal_(tensor: ef.Tensor, gain: float = 1.0) -> ef.Tensor:
    """Fill ``tensor`` (rows = dim 0, columns = the rest flattened) with an orthonormal matrix.

    >>> import einframe as ef
    >>> w = orthonormal_(ef.empty(3, 5))
    >>> bool(ef.allclose(w @ w.T, ef.eye(3), atol=1e-5))
    True
    """
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    a = ef.randn(max(rows, cols), min(rows, cols), dtype=ef.float64).numpy()
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))  # a uniform (Haar) orthogonal matrix
    q = q.T if rows < cols else q
    with ef.no_grad():
        tensor.copy_(ef.tensor(gain * q[:rows, :cols]).reshape(tensor.shape))
    return tensor


class _Handle:
    def __init__(self):
        self.handles = []

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class LSUV(_Handle):
    """Handle of the ``lsuv`` hook: ``variances`` maps layer path -> output variance before rescaling."""

    def __init__(self, module: nn.Module, tol: float = 0.01, orthonormal: bool = True, types=None):
        super().__init__()
        self.tol = tol
        self.variances: dict[str, float] = {}
        types = (
            tuple(types)
            if types is not None
            else tuple(
                t
                for t in (nn.Linear, getattr(nn, "Conv1d", None), getattr(nn, "Conv2d", None), getattr(nn, "Conv3d", None))
                if t is not None
            )
        )
        for path, m in module.named_modules():
            if isinstance(m, types) and getattr(m, "weight", None) is not None:
                if orthonormal:
                    orthonormal_(m.weight)
                self.handles.append(m.register_forward_hook(self._hook(path)))

    def _hook(self, path: str):
        def hook(m, inputs, out):
            var = float(out.detach().var().item())
            self.variances[path] = var
            if var <= 0 or abs(var - 1.0) <= self.tol:
                return None
            scale = 1.0 / var**0.5
            with ef.no_grad():
                m.weight.mul_(scale)
                if getattr(m, "bias", None) is not None:
                    m.bias.mul_(scale)
            return out * scale  # later layers see the normalised activation in this same pass

        return hook


def lsuv(module: nn.Module, tol: float = 0.01, orthonormal: bool = True, types=None) -> LSUV:
    """Attach LSUV: run one forward pass on a data batch, then ``remove()`` the hook.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    >>> with lsuv(net) as h:
    ...     _ = net(ef.randn(512, 8))
    >>> round(float(net(ef.randn(512, 8)).var()), 1)
    1.0
    """
    return LSUV(module, tol=tol, orthonormal=orthonormal, types=types)


class GradLogger(_Handle):
    """Handle of ``grad_logger``: ``activations[path]`` and ``gradients[path]`` are lists of records."""

    def __init__(self, module: nn.Module, recurse: bool = True):
        super().__init__()
        self.activations: dict[str, list[dict[str, float]]] = {}
        self.gradients: dict[str, list[float]] = {}
        targets = module.named_modules() if recurse else [("", module)]
        for path, m in targets:
            self.handles.append(m.register_forward_hook(self._forward(path)))
            self.handles.append(m.register_full_backward_hook(self._backward(path)))

    def _forward(self, path):
        def hook(m, inputs, out):
            if isinstance(out, ef.Tensor) and out.is_floating_point():
                o = out.detach()
                self.activations.setdefault(path, []).append(
                    {"mean": float(o.mean()), "std": float(o.std()) if o.numel() > 1 else 0.0}
                )

        return hook

    def _backward(self, path):
        def hook(m, grad_input, grad_output):
            g = grad_output[0]
            if g is not None:
                self.gradients.setdefault(path, []).append(float(g.detach().norm()))

        return hook


def grad_logger(module: nn.Module, recurse: bool = True) -> GradLogger:
    """Attach a logger of every module's output statistics and output-gradient norm.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> net = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    >>> log = grad_logger(net)
    >>> net(ef.randn(4, 3)).sum().backward()
    >>> sorted(log.gradients)
    ['', '0', '1']
    >>> log.remove()
    """
    return GradLogger(module, recurse=recurse)
