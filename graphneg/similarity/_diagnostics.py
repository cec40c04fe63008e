"""Batch diagnostics: how hard, how label-pure and how graph-connected an epoch's batches are.

B3-style batches can be "much harder in teacher space" and still not help (a failed
replication); these numbers make such a result explainable. All statistics are computed
in O(total batch items + edges), never over all pairs of the dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._ids import check_index_array
from .._sparse import pattern, symmetric
from .._validation import check_embeddings, check_graph, check_int, check_labels, safe_normalize


_PAIR_ROWS = 1 << 16  # batch rows gathered at a time


def batch_stats(
    batches: Sequence[Any],
    *,
    embeddings: Any = None,
    labels: Any = None,
    graph: Any = None,
    num_items: int | None = None,
) -> dict[str, float]:
    """Summarise one epoch of batches.

    Parameters
    ----------
    batches : sequence of int arrays
        One epoch, e.g. from a sampler (``list(sampler)``) or :func:`graphneg.packed_batches`.
        Item ids are non-negative integers; integral floats (``1.0``) are accepted, any other
        float (``0.7``) is an error naming its position, never truncated.
    embeddings : array-like of shape (n_items, dim), default=None
        Gives ``mean_cosine`` (cosine similarity, rows normalised here).
    labels : array-like of shape (n_items,), default=None
        Gives ``same_label_share``.
    graph : sparse array of shape (n_items, n_items), default=None
        Gives ``edge_share``; direction is ignored.
    num_items : int, default=None
        Dataset size for ``coverage``; defaults to the length of the first of
        ``embeddings``/``labels``/``graph`` given, else ``max id + 1``.

    Returns
    -------
    dict
        - ``n_batches``; ``batch_size_mean``, ``batch_size_min``, ``batch_size_max``,
          ``batch_size_std``: size spread;
        - ``coverage``: share of the ``num_items`` items seen at least once;
        - ``duplicates``: item occurrences beyond the first;
        - ``mean_cosine``: mean cosine similarity over all ordered in-batch pairs ``i != j``;
        - ``same_label_share``: share of in-batch pairs whose labels are equal;
        - ``edge_share``: share of in-batch pairs joined by an edge of ``graph``.

        Pair statistics weight every pair equally (large batches weigh more), which is
        what an in-batch-negative loss sees.

    See Also
    --------
    cluster_batches, packed_batches, walk_batches : batches to compare.
    random_batches : the baseline every statistic is read against.

    Examples
    --------
    >>> stats = batch_stats([[0, 1], [2, 3]], labels=[0, 0, 1, 2])
    >>> stats["same_label_share"], stats["coverage"]
    (0.5, 1.0)
    """
    flat, sizes = _flatten(batches)
    n_items = _count_items(flat, num_items, embeddings, labels, graph)
    batch_of = np.repeat(np.arange(sizes.size), sizes)
    n_pairs = float((sizes * (sizes - 1)).sum())  # ordered pairs i != j

    unique = np.unique(flat).size
    stats: dict[str, float] = {
        "n_batches": float(sizes.size),
        "batch_size_mean": float(sizes.mean()),
        "batch_size_min": float(sizes.min()),
        "batch_size_max": float(sizes.max()),
        "batch_size_std": float(sizes.std()),
        "coverage": unique / n_items if n_items else 0.0,
        "duplicates": float(flat.size - unique),
    }
    nan = float("nan")
    if embeddings is not None:
        pair_sum = _cosine_pair_sum(embeddings, flat, batch_of, sizes.size, n_items)
        stats["mean_cosine"] = pair_sum / n_pairs if n_pairs else nan
    if labels is not None:
        lab = check_labels(labels, "labels", n_items=n_items)
        # pairs sharing a label: sum over (batch, label) groups of c * (c - 1)
        _, counts = np.unique(batch_of * (int(lab.max()) + 1) + lab[flat], return_counts=True)
        stats["same_label_share"] = float((counts * (counts - 1)).sum()) / n_pairs if n_pairs else nan
    if graph is not None:
        in_batch = _in_batch_edges(graph, flat, batch_of, sizes.size, n_items)
        stats["edge_share"] = in_batch / n_pairs if n_pairs else nan
    return stats


def _flatten(batches: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """All item ids of the epoch, concatenated, and the size of each batch."""
    arrays = [check_index_array(b, f"batches[{i}]", ndims=None).ravel() for i, b in enumerate(batches)]
    if not arrays:
        raise ValueError("`batches` must contain at least one batch, got none.")
    sizes = np.array([a.size for a in arrays], dtype=np.int64)
    return np.concatenate(arrays), sizes


def _count_items(flat: np.ndarray, num_items: Any, *candidates: Any) -> int:
    """``num_items``, else the length of the first candidate given, else ``max id + 1``."""
    if num_items is not None:
        num_items = check_int(num_items, "num_items", min_value=0)
    for candidate in candidates:
        if num_items is None and candidate is not None:
            num_items = candidate.shape[0] if hasattr(candidate, "shape") else len(candidate)
    if num_items is None:
        num_items = int(flat.max()) + 1 if flat.size else 0
    if flat.size and flat.max() >= num_items:
        raise ValueError(f"`batches` hold item id {int(flat.max())}, but there are only {num_items} items.")
    return int(num_items)


def _cosine_pair_sum(embeddings: Any, flat: np.ndarray, batch_of: np.ndarray, n_batches: int, n_items: int) -> float:
    """Sum over batches and ordered pairs ``i != j`` of the cosine of ``e_i`` and ``e_j``."""
    E = check_embeddings(embeddings, "embeddings", metric="cosine")
    if E.shape[0] != n_items:
        raise ValueError(f"`embeddings` must have {n_items} rows, got {E.shape[0]}.")
    E = safe_normalize(E, "embeddings")  # safe at any magnitude, a new array
    # sum over pairs i != j of <e_i, e_j> = |sum e|^2 - sum |e|^2, per batch; the batch rows are
    # gathered a chunk at a time (in float64 they would be 6x the embeddings at once)
    sums = np.zeros((n_batches, E.shape[1]), dtype=np.float64)
    sq = 0.0
    for lo in range(0, flat.size, _PAIR_ROWS):
        rows = E[flat[lo : lo + _PAIR_ROWS]].astype(np.float64)
        np.add.at(sums, batch_of[lo : lo + _PAIR_ROWS], rows)
        sq += float(np.einsum("ij,ij->", rows, rows))
    return float((sums * sums).sum() - sq)


def _in_batch_edges(graph: Any, flat: np.ndarray, batch_of: np.ndarray, n_batches: int, n_items: int) -> float:
    """Ordered in-batch pairs joined by an edge of ``graph`` in either direction."""
    G = check_graph(graph, "graph")  # a canonical copy: the caller's matrix is untouched
    if G.shape[0] != n_items:
        raise ValueError(f"`graph` must have shape ({n_items}, {n_items}), got {G.shape}.")
    P = symmetric(pattern(G)).astype(np.float32)  # undirected, no diagonal
    # M[b, i] = 1 when item i is in batch b; the in-batch edges of batch b are
    # (M P M^T)[b, b] = sum_i M[b, i] * (P M^T)[i, b]  (ordered pairs, duplicates included)
    M = sp.csr_array((np.ones(flat.size, np.float32), (batch_of, flat)), shape=(n_batches, n_items))
    return float((M @ P).multiply(M).sum())
