"""Community detection on similarity/link graphs: the default entry and the algorithm names.

:func:`communities` picks an algorithm by graph size and takes only the options every
algorithm shares (size control, weights, seed). Each algorithm has its own function with its
own options: :func:`~graphneg.leiden_communities`, :func:`~graphneg.louvain_communities`,
:func:`~graphneg.plm_communities`, :func:`~graphneg.metis_partition` and
:func:`connected_components`. All return a membership array: ``labels[i]`` is the community
id of node ``i``, ids ``0..c-1`` numbered by first appearance.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from .._random import SeedLike, derive_seed
from ._leiden import LEIDEN_ITERATIONS, _leiden_labels, check_resolution, leiden_communities
from ._louvain import _networkit_plm, louvain_communities, plm_communities
from ._metis import metis_partition
from ._partition import _partition

# From this many nodes the default runs networkit's PLM on one thread instead of igraph's
# Leiden (when networkit is installed): there PLM is several times faster, conversion
# included, at a modularity within 1 % of Leiden's (benchmarks/communities_1m.py; figures in
# benchmarks/README.md), while below it igraph's Leiden is fast enough and its communities
# are guaranteed connected.
FAST_MIN_NODES = 100_000
# PLM's node-move sweeps per level in that default: fewer than networkit's 32, since the last
# sweeps move few nodes; on the benchmark graphs the modularity was unchanged.
PLM_MAX_ITER = 8


def communities(
    graph: Any,
    *,
    max_cluster_size: int | None = None,
    cluster_size: int | None = None,
    weighted: bool = True,
    seed: SeedLike = 0,
) -> np.ndarray:
    """Partition the nodes of a graph into communities with the default algorithm.

    The modularity (resolution 1) is maximised by igraph's Leiden (2 iterations), or, for
    graphs of at least :data:`FAST_MIN_NODES` (100,000) nodes when networkit is installed
    (extra ``[networkit]``), by networkit's PLM on one thread with
    :data:`PLM_MAX_ITER` (8) move sweeps per level, which is faster there at nearly the same
    modularity. With ``max_cluster_size`` it is leidenalg's Leiden at any size, which steers
    its moves by that size. For any other option call the algorithm's own function.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        A similarity or link graph, e.g. from :func:`graphneg.knn_graph`. Direction is
        ignored (an edge in either direction counts once, with the larger weight); weights
        must be positive when ``weighted``. Not modified.
    max_cluster_size : int, default=None
        Largest community allowed: any community still larger is re-partitioned on its own
        subgraph (or cut along a breadth-first order when it has no structure).
    cluster_size : int, default=None
        Return clusters of exactly ``cluster_size`` members (one final cluster of
        ``n_nodes % cluster_size`` when it does not divide), see :func:`exact_size`.
    weighted : bool, default=True
        Use edge weights. ``False`` treats the graph as unweighted (as B3 does).
    seed : int or numpy.random.Generator, default=0
        Same seed, same partition.

    Returns
    -------
    labels : ndarray of shape (n_nodes,), int64
        Community ids ``0..c-1`` in order of first appearance. Isolated nodes form singleton
        communities.

    Raises
    ------
    ValueError
        Non-positive weights with ``weighted=True``, bad sizes.

    See Also
    --------
    leiden_communities : Leiden with its options (objective, resolution, iterations).
    plm_communities : networkit's PLM, the default's choice on large graphs.
    louvain_communities : igraph's Louvain.
    metis_partition : Balanced parts (METIS).
    connected_components : Connected components.
    exact_size : The repair behind ``cluster_size``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> block = np.ones((3, 3)) - np.eye(3)
    >>> G = sp.csr_array(sp.block_diag([block, block]))
    >>> communities(G, seed=0).tolist()
    [0, 0, 0, 1, 1, 1]
    >>> np.bincount(communities(G, cluster_size=2, seed=0)).tolist()  # three clusters of exactly 2
    [2, 2, 2]
    """
    return _partition(graph, _default_labels, max_cluster_size=max_cluster_size, cluster_size=cluster_size,
                      weighted=weighted, seed=seed)


def _default_labels(
    G: sp.csr_array, weighted: bool, rng: np.random.Generator, max_cluster_size: int | None,
    cluster_size: int | None, resolution: float = 1.0,
) -> np.ndarray:
    """The default's choice: networkit's PLM on large graphs, else igraph's (or leidenalg's) Leiden."""
    if max_cluster_size is None and _fast_default(G.shape[0]):
        return _networkit_plm(G, weighted, derive_seed(rng), resolution, PLM_MAX_ITER)
    return _leiden_labels(G, weighted, rng, max_cluster_size, cluster_size, objective="modularity",
                          resolution=resolution, num_iterations=LEIDEN_ITERATIONS, implementation="auto")


def _fast_default(n_nodes: int) -> bool:
    """The default takes networkit's PLM: at least FAST_MIN_NODES nodes, networkit installed."""
    return n_nodes >= FAST_MIN_NODES and importlib.util.find_spec("networkit") is not None


