"""What every benchmark script shares: the import path, the optional PyTorch reference, a timer."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

try:
    import torch

    torch.set_num_threads(2)  # the machine's cores; PyTorch is the same-process reference
except ImportError:  # pragma: no cover
    torch = None


def timeit(fn, repeat: int, warmup: int = 3) -> float:
    """Median seconds of ``repeat`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def timeit_interleaved(fns: dict, repeat: int, rounds: int = 3) -> dict:
    """Seconds per call of each function: the best of ``rounds`` interleaved medians.

    The contenders take turns, round by round, so that a slow spell of a shared machine hits
    every one of them alike instead of skewing the ratio.
    """
    times: dict = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            times[k].append(timeit(fn, max(1, repeat // rounds)))
    return {k: min(v) for k, v in times.items()}
