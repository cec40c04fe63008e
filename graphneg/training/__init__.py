"""The torch-facing pieces: batch samplers, the masked InfoNCE loss, a masking collator, and the
sentence-transformers adapter (:mod:`graphneg.training.st`). Importing this package imports torch.
"""

from __future__ import annotations

from ._collate import FalseNegativeCollator
from ._losses import guide_mask, masked_info_nce
from ._samplers import CommunityBatchSampler, RandomBatchSampler, TopicBatchSampler

__all__ = [
    "CommunityBatchSampler",
    "TopicBatchSampler",
    "RandomBatchSampler",
    "masked_info_nce",
    "guide_mask",
    "FalseNegativeCollator",
]
