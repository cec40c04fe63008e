"""The torch-facing pieces: batch samplers, the masked InfoNCE loss, a masking collator, and the
sentence-transformers adapter (:mod:`graphneg.training.st`).

Torch is imported on first use of one of them (PEP 562), so that the command line, which only
plans batches (:mod:`graphneg.training._plans`), starts without it.

The options every batch sampler shares (``RandomBatchSampler``, ``CommunityBatchSampler``,
``TopicBatchSampler``, ``RandomWalkBatchSampler``; all but the last also take ``strata``):

drop_last : bool, default=False
    Drop batches shorter than ``batch_size``; under DDP (``shard='batches'``) also drop up
    to ``num_replicas - 1`` batches so that ranks get equal counts. Without it no item is
    lost or repeated: under DDP the largest batches are halved instead (or, when there are
    too few items for that, the smallest merged, within a stratum). A GraphNegWarning
    reports an epoch that drops more than 5 % of the items beyond what full batches must
    leave out; an epoch with no batch left is a ValueError.
seed : int, default=0
    Base seed; an epoch's batches are a function of ``(seed, epoch)``.
num_replicas : int, default=None
    DDP world size; ``None`` reads it from the initialised default process group of
    ``torch.distributed`` (1 when there is none).
rank : int, default=None
    This process's rank in ``[0, num_replicas)``; ``None`` reads it like ``num_replicas``
    (0 when there is no process group).
shard : {'batches', 'slice'}, default='batches'
    ``'batches'``: rank ``r`` takes global batches ``r, r + R, ...``, each whole.
    ``'slice'``: every global batch is cut into ``R`` contiguous slices, one per rank (for
    losses that all-gather the global batch, as B3 trains); a batch of fewer than
    ``num_replicas`` items is first merged into another batch (of its stratum).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "CommunityBatchSampler": "._samplers",
    "TopicBatchSampler": "._samplers",
    "RandomBatchSampler": "._samplers",
    "masked_info_nce": "._losses",
    "guide_mask": "._losses",
    "FalseNegativeCollator": "._collate",
    "RandomWalkBatchSampler": "._walk_sampler",
}

__all__ = [
    "CommunityBatchSampler",
    "TopicBatchSampler",
    "RandomBatchSampler",
    "masked_info_nce",
    "guide_mask",
    "FalseNegativeCollator",
    "RandomWalkBatchSampler",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
