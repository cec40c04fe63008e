from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from graphneg.negatives import balanced_margin_pairs, cluster_negatives, pair_margins


def reference_scores(X, groups, skip, window, penalty):
    """Dense restatement of B3++'s per-group vote (B3 code, compute_cluster_preferences)."""
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Xn @ Xn.T
    np.fill_diagonal(S, -np.inf)
    R = np.argsort(-S, axis=1, kind="stable")
    scores = {}
    for g in np.unique(groups):
        sc = np.zeros(len(X))
        for i in np.flatnonzero(groups == g):
            sc[R[i, skip : skip + window]] += 1
            sc[R[i, :skip]] -= penalty
        sc[groups == g] = 0
        scores[g] = sc
    return scores


@pytest.mark.parametrize("penalty", [0.0, 1.0])
def test_cluster_negatives_only_positive_score_candidates(penalty):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    groups = np.repeat(np.arange(8), 10)
    neg = cluster_negatives(X, groups, skip=3, window=12, num_negatives=4, penalty=penalty, seed=1)
    ref = reference_scores(X, groups, 3, 12, penalty)
    assert neg.shape == (80, 4)
    for i in range(80):
        row = neg[i][neg[i] >= 0]
        assert len(set(row)) == len(row)
        assert np.all(ref[groups[i]][row] > 0)
        assert np.all(groups[row] != groups[i])
    # within a group, negatives are drawn without replacement while candidates last
    for g in range(8):
        drawn = neg[groups == g].ravel()
        n_valid = int((ref[g] > 0).sum())
        assert len(set(drawn[drawn >= 0])) == min(n_valid, drawn.size)


def test_cluster_negatives_follow_vote_distribution():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 4))
    groups = np.zeros(30, dtype=np.int64)
    groups[:3] = 1  # group 1: three members voting
    ref = reference_scores(X, groups, 2, 8, 1.0)[1]
    valid = np.flatnonzero(ref > 0)
    counts = np.zeros(30)
    for seed in range(1500):
        neg = cluster_negatives(X, groups, skip=2, window=8, num_negatives=1, seed=seed)
        counts[neg[0, 0]] += 1  # member 0's draw = the group's first draw
    expected = ref[valid] / ref[valid].sum() * counts.sum()
    assert counts[ref <= 0].sum() == 0
    assert stats.chisquare(counts[valid], expected).pvalue > 0.001


def test_cluster_negatives_deterministic_and_validated():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 5))
    g = np.repeat(np.arange(4), 10)
    assert np.array_equal(cluster_negatives(X, g, skip=2, window=8, seed=3),
                          cluster_negatives(X, g, skip=2, window=8, seed=3))
    with pytest.raises(ValueError, match=r"`groups` must have length 40"):
        cluster_negatives(X, g[:5])
    with pytest.raises(ValueError, match=r"`k` \+ `skip` must be <="):
        cluster_negatives(X, g, skip=30, window=30)
    with pytest.raises(ValueError, match=r"`targets` must have one row per item"):
        cluster_negatives(X, g, targets=X[:3], skip=2, window=3)


def test_balanced_margin_pairs_uniform_over_bins():
    # 3 non-empty bins holding 1, 10 and 100 pairs: each bin drawn with p = 1/3
    margins = [np.r_[0.0, np.full(10, 5.0), np.linspace(9.0, 10.0, 100)]]
    picks = balanced_margin_pairs(margins, num_bins=10, num_samples=6000, seed=0)[0]
    bins = np.where(picks == 0, 0, np.where(picks <= 10, 1, 2))
    counts = np.bincount(bins, minlength=3)
    assert stats.chisquare(counts).pvalue > 0.001
    # within the big bin, pairs are uniform
    inner = picks[picks > 10]
    assert stats.chisquare(np.bincount(inner - 11, minlength=100)).pvalue > 0.001


def test_balanced_margin_pairs_edge_cases():
    out = balanced_margin_pairs([[1.0], [], [2.0, 2.0, 2.0]], num_samples=3, seed=1)
    assert out[0].tolist() == [-1, -1, -1] and out[1].tolist() == [-1, -1, -1]
    assert set(out[2].tolist()) <= {0, 1, 2}
    assert balanced_margin_pairs([[1.0]], min_pairs=1)[0, 0] == 0
    a = balanced_margin_pairs([np.arange(20.0)] * 5, seed=1, epoch=0)
    assert np.array_equal(a, balanced_margin_pairs([np.arange(20.0)] * 5, seed=1, epoch=0))
    assert not np.array_equal(a, balanced_margin_pairs([np.arange(20.0)] * 5, seed=1, epoch=1))
    with pytest.raises(ValueError, match="NaN or inf"):
        balanced_margin_pairs([[1.0, np.nan]])
    with pytest.raises(ValueError, match="one entry per query"):
        pair_margins([[1.0]], [])


def test_balanced_margin_pairs_counts_are_num_names():
    margins = [np.arange(20.0)] * 3
    new = balanced_margin_pairs(margins, num_bins=4, num_samples=2, seed=1)
    assert np.array_equal(balanced_margin_pairs(margins, num_bins=4, num_samples=2, seed=1), new)
    for old in ("n_bins", "n_samples"):
        with pytest.raises(TypeError, match=old):
            balanced_margin_pairs(margins, **{old: 2})
