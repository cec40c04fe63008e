"""Tests for the single-rule false-negative masks (issue #10)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import shortest_path

from graphneg.links import LinkGraph
from graphneg.negatives import false_negative_mask
from graphneg.negatives._fn_masks import cluster_mask, khop_mask, known_positive_mask, score_threshold_mask

SETTINGS = settings(max_examples=60, deadline=None)


# -- strategies ----------------------------------------------------------------------------------
@st.composite
def batches(draw, max_b=6, max_extra=8):
    """B queries and C >= B candidates."""
    b = draw(st.integers(1, max_b))
    c = b + draw(st.integers(0, max_extra))
    return b, c


def _reference(b: int, c: int, rule) -> np.ndarray:
    """The mask by definition: every cell (i, j != i) where ``rule(i, j)`` holds."""
    out = np.zeros((b, c), dtype=bool)
    for i in range(b):
        for j in range(c):
            out[i, j] = j != i and bool(rule(i, j))
    return out


# -- score_threshold_mask --------------------------------------------------------------------------
def test_score_rules_on_a_hand_built_batch():
    s = np.array([[0.5, 0.61, 0.6, 0.476, 0.475], [0.2, 0.9, 1.05, 0.0, 0.3]])
    np.testing.assert_array_equal(
        score_threshold_mask(s, margin=0.1), [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0]]
    )
    # NV-Retriever keeps a negative only below 95 % of the positive: 0.475 is masked (>=)
    np.testing.assert_array_equal(
        score_threshold_mask(s, fraction=0.95), [[0, 1, 1, 1, 1], [0, 0, 1, 0, 0]]
    )
    both = score_threshold_mask(s, margin=0.1, fraction=0.95)
    np.testing.assert_array_equal(both, score_threshold_mask(s, margin=0.1) | score_threshold_mask(s, fraction=0.95))


@SETTINGS
@given(batches(), st.integers(0, 2**32 - 1), st.floats(-0.5, 0.5), st.floats(0.05, 1.0))
def test_score_mask_is_exactly_its_rule(shape, seed, margin, fraction):
    b, c = shape
    s = np.round(np.random.default_rng(seed).uniform(-1, 1, (b, c)), 2)  # ties happen
    m1 = score_threshold_mask(s, margin=margin)
    np.testing.assert_array_equal(m1, _reference(b, c, lambda i, j: s[i, j] > s[i, i] + margin))
    m2 = score_threshold_mask(s, fraction=fraction)
    np.testing.assert_array_equal(m2, _reference(b, c, lambda i, j: s[i, j] >= fraction * s[i, i]))
    np.testing.assert_array_equal(score_threshold_mask(s, margin=margin, fraction=fraction), m1 | m2)


def test_score_mask_never_masks_the_target_even_when_it_beats_itself():
    s = np.full((3, 6), 5.0)
    mask = score_threshold_mask(s, margin=-1.0)
    assert not mask[np.arange(3), np.arange(3)].any() and mask.sum() == 3 * 6 - 3


def test_score_mask_reads_torch_tensors():
    torch = pytest.importorskip("torch")
    s = torch.tensor([[0.5, 0.7], [0.1, 0.2]], requires_grad=True)
    mask = score_threshold_mask(s, margin=0.1)
    assert isinstance(mask, np.ndarray) and mask.dtype == bool
    np.testing.assert_array_equal(mask, [[False, True], [False, False]])


@pytest.mark.parametrize(
    ("scores", "kwargs", "error", "match"),
    [
        (np.zeros((2, 3)), {}, ValueError, "neither"),
        (np.zeros((2, 3)), {"fraction": 0.0}, ValueError, "fraction"),
        (np.zeros((2, 3)), {"fraction": 1.5}, ValueError, "fraction"),
        (np.zeros((2, 3)), {"margin": float("nan")}, TypeError, "margin"),
        (np.zeros((3, 2)), {"margin": 0.1}, ValueError, "at least B = 3"),
        (np.zeros(3), {"margin": 0.1}, ValueError, "2-D"),
        (np.array([[0.0, np.nan]]), {"margin": 0.1}, ValueError, "NaN"),
        (np.array([["a", "b"]]), {"margin": 0.1}, TypeError, "real-valued"),
    ],
)
def test_score_mask_rejects_bad_input(scores, kwargs, error, match):
    with pytest.raises(error, match=match):
        score_threshold_mask(scores, **kwargs)


# -- known_positive_mask ---------------------------------------------------------------------------
@st.composite
def known_problems(draw):
    b, c = draw(batches())
    n_q, n_d = draw(st.integers(b, 10)), draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    known = [sorted(set(rng.integers(0, n_d, rng.integers(0, 5)).tolist())) for _ in range(n_q)]
    q = rng.integers(0, n_q, b)  # repeated queries allowed
    cand = rng.integers(-1, n_d, c)
    return q, cand, known, n_d


def _as_csr(known, n_d):
    rows = np.repeat(np.arange(len(known)), [len(k) for k in known])
    cols = np.concatenate([np.asarray(k, dtype=np.int64) for k in known])
    return sp.csr_array((np.ones(rows.size), (rows, cols)), shape=(len(known), n_d))


@SETTINGS
@given(known_problems())
def test_known_positive_mask_is_exactly_its_rule(problem):
    q, cand, known, n_d = problem
    b, c = q.size, cand.size
    expected = _reference(b, c, lambda i, j: cand[j] == -1 or cand[j] in known[q[i]])
    np.testing.assert_array_equal(known_positive_mask(q, cand, known), expected)
    np.testing.assert_array_equal(known_positive_mask(q, cand, _as_csr(known, n_d), num_docs=n_d), expected)
    padded = np.full((len(known), 5), -1)
    for r, k in enumerate(known):
        padded[r, : len(k)] = k
    np.testing.assert_array_equal(known_positive_mask(q, cand, padded), expected)


def test_known_positive_mask_combines_with_false_negative_mask():
    q, pos, neg = np.array([0, 1]), np.array([10, 11]), np.array([[12], [10]])
    known = [[10, 12], [11]]
    cand = np.concatenate([pos, neg.ravel()])
    ours = known_positive_mask(q, cand, known)
    theirs = false_negative_mask(q, pos, neg, known_positives=known)
    np.testing.assert_array_equal(ours | theirs, theirs)  # same rule, same layout
    assert (ours | theirs).dtype == bool


def test_known_positive_mask_at_nfcorpus_scale_reads_only_the_batch_rows():
    rng = np.random.default_rng(0)
    n_q, n_d = 2590, 3633
    counts = np.minimum(rng.geometric(1 / 43, n_q), 1363)
    counts[7] = 1363
    rows = np.repeat(np.arange(n_q), counts)
    known = sp.csr_array((np.ones(rows.size), (rows, rng.integers(0, n_d, rows.size))), shape=(n_q, n_d))
    q = np.r_[7, rng.choice(n_q, 31, replace=False)]
    cand = rng.integers(0, n_d, 32 * 8)
    dense_rows = known[q].toarray() != 0
    expected = dense_rows[:, cand]
    expected[np.arange(32), np.arange(32)] = False
    np.testing.assert_array_equal(known_positive_mask(q, cand, known), expected)


def test_known_positive_mask_does_not_touch_an_unsorted_matrix():
    known = sp.csr_array((np.array([1.0, 1.0]), np.array([3, 1]), np.array([0, 2, 2])), shape=(2, 4))
    before = known.indices.copy()
    mask = known_positive_mask([0, 1], [0, 2, 1, 3], known)
    np.testing.assert_array_equal(mask, [[0, 0, 1, 1], [0, 0, 0, 0]])
    np.testing.assert_array_equal(known.indices, before)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([0, 5], [1, 2], [[1], [2]]), {}, "query 5"),
        (([0], [1, 9], [[1]]), {"num_docs": 4}, "doc 9"),
        (([0], [1], [[7]]), {"num_docs": 4}, "doc 7"),
        (([0, 1], [1], [[1], [2]]), {}, "at least B = 2"),
        (([0], [-2], [[1]]), {}, "padding"),
        (([], [], [[1]]), {}, "at least one query"),
    ],
)
def test_known_positive_mask_rejects_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        known_positive_mask(*args, **kwargs)


def test_known_positive_mask_rejects_float_ids():
    with pytest.raises(TypeError, match="query_ids"):
        known_positive_mask([0.5], [1], [[1]])


# -- khop_mask ------------------------------------------------------------------------------------
@st.composite
def graph_problems(draw):
    n = draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    A = sp.random(n, n, density=draw(st.floats(0.0, 0.4)), random_state=rng, format="csr")
    b = draw(st.integers(1, 5))
    c = b + draw(st.integers(0, 6))
    return A, rng.integers(0, n, b), rng.integers(-1, n, c), draw(st.integers(0, 3))


@SETTINGS
@given(graph_problems())
def test_khop_mask_is_exactly_its_rule(problem):
    A, q, cand, hops = problem
    dist = shortest_path(A.toarray() != 0, unweighted=True, directed=False)
    expected = _reference(q.size, cand.size, lambda i, j: cand[j] == -1 or dist[q[i], cand[j]] <= hops)
    np.testing.assert_array_equal(khop_mask(q, cand, A, hops=hops), expected)


def test_khop_mask_accepts_a_link_graph_and_ignores_directions():
    g = LinkGraph.from_index_edges([[0, 1], [1, 2], [3, 2]], 5, layout="pairs")
    mask = khop_mask([2, 4], [1, 4, 3, 0], g)
    np.testing.assert_array_equal(mask, [[0, 0, 1, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(khop_mask([2, 4], [1, 4, 3, 0], g.adjacency), mask)
    np.testing.assert_array_equal(khop_mask([2, 4], [1, 4, 3, 0], g, hops=2), [[0, 0, 1, 1], [0, 0, 0, 0]])


def test_khop_mask_rejects_bad_input():
    A = sp.csr_array(np.eye(3, k=1))
    with pytest.raises(ValueError, match="node 3"):
        khop_mask([0], [3], A)
    with pytest.raises(ValueError, match="square"):
        khop_mask([0], [1], sp.csr_array(np.ones((2, 3))))
    with pytest.raises(TypeError, match="LinkGraph"):
        khop_mask([0], [1], [[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="hops"):
        khop_mask([0], [1], A, hops=-1)


# -- cluster_mask ---------------------------------------------------------------------------------
@SETTINGS
@given(batches(), st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_cluster_mask_is_exactly_its_rule(shape, seed, k):
    b, c = shape
    rng = np.random.default_rng(seed)
    ql, cl = rng.integers(0, k, b), rng.integers(0, k, c)
    np.testing.assert_array_equal(cluster_mask(ql, cl), _reference(b, c, lambda i, j: ql[i] == cl[j]))


def test_cluster_mask_takes_any_labels_and_combines_with_or():
    labels = np.array(["a", "b", "a"])
    mask = cluster_mask(labels, labels)
    np.testing.assert_array_equal(mask, [[0, 0, 1], [0, 0, 0], [1, 0, 0]])
    s = np.array([[0.9, 0.95, 0.1], [0.0, 0.5, 0.9], [0.2, 0.1, 0.3]])
    both = mask | score_threshold_mask(s, margin=0.0)
    np.testing.assert_array_equal(both, [[0, 1, 1], [0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="1-D"):
        cluster_mask(np.zeros((2, 2)), np.zeros(4))
