"""Directed link (citation) graphs with a stable mapping between external ids and rows.

:class:`LinkGraph` holds a directed CSR adjacency (row = citing, column = cited) and the
external ids (DOIs, S2 corpus ids, OpenAlex W-ids) of its nodes. It is the input of the
link-structure negatives, splits and graph embeddings, and converts to and from the
graphs users arrive with (edge lists, networkx, igraph, PyG ``edge_index``). Its
constructors assemble edges with :func:`graphneg.links._edges.edge_adjacency`.
"""

from __future__ import annotations

import functools
import sys
import warnings
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._ids import normalize_id, unique_ids
from .._sparse import csr_member, hop_frontiers, symmetric
from .._validation import check_int
from ..exceptions import GraphNegWarning
from ._edges import EdgeCounts, check_node_rows, edge_adjacency, id_edge_rows, index_edge_rows, link_pattern


class LinkGraph:
    """A directed graph over nodes with external ids.

    The container the link-structure tools work on: the ``*_link_negatives`` functions,
    :func:`~graphneg.link_split`, :func:`~graphneg.graph_embedding` and
    :func:`~graphneg.citation_training_data`.

    Parameters
    ----------
    adjacency : sparse array of shape (num_nodes, num_nodes)
        ``adjacency[i, j] != 0`` when node ``i`` links to (cites) node ``j``. Stored as a
        canonical float32 CSR with weight 1.0 per edge; explicit zeros and self-loops are
        dropped (counted). The input is never modified.
    ids : sequence of str or int, default=None
        External id of each row; default ``"0", "1", ...``. Unique after normalisation.
    counts : EdgeCounts, default=None
        How the edges were obtained (set by the readers and :meth:`from_edges`).

    Attributes
    ----------
    adjacency : scipy.sparse.csr_array
    ids : list of str
    counts : EdgeCounts
    num_nodes, num_edges : int

    See Also
    --------
    graphneg.io.CitationData : what a reader returns: a ``LinkGraph`` (``data.graph``) plus
        what the file said about the nodes (texts, years, labels).
    graphneg.io.GraphCorpus : the canonical on-disk corpus in memory; ``corpus.graph`` is its
        ``LinkGraph``, ``GraphCorpus(ids=g.ids, edges=g.adjacency)`` goes the other way.

    Notes
    -----
    Every id is normalised by one rule (:mod:`graphneg._ids`): a ``str`` is kept, an integer
    (Python or numpy) becomes its decimal string, so ``1`` and ``"1"`` are the *same* node
    ``"1"`` (training files carry strings, and two nodes written as ``"1"`` would be
    ambiguous). ``None``, NaN and other floats, ``bool``, bytes and ``""`` are rejected with
    their position: convert a float column (``pandas`` turns an int column with gaps into
    floats) first. :attr:`ids` is therefore always a list of ``str``, and :meth:`index`
    accepts ``1`` or ``"1"`` alike.

    Examples
    --------
    >>> g = LinkGraph.from_edges(["a", "a", "b", "c"], ["b", "c", "c", "c"], warn=False)
    >>> g.num_nodes, g.num_edges, g.counts.self_loops
    (3, 3, 1)
    >>> g.out_degree().tolist(), g.in_degree().tolist()
    ([2, 1, 0], [0, 1, 2])
    >>> g.index(["c", "a"]).tolist()
    [2, 0]
    >>> LinkGraph.from_edges([1, "1"], [2, 3], warn=False).ids  # 1 and "1": one node
    ['1', '2', '3']
    """

    def __init__(self, adjacency: Any, ids: Sequence[Hashable] | None = None, counts: EdgeCounts | None = None):
        if not sp.issparse(adjacency):
            raise TypeError(f"`adjacency` must be a scipy.sparse matrix or array, got {type(adjacency).__name__}.")
        if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
            raise ValueError(f"`adjacency` must be square, got shape {adjacency.shape}.")
        self.adjacency, n_loops = link_pattern(adjacency)
        n = self.num_nodes
        self.ids = [str(i) for i in range(n)] if ids is None else unique_ids(ids, "ids")
        if len(self.ids) != n:
            raise ValueError(f"`ids` must have one entry per node ({n}), got {len(self.ids)}.")
        if counts is None:
            counts = EdgeCounts(read=self.num_edges + n_loops, kept=self.num_edges, self_loops=n_loops)
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
        sources, targets : iterables of str or int ids
            Edge endpoints, e.g. citing and cited paper ids, normalised by the id rule of
            :class:`LinkGraph` (``1`` and ``"1"`` are one node; ``None``/NaN raise).
        ids : sequence of str or int, default=None
            The known nodes, in row order. ``None``: every id seen, in order of appearance.
        keep_unknown : bool, default=False
            With ``ids``, an edge naming an id outside it is dropped and counted as unknown;
            ``True`` adds such ids as external nodes after the known ones instead.
        warn : bool, default=True
            Emit a :class:`GraphNegWarning` with the counts when anything was dropped.

        Returns
        -------
        LinkGraph

        Raises
        ------
        TypeError, ValueError
            A bad id (its position named, e.g. ``sources[3]``), repeated ``ids``, or
            ``sources`` and ``targets`` of different lengths.

        See Also
        --------
        from_index_edges : edges given by node rows.
        graphneg.read_citations : a graph from citation files.

        Examples
        --------
        >>> g = LinkGraph.from_edges(["a", "x"], ["b", "b"], ids=["a", "b"], warn=False)
        >>> g.ids, g.counts.unknown
        (['a', 'b'], 1)
        >>> LinkGraph.from_edges(["a", None], ["b", "b"])
        Traceback (most recent call last):
        ...
        TypeError: `sources` must hold str or int ids; sources[1]: an id must be a str or an int, got NoneType None ...
        """
        s, d, node_ids, counts = id_edge_rows(sources, targets, ids, keep_unknown)
        return cls._build(s, d, node_ids, counts, warn=warn)

    @classmethod
    def from_index_edges(
        cls,
        edges: Any,
        num_nodes: int | None = None,
        *,
        ids: Sequence[Hashable] | None = None,
        layout: str = "auto",
        warn: bool = True,
    ) -> LinkGraph:
        """Build from integer edges: ``(n_edges, 2)`` pairs or PyG's ``(2, n_edges)`` ``edge_index``.

        Parameters
        ----------
        edges : array-like of int
            Node rows, one pair per edge. Pairs naming a row outside ``[0, num_nodes)`` are
            dropped and counted as unknown.
        num_nodes : int, default=None
            ``None``: ``len(ids)`` when given, else the largest row + 1.
        ids : sequence of str or int, default=None
            External ids of the rows (default ``"0", "1", ...``).
        layout : {'auto', 'pairs', 'edge_index'}, default='auto'
            ``'auto'`` decides from the shape; a 2 x 2 array is ambiguous and must be named.
        warn : bool, default=True
            As in :meth:`from_edges`.

        Returns
        -------
        LinkGraph

        See Also
        --------
        from_edges : edges given by ids.
        to_edge_index : the way back to ``edge_index``.

        Examples
        --------
        >>> g = LinkGraph.from_index_edges([[0, 1, 1], [1, 2, 2]], warn=False)  # edge_index
        >>> g.num_edges, g.counts.duplicates
        (2, 1)
        """
        s, d, node_ids = index_edge_rows(edges, num_nodes, ids, layout)
        return cls._build(s, d, node_ids, EdgeCounts(), warn=warn)

    @classmethod
    def from_index_arrays(
        cls,
        sources: Any,
        targets: Any,
        ids: Sequence[Hashable],
        *,
        counts: EdgeCounts | None = None,
        warn: bool = True,
    ) -> LinkGraph:
        """Build from parallel arrays of node rows (``-1`` = an endpoint that is not a node).

        The one home of edge assembly for every constructor and reader: unknown endpoints,
        self-loops and duplicates are dropped and counted (see :func:`edge_adjacency`).

        Parameters
        ----------
        sources, targets : array-like of int, shape (n_edges,)
            Rows of the citing and the cited node of each edge.
        ids : sequence of str or int
            External id of each row; ``len(ids)`` is the number of nodes.
        counts : EdgeCounts, default=None
            Updated in place (``read`` is increased by ``n_edges``) and kept as
            ``graph.counts``; ``None`` starts from zero.
        warn : bool, default=True
            Emit one :class:`GraphNegWarning` with ``counts`` (what they held on entry, e.g. a
            reader's malformed lines, included) when anything was dropped or skipped.

        Returns
        -------
        LinkGraph

        See Also
        --------
        graphneg.links._edges.edge_adjacency : the assembly, and the order of the drop counts.

        Examples
        --------
        >>> g = LinkGraph.from_index_arrays([0, 1, -1], [1, 1, 0], ["a", "b"], warn=False)
        >>> g.num_edges, g.counts.summary()
        (1, '1 edges kept of 3 read, 1 self-loops, 1 unknown')
        """
        node_ids = unique_ids(ids, "ids")
        return cls._build(sources, targets, node_ids, EdgeCounts() if counts is None else counts, warn=warn)

    @classmethod
    def _build(cls, s: Any, d: Any, ids: list[str], counts: EdgeCounts, *, warn: bool) -> LinkGraph:
        # edge_adjacency gives the canonical link pattern itself, and every caller has checked
        # `ids`: no second pass over either (the constructor's checks are for outside input)
        g = cls.__new__(cls)
        g.adjacency, g.ids, g.counts = edge_adjacency(s, d, len(ids), counts), ids, counts
        if warn and (counts.unknown or counts.self_loops or counts.duplicates or counts.malformed):
            warnings.warn(f"link graph: {counts.summary()}", GraphNegWarning, stacklevel=_caller_level())
        return g

    # -- basic properties ---------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return int(self.adjacency.shape[0])

    @property
    def num_edges(self) -> int:
        """Number of (directed) links."""
        return int(self.adjacency.nnz)

    def __repr__(self) -> str:
        return f"LinkGraph(num_nodes={self.num_nodes}, num_edges={self.num_edges})"

    @functools.cached_property
    def _index(self) -> dict[str, int]:
        """Row of each id (built on first use: reading and writing a graph never need it)."""
        return {v: i for i, v in enumerate(self.ids)}

    def index(self, ids: Iterable[Hashable]) -> np.ndarray:
        """Rows of external ``ids`` (``1`` and ``"1"`` alike).

        Raises ``KeyError`` naming the first unknown id.

        >>> LinkGraph.from_edges([10, 20], [20, 30]).index([30, "10"]).tolist()
        [2, 0]
        """
        out = []
        for i, v in enumerate(ids):
            try:
                out.append(self._index[normalize_id(v, f"ids[{i}]")])
            except KeyError:
                raise KeyError(f"unknown node id {v!r}") from None
        return np.asarray(out, dtype=np.int64)

    def __contains__(self, node_id: Hashable) -> bool:
        try:
            return normalize_id(node_id, "node_id") in self._index
        except (TypeError, ValueError):
            return False

    def out_degree(self) -> np.ndarray:
        """Number of links from each node (references made).

        >>> LinkGraph.from_index_edges([[0, 1], [0, 2]], 3, layout="pairs").out_degree().tolist()
        [2, 0, 0]
        """
        return np.diff(self.adjacency.indptr).astype(np.int64)

    def in_degree(self) -> np.ndarray:
        """Number of links to each node (citations received).

        >>> LinkGraph.from_index_edges([[0, 1], [0, 2]], 3, layout="pairs").in_degree().tolist()
        [0, 1, 1]
        """
        return np.bincount(self.adjacency.indices, minlength=self.num_nodes).astype(np.int64)

    def reverse(self) -> LinkGraph:
        """The same nodes with every link reversed (cited -> citing).

        >>> LinkGraph.from_index_edges([[0, 1], [0, 2]], 3, layout="pairs").reverse().to_edge_index().tolist()
        [[1, 2], [0, 0]]
        """
        return LinkGraph(self.adjacency.T.tocsr(), self.ids, self.counts)

    def undirected(self) -> sp.csr_array:
        """Symmetric float32 adjacency: ``i ~ j`` (weight 1.0) when either links to the other.

        >>> LinkGraph.from_index_edges([[0, 1], [1, 0], [1, 2]], 3).undirected().toarray().tolist()
        [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
        """
        # cached per adjacency object (the samplers ask once per chunk); a copy is returned,
        # so a caller that edits its result cannot change the next one
        cached = getattr(self, "_undirected", None)
        if cached is None or cached[0] is not self.adjacency:
            cached = (self.adjacency, symmetric(self.adjacency, "union"))  # all weights 1.0: union is 1.0
            self._undirected = cached
        return cached[1].copy()

    def successors(self, node: int) -> np.ndarray:
        """Rows that ``node`` links to (its references), ascending.

        >>> LinkGraph.from_index_edges([[0, 2], [0, 1]], 3, layout="pairs").successors(0).tolist()
        [1, 2]
        """
        A = self.adjacency
        return A.indices[A.indptr[node] : A.indptr[node + 1]].astype(np.int64)

    def predecessors(self, node: int) -> np.ndarray:
        """Rows that link to ``node`` (its citations), ascending.

        >>> LinkGraph.from_index_edges([[0, 2], [1, 2]], 3, layout="pairs").predecessors(2).tolist()
        [0, 1]
        """
        return np.flatnonzero(self.adjacency[:, [node]].toarray().ravel())

    def has_edges(self, sources: Any, targets: Any) -> np.ndarray:
        """Vectorised membership test: does ``sources[i]`` link to ``targets[i]``?

        Rows outside ``[0, num_nodes)`` are never linked.

        >>> LinkGraph.from_index_edges([[0, 1]], 2).has_edges([0, 1, 0], [1, 0, 5]).tolist()
        [True, False, False]
        """
        s = np.asarray(sources, dtype=np.int64)
        t = np.asarray(targets, dtype=np.int64)
        n = self.num_nodes
        inside = (s >= 0) & (s < n) & (t >= 0) & (t < n)
        return csr_member(self.adjacency, np.where(inside, s, 0), np.where(inside, t, -1)) & inside

    # -- neighbourhoods -----------------------------------------------------------------------
    def hop_distances(
        self, sources: Any, max_hops: int, *, directed: bool = False
    ) -> sp.csr_array:
        """Shortest-path distances up to ``max_hops`` from each source, as a sparse matrix.

        Row ``r`` holds, for every node within ``max_hops`` of ``sources[r]`` (the source
        itself excluded), its distance ``1..max_hops``. Computed by frontier expansion
        (:func:`graphneg._sparse.hop_frontiers`) restricted to the sources' rows, so memory is
        ``O(len(sources) * |ball|)``, never ``n_nodes^2``.

        Parameters
        ----------
        sources : array-like of int
            Source rows.
        max_hops : int
            Largest distance reported.
        directed : bool, default=False
            Follow links forwards only (references of references); default: either way.

        Returns
        -------
        scipy.sparse.csr_array of shape (len(sources), num_nodes), float32

        See Also
        --------
        k_hop : the nodes at (or within) a distance, per source.
        graphneg.khop_mask : the same distances as a false-negative mask.

        Examples
        --------
        >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3]])
        >>> g.hop_distances([0], 2).toarray().tolist()
        [[0.0, 1.0, 2.0, 0.0]]
        """
        max_hops = check_int(max_hops, "max_hops")
        src = check_node_rows(sources, self.num_nodes)
        A = self.adjacency if directed else self.undirected()
        dist = sp.csr_array((src.size, self.num_nodes), dtype=np.float32)
        for h, new, _ in hop_frontiers(A, src, max_hops):
            if h:
                dist = (dist + new * float(h)).tocsr()
        dist.sort_indices()
        return dist

    def k_hop(self, sources: Any, hops: int, *, exact: bool = True, directed: bool = False) -> list[np.ndarray]:
        """Nodes at exactly ``hops`` steps (``exact``) or within ``hops`` steps of each source.

        >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3]])
        >>> [a.tolist() for a in g.k_hop([0, 3], 2)], g.k_hop([0], 2, exact=False)[0].tolist()
        ([[2], [1]], [1, 2])
        """
        D = self.hop_distances(sources, hops, directed=directed)
        keep = D.data == hops if exact else D.data > 0
        out = []
        for r in range(D.shape[0]):
            lo, hi = D.indptr[r], D.indptr[r + 1]
            out.append(D.indices[lo:hi][keep[lo:hi]].astype(np.int64))
        return out

    # -- conversions --------------------------------------------------------------------------
    def to_edge_index(self) -> np.ndarray:
        """Edges as PyG's ``(2, n_edges)`` int64 ``edge_index`` (row 0 = source).

        >>> LinkGraph.from_edges(["a", "b"], ["b", "c"]).to_edge_index().tolist()
        [[0, 1], [1, 2]]
        """
        coo = self.adjacency.tocoo()
        return np.vstack([coo.row, coo.col]).astype(np.int64)

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` whose nodes are the external ids.

        >>> sorted(LinkGraph.from_edges(["a"], ["b"]).to_networkx().edges())
        [('a', 'b')]
        """
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from(self.ids)
        ei = self.to_edge_index()
        ids = self.ids
        g.add_edges_from((ids[a], ids[b]) for a, b in zip(ei[0].tolist(), ei[1].tolist(), strict=True))
        return g

    @classmethod
    def from_networkx(cls, graph: Any) -> LinkGraph:
        """From a networkx graph (undirected graphs give links both ways); node order is kept.

        Node names follow the id rule: ``str`` or ``int`` (written as ``str``), others raise.

        >>> import networkx as nx
        >>> g = LinkGraph.from_networkx(nx.path_graph(3))
        >>> g.ids, g.num_edges
        (['0', '1', '2'], 4)
        """
        nodes = list(graph.nodes)
        ids = unique_ids(nodes, "graph.nodes")
        row = {v: i for i, v in enumerate(nodes)}
        pairs = np.array([(row[a], row[b]) for a, b in graph.edges()], dtype=np.int64).reshape(-1, 2)
        if not graph.is_directed():
            pairs = np.vstack([pairs, pairs[:, ::-1]])
        return cls._build(pairs[:, 0], pairs[:, 1], ids, EdgeCounts(), warn=False)

    def to_igraph(self) -> Any:
        """A directed ``igraph.Graph`` with vertex attribute ``name`` = external id.

        >>> LinkGraph.from_edges(["a"], ["b"]).to_igraph().vs["name"]
        ['a', 'b']
        """
        import igraph as ig

        g = ig.Graph(n=self.num_nodes, edges=self.to_edge_index().T, directed=True)
        g.vs["name"] = list(self.ids)
        return g

    @classmethod
    def from_igraph(cls, graph: Any) -> LinkGraph:
        """From an igraph graph; vertex attribute ``name`` becomes the ids when present.

        >>> import igraph as ig
        >>> LinkGraph.from_igraph(ig.Graph(edges=[(0, 1)], directed=True)).ids
        ['0', '1']
        """
        edges = np.asarray(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
        if not graph.is_directed():
            edges = np.vstack([edges, edges[:, ::-1]])
        names = graph.vs["name"] if "name" in graph.vs.attributes() else None
        return cls.from_index_edges(edges, graph.vcount(), ids=names, layout="pairs", warn=False)

    def subgraph(self, rows: Any) -> LinkGraph:
        """The graph induced by ``rows`` (in that order).

        >>> g = LinkGraph.from_edges(["a", "b"], ["b", "c"])
        >>> sub = g.subgraph([2, 1])
        >>> sub.ids, sub.to_edge_index().tolist()
        (['c', 'b'], [[1], [0]])
        """
        rows = check_node_rows(rows, self.num_nodes, "rows")
        return LinkGraph(self.adjacency[rows][:, rows], [self.ids[r] for r in rows])


def _caller_level() -> int:
    """``stacklevel`` for a warning issued in the caller: the first frame outside this module
    (constructors call each other)."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level
