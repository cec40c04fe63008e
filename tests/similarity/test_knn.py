from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import knn_graph, knn_search, symmetrize
from graphneg.exceptions import GraphNegWarning


def reference(X, k, *, targets=None, skip=0, metric="cosine"):
    """Brute force over the full score matrix (the obviously correct version)."""
    X = np.asarray(X, dtype=np.float64)
    T = X if targets is None else np.asarray(targets, dtype=np.float64)
    if metric == "cosine":
        Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
        Tn = T / np.linalg.norm(T, axis=1, keepdims=True)
        S = Xn @ Tn.T
    elif metric == "ip":
        S = X @ T.T
    else:
        D = np.sqrt(((X[:, None, :] - T[None, :, :]) ** 2).sum(-1))
        S = 1.0 / (1.0 + D)
    if targets is None:
        np.fill_diagonal(S, -np.inf)
    order = np.argsort(-S, axis=1, kind="stable")[:, skip : skip + k]
    return order, np.take_along_axis(S, order, axis=1)


@pytest.mark.parametrize("metric", ["cosine", "ip", "euclidean"])
@pytest.mark.parametrize("skip", [0, 3])
@pytest.mark.parametrize("with_targets", [False, True])
def test_knn_search_matches_brute_force(metric, skip, with_targets):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(97, 12)).astype(np.float32)  # continuous data: no ties
    T = rng.normal(size=(53, 12)).astype(np.float32) if with_targets else None
    idx, sim = knn_search(X, 7, targets=T, skip=skip, metric=metric, block_size=16)
    ref_idx, ref_sim = reference(X, 7, targets=T, skip=skip, metric=metric)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(sim, ref_sim, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("metric", ["cosine", "ip", "euclidean"])
@pytest.mark.parametrize("skip", [0, 2])
def test_knn_graph_matches_brute_force(metric, skip):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(64, 5))
    G = knn_graph(X, 4, skip=skip, metric=metric)
    assert isinstance(G, sp.csr_array) and G.dtype == np.float32 and G.shape == (64, 64)
    assert G.has_canonical_format
    assert np.all(np.diff(G.indptr) == 4)
    assert G.diagonal().sum() == 0 and not np.any(G.indices == np.repeat(np.arange(64), 4))
    ref_idx, ref_sim = reference(X, 4, skip=skip, metric=metric)
    dense = np.zeros((64, 64))
    np.put_along_axis(dense, ref_idx, ref_sim, axis=1)
    np.testing.assert_allclose(G.toarray(), dense, rtol=1e-4, atol=1e-5)


def test_knn_graph_targets_shape_and_self_matches():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 4))
    G = knn_graph(X, 3, targets=X)  # searching a copy: the item itself is its best match
    assert G.shape == (20, 20)
    assert np.allclose(G.diagonal(), 1.0, atol=1e-5)
    G2 = knn_graph(X, 3, targets=X[:10])
    assert G2.shape == (20, 10) and np.all(np.diff(G2.indptr) == 3)


def test_rank_window_is_complement_of_skipped_prefix():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 6))
    full = knn_graph(X, 8)
    head = knn_graph(X, 3)
    window = knn_graph(X, 5, skip=3)  # B3: ranks [3, 8)
    assert (head.multiply(window)).nnz == 0
    assert ((head + window) != full).nnz == 0


def test_mutual_keeps_only_bidirectional_edges():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(80, 3))
    directed = knn_graph(X, 5)
    mutual = knn_graph(X, 5, mutual=True)
    D = directed.toarray() != 0
    expected = D & D.T
    assert np.array_equal(mutual.toarray() != 0, expected)
    assert (mutual != mutual.T).nnz == 0
    np.testing.assert_allclose(mutual.toarray(), np.where(expected, directed.toarray(), 0))


