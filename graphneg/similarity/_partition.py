"""What every community algorithm shares: input checks, renumbering and size control.

An algorithm is a function ``labels_of(G, weighted, rng, max_cluster_size, cluster_size)`` that
returns a membership array; :func:`_partition` checks the inputs once, runs it, renumbers the
ids ``0..c-1`` by first appearance (so results compare easily), then applies the size control
that every algorithm offers: communities over ``max_cluster_size`` are split along their own
sub-structure, and ``cluster_size`` makes every cluster exactly that size (:func:`exact_size`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from .._random import SeedLike, check_rng, derive_seed
from .._validation import check_bool, check_graph, check_int, check_labels
from ._igraph_convert import _igraph_of, _leidenalg, _undirected

# (graph, weighted, rng, max_cluster_size, cluster_size) -> membership of every node
LabelsOf = Callable[[sp.csr_array, bool, np.random.Generator, int | None, int | None], np.ndarray]


def relabel(labels: Any) -> np.ndarray:
    """Renumber community ids to ``0..c-1`` in order of first appearance.

    Parameters
    ----------
    labels : array-like of shape (n_items,)
        Any hashable, sortable ids (not modified).

    Returns
    -------
    ndarray of shape (n_items,), int64

    See Also
    --------
    communities : Returns its labels renumbered this way.

    Examples
    --------
    >>> relabel([5, 5, 2, 7, 2]).tolist()
    [0, 0, 1, 2, 1]
    """
    labels = np.asarray(labels)
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.ravel()]


def _partition(
    graph: Any, labels_of: LabelsOf, *, max_cluster_size: int | None, cluster_size: int | None, weighted: bool,
    seed: SeedLike,
) -> np.ndarray:
    """Check the shared inputs, run ``labels_of``, renumber, then apply the size control.

    The seed's generator is drawn from in a fixed order (the algorithm, the split of
    oversized communities, the exact-size repair), so one seed gives one partition.
    """
    G = check_graph(graph, "graph")
    weighted = check_bool(weighted, "weighted")
    if max_cluster_size is not None:
        max_cluster_size = check_int(max_cluster_size, "max_cluster_size")
    if cluster_size is not None:
        cluster_size = check_int(cluster_size, "cluster_size", max_value=G.shape[0])
    rng = check_rng(seed)
    _check_weights(G, weighted)
    labels = relabel(labels_of(G, weighted, rng, max_cluster_size, cluster_size))
    if max_cluster_size is not None:
        # leidenalg's max_comm_size steers its moves but results can still exceed it
        # (seen with leidenalg 0.12), so every algorithm gets the same final guarantee
        labels = _split_oversized(G, labels, max_cluster_size, derive_seed(rng), weighted=weighted)
    if cluster_size is not None:
        labels = exact_size(G, labels, cluster_size, seed=rng)
    return labels


def _check_weights(G: sp.csr_array, weighted: bool) -> None:
    if weighted and G.nnz and G.data.min() <= 0:
        bad = int((G.data <= 0).sum())
        raise ValueError(
            f"`graph` has {bad} non-positive edge weight(s); community quality needs positive weights. "
            "Pass weighted=False (CLI: --unweighted), or build the graph with positive similarities."
        )


def _bfs_order(S: sp.csr_array, members: np.ndarray) -> np.ndarray:
    """Members of one community in breadth-first order of their induced subgraph."""
    sub = S[members][:, members]
    order = csgraph.breadth_first_order(sub, 0, directed=False, return_predecessors=False)
    seen = np.zeros(members.size, dtype=bool)
    seen[order] = True
    parts = [order]
    while not seen.all():  # disconnected pieces follow one another
        start = int(np.flatnonzero(~seen)[0])
        more = csgraph.breadth_first_order(sub, start, directed=False, return_predecessors=False)
        seen[more] = True
        parts.append(more)
    return members[np.concatenate(parts)]


def _split_oversized(
    G: sp.csr_array, labels: np.ndarray, max_size: int, seed: int = 0, *, weighted: bool = True
) -> np.ndarray:
    """Split every community larger than ``max_size`` into cohesive pieces.

    Each oversized community is re-partitioned on its own induced subgraph with Leiden
    (modularity, resolution doubling from 1 until it splits), recursively, so pieces follow
    the graph's own sub-structure. Only a subgraph Leiden cannot split (e.g. a clique) is cut
    along a breadth-first order.
    """
    sizes = np.bincount(labels)
    if sizes.max(initial=0) <= max_size:
        return labels
    import leidenalg as la

    S = _undirected(G)
    labels = labels.copy()
    next_id = sizes.size
    rng = np.random.default_rng(seed)
    queue = [np.flatnonzero(labels == c) for c in np.flatnonzero(sizes > max_size)]
    while queue:
        members = queue.pop()
        sub = S[members][:, members]
        parts = None
        if sub.nnz:
            use_weights = weighted and sub.data.min() > 0
            g = _igraph_of(sub, use_weights)  # sub of a symmetric graph: symmetric
            for resolution in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
                part = _leidenalg(
                    la, g, la.RBConfigurationVertexPartition, weights="weight" if use_weights else None,
                    resolution_parameter=resolution, seed=derive_seed(rng),
                )
                membership = np.asarray(part.membership)
                if membership.max() > 0:
                    if members.size / (membership.max() + 1) >= max_size / 4:
                        parts = [members[membership == p] for p in range(membership.max() + 1)]
                    # else: shattered into crumbs (dense subgraph): cut contiguous pieces below
                    break
        if parts is None:  # no structure to follow: contiguous breadth-first pieces
            ordered = _bfs_order(S, members)
            parts = [ordered[i : i + max_size] for i in range(0, ordered.size, max_size)]
        for j, piece in enumerate(parts):
            if j:  # the first piece keeps the old id
                labels[piece] = next_id
                next_id += 1
            if piece.size > max_size:
                queue.append(piece)
    return relabel(labels)


def exact_size(graph: Any, labels: Any, cluster_size: int, *, seed: SeedLike = 0) -> np.ndarray:
    """Turn any partition into clusters of exactly ``cluster_size`` members.

    B3 needs clusters of a fixed size ``K`` so that a batch is ``B / K`` whole clusters.
    Unlike B3's own repair (which pads the last cluster with ids ``0..K-1``, duplicating
    examples), every node ends in exactly one cluster:

    1. A community of ``s >= K`` members evicts its ``s mod K`` members with the fewest
       intra-community edges to a pool; the rest is laid out in a locality-preserving order
       (recursive Leiden on its subgraph: sub-communities stay contiguous) and cut into
       ``floor(s / K)`` clusters.
    2. The pool (evicted members and all communities smaller than ``K``) is laid out the
       same way on its own subgraph, so connected small communities end up adjacent, and
       cut into clusters of ``K``.
    3. The ``n_nodes mod K`` nodes left at the end form one final, shorter cluster.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        The graph the partition came from (edges guide the repair; weights are ignored).
        Not modified.
    labels : array-like of shape (n_nodes,)
        Any partition.
    cluster_size : int
        Cluster size ``K``.
    seed : int or Generator, default=0
        Seeds the sub-partitions and breaks ties.

    Returns
    -------
    ndarray of shape (n_nodes,), int64
        ``n_nodes // K`` clusters of exactly ``K`` nodes, plus one of ``n_nodes % K`` nodes
        when that is not zero (it has the largest id).

    See Also
    --------
    communities : Takes ``cluster_size=K`` and applies this repair to its partition.
    graphneg.cluster_batches : Packs clusters of exactly ``K`` into batches (B3).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> G = sp.csr_array((6, 6), dtype=np.float32)
    >>> np.bincount(exact_size(G, [0, 0, 0, 0, 1, 2], 2)).tolist()
    [2, 2, 2]
    """
    G = check_graph(graph, "graph")
    n = G.shape[0]
    labels = relabel(check_labels(labels, "labels", n_items=n))
    size = check_int(cluster_size, "cluster_size", max_value=n)
    rng = check_rng(seed)
    S = _undirected(G)
    # pattern weights: the repair counts edges, as B3's METIS graph is unweighted
    A = sp.csr_array((np.ones(S.nnz, np.float32), S.indices, S.indptr), shape=S.shape)
    intra = _intra_degree(A, labels)
    sizes = np.bincount(labels)

    out = np.full(n, -1, dtype=np.int64)
    next_id = 0
    pool = [np.flatnonzero(sizes[labels] < size)]
    by_community = np.split(np.argsort(labels, kind="stable"), np.cumsum(sizes)[:-1])
    for c in np.lexsort((rng.random(sizes.size), -sizes)):  # big first, random tie-break
        members = by_community[c]
        if members.size < size:
            continue
        keep_n = members.size - members.size % size
        by_degree = members[np.argsort(-intra[members], kind="stable")]
        pool.append(by_degree[keep_n:])  # the least-embedded members leave
        order = _local_order(A, np.sort(by_degree[:keep_n]), size, rng)
        out[order] = next_id + np.arange(keep_n) // size
        next_id += keep_n // size
    rest = np.sort(np.concatenate(pool))
    if rest.size:
        order = _local_order(A, rest, size, rng)
        out[order] = next_id + np.arange(rest.size) // size
    if (out < 0).any() or np.bincount(out)[: n // size].min(initial=size) != size:
        raise AssertionError("exact_size repair produced clusters of the wrong size")
    return out


def _local_order(A: sp.csr_array, members: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Order ``members`` so that graph neighbourhoods are contiguous (recursive Leiden).

    A set no larger than ``size`` is returned as is; a larger one is split into its
    sub-communities (resolution doubling until it splits) and each is ordered recursively,
    largest first; a set Leiden cannot split follows a breadth-first order.
    """
    import leidenalg as la

    out: list[np.ndarray] = []
    stack = [members]
    while stack:
        m = stack.pop()
        if m.size <= size:
            out.append(m)
            continue
        sub = A[m][:, m]
        parts = None
        if sub.nnz:
            g = _igraph_of(sub, False)
            for resolution in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0):
                membership = np.asarray(
                    _leidenalg(
                        la, g, la.RBConfigurationVertexPartition,
                        resolution_parameter=resolution, seed=derive_seed(rng),
                    ).membership
                )
                if membership.max() > 0:
                    counts = np.bincount(membership)
                    parts = [m[membership == p] for p in np.argsort(-counts, kind="stable")]
                    break
        if parts is None:
            out.append(_bfs_order(A, m))
            continue
        stack.extend(reversed(parts))  # pop() then visits the largest part first
    return np.concatenate(out) if out else members


def _intra_degree(A: sp.csr_array, labels: np.ndarray) -> np.ndarray:
    """Number of each node's neighbours that share its community."""
    row = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    same = labels[row] == labels[A.indices]
    return np.bincount(row[same], minlength=A.shape[0])
