r"""Approximate kNN by an inverted file (IVF) on graphneg's exact tile kernels.

The targets are cut into ``nlist`` lists by k-means trained on a seeded sample (Lloyd steps
whose assignments are the exact tile kernel with ``want=1``); every target joins the list of its
nearest centroid. A query is scored only against the members of its ``nprobe`` nearest lists.
Queries are grouped by probed list, so each list's members meet all the queries that probe it
in a few GEMM blocks (:mod:`._ivf_scan`: bf16 GEMMs where the CPU multiplies bf16 natively,
fp32 elsewhere), each row's entries above its running ``width``-th best are picked by a
compiled kernel and merged into its candidates (:mod:`._ivf_kernels`), and the survivors are
re-scored once in fp32 (:meth:`IVFIndex.top`). Cost: about ``n (nlist + nprobe N / nlist) d``
multiply-adds against ``n N d`` for the exact search; memory ``O(n (want + nprobe))``
(candidates, probe lists) plus the k-means sample and, on the bf16 route, one bf16 copy of the
unit targets in list order (half the size of a float32 input; a self-search's queries are read
from it) and a few blocks per worker. Cosine reads the caller's rows through a
:class:`~graphneg._search._prepare.UnitRows` view, normalising each chunk it converts or
gathers; only the rare exact fallback for rows whose probed lists hold fewer than ``want``
targets makes a normalised float32 copy.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .._validation import check_int
from ._blocks import blas_threads, progress, tiled_blocks
from ._canonical import canonical_slack, rescore_top
from ._ivf_scan import ListOperands, Sweeps, candidate_width, inverted, list_scoring, scan_lists
from ._prepare import UnitRows

#: keyword options of ``backend='ivf'`` (the rest of ``backend_kwargs`` is rejected)
IVF_KWARGS = ("seed", "kmeans_iterations", "train_size")
# k-means trains on this many rows per list, at least 10k rows in all
_TRAIN_PER_LIST = 32
_TRAIN_MIN = 10_000
# targets per list of the default nlist
_LIST_SIZE = 1000
# query rows re-scored at a time at the end
_RESCORE_ROWS = 16_384
# query rows whose probes are searched at a time
_PROBE_ROWS = 65_536


def default_nlist(n_targets: int) -> int:
    r"""Lists of the IVF index when ``nlist=None``: lists of ~1,000 targets, :math:`\lceil N / 1000\rceil`.

    The list scan is one GEMM block per list; below ~1,000 members a block is too thin for the
    BLAS to run near peak (a GEMM's cost per score rises steeply as its block thins), and
    per-list selection costs grow relative to the GEMM. At 1M targets this is the usual
    :math:`\sqrt{N}` = 1,000 lists.

    >>> default_nlist(100_000), default_nlist(1_000_000), default_nlist(300)
    (100, 1000, 1)
    """
    return max(1, math.ceil(n_targets / _LIST_SIZE))


def default_nprobe(nlist: int) -> int:
    r"""Lists probed per query when ``nprobe=None`` and the scan is not adaptive (an adaptive
    scan predicts its first ``nprobe`` from its recall sample instead: :func:`._recall.scan_to_recall`):
    :math:`\max(8, \lceil 0.75 \sqrt{nlist}\rceil)`, at most ``nlist``.

    Fitted to recall@20 >= 0.95 on the continuum benchmark (384 dims, 48 latent factors,
    lists of ~1,000): the smallest sufficient ``nprobe`` was 7 of 100 lists at 100k items
    (recall 0.962; 8 gives 0.974) and 12 of 300 at 300k (0.962; 8 gives only 0.911): a finer
    partition spreads a query's neighbours over more lists. At 1M (1,000 lists) the rule gives
    24 (2.4 % of the targets), an extrapolation; the recall check of ``knn_search`` warns when
    it falls short.

    >>> default_nprobe(100), default_nprobe(300), default_nprobe(1000), default_nprobe(4)
    (8, 13, 24, 4)
    """
    return min(nlist, max(8, math.ceil(0.75 * math.sqrt(nlist))))


def start_nprobe(nprobe: int | None, nlist: int | None, n_targets: int, adaptive: bool) -> int | None:
    """A scan's first ``nprobe``: the one given; else ``None`` for an adaptive scan (predicted
    from its recall sample by :func:`._recall.scan_to_recall`); else :func:`default_nprobe`.

    >>> start_nprobe(5, None, 10_000, True), start_nprobe(None, None, 10_000, True), start_nprobe(None, 64, 0, False)
    (5, None, 8)
    """
    if nprobe is not None or adaptive:
        return nprobe
    return default_nprobe(nlist or default_nlist(n_targets))


def check_ivf_options(nlist: Any, nprobe: Any, kwargs: dict[str, Any]) -> tuple[int | None, int | None, dict[str, int]]:
    """Validated ``(nlist, nprobe, kwargs)`` of ``backend='ivf'`` (``None`` = the default).

    >>> check_ivf_options(64, 4, {"seed": 1})
    (64, 4, {'seed': 1, 'kmeans_iterations': 10})
    >>> check_ivf_options(8, 9, {})
    Traceback (most recent call last):
    ...
    ValueError: `nprobe` must be <= nlist (8), got 9.
    """
    nlist = None if nlist is None else check_int(nlist, "nlist")
    nprobe = None if nprobe is None else check_int(nprobe, "nprobe")
    if nlist is not None and nprobe is not None and nprobe > nlist:
        raise ValueError(f"`nprobe` must be <= nlist ({nlist}), got {nprobe}.")
    unknown = sorted(set(kwargs) - set(IVF_KWARGS))
    if unknown:
        raise ValueError(f"backend='ivf' takes backend_kwargs {', '.join(IVF_KWARGS)}; got {', '.join(unknown)}.")
    out = {"seed": check_int(kwargs.get("seed", 0), "seed", min_value=0),
           "kmeans_iterations": check_int(kwargs.get("kmeans_iterations", 10), "kmeans_iterations", min_value=0)}
    if "train_size" in kwargs:
        out["train_size"] = check_int(kwargs["train_size"], "train_size")
    return nlist, nprobe, out


def train_centroids(
    T: np.ndarray, nlist: int, metric: str, *, seed: int = 0, kmeans_iterations: int = 10,
    train_size: int | None = None,
) -> np.ndarray:
    r"""Centroids of ``nlist`` lists: k-means (Lloyd) on a seeded sample of the targets.

    The sample has ``max(32 nlist, 10,000)`` rows unless ``train_size``; the first centroids
    are distinct sampled rows. Each Lloyd step assigns every sampled row to its best centroid
    (largest :math:`\langle x, c\rangle`, or :math:`2\langle x, c\rangle - |c|^2` for
    euclidean: the exact tile kernel with ``want=1``) and moves each centroid to its part's
    normalised sum (cosine/ip: spherical k-means) or mean (euclidean). An empty part keeps its
    centroid during the steps and is dropped at the end, so fewer than ``nlist`` may come back.

    (:func:`graphneg.distributed.coarse_parts` is the same spherical k-means for sharded data,
    but it scores the sample against all centroids at once, accumulates with ``np.add.at`` and
    imports torch for its collectives: half the time of a small IVF search when it was used.)

    >>> T = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], dtype=np.float32)
    >>> sorted(np.round(train_centroids(T, 2, "cosine").astype(float), 2).tolist())
    [[0.05, 1.0], [1.0, 0.05]]
    """
    rows, rng = training_rows(T.shape[0], nlist, seed, train_size)
    S = T[rows] if rows is not None else T[:]  # the sample's rows (a view of an array)
    return lloyd(S, nlist, metric, rng, kmeans_iterations)


def training_rows(m: int, nlist: int, seed: int = 0,
                  train_size: int | None = None) -> tuple[np.ndarray | None, np.random.Generator]:
    """The sorted rows of :func:`train_centroids`' sample of ``m`` targets (``None``: all of
    them) and the generator, positioned for :func:`lloyd`'s first centroids. A sharded corpus
    draws the same rows on every rank and gathers them (:mod:`graphneg.distributed`).

    >>> rows, _ = training_rows(100, 2, seed=0, train_size=5)
    >>> rows.size, bool((np.diff(rows) > 0).all()), training_rows(100, 2, train_size=200)[0]
    (5, True, None)
    """
    size = min(m, train_size or max(_TRAIN_PER_LIST * nlist, _TRAIN_MIN))
    rng = np.random.default_rng(seed)
    return (np.sort(rng.choice(m, size, replace=False)) if size < m else None), rng


def lloyd(S: np.ndarray, nlist: int, metric: str, rng: np.random.Generator, kmeans_iterations: int) -> np.ndarray:
    """:func:`train_centroids`' k-means on its sample ``S``: first centroids ``nlist`` distinct
    rows drawn by ``rng``, then ``kmeans_iterations`` Lloyd steps; empty lists dropped.

    >>> S = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], dtype=np.float32)
    >>> lloyd(S, 2, "cosine", np.random.default_rng(0), 10).shape
    (2, 2)
    """
    import scipy.sparse as sp

    size = S.shape[0]
    nlist = min(nlist, size)
    C = S[np.sort(rng.choice(size, nlist, replace=False))].astype(np.float32)
    counts = np.zeros(nlist, dtype=np.int64)
    for _ in range(kmeans_iterations + 1):
        parts = nearest_lists(S, C, 1, metric)[:, 0]
        onehot = sp.csr_array((np.ones(size, np.float32), (parts, np.arange(size))), shape=(nlist, size))
        sums = np.asarray(onehot @ S, dtype=np.float64)
        counts = np.bincount(parts, minlength=nlist)
        full = counts > 0
        if metric == "euclidean":
            sums[full] /= counts[full, None]
        else:
            sums[full] /= np.maximum(np.linalg.norm(sums[full], axis=1, keepdims=True), 1e-30)
        C[full] = sums[full]
    return C[counts > 0]


def nearest_lists(X: Any, C: np.ndarray, nprobe: int, metric: str, show_progress: bool = False) -> np.ndarray:
    """``(n, nprobe)`` ids of each row's nearest centroids, best first, in the canonical order
    (:func:`~graphneg._search._canonical.rescore_top`'s: what the exact tile kernel returns).

    ``X`` is read in row chunks, so a :class:`~graphneg._search._prepare.UnitRows` view is
    normalised one chunk at a time; each chunk's row blocks run on one worker thread per BLAS
    thread (:func:`_probe_block`).

    >>> C = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> nearest_lists(np.array([[0.2, 0.9]], dtype=np.float32), C, 2, "cosine").tolist()
    [[1, 0]]
    """
    from functools import partial

    from ._blocks import TILE_ROWS, _in_waves

    c_sq = (C * C).sum(1) if metric == "euclidean" else None
    n = X.shape[0]
    out = np.empty((n, nprobe), dtype=np.int64)
    buf = np.empty((min(n, _PROBE_ROWS), X.shape[1]), np.float32) if isinstance(X, UnitRows) else None
    for r0 in progress(range(0, n, _PROBE_ROWS), -(-n // _PROBE_ROWS), show_progress, "IVF probes"):
        r1 = min(r0 + _PROBE_ROWS, n)
        xc = X.chunk(r0, r1, buf) if buf is not None else np.asarray(X[r0:r1], dtype=np.float32)
        block = partial(_probe_block, xc, C, nprobe, c_sq, canonical_slack(xc, C, c_sq is not None, "fp32"))
        starts = range(0, xc.shape[0], TILE_ROWS)
        workers = min(blas_threads(), len(starts))
        for start, idx in _in_waves(block, starts, workers) if workers > 1 else map(block, starts):
            out[r0 + start : r0 + start + idx.shape[0]] = idx
    return out


def _probe_block(X: np.ndarray, C: np.ndarray, nprobe: int, c_sq: np.ndarray | None, slack: np.ndarray,
                 start: int) -> tuple[int, np.ndarray]:
    r"""``(start, ids)``: :func:`nearest_lists` of the rows ``start : start + TILE_ROWS`` of ``X``.

    One fp32 GEMM scores the block; each row's best ``p + 1`` by those scores are sorted
    (:func:`._ivf_kernels.sorted_top`). A GEMM score is within :math:`\Delta` of the
    canonical one, and :func:`~graphneg._search._canonical.canonical_slack` is :math:`2\Delta`:
    where every gap between consecutive sorted scores exceeds it, the canonical scores are in
    the same strict order, so the GEMM's top ``p`` *is* the canonical top ``p`` (most rows).
    Only the other rows are re-scored canonically, from every centroid within the slack of
    their ``p``-th score (the exact tile kernel's candidates), so the ids are the exact
    kernel's bit for bit.
    """
    from ._blocks import TILE_ROWS
    from ._ivf_kernels import sorted_top

    xb, slack = X[start : start + TILE_ROWS], slack[start : start + TILE_ROWS]
    S = xb @ C.T
    if c_sq is not None:
        S *= 2
        S -= c_sq
    p1 = min(nprobe + 1, C.shape[0])
    v = np.empty((xb.shape[0], p1), dtype=np.float32)
    ids = np.empty((xb.shape[0], p1), dtype=np.int64)
    sorted_top(S, v, ids)
    clear = v[:, :-1] - v[:, 1:] > slack[:, None]  # gaps the rounding cannot close
    unsure = np.flatnonzero(~clear.all(axis=1))
    if unsure.size:
        cand = ids[unsure, :nprobe]
        # the p-th and (p+1)-th could swap: every centroid within the slack is a candidate
        edge = unsure[~clear[unsure, nprobe - 1]] if p1 > nprobe else unsure[:0]
        if edge.size:
            near = S[edge] >= (v[edge, nprobe - 1] - slack[edge])[:, None]
            wide = np.full((unsure.size, int(near.sum(axis=1).max())), -1, dtype=np.int64)
            wide[:, :nprobe] = cand
            r, c = np.nonzero(near)
            at = np.searchsorted(unsure, edge)[r]
            wide[at, np.arange(r.size) - np.searchsorted(r, r)] = c
            cand = wide
        ids[unsure, :nprobe] = rescore_top(xb[unsure], C, cand, nprobe, c_sq)[1]
    return start, ids[:, :nprobe]


def ivf_search(
    X: Any, T: Any, want: int, metric: str, *, self_search: bool = False,
    nlist: int | None = None, nprobe: int | None = None, seed: int = 0, kmeans_iterations: int = 10,
    train_size: int | None = None, show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Approximate top-``want`` targets of each row of ``X`` through an inverted file.

    Algorithm: (1) ``nlist`` centroids from k-means on a seeded sample
    (:func:`train_centroids`); (2) each target joins the list of its nearest centroid and each
    query probes its ``nprobe`` nearest lists (:func:`nearest_lists`, exact tiles); (3) list by
    list, the queries probing it are gathered into one block and scored against the list's
    gathered members by :func:`graphneg._search._blocks.tiled_blocks` (``want`` best per
    query: fp32 tiles, or bf16 tiles re-ranked in fp32 where the CPU has native bf16); (4) each
    list's top ``want`` is merged into the query's running top ``want`` (only rows it improves).
    Rows whose probed lists hold fewer than ``want`` targets are searched exactly. With
    ``nprobe = nlist`` the result is the exact search's (ties aside).

    Parameters
    ----------
    X : ndarray of shape (n, dim), float32, or UnitRows
        Prepared queries (unit rows for cosine, centred for euclidean; as ``knn_search`` makes
        them), or a :class:`~graphneg._search._prepare.UnitRows` view of the raw rows.
    T : ndarray of shape (m, dim), float32, or UnitRows
        Prepared targets (``T is X`` for a self-search: the item itself is then among its
        own results, as with the other approximate backends).
    want : int
        Neighbours per row (``<= m``).
    metric : {'cosine', 'ip', 'euclidean'}
    self_search : bool, default=False
        ``T is X``: the lists' members are the queries, so one probe search serves both.
    nlist, nprobe : int, optional
        Lists and probes; ``None``: :func:`default_nlist` / :func:`default_nprobe`. Both are
        capped by the number of non-empty lists (``nlist`` at most ``m``).
    seed, kmeans_iterations, train_size
        Of :func:`train_centroids`.
    show_progress : bool, default=False
        tqdm bars over the probe blocks and the lists.

    Returns
    -------
    values : ndarray of shape (n, want), float32
        The canonical scores (:func:`~graphneg._search._canonical.rescore_top`: ``<x, t>``, or
        ``2<x, t> - |t|^2`` for euclidean).
    ids : ndarray of shape (n, want), int64
        Target ids by decreasing score (ties by ascending id).

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    >>> X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> _, idx = ivf_search(X, X, 4, "cosine", self_search=True, nlist=8, nprobe=8)
    >>> bool((idx[:, 0] == np.arange(300)).all())  # every item finds itself first
    True
    """
    index = IVFIndex(X, T, want, metric, self_search=self_search, nlist=nlist, seed=seed,
                     kmeans_iterations=kmeans_iterations, train_size=train_size, show_progress=show_progress)
    index.scan(start_nprobe(nprobe, nlist, T.shape[0], False))
    return index.top()


class IVFIndex:
    """An inverted file and every query's running candidates, scanned to a growing ``nprobe``.

    ``scan(p)`` scores each query against its ``p`` nearest lists; a later ``scan(p2)`` with
    ``p2 > p`` scores only the lists of probe ranks ``p .. p2 - 1`` and merges them into the
    candidates kept so far, so raising ``nprobe`` until a recall target holds costs what the
    final ``nprobe`` costs in one scan (plus one probe search per round). ``top(rows)``
    re-scores the candidates (canonical fp32 scores, ties by ascending id) of some or all rows.
    The probe ranking is the canonical one (:func:`nearest_lists`), so the first ``p`` probes
    of a longer ranking are the ``p`` of a shorter one: the lists scanned in rounds are those
    of one scan. ``route`` is the exact CPU route at this size when the caller has chosen it
    (:func:`list_scoring` scores the lists by bf16 tiles where it is ``'certified'``).

    >>> X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    >>> X /= np.linalg.norm(X, axis=1, keepdims=True)
    >>> index = IVFIndex(X, X, 4, "cosine", self_search=True, nlist=8)
    >>> index.scan(2); index.scan(8)
    >>> _, idx = index.top()
    >>> _, ref = ivf_search(X, X, 4, "cosine", self_search=True, nlist=8, nprobe=8)
    >>> bool((idx == ref).all()), index.nprobe
    (True, 8)
    """

    def __init__(
        self, X: Any, T: Any, want: int, metric: str, *, self_search: bool = False, nlist: int | None = None,
        seed: int = 0, kmeans_iterations: int = 10, train_size: int | None = None, show_progress: bool = False,
        route: str | None = None,
    ) -> None:
        m = T.shape[0]
        self.X, self.T, self.want, self.metric = X, T, want, metric
        self.self_search, self.show_progress = self_search, show_progress
        self.C = train_centroids(T, min(nlist or default_nlist(m), m), metric, seed=seed,
                                 kmeans_iterations=kmeans_iterations, train_size=train_size)
        self.nlist = self.C.shape[0]
        self.scoring = list_scoring(X, T, metric, route)
        self.width = min(candidate_width(want, self.scoring), m)
        self.nprobe = 0  # probe ranks scanned so far
        self.labels: np.ndarray | None = None
        self.operands: ListOperands | None = None  # made at the first scan, kept for the next
        self.members = self.m_bounds = None
        n = X.shape[0]
        self.cand_v = np.full((n, self.width), -np.inf, dtype=np.float32)
        self.cand_i = np.full((n, self.width), -1, dtype=np.int64)
        self.kth = np.full(n, -np.inf, dtype=np.float32)  # each row's width-th best so far

    def scan(self, nprobe: int) -> None:
        """Scan every query's probe ranks ``self.nprobe .. nprobe - 1`` (capped at ``nlist``)."""
        nprobe = min(nprobe, self.nlist)
        if nprobe <= self.nprobe:
            return
        probes = nearest_lists(self.X, self.C, nprobe, self.metric, self.show_progress)
        if self.labels is None:
            self.labels = probes[:, 0] if self.self_search else nearest_lists(self.T, self.C, 1, self.metric)[:, 0]
            self.members, self.m_bounds = inverted(self.labels, self.nlist)
            self.operands = ListOperands(self.X, self.T, self.members, self.metric, self.scoring,
                                         self_search=self.self_search)
        sweeps = Sweeps(np.ascontiguousarray(probes[:, self.nprobe :]), self.nlist)
        del probes
        scan_lists(self.operands, self.m_bounds, sweeps, self.show_progress, self.cand_v, self.cand_i, self.kth)
        self.nprobe = nprobe

    def list_ranks(self, rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Probe rank (0 = nearest) of each target's list for each of the given query rows:
        ``targets`` is ``(len(rows), w)`` target ids; the rank a scan must reach to see them.
        Before the first scan the targets' lists are found here (the same canonical nearest
        centroid the scan assigns them)."""
        if self.labels is not None:
            labels = self.labels[targets]
        else:
            labels = nearest_lists(self.T[targets.ravel()], self.C, 1, self.metric)[:, 0].reshape(targets.shape)
        return probe_ranks(self.X[rows], self.C, self.metric, labels)

    def top(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The canonical top ``want`` of the given rows (all rows for ``None``) from their
        candidates; rows whose scanned lists held fewer than ``want`` targets are searched exactly."""
        X, T, want = self.X, self.T, self.want
        rows = np.arange(X.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
        t_sq = (T * T).sum(1) if self.metric == "euclidean" else None
        # in row chunks: the sort keys would otherwise add ~0.7 GB of temporaries at 1M rows
        best_v = np.empty((rows.size, want), dtype=np.float32)
        best_i = np.empty((rows.size, want), dtype=np.int64)

        def rescore(r0: int) -> None:
            r = rows[r0 : r0 + _RESCORE_ROWS]
            xb = X[r0 : r0 + r.size] if _is_range(r, r0) else X[r]
            best_v[r0 : r0 + r.size], best_i[r0 : r0 + r.size] = rescore_top(xb, T, self.cand_i[r], want, t_sq)

        # the gathers and einsums release the GIL: chunks on one thread per BLAS thread
        starts = range(0, rows.size, _RESCORE_ROWS)
        with ThreadPoolExecutor(max(1, min(blas_threads(), len(starts)))) as pool:
            list(pool.map(rescore, starts))
        short = np.flatnonzero(best_i[:, -1] < 0)  # scanned lists held fewer than want targets
        if short.size:
            # rare (tiny or lopsided lists): a view's unit targets are made in full only here
            Ta = T if isinstance(T, np.ndarray) else T[:]
            for start, stop, vals, idx in tiled_blocks(X[rows[short]], Ta, want, False, t_sq):
                best_v[short[start:stop]], best_i[short[start:stop]] = vals, idx
        return best_v, best_i


def probe_ranks(xb: Any, C: np.ndarray, metric: str, target_lists: np.ndarray) -> np.ndarray:
    """Probe rank (0 = nearest) of the lists ``target_lists`` (``(len(xb), w)`` list ids) for
    each query row of ``xb``: the ``nprobe`` a scan must reach to see their members.

    >>> C = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> probe_ranks(np.array([[0.2, 0.9]], np.float32), C, "ip", np.array([[0, 1, 1]])).tolist()
    [[1, 0, 0]]
    """
    S = np.asarray(xb, dtype=np.float32) @ C.T
    if metric == "euclidean":
        S = 2 * S - (C * C).sum(1)
    nlist = C.shape[0]
    order = np.lexsort((np.broadcast_to(np.arange(nlist), S.shape), -S), axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(nlist), S.shape), axis=1)
    return np.take_along_axis(rank, target_lists, axis=1)


def _is_range(r: np.ndarray, r0: int) -> bool:
    """``r`` is ``r0, r0 + 1, ...`` (a slice of the rows: read it without a gather)."""
    return bool(np.array_equal(r, np.arange(r0, r0 + r.size)))
