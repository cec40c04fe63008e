"""The cache-tiled CPU top-k (graphneg._tiled) against brute force, and the kNN/mining paths on it."""

from __future__ import annotations

import numpy as np
import pytest

import graphneg.knn as K
from graphneg._tiled import tiled_topk


def _brute(S: np.ndarray, want: int, exclude: np.ndarray | None) -> np.ndarray:
    S = S.copy()
    if exclude is not None:
        ok = exclude >= 0
        S[np.flatnonzero(ok), exclude[ok]] = -np.inf
    return -np.sort(-S, axis=1)[:, :want]


@pytest.mark.parametrize("layout", ["random", "ascending", "descending", "ties"])
@pytest.mark.parametrize("tile", [37, 256, 1024])
def test_tiled_topk_equals_brute_force(layout, tile):
    rng = np.random.default_rng(hash((layout, tile)) % 2**32)
    for _ in range(8):
        rows, m = int(rng.integers(1, 40)), int(rng.integers(2, 4000))
        want = int(rng.integers(1, min(m - 1, 90) + 1))
        S = rng.normal(size=(rows, m)).astype(np.float32)
        if layout == "ascending":  # every later tile beats the threshold: heavy pools
            S.sort(axis=1)
        elif layout == "descending":
            S = -np.sort(-S, axis=1)
        elif layout == "ties":
            S = np.round(S, 1)
        exclude = rng.integers(-1, m, rows)
        vals, cols = tiled_topk(lambda a, b, S=S: S[:, a:b].copy(), rows, m, want, tile, exclude)
        assert np.array_equal(vals, _brute(S, want, exclude))
        picked = np.take_along_axis(S, cols, axis=1)
        assert np.array_equal(picked, vals)
        assert all(len(set(r)) == want for r in cols.tolist())
        assert not (cols == exclude[:, None]).any()
        # ties resolve by ascending column
        same = vals[:, 1:] == vals[:, :-1]
        assert (cols[:, 1:][same] > cols[:, :-1][same]).all()


@pytest.mark.parametrize("metric", ["cosine", "ip", "euclidean"])
@pytest.mark.parametrize("workers", [1, 2])
def test_tiled_knn_equals_reference_over_many_tiles(monkeypatch, metric, workers):
    # small tiles: several row blocks and column tiles, threads on and off
    monkeypatch.setattr(K, "_TILE_ROWS", 64)
    monkeypatch.setattr(K, "_TILE_COLS", 128)
    monkeypatch.setattr(K, "_blas_threads", lambda: workers)
    monkeypatch.setattr(K, "_fastest_cpu_gemm", lambda: "numpy")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(700, 16)).astype(np.float32) + (5 if metric == "euclidean" else 0)
    idx, sims = K.knn_search(X, k=7, skip=2, metric=metric)
    Xc = X - X.mean(0) if metric == "euclidean" else X
    if metric == "cosine":
        Xc = Xc / np.linalg.norm(Xc, axis=1, keepdims=True)
    if metric == "euclidean":
        D = ((Xc[:, None, :] - Xc[None, :, :]) ** 2).sum(-1)
        S = -D
    else:
        S = Xc @ Xc.T
    np.fill_diagonal(S, -np.inf)
    ref = np.argsort(-S, axis=1, kind="stable")[:, 2:9]
    assert (idx == ref).mean() > 0.999  # continuous data: rounding may swap a near-tie
    assert np.allclose(np.take_along_axis(S, idx, 1), np.take_along_axis(S, ref, 1), atol=1e-4)


def test_tiled_knn_is_deterministic_across_workers(monkeypatch):
    monkeypatch.setattr(K, "_TILE_ROWS", 32)
    monkeypatch.setattr(K, "_TILE_COLS", 256)
    monkeypatch.setattr(K, "_fastest_cpu_gemm", lambda: "numpy")
    X = np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32)
    out = []
    for w in (1, 2, 3):
        monkeypatch.setattr(K, "_blas_threads", lambda w=w: w)
        out.append(K.knn_search(X, k=5))
    for idx, sims in out[1:]:
        assert np.array_equal(idx, out[0][0]) and np.array_equal(sims, out[0][1])


def test_tiled_mining_equals_torch_path(monkeypatch):
    import graphneg as gn

    rng = np.random.default_rng(5)
    C = rng.normal(size=(3000, 24)).astype(np.float32)
    pos = rng.choice(3000, 300, replace=False)
    Q = C[pos] + 0.5 * rng.normal(size=(300, 24)).astype(np.float32)
    kw = dict(num_negatives=4, range_min=3, range_max=30, relative_margin=0.05)
    monkeypatch.setattr(K, "_fastest_cpu_gemm", lambda: "torch")
    ref = gn.mine_hard_negatives(Q, C, pos, **kw)
    monkeypatch.setattr(K, "_fastest_cpu_gemm", lambda: "numpy")
    monkeypatch.setattr(K, "_TILE_ROWS", 64)
    monkeypatch.setattr(K, "_TILE_COLS", 256)
    monkeypatch.setattr(K, "_blas_threads", lambda: 2)
    got = gn.mine_hard_negatives(Q, C, pos, **kw)
    assert (got.indices == ref.indices).all(axis=1).mean() > 0.99
    assert np.allclose(got.positive_scores, ref.positive_scores, atol=1e-5)
