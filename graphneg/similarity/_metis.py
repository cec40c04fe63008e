r"""Balanced minimum-cut partitions with METIS (pymetis, extra ``[metis]``)."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._optional import optional_import
from .._random import SeedLike, derive_seed
from .._validation import check_int
from ._igraph_convert import _undirected
from ._partition import _partition


def metis_partition(
    graph: Any,
    *,
    num_parts: int | None = None,
    cluster_size: int | None = None,
    max_cluster_size: int | None = None,
    weighted: bool = True,
    seed: SeedLike = 0,
) -> np.ndarray:
    r"""Parts of nearly equal size that cut as little edge weight as possible (METIS).

    METIS coarsens the graph by matching neighbours, partitions the small graph, then
    projects the partition back level by level, refining it at each. B3 builds its batches
    from such parts of a kNN graph.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        A similarity or link graph. Direction is ignored (an edge in either direction counts
        once, with the larger weight); weights must be positive when ``weighted``. Not modified.
    num_parts : int, default=None
        Number of parts :math:`K`; ``None`` is ``n_nodes // cluster_size``.
    cluster_size : int, default=None
        Return clusters of exactly ``cluster_size`` members, see :func:`exact_size`; without
        ``num_parts`` it also sets the number of parts.
    max_cluster_size : int, default=None
        Largest part allowed: any part larger is re-partitioned on its own subgraph.
    weighted : bool, default=True
        Use edge weights (rounded to integers: three significant digits of the weight relative
        to the largest). ``False`` treats the graph as unweighted, as B3 does.
    seed : int or numpy.random.Generator, default=0
        Same seed, same partition.

    Returns
    -------
    labels : ndarray of shape (n_nodes,), int64
        Part ids ``0..c-1`` in order of first appearance.

    Raises
    ------
    ValueError
        Neither ``num_parts`` nor ``cluster_size``, more parts than nodes, non-positive
        weights with ``weighted=True``, bad sizes.
    graphneg.exceptions.BackendUnavailableError
        pymetis is not installed (extra ``[metis]``).

    See Also
    --------
    communities : Communities of whatever size the graph's structure gives.
    leiden_communities : Maximises modularity or CPM instead of balancing sizes.
    exact_size : The repair ``cluster_size`` applies.

    Notes
    -----
    With :math:`w_{ij}` the weight of edge :math:`ij` and :math:`p_i` the part of node
    :math:`i`, METIS minimises the edge cut

    .. math:: \operatorname{cut} = \sum_{i < j,\; p_i \ne p_j} w_{ij}
              \quad \text{subject to} \quad |V_p| \le (1 + \varepsilon) \frac{n}{K}
              \text{ for every part } p,

    with METIS's default imbalance :math:`\varepsilon`: 0.001 for recursive bisection
    (which pymetis uses up to 8 parts) and 0.03 for the multilevel k-way scheme.

    References
    ----------
    .. [1] G. Karypis and V. Kumar, "A fast and high quality multilevel scheme for
       partitioning irregular graphs", SIAM Journal on Scientific Computing 20(1), 359-392
       (1998). doi:10.1137/S1064827595287997
    .. [2] G. Karypis and V. Kumar, "Multilevel k-way partitioning scheme for irregular
       graphs", Journal of Parallel and Distributed Computing 48(1), 96-129 (1998).
       doi:10.1006/jpdc.1997.1404

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> block = np.ones((3, 3)) - np.eye(3)
    >>> G = sp.csr_array(sp.block_diag([block, block]))
    >>> metis_partition(G, num_parts=2, seed=0).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    labels_of = partial(_metis_labels, num_parts=num_parts)
    return _partition(graph, labels_of, max_cluster_size=max_cluster_size, cluster_size=cluster_size,
                      weighted=weighted, seed=seed)


def _metis_labels(
    G: sp.csr_array, weighted: bool, rng: np.random.Generator, max_cluster_size: int | None,
    cluster_size: int | None, *, num_parts: int | None,
) -> np.ndarray:
    """pymetis's parts, ``num_parts`` checked here since its range depends on the graph."""
    seed = derive_seed(rng)
    n = G.shape[0]
    if num_parts is None:
        if cluster_size is None:
            raise ValueError("metis_partition needs `num_parts` or `cluster_size` (parts of about that size).")
        num_parts = max(n // cluster_size, 1)
    num_parts = check_int(num_parts, "num_parts", max_value=n)
    pymetis = optional_import("pymetis", extra="metis", feature="metis_partition")
    if num_parts == 1:
        return np.zeros(n, dtype=np.int64)
    S = _undirected(G)
    kwargs: dict[str, Any] = {}
    if weighted and S.nnz:
        # METIS takes integer weights; keep three significant digits of relative weight
        w = S.data / S.data.max()
        kwargs["eweights"] = np.maximum(np.rint(w * 1000), 1).astype(np.int64)
    opts = pymetis.Options(seed=seed)
    xadj, adjncy = S.indptr.astype(np.int64), S.indices.astype(np.int64)
    if hasattr(pymetis, "CSRAdjacency"):  # pymetis >= 2025.2; the xadj/adjncy keywords are deprecated
        _, parts = pymetis.part_graph(
            num_parts, adjacency=pymetis.CSRAdjacency(xadj, adjncy), options=opts, **kwargs
        )
    else:
        _, parts = pymetis.part_graph(num_parts, xadj=xadj, adjncy=adjncy, options=opts, **kwargs)
    return np.asarray(parts, dtype=np.int64)
