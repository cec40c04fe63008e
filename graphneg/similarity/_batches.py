"""One epoch of batches from community labels: pure functions of (labels, batch_size, seed, epoch).

Each function returns a list of int64 index arrays. Within an epoch every item appears at
most once; without ``drop_last`` exactly once. The same ``(seed, epoch)`` always gives the
same batches, and ``epoch`` changes them.

- :func:`random_batches`: the control, a random permutation cut into batches.
- :func:`cluster_batches`: B3 [1]_, each batch is ``batch_size / K`` whole clusters of exactly
  ``K`` members (see :func:`graphneg.communities` with ``size=K``).
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
from typing import Any

import numpy as np

from .._random import epoch_rng
from .._validation import check_bool, check_float, check_int, check_labels

__all__ = [
    "random_batches",
    "cluster_batches",
    "packed_batches",
    "topic_batches",
    "mix_random_items",
]

Batches = list[np.ndarray]


def _cut(order: np.ndarray, batch_size: int) -> Batches:
    return [order[i : i + batch_size] for i in range(0, order.size, batch_size)]


def _check_common(batch_size: Any, seed: Any, epoch: Any, drop_last: Any, mix_random: Any) -> tuple:
    return (
        check_int(batch_size, "batch_size"),
        check_int(seed, "seed", min_value=0),
        check_int(epoch, "epoch", min_value=0),
        check_bool(drop_last, "drop_last"),
        check_float(mix_random, "mix_random", min_value=0.0, max_value=1.0),
    )


def _drop_short(batches: Batches, batch_size: int, drop_last: bool) -> Batches:
    return [b for b in batches if b.size == batch_size] if drop_last else batches


def _stable_argsort(keys: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative int keys by 16-bit radix passes (O(n) per pass)."""
    top = int(keys.max(initial=0))
    if top < 2**16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    if top >= 2**32:
        return np.argsort(keys, kind="stable")
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]


@dataclass(frozen=True)
class _Groups:
    """Items grouped by label: ``members[starts[g]:starts[g + 1]]`` are the items of ``g``.

    ``high`` holds each member's group id in the upper 32 bits of a uint64, ready to be
    combined with random low bits (see :func:`_shuffle_within`).
    """

    members: np.ndarray
    starts: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, labels: np.ndarray) -> _Groups:
        starts = np.zeros(int(labels.max(initial=-1)) + 2, dtype=np.int64)
        np.cumsum(np.bincount(labels), out=starts[1:])
        members = _stable_argsort(labels)
        return cls(members, starts, labels[members].astype(np.uint64) << np.uint64(32))

    @property
    def sizes(self) -> np.ndarray:
        return np.diff(self.starts)


def _shuffle_within(groups: _Groups, rng: np.random.Generator) -> np.ndarray:
    """Items in group order, each group's members in uniformly random order.

    Sorts ``group << 32 | random32``: the group part is already in order, so the stable
    (run-adaptive) sort only has to order each group's short run of random keys, which
    costs about as much as one pass over the data. Ties of the 32-bit keys (probability
    ``s^2 / 2^33`` for a group of ``s``) keep the stored order.
    """
    keys = groups.high | rng.integers(0, 2**32, groups.high.size, dtype=np.uint64)
    return groups.members[np.argsort(keys, kind="stable")]


