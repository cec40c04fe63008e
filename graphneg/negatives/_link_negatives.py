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

=============  ==========================================================================
strategy       candidates of source :math:`q`
=============  ==========================================================================
``uniform``    all nodes, uniformly (PyG ``negative_sampling``, but never short)
``khop``       :math:`\{v : d_U(q, v) = h\}` (SANS), uniformly
``degree``     all nodes with :math:`P(v) \propto \deg_U(v)^{0.75}` (word2vec/PinSage)
``ppr``        ranks ``[r_0, r_1)`` of personalised PageRank from :math:`q` (PinSage/HeaRT)
``specter``    citations of citations not cited by :math:`q`: :math:`R_2 \setminus R_1`
``bica``       BiCA's similarity-guided walk over :math:`R_1 \cup R_2` (needs embeddings)
``scincl``     ranks ``[k_0, k_1)`` of kNN in a graph embedding + random beyond ``k_max``
=============  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike, check_rng
from .._sampling import sample_distinct, warn_short
from .._sparse import as_pairs_matrix, canonical_csr, csr_member
from .._validation import check_bool, check_choice, check_embeddings, check_float, check_int, safe_normalize
from ..links._graph import LinkGraph, check_node_rows

Strategy = Literal["uniform", "khop", "degree", "ppr", "bica", "specter", "scincl"]


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
        ``scincl`` only: the rank-window positives (``-1`` padded).

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4]])
    >>> res = link_negatives(g, [0], num_negatives=2, seed=0)
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


def _degree(ctx: _Context, degree_power: float) -> np.ndarray:
    beta = check_float(degree_power, "degree_power", min_value=0.0)
    deg = np.asarray(ctx.graph.undirected().sum(axis=1), dtype=np.float64).ravel()
    return sample_distinct(ctx.banned, ctx.k, ctx.rng, weights=deg**beta).indices


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


def _ppr(ctx: _Context, ppr_alpha: float, ppr_window: tuple[int, int], ppr_iterations: int) -> np.ndarray:
    r0, r1 = _window(ppr_window, "ppr_window")
    alpha = check_float(ppr_alpha, "ppr_alpha", min_value=0.0, max_value=1.0, min_inclusive=False)
    iterations = check_int(ppr_iterations, "ppr_iterations")
    sets = []
    B = ctx.banned
    for i, x in enumerate(_ppr_scores(ctx.graph, ctx.src, alpha, iterations)):
        x[B.indices[B.indptr[i] : B.indptr[i + 1]]] = -np.inf  # x is our own block row
        order = np.argsort(-x, kind="stable")
        sets.append(order[np.isfinite(x[order]) & (x[order] > 0)][r0:r1])
    return _sample_from_sets(sets, ctx.k, ctx.rng)


def _unit_embeddings(embeddings: Any, name: str, n_rows: int, what: str, metric: str | None = None) -> np.ndarray:
    """``embeddings`` checked (one row per ``what``) and scaled to unit rows; zero rows stay zero.

    ``metric='cosine'`` rejects zero rows (BiCA's cosines need them); otherwise they stay zero
    (SciNCL: isolated nodes have zero graph embeddings).
    """
    E = check_embeddings(embeddings, name, metric=metric)
    if E.shape[0] != n_rows:
        raise ValueError(f"`{name}` must have one row per {what} ({n_rows}), got {E.shape[0]}.")
    out = np.zeros(E.shape, dtype=np.float32)
    nonzero = E.any(axis=1)
    out[nonzero] = safe_normalize(E[nonzero], name)  # exact at any magnitude
    return out


