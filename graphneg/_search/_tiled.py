"""Row-wise top-k over score tiles that stay in cache (the CPU hot path of exact kNN and mining).

A row block's scores against all ``m`` targets are never materialised. They are produced one
column tile at a time (``rows x tile``, a few MiB) and each tile is filtered against a per-row
threshold ``thr`` that is always a *lower bound* of the row's final ``want``-th best score:

* it starts from the first tile: the ``want``-th largest of its strided-group maxima (``want``
  distinct targets reach it, so the row's ``want``-th best can only be higher);
* it rises whenever the row's candidate pool is compacted to its best ``want`` entries.

So an entry below ``thr`` can never be in the answer and is dropped while the tile is still hot.
The filter is one vectorised max-reduction per tile over *strided groups* (columns ``j, j + w/g,
j + 2w/g, ...``: an element-wise maximum of contiguous rows, memory speed), and only groups whose
maximum reaches ``thr`` are looked at element by element. With ``t`` tiles a row keeps about
``want * (1 + ln t)`` candidates in expectation, so selection costs a few per cent of the GEMM.
Everything is numpy: no OpenMP pool spins against the BLAS threads between tiles.

With ``slack`` the same machinery keeps every entry within ``slack`` of the ``want``-th best,
the candidate set of the certified bf16 search (see :func:`graphneg._search._blocks.tiled_blocks`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# strided groups per tile: the filter reads the tile once and compares tile/_GROUPS maxima
_GROUPS = 32
# pool capacity in multiples of want: compacting sooner raises the threshold sooner
_POOL_FACTOR = 2


class _Pool:
    """Candidate pool of a row block: (value, column) entries per row, compacted lazily.

    With ``slack``, compaction keeps every entry within ``slack`` of the row's ``want``-th
    best (a variable number per row) and the threshold is that bound, not the ``want``-th best.
    """

    def __init__(self, rows: int, want: int, thr: np.ndarray, slack: np.ndarray | None) -> None:
        self.want = want
        # a slack pool keeps more than want per row: room for it, or it compacts every tile
        self.width = (_POOL_FACTOR if slack is None else 2 * _POOL_FACTOR) * want
        self.val = np.full((rows, self.width), -np.inf, dtype=np.float32)
        self.col = np.full((rows, self.width), -1, dtype=np.int64)
        self.fill = np.zeros(rows, dtype=np.int64)
        self.slack = slack
        self.thr = thr if slack is None else thr - slack

    def compact(self) -> None:
        """Keep each row's best entries and raise ``thr`` (the ``want``-th best, minus slack)."""
        w = self.want
        if self.slack is None:
            if self.width > w:
                part = np.argpartition(self.val, self.width - w, axis=1)[:, self.width - w :]
                best_v = np.take_along_axis(self.val, part, axis=1)
                best_c = np.take_along_axis(self.col, part, axis=1)
                self.val[:, :w], self.col[:, :w] = best_v, best_c
                self.val[:, w:], self.col[:, w:] = -np.inf, -1
            np.maximum(self.thr, self.val[:, :w].min(axis=1), out=self.thr)
            self.fill[:] = w
            return
        kth = np.partition(self.val, self.width - w, axis=1)[:, self.width - w]
        np.maximum(self.thr, kth - self.slack, out=self.thr)
        keep = self.val >= self.thr[:, None]
        # pack the kept entries to the left of each row, in place of a sort
        r, c = np.nonzero(keep)
        pos = np.cumsum(keep, axis=1)[r, c] - 1
        val, col = self.val[r, c], self.col[r, c]
        self.val.fill(-np.inf)
        self.col.fill(-1)
        self.val[r, pos], self.col[r, pos] = val, col
        self.fill = keep.sum(axis=1)

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
        counts = np.bincount(rows, minlength=self.fill.size)
        if int((self.fill + counts).max()) > self.width:
            self.compact()
            keep = vals >= self.thr[rows]
            rows, cols, vals = rows[keep], cols[keep], vals[keep]
            counts = np.bincount(rows, minlength=self.fill.size)
            need = int((self.fill + counts).max())
            if need > self.width - self.want // 2:  # the pool stays crowded: widen it
                extra = need - self.width + self.want
                self.val = np.pad(self.val, ((0, 0), (0, extra)), constant_values=-np.inf)
                self.col = np.pad(self.col, ((0, 0), (0, extra)), constant_values=-1)
                self.width += extra
        # rows come sorted (np.nonzero is row-major): position = fill + rank within the row
        first = np.cumsum(counts) - counts
        pos = self.fill[rows] + np.arange(rows.size) - first[rows]
        self.val[rows, pos] = vals
        self.col[rows, pos] = cols
        self.fill += counts

    def result(self, ordered: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """``want`` entries per row, or with ``slack`` all entries within it of the ``want``-th
        best (``-inf`` / ``-1`` padding); ``ordered``: values descending, ties by ascending column."""
        self.compact()
        width = self.want if self.slack is None else int(self.fill.max())
        v, c = self.val[:, :width], self.col[:, :width]
        if not ordered:
            return v, c
        order = np.lexsort((c, -v), axis=1)
        return np.take_along_axis(v, order, axis=1), np.take_along_axis(c, order, axis=1)


def tiled_topk(
    score_range: Callable[[int, int], np.ndarray],
    rows: int,
    n_targets: int,
    want: int,
    tile: int,
    exclude: np.ndarray | None = None,
    slack: np.ndarray | None = None,
    ordered: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-``want`` of a ``rows x n_targets`` score matrix produced tile by tile.

    Parameters
    ----------
    score_range : callable
        ``score_range(c0, c1)`` returns the float32 ``rows x (c1 - c0)`` scores of targets
        ``c0..c1`` (C-contiguous; it may reuse one buffer, which is modified in place).
    rows, n_targets, want : int
        Block shape and how many entries to keep per row (``want <= n_targets``, minus one with
        ``exclude``).
    tile : int
        Columns per tile; a multiple of 32 (the strided groups of the fast filter) is fastest.
    exclude : ndarray of int, optional
        One column per row that must never be returned (the item itself); ``-1`` for none.
    slack : ndarray of float32, shape (rows,), optional
        Return, instead of the top ``want``, every entry within ``slack[r]`` of row ``r``'s
        ``want``-th best: the candidate set of a reduced-precision pass whose scores are off
        by at most ``slack / 2``, which then provably holds the exact top ``want``.

    Returns
    -------
    values : ndarray of float32, shape (rows, want) or (rows, width) with ``slack``
        Sorted descending; ties resolve by ascending column; ``-inf`` pads short rows.
    columns : ndarray of int64, same shape (``-1`` pads)

    Examples
    --------
    >>> S = np.array([[0.1, 0.9, 0.5, 0.7], [0.3, 0.2, 0.8, 0.6]], dtype=np.float32)
    >>> v, c = tiled_topk(lambda a, b: S[:, a:b].copy(), 2, 4, 2, tile=2)
    >>> c
    array([[1, 3],
           [2, 3]])
    """
    if n_targets <= tile and slack is None:  # one tile (e.g. an IVF list): one selection pass
        return _single_tile_topk(score_range(0, n_targets), want, exclude, ordered)
    pool: _Pool | None = None
    for c0 in range(0, n_targets, tile):
        c1 = min(c0 + tile, n_targets)
        T = score_range(c0, c1)
        if exclude is not None:
            _exclude(T, exclude, c0, c1)
        if pool is None:
            thr = _first_threshold(T, want)
            pool = _Pool(rows, want, thr, slack)
        r, c = _candidates(T, pool.thr)
        if r.size:
            pool.add(r, c + c0, T[r, c])
    assert pool is not None
    return pool.result(ordered)


def _single_tile_topk(
    T: np.ndarray, want: int, exclude: np.ndarray | None, ordered: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`tiled_topk` of a block that is one tile: one partition, then a sort of ``want``."""
    if exclude is not None:
        _exclude(T, exclude, 0, T.shape[1])
    w = T.shape[1]
    part = np.argpartition(T, w - want, axis=1)[:, w - want :] if want < w else np.broadcast_to(np.arange(w), T.shape)
    v = np.take_along_axis(T, part, axis=1)
    if not ordered:
        return v, part.astype(np.int64)
    order = np.lexsort((part, -v), axis=1)
    return np.take_along_axis(v, order, axis=1), np.take_along_axis(part, order, axis=1).astype(np.int64)


def _first_threshold(T: np.ndarray, want: int) -> np.ndarray:
    """A lower bound of each row's ``want``-th best score, from the first tile.

    The ``want``-th largest of the strided-group maxima: ``want`` distinct groups each hold an
    entry at least that large, so at least ``want`` targets reach it.
    """
    rows, w = T.shape
    span = w // _GROUPS
    if w % _GROUPS == 0 and span >= 2 * want:
        gmax = T.reshape(rows, _GROUPS, span).max(axis=1)
        return np.partition(gmax, span - want, axis=1)[:, span - want].astype(np.float32)
    if w >= want:
        return np.partition(T, w - want, axis=1)[:, w - want].astype(np.float32)
    return np.full(rows, -np.inf, dtype=np.float32)


def _exclude(S: np.ndarray, exclude: np.ndarray, c0: int, c1: int) -> None:
    hit = (exclude >= c0) & (exclude < c1)
    S[np.flatnonzero(hit), exclude[hit] - c0] = -np.inf


def _candidates(T: np.ndarray, thr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the entries of ``T`` at or above their row's threshold, row-major."""
    rows, w = T.shape
    g = _GROUPS
    if w % g or w < 8 * g:  # small or ragged tile: compare every element
        return np.nonzero(T >= thr[:, None])
    span = w // g
    T3 = T.reshape(rows, g, span)  # group j = columns j, j + span, j + 2 span, ...
    gmax = T3.max(axis=1)  # element-wise maximum of g contiguous slices
    gr, gj = np.nonzero(gmax >= thr[:, None])
    if gr.size == 0:
        return gr, gj
    vals = T3[gr, :, gj]  # (n, g): the members of each hit group
    hit_n, hit_t = np.nonzero(vals >= thr[gr][:, None])
    # gr is row-major and hit_n ascending, so the rows stay sorted as the pool expects
    return gr[hit_n], gj[hit_n] + hit_t * span
