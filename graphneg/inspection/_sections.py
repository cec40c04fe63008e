"""Assemble the sections of a summary from whatever objects an input provides."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._random import check_rng
from ._batch_summary import batch_summary, random_control
from ._community_summary import communities_per_batch, community_summary
from ._graph_summary import K_SWEEP, components_by_k, graph_summary
from ._map import map_2d
from ._numbers import distribution
from ._options import BatchOptions

# items the k sweep searches at most (a seeded sample above it)
SWEEP_ITEMS = 100_000

logger = logging.getLogger(__name__)


def data_summary(
    *,
    graph: Any,
    communities: Any,
    embeddings: Any,
    labels: Any = None,
    positives: Any = None,
    links: Any = None,
    batches: Sequence[Any] | None = None,
    knn: Mapping[str, Any] | None = None,
    batch_options: BatchOptions | None = None,
    seed: int = 0,
    show_progress: bool = False,
    map_method: str = "auto",
) -> dict[str, Any]:
    """The ``graph``, ``communities``, ``batches`` and ``map`` sections for the objects given.

    Without ``batches``, one epoch is packed from ``communities`` as the samplers pack it
    (``batch_options``, default ``BatchOptions()``). ``knn`` (the :func:`graphneg.knn_graph`
    options that built ``graph`` from ``embeddings``) adds the component count as ``k`` varies.
    The items are the rows of the first of ``embeddings``, ``communities``, ``graph``, or else
    the largest item id in ``batches`` plus one.

    Parameters
    ----------
    graph, communities, embeddings, labels, positives, links, batches : optional
        As in :func:`graphneg.inspect`; None leaves a section (or its part) out.
    knn : mapping, default=None
    batch_options, seed, show_progress, map_method
        As in :func:`graphneg.inspect`.

    Returns
    -------
    dict

    Examples
    --------
    >>> s = data_summary(graph=None, communities=np.repeat([0, 1, 2], 4), embeddings=None,
    ...                  batch_options=BatchOptions(batch_size=4))
    >>> s["communities"]["per_batch"]["graphneg"]["mean"]
    1.0
    """
    n = _rows(embeddings, communities, graph, batches)
    b = batch_options if batch_options is not None else BatchOptions()
    out: dict[str, Any] = {}
    if graph is not None:
        logger.info("graph: %d nodes, %d edges", graph.shape[0], graph.nnz)
        out["graph"] = graph_summary(graph)
        if knn is not None and embeddings is not None:
            out["graph"]["components_by_k"] = _k_sweep(embeddings, knn, show_progress)
            out["graph"]["k_used"] = int(knn.get("k", 10))
    if communities is not None:
        logger.info("communities: %d", len(np.unique(np.asarray(communities))))
        out["communities"] = community_summary(graph, communities, embeddings=embeddings, seed=seed)
        if batches is None:
            batches = community_batches(communities, b.batch_size, seed=seed, **b.packing_keywords())
    if batches is not None:
        logger.info("batches: %d", len(batches))
        out["batches"] = batch_summary(batches, n, embeddings=embeddings, labels=labels, positives=positives,
                                       links=links, num_replicas=b.num_replicas, seed=seed,
                                       show_progress=show_progress)
        if communities is not None:
            spans = {"graphneg": communities_per_batch(batches, communities),
                     "random": communities_per_batch(random_control(list(map(np.asarray, batches)),
                                                                    check_rng(seed)), communities)}
            top = max(int(v.max(initial=1)) for v in spans.values())
            out["communities"]["per_batch"] = {k: distribution(v, integer=True, value_range=(1, top))
                                               for k, v in spans.items()}
    if embeddings is not None:
        groups = communities if communities is not None else labels
        logger.info("2-D map (%s)", map_method)
        out["map"] = map_2d(embeddings, groups, highlight=batches[0] if batches else None, seed=seed,
                           method=map_method)
        out["map"]["colour"] = "community" if communities is not None else ("label" if labels is not None else None)
    return out


def _rows(embeddings: Any, communities: Any, graph: Any, batches: Sequence[Any] | None) -> int:
    for c in (embeddings, communities, graph):
        if c is not None:
            return int(c.shape[0])
    if batches:  # a batch file on its own: its largest item id
        return max(int(np.asarray(b).max(initial=-1)) for b in batches) + 1
    raise ValueError("nothing to inspect: no graph, communities, embeddings or batches")


def community_batches(communities: Any, batch_size: int, *, seed: int = 0, packing: str = "auto",
                      clusters_per_batch: int = 1, mix_random: float = 0.0, drop_last: bool = False,
                      epoch: int = 0) -> list[np.ndarray]:
    """One epoch of batches as the samplers (and ``graphneg batches``) pack them.

    ``packing='tas'`` is ``TopicBatchSampler``'s, any other ``CommunityBatchSampler``'s.

    Examples
    --------
    >>> [b.size for b in community_batches(np.repeat([0, 1], 4), 4)]
    [4, 4]
    """
    from ..training._plans import epoch_batches  # the samplers' logic, without torch

    batches, _ = epoch_batches(
        np.asarray(communities), batch_size, packing=packing, clusters_per_batch=clusters_per_batch,
        mix_random=mix_random, drop_last=drop_last, seed=seed, epoch=epoch,
    )
    return batches


def _k_sweep(embeddings: Any, knn: Mapping[str, Any], show_progress: bool) -> dict[str, Any]:
    """Components of the kNN graph for k in K_SWEEP (and the k used), from one search.

    The sweep needs neighbours up to k = 50, a second search as large as the graph's own; above
    ``SWEEP_ITEMS`` items it runs on a seeded sample of that many items (their own kNN graph,
    recorded as ``sampled_items``), so that a million-item input costs a 100k-item search.
    """
    from ..similarity._knn import knn_search

    n = embeddings.shape[0]
    sampled = None
    if n > SWEEP_ITEMS:
        rows = np.sort(np.random.default_rng(0).choice(n, SWEEP_ITEMS, replace=False))
        embeddings, n, sampled = embeddings[rows], SWEEP_ITEMS, SWEEP_ITEMS
    skip = int(knn.get("skip", 0))
    k = int(knn.get("k", 10))
    k_max = min(max(K_SWEEP[-1], k), n - 1 - skip)
    if k_max < 1:
        return {"k": [], "count": [], "largest_share": [], "mutual": bool(knn.get("mutual", False))}
    idx, _ = knn_search(embeddings, k_max, skip=skip, metric=knn.get("metric", "cosine"),
                        show_progress=show_progress)
    out = components_by_k(idx, sorted({*K_SWEEP, k}), mutual=bool(knn.get("mutual", False)))
    return out if sampled is None else {**out, "sampled_items": sampled}
