"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their cells.

Re-exported by :mod:`einframe.nn` (and registered as built-in layers): every name in ``__all__``.
"""

from __future__ import annotations

__all__: list[str] = []
