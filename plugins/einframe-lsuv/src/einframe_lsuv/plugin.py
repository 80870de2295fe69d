"""The entry point einframe loads: an initializer and two named hooks, through the public hooks."""

import einframe as ef

from .hooks import grad_logger, lsuv, orthonormal_


@ef.hookimpl
def register_initializers(register):
    register("orthonormal_", orthonormal_)


@ef.hookimpl
def register_hooks(register):
    register("lsuv", lsuv)
    register("grad_logger", grad_logger)