def _bica(
    ctx: _Context, embeddings: Any, query_embeddings: Any, bica_paths: int, bica_path_length: int,
    bica_top_k: int, bica_random: bool,
) -> np.ndarray:
    if embeddings is None:
        raise ValueError("strategy='bica' needs `embeddings` (text embeddings of the nodes).")
    walk = {
        "n_paths": check_int(bica_paths, "bica_paths"),
        "length": check_int(bica_path_length, "bica_path_length"),
        "top_k": check_int(bica_top_k, "bica_top_k"),
    }
    add_random = check_bool(bica_random, "bica_random")
    src = ctx.src
    E = _unit_embeddings(embeddings, "embeddings", ctx.graph.num_nodes, "node", metric="cosine")
    Q = E[src] if query_embeddings is None else _unit_embeddings(
        query_embeddings, "query_embeddings", src.size, "source", metric="cosine")
    if Q.shape[1] != E.shape[1]:
        raise ValueError(f"`query_embeddings` must have shape ({src.size}, {E.shape[1]}), got {Q.shape}.")
    D = ctx.graph.hop_distances(src, 2, directed=True)  # references and references of references
    out = np.full((src.size, ctx.k), -1, dtype=np.int64)
    for i in range(src.size):
        pool_all, dist = D.indices[D.indptr[i] : D.indptr[i + 1]], D.data[D.indptr[i] : D.indptr[i + 1]]
        # BiCA only bans the seed; graphneg also keeps true links and exclusions out
        pool = np.setdiff1d(pool_all, ctx.banned.indices[ctx.banned.indptr[i] : ctx.banned.indptr[i + 1]])
        seen = np.zeros(ctx.graph.num_nodes, dtype=bool)
        seen[src[i]] = True
        visited = _bica_walks(E, Q[i], pool_all, np.setdiff1d(pool_all[dist == 1], [src[i]]), seen, ctx.rng, **walk)
        allowed = set(pool.tolist())
        negs = [v for v in visited if v in allowed]
        rest = pool[~seen[pool]]
        if add_random and rest.size:
            negs.append(int(ctx.rng.choice(rest)))
        negs = list(dict.fromkeys(negs))[: ctx.k]
        out[i, : len(negs)] = negs
    return out


def _bica_walks(
    E: np.ndarray, q: np.ndarray, pool_all: np.ndarray, hop1: np.ndarray, seen: np.ndarray,
    rng: np.random.Generator, *, n_paths: int, length: int, top_k: int,
) -> list[int]:
    """BiCA's walks: from the ``n_paths`` first-hop papers closest to the query, softmax steps."""
    visited: list[int] = []
    starts = hop1[np.argsort(-(E[hop1] @ q), kind="stable")][:n_paths]
    seen[starts] = True  # each walk owns its start: the others never step onto it
    for start in starts:
        current = int(start)
        visited.append(current)
        for _ in range(length - 1):
            cand = pool_all[~seen[pool_all]]
            if cand.size == 0:
                break
            sims = E[cand] @ E[current]
            top = np.argsort(-sims, kind="stable")[:top_k]
            p = np.exp(sims[top] - sims[top].max())
            current = int(cand[top][rng.choice(top.size, p=p / p.sum())])
            seen[current] = True
            visited.append(current)
    return visited


def _scincl_settings(
    k: int, n_nodes: int, pos_window: Any, hard_window: Any, n_hard: Any, n_pos: Any
) -> tuple[tuple[int, int], tuple[int, int], int, int]:
    n_hard = check_int(n_hard, "scincl_hard", min_value=0)
    n_pos = check_int(n_pos, "scincl_positives", min_value=0)
    if n_hard > k:
        raise ValueError(f"`scincl_hard` ({n_hard}) must be <= num_negatives ({k}).")
    (p0, p1), (h0, h1) = _window(pos_window, "scincl_positive_window"), _window(hard_window, "scincl_hard_window")
    if p1 > h0:
        raise ValueError(
            f"SciNCL windows must satisfy 0 <= positive start < positive stop <= hard start < hard stop, "
            f"got positives {pos_window} and hard {hard_window}."
        )
    if n_pos > p1 - p0 or n_hard > h1 - h0:
        raise ValueError("more SciNCL positives/hard negatives asked for than their windows hold.")
    if h1 > n_nodes - 1:
        raise ValueError(
            f"`scincl_hard_window` stop ({h1}) must be <= n_nodes - 1 ({n_nodes - 1}); "
            "scale the windows to the corpus size."
        )
    return (p0, p1), (h0, h1), n_hard, n_pos


