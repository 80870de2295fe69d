"""Functional twins for more losses, distances, pools and ``EmbeddingBag``.

Re-exported by :mod:`einframe.nn.functional` (``F.*``); every name in ``__all__`` is public there.
"""

from __future__ import annotations

__all__: list[str] = []
