"""Hard negatives mined from embedding similarity (sentence-transformers semantics, faster).

:func:`mine_hard_negatives` scores every query against the corpus in blocks (one GEMM per
block, a top-k selection, never the full ``Q x N`` matrix), removes positives and the
query itself, applies the positive-aware filters of NV-Retriever, and selects negatives by
one of four strategies. The steps are separate functions: parameter checks
(:func:`plan_mining`), the retrieval (:mod:`graphneg.negatives._mining_routes`: CPU tiles,
torch blocks or an inverted file), the selection (filters, rank window, sampling:
:mod:`graphneg.negatives._selection`) and the scatter into the result (:func:`mine_blocks`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._random import check_rng
from .._sparse import as_pairs_matrix, csr_keys, pair_keys, sorted_member
from .._validation import check_bool, check_choice, check_embeddings
from ..exceptions import GraphNegWarning
from ._mining_routes import block_search, ivf_options, ivf_route_blocks, tiled_route_blocks, torch_route_blocks
from ._selection import (
    SCORE_FILTERS,
    NegativeSelection,
    check_window,
    negative_sampler,
    range_window,
    retrieval_depth,
)

BlockRows = tuple[int, int, np.ndarray, np.ndarray, np.ndarray, sp.csr_array]


@dataclass
class HardNegatives:
    """Mined negatives, one row per query.

    Attributes
    ----------
    indices : ndarray of shape (n_queries, num_negatives), int64
        Corpus rows of the negatives, best score first; ``-1`` where fewer survived.
    scores : ndarray of shape (n_queries, num_negatives), float32
        Their similarity to the query; ``nan`` where ``indices == -1``.
    positive_scores : ndarray of shape (n_queries,), float32
        The reference positive score of each query: the lowest score among its positives.
    num_short : int
        Number of queries with fewer than ``num_negatives`` negatives.
    skipped : dict
        How many retrieved candidates each filter removed (``positives``, ``self``,
        ``excluded``, ``absolute_margin``, ``relative_margin``, ``max_score``, ``min_score``).
    search : SearchReport or None
        ``backend='ivf'`` only: the retrieval's recall@depth on 1,000 sampled queries against
        the exact retrieval (ties counted), its target, ``nlist`` and the ``nprobe`` it took
        (:class:`graphneg.SearchReport`); ``None`` for the exact retrieval.

    See Also
    --------
    mine_hard_negatives : returns it.
    graphneg.to_sentence_transformers : one row per (query, positive) pair, for the trainer.
    graphneg.distributed.assemble_negatives : stacks the ranks' parts.

    Examples
    --------
    >>> hn = HardNegatives(np.array([[3, -1]]), np.array([[0.5, np.nan]], np.float32),
    ...                    np.array([0.9], np.float32), 1)
    >>> hn.counts.tolist()
    [1]
    """

    indices: np.ndarray
    scores: np.ndarray
    positive_scores: np.ndarray
    num_short: int
    skipped: dict[str, int] = field(default_factory=dict)
    search: Any = None

    @property
    def counts(self) -> np.ndarray:
        """Negatives found per query."""
        return (self.indices >= 0).sum(axis=1)


@dataclass
class MiningPlan:
    """Everything fixed before scoring: inputs as canonical patterns, filters, window, depth."""

    n_queries: int
    n_docs: int
    positives: sp.csr_array
    positive_keys: np.ndarray
    exclude_keys: np.ndarray | None
    self_ids: np.ndarray | None
    filters: dict[str, float]
    num_negatives: int
    range_min: int
    range_max: int
    depth: int
    select: Callable[..., np.ndarray]
    rng: np.random.Generator


def _check_positives(positives: Any, n_q: int, n_docs: int) -> sp.csr_array:
    P = as_pairs_matrix(positives, n_q, n_docs, "positives")  # a canonical copy
    n_pos = np.diff(P.indptr)
    if (n_pos == 0).any():
        bad = np.flatnonzero(n_pos == 0)
        raise ValueError(
            f"`positives` is empty for {bad.size} quer{'y' if bad.size == 1 else 'ies'} "
            f"(first: {bad[:5].tolist()}); every query needs at least one positive."
        )
    return P


def _check_self_ids(query_corpus_ids: Any, n_q: int, n_docs: int) -> np.ndarray | None:
    if query_corpus_ids is None:
        return None
    ids = np.array(query_corpus_ids, dtype=np.int64).ravel()  # a copy
    if ids.size != n_q:
        raise ValueError(f"`query_corpus_ids` must have length {n_q}, got {ids.size}.")
    if ids.size and (ids.max() >= n_docs or ids.min() < -1):
        raise ValueError(f"`query_corpus_ids` must be in [-1, {n_docs}), got {ids.min()}..{ids.max()}.")
    return ids


def plan_mining(n_q: int, n_docs: int, positives: Any, exclude: Any, query_corpus_ids: Any,
                selection: NegativeSelection | None) -> MiningPlan:
    """Validate the id inputs against ``selection``; fix the window and the retrieval depth."""
    selection = check_selection(selection)
    k = selection.num_negatives
    P = _check_positives(positives, n_q, n_docs)
    max_positives = int(np.diff(P.indptr).max())
    X = as_pairs_matrix(exclude, n_q, n_docs, "exclude") if exclude is not None else None
    self_ids = _check_self_ids(query_corpus_ids, n_q, n_docs)
    filters = selection.filters()
    range_min, range_max = check_window(selection.range_min, selection.range_max, k, max_positives, filters)
    depth = retrieval_depth(range_max, max_positives, int(np.diff(X.indptr).max()) if X is not None and X.nnz else 0,
                            n_docs)
    return MiningPlan(n_q, n_docs, P, csr_keys(P), None if X is None else csr_keys(X), self_ids, filters, k,
                      range_min, range_max, depth, negative_sampler(selection.sampling), check_rng(selection.seed))


def check_selection(selection: Any) -> NegativeSelection:
    """``selection`` itself, or the defaults for ``None``; anything else is a ``TypeError``."""
    if selection is None:
        return NegativeSelection()
    if not isinstance(selection, NegativeSelection):
        raise TypeError(f"`selection` must be a graphneg.NegativeSelection, got {type(selection).__name__}.")
    return selection


# -- per block: filters, rank window, selection, scatter --------------------------------------
def _member(keys: np.ndarray, rows: np.ndarray, cols: np.ndarray, n_cols: int) -> np.ndarray:
    return sorted_member(keys, pair_keys(rows, cols, n_cols))


def _filter_masks(
    plan: MiningPlan, start: int, vals: np.ndarray, idx: np.ndarray, ref: np.ndarray
) -> Iterator[tuple[str, np.ndarray]]:
    """``(name, drop mask)`` of each filter, in order: ids first, then scores."""
    rows = np.broadcast_to(np.arange(start, start + idx.shape[0])[:, None], idx.shape)
    yield "positives", _member(plan.positive_keys, rows, idx, plan.n_docs)
    if plan.self_ids is not None:
        yield "self", idx == plan.self_ids[start : start + idx.shape[0], None]
    if plan.exclude_keys is not None:
        yield "excluded", _member(plan.exclude_keys, rows, idx, plan.n_docs)
    for name, value in plan.filters.items():
        yield name, SCORE_FILTERS[name](vals, ref[:, None], value)


def _scatter(chosen: np.ndarray, idx: np.ndarray, vals: np.ndarray, start: int, out_idx: np.ndarray,
             out_sc: np.ndarray) -> None:
    """Chosen candidates into their query's row, left-aligned, in (descending) score order."""
    col = np.cumsum(chosen, axis=1) - 1
    rr, cc = np.nonzero(chosen)
    out_idx[start + rr, col[rr, cc]] = idx[rr, cc]
    out_sc[start + rr, col[rr, cc]] = vals[rr, cc]


