"""How one epoch's global batches are shared among DDP ranks (used by the batch samplers).

``shard='batches'``: rank ``r`` takes global batches ``r, r + R, ...``; the number of batches
is first made a multiple of ``R`` (dropping the extra ones with ``drop_last``, else halving or
merging batches so that no item is lost or repeated). ``shard='slice'``: every global batch is
cut into ``R`` contiguous slices, one per rank; batches too small to slice are merged first.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["plan_for_ranks", "process_group_defaults", "rank_share", "unavoidable_drop"]


def process_group_defaults(num_replicas: Any, rank: Any) -> tuple[Any, Any]:
    """``(num_replicas, rank)`` with each ``None`` read from the default process group.

    The world size and rank of ``torch.distributed``'s initialised default group, as
    ``torch.utils.data.DistributedSampler`` reads them; ``(1, 0)`` when no group is
    initialised. torch is not imported for this: a process that has not imported
    ``torch.distributed`` has no process group. Given values are returned unchecked.

    Examples
    --------
    >>> process_group_defaults(None, None)  # no process group here
    (1, 0)
    >>> process_group_defaults(4, 2)
    (4, 2)
    """
    if num_replicas is not None and rank is not None:
        return num_replicas, rank
    dist = sys.modules.get("torch.distributed")
    active = dist is not None and dist.is_available() and dist.is_initialized()
    if num_replicas is None:
        num_replicas = dist.get_world_size() if active else 1
    if rank is None:
        rank = dist.get_rank() if active else 0
    return num_replicas, rank


def plan_for_ranks(
    batches: list[np.ndarray], num_replicas: int, shard: str, drop_last: bool, strata: np.ndarray | None
) -> list[np.ndarray]:
    """The global batches that the ranks will share, before each rank takes its part.

    With ``shard='batches'`` their number is a multiple of ``num_replicas``; with
    ``shard='slice'`` (and no ``drop_last``) every batch has at least ``num_replicas`` items.
    """
    R = num_replicas
    if R == 1:
        return batches
    if shard == "slice":
        return batches if drop_last else _fold_small(batches, R, strata)
    if drop_last:
        return batches[: len(batches) // R * R]
    return _balance_count(batches, R, strata) if len(batches) % R else batches


def rank_share(plan: list[np.ndarray], num_replicas: int, rank: int, shard: str) -> list[np.ndarray]:
    """Rank ``rank``'s batches of a plan made by :func:`plan_for_ranks`."""
    if num_replicas == 1:
        return plan
    if shard == "slice":
        return [np.array_split(b, num_replicas)[rank] for b in plan]
    return plan[rank::num_replicas]


def unavoidable_drop(num_items: int, batch_size: int, num_replicas: int, shard: str) -> int:
    """Items that any ``drop_last`` plan must drop: a step takes ``batch_size`` items per rank
    (``shard='batches'``) or ``batch_size`` items in all (``shard='slice'``)."""
    step = batch_size * (num_replicas if shard == "batches" else 1)
    return num_items % step


def _stratum(batch: np.ndarray, strata: np.ndarray | None) -> int:
    return -1 if strata is None else int(strata[batch[0]])


def _fold_small(batches: list[np.ndarray], R: int, strata: np.ndarray | None) -> list[np.ndarray]:
    """Merge every batch of fewer than ``R`` items into a neighbour of its stratum.

    Slicing a batch over ``R`` ranks needs at least ``R`` items; merging (never dropping)
    keeps every item exactly once.
    """
    out = list(batches)
    i = 0
    while i < len(out):
        if out[i].size >= R:
            i += 1
            continue
        key = _stratum(out[i], strata)
        same = [j for j in range(len(out)) if j != i and _stratum(out[j], strata) == key]
        if not same:
            raise ValueError(
                f"stratum {key} has fewer items ({out[i].size}) than `num_replicas` ({R}); "
                "shard='slice' cannot give every rank a slice. Use shard='batches' or drop_last=True."
            )
        j = max((j for j in same if j < i), default=min(same))  # previous batch of the stratum
        out[j] = np.concatenate([out[j], out[i]])
        del out[i]
        i = 0 if j > i else i
    return out


def _balance_count(batches: list[np.ndarray], R: int, strata: np.ndarray | None) -> list[np.ndarray]:
    """Make the number of batches a multiple of ``R`` without repeating or dropping items.

    Halve the largest batches (up to the next multiple of ``R``); when there are too few
    items for that, merge the smallest batches of a stratum (down to the previous multiple).
    """
    out = list(batches)
    n_total = sum(b.size for b in out)
    target = -(-len(out) // R) * R
    if target <= n_total:
        while len(out) < target:
            j = int(np.argmax([b.size for b in out]))  # first largest: deterministic
            half = out[j].size // 2
            out[j : j + 1] = [out[j][:half], out[j][half:]]
        return out
    target = len(out) // R * R
    while len(out) > target:
        order = np.argsort([b.size for b in out], kind="stable")
        for i in order:
            key = _stratum(out[i], strata)
            partners = [j for j in order if j != i and _stratum(out[j], strata) == key]
            if partners:
                j = partners[0]
                out[min(i, j)] = np.concatenate([out[min(i, j)], out[max(i, j)]])
                del out[max(i, j)]
                break
        else:
            raise ValueError(
                f"cannot give {R} ranks an equal number of batches without mixing strata; "
                "lower `num_replicas` or pass drop_last=True."
            )
    return out

