"""einframe: a PyTorch-shaped deep-learning framework with an einsum core.

>>> import einframe as ef
>>> x = ef.randn(4, 3, requires_grad=True)
>>> w = ef.randn(5, 3, requires_grad=True)
>>> y = ef.einsum("bi,oi->bo", x, w)
>>> y.grad_fn.backward_equations
["dA = einsum('bo,oi->bi', grad, B)", "dB = einsum('bo,bi->oi', grad, A)"]
"""

from __future__ import annotations

import warnings as _warnings

__version__ = "0.1.0"

from . import dtypes as _dtypes
from ._functions import *  # noqa: F403
from ._functions import __all__ as _fn_all
from .backend import cuda, device
from .backend import tune_malloc as _tune_malloc
from .dtypes import (
    bool_ as bool,  # noqa: A004 - PyTorch spells it ef.bool
)
from .dtypes import (
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    set_default_dtype,
    uint8,
)
from .einsum import EinsumError, plan_cache
from .random import get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .serialization import SerializationError, load, save
from .tensor import Size, Tensor  # first: it completes the Tensor methods from _functions

half, float, double = float16, float32, float64  # noqa: A001

# numpy warns at domain edges (log(0), 0/0, arcsin(2)) where PyTorch silently returns -inf/nan; the
# filter covers warnings raised from einframe's own frames only, never the user's numpy code
_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"einframe(\.|$)")

_tune_malloc()  # large temporaries are reused, not page-faulted in again every step (see its docstring)
short, int, long = int16, int32, int64  # noqa: A001

from . import amp, autograd, backends, func, linalg, special  # noqa: E402
from .amp import autocast  # noqa: E402
from .backends import (  # noqa: E402
    are_deterministic_algorithms_enabled,
    compile,
    get_float32_matmul_precision,
    set_float32_matmul_precision,
    use_deterministic_algorithms,
)

cuda.amp = amp.cuda_amp  # ef.cuda.amp.GradScaler / autocast, as torch.cuda.amp
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .ops import PRIMITIVES  # noqa: E402


def einsum_plan(equation: str, *operands):
    """The contraction plan einframe runs for ``equation`` on these operands (or shapes).

    >>> import einframe as ef
    >>> p = ef.einsum_plan("ij,jk,kl->il", (8, 64), (64, 64), (64, 2))
    >>> p.path, p.flops
    ([(1, 2), (0, 1)], 18432)
    """
    from .einsum import canon_for

    shapes = tuple(tuple(o.shape) if hasattr(o, "shape") else tuple(o) for o in operands)
    canon = canon_for(equation, shapes)
    dt = operands[0]._data.dtype if operands and isinstance(operands[0], Tensor) else _dtypes.get_default_dtype().np
    return plan_cache.get(canon, shapes, dt, "numpy")


__all__ = [
    *_fn_all, "Tensor", "Size", "device", "cuda", "dtype", "float16", "float32", "float64", "int8", "int16",
    "int32", "int64", "uint8", "bool", "half", "float", "double", "short", "int", "long", "get_default_dtype",
    "set_default_dtype", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "autograd",
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled", "einsum_plan",
    "plan_cache", "EinsumError", "PRIMITIVES", "func", "linalg", "special", "amp", "autocast", "backends", "compile",
    "set_float32_matmul_precision", "get_float32_matmul_precision", "use_deterministic_algorithms",
    "are_deterministic_algorithms_enabled", "save", "load", "SerializationError",
]  # fmt: skip

# nn, optim, distributions and the plugin host are imported on first use: `import einframe` stays light and loads no plugins
_LAZY_SUBMODULES = ("nn", "optim", "plugins", "utils", "datasets", "distributions")


def __getattr__(name: str):
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name == "hookimpl":
        from .plugins.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'einframe' has no attribute '{name}'")
