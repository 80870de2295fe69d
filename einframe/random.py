"""The global random number generator: ``ef.manual_seed`` makes runs reproducible."""

from __future__ import annotations

import numpy as np

from .backend import cuda

__all__ = ["manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state", "generator"]

_state = {"seed": 0, "gen": np.random.Generator(np.random.PCG64(0))}


def generator() -> np.random.Generator:
    """The numpy Generator behind ``ef.rand``/``randn``/``randint``/dropout/initializers."""
    return _state["gen"]


def manual_seed(seed: int) -> None:
    """Seed every random source einframe uses (CPU generator, and CuPy's when present).

    >>> import einframe as ef
    >>> ef.manual_seed(0); a = ef.rand(3)
    >>> ef.manual_seed(0); b = ef.rand(3)
    >>> bool((a == b).all())
    True
    """
    seed = int(seed)
    _state["seed"] = seed
    _state["gen"] = np.random.Generator(np.random.PCG64(seed))
    cuda.manual_seed(seed)


def seed() -> int:
    """Seed from the operating system's entropy; returns the seed used."""
    s = int(np.random.SeedSequence().entropy % (2**63))
    manual_seed(s)
    return s


def initial_seed() -> int:
    return _state["seed"]


def get_rng_state() -> dict:
    """The generator state as JSON-compatible data (for checkpoints)."""
    return _state["gen"].bit_generator.state


def set_rng_state(state: dict) -> None:
    gen = np.random.Generator(np.random.PCG64())
    gen.bit_generator.state = state
    _state["gen"] = gen
