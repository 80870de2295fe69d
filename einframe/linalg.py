"""``ef.linalg``: linear algebra (PyTorch's ``torch.linalg``).

Every name in ``__all__`` is public as ``ef.linalg.<name>``.
"""

from __future__ import annotations

__all__: list[str] = []