def test_symmetrize_union_and_mutual_with_negative_weights():
    G = sp.csr_array(np.array([[0, -0.5, 0.2], [0.3, 0, 0], [0, 0, 0]], dtype=np.float32))
    U = symmetrize(G, "union").toarray()
    np.testing.assert_allclose(U, [[0, 0.3, 0.2], [0.3, 0, 0], [0.2, 0, 0]])
    M = symmetrize(G, "mutual").toarray()
    np.testing.assert_allclose(M, [[0, -0.5, 0], [-0.5, 0, 0], [0, 0, 0]])
    assert symmetrize(sp.csr_array((3, 3), dtype=np.float32)).nnz == 0


def test_blocking_does_not_change_result():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(130, 10))
    a = knn_graph(X, 6, block_size=7)
    b = knn_graph(X, 6, block_size=1000)
    # same neighbours; similarities may differ in the last bit (GEMM blocking changes rounding)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"X": np.ones(5), "k": 1}, ValueError, r"`X` must be a 2-D array"),
        ({"X": np.ones((0, 3)), "k": 1}, ValueError, r"`X` must have at least 1 row"),
        ({"X": [[1.0, np.nan], [1, 2], [2, 1]], "k": 1}, ValueError, r"NaN or inf in 1 row"),
        ({"X": [[1.0, np.inf], [1, 2], [2, 1]], "k": 1}, ValueError, r"NaN or inf"),
        ({"X": [[0.0, 0.0], [1, 2], [2, 1]], "k": 1}, ValueError, r"zero-norm row"),
        ({"X": np.eye(4), "k": 4}, ValueError, r"`k` \+ `skip` must be <= n_items - 1 \(3\)"),
        ({"X": np.eye(4), "k": 2, "skip": 2}, ValueError, r"`k` \+ `skip` must be <="),
        ({"X": np.eye(4), "k": 1, "skip": -1}, ValueError, r"`skip` must be >= 0"),
        ({"X": np.eye(4), "k": 0}, ValueError, r"`k` must be >= 1"),
        ({"X": np.eye(4), "k": 1.5}, TypeError, r"`k` must be an int"),
        ({"X": np.eye(4), "k": 1, "metric": "cos"}, ValueError, r"`metric` must be one of"),
        ({"X": np.eye(4), "k": 3, "targets": np.eye(4)[:2]}, ValueError, r"n_targets \(2\)"),
        ({"X": np.eye(4), "k": 1, "targets": np.ones((3, 2))}, ValueError, r"same dimension"),
        ({"X": np.eye(4), "k": 1, "targets": np.eye(4), "mutual": True}, ValueError, r"mutual"),
        ({"X": sp.csr_array(np.eye(4)), "k": 1}, TypeError, r"dense 2-D array"),
    ],
)
def test_knn_graph_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        knn_graph(**kwargs)


def test_zero_rows_allowed_for_inner_product():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    G = knn_graph(X, 1, metric="ip")
    assert G.shape == (3, 3) and G.nnz == 3


def _clustered(n=3000, d=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(30, d))
    return (centres[rng.integers(0, 30, n)] + 0.8 * rng.normal(size=(n, d))).astype(np.float32)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_recall(precision):
    from graphneg import knn_recall

    X = _clustered()
    exact, _ = knn_search(X, 32)
    idx, sim = knn_search(X, 32, precision=precision, block_size=500)
    hits = np.mean([np.intersect1d(a, b).size / 32 for a, b in zip(exact, idx, strict=True)])
    assert hits >= 0.999
    assert knn_recall(X, idx, sample=3000) >= 0.999
    # similarities are exact fp32 re-ranked values
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    np.testing.assert_allclose(sim, np.einsum("nkd,nd->nk", Xn[idx], Xn), atol=1e-5)


