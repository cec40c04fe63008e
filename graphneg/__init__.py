"""graphneg: which examples meet which when an embedding model is trained contrastively.

Data flows one way::

    embeddings ─knn_graph─► csr_array graph ─communities─► labels
        ─cluster_batches / packed_batches / topic_batches─► batches (lists of index arrays)
        ─CommunityBatchSampler / TopicBatchSampler / RandomBatchSampler─► DataLoader

Importing graphneg does not import torch; the samplers load it on first use.
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .batch_negatives import balanced_margin_pairs, cluster_negatives, pair_margins
from .batches import cluster_batches, mix_random_items, packed_batches, random_batches, topic_batches
from .communities import communities, exact_size, relabel, to_igraph
from .corpus import (
    GraphCorpus,
    RetrievalCorpus,
    load_graph_corpus,
    load_retrieval_corpus,
    qrels_to_positives,
    save_graph_corpus,
    save_retrieval_corpus,
)
from .demo import load_demo
from .diagnostics import batch_stats
from .exceptions import BackendUnavailableError, GraphNegWarning, InfeasibleSamplingError
from .formats import (
    read_flagembedding,
    read_sentence_transformers_jsonl,
    read_tevatron,
    to_sentence_transformers,
    write_flagembedding,
    write_sentence_transformers_jsonl,
    write_tevatron,
)
from .graph_embedding import graph_embedding
from .knn import knn_graph, knn_recall, knn_search, symmetrize
from .link_negatives import LinkNegatives, link_negatives
from .links import EdgeCounts, LinkGraph
from .mining import HardNegatives, mine_hard_negatives
from .preprocess import citation_training_data
from .readers import (
    CitationData,
    read_citations,
    read_edge_list,
    read_ogb,
    read_openalex,
    read_planetoid,
    read_s2ag_citations,
    read_s2orc,
)
from .remine import Reminer, ngame_cluster_size
from .splits import LinkSplit, link_split

_LAZY = {
    "CommunityBatchSampler": "samplers",
    "TopicBatchSampler": "samplers",
    "RandomBatchSampler": "samplers",
    "false_negative_mask": "masks",
    "masked_info_nce": "masks",
    "guide_mask": "masks",
    "FalseNegativeCollator": "masks",
}

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
    return sorted(__all__)
