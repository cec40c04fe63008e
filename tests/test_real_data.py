"""End-to-end checks on real public data (skipped when ../shared/data is absent)."""

from __future__ import annotations

import numpy as np
import pytest

import graphneg as gn


@pytest.mark.slow
def test_b3_batches_on_cora_are_label_rich(cora, capsys):
    X = cora.features.toarray().astype(np.float32)  # binary bag of words
    y = cora.labels
    G = gn.knn_graph(X, 10)  # cosine kNN
    random = gn.batch_stats(gn.RandomBatchSampler(len(y), 64, seed=0).batches(), embeddings=X, labels=y)
    rows = {"random": random}
    for K in (32, 64):  # B3's default K=32 (2 clusters a batch) and K=|B| (1 cluster a batch)
        labels = gn.communities(G, cluster_size=K, weighted=False, seed=0)
        sampler = gn.CommunityBatchSampler(labels, 64, seed=0)
        assert sampler.packing == "b3"
        rows[f"B3 K={K}"] = gn.batch_stats(sampler.batches(), embeddings=X, labels=y, graph=G)
    with capsys.disabled():
        from graphneg.cli import format_table

        print("\nCora, batches of 64 (cosine kNN k=10 on BoW, Leiden + exact-size repair):")
        print(format_table({k: rows[k] for k in ("B3 K=64", "random")}))
        print(format_table({k: rows[k] for k in ("B3 K=32", "random")}))
    # K=|B|: one cluster a batch; K=32 pairs two random clusters, so about half the in-batch
    # pairs are cross-cluster (random) pairs and the ratio sits near 2 (1.98-2.17 by seed)
    for K, factor in ((64, 2.0), (32, 1.8)):
        b3 = rows[f"B3 K={K}"]
        assert b3["coverage"] == 1.0 and b3["duplicates"] == 0
        assert b3["same_label_share"] >= factor * random["same_label_share"]
        assert b3["mean_cosine"] >= 1.3 * random["mean_cosine"]


def test_knn_precision_on_cora_matches_reference(cora):
    # the shared README's figure: same-class precision@10 of cosine kNN on Cora BoW = 0.548
    G = gn.knn_graph(cora.features.toarray(), 10).tocoo()
    precision = float(np.mean(cora.labels[G.row] == cora.labels[G.col]))
    assert precision == pytest.approx(0.548, abs=0.005)