def _scincl(
    ctx: _Context, embeddings: Any, scincl_positive_window: Any, scincl_hard_window: Any,
    scincl_hard: int, scincl_positives: int,
) -> tuple[np.ndarray, np.ndarray]:
    from ..similarity._knn import knn_search

    if embeddings is None:
        raise ValueError("strategy='scincl' needs `embeddings` (graph embeddings of the nodes).")
    (p0, p1), (h0, h1), n_hard, n_pos = _scincl_settings(
        ctx.k, ctx.graph.num_nodes, scincl_positive_window, scincl_hard_window, scincl_hard, scincl_positives
    )
    # isolated nodes have zero graph embeddings: they stay zero rows
    E = _unit_embeddings(embeddings, "embeddings", ctx.graph.num_nodes, "node")
    src, rng = ctx.src, ctx.rng
    idx, _ = knn_search(E[src], h1 + 1, targets=E, metric="ip")
    idx = np.array([row[row != s][:h1] for row, s in zip(idx, src, strict=True)]).reshape(src.size, h1)
    out = np.full((src.size, ctx.k), -1, dtype=np.int64)
    pos = np.full((src.size, n_pos), -1, dtype=np.int64)
    for i in range(src.size):
        if n_pos:
            pos[i] = rng.choice(idx[i, p0:p1], n_pos, replace=False)
        hard = idx[i, h0:h1]
        hard = hard[~csr_member(ctx.banned, np.full(hard.size, i), hard)]
        take = min(n_hard, hard.size)
        out[i, :take] = rng.choice(hard, take, replace=False)
    if ctx.k > n_hard:
        _scincl_easy(ctx, idx, out, n_hard)
    return out, pos


def _scincl_easy(ctx: _Context, idx: np.ndarray, out: np.ndarray, n_hard: int) -> None:
    """Easy negatives, random among nodes beyond the top ``h1`` (SciNCL's random_without_knn)."""
    B = ctx.banned
    rows = np.r_[np.repeat(np.arange(B.shape[0]), np.diff(B.indptr)), np.repeat(np.arange(idx.shape[0]), idx.shape[1])]
    cols = np.r_[B.indices, idx.ravel()]
    B2 = canonical_csr(sp.csr_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=B.shape))
    easy = sample_distinct(B2, ctx.k - n_hard, ctx.rng).indices
    for i in range(out.shape[0]):
        row = np.r_[out[i][out[i] >= 0], easy[i][easy[i] >= 0]][: ctx.k]
        out[i] = -1
        out[i, : row.size] = row


# name -> (function, its options with their defaults); `embeddings` is shared by two strategies
_STRATEGIES: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "uniform": (_uniform, {}),
    "khop": (_khop, {"hops": 2}),
    "degree": (_degree, {"degree_power": 0.75}),
    "ppr": (_ppr, {"ppr_alpha": 0.15, "ppr_window": (10, 100), "ppr_iterations": 30}),
    "bica": (_bica, {"embeddings": None, "query_embeddings": None, "bica_paths": 3, "bica_path_length": 3,
                     "bica_top_k": 5, "bica_random": True}),
    "specter": (_specter, {}),
    "scincl": (_scincl, {"embeddings": None, "scincl_positive_window": (20, 25),
                         "scincl_hard_window": (3998, 4000), "scincl_hard": 2, "scincl_positives": 5}),
}
STRATEGIES = tuple(_STRATEGIES)


