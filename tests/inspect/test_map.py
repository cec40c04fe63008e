"""The 2-D map: PCA unless UMAP is asked for, a seeded sample, the highlighted batch kept."""

from __future__ import annotations

import numpy as np

from graphneg.inspection._map import map_2d


def test_auto_is_pca_even_with_umap_installed():
    X = np.random.default_rng(0).normal(size=(300, 8))
    m = map_2d(X, method="auto", max_points=100)
    assert m["method"] == "pca" and m["num_points"] == 100 and len(m["explained_variance"]) == 2


def test_sample_is_seeded_and_keeps_the_highlighted_batch():
    X = np.random.default_rng(1).normal(size=(500, 6))
    a = map_2d(X, highlight=[3, 499], max_points=50, seed=7)
    b = map_2d(X, highlight=[3, 499], max_points=50, seed=7)
    assert a == b and sum(a["highlight"]) == 2 and a["num_points"] == 50

