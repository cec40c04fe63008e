"""Numbers about one epoch of batches, each next to the same numbers for random batches.

The random control keeps every batch's size and the epoch's items (a seeded shuffle of the
items across batches), so any difference is the grouping, not size or coverage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._ids import check_index_array
from .._random import SeedLike, check_rng
from .._search._blocks import progress
from .._validation import check_int, safe_normalize
from ..similarity._diagnostics import batch_stats
from ._numbers import distribution

logger = logging.getLogger(__name__)

# per-batch shares computed by batch_stats: (its key, our name, the input that gives it)
_PER_BATCH = (("mean_cosine", "mean_cosine", "embeddings"), ("same_label_share", "same_label_share", "labels"),
              ("edge_share", "link_share", "links"), ("edge_share", "known_positive_share", "positives"))


def batch_summary(
    batches: Sequence[Any],
    num_items: int,
    *,
    embeddings: Any = None,
    labels: Any = None,
    positives: Any = None,
    links: Any = None,
    num_replicas: int = 1,
    max_batches: int = 200,
    seed: SeedLike = 0,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Hardness, false-negative shares, size spread, coverage and rank shares of a batch epoch.

    Parameters
    ----------
    batches : sequence of int arrays
        One epoch of item ids.
    num_items : int
        Dataset size (for coverage and the random control).
    embeddings : array-like of shape (num_items, dim), default=None
        Gives in-batch cosine and, with ``positives`` or ``links``, positive vs negative similarity.
    labels : array-like of shape (num_items,), default=None
        Same-label pairs (likely false negatives).
    positives : sparse array of shape (num_items, num_items), default=None
        Known positives (qrels between items): in-batch pairs that are known positives.
    links : sparse array of shape (num_items, num_items), default=None
        A link graph (e.g. citations): in-batch pairs joined by a link.
    num_replicas : int, default=1
        DDP ranks: ``ranks`` counts each rank's batches and items (rank ``r`` takes batches
        ``r, r + R, ...``).
    max_batches : int, default=200
        Batches sampled (seeded) for the per-batch distributions.
    seed : int or numpy.random.Generator, default=0
        The random control and the samples.
    show_progress : bool, default=False
        A progress bar over the sampled batches.

    Returns
    -------
    dict
        ``num_batches``, ``sizes`` (distribution), ``stats`` (:func:`graphneg.batch_stats` of
        ``"graphneg"`` and ``"random"``), ``per_batch`` (per share, a distribution for each),
        ``positive_vs_negative`` (when positives are known and embeddings given) and ``ranks``.

    Examples
    --------
    >>> s = batch_summary([[0, 1], [2, 3]], 4, labels=[0, 0, 1, 1])
    >>> s["stats"]["graphneg"]["same_label_share"], s["ranks"]["batches_per_rank"]
    (1.0, [2])
    """
    rng = check_rng(seed)
    num_replicas = check_int(num_replicas, "num_replicas")
    ours = [check_index_array(b, f"batches[{i}]") for i, b in enumerate(batches)]  # the one id rule
    control = random_control(ours, rng)
    inputs = {"embeddings": embeddings, "labels": labels, "links": links, "positives": positives}
    kw = dict(embeddings=embeddings, labels=labels, graph=links if links is not None else positives,
              num_items=num_items)
    sizes = np.array([b.size for b in ours])
    out: dict[str, Any] = {
        "num_batches": len(ours),
        "sizes": distribution(sizes, integer=True),
        "stats": {"graphneg": batch_stats(ours, **kw), "random": batch_stats(control, **kw)},
        "per_batch": {},
    }
    pick = np.sort(rng.choice(len(ours), min(max_batches, len(ours)), replace=False))
    for key, name, needs in _PER_BATCH:
        if inputs[needs] is not None:
            logger.info("per-batch %s of %d sampled batches", name, pick.size)
            values = {side: np.array([_one_batch(group[i], needs, inputs[needs])[key]
                                      for i in progress(pick, pick.size, show_progress, f"{name} ({side})")])
                      for side, group in (("graphneg", ours), ("random", control))}
            out["per_batch"][name] = {side: distribution(v, value_range=_range(key, values))
                                      for side, v in values.items()}
    known = positives if positives is not None else links
    if embeddings is not None and known is not None:
        out["positive_vs_negative"] = {
            side: positive_vs_negative(progress([group[i] for i in pick], pick.size, show_progress,
                                                f"positive vs negatives ({side})"), embeddings, known, seed=rng)
            for side, group in (("graphneg", ours), ("random", control))
        }
    out["ranks"] = rank_counts(ours, num_replicas)
    return out


def _one_batch(batch: np.ndarray, needs: str, data: Any) -> dict[str, float]:
    """batch_stats of one batch on the batch's own rows, so that each call costs O(batch)."""
    if needs == "embeddings":
        return batch_stats([np.arange(batch.size)], embeddings=np.asarray(data)[batch])
    if needs == "labels":
        return batch_stats([np.arange(batch.size)], labels=np.asarray(data)[batch])
    G = sp.csr_array(getattr(data, "adjacency", data))
    return batch_stats([np.arange(batch.size)], graph=G[batch][:, batch])


