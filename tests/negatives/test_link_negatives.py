from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from graphneg import GraphNegWarning, LinkGraph
from graphneg.negatives import (
    bica_link_negatives,
    degree_link_negatives,
    khop_link_negatives,
    ppr_link_negatives,
    scincl_link_negatives,
    specter_link_negatives,
    uniform_link_negatives,
)
from graphneg.negatives._link_strategies import LINK_STRATEGIES


def distances(graph, sources):
    """Undirected BFS distances from scipy (an independent reference)."""
    return csgraph.shortest_path(graph.undirected(), unweighted=True, indices=sources)


def check(graph, res, *, k, exclude_hops, expect_full=True):
    D = distances(graph, res.sources)
    for r, s in enumerate(res.sources):
        neg = res.indices[r][res.indices[r] >= 0]
        assert s not in neg
        assert len(set(neg.tolist())) == neg.size
        assert np.all(D[r, neg] > exclude_hops)  # never a link, never within the excluded hops
        assert not graph.has_edges(np.full(neg.size, s), neg).any()
        assert not graph.has_edges(neg, np.full(neg.size, s)).any()
    if expect_full:
        assert res.num_short == 0 and np.all(res.indices >= 0)


def quiet(strategy, graph, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)
        return LINK_STRATEGIES[strategy](graph, *args, **kw)


@pytest.fixture(scope="module")
def random_graph():
    rng = np.random.default_rng(0)
    n = 300
    src, dst = rng.integers(0, n, 1500), rng.integers(0, n, 1500)
    return LinkGraph.from_index_edges(np.c_[src, dst], n, warn=False)


@pytest.mark.parametrize("exclude_hops", [1, 2])
@pytest.mark.parametrize("strategy", ["uniform", "degree", "khop", "ppr", "specter"])
def test_filtered_strategies_on_random_graph(random_graph, strategy, exclude_hops):
    kw = {"hops": exclude_hops + 1} if strategy == "khop" else {}
    res = quiet(strategy, random_graph, np.arange(0, 300, 3), num_negatives=4, exclude_hops=exclude_hops, **kw)
    check(random_graph, res, k=4, exclude_hops=exclude_hops, expect_full=strategy in ("uniform", "degree"))


def test_khop_exact_distance(random_graph):
    res = khop_link_negatives(random_graph, np.arange(50), hops=3, num_negatives=3, exclude_hops=2)
    D = distances(random_graph, res.sources)
    for r in range(50):
        neg = res.indices[r][res.indices[r] >= 0]
        assert np.all(D[r, neg] == 3)


def test_uniform_is_exact_and_uniform_on_dense_rows():
    # a node linked to all but 5 others: rejection sampling must still fill every slot
    n = 200
    edges = np.array([[0, j] for j in range(1, n - 5)])
    g = LinkGraph.from_index_edges(edges, n)
    res = uniform_link_negatives(g, [0], num_negatives=5, seed=1)
    assert sorted(res.indices[0].tolist()) == list(range(n - 5, n))
    with pytest.warns(GraphNegWarning, match="1 of 1 sources got fewer than 6"):
        res = uniform_link_negatives(g, [0], num_negatives=6)
    assert res.num_short == 1 and (res.indices[0] >= 0).sum() == 5


def test_uniform_frequencies():
    from scipy import stats

    g = LinkGraph.from_index_edges([[0, 1], [0, 2]], 12, layout="pairs")
    res = uniform_link_negatives(g, np.zeros(3000, dtype=int), num_negatives=1, seed=0)
    counts = np.bincount(res.indices[:, 0], minlength=12)
    assert counts[:3].sum() == 0
    assert stats.chisquare(counts[3:]).pvalue > 0.001


def test_degree_follows_power_law():
    from scipy import stats

    edges = [[i, 0] for i in range(1, 9)] + [[i, 1] for i in range(2, 4)] + [[9, 10], [10, 11]]
    g = LinkGraph.from_index_edges(edges, 20)
    res = degree_link_negatives(g, np.full(4000, 19), num_negatives=1, seed=2)
    deg = np.asarray(g.undirected().sum(axis=1)).ravel()
    w = deg.astype(np.float64) ** 0.75
    w[19] = 0
    counts = np.bincount(res.indices[:, 0], minlength=20)
    ok = w > 0
    assert counts[~ok].sum() == 0
    assert stats.chisquare(counts[ok], w[ok] / w[ok].sum() * counts[ok].sum()).pvalue > 0.001


