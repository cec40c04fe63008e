"""The similarity-graph pipeline: embeddings → kNN graph → communities → batches.

::

    embeddings ─knn_graph─► CSR graph ─communities─► labels ─cluster/packed/topic_batches─► batches
                                  ▲                                                       │
                                  └────────── Reminer (refresh from the current model) ◄──┘

The batches are served to a training loop by the samplers of :mod:`graphneg.training`.
"""

from __future__ import annotations

from ._batches import cluster_batches, mix_random_items, packed_batches, random_batches, topic_batches
from ._communities import communities, exact_size, relabel, to_igraph
from ._diagnostics import batch_stats
from ._knn import knn_graph, knn_recall, knn_search, symmetrize
from ._remine import Reminer, ngame_cluster_size

__all__ = [
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
    "Reminer",
    "ngame_cluster_size",
]
