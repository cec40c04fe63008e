"""The IVF kernels' pieces that a sharded corpus uses: the sample's rows and the Lloyd steps
apart, a scan of the targets block by block, the probe ranks, the canonical order and the tie
count on scores computed elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from graphneg._search._canonical import canonical_order, rescore_top
from graphneg._search._ivf import IVFIndex, lloyd, nearest_lists, probe_ranks, train_centroids, training_rows
from graphneg._search._ivf_scan import ListOperands, Sweeps, inverted, scan_lists
from graphneg._search._recall import count_tied, tied_hits


def _data(n=1500, d=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_sample_gathered_from_shards_trains_the_same_centroids():
    T = _data()
    rows, rng = training_rows(T.shape[0], 12, seed=4, train_size=400)
    shards = [T[:700], T[700:]]
    gathered = np.concatenate(
        [s[rows[(rows >= o) & (rows < o + len(s))] - o] for s, o in zip(shards, (0, 700), strict=True)]
    )
    expected = train_centroids(T, 12, "cosine", seed=4, train_size=400)
    np.testing.assert_array_equal(lloyd(gathered, 12, "cosine", rng, 10), expected)


def test_scan_block_by_block_finds_what_one_scan_finds():
    X, T = _data(200, seed=1), _data()
    index = IVFIndex(X, T, 10, "ip", nlist=16)
    index.scan(4)
    labels = nearest_lists(T, index.C, 1, "ip")[:, 0]
    sweeps = Sweeps(np.ascontiguousarray(nearest_lists(X, index.C, 4, "ip")), index.nlist)
    v = np.full(index.cand_v.shape, -np.inf, np.float32)
    i = np.full(index.cand_i.shape, -1, np.int64)
    kth = np.full(X.shape[0], -np.inf, np.float32)
    for offset in range(0, T.shape[0], 400):
        members, bounds = inverted(labels[offset : offset + 400], index.nlist)
        ops = ListOperands(X, T[offset : offset + 400], members, "ip", index.scoring)
        scan_lists(ops, bounds, sweeps, False, v, i, kth, offset)
    np.testing.assert_array_equal(np.sort(i, axis=1), np.sort(index.cand_i, axis=1))
    rows = np.array([3, 0, 150])
    targets = index.top(rows)[1]
    np.testing.assert_array_equal(index.list_ranks(rows, targets), probe_ranks(X[rows], index.C, "ip", labels[targets]))


def test_canonical_order_and_count_tied_match_their_kernels():
    X, T = _data(30, seed=2), _data(300, seed=3)
    cand = np.random.default_rng(0).integers(-1, 300, size=(30, 20))
    vals = np.where(cand >= 0, np.einsum("rwd,rd->rw", T[np.maximum(cand, 0)], X), -np.inf).astype(np.float32)
    for got, expected in zip(canonical_order(vals, cand, 8), rescore_top(X, T, cand, 8), strict=True):
        np.testing.assert_array_equal(got, expected)
    window, found = np.array([4, 9, 1]), np.array([9, 5, 7, 200])
    scores = np.asarray(T, np.float64) @ np.asarray(X[0], np.float64)
    assert count_tied(scores[window], scores[found]) == tied_hits(X[0], T, window, found, "ip")


@pytest.mark.parametrize("route", ["certified", "plain"])
def test_scan_does_not_depend_on_the_floors_the_workers_read(monkeypatch, route):
    """A worker reads its queries' floors before earlier lists are merged (how much earlier
    depends on thread timing): with every floor at -inf the candidates must be the same."""
    from graphneg._search import _ivf_scan

    X = np.round(_data(900, d=16, seed=5) * 8) / 8  # coarse values: many tied scores
    X = X.astype(np.float32)

    def candidates():
        index = IVFIndex(X, X, 12, "ip", self_search=True, nlist=9, route=route)
        index.scan(3)
        index.scan(5)
        return np.sort(index.cand_i, axis=1), index.scoring

    ref, scoring = candidates()
    assert scoring == ("bf16" if route == "certified" else "fp32")
    block = _ivf_scan.list_block
    monkeypatch.setattr(_ivf_scan, "list_block", lambda *a: block(*a[:-1], np.full_like(a[-1], -np.inf)))
    np.testing.assert_array_equal(candidates()[0], ref)


@pytest.mark.parametrize("metric", ["ip", "euclidean"])
def test_probe_ranking_is_the_exact_tile_kernels(metric):
    """nearest_lists orders most rows by their GEMM scores and re-scores only near-ties: the
    result must be the exact kernel's canonical ranking bit for bit, ties and near-ties included."""
    from graphneg._search._blocks import tiled_blocks

    rng = np.random.default_rng(5)
    C = rng.normal(size=(300, 16)).astype(np.float32)
    C[1] = C[0]  # an exact tie between two lists
    C[3] = C[2] * (1 + 2e-7)  # a near-tie within the rounding
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    X = np.concatenate([rng.normal(size=(2500, 16)), C[:40] * 3]).astype(np.float32)
    c_sq = (C * C).sum(1) if metric == "euclidean" else None
    for nprobe in (1, 7, 299, 300):
        ref = np.concatenate([idx for _, _, _, idx in tiled_blocks(X, C, nprobe, False, c_sq)])
        np.testing.assert_array_equal(nearest_lists(X, C, nprobe, metric), ref)
