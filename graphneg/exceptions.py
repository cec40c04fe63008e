"""Exceptions and warnings raised by graphneg.

Hierarchy (each refines a builtin, so ``except ImportError`` still works)::

    ImportError
     └── BackendUnavailableError   an optional extra is not installed
    UserWarning
     └── GraphNegWarning           a degraded but valid result (counts in the message)
"""

from __future__ import annotations

__all__ = ["BackendUnavailableError", "GraphNegWarning"]


class BackendUnavailableError(ImportError):
    """An optional dependency needed for the requested backend is missing."""


class GraphNegWarning(UserWarning):
    """A result was degraded (items skipped, negatives short); the message gives counts."""
