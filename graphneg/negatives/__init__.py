"""Negatives and false-negative masks, for both pipelines (numpy; no torch import).

- mined hard negatives from embeddings: :func:`mine_hard_negatives` (sentence-transformers
  semantics, NV-Retriever margins, SimANS), its settings one :class:`NegativeSelection`; mined once and filtered later:
  :func:`retrieve_candidates` then :func:`select_negatives` (same results, no re-encoding);
- negatives from communities: :func:`cluster_negatives` (B3++), :func:`cluster_hard_negatives`
  (ClusterNS: members of the nearest other cluster), :func:`balanced_margin_pairs` (TAS-Balanced);
- negatives from link structure, one function per strategy: :func:`uniform_link_negatives`,
  :func:`khop_link_negatives`, :func:`degree_link_negatives`, :func:`ppr_link_negatives`,
  :func:`specter_link_negatives`, :func:`bica_link_negatives`, :func:`scincl_link_negatives`;
- :func:`false_negative_mask`: which in-batch or mined candidates must not count as negatives
  (ids, known positives, mining ranks, a guide model), and the single-rule masks it combines
  with: :func:`score_threshold_mask` (Qwen3-Embedding margin, NV-Retriever TopK-PercPos on
  in-batch negatives), :func:`known_positive_mask` (sparse, many positives per query),
  :func:`khop_mask` (HaSa/SANS k-hop risk set of link data), :func:`cluster_mask` (ClusterNS).
  The torch loss and collator that apply it live in :mod:`graphneg.training`.
"""

from __future__ import annotations

from ._batch_negatives import balanced_margin_pairs, cluster_negatives, pair_margins
from ._candidates import (
    MiningCandidates,
    candidate_pair_graph,
    required_depth,
    retrieve_candidates,
    select_negatives,
)
from ._cluster_hard import cluster_hard_negatives
from ._fn_masks import cluster_mask, khop_mask, known_positive_mask, score_threshold_mask
from ._link_base import LinkNegatives
from ._link_by_embedding import bica_link_negatives, scincl_link_negatives
from ._link_negatives import (
    degree_link_negatives,
    khop_link_negatives,
    ppr_link_negatives,
    specter_link_negatives,
    uniform_link_negatives,
)
from ._masks import false_negative_mask
from ._mining import HardNegatives, mine_hard_negatives
from ._selection import NegativeSelection, SimANS, Softmax

__all__ = [
    "mine_hard_negatives",
    "NegativeSelection",
    "SimANS",
    "Softmax",
    "HardNegatives",
    # mine once, filter later (graphneg mine --refilter)
    "retrieve_candidates",
    "select_negatives",
    "MiningCandidates",
    "candidate_pair_graph",
    "required_depth",
    "cluster_negatives",
    "cluster_hard_negatives",
    "balanced_margin_pairs",
    "pair_margins",
    "uniform_link_negatives",
    "khop_link_negatives",
    "degree_link_negatives",
    "ppr_link_negatives",
    "specter_link_negatives",
    "bica_link_negatives",
    "scincl_link_negatives",
    "LinkNegatives",
    "false_negative_mask",
    "score_threshold_mask",
    "known_positive_mask",
    "khop_mask",
    "cluster_mask",
]
