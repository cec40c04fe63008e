"""Edges in, canonical adjacency out: the one home of edge assembly, with every drop counted.

:func:`edge_adjacency` turns row arrays into the canonical CSR adjacency of a
:class:`~graphneg.LinkGraph`, counting each dropped edge by reason in an :class:`EdgeCounts`;
:meth:`~graphneg.LinkGraph.from_index_arrays`, the other constructors, the readers and the
canonical corpus loader all go through it. :func:`id_edge_rows` and :func:`index_edge_rows`
turn the two shapes edges arrive in (ids, integer pairs) into those row arrays,
:func:`link_pattern` a given sparse matrix into the adjacency, :func:`check_node_rows`
checks the node rows a graph method is asked about.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._ids import normalize_ids, unique_ids
from .._sparse import canonical_csr
from .._validation import check_int


@dataclass
class EdgeCounts:
    """What happened to the input edges while building a graph (nothing is dropped silently).

    Attributes
    ----------
    read : int
        Edges read.
    kept : int
        Edges in the graph.
    duplicates, self_loops, unknown, malformed : int
        Edges dropped, by reason (``unknown``: an endpoint is not a node).
    external_nodes : int
        Nodes added because an edge named them (``keep_unknown=True``).
    malformed_lines : list of int
        Line numbers of malformed input lines (readers).

    See Also
    --------
    edge_adjacency : fills it while building an adjacency.
    graphneg.LinkGraph : keeps the counts it was built with (``graph.counts``).
    graphneg.read_citations : adds the readers' malformed lines.

    Examples
    --------
    >>> EdgeCounts(read=5, kept=3, duplicates=2).summary()
    '3 edges kept of 5 read, 2 duplicates'
    """

    read: int = 0
    kept: int = 0
    duplicates: int = 0
    self_loops: int = 0
    unknown: int = 0
    external_nodes: int = 0
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """One line: edges kept of read, then each non-zero drop count.

        >>> EdgeCounts(read=2, kept=1, self_loops=1).summary()
        '1 edges kept of 2 read, 1 self-loops'
        """
        parts = [f"{self.kept} edges kept of {self.read} read"]
        for name in ("duplicates", "self_loops", "unknown", "malformed", "external_nodes"):
            value = getattr(self, name)
            if value:
                parts.append(f"{value} {name.replace('_', '-')}")
        return ", ".join(parts)


def edge_adjacency(sources: Any, targets: Any, num_nodes: int, counts: EdgeCounts) -> sp.csr_array:
    """Canonical float32 adjacency from row arrays, counting every dropped edge in ``counts``.

    The one home of edge assembly. An endpoint outside ``[0, num_nodes)`` (e.g. ``-1``)
    is unknown. The order of the tests fixes which count a dropped edge lands in: unknown
    first, then self-loop, then duplicate (one copy of a repeated edge is kept). ``counts``
    is updated in place: ``read``, ``unknown``, ``self_loops`` and ``duplicates`` are
    increased, ``kept`` is set. The inputs are not modified.

    Parameters
    ----------
    sources, targets : array-like of int, shape (n_edges,)
        Row of the citing and of the cited node of each edge.
    num_nodes : int
    counts : EdgeCounts

    Returns
    -------
    scipy.sparse.csr_array of shape (num_nodes, num_nodes), float32
        1.0 per kept edge, sorted indices, no duplicates.

    See Also
    --------
    graphneg.LinkGraph.from_index_arrays : a graph from the same row arrays.
    EdgeCounts : the counts it updates.

    Examples
    --------
    >>> c = EdgeCounts()
    >>> A = edge_adjacency([0, 0, 1, 2, -1], [1, 1, 1, 0, 2], 3, c)
    >>> A.toarray().astype(int).tolist(), c.summary()
    ([[0, 1, 0], [0, 0, 0], [1, 0, 0]], '2 edges kept of 5 read, 1 duplicates, 1 self-loops, 1 unknown')
    """
    s = np.asarray(sources, dtype=np.int64).ravel()
    d = np.asarray(targets, dtype=np.int64).ravel()
    if s.size != d.size:
        raise ValueError(f"`sources` and `targets` must have the same length, got {s.size} and {d.size}.")
    n = check_int(num_nodes, "num_nodes", min_value=0)
    counts.read += int(s.size)
    known = (s >= 0) & (d >= 0) & (s < n) & (d < n)
    n_unknown = int(s.size - np.count_nonzero(known))
    counts.unknown += n_unknown
    if n_unknown:  # copies only when something is dropped (the inputs are large)
        s, d = s[known], d[known]
    loops = s == d
    n_loops = int(np.count_nonzero(loops))
    counts.self_loops += n_loops
    width = max(n, 1)
    keys = s * width + d  # a new array, sorted in place: rows, then columns
    if n_loops:
        keys = keys[~loops]
    keys.sort()
    if keys.size:  # already sorted: unique by neighbour comparison, no second sort inside np.unique
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    counts.duplicates += int(s.size - n_loops - keys.size)
    counts.kept = int(keys.size)
    rows = keys // width
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_array((np.ones(keys.size, np.float32), keys % width, indptr), shape=(n, n))

def link_pattern(adjacency: Any) -> tuple[sp.csr_array, int]:
    """The links of a square sparse matrix as a canonical float32 CSR, and its self-loop count.

    A stored 0 is not a link; self-loops are dropped (and counted); every kept link weighs
    1.0. A new matrix: the input is never modified.

    >>> A, n_loops = link_pattern(sp.csr_array(np.array([[1, 2], [0, 0]])))
    >>> A.toarray().tolist(), n_loops
    ([[0.0, 1.0], [0.0, 0.0]], 1)
    """
    A = canonical_csr(adjacency, name="adjacency")  # a copy: the caller's arrays stay as they are
    n = A.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(A.indptr))
    link = A.data != 0  # a stored 0 is not a link
    loop = link & (rows == A.indices)
    keep = link & ~loop
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    pattern = sp.csr_array(
        (np.ones(int(keep.sum()), np.float32), A.indices[keep].astype(np.int64), indptr), shape=(n, n)
    )
    return pattern, int(loop.sum())


def id_edge_rows(
    sources: Any, targets: Any, ids: Sequence[Hashable] | None, keep_unknown: bool
) -> tuple[np.ndarray, np.ndarray, list[str], EdgeCounts]:
    """Edges given by ids as row arrays (``-1``: not a node), the node ids and the counts so far.

    What :meth:`graphneg.LinkGraph.from_edges` documents: ``ids=None`` takes every id seen,
    in order of appearance; ``keep_unknown`` appends ids outside ``ids`` as external nodes.

    >>> s, d, node_ids, counts = id_edge_rows(["a", "x"], ["b", "b"], ["a", "b"], False)
    >>> s.tolist(), d.tolist(), node_ids
    ([0, -1], [1, 1], ['a', 'b'])
    """
    src = _edge_ids(sources, "sources")
    dst = _edge_ids(targets, "targets")
    if len(src) != len(dst):
        raise ValueError(f"`sources` and `targets` must have the same length, got {len(src)} and {len(dst)}.")
    counts = EdgeCounts()
    if ids is None:
        node_ids = list(dict.fromkeys([*src, *dst]))  # order of appearance
    else:
        node_ids = unique_ids(ids, "ids")
        if keep_unknown:
            n_known = len(node_ids)
            known = set(node_ids)
            node_ids += [v for v in dict.fromkeys([*src, *dst]) if v not in known]
            counts.external_nodes = len(node_ids) - n_known
    index = {v: i for i, v in enumerate(node_ids)}
    s = np.fromiter((index.get(v, -1) for v in src), dtype=np.int64, count=len(src))
    d = np.fromiter((index.get(v, -1) for v in dst), dtype=np.int64, count=len(dst))
    return s, d, node_ids, counts


def index_edge_rows(
    edges: Any, num_nodes: int | None, ids: Sequence[Hashable] | None, layout: str
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Integer edges (pairs or ``edge_index``) as row arrays (``-1``: not a node) and the node ids.

    What :meth:`graphneg.LinkGraph.from_index_edges` documents.

    >>> s, d, node_ids = index_edge_rows([[0, 1], [1, 5]], 3, None, "pairs")
    >>> s.tolist(), d.tolist(), node_ids
    ([0, -1], [1, 5], ['0', '1', '2'])
    """
    E = _edge_pairs(edges, layout)
    if num_nodes is None:
        num_nodes = len(ids) if ids is not None else (int(E.max()) + 1 if E.size else 0)
    num_nodes = check_int(num_nodes, "num_nodes", min_value=0)
    s, d = E[:, 0].copy(), E[:, 1].copy()
    s[((E < 0) | (E >= num_nodes)).any(axis=1)] = -1
    node_ids = unique_ids(ids, "ids") if ids is not None else [str(i) for i in range(num_nodes)]
    return s, d, node_ids


