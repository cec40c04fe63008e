"""The approximate searches: the inverted file (:mod:`._ivf`), faiss and pynndescent.

:func:`approximate_knn` runs a checked :class:`._query.Query` one way: its arrays prepared
(cosine lazily, :class:`._prepare.UnitRows`), the index searched (the IVF's ``nprobe`` raised
to the recall target when adaptive, :func:`._recall.scan_to_recall`), the item itself dropped,
the recall measured (:func:`._recall.check_recall`) and the similarities computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._optional import optional_import
from ._canonical import without_self
from ._exact import exact_sims
from ._ivf import IVFIndex, start_nprobe
from ._prepare import prepare
from ._query import Query
from ._recall import RecallSample, check_recall, scan_to_recall


def approximate_knn(q: Query) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, similarities)`` of ``q`` from its approximate index, as :func:`graphneg.knn_search`
    returns them.

    >>> X = np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32)
    >>> from graphneg.similarity import IVF
    >>> q = Query(X, X, 4, self_search=True, backend="ivf", options=IVF(nlist=4, nprobe=4))
    >>> from graphneg._search._exact import exact_knn
    >>> bool((approximate_knn(q)[0] == exact_knn(Query(X, X, 4, self_search=True))[0]).all())
    True
    """
    X, T, scale = prepare(q.X, q.T, q.metric, q.self_search, lazy=q.backend == "ivf")
    options, width = q.options, q.k + q.skip
    adaptive = q.backend == "ivf" and q.recall_sample > 0 and (
        options.nprobe is None if options.adaptive is None else options.adaptive)
    if q.backend == "ivf":
        index = _ivf_index(q, X, T)
        if adaptive:
            _scan_adaptively(q, index)
        else:
            index.scan(start_nprobe(options.nprobe, options.nlist, T.shape[0], False))
        vals, idx = index.top()
    else:
        vals, idx = None, index_search(q.backend, options, X, T, q.want, q.metric, q.self_search)
    if q.self_search:  # drop the item itself wherever the index returned it
        keep = without_self(idx, np.arange(X.shape[0]), width)
        idx = idx[keep].reshape(X.shape[0], width)
        vals = None if vals is None else vals[keep].reshape(X.shape[0], width)
    idx = idx[:, q.skip :]
    if q.recall_sample and not adaptive:
        check_recall(q.X, None if q.self_search else q.T, idx, q.skip, q.metric, q.backend, q.recall_sample,
                     q.min_recall)
    if vals is not None and q.metric != "euclidean" and scale is None:
        return idx, vals[:, q.skip :]  # the IVF's canonical scores are the similarities
    return idx, exact_sims(X, T, idx, q.metric, scale)


def _ivf_index(q: Query, X: Any, T: Any) -> IVFIndex:
    """The inverted file of ``q``'s prepared targets (lists trained, nothing scanned yet)."""
    o = q.options
    return IVFIndex(X, T, q.want, q.metric, self_search=q.self_search, nlist=o.nlist, seed=o.seed,
                    kmeans_iterations=o.kmeans_iterations, train_size=o.train_size, show_progress=q.show_progress,
                    route=q.route)


def _scan_adaptively(q: Query, index: IVFIndex) -> None:
    """Scan ``index`` from its start ``nprobe`` until the recall on ``q.recall_sample`` seeded rows
    reaches ``q.min_recall`` (:class:`~graphneg.IVF`'s ``adaptive``).

    Without a given ``nprobe`` the first scan's is predicted from the sampled rows' exact
    neighbours: the probe rank of each one's list is the ``nprobe`` at which a scan sees it.
    Each round scans only the probe ranks not scanned yet (:class:`._ivf.IVFIndex`),
    re-scores the sampled rows' candidates and measures their recall (ties counted); it stops
    when the recall's lower confidence bound reaches the target, else the next ``nprobe`` is
    predicted the same way (:func:`._recall.scan_to_recall`). Every step depends only on the
    data and the seeds, never on timing or machine load.
    """
    width = q.k + q.skip
    check = RecallSample(q.X, None if q.self_search else q.T, q.k, q.skip, q.metric, q.recall_sample, 0)

    def found(ids: np.ndarray) -> np.ndarray:
        if q.self_search:
            ids = ids[without_self(ids, check.rows, width)].reshape(-1, width)
        return ids[:, q.skip :]

    scan_to_recall(index, check, found, q.options.nprobe, q.min_recall, "approximate kNN (ivf)", "knn_search")


def index_search(
    name: str, options: Any, X: np.ndarray, T: np.ndarray, want: int, metric: str, self_search: bool
) -> np.ndarray:
    """Top-``want`` target rows of each row of ``X`` from faiss (flat or HNSW) or pynndescent."""
    if name in ("faiss", "faiss-hnsw"):
        faiss = optional_import("faiss", extra="faiss", feature=f"backend={name!r}")
        d = X.shape[1]
        faiss_metric = faiss.METRIC_L2 if metric == "euclidean" else faiss.METRIC_INNER_PRODUCT
        if name == "faiss":
            index = faiss.IndexFlat(d, faiss_metric)
        else:
            index = faiss.IndexHNSWFlat(d, options.M, faiss_metric)
            index.hnsw.efConstruction = options.ef_construction
            index.hnsw.efSearch = options.ef_search if options.ef_search is not None else max(64, 2 * want)
        index.add(np.ascontiguousarray(T, dtype=np.float32))
        _, idx = index.search(np.ascontiguousarray(X, dtype=np.float32), want)
    else:
        pynndescent = optional_import("pynndescent", extra="ann", feature="backend='pynndescent'")
        pm = {"cosine": "dot", "ip": "dot", "euclidean": "euclidean"}[metric]  # rows normalised for cosine
        index = pynndescent.NNDescent(T, metric=pm, n_neighbors=max(want, options.n_neighbors),
                                      random_state=options.seed, low_memory=True)
        if self_search:
            idx = index.neighbor_graph[0][:, :want]
        else:
            idx, _ = index.query(X, k=want)
    idx = np.asarray(idx, dtype=np.int64)
    if (idx < 0).any():
        raise RuntimeError(f"backend {name!r} returned fewer than {want} neighbours for some rows")
    return idx
