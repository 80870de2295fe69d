"""``ef.backends`` and the process-wide switches PyTorch scripts set at the top, so they port
unchanged: ``ef.backends.cudnn.benchmark``/``deterministic``/``enabled``,
``ef.backends.cuda.matmul.allow_tf32``, ``ef.set_float32_matmul_precision``,
``ef.use_deterministic_algorithms``, ``ef.compile``.

What they mean here: einframe has no cuDNN autotuner and no TF32 or reduced-precision matmul
paths (float32 products are float32 BLAS/cuBLAS calls), and its kernels are deterministic given
the inputs and the seed; so the flags are recorded and readable, and change no result.
``ef.compile(model)`` returns ``model`` itself: einframe has no graph compiler; each contraction
is planned once, on first use, by the plan cache.

>>> import einframe as ef
>>> ef.backends.cudnn.benchmark = True
>>> ef.set_float32_matmul_precision("high"); ef.get_float32_matmul_precision()
'high'
>>> net = ef.nn.Linear(2, 2)
>>> ef.compile(net) is net
True
"""

from __future__ import annotations

__all__ = [
    "cudnn", "cuda", "compile", "set_float32_matmul_precision", "get_float32_matmul_precision",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
]  # fmt: skip


class _Flags:
    """A namespace of boolean switches with PyTorch's names and defaults."""

    def __init__(self, name: str, **flags):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_flags", dict(flags))

    def __getattr__(self, key):
        flags = object.__getattribute__(self, "_flags")
        if key in flags:
            return flags[key]
        raise AttributeError(f"{object.__getattribute__(self, '_name')} has no attribute {key!r}")

    def __setattr__(self, key, value):
        if key not in self._flags:
            raise AttributeError(f"{self._name} has no flag {key!r}; known: {sorted(self._flags)}")
        self._flags[key] = value

    def is_available(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"{self._name}({', '.join(f'{k}={v!r}' for k, v in self._flags.items())})"


cudnn = _Flags("ef.backends.cudnn", enabled=True, benchmark=False, deterministic=False, allow_tf32=True)


class _Cuda:
    matmul = _Flags("ef.backends.cuda.matmul", allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                    allow_bf16_reduced_precision_reduction=True)  # fmt: skip

    @staticmethod
    def is_built() -> bool:
        return False


cuda = _Cuda()

_PRECISIONS = ("highest", "high", "medium")
_state = {"precision": "highest", "deterministic": False, "warn_only": False}


def set_float32_matmul_precision(precision: str) -> None:
    """Record PyTorch's float32 matmul precision setting ('highest', 'high' or 'medium'); einframe's
    float32 products are always full float32."""
    if precision not in _PRECISIONS:
        raise RuntimeError(f"Invalid precision {precision!r}: expected one of {_PRECISIONS}")
    _state["precision"] = precision


def get_float32_matmul_precision() -> str:
    return _state["precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the switch; einframe's ops are deterministic already (fixed plans, seeded generator)."""
    _state["deterministic"], _state["warn_only"] = bool(mode), bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor", mode=None, options=None, disable=False):  # noqa: A001
    """``torch.compile``: returns ``model`` unchanged (or, used as ``@ef.compile(...)``, a decorator
    returning the function unchanged)."""
    if model is None:
        return lambda fn: fn
    return model