def mine_blocks(plan: MiningPlan, blocks: Iterator[BlockRows]) -> HardNegatives:
    out_idx = np.full((plan.n_queries, plan.num_negatives), -1, dtype=np.int64)
    out_sc = np.full((plan.n_queries, plan.num_negatives), np.nan, dtype=np.float32)
    pos_ref = np.empty(plan.n_queries, dtype=np.float32)
    skipped = dict.fromkeys(("positives", "self", "excluded", *SCORE_FILTERS), 0)
    for start, stop, vals, idx, ps, Pb in blocks:
        ref = np.minimum.reduceat(ps, Pb.indptr[:-1]) if ps.size else ps  # lowest positive score
        pos_ref[start:stop] = ref
        dead = np.zeros(idx.shape, dtype=bool)
        for name, mask in _filter_masks(plan, start, vals, idx, ref):
            new = mask & ~dead
            skipped[name] += int(new.sum())
            dead |= new
        window = range_window(dead, plan.range_min, plan.range_max)
        _scatter(plan.select(window, vals, ref, plan.num_negatives, plan.rng), idx, vals, start, out_idx, out_sc)
    num_short = int(((out_idx >= 0).sum(axis=1) < plan.num_negatives).sum())
    if num_short:
        warnings.warn(
            f"{num_short} of {plan.n_queries} queries got fewer than {plan.num_negatives} negatives; consider "
            "raising range_max or loosening range_min, max_score and the margins.",
            GraphNegWarning,
            stacklevel=3,
        )
    return HardNegatives(out_idx, out_sc, pos_ref, num_short, skipped)


