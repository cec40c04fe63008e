"""The IVF scan's numba kernels against brute force: the block selection by the total order
(score descending, column ascending) at or above a floor, the merge that does not depend on
the order entries arrive in, and the order keys of bf16 and fp32 scores."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from graphneg._search._ivf_kernels import (  # noqa: E402
    KEY_LOW,
    floor_keys,
    key_values,
    merge_rows,
    select_above,
    sorted_top,
)


def _scores(dtype, rows=64, cols=300, seed=0):
    """A score block with many ties (values on a coarse grid) and its integer view."""
    rng = np.random.default_rng(seed)
    S = torch.from_numpy(np.round(rng.normal(size=(rows, cols)) * 8) / 8).to(dtype)
    bits = S.view(torch.int16 if dtype == torch.bfloat16 else torch.int32).numpy()
    return S.float().numpy(), bits


def _brute(row, floor, width):
    """Columns of the best ``width`` entries at or above ``floor``: score desc, column asc."""
    cols = np.flatnonzero(row >= floor)
    order = np.lexsort((cols, -row[cols]))
    return set(cols[order[:width]].tolist())


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("ncols", [300, 257, 64, 5])
def test_select_above_is_the_best_entries_at_or_above_the_floor(dtype, ncols):
    S, bits = _scores(dtype)
    rng = np.random.default_rng(1)
    floor = rng.normal(1.0, 1.0, size=S.shape[0]).astype(np.float32)
    floor[:4] = -np.inf
    floor[4:8] = 100.0  # nothing reaches it
    floor[8:12] = S[8:12, 0]  # a floor equal to a score: that score is kept
    width = 7
    keys = np.empty((S.shape[0], width), np.int32)
    cols = np.empty((S.shape[0], width), np.int64)
    count = np.empty(S.shape[0], np.int64)
    fk = floor_keys(floor, bits.dtype)
    select_above(bits, ncols, fk, KEY_LOW[bits.dtype], keys, cols, count)
    kept = key_values(fk, bits.dtype)  # bf16: the floor rounded down to a bf16, fp32: itself
    assert (kept <= floor).all() and (dtype == torch.bfloat16 or (kept == floor).all())
    for r in range(S.shape[0]):
        got = cols[r, : count[r]]
        assert set(got.tolist()) == _brute(S[r, :ncols], kept[r], width), r
        np.testing.assert_array_equal(key_values(keys[r, : count[r]], bits.dtype), S[r, got])


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
def test_a_lower_floor_changes_nothing_the_merge_keeps(dtype):
    """Workers read a query's floor before the merge raises it: the merged result must not depend on it."""
    S, bits = _scores(dtype, rows=1, cols=400, seed=3)
    width, results = 6, []
    for floor in (-np.inf, 0.0, float(np.sort(S[0])[-width])):
        keys = np.empty((1, width), np.int32)
        cols = np.empty((1, width), np.int64)
        count = np.empty(1, np.int64)
        fl = np.array([floor], np.float32)
        select_above(bits, 400, floor_keys(fl, bits.dtype), KEY_LOW[bits.dtype], keys, cols, count)
        best_v, best_i = np.full((1, width), -np.inf, np.float32), np.full((1, width), -1, np.int64)
        kth = np.full(1, -np.inf, np.float32)
        merge_rows(np.zeros(1, np.int64), count, key_values(keys, bits.dtype), cols, np.arange(400),
                   best_v, best_i, kth)
        results.append(sorted(best_i[0].tolist()))
    assert results[0] == results[1] == results[2] == sorted(_brute(S[0], -np.inf, width))


def test_merge_does_not_depend_on_arrival_order():
    rng = np.random.default_rng(0)
    vals = (np.round(rng.normal(size=(1, 60)) * 4) / 4).astype(np.float32)  # many ties
    ids = rng.permutation(1000)[:60]
    outs = []
    for perm in (np.arange(60), rng.permutation(60), rng.permutation(60)):
        best_v, best_i = np.full((1, 9), -np.inf, np.float32), np.full((1, 9), -1, np.int64)
        kth = np.full(1, -np.inf, np.float32)
        for part in np.array_split(perm, 5):  # arriving in blocks, as lists do
            merge_rows(np.zeros(1, np.int64), np.array([part.size]), vals[:, part], np.arange(part.size)[None],
                       ids[part], best_v, best_i, kth)
        outs.append(sorted(best_i[0].tolist()))
        assert kth[0] == best_v.min()
    order = np.lexsort((ids, -vals[0]))[:9]
    assert outs[0] == outs[1] == outs[2] == sorted(ids[order].tolist())


@pytest.mark.parametrize("dtype", [np.dtype(np.int16), np.dtype(np.int32)])
def test_order_keys_follow_the_scores(dtype):
    f = np.array([-np.inf, -3.5, -1e-30, -0.0, 0.0, 1e-30, 0.25, 7.0], np.float32)
    if dtype == np.int16:
        bits = torch.from_numpy(f).to(torch.bfloat16).view(torch.int16).numpy()
        f = torch.from_numpy(f).to(torch.bfloat16).float().numpy()
    else:
        bits = f.view(np.int32)
    keys = np.where(bits >= 0, bits.astype(np.int32), KEY_LOW[dtype] - bits.astype(np.int32))
    assert (np.diff(keys) >= 0).all() and ((np.diff(keys) > 0) == (np.diff(f) > 0)).all()
    np.testing.assert_array_equal(key_values(keys, dtype), f)
    # score >= floor  <=>  key >= floor key, for floors between representable scores too
    floors = np.array([-3.4, -1e-31, 0.1, 0.25, 6.99], np.float32)
    fk = floor_keys(floors, dtype)
    for fl, k in zip(floors, fk, strict=True):
        assert ((keys >= k) >= (f >= fl)).all()  # nothing at or above the floor is lost
        assert ((keys >= k) & (f < fl)).sum() <= (1 if dtype == np.int16 else 0)  # bf16: rounded down


@pytest.mark.parametrize("cols", [1000, 1003, 250, 40, 3])
@pytest.mark.parametrize("width", [1, 5, 25])
def test_sorted_top_is_the_total_order_of_each_row(cols, width):
    """Best first by (score desc, column asc), ties on a coarse grid, short rows padded; the
    strided-group threshold path (long rows) and the heap path (short rows) alike."""
    rng = np.random.default_rng(cols + width)
    S = (np.round(rng.normal(size=(50, cols)) * 4) / 4).astype(np.float32)
    S[0] = 0.5  # one value throughout: the first columns win
    S[1, ::7] = 9.0  # a strided run of the best value: groups holding several winners
    v = np.empty((50, width), np.float32)
    i = np.empty((50, width), np.int64)
    sorted_top(S, v, i)
    w = min(width, cols)
    order = np.lexsort((np.broadcast_to(np.arange(cols), S.shape), -S), axis=1)[:, :w]
    np.testing.assert_array_equal(i[:, :w], order)
    np.testing.assert_array_equal(v[:, :w], np.take_along_axis(S, order, axis=1))
    assert (i[:, w:] == -1).all() and (v[:, w:] == -np.inf).all()