def _unit_order(
    groups: _Groups, chunk: int | None, rng: np.random.Generator, *, last: np.ndarray | None = None
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


def _stratified(
    labels: np.ndarray,
    strata: Any,
    seed: int,
    epoch: int,
    build: Callable[[np.ndarray, int], Batches],
    mix_random: float = 0.0,
) -> Batches:
    """Run ``build(local_labels, stream)`` per stratum and shuffle the batches together.

    ``stream`` identifies the stratum so that ``build`` can derive its own generators.
    Random mixing happens within a stratum, so batches never mix strata.
    """

    def run(local: np.ndarray, stream: int) -> Batches:
        return mix_random_items(build(local, stream), mix_random, epoch_rng(seed, epoch, stream, 2**31))

    if strata is None:
        return run(labels, 1)
    strata = check_labels(strata, "strata", n_items=labels.size)
    out: Batches = []
    for s in np.unique(strata):
        members = np.flatnonzero(strata == s)
        local = np.unique(labels[members], return_inverse=True)[1].ravel()
        out.extend(members[b] for b in run(local, int(s) + 1))
    perm = epoch_rng(seed, epoch, 0).permutation(len(out))
    return [out[i] for i in perm]


def mix_random_items(batches: Batches, fraction: float, rng: np.random.Generator) -> Batches:
    """Swap ``round(fraction * len(batch))`` random members of each batch with random others.

    The chosen members of all batches are pooled, shuffled and put back, so each item still
    appears exactly as often as before: mixing never duplicates or drops an item.

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


def random_batches(
    n_items: int,
    batch_size: int,
    *,
    seed: int = 0,
    epoch: int = 0,
    drop_last: bool = False,
    strata: Any = None,
) -> Batches:
    """Random batches: a seeded permutation of ``range(n_items)`` cut into ``batch_size`` blocks.

    Parameters
    ----------
    n_items : int
        Number of items.
    batch_size : int
        Items per batch.
    seed, epoch : int, default=0
        The permutation is a function of ``(seed, epoch)``.
    drop_last : bool, default=False
        Drop the short final batch (one per stratum with ``strata``).
    strata : array-like of shape (n_items,), default=None
        Optional group ids; a batch never mixes groups (GritLM/B3 same-task baseline).

    Returns
    -------
    list of ndarray (int64)

    Examples
    --------
    >>> [b.tolist() for b in random_batches(5, 2, seed=0)]
    [[1, 3], [4, 2], [0]]
    """
    n_items = check_int(n_items, "n_items")
    batch_size, seed, epoch, drop_last, _ = _check_common(batch_size, seed, epoch, drop_last, 0.0)

    def build(local: np.ndarray, stream: int) -> Batches:
        rng = epoch_rng(seed, epoch, stream)
        return _drop_short(_cut(rng.permutation(local.size), batch_size), batch_size, drop_last)

    return _stratified(np.zeros(n_items, dtype=np.int64), strata, seed, epoch, build)


def cluster_batches(
    labels: Any,
    batch_size: int,
    *,
    fixed_composition: bool = False,
    seed: int = 0,
    epoch: int = 0,
    drop_last: bool = False,
    mix_random: float = 0.0,
    strata: Any = None,
    _groups: _Groups | None = None,
) -> Batches:
    """B3 batches: ``batch_size / K`` whole clusters of exactly ``K`` members per batch.

    Parameters
    ----------
    labels : array-like of shape (n_items,)
        Cluster ids where every cluster has the same size ``K`` except at most one smaller
        remainder cluster, as :func:`graphneg.communities` returns with ``size=K``.
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

    Examples
    --------
    >>> labels = np.repeat(np.arange(4), 2)          # 4 clusters of K=2
    >>> batches = cluster_batches(labels, 4, seed=0)
    >>> [sorted(set(labels[b].tolist())) for b in batches]
    [[2, 3], [0, 1]]
    """
    labels = check_labels(labels, "labels")
    batch_size, seed, epoch, drop_last, mix_random = _check_common(
        batch_size, seed, epoch, drop_last, mix_random
    )
    fixed_composition = check_bool(fixed_composition, "fixed_composition")
    K = int(np.bincount(labels).max())
    if batch_size % K:
        raise ValueError(
            f"`batch_size` ({batch_size}) must be a multiple of the cluster size K={K} so that "
            f"clusters_per_batch = batch_size / K is an integer."
        )

    def build(local: np.ndarray, stream: int) -> Batches:
        sizes = np.bincount(local)
        sizes = sizes[sizes > 0]
        if np.count_nonzero(sizes != K) > 1:  # one short remainder per stratum is fine
            raise ValueError(
                f"`labels` must form clusters of one size K (one shorter remainder allowed"
                f"{' per stratum' if strata is not None else ''}), got sizes from "
                f"{int(sizes.min())} to {K}; use graphneg.communities(..., size=K) or packed_batches()."
            )
        rng = epoch_rng(seed, epoch, stream)
        # B3 draws the composition once; we re-draw it per epoch unless asked not to
        comp_rng = epoch_rng(seed, 0, stream) if fixed_composition else rng
        groups = _groups if (_groups is not None and strata is None) else _Groups.of(local)
        # the remainder cluster goes last so that every other batch is whole clusters
        order, _ = _unit_order(groups, None, comp_rng, last=(groups.sizes < K) & (groups.sizes > 0))
        batches = _cut(order, batch_size)
        if fixed_composition:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return _drop_short(batches, batch_size, drop_last)

    return _stratified(labels, strata, seed, epoch, build, mix_random)


def topic_batches(
    labels: Any,
    batch_size: int,
    *,
    clusters_per_batch: int = 1,
    seed: int = 0,
    epoch: int = 0,
    drop_last: bool = False,
    mix_random: float = 0.0,
    strata: Any = None,
    _groups: _Groups | None = None,
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
    labels : array-like of shape (n_items,)
        Topic cluster per item (e.g. k-means or Leiden on query embeddings).
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

    Examples
    --------
    >>> labels = np.repeat(np.arange(3), 4)
    >>> [np.unique(labels[b]).size for b in topic_batches(labels, 4, seed=1)]
    [1, 1, 1]
    """
    labels = check_labels(labels, "labels")
    batch_size, seed, epoch, drop_last, mix_random = _check_common(
        batch_size, seed, epoch, drop_last, mix_random
    )
    n = check_int(clusters_per_batch, "clusters_per_batch")
    if batch_size % n:
        raise ValueError(
            f"`clusters_per_batch` ({n}) must divide `batch_size` ({batch_size}) evenly."
        )
    chunk = batch_size // n

    def build(local: np.ndarray, stream: int) -> Batches:
        groups = _groups if (_groups is not None and strata is None) else _Groups.of(local)
        order, _ = _unit_order(groups, chunk, epoch_rng(seed, epoch, stream))
        return _drop_short(_cut(order, batch_size), batch_size, drop_last)

    return _stratified(labels, strata, seed, epoch, build, mix_random)


def packed_batches(
    labels: Any,
    batch_size: int,
    *,
    fill: bool = False,
    seed: int = 0,
    epoch: int = 0,
    drop_last: bool = False,
    mix_random: float = 0.0,
    strata: Any = None,
    _groups: _Groups | None = None,
) -> Batches:
    """Pack variable-size communities (e.g. Leiden) into batches.

    Parameters
    ----------
    labels : array-like of shape (n_items,)
        Community per item.
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
    labels = check_labels(labels, "labels")
    batch_size, seed, epoch, drop_last, mix_random = _check_common(
        batch_size, seed, epoch, drop_last, mix_random
    )
    fill = check_bool(fill, "fill")

    def build(local: np.ndarray, stream: int) -> Batches:
        rng = epoch_rng(seed, epoch, stream)
        groups = _groups if (_groups is not None and strata is None) else _Groups.of(local)
        if fill:
            order, _ = _unit_order(groups, None, rng)
            return _drop_short(_cut(order, batch_size), batch_size, drop_last)
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
        batches = [batches[i] for i in rng.permutation(len(batches))]
        return _drop_short(batches, batch_size, drop_last)

    return _stratified(labels, strata, seed, epoch, build, mix_random)
