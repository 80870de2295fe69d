"""Convolution benchmarks: einframe against pure numpy (im2col by hand) and PyTorch (when installed).

1. The seed's MNIST ``Net`` training step (batch 64 of 1x28x28: conv5-pool-relu, conv5-pool-relu,
   fc 320->50, relu, fc 50->10, log_softmax + nll, SGD with momentum), dropout off so the three
   implementations do the same arithmetic.
2. Conv2d forward+backward per configuration.

Median times, ratios printed (einframe / reference). Never used as a test assertion.

    python benchmarks/bench_conv.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timeit_interleaved, torch  # noqa: E402  (also puts the checkout on the import path)

import einframe as ef  # noqa: E402
import einframe.nn.functional as F  # noqa: E402


def init_params(rng):
    def u(shape, fan_in):
        b = 1 / np.sqrt(fan_in)
        return rng.uniform(-b, b, shape).astype(np.float32)

    return {
        "c1w": u((10, 1, 5, 5), 25), "c1b": u((10,), 25), "c2w": u((20, 10, 5, 5), 250), "c2b": u((20,), 250),
        "f1w": u((50, 320), 320), "f1b": u((50,), 320), "f2w": u((10, 50), 50), "f2b": u((10,), 50),
    }  # fmt: skip


# ---- einframe ---------------------------------------------------------------------------------
def einframe_step_fn(params, x, y, lr=0.01, momentum=0.5):
    ps = {k: ef.tensor(v, requires_grad=True) for k, v in params.items()}
    bufs = {k: ef.zeros_like(p) for k, p in ps.items()}
    xt, yt = ef.tensor(x), ef.tensor(y)

    def step():
        h = F.relu(F.max_pool2d(F.conv2d(xt, ps["c1w"], ps["c1b"]), 2))
        h = F.relu(F.max_pool2d(F.conv2d(h, ps["c2w"], ps["c2b"]), 2))
        h = h.reshape(-1, 320)
        h = F.relu(F.linear(h, ps["f1w"], ps["f1b"]))
        out = F.log_softmax(F.linear(h, ps["f2w"], ps["f2b"]), 1)
        loss = F.nll_loss(out, yt)
        for p in ps.values():
            p.grad = None
        loss.backward()
        with ef.no_grad():
            for k, p in ps.items():
                bufs[k].mul_(momentum).add_(p.grad)
                p.sub_(bufs[k] * lr)
        return loss

    return step


# ---- pure numpy (im2col, channels-last GEMMs) --------------------------------------------------
def _im2col(x, k):
    # x: (B, C, H, W) -> (B, OH, OW, C*k*k) copy
    B, C, H, W = x.shape
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # B C OH OW k k
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(B, H - k + 1, W - k + 1, C * k * k)


def _col2im(cols, shape, k):
    B, C, H, W = shape
    oh, ow = H - k + 1, W - k + 1
    c = cols.reshape(B, oh, ow, C, k, k)
    dx = np.zeros(shape, dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + oh, j : j + ow] += c[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dx


def _pool_fwd(x):
    B, C, H, W = x.shape
    r = x.reshape(B, C, H // 2, 2, W // 2, 2)
    m = r.max(axis=(3, 5))
    mask = r == m[:, :, :, None, :, None]
    return m, mask


def numpy_step_fn(params, x, y, lr=0.01, momentum=0.5):
    p = {k: v.copy() for k, v in params.items()}
    bufs = {k: np.zeros_like(v) for k, v in p.items()}
    n = x.shape[0]

    def conv_fwd(inp, w, b):
        cols = _im2col(inp, 5)
        out = cols @ w.reshape(w.shape[0], -1).T + b  # B OH OW O
        return out.transpose(0, 3, 1, 2), cols

    def step():
        y1, cols1 = conv_fwd(x, p["c1w"], p["c1b"])
        m1, mask1 = _pool_fwd(y1)
        a1 = np.maximum(m1, 0)
        y2, cols2 = conv_fwd(a1, p["c2w"], p["c2b"])
        m2, mask2 = _pool_fwd(y2)
        a2 = np.maximum(m2, 0)
        h0 = a2.reshape(n, 320)
        z1 = h0 @ p["f1w"].T + p["f1b"]
        h1 = np.maximum(z1, 0)
        z2 = h1 @ p["f2w"].T + p["f2b"]
        zmax = z2.max(1, keepdims=True)
        lse = np.log(np.exp(z2 - zmax).sum(1, keepdims=True)) + zmax
        logp = z2 - lse
        loss = -logp[np.arange(n), y].mean()
        g = np.exp(logp)
        g[np.arange(n), y] -= 1
        g /= n
        grads = {"f2w": g.T @ h1, "f2b": g.sum(0)}
        gh1 = (g @ p["f2w"]) * (z1 > 0)
        grads["f1w"], grads["f1b"] = gh1.T @ h0, gh1.sum(0)
        ga2 = (gh1 @ p["f1w"]).reshape(a2.shape) * (m2 > 0)
        gy2 = (mask2 * ga2[:, :, :, None, :, None]).reshape(y2.shape)
        g2 = gy2.transpose(0, 2, 3, 1).reshape(-1, 20)
        grads["c2w"] = (g2.T @ cols2.reshape(-1, 250)).reshape(p["c2w"].shape)
        grads["c2b"] = g2.sum(0)
        ga1 = _col2im((g2 @ p["c2w"].reshape(20, -1)).reshape(cols2.shape), a1.shape, 5) * (m1 > 0)
        gy1 = (mask1 * ga1[:, :, :, None, :, None]).reshape(y1.shape)
        g1 = gy1.transpose(0, 2, 3, 1).reshape(-1, 10)
        grads["c1w"] = (g1.T @ cols1.reshape(-1, 25)).reshape(p["c1w"].shape)
        grads["c1b"] = g1.sum(0)
        for k in p:
            bufs[k] *= momentum
            bufs[k] += grads[k]
            p[k] -= lr * bufs[k]
        return loss

    return step


# ---- torch ----------------------------------------------------------------------------------
def torch_step_fn(params, x, y, lr=0.01, momentum=0.5):
    import torch.nn.functional as TF

    ps = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    opt = torch.optim.SGD(list(ps.values()), lr=lr, momentum=momentum)
    xt, yt = torch.tensor(x), torch.tensor(y)

    def step():
        h = TF.relu(TF.max_pool2d(TF.conv2d(xt, ps["c1w"], ps["c1b"]), 2))
        h = TF.relu(TF.max_pool2d(TF.conv2d(h, ps["c2w"], ps["c2b"]), 2))
        h = TF.relu(TF.linear(h.reshape(-1, 320), ps["f1w"], ps["f1b"]))
        loss = TF.nll_loss(TF.log_softmax(TF.linear(h, ps["f2w"], ps["f2b"]), 1), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step


def bench_mnist(repeat):
    rng = np.random.default_rng(0)
    params = init_params(rng)
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    steps = {"einframe": einframe_step_fn(params, x, y), "numpy": numpy_step_fn(params, x, y)}
    if torch is not None:
        steps["torch"] = torch_step_fn(params, x, y)
    # sanity: the three agree on the first loss (fresh copies of the parameters)
    first = {
        k: float(fn()) for k, fn in {"einframe": einframe_step_fn(params, x, y), "numpy": numpy_step_fn(params, x, y)}.items()
    }
    assert abs(first["einframe"] - first["numpy"]) < 1e-4, first
    times = timeit_interleaved(steps, repeat)
    print("MNIST Net training step (batch 64, 1x28x28, SGD momentum), median ms:")
    for k, v in times.items():
        print(f"  {k:9s} {v * 1e3:8.2f} ms")
    print(f"  einframe / numpy = {times['einframe'] / times['numpy']:.2f}x")
    if "torch" in times:
        print(
            f"  einframe / torch = {times['einframe'] / times['torch']:.2f}x   numpy / torch = {times['numpy'] / times['torch']:.2f}x"
        )
    return times


def _bench_layer(title, configs, ef_fn, torch_fn, weight_shape, repeat, seed):
    """Forward+backward of ``fn(x, w, None, stride, pad)`` per (B, C, H, O, k, stride, pad) configuration."""
    print(f"{title} forward+backward, median ms (einframe / torch):")
    rng = np.random.default_rng(seed)
    for B, C, H, n_out, k, s, p in configs:
        x = rng.standard_normal((B, C, H, H)).astype(np.float32)
        w = rng.standard_normal(weight_shape(C, n_out, k)).astype(np.float32) * 0.1
        xe, we = ef.tensor(x, requires_grad=True), ef.tensor(w, requires_grad=True)

        def run_ef(xe=xe, we=we, s=s, p=p):
            xe.grad = we.grad = None
            ef_fn(xe, we, None, s, p).sum().backward()

        fns = {"einframe": run_ef}
        if torch is not None:
            xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)

            def run_t(xt=xt, wt=wt, s=s, p=p):
                xt.grad = wt.grad = None
                torch_fn(xt, wt, None, s, p).sum().backward()

            fns["torch"] = run_t
        times = timeit_interleaved(fns, repeat)
        te = times["einframe"]
        line = f"  B{B} C{C}->{n_out} {H}x{H} k{k} s{s} p{p}: einframe {te * 1e3:7.2f}"
        if "torch" in times:
            line += f"  torch {times['torch'] * 1e3:7.2f}  ratio {te / times['torch']:.2f}x"
        print(line)


def bench_conv_configs(repeat):
    configs = [  # (B, C, H, O, k, stride, pad)
        (64, 1, 28, 10, 5, 1, 0),
        (64, 10, 12, 20, 5, 1, 0),
        (32, 16, 32, 32, 3, 1, 1),
        (32, 32, 32, 64, 3, 2, 1),
        (8, 64, 56, 64, 1, 1, 0),
    ]
    t_fn = torch.nn.functional.conv2d if torch is not None else None
    _bench_layer("Conv2d", configs, F.conv2d, t_fn, lambda c, o, k: (o, c, k, k), repeat, 1)


def bench_conv_transpose(repeat):
    """A DCGAN generator block and a stride-1 decoder layer."""
    configs = [(32, 64, 16, 32, 4, 2, 1), (64, 16, 14, 8, 5, 1, 2)]  # (B, C, H, O, k, stride, pad)
    t_fn = torch.nn.functional.conv_transpose2d if torch is not None else None
    _bench_layer("ConvTranspose2d", configs, F.conv_transpose2d, t_fn, lambda c, o, k: (c, o, k, k), repeat, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeat = 5 if args.quick else 30
    bench_mnist(repeat)
    bench_conv_configs(max(3, repeat // 3))
    bench_conv_transpose(max(3, repeat // 3))


if __name__ == "__main__":
    main()
