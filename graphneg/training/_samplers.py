"""PyTorch batch samplers over communities, topics or random batches: each is a
``torch.utils.data.Sampler[list[int]]`` with one base, :class:`._sampler_base._PlannedSampler`
(epochs, ``len``, DDP shards), and plans one epoch's global batches in ``_global_batches``.
Pass one as ``DataLoader(dataset, batch_sampler=sampler)``; the contract they all keep is in
:mod:`._plans`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._groups import Groups
from .._validation import check_bool, check_choice, check_float, check_int, check_labels
from ..similarity._batches import cluster_batches, packed_batches, random_batches, topic_batches
from ..similarity._conflict_risk import ConflictSpec
from ._plans import PACKINGS, Shard, check_sampler_keywords, choose_packing, num_items
from ._sampler_base import _PlannedSampler


class RandomBatchSampler(_PlannedSampler):
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
    drop_last, seed, num_replicas, rank, shard
        The options every sampler shares (:mod:`graphneg.training`): drop short batches,
        base seed, DDP world size and rank (``None``: from the process group), and how
        ranks share a global batch (``'batches'`` or ``'slice'``).

    See Also
    --------
    graphneg.random_batches : one epoch of these batches, as a function.
    CommunityBatchSampler, TopicBatchSampler, RandomWalkBatchSampler : the arms it controls for.

    Examples
    --------
    >>> sampler = RandomBatchSampler(10, 4, seed=0)
    >>> [len(b) for b in sampler], len(sampler)
    ([4, 4, 2], 3)
    >>> sampler.set_epoch(1)  # before every epoch, or every epoch repeats
    >>> sorted(i for b in sampler for i in b) == list(range(10))
    True
    """

    @check_sampler_keywords
    def __init__(
        self, data: Any, batch_size: int, *, strata: Any = None, drop_last: bool = False, seed: int = 0,
        num_replicas: int | None = None, rank: int | None = None, shard: Shard = "batches",
    ) -> None:
        super().__init__(num_items(data), batch_size, strata=strata, drop_last=drop_last, seed=seed,
                         num_replicas=num_replicas, rank=rank, shard=shard)
        self._rank_batches()  # validate now, not at the first epoch

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        return random_batches(
            self.num_items, self.batch_size, seed=self.seed, epoch=epoch, drop_last=self.drop_last,
            strata=self.strata,
        )


class CommunityBatchSampler(_PlannedSampler):
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
    conflicts : dict, optional
        Conflict-free packing: item ``i`` is the training pair ``(query_items[i],
        positive_items[i])``, and no batch may hold two pairs where one's positive is the
        other's positive, a known positive of the other's query, or (with ``graph``) within
        ``hops`` hops of it. Keys: ``'query_items'``, ``'positive_items'`` (required, one per
        item), ``'known_positives'`` (sparse ``(n_queries, n_items)``, int array or id lists),
        ``'graph'`` and ``'hops'`` (default 1), ``'max_rounds'`` (default 200): the arguments of
        :func:`graphneg.conflict_free_batches`, which repairs every epoch's batches (after DDP
        balancing, swapping items between batches of one stratum; seeded by ``(seed, epoch)``).
        ``len``, batch sizes, the items of an epoch and the DDP shards are those of the plan
        without the option; :attr:`last_conflict_report` holds the
        :class:`~graphneg.ConflictReport` of the epoch planned last, and a GraphNegWarning
        (once per labelling) counts conflicts left in place. Validated only when given.
    drop_last, seed, num_replicas, rank, shard
        The options every sampler shares (:mod:`graphneg.training`): drop short batches,
        base seed, DDP world size and rank (``None``: from the process group), and how
        ranks share a global batch (``'batches'`` or ``'slice'``).

    Attributes
    ----------
    last_conflict_report : ConflictReport or None
        With ``conflicts``: what the repair of the epoch planned last did (``moved`` items,
        ``unresolved`` conflicts); None without it.

    See Also
    --------
    graphneg.communities : the labels (``cluster_size=K`` for B3 packing).
    graphneg.cluster_batches, graphneg.packed_batches : one epoch of these batches, as a function.
    TopicBatchSampler : slices of several clusters per batch (TAS).
    RandomBatchSampler : the control arm.

    Notes
    -----
    Call :meth:`set_epoch` at the start of every epoch, before iterating: the HF and
    sentence-transformers trainers do, a plain accelerate loop must (``accelerator.prepare``
    does not forward ``set_epoch`` to a batch sampler). :meth:`refresh` swaps in re-mined
    communities. With ``fixed_composition=True`` and ``conflicts``, the repair of each epoch
    may move a few items (``last_conflict_report.moved``) out of their fixed batches.

    References
    ----------
    .. [1] Thirukovalluru et al., "Breaking the Batch Barrier (B3) of Contrastive Learning via
       Smart Batch Mining", NeurIPS 2025, arXiv:2505.11293.

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

    @check_sampler_keywords
    def __init__(
        self, labels: Any, batch_size: int, *, packing: Literal["auto", "b3", "bfd", "fill"] = "auto",
        fixed_composition: bool = False, mix_random: float = 0.0, strata: Any = None,
        conflicts: ConflictSpec | None = None, drop_last: bool = False, seed: int = 0,
        num_replicas: int | None = None, rank: int | None = None, shard: Shard = "batches",
    ) -> None:
        self.labels = check_labels(labels, "labels")
        super().__init__(self.labels.size, batch_size, drop_last=drop_last, seed=seed, num_replicas=num_replicas,
                         rank=rank, shard=shard, strata=strata, conflicts=conflicts)
        self.mix_random = check_float(mix_random, "mix_random", min_value=0.0, max_value=1.0)
        self.requested_packing = check_choice(packing, "packing", PACKINGS)
        self.fixed_composition = check_bool(fixed_composition, "fixed_composition")
        self._replan(self._set_labels, self.labels)  # validate labels/batch_size now, not at the first epoch

    def refresh(self, labels: Any) -> None:
        """Swap in new labels (e.g. communities re-mined with the current model, ANCE/NGAME).

        The number of items must stay the same. The batches of the current epoch are
        re-planned at the next :meth:`__iter__` (call it at an epoch boundary: an epoch
        already being iterated keeps its batches). A failed refresh leaves the sampler as
        it was.

        Parameters
        ----------
        labels : array-like of shape (num_items,)
            The new community of every item.

        Examples
        --------
        >>> s = CommunityBatchSampler(np.zeros(4, dtype=int), 2, seed=0)
        >>> s.refresh(np.repeat([0, 1], 2))
        >>> sorted(sorted(set(s.labels[b].tolist())) for b in s)
        [[0], [1]]
        """
        self._replan(self._set_labels, check_labels(labels, "labels", n_items=self.num_items))

    def _set_labels(self, labels: np.ndarray) -> None:
        self.packing = choose_packing(
            labels, self.batch_size, self.requested_packing, drop_last=self.drop_last, strata=self.strata,
            fixed_composition=self.fixed_composition,
        )
        self.labels = labels
        self._groups = Groups.of(labels)  # grouping once; each epoch is then O(n)

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        common = dict(
            seed=self.seed, epoch=epoch, drop_last=self.drop_last, mix_random=self.mix_random, strata=self.strata
        )
        if self.packing == "b3":
            return cluster_batches(self._groups, self.batch_size, fixed_composition=self.fixed_composition, **common)
        return packed_batches(self._groups, self.batch_size, fill=self.packing == "fill", **common)


