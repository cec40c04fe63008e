"""The old ``graphneg.masks`` module: numpy masks and the torch pieces, under one name."""

from __future__ import annotations

from ..negatives._masks import false_negative_mask
from ._collate import FalseNegativeCollator
from ._losses import guide_mask, masked_info_nce

__all__ = ["false_negative_mask", "guide_mask", "masked_info_nce", "FalseNegativeCollator"]
