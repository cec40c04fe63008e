"""Worker of the multi-process sampler tests: every graphneg sampler, as a DDP loop uses it."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

N_ITEMS = 100
BATCH_SIZE = 12  # divisible by 2 and 3 ranks (shard='slice')
EPOCHS = (0, 1)
SAMPLERS = ("random", "community-b3", "community-b3-fixed", "community-bfd", "community-fill", "topic-2", "walk")


def build(name: str, drop_last: bool, shard: str) -> Any:
    """One sampler over ``N_ITEMS`` items; ``num_replicas``/``rank`` left to the process group."""
    import graphneg as gn

    rng = np.random.default_rng(0)
    exact = np.repeat(np.arange(N_ITEMS // 4), 4)[rng.permutation(N_ITEMS)]  # clusters of 4
    ragged = rng.integers(0, 9, N_ITEMS)  # communities of varying sizes
    common = dict(drop_last=drop_last, shard=shard, seed=3)
    if name == "random":
        return gn.RandomBatchSampler(N_ITEMS, BATCH_SIZE, **common)
    if name.startswith("community-"):
        packing = name.split("-")[1]
        labels = exact if packing == "b3" else ragged
        return gn.CommunityBatchSampler(
            labels, BATCH_SIZE, packing=packing, fixed_composition=name.endswith("fixed"), **common
        )
    if name == "topic-2":
        return gn.TopicBatchSampler(ragged, BATCH_SIZE, clusters_per_batch=2, **common)
    import scipy.sparse as sp

    rows = np.repeat(np.arange(N_ITEMS), 3)  # a ring with random chords (no kNN timing probe)
    cols = np.concatenate([(np.arange(N_ITEMS) + 1) % N_ITEMS, rng.integers(0, N_ITEMS, 2 * N_ITEMS)])
    cols = cols.reshape(3, N_ITEMS).T.ravel()
    graph = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(N_ITEMS, N_ITEMS))
    return gn.RandomWalkBatchSampler(graph, BATCH_SIZE, **common)


def run_epochs(sampler: Any, rank: int, world_size: int) -> dict[str, Any]:
    """Iterate a DataLoader over ``sampler`` for each epoch, one all-reduce per step as DDP does.

    A rank with fewer steps than another would leave that all-reduce waiting: a hang.
    """
    import torch
    import torch.distributed as dist
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(torch.arange(N_ITEMS)), batch_sampler=sampler)
    out: dict[str, Any] = {"num_replicas": sampler.num_replicas, "rank": sampler.rank, "epochs": []}
    for epoch in EPOCHS:
        sampler.set_epoch(epoch)
        steps, batches = len(loader), []
        for (batch,) in loader:
            grad = torch.ones(1)
            dist.all_reduce(grad)  # the gradient sync of one step
            assert int(grad.item()) == world_size
            batches.append(batch.tolist())
        plan = [b.tolist() for b in sampler.batches()]
        out["epochs"].append({"len": steps, "sampler_len": len(sampler), "batches": batches, "plan": plan})
    return out


def st_epochs(drop_last: bool, rank: int, world_size: int) -> dict[str, Any]:
    """``graphneg.training.st.batch_sampler`` as the sentence-transformers trainer serves it under DDP:
    the factory's sampler yields the whole plan and accelerate's ``BatchSamplerShard`` shards it."""
    import torch.distributed as dist
    from accelerate.data_loader import BatchSamplerShard

    from graphneg.training.st import batch_sampler

    labels = np.repeat(np.arange(N_ITEMS // 4), 4)[np.random.default_rng(0).permutation(N_ITEMS)]
    sampler = batch_sampler("community", labels=labels)(list(range(N_ITEMS)), BATCH_SIZE, drop_last, None, None, 3)
    shard = BatchSamplerShard(sampler, num_processes=world_size, process_index=rank, even_batches=True)
    out: dict[str, Any] = {"num_replicas": sampler.num_replicas, "epochs": []}
    for epoch in EPOCHS:
        sampler.set_epoch(epoch)
        batches = [list(b) for b in shard]
        counts: list[Any] = [None] * world_size
        dist.all_gather_object(counts, len(batches))
        assert len(set(counts)) == 1, f"ranks took {counts} steps"
        out["epochs"].append({"len": len(shard), "batches": batches, "plan": [b.tolist() for b in sampler.batches()]})
    return out


def check_samplers(rank: int, world_size: int) -> dict[tuple[str, bool, str], dict[str, Any]]:
    """Every sampler x drop_last x shard, run on this rank (and the sentence-transformers path)."""
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # drop_last counts: the parent checks what was dropped
        for name in SAMPLERS:
            for drop_last in (False, True):
                for shard in ("batches", "slice"):
                    results[name, drop_last, shard] = run_epochs(build(name, drop_last, shard), rank, world_size)
        for drop_last in (False, True):
            results["st", drop_last, "accelerate"] = st_epochs(drop_last, rank, world_size)
    return results

