"""The torch-facing pieces: batch samplers, the masked InfoNCE loss, a masking collator, and the
sentence-transformers adapter (:mod:`graphneg.training.st`).

Torch is imported on first use of one of them (PEP 562), so that the command line, which only
plans batches (:mod:`graphneg.training._plans`), starts without it.
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
