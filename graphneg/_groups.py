"""Items grouped by label, built once and reused by every epoch of batches.

:class:`Groups` is what the batch planners of :mod:`graphneg.similarity` work on. Building
it sorts the labels (``O(n)`` radix passes); the samplers build it once per labelling and
pass it as ``labels`` so that each epoch costs ``O(n)`` without re-grouping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_labels

__all__ = ["Groups", "stable_argsort"]


def stable_argsort(keys: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative int keys by 16-bit radix passes (O(n) per pass).

    >>> stable_argsort(np.array([2, 0, 2, 1])).tolist()
    [1, 3, 0, 2]
    """
    top = int(keys.max(initial=0))
    if top < 2**16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if top >= 2**32:
        return np.argsort(keys, kind="stable")
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]


@dataclass(frozen=True, eq=False)
class Groups:
    """Items grouped by label: ``members[starts[g]:starts[g + 1]]`` are the items of ``g``.

    Build it with :meth:`of`. All arrays are private read-only copies, so a ``Groups`` stays
    valid whatever the caller later does to the labels it was built from.

    Attributes
    ----------
    labels : ndarray of int64, shape (n_items,)
        The validated label of each item (as :func:`graphneg._validation.check_labels`
        returns it).
    members : ndarray of int64, shape (n_items,)
        Items sorted by label, stably (ties keep item order).
    starts : ndarray of int64, shape (n_groups + 1,)
        ``members[starts[g]:starts[g + 1]]`` are the items labelled ``g``.
    high : ndarray of uint64, shape (n_items,)
        Each member's group id in the upper 32 bits, ready to be combined with random low
        bits when shuffling within groups.

    Examples
    --------
    >>> g = Groups.of([1, 0, 1, 2])
    >>> g.members.tolist(), g.starts.tolist(), g.sizes.tolist()
    ([1, 0, 2, 3], [0, 1, 3, 4], [1, 2, 1])
    """

    labels: np.ndarray
    members: np.ndarray
    starts: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, labels: Any, name: str = "labels") -> Groups:
        """Group ``labels`` (validated as by ``check_labels``; ``name`` appears in errors).

        >>> Groups.of(np.array([3, 3, 0])).sizes.tolist()
        [1, 0, 0, 2]
        """
        if isinstance(labels, Groups):
            return labels
        labels = np.array(check_labels(labels, name), dtype=np.int64, copy=True)
        starts = np.zeros(int(labels.max(initial=-1)) + 2, dtype=np.int64)
        np.cumsum(np.bincount(labels), out=starts[1:])
        members = stable_argsort(labels)
        high = labels[members].astype(np.uint64) << np.uint64(32)
        for arr in (labels, members, starts, high):
            arr.flags.writeable = False
        return cls(labels, members, starts, high)

    @property
    def sizes(self) -> np.ndarray:
        """Members per group id (0 for an unused id)."""
        return np.diff(self.starts)

    def __len__(self) -> int:
        return int(self.labels.size)
