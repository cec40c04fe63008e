"""``communities(method="louvain", implementation="networkit")``: networkit's PLM, one thread, seeded."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import communities, knn_graph
from graphneg.exceptions import BackendUnavailableError

nk = pytest.importorskip("networkit")


def _modularity(G: sp.csr_array, labels: np.ndarray) -> float:
    A = (G + G.T) / 2
    m2 = A.sum()
    deg = np.asarray(A.sum(axis=1)).ravel()
    C = sp.csr_array((np.ones(labels.size), (np.arange(labels.size), labels)))
    inside = (C.T @ A @ C).diagonal().sum()
    return float(inside / m2 - (np.bincount(labels, weights=deg) ** 2).sum() / m2**2)


def _blobs(n: int = 2000, centers: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, 16))
    return (c[rng.integers(centers, size=n)] + 0.6 * rng.normal(size=(n, 16))).astype(np.float32)


def test_blocks_are_found():
    block = np.ones((4, 4)) - np.eye(4)
    G = sp.csr_array(sp.block_diag([block, block, block]))
    assert communities(G, "louvain", implementation="networkit", seed=0).tolist() == [0] * 4 + [1] * 4 + [2] * 4


def test_same_seed_same_partition_and_graph_untouched():
    G = knn_graph(_blobs(), 10)
    before = (G.data.copy(), G.indices.copy(), G.indptr.copy())
    a = communities(G, "louvain", implementation="networkit", seed=3)
    b = communities(G, "louvain", implementation="networkit", seed=3)
    assert np.array_equal(a, b)
    assert all(np.array_equal(x, y) for x, y in zip(before, (G.data, G.indices, G.indptr), strict=True))


def test_quality_matches_igraph_leiden():
    G = knn_graph(_blobs(3000, 10, seed=1), 15)
    q_nk = _modularity(G, communities(G, "louvain", implementation="networkit", seed=0))
    q_ig = _modularity(G, communities(G, "leiden", seed=0))
    assert q_nk > 0.5 and abs(q_nk - q_ig) < 0.01 * q_ig


def test_resolution_and_unweighted_are_honoured():
    G = knn_graph(_blobs(), 10)
    coarse = communities(G, "louvain", implementation="networkit", resolution=0.2, seed=0)
    fine = communities(G, "louvain", implementation="networkit", resolution=5.0, seed=0)
    assert coarse.max() < fine.max()
    unweighted = communities(G, "louvain", implementation="networkit", weighted=False, seed=0)
    assert unweighted.shape == (G.shape[0],)


def test_thread_count_is_restored():
    before = nk.getMaxNumberOfThreads()
    communities(knn_graph(_blobs(500), 5), "louvain", implementation="networkit", seed=0)
    assert nk.getMaxNumberOfThreads() == before


@pytest.mark.parametrize("method", ["metis", "components"])
def test_implementation_is_refused_where_it_does_not_apply(method):
    G = knn_graph(_blobs(200), 5)
    with pytest.raises(ValueError, match="`implementation` applies to method='leiden'/'louvain' only"):
        communities(G, method, implementation="networkit")


def test_leiden_does_not_take_networkit():
    with pytest.raises(ValueError, match="implementation"):
        communities(knn_graph(_blobs(200), 5), "leiden", implementation="networkit")


def test_missing_networkit_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "networkit", None)
    with pytest.raises(BackendUnavailableError, match="networkit"):
        communities(knn_graph(_blobs(200), 5), "louvain", implementation="networkit")


def test_the_csr_build_is_the_coo_build():
    """The graph handed to PLM (built from a CSR of the upper triangle) has the edges and weights
    of networkit's COO constructor on the same arrays, and PLM gives the same partition."""
    from graphneg.similarity._communities import _networkit_plm, _upper_edges

    G = knn_graph(_blobs(1500, 6, seed=3), 8)  # asymmetric weights: the larger direction counts
    rows, cols, w = _upper_edges(G)
    nk.setNumberOfThreads(1)
    nk.engineering.setSeed(11, False)
    coo = nk.graph.GraphFromCoo((w.astype(np.float64), (rows, cols)), n=G.shape[0], weighted=True)
    plm = nk.community.PLM(coo, refine=True, gamma=1.0)
    plm.run()
    expected = np.asarray(plm.getPartition().getVector())
    edges = sorted((min(u, v), max(u, v), round(x, 6)) for u, v, x in coo.iterEdgesWeights())
    assert edges == sorted(zip(rows.tolist(), cols.tolist(), np.round(w.astype(np.float64), 6).tolist(), strict=True))
    np.testing.assert_array_equal(_networkit_plm(G, True, 11, 1.0), expected)


def _continuum(n: int, d: int = 32, factors: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, factors)) * (1.0 + np.arange(factors)) ** -0.75
    X = Z @ rng.normal(size=(factors, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return (X + 0.3 * rng.normal(size=(n, d)) / np.sqrt(d)).astype(np.float32)


def test_default_call_takes_the_fast_path_above_the_size_threshold(monkeypatch):
    # issue 24: communities(G) at scale is networkit's PLM on one thread, within 1 % of
    # igraph Leiden's modularity, deterministic for a seed; igraph's Leiden below the size
    from graphneg.similarity import _communities

    G = knn_graph(_continuum(15_000), 10)
    leiden = communities(G, implementation="igraph", seed=0)
    calls = []
    real = _communities._networkit_plm
    monkeypatch.setattr(_communities, "_networkit_plm", lambda *a, **kw: calls.append(a) or real(*a, **kw))
    assert np.array_equal(communities(G, seed=0), leiden)  # 15k nodes < FAST_MIN_NODES: igraph
    assert not calls
    monkeypatch.setattr(_communities, "FAST_MIN_NODES", 10_000)
    fast = communities(G, seed=0)
    assert len(calls) == 1 and calls[0][-1] == _communities.PLM_MAX_ITER
    assert np.array_equal(communities(G, seed=0), fast)  # same seed, same partition
    assert _modularity(G, fast) >= 0.99 * _modularity(G, leiden)
    # options only igraph's Leiden takes keep it
    assert np.array_equal(communities(G, seed=0, implementation="igraph"), leiden)
    communities(G, seed=0, num_iterations=2)
    communities(G, seed=0, objective="cpm", resolution=0.5)
    assert len(calls) == 2
