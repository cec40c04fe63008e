r"""Louvain-family modularity optimisation: igraph's multilevel algorithm and networkit's PLM.

Both maximise the modularity :math:`Q` with a resolution :math:`\gamma` by local moving and
aggregation (Blondel et al. 2008); PLM (Staudt & Meyerhenke 2016) adds a refinement phase
after each level and scales to graphs where igraph's conversion and moves dominate the time.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._optional import optional_import
from .._random import SeedLike, derive_seed
from .._validation import check_int
from ._igraph_convert import _igraph_of, _igraph_seed, _upper_edges
from ._leiden import check_resolution
from ._partition import _partition


def louvain_communities(
    graph: Any,
    *,
    resolution: float = 1.0,
    max_cluster_size: int | None = None,
    cluster_size: int | None = None,
    weighted: bool = True,
    seed: SeedLike = 0,
) -> np.ndarray:
    r"""Communities found by the Louvain method (igraph's multilevel algorithm).

    Every node moves to the neighbouring community that raises the modularity most, until
    no move does; the communities then become the nodes of a smaller graph, and the two
    steps repeat until nothing changes.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        A similarity or link graph. Direction is ignored (an edge in either direction counts
        once, with the larger weight); weights must be positive when ``weighted``. Not modified.
    resolution : float, default=1.0
        Resolution :math:`\gamma > 0` of the modularity: higher gives smaller communities.
    max_cluster_size, cluster_size, weighted, seed
        Size control, edge weights and seeding, as in :func:`communities`.

    Returns
    -------
    labels : ndarray of shape (n_nodes,), int64
        Community ids ``0..c-1`` in order of first appearance.

    Raises
    ------
    ValueError
        Non-positive resolution, non-positive weights with ``weighted=True``, bad sizes.

    See Also
    --------
    leiden_communities : Louvain with a refinement that keeps communities connected.
    plm_communities : networkit's Louvain with refinement, faster on large graphs.
    communities : The default algorithm for a graph of any size.

    Notes
    -----
    With :math:`A_{ij}` the weight of edge :math:`ij`, :math:`k_i = \sum_j A_{ij}`,
    :math:`m = \frac12 \sum_{ij} A_{ij}` and :math:`c_i` the community of node :math:`i`, the
    objective is the modularity with resolution :math:`\gamma`

    .. math:: Q = \frac{1}{2m} \sum_{ij} \left(A_{ij} - \gamma \frac{k_i k_j}{2m}\right)
              \delta(c_i, c_j).

    igraph's random generator is process-global with no getter: a seeded private generator
    is installed for the call, then igraph's default (Python's ``random`` module) is
    re-installed.

    References
    ----------
    .. [1] V. D. Blondel, J.-L. Guillaume, R. Lambiotte and E. Lefebvre, "Fast unfolding of
       communities in large networks", Journal of Statistical Mechanics, P10008 (2008).
       doi:10.1088/1742-5468/2008/10/P10008

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> block = np.ones((3, 3)) - np.eye(3)
    >>> G = sp.csr_array(sp.block_diag([block, block]))
    >>> louvain_communities(G, seed=0).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    labels_of = partial(_louvain_labels, resolution=check_resolution(resolution))
    return _partition(graph, labels_of, max_cluster_size=max_cluster_size, cluster_size=cluster_size,
                      weighted=weighted, seed=seed)


def _louvain_labels(
    G: sp.csr_array, weighted: bool, rng: np.random.Generator, max_cluster_size: int | None,
    cluster_size: int | None, *, resolution: float,
) -> np.ndarray:
    g = _igraph_of(G, weighted)
    with _igraph_seed(derive_seed(rng)):
        cl = g.community_multilevel(weights="weight" if weighted else None, resolution=resolution)
    return np.asarray(cl.membership, dtype=np.int64)


