"""Multi-process tests: the worker modules must be importable by the spawned processes."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # spawned children inherit sys.path, so they import ddp_* modules too
    sys.path.insert(0, HERE)
