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
from .._validation import check_bool, check_float, check_int
from ..exceptions import InfeasibleSamplingError
from ._graph import LinkGraph

__all__ = ["LinkSplit", "link_split"]

# Rejection rounds before the remaining rows switch to exact enumeration of their candidates
# (only rows whose sources link to most of their candidate pool get that far).
_MAX_ROUNDS = 16


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
        (resp. ``test_edges[i, 0]``): never the source, never linked to it in the full graph.
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


def _contains(sorted_keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Vectorised membership of ``queries`` in a sorted int64 array."""
    if sorted_keys.size == 0:
        return np.zeros(queries.shape, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, queries), sorted_keys.size - 1)
    return sorted_keys[pos] == queries


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
    rejection against a sorted array of edge keys ``s * n_nodes + v`` and resampling until
    every slot is filled (rows that keep failing switch to exact enumeration of
    :math:`\mathcal C(s)`), so no row is ever short.

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
    InfeasibleSamplingError
        (a ``ValueError``) when a held-out source has fewer than ``num_negatives``
        candidates, i.e. it links to (almost) every node of its pool; names the source.

    Examples
    --------
    >>> g = LinkGraph.from_index_edges([[i, (i + 1) % 10] for i in range(10)])
    >>> s = link_split(g, val=0.1, test=0.2, num_negatives=3, seed=0)
    >>> s
    LinkSplit(train=7, val=1, test=2, num_negatives=3)
    >>> s.train_graph.n_edges, s.test_negatives.shape
    (7, (2, 3))
    >>> bool(g.has_edges(np.repeat(s.test_edges[:, 0], 3), s.test_negatives.ravel()).any())
    False
    """
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
    n = graph.n_nodes
    if time_respecting and years is None:
        raise ValueError("`time_respecting=True` needs `years` (one time stamp per node).")
    if years is not None and not time_respecting:
        raise ValueError("`years` is only used with `time_respecting=True`; pass both or neither.")
    year = _check_years(years, n) if time_respecting else None
    rng = check_rng(seed)

    A = graph.adjacency
    r = np.repeat(np.arange(n, dtype=np.int64), np.diff(A.indptr))
    c = A.indices.astype(np.int64)
    if r.size == 0:
        raise ValueError("`graph` has no links to split.")

    # -- units and their orientation --------------------------------------------------------
    if undirected:
        unit_key = np.minimum(r, c) * n + np.maximum(r, c)
        # within a pair, prefer the younger source when time-respecting, then (min, max)
        tiebreak = (r > c).astype(np.int64)
        order = (
            np.lexsort((tiebreak, -year[r], unit_key))  # type: ignore[index]
            if year is not None
            else np.lexsort((tiebreak, unit_key))
        )
        first = np.r_[True, unit_key[order][1:] != unit_key[order][:-1]]
        rep = order[first]  # one directed link per pair, sorted by pair key
        src, dst = r[rep], c[rep]
        unit_of_edge = np.searchsorted(unit_key[rep], unit_key)
    else:
        src, dst = r, c
        unit_of_edge = np.arange(r.size)
    m = src.size
    n_val, n_test = round(val * m), round(test * m)

    # -- choose held-out units --------------------------------------------------------------
    perm = rng.permutation(m)
    if year is not None:
        # newest sources first; the random permutation breaks year ties
        perm = perm[np.argsort(-year[src[perm]], kind="stable")]
    role = np.zeros(m, dtype=np.int8)  # 0 train, 1 val, 2 test
    role[perm[:n_test]] = 2
    role[perm[n_test : n_test + n_val]] = 1

    keep = role[unit_of_edge] == 0
    train_adj = sp.csr_array(
        (np.ones(int(keep.sum()), np.float32), (r[keep], c[keep])), shape=(n, n)
    )
    train_graph = LinkGraph(train_adj, graph.ids)

    def rows(mask: np.ndarray) -> np.ndarray:
        s, t = src[mask], dst[mask]
        o = np.lexsort((t, s))
        return np.stack([s[o], t[o]], axis=1).astype(np.int64).reshape(-1, 2)

    val_edges, test_edges = rows(role == 1), rows(role == 2)
    train_edges = rows(role == 0)

    # -- negatives --------------------------------------------------------------------------
    bad = r * n + c
    if undirected:
        bad = np.sort(np.concatenate([bad, c * n + r]))
        bad = bad[np.r_[True, bad[1:] != bad[:-1]]]
    sampler = _NegativeSampler(n, bad, year)
    val_neg = sampler.sample(val_edges[:, 0], num_negatives, rng)
    test_neg = sampler.sample(test_edges[:, 0], num_negatives, rng)
    return LinkSplit(train_graph, train_edges, val_edges, test_edges, val_neg, test_neg)


class _NegativeSampler:
    """Uniform per-source negatives from each source's pool, filtered against ``bad`` keys."""

    def __init__(self, n: int, bad: np.ndarray, year: np.ndarray | None) -> None:
        self.n = n
        self.bad = bad  # sorted int64 keys s * n + v of every excluded (s, v), self aside
        self.year = year
        if year is not None:
            self.by_year = np.argsort(year, kind="stable")
            self.sorted_year = year[self.by_year]
            # pool(s) = by_year[:pool_size[s]]: every node with year <= year[s]
            self.pool_size = np.searchsorted(self.sorted_year, year, side="right")
        else:
            self.pool_size = np.full(n, n, dtype=np.int64)
        # candidates per source = pool size - self - excluded partners inside the pool
        s, v = bad // n, bad % n
        inside = s != v
        if year is not None:
            inside &= year[v] <= year[s]
        self.n_candidates = self.pool_size - 1 - np.bincount(s[inside], minlength=n)

    def _draw(self, sources: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.year is None:
            return rng.integers(0, self.n, size=sources.size)
        return self.by_year[rng.integers(0, self.pool_size[sources])]

    def _candidates(self, s: int) -> np.ndarray:
        pool = np.arange(self.n) if self.year is None else self.by_year[: self.pool_size[s]]
        ok = (pool != s) & ~_contains(self.bad, s * self.n + pool)
        return pool[ok]

    def sample(self, sources: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        n_rows = sources.size
        out = np.full((n_rows, k), -1, dtype=np.int64)
        if n_rows == 0 or k == 0:
            return out
        short = self.n_candidates[sources] < k
        if short.any():
            i = int(np.flatnonzero(short)[0])
            s = int(sources[i])
            pool = "nodes" if self.year is None else "nodes no younger than it"
            raise InfeasibleSamplingError(
                f"source node {s} has only {int(self.n_candidates[s])} possible negative(s) "
                f"among {int(self.pool_size[s])} {pool} (it links to the rest), "
                f"but `num_negatives`={k}; lower `num_negatives`."
            )
        filled = np.zeros(n_rows, dtype=np.int64)
        for _ in range(_MAX_ROUNDS):
            open_rows = np.flatnonzero(filled < k)
            if open_rows.size == 0:
                return out
            slot_rows = np.repeat(open_rows, k - filled[open_rows])
            s = sources[slot_rows]
            v = self._draw(s, rng)
            ok = (v != s) & ~_contains(self.bad, s * self.n + v)
            if filled[open_rows].any():
                # already placed in its row in an earlier round?
                placed = out[open_rows]
                placed_keys = (open_rows[:, None] * self.n + placed)[placed >= 0]
                ok &= ~_contains(np.sort(placed_keys), slot_rows * self.n + v)
            # duplicates within this round: keep the first draw (sequential semantics);
            # slot_rows is sorted, so a stable sort by key groups (row, v) in draw order
            cand = np.flatnonzero(ok)
            key = slot_rows[cand] * self.n + v[cand]
            order = np.argsort(key, kind="stable")
            first = np.ones(key.size, dtype=bool)
            first[1:] = key[order][1:] != key[order][:-1]
            acc = np.sort(cand[order[first]])
            acc_rows = slot_rows[acc]
            starts = np.r_[0, np.flatnonzero(acc_rows[1:] != acc_rows[:-1]) + 1]
            rank = np.arange(acc.size) - np.repeat(starts, np.diff(np.r_[starts, acc.size]))
            out[acc_rows, filled[acc_rows] + rank] = v[acc]
            filled += np.bincount(acc_rows, minlength=n_rows)
        # Rows still open have sources linked to most of their pool: enumerate exactly.
        for i in np.flatnonzero(filled < k):
            s = int(sources[i])
            cand = self._candidates(s)
            cand = cand[~np.isin(cand, out[i, : filled[i]])]
            out[i, filled[i] :] = rng.choice(cand, size=k - filled[i], replace=False)
        return out
