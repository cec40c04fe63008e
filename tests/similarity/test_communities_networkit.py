"""``plm_communities``: networkit's PLM, one thread, seeded; the default's choice on large graphs."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import communities, knn_graph, leiden_communities, plm_communities
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
    assert plm_communities(G, seed=0).tolist() == [0] * 4 + [1] * 4 + [2] * 4


def test_same_seed_same_partition_and_graph_untouched():
    G = knn_graph(_blobs(), 10)
    before = (G.data.copy(), G.indices.copy(), G.indptr.copy())
    a = plm_communities(G, seed=3)
    b = plm_communities(G, seed=3)
    assert np.array_equal(a, b)
    assert all(np.array_equal(x, y) for x, y in zip(before, (G.data, G.indices, G.indptr), strict=True))


def test_quality_matches_igraph_leiden():
    G = knn_graph(_blobs(3000, 10, seed=1), 15)
    q_nk = _modularity(G, plm_communities(G, seed=0))
    q_ig = _modularity(G, leiden_communities(G, seed=0))
    assert q_nk > 0.5 and abs(q_nk - q_ig) < 0.01 * q_ig


def test_resolution_and_unweighted_are_honoured():
    G = knn_graph(_blobs(), 10)
    coarse = plm_communities(G, resolution=0.2, seed=0)
    fine = plm_communities(G, resolution=5.0, seed=0)
    assert coarse.max() < fine.max()
    unweighted = plm_communities(G, weighted=False, seed=0)
    assert unweighted.shape == (G.shape[0],)


def test_thread_count_is_restored():
    before = nk.getMaxNumberOfThreads()
    plm_communities(knn_graph(_blobs(500), 5), seed=0)
    assert nk.getMaxNumberOfThreads() == before


def test_max_iterations_is_checked_and_leiden_does_not_take_networkit():
    G = knn_graph(_blobs(200), 5)
    with pytest.raises(ValueError, match="`max_iterations` must be >= 1"):
        plm_communities(G, max_iterations=0)
    with pytest.raises(ValueError, match="implementation"):
        leiden_communities(G, implementation="networkit")


def test_missing_networkit_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "networkit", None)
    with pytest.raises(BackendUnavailableError, match="networkit"):
        plm_communities(knn_graph(_blobs(200), 5))


def test_the_csr_build_is_the_coo_build():
    """The graph handed to PLM (built from a CSR of the upper triangle) has the edges and weights
    of networkit's COO constructor on the same arrays, and PLM gives the same partition."""
    from graphneg.similarity._igraph_convert import _upper_edges
    from graphneg.similarity._louvain import _networkit_plm

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
    np.testing.assert_array_equal(_networkit_plm(G, True, 11, 1.0, 32), expected)


def _continuum(n: int, d: int = 32, factors: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, factors)) * (1.0 + np.arange(factors)) ** -0.75
    X = Z @ rng.normal(size=(factors, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return (X + 0.3 * rng.normal(size=(n, d)) / np.sqrt(d)).astype(np.float32)


def test_default_call_takes_the_fast_path_above_the_size_threshold(monkeypatch):
    # communities(G) at scale is networkit's PLM on one thread, within 1 % of igraph Leiden's
    # modularity, deterministic for a seed; igraph's Leiden below the size
    from graphneg.similarity import _communities

    G = knn_graph(_continuum(15_000), 10)
    leiden = leiden_communities(G, seed=0)
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
    assert np.array_equal(fast, plm_communities(G, max_iterations=_communities.PLM_MAX_ITER, seed=0))
    # the algorithm's own function runs that algorithm at any size
    assert np.array_equal(leiden_communities(G, seed=0), leiden)
    assert len(calls) == 2
