"""``ef.*`` functions and ``Tensor`` methods: tensor creation helpers and miscellaneous Tensor methods (new_*, random in-place fills, metadata).

Wired by :mod:`einframe._functions`: every name in ``__all__`` becomes ``ef.<name>``, and every entry
of ``METHODS`` (method name -> function taking the tensor first) a ``Tensor`` method.
"""

from __future__ import annotations

__all__: list[str] = []
METHODS: dict = {}
