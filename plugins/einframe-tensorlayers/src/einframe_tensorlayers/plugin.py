"""The entry point einframe loads: registers the layers through the public hook."""

import einframe as ef

from .layers import KroneckerLinear, LowRankLinear, TTLinear


@ef.hookimpl
def register_layers(register):
    register("LowRankLinear", LowRankLinear)
    register("KroneckerLinear", KroneckerLinear)
    register("TTLinear", TTLinear)
