"""The blocked exact search kernel shared by kNN (:mod:`._knn`) and hard-negative mining.

Private to graphneg (no stable API), but meant to be imported across its modules, hence names
without a leading underscore:

- how an exact CPU search runs (certified bf16, fp32 tiles, bf16 tiles, or full-width torch
  blocks) is decided apart, by :func:`._cpu_route.cpu_route`;
- :func:`tiled_blocks` yields each row block's top-``want`` from cache-resident tiles
  (:mod:`._tiled`), on one worker thread per BLAS thread;
- :func:`block_starts` and :func:`topk` are the pieces of the torch (GPU) block path.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

# CPU fp32 tiles: 1024 x 4096 float32 = 16 MiB of scores per tile, the shape where OpenBLAS
# measured fastest here (199 GFLOP/s against 180 for 335 x 100k full-width blocks)
TILE_ROWS = 1024


TILE_COLS = 4096


def tiled_blocks(
    X: np.ndarray,
    T: np.ndarray,
    want: int,
    self_search: bool,
    t_sq: np.ndarray | None,
    show_progress: bool,
    desc: str,
    *,
    scoring: str = "fp32",
    margin: int = 0,
    rows: int | None = None,
    cols: int | None = None,
    workers: int | None = None,
    raw: bool = False,
    floor: np.ndarray | None = None,
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(start, stop, values, columns)``: each row block's exact fp32 top-``want``.

    Scores are ``<x, t>`` (``2<x, t> - |t|^2`` with ``t_sq``, the euclidean ranking score);
    the item itself is excluded when ``self_search``. See :mod:`graphneg.similarity._tiled`.

    One worker thread per BLAS thread, each running single-threaded GEMMs on its own row
    blocks: the per-tile filter (memory bound, single-threaded numpy) then overlaps the other
    worker's GEMM instead of idling a core, as it does behind a multi-threaded GEMM. Blocks
    come back in order, so the result does not depend on scheduling. The workers compute one
    wave of blocks (one per worker) under single-threaded BLAS/torch limits, which are lifted
    again before the wave's blocks are yielded: the consumer never runs under them.

    ``scoring='bf16'`` (inner products only): tiles are scored by a bfloat16 GEMM, the top
    ``want + margin`` per row kept and re-scored in fp32 (approximate: a true neighbour can
    fall outside the margin).

    ``scoring='certified'`` (inner products only): tiles are scored by a bfloat16 GEMM, which
    is off from the fp32 score by at most ``eps = c(d) |x| |t|`` (:func:`bf16_error_bound`).
    Every target whose bf16 score is within ``2 eps`` of the row's ``want``-th best bf16
    score is kept and re-scored in fp32; the exact top ``want`` is provably among them
    (a target outside would trail ``want`` others by more than the error allows). So the
    result is the fp32 result, at bf16 GEMM speed.

    ``raw=True`` skips the re-scoring: each row's top ``want + margin`` by the scoring's own
    values (bf16 or fp32 GEMM), in no particular order within the row, for a caller that
    merges several blocks per row and re-scores the survivors once (:func:`rescore_top`), as
    the IVF lists do; with ``floor`` (per query row, ``raw`` only) entries below it are not
    wanted (a row's ``want``-th best from the blocks already merged), and rows with none come
    back as ``-inf`` / ``-1`` padding (:func:`graphneg.similarity._tiled.tiled_topk`).
    """
    rows = rows or TILE_ROWS
    block = _BlockScorer(X, T, want, self_search, t_sq, scoring, margin, rows, cols or TILE_COLS, raw, floor)
    starts = range(0, X.shape[0], rows)
    workers = min(workers or blas_threads(), len(starts))
    if workers <= 1:
        yield from progress(map(block, starts), len(starts), show_progress, desc)
        return
    yield from progress(_in_waves(block, starts, workers), len(starts), show_progress, desc)


