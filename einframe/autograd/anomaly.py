"""Anomaly detection: remember where each node was created and stop at the first NaN/Inf gradient."""

from __future__ import annotations

from .._state import STATE

__all__ = ["detect_anomaly", "set_detect_anomaly"]


class detect_anomaly:
    """Inside this block, a NaN or Inf produced in backward raises an error naming the node and the
    line of the forward pass that created it.

    >>> import einframe as ef
    >>> x = ef.tensor([0.0], requires_grad=True)
    >>> with ef.autograd.detect_anomaly():
    ...     y = x.sqrt() * 0
    ...     try:
    ...         y.sum().backward()
    ...     except RuntimeError as e:
    ...         print(str(e).splitlines()[0])
    Function 'SqrtBackward' returned nan or inf values in its 0th output.
    """

    def __init__(self, check_nan: bool = True):
        self.mode = check_nan

    def __enter__(self):
        self._prev = STATE.anomaly
        STATE.anomaly = self.mode
        return self

    def __exit__(self, *exc) -> None:
        STATE.anomaly = self._prev


class set_detect_anomaly(detect_anomaly):
    """``set_detect_anomaly(True)`` switches anomaly mode now; as a context manager it restores on exit."""

    def __init__(self, mode: bool):
        self.mode = mode
        self._prev = STATE.anomaly
        STATE.anomaly = mode
