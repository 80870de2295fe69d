"""Functional twins for recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells.

Re-exported by :mod:`einframe.nn.functional` (``F.*``); every name in ``__all__`` is public there.
"""

from __future__ import annotations

__all__: list[str] = []