class TopicBatchSampler(_PlannedSampler):
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
    conflicts : dict, optional
        Conflict-free packing, as :class:`CommunityBatchSampler`'s ``conflicts``: no batch
        holds two training pairs where one's positive is the other's positive or a known
        positive (or graph neighbour) of its query.
    drop_last, seed, num_replicas, rank, shard
        The options every sampler shares (:mod:`graphneg.training`): drop short batches,
        base seed, DDP world size and rank (``None``: from the process group), and how
        ranks share a global batch (``'batches'`` or ``'slice'``).

    Attributes
    ----------
    last_conflict_report : ConflictReport or None
        With ``conflicts``: what the repair of the epoch planned last did; None without it.

    See Also
    --------
    graphneg.topic_batches : one epoch of these batches, as a function.
    CommunityBatchSampler : whole communities per batch (B3, Leiden).
    RandomBatchSampler : the control arm.

    References
    ----------
    .. [1] Hofstätter et al., "Efficiently Teaching an Effective Dense Retriever with Balanced
       Topic Aware Sampling", SIGIR 2021, arXiv:2104.06967.

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

    @check_sampler_keywords
    def __init__(
        self, labels: Any, batch_size: int, *, clusters_per_batch: int = 1, mix_random: float = 0.0,
        strata: Any = None, conflicts: ConflictSpec | None = None, drop_last: bool = False, seed: int = 0,
        num_replicas: int | None = None, rank: int | None = None, shard: Shard = "batches",
    ) -> None:
        labels = check_labels(labels, "labels")
        super().__init__(
            labels.size, batch_size, strata=strata, conflicts=conflicts,
            drop_last=drop_last, seed=seed, num_replicas=num_replicas, rank=rank, shard=shard,
        )
        self.mix_random = check_float(mix_random, "mix_random", min_value=0.0, max_value=1.0)
        self.clusters_per_batch = check_int(clusters_per_batch, "clusters_per_batch")
        self._replan(self._set_labels, labels)  # validate now, not at the first epoch

    def refresh(self, labels: Any) -> None:
        """Swap in new topic labels over the same items (e.g. re-clustered embeddings).

        The current epoch is re-planned at the next :meth:`__iter__`; a failed refresh
        leaves the sampler as it was.

        Parameters
        ----------
        labels : array-like of int, one topic per item

        Examples
        --------
        >>> s = TopicBatchSampler([0] * 6, 3)
        >>> s.refresh([0, 1] * 3)  # odd items one topic, even ones the other
        >>> sorted(s.labels[b].tolist() for b in s)
        [[0, 0, 0], [1, 1, 1]]
        """
        self._replan(self._set_labels, check_labels(labels, "labels", n_items=self.num_items))

    def _set_labels(self, labels: np.ndarray) -> None:
        self.labels = labels
        self._groups = Groups.of(labels)  # grouping once; each epoch is then O(n)

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        return topic_batches(
            self._groups, self.batch_size, clusters_per_batch=self.clusters_per_batch, seed=self.seed, epoch=epoch,
            drop_last=self.drop_last, mix_random=self.mix_random, strata=self.strata,
        )
