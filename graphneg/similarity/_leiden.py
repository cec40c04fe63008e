r"""Leiden community detection (Traag, Waltman & van Eck 2019): modularity or CPM.

Two implementations of the same algorithm: igraph's C ``community_leiden`` (the faster one)
and leidenalg's ``find_partition`` (which also steers its moves by a maximum community size).
Both are seeded; for one seed their partitions differ.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._optional import optional_import
from .._random import SeedLike, derive_seed
from .._validation import check_choice, check_float, check_int
from ._igraph_convert import _igraph_of, _igraph_seed, _leidenalg
from ._partition import _partition

# Leiden's default number of iterations: each further one re-runs the whole local moving /
# refinement / aggregation cycle for a fraction of a percent of modularity at several times the
# cost (measured by benchmarks/leiden_iterations.py, figures in benchmarks/README.md)
LEIDEN_ITERATIONS = 2


def check_resolution(resolution: Any) -> float:
    """The resolution ``gamma`` of a modularity or CPM objective: a float > 0.

    >>> check_resolution(2)
    2.0
    """
    return check_float(resolution, "resolution", min_value=0.0, min_inclusive=False)


def leiden_communities(
    graph: Any,
    *,
    objective: Literal["modularity", "cpm"] = "modularity",
    resolution: float = 1.0,
    num_iterations: int = LEIDEN_ITERATIONS,
    implementation: Literal["auto", "igraph", "leidenalg"] = "auto",
    max_cluster_size: int | None = None,
    cluster_size: int | None = None,
    weighted: bool = True,
    seed: SeedLike = 0,
) -> np.ndarray:
    r"""Communities found by the Leiden algorithm, optimising modularity or CPM.

    Leiden moves nodes between communities, refines each community into well-connected
    sub-communities, aggregates, and repeats (Traag et al. 2019); unlike Louvain its
    communities are guaranteed to be connected.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        A similarity or link graph, e.g. from :func:`graphneg.knn_graph`. Direction is
        ignored (an edge in either direction counts once, with the larger weight); weights
        must be positive when ``weighted``. Not modified.
    objective : {'modularity', 'cpm'}, default='modularity'
        Quality function (see Notes).
    resolution : float, default=1.0
        Resolution :math:`\gamma > 0` of the objective: higher gives smaller communities.
    num_iterations : int, default=2
        Leiden iterations; a negative value runs until an iteration no longer improves the
        partition. Each further iteration re-runs the whole cycle on the partition found so
        far, for little more quality at several times the time (``benchmarks/README.md``).
    implementation : {'auto', 'igraph', 'leidenalg'}, default='auto'
        igraph's C implementation, or leidenalg, which also receives ``max_cluster_size`` as
        ``max_comm_size``; ``'auto'`` is leidenalg when ``max_cluster_size`` is given, else
        igraph.
    max_cluster_size, cluster_size, weighted, seed
        Size control, edge weights and seeding, as in :func:`communities`.

    Returns
    -------
    labels : ndarray of shape (n_nodes,), int64
        Community ids ``0..c-1`` in order of first appearance. Isolated nodes form singleton
        communities.

    Raises
    ------
    ValueError
        Unknown objective or implementation, non-positive resolution, non-positive weights
        with ``weighted=True``, bad sizes.
    graphneg.exceptions.BackendUnavailableError
        ``implementation='leidenalg'`` without leidenalg installed.

    See Also
    --------
    communities : The default: this function's igraph Leiden, or networkit's PLM on large graphs.
    louvain_communities : Louvain, Leiden's predecessor (no refinement phase).
    plm_communities : networkit's Louvain with refinement, faster on large graphs.
    metis_partition : Balanced parts of a given number instead of a quality optimum.

    Notes
    -----
    With :math:`A_{ij}` the weight of edge :math:`ij`, :math:`k_i = \sum_j A_{ij}`,
    :math:`m = \frac12 \sum_{ij} A_{ij}` and :math:`c_i` the community of node :math:`i`,
    ``'modularity'`` maximises (Newman & Girvan; the resolution after Reichardt & Bornholdt)

    .. math:: Q = \frac{1}{2m} \sum_{ij} \left(A_{ij} - \gamma \frac{k_i k_j}{2m}\right)
              \delta(c_i, c_j),

    and ``'cpm'``, the Constant Potts Model, with :math:`e_c` the total weight of the edges
    inside community :math:`c` and :math:`n_c` its number of nodes,

    .. math:: H = \sum_c \left(e_c - \gamma \binom{n_c}{2}\right),

    which asks every community to be denser than :math:`\gamma` (and has no resolution
    limit). leidenalg optimises :math:`2m\,Q` and :math:`H` as written; igraph optimises
    :math:`Q`, and for CPM :math:`\frac{1}{m} \sum_c (e_c - \gamma n_c^2 / 2)`, which differs
    from :math:`H / m` by the constant :math:`\gamma n / 2m`: the same partitions are optimal.

    igraph's random generator is process-global with no getter: a seeded private generator
    is installed for the call, then igraph's default (Python's ``random`` module) is
    re-installed.

    References
    ----------
    .. [1] V. A. Traag, L. Waltman and N. J. van Eck, "From Louvain to Leiden: guaranteeing
       well-connected communities", Scientific Reports 9, 5233 (2019).
       doi:10.1038/s41598-019-41695-z
    .. [2] V. A. Traag, P. Van Dooren and Y. Nesterov, "Narrow scope for resolution-limit-free
       community detection", Physical Review E 84, 016114 (2011). doi:10.1103/PhysRevE.84.016114
    .. [3] M. E. J. Newman and M. Girvan, "Finding and evaluating community structure in
       networks", Physical Review E 69, 026113 (2004). doi:10.1103/PhysRevE.69.026113
    .. [4] J. Reichardt and S. Bornholdt, "Statistical mechanics of community detection",
       Physical Review E 74, 016110 (2006). doi:10.1103/PhysRevE.74.016110

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> block = np.ones((3, 3)) - np.eye(3)
    >>> G = sp.csr_array(sp.block_diag([block, block]))
    >>> leiden_communities(G, seed=0).tolist()
    [0, 0, 0, 1, 1, 1]
    >>> leiden_communities(G, objective="cpm", resolution=0.5, seed=0).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    labels_of = partial(
        _leiden_labels,
        objective=check_choice(objective, "objective", ("modularity", "cpm")),
        resolution=check_resolution(resolution),
        num_iterations=check_int(num_iterations, "num_iterations", min_value=None),
        implementation=check_choice(implementation, "implementation", ("auto", "igraph", "leidenalg")),
    )
    return _partition(graph, labels_of, max_cluster_size=max_cluster_size, cluster_size=cluster_size,
                      weighted=weighted, seed=seed)


def _leiden_labels(
    G: sp.csr_array, weighted: bool, rng: np.random.Generator, max_cluster_size: int | None,
    cluster_size: int | None, *, objective: str, resolution: float, num_iterations: int, implementation: str,
) -> np.ndarray:
    """Leiden's membership with igraph's C code or leidenalg (options already checked)."""
    if implementation == "auto":
        implementation = "leidenalg" if max_cluster_size is not None else "igraph"
    g = _igraph_of(G, weighted)
    weights = "weight" if weighted else None
    if implementation == "igraph":
        with _igraph_seed(derive_seed(rng)):
            cl = g.community_leiden(objective_function=objective, weights=weights, resolution=resolution,
                                    n_iterations=num_iterations)
        return np.asarray(cl.membership, dtype=np.int64)
    la = optional_import("leidenalg", extra="leiden", feature="leiden_communities(implementation='leidenalg')")
    ptype = la.RBConfigurationVertexPartition if objective == "modularity" else la.CPMVertexPartition
    part = _leidenalg(la, g, ptype, weights=weights, n_iterations=num_iterations,
                      max_comm_size=max_cluster_size or 0, seed=derive_seed(rng), resolution_parameter=resolution)
    return np.asarray(part.membership, dtype=np.int64)
