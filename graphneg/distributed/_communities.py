r"""Communities beyond one machine: a coarse partition across ranks, Leiden inside each part.

Level 1: spherical k-means (:func:`coarse_parts`) cuts the sharded embeddings into small
micro-clusters, the centroids all-reduced after every Lloyd step, so each rank reads only its
own rows; every rank sums the graph's edge weight between micro-clusters, and Leiden on that
small graph groups micro-clusters (a cluster that k-means cut is whole again), packed into
``num_parts`` balanced parts. Level 2 (:func:`communities`): part :math:`p` is owned by rank
:math:`p \bmod R`; every rank sends it the edges (from its CSR row shard) whose two ends lie in
part :math:`p`, the owner runs single-process :func:`graphneg.communities` on that subgraph,
and the labels are merged on every rank. Edges between parts are cut: the modularity lost is
the price (see docs/distributed.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_embeddings, check_int, safe_normalize
from ..similarity._communities import communities as _single_communities
from ..similarity._communities import default_at_resolution
from ..similarity._leiden import check_resolution
from ..similarity._partition import relabel
from ._group import _dist, agree, all_sizes, world

__all__ = ["coarse_parts", "communities"]


def _all_sum(a: np.ndarray, group: Any) -> np.ndarray:
    dist = _dist(group)
    if dist is None:
        return a
    import torch

    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))
    dist.all_reduce(t, group=group)
    return t.numpy()


def _seed_centroids(X: np.ndarray, num_parts: int, n_total: int, offset: int, seed: int, group: Any) -> np.ndarray:
    """``num_parts`` distinct rows drawn (seeded, the same on every rank) as the first centroids."""
    rows = np.sort(np.random.default_rng(seed).choice(n_total, num_parts, replace=False))
    mine = (rows >= offset) & (rows < offset + X.shape[0])
    C = np.zeros((num_parts, X.shape[1]), dtype=np.float64)
    C[mine] = X[rows[mine] - offset]
    return _all_sum(C, group)  # each row is held by exactly one rank


def coarse_parts(
    X_shard: Any, num_parts: int, *, num_iterations: int = 10, seed: int = 0, group: Any = None
) -> np.ndarray:
    r"""Spherical k-means parts of sharded embeddings (centroids all-reduced over the ranks).

    Each Lloyd step assigns a row to the centroid of largest cosine, then every rank sums its
    rows per part; an all-reduce gives :math:`c_p = \sum_{i \in p} x_i / \lVert \cdot \rVert`
    on every rank. An empty part keeps its centroid.

    Parameters
    ----------
    X_shard : array-like of shape (n_r, dim)
        This rank's rows.
    num_parts : int
        Number of parts (at most the number of rows over all ranks).
    num_iterations : int, default=10
        Lloyd steps.
    seed : int, default=0
        Seed of the initial centroids (distinct rows); every rank must pass the same.
    group : torch.distributed.ProcessGroup, default=None

    Returns
    -------
    ndarray of shape (n_r,), int64
        The part of each of this rank's rows.

    See Also
    --------
    communities : Uses these parts as level 1 of the two-level communities.

    Examples
    --------
    >>> X = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.1, 0.8]])
    >>> parts = coarse_parts(X, 2)  # a world of one
    >>> bool(parts[0] == parts[1] != parts[2] == parts[3])
    True
    """
    X = agree(lambda: safe_normalize(check_embeddings(X_shard, "X_shard", min_rows=0), "X_shard"), group)
    sizes = all_sizes(X.shape[0], group)
    num_parts = check_int(num_parts, "num_parts", max_value=int(sizes.sum()))
    offset = int(sizes[: world(group)[0]].sum())
    C = _seed_centroids(X, num_parts, int(sizes.sum()), offset, check_int(seed, "seed", min_value=0), group)
    parts = np.zeros(X.shape[0], dtype=np.int64)
    for _ in range(check_int(num_iterations, "num_iterations", min_value=0) + 1):
        parts = np.argmax(X @ C.T.astype(np.float32), axis=1) if X.shape[0] else parts
        sums = np.zeros_like(C)
        np.add.at(sums, parts, X.astype(np.float64))
        sums = _all_sum(sums, group)
        norms = np.linalg.norm(sums, axis=1)
        C = np.where(norms[:, None] > 0, sums / np.where(norms > 0, norms, 1.0)[:, None], C)
    return parts


def _part_edges(graph: sp.csr_array, offset: int, part_of: np.ndarray) -> tuple[np.ndarray, ...]:
    """Global ``(row, col, weight, part)`` of the row shard's edges inside one part."""
    G = graph.tocoo()
    rows, cols = G.row.astype(np.int64) + offset, G.col.astype(np.int64)
    inside = part_of[rows] == part_of[cols]
    return rows[inside], cols[inside], G.data[inside], part_of[rows[inside]]


