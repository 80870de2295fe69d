"""``ef.utils``: data loading (``ef.utils.data``)."""

from . import data

__all__ = ["data"]
