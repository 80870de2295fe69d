"""Reverse- and forward-mode automatic differentiation."""

from . import forward_ad, functional, graph
from .anomaly import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .explain import explain
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .variable import Variable

__all__ = [
    "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "gradcheck", "gradgradcheck", "GradcheckError", "forward_ad", "graph", "detect_anomaly", "set_detect_anomaly",
    "Function", "FunctionCtx", "once_differentiable", "explain", "functional", "Variable",
]  # fmt: skip
