from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import batch_stats


def brute_force(batches, E, labels, G):
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    A = G.toarray() != 0
    A = A | A.T
    cos, same, edge, pairs = 0.0, 0, 0, 0
    for b in batches:
        for i, j in itertools.permutations(b, 2):
            cos += E[i] @ E[j]
            same += labels[i] == labels[j]
            edge += A[i, j]
            pairs += 1
    return cos / pairs, same / pairs, edge / pairs


def test_batch_stats_matches_pairwise_reference():
    rng = np.random.default_rng(0)
    n = 60
    E = rng.normal(size=(n, 5))
    labels = rng.integers(0, 4, size=n)
    G = sp.csr_array((rng.random((n, n)) < 0.05).astype(np.float32))
    batches = np.array_split(rng.permutation(n)[:50], 7)
    stats = batch_stats(batches, embeddings=E, labels=labels, graph=G)
    cos, same, edge = brute_force(batches, E, labels, G)
    assert stats["mean_cosine"] == pytest.approx(cos, abs=1e-5)
    assert stats["same_label_share"] == pytest.approx(same)
    assert stats["edge_share"] == pytest.approx(edge)
    assert stats["coverage"] == pytest.approx(50 / 60)
    assert stats["n_batches"] == 7
    sizes = [len(b) for b in batches]
    assert stats["batch_size_min"] == min(sizes) and stats["batch_size_max"] == max(sizes)
    assert stats["duplicates"] == 0


def test_mean_cosine_is_the_same_when_gathered_in_chunks(monkeypatch):
    # the batch rows are gathered a chunk at a time (memory); chunks that split batches give
    # the same per-batch sums (added in the same order) and the pairwise reference
    import graphneg.similarity._diagnostics as diagnostics

    rng = np.random.default_rng(1)
    E = rng.normal(size=(80, 6)).astype(np.float32)
    batches = np.array_split(rng.permutation(80)[:70], 9)
    whole = batch_stats(batches, embeddings=E)["mean_cosine"]
    monkeypatch.setattr(diagnostics, "_PAIR_ROWS", 4)
    chunked = batch_stats(batches, embeddings=E)["mean_cosine"]
    assert chunked == pytest.approx(whole, rel=1e-12)
    assert chunked == pytest.approx(brute_force(batches, E, np.zeros(80), sp.csr_array((80, 80)))[0], abs=1e-5)


def test_batch_stats_counts_duplicates_and_needs_batches():
    stats = batch_stats([[0, 1], [1, 2]], num_items=4)
    assert stats["duplicates"] == 1 and stats["coverage"] == 0.75
    with pytest.raises(ValueError, match="at least one batch"):
        batch_stats([])
    with pytest.raises(ValueError, match="only 3 items"):
        batch_stats([[0, 5]], labels=[0, 1, 2])
    with pytest.raises(ValueError, match="`labels` must have length 4"):
        batch_stats([[0, 1]], labels=[0, 1, 2], num_items=4)


# -- one id rule for index arrays (issue 23) ------------------------------------------------------
def test_float_ids_are_refused_with_their_position_never_truncated():
    with pytest.raises(TypeError, match=r"`batches\[0\]` must hold integer ids, got 0\.7 at position \[0\]"):
        batch_stats([[0.7, 1.9]], labels=[0, 1])
    with pytest.raises(TypeError, match=r"`batches\[1\]` .* got nan at position \[1\]"):
        batch_stats([[0, 1], [2, float("nan")]])
    with pytest.raises(ValueError, match=r"`batches\[1\]` must hold ids >= 0, got -1 at position \[0\]"):
        batch_stats([[0, 1], [-1, 2]])
    # integral floats (JSON's 1.0, float tensors) name the same items as ints
    assert batch_stats([[0.0, 1.0], [2.0, 3.0]], labels=[0, 0, 1, 2]) == batch_stats(
        [[0, 1], [2, 3]], labels=[0, 0, 1, 2]
    )
