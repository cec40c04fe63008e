"""The recall of an approximate search, measured against the exact one on sampled rows.

:class:`RecallSample` holds the exact neighbours of seeded rows (ties counted as hits);
:func:`check_recall` logs, records and warns about one search's recall;
:func:`scan_to_recall` raises an inverted file's ``nprobe`` until the recall reaches a target.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from .._validation import safe_normalize
from ..exceptions import GraphNegWarning
from ._blocks import blas_threads, torch_threads
from ._canonical import without_self
from ._cpu_route import cpu_route
from ._exact import exact_knn
from ._query import Query, default_block_size
from ._reports import SearchReport, record

logger = logging.getLogger(__name__)


def exact_top(X: np.ndarray, T: np.ndarray, want: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The exact top ``want`` targets of each (checked) row of ``X``: :func:`graphneg.knn_search`
    with its defaults, without checking again what was checked.

    >>> T = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]], dtype=np.float32)
    >>> exact_top(T[:1], T, 2, "cosine")[0].tolist()
    [[0, 2]]
    """
    size = (X.shape[0], T.shape[0], X.shape[1])
    query = Query(X, T, want, metric=metric, route=cpu_route("fp32", metric, size),
                  block_size=default_block_size(T.shape[0]))
    return exact_knn(query)


def scan_to_recall(
    index: Any, check: RecallSample, found: Any, nprobe: int | None, min_recall: float, what: str, caller: str,
    adaptive: bool = True,
) -> SearchReport:
    r"""Scan ``index`` (:class:`._ivf.IVFIndex`) from ``nprobe`` up until the recall of
    ``found(ids of the sampled rows)`` reaches ``min_recall`` (one scan when not ``adaptive``);
    log, record and return what it took, warning when the target is missed.

    The target is the recall of all rows, not of the sample: a round stops once the sample's
    one-sided 95 % lower confidence bound, :math:`\bar r - 1.645\, s / \sqrt{m}` (``m``
    sampled rows, ``s`` the standard deviation of their recalls), reaches ``min_recall``.
    ``nprobe=None`` starts where the sampled rows' exact neighbours say that bound is met: a
    neighbour is seen once the scan reaches the probe rank of its list, so the first scan is
    the smallest ``nprobe`` whose bound on the covered share reaches ``min_recall`` plus half a
    point (:func:`next_nprobe`), whatever the corpus. A round that falls short aims the next
    at ``min_recall`` plus what it lost (neighbours in lists it scanned but did not find: the
    lists' reduced-precision scoring) plus half a point per round made, so it does not creep
    up one list at a time."""
    rounds: list[tuple[int, float]] = []
    if nprobe is None:
        nprobe = next_nprobe(index.list_ranks(check.rows, check.windows) + 1, 0, min_recall + 0.005)
    while True:
        index.scan(nprobe)
        per_row = check.recall_rows(found(index.top(check.rows)[1]))
        r, low = float(per_row.mean()), lower_bound(per_row)
        rounds.append((index.nprobe, r))
        logger.info("%s: recall@%d %.4f (lower bound %.4f) on %d sampled rows at nprobe %d of %d lists",
                    what, check.k, r, low, check.rows.size, index.nprobe, index.nlist)
        if not adaptive or low >= min_recall or index.nprobe >= index.nlist:
            break
        need = index.list_ranks(check.rows, check.windows) + 1
        # neighbours in scanned lists that the scan did not find (its reduced-precision
        # scoring): more lists must make up for them as well
        lost = max(0.0, float((need <= index.nprobe).mean()) - r)
        nprobe = next_nprobe(need, index.nprobe, min_recall + lost + 0.005 * len(rounds))
    met = r >= min_recall
    logger.info("%s: nprobe %d -> %d of %d lists in %d round(s), recall@%d %.4f (target %.3f%s)", what,
                rounds[0][0], index.nprobe, index.nlist, len(rounds), check.k, r, min_recall, "" if met else ", missed")
    report = SearchReport("ivf", r, int(check.rows.size), min_recall, met, index.nlist, index.nprobe, rounds, caller)
    record(report)
    if not met:
        warn_recall("ivf", r, check.k, int(check.rows.size), min_recall)
    return report


# one-sided 95 % normal quantile: the lower confidence bound of a sampled mean
_Z = 1.645


def lower_bound(per_row: np.ndarray) -> float:
    """One-sided 95 % lower confidence bound of the mean of ``per_row`` (the mean itself for
    fewer than two rows).

    >>> round(lower_bound(np.array([1.0, 0.5, 1.0, 0.5])), 4)
    0.5126
    """
    m = per_row.size
    if m < 2:
        return float(per_row.mean()) if m else 0.0
    return float(per_row.mean() - _Z * per_row.std(ddof=1) / np.sqrt(m))


def next_nprobe(need: np.ndarray, current: int, target: float) -> int:
    """The smallest ``nprobe > current`` at which the lower bound (:func:`lower_bound`) of the
    sampled rows' covered shares reaches ``target`` (``need``: each exact neighbour's list
    rank + 1, one row per sampled row); every list when none does.

    >>> next_nprobe(np.array([[1, 2, 9, 3]]), 2, 0.75)
    3
    >>> next_nprobe(np.array([[1, 1, 1, 1]]), 2, 0.95)
    3
    >>> next_nprobe(np.array([[1, 2], [1, 2], [1, 5]]), 0, 0.6)  # 2 covers 5/6 but bounds it at 0.56
    5
    """
    for p in np.unique(need):
        if p > current and lower_bound((need <= p).mean(axis=1)) >= target:
            return int(p)
    return max(current + 1, int(need.max()))


