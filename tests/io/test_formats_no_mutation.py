"""Writers, corpora and training data never modify what they are given (#11.1).

Sparse inputs are deliberately non-canonical (unsorted indices, duplicates, explicit zeros):
canonicalising them without a copy would sort the caller's arrays in place.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import HardNegatives, LinkGraph, bica_link_negatives, citation_training_data
from graphneg.io import (
    GraphCorpus,
    RetrievalCorpus,
    load_graph_corpus,
    qrels_to_positives,
    save_graph_corpus,
    save_retrieval_corpus,
    to_sentence_transformers,
    write_flagembedding,
    write_sentence_transformers_jsonl,
    write_tevatron,
)

DOCS = ["cats purr", "dogs bark", "fish swim", "cows moo", "birds sing", "frogs croak"]
QUERIES = ["what purrs?", "what swims?", "what moos?"]
DTYPES = [np.float32, np.float64, np.int64, np.bool_]
KINDS = [sp.csr_matrix, sp.csr_array]


def messy_positives(kind, dtype):
    """(3, 6) positives, row 0 = [1, 0] unsorted + a duplicate 1, row 2 = [3] + an explicit zero
    at 5 (no positive: the zero rule)."""
    data = np.array([1, 1, 1, 1, 1, 0], dtype=dtype)
    indices = np.array([1, 0, 1, 2, 3, 5])
    indptr = np.array([0, 3, 4, 6])
    M = kind((data, indices, indptr), shape=(3, 6))
    assert not M.has_canonical_format
    return M


def snapshot(*objs):
    out = []
    for obj in objs:
        if sp.issparse(obj):
            out.append((obj.data.copy(), obj.indices.copy(), obj.indptr.copy(), obj.has_canonical_format))
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


@pytest.fixture
def negatives():
    idx = np.array([[4, 5], [0, 3], [1, -1]], dtype=np.int64)
    scores = np.array([[0.5, 0.4], [0.3, 0.2], [0.1, np.nan]], dtype=np.float32)
    return HardNegatives(idx, scores, np.array([0.9, 0.8, 0.7], dtype=np.float32), num_short=1)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_writers_leave_sparse_positives_and_negatives_alone(tmp_path, kind, dtype, negatives):
    P = messy_positives(kind, dtype)
    ids = np.array([10, 11, 12])
    doc_ids = np.array([f"d{i}" for i in range(6)])
    objs = (P, negatives.indices, negatives.scores, negatives.positive_scores, ids, doc_ids)
    before = snapshot(*objs)
    out = to_sentence_transformers(QUERIES, DOCS, P, negatives, num_negatives=1, as_dataset=False)
    assert out["positive"] == ["cats purr", "dogs bark", "fish swim", "cows moo"]
    write_sentence_transformers_jsonl(tmp_path / "st.jsonl", QUERIES, DOCS, P, negatives.indices, num_negatives=1)
    write_flagembedding(tmp_path / "f.jsonl", QUERIES, DOCS, P, negatives)
    write_tevatron(tmp_path / "t.jsonl", ids, QUERIES, doc_ids, DOCS, P, negatives)
    assert_same(before, *objs)


def test_writers_leave_dense_positive_arrays_alone(tmp_path):
    P = np.array([[1, 0, -1], [2, -1, -1], [3, 3, -1]], dtype=np.int32)
    N = np.array([[4, 5], [0, 3], [1, -1]], dtype=np.int32)
    before = snapshot(P, N)
    write_flagembedding(tmp_path / "f.jsonl", QUERIES, DOCS, P, N)
    to_sentence_transformers(QUERIES, DOCS, P, N, num_negatives=1, as_dataset=False)
    assert_same(before, P, N)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_graph_corpus_leaves_edges_alone(tmp_path, kind, dtype):
    E = _no_loop(kind, dtype)
    zero_on_diagonal = kind((np.array([1, 0], dtype=dtype), np.array([2, 1]), np.array([0, 0, 2, 2])), shape=(3, 3))
    with_loop = kind((np.array([1, 1], dtype=dtype), np.array([1, 0]), np.array([0, 2, 2, 2])), shape=(3, 3))
    feats = kind((np.array([2.0, 1.0]), np.array([1, 0]), np.array([0, 2, 2, 2])), shape=(3, 2))
    emb = np.arange(6, dtype=np.float64).reshape(3, 2)
    labels = np.array([0, -1, 1])
    before = snapshot(E, zero_on_diagonal, with_loop, feats, emb, labels)
    corpus = GraphCorpus(ids=np.array([1, 2, 3]), edges=E, labels=labels, features=feats, embeddings=emb)
    assert corpus.ids == ["1", "2", "3"]
    save_graph_corpus(corpus, tmp_path / "g")
    back = load_graph_corpus(tmp_path / "g")
    assert back.edges.toarray().astype(bool).tolist() == [[False, True, True], [False, False, False],
                                                          [True, False, False]]
    save_graph_corpus(GraphCorpus(ids=["a", "b", "c"], edges=zero_on_diagonal), tmp_path / "z")
    assert load_graph_corpus(tmp_path / "z").edges.nnz == 1  # a stored 0 is not an edge (nor a loop)
    with pytest.raises(ValueError, match="1 self-loop"):
        save_graph_corpus(GraphCorpus(ids=["a", "b", "c"], edges=with_loop), tmp_path / "bad")
    assert_same(before, E, zero_on_diagonal, with_loop, feats, emb, labels)


def _no_loop(kind, dtype):
    # unsorted row 0 ([2, 1]), a duplicate of (2, 0), no diagonal
    return kind(
        (np.array([1, 1, 1, 1], dtype=dtype), np.array([2, 1, 0, 0]), np.array([0, 2, 2, 4])), shape=(3, 3)
    )


def test_save_graph_corpus_does_not_rebind_the_callers_fields(tmp_path):
    E = _no_loop(sp.csr_array, np.float32)
    corpus = GraphCorpus(ids=["a", "b", "c"], edges=E)
    edges = corpus.edges
    save_graph_corpus(corpus, tmp_path)
    assert corpus.edges is edges


def test_retrieval_corpus_and_qrels_to_positives_leave_inputs_alone(tmp_path):
    emb = np.ones((3, 2), dtype=np.float32)
    qrels = {"test": {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}}
    rc = RetrievalCorpus(["d1", "d2", "d3"], ["x", "y", "z"], ["q1", "q2"], ["?", "!"], qrels,
                         corpus_embeddings=emb)
    before = snapshot(emb)
    save_retrieval_corpus(rc, tmp_path)
    rows, pos = qrels_to_positives(rc, "test")
    assert rows.tolist() == [0, 1] and [p.tolist() for p in pos] == [[0], [2]]
    assert qrels == {"test": {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}}
    assert_same(before, emb)


def test_citation_training_data_leaves_graph_and_embeddings_alone(tmp_path):
    g = LinkGraph.from_index_edges([[0, 1], [0, 2], [1, 2], [2, 3], [3, 0], [4, 1]], 6)
    emb = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    texts = {str(i): f"paper {i}" for i in range(5)}  # node 5 has no text
    A = g.adjacency
    before = snapshot(A, emb)
    ids = list(g.ids)
    citation_training_data(g, tmp_path / "o.jsonl", texts=texts, output_format="flag",
                           negatives=functools.partial(bica_link_negatives, num_negatives=1), embeddings=emb)
    assert_same(before, A, emb)
    assert g.ids == ids and g.adjacency is A
