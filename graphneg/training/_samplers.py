"""PyTorch batch samplers over graphneg batch plans (the only module that imports torch).

Every sampler here is a ``torch.utils.data.Sampler[list[int]]`` to pass as
``DataLoader(dataset, batch_sampler=sampler)``. Contract, for every ``(seed, epoch, rank)``:

- ``len(sampler)`` is exactly the number of batches ``iter(sampler)`` yields, and it is the
  same on every rank (no DDP hang waiting for a batch that never comes);
- ranks receive disjoint batches; within an epoch each item is yielded at most once over
  all ranks, and exactly once unless ``drop_last``;
- the batches are a pure function of ``(seed, epoch)``: call :meth:`set_epoch` before each
  epoch (the HF/sentence-transformers trainers do), otherwise every epoch repeats.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any, Literal

import numpy as np
from torch.utils.data import Sampler

from .._validation import check_bool, check_choice, check_float, check_int, check_labels
from ..similarity._batches import _Groups, cluster_batches, packed_batches, random_batches, topic_batches

__all__ = ["CommunityBatchSampler", "TopicBatchSampler", "RandomBatchSampler"]

Shard = Literal["batches", "slice"]


def _n_items(data: Any) -> int:
    if isinstance(data, Sized) and not isinstance(data, (int, np.integer)):
        return len(data)
    return check_int(data, "n_items")


class _PlannedBatchSampler(Sampler[list[int]]):
    """Base class: subclasses produce one epoch's global batches in :meth:`_global_batches`."""

    def __init__(
        self,
        n_items: int,
        batch_size: int,
        *,
        drop_last: bool,
        seed: int,
        num_replicas: int,
        rank: int,
        shard: Shard,
    ) -> None:
        self.n_items = check_int(n_items, "n_items")
        self.batch_size = check_int(batch_size, "batch_size")
        self.drop_last = check_bool(drop_last, "drop_last")
        self.seed = check_int(seed, "seed", min_value=0)
        self.num_replicas = check_int(num_replicas, "num_replicas")
        self.rank = check_int(rank, "rank", min_value=0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"`rank` must be in [0, {self.num_replicas - 1}], got {rank}.")
        self.shard = check_choice(shard, "shard", ("batches", "slice"))
        if self.shard == "slice" and self.batch_size % self.num_replicas:
            raise ValueError(
                f"`batch_size` ({self.batch_size}) must be divisible by `num_replicas` "
                f"({self.num_replicas}) with shard='slice'."
            )
        if self.n_items < self.num_replicas:
            raise ValueError(
                f"`num_replicas` ({self.num_replicas}) must be <= the number of items "
                f"({self.n_items}) so that every rank gets a batch."
            )
        self.epoch = 0
        self._cache: tuple[int, list[np.ndarray]] | None = None

    # -- protocol ---------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches :meth:`__iter__` yields next."""
        self.epoch = check_int(epoch, "epoch", min_value=0)

    def __len__(self) -> int:
        return len(self._rank_batches())

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._rank_batches():
            yield batch.tolist()

    def refresh(self, labels: Any) -> None:
        """Swap in new community labels (e.g. re-mined with the current model, ANCE/NGAME).

        The number of items must stay the same. The batches of the current epoch are
        re-planned at the next :meth:`__iter__` (call it at an epoch boundary: an epoch
        already being iterated keeps its batches).
        """
        labels = check_labels(labels, "labels", n_items=self.n_items)
        saved = dict(self.__dict__)
        try:
            self._set_labels(labels)
            self._cache = None
            self._rank_batches()  # validate now
        except BaseException:
            self.__dict__.update(saved)  # a failed refresh leaves the sampler as it was
            raise

    def _set_labels(self, labels: np.ndarray) -> None:
        raise TypeError(f"{type(self).__name__} has no labels to refresh.")

    def batches(self, epoch: int | None = None) -> list[np.ndarray]:
        """All ranks' batches of ``epoch`` (default: the current one), before sharding."""
        return self._global_batches(self.epoch if epoch is None else check_int(epoch, "epoch", min_value=0))

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        raise NotImplementedError

    # -- sharding ---------------------------------------------------------------------------
    def _rank_batches(self) -> list[np.ndarray]:
        if self._cache is None or self._cache[0] != self.epoch:
            self._cache = (self.epoch, self._shard(self._global_batches(self.epoch)))
        return self._cache[1]

    def _shard(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        R = self.num_replicas
        if R == 1:
            return batches
        strata = getattr(self, "strata", None)
        if self.shard == "slice":
            if not self.drop_last:
                batches = _fold_small(batches, R, strata)
            return [np.array_split(b, R)[self.rank] for b in batches]
        if self.drop_last:
            batches = batches[: len(batches) // R * R]
        elif len(batches) % R:
            batches = _balance_count(batches, R, strata)
        return batches[self.rank :: R]


def _stratum(batch: np.ndarray, strata: np.ndarray | None) -> int:
    return -1 if strata is None else int(strata[batch[0]])


def _fold_small(batches: list[np.ndarray], R: int, strata: np.ndarray | None) -> list[np.ndarray]:
    """Merge every batch of fewer than ``R`` items into a neighbour of its stratum.

    Slicing a batch over ``R`` ranks needs at least ``R`` items; merging (never dropping)
    keeps every item exactly once.
    """
    out = list(batches)
    i = 0
    while i < len(out):
        if out[i].size >= R:
            i += 1
            continue
        key = _stratum(out[i], strata)
        same = [j for j in range(len(out)) if j != i and _stratum(out[j], strata) == key]
        if not same:
            raise ValueError(
                f"stratum {key} has fewer items ({out[i].size}) than `num_replicas` ({R}); "
                "shard='slice' cannot give every rank a slice. Use shard='batches' or drop_last=True."
            )
        j = max((j for j in same if j < i), default=min(same))  # previous batch of the stratum
        out[j] = np.concatenate([out[j], out[i]])
        del out[i]
        i = 0 if j > i else i
    return out


def _balance_count(batches: list[np.ndarray], R: int, strata: np.ndarray | None) -> list[np.ndarray]:
    """Make the number of batches a multiple of ``R`` without repeating or dropping items.

    Halve the largest batches (up to the next multiple of ``R``); when there are too few
    items for that, merge the smallest batches of a stratum (down to the previous multiple).
    """
    out = list(batches)
    n_total = sum(b.size for b in out)
    target = -(-len(out) // R) * R
    if target <= n_total:
        while len(out) < target:
            j = int(np.argmax([b.size for b in out]))  # first largest: deterministic
            half = out[j].size // 2
            out[j : j + 1] = [out[j][:half], out[j][half:]]
        return out
    target = len(out) // R * R
    while len(out) > target:
        order = np.argsort([b.size for b in out], kind="stable")
        for i in order:
            key = _stratum(out[i], strata)
            partners = [j for j in order if j != i and _stratum(out[j], strata) == key]
            if partners:
                j = partners[0]
                out[min(i, j)] = np.concatenate([out[min(i, j)], out[max(i, j)]])
                del out[max(i, j)]
                break
        else:
            raise ValueError(
                f"cannot give {R} ranks an equal number of batches without mixing strata; "
                "lower `num_replicas` or pass drop_last=True."
            )
    return out


def _exact_sized(labels: np.ndarray, batch_size: int, strata: np.ndarray | None) -> bool:
    """Whether B3 packing applies: one cluster size K dividing the batch, one remainder per stratum."""
    sizes = np.bincount(labels)
    sizes = sizes[sizes > 0]
    K = int(sizes.max())
    if batch_size % K:
        return False
    groups = [labels] if strata is None else [labels[strata == s] for s in np.unique(strata)]
    for part in groups:
        sz = np.bincount(part)
        if np.count_nonzero(sz[sz > 0] != K) > 1:
            return False
    return True


_DOC_COMMON = """
    drop_last : bool, default=False
        Drop batches shorter than ``batch_size``. Under DDP (``shard='batches'``) also drop up
        to ``num_replicas - 1`` batches so that ranks get equal counts; without it, the largest
        batches are halved instead (or, when there are fewer items than that needs, the
        smallest merged), so no item is lost or repeated. With ``shard='slice'`` a batch of
        fewer than ``num_replicas`` items is merged into another batch of its stratum.
    seed : int, default=0
        Base seed; an epoch's batches are a function of ``(seed, epoch)``.
    num_replicas : int, default=1
        DDP world size (pass it explicitly; nothing is read from ``torch.distributed``).
    rank : int, default=0
        This process's rank in ``[0, num_replicas)``.
    shard : {'batches', 'slice'}, default='batches'
        ``'batches'``: rank ``r`` takes global batches ``r, r + R, ...``, each whole.
        ``'slice'``: every global batch is cut into ``R`` contiguous slices, one per rank (for
        losses that all-gather the global batch, as B3 trains).
"""


class RandomBatchSampler(_PlannedBatchSampler):
    """Random batches: the control arm for every experiment.

    Parameters
    ----------
    data : int or Sized
        Number of items, or a dataset (its ``len``).
    batch_size : int
        Items per batch.
    strata : array-like of shape (n_items,), default=None
        Never mix groups (e.g. tasks) in one batch: the GritLM/B3 same-task baseline.
    """ + _DOC_COMMON + """
    Examples
    --------
    >>> sampler = RandomBatchSampler(10, 4, seed=0)
    >>> [len(b) for b in sampler], len(sampler)
    ([4, 4, 2], 3)
    """

    def __init__(
        self,
        data: Any,
        batch_size: int,
        *,
        strata: Any = None,
        drop_last: bool = False,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        shard: Shard = "batches",
    ) -> None:
        n = _n_items(data)
        super().__init__(
            n, batch_size, drop_last=drop_last, seed=seed, num_replicas=num_replicas, rank=rank, shard=shard
        )
        self.strata = None if strata is None else check_labels(strata, "strata", n_items=n)

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        return random_batches(
            self.n_items, self.batch_size, seed=self.seed, epoch=epoch, drop_last=self.drop_last, strata=self.strata
        )


class CommunityBatchSampler(_PlannedBatchSampler):
    """Batches built from graph communities (B3 and Leiden packing).

    Use with in-batch-negative losses (InfoNCE / MultipleNegativesRankingLoss, CachedMNRL):
    batch-mates come from the same community, so they are hard negatives.

    Parameters
    ----------
    labels : array-like of shape (n_items,)
        Community per item, e.g. ``graphneg.communities(G)`` (variable sizes) or
        ``graphneg.communities(G, size=K)`` (exact size ``K``, for B3).
    batch_size : int
        Items per batch.
    packing : {'auto', 'b3', 'bfd', 'fill'}, default='auto'
        ``'b3'``: ``batch_size / K`` whole clusters per batch (:func:`graphneg.cluster_batches`);
        ``'bfd'``: best-fit-decreasing packing, communities split only when larger than a batch
        (:func:`graphneg.packed_batches`); ``'fill'``: communities end to end, every batch full.
        ``'auto'`` is ``'b3'`` when clusters have one size ``K`` dividing ``batch_size``, else
        ``'bfd'``.
    fixed_composition : bool, default=False
        B3's behaviour: draw which clusters share a batch once and only reorder batches per
        epoch. Only with ``packing='b3'``.
    mix_random : float, default=0.0
        Share of each batch swapped with random items.
    strata : array-like of shape (n_items,), default=None
        Never mix strata (tasks, sources) in one batch.
    """ + _DOC_COMMON + """
    .. warning:: Call :meth:`set_epoch` at the start of every epoch, before iterating.

    Examples
    --------
    >>> labels = np.repeat(np.arange(4), 2)
    >>> sampler = CommunityBatchSampler(labels, 4, seed=0)
    >>> sampler.packing, [sorted(labels[b].tolist()) for b in sampler]
    ('b3', [[0, 0, 2, 2], [1, 1, 3, 3]])
    """

    def __init__(
        self,
        labels: Any,
        batch_size: int,
        *,
        packing: Literal["auto", "b3", "bfd", "fill"] = "auto",
        fixed_composition: bool = False,
        mix_random: float = 0.0,
        strata: Any = None,
        drop_last: bool = False,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        shard: Shard = "batches",
    ) -> None:
        self.labels = check_labels(labels, "labels")
        super().__init__(
            self.labels.size,
            batch_size,
            drop_last=drop_last,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            shard=shard,
        )
        self.requested_packing = check_choice(packing, "packing", ("auto", "b3", "bfd", "fill"))
        self.fixed_composition = check_bool(fixed_composition, "fixed_composition")
        self.mix_random = check_float(mix_random, "mix_random", min_value=0.0, max_value=1.0)
        self.strata = None if strata is None else check_labels(strata, "strata", n_items=self.labels.size)
        self._set_labels(self.labels)
        self._rank_batches()  # validate labels/batch_size now, not at the first epoch

    def _set_labels(self, labels: np.ndarray) -> None:
        packing = self.requested_packing
        if packing == "auto":
            packing = "b3" if _exact_sized(labels, self.batch_size, self.strata) else "bfd"
        if self.fixed_composition and packing != "b3":
            raise ValueError("`fixed_composition=True` needs packing='b3' (clusters of one size).")
        self.labels, self.packing = labels, packing
        self._groups = _Groups.of(labels)  # grouping once; each epoch is then O(n)

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        common = dict(
            seed=self.seed, epoch=epoch, drop_last=self.drop_last, mix_random=self.mix_random, strata=self.strata
        )
        if self.packing == "b3":
            return cluster_batches(
                self.labels, self.batch_size, fixed_composition=self.fixed_composition, _groups=self._groups, **common
            )
        return packed_batches(self.labels, self.batch_size, fill=self.packing == "fill", _groups=self._groups, **common)


class TopicBatchSampler(_PlannedBatchSampler):
    """TAS-Balanced topic-aware batches: each batch from ``clusters_per_batch`` random clusters.

    Use with in-batch-negative or distillation losses (TAS pairs it with Margin-MSE, which
    tolerates the false negatives that same-topic batches bring).

    Parameters
    ----------
    labels : array-like of shape (n_items,)
        Topic cluster per item (k-means, Leiden, ...).
    batch_size : int
        Items per batch.
    clusters_per_batch : int, default=1
        Clusters per batch (``n`` in TAS); must divide ``batch_size``.
    mix_random : float, default=0.0
        Share of each batch swapped with random items.
    strata : array-like of shape (n_items,), default=None
        Never mix strata in one batch.
    """ + _DOC_COMMON + """
    Examples
    --------
    >>> labels = np.repeat(np.arange(3), 4)
    >>> [sorted(set(labels[b].tolist())) for b in TopicBatchSampler(labels, 4, seed=1)]
    [[0], [2], [1]]
    """

    def __init__(
        self,
        labels: Any,
        batch_size: int,
        *,
        clusters_per_batch: int = 1,
        mix_random: float = 0.0,
        strata: Any = None,
        drop_last: bool = False,
        seed: int = 0,
        num_replicas: int = 1,
        rank: int = 0,
        shard: Shard = "batches",
    ) -> None:
        self.labels = check_labels(labels, "labels")
        super().__init__(
            self.labels.size,
            batch_size,
            drop_last=drop_last,
            seed=seed,
            num_replicas=num_replicas,
            rank=rank,
            shard=shard,
        )
        self.clusters_per_batch = check_int(clusters_per_batch, "clusters_per_batch")
        self.mix_random = check_float(mix_random, "mix_random", min_value=0.0, max_value=1.0)
        self.strata = None if strata is None else check_labels(strata, "strata", n_items=self.labels.size)
        self._set_labels(self.labels)
        self._rank_batches()

    def _set_labels(self, labels: np.ndarray) -> None:
        self.labels = labels
        self._groups = _Groups.of(labels)

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        return topic_batches(
            self.labels,
            self.batch_size,
            clusters_per_batch=self.clusters_per_batch,
            seed=self.seed,
            epoch=epoch,
            drop_last=self.drop_last,
            mix_random=self.mix_random,
            strata=self.strata,
            _groups=self._groups,
        )
