r"""The approximate retrieval of the sharded miner: an inverted file over a sharded corpus.

The single-process route (:func:`graphneg.negatives._mining_routes.ivf_route_blocks`) on
ranks that each hold a query shard and a corpus shard, on the same kernels
(:mod:`graphneg._search._ivf`):

1. **Centroids**: every rank draws the single-process k-means sample's global rows
   (:func:`~graphneg._search._ivf.training_rows`, the IVF's ``seed``), the ranks gather
   their rows of it in global order, and rank 0 runs the Lloyd steps
   (:func:`~graphneg._search._ivf.lloyd`) and sends the centroids to all: the centroids one
   process would train on the concatenated corpus, bit for bit.
2. **Lists**: each rank assigns its corpus rows to their nearest centroid; the ranks gather
   the list ids of all rows (8 bytes a row), so each circulating block's rows come with theirs.
3. **Scan**: the corpus circulates in blocks (:func:`._circulate.circulate_rows`); each rank
   scans, in each block, the members of the lists its queries probe, merging into its
   queries' running candidates as one process merges list by list
   (:func:`~graphneg._search._ivf_scan.scan_lists`, the block's first global row as offset).
4. **Recall**: the single-process seeded sample of (global) queries, their exact top
   ``depth`` (:func:`._circulate.sharded_topk`), and the found candidates' canonical and
   float64 scores computed on the ranks that hold the rows; the ``nprobe`` is raised round by
   round (each round circulates the corpus once more, scanning only the new probe ranks) by
   :func:`~graphneg._search._recall.scan_to_recall`, on every rank alike.
5. **Finish**: one more circulation computes every candidate's canonical fp32 score (and the
   positives' scores); each query keeps its top ``depth`` in the canonical order
   (:func:`~graphneg._search._canonical.canonical_order`).

With a world of one and one block the candidates are the single-process ones, so the
negatives are too. With more blocks each list's members are scored block by block, and a
GEMM may round a score differently in another block (the bf16 list scoring of CPUs with
native bf16 most of all): a candidate near the ``width``-th can differ, and so can the
sampled recall, in its last digits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._search._canonical import canonical_order
from .._search._cpu_route import cpu_route
from .._search._ivf import default_nlist, lloyd, nearest_lists, probe_ranks, start_nprobe, training_rows
from .._search._ivf_scan import ListOperands, Sweeps, bf16_rows, candidate_width, inverted, list_scoring, scan_lists
from .._search._recall import count_tied, scan_to_recall
from .._search._reports import SearchReport
from ..similarity._backends import IVF
from ._circulate import OnBlock, circulate_rows, sharded_topk
from ._group import _dist, all_max, all_sizes, world

__all__ = ["ivf_retrieval"]

# rows of candidates given their canonical scores at a time (bounds the pair index arrays)
_FINISH_ROWS = 16_384
# floats of the two vectors gathered per chunk of pairs (1 MiB: cache-resident, reused from the heap)
_PAIR_FLOATS = 2**18


def pair_dots(X: np.ndarray, rows: np.ndarray, T: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """float32 ``<X[rows[i]], T[cols[i]]>`` per pair, in the per-pair summation order of the
    canonical scores (:func:`graphneg.negatives._mining_routes.positive_scores`), gathered in
    small chunks of pairs.

    >>> X = np.eye(2, dtype=np.float32)
    >>> pair_dots(X, np.array([0, 1, 1]), X, np.array([0, 0, 1])).tolist()
    [1.0, 0.0, 1.0]
    """
    out = np.empty(rows.size, dtype=np.float32)
    step = max(1, _PAIR_FLOATS // max(X.shape[1], 1))
    for s in range(0, rows.size, step):
        out[s : s + step] = np.einsum("nd,nd->n", X[rows[s : s + step]], T[cols[s : s + step]])
    return out


def all_rows(a: np.ndarray, group: Any = None) -> np.ndarray:
    """Every rank's ``a`` (rows of any dtype, any trailing shape) concatenated in rank order.

    >>> all_rows(np.arange(3)).tolist()
    [0, 1, 2]
    """
    dist = _dist(group)
    if dist is None:
        return a
    import torch

    from ._group import collective_device

    sizes = all_sizes(a.shape[0], group)
    pad = np.zeros((int(sizes.max()), *a.shape[1:]), dtype=a.dtype)
    pad[: a.shape[0]] = a
    dev = collective_device(group)
    parts = [torch.empty(pad.shape, dtype=torch.from_numpy(pad).dtype, device=dev) for _ in sizes]
    dist.all_gather(parts, torch.from_numpy(pad).to(dev), group=group)
    return np.concatenate([p.cpu().numpy()[:n] for p, n in zip(parts, sizes, strict=True)])


def from_rank0(value: Any, group: Any = None) -> Any:
    """Rank 0's ``value`` (a picklable object) on every rank."""
    dist = _dist(group)
    if dist is None:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=dist.get_global_rank(group, 0) if group is not None else 0, group=group)
    return box[0]


