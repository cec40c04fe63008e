"""The cache-tiled CPU top-k (graphneg._search._tiled) against brute force, and the kNN/mining paths on it."""

from __future__ import annotations

import numpy as np
import pytest

import graphneg as gn
import graphneg._search._blocks as S_
from graphneg._search._canonical import bf16_error_bound
from graphneg._search._cpu_route import ROUTE_ENV
from graphneg._search._tiled import tiled_topk


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


def _route(monkeypatch, route: str) -> None:
    """Force the exact CPU route through $GRAPHNEG_CPU_ROUTE: 'tiled' (fp32 GEMM tiles),
    'certified' (bf16 tiles + fp32 re-scoring) or 'torch' (full-width torch blocks)."""
    monkeypatch.setenv(ROUTE_ENV, "fp32" if route == "tiled" else route)


@pytest.mark.parametrize("metric", ["cosine", "ip", "euclidean"])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("route", ["tiled", "certified"])
def test_tiled_knn_equals_reference_over_many_tiles(monkeypatch, metric, workers, route):
    # small tiles: several row blocks and column tiles, threads on and off
    monkeypatch.setattr(S_, "TILE_ROWS", 64)
    monkeypatch.setattr(S_, "TILE_COLS", 128)
    monkeypatch.setattr(S_, "blas_threads", lambda: workers)
    _route(monkeypatch, route)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(700, 16)).astype(np.float32) + (5 if metric == "euclidean" else 0)
    idx, sims = gn.knn_search(X, k=7, skip=2, metric=metric)
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


@pytest.mark.parametrize("route", ["tiled", "certified"])
def test_tiled_knn_is_deterministic_across_workers(monkeypatch, route):
    monkeypatch.setattr(S_, "TILE_ROWS", 32)
    monkeypatch.setattr(S_, "TILE_COLS", 256)
    _route(monkeypatch, route)
    X = np.random.default_rng(0).normal(size=(500, 8)).astype(np.float32)
    out = []
    for w in (1, 2, 3):
        monkeypatch.setattr(S_, "blas_threads", lambda w=w: w)
        out.append(gn.knn_search(X, k=5))
    for idx, sims in out[1:]:
        assert np.array_equal(idx, out[0][0]) and np.array_equal(sims, out[0][1])


@pytest.mark.parametrize("route", ["tiled", "certified"])
def test_tiled_mining_equals_torch_path(monkeypatch, route):

    rng = np.random.default_rng(5)
    C = rng.normal(size=(3000, 24)).astype(np.float32)
    pos = rng.choice(3000, 300, replace=False)
    Q = C[pos] + 0.5 * rng.normal(size=(300, 24)).astype(np.float32)
    sel = gn.NegativeSelection(num_negatives=4, range_min=3, range_max=30, relative_margin=0.05)
    _route(monkeypatch, "torch")
    ref = gn.mine_hard_negatives(Q, C, pos, sel)
    _route(monkeypatch, route)
    monkeypatch.setattr(S_, "TILE_ROWS", 64)
    monkeypatch.setattr(S_, "TILE_COLS", 256)
    monkeypatch.setattr(S_, "blas_threads", lambda: 2)
    got = gn.mine_hard_negatives(Q, C, pos, sel)
    assert (got.indices == ref.indices).all(axis=1).mean() > 0.99
    assert np.allclose(got.positive_scores, ref.positive_scores, atol=1e-5)


@pytest.mark.parametrize("metric", ["cosine", "ip"])
def test_certified_bf16_is_exact_on_near_ties(monkeypatch, metric):
    # targets differ by far less than bf16 can resolve: the bf16 pass alone would rank them
    # arbitrarily; the certified window must re-score all of them and return the fp32 order
    _route(monkeypatch, "certified")
    monkeypatch.setattr(S_, "TILE_ROWS", 16)
    monkeypatch.setattr(S_, "TILE_COLS", 512)
    rng = np.random.default_rng(11)
    base = rng.normal(size=(20, 32)).astype(np.float32)
    T = (np.repeat(base, 100, axis=0) + 1e-4 * rng.normal(size=(2000, 32))).astype(np.float32)
    T *= rng.uniform(0.5, 2.0, size=(2000, 1)).astype(np.float32) if metric == "ip" else 1
    Q = (base[rng.integers(0, 20, 50)] + 1e-3 * rng.normal(size=(50, 32))).astype(np.float32)
    idx, sims = gn.knn_search(Q, 25, targets=T, metric=metric)
    Tn = T / np.linalg.norm(T, axis=1, keepdims=True) if metric == "cosine" else T
    Qn = Q / np.linalg.norm(Q, axis=1, keepdims=True) if metric == "cosine" else Q
    S = (Qn.astype(np.float64) @ Tn.astype(np.float64).T)
    ref_vals = -np.sort(-S, axis=1)[:, :25]
    got_vals = np.take_along_axis(S, idx, axis=1)
    # the chosen set is the exact top 25 up to fp32 rounding of the scores themselves
    assert np.allclose(got_vals, ref_vals, rtol=0, atol=2e-6 * np.abs(S).max())
    assert np.allclose(sims, got_vals, atol=2e-6 * np.abs(S).max())
    assert bf16_error_bound(32) < 0.012


def test_bf16_error_bound_holds_against_torch():
    import torch

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 384)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    exact = X.astype(np.float64) @ X.astype(np.float64).T
    Xl = torch.from_numpy(X).bfloat16()
    low = (Xl @ Xl.T).float().numpy()
    err = np.abs(low - exact).max()
    assert err <= bf16_error_bound(384)
    assert err > 1e-4  # bf16 is really in play: the bound is not vacuous here


def test_interrupted_tiled_search_cancels_queued_blocks(monkeypatch):
    # closing the block generator early must not run the remaining blocks
    import graphneg._search._tiled as TL

    monkeypatch.setattr(S_, "blas_threads", lambda: 2)
    calls = []
    real = TL.tiled_topk

    def counting(*a, **kw):
        calls.append(1)
        return real(*a, **kw)

    monkeypatch.setattr(TL, "tiled_topk", counting)
    X = np.random.default_rng(0).normal(size=(64 * 40, 8)).astype(np.float32)
    gen = S_.tiled_blocks(X, X, 3, True, None, tiles=S_.Tiles(rows=64, cols=256))
    next(gen)
    gen.close()
    assert len(calls) < 40


@pytest.mark.parametrize("tile", [64, 1024])  # several tiles, and one tile (the IVF list path)
@pytest.mark.parametrize("with_slack", [False, True])
def test_unordered_selection_keeps_the_same_entries(tile, with_slack):
    rng = np.random.default_rng(5)
    S = rng.normal(size=(40, 700)).astype(np.float32)
    slack = np.full(40, 0.05, dtype=np.float32) if with_slack and tile < 700 else None
    args = (lambda a, b: S[:, a:b].copy(), 40, 700, 9, tile, None, slack)
    v1, c1 = tiled_topk(*args)
    v2, c2 = tiled_topk(*args, ordered=False)
    for r in range(40):
        assert set(c2[r][c2[r] >= 0]) == set(c1[r][c1[r] >= 0])
        np.testing.assert_array_equal(np.sort(v2[r]), np.sort(v1[r]))
