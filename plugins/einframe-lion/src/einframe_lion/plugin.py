"""The entry point einframe loads: registers the optimizers through the public hook."""

import einframe as ef

from .optim import Lion, Shampoo


@ef.hookimpl
def register_optimizers(register):
    register("Lion", Lion)
    register("Shampoo", Shampoo)
