"""Numbers about one graph: degrees, hubness, mutual edges, weights, components.

Works on any square sparse graph: a kNN graph (row ``i`` lists ``i``'s neighbours, so the
in-degree of ``j`` is its k-occurrence), a symmetric graph, or a directed citation graph.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .._sparse import canonical_csr, csr_keys, pair_keys, sorted_member
from ._numbers import distribution, skewness

logger = logging.getLogger(__name__)

K_SWEEP = (1, 2, 3, 5, 10, 20, 50)


def graph_summary(graph: Any, *, directed: bool | None = None) -> dict[str, Any]:
    """Degree, hubness, reciprocity, weight and component numbers of a square sparse graph.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes), or LinkGraph
        Row ``i`` holds ``i``'s out-edges. Not modified; the diagonal is ignored.
    directed : bool, default=None
        Whether the graph is directed; None decides from the graph (not symmetric: directed).

    Returns
    -------
    dict
        ``num_nodes``, ``num_edges`` (stored off-diagonal entries), ``directed``,
        ``out_degree`` and ``in_degree`` (distributions, see
        :func:`graphneg.inspection.distribution`), ``isolated_nodes``, ``hubness`` (skewness of
        the in-degree, i.e. the k-occurrence of a kNN graph), ``hub_edge_share`` (share of
        edges pointing into the 1 % of nodes with the highest in-degree; 0.01 without hubs),
        ``mutual_edge_share`` (share of edges whose reverse is also an edge: the reciprocity
        of a directed graph, 1.0 for a symmetric one), ``edge_weight`` (distribution of the
        stored values) and ``components`` (``count``, ``largest_share``, ``sizes``).

    Examples
    --------
    >>> A = sp.csr_array(np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=np.float32))
    >>> s = graph_summary(A)
    >>> s["num_edges"], s["directed"], s["mutual_edge_share"], s["components"]["count"]
    (3, True, 0.6666666666666666, 1)
    """
    A = _off_diagonal(getattr(graph, "adjacency", graph))
    n = A.shape[0]
    out_deg = np.diff(A.indptr)
    in_deg = np.bincount(A.indices, minlength=n)
    mutual = _mutual_share(A)
    if directed is None:
        directed = mutual < 1.0
    top = max(1, int(np.ceil(0.01 * n)))
    hub_edges = float(np.sort(in_deg)[::-1][:top].sum()) / A.nnz if A.nnz else 0.0
    return {
        "num_nodes": int(n),
        "num_edges": int(A.nnz),
        "directed": bool(directed),
        "out_degree": distribution(out_deg, integer=True),
        "in_degree": distribution(in_deg, integer=True),
        "isolated_nodes": int(((out_deg == 0) & (in_deg == 0)).sum()),
        "hubness": skewness(in_deg),
        "hub_edge_share": hub_edges,
        "mutual_edge_share": mutual,
        "edge_weight": distribution(A.data),
        "components": component_summary(A),
    }


def _off_diagonal(graph: Any) -> sp.csr_array:
    if not sp.issparse(graph) or graph.ndim != 2 or graph.shape[0] != graph.shape[1]:
        raise TypeError(f"`graph` must be a square scipy sparse matrix or a LinkGraph, got {type(graph).__name__}.")
    A = canonical_csr(graph)  # a copy: the caller's index arrays stay untouched
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    keep = rows != A.indices
    if keep.all():
        return A
    return sp.csr_array((A.data[keep], (rows[keep], A.indices[keep])), shape=A.shape)


def _mutual_share(A: sp.csr_array) -> float:
    """Share of stored edges ``i -> j`` whose reverse ``j -> i`` is stored too."""
    if A.nnz == 0:
        return 1.0
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    reverse = pair_keys(A.indices, rows, A.shape[1])
    return float(sorted_member(csr_keys(A), reverse).mean())


def component_summary(graph: Any) -> dict[str, Any]:
    """Weakly connected components: their count, the largest one's share and the sizes.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        Direction is ignored. Not modified.

    Returns
    -------
    dict
        ``count``, ``largest_share`` (of the nodes), ``singletons`` and ``sizes`` (a distribution).

    Examples
    --------
    >>> A = sp.csr_array(np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]], dtype=np.float32))
    >>> c = component_summary(A)
    >>> c["count"], c["singletons"]
    (2, 1)
    """
    count, labels = connected_components(sp.csr_array(graph), directed=True, connection="weak")
    sizes = np.bincount(labels, minlength=count)
    n = max(int(sizes.sum()), 1)
    return {
        "count": int(count),
        "largest_share": float(sizes.max(initial=0)) / n,
        "singletons": int((sizes == 1).sum()),
        "sizes": distribution(sizes, integer=True),
    }


def components_by_k(neighbours: np.ndarray, ks: Sequence[int] = K_SWEEP, *, mutual: bool = False) -> dict[str, Any]:
    """Connected components of the kNN graph as ``k`` varies, from one neighbour search.

    Parameters
    ----------
    neighbours : int array of shape (n_items, k_max)
        Each row's neighbours by decreasing similarity, e.g. from :func:`graphneg.knn_search`.
    ks : sequence of int, default=(1, 2, 3, 5, 10, 20, 50)
        The ``k`` values; those above ``k_max`` are left out.
    mutual : bool, default=False
        Count components of the mutual kNN graph (edges found in both directions), as
        ``knn_graph(..., mutual=True)`` builds.

    Returns
    -------
    dict
        ``k`` (list), ``count`` (components per k), ``largest_share`` (per k).

    Examples
    --------
    >>> nb = np.array([[1, 2], [0, 2], [3, 0], [2, 1]])
    >>> components_by_k(nb, [1, 2])["count"]
    [2, 1]
    """
    n, k_max = neighbours.shape
    out: dict[str, Any] = {"k": [], "count": [], "largest_share": [], "mutual": bool(mutual)}
    for k in (k for k in ks if k <= k_max):
        cols = neighbours[:, :k].ravel()
        A = sp.csr_array((np.ones(cols.size, np.float32), (np.repeat(np.arange(n), k), cols)), shape=(n, n))
        if mutual:
            A = A.multiply(A.T).tocsr()
        c = component_summary(A)
        out["k"].append(int(k))
        out["count"].append(c["count"])
        out["largest_share"].append(c["largest_share"])
    logger.info("components by k: %s", dict(zip(out["k"], out["count"], strict=True)))
    return out
