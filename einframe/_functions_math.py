"""``ef.*`` functions and ``Tensor`` methods: pointwise math: rounding, trigonometric and special functions, in-place variants.

Wired by :mod:`einframe._functions`: every name in ``__all__`` becomes ``ef.<name>``, and every entry
of ``METHODS`` (method name -> function taking the tensor first) a ``Tensor`` method.
"""

from __future__ import annotations

__all__: list[str] = []
METHODS: dict = {}
