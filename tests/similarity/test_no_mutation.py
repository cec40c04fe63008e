"""Inputs are read-only: no public function of graphneg.similarity modifies an argument.

scipy shares index arrays between a matrix and ``csr_array(matrix)``, and ``sum_duplicates``,
``sort_indices``, ``eliminate_zeros`` and ``.data[:] = ...`` act in place, so every function is
fed non-canonical CSR (unsorted indices, duplicates, explicit zeros) of several dtypes, in both
the matrix and array flavours, and its arrays are compared byte for byte afterwards.
"""

from __future__ import annotations

import importlib.util
import warnings
from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import similarity as S

N = 40
DTYPES = [np.float64, np.float32, np.int64, np.bool_]
KINDS = [sp.csr_matrix, sp.csr_array]


def _noncanonical(kind, dtype, seed=0):
    """Two planted blocks as CSR with reversed (unsorted) rows, split duplicates and stored zeros."""
    rng = np.random.default_rng(seed)
    block = np.repeat([0, 1], N // 2)
    A = (rng.random((N, N)) < np.where(block[:, None] == block[None, :], 0.4, 0.02)).astype(float)
    A = np.triu(A, 1)
    A = A + A.T
    W = A * 2  # weight 2 splits into two duplicates of 1 (exact in every dtype, True for bool)
    data, indices, indptr = [], [], [0]
    for i in range(N):
        cols = np.flatnonzero(W[i])[::-1]  # descending: unsorted
        row_cols = list(cols) + list(cols[:1])  # the first entry duplicated
        row_vals = [2.0] * len(cols) + [0.0] * min(1, len(cols))
        if len(cols):
            row_vals[0] = 1.0
            row_vals[-1] = 1.0
        zero_col = (i + 7) % N  # an explicitly stored zero (not an edge)
        if zero_col != i and not W[i, zero_col]:
            row_cols.append(zero_col)
            row_vals.append(0.0)
        data += row_vals
        indices += row_cols
        indptr.append(len(indices))
    vals = np.array(data)
    vals = vals.astype(bool) if dtype is np.bool_ else vals.astype(dtype)
    if dtype is np.bool_:
        vals[vals == 0] = False
    M = kind((vals, np.array(indices, dtype=np.int32), np.array(indptr, dtype=np.int32)), shape=(N, N))
    assert not M.has_sorted_indices
    return M


def _snapshot(obj):
    if sp.issparse(obj):
        return ("sparse", obj.format, obj.dtype.str, obj.data.tobytes(), obj.indices.tobytes(), obj.indptr.tobytes())
    if isinstance(obj, np.ndarray):
        return ("array", obj.dtype.str, obj.shape, obj.tobytes())
    if isinstance(obj, list):
        return ("list", [_snapshot(o) for o in obj])
    return ("other", repr(obj))


def _assert_unchanged(fn, *args, **kwargs):
    before = [_snapshot(a) for a in args] + [_snapshot(v) for v in kwargs.values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # some inputs are odd on purpose (e.g. bool weights)
        out = fn(*args, **kwargs)
    after = [_snapshot(a) for a in args] + [_snapshot(v) for v in kwargs.values()]
    assert before == after, f"{getattr(fn, '__name__', fn)} modified its input"
    return out


def _algorithms():
    algorithms = [(S.communities, {}), (S.leiden_communities, {}), (S.louvain_communities, {}),
                  (S.connected_components, {})]
    try:
        import pymetis  # noqa: F401

        algorithms.append((S.metis_partition, {"num_parts": 2}))
    except ImportError:
        pass
    if importlib.util.find_spec("networkit") is not None:
        algorithms.append((S.plm_communities, {}))
    return algorithms


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", KINDS)
def test_graph_functions_leave_graph_untouched(kind, dtype):
    G = _noncanonical(kind, dtype)
    for algorithm, extra in _algorithms():
        _assert_unchanged(algorithm, G, seed=0, **extra)
    _assert_unchanged(S.communities, G, max_cluster_size=8, seed=0)
    _assert_unchanged(S.leiden_communities, G, implementation="leidenalg", seed=0)
    _assert_unchanged(S.louvain_communities, G, cluster_size=10, seed=0)
    labels = np.repeat(np.arange(4, dtype=np.int32), N // 4)
    _assert_unchanged(S.exact_size, G, labels, 7, seed=0)
    _assert_unchanged(S.to_igraph, G)
    for mode in ("union", "mutual"):
        _assert_unchanged(S.symmetrize, G, mode)
    batches = [np.arange(0, 10), np.arange(10, 40)]
    _assert_unchanged(S.batch_stats, batches, graph=G, labels=labels)


def test_products_of_graphs_stay_untouched():
    # a product's indices are unsorted: the case that exposed shared-index canonicalisation
    G = _noncanonical(sp.csr_matrix, np.float64)
    P = G @ G
    P.data[::5] = 0  # and some explicitly stored zeros
    _assert_unchanged(S.communities, P, seed=0)
    _assert_unchanged(S.symmetrize, P)
    _assert_unchanged(S.batch_stats, [np.arange(N)], graph=P)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.bool_])
def test_dense_inputs_stay_untouched(dtype):
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(60, 6)) * 3).astype(dtype)
    if dtype is np.bool_:
        X[:, 0] = True  # no zero rows under cosine
    T = (rng.normal(size=(30, 6)) * 3).astype(dtype)
    if dtype is np.bool_:
        T[:, 0] = True
    for metric in ("cosine", "ip", "euclidean"):
        _assert_unchanged(S.knn_search, X, 4, metric=metric)
        _assert_unchanged(S.knn_search, X, 4, targets=T, metric=metric, skip=1)
        _assert_unchanged(S.knn_graph, X, 4, metric=metric, mutual=True)
        G = _assert_unchanged(S.knn_graph, X, 4, metric=metric)
        idx, _ = S.knn_search(X, 4, metric=metric)
        _assert_unchanged(S.knn_recall, X, idx, metric=metric)
        _assert_unchanged(S.knn_recall, X, G, metric=metric)
    batches = [np.arange(0, 30), np.arange(30, 60)]
    _assert_unchanged(S.batch_stats, batches, embeddings=X)


