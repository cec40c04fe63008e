from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import (
    communities,
    connected_components,
    exact_size,
    knn_graph,
    leiden_communities,
    louvain_communities,
    metis_partition,
    relabel,
    to_igraph,
)
from graphneg.exceptions import BackendUnavailableError

ALGORITHMS = {"leiden": leiden_communities, "louvain": louvain_communities, "components": connected_components}


def planted(n_blocks=5, size=40, p_in=0.3, p_out=0.01, seed=0):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(n_blocks), size)
    n = truth.size
    P = np.where(truth[:, None] == truth[None, :], p_in, p_out)
    A = np.triu(rng.random((n, n)) < P, 1)
    A = (A | A.T).astype(np.float32)
    return sp.csr_array(A), truth


def same_partition(a, b):
    return np.array_equal(relabel(a), relabel(b))


@pytest.mark.parametrize("method", ["leiden", "louvain"])
def test_recovers_planted_partition(method):
    G, truth = planted()
    labels = ALGORITHMS[method](G, seed=0)
    assert labels.shape == truth.shape and labels.dtype == np.int64
    assert same_partition(labels, truth)


def test_metis_balanced_parts():
    pytest.importorskip("pymetis")
    G, truth = planted()
    labels = metis_partition(G, num_parts=5, seed=0)
    sizes = np.bincount(labels)
    assert sizes.size == 5 and sizes.max() <= 1.1 * 40
    # the planted blocks are found up to a handful of nodes
    agree = max((relabel(labels) == relabel(truth)).mean(), 0)
    assert agree > 0.9


def test_metis_missing_names_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pymetis", None)  # makes `import pymetis` fail
    G, _ = planted()
    with pytest.raises(BackendUnavailableError, match=r"graphneg\[metis\]"):
        metis_partition(G, num_parts=4)


def test_seed_determinism_and_variation():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 8))
    G = knn_graph(X, 8)
    for method in ("leiden", "louvain"):
        a = ALGORITHMS[method](G, seed=3)
        b = ALGORITHMS[method](G, seed=3)
        assert np.array_equal(a, b)
    # on a graph without a clear structure different seeds give different partitions
    assert any(not np.array_equal(communities(G, seed=0), communities(G, seed=s)) for s in (1, 2, 3))


def test_louvain_does_not_leak_global_rng_state():
    import random

    random.seed(123)
    expected = random.random()
    random.seed(123)
    G, _ = planted()
    louvain_communities(G, seed=0)
    assert random.random() == expected


def test_resolution_controls_granularity():
    rng = np.random.default_rng(2)
    G = knn_graph(rng.normal(size=(500, 6)), 10)
    coarse = leiden_communities(G, resolution=0.5).max() + 1
    fine = leiden_communities(G, resolution=4.0).max() + 1
    assert fine > coarse
    assert louvain_communities(G, resolution=4.0).max() > louvain_communities(G, resolution=0.5).max()
    cpm = leiden_communities(G, objective="cpm", resolution=0.5)
    assert cpm.max() + 1 > 1


@pytest.mark.parametrize("method", ["leiden", "louvain", "components"])
def test_max_size_is_respected(method):
    rng = np.random.default_rng(3)
    G = knn_graph(rng.normal(size=(300, 4)), 6)
    labels = ALGORITHMS[method](G, max_cluster_size=25, seed=0)
    assert np.bincount(labels).max() <= 25
    assert set(np.unique(labels)) == set(range(labels.max() + 1))


