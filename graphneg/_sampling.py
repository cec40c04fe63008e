r"""One rejection sampler: per row, ``k`` distinct columns outside a banned pattern.

Used by :func:`graphneg.uniform_link_negatives`, :func:`graphneg.degree_link_negatives`,
SciNCL's easy negatives and :func:`graphneg.link_split` (evaluation negatives). Row :math:`r` draws from

.. math::

    \mathcal C(r) = \{v \in \mathrm{pool}(r) : (r, v) \notin B,\ w_v > 0\}

without replacement, uniformly or with :math:`P(v) \propto w_v` (successive sampling, the
law of ``rng.choice(C, k, replace=False, p=w / w.sum())``). Draws are made in vectorised
rounds: every open row draws about ``missing / acceptance`` candidates, banned ones are
rejected with one ``searchsorted`` on sorted int64 keys, repeats keep their first draw.
Rows whose candidate set is barely larger than what they still need (rejection would cost
more than enumeration), and rows still open after ``max_rounds``, are finished by an exact
draw over their enumerated candidates.

Randomness comes from one generator, or from one generator per block of consecutive output
rows (:class:`RowBlocks`): each block then gets exactly the draws that the sampler called on
that block alone, with its generator, would give, so many small independent requests (the
chunks of a resumable job, each seeded by its number) cost one vectorised call.

Shortage policy (the one rule of every caller): a row is short only when
:math:`|\mathcal C(r)| < k`; it then gets *all* its candidates, in random order, followed by
``-1``. The sampler reports the per-row shortage and never warns or raises itself; each
public caller pads with ``-1`` and emits one :class:`~graphneg.GraphNegWarning` that counts
the short rows (see :func:`warn_short`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._sparse import csr_keys, pair_keys, sorted_member
from .exceptions import GraphNegWarning

__all__ = ["Draw", "RowBlocks", "sample_distinct", "warn_short"]


@dataclass
class Draw:
    """Result of :func:`sample_distinct`.

    Attributes
    ----------
    indices : ndarray of shape (n_rows, k), int64
        Distinct allowed columns per row, ``-1`` padded at the end of short rows.
    n_candidates : ndarray of shape (n_rows,), int64
        :math:`|\\mathcal C(r)|`, the number of allowed columns of each row.
    """

    indices: np.ndarray
    n_candidates: np.ndarray

    @property
    def shortage(self) -> np.ndarray:
        """Missing columns per row: ``k - found`` (0 unless the row has fewer than ``k`` candidates)."""
        return (self.indices < 0).sum(axis=1)


class RowBlocks:
    """One generator per block of consecutive output rows, for :func:`sample_distinct`.

    Block ``b`` is output rows ``bounds[b]:bounds[b + 1]`` and draws from ``generators[b]``
    alone, in the order the sampler would draw for that block by itself.

    Parameters
    ----------
    generators : sequence of numpy Generator
        One per block.
    bounds : array-like of int, shape (len(generators) + 1,)
        Non-decreasing block boundaries, from 0 to the number of output rows.

    Examples
    --------
    >>> blocks = RowBlocks([np.random.default_rng(1), np.random.default_rng(2)], [0, 2, 3])
    >>> blocks.random(np.array([0, 1, 2])).tolist() == [*np.random.default_rng(1).random(2),
    ...                                                 *np.random.default_rng(2).random(1)]
    True
    """

    def __init__(self, generators: Any, bounds: Any) -> None:
        self.generators = list(generators)
        self.bounds = np.asarray(bounds, dtype=np.int64)
        if self.bounds.shape != (len(self.generators) + 1,) or (np.diff(self.bounds) < 0).any():
            raise ValueError("`bounds` must be non-decreasing, one more than `generators`.")

    def random(self, rows: np.ndarray) -> np.ndarray:
        """A uniform number in [0, 1) for each of ``rows`` (ascending), from its block's generator."""
        counts = np.diff(np.searchsorted(rows, self.bounds))
        parts = [g.random(c) for g, c in zip(self.generators, counts.tolist(), strict=True) if c]
        return parts[0] if len(parts) == 1 else np.concatenate([np.zeros(0), *parts])

    def generator(self, row: int) -> np.random.Generator:
        """The generator of output row ``row``."""
        return self.generators[int(np.searchsorted(self.bounds, row, side="right")) - 1]