@pytest.mark.parametrize("backend", ["faiss", "faiss-hnsw", "pynndescent"])
def test_optional_backends(backend):
    from graphneg import knn_recall

    pytest.importorskip("faiss" if backend.startswith("faiss") else "pynndescent")
    X = _clustered(2000)
    idx, sim = knn_search(X, 10, skip=2, backend=backend)
    assert idx.shape == (2000, 10) and not np.any(idx == np.arange(2000)[:, None])
    recall = knn_recall(X, idx, skip=2, sample=500)
    assert recall >= (0.999 if backend == "faiss" else 0.95)
    Q = X[:50] + 0.01
    idx, _ = knn_search(Q, 5, targets=X, backend=backend)
    assert knn_recall(Q, idx, targets=X) >= 0.95


def test_backend_errors_and_auto(monkeypatch):
    import sys

    from graphneg.exceptions import BackendUnavailableError

    X = _clustered(300)
    with pytest.raises(ValueError, match=r"`backend` must be one of"):
        knn_search(X, 5, backend="annoy")
    with pytest.raises(ValueError, match=r"precision='bf16'` needs backend='exact'"):
        knn_search(X, 5, backend="faiss", precision="bf16")
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(BackendUnavailableError, match=r"graphneg\[faiss\]"):
        knn_search(X, 5, backend="faiss")
    idx, _ = knn_search(X, 5, backend="auto")  # small: exact
    assert np.array_equal(idx, knn_search(X, 5)[0])


def test_euclidean_with_a_large_common_offset():
    X = np.random.default_rng(0).normal(size=(300, 16)) + 1000.0
    idx, sim = knn_search(X, 8, metric="euclidean")
    ref_idx, ref_sim = reference(X, 8, metric="euclidean")
    assert np.mean([np.intersect1d(a, b).size / 8 for a, b in zip(idx, ref_idx, strict=True)]) == 1.0
    np.testing.assert_allclose(sim, ref_sim, atol=1e-5)
    idx16, _ = knn_search(X, 8, metric="euclidean", precision="bf16")
    assert np.mean([np.intersect1d(a, b).size / 8 for a, b in zip(idx16, ref_idx, strict=True)]) >= 0.999


def test_zero_similarity_neighbours_survive_mutual_and_symmetrize():
    G = knn_graph(np.eye(3), 2)  # every similarity is exactly 0, every edge mutual
    assert knn_graph(np.eye(3), 2, mutual=True).nnz == 6
    assert symmetrize(G, "union").nnz == 6


def test_index_options_are_checked_where_built():
    from graphneg import HNSW, NNDescent

    with pytest.raises(ValueError, match=r"`HNSW.M` must be >= 1"):
        HNSW(M=0)
    with pytest.raises(TypeError, match=r"`NNDescent.n_neighbors` must be an int"):
        NNDescent(n_neighbors=2.5)


def test_hnsw_options_reach_the_index():
    pytest.importorskip("faiss")
    from graphneg import HNSW

    X = _clustered(300)
    idx, _ = knn_search(X, 5, backend=HNSW(M=16, ef_search=64))
    assert idx.shape == (300, 5)


def test_knn_recall_checks_shape():
    from graphneg import knn_recall

    X = _clustered(50)
    with pytest.raises(ValueError, match=r"`indices` must have shape \(50, k\)"):
        knn_recall(X, np.zeros((10, 5), dtype=int))


def test_approximate_backend_reports_recall(caplog):
    pytest.importorskip("faiss")
    import logging

    X = np.random.default_rng(0).normal(size=(400, 16)).astype(np.float32)
    with caplog.at_level(logging.INFO, logger="graphneg"):
        knn_search(X, 5, backend="faiss-hnsw")
    assert any("recall@5" in r.getMessage() for r in caplog.records)
    # an impossible bar makes the check warn, naming the measured recall
    with pytest.warns(GraphNegWarning, match="found only"):
        knn_search(X, 5, backend="faiss-hnsw", min_recall=1.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        knn_search(X, 5, backend="faiss-hnsw", recall_sample=0, min_recall=1.01)  # check skipped
