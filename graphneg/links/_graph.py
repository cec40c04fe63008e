"""Directed link (citation) graphs with a stable mapping between external ids and rows.

:class:`LinkGraph` holds a directed CSR adjacency (row = citing, column = cited) and the
external ids (DOIs, S2 corpus ids, OpenAlex W-ids) of its nodes. It is the input of the
link-structure negatives, splits and graph embeddings, and converts to and from the
graphs users arrive with (edge lists, networkx, igraph, PyG ``edge_index``).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_int
from ..exceptions import GraphNegWarning

__all__ = ["LinkGraph", "EdgeCounts"]


@dataclass
class EdgeCounts:
    """What happened to the input edges while building a graph (nothing is dropped silently)."""

    read: int = 0
    kept: int = 0
    duplicates: int = 0
    self_loops: int = 0
    unknown: int = 0
    external_nodes: int = 0
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.kept} edges kept of {self.read} read"]
        for name in ("duplicates", "self_loops", "unknown", "malformed", "external_nodes"):
            value = getattr(self, name)
            if value:
                parts.append(f"{value} {name.replace('_', '-')}")
        return ", ".join(parts)


class LinkGraph:
    """A directed graph over nodes with external ids.

    Parameters
    ----------
    adjacency : sparse array of shape (n_nodes, n_nodes)
        ``adjacency[i, j] != 0`` when node ``i`` links to (cites) node ``j``. Stored as a
        canonical float32 CSR with weight 1.0 per edge.
    ids : sequence of str, default=None
        External id of each row; default ``"0", "1", ...``. Must be unique.
    counts : EdgeCounts, default=None
        How the edges were obtained (set by the readers and :meth:`from_edges`).

    Examples
    --------
    >>> g = LinkGraph.from_edges(["a", "a", "b", "c"], ["b", "c", "c", "c"], warn=False)
    >>> g.n_nodes, g.n_edges, g.counts.self_loops
    (3, 3, 1)
    >>> g.out_degree().tolist(), g.in_degree().tolist()
    ([2, 1, 0], [0, 1, 2])
    >>> g.index(["c", "a"]).tolist()
    [2, 0]
    """

    def __init__(self, adjacency: Any, ids: Sequence[Hashable] | None = None, counts: EdgeCounts | None = None):
        if not sp.issparse(adjacency):
            raise TypeError(f"`adjacency` must be a scipy.sparse matrix or array, got {type(adjacency).__name__}.")
        A = sp.csr_array(adjacency)
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"`adjacency` must be square, got shape {A.shape}.")
        A.sum_duplicates()
        A.eliminate_zeros()  # a stored 0 is not a link
        loops = int((A.diagonal() != 0).sum())
        if loops:
            A = A.tolil()
            A.setdiag(0)
            A = sp.csr_array(A)
            A.eliminate_zeros()
        A = sp.csr_array((np.ones(A.nnz, np.float32), A.indices, A.indptr), shape=A.shape)
        A.sort_indices()
        self.adjacency = A
        if ids is None:
            ids = [str(i) for i in range(A.shape[0])]
        ids = list(ids)
        if len(ids) != A.shape[0]:
            raise ValueError(f"`ids` must have one entry per node ({A.shape[0]}), got {len(ids)}.")
        self.ids = ids
        self._index = {v: i for i, v in enumerate(ids)}
        if len(self._index) != len(ids):
            seen: set[Hashable] = set()
            dup = next(v for v in ids if v in seen or seen.add(v))  # type: ignore[func-returns-value]
            raise ValueError(f"`ids` must be unique, got {dup!r} more than once.")
        if counts is None:
            counts = EdgeCounts(read=A.nnz + loops, kept=A.nnz, self_loops=loops)
        self.counts = counts

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_edges(
        cls,
        sources: Iterable[Hashable],
        targets: Iterable[Hashable],
        *,
        ids: Sequence[Hashable] | None = None,
        keep_unknown: bool = False,
        warn: bool = True,
    ) -> LinkGraph:
        """Build from parallel sequences of source and target ids (source links to target).

        Parameters
        ----------
        sources, targets : iterables of ids
            Edge endpoints, e.g. citing and cited paper ids.
        ids : sequence of ids, default=None
            The known nodes, in row order. ``None``: every id seen, in order of appearance.
        keep_unknown : bool, default=False
            With ``ids``, an edge naming an id outside it is dropped and counted as unknown;
            ``True`` adds such ids as external nodes after the known ones instead.
        warn : bool, default=True
            Emit a :class:`GraphNegWarning` with the counts when anything was dropped.
        """
        src = list(sources)
        dst = list(targets)
        if len(src) != len(dst):
            raise ValueError(f"`sources` and `targets` must have the same length, got {len(src)} and {len(dst)}.")
        counts = EdgeCounts(read=len(src))
        if ids is None:
            index: dict[Hashable, int] = {}
            for v in (*src, *dst):
                if v not in index:
                    index[v] = len(index)
            node_ids: list[Hashable] = list(index)
        else:
            node_ids = list(ids)
            index = {v: i for i, v in enumerate(node_ids)}
            if len(index) != len(node_ids):
                raise ValueError("`ids` must be unique.")
            if keep_unknown:
                n_known = len(node_ids)
                for v in (*src, *dst):
                    if v not in index:
                        index[v] = len(node_ids)
                        node_ids.append(v)
                counts.external_nodes = len(node_ids) - n_known
        s = np.fromiter((index.get(v, -1) for v in src), dtype=np.int64, count=len(src))
        d = np.fromiter((index.get(v, -1) for v in dst), dtype=np.int64, count=len(dst))
        return cls._from_index_arrays(s, d, node_ids, counts, warn=warn)

    @classmethod
    def from_index_edges(
        cls,
        edges: Any,
        n_nodes: int | None = None,
        *,
        ids: Sequence[Hashable] | None = None,
        layout: str = "auto",
        warn: bool = True,
    ) -> LinkGraph:
        """Build from integer edges: ``(n_edges, 2)`` pairs or PyG's ``(2, n_edges)`` ``edge_index``.

        ``layout`` is ``'pairs'``, ``'edge_index'`` or ``'auto'`` (from the shape; a 2 x 2
        array is ambiguous and must be named).
        """
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
        E = E.astype(np.int64)
        if n_nodes is None:
            n_nodes = len(ids) if ids is not None else (int(E.max()) + 1 if E.size else 0)
        n_nodes = check_int(n_nodes, "n_nodes", min_value=0)
        bad = (E < 0) | (E >= n_nodes)
        s, d = E[:, 0].copy(), E[:, 1].copy()
        s[bad.any(axis=1)] = -1
        node_ids = list(ids) if ids is not None else [str(i) for i in range(n_nodes)]
        return cls._from_index_arrays(s, d, node_ids, EdgeCounts(read=len(E)), warn=warn)

    @classmethod
    def _from_index_arrays(
        cls, s: np.ndarray, d: np.ndarray, ids: list[Hashable], counts: EdgeCounts, *, warn: bool
    ) -> LinkGraph:
        n = len(ids)
        known = (s >= 0) & (d >= 0)
        counts.unknown += int((~known).sum())
        s, d = s[known], d[known]
        loops = s == d
        counts.self_loops += int(loops.sum())
        s, d = s[~loops], d[~loops]
        keys = np.unique(s * max(n, 1) + d)
        counts.duplicates += int(s.size - keys.size)
        counts.kept = int(keys.size)
        A = sp.csr_array(
            (np.ones(keys.size, np.float32), (keys // max(n, 1), keys % max(n, 1))), shape=(n, n)
        )
        g = cls(A, ids, counts)
        if warn and (counts.unknown or counts.self_loops or counts.duplicates or counts.malformed):
            warnings.warn(f"link graph: {counts.summary()}", GraphNegWarning, stacklevel=3)
        return g

    # -- basic properties ---------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return int(self.adjacency.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.adjacency.nnz)

    def __repr__(self) -> str:
        return f"LinkGraph(n_nodes={self.n_nodes}, n_edges={self.n_edges})"

    def index(self, ids: Iterable[Hashable]) -> np.ndarray:
        """Rows of external ``ids``; raises ``KeyError`` naming the first unknown id."""
        out = []
        for v in ids:
            try:
                out.append(self._index[v])
            except KeyError:
                raise KeyError(f"unknown node id {v!r}") from None
        return np.asarray(out, dtype=np.int64)

    def __contains__(self, node_id: Hashable) -> bool:
        return node_id in self._index

    def out_degree(self) -> np.ndarray:
        """Number of links from each node (references made)."""
        return np.diff(self.adjacency.indptr).astype(np.int64)

    def in_degree(self) -> np.ndarray:
        """Number of links to each node (citations received)."""
        return np.bincount(self.adjacency.indices, minlength=self.n_nodes).astype(np.int64)

    def reverse(self) -> LinkGraph:
        """The same nodes with every link reversed (cited -> citing)."""
        return LinkGraph(self.adjacency.T.tocsr(), self.ids, self.counts)

    def undirected(self) -> sp.csr_array:
        """Symmetric adjacency: ``i ~ j`` when either links to the other."""
        A = self.adjacency
        U = ((A + A.T) != 0).astype(np.float32).tocsr()
        U.sort_indices()
        return U

    def successors(self, node: int) -> np.ndarray:
        A = self.adjacency
        return A.indices[A.indptr[node] : A.indptr[node + 1]].astype(np.int64)

    def predecessors(self, node: int) -> np.ndarray:
        return np.flatnonzero(self.adjacency[:, [node]].toarray().ravel())

    def has_edges(self, sources: Any, targets: Any) -> np.ndarray:
        """Vectorised membership test: does ``sources[i]`` link to ``targets[i]``?"""
        s = np.asarray(sources, dtype=np.int64)
        t = np.asarray(targets, dtype=np.int64)
        keys = self._edge_keys()
        q = s * self.n_nodes + t
        if keys.size == 0:
            return np.zeros(q.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(keys, q), keys.size - 1)
        return keys[pos] == q

    def _edge_keys(self) -> np.ndarray:
        A = self.adjacency
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(A.indptr))
        return rows * self.n_nodes + A.indices  # sorted: canonical CSR

    # -- neighbourhoods -----------------------------------------------------------------------
    def hop_distances(
        self, sources: Any, max_hops: int, *, directed: bool = False
    ) -> sp.csr_array:
        """Shortest-path distances up to ``max_hops`` from each source, as a sparse matrix.

        Row ``r`` holds, for every node within ``max_hops`` of ``sources[r]`` (the source
        itself excluded), its distance ``1..max_hops``. Computed by frontier expansion with
        sparse products restricted to the sources' rows, so memory is
        ``O(len(sources) * |ball|)``, never ``n_nodes^2``.

        Parameters
        ----------
        sources : array-like of int
            Source rows.
        max_hops : int
        directed : bool, default=False
            Follow links forwards only (references of references); default: either way.

        Examples
        --------
        >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3]])
        >>> g.hop_distances([0], 2).toarray().tolist()
        [[0.0, 1.0, 2.0, 0.0]]
        """
        max_hops = check_int(max_hops, "max_hops")
        src = self._check_sources(sources)
        A = self.adjacency if directed else self.undirected()
        A = sp.csr_array((np.ones(A.nnz, np.float32), A.indices, A.indptr), shape=A.shape)
        n, m = self.n_nodes, src.size
        seen = sp.csr_array((np.ones(m, np.float32), (np.arange(m), src)), shape=(m, n))
        frontier = seen
        dist = sp.csr_array((m, n), dtype=np.float32)
        for h in range(1, max_hops + 1):
            nxt = (frontier @ A).tocsr()
            nxt.data[:] = 1.0
            new = (nxt - nxt.multiply(seen)).tocsr()
            new.eliminate_zeros()
            if new.nnz == 0:
                break
            dist = (dist + new * float(h)).tocsr()
            seen = (seen + new).tocsr()
            frontier = new
        dist.sort_indices()
        return dist

    def k_hop(self, sources: Any, hops: int, *, exact: bool = True, directed: bool = False) -> list[np.ndarray]:
        """Nodes at exactly ``hops`` steps (``exact``) or within ``hops`` steps of each source."""
        D = self.hop_distances(sources, hops, directed=directed)
        keep = D.data == hops if exact else D.data > 0
        out = []
        for r in range(D.shape[0]):
            lo, hi = D.indptr[r], D.indptr[r + 1]
            out.append(D.indices[lo:hi][keep[lo:hi]].astype(np.int64))
        return out

    def _check_sources(self, sources: Any) -> np.ndarray:
        src = np.atleast_1d(np.asarray(sources))
        if src.ndim != 1 or (src.size and not np.issubdtype(src.dtype, np.integer)):
            raise TypeError("`sources` must be a 1-D array of node rows (use LinkGraph.index for ids).")
        src = src.astype(np.int64)
        if src.size and (src.min() < 0 or src.max() >= self.n_nodes):
            bad = src[(src < 0) | (src >= self.n_nodes)][0]
            raise ValueError(f"`sources` holds row {int(bad)}, outside [0, {self.n_nodes}).")
        return src

    # -- conversions --------------------------------------------------------------------------
    def to_edge_index(self) -> np.ndarray:
        """Edges as PyG's ``(2, n_edges)`` int64 ``edge_index`` (row 0 = source)."""
        coo = self.adjacency.tocoo()
        return np.vstack([coo.row, coo.col]).astype(np.int64)

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` whose nodes are the external ids."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self.ids)
        ei = self.to_edge_index()
        ids = self.ids
        g.add_edges_from((ids[a], ids[b]) for a, b in zip(ei[0].tolist(), ei[1].tolist(), strict=True))
        return g

    @classmethod
    def from_networkx(cls, graph: Any) -> LinkGraph:
        """From a networkx graph (undirected graphs give links both ways); node order is kept."""
        nodes = list(graph.nodes)
        src, dst = [], []
        for a, b in graph.edges():
            src.append(a)
            dst.append(b)
            if not graph.is_directed():
                src.append(b)
                dst.append(a)
        return cls.from_edges(src, dst, ids=nodes, warn=False)

    def to_igraph(self) -> Any:
        """A directed ``igraph.Graph`` with vertex attribute ``name`` = external id."""
        import igraph as ig

        g = ig.Graph(n=self.n_nodes, edges=self.to_edge_index().T, directed=True)
        g.vs["name"] = [str(v) for v in self.ids]
        return g

    @classmethod
    def from_igraph(cls, graph: Any) -> LinkGraph:
        """From an igraph graph; vertex attribute ``name`` becomes the ids when present."""
        edges = np.asarray(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
        if not graph.is_directed():
            edges = np.vstack([edges, edges[:, ::-1]])
        names = graph.vs["name"] if "name" in graph.vs.attributes() else None
        return cls.from_index_edges(edges, graph.vcount(), ids=names, layout="pairs", warn=False)

    def subgraph(self, rows: Any) -> LinkGraph:
        """The graph induced by ``rows`` (in that order)."""
        rows = self._check_sources(rows)
        return LinkGraph(self.adjacency[rows][:, rows], [self.ids[r] for r in rows])
