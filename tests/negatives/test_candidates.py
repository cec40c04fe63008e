"""Mine once, filter later: stored candidates select what mining the embeddings selects."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from graphneg import GraphNegWarning, NegativeSelection, SimANS, Softmax
from graphneg.negatives import (
    candidate_pair_graph,
    mine_hard_negatives,
    required_depth,
    retrieve_candidates,
    select_negatives,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    C = rng.normal(size=(400, 12)).astype(np.float32)
    Q = C[:150] + 0.4 * rng.normal(size=(150, 12)).astype(np.float32)
    P = [[i, (i + 11) % 400] if i % 3 else [i] for i in range(150)]
    X = [[(i + 1) % 400] if i % 5 == 0 else [] for i in range(150)]
    return Q, C, P, X


SETTINGS = [
    {},
    {"relative_margin": 0.05},
    {"absolute_margin": 0.1, "range_min": 2},
    {"max_score": 0.6, "min_score": 0.0},
    {"sampling": "random", "seed": 4},
    {"sampling": SimANS(a=1.0)},
    {"sampling": Softmax(temperature=0.1), "relative_margin": 0.02},
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_select_equals_mining(data, settings):
    Q, C, P, X = data
    cands = retrieve_candidates(Q, C, P, exclude=X, depth=90)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)
        got = select_negatives(cands, NegativeSelection(num_negatives=4, **settings))
        want = mine_hard_negatives(Q, C, P, NegativeSelection(num_negatives=4, **settings), exclude=X)
    np.testing.assert_array_equal(got.indices, want.indices)
    np.testing.assert_array_equal(got.scores, want.scores)
    np.testing.assert_array_equal(got.positive_scores, want.positive_scores)
    assert got.skipped == want.skipped


def test_stricter_selection_is_a_filter_of_the_looser_pool(data):
    Q, C, P, _ = data
    cands = retrieve_candidates(Q, C, P, depth=60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)
        strict = select_negatives(cands, NegativeSelection(num_negatives=3, relative_margin=0.1))
    ok = strict.indices >= 0
    assert (strict.scores[ok] <= np.repeat(strict.positive_scores * 0.9 + 1e-6, 3).reshape(-1, 3)[ok]).all()


def test_too_shallow_candidates_say_how_deep(data):
    Q, C, P, _ = data
    cands = retrieve_candidates(Q, C, P, depth=10)
    need = required_depth(P, C.shape[0], NegativeSelection(num_negatives=3, relative_margin=0.05))
    with pytest.raises(ValueError, match=f"need {need} candidates per query.*hold 10"):
        select_negatives(cands, NegativeSelection(num_negatives=3, relative_margin=0.05))


def test_required_depth_checks_settings_first():
    with pytest.raises(ValueError, match=r"`num_negatives` \(3\) must be <= range_max - range_min \(2\)"):
        required_depth([[0]], 10, NegativeSelection(range_max=2))
    with pytest.raises(TypeError, match="`selection` must be a graphneg.NegativeSelection"):
        required_depth([[0]], 10, {"range_max": 3})


def test_pair_graph_links_rows_whose_positive_the_teacher_ranks_high():
    C = np.eye(6, dtype=np.float32) + 0.05
    C[1] += C[0]  # doc 1 is close to doc 0
    cands = retrieve_candidates(C, C, np.arange(6), depth=6)
    G = candidate_pair_graph(cands, np.arange(6), np.arange(6), k=2)
    assert G.shape == (6, 6) and G.diagonal().sum() == 0
    assert G[0, 1] == 1  # row 0's query ranks row 1's positive second
    assert candidate_pair_graph(cands, np.arange(6), np.arange(6), k=2, skip=6).nnz == 0
    with pytest.raises(ValueError, match="one entry per row"):
        candidate_pair_graph(cands, [0, 1], [0])