def train_sharded(C: np.ndarray, offset: int, n_docs: int, nlist: int, options: IVF, group: Any) -> np.ndarray:
    """The single-process centroids (:func:`~graphneg._search._ivf.train_centroids` on the
    concatenated corpus) from this rank's corpus rows ``C`` (global rows from ``offset``)."""
    rows, rng = training_rows(n_docs, nlist, options.seed, options.train_size)
    mine = np.arange(offset, offset + C.shape[0]) if rows is None else \
        rows[(rows >= offset) & (rows < offset + C.shape[0])]
    S = all_rows(np.ascontiguousarray(C[mine - offset], dtype=np.float32), group)
    centroids = lloyd(S, nlist, "ip", rng, options.kmeans_iterations) if world(group)[0] == 0 else None
    return from_rank0(centroids, group)


class ShardedIVF:
    """:class:`graphneg._search._ivf.IVFIndex`'s interface (``scan``, ``top``, ``list_ranks``,
    ``nprobe``, ``nlist``) over queries and corpus sharded over the ranks; every method is
    collective (``top`` and ``list_ranks`` take global query rows, the same on every rank)."""

    def __init__(self, Q: np.ndarray, C: np.ndarray, want: int, options: IVF, *, route: str, block_rows: int,
                 group: Any) -> None:
        self.Q, self.C, self.want, self.route, self.block_rows, self.group = Q, C, want, route, block_rows, group
        rank, _ = world(group)
        q_sizes, c_sizes = all_sizes(Q.shape[0], group), all_sizes(C.shape[0], group)
        self.q_bounds = np.concatenate([[0], np.cumsum(q_sizes)])
        self.q0, self.c0 = int(self.q_bounds[rank]), int(c_sizes[:rank].sum())
        self.n_queries, self.n_docs = int(q_sizes.sum()), int(c_sizes.sum())
        nlist = min(options.nlist or default_nlist(self.n_docs), self.n_docs)
        self.centroids = train_sharded(C, self.c0, self.n_docs, nlist, options, group)
        self.nlist = self.centroids.shape[0]
        # the list scoring one process would choose for all queries and the whole corpus
        size = (self.n_queries, self.n_docs, Q.shape[1])
        self.scoring = list_scoring(Q, C, "ip", from_rank0(cpu_route("fp32", "ip", size), group))
        width = min(candidate_width(want, self.scoring), self.n_docs)
        self.labels = all_rows(nearest_lists(C, self.centroids, 1, "ip")[:, 0], group)
        self.cand_v = np.full((Q.shape[0], width), -np.inf, dtype=np.float32)
        self.cand_i = np.full((Q.shape[0], width), -1, dtype=np.int64)
        self.kth = np.full(Q.shape[0], -np.inf, dtype=np.float32)
        self.nprobe = 0
        self._sample: tuple[np.ndarray, np.ndarray] | None = None

    def scan(self, nprobe: int) -> None:
        """Scan probe ranks ``self.nprobe .. nprobe - 1`` of every query: one circulation."""
        nprobe = min(int(all_max([nprobe], self.group)[0]), self.nlist)  # one decision on all ranks
        if nprobe <= self.nprobe:
            return
        probes = nearest_lists(self.Q, self.centroids, nprobe, "ip")
        sweeps = Sweeps(np.ascontiguousarray(probes[:, self.nprobe :]), self.nlist)
        del probes
        queries = bf16_rows(self.Q) if self.scoring == "bf16" else None  # once for all blocks
        for offset, block in circulate_rows(self.C, self.block_rows, self.group):
            members, bounds = inverted(self.labels[offset : offset + block.shape[0]], self.nlist)
            ops = ListOperands(self.Q, block, members, "ip", self.scoring, queries=queries)
            scan_lists(ops, bounds, sweeps, False, self.cand_v, self.cand_i, self.kth, offset)
        self.nprobe = nprobe

    def gather(self, local: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per-query arrays of global query ``rows`` on every rank, in ``rows``' order, from
        each rank's ``local`` (its rows of ``rows``, in that order: :meth:`owned`)."""
        owner = np.searchsorted(self.q_bounds, rows, side="right") - 1
        out = np.empty((rows.size, *local.shape[1:]), dtype=local.dtype)
        out[np.argsort(owner, kind="stable")] = all_rows(local, self.group)
        return out

    def owned(self, rows: np.ndarray) -> np.ndarray:
        """This rank's local query rows among global ``rows``, in their order."""
        return rows[(rows >= self.q0) & (rows < self.q0 + self.Q.shape[0])] - self.q0

    def sample_queries(self, rows: np.ndarray) -> np.ndarray:
        """The query vectors of global ``rows`` on every rank (gathered once per ``rows``)."""
        if self._sample is None or not np.array_equal(self._sample[0], rows):
            self._sample = rows, self.gather(np.ascontiguousarray(self.Q[self.owned(rows)]), rows)
        return self._sample[1]

    def exact(self, X: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
        """The exact top ``want`` of rows ``X`` over the sharded corpus (canonical order)."""
        return sharded_topk(X, self.C, want, route=self.route, block_rows=self.block_rows, group=self.group)

    def pair_scores(self, X: np.ndarray, ids: np.ndarray, dtype: Any) -> np.ndarray:
        """Scores of rows ``X`` (the same on every rank) with corpus rows ``ids`` (``-1``:
        none, ``-inf``), computed where the rows lie: canonical fp32 (per pair, as
        :func:`~graphneg._search._canonical.rescore_top`) or float64 (as the recall check)."""
        out = np.full(ids.shape, -np.inf, dtype=np.float64)
        mine = (ids >= self.c0) & (ids < self.c0 + self.C.shape[0])
        if dtype == np.float64:
            for r in np.flatnonzero(mine.any(axis=1)):
                t = np.asarray(self.C[ids[r, mine[r]] - self.c0], dtype=np.float64)
                out[r, mine[r]] = t @ np.asarray(X[r], dtype=np.float64)
        else:
            r, j = np.nonzero(mine)
            out[r, j] = pair_dots(X, r, self.C, ids[r, j] - self.c0)
        return all_max(out, self.group).astype(dtype)

    def top(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The canonical top ``want`` of global query ``rows`` (the recall sample), on every rank."""
        X = self.sample_queries(rows)
        cand = self.gather(self.cand_i[self.owned(rows)], rows)
        vals, idx = canonical_order(self.pair_scores(X, cand, np.float32), cand, self.want)
        short = np.flatnonzero(idx[:, -1] < 0)  # the same rows on every rank
        if short.size:
            vals[short], idx[short] = self.exact(X[short], self.want)
        return vals, idx

    def list_ranks(self, rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Probe rank of each target's list for global query ``rows`` (as ``IVFIndex.list_ranks``)."""
        return probe_ranks(self.sample_queries(rows), self.centroids, "ip", self.labels[targets])

    def finish(self, on_block: OnBlock) -> tuple[np.ndarray, np.ndarray]:
        """This rank's queries' canonical top ``want``: one circulation scores every candidate
        (and shows ``on_block`` every block); rows short of ``want`` are searched exactly."""
        vals = np.full(self.cand_i.shape, -np.inf, dtype=np.float32)
        for offset, block in circulate_rows(self.C, self.block_rows, self.group):
            on_block(offset, block)
            for r0 in range(0, self.Q.shape[0], _FINISH_ROWS):
                cand = self.cand_i[r0 : r0 + _FINISH_ROWS]
                r, j = np.nonzero((cand >= offset) & (cand < offset + block.shape[0]))
                vals[r0 + r, j] = pair_dots(self.Q, r0 + r, block, cand[r, j] - offset)
        vals, idx = canonical_order(vals, self.cand_i, self.want)
        short = np.flatnonzero(idx[:, -1] < 0)
        if all_max([short.size], self.group)[0] > 0:  # every rank joins the exact search
            vals[short], idx[short] = self.exact(np.ascontiguousarray(self.Q[short]), self.want)
        return vals, idx


class ShardedRecall:
    """:class:`graphneg._search._recall.RecallSample` (``rows``, ``k``, ``windows``,
    ``recall``, ``recall_rows``) of a :class:`ShardedIVF`: the same seeded global queries, exact neighbours
    and tie-aware count, the scores computed on the ranks that hold the rows."""

    def __init__(self, index: ShardedIVF, sample: int, seed: int) -> None:
        n = index.n_queries
        self.index, self.k = index, index.want
        self.rows = np.random.default_rng(seed).choice(n, min(sample, n), replace=False)
        own = index.owned(self.rows)
        exact = index.exact(np.ascontiguousarray(index.Q[own]), self.k)[1]
        self.windows = index.gather(exact, self.rows)
        self.X = index.sample_queries(self.rows)
        self.window_scores = index.pair_scores(self.X, self.windows, np.float64)

    def recall(self, found_rows: np.ndarray) -> float:
        """Recall of ``found_rows`` (found ids of the sampled rows), the same on every rank."""
        return float(self.recall_rows(found_rows).mean())

    def recall_rows(self, found_rows: np.ndarray) -> np.ndarray:
        """Each sampled row's recall, the same on every rank."""
        found = np.full((self.rows.size, found_rows.shape[1]), -1, dtype=np.int64)
        for r in range(self.rows.size):
            u = np.unique(found_rows[r])
            u = u[(u >= 0) & (u < self.index.n_docs)]
            found[r, : u.size] = u
        scores = self.index.pair_scores(self.X, found, np.float64)
        hits = np.zeros(self.rows.size, dtype=np.float64)
        for r in range(self.rows.size):
            fs = scores[r, found[r] >= 0]
            hits[r] = min(count_tied(self.window_scores[r], fs), self.k) if fs.size else 0
        return all_max(hits / self.k, self.index.group)


def ivf_retrieval(
    Q: np.ndarray, C: np.ndarray, depth: int, options: IVF, *, route: str, block_rows: int, group: Any,
    on_block: OnBlock, sample: int, min_recall: float,
) -> tuple[np.ndarray, np.ndarray, SearchReport]:
    """This rank's queries' top ``depth`` candidates (canonical fp32 scores, global corpus
    rows) through the sharded inverted file, ``nprobe`` raised until the recall measured on
    ``sample`` seeded queries reaches ``min_recall`` (when adaptive), and the report."""
    index = ShardedIVF(Q, C, depth, options, route=route, block_rows=block_rows, group=group)
    check = ShardedRecall(index, sample, 0)
    adaptive = options.nprobe is None if options.adaptive is None else options.adaptive
    nprobe = start_nprobe(options.nprobe, options.nlist, index.n_docs, adaptive)
    report = scan_to_recall(index, check, lambda ids: ids, nprobe, min_recall, "distributed.mine_hard_negatives (ivf)",
                            "distributed.mine_hard_negatives", adaptive)
    vals, idx = index.finish(on_block)
    return vals, idx, report
