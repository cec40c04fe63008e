"""Row blocks of an exact search, each scored tile by tile (:mod:`._tiled`) on worker threads.

:func:`tiled_blocks` yields each row block's top-``want`` from cache-resident tiles, on one
worker thread per BLAS thread; which scoring it uses (certified bf16, fp32, bf16) is decided
apart, by :func:`._cpu_route.cpu_route`. The thread plumbing every kernel shares lives here too:
:func:`blas_threads`, :func:`torch_threads`, :func:`read_only_tensor`, :func:`progress`.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._canonical import canonical_slack, rescore_top

# CPU fp32 tiles: 1024 x 4096 float32 = 16 MiB of scores per tile, large enough for the GEMM to
# run near peak and small enough to stay in a large last-level cache while it is filtered
TILE_ROWS = 1024
TILE_COLS = 4096


@dataclass(frozen=True)
class Tiles:
    """How :func:`tiled_blocks` cuts and schedules the work; ``None`` is the module default.

    Attributes
    ----------
    rows, cols : int, optional
        Rows of a block, columns of a tile (:data:`TILE_ROWS`, :data:`TILE_COLS`).
    workers : int, optional
        Worker threads (:func:`blas_threads`).
    show_progress : bool
        A tqdm bar over the blocks, labelled ``desc``.
    desc : str
        The bar's label.

    Examples
    --------
    >>> Tiles(rows=64).cols is None
    True
    """

    rows: int | None = None
    cols: int | None = None
    workers: int | None = None
    show_progress: bool = False
    desc: str = ""


def tiled_blocks(
    X: Any,
    T: Any,
    want: int,
    self_search: bool,
    t_sq: np.ndarray | None,
    *,
    scoring: str = "fp32",
    margin: int = 0,
    tiles: Tiles = Tiles(),
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(start, stop, values, columns)``: each row block's exact fp32 top-``want``.

    Scores are ``<x, t>`` (``2<x, t> - |t|^2`` with ``t_sq``, the euclidean ranking score);
    the item itself is excluded when ``self_search``. See :mod:`graphneg._search._tiled`.

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
    is off from the fp32 score by at most ``eps = c(d) |x| |t|`` (:func:`._canonical.bf16_error_bound`).
    Every target whose bf16 score is within ``2 eps`` of the row's ``want``-th best bf16
    score is kept and re-scored in fp32; the exact top ``want`` is provably among them
    (a target outside would trail ``want`` others by more than the error allows). So the
    result is the fp32 result, at bf16 GEMM speed.

    Examples
    --------
    >>> X = np.eye(3, dtype=np.float32) + 0.1
    >>> [c.tolist() for _, _, _, c in tiled_blocks(X, X, 1, True, None)]
    [[[1], [0], [0]]]
    """
    rows = tiles.rows or TILE_ROWS
    block = _BlockScorer(X, T, want, self_search, t_sq, scoring, margin, rows, tiles.cols or TILE_COLS)
    starts = range(0, X.shape[0], rows)
    # one row block runs on one worker: no need to ask how many BLAS threads there are
    workers = 1 if len(starts) <= 1 else min(tiles.workers or blas_threads(), len(starts))
    if workers <= 1:
        yield from progress(map(block, starts), len(starts), tiles.show_progress, tiles.desc)
        return
    yield from progress(_in_waves(block, starts, workers), len(starts), tiles.show_progress, tiles.desc)


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


# oneDNN compiles (and caches, up to 1,024) a bf16 GEMM kernel per (rows, cols) shape, ~2 ms
# each; the IVF's lists give every block its own shape, so a scan would spend more time
# compiling than multiplying and the cache would grow by hundreds of MB. Padding each
# operand to a few sizes keeps the shapes few; the padded rows and columns are dropped.
_PAD_ROWS, _PAD_COLS = 16, 64


def bf16_scores(Xl: Any, start: int, stop: int, Tl: Any) -> Any:
    """``Xl[start:stop] @ Tl.T`` (bf16 tensors), computed at a padded shape and cut back.

    >>> import torch
    >>> X = torch.eye(3, 4, dtype=torch.bfloat16)
    >>> bf16_scores(X, 1, 3, X).float().tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    import torch.nn.functional as F

    b, c = stop - start, Tl.shape[0]
    bp, cp = -(-b // _PAD_ROWS) * _PAD_ROWS, -(-c // _PAD_COLS) * _PAD_COLS
    # rows past the block are real rows when there are enough of them: no copy then
    Xb = Xl[start : start + bp] if start + bp <= Xl.shape[0] else F.pad(Xl[start:stop], (0, 0, 0, bp - b))
    Tp = Tl if cp == c else F.pad(Tl, (0, 0, 0, cp - c))
    return (Xb @ Tp.T)[:b, :c]


class _BlockScorer:
    """``self(start)`` is the ``(start, stop, values, columns)`` of one row block (thread safe)."""

    def __init__(
        self, X: Any, T: Any, want: int, self_search: bool, t_sq: np.ndarray | None,
        scoring: str, margin: int, rows: int, cols: int,
    ) -> None:
        self.X, self.T, self.want, self.self_search, self.t_sq = X, T, want, self_search, t_sq
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
        self.slack = None if scoring == "bf16" else canonical_slack(X, T, t_sq is not None, scoring)

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
                torch.from_numpy(out).copy_(bf16_scores(self.Xl, start, stop, Tl))
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
    """``items``, wrapped in a tqdm bar of ``total`` blocks when ``show``."""
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit="block")


@functools.lru_cache(maxsize=1)
def blas_pools() -> tuple[dict[str, Any], ...]:
    """numpy's BLAS thread pools as threadpoolctl sees them, scanned once per process.

    The scan walks every loaded shared library (milliseconds): both :func:`blas_threads` and
    the CPU route (:func:`._cpu_route.plain_cpu_route`) read this one result, so a process's
    first search pays for it once.
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a declared dependency
        return ()
    return tuple(i for i in threadpool_info() if i.get("user_api") == "blas")


def blas_threads() -> int:
    """Threads numpy's BLAS would use (its pool size; 1 when it cannot be told)."""
    return max((int(i.get("num_threads") or 1) for i in blas_pools()), default=1)
