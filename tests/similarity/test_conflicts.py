"""Tests for conflict-free batches: no query's known positive or neighbour in its batch."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import shortest_path

import graphneg.similarity._conflict_risk as conflict_risk
from graphneg.exceptions import GraphNegWarning
from graphneg.links import LinkGraph
from graphneg.similarity._conflicts import ConflictReport, batch_conflicts, conflict_free_batches


def brute_conflicts(batches, q, d, known=None, dist=None, hops=1):
    """Reference: every pair of pairs (a < b) of a batch where one's positive is at risk for the other."""

    own = set(zip(np.asarray(q).tolist(), np.asarray(d).tolist(), strict=True))  # every pair's own positive

    def risk(u, v):
        hit = (u, v) in own
        if known is not None:
            hit |= v in known[u]
        if dist is not None:
            hit |= dist[u, v] <= hops
        return hit

    found = []
    for b in batches:
        for a, c in itertools.combinations(sorted(int(x) for x in b), 2):
            if risk(q[a], d[c]) or risk(q[c], d[a]):
                found.append((a, c))
    return sorted(found)


@st.composite
def problems(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_q, n_items = draw(st.integers(1, 8)), draw(st.integers(2, 15))
    n_pairs = draw(st.integers(1, 40))
    q = rng.integers(0, n_q, n_pairs)
    d = rng.integers(0, n_items, n_pairs)
    known = [set(rng.integers(0, n_items, rng.integers(0, 4)).tolist()) for _ in range(n_q)]
    for a in range(n_pairs):
        known[q[a]].add(int(d[a]))  # a pair's positive is a known positive of its query
    size = draw(st.integers(1, 8))
    order = rng.permutation(n_pairs)[: n_pairs - draw(st.integers(0, min(3, n_pairs - 1)))]
    batches = [order[i : i + size] for i in range(0, order.size, size)]
    return batches, q, d, [sorted(k) for k in known], n_items


@settings(max_examples=60, deadline=None)
@given(problems())
def test_batch_conflicts_matches_the_definition(problem):
    batches, q, d, known, n_items = problem
    got = batch_conflicts(batches, q, d, known)
    expected = brute_conflicts(batches, q, d, [set(k) for k in known])
    assert [tuple(x) for x in got.tolist()] == expected
    rows = np.repeat(np.arange(len(known)), [len(k) for k in known])
    csr = sp.csr_array((np.ones(rows.size), (rows, np.concatenate([np.asarray(k, int) for k in known]))),
                       shape=(len(known), n_items))
    np.testing.assert_array_equal(batch_conflicts(batches, q, d, csr), got)


@settings(max_examples=60, deadline=None)
@given(problems(), st.integers(0, 3))
def test_repair_keeps_sizes_and_pairs_and_reports_what_is_left(problem, seed):
    batches, q, d, known, _ = problem
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new, report = conflict_free_batches(batches, q, d, known, seed=seed)
    assert [b.size for b in new] == [np.asarray(b).size for b in batches]
    assert sorted(np.concatenate(new).tolist()) == sorted(np.concatenate(batches).tolist())
    left = batch_conflicts(new, q, d, known)
    assert report.unresolved == left.shape[0]
    np.testing.assert_array_equal(report.unresolved_pairs, left)
    assert report.initial_conflicts == batch_conflicts(batches, q, d, known).shape[0]
    assert report.unresolved <= report.initial_conflicts
    assert bool(caught) == (report.unresolved > 0)
    assert all(issubclass(w.category, GraphNegWarning) for w in caught)
    before = {int(p): k for k, b in enumerate(batches) for p in b}
    after = {int(p): k for k, b in enumerate(new) for p in b}
    assert report.moved == sum(before[p] != after[p] for p in before)


def test_hand_built_repair_separates_a_querys_positives():
    # query 0 has three positives (pairs 0, 1, 2); three batches of two
    q, d = np.array([0, 0, 0, 1, 2, 3]), np.array([10, 11, 12, 13, 14, 15])
    known = [[10, 11, 12], [13], [14], [15]]
    new, report = conflict_free_batches([[0, 1], [2, 3], [4, 5]], q, d, known)
    assert report.initial_conflicts == 1 and report.unresolved == 0 and report.swaps >= 1
    assert batch_conflicts(new, q, d, known).size == 0
    assert isinstance(report, ConflictReport) and report.num_pairs == 6 and report.num_batches == 3


def test_unresolvable_conflicts_stay_in_place_and_warn():
    # one query with 4 pairs in 2 batches of 2: at least two conflicts must remain
    q, d = np.zeros(4, dtype=int), np.arange(4)
    with pytest.warns(GraphNegWarning, match="could not be separated"):
        new, report = conflict_free_batches([[0, 1], [2, 3]], q, d, [[0, 1, 2, 3]])
    assert report.unresolved == 2 and [b.size for b in new] == [2, 2]
    assert sorted(np.concatenate(new).tolist()) == [0, 1, 2, 3]


def test_same_positive_always_conflicts_even_without_known_positives():
    assert batch_conflicts([[0, 1], [2]], [0, 1, 2], [5, 5, 6]).tolist() == [[0, 1]]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 2))
