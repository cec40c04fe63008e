"""The similarity-graph pipeline: embeddings → kNN graph → communities → batches.

::

    embeddings ─knn_graph─► CSR graph ─communities─► labels ─cluster/packed/topic_batches─► batches
                                  ▲                                                       │
                                  └────────── Reminer (refresh from the current model) ◄──┘

``walk_batches`` (random walks with restart, after BatchSampler) is a second way from the graph to
batches; ``conflict_free_batches`` moves training pairs between batches so that no batch holds
another pair's known positive. The batches are served to a training loop by the samplers of :mod:`graphneg.training`.
"""

from __future__ import annotations

from .._search._reports import SearchReport, record_searches
from ._backends import HNSW, IVF, NNDescent
from ._batches import cluster_batches, mix_random_items, packed_batches, random_batches, topic_batches
from ._communities import communities, connected_components
from ._conflicts import ConflictReport, batch_conflicts, conflict_free_batches
from ._diagnostics import batch_stats
from ._igraph_convert import to_igraph
from ._knn import knn_graph, knn_recall, knn_search, symmetrize
from ._leiden import leiden_communities
from ._louvain import louvain_communities, plm_communities
from ._metis import metis_partition
from ._partition import exact_size, relabel
from ._remine import Reminer, ngame_cluster_size
from ._walk_batches import walk_batches

__all__ = [
    "knn_graph",
    "knn_search",
    "knn_recall",
    "IVF",
    "HNSW",
    "NNDescent",
    "SearchReport",
    "record_searches",
    "symmetrize",
    "communities",
    "leiden_communities",
    "louvain_communities",
    "plm_communities",
    "metis_partition",
    "connected_components",
    "exact_size",
    "relabel",
    "to_igraph",
    "random_batches",
    "cluster_batches",
    "packed_batches",
    "topic_batches",
    "mix_random_items",
    "walk_batches",
    "conflict_free_batches",
    "batch_conflicts",
    "ConflictReport",
    "batch_stats",
    "Reminer",
    "ngame_cluster_size",
]
