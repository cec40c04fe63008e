"""One epoch of batches from community labels: pure functions of (labels, batch_size, seed, epoch).

Each function returns a list of int64 index arrays. Within an epoch every item appears at
most once; without ``drop_last`` exactly once. The same ``(seed, epoch)`` always gives the
same batches, and ``epoch`` changes them.

- :func:`random_batches`: the control, a random permutation cut into batches.
- :func:`cluster_batches`: B3 [1]_, each batch is ``batch_size / K`` whole clusters of exactly
  ``K`` members (see :func:`graphneg.communities` with ``cluster_size=K``).
- :func:`packed_batches`: variable-size (Leiden) communities packed into batches, a community
  is split only when it is larger than a batch (best-fit decreasing), or with ``fill=True``
  laid end to end so that every batch is full.
- :func:`topic_batches`: TAS-Balanced [2]_, each batch takes ``batch_size / clusters_per_batch``
  items from each of ``clusters_per_batch`` random clusters.

All of them accept ``mix_random`` (a share of each batch swapped with random items from
other batches, a control against over-homogeneous batches) and ``strata`` (e.g. task or
source ids: a batch never mixes strata, as in B3 and GritLM).

References
----------
.. [1] Thirukovalluru et al., "Breaking the Batch Barrier (B3) of Contrastive Learning via
   Smart Batch Mining", NeurIPS 2025. arXiv:2505.11293.
.. [2] Hofstätter et al., "Efficiently Teaching an Effective Dense Retriever with Balanced
   Topic Aware Sampling", SIGIR 2021. arXiv:2104.06967.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from .._groups import Groups
from .._random import epoch_rng
from .._validation import check_bool, check_epoch_args, check_float, check_int, check_keywords, check_labels

if TYPE_CHECKING:
    from typing_extensions import Unpack

Batches = list[np.ndarray]


class StrataOption(TypedDict, total=False):
    """``strata``: group ids (task, source); a batch never mixes groups."""

    strata: Any


class MixOption(TypedDict, total=False):
    """``mix_random``: share of each batch swapped with random items of other batches."""

    mix_random: float


class EpochOptions(TypedDict, total=False):
    """The keyword options of every epoch of batches; ``EPOCH_DEFAULTS`` holds their defaults."""

    seed: int
    epoch: int
    drop_last: bool


class StratifiedEpochOptions(EpochOptions, StrataOption, total=False):
    """The options of the batchers that keep strata apart."""


class LabelledEpochOptions(StratifiedEpochOptions, MixOption, total=False):
    """The options of the batchers driven by per-item labels."""


EPOCH_DEFAULTS: dict[str, Any] = {"seed": 0, "epoch": 0, "drop_last": False, "strata": None, "mix_random": 0.0}


def epoch_options(function: str, kind: type, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` of ``function`` with every option of ``kind`` (a TypedDict above) filled in.

    A name ``kind`` does not declare is a TypeError, worded as Python words it for an unknown
    keyword, so that an option of another batcher is never silently ignored.

    >>> epoch_options("f", EpochOptions, {"epoch": 2}) == {"seed": 0, "epoch": 2, "drop_last": False}
    True
    """
    check_keywords(function, kind, options)
    return {name: options.get(name, EPOCH_DEFAULTS[name]) for name in EPOCH_DEFAULTS if name in kind.__annotations__}


def cut_batches(order: np.ndarray, batch_size: int, drop_last: bool = False) -> Batches:
    """``order`` cut into ``batch_size`` blocks; the short last one is dropped with ``drop_last``."""
    batches = [order[i : i + batch_size] for i in range(0, order.size, batch_size)]
    return batches[:-1] if drop_last and batches and batches[-1].size < batch_size else batches


