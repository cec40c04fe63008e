"""The list scan of the inverted file (:mod:`._ivf`): every query against the members of its
probed lists, merged into its running candidates.

Queries are grouped by probed list (:class:`Sweeps`: each query's nearest list first, then its
other probes), so each list's members meet all the queries that probe it in a few GEMM blocks.
A block's scores are reduced on the worker thread that computed them to each row's entries
above that row's floor (its ``width``-th best so far: :func:`._ivf_kernels.select_above`), and
the main thread merges them into the running candidates in list order
(:func:`._ivf_kernels.merge_rows`), so the result does not depend on thread timing: a floor
read early is lower, which only lets more entries reach the merge that rejects them.

Where the CPU multiplies bf16 natively, queries and targets are converted to unit bf16 rows
once (:class:`ListOperands`: the targets in list order, so a list's members are one contiguous
slice and only the queries are gathered) and the scores are read as bf16 bits; elsewhere the
lists' fp32 rows are gathered per list and scored by fp32 GEMMs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from ._blocks import blas_threads, progress, read_only_tensor, torch_threads
from ._cpu_route import cpu_route

# how many lists' blocks may wait for the merge at once, per worker
_IN_FLIGHT = 2
# query rows per GEMM block: a bf16 GEMM of 2,048 x 384 x 1,024 runs ~1.45x faster per flop than one
# of 512 rows (AMX, one core); the 4 MiB of scores are read once by the selection, which skips most rows
_BLOCK_ROWS = 2048
# oneDNN compiles (and caches, up to 1,024) a bf16 GEMM kernel per shape, ~2 ms each: a block's
# rows are padded to a multiple of _PAD_ROWS and a list's members to one of _PAD_COLS
_PAD_ROWS, _PAD_COLS = 128, 64
# rows converted to bf16 at a time (bounds the fp32 temporaries of a UnitRows view)
_CONVERT_ROWS = 65_536


class Sweeps:
    """The (list, query rows) jobs of the two sweeps over the lists: every query's nearest
    list, then its other probes. After the first, each query holds a ``want``-th best from its
    nearest list, so a later list's rows whose scores all trail it are not selected (most of
    them: a query's nearest list holds most of its neighbours). One inverted index of all
    probes serves both sweeps (a second one would hold another ``n x nprobe`` ids); a list's
    rows are split by probe rank when its job is made.

    >>> [(L, q.tolist(), first) for L, q, first in Sweeps(np.array([[1, 0], [0, 1]]), 2).jobs(np.array([0, 1, 2]))]
    [(0, [1], True), (1, [0], True), (0, [0], False), (1, [1], False)]
    """

    def __init__(self, probes: np.ndarray, n_lists: int) -> None:
        self.nprobe = probes.shape[1]
        self.order, self.bounds = inverted(probes.ravel(), n_lists)
        nearest = np.bincount(probes[:, 0], minlength=n_lists)
        self.counts = (nearest, np.diff(self.bounds) - nearest)  # rows per list in each sweep

    def n_jobs(self, m_bounds: np.ndarray) -> int:
        full = np.diff(m_bounds) > 0
        return sum(int((full & (c > 0)).sum()) for c in self.counts)

    def jobs(self, m_bounds: np.ndarray) -> Iterator[tuple[int, np.ndarray, bool]]:
        """``(list, query rows, first sweep)`` of every job, the first sweep's first."""
        full = np.diff(m_bounds) > 0
        for sweep, counts in enumerate(self.counts):
            for L in np.flatnonzero(full & (counts > 0)):
                flat = self.order[self.bounds[L] : self.bounds[L + 1]]
                nearest = flat % self.nprobe == 0
                yield int(L), flat[nearest if sweep == 0 else ~nearest] // self.nprobe, sweep == 0