def test_knn_recall_leaves_unsorted_graph_untouched():
    X = np.random.default_rng(2).normal(size=(50, 5))
    G = S.knn_graph(X, 3)
    U = sp.csr_matrix((G.data[::-1].copy(), G.indices[::-1].copy(), G.indptr.copy()), shape=G.shape)
    _assert_unchanged(S.knn_recall, X, U)


@pytest.mark.parametrize(
    "labels",
    [
        np.repeat(np.arange(6, dtype=np.int32), 4),
        np.repeat(np.arange(6, dtype=np.int64), 4)[::-1].copy(),
        np.repeat(np.arange(6), 4).astype(float),
        np.repeat(np.array(list("abcdef"), dtype=object), 4),
        np.repeat(np.array(list("abcdef")), 4),
    ],
)
def test_batch_functions_leave_labels_untouched(labels):
    strata = np.repeat(np.arange(2, dtype=np.int32), 12)
    _assert_unchanged(S.cluster_batches, labels, 8, seed=1, strata=strata, mix_random=0.25)
    _assert_unchanged(S.packed_batches, labels, 5, seed=1, strata=strata)
    _assert_unchanged(S.packed_batches, labels, 5, fill=True, seed=1)
    _assert_unchanged(S.topic_batches, labels, 4, clusters_per_batch=2, seed=1, mix_random=0.5)
    _assert_unchanged(S.random_batches, 24, 5, seed=1, strata=strata)
    _assert_unchanged(S.relabel, labels)
    batches = [np.arange(0, 12), np.arange(12, 24)]
    _assert_unchanged(S.mix_random_items, batches, 0.5, np.random.default_rng(0))
    _assert_unchanged(S.batch_stats, batches, labels=labels)


def test_reminer_leaves_embeddings_untouched():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(80, 6))
    before = X.tobytes()
    got = []

    class Sampler:
        def refresh(self, labels):
            got.append(labels)

    reminer = S.Reminer(lambda: X, Sampler(), k=5, cluster_size=8)
    reminer.step(0)
    reminer = S.Reminer(lambda: X, Sampler(), k=5,
                         communities=partial(S.connected_components, max_cluster_size=10))
    reminer.step(0)
    assert X.tobytes() == before and len(got) == 2
