from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph

from graphneg import GraphNegWarning, LinkGraph
from graphneg.negatives import link_negatives


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
        assert res.n_short == 0 and np.all(res.indices >= 0)


def quiet(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)
        return link_negatives(**kw)


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
    res = quiet(graph=random_graph, sources=np.arange(0, 300, 3), strategy=strategy, num_negatives=4,
                exclude_hops=exclude_hops, **kw)
    check(random_graph, res, k=4, exclude_hops=exclude_hops, expect_full=strategy in ("uniform", "degree"))


def test_khop_exact_distance(random_graph):
    res = link_negatives(random_graph, np.arange(50), strategy="khop", hops=3, num_negatives=3, exclude_hops=2)
    D = distances(random_graph, res.sources)
    for r in range(50):
        neg = res.indices[r][res.indices[r] >= 0]
        assert np.all(D[r, neg] == 3)


def test_uniform_is_exact_and_uniform_on_dense_rows():
    # a node linked to all but 5 others: rejection sampling must still fill every slot
    n = 200
    edges = np.array([[0, j] for j in range(1, n - 5)])
    g = LinkGraph.from_index_edges(edges, n)
    res = link_negatives(g, [0], strategy="uniform", num_negatives=5, seed=1)
    assert sorted(res.indices[0].tolist()) == list(range(n - 5, n))
    with pytest.warns(GraphNegWarning, match="1 of 1 sources got fewer than 6"):
        res = link_negatives(g, [0], strategy="uniform", num_negatives=6)
    assert res.n_short == 1 and (res.indices[0] >= 0).sum() == 5


def test_uniform_frequencies():
    from scipy import stats

    g = LinkGraph.from_index_edges([[0, 1], [0, 2]], 12, layout="pairs")
    res = link_negatives(g, np.zeros(3000, dtype=int), strategy="uniform", num_negatives=1, seed=0)
    counts = np.bincount(res.indices[:, 0], minlength=12)
    assert counts[:3].sum() == 0
    assert stats.chisquare(counts[3:]).pvalue > 0.001


def test_degree_follows_power_law():
    from scipy import stats

    edges = [[i, 0] for i in range(1, 9)] + [[i, 1] for i in range(2, 4)] + [[9, 10], [10, 11]]
    g = LinkGraph.from_index_edges(edges, 20)
    res = link_negatives(g, np.full(4000, 19), strategy="degree", num_negatives=1, seed=2)
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
    res = link_negatives(g, [0], strategy="specter", num_negatives=2, seed=0)
    assert sorted(res.indices[0].tolist()) == [3, 4]


def test_bica_walks_the_two_hop_pool():
    rng = np.random.default_rng(3)
    n = 60
    edges = [[0, j] for j in range(1, 6)] + [[j, 6 + 5 * (j - 1) + t] for j in range(1, 6) for t in range(5)]
    g = LinkGraph.from_index_edges(edges, n)
    E = rng.normal(size=(n, 8))
    # BiCA as published: the seed's references are hard negatives too (exclude_hops=0)
    res = link_negatives(g, [0], strategy="bica", num_negatives=10, embeddings=E, seed=0, exclude_hops=0)
    neg = res.indices[0].tolist()
    assert set(neg) <= set(range(1, 31)) and len(set(neg)) == 10  # 3 walks x 3 + 1 random
    hop1 = np.arange(1, 6)
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    closest = hop1[np.argsort(-(En[hop1] @ En[0]))][:3]
    assert set(closest.tolist()) <= set(neg)  # the walks start at the 3 closest references
    # filtered (default): references are true links and never returned
    res = quiet(graph=g, sources=[0], strategy="bica", num_negatives=10, embeddings=E, seed=0)
    neg = res.indices[0][res.indices[0] >= 0]
    assert set(neg.tolist()) <= set(range(6, 31)) and neg.size >= 4