def test_specter_are_citations_of_citations():
    # 0 cites 1, 2; 1 cites 3, 4; 2 cites 1 (so 1 is hop 1 and not a negative), 4 cites 5
    g = LinkGraph.from_index_edges([[0, 1], [0, 2], [1, 3], [1, 4], [2, 1], [4, 5]], 7)
    res = specter_link_negatives(g, [0], num_negatives=2, seed=0)
    assert sorted(res.indices[0].tolist()) == [3, 4]


def test_bica_walks_the_two_hop_pool():
    rng = np.random.default_rng(3)
    n = 60
    edges = [[0, j] for j in range(1, 6)] + [[j, 6 + 5 * (j - 1) + t] for j in range(1, 6) for t in range(5)]
    g = LinkGraph.from_index_edges(edges, n)
    E = rng.normal(size=(n, 8))
    # BiCA as published: the seed's references are hard negatives too (exclude_hops=0)
    res = bica_link_negatives(g, E, [0], num_negatives=10, seed=0, exclude_hops=0)
    neg = res.indices[0].tolist()
    assert set(neg) <= set(range(1, 31)) and len(set(neg)) == 10  # 3 walks x 3 + 1 random
    hop1 = np.arange(1, 6)
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    closest = hop1[np.argsort(-(En[hop1] @ En[0]))][:3]
    assert set(closest.tolist()) <= set(neg)  # the walks start at the 3 closest references
    # filtered (default): references are true links and never returned
    res = quiet("bica", g, E, [0], num_negatives=10, seed=0)
    neg = res.indices[0][res.indices[0] >= 0]
    assert set(neg.tolist()) <= set(range(6, 31)) and neg.size >= 4


def test_scincl_windows():
    rng = np.random.default_rng(4)
    n = 400
    E = rng.normal(size=(n, 16)).astype(np.float32)
    g = LinkGraph.from_index_edges(rng.integers(0, n, (800, 2)), n, warn=False)
    res = quiet("scincl", g, E, np.arange(20), num_negatives=5, positive_window=(5, 10), hard_window=(100, 110),
                num_hard=2, num_positives=3)
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    for r in range(20):
        sims = En @ En[r]
        sims[r] = -np.inf
        rank = np.empty(n, dtype=int)
        rank[np.argsort(-sims, kind="stable")] = np.arange(n)
        assert np.all((rank[res.positives[r]] >= 5) & (rank[res.positives[r]] < 10))
        neg = res.indices[r][res.indices[r] >= 0]
        hard, easy = neg[:2], neg[2:]
        assert np.all((rank[hard] >= 100) & (rank[hard] < 110))
        assert np.all(rank[easy] >= 110)
    with pytest.raises(ValueError, match="scale the windows"):
        scincl_link_negatives(g, E, [0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"sources": [1000]}, ValueError, r"`sources` holds row 1000"),
        ({"num_negatives": 0}, ValueError, r"`num_negatives` must be >= 1"),
        ({"strategy": "khop", "hops": 1}, ValueError, r"`hops` \(1\) must be > `exclude_hops` \(1\)"),
        ({"strategy": "ppr", "window": (5, 5)}, ValueError, r"`window` must be"),
        ({"exclude": [[1]]}, ValueError, r"`exclude` must have one entry per query"),
    ],
)
def test_bad_input(random_graph, kwargs, error, match):
    kwargs = {"sources": [0, 1], **kwargs}
    with pytest.raises(error, match=match):
        LINK_STRATEGIES[kwargs.pop("strategy", "uniform")](random_graph, **kwargs)


@pytest.mark.parametrize("strategy", sorted(LINK_STRATEGIES))
def test_graph_type_checked(strategy):
    args = (np.ones((3, 2)),) if strategy in ("bica", "scincl") else ()
    with pytest.raises(TypeError, match="graphneg.LinkGraph"):
        LINK_STRATEGIES[strategy](sp.csr_array((3, 3)), *args)


