r"""Negatives from link structure: filtered uniform, k-hop, degree, PPR, BiCA, SPECTER, SciNCL.

Every strategy returns, per source node, ``num_negatives`` target rows that are never the
source and, by default, never a true link of it in either direction (``exclude_hops=1``);
a wider false-negative risk set is excluded with ``exclude_hops=h`` (everything within
``h`` undirected hops) and ``exclude`` (known positives).

Shortage policy, shared with :func:`graphneg.link_split` through
:mod:`graphneg._sampling`: a source with fewer candidates than ``num_negatives`` gets all of
them followed by ``-1``, and one :class:`~graphneg.GraphNegWarning` counts such sources
(``LinkNegatives.n_short``). Padding rather than raising keeps one hub (or one tiny k-hop
ring) from aborting a corpus-wide run; ``-1`` is graphneg's padding everywhere and the
false-negative masks treat it as such.

Notation: :math:`A` is the directed adjacency (citing :math:`\to` cited), :math:`U` its
undirected version, :math:`d_U(q, v)` the undirected hop distance.

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

The last two need node embeddings and live in :mod:`graphneg.negatives._link_by_embedding`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike, check_rng
from .._sampling import sample_distinct, warn_short
from .._sparse import as_pairs_matrix, canonical_csr
from .._validation import check_float, check_int
from ..links._graph import LinkGraph, check_node_rows


@dataclass
class LinkNegatives:
    """Negatives per source.

    Attributes
    ----------
    sources : ndarray of shape (n_sources,), int64
    indices : ndarray of shape (n_sources, num_negatives), int64
        Negative target rows, ``-1`` where a source had too few candidates.
    n_short : int
        Sources with fewer than ``num_negatives`` negatives.
    positives : ndarray of shape (n_sources, n_positives), int64 or None
        :func:`scincl_link_negatives` only: the rank-window positives (``-1`` padded).

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4]])
    >>> res = uniform_link_negatives(g, [0], num_negatives=2, seed=0)
    >>> res.indices.shape, res.n_short, bool(np.isin(res.indices, [0, 1]).any())
    ((1, 2), 0, False)
    """

    sources: np.ndarray
    indices: np.ndarray
    n_short: int
    positives: np.ndarray | None = None


@dataclass
class _Context:
    """What every strategy receives: the graph, the sources, the banned pattern, ``k``, the rng."""

    graph: LinkGraph
    src: np.ndarray
    banned: sp.csr_array  # canonical (n_sources x n_nodes) pattern: self, links, hops, exclusions
    k: int
    rng: np.random.Generator
    exclude_hops: int


def _banned(graph: LinkGraph, src: np.ndarray, exclude_hops: int, exclude: Any) -> sp.csr_array:
    """(n_sources x n_nodes) canonical pattern of rows never to return (inputs are not modified)."""
    n, m = graph.num_nodes, src.size
    rows, cols = [np.arange(m, dtype=np.int64)], [src.astype(np.int64)]
    for part in (
        graph.hop_distances(src, exclude_hops) if exclude_hops else None,
        as_pairs_matrix(exclude, m, n, "exclude") if exclude is not None else None,
    ):
        if part is not None:
            rows.append(np.repeat(np.arange(m, dtype=np.int64), np.diff(part.indptr)))
            cols.append(part.indices.astype(np.int64))
    r, c = np.concatenate(rows), np.concatenate(cols)
    return canonical_csr(sp.csr_array((np.ones(r.size, dtype=bool), (r, c)), shape=(m, n)))


def _sample_from_sets(sets: list[np.ndarray], k: int, rng: np.random.Generator) -> np.ndarray:
    out = np.full((len(sets), k), -1, dtype=np.int64)
    for i, cand in enumerate(sets):
        take = min(k, cand.size)
        if take:
            out[i, :take] = rng.choice(cand, take, replace=False)
    return out


def _filter_sets(B: sp.csr_array, sets: list[np.ndarray]) -> list[np.ndarray]:
    return [np.setdiff1d(np.unique(cand), B.indices[B.indptr[i] : B.indptr[i + 1]]) for i, cand in enumerate(sets)]


# -- strategies: one function each, validating exactly its own options ----------------------
def _uniform(ctx: _Context) -> np.ndarray:
    return sample_distinct(ctx.banned, ctx.k, ctx.rng).indices


def _degree_weights(graph: LinkGraph, power: float) -> np.ndarray:
    beta = check_float(power, "power", min_value=0.0)
    deg = np.asarray(graph.undirected().sum(axis=1), dtype=np.float64).ravel()
    return deg**beta


def _degree(ctx: _Context, power: float) -> np.ndarray:
    return sample_distinct(ctx.banned, ctx.k, ctx.rng, weights=_degree_weights(ctx.graph, power)).indices


# strategies that draw from the banned pattern alone (no per-source candidate sets)
PATTERN_STRATEGIES = ("uniform", "degree")


def citing_banned(graph: LinkGraph, src: np.ndarray, exclude_hops: int) -> sp.csr_array:
    """The banned pattern of ``sources=src`` with ``exclude`` = each source's out-links, in one pass.

    The same pattern as the strategies build when given those ``exclude`` rows (a source's
    out-links are within one hop), for ``exclude_hops`` 0 or 1: the source itself plus its
    row of the adjacency (0) or of the undirected adjacency (1). Row slices of it serve
    chunks of ``src``: ``draw_from_pattern(..., banned[lo:hi], ...)`` equals the strategy
    called on ``src[lo:hi]``, for the same generator.

    >>> g = LinkGraph.from_index_edges([[0, 2], [1, 0], [2, 3]])
    >>> citing_banned(g, np.array([0, 2]), 1).toarray().astype(int).tolist()
    [[1, 1, 1, 0], [1, 0, 1, 1]]
    """
    if exclude_hops not in (0, 1):
        raise ValueError(f"`exclude_hops` must be 0 or 1 here, got {exclude_hops}.")
    src = np.asarray(src, dtype=np.int64)
    m, n = src.size, graph.num_nodes
    A = graph.adjacency
    # the undirected pattern as one sparse sum (graph.undirected() keeps weights: 10x slower)
    P = (A if exclude_hops == 0 else A + A.T.tocsr())[src]
    indptr, cols = P.indptr.astype(np.int64), P.indices.astype(np.int64)
    per_row = np.diff(indptr)
    row = np.repeat(np.arange(m, dtype=np.int64), per_row)
    owner = src[row]
    below = np.bincount(row[cols < owner], minlength=m)  # where the source itself goes in its row
    missing = np.bincount(row[cols == owner], minlength=m) == 0  # (a self-loop is there already)
    at = indptr[:-1][missing] + below[missing]
    cols = np.insert(cols, at, src[missing])
    indptr = indptr + np.concatenate(([0], np.cumsum(missing)))
    B = sp.csr_array((np.ones(cols.size, dtype=bool), cols, indptr), shape=(m, n))
    B.has_canonical_format = True  # sorted and unique by construction
    return B


def draw_from_pattern(
    name: str, graph: LinkGraph, banned: sp.csr_array, k: int, rng: np.random.Generator, *,
    rows: np.ndarray | None = None, **options: Any,
) -> np.ndarray:
    """``name``'s negatives (one of :data:`PATTERN_STRATEGIES`) given its banned pattern.

    ``rows``: pattern row of each output row (several output rows may share one source: one
    draw per citation instead of per citing paper); None, one output row per pattern row.
    """
    if name == "uniform":
        return sample_distinct(banned, k, rng, rows=rows).indices
    if name == "degree":
        # the public function's default power unless one is bound
        power = options.get("power", inspect.signature(degree_link_negatives).parameters["power"].default)
        return sample_distinct(banned, k, rng, rows=rows, weights=_degree_weights(graph, power)).indices
    raise ValueError(f"{name!r} does not draw from a pattern; use one of {PATTERN_STRATEGIES}.")


def _khop(ctx: _Context, hops: int) -> np.ndarray:
    hops = check_int(hops, "hops", min_value=1)
    if hops <= ctx.exclude_hops:
        raise ValueError(f"`hops` ({hops}) must be > `exclude_hops` ({ctx.exclude_hops}): those are excluded.")
    return _sample_from_sets(_filter_sets(ctx.banned, ctx.graph.k_hop(ctx.src, hops, exact=True)), ctx.k, ctx.rng)


def _specter(ctx: _Context) -> np.ndarray:
    D = ctx.graph.hop_distances(ctx.src, 2, directed=True)
    sets = [D.indices[D.indptr[i] : D.indptr[i + 1]][D.data[D.indptr[i] : D.indptr[i + 1]] == 2]
            for i in range(ctx.src.size)]
    return _sample_from_sets(_filter_sets(ctx.banned, sets), ctx.k, ctx.rng)


def _window(value: Any, name: str) -> tuple[int, int]:
    """A rank window ``(start, stop)`` of non-negative ints with ``stop > start``."""
    try:
        start, stop = value
    except (TypeError, ValueError) as err:
        raise TypeError(f"`{name}` must be a (start, stop) pair, got {value!r}.") from err
    start, stop = check_int(start, name, min_value=0), check_int(stop, name, min_value=0)
    if stop <= start:
        raise ValueError(f"`{name}` must be (start, stop) with stop > start, got {value}.")
    return start, stop


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


def _ppr(ctx: _Context, alpha: float, window: tuple[int, int], num_iterations: int) -> np.ndarray:
    r0, r1 = _window(window, "window")
    alpha = check_float(alpha, "alpha", min_value=0.0, max_value=1.0, min_inclusive=False)
    iterations = check_int(num_iterations, "num_iterations")
    sets = []
    B = ctx.banned
    for i, x in enumerate(_ppr_scores(ctx.graph, ctx.src, alpha, iterations)):
        x[B.indices[B.indptr[i] : B.indptr[i + 1]]] = -np.inf  # x is our own block row
        order = np.argsort(-x, kind="stable")
        sets.append(order[np.isfinite(x[order]) & (x[order] > 0)][r0:r1])
    return _sample_from_sets(sets, ctx.k, ctx.rng)


def run_strategy(
    name: str, graph: Any, sources: Any, num_negatives: Any, exclude_hops: Any, exclude: Any, seed: SeedLike,
    strategy: Callable[..., Any], **options: Any,
) -> LinkNegatives:
    """The shared steps of every strategy: checks, banned set, the strategy, the shortage warning."""
    if not isinstance(graph, LinkGraph):
        raise TypeError(f"`graph` must be a graphneg.LinkGraph, got {type(graph).__name__}.")
    k = check_int(num_negatives, "num_negatives")
    exclude_hops = check_int(exclude_hops, "exclude_hops", min_value=0)
    rng = check_rng(seed)
    src = np.arange(graph.num_nodes, dtype=np.int64) if sources is None else check_node_rows(sources, graph.num_nodes)
    ctx = _Context(graph, src, _banned(graph, src, exclude_hops, exclude), k, rng, exclude_hops)
    result = strategy(ctx, **options)
    out, positives = result if isinstance(result, tuple) else (result, None)
    n_short = warn_short(out, k, "sources", f"'{name}' negatives")
    return LinkNegatives(src, out, n_short, positives)


def uniform_link_negatives(
    graph: LinkGraph, sources: Any = None, *, num_negatives: int = 5, exclude_hops: int = 1, exclude: Any = None,
    seed: SeedLike = 0,
) -> LinkNegatives:
    r"""Negatives drawn uniformly from the nodes that are not banned for the source.

    For source :math:`q` the banned set is

    .. math::

        \mathcal B(q) = \{q\} \cup \{v : d_U(q, v) \le h_\text{ex}\} \cup X(q)

    with :math:`h_\text{ex}` = ``exclude_hops`` and :math:`X` = ``exclude``; ``num_negatives``
    distinct nodes are drawn uniformly from :math:`V \setminus \mathcal B(q)` (PyG's
    ``negative_sampling``, but never short while enough nodes are allowed).

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
        Shortage policy (the same as :func:`graphneg.link_split`'s): a source with fewer
        candidates than ``num_negatives`` gets all of them followed by ``-1``; one warning
        counts such sources (``n_short``).

    See Also
    --------
    uniform_link_negatives, khop_link_negatives, degree_link_negatives, ppr_link_negatives,
    specter_link_negatives, bica_link_negatives, scincl_link_negatives : the other strategies.
    graphneg.link_split : held-out links with the same shortage policy.

    Notes
    -----
    Rejection against sorted ``(source, node)`` keys (:func:`graphneg._sampling.sample_distinct`),
    :math:`O(n_\text{sources} \cdot k \log E)` for sparse graphs; a source whose allowed set is
    small is drawn exactly from it.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    >>> neg = uniform_link_negatives(g, [0], num_negatives=2, seed=0)
    >>> neg.indices.shape, bool(np.isin(neg.indices, [0, 1]).any())
    ((1, 2), False)
    """
    return run_strategy("uniform", graph, sources, num_negatives, exclude_hops, exclude, seed, _uniform)


def khop_link_negatives(
    graph: LinkGraph, sources: Any = None, *, hops: int = 2, num_negatives: int = 5, exclude_hops: int = 1,
    exclude: Any = None, seed: SeedLike = 0,
) -> LinkNegatives:
    r"""Negatives at exactly ``hops`` undirected hops from the source (SANS), uniformly.

    Candidates of :math:`q`: :math:`\{v : d_U(q, v) = h\} \setminus \mathcal B(q)`
    (:func:`uniform_link_negatives` defines :math:`\mathcal B`). Reference: K. Ahrabian et al.,
    "Structure Aware Negative Sampling in Knowledge Graphs", EMNLP 2020,
    arXiv:2009.11355.

    Parameters
    ----------
    graph : LinkGraph
    sources : array-like of int, default=None
    hops : int, default=2
        The exact distance :math:`h` of the candidates; must be > ``exclude_hops``.
    num_negatives, exclude_hops, exclude, seed
        As in :func:`uniform_link_negatives` (defaults 5, 1, None, 0).

    Returns
    -------
    LinkNegatives
        ``-1`` padded; one :class:`~graphneg.GraphNegWarning` counts short sources.

    Raises
    ------
    ValueError
        ``hops <= exclude_hops`` (those nodes are all excluded).

    See Also
    --------
    uniform_link_negatives, khop_link_negatives, degree_link_negatives, ppr_link_negatives,
    specter_link_negatives, bica_link_negatives, scincl_link_negatives : the other strategies.
    graphneg.link_split : held-out links with the same shortage policy.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    >>> khop_link_negatives(g, [0, 5], hops=2, num_negatives=1).indices.tolist()
    [[2], [3]]
    """
    return run_strategy("khop", graph, sources, num_negatives, exclude_hops, exclude, seed, _khop, hops=hops)


def degree_link_negatives(
    graph: LinkGraph, sources: Any = None, *, power: float = 0.75, num_negatives: int = 5, exclude_hops: int = 1,
    exclude: Any = None, seed: SeedLike = 0,
) -> LinkNegatives:
    r"""Negatives drawn by degree, :math:`P(v) \propto \deg_U(v)^\beta`, without replacement.

    Over :math:`V \setminus \mathcal B(q)` (:func:`uniform_link_negatives`); zero-degree nodes
    are never drawn. :math:`\beta = 0.75` is word2vec's unigram exponent (Mikolov et al.,
    NeurIPS 2013, arXiv:1310.4546), used for graphs by PinSage.

    Parameters
    ----------
    graph : LinkGraph
    sources : array-like of int, default=None
    power : float, default=0.75
        The exponent :math:`\beta \ge 0`.
    num_negatives, exclude_hops, exclude, seed
        As in :func:`uniform_link_negatives` (defaults 5, 1, None, 0).

    Returns
    -------
    LinkNegatives
        ``-1`` padded; one :class:`~graphneg.GraphNegWarning` counts short sources.

    See Also
    --------
    uniform_link_negatives, khop_link_negatives, degree_link_negatives, ppr_link_negatives,
    specter_link_negatives, bica_link_negatives, scincl_link_negatives : the other strategies.
    graphneg.link_split : held-out links with the same shortage policy.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 2]])
    >>> degree_link_negatives(g, [0], num_negatives=2, seed=0).indices.shape
    (1, 2)
    """
    return run_strategy("degree", graph, sources, num_negatives, exclude_hops, exclude, seed, _degree, power=power)


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
        As in :func:`uniform_link_negatives` (defaults 5, 1, None, 0).

    Returns
    -------
    LinkNegatives
        ``-1`` padded; one :class:`~graphneg.GraphNegWarning` counts short sources.

    See Also
    --------
    uniform_link_negatives, khop_link_negatives, degree_link_negatives, ppr_link_negatives,
    specter_link_negatives, bica_link_negatives, scincl_link_negatives : the other strategies.
    graphneg.link_split : held-out links with the same shortage policy.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [1, 3]])
    >>> sorted(specter_link_negatives(g, [0], num_negatives=2).indices[0].tolist())
    [2, 3]
    """
    return run_strategy("specter", graph, sources, num_negatives, exclude_hops, exclude, seed, _specter)


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
        As in :func:`uniform_link_negatives` (defaults 5, 1, None, 0).

    Returns
    -------
    LinkNegatives
        ``-1`` padded; one :class:`~graphneg.GraphNegWarning` counts short sources.

    See Also
    --------
    uniform_link_negatives, khop_link_negatives, degree_link_negatives, ppr_link_negatives,
    specter_link_negatives, bica_link_negatives, scincl_link_negatives : the other strategies.
    graphneg.link_split : held-out links with the same shortage policy.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[i, i + 1] for i in range(20)])
    >>> ppr_link_negatives(g, [0], window=(0, 5), num_negatives=2, seed=0).indices.shape
    (1, 2)
    """
    return run_strategy("ppr", graph, sources, num_negatives, exclude_hops, exclude, seed, _ppr, alpha=alpha,
                        window=window, num_iterations=num_iterations)