def plm_communities(
    graph: Any,
    *,
    resolution: float = 1.0,
    max_iterations: int = 32,
    max_cluster_size: int | None = None,
    cluster_size: int | None = None,
    weighted: bool = True,
    seed: SeedLike = 0,
) -> np.ndarray:
    r"""Communities found by networkit's PLM (parallel Louvain with refinement) on one thread.

    PLM moves nodes as Louvain does, and after each level is prolonged back to the finer
    graph it runs a further move phase on the finer nodes (the refinement). It runs on one
    thread: parallel runs race on node moves, so two runs with one seed could differ.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        A similarity or link graph. Direction is ignored (an edge in either direction counts
        once, with the larger weight); weights must be positive when ``weighted``. Not modified.
    resolution : float, default=1.0
        Resolution :math:`\gamma > 0` of the modularity (networkit's ``gamma``).
    max_iterations : int, default=32
        Most node-move sweeps per level (networkit's ``maxIter``); :func:`communities` uses 8.
    max_cluster_size, cluster_size, weighted, seed
        Size control, edge weights and seeding, as in :func:`communities`. networkit's seed
        is process-global: it is set for the call and not restored.

    Returns
    -------
    labels : ndarray of shape (n_nodes,), int64
        Community ids ``0..c-1`` in order of first appearance.

    Raises
    ------
    ValueError
        Non-positive resolution or ``max_iterations``, non-positive weights with
        ``weighted=True``, bad sizes.
    graphneg.exceptions.BackendUnavailableError
        networkit is not installed (extra ``[networkit]``).

    See Also
    --------
    communities : Runs this with ``max_iterations=8`` on graphs of 100,000 nodes or more.
    louvain_communities : igraph's Louvain without the refinement.
    leiden_communities : Leiden, whose refinement also keeps communities connected.

    Notes
    -----
    With :math:`A_{ij}` the weight of edge :math:`ij`, :math:`k_i = \sum_j A_{ij}`,
    :math:`m = \frac12 \sum_{ij} A_{ij}` and :math:`c_i` the community of node :math:`i`, the
    objective is the modularity with resolution :math:`\gamma`

    .. math:: Q = \frac{1}{2m} \sum_{ij} \left(A_{ij} - \gamma \frac{k_i k_j}{2m}\right)
              \delta(c_i, c_j).

    References
    ----------
    .. [1] C. L. Staudt and H. Meyerhenke, "Engineering parallel algorithms for community
       detection in massive networks", IEEE Transactions on Parallel and Distributed
       Systems 27(1), 171-184 (2016). doi:10.1109/TPDS.2015.2390633
    .. [2] V. D. Blondel, J.-L. Guillaume, R. Lambiotte and E. Lefebvre, "Fast unfolding of
       communities in large networks", Journal of Statistical Mechanics, P10008 (2008).
       doi:10.1088/1742-5468/2008/10/P10008

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> block = np.ones((3, 3)) - np.eye(3)
    >>> G = sp.csr_array(sp.block_diag([block, block]))
    >>> plm_communities(G, seed=0).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    labels_of = partial(_plm_labels, resolution=check_resolution(resolution),
                        max_iterations=check_int(max_iterations, "max_iterations"))
    return _partition(graph, labels_of, max_cluster_size=max_cluster_size, cluster_size=cluster_size,
                      weighted=weighted, seed=seed)


def _plm_labels(
    G: sp.csr_array, weighted: bool, rng: np.random.Generator, max_cluster_size: int | None,
    cluster_size: int | None, *, resolution: float, max_iterations: int,
) -> np.ndarray:
    return _networkit_plm(G, weighted, derive_seed(rng), resolution, max_iterations)


def _networkit_plm(G: sp.csr_array, weighted: bool, seed: int, resolution: float, max_iter: int) -> np.ndarray:
    """networkit's PLM with refinement on one thread, seeded: reproducible.

    The graph is built from :func:`_upper_edges` arrays as one CSR matrix (no per-edge
    Python objects).
    """
    nk = optional_import("networkit", extra="networkit", feature="plm_communities")
    rows, cols, weights = _upper_edges(G)
    w = weights.astype(np.float64) if weighted else np.ones(rows.size)
    threads = nk.getMaxNumberOfThreads()
    try:
        nk.setNumberOfThreads(1)
        nk.engineering.setSeed(seed, False)
        # the upper triangle as CSR (edges come sorted by (lo, hi)): GraphFromCsr builds the
        # same graph as GraphFromCoo (same partition, tested) several times faster
        indptr = np.searchsorted(rows, np.arange(G.shape[0] + 1))
        upper = sp.csr_matrix((w, cols, indptr), shape=G.shape)
        g = nk.graph.GraphFromCsr(upper, weighted=True, directed=False)
        plm = nk.community.PLM(g, refine=True, gamma=resolution, maxIter=max_iter)
        plm.run()
        return np.asarray(plm.getPartition().getVector(), dtype=np.int64)
    finally:
        nk.setNumberOfThreads(threads)

