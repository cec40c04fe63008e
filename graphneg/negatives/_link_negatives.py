r"""Negatives from link structure: filtered uniform, k-hop, degree, PPR, BiCA, SPECTER, SciNCL.

Every strategy returns, per source node, ``num_negatives`` target rows that are never the
source and, by default, never a true link of it in either direction (``exclude_hops=1``);
a wider false-negative risk set is excluded with ``exclude_hops=h`` (everything within
``h`` undirected hops) and ``exclude`` (known positives). Sources that end up short are
counted.

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

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike, check_rng
from .._validation import check_choice, check_embeddings, check_float, check_int
from ..exceptions import GraphNegWarning
from ..links._graph import LinkGraph
from ._mining import as_pairs_matrix

__all__ = ["LinkNegatives", "link_negatives", "STRATEGIES"]

Strategy = Literal["uniform", "khop", "degree", "ppr", "bica", "specter", "scincl"]
STRATEGIES = ("uniform", "khop", "degree", "ppr", "bica", "specter", "scincl")


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
    """

    sources: np.ndarray
    indices: np.ndarray
    n_short: int
    positives: np.ndarray | None = None


def _banned(graph: LinkGraph, src: np.ndarray, exclude_hops: int, exclude: Any) -> sp.csr_array:
    """(n_sources x n_nodes) pattern of rows never to return: self, links, hops, exclusions."""
    n, m = graph.n_nodes, src.size
    B = sp.csr_array((np.ones(m, np.float32), (np.arange(m), src)), shape=(m, n))
    if exclude_hops:
        D = graph.hop_distances(src, exclude_hops)
        B = B + sp.csr_array((np.ones(D.nnz, np.float32), D.indices, D.indptr), shape=(m, n))
    if exclude is not None:
        X = as_pairs_matrix(exclude, m, n, "exclude")
        B = B + sp.csr_array((np.ones(X.nnz, np.float32), X.indices, X.indptr), shape=(m, n))
    B = B.tocsr()
    B.sum_duplicates()
    B.data[:] = 1
    B.sort_indices()
    return B


