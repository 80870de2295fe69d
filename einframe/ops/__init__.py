"""THE primitive table. Each primitive is one class holding its forward, vjp and jvp.

Kinds: Contract (every multilinear op), Pointwise, Reduce, View, Gather, ScatterAdd, Pad, Cat.
"""

# importing registers the primitives (linalg: ef.linalg's Inv, Solve, SlogDet, Cholesky, Eigh, SVD, QR, Pinv;
# math: the math family's trigonometric, special-function, rounding and remainder primitives)
from . import contract, linalg, math, pointwise, view, window  # noqa: F401
from .core import PRIMITIVES, AccumulateGrad, Node

__all__ = ["PRIMITIVES", "Node", "AccumulateGrad"]
