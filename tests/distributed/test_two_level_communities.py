"""Two-level communities (k-means parts across ranks, Leiden per part) on 2 and 3 processes.

Every rank returns the same labels, a partition of all items whose modularity on the whole
graph is within 2 % of single-machine Leiden's.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("igraph")

from ddp_harness import run_group  # noqa: E402

import graphneg as gn  # noqa: E402

K = 10


def modularity(graph, labels) -> float:
    g = gn.to_igraph(graph)
    return g.modularity(labels.tolist(), weights="weight")


@pytest.fixture(scope="module")
def blobs(tmp_path_factory):
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(12, 8)) * 3
    X = (centres[rng.integers(0, 12, 1200)] + rng.normal(size=(1200, 8))).astype(np.float32)
    path = tmp_path_factory.mktemp("two_level") / "X.npy"
    np.save(path, X)
    return X, str(path)


@pytest.mark.parametrize(("world_size", "num_parts"), [(2, 2), (3, 6)])
def test_two_level_modularity_close_to_single_machine_leiden(blobs, world_size, num_parts):
    X, path = blobs
    results = run_group("ddp_sharded.two_level", world_size, path, K, num_parts)
    labels = results[0]
    assert all(np.array_equal(r, labels) for r in results), "ranks merged different labels"
    assert labels.shape == (X.shape[0],) and labels.min() == 0
    G = gn.knn_graph(X, K)
    single = modularity(G, gn.communities(G, seed=0))
    two_level = modularity(G, labels)
    assert two_level >= 0.98 * single, (two_level, single)


def test_world_of_one():
    from graphneg.distributed import communities

    X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    labels = communities(X, gn.knn_graph(X, 5), num_parts=3)
    assert labels.shape == (200,) and set(np.unique(labels)) == set(range(labels.max() + 1))
    with pytest.raises(ValueError, match="graph_shard"):
        communities(X, gn.knn_graph(X[:50], 5))
    with pytest.raises(ValueError, match="resolution"):
        communities(X, gn.knn_graph(X, 5), resolution=0.0)
    with pytest.raises(TypeError, match="objective"):  # level 2 is the default's modularity, no CPM
        communities(X, gn.knn_graph(X, 5), objective="cpm")


def test_world_of_one_is_the_default_on_each_part_at_the_scaled_resolution():
    from graphneg.distributed import communities
    from graphneg.similarity._communities import default_at_resolution

    X = np.random.default_rng(1).normal(size=(150, 4)).astype(np.float32)
    G = gn.knn_graph(X, 5)
    # one part holding every edge: its resolution scales by 1, so level 2 is the default itself
    labels = communities(X, G, num_parts=1, resolution=0.7, seed=2)
    part_seed = int(np.random.default_rng([2, 0]).integers(2**31))
    assert np.array_equal(labels, gn.relabel(default_at_resolution(G, 0.7, seed=part_seed)))
