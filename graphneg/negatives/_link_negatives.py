r"""Negatives from link structure alone: filtered uniform, k-hop, degree, PPR and SPECTER.

Notation: :math:`A` is the directed adjacency (citing :math:`\to` cited), :math:`U` its
undirected version, :math:`d_U(q, v)` the undirected hop distance. Every strategy draws for
source :math:`q` outside the banned set :math:`\mathcal B(q)` and pads short rows with ``-1``;
the Notes of :func:`uniform_link_negatives` define both once for all of them.

One function per strategy (networkx style); each takes only its own options:

==================================  ===========================================================
function                            candidates of source :math:`q`
==================================  ===========================================================
:func:`uniform_link_negatives`      all nodes, uniformly (PyG ``negative_sampling``, never short)
:func:`khop_link_negatives`         :math:`\{v : d_U(q, v) = h\}` (SANS), uniformly
:func:`degree_link_negatives`       all nodes, :math:`P(v) \propto \deg_U(v)^{0.75}` (word2vec)
:func:`ppr_link_negatives`          ranks ``[r_0, r_1)`` of personalised PageRank from :math:`q`
:func:`specter_link_negatives`      citations of citations not cited by :math:`q`
:func:`bica_link_negatives`         BiCA's similarity-guided walk over :math:`R_1 \cup R_2`
:func:`scincl_link_negatives`       ranks ``[k_0, k_1)`` of kNN in a graph embedding + random
==================================  ===========================================================

The last two need node embeddings and live in :mod:`graphneg.negatives._link_by_embedding`;
the steps all seven share, in :mod:`graphneg.negatives._link_base`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike
from .._sampling import sample_distinct
from .._validation import check_float, check_int
from ..links._graph import LinkGraph
from ._link_base import LinkNegatives, StrategyContext, filter_sets, rank_window, run_strategy, sample_from_sets


def uniform_link_negatives(
    graph: LinkGraph, sources: Any = None, *, num_negatives: int = 5, exclude_hops: int = 1, exclude: Any = None,
    seed: SeedLike = 0,
) -> LinkNegatives:
    r"""Negatives drawn uniformly from the nodes that are not banned for the source.

    ``num_negatives`` distinct nodes are drawn uniformly from :math:`V \setminus \mathcal B(q)`
    (see Notes): PyG's ``negative_sampling``, but never short while enough nodes are allowed.

    Parameters
    ----------
    graph : LinkGraph
        Directed citation/link graph.
    sources : array-like of int, default=None
        Source rows; ``None`` means every node.
    num_negatives : int, default=5
        Negatives per source.
    exclude_hops : int, default=1
        Never return a node within this many undirected hops: 1 = direct links either way
        (the filtered default), 2 also excludes co-cited/co-citing neighbours, 0 excludes
        only the source itself and ``exclude``.
    exclude : sequence of int sequences or sparse (n_sources, n_nodes), default=None
        Further rows to exclude per source (known positives). Never modified.
    seed : int or Generator, default=0

    Returns
    -------
    LinkNegatives
        ``indices`` of shape ``(n_sources, num_negatives)``, ``-1`` padded.

    Warns
    -----
    GraphNegWarning
        When a source is short (see Notes).

    See Also
    --------
    degree_link_negatives : the same draw, weighted towards well-linked nodes.
    khop_link_negatives : only nodes at a given distance (harder negatives).
    graphneg.link_split : held-out links with the same shortage policy.
    graphneg.citation_training_data : any strategy over a whole corpus, into training files.

    Notes
    -----
    What every ``*_link_negatives`` function shares. The banned set of source :math:`q` is

    .. math::

        \mathcal B(q) = \{q\} \cup \{v : d_U(q, v) \le h_\text{ex}\} \cup X(q)

    with :math:`h_\text{ex}` = ``exclude_hops`` and :math:`X` = ``exclude``: no strategy
    returns a node of it. ``sources``, ``num_negatives``, ``exclude_hops``, ``exclude`` and
    ``seed`` mean what they mean here, with the same defaults.

    Shortage policy (the same as :func:`graphneg.link_split`'s): a source with fewer
    candidates than ``num_negatives`` gets all of them followed by ``-1``, and one
    :class:`~graphneg.GraphNegWarning` counts such sources (``LinkNegatives.num_short``).
    Padding rather than raising keeps one hub (or one tiny k-hop ring) from aborting a
    corpus-wide run; ``-1`` is graphneg's padding everywhere and the false-negative masks
    treat it as such.

    This draw: rejection against sorted ``(source, node)`` keys
    (:func:`graphneg._sampling.sample_distinct`), :math:`O(n_\text{sources} \cdot k \log E)`
    for sparse graphs; a source whose allowed set is small is drawn exactly from it.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    >>> neg = uniform_link_negatives(g, [0], num_negatives=2, seed=0)
    >>> neg.indices.shape, bool(np.isin(neg.indices, [0, 1]).any())
    ((1, 2), False)
    """
    return run_strategy("uniform", graph, sources, num_negatives, exclude_hops, exclude, seed, _uniform)


def _uniform(ctx: StrategyContext) -> np.ndarray:
    return sample_distinct(ctx.banned, ctx.k, ctx.rng).indices


def khop_link_negatives(
    graph: LinkGraph, sources: Any = None, *, hops: int = 2, num_negatives: int = 5, exclude_hops: int = 1,
    exclude: Any = None, seed: SeedLike = 0,
) -> LinkNegatives:
    r"""Negatives at exactly ``hops`` undirected hops from the source (SANS), uniformly.

    Candidates of :math:`q`: :math:`\{v : d_U(q, v) = h\} \setminus \mathcal B(q)`. Reference:
    K. Ahrabian et al., "Structure Aware Negative Sampling in Knowledge Graphs", EMNLP 2020,
    arXiv:2009.11355.

    Parameters
    ----------
    graph : LinkGraph
    sources : array-like of int, default=None
    hops : int, default=2
        The exact distance :math:`h` of the candidates; must be > ``exclude_hops``.
    num_negatives, exclude_hops, exclude, seed
        Shared by every strategy: see :func:`uniform_link_negatives` (Notes).

    Returns
    -------
    LinkNegatives
        Short rows where the ring at distance :math:`h` holds too few allowed nodes.

    Raises
    ------
    ValueError
        ``hops <= exclude_hops`` (those nodes are all excluded).

    See Also
    --------
    specter_link_negatives : two *directed* hops (citations of citations).
    graphneg.khop_mask : the same rings, as a false-negative mask of a batch.
    LinkGraph.k_hop : the rings themselves.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    >>> khop_link_negatives(g, [0, 5], hops=2, num_negatives=1).indices.tolist()
    [[2], [3]]
    """
    return run_strategy("khop", graph, sources, num_negatives, exclude_hops, exclude, seed, _khop, hops=hops)


def _khop(ctx: StrategyContext, hops: int) -> np.ndarray:
    hops = check_int(hops, "hops", min_value=1)
    if hops <= ctx.exclude_hops:
        raise ValueError(f"`hops` ({hops}) must be > `exclude_hops` ({ctx.exclude_hops}): those are excluded.")
    return sample_from_sets(filter_sets(ctx.banned, ctx.graph.k_hop(ctx.src, hops, exact=True)), ctx.k, ctx.rng)


def degree_link_negatives(
    graph: LinkGraph, sources: Any = None, *, power: float = 0.75, num_negatives: int = 5, exclude_hops: int = 1,
    exclude: Any = None, seed: SeedLike = 0,
) -> LinkNegatives:
    r"""Negatives drawn by degree, :math:`P(v) \propto \deg_U(v)^\beta`, without replacement.

    Over :math:`V \setminus \mathcal B(q)`; zero-degree nodes are never drawn.
    :math:`\beta = 0.75` is word2vec's unigram exponent (Mikolov et al., NeurIPS 2013,
    arXiv:1310.4546), used for graphs by PinSage.

    Parameters
    ----------
    graph : LinkGraph
    sources : array-like of int, default=None
    power : float, default=0.75
        The exponent :math:`\beta \ge 0`.
    num_negatives, exclude_hops, exclude, seed
        Shared by every strategy: see :func:`uniform_link_negatives` (Notes).

    Returns
    -------
    LinkNegatives
        Short rows only where fewer allowed nodes than ``num_negatives`` have a link.

    See Also
    --------
    uniform_link_negatives : the same draw, every allowed node equally likely.
    ppr_link_negatives : popular *near the source* rather than overall.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 2]])
    >>> degree_link_negatives(g, [0], num_negatives=2, seed=0).indices.shape
    (1, 2)
    """
    return run_strategy("degree", graph, sources, num_negatives, exclude_hops, exclude, seed, _degree, power=power)


def degree_weights(graph: LinkGraph, power: float) -> np.ndarray:
    r""":math:`\deg_U(v)^\beta` per node, ``power`` checked."""
    beta = check_float(power, "power", min_value=0.0)
    deg = np.asarray(graph.undirected().sum(axis=1), dtype=np.float64).ravel()
    return deg**beta


def _degree(ctx: StrategyContext, power: float) -> np.ndarray:
    return sample_distinct(ctx.banned, ctx.k, ctx.rng, weights=degree_weights(ctx.graph, power)).indices


def specter_link_negatives(
    graph: LinkGraph, sources: Any = None, *, num_negatives: int = 5, exclude_hops: int = 1, exclude: Any = None,
    seed: SeedLike = 0,
) -> LinkNegatives:
    r"""SPECTER's hard negatives: papers cited by a cited paper but not by the source.

    Candidates of :math:`q`: :math:`R_2(q) \setminus \mathcal B(q)`, with :math:`R_2` the
    nodes at exactly two *directed* hops (citations of citations), drawn uniformly.
    Reference: A. Cohan et al., "SPECTER: Document-level Representation Learning using
    Citation-informed Transformers", ACL 2020, arXiv:2004.07180.

    Parameters
    ----------
    graph : LinkGraph
    sources : array-like of int, default=None
    num_negatives, exclude_hops, exclude, seed
        Shared by every strategy: see :func:`uniform_link_negatives` (Notes).

    Returns
    -------
    LinkNegatives
        Short rows for sources whose references cite few other papers.

    See Also
    --------
    khop_link_negatives : a ring of *undirected* hops.
    bica_link_negatives : a walk over the same two hops, guided by text similarity.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [1, 3]])
    >>> sorted(specter_link_negatives(g, [0], num_negatives=2).indices[0].tolist())
    [2, 3]
    """
    return run_strategy("specter", graph, sources, num_negatives, exclude_hops, exclude, seed, _specter)


def _specter(ctx: StrategyContext) -> np.ndarray:
    D = ctx.graph.hop_distances(ctx.src, 2, directed=True)
    sets = [D.indices[D.indptr[i] : D.indptr[i + 1]][D.data[D.indptr[i] : D.indptr[i + 1]] == 2]
            for i in range(ctx.src.size)]
    return sample_from_sets(filter_sets(ctx.banned, sets), ctx.k, ctx.rng)


def ppr_link_negatives(
    graph: LinkGraph, sources: Any = None, *, alpha: float = 0.15, window: tuple[int, int] = (10, 100),
    num_iterations: int = 30, num_negatives: int = 5, exclude_hops: int = 1, exclude: Any = None,
    seed: SeedLike = 0,
) -> LinkNegatives:
    r"""Negatives from a rank window of personalised PageRank from the source (PinSage, HeaRT).

    The PPR vector of :math:`q` on the undirected graph, by power iteration from
    :math:`x_0 = e_q`:

    .. math::

        x_{t+1} = \alpha\, e_q + (1 - \alpha)\, P^\top x_t, \qquad P = D_U^{-1} U,

    then the nodes outside :math:`\mathcal B(q)` with a positive score, ordered by score, are cut
    to ranks ``[r_0, r_1)`` and ``num_negatives`` drawn uniformly from them. References:
    R. Ying et al., "Graph Convolutional Neural Networks for Web-Scale Recommender Systems",
    KDD 2018, arXiv:1806.01973; J. Li et al., "Evaluating Graph Neural Networks for
    Link Prediction: Current Pitfalls and New Benchmarking" (HeaRT), NeurIPS 2023,
    arXiv:2306.10453.

    Parameters
    ----------
    graph : LinkGraph
    sources : array-like of int, default=None
    alpha : float, default=0.15
        Teleport probability in ``(0, 1]``.
    window : (int, int), default=(10, 100)
        Rank window ``[r_0, r_1)`` among the allowed nodes.
    num_iterations : int, default=30
        Power iterations.
    num_negatives, exclude_hops, exclude, seed
        Shared by every strategy: see :func:`uniform_link_negatives` (Notes).

    Returns
    -------
    LinkNegatives
        Short rows for sources whose window holds too few nodes with a positive score.

    See Also
    --------
    khop_link_negatives : nearness by hop count instead of random-walk mass.
    scincl_link_negatives : a rank window in a graph embedding instead.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[i, i + 1] for i in range(20)])
    >>> ppr_link_negatives(g, [0], window=(0, 5), num_negatives=2, seed=0).indices.shape
    (1, 2)
    """
    return run_strategy("ppr", graph, sources, num_negatives, exclude_hops, exclude, seed, _ppr, alpha=alpha,
                        window=window, num_iterations=num_iterations)


def _ppr(ctx: StrategyContext, alpha: float, window: tuple[int, int], num_iterations: int) -> np.ndarray:
    r0, r1 = rank_window(window, "window")
    alpha = check_float(alpha, "alpha", min_value=0.0, max_value=1.0, min_inclusive=False)
    iterations = check_int(num_iterations, "num_iterations")
    sets = []
    B = ctx.banned
    for i, x in enumerate(_ppr_scores(ctx.graph, ctx.src, alpha, iterations)):
        x[B.indices[B.indptr[i] : B.indptr[i + 1]]] = -np.inf  # x is our own block row
        order = np.argsort(-x, kind="stable")
        sets.append(order[np.isfinite(x[order]) & (x[order] > 0)][r0:r1])
    return sample_from_sets(sets, ctx.k, ctx.rng)


def _ppr_scores(graph: LinkGraph, src: np.ndarray, alpha: float, n_iter: int, block: int = 256) -> list[np.ndarray]:
    """Personalised PageRank scores (dense per block of sources) on the undirected graph."""
    U = graph.undirected()
    deg = np.asarray(U.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    PT = sp.csr_array(U.multiply(inv[:, None])).T.tocsr()  # transposed row-stochastic transitions
    rows = []
    for start in range(0, src.size, block):
        s = src[start : start + block]
        e = np.zeros((s.size, graph.num_nodes), dtype=np.float64)
        e[np.arange(s.size), s] = 1.0
        x = e.copy()
        for _ in range(n_iter):
            x = alpha * e + (1 - alpha) * (PT @ x.T).T
        rows.extend(x)
    return rows