def _edge_ids(values: Iterable[Hashable], name: str) -> list[str]:
    """Endpoint ids of edges (repeats allowed), normalised by the id rule."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"`{name}` must be a sequence of str or int ids, got {type(values).__name__}.")
    try:
        return normalize_ids(values if isinstance(values, np.ndarray) else list(values), name)
    except TypeError as err:
        raise TypeError(f"`{name}` must hold str or int ids; {err}") from None
    except ValueError as err:
        raise ValueError(f"`{name}` must hold non-empty ids; {err}") from None


def _edge_pairs(edges: Any, layout: str) -> np.ndarray:
    """``edges`` as a new ``(n_edges, 2)`` int64 array, whatever its layout."""
    E = np.asarray(edges)
    if E.ndim != 2 or 2 not in E.shape:
        raise ValueError(f"`edges` must have shape (n_edges, 2) or (2, n_edges), got {E.shape}.")
    if layout not in ("auto", "pairs", "edge_index"):
        raise ValueError(f"`layout` must be one of 'auto', 'pairs', 'edge_index', got {layout!r}.")
    if layout == "auto":
        if E.shape == (2, 2):
            raise ValueError("`edges` of shape (2, 2) is ambiguous: pass layout='pairs' or 'edge_index'.")
        layout = "pairs" if E.shape[1] == 2 else "edge_index"
    if layout == "edge_index":
        if E.shape[0] != 2:
            raise ValueError(f"layout='edge_index' needs shape (2, n_edges), got {E.shape}.")
        E = E.T
    elif E.shape[1] != 2:
        raise ValueError(f"layout='pairs' needs shape (n_edges, 2), got {E.shape}.")
    if E.size and not np.issubdtype(E.dtype, np.integer):
        raise TypeError(f"`edges` must hold integer node indices, got dtype {E.dtype}.")
    return E.astype(np.int64)  # astype copies: the caller's array is never touched


def check_node_rows(rows: Any, num_nodes: int, name: str = "sources") -> np.ndarray:
    """Node rows as a new 1-D int64 array, or an error naming ``name`` and the bad row.

    >>> check_node_rows([2, 0], 3).tolist()
    [2, 0]
    """
    src = np.atleast_1d(np.asarray(rows))
    if src.ndim != 1 or (src.size and not np.issubdtype(src.dtype, np.integer)):
        raise TypeError(f"`{name}` must be a 1-D array of node rows (use LinkGraph.index for ids).")
    src = src.astype(np.int64)  # a copy: the caller's array is never touched
    if src.size and (src.min() < 0 or src.max() >= num_nodes):
        bad = src[(src < 0) | (src >= num_nodes)][0]
        raise ValueError(f"`{name}` holds row {int(bad)}, outside [0, {num_nodes}).")
    return src