class _Problem:
    """The fixed parts of one sampling request: pattern, pools, weights, per-row counts."""

    def __init__(self, banned: sp.csr_array, rows: np.ndarray, weights: Any, pool_order: Any,
                 pool_size: Any) -> None:
        n_keys, self.n = banned.shape
        self.rows = rows
        self.keys = csr_keys(banned)
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.order = None if pool_order is None else np.asarray(pool_order, dtype=np.int64)
        self.size = (np.full(n_keys, self.n, np.int64) if pool_size is None
                     else np.asarray(pool_size, dtype=np.int64))
        self.cdf = None
        if self.weights is not None:
            self.cdf = np.cumsum(self.weights)
            if self.cdf[-1] > 0:
                self.cdf /= self.cdf[-1]
        self.n_candidates, self.acceptance = self._counts(banned)

    def _counts(self, banned: sp.csr_array) -> tuple[np.ndarray, np.ndarray]:
        """Allowed columns per row and the fraction of draws that land on one."""
        key_of = np.repeat(np.arange(banned.shape[0]), np.diff(banned.indptr))
        cols = banned.indices
        if self.order is not None:  # banned entries outside the row's pool cost nothing
            rank = np.empty(self.n, dtype=np.int64)
            rank[self.order] = np.arange(self.n)
            inside = rank[cols] < self.size[key_of]
        else:
            inside = np.ones(cols.size, dtype=bool)
        if self.weights is None:
            total = self.size.astype(np.float64)
            lost = np.bincount(key_of[inside], minlength=banned.shape[0]).astype(np.float64)
            n_cand = self.size - lost.astype(np.int64)
        else:
            positive = self.weights > 0
            mass = self.weights.sum()
            total = np.full(banned.shape[0], mass)
            lost = np.bincount(key_of[inside], self.weights[cols[inside]], minlength=banned.shape[0])
            n_cand = int(positive.sum()) - np.bincount(key_of[inside & positive[cols]], minlength=banned.shape[0])
        acc = np.divide(total - lost, total, out=np.zeros_like(total), where=total > 0)
        return n_cand[self.rows], np.clip(acc, 0.0, 1.0)[self.rows]

    def draw(self, rows: np.ndarray, rng: RowBlocks) -> np.ndarray:
        """One candidate column for each entry of ``rows`` (output rows, ascending), from its pool."""
        if self.cdf is not None:
            cols = np.searchsorted(self.cdf, rng.random(rows), side="right")
            return np.minimum(cols, self.n - 1)
        size = self.size[self.rows[rows]]
        pick = (rng.random(rows) * size).astype(np.int64)
        return pick if self.order is None else self.order[pick]

    def allowed(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return ~sorted_member(self.keys, pair_keys(self.rows[rows], cols, self.n))

    def candidates(self, row: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Enumerated allowed columns of one output row, with their probabilities."""
        key = int(self.rows[row])
        pool = np.arange(self.n) if self.order is None else self.order[: self.size[key]]
        pool = pool[self.allowed(np.full(pool.size, row), pool)]
        if self.weights is None:
            return pool, None
        w = self.weights[pool]
        pool, w = pool[w > 0], w[w > 0]
        return pool, (w / w.sum() if w.size else None)


def _check(banned: Any, k: int, rows: Any, weights: Any, pool_order: Any, pool_size: Any) -> np.ndarray:
    if not (sp.issparse(banned) and banned.format == "csr" and banned.has_canonical_format):
        raise TypeError("`banned` must be a canonical CSR pattern (graphneg._sparse.canonical_csr).")
    if k < 0:
        raise ValueError(f"`k` must be >= 0, got {k}.")
    if weights is not None and pool_order is not None:
        raise ValueError("`weights` and pools cannot be combined.")
    if (pool_order is None) != (pool_size is None):
        raise ValueError("`pool_order` and `pool_size` go together.")
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (banned.shape[1],) or not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValueError(f"`weights` must be {banned.shape[1]} finite non-negative numbers.")
    return np.arange(banned.shape[0], dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)


def sample_distinct(
    banned: sp.csr_array,
    k: int,
    rng: np.random.Generator | RowBlocks,
    *,
    rows: Any = None,
    weights: Any = None,
    pool_order: Any = None,
    pool_size: Any = None,
    max_rounds: int = 16,
) -> Draw:
    """Per output row, ``k`` distinct columns not banned for it (see the module docstring).

    Parameters
    ----------
    banned : canonical CSR of shape (n_keys, n_cols)
        Stored entries are banned (their values are ignored).
    k : int
        Columns wanted per row.
    rng : numpy Generator or RowBlocks
        With :class:`RowBlocks`, each block of output rows gets what a call on that block
        alone (its rows of ``rows``) with its generator would give.
    rows : array-like of int, default=None
        Row of ``banned`` (and of ``pool_size``) used by each output row; ``None``: one output
        row per row of ``banned``. Lets many output rows share one pattern row (several
        held-out links of one source).
    weights : array-like of shape (n_cols,), default=None
        Non-negative sampling weights; zero-weight columns are never drawn.
    pool_order, pool_size : arrays, default=None
        Pools: the candidates of pattern row ``i`` are ``pool_order[:pool_size[i]]``
        (time-respecting splits: nodes sorted by year). Not combined with ``weights``.
    max_rounds : int, default=16
        Vectorised rejection rounds before the remaining rows are drawn exactly.

    Returns
    -------
    Draw
        ``indices`` (``-1`` padded only where a row has fewer than ``k`` candidates) and the
        candidate counts.

    Examples
    --------
    >>> from graphneg._sparse import canonical_csr
    >>> B = canonical_csr(sp.csr_array(np.array([[1, 1, 0, 0, 0], [0, 0, 1, 1, 1]])))
    >>> d = sample_distinct(B, 2, np.random.default_rng(0))
    >>> sorted(d.indices[0].tolist()) in ([2, 3], [2, 4], [3, 4]), sorted(d.indices[1].tolist())
    (True, [0, 1])
    >>> sample_distinct(B, 3, np.random.default_rng(0)).shortage.tolist()
    [0, 1]
    """
    rows = _check(banned, k, rows, weights, pool_order, pool_size)
    if not isinstance(rng, RowBlocks):
        rng = RowBlocks([rng], [0, rows.size])
    elif rng.bounds[0] != 0 or rng.bounds[-1] != rows.size:
        raise ValueError(f"`rng` blocks must cover the {rows.size} output rows, got bounds {rng.bounds[[0, -1]]}.")
    prob = _Problem(banned, rows, weights, pool_order, pool_size)
    out = np.full((rows.size, k), -1, dtype=np.int64)
    need = np.minimum(prob.n_candidates, k)
    filled = np.zeros(rows.size, dtype=np.int64)
    for _ in range(max_rounds):
        missing = need - filled
        # rejection only where it is cheaper than enumerating the row's candidates
        open_rows = np.flatnonzero((missing > 0) & (prob.n_candidates - filled >= 2 * missing))
        if open_rows.size == 0:
            break
        _round(prob, out, filled, need, open_rows, rng)
    for row in np.flatnonzero(filled < need):
        _finish_exactly(prob, out, filled, need, int(row), rng)
    return Draw(out, prob.n_candidates)


def _round(prob: _Problem, out: np.ndarray, filled: np.ndarray, need: np.ndarray,
           open_rows: np.ndarray, rng: RowBlocks) -> None:
    """One vectorised rejection round over ``open_rows``; fills ``out`` and ``filled`` in place."""
    missing = need[open_rows] - filled[open_rows]
    # about the expected number of draws (a row left a few short is finished next round,
    # which costs little: only such rows take part)
    want = np.ceil((missing + 1) / np.maximum(prob.acceptance[open_rows], 1e-3)).astype(np.int64) + 1
    r = np.repeat(open_rows, np.minimum(want, 8 * missing + 64))
    c = prob.draw(r, rng)
    # one stable sort by (row, column) key serves all three tests: repeats are adjacent (the
    # first of a run is the earliest draw), and sorted queries make the lookups cache-friendly
    key = pair_keys(r, c, prob.n)
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    ok = np.ones(key.size, dtype=bool)
    ok[1:] = key_sorted[1:] != key_sorted[:-1]
    ok &= prob.allowed(r[order], c[order])
    if filled[open_rows].any():  # not a column already placed in its row in an earlier round
        placed = out[open_rows]
        placed_rows = np.repeat(open_rows, (placed >= 0).sum(axis=1))
        ok &= ~sorted_member(np.sort(pair_keys(placed_rows, placed[placed >= 0], prob.n)), key_sorted)
    acc = np.sort(order[ok])  # accepted draws, back in draw order (sequential semantics)
    acc_rows = r[acc]
    starts = np.r_[0, np.flatnonzero(acc_rows[1:] != acc_rows[:-1]) + 1] if acc.size else np.empty(0, np.int64)
    rank = np.arange(acc.size) - np.repeat(starts, np.diff(np.r_[starts, acc.size]))
    slot = filled[acc_rows] + rank
    fit = slot < need[acc_rows]
    out[acc_rows[fit], slot[fit]] = c[acc[fit]]
    filled += np.bincount(acc_rows[fit], minlength=filled.size)


def _finish_exactly(prob: _Problem, out: np.ndarray, filled: np.ndarray, need: np.ndarray, row: int,
                    rng: RowBlocks) -> None:
    cand, p = prob.candidates(row)
    placed = out[row, : filled[row]]
    if placed.size:
        keep = ~np.isin(cand, placed)
        cand = cand[keep]
        if p is not None:
            p = p[keep] / p[keep].sum() if keep.any() else None
    take = min(int(need[row] - filled[row]), cand.size)
    if take:
        out[row, filled[row] : filled[row] + take] = rng.generator(row).choice(cand, take, replace=False, p=p)
        filled[row] += take


def warn_short(indices: np.ndarray, k: int, rows_name: str, items_name: str, *, stacklevel: int = 3) -> int:
    """The shared shortage rule of the public callers: count short rows, warn once, return the count.

    A row is short when it holds a ``-1``; the warning counts them and names the first.

    >>> warn_short(np.array([[1, 2], [3, 4]]), 2, "sources", "negatives")
    0
    """
    short = (indices < 0).any(axis=1) if k else np.zeros(indices.shape[0], dtype=bool)
    num_short = int(short.sum())
    if num_short:
        warnings.warn(
            f"{num_short} of {indices.shape[0]} {rows_name} got fewer than {k} {items_name} (too few "
            f"candidates after exclusions; first short row: {int(np.flatnonzero(short)[0])}); "
            "their rows are padded with -1.",
            GraphNegWarning,
            stacklevel=stacklevel,
        )
    return num_short
