"""Train/validation/test link splits with exact, per-source evaluation negatives.

:func:`link_split` is a leakage-safe ``RandomLinkSplit`` for citation graphs: held-out links
leave the training graph (with their reverse when ``undirected``), evaluation negatives are
drawn once per held-out link, OGB-citation2 style (``num_negatives`` targets per source), and
are filtered exactly against the *whole* graph, so no negative is a true link of any split.
With ``time_respecting`` the most recent citations are held out and a source's negatives
are never younger than the source itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike, check_rng
from .._sampling import sample_distinct, warn_short
from .._sparse import canonical_csr
from .._validation import check_bool, check_float, check_int
from ._graph import LinkGraph


@dataclass
class LinkSplit:
    """The result of :func:`link_split`.

    Attributes
    ----------
    train_graph : LinkGraph
        The input graph without the validation and test links (same nodes and ids).
    train_edges, val_edges, test_edges : ndarray of shape (n_split, 2), int64
        ``(source, target)`` rows, sorted. Directed splits list every link of the split;
        undirected splits list each linked pair once (see :func:`link_split`).
    val_negatives, test_negatives : ndarray of shape (n_split, num_negatives), int64
        Row ``i`` holds distinct negative targets for source ``val_edges[i, 0]``
        (resp. ``test_edges[i, 0]``): never the source, never linked to it in the full graph;
        ``-1`` padded (with a warning) only where the source has too few candidates.

    See Also
    --------
    link_split : what makes it.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[i, (i + 1) % 8] for i in range(8)])
    >>> s = link_split(g, test=0.25, num_negatives=2)
    >>> s.test_edges.shape, s.test_negatives.shape, s.train_graph.num_edges
    ((2, 2), (2, 2), 6)
    """

    train_graph: LinkGraph
    train_edges: np.ndarray
    val_edges: np.ndarray
    test_edges: np.ndarray
    val_negatives: np.ndarray
    test_negatives: np.ndarray

    def __repr__(self) -> str:
        return (
            f"LinkSplit(train={len(self.train_edges)}, val={len(self.val_edges)}, "
            f"test={len(self.test_edges)}, num_negatives={self.test_negatives.shape[1]})"
        )


def _check_years(years: Any, n: int) -> np.ndarray:
    y = np.asarray(years)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"`years` must be 1-D with one entry per node ({n}), got shape {y.shape}.")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise TypeError(f"`years` must be numeric, got dtype {y.dtype}.")
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        bad = np.flatnonzero(~np.isfinite(y))
        raise ValueError(
            f"`years` must be finite, got NaN/inf at {bad.size} node(s) (first: {bad[:5].tolist()}); "
            "fill unknown years first."
        )
    return y


def link_split(
    graph: LinkGraph | Any,
    *,
    val: float = 0.05,
    test: float = 0.1,
    num_negatives: int = 1,
    seed: SeedLike = 0,
    years: Any = None,
    time_respecting: bool = False,
    undirected: bool = False,
) -> LinkSplit:
    r"""Hold out validation and test links and draw filtered per-source negatives for them.

    The units split are the links (``undirected=False``) or the linked unordered pairs
    :math:`\{u, v\}` (``undirected=True``). With :math:`M` units, exactly
    ``round(val * M)`` go to validation and ``round(test * M)`` to test; the rest train.

    Negatives for a held-out ``(s, t)`` are drawn uniformly, without replacement, from

    .. math::

        \mathcal C(s) = \{v : v \ne s,\ (s, v) \notin E\ [\text{and } (v, s) \notin E
        \text{ if undirected}],\ [\text{year}(v) \le \text{year}(s) \text{ if time-respecting}]\}

    with :math:`E` the links of the *whole* input graph (train, validation and test), by
    :func:`graphneg._sampling.sample_distinct` (rejection against sorted edge keys
    ``s * n_nodes + v``; rows that keep failing switch to exact enumeration of
    :math:`\mathcal C(s)`), so a row is complete whenever :math:`|\mathcal C(s)| \ge`
    ``num_negatives``.

    Shortage policy (shared with :func:`graphneg.uniform_link_negatives` and the other link
    negatives): a held-out link whose source has fewer candidates gets all of them followed by ``-1``, and one
    :class:`~graphneg.GraphNegWarning` counts such rows. Filter them with
    ``(negatives >= 0).all(axis=1)`` before a fixed-width evaluation.

    Parameters
    ----------
    graph : LinkGraph or sparse array of shape (n_nodes, n_nodes)
        Directed links, ``graph[s, t] != 0`` when ``s`` cites ``t``.
    val, test : float, default=0.05, 0.1
        Fractions of the units held out, each in ``[0, 1)`` with ``val + test < 1``.
    num_negatives : int, default=1
        Negatives per held-out link (OGB citation2 uses 1000). ``0`` gives empty columns.
    seed : int, Generator or None, default=0
        Seeds the split and the negatives; the result is a function of ``seed``.
    years : array-like of shape (n_nodes,), default=None
        Publication year (or any time stamp) of each node; needs ``time_respecting=True``.
    time_respecting : bool, default=False
        Hold out the most recent links by the *source* (citing paper) year: test gets the
        newest, validation the next newest, train the rest. Links whose source year equals
        the year at a split boundary are assigned at random (seeded). A source's negatives
        are restricted to nodes no younger than it: same-year nodes are allowed, as in PyG's
        temporal ``node_time <= seed_time``.
    undirected : bool, default=False
        Treat ``s -> t`` and ``t -> s`` as one pair: both leave the training graph
        together (no leakage through the reverse link), each pair is listed once in the
        edge arrays (oriented as in the graph; a reciprocal pair as ``(min, max)``, or from
        the younger paper when time-respecting), and negatives exclude links either way.

    Returns
    -------
    LinkSplit
        ``train_edges`` are the training graph's links (``undirected=False``) or one row
        per training pair (``undirected=True``).

    Raises
    ------
    ValueError
        Bad fractions, a graph without links, ``years`` with ``time_respecting=False`` (or
        missing with ``True``), non-finite years.

    Warns
    -----
    GraphNegWarning
        When a held-out source has fewer than ``num_negatives`` candidates (it links to
        almost every node of its pool): counts the ``-1``-padded rows.

    See Also
    --------
    graphneg.uniform_link_negatives : training negatives under the same filter and shortage policy.
    graphneg.khop_mask : the links and k-hop neighbours of a batch, as a false-negative mask.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[i, (i + 1) % 10] for i in range(10)])
    >>> s = link_split(g, val=0.1, test=0.2, num_negatives=3, seed=0)
    >>> s
    LinkSplit(train=7, val=1, test=2, num_negatives=3)
    >>> s.train_graph.num_edges, s.test_negatives.shape
    (7, (2, 3))
    >>> bool(g.has_edges(np.repeat(s.test_edges[:, 0], 3), s.test_negatives.ravel()).any())
    False
    """
    graph, val, test, num_negatives, undirected, year, rng = _check_split_args(
        graph, val, test, num_negatives, seed, years, time_respecting, undirected
    )
    A = graph.adjacency
    n = graph.num_nodes
    r = np.repeat(np.arange(n, dtype=np.int64), np.diff(A.indptr))
    c = A.indices.astype(np.int64)
    if r.size == 0:
        raise ValueError("`graph` has no links to split.")
    src, dst, unit_of_edge = _units(r, c, n, undirected, year)
    role = _assign_roles(src, year, val, test, rng)
    keep = role[unit_of_edge] == 0
    train_adj = sp.csr_array((np.ones(int(keep.sum()), np.float32), (r[keep], c[keep])), shape=(n, n))
    train_graph = LinkGraph(train_adj, graph.ids)
    val_edges, test_edges, train_edges = (_edge_rows(src[role == k], dst[role == k]) for k in (1, 2, 0))
    banned = _banned_pattern(r, c, n, undirected)
    val_neg = _eval_negatives(banned, val_edges[:, 0], num_negatives, year, rng, "validation")
    test_neg = _eval_negatives(banned, test_edges[:, 0], num_negatives, year, rng, "test")
    return LinkSplit(train_graph, train_edges, val_edges, test_edges, val_neg, test_neg)


def _check_split_args(
    graph: Any, val: Any, test: Any, num_negatives: Any, seed: SeedLike, years: Any,
    time_respecting: Any, undirected: Any,
) -> tuple[LinkGraph, float, float, int, bool, np.ndarray | None, np.random.Generator]:
    if not isinstance(graph, LinkGraph):
        if not sp.issparse(graph):
            raise TypeError(
                f"`graph` must be a LinkGraph or a scipy.sparse adjacency, got {type(graph).__name__}."
            )
        graph = LinkGraph(graph)
    val = check_float(val, "val", min_value=0.0, max_value=1.0, max_inclusive=False)
    test = check_float(test, "test", min_value=0.0, max_value=1.0, max_inclusive=False)
    if val + test >= 1.0:
        raise ValueError(f"`val` + `test` must be < 1, got {val} + {test}.")
    num_negatives = check_int(num_negatives, "num_negatives", min_value=0)
    time_respecting = check_bool(time_respecting, "time_respecting")
    undirected = check_bool(undirected, "undirected")
    if time_respecting and years is None:
        raise ValueError("`time_respecting=True` needs `years` (one time stamp per node).")
    if years is not None and not time_respecting:
        raise ValueError("`years` is only used with `time_respecting=True`; pass both or neither.")
    year = _check_years(years, graph.num_nodes) if time_respecting else None
    return graph, val, test, num_negatives, undirected, year, check_rng(seed)


def _units(
    r: np.ndarray, c: np.ndarray, n: int, undirected: bool, year: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The units split (links, or linked pairs oriented once) and the unit of every link."""
    if not undirected:
        return r, c, np.arange(r.size)
    unit_key = np.minimum(r, c) * n + np.maximum(r, c)
    # within a pair, prefer the younger source when time-respecting, then (min, max)
    tiebreak = (r > c).astype(np.int64)
    order = np.lexsort((tiebreak, -year[r], unit_key)) if year is not None else np.lexsort((tiebreak, unit_key))
    first = np.r_[True, unit_key[order][1:] != unit_key[order][:-1]]
    rep = order[first]  # one directed link per pair, sorted by pair key
    return r[rep], c[rep], np.searchsorted(unit_key[rep], unit_key)