def default_at_resolution(
    graph: Any, resolution: float, *, max_cluster_size: int | None = None, weighted: bool = True,
    seed: SeedLike = 0,
) -> np.ndarray:
    """:func:`communities`' algorithm choice with the modularity resolution ``resolution``.

    For the parts of :func:`graphneg.distributed.communities`, whose resolution is scaled to
    the whole graph's edge weight.

    >>> import scipy.sparse as sp
    >>> default_at_resolution(sp.csr_array((3, 3)), 0.5).tolist()
    [0, 1, 2]
    """
    labels_of = partial(_default_labels, resolution=check_resolution(resolution))
    return _partition(graph, labels_of, max_cluster_size=max_cluster_size, cluster_size=None,
                      weighted=weighted, seed=seed)


def connected_components(
    graph: Any,
    *,
    max_cluster_size: int | None = None,
    cluster_size: int | None = None,
    weighted: bool = True,
    seed: SeedLike = 0,
) -> np.ndarray:
    """Connected components as communities (direction ignored).

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        A similarity or link graph; an edge in either direction connects its nodes. Not modified.
    max_cluster_size : int, default=None
        Largest community allowed: any larger component is re-partitioned on its own subgraph.
    cluster_size : int, default=None
        Return clusters of exactly ``cluster_size`` members, see :func:`exact_size`.
    weighted : bool, default=True
        Weights must be positive; used by the split of ``max_cluster_size`` only.
    seed : int or numpy.random.Generator, default=0
        Seeds the size control (components themselves are not random).

    Returns
    -------
    labels : ndarray of shape (n_nodes,), int64
        Component ids ``0..c-1`` in order of first appearance.

    See Also
    --------
    communities : Communities inside components.
    scipy.sparse.csgraph.connected_components : The count and labels, without size control.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> connected_components(sp.csr_array(([1.0, 1.0], ([0, 2], [1, 3])), shape=(4, 4))).tolist()
    [0, 0, 1, 1]
    """
    return _partition(graph, _component_labels, max_cluster_size=max_cluster_size, cluster_size=cluster_size,
                      weighted=weighted, seed=seed)


def _component_labels(
    G: sp.csr_array, weighted: bool, rng: np.random.Generator, max_cluster_size: int | None,
    cluster_size: int | None,
) -> np.ndarray:
    _, labels = csgraph.connected_components(G, directed=True, connection="weak")
    return labels.astype(np.int64)


# The algorithms by the names that configuration (the CLI's --method, inspect's
# community_options, Reminer's method) gives them; "auto" is the default entry.
ALGORITHMS: dict[str, Callable[..., np.ndarray]] = {
    "auto": communities,
    "leiden": leiden_communities,
    "louvain": louvain_communities,
    "plm": plm_communities,
    "metis": metis_partition,
    "components": connected_components,
}