@pytest.mark.parametrize("K", [8, 32, 50])
@pytest.mark.parametrize("method", ["leiden", "louvain", "components"])
def test_exact_size_partition(method, K):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(333, 6))
    G = knn_graph(X, 8)
    labels = ALGORITHMS[method](G, cluster_size=K, seed=0)
    sizes = np.bincount(labels)
    assert labels.size == 333  # nothing lost, nothing duplicated
    assert np.all(sizes[: 333 // K] == K)
    if 333 % K:
        assert sizes.size == 333 // K + 1 and sizes[-1] == 333 % K
    else:
        assert sizes.size == 333 // K


def test_exact_size_keeps_cohesive_clusters():
    # planted blocks of 40 cut to K=20: repair should mostly keep blocks together
    G, truth = planted(n_blocks=5, size=40, p_in=0.5, p_out=0.0)
    labels = exact_size(G, communities(G, seed=0), 20)
    assert np.all(np.bincount(labels) == 20)
    purity = np.mean([np.bincount(truth[labels == c]).max() / 20 for c in range(10)])
    assert purity == 1.0
    # an odd partition (one giant, many singletons) is repaired along edges
    odd = np.zeros(200, dtype=np.int64)
    odd[:30] = np.arange(1, 31)
    labels = exact_size(G, odd, 20)
    assert np.all(np.bincount(labels) == 20)


def test_exact_size_evicts_least_connected():
    # a 5-clique plus one pendant node, K=5: the pendant (fewest intra edges) is evicted
    A = np.zeros((10, 10), np.float32)
    A[:5, :5] = 1
    A[5, 0] = A[0, 5] = 1
    A[6:, 6:] = 1
    np.fill_diagonal(A, 0)
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    out = exact_size(sp.csr_array(A), labels, 5)
    assert len(set(out[:5])) == 1 and out[5] != out[0]
    assert np.all(np.bincount(out) == 5)


def test_isolated_nodes_and_empty_graph():
    G = sp.csr_array((7, 7), dtype=np.float32)
    labels = communities(G, seed=0)
    assert sorted(labels.tolist()) == list(range(7))
    assert np.all(np.bincount(communities(G, cluster_size=3)) [:2] == 3)


def test_to_igraph_roundtrip_edges():
    G, _ = planted()
    g = to_igraph(G)
    assert g.vcount() == G.shape[0]
    assert g.ecount() == sp.triu(G, 1).nnz
    assert not g.is_directed()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda G: communities(G, "kmeans"), TypeError, r"positional argument"),
        (lambda G: communities(G, resolution=1.0), TypeError, r"unexpected keyword argument 'resolution'"),
        (lambda G: leiden_communities(G, objective="surprise"), ValueError, r"`objective` must be one of"),
        (lambda G: leiden_communities(G, implementation="fast"), ValueError, r"`implementation` must be one of"),
        (lambda G: leiden_communities(G, num_iterations=1.5), TypeError, r"`num_iterations`"),
        (lambda G: leiden_communities(G, resolution=0), ValueError, r"`resolution` must be > 0"),
        (lambda G: louvain_communities(G, resolution=-1), ValueError, r"`resolution` must be > 0"),
        (lambda G: louvain_communities(G, objective="cpm"), TypeError, r"unexpected keyword argument 'objective'"),
        (lambda G: leiden_communities(G, num_parts=3), TypeError, r"unexpected keyword argument 'num_parts'"),
        (lambda G: communities(G, max_cluster_size=0), ValueError, r"`max_cluster_size` must be >= 1"),
        (lambda G: communities(G, cluster_size=10_000), ValueError, r"`cluster_size` must be <= 200"),
        (lambda G: communities(np.ones(3)), TypeError, r"`graph` must be a scipy.sparse"),
        (lambda G: communities(sp.csr_array((3, 4))), ValueError, r"`graph` must be square"),
        (lambda G: metis_partition(G), ValueError, r"needs `num_parts` or `cluster_size`"),
        (lambda G: metis_partition(G, num_parts=201), ValueError, r"`num_parts` must be <= 200"),
        (lambda G: communities(G, seed=-1), TypeError, r"`seed` must be a non-negative int"),
        (lambda G: exact_size(G, np.zeros(5), 3), ValueError, r"`labels` must have length 200"),
        (lambda G: communities(-G), ValueError, r"non-positive edge weight"),
    ],
)
def test_communities_bad_input(call, error, match):
    G, _ = planted()
    with pytest.raises(error, match=match):
        call(G)


