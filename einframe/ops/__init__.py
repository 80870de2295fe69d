"""THE primitive table. Each primitive is one class holding its forward, vjp and jvp.

Kinds: Contract (every multilinear op), Pointwise, Reduce, View, Gather, ScatterAdd, Pad, Cat.
"""

from . import contract, pointwise, view, window  # noqa: F401  (importing registers the primitives)
from .core import PRIMITIVES, AccumulateGrad, Node

__all__ = ["PRIMITIVES", "Node", "AccumulateGrad"]
