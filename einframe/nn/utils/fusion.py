"""Weight folding for inference (seed 004, "operator fusion"): conv+BN folding and RepVGG-style
merging of parallel branches into one convolution. Each helper checks its result numerically on a
random input before returning it (``verify=True``) and raises if the fused layer disagrees.

Why it is exact: a convolution is linear in its weight (``einsum('bchwkl,ockl->bohw', windows, W)``), so
summing the outputs of parallel convolutions over the same windows is the convolution with the
summed kernels; an eval-mode BatchNorm is a per-channel affine map ``y·s + t``, which scales the
kernel's output channel ``o`` by ``s[o]``.

>>> import einframe as ef
>>> from einframe import nn
>>> conv, bn = nn.Conv2d(3, 4, 3, padding=1).eval(), nn.BatchNorm2d(4).eval()
>>> fused = nn.utils.fuse_conv_bn_eval(conv, bn)
>>> x = ef.randn(2, 3, 5, 5)
>>> bool(ef.allclose(fused(x), bn(conv(x)), atol=1e-5))
True
"""

from __future__ import annotations

import copy

import numpy as np

from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Parameter

__all__ = [
    "fuse_conv_bn_eval",
    "fuse_conv_bn_weights",
    "fuse_linear_bn_eval",
    "fuse_linear_bn_weights",
    "merge_parallel_convs",
    "FusionError",
]


class FusionError(RuntimeError):
    """A fused layer did not reproduce the original computation (or the layers cannot be fused)."""


def _np(t: Tensor | None) -> np.ndarray | None:
    if t is None:
        return None
    d = t.detach()._data
    return np.asarray(d.get() if hasattr(d, "get") else d, dtype=np.float64)


def _param(arr: np.ndarray, like: Tensor) -> Parameter:
    xp = like._device.xp
    return Parameter(Tensor._wrap(xp.asarray(arr.astype(like._data.dtype)), like._device), requires_grad=like.requires_grad)


def fuse_conv_bn_weights(
    conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose: bool = False
) -> tuple[Parameter, Parameter]:
    """Fold an eval BatchNorm into convolution weights: ``w' = w·s``, ``b' = (b - mean)·s + beta`` with
    ``s = gamma / sqrt(var + eps)`` per output channel (dim 0 of a conv weight, dim 1 of a transposed one).
    """
    w, rm, rv = _np(conv_w), _np(bn_rm), _np(bn_rv)
    b = _np(conv_b) if conv_b is not None else np.zeros_like(rm)
    gamma = _np(bn_w) if bn_w is not None else np.ones_like(rm)
    beta = _np(bn_b) if bn_b is not None else np.zeros_like(rm)
    scale = gamma / np.sqrt(rv + bn_eps)
    if transpose:
        shape = (1, -1) + (1,) * (w.ndim - 2)
    else:
        shape = (-1,) + (1,) * (w.ndim - 1)
    fused_w = w * scale.reshape(shape)
    fused_b = (b - rm) * scale + beta
    like_b = conv_b if conv_b is not None else conv_w
    return _param(fused_w, conv_w), _param(fused_b, like_b)


def _check(name: str, fused, reference, x: Tensor, atol: float) -> None:
    with no_grad():
        got, want = fused(x), reference(x)
    err = float((got - want).abs().max())
    scale = max(1.0, float(want.abs().max()))
    if not err <= atol * scale:
        raise FusionError(f"{name}: the fused layer differs from the original by {err:.3g} (tolerance {atol * scale:.3g})")


def _probe(conv, extra: int = 3) -> Tensor:
    from ... import _functions as ef

    n = conv.weight.dim() - 2
    ks = conv.kernel_size
    spatial = tuple(k + 2 * extra for k in ks[:n])
    return ef.randn(2, conv.in_channels, *spatial, dtype=conv.weight.dtype, device=conv.weight.device)


