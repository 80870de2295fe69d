"""``einframe.optim``: optimizers (PyTorch's ``torch.optim``).

Optimizer classes are found through the plugin registry (kind ``"optimizers"``): every
``Optimizer`` subclass listed in this package's ``__all__`` is registered by the built-in plugin,
and plugins can add more. ``create`` builds one by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["create"]


def create(name: str, params: Iterable[Any], **kwargs: Any) -> Any:
    """Build the optimizer registered as ``name`` (exact name, else a case-insensitive match).

    ``params`` is what the optimizer class takes (parameters or param-group dicts). Parameters of
    a lazy module that has not seen an input yet are refused with a clear error.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> try:
    ...     ef.optim.create("NoSuchOptimizer", nn.Linear(2, 2).parameters())
    ... except KeyError as e:
    ...     print("unknown")
    unknown
    """
    from .. import plugins
    from ..nn.parameter import is_lazy
    from ..tensor import Tensor

    params = list(params)
    for group in params:
        ps = group.get("params", ()) if isinstance(group, dict) else (group,)
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        if isinstance(group, dict):
            group["params"] = ps
        for p in ps:
            if is_lazy(p):
                raise ValueError(
                    f"optimizer {name!r} got an uninitialized parameter of a lazy module (e.g. nn.LazyLinear): its shape "
                    f"is unknown until the module sees an input; run one forward pass with a sample batch (or load a "
                    f"state_dict) before creating the optimizer"
                )
    host = plugins.get_host()
    try:
        cls = host.get("optimizers", name)
    except KeyError:
        matches = [n for n in host.names("optimizers") if n.lower() == str(name).lower()]
        if len(matches) != 1:
            raise
        cls = host.get("optimizers", matches[0])
    return cls(params, **kwargs)


# --- optimizers and schedules (the optim engineer's part) ---------------------------------------
from . import lr_scheduler, swa_utils  # noqa: E402
from .adadelta import Adadelta  # noqa: E402
from .adafactor import Adafactor  # noqa: E402
from .adagrad import Adagrad  # noqa: E402
from .adam import Adam  # noqa: E402
from .adamax import Adamax  # noqa: E402
from .adamw import AdamW  # noqa: E402
from .asgd import ASGD  # noqa: E402
from .lbfgs import LBFGS  # noqa: E402
from .muon import Muon  # noqa: E402
from .nadam import NAdam  # noqa: E402
from .optimizer import Optimizer  # noqa: E402
from .radam import RAdam  # noqa: E402
from .rmsprop import RMSprop  # noqa: E402
from .rprop import Rprop  # noqa: E402
from .sgd import SGD  # noqa: E402

__all__ += [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adamax",
    "NAdam",
    "RAdam",
    "Adadelta",
    "Rprop",
    "ASGD",
    "LBFGS",
    "Adafactor",
    "Muon",
    "lr_scheduler",
    "swa_utils",
]
