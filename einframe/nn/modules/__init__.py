"""Every layer class of ``einframe.nn``, one file per family.

The built-in plugin registers every name in :data:`__all__` that is a Module subclass as a layer,
so a layer added here (and to ``__all__``) is automatically available to ``ef.nn.build`` and
``ef.plugins.get("layers", ...)``.
"""

from .activation import ReLU
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .flatten import Flatten, Unflatten
from .lazy import LazyModuleMixin
from .linear import Identity, LazyLinear, Linear
from .loss import MSELoss
from .module import Module

__all__ = [
    "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "LazyModuleMixin",
    "Identity", "Linear", "LazyLinear", "ReLU", "Flatten", "Unflatten", "MSELoss",
]  # fmt: skip

# ---- layer catalogue (issue 5) -------------------------------------------------------------------
from .activation import ELU, GELU, Hardtanh, LeakyReLU, LogSoftmax, Sigmoid, SiLU, Softmax, Softplus, Tanh  # noqa: E402
from .attention import MultiheadAttention, TransformerEncoderLayer  # noqa: E402
from .bilinear import Bilinear  # noqa: E402
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, LazyConv2d  # noqa: E402
from .dropout import Dropout, Dropout2d  # noqa: E402
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss, NLLLoss, SmoothL1Loss  # noqa: E402
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm  # noqa: E402
from .pooling import (  # noqa: E402
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
)
from .sparse import Embedding  # noqa: E402

__all__ += [
    "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "Hardtanh", "Softmax", "LogSoftmax",
    "MultiheadAttention", "TransformerEncoderLayer", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d",
    "ConvTranspose2d", "ConvTranspose3d", "LazyConv2d", "Dropout", "Dropout2d", "L1Loss", "SmoothL1Loss", "HuberLoss", "NLLLoss",
    "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
    "GroupNorm", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "Embedding",
    "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d",
]  # fmt: skip

# ---- further families, one file each: every name in a file's ``__all__`` is a layer ---------------
from . import extra_activation as _ea  # noqa: E402
from . import extra_loss as _el  # noqa: E402
from . import extra_norm as _en  # noqa: E402
from . import parallel as _par  # noqa: E402
from . import recurrent as _rec  # noqa: E402

for _family in (_ea, _el, _en, _rec, _par):
    for _name in _family.__all__:
        globals()[_name] = getattr(_family, _name)
    __all__ += list(_family.__all__)
