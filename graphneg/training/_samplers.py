"""PyTorch batch samplers: each is a ``torch.utils.data.Sampler[list[int]]`` over a torch-free
batch plan of :mod:`._plans`, whose docstring states the contract they all keep (exact ``len``
on every rank, disjoint ranks, batches a function of ``(seed, epoch)``, ``drop_last`` never
silent). Pass one as ``DataLoader(dataset, batch_sampler=sampler)``.
"""

from __future__ import annotations

import numpy as np  # noqa: F401 - the examples use it
from torch.utils.data import Sampler

from ._plans import CommunityPlan, RandomPlan, TopicPlan, sampler_parameters


@sampler_parameters
class RandomBatchSampler(RandomPlan, Sampler[list[int]]):
    """Random batches: the control arm for every experiment.

    Parameters
    ----------
    data : int or Sized
        Number of items, or a dataset (its ``len``).
    batch_size : int
        Items per batch.
    strata : array-like of shape (num_items,), default=None
        Never mix groups (e.g. tasks) in one batch: the GritLM/B3 same-task baseline. Each
        stratum ends in its own short batch.
    {sampler_parameters}

    Examples
    --------
    >>> sampler = RandomBatchSampler(10, 4, seed=0)
    >>> [len(b) for b in sampler], len(sampler)
    ([4, 4, 2], 3)
    >>> sampler.set_epoch(1)  # before every epoch, or every epoch repeats
    >>> sorted(i for b in sampler for i in b) == list(range(10))
    True
    """


@sampler_parameters
class CommunityBatchSampler(CommunityPlan, Sampler[list[int]]):
    """Batches built from graph communities (B3 and Leiden packing).

    Use with in-batch-negative losses (InfoNCE / MultipleNegativesRankingLoss, CachedMNRL):
    batch-mates come from the same community, so they are hard negatives.

    Parameters
    ----------
    labels : array-like of shape (num_items,)
        Community per item, e.g. ``graphneg.communities(graph)`` (variable sizes) or
        ``graphneg.communities(graph, cluster_size=K)`` (exact size ``K``, for B3).
    batch_size : int
        Items per batch.
    packing : {'auto', 'b3', 'bfd', 'fill'}, default='auto'
        ``'b3'``: ``batch_size / K`` whole clusters per batch (:func:`graphneg.cluster_batches`);
        ``'bfd'``: best-fit-decreasing packing, communities split only when larger than a batch
        (:func:`graphneg.packed_batches`), so batches may be short; ``'fill'``: communities end
        to end, every batch full. ``'auto'`` is ``'b3'`` when clusters have one size ``K``
        dividing ``batch_size``, else ``'bfd'``, or ``'fill'`` with ``drop_last=True`` (where
        the short batches of ``'bfd'`` would be dropped).
    fixed_composition : bool, default=False
        B3's behaviour: draw which clusters share a batch once and only reorder batches per
        epoch. Only with ``packing='b3'``.
    mix_random : float, default=0.0
        Share of each batch swapped with random items.
    strata : array-like of shape (num_items,), default=None
        Never mix strata (tasks, sources) in one batch.
    {conflicts_parameter}
    {sampler_parameters}

    Attributes
    ----------
    last_conflict_report : ConflictReport or None
        With ``conflicts``: what the repair of the epoch planned last did (``moved`` items,
        ``unresolved`` conflicts); None without it.

    Notes
    -----
    Call :meth:`set_epoch` at the start of every epoch, before iterating: the HF and
    sentence-transformers trainers do, a plain accelerate loop must (``accelerator.prepare``
    does not forward ``set_epoch`` to a batch sampler). :meth:`refresh` swaps in re-mined
    communities. With ``fixed_composition=True`` and ``conflicts``, the repair of each epoch
    may move a few items (``last_conflict_report.moved``) out of their fixed batches.

    Examples
    --------
    >>> labels = np.repeat(np.arange(4), 2)
    >>> sampler = CommunityBatchSampler(labels, 4, seed=0)
    >>> sampler.packing, len(sampler)
    ('b3', 2)
    >>> [np.unique(labels[b]).size for b in sampler]  # two whole clusters per batch
    [2, 2]
    >>> CommunityBatchSampler(np.repeat(np.arange(4), 3), 4, drop_last=True).packing
    'fill'

    Conflict-free packing: items 0 and 1 are two pairs of query 0 (positives 10 and 11), one
    community, so they would share a batch:

    >>> spec = {"query_items": [0, 0, 1, 2], "positive_items": [10, 11, 12, 13]}
    >>> sampler = CommunityBatchSampler([0, 0, 1, 1], 2, conflicts=spec)
    >>> [{0, 1} <= set(b) for b in sampler], len(sampler)  # 0 and 1 apart
    ([False, False], 2)
    >>> sampler.last_conflict_report.moved, sampler.last_conflict_report.unresolved
    (2, 0)
    """


@sampler_parameters
class TopicBatchSampler(TopicPlan, Sampler[list[int]]):
    """TAS-Balanced topic-aware batches: each batch from ``clusters_per_batch`` random clusters.

    Use with in-batch-negative or distillation losses (TAS pairs it with Margin-MSE, which
    tolerates the false negatives that same-topic batches bring).

    Parameters
    ----------
    labels : array-like of shape (num_items,)
        Topic cluster per item (k-means, Leiden, ...).
    batch_size : int
        Items per batch.
    clusters_per_batch : int, default=1
        Clusters per batch (``n`` in TAS); must divide ``batch_size``.
    mix_random : float, default=0.0
        Share of each batch swapped with random items.
    strata : array-like of shape (num_items,), default=None
        Never mix strata in one batch.
    {conflicts_parameter}
    {sampler_parameters}

    Attributes
    ----------
    last_conflict_report : ConflictReport or None
        With ``conflicts``: what the repair of the epoch planned last did; None without it.

    Examples
    --------
    >>> labels = np.repeat(np.arange(3), 4)
    >>> sampler = TopicBatchSampler(labels, 4, seed=1)
    >>> sorted(sorted(set(labels[b].tolist())) for b in sampler)  # one topic per batch
    [[0], [1], [2]]

    With ``conflicts``, the items of a query with several positives are spread over batches:

    >>> spec = {"query_items": np.repeat(np.arange(6), 2), "positive_items": np.arange(12)}
    >>> sampler = TopicBatchSampler(labels, 4, conflicts=spec, seed=1)
    >>> [len(set(spec["query_items"][b].tolist())) for b in sampler]  # no query twice
    [4, 4, 4]
    """
