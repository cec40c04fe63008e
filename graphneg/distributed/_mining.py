"""Hard-negative mining with queries and corpus sharded over a process group.

Each rank passes its query shard (with their positives, as global corpus rows) and its corpus
shard; the corpus circulates in blocks (:func:`._circulate.sharded_topk`), each rank retrieves
its queries' top candidates with the single-process kernel, scores their positives as the
blocks pass, and runs the single-process filters, rank window and sampling
(:func:`graphneg.negatives._mining.mine_blocks`) on its queries. :func:`assemble_negatives` stacks
the ranks' results into what :func:`graphneg.mine_hard_negatives` returns in one process.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._validation import check_choice, check_embeddings, check_int, row_norms, safe_normalize
from ..negatives._mining import BlockRows, HardNegatives, MiningPlan, check_selection, mine_blocks, plan_mining
from ..negatives._mining_routes import MINING_MIN_RECALL, MINING_RECALL_SAMPLE, positive_index
from ..negatives._selection import NegativeSelection, check_window, retrieval_depth
from ..similarity._backends import IVF
from ._circulate import BLOCK_BYTES, resolve_device, sharded_topk, shared_route
from ._group import agree, all_max, all_sizes, world
from ._mining_ivf import ivf_retrieval

__all__ = ["mine_hard_negatives", "assemble_negatives"]

_MINE_ROWS = 4096  # queries per filtering block (the per-block masks are rows x depth)


def _shards(queries: Any, corpus: Any, metric: str, group: Any) -> tuple[np.ndarray, np.ndarray]:
    def local() -> tuple[np.ndarray, np.ndarray]:
        Q = check_embeddings(queries, "queries_shard", metric=metric, min_rows=0)
        C = check_embeddings(corpus, "corpus_shard", metric=metric, min_rows=0)
        if Q.shape[1] != C.shape[1]:
            raise ValueError(
                f"`queries_shard` and `corpus_shard` must have one dimension, got {Q.shape[1]} and {C.shape[1]}."
            )
        if metric == "cosine":
            return safe_normalize(Q, "queries_shard"), safe_normalize(C, "corpus_shard")
        return Q, C

    Q, C = agree(local, group)
    if metric == "ip":  # the single-process check, on the largest norms of all ranks
        q, c = all_max([row_norms(Q).max(initial=0), row_norms(C).max(initial=0)], group)
        if q * c > float(np.finfo(np.float32).max) / 4:
            raise ValueError(f"`queries` and `corpus` inner products can overflow float32 (largest norms {q:.3g} "
                             f"and {c:.3g}); rescale them or use metric='cosine'.")
    return Q, C


def _global_plan(n_q: int, n_docs: int, positives: Any, selection: NegativeSelection | None, exclude: Any,
                 query_corpus_ids: Any, group: Any) -> MiningPlan:
    """The single-process plan of this rank's queries, with the window and retrieval depth of
    all queries (they depend on the largest number of positives and exclusions of any query)."""
    from .._sparse import as_pairs_matrix

    def local() -> tuple[MiningPlan, int]:
        plan = plan_mining(n_q, n_docs, positives, exclude, query_corpus_ids, selection)
        excluded = np.diff(as_pairs_matrix(exclude, n_q, n_docs, "exclude").indptr) if exclude is not None \
            else np.zeros(0)
        return plan, int(excluded.max(initial=0))

    plan, extra = agree(local, group)  # a bad input (``selection`` included) raises on every rank
    selection = check_selection(selection)
    max_pos, extra = (int(v) for v in all_max([np.diff(plan.positives.indptr).max(initial=0), extra], group))
    if selection.range_max is None:  # sentence-transformers' default window, over all queries
        plan.range_min, plan.range_max = check_window(plan.range_min, None, plan.num_negatives, max_pos,
                                                      plan.filters)
    plan.depth = retrieval_depth(plan.range_max, max_pos, extra, n_docs)
    return plan


def _skip_draws(rng: np.random.Generator, draws: int) -> None:
    """Move ``rng`` past the ``draws`` doubles that the queries of lower ranks consume.

    The sampled strategies draw one double per (query, candidate) slot, query by query, so
    this rank's queries then draw what they draw in one process.
    """
    bitgen = rng.bit_generator
    if hasattr(bitgen, "advance"):  # PCG64 (default_rng) and Philox: one step per double
        bitgen.advance(draws)
        return
    for start in range(0, draws, 2**22):
        rng.random(min(2**22, draws - start))


def _positive_scores(Q: np.ndarray, P: sp.csr_array) -> tuple[np.ndarray, Any]:
    """The positive scores array (CSR order of ``P``) and an ``on_block`` that fills it."""
    prow, pcol, _ = positive_index(P, 0, P.shape[0])
    scores = np.full(pcol.size, np.nan, dtype=np.float32)

    def on_block(offset: int, block: np.ndarray) -> None:
        hit = np.flatnonzero((pcol >= offset) & (pcol < offset + block.shape[0]))
        if hit.size:  # per pair, as the single-process path scores them
            scores[hit] = np.einsum("nd,nd->n", Q[prow[hit]], block[pcol[hit] - offset])

    return scores, on_block


def _blocks(vals: np.ndarray, cols: np.ndarray, ps: np.ndarray, P: sp.csr_array) -> Iterator[BlockRows]:
    """The retrieved candidates in the single-process block format of ``mine_blocks``."""
    for start in range(0, vals.shape[0], _MINE_ROWS):
        stop = min(start + _MINE_ROWS, vals.shape[0])
        Pb = P[start:stop]
        yield start, stop, vals[start:stop], cols[start:stop], ps[P.indptr[start] : P.indptr[stop]], Pb


def mine_hard_negatives(
    queries_shard: Any,
    corpus_shard: Any,
    positives: Any,
    selection: NegativeSelection | None = None,
    *,
    query_corpus_ids: Any = None,
    exclude: Any = None,
    metric: Literal["cosine", "ip"] = "cosine",
    block_rows: int | None = None,
    group: Any = None,
    device: Any = None,
    backend: IVF | None = None,
) -> HardNegatives:
    r"""Hard negatives of this rank's queries, mined from a corpus sharded over a process group.

    Rank :math:`r` holds queries :math:`[q_r, q_r + n_r)` and corpus rows
    :math:`[o_r, o_r + m_r)` (rank order, any sizes). The result is rows
    :math:`[q_r, q_r + n_r)` of ``graphneg.mine_hard_negatives(queries, corpus, positives,
    ...)`` in one process: the same candidates, filters, window and (seeded) sampling.

    Parameters
    ----------
    queries_shard : array-like of shape (n_r, dim)
        This rank's queries (a memory-mapped slice is fine). Read-only.
    corpus_shard : array-like of shape (m_r, dim)
        This rank's corpus rows.
    positives : sequence of int sequences, 1-D int array, or sparse (n_r, n_docs)
        Positives of this rank's queries, as *global* corpus rows.
    selection : NegativeSelection, default=None
        The single-process settings object (:class:`graphneg.NegativeSelection`), the same on
        every rank; ``range_max=None`` uses the largest number of positives of *all* queries,
        as one process would. Its ``seed`` must be an int: every rank starts from the same
        stream and skips the draws of the queries before its own.
    query_corpus_ids, exclude : optional
        For this rank's queries; global corpus rows.
    metric : {'cosine', 'ip'}, default='cosine'
        As in :func:`graphneg.mine_hard_negatives`.
    block_rows : int, default=None
        Corpus rows per circulating block; ``None``: 64 MiB of float32 rows.
    group : torch.distributed.ProcessGroup, default=None
        ``None``: the default group, or a world of one without a process group.
    device : str or torch.device, default=None
        Where each rank scores its queries against the corpus blocks: ``None`` (or a CPU
        device) the CPU tiles; ``'cuda'``, ``'cuda:1'``, ... that accelerator (one fp32 matmul
        and ``topk`` per query chunk, candidates finished on the CPU in the tiles' canonical
        order: the same negatives and scores, bit for bit); ``'auto'``: ``cuda:$LOCAL_RANK``
        when CUDA is available, else the CPU tiles. Over NCCL the blocks travel as device
        tensors, over gloo as CPU arrays.
    backend : IVF, default=None
        ``None``: the exact retrieval. :class:`graphneg.IVF` options (the single-process
        ``backend=`` object): an inverted file over the sharded corpus, on the CPU
        (``device=None``). Its centroids are those one process trains on the whole corpus
        (the same seeded sample, gathered from the ranks); each rank scans, in each circulating
        block, the lists its queries probe; the recall@depth is measured on the single-process
        sample of 1,000 (global) queries against the exact retrieval, and an adaptive
        ``nprobe`` is raised round by round, on every rank alike, until it reaches 0.99. The
        candidates found are finished in the exact route's canonical order and filtered,
        windowed and sampled as one process does.

    Returns
    -------
    HardNegatives
        Rows of this rank's queries, global corpus indices; stack the ranks' with
        :func:`assemble_negatives`. With ``backend=IVF(...)`` its ``search`` (the same on
        every rank) reports the recall, the target and the ``nprobe`` it took.

    See Also
    --------
    graphneg.mine_hard_negatives : the single-process miner (same options objects).
    assemble_negatives : stack the ranks' results.
    graphneg.IVF : the inverted file's options.

    Notes
    -----
    Memory per rank :math:`\approx 4 d (n_r + m_r + b) + 12\, n_r\, D` bytes, ``D`` the
    retrieval depth (``range_max`` + positives + exclusions); each rank receives the other
    corpus shards once. Collective: every rank calls it, an invalid input raises on all.
    With a ``device``, each rank holds there :math:`4 d (n_r + b)` bytes (its queries and one
    block) plus one query chunk of scores (256 MiB) and the ``topk`` temporaries.
    With ``backend=IVF(...)`` each rank also holds the list ids of all corpus rows (8 bytes
    a row), the centroids and the k-means sample; the corpus circulates once per ``nprobe``
    round, once more for the canonical scores, and once for the recall sample's exact
    neighbours; larger blocks make fewer, thicker list GEMMs. With a world of one and one
    block the result is the single-process one, bit for bit; with more ranks or blocks each
    list is scored block by block, whose rounding can change a candidate near the cut-off
    (the same recall check, on the same queries and exact neighbours).

    Examples
    --------
    >>> import graphneg as gn
    >>> rng = np.random.default_rng(0)
    >>> corpus = rng.normal(size=(100, 8)).astype(np.float32)
    >>> queries = corpus[:5] + 0.1 * rng.normal(size=(5, 8)).astype(np.float32)
    >>> sel = gn.NegativeSelection(num_negatives=2)
    >>> hn = mine_hard_negatives(queries, corpus, np.arange(5), sel)  # a world of one
    >>> bool((hn.indices == gn.mine_hard_negatives(queries, corpus, np.arange(5), sel).indices).all())
    True
    >>> ivf = gn.IVF(nlist=4)
    >>> hn = mine_hard_negatives(queries, corpus, np.arange(5), sel, backend=ivf)
    >>> one = gn.mine_hard_negatives(queries, corpus, np.arange(5), sel, backend=ivf)
    >>> bool((hn.indices == one.indices).all()), hn.search.met, hn.search.nprobe == one.search.nprobe
    (True, True, True)
    """
    metric = check_choice(metric, "metric", ("cosine", "ip"))
    if backend is not None and not isinstance(backend, IVF):
        raise ValueError(f"`backend` must be None (exact) or IVF options, got {backend!r}.")
    Q, C = _shards(queries_shard, corpus_shard, metric, group)
    n_docs = int(all_sizes(C.shape[0], group).sum())
    q_sizes = all_sizes(Q.shape[0], group)
    plan = _global_plan(Q.shape[0], n_docs, positives, selection, exclude, query_corpus_ids, group)
    _skip_draws(plan.rng, int(q_sizes[: world(group)[0]].sum()) * plan.depth)
    rows = check_int(block_rows, "block_rows") if block_rows is not None else max(1, BLOCK_BYTES // (4 * C.shape[1]))
    ps, on_block = _positive_scores(Q, plan.positives)
    route, dev = shared_route("fp32", "ip", group), resolve_device(device, group)
    if backend is not None:
        if dev is not None:
            raise ValueError(f"backend=IVF(...) mines on the CPU; got device={device!r}.")
        vals, cols, report = ivf_retrieval(Q, C, plan.depth, backend, route=route, block_rows=rows, group=group,
                                           on_block=on_block, sample=MINING_RECALL_SAMPLE, min_recall=MINING_MIN_RECALL)
        out = mine_blocks(plan, _blocks(vals, cols, ps, plan.positives))
        out.search = report
        return out
    vals, cols = sharded_topk(Q, C, plan.depth, route=route, block_rows=rows, group=group, on_block=on_block,
                              device=dev)
    return mine_blocks(plan, _blocks(vals, cols, ps, plan.positives))


def assemble_negatives(parts: Sequence[HardNegatives]) -> HardNegatives:
    """Stack the ranks' :class:`~graphneg.HardNegatives` (in rank order) into one.

    Parameters
    ----------
    parts : sequence of HardNegatives
        The results of :func:`mine_hard_negatives` on ranks ``0 .. R-1``.

    Returns
    -------
    HardNegatives
        Rows of all queries; ``num_short`` and ``skipped`` summed.

    See Also
    --------
    mine_hard_negatives : the per-rank results it stacks.
    assemble_graph : the same for the kNN graph's row blocks.
    graphneg.HardNegatives : what it returns.

    Examples
    --------
    >>> a = HardNegatives(np.array([[3, 1]]), np.array([[0.5, 0.4]], np.float32), np.array([0.9], np.float32), 0)
    >>> assemble_negatives([a, a]).indices.tolist()
    [[3, 1], [3, 1]]
    """
    if not parts:
        raise ValueError("`parts` must hold at least one result.")
    skipped: dict[str, int] = {}
    for p in parts:
        for name, count in p.skipped.items():
            skipped[name] = skipped.get(name, 0) + count
    return HardNegatives(
        np.concatenate([p.indices for p in parts]), np.concatenate([p.scores for p in parts]),
        np.concatenate([p.positive_scores for p in parts]), sum(p.num_short for p in parts), skipped,
    )