def _range(key: str, values: dict[str, np.ndarray]) -> tuple[float, float]:
    """One histogram range for both sides, so that graphneg's and the random bins line up."""
    both = np.concatenate(list(values.values()))
    both = both[~np.isnan(both)]
    if both.size == 0:
        return (-1.0, 1.0) if key == "mean_cosine" else (0.0, 1.0)
    lo = float(both.min()) if key == "mean_cosine" else 0.0  # shares: from 0 to the largest seen
    return (lo, max(float(both.max()), lo + 1e-3))


def random_control(batches: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The same items and batch sizes, items shuffled across batches (a new list).

    Examples
    --------
    >>> b = random_control([np.array([0, 1]), np.array([2])], np.random.default_rng(0))
    >>> [x.size for x in b], sorted(np.concatenate(b).tolist())
    ([2, 1], [0, 1, 2])
    """
    flat = rng.permutation(np.concatenate(batches)) if batches else np.empty(0, np.int64)
    return np.split(flat, np.cumsum([b.size for b in batches])[:-1])


def positive_vs_negative(batches: Sequence[np.ndarray], embeddings: Any, positives: Any, *,
                         seed: SeedLike = 0) -> dict[str, Any]:
    """Cosine of each item's positive against its in-batch negatives.

    For every item with a known positive (one drawn at random, seeded), the positive's cosine,
    the hardest (highest) and the mean cosine of the other batch members that are not known
    positives, and how many batch members are known positives (false negatives a plain
    in-batch loss would push away).

    Parameters
    ----------
    batches : sequence of int arrays
    embeddings : array-like of shape (n_items, dim)
    positives : sparse array of shape (n_items, n_items)
        ``positives[i, j] != 0``: ``j`` is a positive of ``i`` (either direction counts).
    seed : int or numpy.random.Generator, default=0

    Returns
    -------
    dict
        ``queries`` (items with a positive), ``positive``, ``hardest_negative`` and
        ``mean_negative`` (distributions), ``hardest_beats_positive_share`` and
        ``false_negatives_per_query`` (mean known positives among the in-batch negatives).

    Examples
    --------
    >>> E = np.array([[1.0, 0], [0.9, 0.1], [0, 1.0], [0.1, 0.9]])
    >>> P = sp.csr_array(np.array([[0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]))
    >>> r = positive_vs_negative([np.array([0, 1, 3])], E, P)
    >>> r["queries"], r["hardest_beats_positive_share"]
    (2, 1.0)
    """
    rng = check_rng(seed)
    E = safe_normalize(embeddings, "embeddings")
    P = sp.csr_array(getattr(positives, "adjacency", positives))
    P = ((P + P.T) != 0).astype(np.int8).tocsr()  # either direction; a new array
    P.setdiag(0)
    P.eliminate_zeros()
    degree = np.diff(P.indptr)
    pos, hard, mean, false_neg = [], [], [], []
    for i, b in enumerate(batches):
        b = check_index_array(b, f"batches[{i}]")
        S = E[b] @ E[b].T
        neg = (P[b][:, b].toarray() == 0) & (b[:, None] != b[None, :])  # not a known positive, not itself
        keep = (degree[b] > 0) & neg.any(axis=1)
        if not keep.any():
            continue
        q = b[keep]
        drawn = P.indices[P.indptr[q] + rng.integers(0, degree[q])]  # one positive per query, seeded
        pos.append(np.einsum("ij,ij->i", E[q], E[drawn]))
        hard.append(np.where(neg, S, -np.inf)[keep].max(axis=1))
        mean.append((np.where(neg, S, 0.0).sum(axis=1) / np.maximum(neg.sum(axis=1), 1))[keep])
        false_neg.append(((~neg) & (b[:, None] != b[None, :])).sum(axis=1)[keep])
    pos, hard, mean, false_neg = (np.concatenate(x) if x else np.empty(0) for x in (pos, hard, mean, false_neg))
    pos_a, hard_a = pos, hard
    return {
        "queries": int(pos.size),
        "positive": distribution(pos_a, value_range=(-1.0, 1.0), bins=40),
        "hardest_negative": distribution(hard_a, value_range=(-1.0, 1.0), bins=40),
        "mean_negative": distribution(mean, value_range=(-1.0, 1.0), bins=40),
        "hardest_beats_positive_share": float((hard_a > pos_a).mean()) if pos.size else None,
        "false_negatives_per_query": float(np.mean(false_neg)) if pos.size else None,
    }


def rank_counts(batches: Sequence[np.ndarray], num_replicas: int) -> dict[str, Any]:
    """Batches and items each DDP rank gets when rank ``r`` takes batches ``r, r + R, ...``.

    Examples
    --------
    >>> rank_counts([np.arange(4), np.arange(4), np.arange(2)], 2)["batches_per_rank"]
    [2, 1]
    """
    from ..training._sharding import rank_share

    shares = [rank_share(list(batches), num_replicas, r, "batches") for r in range(num_replicas)]
    counts = [len(s) for s in shares]
    return {
        "num_replicas": int(num_replicas),
        "batches_per_rank": counts,
        "items_per_rank": [int(sum(b.size for b in s)) for s in shares],
        # unequal counts hang DDP at the last step unless the sampler pads or drops
        "even": len(set(counts)) == 1,
    }
