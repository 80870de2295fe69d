"""Finite-difference checks of first and second derivatives (use float64 inputs)."""

from __future__ import annotations

import numpy as np

from ..backend import CPU, to_backend
from ..tensor import Tensor
from .engine import grad
from .grad_mode import enable_grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Analytical and numerical derivatives disagree."""


def _host(a) -> np.ndarray:
    """A float64 numpy copy of an array on any device (cupy arrays do not convert implicitly)."""
    return np.array(to_backend(a, CPU), dtype=np.float64)  # a copy: outputs may be views of the inputs


def _outputs(fn, inputs) -> list[Tensor]:
    out = fn(*inputs)
    return [out] if isinstance(out, Tensor) else [o for o in out if isinstance(o, Tensor)]


def _numerical(fn, inputs, wrt, eps):
    with no_grad():
        base = _outputs(fn, inputs)
        cols = []
        for i in wrt:
            if not inputs[i]._data.flags.c_contiguous:
                inputs[i]._data = inputs[i]._data.copy()  # perturb through a flat view
            flat = inputs[i]._data.reshape(-1)
            for j in range(flat.size):
                orig = flat[j].item()
                flat[j] = orig + eps
                plus = [_host(o._data).reshape(-1) for o in _outputs(fn, inputs)]
                flat[j] = orig - eps
                minus = [_host(o._data).reshape(-1) for o in _outputs(fn, inputs)]
                flat[j] = orig
                cols.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]) if plus else np.zeros(0))
        n_out = sum(int(o._data.size) for o in base)
    return np.stack(cols, axis=1) if cols else np.zeros((n_out, 0)), base


def _analytical(fn, inputs, wrt, n_out):
    outs = _outputs(fn, inputs)
    rows = []
    diff_outs = [o for o in outs if o.requires_grad]
    diff_pos = [k for k, o in enumerate(outs) if o.requires_grad]  # by position: one tensor may be returned twice
    for k, o in enumerate(outs):
        for j in range(int(o._data.size)):
            if not o.requires_grad:
                rows.append(np.zeros(sum(int(inputs[i]._data.size) for i in wrt)))
                continue
            xp = o._device.xp
            gos = []
            for k2, o2 in zip(diff_pos, diff_outs):
                z = xp.zeros(o2._data.shape, dtype=o2._data.dtype)
                if k2 == k:
                    z.reshape(-1)[j] = 1
                gos.append(Tensor._wrap(z, o2._device))
            gs = grad(diff_outs, [inputs[i] for i in wrt], gos, retain_graph=True, allow_unused=True)
            rows.append(
                np.concatenate(
                    [
                        (_host(g._data).reshape(-1) if g is not None else np.zeros(int(inputs[i]._data.size)))
                        for g, i in zip(gs, wrt)
                    ]
                )
            )
    return np.stack(rows) if rows else np.zeros((0, 0))


def gradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare the Jacobian from autograd with central finite differences.

    >>> import einframe as ef
    >>> x = ef.randn(3, 4, dtype=ef.float64, requires_grad=True)
    >>> ef.autograd.gradcheck(lambda a: ef.einsum("ij,ij->i", a, a.exp()), (x,))
    True
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise GradcheckError("gradcheck expects at least one input tensor with requires_grad=True")
    for i in wrt:
        if inputs[i].dtype.name != "float64":
            raise GradcheckError(
                f"input {i} is {inputs[i].dtype.name}; gradcheck needs float64 inputs for reliable finite differences"
            )
    num, base = _numerical(fn, inputs, wrt, eps)
    ana = _analytical(fn, inputs, wrt, num.shape[0])
    if ana.shape != num.shape or not np.allclose(ana, num, rtol=rtol, atol=atol):
        if not raise_exception:
            return False
        diff = np.abs(ana - num).max() if ana.shape == num.shape else "shape mismatch"
        raise GradcheckError(f"Jacobian mismatch (max abs difference {diff}):\nnumerical:\n{num}\nanalytical:\n{ana}")
    return True


def gradgradcheck(
    fn, inputs, grad_outputs=None, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True
) -> bool:
    """Check second derivatives: gradcheck of ``(inputs, v) -> grad(fn(inputs), inputs, v)``."""
    from .. import _functions as F

    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    outs = _outputs(fn, inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = [
            F.tensor(rng.standard_normal(o.shape), dtype=o.dtype, device=o.device, requires_grad=True)
            for o in outs
            if o.requires_grad
        ]
    n_in = len(inputs)

    def first(*args):
        xs, vs = args[:n_in], args[n_in:]
        with enable_grad():  # the finite-difference pass runs under no_grad; this needs a graph
            ys = [o for o in _outputs(fn, xs) if o.requires_grad]
            gs = grad(ys, [xs[i] for i in wrt], list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first, (*inputs, *grad_outputs), eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
