"""Inspect before you train: numbers, plots and a report about a graph, its communities, a
batch file or mined negatives (``graphneg inspect``).

:func:`inspect` returns a JSON-ready summary dict (its options per section: :class:`GraphOptions`,
:class:`BatchOptions`); :func:`write_report` turns it into
``summary.json``, PNG plots and a self-contained ``report.html``. Graph files (written and
read by :mod:`graphneg.io`: ``save_graph``, ``load_graph``, ``cached_graph``) are one of the
inputs it reads.
"""

from __future__ import annotations

from ._inspect import detect_kind, inspect
from ._numbers import distribution
from ._options import BatchOptions, GraphOptions
from ._report import format_summary, write_report

__all__ = [
    # re-exported by `graphneg` itself
    "inspect",
    # here only
    "GraphOptions",
    "BatchOptions",
    "detect_kind",
    "distribution",
    "write_report",
    "format_summary",
]
