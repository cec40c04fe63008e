"""Tests for RandomWalkBatchSampler: the sampler contract of graphneg.training."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from graphneg.similarity._walk_batches import walk_batches  # noqa: E402
from graphneg.training._walk_sampler import RandomWalkBatchSampler  # noqa: E402


def knn_like(n: int, seed: int) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), 3)
    cols = (rows + rng.integers(1, 4, rows.size)) % n
    return sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(4, 40),
    st.integers(1, 8),
    st.integers(1, 4),
    st.sampled_from(["batches", "slice"]),
    st.booleans(),
    st.integers(0, 100),
)
def test_contract_on_every_rank(n, batch_size, R, shard, drop_last, seed):
    if shard == "slice":
        batch_size = max(R, batch_size // R * R)
    graph = knn_like(n, seed)
    try:
        samplers = [
            RandomWalkBatchSampler(
                graph, batch_size, drop_last=drop_last, seed=seed, num_replicas=R, rank=r, shard=shard
            )
            for r in range(R)
        ]
    except ValueError:
        assert drop_last or R > n  # only an epoch with nothing left may be refused
        return
    for epoch in range(2):
        seen = []
        lengths = []
        for s in samplers:
            s.set_epoch(epoch)
            got = list(s)
            assert len(got) == len(s)  # exact __len__
            lengths.append(len(got))
            seen.extend(i for b in got for i in b)
        assert len(set(lengths)) == 1  # every rank the same number of batches
        assert len(seen) == len(set(seen))  # disjoint, each item at most once
        if not drop_last:
            assert sorted(seen) == list(range(n))


def test_global_batches_are_walk_batches_and_epochs_differ():
    graph = knn_like(30, 1)
    s = RandomWalkBatchSampler(graph, 4, restart=0.2, seed=5)
    expected = walk_batches(graph, 4, restart=0.2, seed=5, epoch=0)
    assert list(s) == [b.tolist() for b in expected]
    s.set_epoch(1)
    later = walk_batches(graph, 4, restart=0.2, seed=5, epoch=1)
    assert [b.tolist() for b in s.batches()] == [b.tolist() for b in later]
    assert list(s) != [b.tolist() for b in expected]


def test_shard_slice_cuts_each_global_batch():
    graph = knn_like(24, 2)
    ranks = [RandomWalkBatchSampler(graph, 6, num_replicas=3, rank=r, shard="slice") for r in range(3)]
    glob = ranks[0].batches()
    for k, parts in enumerate(zip(*ranks, strict=True)):
        assert sum(parts, []) == glob[k].tolist()


def test_restart_setter_and_refresh_replan():
    graph = knn_like(20, 3)
    s = RandomWalkBatchSampler(graph, 5, restart=0.0)
    s.restart = 0.9
    assert s.restart == 0.9
    assert list(s) == [b.tolist() for b in walk_batches(graph, 5, restart=0.9)]
    with pytest.raises(ValueError, match="restart"):
        s.restart = 2.0
    new = knn_like(20, 4)
    s.refresh(new)
    assert list(s) == [b.tolist() for b in walk_batches(new, 5, restart=0.9)]
    before = list(s)
    with pytest.raises(ValueError, match="one row per item"):
        s.refresh(knn_like(21, 4))
    assert list(s) == before  # a failed refresh changes nothing


def test_works_as_a_dataloader_batch_sampler():
    data = torch.arange(12) * 10
    loader = torch.utils.data.DataLoader(data, batch_sampler=RandomWalkBatchSampler(knn_like(12, 0), 5))
    got = torch.cat(list(loader))
    assert sorted(got.tolist()) == list(range(0, 120, 10))
    assert [len(b) for b in loader] == [5, 5, 2]


def test_rejects_bad_arguments():
    graph = knn_like(6, 0)
    with pytest.raises(ValueError, match="rank"):
        RandomWalkBatchSampler(graph, 2, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="divisible"):
        RandomWalkBatchSampler(graph, 3, num_replicas=2, shard="slice")
    with pytest.raises(ValueError, match="no batch"):
        RandomWalkBatchSampler(graph, 7, drop_last=True)
    with pytest.raises(ValueError, match="patience"):
        RandomWalkBatchSampler(graph, 2, patience=0)
    with pytest.raises(TypeError, match="graph"):
        RandomWalkBatchSampler("graph", 2)
