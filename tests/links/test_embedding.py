from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg.links import LinkGraph, graph_embedding, link_split
from graphneg.similarity import knn_search


@pytest.fixture
def sbm() -> LinkGraph:
    """Directed 4-block SBM (60 nodes per block), plus 2 separate pairs and 3 isolated nodes."""
    rng = np.random.default_rng(0)
    blocks = np.repeat(np.arange(4), 60)
    p = np.where(blocks[:, None] == blocks[None, :], 0.15, 0.005)
    A = np.triu(rng.random((240, 240)) < p, 1)
    r, c = np.nonzero(A)
    extra = np.array([[240, 241], [242, 243]])
    e = np.vstack([np.stack([r, c], axis=1), extra])
    return LinkGraph.from_index_edges(e, 247)


def test_shape_dtype_unit_rows_and_zero_rows(sbm):
    E = graph_embedding(sbm, dim=16, seed=0)
    assert E.shape == (247, 16) and E.dtype == np.float32 and E.flags.c_contiguous
    norms = np.linalg.norm(E, axis=1)
    assert np.allclose(norms[:244], 1.0, atol=1e-5)
    assert np.all(E[244:] == 0.0)  # isolated nodes: exact zero rows
    # a separate pair points its own way (components='project')
    assert E[240] @ E[241] == pytest.approx(1.0, abs=1e-5)
    assert abs(float(E[240] @ E[242])) < 0.9


def test_blocks_are_recovered(sbm):
    E = graph_embedding(sbm, dim=8, seed=0)
    idx, _ = knn_search(E[:240], 10, targets=E, metric="ip")
    same = (idx // 60 == (np.arange(240) // 60)[:, None]).mean()
    assert same > 0.9


def test_deterministic_and_seed_dependent(sbm):
    a = graph_embedding(sbm, dim=16, seed=3)
    b = graph_embedding(sbm, dim=16, seed=np.random.default_rng(3))
    c = graph_embedding(sbm, dim=16, seed=4)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # the 3 informative directions (4 blocks) do not depend on the seed; the bulk beyond does
    a3, c3 = graph_embedding(sbm, dim=3, seed=3)[:240], graph_embedding(sbm, dim=3, seed=4)[:240]
    assert np.corrcoef((a3 @ a3.T).ravel(), (c3 @ c3.T).ravel())[0, 1] > 0.85


def test_directions_ignored_and_sparse_input(sbm):
    a = graph_embedding(sbm, dim=8, seed=1)
    b = graph_embedding(sbm.reverse(), dim=8, seed=1)
    c = graph_embedding(sbm.adjacency * 3.0, dim=8, seed=1)  # weights ignored too
    assert np.allclose(a, b, atol=1e-5) and np.allclose(a, c, atol=1e-5)


def test_converged_svd_matches_eigsh(sbm):
    kw = dict(dim=3, components="drop", weights=(1.0,))
    a = graph_embedding(sbm, method="svd", num_iterations=300, seed=0, **kw)
    b = graph_embedding(sbm, method="eigsh", seed=0, **kw)
    assert np.allclose(a @ a.T, b @ b.T, atol=1e-3)


def test_component_options(sbm):
    drop = graph_embedding(sbm, dim=8, components="drop", method="eigsh")
    # the pairs' only non-trivial eigenvalue is -1: nothing left of them
    assert np.all(drop[240:] == 0.0) and np.allclose(np.linalg.norm(drop[:240], axis=1), 1.0, atol=1e-5)
    keep = graph_embedding(sbm, dim=8, components="keep")
    assert np.allclose(np.linalg.norm(keep[:244], axis=1), 1.0, atol=1e-5)
    multi = graph_embedding(sbm, dim=8, weights=(0.5, 0.3, 0.2))
    assert multi.shape == (247, 8)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(dim=247), ValueError, "< n_nodes"),
        (dict(dim=0), ValueError, "dim"),
        (dict(dim=2.0), TypeError, "dim"),
        (dict(method="pbg"), ValueError, "method"),
        (dict(components="all"), ValueError, "components"),
        (dict(weights=()), ValueError, "weights"),
        (dict(weights=(1.0, -1.0)), ValueError, "weights"),
        (dict(weights=(0.0,)), ValueError, "weights"),
        (dict(num_iterations=-1), ValueError, "num_iterations"),
        (dict(seed="a"), TypeError, "seed"),
    ],
)
def test_bad_input(sbm, kwargs, err, match):
    with pytest.raises(err, match=match):
        graph_embedding(sbm, **kwargs)


