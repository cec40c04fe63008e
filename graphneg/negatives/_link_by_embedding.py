r"""Negatives from link structure and node embeddings: BiCA and SciNCL.

The two link-negative strategies that need embeddings of the nodes (text embeddings for
:func:`bica_link_negatives`, graph embeddings for :func:`scincl_link_negatives`); the shared
steps (banned set, shortage policy) are those of :mod:`graphneg.negatives._link_base`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike
from .._sampling import sample_distinct
from .._sparse import canonical_csr, csr_member
from .._validation import check_bool, check_embeddings, check_int, safe_normalize
from ..links._graph import LinkGraph
from ._link_base import LinkNegatives, StrategyContext, rank_window, run_strategy


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
    ctx: StrategyContext, embeddings: Any, query_embeddings: Any, num_paths: int, path_length: int, top_k: int,
    add_random: bool,
) -> np.ndarray:
    walk = {
        "n_paths": check_int(num_paths, "num_paths"),
        "length": check_int(path_length, "path_length"),
        "top_k": check_int(top_k, "top_k"),
    }
    add_random = check_bool(add_random, "add_random")
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
    n_hard = check_int(n_hard, "num_hard", min_value=0)
    n_pos = check_int(n_pos, "num_positives", min_value=0)
    if n_hard > k:
        raise ValueError(f"`num_hard` ({n_hard}) must be <= num_negatives ({k}).")
    (p0, p1), (h0, h1) = rank_window(pos_window, "positive_window"), rank_window(hard_window, "hard_window")
    if p1 > h0:
        raise ValueError(
            f"SciNCL windows must satisfy 0 <= positive start < positive stop <= hard start < hard stop, "
            f"got positives {pos_window} and hard {hard_window}."
        )
    if n_pos > p1 - p0 or n_hard > h1 - h0:
        raise ValueError("more SciNCL positives/hard negatives asked for than their windows hold.")
    if h1 > n_nodes - 1:
        raise ValueError(
            f"`hard_window` stop ({h1}) must be <= n_nodes - 1 ({n_nodes - 1}); "
            "scale the windows to the corpus size."
        )
    return (p0, p1), (h0, h1), n_hard, n_pos


def _scincl(
    ctx: StrategyContext, embeddings: Any, positive_window: Any, hard_window: Any, num_hard: int, num_positives: int,
) -> tuple[np.ndarray, np.ndarray]:
    from ..similarity._knn import knn_search

    (p0, p1), (h0, h1), n_hard, n_pos = _scincl_settings(
        ctx.k, ctx.graph.num_nodes, positive_window, hard_window, num_hard, num_positives
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


def _scincl_easy(ctx: StrategyContext, idx: np.ndarray, out: np.ndarray, n_hard: int) -> None:
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


def bica_link_negatives(
    graph: LinkGraph, embeddings: Any, sources: Any = None, *, query_embeddings: Any = None, num_paths: int = 3,
    path_length: int = 3, top_k: int = 5, add_random: bool = True, num_negatives: int = 5, exclude_hops: int = 1,
    exclude: Any = None, seed: SeedLike = 0,
) -> LinkNegatives:
    r"""BiCA's hard negatives: similarity-guided walks over the source's citation neighbourhood.

    The pool of :math:`q` is :math:`R_1(q) \cup R_2(q)`, its references and their references
    (directed). ``num_paths`` walks of ``path_length`` nodes start at the ``num_paths``
    first-hop papers most similar to the query; each further step goes to one of the
    ``top_k`` unvisited pool papers most similar to the current paper :math:`c`, with

    .. math::

        P(v) = \frac{\exp(\cos(e_v, e_c))}{\sum_{u \in \text{top-}k} \exp(\cos(e_u, e_c))},

    the visited set shared by the walks; ``add_random`` adds one random unvisited pool paper.
    Visited papers outside :math:`\mathcal B(q)` (:func:`graphneg.uniform_link_negatives`) are the
    negatives, in visiting order. BiCA bans only the seed: ``exclude_hops=0`` reproduces it
    (the seed's own references then serve as hard negatives). Reference: A. Sinha et al.,
    "Effective Biomedical Dense Retrieval with Citation-Aware Hard Negatives" (BiCA), AAAI 2026,
    arXiv:2511.08029.

    Parameters
    ----------
    graph : LinkGraph
    embeddings : array-like of shape (n_nodes, dim)
        Text embeddings of the nodes (no zero rows: the walk compares cosines).
    sources : array-like of int, default=None
    query_embeddings : array-like of shape (n_sources, dim), default=None
        The query of each source (BiCA: a generated query); default the source's embedding.
    num_paths, path_length, top_k : int, default=3, 3, 5
        Walks, nodes per walk, and the candidates of each step.
    add_random : bool, default=True
        Add one random unvisited pool paper.
    num_negatives, exclude_hops, exclude, seed
        Shared by every strategy: see :func:`graphneg.uniform_link_negatives` (Notes).

    Returns
    -------
    LinkNegatives
        Short rows where the walks visit fewer allowed papers than ``num_negatives``.

    See Also
    --------
    graphneg.specter_link_negatives : the same two-hop pool, drawn uniformly.
    graphneg.mine_hard_negatives : hard negatives by embedding similarity alone.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[0, 1], [0, 2], [1, 3], [2, 4], [1, 4]])
    >>> E = np.eye(5, dtype=np.float32) + 0.1
    >>> bica_link_negatives(g, E, [0], num_negatives=3, exclude_hops=0, seed=0).indices.shape
    (1, 3)
    """
    return run_strategy("bica", graph, sources, num_negatives, exclude_hops, exclude, seed, _bica,
                        embeddings=embeddings, query_embeddings=query_embeddings, num_paths=num_paths,
                        path_length=path_length, top_k=top_k, add_random=add_random)


def scincl_link_negatives(
    graph: LinkGraph, embeddings: Any, sources: Any = None, *, positive_window: tuple[int, int] = (20, 25),
    hard_window: tuple[int, int] = (3998, 4000), num_hard: int = 2, num_positives: int = 5, num_negatives: int = 5,
    exclude_hops: int = 1, exclude: Any = None, seed: SeedLike = 0,
) -> LinkNegatives:
    r"""SciNCL's positives and negatives from kNN ranks in a graph embedding.

    Let :math:`N_q` be the nodes ordered by inner product of unit graph embeddings with
    :math:`q` (itself left out). ``num_positives`` positives are drawn from ranks
    ``positive_window`` :math:`[k_0, k_1)`, ``num_hard`` hard negatives from ranks
    ``hard_window`` :math:`[h_0, h_1)` outside :math:`\mathcal B(q)`, and the other
    ``num_negatives - num_hard`` uniformly among the nodes beyond rank :math:`h_1`. Reference:
    M. Ostendorff et al., "Neighborhood Contrastive Learning for Scientific Document
    Representations with Citation Embeddings", EMNLP 2022, arXiv:2202.06671.

    Parameters
    ----------
    graph : LinkGraph
    embeddings : array-like of shape (n_nodes, dim)
        Graph embeddings of the nodes (e.g. :func:`graphneg.graph_embedding`); zero rows
        (isolated nodes) stay zero.
    sources : array-like of int, default=None
    positive_window, hard_window : (int, int), default=(20, 25), (3998, 4000)
        Rank windows; they must satisfy ``k_0 < k_1 <= h_0 < h_1 <= n_nodes - 1``. SciNCL's
        were set for ~600k papers: scale them to your corpus.
    num_hard : int, default=2
        Hard negatives among ``num_negatives`` (``<= num_negatives``).
    num_positives : int, default=5
        Positives drawn from ``positive_window`` (returned as ``LinkNegatives.positives``).
    num_negatives, exclude_hops, exclude, seed
        Shared by every strategy: see :func:`graphneg.uniform_link_negatives` (Notes).

    Returns
    -------
    LinkNegatives
        With ``positives`` of shape ``(n_sources, num_positives)``.

    Raises
    ------
    ValueError
        Windows out of order, larger than the graph, or smaller than the counts drawn from them.

    See Also
    --------
    graphneg.graph_embedding : graph embeddings to rank by (SciNCL used PyTorch-BigGraph).
    graphneg.ppr_link_negatives : a rank window of personalised PageRank instead.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[i, (i + 1) % 30] for i in range(30)])
    >>> E = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    >>> res = scincl_link_negatives(g, E, [0, 1], positive_window=(2, 5), hard_window=(10, 15),
    ...                             num_positives=2, num_negatives=3)
    >>> res.indices.shape, res.positives.shape
    ((2, 3), (2, 2))
    """
    return run_strategy("scincl", graph, sources, num_negatives, exclude_hops, exclude, seed, _scincl,
                        embeddings=embeddings, positive_window=positive_window, hard_window=hard_window,
                        num_hard=num_hard, num_positives=num_positives)