def fuse_conv_bn_eval(conv, bn, transpose: bool = False, verify: bool = True, atol: float = 1e-4):
    """A copy of ``conv`` computing ``bn(conv(x))`` with the BatchNorm folded into its weight and bias.

    Both modules must be in eval mode (training-mode BatchNorm uses batch statistics, which cannot
    be folded). With ``verify`` the result is checked on a random input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
    >>> nn.utils.fuse_conv_bn_eval(net[0], net[1])
    Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))
    """
    if conv.training or bn.training:
        raise FusionError("fuse_conv_bn_eval: fusion only for eval mode; call .eval() on both modules first")
    if bn.running_mean is None or bn.running_var is None:
        raise FusionError("fuse_conv_bn_eval: the BatchNorm has no running statistics (track_running_stats=False)")
    fused = copy.deepcopy(conv)
    w, b = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias, transpose)
    fused.weight = w
    fused.bias = b
    if verify:
        x = _probe(conv)
        _check("fuse_conv_bn_eval", fused, lambda t: bn(conv(t)), x, atol)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b) -> tuple[Parameter, Parameter]:
    """Fold an eval BatchNorm that follows a Linear into its weight and bias: ``w' = w·s`` (row ``o``
    scaled by ``s[o]``), ``b' = (b - mean)·s + beta`` with ``s = gamma / sqrt(var + eps)``. A BatchNorm
    with one feature scales every output.

    >>> import einframe as ef
    >>> from einframe.nn.utils import fuse_linear_bn_weights
    >>> w, b = fuse_linear_bn_weights(ef.ones(2, 3), None, ef.zeros(2), ef.full((2,), 4.0), 0.0, None, None)
    >>> w.tolist(), b.tolist()
    ([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], [0.0, 0.0])
    """
    return fuse_conv_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)


