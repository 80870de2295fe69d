"""`einframe demo` runs end to end (a short run here; the full run is the README's first command)."""

import re
import subprocess
import sys

import numpy as np
import pytest

import einframe as ef


def test_demo_short_run_prints_accuracy_and_saves_a_checkpoint(tmp_path):
    pytest.importorskip("sklearn", reason="the demo's default data set comes from scikit-learn (einframe[examples])")
    ckpt = tmp_path / "demo.safetensors"
    plot = tmp_path / "curves.png"
    args = ["--epochs", "5", "--limit", "600", "--checkpoint", str(ckpt)]
    if _has_matplotlib():
        args += ["--plot", str(plot)]
    r = subprocess.run([sys.executable, "-m", "einframe", "demo", *args], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert re.fullmatch(r"test accuracy: \d+\.\d%", lines[-1]), lines[-1]
    assert any(line.startswith("time taken:") for line in lines)
    assert float(lines[-1].split()[-1].rstrip("%")) > 50.0  # five short epochs are far above chance (10%)
    state = ef.load(ckpt)
    assert set(state) == {"epoch", "model_state_dict", "optimizer_state_dict", "loss"}
    assert state["model_state_dict"]["conv1.weight"].shape == (10, 1, 5, 5)
    if _has_matplotlib():
        assert plot.stat().st_size > 1000


def test_demo_refuses_cuda_without_a_gpu():
    if ef.cuda.is_available():
        pytest.skip("a GPU is present")
    r = subprocess.run([sys.executable, "-m", "einframe", "demo", "--device", "cuda"], capture_output=True, text=True)
    assert r.returncode == 2 and "CuPy" in r.stderr


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401

        return True
    except ImportError:
        return False


def test_demo_reads_mnist_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 96), ("t10k", 32)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 50, (n, 28, 28)).astype(np.uint8)
        images[np.arange(n), 2 + 2 * labels, 4:24] = 255  # a bar whose row encodes the label
        ef.datasets.write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", images)
        ef.datasets.write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    cmd = [sys.executable, "-m", "einframe", "demo", "--data", str(tmp_path), "--epochs", "1", "--checkpoint", ""]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "MNIST from" in r.stdout and "96 train / 32 held out" in r.stdout
    assert re.fullmatch(r"test accuracy: \d+\.\d%", r.stdout.strip().splitlines()[-1])
