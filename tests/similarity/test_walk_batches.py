"""Tests for random-walk-with-restart batches (BatchSampler, KDD 2023)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from graphneg.links import LinkGraph
from graphneg.similarity._walk_batches import walk_batches


def cliques(n_cliques: int, size: int, *, bridges: bool = True) -> sp.csr_array:
    block = np.ones((size, size)) - np.eye(size)
    A = sp.block_diag([block] * n_cliques, format="lil")
    if bridges:  # one edge from each clique to the next
        for c in range(n_cliques - 1):
            A[c * size, (c + 1) * size] = 1
    return sp.csr_array(A)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 9),
    st.floats(0.0, 1.0),
    st.integers(1, 8),
    st.integers(0, 2**32 - 1),
    st.booleans(),
)
def test_every_item_once_in_ceil_n_over_b_batches(n, batch_size, restart, patience, seed, drop_last):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=rng.uniform(0, 0.5), random_state=rng, format="csr")
    batches = walk_batches(A, batch_size, restart=restart, patience=patience, seed=seed % 7, drop_last=drop_last)
    sizes = [b.size for b in batches]
    flat = np.concatenate(batches) if batches else np.empty(0, np.int64)
    assert np.unique(flat).size == flat.size  # never twice
    if drop_last:
        assert sizes == [batch_size] * (n // batch_size)
    else:
        assert sorted(flat.tolist()) == list(range(n))
        assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    assert all(b.dtype == np.int64 for b in batches)


def test_connected_components_of_batch_size_become_the_batches():
    A = cliques(5, 6, bridges=False)
    for epoch in range(3):
        batches = walk_batches(A, 6, restart=0.2, patience=10_000, epoch=epoch)
        assert sorted(sorted(b.tolist()) for b in batches) == [list(range(c * 6, c * 6 + 6)) for c in range(5)]


def test_batches_stay_local_on_bridged_cliques():
    A = cliques(20, 8)
    batches = walk_batches(A, 8, restart=0.3, seed=1)
    spread = np.mean([np.unique(b // 8).size for b in batches])
    rng = np.random.default_rng(0)
    random_spread = np.mean([np.unique(rng.permutation(160)[:8] // 8).size for _ in range(200)])
    assert spread < 3 < random_spread  # a random batch of 8 touches ~7 of the 20 cliques


def test_deterministic_in_seed_and_epoch():
    A = cliques(10, 5)
    first = walk_batches(A, 7, seed=3, epoch=2)
    again = walk_batches(A, 7, seed=3, epoch=2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    other = walk_batches(A, 7, seed=3, epoch=3)
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_isolated_nodes_and_restart_one_still_cover_everything():
    empty = sp.csr_array((10, 10))
    assert sorted(np.concatenate(walk_batches(empty, 3)).tolist()) == list(range(10))
    # restart=1 never leaves the start node: every batch is built from jumps
    assert sorted(np.concatenate(walk_batches(cliques(3, 4), 4, restart=1.0)).tolist()) == list(range(12))


def test_directed_walk_follows_out_edges_only():
    # two cliques, plus links from the second one into node 0 only: out-edges never leave {0..3}
    A = cliques(2, 4, bridges=False).tolil()
    for u in range(4, 8):
        A[u, 0] = 1
    A = sp.csr_array(A)
    closed = mixed = 0
    for seed in range(40):
        first = walk_batches(A, 4, restart=0.0, patience=10_000, directed=True, seed=seed)[0]
        if first[0] < 4:  # started inside the first clique: it can only collect that clique
            assert sorted(first.tolist()) == [0, 1, 2, 3]
            closed += 1
        undirected = walk_batches(A, 4, restart=0.0, patience=10_000, seed=seed)[0]
        mixed += np.unique(undirected // 4).size > 1
    assert closed > 0 and mixed > 0  # undirected walks do cross over


def test_accepts_link_graph_dense_array_and_leaves_input_alone():
    g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3]], 4, layout="pairs")
    a = walk_batches(g, 2, seed=4)
    b = walk_batches(g.adjacency.toarray(), 2, seed=4)
    assert [x.tolist() for x in a] == [x.tolist() for x in b]
    A = sp.csr_array((np.array([1.0, 2.0]), np.array([2, 1]), np.array([0, 2, 2, 2])), shape=(3, 3))
    before = (A.indices.copy(), A.data.copy())
    walk_batches(A, 2)
    np.testing.assert_array_equal(A.indices, before[0])
    np.testing.assert_array_equal(A.data, before[1])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 2, "restart": 1.5}, ValueError, "restart"),
        ({"batch_size": 2, "patience": 0}, ValueError, "patience"),
        ({"batch_size": 2, "seed": -1}, ValueError, "seed"),
        ({"batch_size": 2, "epoch": -1}, ValueError, "epoch"),
        ({"batch_size": 2, "drop_last": 1}, TypeError, "drop_last"),
    ],
)
def test_rejects_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        walk_batches(cliques(2, 3), **kwargs)


def test_rejects_bad_graphs():
    with pytest.raises(ValueError, match="square"):
        walk_batches(sp.csr_array(np.ones((2, 3))), 2)
    with pytest.raises(TypeError, match="graph"):
        walk_batches([[0, 1]], 2)
    with pytest.raises(ValueError, match="at least one node"):
        walk_batches(sp.csr_array((0, 0)), 2)


class _StepBudget:
    """Counts walk steps and fails once a walk idles far beyond any reasonable bound."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
        from graphneg.similarity import _walk_batches

        self.calls, step = 0, _walk_batches._Walker.step

        def counted(walker, *args):
            self.calls += 1
            if self.calls > limit:
                raise AssertionError(f"the walk idled past {limit} steps")
            return step(walker, *args)

        monkeypatch.setattr(_walk_batches._Walker, "step", counted)


