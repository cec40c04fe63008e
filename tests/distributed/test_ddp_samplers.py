"""Every graphneg sampler under real multi-process DDP (gloo on CPU, 2 and 3 processes).

One spawn per world size runs every sampler x ``drop_last`` x ``shard`` for two epochs, each
step followed by an all-reduce as in DDP, so unequal step counts hang, and the hang fails the
test by timeout. Checked here, from what each rank returned: the ranks read the world size
and their rank from the process group; ``len`` is equal on every rank and equal to the
batches yielded; the ranks' batches are disjoint and together are the epoch's plan; every
rank computed the same plan after ``set_epoch``; the next epoch has a new plan.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("torch")

from ddp_harness import run_group  # noqa: E402
from ddp_samplers import N_ITEMS, SAMPLERS  # noqa: E402

from graphneg.training._sharding import plan_for_ranks, rank_share  # noqa: E402

CASES = list(itertools.product(SAMPLERS, (False, True), ("batches", "slice")))


@pytest.fixture(scope="module", params=[2, 3], ids=lambda r: f"{r}ranks")
def ranks(request):
    """``(world_size, per-rank results)`` of one process group running every case."""
    return request.param, run_group("ddp_samplers.check_samplers", request.param)


def shared_plan(epoch: dict, world_size: int, drop_last: bool, shard: str) -> list[np.ndarray]:
    """The plan the ranks share (balanced for ``world_size``), from the global plan they returned."""
    return plan_for_ranks([np.array(b) for b in epoch["plan"]], world_size, shard, drop_last, None)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{'drop' if c[1] else 'keep'}-{c[2]}")
def test_sampler_under_ddp(ranks, case):
    world_size, results = ranks
    name, drop_last, shard = case
    per_rank = [r[case] for r in results]
    assert [r["num_replicas"] for r in per_rank] == [world_size] * world_size  # from the process group
    assert [r["rank"] for r in per_rank] == list(range(world_size))
    plans = []
    for e in range(2):
        epochs = [r["epochs"][e] for r in per_rank]
        lens = {ep["len"] for ep in epochs} | {ep["sampler_len"] for ep in epochs}
        assert len(lens) == 1 and lens == {len(epochs[0]["batches"])}, "len differs between ranks or from yields"
        assert all(len(ep["batches"]) == len(epochs[0]["batches"]) for ep in epochs)
        assert all(ep["plan"] == epochs[0]["plan"] for ep in epochs), "ranks planned different epochs"
        items = [i for ep in epochs for b in ep["batches"] for i in b]
        assert len(items) == len(set(items)), "an item reached two ranks or two batches"
        plan = shared_plan(epochs[0], world_size, drop_last, shard)
        for rank, ep in enumerate(epochs):  # the ranks' shards are the shared plan's parts
            assert ep["batches"] == [b.tolist() for b in rank_share(plan, world_size, rank, shard)]
        assert sorted(items) == sorted(i for b in plan for i in b.tolist())
        if not drop_last:
            assert sorted(items) == list(range(N_ITEMS))  # every item once
        plans.append(epochs[0]["plan"])
    assert plans[0] != plans[1], "the next epoch repeats the plan"


@pytest.mark.parametrize("drop_last", [False, True], ids=["keep", "drop"])
def test_st_batch_sampler_under_accelerate_sharding(ranks, drop_last):
    """The factory's sampler ignores the process group (accelerate shards it): equal lengths,
    each rank's part of one plan, every row served (accelerate's ``even_batches`` may repeat a
    few rows to even out the last step, as it does for any sampler)."""
    pytest.importorskip("accelerate")
    world_size, results = ranks
    per_rank = [r["st", drop_last, "accelerate"] for r in results]
    assert {r["num_replicas"] for r in per_rank} == {1}
    for e in range(2):
        epochs = [r["epochs"][e] for r in per_rank]
        assert len({ep["len"] for ep in epochs} | {len(ep["batches"]) for ep in epochs}) == 1
        assert all(ep["plan"] == epochs[0]["plan"] for ep in epochs)
        plan = epochs[0]["plan"]
        steps = len(epochs[0]["batches"])
        for rank, ep in enumerate(epochs):  # step s serves global batch s * R + r (the last may be evened out)
            full = [s for s in range(steps) if s * world_size + rank < len(plan)]
            wanted = [plan[s * world_size + rank] for s in full]
            served = [ep["batches"][s][: len(b)] for s, b in zip(full, wanted, strict=True)]
            assert served == wanted  # a short last batch is topped up by accelerate
        items = {i for ep in epochs for b in ep["batches"] for i in b}
        assert items == {i for b in plan[: steps * world_size] for i in b}  # drop_last: whole steps only
        if not drop_last:
            assert items == set(range(N_ITEMS))
    assert per_rank[0]["epochs"][0]["plan"] != per_rank[0]["epochs"][1]["plan"]
