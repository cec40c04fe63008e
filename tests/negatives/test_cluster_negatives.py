"""ClusterNS hard negatives: members of the nearest other cluster, never of the item's own."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphneg as gn
from graphneg.exceptions import GraphNegWarning
from graphneg.negatives import cluster_hard_negatives, cluster_mask


def reference_cosines(X, T, labels):
    """``cos(x_i, mu_c)`` for every item and cluster, in float64 (``-inf`` for unused ids)."""
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    Tn = T / np.linalg.norm(T, axis=1, keepdims=True)
    C = int(labels.max()) + 1
    cos = np.full((X.shape[0], C), -np.inf)
    for c in np.unique(labels):
        mu = Tn[labels == c].mean(axis=0)
        norm = np.linalg.norm(mu)
        cos[:, c] = Xn @ mu / norm if norm > 1e-12 else 0.0
    return cos


@st.composite
def problems(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, dim = draw(st.integers(2, 60)), draw(st.integers(2, 6))
    n_clusters = draw(st.integers(1, 6))
    labels = rng.integers(0, n_clusters, n)
    X = rng.normal(size=(n, dim))
    T = rng.normal(size=(n, dim)) if draw(st.booleans()) else None
    return X, labels, T, draw(st.integers(1, 6)), draw(st.integers(0, 3))


@settings(max_examples=80, deadline=None)
@given(problems())
def test_negatives_are_members_of_the_nearest_other_cluster(problem):
    X, labels, T, k, seed = problem
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        neg = cluster_hard_negatives(X, labels, k, targets=T, seed=seed)
    assert neg.shape == (labels.size, k) and neg.dtype == np.int64
    cos = reference_cosines(X, X if T is None else T, labels)
    sizes = np.bincount(labels, minlength=cos.shape[1])
    for i, row in enumerate(neg):
        valid = row[row >= 0]
        assert (row[: valid.size] >= 0).all(), "-1 only pads the end of a row"
        assert np.unique(valid).size == valid.size, "a negative twice in one row"
        assert (labels[valid] != labels[i]).all(), "a negative in the item's own cluster"
        others = np.flatnonzero((sizes > 0) & (np.arange(sizes.size) != labels[i]))
        if others.size == 0:
            assert valid.size == 0
            continue
        assert np.unique(labels[valid]).size == 1, "negatives from two clusters"
        c = labels[valid[0]]
        assert cos[i, c] >= cos[i, others].max() - 1e-5, "not the nearest other cluster"
        assert valid.size == min(k, sizes[c])
    short = int((neg < 0).any(axis=1).sum())
    warned = [w for w in caught if issubclass(w.category, GraphNegWarning)]
    assert len(warned) == (1 if short else 0)
    if short:
        assert f"{short} of {labels.size} items" in str(warned[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)
        again = cluster_hard_negatives(X, labels, k, targets=T, seed=seed)
    np.testing.assert_array_equal(again, neg)  # a function of the seed


def test_draws_are_uniform_subsets_in_random_order():
    # 400 items of cluster 0, all nearest to cluster 1 (6 members): every 2-subset and order
    rng = np.random.default_rng(0)
    X = np.r_[np.tile([[1.0, 0.0]], (400, 1)), np.tile([[0.8, 0.6]], (6, 1)), np.tile([[-1.0, 0.0]], (3, 1))]
    X += 1e-3 * rng.normal(size=X.shape)
    labels = np.r_[np.zeros(400, int), np.ones(6, int), np.full(3, 2)]
    neg = cluster_hard_negatives(X, labels, 2, seed=1)[:400]
    assert set(np.unique(neg).tolist()) <= set(range(400, 406))
    pairs = np.bincount((neg[:, 0] - 400) * 6 + (neg[:, 1] - 400), minlength=36).reshape(6, 6)
    assert (np.diag(pairs) == 0).all()
    ordered = pairs[~np.eye(6, dtype=bool)]  # 30 ordered pairs, 400 / 30 = 13.3 expected each
    chi2 = ((ordered - 400 / 30) ** 2 / (400 / 30)).sum()
    assert chi2 < 70  # 29 degrees of freedom: p < 1e-4 beyond 70
    assert not np.array_equal(neg, cluster_hard_negatives(X, labels, 2, seed=2)[:400])


def test_own_cluster_is_the_label_not_the_nearest_centroid():
    # item 0 is labelled 0 but lies on cluster 1's centroid: its negatives still come from 1
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.05], [0.0, 1.0], [-1.0, 0.0]])
    labels = np.array([0, 0, 0, 1, 2])
    neg = cluster_hard_negatives(X, labels, 1, seed=0)
    assert neg[0].tolist() == [3]
    assert labels[neg[1:, 0]].tolist() == [1, 1, 0, 1]  # item 4 (180 deg): cluster 1 (90) beats 0 (152)


def test_targets_build_the_centroids():
    # items sit on the x axis; their targets decide which cluster is nearest
    X = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    labels = np.array([0, 0, 1, 1, 2, 2])
    T = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.7, 0.7], [0.7, 0.7]])
    neg = cluster_hard_negatives(X, labels, 2, targets=T, seed=0)
    assert labels[neg[:2]].tolist() == [[2, 2], [2, 2]]  # 45 degrees beats 90
    assert labels[neg[2:4]].tolist() == [[0, 0], [0, 0]]  # 0 degrees beats 45


def test_single_cluster_and_short_clusters_pad_and_warn():
    X = np.random.default_rng(0).normal(size=(5, 3))
    with pytest.warns(GraphNegWarning, match="5 of 5 items got fewer than 2"):
        assert (cluster_hard_negatives(X, np.zeros(5, int), 2) == -1).all()
    with pytest.warns(GraphNegWarning, match="of 5 items got fewer than 3"):
        neg = cluster_hard_negatives(X, [0, 0, 0, 1, 1], 3)
    assert (neg[:3, 2] == -1).all() and (neg[:3, :2] >= 3).all()


def test_string_labels_and_top_level_export():
    X = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 1.0]])
    neg = gn.cluster_hard_negatives(X, ["a", "a", "b", "b"], 1, seed=0)
    assert neg[:2].min() >= 2 and neg[2:].max() <= 1
    assert "cluster_hard_negatives" in gn.__all__ and "cluster_hard_negatives" in gn.negatives.__all__


def test_with_cluster_mask_the_clusterns_option():
    # the two halves of ClusterNS on one labelling: hard negatives outside, masks inside
    labels = np.repeat(np.arange(4), 5)
    X = np.random.default_rng(3).normal(size=(20, 8)) + 4 * np.repeat(np.eye(8)[:4], 5, axis=0)
    neg = cluster_hard_negatives(X, labels, 2, seed=0)
    batch = np.array([0, 1, 5, 10])
    mask = cluster_mask(labels[batch], np.r_[labels[batch], labels[neg[batch, 0]]])
    assert mask[0, 1] and not mask[0, 2]  # 0 and 1 share a cluster: masked
    assert not mask[np.arange(4), 4 + np.arange(4)].any()  # never in the query's own cluster


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"labels": np.zeros(3, int)}, ValueError, "`labels` must have length 4"),
        ({"num_negatives": 0}, ValueError, "`num_negatives` must be >= 1"),
        ({"targets": np.ones((3, 2))}, ValueError, "`targets` must have the shape"),
        ({"targets": np.zeros((4, 2))}, ValueError, "targets"),
        ({"embeddings": np.zeros((4, 2))}, ValueError, "embeddings"),
        ({"seed": -1}, TypeError, "`seed`"),
    ],
)
def test_errors(kwargs, exc, match):
    args = {"embeddings": np.eye(4, 2) + 0.5, "labels": [0, 0, 1, 1], "num_negatives": 1, **kwargs}
    with pytest.raises(exc, match=match):
        cluster_hard_negatives(args.pop("embeddings"), args.pop("labels"), **args)


def test_many_clusters():
    # 20,000 items in 2,000 clusters: the centroid search is blocked, nothing is N x C dense
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, 16)).astype(np.float32)
    labels = rng.integers(0, 2_000, 20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)  # a few clusters have < 4 members
        neg = cluster_hard_negatives(X, labels, 4, seed=0)
    assert neg.shape == (20_000, 4) and (labels[neg[neg[:, 0] >= 0][:, 0]] != labels[neg[:, 0] >= 0]).all()
    assert all(len(set(labels[row[row >= 0]].tolist())) <= 1 for row in itertools.islice(neg, 500))


def test_a_centroid_whose_members_cancel_scores_zero():
    # cluster 0's normalised members cancel: its centroid has cosine 0 with every item
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.1, 1.0], [0.0, -1.0], [0.1, -1.0]])
    neg = cluster_hard_negatives(X, [0, 0, 1, 1, 2, 2], 2, seed=0)
    assert sorted(neg[2].tolist()) == [0, 1]  # cos 0 beats cluster 2's -0.99
    assert sorted(neg[4].tolist()) == [0, 1]