def test_each_signature_holds_only_its_own_options():
    # one function per strategy: no option of another strategy in any signature
    import inspect

    shared = {"graph", "sources", "num_negatives", "exclude_hops", "exclude", "seed"}
    own = {name: set(inspect.signature(fn).parameters) - shared for name, fn in LINK_STRATEGIES.items()}
    assert own == {"uniform": set(), "specter": set(), "khop": {"hops"}, "degree": {"power"},
                   "ppr": {"alpha", "window", "num_iterations"},
                   "bica": {"embeddings", "query_embeddings", "num_paths", "path_length", "top_k", "add_random"},
                   "scincl": {"embeddings", "positive_window", "hard_window", "num_hard", "num_positives"}}


@pytest.mark.slow
@pytest.mark.parametrize("corpus_name", ["cora", "citeseer_text"])
def test_real_citation_graphs(request, corpus_name):
    corpus = request.getfixturevalue(corpus_name)
    g = LinkGraph(corpus.edges, corpus.ids)
    sources = np.arange(0, g.num_nodes, 7)
    D = distances(g, sources)
    for strategy in ("uniform", "degree", "khop", "ppr", "specter"):
        for exclude_hops in (1, 2):
            kw = {"hops": exclude_hops + 1} if strategy == "khop" else {}
            res = quiet(strategy, g, sources, num_negatives=5, exclude_hops=exclude_hops, seed=0, **kw)
            neg_rows = np.repeat(np.arange(sources.size), 5)
            flat = res.indices.ravel()
            ok = flat >= 0
            assert np.all(D[neg_rows[ok], flat[ok]] > exclude_hops), (strategy, exclude_hops)
            if strategy == "khop":
                assert np.all(D[neg_rows[ok], flat[ok]] == exclude_hops + 1)
            if strategy in ("uniform", "degree"):
                assert res.num_short == 0  # exact counts
            assert res.num_short == int(((res.indices >= 0).sum(axis=1) < 5).sum())


E2 = np.ones((300, 2))


@pytest.mark.parametrize(
    ("strategy", "kwargs", "error", "match"),
    [
        # each strategy validates its own options when it runs
        ("ppr", {"alpha": -1}, ValueError, r"`alpha` must be > 0"),
        ("ppr", {"num_iterations": 0}, ValueError, r"`num_iterations` must be >= 1"),
        ("ppr", {"window": (5,)}, TypeError, r"`window` must be a \(start, stop\) pair"),
        ("degree", {"power": -0.5}, ValueError, r"`power` must be >= 0"),
        ("bica", {"embeddings": E2, "num_paths": 0}, ValueError, r"`num_paths` must be >= 1"),
        ("bica", {"embeddings": E2, "add_random": "yes"}, TypeError, r"`add_random`"),
        ("scincl", {"embeddings": E2, "hard_window": (10, "x")}, TypeError, r"`hard_window` must be an int"),
        # an option of another strategy is not in the signature at all
        ("uniform", {"hops": 3}, TypeError, r"unexpected keyword argument 'hops'"),
        ("degree", {"alpha": 0.2}, TypeError, r"unexpected keyword argument 'alpha'"),
    ],
)
def test_strategy_options_are_its_own(random_graph, strategy, kwargs, error, match):
    with pytest.raises(error, match=match):
        LINK_STRATEGIES[strategy](random_graph, sources=[0, 1], **kwargs)


def test_defaults_equal_explicit_defaults(random_graph):
    a = ppr_link_negatives(random_graph, [0, 1, 2], num_negatives=2)
    b = ppr_link_negatives(random_graph, [0, 1, 2], num_negatives=2, alpha=0.15, window=(10, 100), num_iterations=30)
    assert np.array_equal(a.indices, b.indices)


def test_shortage_policy_is_shared_with_link_split():
    # a source with fewer candidates than asked: all of them, then -1, one counted warning
    g = LinkGraph.from_index_edges([[0, j] for j in range(1, 8)], 10)
    for strategy in ("uniform", "degree", "specter"):
        with pytest.warns(GraphNegWarning, match=r"1 of 1 sources got fewer than 4 .*padded with -1"):
            res = LINK_STRATEGIES[strategy](g, [0], num_negatives=4, exclude_hops=1)
        assert res.num_short == 1 and np.all(res.indices[0][res.indices[0] >= 0] >= 8)
