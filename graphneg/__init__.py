"""graphneg: which examples meet which when an embedding model is trained contrastively.

Data flows one way::

    embeddings ─knn_graph─► csr_array graph ─communities─► labels
        ─cluster_batches / packed_batches / topic_batches─► batches (lists of index arrays)
        ─CommunityBatchSampler / TopicBatchSampler / RandomBatchSampler─► DataLoader

Importing graphneg does not import torch; the samplers load it on first use.
"""

from __future__ import annotations

from typing import Any

from . import _compat
from ._version import __version__
from .exceptions import BackendUnavailableError, GraphNegWarning, InfeasibleSamplingError
from .io import (
    CitationData,
    GraphCorpus,
    RetrievalCorpus,
    citation_training_data,
    load_demo,
    load_graph_corpus,
    load_retrieval_corpus,
    qrels_to_positives,
    read_citations,
    read_edge_list,
    read_flagembedding,
    read_ogb,
    read_openalex,
    read_planetoid,
    read_s2ag_citations,
    read_s2orc,
    read_sentence_transformers_jsonl,
    read_tevatron,
    save_graph_corpus,
    save_retrieval_corpus,
    to_sentence_transformers,
    write_flagembedding,
    write_sentence_transformers_jsonl,
    write_tevatron,
)
from .links import EdgeCounts, LinkGraph, LinkSplit, graph_embedding, link_split
from .negatives import (
    HardNegatives,
    LinkNegatives,
    balanced_margin_pairs,
    cluster_negatives,
    false_negative_mask,
    link_negatives,
    mine_hard_negatives,
    pair_margins,
)
from .similarity import (
    Reminer,
    batch_stats,
    cluster_batches,
    communities,
    exact_size,
    knn_graph,
    knn_recall,
    knn_search,
    mix_random_items,
    ngame_cluster_size,
    packed_batches,
    random_batches,
    relabel,
    symmetrize,
    to_igraph,
    topic_batches,
)

_compat.install()

# torch-facing names load torch on first use (PEP 562), so `import graphneg` stays light
_LAZY = {
    "CommunityBatchSampler": "training",
    "TopicBatchSampler": "training",
    "RandomBatchSampler": "training",
    "masked_info_nce": "training",
    "guide_mask": "training",
    "FalseNegativeCollator": "training",
}
_SUBPACKAGES = ("similarity", "links", "negatives", "training", "io", "cli")

__all__ = [
    "__version__",
    "knn_graph",
    "knn_search",
    "knn_recall",
    "symmetrize",
    "communities",
    "exact_size",
    "relabel",
    "to_igraph",
    "random_batches",
    "cluster_batches",
    "packed_batches",
    "topic_batches",
    "mix_random_items",
    "batch_stats",
    "mine_hard_negatives",
    "false_negative_mask",
    "cluster_negatives",
    "balanced_margin_pairs",
    "pair_margins",
    "Reminer",
    "LinkGraph",
    "EdgeCounts",
    "link_negatives",
    "graph_embedding",
    "link_split",
    "LinkSplit",
    "LinkNegatives",
    "citation_training_data",
    "CitationData",
    "read_citations",
    "read_edge_list",
    "read_s2orc",
    "read_s2ag_citations",
    "read_openalex",
    "read_planetoid",
    "read_ogb",
    "to_sentence_transformers",
    "write_sentence_transformers_jsonl",
    "read_sentence_transformers_jsonl",
    "write_flagembedding",
    "read_flagembedding",
    "write_tevatron",
    "read_tevatron",
    "ngame_cluster_size",
    "HardNegatives",
    "load_demo",
    "GraphCorpus",
    "RetrievalCorpus",
    "load_graph_corpus",
    "load_retrieval_corpus",
    "save_graph_corpus",
    "save_retrieval_corpus",
    "qrels_to_positives",
    "BackendUnavailableError",
    "GraphNegWarning",
    "InfeasibleSamplingError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:  # PEP 562: torch loads only when a sampler is used
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'graphneg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*__all__, *_SUBPACKAGES, *globals()})
