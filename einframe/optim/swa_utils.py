"""``ef.optim.swa_utils``: weight averaging, as ``torch.optim.swa_utils`` — ``AveragedModel`` (stochastic
weight averaging, or an exponential moving average with ``get_ema_multi_avg_fn``), ``update_bn`` and
the ``SWALR`` schedule.

>>> import einframe as ef
>>> from einframe.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
>>> net = ef.nn.Linear(1, 1, bias=False)
>>> ema = AveragedModel(net, multi_avg_fn=get_ema_multi_avg_fn(0.9))
>>> for w in (1.0, 2.0, 3.0):
...     with ef.no_grad():
...         _ = net.weight.fill_(w)
...     ema.update_parameters(net)
>>> round(ema.module.weight.item(), 4)  # 1, then 0.9*1 + 0.1*2, then 0.9*1.1 + 0.1*3
1.29
"""

from __future__ import annotations

import math
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from ..autograd import no_grad
from ..nn.modules.module import Module
from ..nn.modules.normalization import _BatchNorm
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _per_group

__all__ = [
    "AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn",
    "get_swa_avg_fn",
]  # fmt: skip


def _check_decay(decay: float) -> None:
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def _ema(averaged: Tensor, current: Tensor, decay: float) -> None:
    if averaged.is_floating_point():
        averaged.lerp_(current, 1 - decay)
    else:  # integer buffers (BatchNorm's num_batches_tracked): the float average, truncated
        averaged.copy_((averaged * decay + current * (1 - decay)).to(averaged.dtype))


def _swa(averaged: Tensor, current: Tensor, num_averaged) -> None:
    n = int(num_averaged.item() if isinstance(num_averaged, Tensor) else num_averaged)
    if averaged.is_floating_point():
        averaged.lerp_(current, 1.0 / (n + 1))
    else:
        averaged.copy_((averaged + (current - averaged) / (n + 1)).to(averaged.dtype))


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """``fn(averaged_list, current_list, n)``: ``averaged <- decay * averaged + (1 - decay) * current``."""
    _check_decay(decay)

    def ema_update(averaged, current, _n) -> None:
        with no_grad():
            for a, c in zip(averaged, current):
                _ema(a, c, decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """``fn(averaged_list, current_list, n)``: the running mean over the ``n + 1`` models seen."""

    def swa_update(averaged, current, num_averaged) -> None:
        with no_grad():
            for a, c in zip(averaged, current):
                _swa(a, c, num_averaged)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """``fn(averaged, current, n) -> new averaged`` for one tensor (EMA)."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable:
    """``fn(averaged, current, n) -> new averaged`` for one tensor (running mean)."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters (and buffers, with ``use_buffers=True``) are averaged
    over the models passed to ``update_parameters``: the running mean by default (SWA), or any
    ``avg_fn`` / ``multi_avg_fn`` (``get_ema_multi_avg_fn(decay)`` gives an EMA). The first update
    copies the model. Without ``use_buffers`` the buffers are copied from the model every update.
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None, multi_avg_fn: Callable | None = None,
                 use_buffers: bool = False) -> None:  # fmt: skip
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        from .. import _functions as F

        self.register_buffer("n_averaged", F.tensor(0, dtype="int64"))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average."""
        mine = list(self.module.parameters()) + (list(self.module.buffers()) if self.use_buffers else [])
        theirs = list(model.parameters()) + (list(model.buffers()) if self.use_buffers else [])
        if len(mine) != len(theirs):
            raise ValueError(f"update_parameters: the model has {len(theirs)} tensors to average, the averaged copy {len(mine)}")
        n = int(self.n_averaged.item())
        with no_grad():
            averaged = [p.detach() for p in mine]
            current = [p.detach().to(a.device) for p, a in zip(theirs, averaged)]
            if n == 0:
                for a, c in zip(averaged, current):
                    a.copy_(c)
            elif self.avg_fn is not None:
                for a, c in zip(averaged, current):
                    a.copy_(self.avg_fn(a, c, self.n_averaged))
            else:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(averaged, current, self.n_averaged)
            if not self.use_buffers:  # keep the buffers in sync with the source model
                for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                    b_avg.detach().copy_(b_model.detach().to(b_avg.device))
            self.n_averaged.add_(1)


def update_bn(loader, model: Module, device=None) -> None:
    """Recompute BatchNorm running statistics with one pass over ``loader`` (batches are tensors or
    tuples whose first element is the input), as needed after averaging weights."""
    momenta: dict[Any, Any] = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None  # a cumulative average over the pass
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's lr to ``swa_lr`` over ``anneal_epochs`` steps (``'cos'`` or ``'linear'``),
    then hold it.

    >>> import einframe as ef
    >>> opt = ef.optim.SGD([ef.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = ef.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_epochs=2, anneal_strategy="linear")
    >>> lrs = []
    >>> for _ in range(3):
    ...     opt.step(); sched.step(); lrs.append(round(sched.get_last_lr()[0], 4))
    >>> lrs
    [0.55, 0.1, 0.1]
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        for lr, group in zip(_per_group("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2 if self.anneal_strategy == "cos" else t

    @staticmethod
    def _initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0.0, min(1.0, (step - 1) / max(1, self.anneal_epochs))))
        prev = [self._initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in self.optimizer.param_groups]
        alpha = self._anneal(max(0.0, min(1.0, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(self.optimizer.param_groups, prev)]
