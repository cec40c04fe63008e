"""Naming convention (one spelling per concept), method-specific options, and global state (#11.7, #12)."""

from __future__ import annotations

import random
import threading
from functools import partial

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg._search._blocks as search
from graphneg.similarity import (
    Reminer,
    batch_stats,
    cluster_batches,
    communities,
    connected_components,
    exact_size,
    knn_graph,
    knn_search,
    leiden_communities,
    louvain_communities,
    metis_partition,
    ngame_cluster_size,
    packed_batches,
    random_batches,
    symmetrize,
    to_igraph,
    topic_batches,
    walk_batches,
)


@pytest.fixture(scope="module")
def G():
    return knn_graph(np.random.default_rng(0).normal(size=(120, 6)), 6)


def test_one_spelling_per_parameter(G):
    # the names are graph, cluster_size, max_cluster_size, num_<things>; no other spelling is taken
    labels = np.repeat(np.arange(12), 10)
    assert np.array_equal(exact_size(graph=G, labels=labels, cluster_size=10), exact_size(G, labels, 10))
    assert to_igraph(graph=G).vcount() == 120
    assert (symmetrize(graph=G) != symmetrize(G)).nnz == 0
    assert batch_stats([[0, 1]], num_items=4)["coverage"] == 0.5
    assert ngame_cluster_size(300, max_cluster_size=64) == 64
    for call in (
        lambda: communities(G=G),
        lambda: communities(G, max_size=20),
        lambda: communities(G, size=10),
        lambda: leiden_communities(G, n_iterations=2),
        lambda: metis_partition(G, n_parts=3),
        lambda: exact_size(G, labels, size=10),
        lambda: to_igraph(G=G),
        lambda: symmetrize(G=G),
        lambda: batch_stats([[0, 1]], n_items=4),
        lambda: ngame_cluster_size(300, max_size=64),
    ):
        with pytest.raises(TypeError, match="unexpected keyword|missing .* required"):
            call()


def test_metis_num_parts(G):
    pytest.importorskip("pymetis")
    assert metis_partition(G, num_parts=3).max() == 2


@pytest.mark.parametrize(
    ("algorithm", "option"),
    [
        (leiden_communities, {"num_parts": 3}),
        (louvain_communities, {"objective": "cpm"}),
        (louvain_communities, {"num_iterations": 2}),
        (metis_partition, {"implementation": "igraph"}),
        (connected_components, {"resolution": 2.0}),
        (metis_partition, {"resolution": 1.0}),
        (communities, {"objective": "modularity"}),
        (communities, {"method": "leiden"}),
    ],
)
def test_options_of_other_algorithms_are_rejected(G, algorithm, option):
    (name,) = option
    with pytest.raises(TypeError, match=rf"unexpected keyword argument '{name}'"):
        algorithm(G, **option)


def test_algorithm_options_are_always_validated(G):
    with pytest.raises(ValueError, match="`objective` must be one of"):
        leiden_communities(G, objective="surprise")
    with pytest.raises(ValueError, match="`implementation` must be one of"):
        leiden_communities(G, implementation="fast")
    with pytest.raises(ValueError, match="`resolution` must be > 0"):
        louvain_communities(G, resolution=0.0)
    with pytest.raises(TypeError, match="`num_iterations` must be an int"):
        leiden_communities(G, num_iterations=1.5)


def test_reminer_step_and_cap():
    X = np.random.default_rng(1).normal(size=(60, 5))
    got = []

    class Sampler:
        def refresh(self, labels):
            got.append(labels)

    r = Reminer(lambda: X, Sampler(), every=2, k=4, cluster_size=6)
    assert [r.step(e) is not None for e in range(4)] == [True, False, True, False]
    assert r.step(1, force=True).shape == (60,)
    assert len(got) == 3
    assert [h["epoch"] for h in r.history] == [0, 2, 1] and r.history[0]["num_communities"] == 10
    capped = Reminer(lambda: X, Sampler(), k=4, communities=partial(connected_components, max_cluster_size=7))
    assert np.bincount(capped.step(0)).max() <= 7
    for old in ("maybe_refresh", "refresh", "max_size"):
        assert not hasattr(r, old)


def test_igraph_generator_is_restored_and_seeding_is_thread_safe(G):
    ig = pytest.importorskip("igraph")

    def er():
        return ig.Graph.Erdos_Renyi(30, 0.2).get_edgelist()

    louvain_communities(G, seed=0)
    random.seed(7)
    a = er()
    random.seed(7)
    assert er() == a  # igraph draws from Python's `random` again after the call
    algorithms = {"leiden": leiden_communities, "louvain": louvain_communities}
    expected = {m: algorithms[m](G, seed=3).tolist() for m in algorithms}
    results, errors = [], []

    def run(method):
        try:
            results.append((method, algorithms[method](G, seed=3).tolist()))
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(m,)) for m in ("leiden", "louvain") * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(labels == expected[m] for m, labels in results)


def test_thread_limits_are_not_held_while_the_consumer_runs(monkeypatch):
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_info

    def blas():
        return [i.get("num_threads") for i in threadpool_info() if i.get("user_api") == "blas"]

    outside_blas, outside_torch = blas(), torch.get_num_threads()
    X = np.random.default_rng(0).normal(size=(64 * 6, 8)).astype(np.float32)
    seen = []
    for _ in search.tiled_blocks(X, X, 3, True, None, tiles=search.Tiles(rows=64, cols=128, workers=2)):
        seen.append((blas(), torch.get_num_threads()))
    assert len(seen) == 6
    assert all(s == (outside_blas, outside_torch) for s in seen)
    assert (blas(), torch.get_num_threads()) == (outside_blas, outside_torch)


def test_symmetrize_keeps_stored_zero_similarities():
    A = sp.csr_array((np.array([0.0, 0.5], np.float32), np.array([1, 0]), np.array([0, 1, 2, 2])), shape=(3, 3))
    S = symmetrize(A, "mutual")
    assert S.nnz == 2 and S.toarray()[0, 1] == 0.0


@pytest.mark.parametrize(
    ("call", "option"),
    [
        (lambda **kw: random_batches(8, 4, **kw), "mix_random"),  # random batches: nothing to mix
        (lambda **kw: cluster_batches(np.repeat(np.arange(4), 2), 4, **kw), "fill"),  # packed_batches' option
        (lambda **kw: packed_batches(np.repeat(np.arange(4), 2), 4, **kw), "clusters_per_batch"),
        (lambda **kw: walk_batches(sp.eye_array(4, k=1, format="csr"), 2, **kw), "strata"),
        (lambda **kw: knn_graph(np.random.default_rng(0).normal(size=(20, 4)), 3, **kw), "sample"),
    ],
)
def test_shared_keyword_options_reject_other_functions_options(call, option):
    # the options declared once (EpochOptions, SearchOptions) are still checked per function
    with pytest.raises(TypeError, match=rf"\(\) got an unexpected keyword argument '{option}'"):
        call(**{option: 1})


def test_shared_keyword_options_keep_their_defaults():
    labels = np.repeat(np.arange(6), 2)
    explicit = dict(seed=0, epoch=0, drop_last=False, mix_random=0.0, strata=None)
    for f in (cluster_batches, topic_batches, packed_batches):
        a, b = f(labels, 4), f(labels, 4, **explicit)
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    X = np.random.default_rng(0).normal(size=(30, 4))
    G = knn_graph(X, 3, skip=1, metric="ip", backend="exact", block_size=7)
    idx, _ = knn_search(X, 3, skip=1, metric="ip")
    assert np.array_equal(G.indices.reshape(30, 3), np.sort(idx, axis=1))
