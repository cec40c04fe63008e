"""Private sparse kernels shared by both pipelines: one home for each.

Every function here treats its arguments as read-only. scipy shares index arrays between a
matrix and the matrices built from it (``sp.csr_array(A)``, ``A.astype(...)`` with
``copy=False``, ``csr_array((data, A.indices, A.indptr))``), and ``sum_duplicates`` /
``sort_indices`` work in place, so canonicalising a caller's matrix without a copy rewrites
the caller's arrays (and, when the data array was replaced, moves its weights to the wrong
columns). :func:`canonical_csr` is the only place that canonicalises, and it copies first.

Membership of ``(row, col)`` pairs is tested on sorted int64 keys ``row * n_cols + col``:
:func:`pair_keys` builds them, :func:`sorted_member` looks queries up with one
``searchsorted``, O((nnz + q) log nnz) time and O(nnz + q) memory, with no dense
``n_rows x n_cols`` structure.

Graphs as plain adjacency: :func:`graph_pattern` (boolean, no self-loops, symmetrised unless
directed), :func:`hop_frontiers` (sparse breadth-first expansion) and :func:`within_hops`
(k-hop balls) serve the batch-time conflict checks, the k-hop false-negative masks and the random-walk batches.

The zero rule, one for the whole package: an edge (or a pair) is a *nonzero* entry. An
explicitly stored ``0`` is no edge for walks, masks, conflicts, communities, link graphs and
positives alike, so a result depends on a matrix's values, never on how scipy stores them
(``A`` and ``sp.csr_array(A.toarray())`` give the same answer). :func:`graph_pattern` and
:func:`as_pairs_matrix` apply it; :func:`graphneg._validation.check_graph` does for weighted
graphs. (Negative weights are stored values, hence edges.)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp


def canonical_csr(matrix: Any, *, dtype: Any = None, name: str = "graph") -> sp.csr_array:
    """A canonical copy of a sparse matrix: CSR, sorted indices, duplicates summed.

    The input is never modified; the result owns its arrays. Explicitly stored zeros are kept
    (a storage-level copy; :func:`nonzero_pattern` is where zeros stop being entries).

    >>> A = sp.csr_array((np.array([2.0, 1.0]), np.array([5, 3]), np.array([0, 2])), shape=(1, 10))
    >>> B = canonical_csr(A)
    >>> B.indices.tolist(), B.data.tolist(), A.indices.tolist()
    ([3, 5], [1.0, 2.0], [5, 3])
    """
    if not sp.issparse(matrix):
        raise TypeError(f"`{name}` must be a scipy sparse matrix or array, got {type(matrix).__name__}.")
    M = sp.csr_array(matrix, copy=True)
    if dtype is not None and M.dtype != dtype:
        M = M.astype(dtype)  # a fresh data array; indices stay aligned with it
    if not M.has_canonical_format:
        M.sum_duplicates()  # sorts and merges in place, on our copy only
    return M


def pattern(matrix: sp.csr_array) -> sp.csr_array:
    """Boolean pattern of the stored entries of a canonical CSR, sharing nothing with it."""
    return sp.csr_array(
        (np.ones(matrix.nnz, dtype=bool), matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape
    )


def nonzero_pattern(matrix: Any, name: str = "graph") -> sp.csr_array:
    """Boolean canonical CSR of the *nonzero* entries of a sparse matrix (the zero rule).

    An explicitly stored ``0`` is not an entry, so the answer does not depend on storage.
    The input is never modified.

    >>> A = sp.csr_array((np.array([0.0, 2.0]), np.array([1, 2]), np.array([0, 2])), shape=(1, 3))
    >>> A.nnz, nonzero_pattern(A).nnz, nonzero_pattern(A).indices.tolist()
    (2, 1, [2])
    """
    M = canonical_csr(matrix, name=name)
    M.eliminate_zeros()  # our copy only
    return pattern(M)


def pair_keys(rows: Any, cols: Any, n_cols: int) -> np.ndarray:
    """int64 keys ``rows * n_cols + cols`` (sorted when the pairs are row-major sorted)."""
    return np.asarray(rows, dtype=np.int64) * np.int64(n_cols) + np.asarray(cols, dtype=np.int64)


def csr_keys(matrix: sp.csr_array) -> np.ndarray:
    """Sorted int64 keys of the stored entries of a *canonical* CSR matrix."""
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    return pair_keys(rows, matrix.indices, matrix.shape[1])


def sorted_member(sorted_keys: np.ndarray, queries: Any) -> np.ndarray:
    """Boolean array of ``queries.shape``: is each query in ``sorted_keys``?

    >>> sorted_member(np.array([2, 5, 9]), np.array([[5, 6], [9, 0]])).tolist()
    [[True, False], [True, False]]
    """
    q = np.asarray(queries, dtype=np.int64)
    if sorted_keys.size == 0:
        return np.zeros(q.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, q), sorted_keys.size - 1)
    return sorted_keys[pos] == q


def csr_member(matrix: sp.csr_array, rows: Any, cols: Any) -> np.ndarray:
    """Is ``(rows[i], cols[i])`` a stored entry of the canonical CSR ``matrix``?

    Negative ``cols`` (padding) are never members.

    >>> P = sp.csr_array(np.array([[0, 1, 0], [1, 0, 1]]))
    >>> csr_member(P, np.array([0, 1, 1]), np.array([1, 1, -1])).tolist()
    [True, False, False]
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    hit = sorted_member(csr_keys(matrix), pair_keys(rows, np.maximum(cols, 0), matrix.shape[1]))
    return hit & (cols >= 0)