def strategy_options(strategy: str, given: dict[str, Any]) -> dict[str, Any]:
    """The chosen strategy's options (defaults filled in); an option it does not use is an error."""
    run, defaults = _STRATEGIES[strategy]
    for name, value in given.items():
        if value is not None and name not in defaults:
            users = [s for s, (_, opts) in _STRATEGIES.items() if name in opts]
            raise ValueError(
                f"`{name}` is only used by strategy={' or '.join(map(repr, users))}, "
                f"got strategy={strategy!r}; drop it."
            )
    return {name: default if given.get(name) is None else given[name] for name, default in defaults.items()}


def link_negatives(
    graph: LinkGraph,
    sources: Any = None,
    *,
    strategy: Strategy = "uniform",
    num_negatives: int = 5,
    seed: SeedLike = 0,
    exclude_hops: int = 1,
    exclude: Any = None,
    hops: int | None = None,
    degree_power: float | None = None,
    ppr_alpha: float | None = None,
    ppr_window: tuple[int, int] | None = None,
    ppr_iterations: int | None = None,
    embeddings: Any = None,
    query_embeddings: Any = None,
    bica_paths: int | None = None,
    bica_path_length: int | None = None,
    bica_top_k: int | None = None,
    bica_random: bool | None = None,
    scincl_positive_window: tuple[int, int] | None = None,
    scincl_hard_window: tuple[int, int] | None = None,
    scincl_hard: int | None = None,
    scincl_positives: int | None = None,
) -> LinkNegatives:
    r"""Sample negatives for each source node from the link structure.

    Every strategy draws, for source :math:`q`, ``num_negatives`` distinct nodes of its
    candidate set (module docstring) minus the banned set

    .. math::

        \mathcal B(q) = \{q\} \cup \{v : d_U(q, v) \le h_\text{ex}\} \cup X(q)

    with :math:`h_\text{ex}` = ``exclude_hops`` and :math:`X` = ``exclude``. ``uniform``
    draws uniformly from :math:`V \setminus \mathcal B(q)`, ``degree`` with
    :math:`P(v) \propto \deg_U(v)^\beta` on it (zero-degree nodes are never drawn).

    Strategy options (``hops``, ``degree_power``, ``ppr_*``, ``embeddings``,
    ``query_embeddings``, ``bica_*``, ``scincl_*``) are validated when, and only when, their
    strategy runs; ``None`` means the default listed below, and passing an option that the
    chosen strategy does not use is a ``ValueError`` naming it.

    Parameters
    ----------
    graph : LinkGraph
        Directed citation/link graph.
    sources : array-like of int, default=None
        Source rows; ``None`` means every node.
    strategy : {'uniform', 'khop', 'degree', 'ppr', 'bica', 'specter', 'scincl'}, default='uniform'
        See the module docstring for each candidate set.
    num_negatives : int, default=5
        Negatives per source (for ``scincl``: hard + easy, of which ``scincl_hard`` hard).
    seed : int or Generator, default=0
    exclude_hops : int, default=1
        Never return a node within this many undirected hops: 1 = direct links either way
        (the filtered default), 2 also excludes co-cited/co-citing neighbours, 0 excludes
        only the source itself and ``exclude`` (BiCA as published, which uses the seed's
        own references as hard negatives: ``strategy='bica', exclude_hops=0``).
    exclude : sequence of int sequences or sparse (n_sources, n_nodes), default=None
        Further rows to exclude per source (known positives). Never modified.
    hops : int, default=2
        ``khop``: the exact distance of the candidates (must be > ``exclude_hops``).
    degree_power : float, default=0.75
        ``degree``: exponent :math:`\beta` in :math:`P(v) \propto \deg(v)^\beta`.
    ppr_alpha, ppr_window, ppr_iterations : default=0.15, (10, 100), 30
        ``ppr``: teleport probability in ``(0, 1]``, the rank window ``[r_0, r_1)`` among
        non-excluded nodes ordered by PPR score, and power iterations.
    embeddings : array-like of shape (n_nodes, dim), default=None
        Node embeddings, required by ``bica`` (text embeddings) and ``scincl`` (graph
        embeddings, e.g. :func:`graphneg.graph_embedding`).
    query_embeddings : array-like of shape (n_sources, dim), default=None
        ``bica``: the query of each source (BiCA: a generated query); default the source's
        own embedding.
    bica_paths, bica_path_length, bica_top_k, bica_random : default=3, 3, 5, True
        BiCA: 3 walks of 3 nodes, each starting at one of the 3 first-hop papers most
        similar to the query, each further step sampled with
        :math:`P \propto \mathrm{softmax}(\cos)` among the ``top_k`` = 5 unvisited papers of
        the 2-hop pool most similar to the current one (visited set shared by the walks),
        plus one random unvisited pool paper.
    scincl_positive_window, scincl_hard_window, scincl_hard, scincl_positives : default=(20, 25), (3998, 4000), 2, 5
        SciNCL: positives from kNN ranks ``[20, 25)``, ``scincl_hard`` hard negatives from
        ranks ``[3998, 4000)``, the rest random among nodes beyond rank ``k_max`` = 4000.
        Windows larger than the graph are an error: scale them to your corpus (SciNCL's
        were set for ~600k papers).

    Returns
    -------
    LinkNegatives

    Raises
    ------
    ValueError
        Bad ``strategy`` or option values, an option the strategy does not use, a
        strategy's required ``embeddings`` missing.

    Warns
    -----
    GraphNegWarning
        Shortage policy (the same as :func:`graphneg.link_split`'s): a source with fewer
        candidates than ``num_negatives`` gets all of them followed by ``-1``; one warning
        counts such sources (``n_short``).

    Notes
    -----
    ``uniform`` and ``degree`` use :func:`graphneg._sampling.sample_distinct`: rejection
    against sorted ``(source, node)`` keys, :math:`O(n_\text{sources} \cdot k \log E)` for
    sparse graphs; a source whose allowed set is small is drawn exactly from it, so it is
    short only when fewer than ``num_negatives`` candidates exist at all.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    >>> neg = link_negatives(g, [0, 5], strategy="khop", hops=2, num_negatives=1)
    >>> neg.indices.tolist()
    [[2], [3]]
    >>> link_negatives(g, [0], strategy="uniform", hops=2)
    Traceback (most recent call last):
    ...
    ValueError: `hops` is only used by strategy='khop', got strategy='uniform'; drop it.
    """
    given = dict(
        hops=hops, degree_power=degree_power, ppr_alpha=ppr_alpha, ppr_window=ppr_window,
        ppr_iterations=ppr_iterations, embeddings=embeddings, query_embeddings=query_embeddings,
        bica_paths=bica_paths, bica_path_length=bica_path_length, bica_top_k=bica_top_k, bica_random=bica_random,
        scincl_positive_window=scincl_positive_window, scincl_hard_window=scincl_hard_window,
        scincl_hard=scincl_hard, scincl_positives=scincl_positives,
    )
    if not isinstance(graph, LinkGraph):
        raise TypeError(f"`graph` must be a graphneg.LinkGraph, got {type(graph).__name__}.")
    strategy = check_choice(strategy, "strategy", STRATEGIES)
    options = strategy_options(strategy, given)
    k = check_int(num_negatives, "num_negatives")
    exclude_hops = check_int(exclude_hops, "exclude_hops", min_value=0)
    rng = check_rng(seed)
    src = np.arange(graph.num_nodes, dtype=np.int64) if sources is None else check_node_rows(sources, graph.num_nodes)
    ctx = _Context(graph, src, _banned(graph, src, exclude_hops, exclude), k, rng, exclude_hops)
    result = _STRATEGIES[strategy][0](ctx, **options)
    out, positives = result if isinstance(result, tuple) else (result, None)
    n_short = warn_short(out, k, "sources", f"'{strategy}' negatives")
    return LinkNegatives(src, out, n_short, positives)