def check_recall(
    X: np.ndarray, T: np.ndarray | None, idx: np.ndarray, skip: int, metric: str, backend: str,
    sample: int, min_recall: float,
) -> None:
    """Log and record the recall of an approximate search on ``sample`` rows; warn below ``min_recall``."""
    n, k = idx.shape
    check = RecallSample(X, T, k, skip, metric, sample, 0)
    r = check.recall(idx[check.rows])
    logger.info("approximate kNN (%s): recall@%d %.4f on %d sampled rows", backend, k, r, check.rows.size)
    record(SearchReport(backend, r, int(check.rows.size), min_recall, r >= min_recall))
    if r < min_recall:
        warn_recall(backend, r, k, int(check.rows.size), min_recall)


def warn_recall(backend: str, r: float, k: int, rows: int, min_recall: float) -> None:
    warnings.warn(
        f"approximate kNN ({backend}) found only {r:.1%} of the exact {k} neighbours on "
        f"{rows} sampled rows (min_recall={min_recall}); raise the index's search "
        f"effort ({'IVF(nprobe=...)' if backend == 'ivf' else 'the index options'}) or use backend='exact'.",
        GraphNegWarning,
        stacklevel=5,
    )


# targets normalised at a time by the cosine recall check (100 MB at d = 384)
RECALL_CHUNK = 65_536


def sample_recall(
    X: np.ndarray, T: np.ndarray | None, idx: np.ndarray, skip: int, metric: str, sample: int, seed: int
) -> float:
    """Mean share of found neighbours that are exact ones, ties counted, over ``sample`` seeded rows
    (:class:`RecallSample`)."""
    check = RecallSample(X, T, idx.shape[1], skip, metric, sample, seed)
    return check.recall(idx[check.rows])


def _chunked_cosine_top(Xs: np.ndarray, tg: np.ndarray, want: int) -> np.ndarray:
    """The exact cosine top ``want`` of unit rows ``Xs`` among ``tg``'s rows, normalised a chunk
    at a time; the chunks run on one thread per BLAS thread (a few sampled rows are one row
    block, which the exact kernel would run on one core) and merge in (score, index) order."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    def chunk(c0: int) -> tuple[np.ndarray, np.ndarray]:
        Tc = safe_normalize(tg[c0 : c0 + RECALL_CHUNK], "targets")
        i, v = exact_top(Xs, Tc, min(want, Tc.shape[0]), "ip")
        return v, i + c0

    starts = range(0, tg.shape[0], RECALL_CHUNK)
    with threadpool_limits(1, user_api="blas"), torch_threads(1), \
            ThreadPoolExecutor(max(1, min(blas_threads(), len(starts)))) as pool:
        parts = list(pool.map(chunk, starts))
    v, c = np.concatenate([p[0] for p in parts], axis=1), np.concatenate([p[1] for p in parts], axis=1)
    return np.take_along_axis(c, np.lexsort((c, -v), axis=1)[:, :want], axis=1)


class RecallSample:
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
        if metric != "cosine" or tg.shape[0] <= RECALL_CHUNK:
            exact = exact_top(X[rows], tg, want, metric)[0]
        else:
            exact = _chunked_cosine_top(safe_normalize(X[rows], "X"), tg, want)
        if T is None:
            exact = exact[without_self(exact, rows, k + skip)].reshape(rows.size, k + skip)
        self.X, self.tg, self.self_search, self.metric, self.k = X, tg, T is None, metric, k
        self.rows, self.windows = rows, exact[:, skip : skip + k]

    def recall(self, found_rows: np.ndarray) -> float:
        """Recall of ``found_rows`` (the found ids of the sampled rows, in ``self.rows``' order)."""
        return float(self.recall_rows(found_rows).mean())

    def recall_rows(self, found_rows: np.ndarray) -> np.ndarray:
        """Each sampled row's recall (its share of exact neighbours found, ties counted)."""
        out = np.empty(self.rows.size, dtype=np.float64)
        for r, row in enumerate(self.rows):
            found = np.unique(found_rows[r])
            found = found[(found >= 0) & (found < self.tg.shape[0]) & ((found != row) if self.self_search else True)]
            out[r] = min(tied_hits(self.X[row], self.tg, self.windows[r], found, self.metric), self.k) / self.k
        return out


def tied_hits(x: np.ndarray, tg: np.ndarray, window: np.ndarray, found: np.ndarray, metric: str) -> int:
    """How many ``found`` ids score (float64) within the exact ``window``'s score range.

    The tolerance is float32 resolution of the scores: the search ranks in float32, so a
    difference below it is a tie, not a miss.

    >>> T = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> tied_hits(np.array([1.0, 0.0]), T, np.array([0]), np.array([2]), "cosine")  # a tie
    1
    >>> tied_hits(np.array([1.0, 0.0]), T, np.array([0]), np.array([3]), "cosine")
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
    return count_tied(scores[: window.size], scores[window.size :])


def count_tied(ws: np.ndarray, fs: np.ndarray) -> int:
    """How many found scores ``fs`` lie within the exact window's scores ``ws`` (float64), up
    to float32 resolution (:func:`tied_hits`, for scores computed elsewhere, e.g. on the ranks
    that hold the targets).

    >>> count_tied(np.array([0.9, 0.5]), np.array([0.7, 0.5 - 1e-9, 0.4]))
    2
    """
    scores = np.concatenate([ws, fs])
    tol = 4 * float(np.finfo(np.float32).eps) * max(float(np.abs(scores).max()), np.finfo(np.float32).tiny)
    return int(np.count_nonzero((fs >= ws.min() - tol) & (fs <= ws.max() + tol)))
