"""``ef.utils``: data loading (``ef.utils.data``) and activation checkpointing (``ef.utils.checkpoint``)."""

from . import checkpoint, data

__all__ = ["data", "checkpoint"]
