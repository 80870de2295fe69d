"""Process-wide switches read on every op (kept in one tiny module so the core never imports upward)."""

from __future__ import annotations

import threading


class _State(threading.local):
    def __init__(self) -> None:
        self.grad_enabled = True  # reverse mode records a graph
        self.fwd_level = 0  # > 0 while forward-mode AD is active
        self.saved_hooks: list = []  # (pack, unpack) pairs of autograd.graph.saved_tensors_hooks
        self.anomaly = False  # detect_anomaly: remember creation stacks, check backward for NaN


STATE = _State()
