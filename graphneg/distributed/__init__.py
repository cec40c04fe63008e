"""graphneg past one machine: the kNN graph and hard-negative mining of embeddings sharded
over a ``torch.distributed`` process group (launch with ``torchrun``; gloo on CPU, NCCL
processes may use a gloo group for these CPU collectives; :func:`knn_graph` and
:func:`mine_hard_negatives` also take an NCCL group, whose collectives then move CUDA
tensors). Their ``device=`` scores each rank's rows on its GPU, with the CPU results bit for
bit.

Each rank holds a row shard of the embeddings (:func:`load_shard` memory-maps its slice of
a ``.npy`` file); target shards circulate in blocks, and each rank keeps the exact top-``k``
of its own rows with the single-process kernels, so the assembled results equal the
single-process ones (ties aside). :func:`communities` is a two-level path: a k-means
partition across ranks, Leiden inside each part. Without an initialised process group every
function runs as a world of one. See the README section "Past one machine".
"""

from __future__ import annotations

from ._communities import coarse_parts, communities
from ._group import load_shard, shard_rows, world
from ._knn import assemble_graph, knn_graph
from ._mining import assemble_negatives, mine_hard_negatives

__all__ = [
    "world", "shard_rows", "load_shard", "knn_graph", "assemble_graph", "mine_hard_negatives", "assemble_negatives",
    "coarse_parts", "communities",
]
