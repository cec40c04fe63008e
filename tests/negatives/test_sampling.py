"""The one rejection sampler behind link_negatives and link_split (graphneg._sampling)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from graphneg import GraphNegWarning
from graphneg._sampling import RowBlocks, sample_distinct, warn_short
from graphneg._sparse import canonical_csr


def pattern(dense) -> sp.csr_array:
    return canonical_csr(sp.csr_array(np.asarray(dense, dtype=bool)))


def test_rows_are_distinct_allowed_and_complete_when_feasible():
    rng = np.random.default_rng(0)
    B = pattern(rng.random((200, 50)) < 0.3)
    d = sample_distinct(B, 10, np.random.default_rng(1))
    dense = B.toarray()
    for r, row in enumerate(d.indices):
        assert len(set(row.tolist())) == 10 and not dense[r, row].any()
    assert np.array_equal(d.n_candidates, 50 - dense.sum(axis=1))
    assert not d.shortage.any()


def test_shortage_gets_every_candidate_then_minus_one():
    B = pattern([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    d = sample_distinct(B, 3, np.random.default_rng(0))
    assert sorted(d.indices[0][:2].tolist()) == [3, 4] and d.indices[0, 2] == -1
    assert d.indices[1].tolist() == [-1, -1, -1]
    assert d.shortage.tolist() == [1, 3, 0]
    with pytest.warns(GraphNegWarning, match=r"2 of 3 sources got fewer than 3 negatives .*first short row: 0"):
        assert warn_short(d.indices, 3, "sources", "negatives") == 2


def test_uniform_law_including_the_exact_fallback():
    # row 0: 40 allowed of 50 (rejection); row 1: 3 allowed, 2 wanted (exact enumeration)
    dense = np.zeros((2, 50), dtype=bool)
    dense[0, :10] = True
    dense[1, 3:] = True
    B = pattern(dense)
    d = sample_distinct(B, 2, np.random.default_rng(0), rows=np.repeat([0, 1], 3000))
    first = np.bincount(d.indices[:3000].ravel(), minlength=50)
    assert first[:10].sum() == 0 and stats.chisquare(first[10:]).pvalue > 0.001
    second = np.bincount(d.indices[3000:].ravel(), minlength=50)
    assert second[3:].sum() == 0 and stats.chisquare(second[:3]).pvalue > 0.001


def test_weighted_first_draw_follows_the_weights():
    w = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 5.0])
    B = pattern(np.eye(7, dtype=bool)[[6]])  # column 6 banned
    d = sample_distinct(B, 1, np.random.default_rng(3), rows=np.zeros(5000, dtype=np.int64), weights=w)
    counts = np.bincount(d.indices[:, 0], minlength=7)
    assert counts[[0, 5, 6]].sum() == 0  # zero weight or banned: never drawn
    p = w[1:5] / w[1:5].sum()
    assert stats.chisquare(counts[1:5], p * 5000).pvalue > 0.001
    assert sample_distinct(B, 5, np.random.default_rng(0), weights=w).shortage.tolist() == [1]


def test_pools_restrict_the_candidates():
    order = np.array([4, 2, 0, 1, 3])
    size = np.array([2, 5, 3, 1, 4])  # row i: order[:size[i]]
    B = pattern(np.eye(5, dtype=bool))  # never the row itself
    d = sample_distinct(B, 5, np.random.default_rng(0), pool_order=order, pool_size=size)
    for i in range(5):
        found = set(d.indices[i][d.indices[i] >= 0].tolist())
        assert found == set(order[: size[i]].tolist()) - {i}


def test_seeded_and_bad_arguments():
    B = pattern(np.zeros((4, 30), dtype=bool))
    a = sample_distinct(B, 3, np.random.default_rng(5)).indices
    assert np.array_equal(a, sample_distinct(B, 3, np.random.default_rng(5)).indices)
    with pytest.raises(TypeError, match="canonical CSR"):
        sample_distinct(sp.csr_array(([1, 1], [3, 1], [0, 2, 2, 2, 2]), shape=(4, 30)), 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="`weights` must be 30 finite non-negative"):
        sample_distinct(B, 1, np.random.default_rng(0), weights=-np.ones(30))
    with pytest.raises(ValueError, match="cannot be combined"):
        sample_distinct(B, 1, np.random.default_rng(0), weights=np.ones(30), pool_order=np.arange(30),
                        pool_size=np.full(4, 30))


@pytest.mark.parametrize("trial", range(24))
def test_row_blocks_draw_what_each_block_alone_draws(trial):
    """One call with a generator per block of output rows == one call per block (resumable
    chunks drawn together): uniform, weighted and pooled, short rows, shared pattern rows."""
    rng = np.random.default_rng(trial)
    n, m = int(rng.integers(5, 60)), int(rng.integers(1, 50))
    B = canonical_csr(sp.csr_array((rng.random((m, n)) < rng.random() * 0.9).astype(float)))
    k = int(rng.integers(0, 8))
    rows = np.repeat(np.arange(m), rng.integers(1, 4, m)) if trial % 2 else None
    n_out = m if rows is None else rows.size
    cuts = np.sort(np.r_[0, 0, rng.integers(0, n_out + 1, int(rng.integers(0, 6))), n_out])  # empty blocks too
    kw: dict = {}
    if trial % 3 == 1:
        kw["weights"] = rng.random(n) * (rng.random(n) > 0.2)
    elif trial % 3 == 2:
        kw = {"pool_order": rng.permutation(n), "pool_size": rng.integers(0, n + 1, m)}
    seeds = [[9, trial, b] for b in range(cuts.size - 1)]
    blocks = RowBlocks([np.random.default_rng(s) for s in seeds], cuts)
    together = sample_distinct(B, k, blocks, rows=rows, **kw).indices
    for b, seed in enumerate(seeds):
        lo, hi = cuts[b], cuts[b + 1]
        alone = sample_distinct(B, k, np.random.default_rng(seed),
                                rows=np.arange(m)[lo:hi] if rows is None else rows[lo:hi], **kw).indices
        assert np.array_equal(alone, together[lo:hi])
