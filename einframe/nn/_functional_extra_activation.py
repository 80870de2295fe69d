"""Functional twins for more activations, dropouts, padding, pixel shuffle and upsampling layers.

Re-exported by :mod:`einframe.nn.functional` (``F.*``); every name in ``__all__`` is public there.
"""

from __future__ import annotations

__all__: list[str] = []
