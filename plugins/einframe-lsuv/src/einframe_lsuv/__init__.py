"""LSUV initialisation and a gradient/activation logger for einframe."""

from .hooks import LSUV, GradLogger, grad_logger, lsuv, orthonormal_

__all__ = ["orthonormal_", "lsuv", "grad_logger", "LSUV", "GradLogger"]
__version__ = "0.1.0"
