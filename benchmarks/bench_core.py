"""Core benchmarks: einframe against pure numpy and PyTorch (when installed), in one process.

Reports median times and ratios (einframe / reference). Never used as a test assertion.

    python benchmarks/bench_core.py [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import timeit_interleaved, torch  # noqa: E402  (also puts the checkout on the import path)

import einframe as ef  # noqa: E402


# ---- A: seed MLP step (N=64, 1000 -> 100 -> 10, ReLU, MSE(sum), manual SGD) ---------------------
def mlp_workload(n, d_in, h, d_out, lr=1e-6):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d_in)).astype(np.float32)
    y = rng.standard_normal((n, d_out)).astype(np.float32)
    w1 = (rng.standard_normal((d_in, h)) * 0.01).astype(np.float32)
    w2 = (rng.standard_normal((h, d_out)) * 0.01).astype(np.float32)

    s = {"w1": w1.copy(), "w2": w2.copy()}

    def numpy_step():
        h_ = x @ s["w1"]
        r = np.maximum(h_, 0)
        p = r @ s["w2"]
        g = 2.0 * (p - y)
        gw2 = r.T @ g
        gr = g @ s["w2"].T
        gr[h_ <= 0] = 0
        gw1 = x.T @ gr
        s["w1"] -= lr * gw1
        s["w2"] -= lr * gw2

    ex, ey = ef.from_numpy(x), ef.from_numpy(y)
    ew1 = ef.tensor(w1, requires_grad=True)
    ew2 = ef.tensor(w2, requires_grad=True)

    def ef_step():
        loss = ((ex.mm(ew1).relu().mm(ew2) - ey) ** 2).sum()
        loss.backward()
        with ef.no_grad():
            ew1.sub_(lr * ew1.grad)
            ew2.sub_(lr * ew2.grad)
            ew1.grad = None
            ew2.grad = None

    fns = {"numpy": numpy_step, "einframe": ef_step}
    if torch is not None:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        tw1 = torch.tensor(w1, requires_grad=True)
        tw2 = torch.tensor(w2, requires_grad=True)

        def torch_step():
            loss = ((tx.mm(tw1).clamp(min=0).mm(tw2) - ty) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                tw1.sub_(lr * tw1.grad)
                tw2.sub_(lr * tw2.grad)
                tw1.grad = None
                tw2.grad = None

        fns["torch"] = torch_step
    return fns


def large_mlp_workload():
    rng = np.random.default_rng(0)
    n, dims = 512, [784, 2048, 2048, 10]
    x = rng.standard_normal((n, dims[0])).astype(np.float32)
    y = rng.standard_normal((n, dims[-1])).astype(np.float32)
    ws = [(rng.standard_normal((o, i)) / np.sqrt(i)).astype(np.float32) for i, o in zip(dims[:-1], dims[1:])]
    lr = 1e-4

    np_ws = [w.copy() for w in ws]

    def numpy_step(ws=np_ws):  # noqa: B006 - the weights are the step's state
        acts, pre = [x], []
        a = x
        for k, w in enumerate(ws):
            z = a @ w.T
            pre.append(z)
            a = np.maximum(z, 0) if k < len(ws) - 1 else z
            acts.append(a)
        g = 2.0 * (a - y)
        for k in reversed(range(len(ws))):
            if k < len(ws) - 1:
                g = g * (pre[k] > 0)
            gw = g.T @ acts[k]
            g = g @ ws[k]
            ws[k] -= lr * gw

    ex, ey = ef.from_numpy(x), ef.from_numpy(y)
    ews = [ef.tensor(w, requires_grad=True) for w in ws]

    def ef_step():
        a = ex
        for k, w in enumerate(ews):
            a = ef.einsum("bi,oi->bo", a, w)
            if k < len(ews) - 1:
                a = a.relu()
        loss = ((a - ey) ** 2).sum()
        loss.backward()
        with ef.no_grad():
            for w in ews:
                w -= lr * w.grad
                w.grad = None

    fns = {"numpy": numpy_step, "einframe": ef_step}
    if torch is not None:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        tws = [torch.tensor(w, requires_grad=True) for w in ws]

        def torch_step():
            a = tx
            for k, w in enumerate(tws):
                a = a @ w.T
                if k < len(tws) - 1:
                    a = a.relu()
            loss = ((a - ty) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                for w in tws:
                    w -= lr * w.grad
                    w.grad = None

        fns["torch"] = torch_step
    return fns


def attention_workload(b=8, h=8, s=128, d=64):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((b, h, s, d)).astype(np.float32) for _ in range(3))
    scale = 1 / np.sqrt(d)

    def numpy_step():
        sc = (q @ k.transpose(0, 1, 3, 2)) * scale
        m = sc.max(-1, keepdims=True)
        e = np.exp(sc - m)
        p = e / e.sum(-1, keepdims=True)
        o = p @ v
        go = np.ones_like(o)
        gp = go @ v.transpose(0, 1, 3, 2)
        gv = p.transpose(0, 1, 3, 2) @ go
        gs = p * (gp - (gp * p).sum(-1, keepdims=True)) * scale
        gq = gs @ k
        gk = gs.transpose(0, 1, 3, 2) @ q
        return gq, gk, gv

    eq_, ek, ev = (ef.tensor(a, requires_grad=True) for a in (q, k, v))

    def ef_step():
        sc = ef.einsum("bhqd,bhkd->bhqk", eq_, ek) * scale
        p = sc.softmax(-1)
        o = ef.einsum("bhqk,bhkd->bhqd", p, ev)
        o.sum().backward()
        eq_.grad = ek.grad = ev.grad = None

    fns = {"numpy": numpy_step, "einframe": ef_step}
    if torch is not None:
        tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))

        def torch_step():
            sc = torch.einsum("bhqd,bhkd->bhqk", tq, tk) * scale
            p = sc.softmax(-1)
            o = torch.einsum("bhqk,bhkd->bhqd", p, tv)
            o.sum().backward()
            tq.grad = tk.grad = tv.grad = None

        fns["torch"] = torch_step
    return fns


def small_op_workload():
    a = np.ones((8, 8), np.float32)
    ea = ef.tensor(a, requires_grad=True)

    def ef_step():
        (ea * 2.0).sum().backward()
        ea.grad = None

    def numpy_step():
        b = a * 2.0
        b.sum()
        np.full_like(a, 2.0)

    fns = {"numpy": numpy_step, "einframe": ef_step}
    if torch is not None:
        ta = torch.tensor(a, requires_grad=True)

        def torch_step():
            (ta * 2.0).sum().backward()
            ta.grad = None

        fns["torch"] = torch_step
    return fns


WORKLOADS = {
    "A: seed MLP step 64x1000-100-10": (lambda: mlp_workload(64, 1000, 100, 10), 200),
    "C: large MLP step 512x784-2048-2048-10": (large_mlp_workload, 7),
    "D: attention fwd+bwd B8 H8 S128 D64": (attention_workload, 15),
    "small op (x*2).sum() fwd+bwd 8x8": (small_op_workload, 500),
}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--json", help="write results to this file")
    ap.add_argument("--only", help="run only the workloads whose name contains this text")
    args = ap.parse_args(argv)
    results = {}
    print(f"einframe {ef.__version__}, numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}")
    print(f"{'workload':42s} {'einframe':>10s} {'numpy':>10s} {'torch':>10s} {'ef/np':>7s} {'ef/torch':>8s}")
    for name, (make, reps) in WORKLOADS.items():
        if args.only and args.only not in name:
            continue
        fns = make()
        reps = max(3, reps // 4) if args.quick else reps
        med = timeit_interleaved(fns, reps)
        r_np = med["einframe"] / med["numpy"]
        r_t = med["einframe"] / med["torch"] if "torch" in med else float("nan")
        results[name] = {"seconds": med, "ratio_numpy": r_np, "ratio_torch": r_t}
        fmt = lambda s: f"{s * 1e3:8.3f}ms" if s >= 1e-3 else f"{s * 1e6:8.1f}us"  # noqa: E731
        print(
            f"{name:42s} {fmt(med['einframe']):>10s} {fmt(med['numpy']):>10s} "
            f"{fmt(med['torch']) if 'torch' in med else '-':>10s} {r_np:7.2f} {r_t:8.2f}"
        )
    print(f"plan cache: {ef.plan_cache.info()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
