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
    """An optional dependency needed for the requested backend is missing.

    The message names the extra to install (``pip install 'graphneg[faiss]'``, ...).

    See Also
    --------
    graphneg.HNSW, graphneg.NNDescent : search indexes whose packages (faiss, pynndescent) are extras.
    graphneg.read_sentence_transformers_jsonl : ``as_dataset=True`` needs ``datasets`` (extra ``st``).
    """


class GraphNegWarning(UserWarning):
    """A result was degraded (items skipped, negatives short); the message gives counts.

    See Also
    --------
    graphneg.mine_hard_negatives : warns when queries get fewer negatives than asked.
    graphneg.read_edge_list : warns when lines or edges were skipped.
    graphneg.conflict_free_batches : warns when conflicts are left in place.
    """