def test_scincl_windows():
    rng = np.random.default_rng(4)
    n = 400
    E = rng.normal(size=(n, 16)).astype(np.float32)
    g = LinkGraph.from_index_edges(rng.integers(0, n, (800, 2)), n, warn=False)
    res = quiet(graph=g, sources=np.arange(20), strategy="scincl", num_negatives=5, embeddings=E,
                scincl_positive_window=(5, 10), scincl_hard_window=(100, 110), scincl_hard=2, scincl_positives=3)
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
        link_negatives(g, [0], strategy="scincl", embeddings=E)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"strategy": "random"}, ValueError, r"`strategy` must be one of"),
        ({"sources": [1000]}, ValueError, r"`sources` holds row 1000"),
        ({"num_negatives": 0}, ValueError, r"`num_negatives` must be >= 1"),
        ({"strategy": "khop", "hops": 1}, ValueError, r"`hops` \(1\) must be > `exclude_hops` \(1\)"),
        ({"strategy": "bica"}, ValueError, r"needs `embeddings`"),
        ({"strategy": "ppr", "ppr_window": (5, 5)}, ValueError, r"`ppr_window` must be"),
        ({"exclude": [[1]]}, ValueError, r"`exclude` must have one entry per query"),
    ],
)
def test_bad_input(random_graph, kwargs, error, match):
    with pytest.raises(error, match=match):
        link_negatives(random_graph, **{"sources": [0, 1], **kwargs})


def test_graph_type_checked():
    with pytest.raises(TypeError, match="graphneg.LinkGraph"):
        link_negatives(sp.csr_array((3, 3)))


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
            res = quiet(graph=g, sources=sources, strategy=strategy, num_negatives=5, exclude_hops=exclude_hops,
                        seed=0, **kw)
            neg_rows = np.repeat(np.arange(sources.size), 5)
            flat = res.indices.ravel()
            ok = flat >= 0
            assert np.all(D[neg_rows[ok], flat[ok]] > exclude_hops), (strategy, exclude_hops)
            if strategy == "khop":
                assert np.all(D[neg_rows[ok], flat[ok]] == exclude_hops + 1)
            if strategy in ("uniform", "degree"):
                assert res.n_short == 0  # exact counts
            assert res.n_short == int(((res.indices >= 0).sum(axis=1) < 5).sum())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        # options of another strategy are errors, not silently ignored
        ({"hops": 3}, ValueError, r"`hops` is only used by strategy='khop', got strategy='uniform'"),
        ({"ppr_alpha": 0.2, "strategy": "degree"}, ValueError, r"`ppr_alpha` is only used by strategy='ppr'"),
        ({"embeddings": np.ones((300, 2))}, ValueError, r"`embeddings` is only used by strategy='bica' or 'scincl'"),
        ({"strategy": "bica", "embeddings": np.ones((300, 2)), "scincl_hard": 1}, ValueError,
         r"`scincl_hard` is only used by strategy='scincl'"),
        # each strategy's options are validated when it runs
        ({"strategy": "ppr", "ppr_alpha": -1}, ValueError, r"`ppr_alpha` must be > 0"),
        ({"strategy": "ppr", "ppr_iterations": 0}, ValueError, r"`ppr_iterations` must be >= 1"),
        ({"strategy": "ppr", "ppr_window": (5,)}, TypeError, r"`ppr_window` must be a \(start, stop\) pair"),
        ({"strategy": "degree", "degree_power": -0.5}, ValueError, r"`degree_power` must be >= 0"),
        ({"strategy": "bica", "embeddings": np.ones((300, 2)), "bica_paths": 0}, ValueError,
         r"`bica_paths` must be >= 1"),
        ({"strategy": "bica", "embeddings": np.ones((300, 2)), "bica_random": "yes"}, TypeError, r"`bica_random`"),
        ({"strategy": "scincl", "embeddings": np.ones((300, 2)), "scincl_hard_window": (10, "x")}, TypeError,
         r"`scincl_hard_window` must be an int"),
    ],
)
def test_strategy_options_are_validated_when_chosen_only(random_graph, kwargs, error, match):
    with pytest.raises(error, match=match):
        link_negatives(random_graph, [0, 1], **kwargs)


def test_defaults_as_none_equal_explicit_defaults(random_graph):
    a = link_negatives(random_graph, [0, 1, 2], strategy="ppr", num_negatives=2)
    b = link_negatives(random_graph, [0, 1, 2], strategy="ppr", num_negatives=2, ppr_alpha=0.15,
                       ppr_window=(10, 100), ppr_iterations=30)
    assert np.array_equal(a.indices, b.indices)


def test_shortage_policy_is_shared_with_link_split():
    # a source with fewer candidates than asked: all of them, then -1, one counted warning
    g = LinkGraph.from_index_edges([[0, j] for j in range(1, 8)], 10)
    for strategy in ("uniform", "degree", "specter"):
        with pytest.warns(GraphNegWarning, match=r"1 of 1 sources got fewer than 4 .*padded with -1"):
            res = link_negatives(g, [0], strategy=strategy, num_negatives=4, exclude_hops=1)
        assert res.n_short == 1 and np.all(res.indices[0][res.indices[0] >= 0] >= 8)
