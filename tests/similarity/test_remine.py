from __future__ import annotations

import numpy as np
import pytest

import graphneg as gn


def test_ngame_schedule_doubles_at_milestones():
    sizes = [gn.ngame_cluster_size(e) for e in range(0, 210)]
    assert sizes[0] == 1 and sizes[9] == 1 and sizes[10] == 2 and sizes[200] == 512
    assert all(b in (a, 2 * a) for a, b in zip(sizes, sizes[1:], strict=False))
    assert gn.ngame_cluster_size(300, max_cluster_size=64) == 64


def test_reminer_refreshes_sampler_on_schedule():
    demo = gn.load_demo(600)
    sampler = gn.CommunityBatchSampler(np.arange(600) % 10, 32, packing="fill")
    before = list(sampler)
    seen = []
    reminer = gn.Reminer(lambda: demo.embeddings, sampler, every=3, start=1, k=10, cluster_size=16,
                         on_refresh=lambda X, labels, epoch: seen.append((X.shape, labels.size, epoch)))
    did = [reminer.step(e) is not None for e in range(8)]
    assert did == [False, True, False, False, True, False, False, True]
    assert seen == [((600, 64), 600, 1), ((600, 64), 600, 4), ((600, 64), 600, 7)]
    sizes = np.bincount(sampler.labels)
    assert np.all(sizes[:-1] == 16)
    after = list(sampler)
    assert after != before and len(after) == len(sampler)
    # refreshed communities follow the embeddings: batches are now topic-rich
    stats = gn.batch_stats(sampler.batches(), labels=demo.labels)
    rand = gn.batch_stats(gn.RandomBatchSampler(600, 32).batches(), labels=demo.labels)
    assert stats["same_label_share"] > 2 * rand["same_label_share"]


def test_reminer_ngame_curriculum_starts_random():
    demo = gn.load_demo(300)
    sampler = gn.CommunityBatchSampler(np.zeros(300, dtype=int), 32)
    reminer = gn.Reminer(lambda: demo.embeddings, sampler, every=5, k=8, cluster_size=gn.ngame_cluster_size)
    reminer.step(0, force=True)
    assert np.array_equal(sampler.labels, np.arange(300))  # size 1: random batches
    reminer.step(25, force=True)
    assert np.all(np.bincount(sampler.labels)[:-1] == 8)
    assert [h["cluster_size"] for h in reminer.history] == [1, 8]


def test_refresh_validates():
    sampler = gn.CommunityBatchSampler(np.zeros(50, dtype=int), 10)
    with pytest.raises(ValueError, match="`labels` must have length 50"):
        sampler.refresh(np.zeros(40, dtype=int))
    with pytest.raises((TypeError, AttributeError)):  # random batches have no labels to refresh
        gn.RandomBatchSampler(50, 10).refresh(np.zeros(50, dtype=int))
    with pytest.raises(TypeError, match=r"`sampler` must have a refresh\(labels\) method"):
        gn.Reminer(lambda: None, object())
    topic = gn.TopicBatchSampler(np.zeros(50, dtype=int), 10)
    topic.refresh(np.arange(50) % 5)
    assert np.array_equal(topic.labels, np.arange(50) % 5)
