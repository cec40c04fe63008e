"""LinkGraph and graph_embedding never modify what they are given.

scipy shares index arrays between a matrix and ``sp.csr_array(matrix)``, and canonicalising
works in place, so every input here is deliberately non-canonical: unsorted indices,
duplicate entries, explicit zeros and a self-loop, in several dtypes and both sparse APIs.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import GraphNegWarning, LinkGraph
from graphneg.links._embedding import graph_embedding

DTYPES = [np.float32, np.float64, np.int64, np.bool_]
KINDS = [sp.csr_matrix, sp.csr_array]


def messy(kind, dtype, n: int = 12, seed: int = 0):
    """A non-canonical CSR: row-wise reversed indices, duplicates, explicit zeros, a loop."""
    rng = np.random.default_rng(seed)
    rows = np.r_[np.repeat(np.arange(n), 3), 0, 1, 2]
    cols = np.r_[rng.integers(0, n, 3 * n), 5, 5, 2]
    data = np.r_[rng.integers(1, 3, 3 * n), 0, 0, 1].astype(dtype)
    order = np.lexsort((-cols, rows))  # rows ascending, columns descending: unsorted
    rows, cols, data = rows[order], cols[order], data[order]
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))]
    M = kind((data, cols.copy(), indptr), shape=(n, n))
    assert not M.has_canonical_format
    return M


def snapshot(*objs):
    out = []
    for obj in objs:
        if sp.issparse(obj):
            out.append([obj.data.copy(), obj.indices.copy(), obj.indptr.copy(), obj.has_canonical_format])
        else:
            out.append(np.array(obj, copy=True))
    return out


def assert_same(before, *objs):
    for snap, obj in zip(before, objs, strict=True):
        if sp.issparse(obj):
            for a, b in zip(snap[:3], (obj.data, obj.indices, obj.indptr), strict=True):
                assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
            assert snap[3] == obj.has_canonical_format
        else:
            arr = np.asarray(obj)
            assert snap.dtype == arr.dtype and snap.tobytes() == arr.tobytes()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_constructor_and_methods_leave_the_matrix_alone(kind, dtype):
    M = messy(kind, dtype)
    before = snapshot(M)
    g = LinkGraph(M)
    assert_same(before, M)
    assert g.adjacency.has_canonical_format
    assert not np.shares_memory(g.adjacency.indices, M.indices)
    assert not np.shares_memory(g.adjacency.indptr, M.indptr)
    expected = (M.toarray() != 0) & ~np.eye(12, dtype=bool)
    np.testing.assert_array_equal(g.adjacency.toarray() != 0, expected)
    g.undirected(), g.reverse(), g.hop_distances(np.array([0, 3]), 2)
    assert_same(before, M)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_graph_embedding_leaves_the_matrix_alone(kind, dtype):
    M = messy(kind, dtype, n=30)
    before = snapshot(M)
    graph_embedding(M, dim=3, seed=0)
    assert_same(before, M)


def test_index_arrays_are_not_modified():
    edges = np.array([[0, 1], [1, 2], [2, 2], [9, 1], [0, 1]], dtype=np.int32)
    s, d = edges[:, 0].copy(), edges[:, 1].copy()
    ids = np.array(["a", "b", "c"])
    before = snapshot(edges, s, d, ids)
    with pytest.warns(GraphNegWarning):
        LinkGraph.from_index_edges(edges, 3, layout="pairs")
    with pytest.warns(GraphNegWarning):
        LinkGraph.from_index_edges(edges.T, 3, ids=ids, layout="edge_index")
    with pytest.warns(GraphNegWarning):
        LinkGraph.from_index_arrays(s, d, ids)
    assert_same(before, edges, s, d, ids)


def test_id_arrays_and_query_arrays_are_not_modified():
    src, dst = np.array([3, 1, 2, 3]), np.array([1, 2, 3, 3])
    ids = np.array([3, 2, 1])
    before = snapshot(src, dst, ids)
    with pytest.warns(GraphNegWarning):
        g = LinkGraph.from_edges(src, dst, ids=ids)
    rows, q_s, q_t = np.array([2, 0]), np.array([0, 1, 2]), np.array([1, 2, 5])
    more = snapshot(rows, q_s, q_t)
    g.subgraph(rows), g.has_edges(q_s, q_t), g.index(src), g.k_hop(rows, 1)
    assert_same(before, src, dst, ids)
    assert_same(more, rows, q_s, q_t)