def _send_to_owners(edges: tuple[np.ndarray, ...], num_parts: int, group: Any) -> tuple[np.ndarray, ...]:
    """Every rank's edges of the parts this rank owns (part ``p`` is owned by rank ``p % R``)."""
    rank, size = world(group)
    dist = _dist(group)
    if dist is None:
        return edges
    mine: tuple[np.ndarray, ...] = ()
    for dst in range(size):
        keep = edges[3] % size == dst
        out: list[Any] | None = [None] * size if rank == dst else None
        dist.gather_object(tuple(e[keep] for e in edges), out, dst=_global(dist, group, dst), group=group)
        if rank == dst:
            assert out is not None
            mine = tuple(np.concatenate([o[i] for o in out]) for i in range(4))
    return mine


def _global(dist: Any, group: Any, rank: int) -> int:
    return dist.get_global_rank(group, rank) if group is not None else rank


def _all_gather(obj: Any, group: Any) -> list[Any]:
    dist = _dist(group)
    if dist is None:
        return [obj]
    out: list[Any] = [None] * dist.get_world_size(group)
    dist.all_gather_object(out, obj, group=group)
    return out


def _micro_graph(graph: sp.csr_array, offset: int, micro_of: np.ndarray, num_micro: int, group: Any) -> sp.csr_array:
    """Edge weight between k-means micro-clusters, summed over every rank's row shard."""
    G = graph.tocoo()
    mi, mj = micro_of[G.row.astype(np.int64) + offset], micro_of[G.col.astype(np.int64)]
    keep = mi != mj
    W = sp.csr_array((G.data[keep].astype(np.float64), (mi[keep], mj[keep])), shape=(num_micro, num_micro))
    shares = _all_gather(W, group)  # rank order: every rank sums alike
    for other in shares[1:]:
        shares[0] = shares[0] + other
    return sp.csr_array(shares[0])


def _pack_parts(micro_graph: sp.csr_array, micro_sizes: np.ndarray, num_parts: int, seed: int) -> np.ndarray:
    """The part of each micro-cluster: Leiden communities of the micro-cluster graph (so that a
    cluster cut by k-means is whole again), packed largest first into the lightest part."""
    W = micro_graph.copy()
    W.data = np.maximum(W.data, 0)
    W.eliminate_zeros()
    groups = _single_communities(W, seed=seed) if W.nnz else np.arange(micro_sizes.size)
    weight = np.bincount(groups, weights=micro_sizes)
    part_of_group, load = np.empty(weight.size, dtype=np.int64), np.zeros(num_parts)
    for g in np.argsort(-weight, kind="stable"):
        part_of_group[g] = int(np.argmin(load))
        load[part_of_group[g]] += weight[g]
    return part_of_group[groups]


def _part_communities(nodes: np.ndarray, edges: tuple[np.ndarray, ...], resolution: float, seed: int,
                      options: dict[str, Any]) -> np.ndarray:
    """Single-process communities of one part's subgraph (nodes: sorted global ids)."""
    rows, cols, weights = edges
    sub = sp.csr_array((weights, (np.searchsorted(nodes, rows), np.searchsorted(nodes, cols))),
                       shape=(nodes.size, nodes.size))
    if not nodes.size:
        return np.zeros(0, np.int64)
    return default_at_resolution(sub, resolution, seed=seed, **options)


def _part_resolution(resolution: float, part_weight: float, total_weight: float) -> float:
    r"""The modularity resolution of one part, scaled to the whole graph.

    Modularity :math:`\sum_{ij} (A_{ij} - \gamma k_i k_j / 2m)` over a part's subgraph
    (:math:`m_p` edges) is the whole graph's objective restricted to the part when
    :math:`\gamma_p = \gamma\, m_p / m`; without it every part would be split finer than
    single-machine Leiden splits it.
    """
    if total_weight <= 0:
        return resolution
    return resolution * max(part_weight, 1e-12) / total_weight