def _assign_roles(
    src: np.ndarray, year: np.ndarray | None, val: float, test: float, rng: np.random.Generator
) -> np.ndarray:
    """0 train, 1 validation, 2 test per unit: random, or newest sources first when timed."""
    m = src.size
    n_val, n_test = round(val * m), round(test * m)
    perm = rng.permutation(m)
    if year is not None:
        # newest sources first; the random permutation breaks year ties
        perm = perm[np.argsort(-year[src[perm]], kind="stable")]
    role = np.zeros(m, dtype=np.int8)
    role[perm[:n_test]] = 2
    role[perm[n_test : n_test + n_val]] = 1
    return role


def _edge_rows(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    o = np.lexsort((t, s))
    return np.stack([s[o], t[o]], axis=1).astype(np.int64).reshape(-1, 2)


def _banned_pattern(r: np.ndarray, c: np.ndarray, n: int, undirected: bool) -> sp.csr_array:
    """Per source: itself and its links in the *whole* graph (either way if undirected)."""
    diag = np.arange(n, dtype=np.int64)
    rows = np.concatenate([r, c, diag] if undirected else [r, diag])
    cols = np.concatenate([c, r, diag] if undirected else [c, diag])
    return canonical_csr(sp.csr_array((np.ones(rows.size, dtype=bool), (rows, cols)), shape=(n, n)))


def _eval_negatives(
    banned: sp.csr_array, sources: np.ndarray, k: int, year: np.ndarray | None,
    rng: np.random.Generator, split: str,
) -> np.ndarray:
    """Uniform negatives per held-out link from its source's pool (nodes no younger if timed)."""
    pools: dict[str, Any] = {}
    if year is not None:
        order = np.argsort(year, kind="stable")
        # pool(s) = order[:pool_size[s]]: every node with year <= year[s]
        pools = {"pool_order": order, "pool_size": np.searchsorted(year[order], year, side="right")}
    neg = sample_distinct(banned, k, rng, rows=sources, **pools).indices
    what = "negatives" if year is None else "negatives no younger than their source"
    warn_short(neg, k, f"{split} links", what, stacklevel=4)
    return neg
