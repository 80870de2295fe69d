"""Quickstart: train a two-layer network on a synthetic regression task with einframe's core.

Every matrix product below is one planned einsum; backward equations are derived symbolically.

    python examples/quickstart.py
"""

from __future__ import annotations

import time

import einframe as ef


def main(steps: int = 300) -> float:
    ef.manual_seed(0)
    n, d_in, hidden, d_out = 256, 20, 64, 1
    x = ef.randn(n, d_in)
    true_w = ef.randn(d_in, d_out)
    y = (x @ true_w).tanh() + 0.05 * ef.randn(n, d_out)

    w1 = (ef.randn(hidden, d_in) * (2 / d_in) ** 0.5).requires_grad_()
    b1 = ef.zeros(hidden, requires_grad=True)
    w2 = (ef.randn(d_out, hidden) * (1 / hidden) ** 0.5).requires_grad_()
    b2 = ef.zeros(d_out, requires_grad=True)
    params = [w1, b1, w2, b2]
    lr = 0.05

    start = time.perf_counter()
    for step in range(steps):
        h = (ef.einsum("bi,oi->bo", x, w1) + b1).relu()
        pred = ef.einsum("bh,oh->bo", h, w2) + b2
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        with ef.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad = None
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    print(f"backward equations of the first layer: {h.grad_fn.next_functions[0][0].next_functions[0][0].backward_equations}")
    print(f"plan cache: {ef.plan_cache.info()}")
    print(f"final loss: {loss.item():.5f} in {time.perf_counter() - start:.2f}s")
    return loss.item()


if __name__ == "__main__":
    main()