def _in_waves(block: Callable[[int], Any], starts: range, workers: int) -> Iterator[Any]:
    """``map(block, starts)`` on ``workers`` threads, one wave of ``workers`` blocks at a time.

    The thread limits (process-global) are held only while a wave computes and are restored
    before its results are handed out, so the consumer's own numpy/torch work is unaffected.
    Closing the generator early computes no further wave.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    pool = ThreadPoolExecutor(workers)
    try:
        for w0 in range(0, len(starts), workers):
            with threadpool_limits(1, user_api="blas"), torch_threads(1):
                wave = list(pool.map(block, starts[w0 : w0 + workers]))
            yield from wave
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class _BlockScorer:
    """``self(start)`` is the ``(start, stop, values, columns)`` of one row block (thread safe)."""

    def __init__(
        self, X: np.ndarray, T: np.ndarray, want: int, self_search: bool, t_sq: np.ndarray | None,
        scoring: str, margin: int, rows: int, cols: int, raw: bool = False, floor: np.ndarray | None = None,
    ) -> None:
        self.X, self.T, self.want, self.self_search, self.t_sq, self.raw = X, T, want, self_search, t_sq, raw
        self.floor = floor
        self.rows, self.cols, self.m = rows, cols, T.shape[0]
        self.low = scoring in ("certified", "bf16")
        self.wide = min(want + margin, self.m - (1 if self_search else 0))
        self.local = threading.local()  # one score buffer per worker thread
        if self.low:
            import torch

            self.Xl = read_only_tensor(X).to(torch.bfloat16)
            # one row block (a recall check, a few queries) reads each tile once: convert tiles
            # as they come instead of holding a bf16 copy of all targets
            self.Tl = read_only_tensor(T).to(torch.bfloat16) if X.shape[0] > rows else None
        # exact routes keep every candidate the canonical order could pick (see rescore_top)
        self.slack = None if scoring == "bf16" or raw else canonical_slack(X, T, t_sq is not None, scoring)

    def _score_range(self, start: int, stop: int) -> Callable[[int, int], np.ndarray]:
        buf = getattr(self.local, "buf", None)
        if buf is None:
            buf = self.local.buf = np.empty((self.rows, min(self.cols, self.m)), dtype=np.float32)
        b = stop - start

        def score_range(c0: int, c1: int) -> np.ndarray:
            out = buf[:b, : c1 - c0] if c1 - c0 == buf.shape[1] else np.empty((b, c1 - c0), np.float32)
            if self.low:
                import torch

                Tl = self.Tl[c0:c1] if self.Tl is not None else read_only_tensor(self.T[c0:c1]).to(torch.bfloat16)
                torch.from_numpy(out).copy_(self.Xl[start:stop] @ Tl.T)
                return out
            np.matmul(self.X[start:stop], self.T[c0:c1].T, out=out)
            if self.t_sq is not None:
                out *= 2
                out -= self.t_sq[c0:c1]
            return out

        return score_range

    def __call__(self, start: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        from . import _tiled  # looked up per call, so tests can count the calls

        stop = min(start + self.rows, self.X.shape[0])
        b, score_range = stop - start, self._score_range(start, stop)
        exclude = np.arange(start, stop) if self.self_search else None
        if self.raw:
            floor = None if self.floor is None else self.floor[start:stop]
            vals, idx = _tiled.tiled_topk(score_range, b, self.m, self.wide, self.cols, exclude, ordered=False,
                                          floor=floor)
            return start, stop, vals, idx
        # candidates only: rescore_top orders them, so the selection need not
        if self.slack is None:  # 'bf16': approximate, a fixed margin re-scored
            _, cand = _tiled.tiled_topk(score_range, b, self.m, self.wide, self.cols, exclude, ordered=False)
        else:
            slack = self.slack[start:stop]
            _, cand = _tiled.tiled_topk(score_range, b, self.m, self.want, self.cols, exclude, slack, ordered=False)
        vals, idx = rescore_top(self.X[start:stop], self.T, cand, self.want, self.t_sq)
        return start, stop, vals, idx


def read_only_tensor(a: np.ndarray) -> Any:
    """``torch.from_numpy(a)`` for an array graphneg only reads (a caller's read-only array or
    memory map included), without torch's warning about non-writable arrays."""
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(a)


