"""`einframe demo` runs end to end (a short run here; the full run is the README's first command)."""

import re
import subprocess
import sys

import pytest

import einframe as ef

pytest.importorskip("sklearn", reason="the demo's default data set comes from scikit-learn (einframe[examples])")


def test_demo_short_run_prints_accuracy_and_saves_a_checkpoint(tmp_path):
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
