"""The ``graphneg`` command line: ``batches``, ``stats`` and ``citations``."""

from __future__ import annotations

from ._batches_io import read_batches
from ._main import build_parser, main
from ._stats import format_table

__all__ = ["main", "build_parser", "format_table", "read_batches"]
