"""``python -m einframe``: see :mod:`einframe.cli`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
