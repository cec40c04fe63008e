"""Negatives chosen for a group that trains together: B3++ cluster negatives, TAS pairs.

- :func:`cluster_negatives` (B3++ [1]_): one negative distribution per cluster (or batch),
  built from the teacher ranks of all its members, so each extra negative is hard for the
  whole group it is contrasted with.
- :func:`balanced_margin_pairs` (TAS-Balanced [2]_): per query, pick (positive, negative)
  pairs uniformly over equal-width bins of the teacher margin, flattening the skew towards
  easy, high-margin pairs.

References
----------
.. [1] Thirukovalluru et al., "Breaking the Batch Barrier (B3) of Contrastive Learning via
   Smart Batch Mining", NeurIPS 2025, §3.2, arXiv:2505.11293.
.. [2] Hofstätter et al., "Efficiently Teaching an Effective Dense Retriever with Balanced
   Topic Aware Sampling", SIGIR 2021, arXiv:2104.06967.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._random import SeedLike, check_rng, epoch_rng
from .._validation import check_embeddings, check_float, check_int, check_labels
from ..similarity._knn import knn_search


def cluster_negatives(
    X: Any,
    groups: Any,
    *,
    targets: Any = None,
    skip: int = 30,
    window: int = 100,
    num_negatives: int = 5,
    penalty: float = 1.0,
    metric: str = "cosine",
    seed: SeedLike = 0,
    device: Any = None,
    show_progress: bool = False,
) -> np.ndarray:
    r"""B3++ unified hard negatives: sample each member's negatives from its group's votes.

    For a group :math:`G` (a cluster, as in B3's code, or a whole batch, as in the paper) and
    a candidate target :math:`j`,

    .. math::

        \mathrm{score}(j) = \sum_{i \in G} \mathbb{1}[j \in R_i[p, p + m)]
                            - \lambda \sum_{i \in G} \mathbb{1}[j \in R_i[0, p)]

    where :math:`R_i` is member :math:`i`'s teacher ranking of the targets, ``p = skip``,
    ``m = window`` and :math:`\lambda` = ``penalty`` (B3's code: 1, the paper: 0). Members of
    :math:`G` itself score 0. The group draws ``|G| * num_negatives`` targets without
    replacement with :math:`P(j) \propto \max(\mathrm{score}(j), 0)` and hands each member
    ``num_negatives`` of them; when fewer valid targets exist, they are reused across
    members (never twice for one member), as B3 repeats its candidate set.

    Parameters
    ----------
    X : array-like of shape (n_items, dim)
        Teacher embeddings of the queries (items).
    groups : array-like of shape (n_items,)
        Group of each item, e.g. ``graphneg.communities(graph, cluster_size=K)``.
    targets : array-like of shape (n_items, dim), default=None
        Teacher embeddings of each item's target (positive); target ``j`` belongs to item
        ``j``. ``None`` ranks the items themselves (item ``i`` is never in its own ranking).
    skip : int, default=30
        ``p``: the top ranks treated as likely false negatives.
    window : int, default=100
        ``m``: ranks ``[p, p + m)`` vote for a candidate.
    num_negatives : int, default=5
        ``h`` negatives per item.
    penalty : float, default=1.0
        ``lambda``: how much a top-``p`` occurrence counts against a candidate.
    metric, device, show_progress
        Passed to :func:`graphneg.knn_search`.
    seed : int or Generator, default=0

    Returns
    -------
    ndarray of shape (n_items, num_negatives), int64
        Target indices, ``-1`` where the group had no valid candidate left. Never a member
        of the item's own group.

    See Also
    --------
    graphneg.cluster_batches : B3 batches from the same groups.
    cluster_hard_negatives : negatives from the nearest other cluster (ClusterNS).
    mine_hard_negatives : negatives chosen for each query alone.

    References
    ----------
    .. [1] Thirukovalluru et al., "Breaking the Batch Barrier (B3) of Contrastive Learning via
       Smart Batch Mining", NeurIPS 2025, arXiv:2505.11293.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 8))
    >>> groups = np.repeat(np.arange(6), 10)
    >>> neg = cluster_negatives(X, groups, skip=2, window=10, num_negatives=3)
    >>> neg.shape, bool((groups[neg] != groups[:, None]).all())
    ((60, 3), True)
    """
    X = check_embeddings(X, "X", metric=metric)
    n = X.shape[0]
    groups = check_labels(groups, "groups", n_items=n)
    skip = check_int(skip, "skip", min_value=0)
    window = check_int(window, "window")
    h = check_int(num_negatives, "num_negatives")
    penalty = check_float(penalty, "penalty", min_value=0.0)
    rng = check_rng(seed)
    if targets is not None and np.asarray(targets).shape[0] != n:
        raise ValueError(f"`targets` must have one row per item ({n}), got {np.asarray(targets).shape[0]}.")

    idx, _ = knn_search(
        X, skip + window, targets=targets, metric=metric, device=device, show_progress=show_progress
    )
    gk, cj, score = _group_votes(groups, idx, skip, window, penalty)
    # Gumbel-top-k per group = sampling without replacement with p ~ score
    key = np.log(score) + rng.gumbel(size=score.size)
    order = np.lexsort((-key, gk))
    return _deal_to_members(groups, gk[order], cj[order], h)


def _group_votes(
    groups: np.ndarray, idx: np.ndarray, skip: int, window: int, penalty: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(group, candidate, score)`` of every candidate with a positive score outside its group."""
    n = groups.size
    g_of = np.repeat(groups, skip + window)
    cand = idx.ravel()
    vote = np.tile(np.r_[np.full(skip, -penalty), np.ones(window)], n)
    # sum votes per (group, candidate) pair: sort by key, reduce runs
    n_cols = n
    keys = g_of * n_cols + cand
    order = np.argsort(keys, kind="stable")
    keys, vote = keys[order], vote[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    score = np.add.reduceat(vote, starts)
    gk, cj = keys[starts] // n_cols, keys[starts] % n_cols
    valid = (score > 0) & (groups[cj] != gk)  # never a member of the group itself
    return gk[valid], cj[valid], score[valid]


def _deal_to_members(groups: np.ndarray, gk: np.ndarray, cj: np.ndarray, h: int) -> np.ndarray:
    """Each group's draws (``cj``, sorted by group ``gk`` in draw order) dealt ``h`` to a member."""
    n = groups.size
    n_groups = int(groups.max()) + 1
    g_start = np.searchsorted(gk, np.arange(n_groups))
    g_count = np.bincount(gk, minlength=n_groups)

    # members of each group, in id order, each take the next h draws (cycling if short)
    members = np.argsort(groups, kind="stable")
    rank_in_group = np.arange(n) - np.searchsorted(groups[members], groups[members])
    slot = rank_in_group[:, None] * h + np.arange(h)[None, :]  # (n, h) in member order
    grp = groups[members][:, None]
    count = g_count[grp]
    out_sorted = np.full((n, h), -1, dtype=np.int64)
    has = count > 0
    # cycling through fewer than h candidates would repeat one for a member: cap at count
    usable = has & (np.arange(h)[None, :] < np.maximum(count, 0))
    pick = g_start[grp] + np.where(has, slot % np.maximum(count, 1), 0)
    out_sorted[usable] = cj[pick[usable]]
    out = np.empty_like(out_sorted)
    out[members] = out_sorted
    return out


def pair_margins(positive_scores: Sequence[Any], negative_scores: Sequence[Any]) -> list[np.ndarray]:
    r"""Teacher margins of every (positive, negative) pair of each query.

    For query :math:`q` with positive scores :math:`s^+_i` and negative scores :math:`s^-_j`,
    pair :math:`k = i \cdot n^- + j` has margin :math:`s^+_i - s^-_j` (the input of
    :func:`balanced_margin_pairs`).

    Parameters
    ----------
    positive_scores : sequence of 1-D arrays
        Teacher score of each positive of each query.
    negative_scores : sequence of 1-D arrays
        Teacher score of each negative of each query (same number of queries).

    Returns
    -------
    list of ndarray of float64
        One array of ``n_pos * n_neg`` margins per query; pair ``k`` is positive
        ``k // n_neg`` with negative ``k % n_neg``.

    Raises
    ------
    ValueError
        When the two sequences have different lengths.

    See Also
    --------
    balanced_margin_pairs : samples pairs evenly over these margins.

    Examples
    --------
    >>> pair_margins([[3.0]], [[1.0, 2.5]])[0].tolist()
    [2.0, 0.5]
    """
    if len(positive_scores) != len(negative_scores):
        raise ValueError(
            f"`positive_scores` and `negative_scores` must have one entry per query, got "
            f"{len(positive_scores)} and {len(negative_scores)}."
        )
    return [
        (np.asarray(p, dtype=np.float64)[:, None] - np.asarray(m, dtype=np.float64)[None, :]).ravel()
        for p, m in zip(positive_scores, negative_scores, strict=True)
    ]


def balanced_margin_pairs(
    margins: Sequence[Any],
    *,
    num_bins: int = 10,
    num_samples: int = 1,
    min_pairs: int = 2,
    seed: int = 0,
    epoch: int = 0,
) -> np.ndarray:
    r"""TAS-Balanced pair sampling: a uniform bin of the teacher margin, then a uniform pair.

    For each query its pairs' margins are cut into ``num_bins`` equal-width bins over
    ``[min, max]``; a non-empty bin is drawn uniformly, then a pair uniformly within it:

    .. math::

        P(\text{pair } j) = \frac{1}{|\{b : n_b > 0\}|} \cdot \frac{1}{n_{b(j)}}

    where :math:`n_b` counts the query's pairs in bin :math:`b` and :math:`b(j)` is pair
    :math:`j`'s bin.

    Parameters
    ----------
    margins : sequence of 1-D arrays
        Teacher margin of each candidate pair of each query (see :func:`pair_margins`).
    num_bins : int, default=10
        Equal-width margin bins per query.
    num_samples : int, default=1
        Pairs drawn per query (independently, with replacement, as TAS draws per batch).
    min_pairs : int, default=2
        Queries with fewer pairs get ``-1`` (TAS drops them).
    seed, epoch : int, default=0
        Draws are a function of ``(seed, epoch)``.

    Returns
    -------
    ndarray of shape (n_queries, num_samples), int64
        Index of the chosen pair within each query's ``margins``; ``-1`` for skipped queries.

    See Also
    --------
    pair_margins : the margins it samples from.
    graphneg.topic_batches : TAS's topic-aware batches, the other half of TAS-Balanced.

    References
    ----------
    .. [1] Hofstätter et al., "Efficiently Teaching an Effective Dense Retriever with Balanced
       Topic Aware Sampling", SIGIR 2021, arXiv:2104.06967.

    Examples
    --------
    >>> m = [np.r_[np.full(98, 5.0), 0.0, 0.1]]       # 98 easy pairs, 2 hard ones
    >>> picks = balanced_margin_pairs(m, num_samples=1000, seed=0)
    >>> float(np.mean(picks >= 98)) > 0.4              # hard pairs drawn ~half the time
    True
    """
    n_bins = check_int(num_bins, "num_bins")
    n_samples = check_int(num_samples, "num_samples")
    min_pairs = check_int(min_pairs, "min_pairs")
    rng = epoch_rng(check_int(seed, "seed", min_value=0), check_int(epoch, "epoch", min_value=0))
    arrays = [np.asarray(m, dtype=np.float64).ravel() for m in margins]
    for q, a in enumerate(arrays):
        if a.size and not np.all(np.isfinite(a)):
            raise ValueError(f"`margins` of query {q} contain NaN or inf.")
    sizes = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    out = np.full((len(arrays), n_samples), -1, dtype=np.int64)
    ok = sizes >= min_pairs
    if not ok.any():
        return out
    qid = np.repeat(np.arange(len(arrays)), sizes)
    flat = np.concatenate(arrays)
    local = np.arange(flat.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    lo = np.minimum.reduceat(flat, np.cumsum(sizes) - sizes)[qid] if flat.size else flat
    hi = np.maximum.reduceat(flat, np.cumsum(sizes) - sizes)[qid] if flat.size else flat
    width = np.where(hi > lo, (hi - lo) / n_bins, 1.0)
    b = np.minimum(((flat - lo) / width).astype(np.int64), n_bins - 1)
    # groups = non-empty (query, bin) cells, sorted by query then bin
    cell = qid * n_bins + b
    order = np.argsort(cell, kind="stable")
    cell_sorted = cell[order]
    c_start = np.flatnonzero(np.r_[True, cell_sorted[1:] != cell_sorted[:-1]])
    c_size = np.diff(np.r_[c_start, cell_sorted.size])
    c_query = cell_sorted[c_start] // n_bins
    q_first = np.searchsorted(c_query, np.arange(len(arrays)))
    q_cells = np.bincount(c_query, minlength=len(arrays))
    queries = np.flatnonzero(ok)
    # uniform non-empty bin, then uniform pair inside it
    draws = rng.random((queries.size, n_samples)) * q_cells[queries, None]
    pick_cell = q_first[queries, None] + draws.astype(np.int64)
    within = (rng.random(pick_cell.shape) * c_size[pick_cell]).astype(np.int64)
    out[queries] = local[order[c_start[pick_cell] + within]]
    return out
