"""Numbers about a partition of a graph: sizes, modularity, edge cut, similarity inside and
across communities, and how many communities a batch spans (against random batches)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._random import SeedLike
from .._sparse import symmetric
from .._validation import check_labels, safe_normalize
from ._numbers import distribution

logger = logging.getLogger(__name__)


def community_summary(
    graph: Any,
    labels: Any,
    *,
    embeddings: Any = None,
    num_pairs: int = 20000,
    seed: SeedLike = 0,
) -> dict[str, Any]:
    """Sizes, modularity, edge cut and within- vs cross-community similarity of a partition.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes), or None
        The graph the communities were found in (direction ignored, weights used). Not modified.
    labels : array-like of shape (n_nodes,)
        Community of each node.
    embeddings : array-like of shape (n_nodes, dim), default=None
        Gives ``within_similarity`` and ``cross_similarity``: cosine of random pairs in the
        same / in different communities.
    num_pairs : int, default=20000
        Sampled pairs per similarity distribution.
    seed : int or numpy.random.Generator, default=0
        Pair sampling.

    Returns
    -------
    dict
        ``num_communities``, ``sizes`` (distribution), ``largest_share``, ``singletons``;
        with a graph ``modularity`` (weighted, resolution 1), ``edge_cut`` (share of
        undirected edges joining two communities) and ``edge_cut_weight`` (their share of the
        weight); with embeddings ``within_similarity`` and ``cross_similarity`` (distributions).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[0, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0.]]))
    >>> s = community_summary(A, [0, 0, 1, 1])
    >>> s["num_communities"], round(s["edge_cut"], 3), round(s["modularity"], 3)
    (2, 0.333, 0.167)
    """
    lab = _dense_labels(labels)
    sizes = np.bincount(lab)
    out: dict[str, Any] = {
        "num_communities": int(sizes.size),
        "sizes": distribution(sizes, integer=True),
        "largest_share": float(sizes.max()) / lab.size,
        "singletons": int((sizes == 1).sum()),
    }
    if graph is not None:
        out.update(_cut_and_modularity(getattr(graph, "adjacency", graph), lab))
    if embeddings is not None:
        within, cross = _pair_similarities(embeddings, lab, num_pairs, seed)
        out["within_similarity"] = distribution(within, value_range=(-1.0, 1.0), bins=40)
        out["cross_similarity"] = distribution(cross, value_range=(-1.0, 1.0), bins=40)
    return out


def _dense_labels(labels: Any) -> np.ndarray:
    """Labels as 0..C-1 (a new array)."""
    _, dense = np.unique(check_labels(labels, "labels"), return_inverse=True)
    return dense.ravel().astype(np.int64)


def _cut_and_modularity(graph: Any, lab: np.ndarray) -> dict[str, float]:
    from ..similarity._igraph_convert import to_igraph

    S = symmetric(graph, "union")  # undirected, larger weight per pair, a new array
    if S.shape[0] != lab.size:
        raise ValueError(f"`labels` must have one entry per node ({S.shape[0]}), got {lab.size}.")
    rows = np.repeat(np.arange(S.shape[0]), np.diff(S.indptr))
    cut = lab[rows] != lab[S.indices]
    weights = np.abs(S.data.astype(np.float64))
    g = to_igraph(S, weighted=True)
    modularity = g.modularity(lab.tolist(), weights="weight") if g.ecount() else float("nan")
    return {
        "modularity": float(modularity),
        "edge_cut": float(cut.mean()) if cut.size else 0.0,
        "edge_cut_weight": float(weights[cut].sum() / weights.sum()) if weights.sum() > 0 else 0.0,
    }


def _pair_similarities(embeddings: Any, lab: np.ndarray, num_pairs: int, seed: SeedLike) -> tuple[Any, Any]:
    """Cosine of ``num_pairs`` random same-community pairs and of as many cross pairs."""
    from .._random import check_rng

    E = safe_normalize(embeddings, "embeddings")  # a new, unit-norm array
    if E.shape[0] != lab.size:
        raise ValueError(f"`embeddings` must have {lab.size} rows (one per labelled item), got {E.shape[0]}.")
    rng = check_rng(seed)
    order = np.argsort(lab, kind="stable")
    start = np.concatenate([[0], np.cumsum(np.bincount(lab))])
    size = np.diff(start)
    eligible = np.flatnonzero(size[lab] >= 2)  # items with a partner in their community
    within = np.empty(0)
    if eligible.size:
        a = rng.choice(eligible, num_pairs)
        c = lab[a]
        b = order[start[c] + rng.integers(0, size[c])]
        keep = a != b
        within = np.einsum("ij,ij->i", E[a[keep]], E[b[keep]])
    a, b = rng.integers(0, lab.size, num_pairs), rng.integers(0, lab.size, num_pairs)
    keep = lab[a] != lab[b]
    cross = np.einsum("ij,ij->i", E[a[keep]], E[b[keep]])
    return within, cross


def communities_per_batch(batches: Sequence[Any], labels: Any) -> np.ndarray:
    """How many distinct communities each batch holds.

    Parameters
    ----------
    batches : sequence of int arrays
        Item ids per batch.
    labels : array-like of shape (n_items,)
        Community per item.

    Returns
    -------
    ndarray of int64, one entry per batch

    Examples
    --------
    >>> communities_per_batch([[0, 1], [2, 3]], [5, 5, 5, 7]).tolist()
    [1, 2]
    """
    lab = _dense_labels(labels)
    return np.array([np.unique(lab[np.asarray(b, dtype=np.int64)]).size for b in batches], dtype=np.int64)
