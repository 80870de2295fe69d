"""Weight folding (seed 004): conv+BN folding and RepVGG-style branch merging, verified numerically."""

import numpy as np
import pytest

import einframe as ef
import einframe.nn.functional as F
from einframe import nn
from einframe.nn.utils import FusionError, fuse_conv_bn_eval, merge_parallel_convs


def trained_bn(c):
    bn = nn.BatchNorm2d(c)
    with ef.no_grad():
        bn.running_mean.copy_(ef.randn(c))
        bn.running_var.copy_(ef.rand(c) + 0.5)
        bn.weight.copy_(ef.randn(c))
        bn.bias.copy_(ef.randn(c))
    return bn.eval()


@pytest.mark.parametrize("kw", [dict(padding=1), dict(stride=2, groups=2, bias=False), dict(padding="same", dilation=2)])
def test_fuse_conv_bn_eval(kw):
    conv = nn.Conv2d(4, 6, 3, **kw).eval()
    bn = trained_bn(6)
    fused = fuse_conv_bn_eval(conv, bn)
    x = ef.randn(2, 4, 9, 9)
    assert np.allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), atol=1e-5)
    assert fused is not conv and fused.bias is not None
    assert conv.bias is None or not ef.equal(conv.bias, fused.bias)  # the original is untouched


def test_fuse_requires_eval():
    with pytest.raises(FusionError, match="eval"):
        fuse_conv_bn_eval(nn.Conv2d(1, 1, 1), nn.BatchNorm2d(1))


def test_seed_example_branches_are_summed():
    """Seed 004: x + conv3(x) + conv1(x) equals ONE 3x3 conv (outputs summed, not modules)."""
    x = ef.ones(1, 2, 9, 9)
    conv3 = nn.Conv2d(2, 2, 3, padding="same")
    conv1 = nn.Conv2d(2, 2, 1)
    result1 = x + conv3(x) + conv1(x)
    # the seed's construction by hand: 1x1 padded to 3x3, identity as a 3x3 kernel
    conv1_3 = nn.Conv2d(2, 2, 3, padding="same")
    conv1_3.weight = nn.Parameter(F.pad(conv1.weight, [1, 1, 1, 1, 0, 0, 0, 0]))
    conv1_3.bias = conv1.bias
    convx_3 = nn.Conv2d(2, 2, 3, padding="same")
    convx_3.weight = nn.Parameter(nn.init.dirac_(ef.empty(2, 2, 3, 3)))
    convx_3.bias = nn.Parameter(ef.zeros(2))
    result2 = conv3(x) + conv1_3(x) + convx_3(x)
    assert np.allclose(result1.detach().numpy(), result2.detach().numpy(), atol=1e-5)
    merged = merge_parallel_convs(conv3, conv1, identity=True)
    assert merged.kernel_size == (3, 3)
    assert np.allclose(merged(x).detach().numpy(), result1.detach().numpy(), atol=1e-5)


def test_repvgg_block_with_batchnorms_and_groups():
    c3, c1 = nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False), nn.Conv2d(4, 4, 1, groups=2, bias=False)
    bn3, bn1, bnid = trained_bn(4), trained_bn(4), trained_bn(4)
    merged = merge_parallel_convs((c3, bn3), (c1, bn1), identity=bnid)
    x = ef.randn(2, 4, 6, 5)
    ref = bn3(c3(x)) + bn1(c1(x)) + bnid(x)
    assert np.allclose(merged(x).detach().numpy(), ref.detach().numpy(), atol=1e-4)


def test_merge_5x5_3x3_1x1_strided():
    convs = [nn.Conv2d(3, 5, k, stride=2, padding=k // 2) for k in (5, 3, 1)]
    merged = merge_parallel_convs(*convs)
    x = ef.randn(1, 3, 8, 7)
    assert np.allclose(merged(x).detach().numpy(), sum(c(x) for c in convs).detach().numpy(), atol=1e-5)


def test_merge_rejects_misaligned_branches():
    with pytest.raises(FusionError, match="does not align"):
        merge_parallel_convs(nn.Conv2d(2, 2, 3, padding=1), nn.Conv2d(2, 2, 1, padding=1))
    with pytest.raises(FusionError, match="identity branch"):
        merge_parallel_convs(nn.Conv2d(2, 3, 3, padding=1), identity=True)
