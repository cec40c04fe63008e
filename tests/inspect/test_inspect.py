"""graphneg.inspect on each input kind: the summary is JSON, its numbers are right, bad input
is one clear error, and inputs are never modified."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg as gn
from graphneg.inspection import BatchOptions, GraphOptions, detect_kind, inspect
from graphneg.io import load_graph, save_graph

from .conftest import write_jsonl

B40 = BatchOptions(batch_size=40)


def _is_json(summary: dict) -> None:
    json.dumps(summary, allow_nan=False)  # plain data, no NaN, no numpy scalars


def test_embeddings_summary_has_every_section(blobs):
    path, X, labels = blobs
    s = inspect(path, labels=labels, batch_options=B40)
    _is_json(s)
    assert s["input"]["kind"] == "embeddings" and s["graph"]["num_nodes"] == 240
    assert s["graph"]["out_degree"]["mean"] == 10  # k=10, the `graphneg batches` default
    sweep = s["graph"]["components_by_k"]
    assert sweep["count"] == sorted(sweep["count"], reverse=True)  # more neighbours never split
    c = s["communities"]
    assert c["within_similarity"]["mean"] > c["cross_similarity"]["mean"]
    assert c["per_batch"]["graphneg"]["mean"] < c["per_batch"]["random"]["mean"]
    b = s["batches"]["stats"]
    assert b["graphneg"]["same_label_share"] > 2 * b["random"]["same_label_share"]
    assert b["graphneg"]["coverage"] == 1.0
    assert s["map"]["num_points"] == 240 and 0 < sum(s["map"]["highlight"]) <= 40  # batch 0 circled


def test_same_seed_same_summary(blobs):
    path, _, _ = blobs
    a, b = inspect(path, batch_options=B40, seed=3), inspect(path, batch_options=B40, seed=3)
    a.pop("seconds"), b.pop("seconds")
    assert a == b


def test_large_input_sweeps_components_on_a_seeded_sample(blobs, monkeypatch):
    # above SWEEP_ITEMS the k sweep searches a sample of that many items, never all pairs
    import graphneg.inspection._sections as sections

    path, X, _ = blobs
    full = inspect(path, batch_options=B40)["graph"]["components_by_k"]
    monkeypatch.setattr(sections, "SWEEP_ITEMS", 100)
    a = inspect(path, batch_options=B40)["graph"]["components_by_k"]
    b = inspect(path, batch_options=B40)["graph"]["components_by_k"]
    assert "sampled_items" not in full and a["sampled_items"] == 100
    assert a == b and a["k"] == full["k"]
    assert a["count"] == sorted(a["count"], reverse=True)


def test_graph_file_round_trip_and_inspect(tmp_path, blobs):
    _, X, labels = blobs
    G = gn.knn_graph(X, 5)
    indices = G.indices.copy()
    p = save_graph(tmp_path / "g.npz", G, labels=labels, params={"k": 5}, input_hash="abc")
    assert not list(tmp_path.glob("*.tmp")) and (tmp_path / "g.json").is_file()
    saved = load_graph(p)
    assert (saved.graph != G).nnz == 0 and saved.labels.tolist() == labels.tolist()
    assert saved.params == {"k": 5} and saved.input_hash == "abc"
    np.testing.assert_array_equal(G.indices, indices)  # the caller's graph is untouched
    s = inspect(p, embeddings=X, batch_options=B40)
    assert s["input"]["kind"] == "graph" and s["input"]["communities_saved"]
    assert s["communities"]["num_communities"] == 6
    with pytest.raises(ValueError, match="embeddings have 10 rows but graph file .* has 240 items"):
        inspect(p, embeddings=X[:10])


def test_cache_reuses_the_graph(tmp_path, blobs):
    path, _, _ = blobs
    cached = GraphOptions(cache_dir=tmp_path / "cache")
    first = inspect(path, graph_options=cached, batch_options=B40)
    second = inspect(path, graph_options=cached, batch_options=B40)
    assert not first["input"]["from_cache"] and second["input"]["from_cache"]
    assert first["communities"] == second["communities"]
    third = inspect(path, graph_options=GraphOptions(knn={"k": 7}, cache_dir=tmp_path / "cache"), batch_options=B40)
    assert not third["input"]["from_cache"]  # other parameters: another entry
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


def test_citation_edge_list(tmp_path):
    edges = tmp_path / "cites.tsv"
    edges.write_text("citing\tcited\na\tb\nb\ta\nc\ta\nd\ta\ne\tf\n", encoding="utf-8")
    s = inspect(edges)
    _is_json(s)
    g = s["graph"]
    assert g["directed"] and g["num_edges"] == 5 and g["reciprocity"] == pytest.approx(2 / 5)
    assert g["components"]["count"] == 2
    assert "modularity" in s["communities"] and "batches" in s


def test_citation_folder_with_nodes_labels_and_embeddings(tmp_path, blobs):
    _, X, labels = blobs
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_jsonl(folder / "nodes.jsonl", [{"_id": f"p{i}", "text": "t", "label": f"c{labels[i]}"} for i in range(240)])
    pairs = sorted({(int(a), int(b)) for a, b in np.random.default_rng(1).integers(0, 240, (400, 2)) if a != b})
    (folder / "edges.tsv").write_text("citing\tcited\n" + "".join(f"p{a}\tp{b}\n" for a, b in pairs))
    np.save(folder / "emb.npy", X)
    s = inspect(folder, batch_options=B40)
    assert s["input"]["embeddings"] and s["input"]["labels"]
    assert s["knn_graph"]["num_nodes"] == 240 and s["graph"]["directed"]
    assert "link_share" in s["batches"]["per_batch"] and "same_label_share" in s["batches"]["per_batch"]
    assert s["batches"]["positive_vs_negative"]["graphneg"]["queries"] > 0


def test_batch_file(tmp_path, blobs):
    _, X, labels = blobs
    batches = [np.flatnonzero(labels == c) for c in range(6)]
    bf = write_jsonl(tmp_path / "b.jsonl", [{"batch": i, "indices": b.tolist()} for i, b in enumerate(batches)])
    assert detect_kind(bf) == "batches"
    s = inspect(bf, embeddings=X, labels=labels, batch_options=BatchOptions(num_replicas=4))
    _is_json(s)
    b = s["batches"]
    assert b["stats"]["graphneg"]["same_label_share"] == 1.0
    assert b["per_batch"]["same_label_share"]["graphneg"]["mean"] == 1.0
    assert b["ranks"]["batches_per_rank"] == [2, 2, 1, 1] and not b["ranks"]["even"]
    with pytest.raises(ValueError, match="holds item 239, but the embeddings have only 100 rows; they do not match"):
        inspect(bf, embeddings=X[:100])


def test_batch_file_without_embeddings(tmp_path):
    bf = write_jsonl(tmp_path / "b.jsonl", [{"batch": 0, "indices": [0, 1]}, {"batch": 1, "indices": [2]}])
    s = inspect(bf)
    assert s["batches"]["num_batches"] == 2 and "map" not in s


def test_negatives_triplets_scored_with_embeddings(tmp_path, blobs):
    _, X, _ = blobs
    ids = [f"p{i}" for i in range(240)]
    recs = [{"query_id": f"p{q}", "positive_id": f"p{q + 1}", "negative_ids": [f"p{q + 50}", f"p{q + 90}"][: 1 + q % 2]}
            for q in range(0, 40)]
    nf = write_jsonl(tmp_path / "train.jsonl", recs)
    s = inspect(nf, embeddings=X, ids=ids, negatives_options={"range_min": 5, "range_max": 50})
    _is_json(s)
    n = s["negatives"]
    assert n["queries"] == 40 and n["max_negatives"] == 2 and n["short_queries"] == 20
    assert n["scores"]["source"] == "cosine" and n["ranks"]["count"] == 60
    assert n["scores"]["positive"]["mean"] > n["scores"]["negative"]["mean"]  # same blob vs other blobs
    with pytest.raises(ValueError, match="needs the id of every row"):
        inspect(nf, embeddings=X)


@pytest.mark.parametrize("fmt", ["st", "flag", "tevatron"])
def test_negatives_trainer_formats(tmp_path, fmt):
    queries, docs = ["q0", "q1"], ["d0", "d1", "d2", "d3"]
    positives, negatives = [[0], [1]], np.array([[2, 3], [0, -1]])
    path = tmp_path / f"{fmt}.jsonl"
    if fmt == "st":
        gn.write_sentence_transformers_jsonl(path, queries, docs, positives, negatives, num_negatives=1)
    elif fmt == "flag":
        gn.write_flagembedding(path, queries, docs, positives, negatives)
    else:
        gn.write_tevatron(path, ["a", "b"], queries, ["x0", "x1", "x2", "x3"], docs, positives, negatives)
    s = inspect(path)
    assert s["input"]["format"] == fmt and s["negatives"]["queries"] == 2


def test_negatives_scores_from_file(tmp_path):
    recs = [{"query": "q", "pos": ["p"], "neg": ["a", "b"], "pos_scores": [0.9], "neg_scores": [0.5, 0.95]}]
    s = inspect(write_jsonl(tmp_path / "f.jsonl", recs))
    assert s["negatives"]["scores"]["source"] == "file"
    assert s["negatives"]["scores"]["above_positive_share"] == 0.5


def test_bad_inputs_are_one_line_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        inspect(tmp_path / "missing.npy")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a graphneg graph file"):
        inspect(tmp_path / "other.npz")
    (tmp_path / "bin.dat").write_bytes(b"\x00\xff" * 50)
    with pytest.raises(ValueError):
        inspect(tmp_path / "bin.dat")
    np.save(tmp_path / "one.npy", np.zeros(5))
    with pytest.raises(ValueError, match="must be a 2-D"):
        inspect(tmp_path / "one.npy")


def test_inputs_are_not_modified(blobs):
    _, X, labels = blobs
    G = gn.knn_graph(X, 5)
    G.indices = G.indices[::-1].copy()[::-1]  # a non-owning view is fine too
    before = (X.copy(), labels.copy(), G.indptr.copy(), G.indices.copy(), G.data.copy())
    from graphneg.inspection._sections import data_summary

    data_summary(graph=G, communities=labels, embeddings=X, labels=labels, links=G, batch_options=B40)
    for a, b in zip(before, (X, labels, G.indptr, G.indices, G.data), strict=True):
        np.testing.assert_array_equal(a, b)


def test_graph_numbers_on_a_star():
    n = 11
    A = sp.csr_array((np.ones(n - 1, np.float32), (np.arange(1, n), np.zeros(n - 1, int))), shape=(n, n))
    from graphneg.inspection._graph_summary import graph_summary

    s = graph_summary(A)
    assert s["in_degree"]["max"] == 10 and s["hubness"] > 2 and s["hub_edge_share"] == 1.0
    assert s["mutual_edge_share"] == 0.0 and s["directed"]


def test_saved_graph_path_must_be_npz(tmp_path):
    with pytest.raises(ValueError, match=r"`path` must end in \.npz"):
        save_graph(tmp_path / "g.bin", sp.csr_array((2, 2)))
    assert Path(tmp_path).is_dir()


def test_citation_jsonl_format(tmp_path):
    recs = [{"paper_id": "a", "title": "A", "outbound_citations": ["b", "c"]},
            {"paper_id": "b", "title": "B", "outbound_citations": ["c"]},
            {"paper_id": "c", "title": "C", "outbound_citations": []}]
    s = inspect(write_jsonl(tmp_path / "s2orc.jsonl", recs))
    assert s["input"]["kind"] == "citations" and s["input"]["format"] == "s2orc"
    assert s["graph"]["num_edges"] == 3 and s["graph"]["reciprocity"] == 0.0


def test_planetoid_folder_from_shared_data(shared_data, tmp_path):
    folder = shared_data / "planetoid"
    if not (folder / "ind.cora.graph").is_file():
        pytest.skip("no Planetoid Cora in the shared data")
    with pytest.raises(ValueError, match="holds Planetoid data sets"):
        inspect(folder)  # two data sets: the reader's own one-line error
    for p in folder.glob("ind.cora.*"):
        (tmp_path / p.name).symlink_to(p)
    with pytest.warns(gn.GraphNegWarning):  # the reader counts Planetoid's repeated arcs
        s = inspect(tmp_path)
    assert s["input"]["format"] == "planetoid" and s["graph"]["num_nodes"] == 2708
    assert s["input"]["labels"] and "same_label_share" in s["batches"]["per_batch"]
    assert s["graph"]["mutual_edge_share"] > 0.9  # Planetoid lists both arcs


def test_batch_file_with_float_ids_names_file_line_and_position(tmp_path, capsys):
    from graphneg.cli import main

    bf = write_jsonl(tmp_path / "b.jsonl", [{"batch": 0, "indices": [0, 1]}, {"batch": 1, "indices": [0.5, 1.7]}])
    with pytest.raises(ValueError, match=r"b\.jsonl:2: .*must hold integer ids, got 0\.5 at position \[0\]"):
        inspect(bf)
    assert main(["stats", str(bf)]) == 2
    assert "b.jsonl:2:" in capsys.readouterr().err
    ok = write_jsonl(tmp_path / "ok.jsonl", [{"batch": 0, "indices": [0.0, 1.0]}, {"batch": 1, "indices": [2]}])
    assert inspect(ok)["batches"]["num_batches"] == 2  # integral floats are the same ids


# -- the library checks what the CLI checks, accepts what its docstring says, counts what it drops
def test_num_replicas_and_batch_size_are_checked(tmp_path):
    bf = write_jsonl(tmp_path / "b.jsonl", [{"batch": 0, "indices": [0, 1]}, {"batch": 1, "indices": [2]}])
    with pytest.raises(ValueError, match="`num_replicas` must be >= 1, got 0"):
        inspect(bf, batch_options=BatchOptions(num_replicas=0))
    with pytest.raises(TypeError, match="`num_replicas` must be an int"):
        inspect(bf, batch_options=BatchOptions(num_replicas=1.5))
    with pytest.raises(ValueError, match="`batch_size` must be >= 1"):
        inspect(bf, batch_options=BatchOptions(batch_size=0))
    with pytest.raises(TypeError, match="`batch_options` must be a BatchOptions, got dict"):
        inspect(bf, batch_options={"batch_size": 4})
    with pytest.raises(ValueError, match="`graph_options.corpus` applies to citation corpora only"):
        inspect(bf, graph_options=GraphOptions(corpus={"format": "edges"}))


def test_links_and_positives_accept_a_link_graph(tmp_path, blobs):
    _, X, labels = blobs
    batches = [np.flatnonzero(labels == c) for c in range(6)]
    bf = write_jsonl(tmp_path / "b.jsonl", [{"batch": i, "indices": b.tolist()} for i, b in enumerate(batches)])
    src, dst = np.arange(0, 239), np.arange(1, 240)
    g = gn.LinkGraph.from_index_arrays(src, dst, [f"p{i}" for i in range(240)], warn=False)
    A = g.adjacency
    for key in ("links", "positives"):
        via_graph = inspect(bf, embeddings=X, **{key: g})
        via_matrix = inspect(bf, embeddings=X, **{key: A})
        for s in (via_graph, via_matrix):
            s.pop("seconds")
        assert via_graph == via_matrix
    with pytest.raises(TypeError, match="`links` must be a scipy.sparse matrix, a 2-D array or a LinkGraph"):
        inspect(bf, links="edges.tsv")


def test_unknown_ids_of_a_negatives_file_are_counted(tmp_path, blobs):
    _, X, _ = blobs
    ids = [f"p{i}" for i in range(240)]
    recs = [{"query_id": "p0", "positive_id": "p1", "negative_ids": ["p50", "zz1", "zz2"]},
            {"query_id": "qq", "positive_id": "p2", "negative_ids": ["p60"]}]
    nf = write_jsonl(tmp_path / "train.jsonl", recs)
    with pytest.warns(gn.GraphNegWarning, match=r"1 of 2 query ids, 2 of 4 negative ids name no embedding row"):
        s = inspect(nf, embeddings=X, ids=ids)
    assert s["negatives"]["unknown_ids"] == {"queries": 1, "positives": 0, "negatives": 2}
