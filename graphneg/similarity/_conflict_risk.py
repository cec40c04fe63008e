r"""The risk relation of conflict-free batches: which (query, positive) item pairs conflict.

:func:`conflict_risk` checks the arguments of :func:`graphneg.conflict_free_batches` (and of
the samplers' ``conflicts=`` option, :class:`ConflictSpec`) and builds :class:`ConflictRisk`,
the relation :math:`\mathcal{R}` of :mod:`._conflicts` restricted to the pairs' own items;
:func:`batch_grid` checks a batch plan. The counts and the repair are in :mod:`._conflicts`.
"""

from __future__ import annotations

from typing import Any, TypedDict

import numpy as np
import scipy.sparse as sp

from .._sparse import as_pairs_matrix, graph_pattern, pair_keys, sorted_member, within_hops
from .._validation import check_int, check_keywords

#: largest risk relation (distinct queries x distinct positives) held as a bool table / a bit table
_MAX_TABLE_BYTES = 1 << 25
_MAX_TABLE_BITS = 1 << 28


def _items(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"`{name}` must be a 1-D array of int item ids, got shape {arr.shape}, dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"`{name}` must hold ids >= 0, got {int(arr.min())}.")
    return arr


def batch_grid(batches: Any, n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Batches as a ``(n_batches, max_size)`` int64 grid of pair indices, ``-1`` padded."""
    try:
        rows = [np.asarray(b).ravel() for b in batches]
    except TypeError as err:
        raise TypeError("`batches` must be a sequence of index arrays.") from err
    if not rows:
        raise ValueError("`batches` must hold at least one batch, got none.")
    sizes = np.array([r.size for r in rows], dtype=np.int64)
    flat = np.concatenate(rows)
    if flat.size and not np.issubdtype(flat.dtype, np.integer):
        raise TypeError(f"`batches` must hold int pair indices, got dtype {flat.dtype}.")
    flat = flat.astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= n_pairs):
        bad = flat[(flat < 0) | (flat >= n_pairs)][0]
        raise ValueError(f"`batches` holds pair {int(bad)}, outside the pairs [0, {n_pairs}).")
    if np.unique(flat).size != flat.size:
        raise ValueError("`batches` must hold every pair at most once, got a repeated pair index.")
    grid = np.full((sizes.size, max(int(sizes.max()), 1)), -1, dtype=np.int64)
    grid[np.arange(grid.shape[1]) < sizes[:, None]] = flat
    return grid, sizes


class ConflictRisk:
    """The risk relation on the pairs' own query and positive items, in compact ids.

    Only ``(q_a, d_b)`` lookups with both items taken from pairs are ever made, so the
    relation is restricted to the distinct query items times the distinct positive items.
    It is held as a bool table (up to 32 MiB) or a bit table (up to 32 MiB of bits), a gather
    per lookup, else as sorted int64 keys (a binary search per lookup). Index ``-1`` (padding)
    maps to a row and a column that hold nothing.
    """

    def __init__(self, q: np.ndarray, d: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
        uq, qi = np.unique(q, return_inverse=True)
        ud, di = np.unique(d, return_inverse=True)
        self.query, self.positive = q, d
        self.n_cols = ud.size + 1
        total = (uq.size + 1) * self.n_cols
        small = np.int32 if total < 2**31 else np.int64  # int32 keys: faster arithmetic
        self.qi = np.append(qi.ravel(), uq.size).astype(small)  # qi[-1]: the empty padding row
        self.di = np.append(di.ravel(), ud.size).astype(small)
        r = np.minimum(np.searchsorted(uq, rows), uq.size - 1)
        c = np.minimum(np.searchsorted(ud, cols), ud.size - 1)
        inside = (uq[r] == rows) & (ud[c] == cols)
        keys = np.unique(pair_keys(r[inside], c[inside], self.n_cols))
        self.keys = keys
        self.bytes: np.ndarray | None = None  # one bool per entry: a single gather per lookup
        self.bits: np.ndarray | None = None  # one bit per entry: 8x smaller, three operations
        if total <= _MAX_TABLE_BYTES:
            self.bytes = np.zeros(total, dtype=bool)
            self.bytes[keys] = True
        elif total <= _MAX_TABLE_BITS:
            self.bits = np.zeros((total + 7) // 8, dtype=np.uint8)
            byte = keys >> 3
            first = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
            self.bits[byte[first]] = np.bitwise_or.reduceat(np.left_shift(1, keys & 7).astype(np.uint8), first)

    def hits(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(q_a, d_b) in R`` elementwise (broadcast); padding (``-1``) never hits."""
        key = self.qi[a] * self.qi.dtype.type(self.n_cols) + self.di[b]  # gathers on the small operands
        if self.bytes is not None:
            return self.bytes[key]
        if self.bits is not None:
            return ((self.bits[key >> 3] >> (key & 7).astype(np.uint8)) & 1).astype(bool)
        return sorted_member(self.keys, key)

    def conflict(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return (self.hits(a, b) | self.hits(b, a)) & (a != b)


def _known_rows(known_positives: Any) -> int:
    if sp.issparse(known_positives):
        return known_positives.shape[0]
    try:
        return len(known_positives)
    except TypeError as err:
        raise TypeError(
            "`known_positives` must be a sparse matrix, an int array or a sequence of id lists, "
            f"got {type(known_positives).__name__}."
        ) from err


def _n_columns(positive: np.ndarray, known_positives: Any, A: sp.csr_array | None) -> int:
    if A is not None:
        n = A.shape[0]
        if sp.issparse(known_positives) and known_positives.shape[1] != n:
            raise ValueError(f"`known_positives` has {known_positives.shape[1]} columns but `graph` {n} nodes.")
    elif sp.issparse(known_positives):
        n = known_positives.shape[1]
    else:
        lists = [] if known_positives is None else [np.asarray(r).ravel() for r in known_positives]
        ids = np.concatenate([positive, *lists]) if lists else positive
        n = int(ids.max()) + 1 if ids.size else 1
    if positive.size and positive.max() >= n:
        raise ValueError(f"`positive_items` holds item {int(positive.max())}, outside the items [0, {n}).")
    return max(n, 1)


class GraphRisk(TypedDict, total=False):
    """The graph part of the risk relation: ``graph`` (default None) and ``hops`` (default 1)."""

    graph: Any
    hops: int


class ConflictSpec(GraphRisk, total=False):
    """The ``conflicts=`` option of the community samplers (:mod:`graphneg.training`).

    ``query_items`` and ``positive_items`` (one entry per sampler item) are required; the
    others are the optional arguments of :func:`conflict_free_batches` of the same names.
    """

    query_items: Any
    positive_items: Any
    known_positives: Any
    max_rounds: int


def conflict_risk(
    function: str, query_items: Any, positive_items: Any, known_positives: Any, options: GraphRisk
) -> ConflictRisk:
    """The risk relation of ``function``'s arguments (``options``: its ``**GraphRisk``)."""
    check_keywords(function, GraphRisk, options)
    graph, hops = options.get("graph"), options.get("hops", 1)
    q, d = _items(query_items, "query_items"), _items(positive_items, "positive_items")
    if q.size != d.size:
        raise ValueError(f"`positive_items` must have one item per pair ({q.size}), got {d.size}.")
    if q.size == 0:
        raise ValueError("`query_items` must hold at least one pair, got none.")
    A = None if graph is None else graph_pattern(graph)
    n_cols = _n_columns(d, known_positives, A)
    rows, cols = [q], [d]
    if known_positives is not None:
        n_rows = _known_rows(known_positives)
        if q.max() >= n_rows:
            raise ValueError(f"`query_items` holds query {int(q.max())}, but `known_positives` has {n_rows} rows.")
        K = as_pairs_matrix(known_positives, n_rows, n_cols, "known_positives")
        rows.append(np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(K.indptr)))
        cols.append(K.indices.astype(np.int64))
    if A is not None:
        hops = check_int(hops, "hops")
        if q.max() >= n_cols:
            raise ValueError(f"`query_items` holds node {int(q.max())}, outside the graph's [0, {n_cols}).")
        uq = np.unique(q)
        ball = within_hops(A, uq, hops)
        rows.append(np.repeat(uq, np.diff(ball.indptr)))
        cols.append(ball.indices.astype(np.int64))
    return ConflictRisk(q, d, np.concatenate(rows), np.concatenate(cols))
