"""The ``graphneg`` command line: ``batches``, ``stats`` and ``citations``."""

from __future__ import annotations

from ._main import build_parser, format_table, main, read_batches

__all__ = ["main", "build_parser", "format_table", "read_batches"]
