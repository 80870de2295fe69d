"""``ef.amp``: PyTorch's mixed-precision API, so AMP training loops port unchanged.

``GradScaler`` is real dynamic loss scaling (scale the loss, unscale the gradients, skip steps with
inf/NaN gradients, grow or back off the scale). ``autocast`` changes nothing: einframe runs every op
in its operands' dtypes and has no reduced-precision kernels to switch to, so inside it the model
computes exactly as outside (as PyTorch's autocast does with ``enabled=False``).

>>> import einframe as ef
>>> w = ef.nn.Parameter(ef.ones(2))
>>> opt = ef.optim.SGD([w], lr=0.1)
>>> scaler = ef.amp.GradScaler(init_scale=1024.0)
>>> with ef.autocast("cpu"):
...     loss = (w * 3).sum()
>>> scaler.scale(loss).backward()
>>> w.grad.tolist()  # scaled gradients
[3072.0, 3072.0]
>>> scaler.step(opt)  # unscales, finds no inf, steps
>>> scaler.update()
>>> [round(v, 6) for v in w.tolist()]
[0.7, 0.7]
"""

from __future__ import annotations

import functools
import math

from .autograd import no_grad
from .tensor import Tensor

__all__ = ["autocast", "GradScaler"]


class autocast:
    """``torch.autocast(device_type, dtype=None, enabled=True, cache_enabled=None)`` as a context
    manager or decorator. It computes nothing differently: see the module docstring.

    >>> import einframe as ef
    >>> with ef.autocast(device_type="cpu", dtype=ef.bfloat16 if hasattr(ef, "bfloat16") else None):
    ...     y = ef.ones(2) @ ef.ones(2)
    >>> y.dtype
    einframe.float32
    """

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True, cache_enabled=None):
        if device_type not in ("cpu", "cuda"):
            raise RuntimeError(f"autocast: device_type must be 'cpu' or 'cuda', got {device_type!r}")
        self.device_type, self.fast_dtype, self.enabled = device_type, dtype, bool(enabled)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper


_READY, _UNSCALED, _STEPPED = 0, 1, 2


class GradScaler:
    """Dynamic loss scaling, ``torch.amp.GradScaler`` (also ``ef.cuda.amp.GradScaler``).

    ``scale(loss)`` multiplies by the current scale; ``step(optimizer)`` unscales the gradients of
    that optimizer's parameters (unless ``unscale_`` already did) and skips the step if any is inf or
    NaN; ``update()`` halves the scale (``backoff_factor``) after a skipped step and doubles it
    (``growth_factor``) after ``growth_interval`` clean steps in a row. ``enabled=False`` makes
    every method a pass-through.
    """

    def __init__(
        self,
        device: str = "cuda",
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ):
        if growth_factor <= 1.0:
            raise ValueError(f"The growth factor must be > 1.0, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"The backoff factor must be < 1.0 and > 0, got {backoff_factor}")
        self.device = device
        self._enabled = bool(enabled)
        self._scale = float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._per_optimizer: dict[int, dict] = {}

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def scale(self, outputs):
        """``outputs * scale`` (a tensor, or tuples/lists of them)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError("outputs must be a Tensor or an iterable of Tensors")

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found_inf": False})

    def unscale_(self, optimizer) -> None:
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place (for clipping
        before ``step``); records whether any of them is inf or NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == _STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv = 1.0 / self._scale
        found = False
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    p.grad.mul_(inv)
                    if not found and not bool(p.grad.isfinite().all()):
                        found = True
        state["stage"], state["found_inf"] = _UNSCALED, found

    def step(self, optimizer, *args, **kwargs):
        """``optimizer.step(...)`` unless the unscaled gradients hold inf/NaN (then the step is skipped
        and None returned)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale: float | Tensor | None = None) -> None:
        """Adjust the scale for the next iteration (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
        else:
            found = any(s["found_inf"] for s in self._per_optimizer.values())
            if found:
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer.clear()

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {
            "scale": self._scale,
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError(
                "The source state dict is empty, possibly because it was saved from a disabled instance of GradScaler."
            )
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


class _CudaAmp:
    """``ef.cuda.amp``: the older ``torch.cuda.amp`` spellings (their first argument differs)."""

    @staticmethod
    def autocast(enabled: bool = True, dtype=None, cache_enabled: bool = True) -> autocast:
        return autocast("cuda", dtype, enabled, cache_enabled)

    @staticmethod
    def GradScaler(  # noqa: N802 - PyTorch's class name
        init_scale: float = 2.0**16,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
        enabled: bool = True,
    ) -> GradScaler:
        return GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


cuda_amp = _CudaAmp()
