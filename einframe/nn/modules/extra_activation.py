"""More activations, dropouts, padding, pixel shuffle and upsampling layers.

Re-exported by :mod:`einframe.nn` (and registered as built-in layers): every name in ``__all__``.
"""

from __future__ import annotations

__all__: list[str] = []
