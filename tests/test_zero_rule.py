"""The zero rule (issue 23): an explicitly stored 0 is no edge — for walks, masks, conflicts and
communities alike — so every result depends on a matrix's values, never on how it is stored."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg.negatives import khop_mask, known_positive_mask
from graphneg.similarity import batch_conflicts, communities, connected_components, walk_batches

# two triangles {0, 1, 2} and {3, 4, 5}; a stored 0 "joins" 2 and 3
EDGES = [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5)]


def stored_zero_graph(kind=sp.csr_array) -> sp.csr_array:
    rows = [a for a, b in EDGES] + [2]
    cols = [b for a, b in EDGES] + [3]
    data = [1.0] * len(EDGES) + [0.0]
    A = kind((data, (rows, cols)), shape=(6, 6))
    assert A.nnz == len(EDGES) + 1  # the zero is stored
    return A


def the_same_values():
    """The same matrix without the stored zero: sparse and dense."""
    A = stored_zero_graph()
    B = A.copy()
    B.eliminate_zeros()
    return [B, A.toarray()]


@pytest.mark.parametrize("kind", [sp.csr_array, sp.csr_matrix])
@pytest.mark.parametrize("directed", [False, True])
def test_walks_do_not_cross_a_stored_zero(kind, directed):
    A = stored_zero_graph(kind)
    if not directed:
        got = [sorted(b.tolist()) for b in walk_batches(A, 3, seed=0)]
        assert sorted(got) == [[0, 1, 2], [3, 4, 5]]  # each triangle is one batch: 2-3 is no edge
    for same in the_same_values():
        expected = walk_batches(same, 3, directed=directed, seed=0)
        assert [b.tolist() for b in walk_batches(A, 3, directed=directed, seed=0)] == [b.tolist() for b in expected]


def test_khop_mask_ignores_a_stored_zero():
    A = stored_zero_graph()  # candidates: query 2's own positive 0 first, then 3
    assert khop_mask([2], [0, 3], A).tolist() == [[False, False]]
    for same in the_same_values():
        assert khop_mask([2], [0, 3], same, hops=2).tolist() == khop_mask([2], [0, 3], A, hops=2).tolist()
    assert khop_mask([2], [0, 1], A).tolist() == [[False, True]]  # a real edge still counts


def test_known_positive_mask_ignores_a_stored_zero():
    K = sp.csr_array(([1.0, 0.0], ([0, 0], [1, 3])), shape=(1, 6))  # qrels: doc 1 relevant, doc 3 judged 0
    assert K.nnz == 2
    mask = known_positive_mask([0], [2, 1, 3], K)  # candidate 0 (doc 2) is the query's own positive
    assert mask.tolist() == [[False, True, False]]
    assert mask.tolist() == known_positive_mask([0], [2, 1, 3], [[1]]).tolist()


def test_conflicts_ignore_a_stored_zero():
    # pair 0 = (query 2, positive 1), pair 1 = (query 4, positive 3): only the stored 0 links 2 and 3
    A = stored_zero_graph()
    assert batch_conflicts([[0, 1]], [2, 4], [1, 3], graph=A).tolist() == []
    for same in the_same_values():
        assert batch_conflicts([[0, 1]], [2, 4], [1, 3], graph=same).tolist() == []
    A1 = A.copy()
    A1.data[A1.data == 0] = 1.0  # a real edge 2-3 does conflict
    assert batch_conflicts([[0, 1]], [2, 4], [1, 3], graph=A1).tolist() == [[0, 1]]
    K = sp.csr_array(([0.0], ([2], [3])), shape=(5, 6))  # a stored 0 is no known positive either
    assert batch_conflicts([[0, 1]], [2, 4], [1, 3], known_positives=K).tolist() == []


@pytest.mark.parametrize("weighted", [True, False])
def test_communities_ignore_a_stored_zero(weighted):
    A = stored_zero_graph()
    labels = connected_components(A, weighted=weighted)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    for same in the_same_values():
        assert connected_components(same, weighted=weighted).tolist() == labels.tolist()
    assert communities(A, seed=0, weighted=weighted).tolist() == communities(the_same_values()[0], seed=0,
                                                                             weighted=weighted).tolist()