class UnitRows:
    """Unit-norm rows of ``base``, made when indexed: cosine search without a normalised copy.

    ``view[i]`` is ``base[i] / |base[i]|`` in float32 (one multiply by the stored inverse
    norm) for any row index numpy takes (an int, a slice, an index array; not a tuple): within a float32 rounding of
    :func:`graphneg._validation.safe_normalize`, not bit for bit, so the approximate backends
    use it and the exact routes keep their normalised copy. A search that gathers rows
    blockwise (the IVF lists, the final re-scoring) then holds one block's unit rows at a time
    instead of a second ``n x dim`` copy of the input (1.5 GB at 1M x 384). ``base`` is only
    read.

    >>> base = np.array([[3.0, 4.0], [0.0, 2.0]], dtype=np.float32)
    >>> view = UnitRows(base, np.array([5.0, 2.0]))
    >>> view[[1, 0]].astype(float).round(6).tolist(), view.shape
    ([[0.0, 1.0], [0.6, 0.8]], (2, 2))
    """

    def __init__(self, base: np.ndarray, norms: np.ndarray) -> None:
        self.base = base
        self.inv_norms = (1.0 / np.asarray(norms, dtype=np.float64)).astype(np.float32)
        self.shape, self.dtype, self.ndim = base.shape, np.dtype(np.float32), 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx: Any) -> np.ndarray:
        rows = self.base[idx]
        if rows.dtype != np.float32 or np.may_share_memory(rows, self.base):  # a view of the caller's array
            rows = rows.astype(np.float32, copy=True)
        rows *= self.inv_norms[idx][..., None]
        return rows