def test_bad_graph():
    with pytest.raises(TypeError):
        graph_embedding([[0, 1]])
    with pytest.raises(ValueError, match="square"):
        graph_embedding(sp.csr_array((3, 4)))
    with pytest.raises(ValueError, match="no links"):
        graph_embedding(sp.csr_array(np.eye(5)), dim=2)  # self-loops only


def _hits_at_k(E: np.ndarray, train: LinkGraph, held: np.ndarray, k: int = 10) -> float:
    """Share of held-out links (u, v), both ways, with v in u's top k, train neighbours excluded."""
    U = train.undirected()
    src, dst = np.r_[held[:, 0], held[:, 1]], np.r_[held[:, 1], held[:, 0]]
    queries = np.unique(src)
    deg = np.diff(U.indptr)
    # enough candidates to survive dropping the query itself and all its train neighbours
    idx, _ = knn_search(E[queries], k + int(deg[queries].max()) + 1, targets=E, metric="ip")
    row = np.searchsorted(queries, src)
    hits = 0
    for u, v, cand in zip(src, dst, idx[row], strict=True):
        nb = U.indices[U.indptr[u] : U.indptr[u + 1]]
        cand = cand[(cand != u) & ~np.isin(cand, nb)][:k]
        hits += int(v in cand)
    return hits / src.size


@pytest.mark.slow
def test_cora_held_out_citations(cora):
    g = LinkGraph(cora.edges, cora.ids)
    split = link_split(g, val=0.0, test=0.1, undirected=True, seed=0)
    held = split.test_edges
    assert len(held) == round(0.1 * g.undirected().nnz / 2)
    E = graph_embedding(split.train_graph, dim=128, seed=0)
    graph_hits = _hits_at_k(E, split.train_graph, held)
    F = cora.features.toarray().astype(np.float32)
    F /= np.maximum(np.linalg.norm(F, axis=1, keepdims=True), 1e-12)
    feature_hits = _hits_at_k(F, split.train_graph, held)
    random_hits = 10 / g.num_nodes
    print(
        f"\nCora hits@10 of {2 * len(held)} held-out citations (both directions): "
        f"graph embedding {graph_hits:.3f}, BoW cosine kNN {feature_hits:.3f}, "
        f"random {random_hits:.4f}"
    )
    assert graph_hits >= 10 * random_hits
    assert graph_hits > feature_hits


def test_num_iterations_is_the_one_spelling(sbm):
    with pytest.raises(TypeError, match="n_iter"):
        graph_embedding(sbm, dim=4, n_iter=2, seed=0)


def test_sparse_input_matches_graph_and_is_not_modified(sbm):
    # a non-canonical float64 matrix with unsorted indices, a duplicate, an explicit zero
    # and a weight that cancels its reverse: the pattern, not the weights, defines the links
    A = sbm.adjacency.tocoo()
    rows, cols = np.r_[A.row[::-1], 0, 3], np.r_[A.col[::-1], 5, 7]
    data = np.r_[np.full(A.nnz, 2.0)[::-1], 0.0, -1.0]
    M = sp.csr_matrix((data, (rows, cols)), shape=A.shape)
    M.indices[: M.indptr[1]] = M.indices[: M.indptr[1]][::-1].copy()
    M.data[: M.indptr[1]] = M.data[: M.indptr[1]][::-1].copy()
    M.has_sorted_indices = False
    before = [a.copy() for a in (M.data, M.indices, M.indptr)]
    E = graph_embedding(M, dim=4, seed=0)
    for a, b in zip(before, (M.data, M.indices, M.indptr), strict=True):
        np.testing.assert_array_equal(a, b)
    assert E.shape == (A.shape[0], 4)