def communities(
    X_shard: Any,
    graph_shard: Any,
    *,
    num_parts: int | None = None,
    resolution: float = 1.0,
    max_cluster_size: int | None = None,
    weighted: bool = True,
    kmeans_iterations: int = 10,
    seed: int = 0,
    group: Any = None,
) -> np.ndarray:
    r"""Two-level communities of a graph and embeddings sharded by rows over a process group.

    Level 1: :func:`coarse_parts` cuts the items into micro-clusters (k-means on the
    embeddings, centroids all-reduced; :math:`\min(N, \max(8P, \min(N/100, 1024)))` of them);
    Leiden on the graph of edge weight between micro-clusters groups them, and the groups are
    packed (largest first) into ``num_parts`` parts. Level 2: the owner of part :math:`p` (rank
    :math:`p \bmod R`) receives the edges inside the part and partitions it with the
    algorithm :func:`graphneg.communities` picks for the part's size (igraph's Leiden, or
    networkit's PLM from 100,000 nodes), with the modularity resolution scaled by the
    part's share of the edge weight (so each part optimises the whole graph's modularity
    restricted to it); edges between parts are dropped.
    Labels are merged part by part and renumbered ``0..c-1`` in order of first appearance.

    Parameters
    ----------
    X_shard : array-like of shape (n_r, dim)
        This rank's embeddings.
    graph_shard : sparse array of shape (n_r, N)
        This rank's rows of the graph, global columns (:func:`graphneg.distributed.knn_graph`).
    num_parts : int, default=None
        Coarse parts; ``None`` is the number of ranks (one Leiden run per rank).
    resolution : float, default=1.0
        Resolution :math:`\gamma` of the whole graph's modularity (see
        :func:`graphneg.leiden_communities`).
    max_cluster_size : int, default=None
        Largest community allowed (as in :func:`graphneg.communities`), within each part.
    weighted : bool, default=True
        Use edge weights in level 2 (weights must then be positive).
    kmeans_iterations : int, default=10
        Lloyd steps of level 1.
    seed : int, default=0
        Seeds k-means and each part's Leiden (part ``p`` gets a seed drawn from ``(seed, p)``).
    group : torch.distributed.ProcessGroup, default=None

    Returns
    -------
    ndarray of shape (N,), int64
        The community of every item (all ranks, on every rank).

    See Also
    --------
    graphneg.communities : The single-process default, run on each part.
    coarse_parts : Level 1's k-means.
    graphneg.distributed.knn_graph : The sharded graph this takes.

    Notes
    -----
    Memory per rank: its shards, the part of every item (8 N bytes) and the edges of its parts
    (about :math:`16 k N / R` bytes for ``num_parts`` a multiple of ``R``). The modularity lost
    to the cut edges is small when the parts follow the graph's clusters (measured in
    docs/distributed.md).

    Examples
    --------
    >>> import graphneg as gn
    >>> rng = np.random.default_rng(0)
    >>> X = np.repeat(np.eye(4) * 5, 25, axis=0) + rng.normal(size=(100, 4))
    >>> labels = communities(X, gn.knn_graph(X, 5), num_parts=2)  # a world of one
    >>> np.unique(labels).size >= 4
    True
    """
    rank, size = world(group)
    num_parts = size if num_parts is None else check_int(num_parts, "num_parts")
    resolution = check_resolution(resolution)
    options = {"max_cluster_size": max_cluster_size, "weighted": weighted}
    n_total = int(all_sizes(np.asarray(X_shard).shape[0], group).sum())
    num_micro = min(n_total, max(8 * num_parts, min(n_total // 100, 1024)))
    micro = coarse_parts(X_shard, num_micro, num_iterations=kmeans_iterations, seed=seed, group=group)
    micro_of = np.concatenate(_all_gather(micro, group))
    offset = int(all_sizes(micro.size, group)[:rank].sum())

    def check() -> sp.csr_array:
        G = sp.csr_array(graph_shard)
        if G.shape != (micro.size, micro_of.size):
            raise ValueError(f"`graph_shard` must have shape ({micro.size}, {micro_of.size}), got {G.shape}.")
        return G

    G = agree(check, group)
    W = _micro_graph(G, offset, micro_of, num_micro, group)  # the same on every rank
    part_of = _pack_parts(W, np.bincount(micro_of, minlength=num_micro).astype(float), num_parts, seed)[micro_of]
    total_weight = float(_all_sum(np.array([G.data.sum()]), group)[0])
    edges = _send_to_owners(_part_edges(G, offset, part_of), num_parts, group)
    found = {}
    for p in range(rank, num_parts, size):
        inside = edges[3] == p
        part_seed = int(np.random.default_rng([seed, p]).integers(2**31))
        part_gamma = _part_resolution(resolution, float(edges[2][inside].sum()), total_weight)
        found[p] = _part_communities(np.flatnonzero(part_of == p), tuple(e[inside] for e in edges[:3]),
                                     part_gamma, part_seed, options)
    merged = {p: lab for share in _all_gather(found, group) for p, lab in share.items()}
    labels, next_label = np.empty(part_of.size, dtype=np.int64), 0
    for p in range(num_parts):
        labels[part_of == p] = merged[p] + next_label
        next_label += int(merged[p].max()) + 1 if merged[p].size else 0
    return relabel(labels)
