"""Exact, blocked k-nearest-neighbour similarity graphs.

Every graph returned here is a :class:`scipy.sparse.csr_array` with float32 similarities,
canonical (sorted indices, no duplicates) and without a stored diagonal when items are
compared with themselves. Rows are queries, columns are targets.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np
import scipy.sparse as sp

from .._search._approximate import approximate_knn
from .._search._blocks import on_cpu
from .._search._cpu_route import cpu_route
from .._search._exact import exact_knn
from .._search._query import Query, default_block_size
from .._search._recall import sample_recall
from .._sparse import symmetric
from .._validation import (
    check_bool,
    check_choice,
    check_embeddings,
    check_graph,
    check_int,
    check_keywords,
)
from ._backends import AUTO_EXACT_MAX, Backend, resolve_backend

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
        ``graphneg._search._recall``) and recorded (:func:`~graphneg.record_searches`).
        ``0`` skips the check (and the adaptive ``nprobe``: the IVF then scans its start).
    min_recall : float, default=0.95
        The recall target. ``'auto'`` beyond the exact size, ``'ivf'`` and ``IVF()`` with
        ``nprobe=None`` (or ``adaptive=True``) raise ``nprobe`` until the sampled rows'
        one-sided 95 % lower confidence bound of the recall reaches it, so that it holds for
        all rows, not only the sample (scanning only the lists not yet scanned; the first and
        each next ``nprobe`` predicted from where the sampled rows' exact neighbours lie), then
        log and record what it took. Any other approximate search issues a
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
    X, T, self_search, k, skip = _check_search(X, targets, k, skip, metric)
    show_progress = check_bool(show_progress, "show_progress")
    precision = check_choice(precision, "precision", ("fp32", "bf16", "fp16"))
    size = (X.shape[0], T.shape[0], X.shape[1])
    name, options = resolve_backend(backend, precision, size)
    route = _choose_route(name, precision, metric, size, device, auto=backend == "auto")
    block_size = check_int(default_block_size(T.shape[0]) if block_size is None else block_size, "block_size")
    recall_sample = check_int(recall_sample, "recall_sample", min_value=0)
    query = Query(X, T, k, skip, metric, self_search, name, options, precision, route, block_size, device,
                  show_progress, recall_sample, min_recall)
    return exact_knn(query) if name == "exact" else approximate_knn(query)


def _choose_route(
    backend: str, precision: str, metric: str, size: tuple[int, int, int], device: Any, auto: bool
) -> str | None:
    """The CPU kernel of the search, chosen once: the exact route (:func:`cpu_route`, ``'torch'``
    off the CPU); for ``'ivf'`` the exact route at this size, whose bf16 tiles then score the
    lists; ``None`` for faiss and pynndescent."""
    if backend == "exact":
        return cpu_route(precision, metric, size) if on_cpu(device) else "torch"
    if backend != "ivf":
        return None
    route = cpu_route("fp32", metric, size)
    if auto:
        logger.info("backend='auto': %d targets > %d, using ivf (adaptive nprobe%s)", size[1], AUTO_EXACT_MAX,
                    ", bf16 list scans" if route == "certified" else "")
    return route


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

    See Also
    --------
    knn_search : the search whose neighbours are checked (``backend`` chooses an approximate one).
    record_searches : the recall each approximate search measured itself.
    IVF : the index whose ``nprobe`` raises the recall.

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
    return sample_recall(X, T, idx, skip, metric, sample, seed)


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
    index (:func:`graphneg._search._canonical.rescore_top`); on a GPU, ties are broken by the
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

    See Also
    --------
    knn_graph : the directed graph to symmetrise (``mutual=True`` does it in one call).
    communities : partitions the symmetric graph.

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
