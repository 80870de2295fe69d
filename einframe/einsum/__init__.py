"""Equation algebra: parse and canonicalise einsum equations, derive their gradients, plan them."""

from .derive import vjp_canon
from .parse import Canon, EinsumError, canonicalize
from .plan import Plan, canon_for, get_plan, plan_cache

__all__ = ["Canon", "EinsumError", "Plan", "canon_for", "canonicalize", "get_plan", "plan_cache", "vjp_canon"]