def _is_banned(B: sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    n = B.shape[1]
    r = np.repeat(np.arange(B.shape[0], dtype=np.int64), np.diff(B.indptr))
    keys = r * n + B.indices
    q = rows.astype(np.int64) * n + cols
    if keys.size == 0:
        return np.zeros(q.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(keys, q), keys.size - 1)
    return keys[pos] == q


def _sample_from_weights(
    B: sp.csr_array, weights: np.ndarray | None, k: int, rng: np.random.Generator
) -> np.ndarray:
    """Per row, ``k`` distinct columns not in ``B``, uniformly or with ``P ~ weights``.

    Rejection sampling in rounds (draw several candidates per missing slot, keep the new,
    allowed ones); rows that keep failing fall back to an exact draw over their allowed set,
    so a row is short only when fewer than ``k`` columns are allowed at all.
    """
    m, n = B.shape
    out = np.full((m, k), -1, dtype=np.int64)
    filled = np.zeros(m, dtype=np.int64)
    cdf = None
    if weights is not None:
        cdf = np.cumsum(weights, dtype=np.float64)
        if cdf[-1] <= 0:
            return out
        cdf /= cdf[-1]
    allowed = n - np.diff(B.indptr)
    if weights is not None:
        # columns of zero weight can never be drawn
        zero = weights <= 0
        banned_zero = np.zeros(m, dtype=np.int64)
        if zero.any():
            coo_cols = B.indices
            banned_zero = np.bincount(
                np.repeat(np.arange(m), np.diff(B.indptr))[zero[coo_cols]], minlength=m
            )
        allowed = allowed - (int(zero.sum()) - banned_zero)
    need_total = np.minimum(allowed, k)
    for _ in range(8):
        rows = np.flatnonzero(filled < need_total)
        if rows.size == 0:
            break
        want = (need_total[rows] - filled[rows]) * 2 + 2
        r = np.repeat(rows, want)
        c = rng.random(r.size)
        cols = np.searchsorted(cdf, c, side="right") if cdf is not None else (c * n).astype(np.int64)
        cols = np.minimum(cols, n - 1)
        ok = ~_is_banned(B, r, cols)
        r, cols = r[ok], cols[ok]
        # drop draws already in the row (or repeated in this round): keep first occurrence
        key = r * n + cols
        existing = out[rows][out[rows] >= 0]
        ex_rows = np.repeat(rows, (out[rows] >= 0).sum(axis=1))
        taken = ex_rows * n + existing
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(key.size, dtype=bool)
        keep[first] = True
        keep &= ~np.isin(key, taken)
        r, cols = r[keep], cols[keep]
        order = np.argsort(r, kind="stable")
        r, cols = r[order], cols[order]
        rank = np.arange(r.size) - np.searchsorted(r, r)
        slot = filled[r] + rank
        fit = slot < need_total[r]
        out[r[fit], slot[fit]] = cols[fit]
        filled += np.bincount(r[fit], minlength=m)
    for row in np.flatnonzero(filled < need_total):  # dense graphs / tiny candidate sets
        cand = np.setdiff1d(np.arange(n), B.indices[B.indptr[row] : B.indptr[row + 1]])
        cand = np.setdiff1d(cand, out[row][out[row] >= 0])
        p = None
        if weights is not None:
            w = weights[cand]
            cand, w = cand[w > 0], w[w > 0]
            p = w / w.sum() if w.size else None
        take = min(int(need_total[row] - filled[row]), cand.size)
        if take:
            out[row, filled[row] : filled[row] + take] = rng.choice(cand, take, replace=False, p=p)
            filled[row] += take
    return out


def _sample_from_sets(sets: list[np.ndarray], k: int, rng: np.random.Generator) -> np.ndarray:
    out = np.full((len(sets), k), -1, dtype=np.int64)
    for i, cand in enumerate(sets):
        take = min(k, cand.size)
        if take:
            out[i, :take] = rng.choice(cand, take, replace=False)
    return out


def _filter_sets(B: sp.csr_array, sets: list[np.ndarray]) -> list[np.ndarray]:
    out = []
    for i, cand in enumerate(sets):
        banned = B.indices[B.indptr[i] : B.indptr[i + 1]]
        out.append(np.setdiff1d(np.unique(cand), banned))
    return out


def _ppr(graph: LinkGraph, src: np.ndarray, alpha: float, n_iter: int, block: int = 256) -> list[np.ndarray]:
    """Personalised PageRank scores (dense per block of sources) on the undirected graph."""
    U = graph.undirected()
    deg = np.asarray(U.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    P = sp.csr_array(U.multiply(inv[:, None]))  # row-stochastic transition matrix
    PT = P.T.tocsr()
    rows = []
    for start in range(0, src.size, block):
        s = src[start : start + block]
        e = np.zeros((s.size, graph.n_nodes), dtype=np.float64)
        e[np.arange(s.size), s] = 1.0
        x = e.copy()
        for _ in range(n_iter):
            x = alpha * e + (1 - alpha) * (PT @ x.T).T
        rows.extend(x)
    return rows


def link_negatives(
    graph: LinkGraph,
    sources: Any = None,
    *,
    strategy: Strategy = "uniform",
    num_negatives: int = 5,
    seed: SeedLike = 0,
    exclude_hops: int = 1,
    exclude: Any = None,
    hops: int = 2,
    degree_power: float = 0.75,
    ppr_alpha: float = 0.15,
    ppr_window: tuple[int, int] = (10, 100),
    ppr_iterations: int = 30,
    embeddings: Any = None,
    query_embeddings: Any = None,
    bica_paths: int = 3,
    bica_path_length: int = 3,
    bica_top_k: int = 5,
    bica_random: bool = True,
    scincl_positive_window: tuple[int, int] = (20, 25),
    scincl_hard_window: tuple[int, int] = (3998, 4000),
    scincl_hard: int = 2,
    scincl_positives: int = 5,
) -> LinkNegatives:
    r"""Sample negatives for each source node from the link structure.

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
        Further rows to exclude per source (known positives).
    hops : int, default=2
        ``khop``: the exact distance of the candidates (must be > ``exclude_hops``).
    degree_power : float, default=0.75
        ``degree``: exponent :math:`\beta` in :math:`P(v) \propto \deg(v)^\beta`.
    ppr_alpha, ppr_window, ppr_iterations
        ``ppr``: teleport probability, the rank window ``[r_0, r_1)`` among non-excluded
        nodes ordered by PPR score, and power iterations.
    embeddings : array-like of shape (n_nodes, dim), default=None
        Node embeddings: text embeddings for ``bica``; graph embeddings for ``scincl``
        (e.g. :func:`graphneg.graph_embedding.graph_embedding`).
    query_embeddings : array-like of shape (n_sources, dim), default=None
        ``bica``: the query of each source (BiCA: a generated query); default the source's
        own embedding.
    bica_paths, bica_path_length, bica_top_k, bica_random
        BiCA: 3 walks of 3 nodes, each starting at one of the 3 first-hop papers most
        similar to the query, each further step sampled with
        :math:`P \propto \mathrm{softmax}(\cos)` among the ``top_k`` = 5 unvisited papers of
        the 2-hop pool most similar to the current one (visited set shared by the walks),
        plus one random unvisited pool paper.
    scincl_positive_window, scincl_hard_window, scincl_hard, scincl_positives
        SciNCL: positives from kNN ranks ``[20, 25)``, ``scincl_hard`` hard negatives from
        ranks ``[3998, 4000)``, the rest random among nodes beyond rank ``k_max`` = 4000.
        Windows larger than the graph are an error: scale them to your corpus (SciNCL's
        were set for ~600k papers).

    Returns
    -------
    LinkNegatives

    Warns
    -----
    GraphNegWarning
        With the number of sources that got fewer than ``num_negatives``.

    Notes
    -----
    ``uniform`` and ``degree`` draw by rejection against a sorted array of banned
    ``(source, node)`` keys, so the cost is :math:`O(n_\text{sources} \cdot k \log E)`
    for sparse graphs; a source that keeps drawing banned nodes falls back to an exact draw
    over its allowed set, so the count is exact whenever enough candidates exist.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]])
    >>> neg = link_negatives(g, [0, 5], strategy="khop", hops=2, num_negatives=1)
    >>> neg.indices.tolist()
    [[2], [3]]
    """
    if not isinstance(graph, LinkGraph):
        raise TypeError(f"`graph` must be a graphneg.LinkGraph, got {type(graph).__name__}.")
    strategy = check_choice(strategy, "strategy", STRATEGIES)
    k = check_int(num_negatives, "num_negatives")
    exclude_hops = check_int(exclude_hops, "exclude_hops", min_value=0)
    rng = check_rng(seed)
    n = graph.n_nodes
    src = np.arange(n, dtype=np.int64) if sources is None else graph._check_sources(sources)
    B = _banned(graph, src, exclude_hops, exclude)
    positives = None

    if strategy == "uniform":
        out = _sample_from_weights(B, None, k, rng)
    elif strategy == "degree":
        beta = check_float(degree_power, "degree_power", min_value=0.0)
        deg = np.asarray(graph.undirected().sum(axis=1), dtype=np.float64).ravel()
        out = _sample_from_weights(B, deg**beta, k, rng)
    elif strategy == "khop":
        hops = check_int(hops, "hops", min_value=1)
        if hops <= exclude_hops:
            raise ValueError(f"`hops` ({hops}) must be > `exclude_hops` ({exclude_hops}): those are excluded.")
        out = _sample_from_sets(_filter_sets(B, graph.k_hop(src, hops, exact=True)), k, rng)
    elif strategy == "specter":
        D = graph.hop_distances(src, 2, directed=True)
        sets = [D.indices[D.indptr[i] : D.indptr[i + 1]][D.data[D.indptr[i] : D.indptr[i + 1]] == 2]
                for i in range(src.size)]
        out = _sample_from_sets(_filter_sets(B, sets), k, rng)
    elif strategy == "ppr":
        r0, r1 = (check_int(v, "ppr_window", min_value=0) for v in ppr_window)
        if r1 <= r0:
            raise ValueError(f"`ppr_window` must be (start, stop) with stop > start, got {ppr_window}.")
        alpha = check_float(ppr_alpha, "ppr_alpha", min_value=0.0, max_value=1.0, min_inclusive=False)
        scores = _ppr(graph, src, alpha, check_int(ppr_iterations, "ppr_iterations"))
        sets = []
        for i, x in enumerate(scores):
            x = x.copy()
            x[B.indices[B.indptr[i] : B.indptr[i + 1]]] = -np.inf
            order = np.argsort(-x, kind="stable")
            valid = order[np.isfinite(x[order]) & (x[order] > 0)]
            sets.append(valid[r0:r1])
        out = _sample_from_sets(sets, k, rng)
    elif strategy == "bica":
        out = _bica(graph, src, B, embeddings, query_embeddings, k, rng, bica_paths, bica_path_length,
                    bica_top_k, bica_random)
    else:
        out, positives = _scincl(graph, src, B, embeddings, k, rng, scincl_positive_window,
                                 scincl_hard_window, scincl_hard, scincl_positives)

    n_short = int(((out >= 0).sum(axis=1) < k).sum())
    if n_short:
        warnings.warn(
            f"{n_short} of {src.size} sources got fewer than {k} '{strategy}' negatives "
            "(too few candidates after exclusions).",
            GraphNegWarning,
            stacklevel=2,
        )
    return LinkNegatives(src, out, n_short, positives)


def _bica(graph, src, B, embeddings, query_embeddings, k, rng, n_paths, length, top_k, add_random):
    if embeddings is None:
        raise ValueError("strategy='bica' needs `embeddings` (text embeddings of the nodes).")
    E = check_embeddings(embeddings, "embeddings", metric="cosine")
    if E.shape[0] != graph.n_nodes:
        raise ValueError(f"`embeddings` must have one row per node ({graph.n_nodes}), got {E.shape[0]}.")
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    Q = E[src] if query_embeddings is None else check_embeddings(query_embeddings, "query_embeddings", metric="cosine")
    if Q.shape != (src.size, E.shape[1]):
        raise ValueError(f"`query_embeddings` must have shape ({src.size}, {E.shape[1]}), got {Q.shape}.")
    Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
    D = graph.hop_distances(src, 2, directed=True)  # references and references of references
    out = np.full((src.size, k), -1, dtype=np.int64)
    for i in range(src.size):
        lo, hi = D.indptr[i], D.indptr[i + 1]
        pool_all, dist = D.indices[lo:hi], D.data[lo:hi]
        banned = B.indices[B.indptr[i] : B.indptr[i + 1]]
        # BiCA only bans the seed; graphneg also keeps true links and exclusions out
        pool = np.setdiff1d(pool_all, banned)
        hop1 = np.setdiff1d(pool_all[dist == 1], [src[i]])
        visited: list[int] = []
        seen = np.zeros(graph.n_nodes, dtype=bool)
        seen[src[i]] = True
        starts = hop1[np.argsort(-(E[hop1] @ Q[i]), kind="stable")][:n_paths]
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
        allowed = set(pool.tolist())
        negs = [v for v in visited if v in allowed]
        if add_random:
            rest = pool[~seen[pool]]
            if rest.size:
                negs.append(int(rng.choice(rest)))
        negs = list(dict.fromkeys(negs))[:k]
        out[i, : len(negs)] = negs
    return out


def _scincl(graph, src, B, embeddings, k, rng, pos_window, hard_window, n_hard, n_pos):
    from ..similarity._knn import knn_search

    if embeddings is None:
        raise ValueError("strategy='scincl' needs `embeddings` (graph embeddings of the nodes).")
    n_hard = check_int(n_hard, "scincl_hard", min_value=0)
    n_pos = check_int(n_pos, "scincl_positives", min_value=0)
    if n_hard > k:
        raise ValueError(f"`scincl_hard` ({n_hard}) must be <= num_negatives ({k}).")
    p0, p1 = pos_window
    h0, h1 = hard_window
    if not (0 <= p0 < p1 <= h0 < h1):
        raise ValueError(
            f"SciNCL windows must satisfy 0 <= positive start < positive stop <= hard start < hard stop, "
            f"got positives {pos_window} and hard {hard_window}."
        )
    if n_pos > p1 - p0 or n_hard > h1 - h0:
        raise ValueError("more SciNCL positives/hard negatives asked for than their windows hold.")
    E = check_embeddings(embeddings, "embeddings", metric="ip")
    if E.shape[0] != graph.n_nodes:
        raise ValueError(f"`embeddings` must have one row per node ({graph.n_nodes}), got {E.shape[0]}.")
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    E = np.divide(E, norms, out=np.zeros_like(E), where=norms > 0)  # isolated nodes: zero rows
    if h1 > graph.n_nodes - 1:
        raise ValueError(
            f"`scincl_hard_window` stop ({h1}) must be <= n_nodes - 1 ({graph.n_nodes - 1}); "
            "scale the windows to the corpus size."
        )
    idx, _ = knn_search(E[src], h1 + 1, targets=E, metric="ip")
    idx = np.array([row[row != s][:h1] for row, s in zip(idx, src, strict=True)])
    out = np.full((src.size, k), -1, dtype=np.int64)
    pos = np.full((src.size, n_pos), -1, dtype=np.int64)
    for i in range(src.size):
        if n_pos:
            pos[i] = rng.choice(idx[i, p0:p1], n_pos, replace=False)
        hard = idx[i, h0:h1]
        hard = hard[~_is_banned(B, np.full(hard.size, i), hard)]
        take = min(n_hard, hard.size)
        out[i, :take] = rng.choice(hard, take, replace=False)
    # easy negatives: random among nodes beyond the top-h1 (SciNCL's random_without_knn)
    n_easy = k - n_hard
    if n_easy:
        rows = np.repeat(np.arange(src.size), h1)
        extra = sp.csr_array((np.ones(rows.size, np.float32), (rows, idx.ravel())), shape=B.shape)
        B2 = (B + extra).tocsr()
        B2.sum_duplicates()
        B2.sort_indices()
        easy = _sample_from_weights(B2, None, n_easy, rng)
        for i in range(src.size):
            hard_i = out[i][out[i] >= 0]
            e = easy[i][easy[i] >= 0]
            row = np.r_[hard_i, e][:k]
            out[i] = -1
            out[i, : row.size] = row
    return out, pos
