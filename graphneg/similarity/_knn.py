"""Exact, blocked k-nearest-neighbour similarity graphs.

Every graph returned here is a :class:`scipy.sparse.csr_array` with float32 similarities,
canonical (sorted indices, no duplicates) and without a stored diagonal when items are
compared with themselves. Rows are queries, columns are targets.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
import scipy.sparse as sp

from .._sparse import symmetric
from .._validation import (
    check_bool,
    check_choice,
    check_embeddings,
    check_graph,
    check_int,
    check_keywords,
    row_norms,
    safe_normalize,
)
from ..exceptions import GraphNegWarning
from ._backends import Backend, SearchReport, approximate_search, ivf_options, record, resolve_backend
from ._cpu_route import cpu_route
from ._search import (
    UnitRows,
    block_starts,
    canonical_slack,
    finish_candidates,
    on_cpu,
    read_only_tensor,
    tiled_blocks,
    topk,
    without_self,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

logger = logging.getLogger(__name__)

Metric = Literal["cosine", "ip", "euclidean"]
Precision = Literal["fp32", "bf16", "fp16"]
METRICS = ("cosine", "ip", "euclidean")
_METRIC_ALIASES = {"inner_product": "ip", "dot": "ip", "l2": "euclidean"}



class SearchOptions(TypedDict, total=False):
    """The keyword options of :func:`knn_search`, which declares (and documents) their defaults."""

    targets: Any
    skip: int
    metric: Metric
    backend: Backend
    precision: Precision
    block_size: int | None
    device: Any
    show_progress: bool
    recall_sample: int
    min_recall: float


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
    backend : {'exact', 'auto', 'faiss', 'ivf', 'faiss-hnsw', 'pynndescent'}, IVF, HNSW or NNDescent, default='exact'
        ``'exact'``: blocked matrix products and top-k selection in torch (CPU or GPU).
        ``'faiss'``: faiss ``IndexFlat`` (exact, extra ``[faiss]``). An approximate index is
        named (``'ivf'``, ``'faiss-hnsw'``, ``'pynndescent'``: its default options) or given
        as its options object: :class:`~graphneg.IVF` (an inverted file on the exact tile
        kernels, no extra package), :class:`~graphneg.HNSW` (faiss, extra ``[faiss]``),
        :class:`~graphneg.NNDescent` (pynndescent, extra ``[ann]``); measure their recall with
        :func:`knn_recall`. ``'auto'``: exact up to
        ``AUTO_EXACT_MAX`` (200,000) items; beyond, ``'ivf'`` with an adaptive ``nprobe``
        that keeps ``min_recall`` (see there; benchmarks/README.md).
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
    recall_sample : int, default=1000
        Approximate backends only: rows whose neighbours are checked against an exact search
        (:func:`knn_recall`, seeded, ties counted); the recall is logged at INFO level (logger
        ``graphneg.similarity._knn``) and recorded (:func:`~graphneg.record_searches`).
        ``0`` skips the check (and the adaptive ``nprobe``: the IVF then scans its start).
    min_recall : float, default=0.95
        The recall target. ``'auto'`` beyond the exact size, ``'ivf'`` and ``IVF()`` with
        ``nprobe=None`` (or ``adaptive=True``) raise ``nprobe`` until the recall on the
        sampled rows reaches it (scanning only the lists not yet scanned; the next ``nprobe``
        predicted from where the sampled rows' exact neighbours lie), then log and record what
        it took. Any other approximate search issues a
        :class:`~graphneg.exceptions.GraphNegWarning` when the measured recall is lower
        (raise the index's search effort, e.g. ``HNSW(ef_search=...)`` or ``IVF(nprobe=...)``,
        or use ``'exact'``); so does an adaptive one that cannot reach it.

    Returns
    -------
    indices : ndarray of shape (n_items, k), int64
        Target ids ordered by decreasing similarity (rank ``skip`` first).
    similarities : ndarray of shape (n_items, k), float32
        The matching similarities, recomputed exactly in fp32 for the selected pairs
        (``backend='ivf'`` with cosine: from rows normalised blockwise, within a float32
        rounding of the exact search's values, e.g. 0.99999994 for parallel rows).

    Raises
    ------
    ValueError
        On NaN/inf rows, values beyond the float32 range, zero rows under cosine (naming the
        row), inner products beyond the float32 range under ``'ip'``, mismatched dimensions,
        ``skip < 0`` or ``skip + k`` larger than the number of candidates.
    graphneg.exceptions.BackendUnavailableError
        When the requested backend's optional package is not installed.

    See Also
    --------
    knn_graph : the same search as a sparse graph.
    knn_recall : recall of an approximate search against the exact one.
    IVF, HNSW, NNDescent : options of the approximate indexes.
    graphneg.distributed.knn_graph : the search over a process group.

    Notes
    -----
    Any magnitude a float32 holds is searched correctly: cosine rows are normalised without
    overflow or underflow (:func:`graphneg._validation.safe_normalize`), and for ``'ip'`` and
    ``'euclidean'`` inputs whose row norms lie outside ``2**-40 .. 2**40`` are rescaled by
    powers of two (which keeps every row's ranking) before the float32 products. As in any
    float32 GEMM search, euclidean distances are resolved to about ``1e-7`` of the largest
    (centred) row norm, and inner products to about ``1e-7`` of ``|x| max|t|``.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> idx, sim = knn_search(X, 1)
    >>> idx.ravel().tolist()
    [1, 0, 1]
    """
    metric = _resolve_metric(metric)
    X0, T0, self_search, k, skip = _check_search(X, targets, k, skip, metric)
    show_progress = check_bool(show_progress, "show_progress")
    precision = check_choice(precision, "precision", ("fp32", "bf16", "fp16"))
    backend, options = resolve_backend(backend, precision, (X0.shape[0], T0.shape[0], X0.shape[1]), metric)
    if block_size is None:
        block_size = int(min(max(_BLOCK_ELEMENTS // max(T0.shape[0], 1), 64), 8192))
    block_size = check_int(block_size, "block_size")
    recall_sample = check_int(recall_sample, "recall_sample", min_value=0)
    X, T, scale = _prepare(X0, T0, metric, self_search, lazy=backend == "ivf")
    if backend == "exact":
        idx, sims = _exact_search(X, T, k, skip, metric, self_search, precision, block_size, device, show_progress)
        if metric == "euclidean" or scale is not None:
            sims = _exact_sims(X, T, idx, metric, scale)  # exact values for the chosen few
        return idx, sims
    want = k + skip + (1 if self_search else 0)
    adaptive = backend == "ivf" and recall_sample > 0 and (
        options.nprobe is None if options.adaptive is None else options.adaptive)
    if adaptive:
        vals, idx = _adaptive_ivf(X0, T0, X, T, k, skip, metric, self_search, options, recall_sample, min_recall,
                                  show_progress)
    elif backend == "ivf":
        from ._ivf import ivf_search

        vals, idx = ivf_search(X, T, want, metric, self_search=self_search, show_progress=show_progress,
                               **ivf_options(options))
    else:
        vals, idx = None, approximate_search(backend, options, X, T, want, metric, self_search)
    if self_search:  # drop the item itself wherever the index returned it
        keep = without_self(idx, np.arange(X.shape[0]), k + skip)
        idx = idx[keep].reshape(X.shape[0], k + skip)
        vals = None if vals is None else vals[keep].reshape(X.shape[0], k + skip)
    idx = idx[:, skip:]
    if recall_sample and not adaptive:
        _check_recall(X0, None if self_search else T0, idx, skip, metric, backend, recall_sample, min_recall)
    if vals is not None and metric != "euclidean" and scale is None:
        return idx, vals[:, skip:]  # the IVF's canonical scores are the similarities
    return idx, _exact_sims(X, T, idx, metric, scale)


def _adaptive_ivf(
    X0: np.ndarray, T0: np.ndarray, X: Any, T: Any, k: int, skip: int, metric: str, self_search: bool,
    options: Any, sample: int, min_recall: float, show_progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """``backend='ivf'`` raising ``nprobe`` until the recall on ``sample`` seeded rows reaches
    ``min_recall`` (:class:`~graphneg.IVF`'s ``adaptive``); ``(values, ids)`` as ``ivf_search``.

    Each round scans only the probe ranks not scanned yet (:class:`._ivf.IVFIndex`), re-scores
    the sampled rows' candidates and measures their recall (ties counted). When it falls short,
    the next ``nprobe`` is predicted from the sampled rows' exact neighbours: the probe rank of
    each one's list is the ``nprobe`` at which a scan sees it, so the smallest ``nprobe`` whose
    predicted recall reaches the target (plus half a point per round already made) is scanned
    next. Every step depends only on the data and the seeds, never on timing or machine load.
    """
    from ._ivf import IVFIndex, default_nlist, default_nprobe

    want = k + skip + (1 if self_search else 0)
    index = IVFIndex(X, T, want, metric, self_search=self_search, nlist=options.nlist, seed=options.seed,
                     kmeans_iterations=options.kmeans_iterations, train_size=options.train_size,
                     show_progress=show_progress)
    check = _RecallSample(X0, None if self_search else T0, k, skip, metric, sample, 0)

    def found(ids: np.ndarray) -> np.ndarray:
        if self_search:
            ids = ids[without_self(ids, check.rows, k + skip)].reshape(-1, k + skip)
        return ids[:, skip:]

    nprobe = options.nprobe or default_nprobe(options.nlist or default_nlist(T.shape[0]))
    scan_to_recall(index, check, found, nprobe, min_recall, "approximate kNN (ivf)", "knn_search")
    return index.top()


def scan_to_recall(
    index: Any, check: _RecallSample, found: Any, nprobe: int, min_recall: float, what: str, caller: str,
    adaptive: bool = True,
) -> SearchReport:
    """Scan ``index`` (:class:`._ivf.IVFIndex`) from ``nprobe`` up until the recall of
    ``found(ids of the sampled rows)`` reaches ``min_recall`` (one scan when not ``adaptive``);
    log, record and return what it took, warning when the target is missed."""
    rounds: list[tuple[int, float]] = []
    while True:
        index.scan(nprobe)
        r = check.recall(found(index.top(check.rows)[1]))
        rounds.append((index.nprobe, r))
        logger.info("%s: recall@%d %.4f on %d sampled rows at nprobe %d of %d lists",
                    what, check.k, r, check.rows.size, index.nprobe, index.nlist)
        if not adaptive or r >= min_recall or index.nprobe >= index.nlist:
            break
        need = index.list_ranks(check.rows, check.windows) + 1
        nprobe = next_nprobe(need, index.nprobe, min_recall + 0.005 * len(rounds))
    met = r >= min_recall
    logger.info("%s: nprobe %d -> %d of %d lists in %d round(s), recall@%d %.4f (target %.3f%s)", what,
                rounds[0][0], index.nprobe, index.nlist, len(rounds), check.k, r, min_recall, "" if met else ", missed")
    report = SearchReport("ivf", r, int(check.rows.size), min_recall, met, index.nlist, index.nprobe, rounds, caller)
    record(report)
    if not met:
        _warn_recall("ivf", r, check.k, int(check.rows.size), min_recall)
    return report


def next_nprobe(need: np.ndarray, current: int, target: float) -> int:
    """The smallest ``nprobe > current`` at which at least ``target`` of the sampled exact
    neighbours lie in scanned lists (``need``: each one's list rank + 1).

    >>> next_nprobe(np.array([[1, 2, 9, 3]]), 2, 0.75)
    3
    >>> next_nprobe(np.array([[1, 1, 1, 1]]), 2, 0.95)
    3
    """
    flat = np.sort(need, axis=None)
    at = flat[min(flat.size - 1, max(0, int(np.ceil(target * flat.size)) - 1))]
    return max(current + 1, int(at))


#: :func:`knn_search`'s keyword defaults, for the functions that take its options (declared only there)
_SEARCH_DEFAULTS = {
    name: p.default for name, p in inspect.signature(knn_search).parameters.items() if p.kind is p.KEYWORD_ONLY
}


def _check_search(
    X: Any, targets: Any, k: Any, skip: Any, metric: str
) -> tuple[np.ndarray, np.ndarray, bool, int, int]:
    """Validated ``(X, T, self_search, k, skip)`` of a search (``T is X`` for a self-search)."""
    X = check_embeddings(X, "X", metric=metric)
    self_search = targets is None
    T = X if self_search else check_embeddings(targets, "targets", metric=metric)
    if T.shape[1] != X.shape[1]:
        raise ValueError(
            f"`targets` must have the same dimension as `X` ({X.shape[1]}), got {T.shape[1]}."
        )
    k = check_int(k, "k")
    skip = check_int(skip, "skip", min_value=0)
    n_candidates = T.shape[0] - 1 if self_search else T.shape[0]
    if k + skip > n_candidates:
        what = "n_items - 1" if self_search else "n_targets"
        raise ValueError(
            f"`k` + `skip` must be <= {what} ({n_candidates}), got k={k}, skip={skip}; "
            "there are not that many neighbours."
        )
    return X, T, self_search, k, skip


def _check_recall(
    X: np.ndarray, T: np.ndarray | None, idx: np.ndarray, skip: int, metric: str, backend: str,
    sample: int, min_recall: float,
) -> None:
    """Log and record the recall of an approximate search on ``sample`` rows; warn below ``min_recall``."""
    n, k = idx.shape
    check = _RecallSample(X, T, k, skip, metric, sample, 0)
    r = check.recall(idx[check.rows])
    logger.info("approximate kNN (%s): recall@%d %.4f on %d sampled rows", backend, k, r, check.rows.size)
    record(SearchReport(backend, r, int(check.rows.size), min_recall, r >= min_recall))
    if r < min_recall:
        _warn_recall(backend, r, k, int(check.rows.size), min_recall)


def _warn_recall(backend: str, r: float, k: int, rows: int, min_recall: float) -> None:
    warnings.warn(
        f"approximate kNN ({backend}) found only {r:.1%} of the exact {k} neighbours on "
        f"{rows} sampled rows (min_recall={min_recall}); raise the index's search "
        f"effort ({'IVF(nprobe=...)' if backend == 'ivf' else 'the index options'}) or use backend='exact'.",
        GraphNegWarning,
        stacklevel=4,
    )


# targets normalised at a time by the cosine recall check (100 MB at d = 384)
_RECALL_CHUNK = 65_536


def _sample_recall(
    X: np.ndarray, T: np.ndarray | None, idx: np.ndarray, skip: int, metric: str, sample: int, seed: int
) -> float:
    """Mean share of found neighbours that are exact ones, ties counted, over ``sample`` seeded rows
    (:class:`_RecallSample`)."""
    check = _RecallSample(X, T, idx.shape[1], skip, metric, sample, seed)
    return check.recall(idx[check.rows])


class _RecallSample:
    """The exact neighbours of ``sample`` seeded rows, to measure found ones against.

    A found neighbour counts when its exact score lies within the exact neighbours' score
    range (ranks ``skip .. skip + k - 1``), not only when its id is one of theirs: among tied
    candidates (identical rows) any choice is exact, so comparing ids would report a correct
    search as failed. ``T=None``: a self-search. Cosine searches the targets in chunks of
    unit rows and merges the chunks' canonical top lists by (score, index), the exact
    search's order: a check of a 1M-row graph never holds a normalised copy of all targets.
    """

    def __init__(self, X: np.ndarray, T: np.ndarray | None, k: int, skip: int, metric: str, sample: int,
                 seed: int) -> None:
        n = X.shape[0]
        rows = np.random.default_rng(seed).choice(n, min(sample, n), replace=False)
        tg = X if T is None else T
        want = k + skip + (1 if T is None else 0)
        if metric != "cosine" or tg.shape[0] <= _RECALL_CHUNK:
            exact = knn_search(X[rows], want, targets=tg, metric=metric)[0]
        else:
            Xs = safe_normalize(X[rows], "X")
            vals, cols = [], []
            for c0 in range(0, tg.shape[0], _RECALL_CHUNK):
                Tc = safe_normalize(tg[c0 : c0 + _RECALL_CHUNK], "targets")
                i, v = knn_search(Xs, min(want, Tc.shape[0]), targets=Tc, metric="ip")
                vals.append(v)
                cols.append(i + c0)
            v, c = np.concatenate(vals, axis=1), np.concatenate(cols, axis=1)
            exact = np.take_along_axis(c, np.lexsort((c, -v), axis=1)[:, :want], axis=1)
        if T is None:
            exact = exact[without_self(exact, rows, k + skip)].reshape(rows.size, k + skip)
        self.X, self.tg, self.self_search, self.metric, self.k = X, tg, T is None, metric, k
        self.rows, self.windows = rows, exact[:, skip : skip + k]

    def recall(self, found_rows: np.ndarray) -> float:
        """Recall of ``found_rows`` (the found ids of the sampled rows, in ``self.rows``' order)."""
        hits = 0
        for r, row in enumerate(self.rows):
            found = np.unique(found_rows[r])
            found = found[(found >= 0) & (found < self.tg.shape[0]) & ((found != row) if self.self_search else True)]
            hits += min(_tied_hits(self.X[row], self.tg, self.windows[r], found, self.metric), self.k)
        return hits / (self.rows.size * self.k)


def _tied_hits(x: np.ndarray, tg: np.ndarray, window: np.ndarray, found: np.ndarray, metric: str) -> int:
    """How many ``found`` ids score (float64) within the exact ``window``'s score range.

    The tolerance is float32 resolution of the scores: the search ranks in float32, so a
    difference below it is a tie, not a miss.

    >>> T = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> _tied_hits(np.array([1.0, 0.0]), T, np.array([0]), np.array([2]), "cosine")  # a tie
    1
    >>> _tied_hits(np.array([1.0, 0.0]), T, np.array([0]), np.array([3]), "cosine")
    0
    """
    if window.size == 0 or found.size == 0:
        return 0
    ids = np.concatenate([window, found])
    t = np.asarray(tg[ids], dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if metric == "euclidean":
        scores = -np.sqrt(((t - x) ** 2).sum(axis=1))
    else:
        scores = t @ x
        if metric == "cosine":
            scores = scores / (np.linalg.norm(t, axis=1) * np.linalg.norm(x))
    ws, fs = scores[: window.size], scores[window.size :]
    tol = 4 * float(np.finfo(np.float32).eps) * max(float(np.abs(scores).max()), np.finfo(np.float32).tiny)
    return int(np.count_nonzero((fs >= ws.min() - tol) & (fs <= ws.max() + tol)))


# Row norms within 2**-40 .. 2**40 are searched as given (bit-identical to the plain
# computation); beyond, inputs are rescaled by powers of two (exact) so that no float32
# square or score overflows to inf or underflows to 0 and silently reorders neighbours.
SAFE_EXPONENT = 40
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _exponents(norms: np.ndarray) -> np.ndarray:
    """``floor(log2(norm))`` of each norm (0 for a zero norm)."""
    out = np.zeros(norms.shape, dtype=np.int64)
    pos = norms > 0
    out[pos] = np.floor(np.log2(norms[pos])).astype(np.int64)
    return out


def _in_safe_range(norms: np.ndarray) -> bool:
    nz = norms[norms > 0]
    return bool(nz.size == 0 or (nz.min() >= 2.0**-SAFE_EXPONENT and nz.max() <= 2.0**SAFE_EXPONENT))


def _prepare(
    X: np.ndarray, T: np.ndarray, metric: str, self_search: bool, lazy: bool = False
) -> tuple[Any, Any, np.ndarray | float | None]:
    """The arrays the search ranks, and the factor mapping their similarities back.

    Cosine: unit rows (:func:`graphneg._validation.safe_normalize`); with ``lazy`` (a search
    that gathers rows blockwise), :class:`~graphneg.similarity._search.UnitRows` views of the
    inputs instead of normalised copies, wherever every norm is in the safe range. Euclidean: centred and,
    at extreme magnitudes, scaled by a power of two (the factor multiplies distances).
    Inner product: at extreme magnitudes each query row and the targets are scaled by powers
    of two, which keeps every row's ranking (the factor, per row, multiplies scores).
    """
    if metric == "cosine":
        if lazy:
            # rows already checked (finite, none zero) by check_embeddings
            x_norm = row_norms(X)
            t_norm = x_norm if self_search else row_norms(T)
            if _in_safe_range(x_norm) and _in_safe_range(t_norm):
                Xv = UnitRows(X, x_norm)
                return Xv, (Xv if self_search else UnitRows(T, t_norm)), None
        X = safe_normalize(X, "X")
        return X, (X if self_search else safe_normalize(T, "targets")), None
    if metric == "euclidean":
        # distances are translation invariant; centring keeps 2<x,y> - |y|^2 from cancelling
        # catastrophically when all vectors share a large offset
        centre = T.mean(axis=0, dtype=np.float64).astype(np.float32)
        X = X - centre
        T = X if self_search else T - centre
        norms = np.concatenate([row_norms(X), row_norms(T)])
        if _in_safe_range(norms):
            return X, T, None
        e = int(_exponents(norms.max(keepdims=True))[0])
        X = np.ldexp(X, -e)
        return X, (X if self_search else np.ldexp(T, -e)), 2.0**e
    x_norm = row_norms(X)
    t_norm = x_norm if self_search else row_norms(T)
    top = float(x_norm.max() * t_norm.max())
    if top > _FLOAT32_MAX:
        raise ValueError(
            f"`X` and `{'X' if self_search else 'targets'}` have inner products up to ~{top:.3g}, beyond the "
            "float32 range (3.4e38); rescale them or use metric='cosine'."
        )
    if _in_safe_range(x_norm) and _in_safe_range(t_norm):
        return X, T, None
    ex, et = _exponents(x_norm), int(_exponents(t_norm.max(keepdims=True))[0])
    return np.ldexp(X, -ex[:, None]), np.ldexp(T, -et), np.ldexp(1.0, ex + et)


def _exact_sims(
    X: np.ndarray, T: np.ndarray, idx: np.ndarray, metric: str, scale: np.ndarray | float | None = None
) -> np.ndarray:
    """Similarities of the selected pairs, O(n * k * dim); ``scale`` as from :func:`_prepare`."""
    out = np.empty(idx.shape, dtype=np.float32)
    row_scale = np.broadcast_to(np.asarray(1.0 if scale is None else scale, dtype=np.float64), X.shape[:1])
    for start in range(0, X.shape[0], 4096):
        stop = min(start + 4096, X.shape[0])
        Tg = T[idx[start:stop]]  # (b, k, d)
        s = row_scale[start:stop, None]
        if metric == "euclidean":
            d = np.sqrt(np.maximum(((Tg - X[start:stop, None, :]) ** 2).sum(-1), 0))
            out[start:stop] = 1.0 / (1.0 + (d if scale is None else d * s))
        else:
            sims = np.einsum("bkd,bd->bk", Tg, X[start:stop])
            out[start:stop] = sims if scale is None else sims * s
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
    """Exact (or, with reduced ``precision``, re-ranked) search on CPU tiles or torch blocks."""
    # reduced precision keeps a margin of extra candidates, re-ranked exactly
    margin = 0 if precision == "fp32" else max(8, k // 4)
    route = cpu_route(precision, metric, (X.shape[0], T.shape[0], X.shape[1])) if on_cpu(device) else "torch"
    if route != "torch":  # numpy tiles: torch is not even imported on the fp32 route
        return _exact_tiled(X, T, k, skip, metric, self_search, route, margin, show_progress)
    import torch

    dev = torch.device(device) if device is not None else torch.device("cpu")
    return _exact_torch(X, T, k, skip, metric, self_search, precision, margin, block_size, dev, show_progress)


def _exact_tiled(
    X: np.ndarray, T: np.ndarray, k: int, skip: int, metric: str, self_search: bool, route: str,
    margin: int, show_progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The CPU path: cache-resident GEMM tiles (:func:`._search.tiled_blocks`)."""
    n = X.shape[0]
    t_sq = (T * T).sum(1) if metric == "euclidean" else None
    want = min(k + skip, T.shape[0] - (1 if self_search else 0))
    out_idx = np.empty((n, k), dtype=np.int64)
    out_sim = np.empty((n, k), dtype=np.float32)
    blocks = tiled_blocks(X, T, want, self_search, t_sq, show_progress, "kNN search", scoring=route, margin=margin)
    for start, stop, vals, idx in blocks:
        out_sim[start:stop], out_idx[start:stop] = _window(vals, idx, X[start:stop], skip, t_sq is not None)
    return out_idx, out_sim


def _window(
    vals: np.ndarray, idx: np.ndarray, xb: np.ndarray, skip: int, euclidean: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks ``[skip, ...)`` of canonical block results, scores turned into similarities
    (euclidean: ``2<x, t> - |t|^2`` back to ``1 / (1 + |x - t|)``)."""
    vals, idx = vals[:, skip:], idx[:, skip:]
    if euclidean:
        x_sq = (xb * xb).sum(1, keepdims=True)
        vals = 1.0 / (1.0 + np.sqrt(np.maximum(x_sq - vals, 0)))
    return vals, idx


def _exact_torch(
    X: np.ndarray, T: np.ndarray, k: int, skip: int, metric: str, self_search: bool, precision: str,
    margin: int, block_size: int, dev: Any, show_progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The torch path (GPU, or CPU when torch multiplies faster): full-width row blocks.

    On the CPU an fp32 search ends in the canonical order of the tile routes
    (:func:`._search.finish_candidates`), so every CPU route returns the same graph.
    """
    import torch

    n = X.shape[0]
    canonical = dev.type == "cpu" and precision == "fp32"
    margin = max(8, k // 4) if canonical else margin
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    Xt = read_only_tensor(X).to(dev)
    Tt = Xt if self_search else read_only_tensor(T).to(dev)
    Xs, Ts = Xt.to(dtype), (Xt.to(dtype) if self_search else Tt.to(dtype))
    t_sq = (Ts.float() * Ts.float()).sum(1).to(dtype) if metric == "euclidean" else None
    t_sq_np = (T * T).sum(1) if metric == "euclidean" else None
    slack = canonical_slack(X, T, metric == "euclidean", "fp32") if canonical else None
    want = min(k + skip + margin, T.shape[0] - (1 if self_search else 0))
    out_idx = np.empty((n, k), dtype=np.int64)
    out_sim = np.empty((n, k), dtype=np.float32)
    with torch.inference_mode():
        for start in block_starts(n, block_size, show_progress, "kNN search"):
            stop = min(start + block_size, n)
            scores = Xs[start:stop] @ Ts.T
            if t_sq is not None:
                # argmax of 2<x,y> - |y|^2 is argmin of |x - y|^2 (|x|^2 is constant per row)
                scores.mul_(2).sub_(t_sq)
            if self_search:
                rows = torch.arange(stop - start, device=dev)
                scores[rows, rows + start] = -torch.inf
            vals, idx = topk(scores, want)
            if canonical:
                v, i = finish_candidates(X, T, start, idx.numpy(), vals.numpy(), min(k + skip, want),
                                         t_sq_np, self_search, slack)
                out_sim[start:stop], out_idx[start:stop] = _window(v, i, X[start:stop], skip, t_sq is not None)
                continue
            vals, idx = _finish_block(vals, idx, Xt[start:stop], Tt, t_sq is not None, skip, k, margin)
            out_idx[start:stop] = idx.cpu().numpy()
            out_sim[start:stop] = vals.float().cpu().numpy()
    return out_idx, out_sim


def _finish_block(
    vals: Any, idx: Any, xb: Any, Tt: Any, euclidean: bool, skip: int, k: int, margin: int
) -> tuple[Any, Any]:
    """Ranks ``[skip, skip + k)`` of a block's candidates as similarities (re-ranked in fp32
    first when a reduced-precision ``margin`` was kept)."""
    import torch

    if margin:
        cand = Tt[idx]  # (b, want, d)
        if euclidean:
            vals = -((cand - xb[:, None, :]) ** 2).sum(-1)
        else:
            vals = torch.einsum("bwd,bd->bw", cand, xb)
        vals, order = torch.sort(vals, dim=1, descending=True)
        idx = torch.gather(idx, 1, order)
        vals, idx = vals[:, skip : skip + k], idx[:, skip : skip + k]
        if euclidean:
            vals = 1.0 / (1.0 + (-vals).clamp_min(0).sqrt())
        return vals, idx
    vals, idx = vals[:, skip:], idx[:, skip:]
    if euclidean:
        x_sq = (xb * xb).sum(1, keepdim=True)
        vals = 1.0 / (1.0 + (x_sq - vals).clamp_min_(0).sqrt_())
    return vals, idx


def knn_recall(
    X: Any, indices: Any, *, sample: int = 1000, seed: int = 0, **search_options: Unpack[SearchOptions]
) -> float:
    """Recall of (approximate) neighbours against the exact search, on a sample of rows.

    Parameters
    ----------
    X : array-like of shape (n_items, dim)
    indices : array-like of shape (n_items, k) or a kNN graph (sparse, ``k`` entries a row)
        The neighbours to check (ranks ``[skip, skip + k)``).
    sample : int, default=1000
        Rows checked (all rows when fewer).
    seed : int, default=0
        Seed of the row sample.
    **search_options
        The options of the search that built ``indices`` (:func:`knn_search`), so that one
        dict serves both calls. The check reads ``targets``, ``skip`` and ``metric``; the
        others only say how ``indices`` was searched, and the exact search ignores them.

    Returns
    -------
    float
        Mean over sampled rows of the share of the ``k`` found neighbours that are exact ones;
        a found neighbour tied with the exact ones (same score, e.g. an identical row) counts,
        whichever of the tied ids the exact search happened to list.

    Examples
    --------
    >>> X = np.random.default_rng(0).normal(size=(200, 8))
    >>> idx, _ = knn_search(X, 5)
    >>> knn_recall(X, idx)
    1.0
    >>> options = dict(skip=2, metric="euclidean")
    >>> knn_recall(X, knn_graph(X, 5, **options), **options)
    1.0
    """
    check_keywords("knn_recall", SearchOptions, search_options)
    targets, skip, metric = (search_options.get(n, _SEARCH_DEFAULTS[n]) for n in ("targets", "skip", "metric"))
    skip = check_int(skip, "skip", min_value=0)
    if hasattr(indices, "tocsr"):
        G = indices.tocsr()
        counts = np.diff(G.indptr)
        if counts.min() != counts.max():
            raise ValueError("`indices` graph must hold the same number of neighbours in every row.")
        indices = G.indices.reshape(G.shape[0], -1)
    idx = np.asarray(indices)
    metric = _resolve_metric(metric)
    X = check_embeddings(X, "X", metric=metric)
    if idx.ndim != 2 or idx.shape[0] != X.shape[0]:
        raise ValueError(f"`indices` must have shape ({X.shape[0]}, k), one row per item of X, got {idx.shape}.")
    T = None if targets is None else check_embeddings(targets, "targets", metric=metric)
    return _sample_recall(X, T, idx, skip, metric, sample, seed)


def rows_to_csr(indices: np.ndarray, sims: np.ndarray, n_cols: int) -> sp.csr_array:
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
    mutual: bool = False,
    **search_options: Unpack[SearchOptions],
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
    mutual : bool, default=False
        Keep only edges found in both directions (B3's mutual graph). The result is symmetric
        and rows may then hold fewer than ``k`` entries. Requires ``targets=None``.
    **search_options
        The options of :func:`knn_search`, passed to it as given (defaults and details there):
    targets : array-like of shape (n_targets, dim), default=None
        Search these instead of ``X`` (e.g. queries against documents); the graph is then
        ``(n_items, n_targets)`` and may contain ``(i, i)``.
    skip : int, default=0
        Best neighbours dropped before the ``k`` kept.
    metric : {'cosine', 'ip', 'euclidean'}, default='cosine'
        Similarity: cosine, raw inner product, or ``1 / (1 + euclidean distance)``.
    backend, precision, block_size, device, show_progress, recall_sample, min_recall
        See :func:`knn_search`.

    Returns
    -------
    G : scipy.sparse.csr_array of shape (n_items, n_items) or (n_items, n_targets), float32
        ``G[i, j]`` is the similarity of target ``j`` to item ``i``. Exactly ``k`` entries per
        row unless ``mutual``; no diagonal when ``targets is None``; canonical CSR.

    See Also
    --------
    knn_search : the neighbours as arrays (every search option documented there).
    symmetrize : union or mutual version of a directed kNN graph.

    Notes
    -----
    The search is exact and blocked: each block of rows is scored against all targets with
    one matrix product and reduced with a top-``(skip + k)`` selection, so memory stays
    ``O(n_items * k + block_size * n_targets)``, never ``n_items * n_targets``. On the CPU
    every route returns the same bits: scores are recomputed per pair and ties go to the lower
    index (:func:`graphneg.similarity._search.rescore_top`); on a GPU, ties are broken by the
    selection kernel, deterministically for a given device.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> G = knn_graph(X, 1)
    >>> G.indices.tolist()
    [1, 0, 3, 2]
    >>> knn_graph(X, 1, skip=1).indices.tolist()  # the second-nearest instead
    [3, 3, 1, 1]
    """
    check_keywords("knn_graph", SearchOptions, search_options)
    mutual = check_bool(mutual, "mutual")
    targets = search_options.get("targets")
    if mutual and targets is not None:
        raise ValueError("`mutual=True` needs `targets=None`: mutual edges need a square graph.")
    idx, sim = knn_search(X, k, **search_options)
    n_cols = idx.shape[0] if targets is None else int(np.asarray(targets).shape[0])
    G = rows_to_csr(idx, sim, n_cols)
    if mutual:
        G = symmetrize(G, mode="mutual")
    return G


def symmetrize(graph: Any, mode: Literal["union", "mutual"] = "union") -> sp.csr_array:
    """Make a directed graph symmetric.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n, n)
        A directed graph, e.g. from :func:`knn_graph`. Not modified.
    mode : {'union', 'mutual'}, default='union'
        ``'union'`` keeps an edge present in either direction, with the larger weight;
        ``'mutual'`` keeps only edges present in both directions, with the smaller weight.

    Returns
    -------
    scipy.sparse.csr_array of shape (n, n), float32
        Symmetric, canonical, with the diagonal removed. Explicitly stored zeros are edges
        (a similarity can be 0) and are kept.

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
    return symmetric(check_graph(graph, "graph", keep_zeros=True), mode)