def test_unweighted_accepts_negative_weights():
    G, _ = planted()
    assert communities(-G, weighted=False, seed=0).size == 200


def test_unweighted_split_of_negative_weights_and_dense_subgraphs():
    G = knn_graph(np.random.default_rng(0).normal(size=(60, 8)), 40)  # many weights <= 0
    labels = communities(G, weighted=False, max_cluster_size=5)
    sizes = np.bincount(labels)
    assert sizes.max() <= 5 and sizes.mean() > 3  # pieces, not crumbs


def test_to_igraph_equals_the_symmetric_upper_triangle():
    # the array-built igraph is the old one: union of both directions (larger weight),
    # no diagonal, edges in (row, col) order
    from graphneg._validation import check_graph
    from graphneg.similarity._igraph_convert import _undirected

    rng = np.random.default_rng(4)
    G = sp.random_array((300, 300), density=0.05, format="csr", rng=rng, dtype=np.float32)
    G.data[:10] = 0.0
    G.setdiag(0.5)
    G = sp.csr_array(G)
    g = to_igraph(G)
    ref = sp.triu(_undirected(check_graph(G)), k=1, format="coo")  # explicit zeros are no edges
    assert g.get_edgelist() == list(zip(ref.row.tolist(), ref.col.tolist(), strict=True))
    assert np.array_equal(np.asarray(g.es["weight"]), ref.data.astype(np.float64))
    assert to_igraph(sp.csr_array((5, 5), dtype=np.float32)).ecount() == 0


def test_leiden_defaults_to_two_iterations_and_keeps_the_override():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(400, 8)).astype(np.float32)
    G = knn_graph(X, 8)
    default = leiden_communities(G, seed=3)
    assert np.array_equal(default, leiden_communities(G, num_iterations=2, seed=3))
    converged = leiden_communities(G, num_iterations=-1, seed=3)
    assert converged.shape == default.shape and converged.max() >= 1


def test_default_is_igraph_leiden_below_the_fast_size():
    G = knn_graph(np.random.default_rng(5).normal(size=(300, 6)), 8)
    for kw in ({}, {"cluster_size": 16}, {"weighted": False}):
        assert np.array_equal(communities(G, seed=2, **kw), leiden_communities(G, seed=2, **kw))
    # with a size cap the default is leidenalg's Leiden, which steers by it
    assert np.array_equal(communities(G, max_cluster_size=20, seed=2),
                          leiden_communities(G, implementation="leidenalg", max_cluster_size=20, seed=2))


def test_leidenalg_and_igraph_cpm_optimise_the_same_objective():
    # igraph's CPM differs from leidenalg's by the constant gamma * n / 2: both must find the
    # planted blocks, whose density beats gamma
    G, truth = planted(p_in=0.5, p_out=0.0)
    for implementation in ("igraph", "leidenalg"):
        labels = leiden_communities(G, objective="cpm", resolution=0.1, implementation=implementation, seed=0)
        assert same_partition(labels, truth)


def test_each_function_takes_only_its_own_options():
    import inspect

    shared = {"graph", "max_cluster_size", "cluster_size", "weighted", "seed"}
    own = {
        communities: set(),
        connected_components: set(),
        leiden_communities: {"objective", "resolution", "num_iterations", "implementation"},
        louvain_communities: {"resolution"},
        metis_partition: {"num_parts"},
    }
    for fn, options in own.items():
        assert set(inspect.signature(fn).parameters) == shared | options, fn.__name__


def test_algorithm_names_are_the_public_functions():
    import graphneg as gn
    from graphneg.similarity._communities import ALGORITHMS as NAMES

    assert NAMES["auto"] is gn.communities and NAMES["plm"] is gn.plm_communities
    assert all(getattr(gn, fn.__name__) is fn for fn in NAMES.values())
