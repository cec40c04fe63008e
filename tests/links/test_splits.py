from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg._sampling import sample_distinct
from graphneg._sparse import canonical_csr
from graphneg.exceptions import GraphNegWarning
from graphneg.links import LinkGraph, LinkSplit, link_split


def target_key_array(edges: np.ndarray, n: int) -> np.ndarray:
    return edges[:, 0].astype(np.int64) * n + edges[:, 1]


def _graph_keys(g: LinkGraph) -> np.ndarray:
    ei = g.to_edge_index()
    return ei[0] * g.num_nodes + ei[1]


@pytest.fixture
def graph() -> LinkGraph:
    """400 nodes, ~4000 random links, 300 of them reciprocated."""
    rng = np.random.default_rng(1)
    e = rng.integers(0, 400, size=(4000, 2))
    e = np.vstack([e, e[:300, ::-1]])
    return LinkGraph.from_index_edges(e, 400, warn=False)


@pytest.fixture
def years() -> np.ndarray:
    return np.random.default_rng(2).integers(1990, 2020, size=400)


def _check_negatives(g: LinkGraph, edges: np.ndarray, neg: np.ndarray, k: int, both_ways: bool):
    assert neg.shape == (len(edges), k) and neg.dtype == np.int64
    src = np.repeat(edges[:, 0], k)
    flat = neg.ravel()
    assert flat.min() >= 0 and flat.max() < g.num_nodes
    assert not np.any(flat == src)
    assert not g.has_edges(src, flat).any()
    if both_ways:
        assert not g.has_edges(flat, src).any()
    # distinct within a row
    srt = np.sort(neg, axis=1)
    assert not np.any(srt[:, 1:] == srt[:, :-1])


def test_directed_counts_disjoint_and_negatives(graph):
    s = link_split(graph, val=0.05, test=0.1, num_negatives=7, seed=3)
    assert isinstance(s, LinkSplit)
    m, n = graph.num_edges, graph.num_nodes
    assert len(s.val_edges) == round(0.05 * m) and len(s.test_edges) == round(0.1 * m)
    assert len(s.train_edges) == m - len(s.val_edges) - len(s.test_edges)
    tr, va, te = (target_key_array(x, n) for x in (s.train_edges, s.val_edges, s.test_edges))
    assert np.intersect1d(tr, va).size == np.intersect1d(tr, te).size == np.intersect1d(va, te).size == 0
    assert np.array_equal(np.sort(np.concatenate([tr, va, te])), _graph_keys(graph))
    # the training graph is exactly the training links, same ids
    assert np.array_equal(_graph_keys(s.train_graph), np.sort(tr))
    assert s.train_graph.ids == graph.ids
    for x in (s.train_edges, s.val_edges, s.test_edges):
        assert x.dtype == np.int64 and x.shape[1] == 2
        assert np.all(np.diff(target_key_array(x, n)) > 0)  # sorted rows
    _check_negatives(graph, s.val_edges, s.val_negatives, 7, both_ways=False)
    _check_negatives(graph, s.test_edges, s.test_negatives, 7, both_ways=False)
    assert "LinkSplit(train=" in repr(s)


def test_undirected_removes_reverse_links_together(graph):
    n = graph.num_nodes
    pairs = np.unique(np.sort(graph.to_edge_index().T, axis=1), axis=0)
    s = link_split(graph, val=0.1, test=0.2, num_negatives=5, seed=0, undirected=True)
    assert len(s.test_edges) == round(0.2 * len(pairs)) and len(s.val_edges) == round(0.1 * len(pairs))
    assert len(s.train_edges) + len(s.val_edges) + len(s.test_edges) == len(pairs)
    held = np.vstack([s.val_edges, s.test_edges])
    # no leakage: neither direction of a held-out pair stays in the training graph
    assert not s.train_graph.has_edges(held[:, 0], held[:, 1]).any()
    assert not s.train_graph.has_edges(held[:, 1], held[:, 0]).any()
    # every held-out row is a real link of the graph, and some pairs were reciprocal
    assert graph.has_edges(held[:, 0], held[:, 1]).all()
    assert graph.has_edges(held[:, 1], held[:, 0]).any()
    # the training graph keeps both directions of every training pair that had them
    tr = s.train_edges
    fwd, rev = graph.has_edges(tr[:, 0], tr[:, 1]), graph.has_edges(tr[:, 1], tr[:, 0])
    assert fwd.all()
    assert s.train_graph.num_edges == len(tr) + int(rev.sum())
    # one row per pair in each split, disjoint across splits
    u = [np.sort(x, axis=1) for x in (s.train_edges, s.val_edges, s.test_edges)]
    all_pairs = np.vstack(u)
    assert len(np.unique(target_key_array(all_pairs, n))) == len(pairs)
    _check_negatives(graph, s.val_edges, s.val_negatives, 5, both_ways=True)
    _check_negatives(graph, s.test_edges, s.test_negatives, 5, both_ways=True)