def rescore_top(
    xb: np.ndarray, T: np.ndarray, cand: np.ndarray, want: int, t_sq: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical scores of the candidate columns (``-1`` = none) and each row's top ``want``.

    The canonical score of a pair is ``<x, t>`` (``2<x, t> - |t|^2`` with ``t_sq``) computed
    from the two vectors alone, in one fixed float32 summation order, whatever route found the
    candidates; rows are ordered by score, then by ascending column. So identical targets
    (e.g. a query repeated once per positive) tie exactly and come out in index order, and
    every exact route (fp32 tiles, certified bf16 tiles, torch blocks on the CPU) returns
    bit-identical neighbours and scores, provided its candidates hold the canonical top
    ``want`` (:func:`canonical_slack`).
    """
    vals = np.full(cand.shape, -np.inf, dtype=np.float32)
    # gathered block <= 1 MiB: cache-resident and reused, so a fresh process's first call does
    # not fault in 16 MiB of new pages (-35 % first-call time at SciFact size); same bits
    step = max(1, 2**18 // max(cand.shape[1] * xb.shape[1], 1))
    for r0 in range(0, cand.shape[0], step):
        c = cand[r0 : r0 + step]
        ok = c >= 0
        safe = np.where(ok, c, 0)
        s = np.einsum("rwd,rd->rw", T[safe], xb[r0 : r0 + step])
        if t_sq is not None:
            s = 2 * s - t_sq[safe]
        vals[r0 : r0 + step] = np.where(ok, s, -np.inf)
    order = np.lexsort((np.where(cand >= 0, cand, np.iinfo(np.int64).max), -vals), axis=1)[:, :want]
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(cand, order, axis=1)


def finish_candidates(
    X: np.ndarray, T: np.ndarray, start: int, cand: np.ndarray, route_vals: np.ndarray, want: int,
    t_sq: np.ndarray | None, self_search: bool, slack: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical top ``want`` of rows ``start : start + len(cand)`` from the candidates of a
    route that keeps a fixed number per row (torch blocks): descending ``route_vals``.

    A row is certain when its canonical ``want``-th score beats every score a target outside
    the candidates could have (the last candidate's route score plus ``slack / 2``); the few
    rows that are not (near-ties at the cut, e.g. a run of identical targets) are searched
    again on the fp32 tiles, which keep every possible candidate.
    """
    stop = start + cand.shape[0]
    vals, idx = rescore_top(X[start:stop], T, cand, want, t_sq)
    if cand.shape[1] >= T.shape[0] - (1 if self_search else 0):  # every target was a candidate
        return vals, idx
    unsure = np.flatnonzero(~(vals[:, want - 1] > route_vals[:, -1] + slack[start:stop] / 2))
    if unsure.size:
        vals[unsure], idx[unsure] = exact_rows(X, T, unsure + start, want, t_sq, self_search)
    return vals, idx


def exact_rows(
    X: np.ndarray, T: np.ndarray, rows: np.ndarray, want: int, t_sq: np.ndarray | None, self_search: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical top ``want`` of the given rows of ``X`` (the item itself excluded when
    ``self_search``), on the fp32 tiles."""
    w = want + (1 if self_search else 0)
    vals = np.empty((rows.size, want), dtype=np.float32)
    idx = np.empty((rows.size, want), dtype=np.int64)
    for s0, s1, v, c in tiled_blocks(X[rows], T, w, False, t_sq, False, "", scoring="fp32"):
        if self_search:
            keep = without_self(c, rows[s0:s1], want)
            v, c = v[keep].reshape(-1, want), c[keep].reshape(-1, want)
        vals[s0:s1], idx[s0:s1] = v, c
    return vals, idx


def without_self(cols: np.ndarray, rows: np.ndarray, width: int) -> np.ndarray:
    """Mask keeping ``width`` entries per row of ``cols``: all but the row's own id ``rows[r]``,
    or all but the last where the row itself is absent (for searches that may return it).

    >>> without_self(np.array([[4, 0, 7], [1, 2, 3]]), np.array([0, 9]), 2).tolist()
    [[True, False, True], [True, True, False]]
    """
    keep = cols != rows[:, None]
    keep &= np.cumsum(keep, axis=1) <= width
    return keep


def canonical_slack(X: np.ndarray, T: np.ndarray, euclidean: bool, route: str) -> np.ndarray:
    """Per row, how far below its ``want``-th best *route* score a candidate must still be
    kept so that the canonical top ``want`` (:func:`rescore_top`) is among the candidates.

    A route score and the canonical score of a pair differ by at most ``delta = (c_route +
    c_fp32) M``, where ``M = |x| max|t|`` (``2 |x| max|t| + max|t|^2`` for the euclidean
    score) and ``c`` bounds a score's relative error (:func:`bf16_error_bound`,
    :func:`fp32_error_bound`). A target ``u`` whose route score trails the ``want``-th best by
    more than ``2 delta`` has a canonical score below that of each of ``want`` others, so it is
    not in the canonical top ``want`` (ties included): keeping ``2 delta`` suffices.
    """
    d = X.shape[1]
    c_fp32 = fp32_error_bound(d)
    c_route = bf16_error_bound(d) if route == "certified" else c_fp32
    if euclidean:  # the subtraction of |t|^2 rounds once more on each side
        c_route, c_fp32 = c_route + 2.0**-23, c_fp32 + 2.0**-23
    # float64 accumulation in einsum's own small buffers: no float64 copy of a large input, and
    # no overflow (a float32 squared is below 1.2e77)
    t_sq_max = float(np.einsum("ij,ij->i", T, T, dtype=np.float64).max()) if T.shape[0] else 0.0
    x_norm = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    scale = 2 * x_norm * np.sqrt(t_sq_max) + t_sq_max if euclidean else x_norm * np.sqrt(t_sq_max)
    # a tiny absolute term covers flushed denormals
    return (2 * (c_route + c_fp32) * scale + 1e-30).astype(np.float32)


def fp32_error_bound(d: int) -> float:
    """``c`` with ``|fl32(<x, t>) - <x, t>| <= c |x| |t|`` for a float32 dot product of length
    ``d``, in any summation order, with or without fused multiply-adds: ``gamma_d =
    d u / (1 - d u)``, ``u = 2^-24`` (Higham, *Accuracy and Stability*, 3.1), and
    ``sum |x_i t_i| <= |x| |t|``.

    >>> round(fp32_error_bound(384), 8)
    2.289e-05
    """
    g = d * 2.0**-24
    return g / (1 - g)


def bf16_error_bound(d: int) -> float:
    """``c`` with ``|bf16score(x, t) - <x, t>| <= c |x| |t|`` for a bf16 GEMM of length ``d``.

    Inputs rounded to bfloat16 (unit roundoff ``u = 2^-8``) make each product off by at most
    ``(2u + u^2) |x_i t_i|`` (the product itself is exact in fp32); fp32 accumulation adds at
    most ``gamma_d (1 + u)^2 sum |x_i t_i|`` (``gamma_d = d 2^-24 / (1 - d 2^-24)``, any
    summation order); rounding the result to bfloat16 adds ``u`` of its magnitude. And
    ``sum |x_i t_i| <= |x| |t|`` (Cauchy-Schwarz).
    """
    u = 2.0**-8
    g = d * 2.0**-24 / (1 - d * 2.0**-24)
    return (2 * u + u * u) + g * (1 + u) ** 2 + u * (1 + u) ** 2 * (1 + g)


@contextlib.contextmanager
def torch_threads(n: int) -> Any:
    """torch's intra-op threads set to ``n`` for the block (worker threads bring the parallelism).

    A no-op while torch is not imported: nothing in the block can use its threads then, and
    the fp32 tile route stays free of torch's ~1 s import.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    prev = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def on_cpu(device: Any) -> bool:
    """Whether ``device`` (``None``, a string or a ``torch.device``) is the CPU, without
    importing torch (an invalid string goes on to ``torch.device``, which names the error).

    >>> on_cpu(None), on_cpu("cpu"), on_cpu("cuda:0")
    (True, True, False)
    """
    if device is None:
        return True
    if isinstance(device, str):
        return device.split(":")[0] == "cpu"
    return getattr(device, "type", None) == "cpu"  # an int is a CUDA ordinal to torch


def progress(items: Any, total: int, show: bool, desc: str) -> Any:
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit="block")


