"""``ef.*`` functions and ``Tensor`` methods: reductions and scans: prod, cumulative ops, order statistics, distances.

Wired by :mod:`einframe._functions`: every name in ``__all__`` becomes ``ef.<name>``, and every entry
of ``METHODS`` (method name -> function taking the tensor first) a ``Tensor`` method.
"""

from __future__ import annotations

__all__: list[str] = []
METHODS: dict = {}