def test_time_respecting(graph, years):
    s = link_split(graph, val=0.1, test=0.15, num_negatives=10, seed=1, years=years, time_respecting=True)
    ytr, yva, yte = (years[x[:, 0]] for x in (s.train_edges, s.val_edges, s.test_edges))
    # most recent citing years held out: train <= val <= test (ties only at the boundaries)
    assert ytr.max() <= yva.min() and yva.max() <= yte.min()
    assert yte.max() == years[graph.to_edge_index()[0]].max()
    for e, neg in ((s.val_edges, s.val_negatives), (s.test_edges, s.test_negatives)):
        _check_negatives(graph, e, neg, 10, both_ways=False)
        assert np.all(years[neg] <= years[e[:, 0], None])
    # undirected + time: the pair is oriented from its younger end
    su = link_split(graph, test=0.2, val=0.0, seed=1, years=years, time_respecting=True, undirected=True)
    e = su.test_edges
    assert years[su.train_edges[:, 0]].max() <= years[e[:, 0]].min()
    both = graph.has_edges(e[:, 1], e[:, 0])
    assert np.all(years[e[both, 0]] >= years[e[both, 1]])
    assert np.all(years[su.test_negatives] <= years[e[:, 0], None])
    assert not graph.has_edges(e[:, 0], su.test_negatives.ravel()).any()
    assert not graph.has_edges(su.test_negatives.ravel(), e[:, 0]).any()


def test_time_ties_split_at_random_but_deterministically(graph):
    same = np.full(graph.num_nodes, 2000)
    a = link_split(graph, seed=4, years=same, time_respecting=True)
    b = link_split(graph, seed=4, years=same, time_respecting=True)
    c = link_split(graph, seed=5, years=same, time_respecting=True)
    assert np.array_equal(a.test_edges, b.test_edges)
    assert not np.array_equal(a.test_edges, c.test_edges)


def test_deterministic_for_a_seed(graph):
    a = link_split(graph, num_negatives=4, seed=11)
    b = link_split(graph, num_negatives=4, seed=np.random.default_rng(11))
    c = link_split(graph, num_negatives=4, seed=12)
    for f in ("train_edges", "val_edges", "test_edges", "val_negatives", "test_negatives"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.test_edges, c.test_edges)
    assert not np.array_equal(a.test_negatives, c.test_negatives)


def test_sparse_input_and_zero_negatives():
    A = sp.csr_array(np.triu(np.ones((8, 8)), 1))
    s = link_split(A, val=0.0, test=0.25, num_negatives=0, seed=0)
    assert s.test_negatives.shape == (7, 0) and s.val_negatives.shape == (0, 0)
    assert s.val_edges.shape == (0, 2)
    assert s.train_graph.num_edges == 28 - 7


def test_near_complete_source_gets_exactly_the_remaining_nodes():
    # node 0 links to every node but 5 and 9: its only possible negatives (exact fallback)
    n = 200
    targets = np.setdiff1d(np.arange(1, n), [5, 9])
    e = np.stack([np.zeros(targets.size, dtype=np.int64), targets], axis=1)
    g = LinkGraph.from_index_edges(e, n)
    s = link_split(g, val=0.0, test=0.5, num_negatives=2, seed=0)
    assert np.array_equal(np.sort(s.test_negatives, axis=1), np.tile([5, 9], (len(s.test_edges), 1)))


