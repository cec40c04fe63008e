"""Mine once, filter later: the teacher's top candidates stored with their scores.

:func:`retrieve_candidates` runs the expensive part of :func:`~graphneg.mine_hard_negatives`
once (the block search over the corpus) and keeps each query's raw top ``depth`` corpus rows
with their scores, positives and excluded rows included. :func:`select_negatives` then
applies any setting of :func:`~graphneg.mine_hard_negatives` (filters, margins, rank window,
sampling) to the stored candidates, without embeddings: it runs the same per-block code
(:func:`graphneg.negatives._mining.mine_blocks`) on the stored rows, so for every setting
whose retrieval depth fits in the stored ``depth`` it returns what
:func:`~graphneg.mine_hard_negatives` returns on the embeddings (``sampling='top'``; the
sampled strategies draw in blocks of 1,024 queries, as the CPU tile route does).
:func:`candidate_pair_graph` turns the same candidates into the teacher's pair graph that
:func:`graphneg.walk_batches` walks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._sparse import as_pairs_matrix
from .._validation import check_choice, check_embeddings, check_int
from ._mining import BlockRows, HardNegatives, mine_blocks, plan_mining
from ._mining_routes import block_search, tiled_route_blocks, torch_route_blocks
from ._selection import NegativeSelection

_SELECT_ROWS = 1024  # queries per block in select_negatives (TILE_ROWS: the CPU route's blocks)


@dataclass
class MiningCandidates:
    """Each query's raw top corpus rows by teacher score, as :func:`retrieve_candidates` keeps them.

    Attributes
    ----------
    indices : ndarray of shape (n_queries, depth), int64
        Corpus rows, best score first (ties by ascending row); positives and excluded rows
        included (they are removed by :func:`select_negatives`).
    scores : ndarray of shape (n_queries, depth), float32
        Their scores.
    positives : scipy.sparse.csr_array of shape (n_queries, n_docs), bool
        Known positives (canonical: sorted columns).
    positive_pair_scores : ndarray of shape (positives.nnz,), float32
        Score of each stored positive, aligned with ``positives.indices``.
    exclude : scipy.sparse.csr_array or None
        Rows never returned as negatives (identical texts, known links).
    num_docs : int
        Corpus size.

    See Also
    --------
    retrieve_candidates : builds it.
    select_negatives : selects negatives from it.
    candidate_pair_graph : the teacher's pair graph from it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> C = rng.normal(size=(50, 8)).astype(np.float32)
    >>> cands = retrieve_candidates(C[:4], C, np.arange(4), depth=10)
    >>> cands.indices.shape, cands.depth
    ((4, 10), 10)
    """

    indices: np.ndarray
    scores: np.ndarray
    positives: sp.csr_array
    positive_pair_scores: np.ndarray
    exclude: sp.csr_array | None
    num_docs: int

    @property
    def depth(self) -> int:
        """Candidates kept per query."""
        return int(self.indices.shape[1])

    @property
    def num_queries(self) -> int:
        """Number of queries."""
        return int(self.indices.shape[0])


def retrieve_candidates(
    queries: Any,
    corpus: Any,
    positives: Any,
    *,
    depth: int = 100,
    exclude: Any = None,
    metric: Literal["cosine", "ip"] = "cosine",
    precision: Literal["fp32", "bf16", "fp16"] = "fp32",
    block_size: int | None = None,
    device: Any = None,
    show_progress: bool = False,
) -> MiningCandidates:
    """Score every query against the corpus once; keep its top ``depth`` rows and their scores.

    Parameters
    ----------
    queries : array-like of shape (n_queries, dim)
    corpus : array-like of shape (n_docs, dim)
    positives : sequence of int sequences, 1-D int array, or sparse (n_queries, n_docs)
        Known positives of each query (at least one each).
    depth : int, default=100
        Raw candidates kept per query (capped at ``n_docs``). A later
        :func:`select_negatives` needs ``range_max + max positives + max excluded + 1`` of
        them (the retrieval depth of :func:`~graphneg.mine_hard_negatives`).
    exclude : same forms as ``positives``, default=None
        Rows never returned as negatives, stored with the candidates.
    metric, precision, block_size, device, show_progress
        As in :func:`~graphneg.mine_hard_negatives`.

    Returns
    -------
    MiningCandidates

    Raises
    ------
    ValueError
        Bad shapes, a query without positives, ``depth < 1``.

    See Also
    --------
    select_negatives : turns the candidates into negatives (as often as needed).
    required_depth : the ``depth`` a selection needs.
    mine_hard_negatives : retrieval and selection in one call.
    graphneg.save_mining_run : keeps the candidates on disk.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> C = rng.normal(size=(50, 8)).astype(np.float32)
    >>> cands = retrieve_candidates(C[:3], C, np.arange(3), depth=5)
    >>> cands.indices[:, 0].tolist()  # each query's best row is itself, its positive
    [0, 1, 2]
    """
    metric = check_choice(metric, "metric", ("cosine", "ip"))
    Q = check_embeddings(queries, "queries", metric=metric)
    C = check_embeddings(corpus, "corpus", metric=metric)
    if Q.shape[1] != C.shape[1]:
        raise ValueError(
            f"`queries` and `corpus` must have the same dimension, got {Q.shape[1]} and {C.shape[1]}."
        )
    depth = min(check_int(depth, "depth"), C.shape[0])
    plan = plan_mining(Q.shape[0], C.shape[0], positives, exclude, None, NegativeSelection(num_negatives=1))
    plan = dataclasses.replace(plan, depth=depth)
    search = block_search(Q, C, metric, plan.depth, precision, block_size, device, show_progress)
    indices = np.empty((plan.n_queries, depth), dtype=np.int64)
    scores = np.empty((plan.n_queries, depth), dtype=np.float32)
    pair_scores = np.empty(plan.positives.nnz, dtype=np.float32)
    if search.route != "torch":
        _collect(tiled_route_blocks(search, plan.positives), plan.positives, indices, scores, pair_scores)
    else:
        import torch

        with torch.inference_mode():
            _collect(torch_route_blocks(search, plan.positives), plan.positives, indices, scores, pair_scores)
    X = as_pairs_matrix(exclude, plan.n_queries, plan.n_docs, "exclude") if exclude is not None else None
    return MiningCandidates(indices, scores, plan.positives, pair_scores, X, plan.n_docs)


def _collect(blocks: Iterator[BlockRows], P: sp.csr_array, indices: np.ndarray, scores: np.ndarray,
             pair_scores: np.ndarray) -> None:
    for start, stop, vals, idx, ps, _ in blocks:
        indices[start:stop], scores[start:stop] = idx[:, : indices.shape[1]], vals[:, : indices.shape[1]]
        pair_scores[P.indptr[start] : P.indptr[stop]] = ps


def select_negatives(candidates: MiningCandidates, selection: NegativeSelection | None = None) -> HardNegatives:
    """Apply mining settings to stored candidates: no embeddings, no search.

    Parameters
    ----------
    candidates : MiningCandidates
        From :func:`retrieve_candidates` (or a saved mining run, ``graphneg mine``).
    selection : NegativeSelection, default=None
        As in :func:`~graphneg.mine_hard_negatives`, with the same meaning.

    Returns
    -------
    HardNegatives
        What :func:`~graphneg.mine_hard_negatives` returns for these settings on the
        embeddings the candidates came from (``sampling='top'``; sampled strategies are
        seeded and reproducible).

    Raises
    ------
    ValueError
        As :func:`~graphneg.mine_hard_negatives`, and when the settings need more candidates
        per query than were stored (the message gives the ``depth`` to retrieve).

    See Also
    --------
    retrieve_candidates : the stored candidates.
    required_depth : how many candidates a selection needs.
    mine_hard_negatives : retrieval and selection in one call.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> C = rng.normal(size=(60, 8)).astype(np.float32)
    >>> Q = C[:5] + 0.1 * rng.normal(size=(5, 8)).astype(np.float32)
    >>> cands = retrieve_candidates(Q, C, np.arange(5), depth=40)
    >>> from graphneg import NegativeSelection, mine_hard_negatives
    >>> loose = select_negatives(cands, NegativeSelection(num_negatives=2))
    >>> strict = NegativeSelection(num_negatives=2, relative_margin=0.05)
    >>> again = mine_hard_negatives(Q, C, np.arange(5), strict)
    >>> bool((select_negatives(cands, strict).indices == again.indices).all())
    True
    """
    if not isinstance(candidates, MiningCandidates):
        raise TypeError(f"`candidates` must be a MiningCandidates, got {type(candidates).__name__}.")
    c = candidates
    plan = plan_mining(c.num_queries, c.num_docs, c.positives, c.exclude, None, selection)
    if plan.depth > c.depth:
        raise ValueError(
            f"these settings need {plan.depth} candidates per query, the stored candidates hold {c.depth}; "
            f"retrieve (mine) again with depth >= {plan.depth}."
        )
    return mine_blocks(plan, _stored_blocks(c, plan.depth))


def _stored_blocks(c: MiningCandidates, depth: int) -> Iterator[BlockRows]:
    P = c.positives
    for start in range(0, c.num_queries, _SELECT_ROWS):
        stop = min(start + _SELECT_ROWS, c.num_queries)
        ps = c.positive_pair_scores[P.indptr[start] : P.indptr[stop]]
        yield start, stop, c.scores[start:stop, :depth], c.indices[start:stop, :depth], ps, P[start:stop]


def candidate_pair_graph(
    candidates: MiningCandidates, row_queries: Any, row_positives: Any, *, k: int = 30, skip: int = 0
) -> sp.csr_array:
    """The teacher's pair graph over training rows, from stored candidates (B3's rank window).

    Row ``a`` links to row ``b`` when ``b``'s positive is among the corpus rows the teacher
    ranks at ``[skip, skip + k)`` for ``a``'s query (raw ranks, positives included); a row is
    not linked to itself. The graph :func:`graphneg.walk_batches` walks for BatchSampler-style
    batches, as the retrieval example's walk arm does.

    Parameters
    ----------
    candidates : MiningCandidates
    row_queries : 1-D int array-like
        Query of each training row.
    row_positives : 1-D int array-like
        Corpus row of each training row's positive (same length).
    k : int, default=30
        Rank window length (capped at the stored depth).
    skip : int, default=0
        Best ranks skipped first.

    Returns
    -------
    scipy.sparse.csr_array of shape (num_rows, num_rows), float32
        Unit weights.

    See Also
    --------
    retrieve_candidates : the stored candidates.
    graphneg.walk_batches : batches grown by walks over this graph.
    graphneg.communities : partitions it (``cluster_size=K`` for B3 batches).

    References
    ----------
    .. [1] Thirukovalluru et al., "Breaking the Batch Barrier (B3) of Contrastive Learning via
       Smart Batch Mining", NeurIPS 2025, arXiv:2505.11293.

    Examples
    --------
    >>> C = np.eye(4, dtype=np.float32) + 0.1
    >>> cands = retrieve_candidates(C, C, np.arange(4), depth=4)
    >>> G = candidate_pair_graph(cands, [0, 1, 2, 3], [0, 1, 2, 3], k=2)
    >>> G.shape, int(G.diagonal().sum())
    ((4, 4), 0)
    """
    rq = np.asarray(row_queries, dtype=np.int64).ravel()
    rp = np.asarray(row_positives, dtype=np.int64).ravel()
    if rq.shape != rp.shape:
        raise ValueError(f"`row_queries` and `row_positives` must have one entry per row, got {rq.size} and {rp.size}.")
    if rq.size and (rq.min() < 0 or rq.max() >= candidates.num_queries):
        raise ValueError(f"`row_queries` must be in [0, {candidates.num_queries}).")
    if rp.size and (rp.min() < 0 or rp.max() >= candidates.num_docs):
        raise ValueError(f"`row_positives` must be in [0, {candidates.num_docs}).")
    skip = check_int(skip, "skip", min_value=0)
    k = check_int(k, "k")
    window = candidates.indices[:, skip : skip + k]
    n_q, width = window.shape
    W = sp.csr_array((np.ones(window.size, np.float32), window.ravel(), np.arange(0, window.size + 1, max(width, 1))
                      if width else np.zeros(n_q + 1, np.int64)), shape=(n_q, candidates.num_docs))
    D = sp.csr_array((np.ones(rp.size, np.float32), (rp, np.arange(rp.size))), shape=(candidates.num_docs, rp.size))
    G = sp.csr_array(W[rq] @ D)
    G.setdiag(0)
    G.eliminate_zeros()
    G.data[:] = 1.0
    G.sort_indices()
    return G


def required_depth(
    positives: Any, num_docs: int, selection: NegativeSelection | None = None, *, exclude: Any = None
) -> int:
    """Candidates per query that :func:`select_negatives` needs for these settings (checked).

    Validates every setting as :func:`~graphneg.mine_hard_negatives` does, so a bad one fails
    before any encoding or search.

    Parameters
    ----------
    positives : sequence of int sequences, 1-D int array, or sparse (n_queries, n_docs)
    num_docs : int
        Corpus size.
    selection : NegativeSelection, default=None
        As in :func:`select_negatives`.
    exclude : same forms as ``positives``, default=None
        Rows never returned as negatives (they deepen the retrieval).

    Returns
    -------
    int

    See Also
    --------
    retrieve_candidates : retrieve that many candidates (``depth``).
    select_negatives : apply the selection to them.

    Examples
    --------
    >>> from graphneg import NegativeSelection
    >>> required_depth([[0], [1, 2]], 100, NegativeSelection(num_negatives=3))  # range_max 3 + 2, + 2 positives + 1
    8
    """
    n_q = positives.shape[0] if sp.issparse(positives) else len(positives)
    plan = plan_mining(n_q, check_int(num_docs, "num_docs"), positives, exclude, None, selection)
    return plan.depth