def as_pairs_matrix(pairs: Any, n_rows: int, n_cols: int, name: str) -> sp.csr_array:
    """Normalise "items per row" input to a boolean ``(n_rows, n_cols)`` canonical CSR pattern.

    Accepts a sparse matrix (its nonzero entries: a stored 0 is no pair), a 1-D int array (one column
    per row), a 2-D int array padded with ``-1``, or a sequence of int sequences. Raises on
    out-of-range ids. The input is never modified.

    >>> as_pairs_matrix([[2, 0], [], [1, 1]], 3, 4, "positives").toarray().astype(int).tolist()
    [[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]]
    """
    if sp.issparse(pairs):
        if pairs.shape != (n_rows, n_cols):
            raise ValueError(f"`{name}` must have shape ({n_rows}, {n_cols}), got {pairs.shape}.")
        return nonzero_pattern(pairs, name=name)
    lists = _index_lists(pairs, name)
    if len(lists) != n_rows:
        raise ValueError(f"`{name}` must have one entry per query ({n_rows}), got {len(lists)}.")
    lengths = np.fromiter((len(p) for p in lists), dtype=np.int64, count=n_rows)
    cols = np.concatenate([np.asarray(p).ravel() for p in lists]) if n_rows else np.empty(0)
    if cols.size and not np.issubdtype(cols.dtype, np.integer):
        if not np.issubdtype(cols.dtype, np.number) or not np.all(np.mod(cols, 1) == 0):
            raise TypeError(f"`{name}` must hold integer corpus indices, got dtype {cols.dtype}.")
    cols = cols.astype(np.int64)
    if cols.size and (cols.min() < 0 or cols.max() >= n_cols):
        bad = cols[(cols < 0) | (cols >= n_cols)][0]
        raise ValueError(f"`{name}` holds index {int(bad)}, outside the corpus [0, {n_cols}).")
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    M = sp.csr_array((np.ones(cols.size, bool), cols, indptr), shape=(n_rows, n_cols))
    M.sum_duplicates()  # our own arrays
    return M


def _index_lists(pairs: Any, name: str) -> list[Any]:
    if isinstance(pairs, np.ndarray) and np.issubdtype(pairs.dtype, np.integer):
        if pairs.ndim == 1:
            return [pairs[i : i + 1] for i in range(pairs.size)]
        if pairs.ndim == 2:
            return [row[row >= 0] for row in pairs]  # -1 padded rows
    try:
        return [np.atleast_1d(np.asarray(p)) for p in pairs]
    except TypeError as err:
        raise TypeError(f"`{name}` must be a sequence of index lists or a sparse matrix.") from err


