"""Exact, blocked k-nearest-neighbour similarity graphs.

Every graph returned here is a :class:`scipy.sparse.csr_array` with float32 similarities,
canonical (sorted indices, no duplicates) and without a stored diagonal when items are
compared with themselves. Rows are queries, columns are targets.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import threading
import warnings
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._optional import optional_import
from .._validation import check_bool, check_choice, check_embeddings, check_graph, check_int
from ..exceptions import GraphNegWarning

__all__ = ["knn_search", "knn_graph", "knn_recall", "symmetrize", "METRICS", "BACKENDS"]

logger = logging.getLogger(__name__)

Metric = Literal["cosine", "ip", "euclidean"]
Backend = Literal["exact", "auto", "faiss", "faiss-hnsw", "pynndescent"]
Precision = Literal["fp32", "bf16", "fp16"]
BACKENDS = ("exact", "auto", "faiss", "faiss-hnsw", "pynndescent")
# backend='auto' searches exactly up to this many targets (about a minute on 2 CPU cores
# at d=384); beyond it an approximate backend is used when one is installed
AUTO_EXACT_MAX = 200_000
METRICS = ("cosine", "ip", "euclidean")
_METRIC_ALIASES = {"inner_product": "ip", "dot": "ip", "l2": "euclidean"}

# Target elements of one block's score matrix (float32): 2**25 * 4 B = 128 MiB, large enough
# for the GEMM to run near peak, small enough to stay far from O(N^2) memory.
_BLOCK_ELEMENTS = 2**25


def _resolve_metric(metric: str) -> str:
    metric = _METRIC_ALIASES.get(metric, metric) if isinstance(metric, str) else metric
    return check_choice(metric, "metric", METRICS)


def knn_search(
    X: Any,
    k: int,
    *,
    targets: Any = None,
    skip: int = 0,
    metric: Metric = "cosine",
    backend: Backend = "exact",
    precision: Precision = "fp32",
    block_size: int | None = None,
    device: Any = None,
    show_progress: bool = False,
    backend_kwargs: dict[str, Any] | None = None,
    recall_sample: int = 1000,
    min_recall: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Find, for each row of ``X``, its neighbours at ranks ``[skip, skip + k)``.

    Parameters
    ----------
    X : array-like of shape (n_items, dim)
        Query vectors.
    k : int
        Neighbours kept per row, after the ``skip`` best ones are dropped.
    targets : array-like of shape (n_targets, dim), default=None
        Vectors to search; ``None`` searches ``X`` itself and never returns ``i`` for row ``i``.
    skip : int, default=0
        Number of best neighbours dropped first (B3's ``p``: likely false negatives).
    metric : {'cosine', 'ip', 'euclidean'}, default='cosine'
        ``'cosine'`` normalises both sides; ``'ip'`` is the raw inner product; ``'euclidean'``
        ranks by distance ``d`` and reports the similarity ``1 / (1 + d)``.
    backend : {'exact', 'auto', 'faiss', 'faiss-hnsw', 'pynndescent'}, default='exact'
        ``'exact'``: blocked matrix products and top-k selection in torch (CPU or GPU).
        ``'faiss'``: faiss ``IndexFlat`` (exact, extra ``[faiss]``). ``'faiss-hnsw'`` and
        ``'pynndescent'``: approximate graphs for millions of items (extras ``[faiss]`` /
        ``[ann]``); measure their recall with :func:`knn_recall`. ``'auto'``: exact up to
        ``AUTO_EXACT_MAX`` items, else the first installed approximate backend.
    precision : {'fp32', 'bf16', 'fp16'}, default='fp32'
        ``'fp32'``: the exact fp32 result. On the CPU with cosine/ip it is computed, when the
        CPU multiplies bf16 at least 1.25x faster than fp32 (AVX512-BF16/AMX), by a *certified*
        bf16 pass: each score's bf16 error is bounded (``|err| <= c(d) |x| |t|``, c(384) =
        0.0118), every target within twice that bound of a row's k-th best bf16 score is
        re-scored in fp32, and the exact top ``k`` provably lies among them. Otherwise fp32 GEMM
        tiles (numpy BLAS) or torch blocks. ``'bf16'``/``'fp16'`` (exact backend only): blocks
        (CPU: cache-resident bf16 tiles) are scored in reduced precision and a candidate margin
        of ``max(8, k // 4)`` is re-ranked in fp32: approximate, faster than the certified path
        because it keeps fewer candidates (recall@32 1.0000 on clustered d=384 data).
    block_size : int, default=None
        Query rows per block of the torch path (GPU, fp16); ``None`` picks one so a block's
        score matrix holds about 32M floats. The CPU paths score 1024 x 4096 tiles instead.
        Memory is ``O(block_size * n_targets + n_items * k)``.
    device : str or torch.device, default=None
        Torch device for the block products (``'cuda'`` to use a GPU); ``None`` is the CPU.
    show_progress : bool, default=False
        Show a tqdm bar over blocks.
    backend_kwargs : dict, default=None
        Passed to the approximate backend (e.g. ``{"M": 32, "ef_search": 128}`` for HNSW).
    recall_sample : int, default=1000
        Approximate backends only: rows whose neighbours are checked against an exact search
        (:func:`knn_recall`, seeded); the recall is logged at INFO level (logger
        ``graphneg.knn``). ``0`` skips the check.
    min_recall : float, default=0.95
        A :class:`~graphneg.exceptions.GraphNegWarning` is issued when the measured recall is
        lower (raise the index's search effort, e.g. ``ef_search``, or use ``'exact'``).

    Returns
    -------
    indices : ndarray of shape (n_items, k), int64
        Target ids ordered by decreasing similarity (rank ``skip`` first).
    similarities : ndarray of shape (n_items, k), float32
        The matching similarities (always recomputed exactly in fp32).

    Raises
    ------
    ValueError
        On NaN/inf rows, zero rows under cosine, mismatched dimensions, ``skip < 0`` or
        ``skip + k`` larger than the number of candidates.
    graphneg.exceptions.BackendUnavailableError
        When the requested backend's optional package is not installed.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> idx, sim = knn_search(X, 1)
    >>> idx.ravel().tolist()
    [1, 0, 1]
    """
    metric = _resolve_metric(metric)
    X = check_embeddings(X, "X", metric=metric)
    self_search = targets is None
    T = X if self_search else check_embeddings(targets, "targets", metric=metric)
    if T.shape[1] != X.shape[1]:
        raise ValueError(
            f"`targets` must have the same dimension as `X` ({X.shape[1]}), got {T.shape[1]}."
        )
    k = check_int(k, "k")
    skip = check_int(skip, "skip", min_value=0)
    n, m = X.shape[0], T.shape[0]
    n_candidates = m - 1 if self_search else m
    if k + skip > n_candidates:
        what = "n_items - 1" if self_search else "n_targets"
        raise ValueError(
            f"`k` + `skip` must be <= {what} ({n_candidates}), got k={k}, skip={skip}; "
            "there are not that many neighbours."
        )
    show_progress = check_bool(show_progress, "show_progress")
    backend = check_choice(backend, "backend", BACKENDS)
    precision = check_choice(precision, "precision", ("fp32", "bf16", "fp16"))
    if backend == "auto":
        backend = _auto_backend(m)
    if precision != "fp32" and backend != "exact":
        raise ValueError(f"`precision={precision!r}` needs backend='exact', got backend={backend!r}.")
    if block_size is None:
        block_size = int(min(max(_BLOCK_ELEMENTS // max(m, 1), 64), 8192))
    block_size = check_int(block_size, "block_size")
    if metric == "cosine":
        X = _normalize(X)
        T = X if self_search else _normalize(T)
    elif metric == "euclidean":
        # distances are translation invariant; centring keeps 2<x,y> - |y|^2 from cancelling
        # catastrophically when all vectors share a large offset
        centre = T.mean(axis=0, dtype=np.float64).astype(np.float32)
        X = X - centre
        T = X if self_search else T - centre
    if backend == "exact":
        idx, sims = _exact_search(X, T, k, skip, metric, self_search, precision, block_size, device, show_progress)
        if metric == "euclidean":
            sims = _exact_sims(X, T, idx, metric)  # exact distances for the chosen few
        return idx, sims
    want = k + skip + (1 if self_search else 0)
    idx = _approximate(backend, X, T, want, metric, dict(backend_kwargs or {}), self_search)
    if self_search:  # drop the item itself wherever the index returned it
        keep = idx != np.arange(n)[:, None]
        keep &= np.cumsum(keep, axis=1) <= k + skip
        idx = idx[keep].reshape(n, k + skip)
    idx = idx[:, skip:]
    recall_sample = check_int(recall_sample, "recall_sample", min_value=0)
    if recall_sample:
        # X/T are already normalised or centred here, which the exact check leaves unchanged
        r = knn_recall(X, idx, targets=None if self_search else T, skip=skip, metric=metric, sample=recall_sample)
        logger.info("approximate kNN (%s): recall@%d %.4f on %d sampled rows", backend, k, r, min(recall_sample, n))
        if r < min_recall:
            warnings.warn(
                f"approximate kNN ({backend}) found only {r:.1%} of the exact {k} neighbours on "
                f"{min(recall_sample, n)} sampled rows (min_recall={min_recall}); raise the index's search "
                "effort (backend_kwargs) or use backend='exact'.",
                GraphNegWarning,
                stacklevel=2,
            )
    return idx, _exact_sims(X, T, idx, metric)


def _normalize(A: np.ndarray) -> np.ndarray:
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def _exact_sims(X: np.ndarray, T: np.ndarray, idx: np.ndarray, metric: str) -> np.ndarray:
    """Similarities of the selected pairs, in fp32, O(n * k * dim)."""
    out = np.empty(idx.shape, dtype=np.float32)
    for start in range(0, X.shape[0], 4096):
        stop = min(start + 4096, X.shape[0])
        Tg = T[idx[start:stop]]  # (b, k, d)
        if metric == "euclidean":
            d = np.sqrt(np.maximum(((Tg - X[start:stop, None, :]) ** 2).sum(-1), 0))
            out[start:stop] = 1.0 / (1.0 + d)
        else:
            out[start:stop] = np.einsum("bkd,bd->bk", Tg, X[start:stop])
    return out


def _exact_search(
    X: np.ndarray,
    T: np.ndarray,
    k: int,
    skip: int,
    metric: str,
    self_search: bool,
    precision: str,
    block_size: int,
    device: Any,
    show_progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    import torch

    n = X.shape[0]
    dev = torch.device(device) if device is not None else torch.device("cpu")
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    Xt = torch.from_numpy(X).to(dev)
    Tt = Xt if self_search else torch.from_numpy(T).to(dev)
    Xs, Ts = Xt.to(dtype), (Xt.to(dtype) if self_search else Tt.to(dtype))
    t_sq = (Ts.float() * Ts.float()).sum(1).to(dtype) if metric == "euclidean" else None
    # reduced precision keeps a margin of extra candidates, re-ranked exactly below
    margin = 0 if precision == "fp32" else max(8, k // 4)
    want = min(k + skip + margin, T.shape[0] - (1 if self_search else 0))
    out_idx = np.empty((n, k), dtype=np.int64)
    out_sim = np.empty((n, k), dtype=np.float32)
    route = _cpu_route(precision, metric) if dev.type == "cpu" else "torch"
    if route != "torch":
        t_sq_np = None if t_sq is None else t_sq.numpy()
        want = min(k + skip, T.shape[0] - (1 if self_search else 0))
        blocks = _tiled_blocks(X, T, want, self_search, t_sq_np, show_progress, "kNN search",
                               scoring=route, margin=margin)
        for start, stop, vals, idx in blocks:
            vals, idx = vals[:, skip:], idx[:, skip:]
            if t_sq_np is not None:
                x_sq = (X[start:stop] * X[start:stop]).sum(1, keepdims=True)
                vals = 1.0 / (1.0 + np.sqrt(np.maximum(x_sq - vals, 0)))
            out_idx[start:stop], out_sim[start:stop] = idx, vals
        return out_idx, out_sim
    with torch.inference_mode():
        for start in _block_starts(n, block_size, show_progress, "kNN search"):
            stop = min(start + block_size, n)
            scores = Xs[start:stop] @ Ts.T
            if t_sq is not None:
                # argmax of 2<x,y> - |y|^2 is argmin of |x - y|^2 (|x|^2 is constant per row)
                scores.mul_(2).sub_(t_sq)
            if self_search:
                rows = torch.arange(stop - start, device=dev)
                scores[rows, rows + start] = -torch.inf
            vals, idx = _topk(scores, want)
            if margin:
                # exact fp32 re-ranking of the candidates
                cand = Tt[idx]  # (b, want, d)
                xb = Xt[start:stop]
                if t_sq is not None:
                    vals = -((cand - xb[:, None, :]) ** 2).sum(-1)
                else:
                    vals = torch.einsum("bwd,bd->bw", cand, xb)
                vals, order = torch.sort(vals, dim=1, descending=True)
                idx = torch.gather(idx, 1, order)
                vals, idx = vals[:, skip : skip + k], idx[:, skip : skip + k]
                if t_sq is not None:
                    vals = 1.0 / (1.0 + (-vals).clamp_min(0).sqrt())
            else:
                vals, idx = vals[:, skip:], idx[:, skip:]
                if t_sq is not None:
                    x_sq = (Xt[start:stop] * Xt[start:stop]).sum(1, keepdim=True)
                    vals = 1.0 / (1.0 + (x_sq - vals).clamp_min_(0).sqrt_())
            out_idx[start:stop] = idx.cpu().numpy()
            out_sim[start:stop] = vals.float().cpu().numpy()
    return out_idx, out_sim


# CPU fp32 tiles: 1024 x 4096 float32 = 16 MiB of scores per tile, the shape where OpenBLAS
# measured fastest here (199 GFLOP/s against 180 for 335 x 100k full-width blocks)
_TILE_ROWS = 1024
_TILE_COLS = 4096


def _tiled_blocks(
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
) -> Any:
    """Yield ``(start, stop, values, columns)``: each row block's exact fp32 top-``want``.

    Scores are ``<x, t>`` (``2<x, t> - |t|^2`` with ``t_sq``, the euclidean ranking score);
    the item itself is excluded when ``self_search``. See :mod:`graphneg._tiled`.

    One worker thread per BLAS thread, each running single-threaded GEMMs on its own row
    blocks: the per-tile filter (memory bound, single-threaded numpy) then overlaps the other
    worker's GEMM instead of idling a core, as it does behind a multi-threaded GEMM. Blocks
    come back in order, so the result does not depend on scheduling.

    ``scoring='bf16'`` (inner products only): tiles are scored by a bfloat16 GEMM, the top
    ``want + margin`` per row kept and re-scored in fp32 (approximate: a true neighbour can
    fall outside the margin).

    ``scoring='certified'`` (inner products only): tiles are scored by a bfloat16 GEMM, which
    is off from the fp32 score by at most ``eps = c(d) |x| |t|`` (:func:`_bf16_error_bound`).
    Every target whose bf16 score is within ``2 eps`` of the row's ``want``-th best bf16
    score is kept and re-scored in fp32; the exact top ``want`` is provably among them
    (a target outside would trail ``want`` others by more than the error allows). So the
    result is the fp32 result, at bf16 GEMM speed.
    """
    from concurrent.futures import ThreadPoolExecutor

    from ._tiled import tiled_topk

    rows = rows or _TILE_ROWS
    cols = cols or _TILE_COLS
    m = T.shape[0]
    local = threading.local()
    certified = scoring == "certified"
    low = scoring in ("certified", "bf16")
    if low:
        import torch

        Xl = torch.from_numpy(X).to(torch.bfloat16)
        Tl = torch.from_numpy(T).to(torch.bfloat16)
        t_max = float(np.sqrt((T.astype(np.float64) ** 2).sum(1).max())) if m else 0.0
        x_norm = np.sqrt((X.astype(np.float64) ** 2).sum(1))
    if certified:
        # twice the worst error of a score, plus a tiny absolute term for flushed denormals
        slack_all = (2 * _bf16_error_bound(X.shape[1]) * x_norm * t_max + 1e-30).astype(np.float32)

    def block(start: int) -> tuple[int, int, np.ndarray, np.ndarray]:
        stop = min(start + rows, X.shape[0])
        xb, b = X[start:stop], stop - start
        buf = getattr(local, "buf", None)
        if buf is None:
            buf = local.buf = np.empty((rows, min(cols, m)), dtype=np.float32)

        def score_range(c0: int, c1: int) -> np.ndarray:
            out = buf[:b, : c1 - c0] if c1 - c0 == buf.shape[1] else np.empty((b, c1 - c0), np.float32)
            if low:
                torch.from_numpy(out).copy_(Xl[start:stop] @ Tl[c0:c1].T)
                return out
            np.matmul(xb, T[c0:c1].T, out=out)
            if t_sq is not None:
                out *= 2
                out -= t_sq[c0:c1]
            return out

        exclude = np.arange(start, stop) if self_search else None
        if not low:
            vals, idx = tiled_topk(score_range, b, m, want, cols, exclude)
            return start, stop, vals, idx
        if certified:
            _, cand = tiled_topk(score_range, b, m, want, cols, exclude, slack_all[start:stop])
        else:
            wide = min(want + margin, m - (1 if self_search else 0))
            _, cand = tiled_topk(score_range, b, m, wide, cols, exclude)
        vals, idx = _rescore_top(xb, T, cand, want)
        return start, stop, vals, idx

    starts = range(0, X.shape[0], rows)
    workers = min(workers or _blas_threads(), len(starts))
    if workers <= 1:
        yield from _progress(map(block, starts), len(starts), show_progress, desc)
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"), _torch_threads(1):
        pool = ThreadPoolExecutor(workers)
        try:
            yield from _progress(pool.map(block, starts), len(starts), show_progress, desc)
        finally:  # an interrupted search must not run every queued block to the end
            pool.shutdown(wait=True, cancel_futures=True)


def _rescore_top(xb: np.ndarray, T: np.ndarray, cand: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact fp32 scores of the candidate columns (``-1`` = none) and each row's top ``want``."""
    vals = np.full(cand.shape, -np.inf, dtype=np.float32)
    step = max(1, 2**22 // max(cand.shape[1] * xb.shape[1], 1))  # gathered block <= 16 MiB
    for r0 in range(0, cand.shape[0], step):
        c = cand[r0 : r0 + step]
        ok = c >= 0
        s = np.einsum("rwd,rd->rw", T[np.where(ok, c, 0)], xb[r0 : r0 + step])
        vals[r0 : r0 + step] = np.where(ok, s, -np.inf)
    order = np.lexsort((np.where(cand >= 0, cand, np.iinfo(np.int64).max), -vals), axis=1)[:, :want]
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(cand, order, axis=1)


def _bf16_error_bound(d: int) -> float:
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
def _torch_threads(n: int) -> Any:
    """torch's intra-op threads set to ``n`` for the block (worker threads bring the parallelism)."""
    import torch

    prev = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def _best_time(fn: Any, repeats: int = 3) -> float:
    """Best of ``repeats`` timed calls after a warm-up call (a noisy machine only adds time)."""
    import time

    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


@functools.lru_cache(maxsize=1)
def _bf16_speedup() -> float:
    """How much faster one core multiplies a kNN tile in bf16 (torch) than in fp32 (numpy BLAS)."""

    import torch
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.random((512, 384), dtype=np.float32)
    b = rng.random((2048, 384), dtype=np.float32)
    al, bl = torch.from_numpy(a).bfloat16(), torch.from_numpy(b).bfloat16()
    out = np.empty((512, 2048), dtype=np.float32)

    with threadpool_limits(1, user_api="blas"), _torch_threads(1), torch.inference_mode():
        t32 = _best_time(lambda: np.matmul(a, b.T, out=out))
        t16 = _best_time(lambda: al @ bl.T)
    logger.debug("one-core GEMM: fp32 numpy %.4fs, bf16 torch %.4fs", t32, t16)
    return t32 / t16


def _cpu_route(precision: str, metric: str) -> str:
    """How an exact CPU search runs: 'certified' (bf16 tiles, every possible neighbour re-scored
    in fp32: exact), 'fp32' (fp32 numpy GEMM tiles), 'bf16' (bf16 tiles with a fixed margin
    re-scored in fp32: approximate) or 'torch' (full-width torch blocks)."""
    if metric == "euclidean" or precision == "fp16":
        return "fp32" if precision == "fp32" and _fastest_cpu_gemm() == "numpy" else "torch"
    if precision == "bf16":
        return "bf16"
    if _bf16_speedup() >= 1.25:
        return "certified"
    return "fp32" if _fastest_cpu_gemm() == "numpy" else "torch"


def _progress(items: Any, total: int, show: bool, desc: str) -> Any:
    if not show:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit="block")


@functools.lru_cache(maxsize=1)
def _blas_threads() -> int:
    """Threads numpy's BLAS would use (its pool size; 1 when it cannot be told)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover - a declared dependency
        return 1
    counts = [int(i.get("num_threads") or 1) for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(counts, default=1)


def _block_starts(n: int, block_size: int, show_progress: bool, desc: str) -> Any:
    """Start rows of the query blocks, with a tqdm bar when asked."""
    starts: Any = range(0, n, block_size)
    if show_progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=math.ceil(n / block_size), desc=desc, unit="block")
    return starts


def _topk(scores: Any, want: int, group: int = 64) -> tuple[Any, Any]:
    """Row-wise top-``want`` (sorted, descending) of a score block, pruned by group maxima.

    The top ``want`` entries of a row lie in the ``want`` groups (of ``group`` consecutive
    columns) with the largest maxima: any entry outside them is beaten by ``want`` group
    maxima. So one fast max-reduction, a top-k over ``m / group`` maxima and a top-k over
    ``want * group`` candidates replace a top-k over all ``m`` columns (2-3x less selection
    time on CPU). Ties between equal scores may resolve differently from ``torch.topk``.
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


@functools.lru_cache(maxsize=1)
def _fastest_cpu_gemm() -> str:
    """'numpy' or 'torch': whichever multiplies a kNN-shaped fp32 block faster here."""

    import torch

    rng = np.random.default_rng(0)
    a = rng.random((1024, 384), dtype=np.float32)
    b = rng.random((16384, 384), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    out = np.empty((1024, 16384), dtype=np.float32)

    t_np = _best_time(lambda: np.matmul(a, b.T, out=out))
    with torch.inference_mode():
        t_torch = _best_time(lambda: ta @ tb.T)
    # numpy unless torch is clearly faster: a noisy draw must not flip a 1.5x win
    choice = "torch" if t_torch < 0.8 * t_np else "numpy"
    logger.debug("CPU GEMM: numpy %.4fs, torch %.4fs -> %s", t_np, t_torch, choice)
    return choice


def _auto_backend(n_targets: int) -> str:
    if n_targets <= AUTO_EXACT_MAX:
        return "exact"
    import importlib.util

    for name, module in (("pynndescent", "pynndescent"), ("faiss-hnsw", "faiss")):
        if importlib.util.find_spec(module) is not None:
            logger.info("backend='auto': %d targets > %d, using %s", n_targets, AUTO_EXACT_MAX, name)
            return name
    warnings.warn(
        f"backend='auto': {n_targets} targets but no approximate backend is installed "
        "(pip install 'graphneg[ann]' or 'graphneg[faiss]'); using the exact search.",
        GraphNegWarning,
        stacklevel=3,
    )
    return "exact"


def _approximate(
    backend: str, X: np.ndarray, T: np.ndarray, want: int, metric: str, kw: dict[str, Any], self_search: bool
) -> np.ndarray:
    if backend in ("faiss", "faiss-hnsw"):
        faiss = optional_import("faiss", extra="faiss", feature=f"backend={backend!r}")
        d = X.shape[1]
        faiss_metric = faiss.METRIC_L2 if metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
        if backend == "faiss":
            index = faiss.IndexFlat(d, faiss_metric)
        else:
            index = faiss.IndexHNSWFlat(d, int(kw.get("M", 32)), faiss_metric)
            index.hnsw.efConstruction = int(kw.get("ef_construction", 80))
            index.hnsw.efSearch = int(kw.get("ef_search", max(64, 2 * want)))
        index.add(np.ascontiguousarray(T, dtype=np.float32))
        _, idx = index.search(np.ascontiguousarray(X, dtype=np.float32), want)
    else:
        pynndescent = optional_import("pynndescent", extra="ann", feature="backend='pynndescent'")
        pm = {"cosine": "dot", "ip": "dot", "euclidean": "euclidean"}[metric]  # rows normalised for cosine
        seed = int(kw.pop("seed", 0)) if "seed" in kw else 0
        index = pynndescent.NNDescent(
            T, metric=pm, n_neighbors=max(want, int(kw.pop("n_neighbors", 30))), random_state=seed,
            low_memory=True, **kw,
        )
        if self_search:
            idx = index.neighbor_graph[0][:, :want]
        else:
            idx, _ = index.query(X, k=want)
    idx = np.asarray(idx, dtype=np.int64)
    if (idx < 0).any():
        raise RuntimeError(f"backend {backend!r} returned fewer than {want} neighbours for some rows")
    return idx


def knn_recall(
    X: Any,
    indices: Any,
    *,
    targets: Any = None,
    skip: int = 0,
    metric: Metric = "cosine",
    sample: int = 1000,
    seed: int = 0,
) -> float:
    """Recall of (approximate) neighbours against the exact search, on a sample of rows.

    Parameters
    ----------
    X : array-like of shape (n_items, dim)
    indices : array-like of shape (n_items, k) or a kNN graph (sparse, ``k`` entries a row)
        The neighbours to check (ranks ``[skip, skip + k)``).
    targets, skip, metric
        As used to build ``indices``.
    sample : int, default=1000
        Rows checked (all rows when fewer).
    seed : int, default=0

    Returns
    -------
    float
        Mean over sampled rows of ``|found ∩ exact| / k``.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> idx, _ = knn_search(X, 5)
    >>> knn_recall(X, idx)
    1.0
    """
    if hasattr(indices, "tocsr"):
        G = indices.tocsr()
        counts = np.diff(G.indptr)
        if counts.min() != counts.max():
            raise ValueError("`indices` graph must hold the same number of neighbours in every row.")
        indices = G.indices.reshape(G.shape[0], -1)
    idx = np.asarray(indices)
    X = check_embeddings(X, "X", metric=_resolve_metric(metric))
    if idx.ndim != 2 or idx.shape[0] != X.shape[0]:
        raise ValueError(f"`indices` must have shape ({X.shape[0]}, k), one row per item of X, got {idx.shape}.")
    n, k = idx.shape
    rows = np.random.default_rng(seed).choice(n, min(sample, n), replace=False)
    T = X if targets is None else targets
    exact, _ = knn_search(X[rows], k + skip + (1 if targets is None else 0), targets=T, metric=metric)
    hits = 0
    for r, row in enumerate(rows):
        ex = exact[r][exact[r] != row] if targets is None else exact[r]
        hits += np.intersect1d(ex[skip : skip + k], idx[row]).size
    return hits / (rows.size * k)


def _rows_to_csr(indices: np.ndarray, sims: np.ndarray, n_cols: int) -> sp.csr_array:
    n, k = indices.shape
    G = sp.csr_array(
        (sims.ravel(), indices.ravel(), np.arange(0, n * k + 1, k, dtype=np.int64)),
        shape=(n, n_cols),
    )
    G.sort_indices()
    return G


def knn_graph(
    X: Any,
    k: int,
    *,
    targets: Any = None,
    skip: int = 0,
    metric: Metric = "cosine",
    mutual: bool = False,
    backend: Backend = "exact",
    precision: Precision = "fp32",
    block_size: int | None = None,
    device: Any = None,
    show_progress: bool = False,
    backend_kwargs: dict[str, Any] | None = None,
    recall_sample: int = 1000,
    min_recall: float = 0.95,
) -> sp.csr_array:
    """Build the k-nearest-neighbour similarity graph of ``X`` as a sparse CSR array.

    Row ``i`` holds the neighbours of item ``i`` at ranks ``[skip, skip + k)``, so
    ``knn_graph(X, k=m, skip=p)`` is B3's rank window: the ``p`` most similar items (likely
    false negatives) are skipped and the next ``m`` kept.

    Parameters
    ----------
    X : array-like of shape (n_items, dim)
        Embeddings (rows need not be normalised; ``metric='cosine'`` does it).
    k : int
        Entries kept per row.
    targets : array-like of shape (n_targets, dim), default=None
        Search these instead of ``X`` (e.g. queries against documents); the graph is then
        ``(n_items, n_targets)`` and may contain ``(i, i)``.
    skip : int, default=0
        Best neighbours dropped before the ``k`` kept.
    metric : {'cosine', 'ip', 'euclidean'}, default='cosine'
        Similarity: cosine, raw inner product, or ``1 / (1 + euclidean distance)``.
    mutual : bool, default=False
        Keep only edges found in both directions (B3's mutual graph). The result is symmetric
        and rows may then hold fewer than ``k`` entries. Requires ``targets=None``.
    backend, precision, block_size, device, show_progress, backend_kwargs, recall_sample, min_recall
        See :func:`knn_search`.

    Returns
    -------
    G : scipy.sparse.csr_array of shape (n_items, n_items) or (n_items, n_targets), float32
        ``G[i, j]`` is the similarity of target ``j`` to item ``i``. Exactly ``k`` entries per
        row unless ``mutual``; no diagonal when ``targets is None``; canonical CSR.

    Notes
    -----
    The search is exact and blocked: each block of rows is scored against all targets with
    one matrix product and reduced with a top-``(skip + k)`` selection, so memory stays
    ``O(n_items * k + block_size * n_targets)``, never ``n_items * n_targets``. Ties are
    broken by the selection kernel, deterministically for a given device.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> G = knn_graph(X, 1)
    >>> G.indices.tolist()
    [1, 0, 3, 2]
    >>> knn_graph(X, 1, skip=1).indices.tolist()  # the second-nearest instead
    [3, 3, 1, 1]
    """
    mutual = check_bool(mutual, "mutual")
    if mutual and targets is not None:
        raise ValueError("`mutual=True` needs `targets=None`: mutual edges need a square graph.")
    idx, sim = knn_search(
        X,
        k,
        targets=targets,
        skip=skip,
        metric=metric,
        backend=backend,
        precision=precision,
        block_size=block_size,
        device=device,
        show_progress=show_progress,
        backend_kwargs=backend_kwargs,
        recall_sample=recall_sample,
        min_recall=min_recall,
    )
    n_cols = idx.shape[0] if targets is None else int(np.asarray(targets).shape[0])
    G = _rows_to_csr(idx, sim, n_cols)
    if mutual:
        G = symmetrize(G, mode="mutual")
    return G


def symmetrize(G: Any, mode: Literal["union", "mutual"] = "union") -> sp.csr_array:
    """Make a directed graph symmetric.

    Parameters
    ----------
    G : sparse array of shape (n, n)
        A directed graph, e.g. from :func:`knn_graph`.
    mode : {'union', 'mutual'}, default='union'
        ``'union'`` keeps an edge present in either direction, with the larger weight;
        ``'mutual'`` keeps only edges present in both directions, with the smaller weight.

    Returns
    -------
    scipy.sparse.csr_array of shape (n, n), float32
        Symmetric, canonical, with the diagonal removed.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> G = sp.csr_array(np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=np.float32))
    >>> symmetrize(G, "mutual").toarray().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    >>> int(symmetrize(G, "union").nnz)
    4
    """
    check_choice(mode, "mode", ("union", "mutual"))
    G = check_graph(G, "G", keep_zeros=True).tocoo()
    n = G.shape[0]
    off = G.row != G.col
    r, c, v = G.row[off].astype(np.int64), G.col[off].astype(np.int64), G.data[off]
    # Each edge enters once per direction; grouping by (row, col) then reduces the pair.
    # Works for any weight sign, including explicit zeros (max/min of sparse arrays would not).
    keys = np.concatenate([r * n + c, c * n + r])
    vals = np.concatenate([v, v])
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys
    counts = np.diff(np.r_[first, keys.size])
    if mode == "union":
        out_vals = np.maximum.reduceat(vals, first) if keys.size else vals
        out_keys = keys[first]
    else:
        # a directed edge seen from both sides appears twice (once per direction and copy)
        both = counts >= 2 if keys.size else counts.astype(bool)
        reduced = np.minimum.reduceat(vals, first) if keys.size else vals
        out_vals, out_keys = reduced[both], keys[first][both]
    S = sp.csr_array(
        (out_vals.astype(np.float32), (out_keys // n, out_keys % n)), shape=(n, n)
    )
    S.sort_indices()
    return S