def fuse_linear_bn_eval(linear, bn, verify: bool = True, atol: float = 1e-4):
    """A copy of ``linear`` computing ``bn(linear(x))`` with the eval BatchNorm folded into its weight and bias.

    ``bn.num_features`` must equal ``linear.out_features`` (or be 1), as in PyTorch; both modules
    must be in eval mode. With ``verify`` the result is checked on a random input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> lin, bn = nn.Linear(3, 4).eval(), nn.BatchNorm1d(4).eval()
    >>> fused = nn.utils.fuse_linear_bn_eval(lin, bn)
    >>> x = ef.randn(5, 3)
    >>> bool(ef.allclose(fused(x), bn(lin(x)), atol=1e-5))
    True
    """
    from ... import _functions as ef

    if linear.training or bn.training:
        raise FusionError("fuse_linear_bn_eval: fusion only for eval mode; call .eval() on both modules first")
    if not (linear.out_features == bn.num_features or bn.num_features == 1):
        raise FusionError(
            f"fuse_linear_bn_eval: to fuse, linear.out_features ({linear.out_features}) must equal bn.num_features "
            f"({bn.num_features}) or bn.num_features must be 1"
        )
    if bn.running_mean is None or bn.running_var is None:
        raise FusionError("fuse_linear_bn_eval: the BatchNorm has no running statistics (track_running_stats=False)")
    fused = copy.deepcopy(linear)
    w, b = fuse_linear_bn_weights(linear.weight, linear.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    fused.weight = w
    fused.bias = b
    if verify:
        # (N, C=1, L) when the BatchNorm has one feature (it normalises the channel dim), else (N, features)
        shape = (2, 1, linear.in_features) if bn.num_features == 1 and linear.out_features != 1 else (2, linear.in_features)
        x = ef.randn(*shape, dtype=linear.weight.dtype, device=linear.weight.device)
        _check("fuse_linear_bn_eval", fused, lambda t: bn(linear(t)), x, atol)
    return fused


def _branch(b):
    """(conv, bn) / conv -> (weight, bias, conv) as float64 arrays with the BN folded in."""
    if isinstance(b, (tuple, list)):
        conv, bn = b
        w, bias = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
        return _np(w), _np(bias), conv
    return _np(b.weight), (_np(b.bias) if b.bias is not None else np.zeros(b.out_channels)), b


def merge_parallel_convs(*branches, identity=False, verify: bool = True, atol: float = 1e-4):
    """Merge parallel branches whose outputs are **summed** into ONE convolution (RepVGG re-parameterisation).

    ``branches`` are Conv2d modules or ``(Conv2d, BatchNorm2d)`` pairs (the BatchNorm is folded
    first), all with the same in/out channels, stride and groups, each padded so that its output
    aligns with the others (a ``k×k`` kernel with padding ``k//2``). Smaller kernels are zero-padded
    to the largest one (a 1×1 kernel becomes the centre of a 3×3). ``identity=True`` adds the input
    itself (an identity kernel, a 1 at the centre of channel ``o``; or pass a BatchNorm2d to add an
    identity branch followed by that BatchNorm). Returns a new Conv2d computing
    ``sum(branch(x) for branch in branches) + identity(x)``, verified on a random input.

    >>> import einframe as ef
    >>> from einframe import nn
    >>> c3, c1 = nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 1)
    >>> merged = nn.utils.merge_parallel_convs(c3, c1, identity=True)
    >>> x = ef.randn(1, 2, 9, 9)
    >>> bool(ef.allclose(merged(x), x + c3(x) + c1(x), atol=1e-5))
    True
    """
    from ..modules.conv import Conv2d
    from ..modules.normalization import _BatchNorm

    if not branches:
        raise FusionError("merge_parallel_convs: expected at least one convolution branch")
    parts = [_branch(b) for b in branches]
    convs = [c for _, _, c in parts]
    bns = [b[1] for b in branches if isinstance(b, (tuple, list))] + ([identity] if isinstance(identity, _BatchNorm) else [])
    if any(bn.training for bn in bns):
        raise FusionError(
            "merge_parallel_convs: BatchNorm branches must be in eval mode (running statistics); call .eval() first"
        )
    ref = convs[0]
    for c in convs:
        if not isinstance(c, Conv2d):
            raise FusionError(f"merge_parallel_convs: expected Conv2d branches, got {type(c).__name__}")
        if (c.in_channels, c.out_channels, c.stride, c.groups, c.dilation) != (
            ref.in_channels,
            ref.out_channels,
            ref.stride,
            ref.groups,
            ref.dilation,
        ):
            raise FusionError(
                "merge_parallel_convs: branches must share in/out channels, stride, groups and dilation; got "
                f"{[(c.in_channels, c.out_channels, c.stride, c.groups, c.dilation) for c in convs]}"
            )
        if c.padding_mode != "zeros":
            raise FusionError(f"merge_parallel_convs: only padding_mode='zeros' can be merged, got {c.padding_mode!r}")
    K = tuple(max(c.kernel_size[i] for c in convs) for i in range(2))
    big = max(convs, key=lambda c: c.kernel_size[0] * c.kernel_size[1])
    P = big.padding if not isinstance(big.padding, str) else tuple(k // 2 for k in big.kernel_size)
    w_sum = np.zeros((ref.out_channels, ref.in_channels // ref.groups, *K))
    b_sum = np.zeros(ref.out_channels)
    for w, b, c in parts:
        k = c.kernel_size
        p = c.padding if not isinstance(c.padding, str) else tuple(kk // 2 for kk in k)
        off = tuple((kk_big - kk) // 2 for kk_big, kk in zip(K, k))
        if any((kb - kk) % 2 for kb, kk in zip(K, k)) or tuple(pp - o for pp, o in zip(P, off)) != tuple(p):
            raise FusionError(
                f"merge_parallel_convs: a {k} kernel with padding {p} does not align with the {K} kernel with padding {P}; "
                f"use padding k//2 on every branch"
            )
        w_sum[:, :, off[0] : off[0] + k[0], off[1] : off[1] + k[1]] += w
        b_sum += b
    id_bn = identity if isinstance(identity, _BatchNorm) else None
    if identity is not False and identity is not None:
        if ref.in_channels != ref.out_channels or ref.stride != (1, 1):
            raise FusionError("merge_parallel_convs: an identity branch needs in_channels == out_channels and stride 1")
        cpg = ref.in_channels // ref.groups
        eye = np.zeros_like(w_sum)
        for o in range(ref.out_channels):
            eye[o, o % cpg, K[0] // 2, K[1] // 2] = 1.0
        if id_bn is not None:
            s = (_np(id_bn.weight) if id_bn.weight is not None else 1.0) / np.sqrt(_np(id_bn.running_var) + id_bn.eps)
            eye = eye * s.reshape(-1, 1, 1, 1)
            b_sum += (_np(id_bn.bias) if id_bn.bias is not None else 0.0) - _np(id_bn.running_mean) * s
        w_sum += eye
    merged = Conv2d(
        ref.in_channels, ref.out_channels, K, stride=ref.stride, padding=P, dilation=ref.dilation, groups=ref.groups,
        bias=True, device=ref.weight.device, dtype=ref.weight.dtype,
    )  # fmt: skip
    merged.weight = _param(w_sum, ref.weight)
    merged.bias = _param(b_sum, ref.weight)
    merged.eval()
    if verify:

        def reference(x):
            total = None
            for b in branches:
                y = b[1](b[0](x)) if isinstance(b, (tuple, list)) else b(x)
                total = y if total is None else total + y
            if id_bn is not None:
                total = total + id_bn(x)
            elif identity:
                total = total + x
            return total

        _check("merge_parallel_convs", merged, reference, _probe(merged), atol)
    return merged