def symmetric(matrix: Any, mode: str = "union", *, keep_diagonal: bool = False) -> sp.csr_array:
    """Symmetric version of a square sparse matrix (read-only): a new canonical CSR.

    ``"union"`` keeps a pair stored in either direction with the larger weight, ``"mutual"``
    only pairs stored in both directions, with the smaller weight. Works for any weight sign
    and keeps explicit zeros (``maximum``/``minimum`` of sparse arrays would not). The dtype
    is kept; the diagonal is dropped unless ``keep_diagonal``.

    >>> A = sp.csr_array(np.array([[0, 2.0, 0], [1.0, 0, 3.0], [0, 0, 0]]))
    >>> symmetric(A).toarray().tolist()
    [[0.0, 2.0, 0.0], [2.0, 0.0, 3.0], [0.0, 3.0, 0.0]]
    >>> symmetric(A, "mutual").toarray().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if mode not in ("union", "mutual"):
        raise ValueError(f"`mode` must be 'union' or 'mutual', got {mode!r}.")
    G = sp.coo_array(canonical_csr(matrix))  # duplicates merged, on a copy
    n = G.shape[0]
    off = np.ones(G.nnz, dtype=bool) if keep_diagonal else G.row != G.col
    r, c, v = G.row[off].astype(np.int64), G.col[off].astype(np.int64), G.data[off]
    # each stored entry enters once per direction; grouping by key then reduces the pair
    keys = np.concatenate([r * n + c, c * n + r])
    vals = np.concatenate([v, v])
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    if keys.size == 0:
        return sp.csr_array((np.empty(0, G.dtype), (keys, keys)), shape=G.shape)
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    if mode == "union":
        out_vals, out_keys = np.maximum.reduceat(vals, first), keys[first]
    else:
        # a pair stored in both directions appears at least twice (once per direction and copy)
        both = np.diff(np.r_[first, keys.size]) >= 2
        out_vals, out_keys = np.minimum.reduceat(vals, first)[both], keys[first][both]
    S = sp.csr_array((out_vals, (out_keys // n, out_keys % n)), shape=G.shape)
    S.sum_duplicates()  # keys are unique: this only sorts
    return S


def graph_pattern(graph: Any, name: str = "graph", *, directed: bool = False) -> sp.csr_array:
    """Boolean adjacency without self-loops of a LinkGraph or square sparse matrix (or array).

    Symmetrised (an edge in either direction) unless ``directed``. An edge is a nonzero
    entry: an explicitly stored 0 is no edge (the module's zero rule), so a dense array and
    its sparse copy give the same pattern. The input is never modified.

    >>> A = sp.csr_array(np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0]]))
    >>> graph_pattern(A).toarray().astype(int).tolist()
    [[0, 1, 0], [1, 0, 1], [0, 1, 0]]
    >>> graph_pattern(A, directed=True).toarray().astype(int).tolist()
    [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    >>> Z = sp.csr_array((np.array([0.0]), np.array([1]), np.array([0, 1, 1])), shape=(2, 2))
    >>> graph_pattern(Z).nnz  # a stored 0
    0
    """
    adjacency = getattr(graph, "adjacency", None)
    matrix = adjacency if not sp.issparse(graph) and sp.issparse(adjacency) else graph
    if isinstance(matrix, np.ndarray) and matrix.ndim == 2:
        matrix = sp.csr_array(matrix)
    if not sp.issparse(matrix):
        raise TypeError(f"`{name}` must be a LinkGraph or a square scipy sparse matrix, got {type(graph).__name__}.")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"`{name}` must be square (n_nodes, n_nodes), got shape {matrix.shape}.")
    A = nonzero_pattern(matrix, name=name)
    if not directed:
        A = symmetric(A, "union")  # drops the diagonal
    rows = np.repeat(np.arange(A.shape[0]), np.diff(A.indptr))
    keep = rows != A.indices
    return sp.csr_array((np.ones(int(keep.sum()), bool), (rows[keep], A.indices[keep])), shape=A.shape)


def hop_frontiers(adjacency: sp.csr_array, sources: np.ndarray, hops: int) -> Iterator[tuple[int, Any, Any]]:
    """Breadth-first frontier expansion from each of ``sources`` (one row per source).

    Yields ``(h, new, seen)`` for ``h = 0`` (the sources themselves) and each hop ``h >= 1``
    that reaches a node not seen before: ``new`` the nodes first reached at hop ``h``, ``seen``
    all reached so far, both float32 CSR of ones of shape ``(len(sources), n_nodes)``. Every
    stored entry of ``adjacency`` is a link. Sparse products restricted to the sources' rows:
    O(len(sources) * reach) time and memory, never ``n_nodes**2``.

    >>> A = sp.csr_array(np.eye(4, k=1))
    >>> [(h, new.indices.tolist()) for h, new, _ in hop_frontiers(A, np.array([0]), 5)]
    [(0, [0]), (1, [1]), (2, [2]), (3, [3])]
    """
    n, m = adjacency.shape[0], sources.size
    ones = np.ones(adjacency.nnz, np.float32)
    step = sp.csr_array((ones, adjacency.indices, adjacency.indptr), shape=adjacency.shape)
    seen = sp.csr_array((np.ones(m, np.float32), (np.arange(m), sources)), shape=(m, n))
    frontier = seen
    yield 0, seen, seen
    for h in range(1, hops + 1):
        reached = (frontier @ step).tocsr()
        reached.data[:] = 1.0  # our own product: counts of paths become flags
        new = (reached - reached.multiply(seen)).tocsr()
        new.eliminate_zeros()
        if new.nnz == 0:
            return
        seen = (seen + new).tocsr()
        frontier = new
        yield h, new, seen


def within_hops(adjacency: sp.csr_array, sources: np.ndarray, hops: int) -> sp.csr_array:
    """Row ``r``: every node within ``hops`` hops of ``sources[r]``, the source included.

    :func:`hop_frontiers`' last ``seen``; ``adjacency`` is a boolean pattern
    (:func:`graph_pattern`). Returns a canonical boolean CSR.

    >>> A = graph_pattern(sp.csr_array(np.eye(4, k=1)))
    >>> within_hops(A, np.array([0, 3]), 2).toarray().astype(int).tolist()
    [[1, 1, 1, 0], [0, 1, 1, 1]]
    """
    ((_, _, seen),) = deque(hop_frontiers(adjacency, sources, hops), maxlen=1)  # the last step only
    seen.sum_duplicates()
    return sp.csr_array((np.ones(seen.nnz, bool), seen.indices, seen.indptr), shape=seen.shape)
