"""The ``einframe`` command (also ``python -m einframe``).

Subcommands: ``plugins`` (what each plugin distribution registered, and failures), ``info``
(version, devices, BLAS, plan cache, plugin summary) and ``demo`` (train the seed's MNIST Net).

>>> from einframe.cli import main
>>> main(["plugins"])  # doctest: +ELLIPSIS
einframe 0.1.0 [builtin] loaded
...
0
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main", "build_parser", "info"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``einframe`` command."""
    p = argparse.ArgumentParser(prog="einframe", description="einframe: a PyTorch-shaped framework with an einsum core")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    pp = sub.add_parser("plugins", help="list plugin distributions, what they registered, and failures")
    pp.add_argument("--json", action="store_true", help="print the report as JSON")
    pi = sub.add_parser("info", help="version, devices, BLAS, plan cache and plugin summary")
    pi.add_argument("--json", action="store_true", help="print as JSON")
    pd = sub.add_parser("demo", help="train the seed's MNIST Net and print the held-out accuracy")
    from .demo import add_arguments

    add_arguments(pd)
    return p


def info() -> dict[str, Any]:
    """What ``einframe info`` prints, as a dict.

    >>> from einframe.cli import info
    >>> sorted(info())
    ['backends', 'blas', 'einframe', 'numpy', 'plan_cache', 'plugins', 'python']
    """
    import numpy as np

    import einframe as ef

    backends: dict[str, Any] = {"cpu": {"array_module": f"numpy {np.__version__}"}}
    try:
        cuda = ef.cuda.is_available()
        backends["cuda"] = {"available": cuda, "device_count": ef.cuda.device_count() if cuda else 0}
        if cuda:
            import cupy

            backends["cuda"]["array_module"] = f"cupy {cupy.__version__}"
    except Exception as e:  # noqa: BLE001 - info must always print
        backends["cuda"] = {"available": False, "error": str(e)}
    if "array_module" not in backends["cuda"] and not backends["cuda"]["available"]:
        backends["cuda"]["hint"] = "pip install einframe[cuda12] for CUDA devices"
    rep = ef.plugins.report()
    plugins = {
        "distributions": {r.distribution: r.status for r in rep.plugins},
        "registered": {k: len(ef.plugins.names(k)) for k in ef.plugins.KINDS},
        "failed": [r.distribution for r in rep.failed],
    }
    return {
        "einframe": ef.__version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "numpy": np.__version__,
        "backends": backends,
        "blas": _blas_info(),
        "plan_cache": ef.plan_cache.info(),
        "plugins": plugins,
    }


def _blas_info() -> dict[str, Any]:
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
        deps = cfg.get("Build Dependencies", {})
        out = {}
        for key in ("blas", "lapack"):
            d = deps.get(key, {})
            out[key] = {k: d.get(k) for k in ("name", "version") if d.get(k) is not None}
            if d.get("openblas configuration"):
                out[key]["configuration"] = d["openblas configuration"]
        return out
    except Exception as e:  # noqa: BLE001 - older numpy: no dict mode
        return {"error": f"numpy.show_config(mode='dicts') unavailable: {e}"}


def _print_info(data: dict[str, Any]) -> None:
    print(f"einframe {data['einframe']}")
    print(f"python   {data['python']}")
    print(f"numpy    {data['numpy']}")
    print("backends:")
    for name, d in data["backends"].items():
        print(f"  {name}: " + ", ".join(f"{k}={v}" for k, v in d.items()))
    print("blas:")
    for name, d in data["blas"].items():
        print(f"  {name}: " + (", ".join(f"{k}={v}" for k, v in d.items()) if isinstance(d, dict) else str(d)))
    print("plan cache: " + ", ".join(f"{k}={v}" for k, v in data["plan_cache"].items()))
    pl = data["plugins"]
    print("plugins: " + ", ".join(f"{d} ({s})" for d, s in pl["distributions"].items()))
    print("  registered: " + ", ".join(f"{k}={v}" for k, v in pl["registered"].items()))
    if pl["failed"]:
        print("  failed: " + ", ".join(pl["failed"]))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "plugins":
        import einframe as ef

        rep = ef.plugins.report()
        if args.json:
            print(json.dumps(rep.to_dict(), indent=2))
        else:
            print(rep)
        return 0
    if args.command == "info":
        data = info()
        if args.json:
            print(json.dumps(data, indent=2, default=str))
        else:
            _print_info(data)
        return 0
    if args.command == "demo":
        from .demo import run

        return run(args)
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2
