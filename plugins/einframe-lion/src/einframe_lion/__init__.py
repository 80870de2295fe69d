"""Lion and Shampoo optimizers for einframe."""

from .optim import Lion, Shampoo

__all__ = ["Lion", "Shampoo"]
__version__ = "0.1.0"
