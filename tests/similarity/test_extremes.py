"""Extreme magnitudes never give silently wrong neighbours (#11.5), and bad labels are rejected (#11.3)."""

from __future__ import annotations

import numpy as np
import pytest

from graphneg._validation import check_labels, row_norms, safe_normalize
from graphneg.similarity import batch_stats, knn_graph, knn_search, packed_batches


def _data(n=120, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype(np.float32)


@pytest.mark.parametrize("row_scale", [1e25, 1e-25, 1e35, 1e-35, "mixed"])
def test_cosine_is_scale_free_at_any_magnitude(row_scale):
    X = _data()
    idx, sims = knn_search(X, 5)
    scale = np.logspace(-30, 30, X.shape[0]) if row_scale == "mixed" else np.full(X.shape[0], row_scale)
    Xs = (X.astype(np.float64) * scale[:, None]).astype(np.float32)
    idx2, sims2 = knn_search(Xs, 5)
    assert np.array_equal(idx, idx2)
    assert np.allclose(sims, sims2, atol=1e-5)
    G = knn_graph(Xs, 5)
    assert (G.data > 0.1).sum() > 0.5 * G.nnz  # no weight collapsed to zero


def test_ip_rankings_survive_tiny_and_huge_rows():
    X = _data()
    T = _data(90, seed=1)
    ref, _ = knn_search(X, 5, targets=T, metric="ip")
    for sx, st in [(1e-20, 1e-20), (1e15, 1e-15), (1e-30, 1.0), (1e17, 1e17)]:
        idx, sims = knn_search(X * np.float32(sx), 5, targets=T * np.float32(st), metric="ip")
        assert np.array_equal(idx, ref), (sx, st)
        expected = np.einsum("nkd,nd->nk", (T.astype(np.float64) * st)[idx], X.astype(np.float64) * sx)
        assert np.allclose(sims, expected, rtol=1e-4, atol=0)


def test_ip_products_beyond_float32_raise():
    X = _data() * np.float32(1e20)
    with pytest.raises(ValueError, match=r"`X`.*float32 range"):
        knn_search(X, 3, metric="ip")


@pytest.mark.parametrize("scale", [1e-30, 1e30])
def test_euclidean_rankings_survive_extreme_scales(scale):
    X = _data()
    ref, ref_sims = knn_search(X, 5, metric="euclidean")
    idx, sims = knn_search(X * np.float32(scale), 5, metric="euclidean")
    assert np.array_equal(idx, ref)
    d = np.linalg.norm(X[idx].astype(np.float64) - X[:, None, :], axis=-1) * scale
    assert np.allclose(sims, 1 / (1 + d), rtol=1e-4)


def test_zero_rows_under_cosine_name_parameter_and_row():
    X = _data()
    X[17] = 0
    with pytest.raises(ValueError, match=r"`X`.*17"):
        knn_search(X, 3)
    with pytest.raises(ValueError, match=r"`targets`.*17"):
        knn_search(_data(5), 3, targets=X)
    with pytest.raises(ValueError, match=r"`embeddings`.*17"):
        batch_stats([np.arange(120)], embeddings=X)
    with pytest.raises(ValueError, match=r"`embeddings` row 2 is all zeros"):
        safe_normalize(np.array([[1.0, 0], [0, 1], [0, 0]]), "embeddings")


def test_finite_float64_beyond_float32_is_named():
    X = _data().astype(np.float64)
    X[3, 0] = 1e300
    with pytest.raises(ValueError, match=r"`X` has values beyond the float32 range.*\[3\]"):
        knn_search(X, 3)


def test_safe_normalize_and_row_norms_extremes():
    X = np.array([[3e30, 4e30], [3e-30, 4e-30], [1e-45, 0], [3.4e38, 3.4e38]], dtype=np.float32)
    U = safe_normalize(X)
    assert U.dtype == np.float32 and np.allclose(np.linalg.norm(U, axis=1), 1, atol=1e-6)
    assert np.allclose(U[:2], [[0.6, 0.8], [0.6, 0.8]], atol=1e-6)
    norms = row_norms(X)
    assert np.allclose(norms[:2] / [1e30, 1e-30], 5, rtol=1e-6) and np.isfinite(norms).all()


def test_batch_stats_cosine_at_extreme_scales():
    X = _data()
    batches = [np.arange(0, 60), np.arange(60, 120)]
    ref = batch_stats(batches, embeddings=X)["mean_cosine"]
    for scale in (1e25, 1e-25):
        got = batch_stats(batches, embeddings=X * np.float32(scale))["mean_cosine"]
        assert got == pytest.approx(ref, abs=1e-6)


# -- labels (#11.3) ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (np.array([1, "1", 2], dtype=object), TypeError, r"`labels`.*int at position 0 and str at position 1"),
        (np.array(["a", 1], dtype=object), TypeError, r"`labels`.*position 1"),
        (np.array([0, None, 1], dtype=object), ValueError, r"`labels`.*None.*position 1"),
        (np.array([0, float("nan")], dtype=object), ValueError, r"`labels`.*position 1"),
        (np.array([0.0, 1.0, np.nan]), ValueError, r"`labels`.*position 2"),
        (np.array([0.5, 1.0]), ValueError, r"`labels`.*position 0"),
        (np.array([3, -2]), ValueError, r"`labels`.*-2 at position 1"),
        (np.array([b"a", "a"], dtype=object), TypeError, r"`labels`.*bytes at position 0 and str at position 1"),
    ],
)
def test_bad_labels_are_rejected_with_position(labels, error, match):
    with pytest.raises(error, match=match):
        check_labels(labels)
    with pytest.raises(error, match=match):
        packed_batches(labels, 2)


def test_good_labels_factorise():
    assert check_labels(np.array(["b", "a", "b"], dtype=object)).tolist() == [1, 0, 1]
    assert check_labels(np.array([2, 0, 2], dtype=object)).tolist() == [2, 0, 2]
    assert check_labels(np.array([2**60 + 1, 0], dtype=object)).tolist() == [2**60 + 1, 0]
    assert check_labels(np.array([2.0, 1.0])).tolist() == [2, 1]
    assert check_labels(np.array([True, False])).tolist() == [1, 0]
    assert check_labels(np.array([(1, 2), (3,), (1, 2)] + [None], dtype=object)[:3]).tolist() == [0, 1, 0]