def test_infeasible_source_is_padded_and_warned():
    # one shortage policy with link_negatives: all candidates, then -1, and a counted warning
    n = 10
    e = np.stack([np.zeros(n - 1, dtype=np.int64), np.arange(1, n)], axis=1)
    g = LinkGraph.from_index_edges(e, n)
    with pytest.warns(GraphNegWarning, match=r"test links got fewer than 1 negatives"):
        s = link_split(g, test=0.5, num_negatives=1)
    assert np.all(s.test_negatives == -1)  # source 0 links to every other node
    # time-respecting: the pool (no younger nodes) can be too small even for a sparse source
    years = np.r_[2000, np.full(n - 1, 2010)]
    g2 = LinkGraph.from_index_edges([[0, 1], [2, 3]], n, layout="pairs")
    with pytest.warns(GraphNegWarning, match="no younger than their source"):
        s2 = link_split(g2, val=0.45, test=0.5, years=years, time_respecting=True, seed=0)
    short = np.flatnonzero((s2.test_negatives < 0).any(axis=1)) if len(s2.test_edges) else []
    for i in short:
        assert s2.test_edges[i, 0] == 0


def _pattern(n, bad_keys):
    rows, cols = bad_keys // n, bad_keys % n
    rows = np.r_[rows, np.arange(n)]
    cols = np.r_[cols, np.arange(n)]  # a source is never its own negative
    return canonical_csr(sp.csr_array((np.ones(rows.size, bool), (rows, cols)), shape=(n, n)))


def test_sampler_is_uniform_over_valid_candidates():
    n = 20
    bad = np.sort(np.array([0 * n + v for v in (1, 2, 3, 4, 5)]))
    neg = sample_distinct(_pattern(n, bad), 3, np.random.default_rng(0),
                          rows=np.zeros(4000, dtype=np.int64)).indices
    counts = np.bincount(neg.ravel(), minlength=n)
    assert counts[:6].sum() == 0
    expected = 4000 * 3 / 14
    assert np.all(np.abs(counts[6:] - expected) < 0.1 * expected)
    # time pools: only nodes no younger than the source
    year = (np.arange(n) % 4).astype(float)
    order = np.argsort(year, kind="stable")
    size = np.searchsorted(year[order], year, side="right")
    neg = sample_distinct(_pattern(n, np.empty(0, np.int64)), 2, np.random.default_rng(1),
                          rows=np.full(3000, 6), pool_order=order, pool_size=size).indices  # year 2
    allowed = np.flatnonzero((year <= 2) & (np.arange(n) != 6))
    counts = np.bincount(neg.ravel(), minlength=n)
    assert set(np.flatnonzero(counts)) == set(allowed)
    expected = 6000 / allowed.size
    assert np.all(np.abs(counts[allowed] - expected) < 0.15 * expected)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(val=0.5, test=0.5), ValueError, "< 1"),
        (dict(val=-0.1), ValueError, "`val`"),
        (dict(test=1.0), ValueError, "`test`"),
        (dict(num_negatives=-1), ValueError, "num_negatives"),
        (dict(num_negatives=1.5), TypeError, "num_negatives"),
        (dict(time_respecting=True), ValueError, "needs `years`"),
        (dict(years=np.zeros(400)), ValueError, "only used with"),
        (dict(years=np.zeros(3), time_respecting=True), ValueError, "one entry per node"),
        (dict(years=np.r_[np.nan, np.zeros(399)], time_respecting=True), ValueError, "finite"),
        (dict(years=np.array(["x"] * 400), time_respecting=True), TypeError, "numeric"),
        (dict(undirected=1), TypeError, "undirected"),
        (dict(seed=-1), TypeError, "seed"),
    ],
)
def test_bad_input(graph, kwargs, err, match):
    with pytest.raises(err, match=match):
        link_split(graph, **kwargs)


def test_bad_graph():
    with pytest.raises(TypeError, match="LinkGraph or a scipy.sparse"):
        link_split(np.eye(3))
    with pytest.raises(ValueError, match="no links"):
        link_split(LinkGraph(sp.csr_array((4, 4))))
