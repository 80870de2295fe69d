"""``DataParallel``: PyTorch's single-process multi-GPU wrapper, for scripts that wrap their model.

einframe runs a module on one device, so the wrapper forwards to ``module`` unchanged; what ports is
the structure: ``model.module``, and state_dict keys prefixed ``module.`` (so checkpoints saved from a
wrapped PyTorch model load into a wrapped einframe model, and vice versa).
"""

from __future__ import annotations

from .module import Module

__all__: list[str] = ["DataParallel"]


class DataParallel(Module):
    """Wraps ``module``: ``forward`` calls it (on its own device; ``device_ids``, ``output_device`` and
    ``dim`` are accepted for PyTorch's signature).

    >>> import einframe as ef
    >>> from einframe import nn
    >>> model = nn.DataParallel(nn.Linear(2, 3))
    >>> model(ef.ones(4, 2)).shape, list(model.state_dict())
    (einframe.Size([4, 3]), ['module.weight', 'module.bias'])
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