@functools.lru_cache(maxsize=1)
def blas_threads() -> int:
    """Threads numpy's BLAS would use (its pool size; 1 when it cannot be told)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a declared dependency
        return 1
    counts = [int(i.get("num_threads") or 1) for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts, default=1)


def block_starts(n: int, block_size: int, show_progress: bool, desc: str) -> Any:
    """Start rows of the query blocks, with a tqdm bar when asked.

    >>> list(block_starts(10, 4, False, "kNN search"))
    [0, 4, 8]
    """
    starts: Any = range(0, n, block_size)
    if show_progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=math.ceil(n / block_size), desc=desc, unit="block")
    return starts


def topk(scores: Any, want: int, group: int = 64) -> tuple[Any, Any]:
    """Row-wise top-``want`` (sorted, descending) of a score block, pruned by group maxima.

    The top ``want`` entries of a row lie in the ``want`` groups (of ``group`` consecutive
    columns) with the largest maxima: any entry outside them is beaten by ``want`` group
    maxima. So one fast max-reduction, a top-k over ``m / group`` maxima and a top-k over
    ``want * group`` candidates replace a top-k over all ``m`` columns (2-3x less selection
    time on CPU). Ties between equal scores may resolve differently from ``torch.topk``.

    >>> import torch
    >>> vals, cols = topk(torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.2, 0.8]]), 2)
    >>> cols.tolist()
    [[1, 2], [2, 0]]
    """
    import torch

    b, m = scores.shape
    n_groups = m // group
    if n_groups < 4 * want:  # too few groups to prune much
        return torch.topk(scores, want, dim=1, largest=True, sorted=True)
    main = n_groups * group
    blocks = scores[:, :main].view(b, n_groups, group)
    _, top_groups = torch.topk(blocks.amax(dim=2), want, dim=1, sorted=False)
    cand = torch.gather(blocks, 1, top_groups.unsqueeze(2).expand(-1, -1, group)).reshape(b, want * group)
    cols = (top_groups.unsqueeze(2) * group + torch.arange(group, device=scores.device)).reshape(b, want * group)
    if main < m:  # the columns after the last full group are always candidates
        cand = torch.cat([cand, scores[:, main:]], dim=1)
        tail = torch.arange(main, m, device=scores.device).expand(b, -1)
        cols = torch.cat([cols, tail], dim=1)
    vals, j = torch.topk(cand, want, dim=1, largest=True, sorted=True)
    return vals, torch.gather(cols, 1, j)
