"""``einframe demo``: train the seed's MNIST ``Net`` and report held-out accuracy.

Data: scikit-learn's handwritten digits upsampled to 28x28 (default), or MNIST IDX files with
``--data DIR``. The network is the one from the PyTorch MNIST example the seeds discuss: two
convolutions (each a sliding-window view plus one contraction), max-pooling, dropout, two linear
layers (one contraction each) and ``log_softmax``.
"""

from __future__ import annotations

import argparse
import sys
import time

import einframe as ef
import einframe.nn.functional as F
from einframe import nn


class Net(nn.Module):
    """The seed's MNIST network, unchanged except for the import."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = x.view(-1, 320)
        x = F.relu(self.fc1(x))
        x = F.dropout(x, training=self.training)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def _datasets(args):
    from .utils.data import random_split

    if args.data:
        from .datasets import MNIST

        train = MNIST(args.data, train=True)
        test = MNIST(args.data, train=False)
        name = f"MNIST from {args.data}"
    else:
        from .datasets import load_digits

        full = load_digits(size=28)
        n_test = len(full) // 5
        train, test = random_split(full, [len(full) - n_test, n_test], generator=args.seed)
        name = "scikit-learn digits, upsampled to 28x28"
    return train, test, name


class _Progress:
    """A one-line progress bar on a terminal; plain lines otherwise (logs, CI)."""

    def __init__(self, total: int, prefix: str, stream=sys.stdout):
        self.total, self.prefix, self.stream = total, prefix, stream
        self.tty = stream.isatty()

    def update(self, done: int, loss: float, acc: float) -> None:
        if not self.tty:
            return
        width = 30
        filled = int(width * done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.prefix} [{bar}] {done}/{self.total} loss {loss:.4f} acc {acc:5.1%}")
        self.stream.flush()

    def close(self, loss: float, acc: float) -> None:
        if self.tty:
            self.stream.write("\r")
        self.stream.write(f"{self.prefix} loss {loss:.4f} train accuracy {acc:5.1%}\n")
        self.stream.flush()


def evaluate(model: nn.Module, loader, device) -> tuple[float, float]:
    """Mean NLL loss and accuracy of ``model`` over ``loader``."""
    model.eval()
    total, correct, loss_sum = 0, 0, 0.0
    with ef.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            loss_sum += float(F.nll_loss(out, y, reduction="sum"))
            correct += int((out.argmax(dim=1) == y).sum())
            total += len(y)
    return loss_sum / total, correct / total


def train(args) -> float:
    """Train and evaluate; returns the held-out accuracy."""
    from .utils.data import DataLoader

    ef.manual_seed(args.seed)
    device = ef.device(args.device)
    train_set, test_set, name = _datasets(args)
    if args.limit:
        from .utils.data import Subset

        train_set = Subset(train_set, range(min(args.limit, len(train_set))))
    train_loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)
    model = Net().to(device)
    optimizer = ef.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    scheduler = ef.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    print(
        f"einframe {ef.__version__} demo: seed MNIST Net on {name}; {len(train_set)} train / {len(test_set)} held out; device {device}"
    )
    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        bar = _Progress(len(train_loader), f"epoch {epoch:2d}/{args.epochs}")
        seen, correct, loss_sum = 0, 0, 0.0
        for i, (x, y) in enumerate(train_loader, 1):
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            out = model(x)
            loss = F.nll_loss(out, y)
            loss.backward()
            optimizer.step()
            loss_sum += float(loss) * len(y)
            correct += int((out.detach().argmax(dim=1) == y).sum())
            seen += len(y)
            bar.update(i, loss_sum / seen, correct / seen)
        scheduler.step()
        bar.close(loss_sum / seen, correct / seen)
        test_loss, test_acc = evaluate(model, test_loader, device)
        for k, v in zip(history, (loss_sum / seen, correct / seen, test_loss, test_acc)):
            history[k].append(v)
    elapsed = time.perf_counter() - start
    if args.checkpoint:
        ef.save(
            {
                "epoch": args.epochs,
                "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(),
                "loss": history["test_loss"][-1],
            },
            args.checkpoint,
        )
        print(f"checkpoint saved to {args.checkpoint}")
    if args.plot:
        _plot(history, args.plot)
        print(f"curves written to {args.plot}")
    acc = history["test_acc"][-1]
    print(f"time taken: {elapsed:.1f}s ({elapsed / args.epochs:.2f}s per epoch)")
    print(f"test accuracy: {100 * acc:.1f}%")
    return acc


def _plot(history: dict, path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise SystemExit(f"--plot needs matplotlib: pip install matplotlib ({e})") from e
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    a1.plot(epochs, history["train_loss"], label="train")
    a1.plot(epochs, history["test_loss"], label="held out")
    a1.set_xlabel("epoch")
    a1.set_ylabel("NLL loss")
    a1.legend()
    a2.plot(epochs, [100 * a for a in history["train_acc"]], label="train")
    a2.plot(epochs, [100 * a for a in history["test_acc"]], label="held out")
    a2.set_xlabel("epoch")
    a2.set_ylabel("accuracy (%)")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", help="folder with MNIST IDX files (default: scikit-learn digits)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.03)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--checkpoint", default="einframe-demo.safetensors", help="where to save the checkpoint ('' to skip)")
    p.add_argument("--plot", metavar="FILE.png", help="write loss/accuracy curves")
    p.add_argument("--limit", type=int, metavar="N", help="train on the first N training samples only (quick runs)")


def run(args: argparse.Namespace) -> int:
    """Run the demo with parsed arguments (``einframe demo``); returns the exit status."""
    if args.device.startswith("cuda") and not ef.cuda.is_available():
        print("einframe demo: --device cuda needs CuPy and a GPU (pip install einframe[cuda12])", file=sys.stderr)
        return 2
    train(args)
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="einframe demo", description=__doc__.splitlines()[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
