"""Exceptions and warnings raised by graphneg.

Hierarchy (each refines a builtin, so ``except ValueError`` still works)::

    ImportError
     └── BackendUnavailableError   an optional extra is not installed
    ValueError
     └── InfeasibleSamplingError   no longer raised; kept so old ``except`` clauses import
    UserWarning
     └── GraphNegWarning           a degraded but valid result (counts in the message)
"""

from __future__ import annotations

__all__ = ["BackendUnavailableError", "InfeasibleSamplingError", "GraphNegWarning"]


class BackendUnavailableError(ImportError):
    """An optional dependency needed for the requested backend is missing."""


class InfeasibleSamplingError(ValueError):
    """No longer raised by graphneg; kept for compatibility (``except`` clauses still import).

    A request the data cannot fully meet is not an error any more: ``link_split`` and
    ``link_negatives`` share one shortage policy, they take every remaining candidate, pad
    the missing negatives with ``-1`` and emit one :class:`GraphNegWarning` counting the
    short rows. Invalid arguments raise a plain ``ValueError``.
    """


class GraphNegWarning(UserWarning):
    """A result was degraded (items skipped, negatives short); the message gives counts."""
