"""The link-graph pipeline: citation data → directed graph → splits → training files.

::

    edge list / S2ORC / OpenAlex / OGB ─graphneg.io.read_citations─► LinkGraph
        ─link_split─► train / val / test edges with filtered negatives
        ─graph_embedding─► structural embeddings (SciNCL-style neighbours)
        ─graphneg.*_link_negatives─► negatives ─graphneg.citation_training_data─► trainer JSONL
"""

from __future__ import annotations

from ._edges import EdgeCounts
from ._embedding import graph_embedding
from ._graph import LinkGraph
from ._splits import LinkSplit, link_split

__all__ = ["LinkGraph", "EdgeCounts", "graph_embedding", "link_split", "LinkSplit"]
