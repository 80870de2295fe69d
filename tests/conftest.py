import os

import numpy as np
import pytest
from hypothesis import settings

import einframe as ef

# CI runs the property tests on a fixed set of examples (reproducible, never flaky); locally they
# explore new random examples on every run
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _seed_and_reset():
    """Every test starts from a known seed, grad mode on, float32 default."""
    ef.manual_seed(0)
    np.random.seed(0)
    yield
    ef.set_default_dtype(ef.float32)


def pytest_collection_modifyitems(config, items):
    if ef.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU with CuPy")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