def mine_hard_negatives(
    queries: Any,
    corpus: Any,
    positives: Any,
    selection: NegativeSelection | None = None,
    *,
    query_corpus_ids: Any = None,
    exclude: Any = None,
    metric: Literal["cosine", "ip"] = "cosine",
    precision: Literal["fp32", "bf16", "fp16"] = "fp32",
    block_size: int | None = None,
    device: Any = None,
    show_progress: bool = False,
    backend: Any = "exact",
) -> HardNegatives:
    r"""Mine hard negatives for each query from precomputed embeddings.

    Semantics are those of sentence-transformers' ``mine_hard_negatives`` (v5/v6) for the
    options they share, so the same settings give the same negatives:

    1. Retrieve the top ``range_max + max_positives + 1`` corpus rows per query by similarity
       (the ``+ 1`` is reserved for the query's own corpus row, as in sentence-transformers
       6.3; 6.2 and earlier retrieved one row fewer, so a survivor at that last rank differs).
    2. Remove the query's positives (and, here, the query itself when
       ``query_corpus_ids`` says which corpus row it is, and anything in ``exclude``).
    3. Apply ``selection`` (:class:`~graphneg.NegativeSelection`): the score filters, the
       rank window ``[range_min, range_max)`` among survivors, then ``num_negatives`` chosen
       by its ``sampling``.

    Parameters
    ----------
    queries : array-like of shape (n_queries, dim)
    corpus : array-like of shape (n_docs, dim)
    positives : sequence of int sequences, 1-D int array, or sparse (n_queries, n_docs)
        Corpus rows that are positives of each query (several allowed, none is an error).
    selection : NegativeSelection, default=None
        Filters, rank window, count, sampling strategy and seed; ``None`` is
        ``NegativeSelection()`` (the best 3 survivors).
    query_corpus_ids : array-like of shape (n_queries,), default=None
        Corpus row of each query (``-1`` for none), never returned as its negative.
    exclude : same forms as ``positives``, default=None
        Further corpus rows never returned per query (known links, duplicates); unlike
        positives they do not set :math:`s^+`.
    metric : {'cosine', 'ip'}, default='cosine'
    precision : {'fp32', 'bf16', 'fp16'}, default='fp32'
        ``'fp32'``: fp32 scores. On the CPU they come from the certified bf16 pass of
        :func:`graphneg.knn_search` (bounded bf16 error, every candidate that could be in the
        top ``depth`` re-scored in fp32) when the CPU has fast bf16, else from fp32 GEMM
        tiles. ``'bf16'``/``'fp16'``: score blocks (CPU: bf16 tiles) in reduced precision,
        keep ``max(32, depth / 4)`` extra candidates and re-score them (and the positives)
        exactly in fp32, so the filters and the ranking see fp32 scores; results equal fp32's
        unless a candidate falls outside that margin.
    block_size : int, default=None
        Queries per block; ``None`` keeps a block's score matrix near 32M floats.
        Memory is ``O(block_size * n_docs + n_queries * range_max)``.
    device : str or torch.device, default=None
        Torch device for the block products.
    show_progress : bool, default=False
    backend : {'exact', 'ivf'} or IVF, default='exact'
        The retrieval of step 1. ``'exact'``: all-pairs (blocked, never the full matrix).
        ``'ivf'`` or :class:`~graphneg.IVF` options: an inverted file over the corpus
        (corpus-scale mining: each query scores its ``nprobe`` nearest lists only); with
        ``nprobe=None`` it is raised until the retrieval's recall@depth on 1,000 sampled
        queries (ties counted) is at least 0.99 (:data:`MINING_MIN_RECALL`; a candidate
        missed above the rank window shifts it: recall 0.95 kept 91 % of the exact
        negatives on a continuum, 0.99 kept 99 %), as ``knn_search``'s ``backend='auto'``
        does with its ``min_recall``, and the result's ``search`` reports what it took (also logged and recorded,
        :func:`graphneg.record_searches`). Steps 2-3 are the exact route's on the candidates
        found: scores are the same canonical fp32 scores, so with ``nprobe = nlist`` the
        negatives are the exact route's. fp32 and the CPU only.

    Returns
    -------
    HardNegatives
        ``indices``/``scores`` of shape ``(n_queries, num_negatives)``, ``-1``/``nan``
        padded; never a positive, the query itself or a duplicate.

    Raises
    ------
    ValueError
        Positives out of range or empty for a query, ``num_negatives > range_max -
        range_min``, mismatched dimensions, inner products that overflow float32 under
        ``metric='ip'`` (bad settings fail earlier, where the ``NegativeSelection`` is built).
    TypeError
        ``selection`` not a :class:`~graphneg.NegativeSelection`.

    Warns
    -----
    GraphNegWarning
        When some queries got fewer than ``num_negatives`` negatives (``num_short``).

    See Also
    --------
    NegativeSelection, SimANS, Softmax : the selection settings.
    retrieve_candidates, select_negatives : mine once, select many times.
    graphneg.distributed.mine_hard_negatives : the same over a process group.
    cluster_hard_negatives : negatives from the nearest other cluster (ClusterNS).

    Notes
    -----
    Deliberate differences from sentence-transformers:

    - Inputs are embeddings and row indices, not texts: identical texts are not merged
      (pass them in ``exclude`` or ``positives``), and the result has one row per query,
      not per (query, positive) pair (:func:`graphneg.to_sentence_transformers`
      expands it).
    - ``'random'`` is seeded and draws among the valid survivors only (sentence-transformers
      uses the unseeded global ``random`` and, when fewer than ``num_negatives`` survive,
      may draw disqualified slots, which it then drops).
    - ``query_corpus_ids``, ``exclude`` and the :class:`SimANS`/:class:`Softmax` strategies
      have no counterpart there; the retrieval depth grows by the largest number of excluded
      rows per query so that excluded rows do not eat into ``range_max``.

    Inputs are read-only (``positives``/``exclude`` sparse matrices included). Under
    ``metric='cosine'`` rows of any finite magnitude are normalised exactly (a float32 norm
    would overflow above ~1.8e19).

    With ``sampling='top'`` and no graphneg-only option the negatives are identical to
    sentence-transformers' on the same embeddings (tested on SciFact).

    Examples
    --------
    >>> from graphneg import NegativeSelection
    >>> rng = np.random.default_rng(0)
    >>> corpus = rng.normal(size=(100, 8)).astype(np.float32)
    >>> queries = corpus[:5] + 0.1 * rng.normal(size=(5, 8)).astype(np.float32)
    >>> sel = NegativeSelection(num_negatives=2, relative_margin=0.05)
    >>> hn = mine_hard_negatives(queries, corpus, np.arange(5), sel)
    >>> hn.indices.shape, bool((hn.indices != np.arange(5)[:, None]).all())
    ((5, 2), True)
    """
    metric = check_choice(metric, "metric", ("cosine", "ip"))
    Q = check_embeddings(queries, "queries", metric=metric)
    C = check_embeddings(corpus, "corpus", metric=metric)
    if Q.shape[1] != C.shape[1]:
        raise ValueError(
            f"`queries` and `corpus` must have the same dimension, got {Q.shape[1]} and {C.shape[1]}."
        )
    plan = plan_mining(Q.shape[0], C.shape[0], positives, exclude, query_corpus_ids, selection)
    ivf = ivf_options(backend, precision, device)
    if ivf is not None:
        blocks, report = ivf_route_blocks(Q, C, metric, plan, ivf, check_bool(show_progress, "show_progress"))
        out = mine_blocks(plan, blocks)
        out.search = report
        return out
    search = block_search(Q, C, metric, plan.depth, precision, block_size, device, show_progress)
    if search.route != "torch":  # numpy tiles: no torch import on the CPU fp32 route
        return mine_blocks(plan, tiled_route_blocks(search, plan.positives))
    import torch

    with torch.inference_mode():
        return mine_blocks(plan, torch_route_blocks(search, plan.positives))
