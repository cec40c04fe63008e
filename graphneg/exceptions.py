"""Exceptions and warnings raised by graphneg.

Hierarchy (each refines a builtin, so ``except ValueError`` still works)::

    ImportError
     └── BackendUnavailableError   an optional extra is not installed
    ValueError
     └── InfeasibleSamplingError   the request cannot be met by the data
    UserWarning
     └── GraphNegWarning           a degraded but valid result (counts in the message)
"""

from __future__ import annotations

__all__ = ["BackendUnavailableError", "InfeasibleSamplingError", "GraphNegWarning"]


class BackendUnavailableError(ImportError):
    """An optional dependency needed for the requested backend is missing."""


class InfeasibleSamplingError(ValueError):
    """The data cannot satisfy the request (e.g. fewer items than a batch)."""


class GraphNegWarning(UserWarning):
    """A result was degraded (items skipped, negatives short); the message gives counts."""