def test_graph_conflicts_match_hop_distances(seed, hops):
    rng = np.random.default_rng(seed)
    n = 12
    A = sp.random(n, n, density=0.12, random_state=rng, format="csr")
    dist = shortest_path(A.toarray() != 0, unweighted=True, directed=False)
    q, d = rng.integers(0, n, 20), rng.integers(0, n, 20)
    batches = [np.arange(k, min(k + 5, 20)) for k in range(0, 20, 5)]
    got = batch_conflicts(batches, q, d, graph=A, hops=hops)
    assert [tuple(x) for x in got.tolist()] == brute_conflicts(batches, q, d, dist=dist, hops=hops)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)
        new, report = conflict_free_batches(batches, q, d, graph=LinkGraph(A), hops=hops, seed=seed % 5)
    assert report.unresolved == batch_conflicts(new, q, d, graph=A, hops=hops).shape[0]


@pytest.mark.parametrize(("max_bytes", "max_bits"), [(0, 1 << 28), (0, 0)])
def test_bit_table_and_sorted_keys_give_the_same_result(monkeypatch, max_bytes, max_bits):
    rng = np.random.default_rng(0)
    q, d = rng.integers(0, 100, 400), rng.integers(0, 150, 400)
    known = [rng.integers(0, 150, 6) for _ in range(100)]
    batches = [np.arange(k, k + 8) for k in range(0, 400, 8)]
    reference = conflict_free_batches(batches, q, d, known, seed=1)
    monkeypatch.setattr(conflict_risk, "_MAX_TABLE_BYTES", max_bytes)
    monkeypatch.setattr(conflict_risk, "_MAX_TABLE_BITS", max_bits)
    again = conflict_free_batches(batches, q, d, known, seed=1)
    assert all(np.array_equal(a, b) for a, b in zip(reference[0], again[0], strict=True))
    assert reference[1].initial_conflicts > 20
    assert reference[1].swaps == again[1].swaps and reference[1].unresolved == again[1].unresolved == 0


def test_deterministic_given_seed_and_input_untouched():
    rng = np.random.default_rng(1)
    q, d = rng.integers(0, 100, 200), rng.integers(0, 200, 200)
    known = sp.csr_array((np.ones(100), (rng.integers(0, 100, 100), rng.integers(0, 200, 100))), shape=(100, 200))
    batches = [np.arange(k, k + 10) for k in range(0, 200, 10)]
    copies = [b.copy() for b in batches]
    a, report = conflict_free_batches(batches, q, d, known, seed=7)
    b = conflict_free_batches(batches, q, d, known, seed=7)[0]
    assert report.initial_conflicts > 0 and report.unresolved == 0
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(np.array_equal(x, y) for x, y in zip(batches, copies, strict=True))


@pytest.mark.slow
def test_hundred_thousand_pairs_in_batches_of_32():
    rng = np.random.default_rng(0)
    n_q, n_d = 2590, 3633
    counts = np.minimum(rng.geometric(1 / 43, n_q), 1363)
    rows = np.repeat(np.arange(n_q), counts)
    centre = rng.integers(0, n_d, n_q)
    cols = (np.repeat(centre, counts) + rng.integers(-300, 300, rows.size)) % n_d
    known = sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(n_q, n_d))
    known.sum_duplicates()
    coo = known.tocoo()
    order = rng.permutation(coo.nnz)
    batches = [order[k : k + 32] for k in range(0, order.size, 32)]
    new, report = conflict_free_batches(batches, coo.row, coo.col, known, seed=0)
    assert report.num_pairs > 100_000 and report.initial_conflicts > 50_000
    assert report.unresolved == 0 and batch_conflicts(new, coo.row, coo.col, known).size == 0


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (([[0, 5]], [0, 0], [1, 2]), {}, ValueError, "pair 5"),
        (([[0, 0]], [0, 0], [1, 2]), {}, ValueError, "at most once"),
        (([], [0], [1]), {}, ValueError, "at least one batch"),
        (([[0]], [0, 1], [1]), {}, ValueError, "one item per pair"),
        (([[0]], [-1], [1]), {}, ValueError, "query_items"),
        (([[0]], [0.5], [1]), {}, TypeError, "query_items"),
        (([[0]], [3], [1], [[1]]), {}, ValueError, "query 3"),
        (([[0]], [0], [4]), {"graph": sp.csr_array((3, 3))}, ValueError, "item 4"),
        (([[0]], [0], [1]), {"graph": sp.csr_array((3, 3)), "hops": 0}, ValueError, "hops"),
        (([[0]], [0], [1]), {"max_rounds": -1}, ValueError, "max_rounds"),
    ],
)
def test_rejects_bad_input(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        conflict_free_batches(*args, **kwargs)