@pytest.mark.parametrize("directed", [False, True])
def test_huge_patience_does_not_idle_in_an_exhausted_component(monkeypatch, directed):
    # issue 23: patience=10**9 ran for hours, every used-up clique idling `patience` steps
    A = cliques(40, 5, bridges=False)
    budget = _StepBudget(monkeypatch, 100_000)
    batches = walk_batches(A, 8, patience=10**9, directed=directed, seed=0)
    assert sorted(np.concatenate(batches).tolist()) == list(range(200))
    assert budget.calls < 20_000  # a few idle steps per node, never `patience`
    again = walk_batches(A, 8, patience=10**9, directed=directed, seed=0)
    assert [b.tolist() for b in again] == [b.tolist() for b in batches]  # still a function of the seed


def test_huge_patience_directed_jumps_when_the_rest_of_the_component_is_unreachable(monkeypatch):
    # 0 <-> 1, and nodes 2..59 each point to 0: from 0 or 1 the walk reaches only {0, 1}, although
    # the weak component still holds unused nodes; a breadth-first check ends the idle run
    n = 60
    rows = [0, 1] + list(range(2, n))
    cols = [1, 0] + [0] * (n - 2)
    A = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    budget = _StepBudget(monkeypatch, 100_000)
    for seed in range(5):
        batches = walk_batches(A, 6, patience=10**9, directed=True, seed=seed)
        assert sorted(np.concatenate(batches).tolist()) == list(range(n))
    assert budget.calls < 20_000


def test_sampler_with_huge_patience_finishes(monkeypatch):
    torch = pytest.importorskip("torch")  # noqa: F841
    from graphneg.training import RandomWalkBatchSampler

    budget = _StepBudget(monkeypatch, 100_000)
    sampler = RandomWalkBatchSampler(cliques(20, 5, bridges=False), batch_size=8, patience=10**9, seed=0)
    sampler.set_epoch(1)
    assert sorted(i for b in sampler for i in b) == list(range(100))
    assert budget.calls < 20_000
