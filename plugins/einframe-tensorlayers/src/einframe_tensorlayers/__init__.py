"""Einsum-native factorised linear layers for einframe (low-rank, Kronecker, tensor-train)."""

from .layers import KroneckerLinear, LowRankLinear, TTLinear

__all__ = ["LowRankLinear", "KroneckerLinear", "TTLinear"]
__version__ = "0.1.0"