def inverted(labels: np.ndarray, n_lists: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions grouped by label (stable) and each label's ``[start, stop)`` bounds.

    >>> inverted(np.array([1, 0, 1]), 2)
    (array([1, 0, 2]), array([0, 1, 3]))
    """
    # labels as small as they fit: numpy sorts 8- and 16-bit keys stably by radix, in linear time
    small = np.uint16 if n_lists <= 2**16 else np.int64
    order = np.argsort(labels.astype(small, copy=False), kind="stable")
    return order, np.searchsorted(labels[order], np.arange(n_lists + 1))


def list_scoring(X: Any, T: Any, metric: str, route: str | None = None) -> str:
    """'bf16' GEMM tiles where the exact search would take the certified bf16 route, else 'fp32'
    (``route``: that exact route when the caller has chosen it, else chosen here)."""
    if route is None:
        route = cpu_route("fp32", metric, (X.shape[0], T.shape[0], X.shape[1]))
    return "bf16" if route in ("certified", "bf16") and metric != "euclidean" else "fp32"


def candidate_width(want: int, scoring: str) -> int:
    """Candidates a query keeps across its lists: bf16 scores are off by up to ~1 % of the
    norms, so a margin of ``max(8, want // 4)`` survives to the final fp32 re-scoring."""
    return want + (max(8, want // 4) if scoring == "bf16" else 0)


def bf16_rows(A: Any, rows: np.ndarray | None = None, pad: int = 0) -> Any:
    """``A[rows]`` (all rows for ``None``) as a bf16 tensor, converted a chunk at a time (a
    :class:`~graphneg._search._prepare.UnitRows` view normalises each chunk), with ``pad``
    zero rows after them.

    >>> bf16_rows(np.eye(3, dtype=np.float32), np.array([2, 0]), pad=1).float().tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    import torch

    n = A.shape[0] if rows is None else rows.size
    out = torch.zeros((n + pad, A.shape[1]), dtype=torch.bfloat16)
    for r0 in range(0, n, _CONVERT_ROWS):
        part = A[r0 : r0 + _CONVERT_ROWS] if rows is None else A[rows[r0 : r0 + _CONVERT_ROWS]]
        out[r0 : r0 + len(part)] = read_only_tensor(np.asarray(part, dtype=np.float32))
    return out


class ListOperands:
    """What the list blocks multiply, prepared once for a scan (or several, as ``nprobe`` rises).

    ``scoring='bf16'``: the targets ``T[members]`` as bf16 rows in list order (plus
    ``_PAD_COLS`` zero rows, so a list's block can be read at a padded width as one slice), and
    the queries as bf16 rows: ``queries`` when given (a caller scanning several target blocks
    converts them once), the targets themselves for a self-search (``qpos``: each query's row
    among them), else converted here. ``'fp32'``: the arrays as given, gathered per list.
    """

    def __init__(self, X: Any, T: Any, members: np.ndarray, metric: str, scoring: str, *,
                 self_search: bool = False, queries: Any = None) -> None:
        self.X, self.T, self.members, self.metric, self.scoring = X, T, members, metric, scoring
        self.qpos: np.ndarray | None = None
        self.local = threading.local()
        if scoring != "bf16":
            return
        self.targets = bf16_rows(T, members, pad=_PAD_COLS)
        if self_search:
            self.queries, self.qpos = self.targets, np.empty_like(members)
            self.qpos[members] = np.arange(members.size)
        else:
            self.queries = bf16_rows(X) if queries is None else queries

    def buffers(self, q_size: int, s_size: int) -> tuple[Any, Any]:
        """This thread's flat bf16 buffers of at least ``q_size`` (gathered queries) and
        ``s_size`` (scores) elements, grown as needed and kept for its later blocks."""
        import torch

        q_buf, s_buf = getattr(self.local, "bufs", (None, None))
        if q_buf is None or q_buf.numel() < q_size:
            q_buf = torch.empty(q_size, dtype=torch.bfloat16)
        if s_buf is None or s_buf.numel() < s_size:
            s_buf = torch.empty(s_size, dtype=torch.bfloat16)
        self.local.bufs = q_buf, s_buf
        return q_buf, s_buf


def _bf16_block_bits(ops: ListOperands, rows: np.ndarray, m0: int, m1: int) -> np.ndarray:
    """bf16 scores of query rows ``rows`` (of ``ops.queries``) against list rows ``m0:m1``, as
    int16 bits, ``(rows.size, padded width)``; only the first ``m1 - m0`` columns are scores."""
    import torch

    b = rows.size
    bp = -(-b // _PAD_ROWS) * _PAD_ROWS
    if bp > b:  # padding rows repeat the first: computed, never read
        rows = np.concatenate([rows, np.full(bp - b, rows[0])])
    cp = -(-(m1 - m0) // _PAD_COLS) * _PAD_COLS
    # the gathered rows and the scores go to this thread's buffers: a fresh MiB-sized tensor
    # per block is a fresh mapping, and its page faults cost as much as the GEMM
    q_buf, s_buf = ops.buffers(bp * ops.queries.shape[1], bp * cp)
    Q = q_buf[: bp * ops.queries.shape[1]].view(bp, ops.queries.shape[1])
    torch.index_select(ops.queries, 0, torch.from_numpy(rows), out=Q)
    S = s_buf[: bp * cp].view(bp, cp)
    torch.mm(Q, ops.targets[m0 : m0 + cp].T, out=S)  # rows past the list: the next list's or zero padding
    return S.view(torch.int16).numpy()[:b]


def _fp32_block_bits(Xq: np.ndarray, Tm: np.ndarray, t_sq: np.ndarray | None) -> np.ndarray:
    """fp32 scores (``2<x, t> - |t|^2`` with ``t_sq``) of gathered rows, as int32 bits."""
    S = Xq @ Tm.T
    if t_sq is not None:
        S *= 2
        S -= t_sq
    return S.view(np.int32)


def list_block(ops: ListOperands, width: int, id_offset: int, L: int, q: np.ndarray, m_bounds: np.ndarray,
               floor: np.ndarray) -> tuple[np.ndarray, ...]:
    """Job of one list ``L`` and its query rows ``q``: ``(q, count, values, columns, targets)``,
    each row's (at most ``width``) largest raw scores above its ``floor``, and the list
    members' target ids (plus ``id_offset``) that the columns index."""
    from ._ivf_kernels import KEY_LOW, floor_keys, key_values, select_above

    m0, m1 = int(m_bounds[L]), int(m_bounds[L + 1])
    w = min(width, m1 - m0)
    keys = np.empty((q.size, w), dtype=np.int32)
    cols = np.empty((q.size, w), dtype=np.int64)
    count = np.empty(q.size, dtype=np.int64)
    if ops.scoring == "bf16":
        rows = q if ops.qpos is None else ops.qpos[q]
        dtype = np.dtype(np.int16)
    else:
        Xq, Tm = ops.X[q], ops.T[ops.members[m0:m1]]  # gathered (and normalised) per list
        t_sq = (Tm * Tm).sum(1) if ops.metric == "euclidean" else None
        dtype = np.dtype(np.int32)
    fk = floor_keys(floor, dtype)
    for s in range(0, q.size, _BLOCK_ROWS):
        e = min(s + _BLOCK_ROWS, q.size)
        if ops.scoring == "bf16":
            bits = _bf16_block_bits(ops, rows[s:e], m0, m1)
        else:
            bits = _fp32_block_bits(Xq[s:e], Tm, t_sq)
        select_above(bits, m1 - m0, fk[s:e], KEY_LOW[dtype], keys[s:e], cols[s:e], count[s:e])
    return q, count, key_values(keys, dtype), cols, ops.members[m0:m1] + id_offset


def _list_results(ops: ListOperands, m_bounds: np.ndarray, sweeps: Sweeps, best_v: np.ndarray, best_i: np.ndarray,
                  kth: np.ndarray, id_offset: int) -> Iterator[tuple[np.ndarray, ...] | None]:
    """Each non-empty list's :func:`list_block`, sweep by sweep and in list order, computed on
    one thread per BLAS thread; a block's floor is its queries' ``kth`` when its job starts
    (``kth`` only rises, so an older value is still a lower bound).

    A first-sweep job merges its own block (and yields ``None``): each query is in one job of
    that sweep, so those merges touch disjoint rows, and every first-sweep job is finished
    before any later block is yielded to the caller's merge (they are yielded in order)."""
    from threadpoolctl import threadpool_limits

    from ._ivf_kernels import merge_rows

    def job(L: int, q: np.ndarray, first: bool) -> tuple[np.ndarray, ...] | None:
        block = list_block(ops, best_v.shape[1], id_offset, L, q, m_bounds, kth[q])
        if not first:
            return block
        merge_rows(*block, best_v, best_i, kth)
        return None

    workers = max(1, blas_threads())
    # single-threaded GEMMs on parallel lists: no idle core while one list's selection runs
    with threadpool_limits(1, user_api="blas"), torch_threads(1), ThreadPoolExecutor(workers) as pool:
        pending: list[Future[Any]] = []
        for L, q, first in sweeps.jobs(m_bounds):
            pending.append(pool.submit(job, L, q, first))
            if len(pending) > _IN_FLIGHT * workers:
                yield pending.pop(0).result()
        for f in pending:
            yield f.result()


def scan_lists(
    ops: ListOperands, m_bounds: np.ndarray, sweeps: Sweeps, show_progress: bool,
    best_v: np.ndarray, best_i: np.ndarray, kth: np.ndarray, id_offset: int = 0,
) -> None:
    """Merge the sweeps' lists into every query's running top ``best_v.shape[1]`` (in place;
    ``-inf`` / ``-1`` where short; ``kth``: each row's smallest kept score). ``ops.T`` may be
    one block of the targets, its first row global row ``id_offset`` (``ops.members``: rows of
    the block): scanning the blocks in turn gathers what one scan of all targets gathers."""
    from ._ivf_kernels import merge_rows

    results = _list_results(ops, m_bounds, sweeps, best_v, best_i, kth, id_offset)
    for block in progress(results, sweeps.n_jobs(m_bounds), show_progress, "IVF lists"):
        if block is not None:
            merge_rows(*block, best_v, best_i, kth)
