"""The package id rule in the canonical corpora (#11.3): ints -> str, bad ids rejected."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg.io import (
    GraphCorpus,
    RetrievalCorpus,
    load_graph_corpus,
    load_retrieval_corpus,
    save_graph_corpus,
    save_retrieval_corpus,
)


def _edges(n: int = 3) -> sp.csr_array:
    return sp.csr_array(([1.0], ([0], [1])), shape=(n, n))


def test_graph_corpus_int_ids_are_written_as_str(tmp_path):
    g = GraphCorpus(ids=[1, np.int64(2), "x"], edges=_edges())
    assert g.ids == ["1", "2", "x"]
    save_graph_corpus(g, tmp_path)
    assert load_graph_corpus(tmp_path).ids == ["1", "2", "x"]
    assert (tmp_path / "edges.tsv").read_text().splitlines()[1] == "1\t2"


@pytest.mark.parametrize(
    "bad, err",
    [(None, TypeError), (float("nan"), TypeError), (2.0, TypeError), (True, TypeError), ("", ValueError)],
)
def test_graph_corpus_rejects_bad_ids_with_position(bad, err):
    with pytest.raises(err, match=r"`ids` must hold .*ids\[1\]"):
        GraphCorpus(ids=["a", bad, "c"], edges=_edges())


def test_graph_corpus_int_and_str_of_one_id_collide():
    with pytest.raises(ValueError, match=r"`ids` must be unique, got '1' at positions 0 and 2"):
        GraphCorpus(ids=[1, "b", "1"], edges=_edges())


def test_graph_corpus_graph_and_num_nodes():
    g = GraphCorpus(ids=["a", "b", "c"], edges=_edges())
    lg = g.graph
    assert lg.ids == g.ids and lg.num_edges == 1 and g.num_nodes == 3
    assert not hasattr(g, "n_nodes")


def test_retrieval_corpus_ids_and_qrels_keys_follow_the_rule(tmp_path):
    rc = RetrievalCorpus([1, 2], ["x", "y"], [10], ["?"], {"test": {10: {2: 1, "1": 0}}})
    assert rc.corpus_ids == ["1", "2"] and rc.query_ids == ["10"]
    assert rc.qrels == {"test": {"10": {"2": 1, "1": 0}}}
    assert (rc.num_docs, rc.num_queries) == (2, 1)
    assert not hasattr(rc, "n_docs") and not hasattr(rc, "n_queries")
    save_retrieval_corpus(rc, tmp_path)
    assert load_retrieval_corpus(tmp_path).qrels == {"test": {"10": {"2": 1, "1": 0}}}


def test_retrieval_corpus_rejects_bad_and_colliding_ids():
    with pytest.raises(TypeError, match=r"`query_ids` must hold .*query_ids\[0\]"):
        RetrievalCorpus(["d"], ["x"], [float("nan")], ["?"])
    with pytest.raises(ValueError, match="`corpus_ids` must be unique"):
        RetrievalCorpus([1, "1"], ["x", "y"], ["q"], ["?"])
    with pytest.raises(TypeError, match=r"qrels\['s'\]"):
        RetrievalCorpus(["d"], ["x"], ["q"], ["?"], {"s": {None: {"d": 1}}})
    with pytest.raises(ValueError, match="repeats '1'"):
        RetrievalCorpus(["1"], ["x"], ["q"], ["?"], {"s": {"q": {1: 1, "1": 1}}})
    with pytest.raises(ValueError, match="unknown corpus id 7"):
        RetrievalCorpus(["1"], ["x"], ["q"], ["?"], {"s": {"q": {7: 1}}})