@dataclass(frozen=True)
class _Epoch:
    """The validated arguments every batcher here shares, and the steps built on them."""

    labels: np.ndarray
    prebuilt: Groups | None  # reused as is when no strata split the labels
    batch_size: int
    seed: int
    epoch: int
    drop_last: bool
    mix_random: float = 0.0
    strata: Any = None

    @classmethod
    def of(cls, function: str, labels: Any, batch_size: Any, options: dict[str, Any]) -> _Epoch:
        """Accept labels or a prebuilt :class:`~graphneg._groups.Groups`; validate the rest."""
        o = epoch_options(function, LabelledEpochOptions, options)
        prebuilt = labels if isinstance(labels, Groups) else None
        labels = labels.labels if prebuilt is not None else check_labels(labels, "labels")
        args = check_epoch_args(batch_size, o["seed"], o["epoch"], o["drop_last"])
        mix_random = check_float(o["mix_random"], "mix_random", min_value=0.0, max_value=1.0)
        return cls(labels, prebuilt, *args, mix_random, o["strata"])

    def rng(self, stream: int) -> np.random.Generator:
        return epoch_rng(self.seed, self.epoch, stream)

    def groups(self, local: np.ndarray) -> Groups:
        """The prebuilt groups when they apply (no strata: ``local`` is the full labelling)."""
        return self.prebuilt if (self.prebuilt is not None and self.strata is None) else Groups.of(local)

    def keep(self, batches: Batches) -> Batches:
        """``batches`` without the short ones when ``drop_last``."""
        return [b for b in batches if b.size == self.batch_size] if self.drop_last else batches

    def cut(self, order: np.ndarray) -> Batches:
        return cut_batches(order, self.batch_size, self.drop_last)

    def run(self, build: Callable[[np.ndarray, int], Batches]) -> Batches:
        """Run ``build(local_labels, stream)`` per stratum and shuffle the batches together.

        ``stream`` identifies the stratum so that ``build`` can derive its own generators.
        Random mixing happens within a stratum, so batches never mix strata.
        """

        def mixed(local: np.ndarray, stream: int) -> Batches:
            rng = epoch_rng(self.seed, self.epoch, stream, 2**31)
            return mix_random_items(build(local, stream), self.mix_random, rng)

        if self.strata is None:
            return mixed(self.labels, 1)
        strata = check_labels(self.strata, "strata", n_items=self.labels.size)
        out: Batches = []
        for s in np.unique(strata):
            members = np.flatnonzero(strata == s)
            local = np.unique(self.labels[members], return_inverse=True)[1].ravel()
            out.extend(members[b] for b in mixed(local, int(s) + 1))
        perm = self.rng(0).permutation(len(out))
        return [out[i] for i in perm]


def _shuffle_within(groups: Groups, rng: np.random.Generator) -> np.ndarray:
    """Items in group order, each group's members in uniformly random order.

    Sorts ``group << 32 | random32``: the group part is already in order, so the stable
    (run-adaptive) sort only has to order each group's short run of random keys, which
    costs about as much as one pass over the data. Ties of the 32-bit keys (probability
    ``s^2 / 2^33`` for a group of ``s``) keep the stored order.
    """
    keys = groups.high | rng.integers(0, 2**32, groups.high.size, dtype=np.uint64)
    return groups.members[np.argsort(keys, kind="stable")]


