"""The options of :func:`graphneg.inspect`, one value per section it builds: where the graph
comes from and how its communities are found (:class:`GraphOptions`), and how one epoch of
batches is packed from them (:class:`BatchOptions`). Both follow ``graphneg batches``, so that
``graphneg inspect`` shows the graph and batches that command would build."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._validation import check_int

# graph and community defaults of `graphneg batches`, so both commands build the same graph
# backend "auto": exact up to 200k items (the same graph), an approximate search with its recall
# checked above, so that a million-item input never takes an all-pairs search by default
GRAPH_DEFAULTS: dict[str, Any] = {"k": 10, "skip": 0, "metric": "cosine", "mutual": False, "backend": "auto"}
COMMUNITY_DEFAULTS: dict[str, Any] = {"method": "auto"}


@dataclass(frozen=True)
class GraphOptions:
    """Where :func:`graphneg.inspect` gets its graph and how it finds the communities.

    The graph is read from a graph file or a citation corpus, or built from embeddings with
    :func:`graphneg.knn_graph`; its communities are read from a graph file that stores them,
    or found with :func:`graphneg.communities`.

    Parameters
    ----------
    knn : mapping, default={}
        :func:`graphneg.knn_graph` keywords over ``graphneg batches``'s defaults
        (``k=10``, ``skip=0``, cosine, not mutual).
    communities : mapping, default={}
        ``method``, the algorithm's name (``'auto'``: :func:`graphneg.communities`, or
        ``'leiden'``, ``'louvain'``, ``'plm'``, ``'metis'``, ``'components'``), and its
        function's keywords (``seed`` of :func:`graphneg.inspect`).
    corpus : mapping, default={}
        Citation corpora only: :func:`graphneg.read_citations` keywords (``format``,
        ``delimiter``, ``header``); :func:`graphneg.inspect` refuses them for another kind of
        input.
    cache_dir : str or path-like, default=None
        Reuse graphs and communities built from the same embeddings and options (see
        :func:`graphneg.cached_graph`).

    See Also
    --------
    graphneg.inspect : takes them as ``graph_options``.
    BatchOptions : how the batches are packed from the communities.

    Examples
    --------
    >>> opts = GraphOptions(knn={"k": 7})
    >>> opts.knn_keywords()["k"], opts.community_keywords(seed=3)
    (7, {'method': 'auto', 'seed': 3})
    """

    knn: Mapping[str, Any] = field(default_factory=dict)
    communities: Mapping[str, Any] = field(default_factory=dict)
    corpus: Mapping[str, Any] = field(default_factory=dict)
    cache_dir: str | os.PathLike[str] | None = None

    def knn_keywords(self) -> dict[str, Any]:
        """:func:`graphneg.knn_graph` keywords: ``knn`` over ``graphneg batches``'s defaults."""
        return {**GRAPH_DEFAULTS, **self.knn}

    def community_keywords(self, seed: int) -> dict[str, Any]:
        """:func:`graphneg.communities` keywords: ``communities`` over the default and ``seed``."""
        return {**COMMUNITY_DEFAULTS, "seed": seed, **self.communities}


@dataclass(frozen=True)
class BatchOptions:
    """How :func:`graphneg.inspect` packs one epoch of batches from the communities.

    As ``CommunityBatchSampler`` (or ``TopicBatchSampler``) and ``graphneg batches`` pack them;
    a batch file is read as it is, and only ``num_replicas`` applies to it.

    Parameters
    ----------
    batch_size : int, default=64
        Items per batch (>= 1).
    packing : str, default='auto'
        ``'tas'``: ``TopicBatchSampler``'s packing; any other ``CommunityBatchSampler``'s.
    clusters_per_batch : int, default=1
        Communities drawn into each batch.
    mix_random : float, default=0.0
        Share of each batch filled with random items.
    drop_last : bool, default=False
        Drop the last, incomplete batch.
    epoch : int, default=0
        The epoch whose batches are packed.
    num_replicas : int, default=1
        DDP ranks for the per-rank batch counts (>= 1).

    Raises
    ------
    ValueError, TypeError
        ``batch_size`` or ``num_replicas`` not an int >= 1.

    See Also
    --------
    graphneg.inspect : takes them as ``batch_options``.
    graphneg.CommunityBatchSampler : the sampler that packs batches this way during training.

    Examples
    --------
    >>> BatchOptions(batch_size=16, num_replicas=2).packing_keywords()["packing"]
    'auto'
    >>> BatchOptions(num_replicas=0)
    Traceback (most recent call last):
    ...
    ValueError: `num_replicas` must be >= 1, got 0.
    """

    batch_size: int = 64
    packing: str = "auto"
    clusters_per_batch: int = 1
    mix_random: float = 0.0
    drop_last: bool = False
    epoch: int = 0
    num_replicas: int = 1

    def __post_init__(self) -> None:
        # checked here as `graphneg inspect` checks them, before any file is read
        object.__setattr__(self, "num_replicas", check_int(self.num_replicas, "num_replicas"))
        object.__setattr__(self, "batch_size", check_int(self.batch_size, "batch_size"))

    def packing_keywords(self) -> dict[str, Any]:
        """The packing keywords of the samplers' epoch plan (all but ``batch_size`` and ``num_replicas``)."""
        return dict(packing=self.packing, clusters_per_batch=self.clusters_per_batch, mix_random=self.mix_random,
                    drop_last=self.drop_last, epoch=self.epoch)
