"""drop_last never drops silently: auto packing fills batches, big drops warn, empty epochs raise."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

import graphneg as gn  # noqa: E402
from graphneg.exceptions import GraphNegWarning  # noqa: E402
from graphneg.training import CommunityBatchSampler, RandomBatchSampler, TopicBatchSampler  # noqa: E402


def items(sampler):
    return [i for b in sampler for i in b]


def test_repro_clusters_of_16_batch_30_auto_fills_batches():
    labels = np.repeat(np.arange(63), 16)  # 1008 items, K=16 does not divide 30
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphNegWarning)
        s = CommunityBatchSampler(labels, 30, drop_last=True)
    assert s.packing == "fill"
    assert len(s) == 1008 // 30 == len(list(s))
    assert all(len(b) == 30 for b in s)
    assert len(set(items(s))) == 1008 - 1008 % 30


def test_repro_clusters_of_16_batch_30_bfd_is_an_error():
    labels = np.repeat(np.arange(63), 16)
    with pytest.raises(ValueError, match=r"drop_last=True leaves no batch of 30 items in epoch 0 .*packing='fill'"):
        CommunityBatchSampler(labels, 30, drop_last=True, packing="bfd")


@pytest.fixture(scope="module")
def leiden_labels():
    demo = gn.load_demo(1003, seed=0)
    return gn.communities(gn.knn_graph(demo.embeddings, 10), seed=0)


def test_repro_leiden_batch_50(leiden_labels):
    with pytest.warns(GraphNegWarning, match=r"drops \d+ of 1003 items .*'bfd' packing leaves batches short"):
        bfd = CommunityBatchSampler(leiden_labels, 50, drop_last=True, packing="bfd")
    assert len(bfd) == len(list(bfd)) > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphNegWarning)
        auto = CommunityBatchSampler(leiden_labels, 50, drop_last=True)
    assert auto.packing == "fill"
    assert len(items(auto)) == 1000  # only the 1003 % 50 items that no full batch can hold


def test_auto_without_drop_last_keeps_bfd():
    labels = np.repeat(np.arange(63), 16)
    assert CommunityBatchSampler(labels, 30).packing == "bfd"
    assert CommunityBatchSampler(labels, 32, drop_last=True).packing == "b3"


def test_warns_once_per_labelling_and_again_after_refresh():
    # 20 communities of 16 fill batches of 16; 10 of 5 pack 3 a batch, short, dropped
    labels = np.repeat(np.arange(30), [16] * 20 + [5] * 10)
    with pytest.warns(GraphNegWarning, match=r"drops 50 of 370 items \(14%\)"):
        s = CommunityBatchSampler(labels, 16, drop_last=True, packing="bfd")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphNegWarning)
        for e in range(3):
            s.set_epoch(e)
            assert len(s) == len(list(s))
    with pytest.warns(GraphNegWarning, match="drops"):
        s.refresh(labels[::-1].copy())


def test_unavoidable_drop_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphNegWarning)
        s = RandomBatchSampler(10, 8, drop_last=True)  # 2 of 10 items can never fill a batch
        assert len(s) == 1
        t = RandomBatchSampler(100, 8, drop_last=True, num_replicas=4, rank=1)  # 100 % 32 = 4
        assert len(t) == 3


def test_strata_remainders_warn_with_counts():
    strata = np.repeat([0, 1, 2], 10)  # each stratum leaves 4 items out of a batch of 6
    with pytest.warns(GraphNegWarning, match=r"drops 12 of 30 items \(40%\)"):
        s = RandomBatchSampler(30, 6, strata=strata, drop_last=True)
    assert len(items(s)) == 18


@pytest.mark.parametrize(
    "make",
    [
        lambda: RandomBatchSampler(10, 20, drop_last=True),
        lambda: TopicBatchSampler(np.arange(10) % 2, 20, drop_last=True),
        lambda: CommunityBatchSampler(np.arange(10) % 2, 20, drop_last=True),
        lambda: RandomBatchSampler(10, 3, drop_last=True, num_replicas=4),  # 3 batches, 4 ranks
    ],
)
def test_empty_epoch_is_an_error(make):
    with pytest.raises(ValueError, match="drop_last=True leaves no batch"):
        make()


def test_ddp_empty_epoch_names_ranks():
    with pytest.raises(ValueError, match=r"no batch of 3 items over 4 ranks"):
        RandomBatchSampler(10, 3, drop_last=True, num_replicas=4, rank=2)


@pytest.mark.parametrize("shard", ["batches", "slice"])
def test_guarantees_hold_with_fill_choice(shard):
    labels = np.repeat(np.arange(40), 16)  # 640 items, bfd would give batches of 16
    R = 2
    samplers = [CommunityBatchSampler(labels, 30, drop_last=True, num_replicas=R, rank=r, shard=shard)
                for r in range(R)]
    for e in range(3):
        seen = []
        lens = set()
        for s in samplers:
            s.set_epoch(e)
            out = list(s)
            assert len(s) == len(out)
            lens.add(len(out))
            seen += [i for b in out for i in b]
        assert len(lens) == 1
        assert len(seen) == len(set(seen)) > 0


def test_topic_sampler_drop_warning():
    labels = np.repeat(np.arange(4), [7, 7, 7, 7])
    strata = np.repeat([0, 1, 2, 3], 7)  # one cluster per stratum: 7 items, batches of 4
    with pytest.warns(GraphNegWarning, match=r"TopicBatchSampler: drop_last=True drops 12 of 28"):
        s = TopicBatchSampler(labels, 4, strata=strata, drop_last=True)
    assert len(s) == 4


def test_num_items_is_the_one_spelling():
    s = RandomBatchSampler(7, 2)
    assert s.num_items == 7 and not hasattr(s, "n_items")