def _unit_order(
    groups: Groups, chunk: int | None, rng: np.random.Generator, *, last: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lay out units (whole groups, or chunks of ``chunk`` members) in random order.

    Returns the item order and the size of each unit in that order. Groups flagged in
    ``last`` go after all others (B3's remainder cluster).
    """
    shuffled = _shuffle_within(groups, rng)  # position starts[g] + j holds a member of g
    sizes = groups.sizes
    if chunk is None:
        unit_size, unit_start, unit_group = sizes, groups.starts[:-1], np.arange(sizes.size)
    else:
        per = -(-sizes // chunk)
        unit_group = np.repeat(np.arange(sizes.size), per)
        k = np.arange(unit_group.size) - np.repeat(np.cumsum(per) - per, per)
        unit_start = groups.starts[unit_group] + k * chunk
        unit_size = np.minimum(chunk, groups.starts[unit_group + 1] - unit_start)
    keep = unit_size > 0
    unit_size, unit_start, unit_group = unit_size[keep], unit_start[keep], unit_group[keep]
    order = rng.permutation(unit_size.size)
    if last is not None:
        order = np.concatenate([order[~last[unit_group[order]]], order[last[unit_group[order]]]])
    sz = unit_size[order]
    offsets = np.arange(int(sz.sum()), dtype=np.int64) - np.repeat(np.cumsum(sz) - sz, sz)
    return shuffled[np.repeat(unit_start[order], sz) + offsets], sz


def mix_random_items(batches: Batches, fraction: float, rng: np.random.Generator) -> Batches:
    """Swap ``round(fraction * len(batch))`` random members of each batch with random others.

    The chosen members of all batches are pooled, shuffled and put back, so each item still
    appears exactly as often as before: mixing never duplicates or drops an item.

    Parameters
    ----------
    batches : list of ndarray (int64)
        One epoch of batches (not modified).
    fraction : float
        Share of each batch to swap, in ``[0, 1]``.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    list of ndarray (int64)
        New batches of the same sizes (``batches`` itself when ``fraction`` is 0).

    See Also
    --------
    random_batches : the all-random control.
    cluster_batches, packed_batches, topic_batches : apply it through ``mix_random``.

    Examples
    --------
    >>> b = [np.arange(0, 4), np.arange(4, 8)]
    >>> out = mix_random_items(b, 0.5, np.random.default_rng(0))
    >>> sorted(np.concatenate(out).tolist()) == list(range(8))
    True
    """
    fraction = check_float(fraction, "mix_random", min_value=0.0, max_value=1.0)
    if fraction == 0 or not batches:
        return batches
    sizes = np.array([b.size for b in batches])
    flat = np.concatenate(batches)
    batch_of = np.repeat(np.arange(len(batches)), sizes)
    n_pick = np.rint(fraction * sizes).astype(np.int64)
    # pick the first n_pick members of each batch under a random key
    order = np.lexsort((rng.random(flat.size), batch_of))
    rank = np.arange(flat.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    picked = order[rank < n_pick[batch_of[order]]]
    flat = flat.copy()
    flat[picked] = flat[rng.permutation(picked)]
    return np.split(flat, np.cumsum(sizes)[:-1])


def random_batches(num_items: int, batch_size: int, **options: Unpack[StratifiedEpochOptions]) -> Batches:
    """Random batches: a seeded permutation of ``range(num_items)`` cut into ``batch_size`` blocks.

    Parameters
    ----------
    num_items : int
        Number of items.
    batch_size : int
        Items per batch.
    seed, epoch : int, default=0
        The permutation is a function of ``(seed, epoch)``.
    drop_last : bool, default=False
        Drop the short final batch (one per stratum with ``strata``).
    strata : array-like of shape (num_items,), default=None
        Optional group ids; a batch never mixes groups (GritLM/B3 same-task baseline).

    Returns
    -------
    list of ndarray (int64)

    See Also
    --------
    cluster_batches, packed_batches, topic_batches : batches from community labels, to compare with.
    graphneg.RandomBatchSampler : the same batches as a PyTorch batch sampler.

    Examples
    --------
    >>> [b.tolist() for b in random_batches(5, 2, seed=0)]
    [[1, 3], [4, 2], [0]]
    """
    num_items = check_int(num_items, "num_items")
    o = epoch_options("random_batches", StratifiedEpochOptions, options)
    args = check_epoch_args(batch_size, o["seed"], o["epoch"], o["drop_last"])
    ep = _Epoch(np.zeros(num_items, dtype=np.int64), None, *args, strata=o["strata"])
    return ep.run(lambda local, stream: ep.cut(ep.rng(stream).permutation(local.size)))


def cluster_batches(
    labels: Any, batch_size: int, *, fixed_composition: bool = False, **options: Unpack[LabelledEpochOptions]
) -> Batches:
    """B3 batches: ``batch_size / K`` whole clusters of exactly ``K`` members per batch.

    Parameters
    ----------
    labels : array-like of shape (n_items,) or Groups
        Cluster ids where every cluster has the same size ``K`` except at most one smaller
        remainder cluster, as :func:`graphneg.communities` returns with ``cluster_size=K``;
        or a :class:`graphneg._groups.Groups` built once from them, as the samplers do, so
        an epoch costs O(n).
    batch_size : int
        Must be a multiple of ``K``.
    fixed_composition : bool, default=False
        ``False`` re-draws which clusters share a batch every epoch. ``True`` reproduces B3:
        the composition is drawn once (from ``seed``) and epochs only reorder the batches.
    seed, epoch : int, default=0
        Randomness, see module docs.
    drop_last : bool, default=False
        Drop the batch that holds the remainder cluster when it is short.
    mix_random : float, default=0.0
        Share of each batch swapped with random items (B3's ``rand*`` control).
    strata : array-like of shape (n_items,), default=None
        Batches never mix strata (B3 builds batches per task). Clusters must not span strata.

    Returns
    -------
    list of ndarray (int64)
        All batches have ``batch_size`` items except the one holding the remainder cluster.

    Raises
    ------
    ValueError
        If clusters are not of one size, or ``batch_size`` is not a multiple of ``K``.

    See Also
    --------
    communities : labels of exactly ``K`` members (``cluster_size=K``).
    packed_batches : communities of any size (Leiden).
    graphneg.CommunityBatchSampler : the same batches as a PyTorch batch sampler.
    graphneg.cluster_negatives : B3++ hard negatives drawn for the same clusters.

    References
    ----------
    .. [1] Thirukovalluru et al., "Breaking the Batch Barrier (B3) of Contrastive Learning via
       Smart Batch Mining", NeurIPS 2025, arXiv:2505.11293.

    Examples
    --------
    >>> labels = np.repeat(np.arange(4), 2)          # 4 clusters of K=2
    >>> batches = cluster_batches(labels, 4, seed=0)
    >>> [sorted(set(labels[b].tolist())) for b in batches]
    [[2, 3], [0, 1]]
    """
    ep = _Epoch.of("cluster_batches", labels, batch_size, options)
    fixed_composition = check_bool(fixed_composition, "fixed_composition")
    K = int(np.bincount(ep.labels).max())
    if ep.batch_size % K:
        raise ValueError(
            f"`batch_size` ({ep.batch_size}) must be a multiple of the cluster size K={K} so that "
            f"clusters_per_batch = batch_size / K is an integer."
        )

    def build(local: np.ndarray, stream: int) -> Batches:
        sizes = np.bincount(local)
        sizes = sizes[sizes > 0]
        if np.count_nonzero(sizes != K) > 1:  # one short remainder per stratum is fine
            raise ValueError(
                f"`labels` must form clusters of one size K (one shorter remainder allowed"
                f"{' per stratum' if ep.strata is not None else ''}), got sizes from "
                f"{int(sizes.min())} to {K}; use graphneg.communities(..., cluster_size=K) or packed_batches()."
            )
        rng = ep.rng(stream)
        # B3 draws the composition once; we re-draw it per epoch unless asked not to
        comp_rng = epoch_rng(ep.seed, 0, stream) if fixed_composition else rng
        groups = ep.groups(local)
        # the remainder cluster goes last so that every other batch is whole clusters
        order, _ = _unit_order(groups, None, comp_rng, last=(groups.sizes < K) & (groups.sizes > 0))
        if not fixed_composition:
            return ep.cut(order)
        batches = cut_batches(order, ep.batch_size)
        return ep.keep([batches[i] for i in rng.permutation(len(batches))])

    return ep.run(build)


def topic_batches(
    labels: Any, batch_size: int, *, clusters_per_batch: int = 1, **options: Unpack[LabelledEpochOptions]
) -> Batches:
    """TAS batches: each batch takes ``batch_size / clusters_per_batch`` items per random cluster.

    TAS-Balanced samples a cluster uniformly (with replacement) and takes ``b / n`` of its
    queries, until the batch is full. Here an epoch is a partition: every cluster is cut into
    chunks of ``b / n`` shuffled members, the chunks are drawn in random order and laid end to
    end. A cluster smaller than a chunk (or a cluster's last, short chunk) is topped up from
    the next drawn cluster, as in TAS. Clusters are thus drawn in proportion to their
    remaining chunks rather than uniformly, the price of seeing every item once per epoch.

    Parameters
    ----------
    labels : array-like of shape (n_items,) or Groups
        Topic cluster per item (e.g. k-means or Leiden on query embeddings); or a
        :class:`graphneg._groups.Groups` built once, as the samplers do, so an epoch costs O(n).
    batch_size : int
        Items per batch.
    clusters_per_batch : int, default=1
        ``n`` in TAS; must divide ``batch_size``.
    seed, epoch, drop_last, mix_random, strata
        As in :func:`cluster_batches`.

    Returns
    -------
    list of ndarray (int64)
        Full batches except the last (per stratum).

    See Also
    --------
    graphneg.TopicBatchSampler : the same batches as a PyTorch batch sampler.
    cluster_batches : whole clusters per batch instead of slices.
    graphneg.balanced_margin_pairs : TAS-Balanced's pair sampling within a query.

    References
    ----------
    .. [1] Hofstätter et al., "Efficiently Teaching an Effective Dense Retriever with Balanced
       Topic Aware Sampling", SIGIR 2021, arXiv:2104.06967.

    Examples
    --------
    >>> labels = np.repeat(np.arange(3), 4)
    >>> [np.unique(labels[b]).size for b in topic_batches(labels, 4, seed=1)]
    [1, 1, 1]
    """
    ep = _Epoch.of("topic_batches", labels, batch_size, options)
    n = check_int(clusters_per_batch, "clusters_per_batch")
    if ep.batch_size % n:
        raise ValueError(f"`clusters_per_batch` ({n}) must divide `batch_size` ({ep.batch_size}) evenly.")
    chunk = ep.batch_size // n
    return ep.run(lambda local, stream: ep.cut(_unit_order(ep.groups(local), chunk, ep.rng(stream))[0]))


def packed_batches(
    labels: Any, batch_size: int, *, fill: bool = False, **options: Unpack[LabelledEpochOptions]
) -> Batches:
    """Pack variable-size communities (e.g. Leiden) into batches.

    Parameters
    ----------
    labels : array-like of shape (n_items,) or Groups
        Community per item; or a :class:`graphneg._groups.Groups` built once, as the
        samplers do, so an epoch costs O(n).
    batch_size : int
        Batch capacity.
    fill : bool, default=False
        ``False``: a community is split only when it is larger than ``batch_size`` (into full
        batches plus a remainder piece); pieces are placed by best-fit decreasing, so batches
        may be shorter than ``batch_size`` and their number depends on the packing.
        ``True``: communities are laid end to end in random order and cut every
        ``batch_size`` items: all batches are full (but the last) and a community may be split
        at a batch boundary.
    seed, epoch, drop_last, mix_random, strata
        As in :func:`cluster_batches`. With ``fill=False`` and ``drop_last=True`` every batch
        shorter than ``batch_size`` is dropped.

    Returns
    -------
    list of ndarray (int64)

    See Also
    --------
    cluster_batches : clusters of one size, whole clusters per batch (B3).
    communities : Leiden communities to pack.
    graphneg.CommunityBatchSampler : the same batches as a PyTorch batch sampler.

    Notes
    -----
    Best-fit decreasing puts each piece, largest first (random order among equal sizes),
    into the open batch with the least room that still fits it, opening a batch when none
    does. It uses at most ``11/9 OPT + 1`` batches, so little room is wasted when most
    communities are much smaller than a batch.

    Examples
    --------
    >>> labels = np.array([0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    >>> [sorted(set(labels[b].tolist())) for b in packed_batches(labels, 5, seed=0)]
    [[0, 1], [2, 3]]
    """
    ep = _Epoch.of("packed_batches", labels, batch_size, options)
    fill = check_bool(fill, "fill")
    batch_size = ep.batch_size

    def build(local: np.ndarray, stream: int) -> Batches:
        rng = ep.rng(stream)
        groups = ep.groups(local)
        if fill:
            return ep.cut(_unit_order(groups, None, rng)[0])
        # pieces: each community's shuffled members cut into batch_size chunks
        order, piece_sizes = _unit_order(groups, batch_size, rng)
        pieces = np.split(order, np.cumsum(piece_sizes)[:-1])
        sizes = np.array([p.size for p in pieces])
        bins: list[list[np.ndarray]] = []
        room: list[tuple[int, int]] = []  # sorted (free space, bin id)
        for j in np.lexsort((rng.random(sizes.size), -sizes)):
            s = int(sizes[j])
            i = bisect.bisect_left(room, (s, -1))
            if i < len(room):
                free, b = room.pop(i)
                bins[b].append(pieces[j])
                if free - s:
                    bisect.insort(room, (free - s, b))
            else:
                bins.append([pieces[j]])
                if batch_size - s:
                    bisect.insort(room, (batch_size - s, len(bins) - 1))
        batches = [np.concatenate(b) for b in bins]
        return ep.keep([batches[i] for i in rng.permutation(len(batches))])

    return ep.run(build)
