"""Tests for the corpora of graphneg.io: round trips, validation errors, skipped items, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg.io._corpus_graph as graph_corpus_mod
import graphneg.io._corpus_retrieval as retrieval_corpus_mod
from graphneg.exceptions import GraphNegWarning
from graphneg.io import (
    GraphCorpus,
    RetrievalCorpus,
    load_graph_corpus,
    load_retrieval_corpus,
    qrels_to_positives,
    save_graph_corpus,
    save_retrieval_corpus,
)

# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------


def _edges(n: int, pairs: list[tuple[int, int]]) -> sp.csr_array:
    rows, cols = zip(*pairs, strict=True) if pairs else ((), ())
    return sp.csr_array(
        (np.ones(len(pairs), dtype=np.float32), (list(rows), list(cols))), shape=(n, n)
    )


def _graph(**overrides: object) -> GraphCorpus:
    """Four nodes with every optional part; texts exercise JSON escaping."""
    parts: dict[str, object] = dict(
        ids=["p1", "p2", "ünï", "p4"],
        edges=_edges(4, [(0, 1), (1, 2), (2, 0), (3, 0), (0, 3)]),
        labels=np.array([0, 1, -1, 1], dtype=np.int64),
        label_names=["DB", "ML"],
        texts=["plain", 'quote " and\nnewline\tand tab', "ümlaut — dash", ""],
        features=sp.csr_array(np.array([[1, 0, 2], [0, 0, 0], [0, 3, 0], [1, 1, 1]], np.float32)),
        embeddings=np.arange(8, dtype=np.float32).reshape(4, 2),
    )
    parts.update(overrides)
    return GraphCorpus(**parts)  # type: ignore[arg-type]


def _retrieval(**overrides: object) -> RetrievalCorpus:
    parts: dict[str, object] = dict(
        corpus_ids=["d1", "d2", "d3"],
        corpus_texts=["Title one Body one.", "Body two only.", "T3"],
        query_ids=["q1", "q2", "q3"],
        query_texts=["first?", "second?", "third?"],
        qrels={
            "train": {"q1": {"d2": 1, "d1": 2}, "q2": {"d3": 0}},
            "test": {"q3": {"d3": 1}},
        },
        corpus_embeddings=np.eye(3, 4, dtype=np.float32),
        query_embeddings=np.ones((3, 4), dtype=np.float32),
        corpus_titles=["Title one", "", "T3"],
    )
    parts.update(overrides)
    return RetrievalCorpus(**parts)  # type: ignore[arg-type]


def _write_graph_files(folder: Path, nodes: list[str], edges: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nodes.jsonl").write_text("".join(line + "\n" for line in nodes), encoding="utf-8")
    (folder / "edges.tsv").write_text("".join(line + "\n" for line in edges), encoding="utf-8")
    return folder


NODES_ABC = ['{"_id": "a"}', '{"_id": "b"}', '{"_id": "c"}']


def _assert_graph_equal(a: GraphCorpus, b: GraphCorpus) -> None:
    assert a.ids == b.ids
    assert (a.edges != b.edges).nnz == 0
    assert a.edges.dtype == np.float32
    for field in ("labels", "embeddings"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)
    assert a.label_names == b.label_names
    assert a.texts == b.texts
    assert (a.features is None) == (b.features is None)
    if a.features is not None:
        assert (a.features != b.features).nnz == 0


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


# --------------------------------------------------------------------------------------------
# Graph corpus: round trips
# --------------------------------------------------------------------------------------------


def test_graph_round_trip_all_parts(tmp_path: Path) -> None:
    g = _graph()
    out = save_graph_corpus(g, tmp_path / "g")
    assert sorted(p.name for p in out.iterdir()) == [
        "edges.tsv",
        "embeddings.npy",
        "features.npz",
        "nodes.jsonl",
    ]
    back = load_graph_corpus(out)
    _assert_graph_equal(g, back)
    assert back.num_nodes == 4
    assert back.labels is not None and back.labels.dtype == np.int64


def test_graph_file_layout_is_canonical(tmp_path: Path) -> None:
    save_graph_corpus(_graph(), tmp_path)
    lines = (tmp_path / "nodes.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"_id": "p1", "text": "plain", "label": "DB"}
    assert "label" not in json.loads(lines[2])  # label -1 = absent key
    edges = (tmp_path / "edges.tsv").read_text(encoding="utf-8").splitlines()
    assert edges[0] == "source\ttarget"
    assert sorted(edges[1:]) == sorted(["p1\tp2", "p2\tünï", "ünï\tp1", "p4\tp1", "p1\tp4"])


def test_graph_round_trip_minimal(tmp_path: Path) -> None:
    g = GraphCorpus(ids=["x", "y"], edges=_edges(2, [(1, 0)]))
    back = load_graph_corpus(save_graph_corpus(g, tmp_path))
    _assert_graph_equal(g, back)
    assert back.labels is None and back.label_names is None and back.texts is None
    assert back.features is None and back.embeddings is None


def test_graph_round_trip_empty_edges(tmp_path: Path) -> None:
    g = GraphCorpus(ids=["x", "y", "z"], edges=_edges(3, []))
    back = load_graph_corpus(save_graph_corpus(g, tmp_path))
    assert back.edges.shape == (3, 3) and back.edges.nnz == 0


def test_integer_label_names_sort_numerically(tmp_path: Path) -> None:
    nodes = ['{"_id": "a", "label": "10"}', '{"_id": "b", "label": "2"}', '{"_id": "c"}']
    back = load_graph_corpus(_write_graph_files(tmp_path, nodes, ["source\ttarget"]))
    assert back.label_names == ["2", "10"]
    assert back.labels is not None and back.labels.tolist() == [1, 0, -1]


def test_partial_texts_read_as_empty(tmp_path: Path) -> None:
    nodes = ['{"_id": "a", "text": "hello"}', '{"_id": "b"}']
    back = load_graph_corpus(_write_graph_files(tmp_path, nodes, ["source\ttarget"]))
    assert back.texts == ["hello", ""]


def test_resave_removes_stale_optional_files(tmp_path: Path) -> None:
    save_graph_corpus(_graph(), tmp_path)
    save_graph_corpus(_graph(features=None, embeddings=None), tmp_path)
    assert not (tmp_path / "features.npz").exists()
    assert not (tmp_path / "embeddings.npy").exists()
    assert load_graph_corpus(tmp_path).embeddings is None


def test_embeddings_can_be_memory_mapped(tmp_path: Path) -> None:
    save_graph_corpus(_graph(), tmp_path)
    back = load_graph_corpus(tmp_path, mmap_mode="r")
    assert isinstance(back.embeddings, np.memmap)
    np.testing.assert_array_equal(back.embeddings, _graph().embeddings)


# --------------------------------------------------------------------------------------------
# Graph corpus: skipped edges
# --------------------------------------------------------------------------------------------


def test_skipped_edges_are_counted_in_one_warning(tmp_path: Path) -> None:
    edges = [
        "source\ttarget",
        "a\tb",
        "a\tb",  # duplicate
        "b\tb",  # self-loop
        "a\tghost",  # unknown target
        "ghost2\tc",  # unknown source
        "c\ta",
    ]
    folder = _write_graph_files(tmp_path, NODES_ABC, edges)
    with pytest.warns(GraphNegWarning) as record:
        g = load_graph_corpus(folder)
    assert len(record) == 1
    message = str(record[0].message)
    assert "kept 2 of 6" in message
    assert "2 naming unknown ids" in message and "'ghost'" in message
    assert "1 self-loop(s)" in message and "1 duplicate(s)" in message
    assert g.edges.nnz == 2
    assert g.edges.toarray().tolist() == [[0, 1, 0], [0, 0, 0], [1, 0, 0]]


def test_clean_edges_emit_no_warning(tmp_path: Path) -> None:
    # GraphNegWarning is an error under the project's pytest config, so this also checks that.
    folder = _write_graph_files(tmp_path, NODES_ABC, ["source\ttarget", "a\tb", "b\ta"])
    assert load_graph_corpus(folder).edges.nnz == 2


# --------------------------------------------------------------------------------------------
# Graph corpus: validation errors on load
# --------------------------------------------------------------------------------------------


def test_duplicate_id_names_id_and_lines(tmp_path: Path) -> None:
    nodes = ['{"_id": "a"}', '{"_id": "b"}', '{"_id": "a"}']
    folder = _write_graph_files(tmp_path, nodes, ["source\ttarget"])
    with pytest.raises(
        ValueError, match=r"nodes\.jsonl: line 3: duplicate _id 'a' \(first on line 1\)"
    ):
        load_graph_corpus(folder)


@pytest.mark.parametrize(
    ("bad_line", "match"),
    [
        ('{"_id": "b"', r"nodes\.jsonl: line 2: malformed JSON"),
        ('["b"]', r"nodes\.jsonl: line 2: expected a JSON object, got list"),
        ("", r"nodes\.jsonl: line 2: blank line"),
        ('{"text": "no id"}', r"nodes\.jsonl: line 2: field '_id' must be present"),
        ('{"_id": 7}', r"nodes\.jsonl: line 2: field '_id' must be a string"),
        ('{"_id": "b", "label": 3}', r"nodes\.jsonl: line 2: field 'label' must be a string"),
        ('{"_id": "b", "text": null}', r"nodes\.jsonl: line 2: field 'text' must be a string"),
        ('{"_id": "b\\tc"}', r"nodes\.jsonl: line 2: `_id` must be non-empty without tabs"),
        ('{"_id": ""}', r"nodes\.jsonl: line 2: `_id` must be non-empty"),
    ],
)
def test_malformed_node_lines(tmp_path: Path, bad_line: str, match: str) -> None:
    folder = _write_graph_files(tmp_path, ['{"_id": "a"}', bad_line], ["source\ttarget"])
    with pytest.raises(ValueError, match=match):
        load_graph_corpus(folder)


@pytest.mark.parametrize(
    ("edges", "match"),
    [
        (["citing\tcited", "a\tb"], r"edges\.tsv: line 1: expected header 'source\\ttarget'"),
        ([], r"edges\.tsv: line 1: expected header"),
        (["source\ttarget", "a\tb\tc"], r"edges\.tsv: line 2: expected 2 non-empty"),
        (["source\ttarget", "a\tb", "a b"], r"edges\.tsv: line 3: expected 2 non-empty"),
        (["source\ttarget", "\tb"], r"edges\.tsv: line 2: expected 2 non-empty"),
    ],
)
def test_malformed_edge_lines(tmp_path: Path, edges: list[str], match: str) -> None:
    folder = _write_graph_files(tmp_path, NODES_ABC, edges)
    if not edges:
        (folder / "edges.tsv").write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match=match):
        load_graph_corpus(folder)


def test_missing_files_raise_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing nodes.jsonl"):
        load_graph_corpus(tmp_path)
    (tmp_path / "nodes.jsonl").write_text('{"_id": "a"}\n', encoding="utf-8")
    with pytest.raises(FileNotFoundError, match="missing edges.tsv"):
        load_graph_corpus(tmp_path)


def test_feature_row_mismatch(tmp_path: Path) -> None:
    folder = _write_graph_files(tmp_path, NODES_ABC, ["source\ttarget"])
    sp.save_npz(folder / "features.npz", sp.csr_array(np.ones((2, 5), dtype=np.float32)))
    with pytest.raises(ValueError, match=r"features\.npz: has 2 rows but nodes\.jsonl has 3"):
        load_graph_corpus(folder)


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.ones((4, 2), dtype=np.float32), r"embeddings\.npy: has 4 rows but nodes\.jsonl has 3"),
        (np.ones(3, dtype=np.float32), r"embeddings\.npy: expected a 2-D array"),
    ],
)
def test_embedding_shape_mismatch(tmp_path: Path, array: np.ndarray, match: str) -> None:
    folder = _write_graph_files(tmp_path, NODES_ABC, ["source\ttarget"])
    np.save(folder / "embeddings.npy", array)
    with pytest.raises(ValueError, match=match):
        load_graph_corpus(folder)


# --------------------------------------------------------------------------------------------
# Graph corpus: in-memory validation and save-time checks
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        (
            {"ids": ["a", "b", "a", "c"]},
            ValueError,
            r"`ids` must be unique, got 'a' at positions 0 and 2",
        ),
        ({"ids": ["a", "b", 3.5, "c"]}, TypeError, r"`ids` must hold str or int ids; ids\[2\]"),
        ({"edges": _edges(3, [(0, 1)])}, ValueError, r"`edges` must have shape \(4, 4\)"),
        ({"edges": np.zeros((4, 4))}, TypeError, r"`edges` must be a scipy.sparse"),
        ({"labels": np.array([0, 1, 0])}, ValueError, r"`labels` must be 1-D with 4 entries"),
        (
            {"labels": np.array([0, 2, 0, 1])},
            ValueError,
            r"uses code 2 but `label_names` has only 2",
        ),
        ({"labels": np.array([0, -2, 0, 1])}, ValueError, r"`labels` must be >= -1"),
        ({"labels": np.array([0.5, 1, 0, 1])}, TypeError, r"integer codes"),
        ({"label_names": ["x", "x"]}, ValueError, r"`label_names` must be unique"),
        ({"labels": None}, ValueError, r"`label_names` was given without `labels`"),
        ({"texts": ["a", "b"]}, ValueError, r"`texts` must have length 4"),
        ({"features": sp.csr_array((3, 2))}, ValueError, r"`features` must have 4 rows"),
        ({"embeddings": np.ones((4,))}, ValueError, r"`embeddings` must have shape \(4, dim\)"),
        ({"embeddings": np.array([["a"]] * 4)}, TypeError, r"`embeddings` must be a float array"),
    ],
)
def test_graph_corpus_rejects_inconsistent_parts(
    overrides: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        _graph(**overrides)


def test_default_label_names() -> None:
    g = GraphCorpus(ids=["a", "b"], edges=_edges(2, []), labels=np.array([2, -1]))
    assert g.label_names == ["0", "1", "2"]


def test_save_rejects_unwritable_ids_and_self_loops(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="without tabs or line breaks"):
        save_graph_corpus(GraphCorpus(ids=["a\tb"], edges=_edges(1, [])), tmp_path / "x")
    with pytest.raises(ValueError, match="1 self-loop"):
        save_graph_corpus(GraphCorpus(ids=["a", "b"], edges=_edges(2, [(1, 1)])), tmp_path / "y")
    # Validation happens before any write: neither folder got a file.
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


def test_failing_jsonl_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real_dumps = graph_corpus_mod._dumps

    def dumps_then_fail(rec: dict[str, str]) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        return real_dumps(rec)

    monkeypatch.setattr(graph_corpus_mod, "_dumps", dumps_then_fail)
    with pytest.raises(OSError, match="simulated"):
        save_graph_corpus(_graph(), tmp_path)
    assert not (tmp_path / "nodes.jsonl").exists()
    assert _no_temp_files(tmp_path)


def test_failing_rewrite_keeps_previous_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_graph_corpus(_graph(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def partial_save(fh: object, arr: object, **kwargs: object) -> None:
        fh.write(b"\x93NUMPY partial")  # type: ignore[attr-defined]
        raise OSError("interrupted (simulated)")

    monkeypatch.setattr(np, "save", partial_save)
    new = _graph(embeddings=np.zeros((4, 2), dtype=np.float32), texts=None)
    with pytest.raises(OSError, match="simulated"):
        save_graph_corpus(new, tmp_path)
    monkeypatch.undo()
    # Files written before the failure are complete new versions; the failed one is the old one.
    assert (tmp_path / "embeddings.npy").read_bytes() == before["embeddings.npy"]
    assert _no_temp_files(tmp_path)
    back = load_graph_corpus(tmp_path)
    assert back.texts is None  # nodes.jsonl was fully replaced
    np.testing.assert_array_equal(back.embeddings, _graph().embeddings)


def test_failing_retrieval_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(rec: dict[str, str]) -> str:
        raise OSError("simulated")

    monkeypatch.setattr(retrieval_corpus_mod, "_dumps", fail)
    with pytest.raises(OSError):
        save_retrieval_corpus(_retrieval(), tmp_path)
    assert not (tmp_path / "corpus.jsonl").exists()
    assert _no_temp_files(tmp_path)


# --------------------------------------------------------------------------------------------
# Retrieval corpus
# --------------------------------------------------------------------------------------------


def _assert_retrieval_equal(a: RetrievalCorpus, b: RetrievalCorpus) -> None:
    assert a.corpus_ids == b.corpus_ids and a.corpus_texts == b.corpus_texts
    assert a.query_ids == b.query_ids and a.query_texts == b.query_texts
    assert a.qrels == b.qrels
    assert a.corpus_titles == b.corpus_titles
    for field in ("corpus_embeddings", "query_embeddings"):
        x, y = getattr(a, field), getattr(b, field)
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(x, y)


def test_retrieval_round_trip(tmp_path: Path) -> None:
    rc = _retrieval()
    back = load_retrieval_corpus(save_retrieval_corpus(rc, tmp_path))
    _assert_retrieval_equal(rc, back)
    assert sorted(p.name for p in (tmp_path / "qrels").iterdir()) == ["test.tsv", "train.tsv"]
    docs = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    assert docs[0] == {"_id": "d1", "title": "Title one", "text": "Body one."}
    assert docs[1] == {"_id": "d2", "title": "", "text": "Body two only."}
    assert docs[2] == {"_id": "d3", "title": "T3", "text": ""}
    assert (tmp_path / "qrels" / "train.tsv").read_text().splitlines() == [
        "query-id\tcorpus-id\tscore",
        "q1\td2\t1",
        "q1\td1\t2",
        "q2\td3\t0",
    ]


def test_retrieval_round_trip_without_titles_or_embeddings(tmp_path: Path) -> None:
    rc = _retrieval(corpus_titles=None, corpus_embeddings=None, query_embeddings=None, qrels={})
    back = load_retrieval_corpus(save_retrieval_corpus(rc, tmp_path))
    _assert_retrieval_equal(rc, back)
    assert back.qrels == {}


def test_corpus_text_joins_title_and_text(tmp_path: Path) -> None:
    (tmp_path / "corpus.jsonl").write_text(
        '{"_id": "d", "title": " Head ", "text": "body "}\n{"_id": "e", "text": "only"}\n'
    )
    (tmp_path / "queries.jsonl").write_text('{"_id": "q", "text": "?"}\n')
    rc = load_retrieval_corpus(tmp_path)
    assert rc.corpus_texts == ["Head  body", "only"]
    assert rc.corpus_titles == [" Head ", ""]
    # Saving re-splits title and text so that loading gives back the same corpus_texts.
    back = load_retrieval_corpus(save_retrieval_corpus(rc, tmp_path / "again"))
    assert back.corpus_texts == rc.corpus_texts and back.corpus_titles == rc.corpus_titles


def test_save_rejects_text_not_starting_with_title(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"`corpus_texts\[1\]` must start with its title"):
        save_retrieval_corpus(_retrieval(corpus_titles=["Title one", "Other", "T3"]), tmp_path)


def test_resave_removes_stale_qrels_split(tmp_path: Path) -> None:
    save_retrieval_corpus(_retrieval(), tmp_path)
    save_retrieval_corpus(_retrieval(qrels={"test": {"q3": {"d3": 1}}}), tmp_path)
    assert not (tmp_path / "qrels" / "train.tsv").exists()
    assert set(load_retrieval_corpus(tmp_path).qrels) == {"test"}


def test_qrels_to_positives() -> None:
    rc = _retrieval()
    rows, positives = qrels_to_positives(rc, "train")
    # q2 has only a score-0 judgement, so it is left out; d1 (row 0) sorts before d2 (row 1).
    assert rows.dtype == np.int64 and rows.tolist() == [0]
    assert [p.tolist() for p in positives] == [[0, 1]]
    assert positives[0].dtype == np.int64
    rows, positives = qrels_to_positives(rc, "test")
    assert rows.tolist() == [2] and [p.tolist() for p in positives] == [[2]]
    with pytest.raises(ValueError, match="`split` must be one of 'test', 'train', got 'dev'"):
        qrels_to_positives(rc, "dev")


def test_qrels_to_positives_orders_queries_by_row() -> None:
    rc = _retrieval(qrels={"s": {"q3": {"d1": 1}, "q1": {"d3": 1, "d2": 3}}})
    rows, positives = qrels_to_positives(rc, "s")
    assert rows.tolist() == [0, 2]
    assert [p.tolist() for p in positives] == [[1, 2], [0]]


def _write_retrieval_files(folder: Path, qrels_lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text(
        '{"_id": "d1", "title": "", "text": "a"}\n{"_id": "d2", "title": "", "text": "b"}\n'
    )
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "x"}\n{"_id": "q2", "text": "y"}\n'
    )
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "dev.tsv").write_text("".join(line + "\n" for line in qrels_lines))
    return folder


def test_skipped_qrels_are_counted_in_one_warning(tmp_path: Path) -> None:
    folder = _write_retrieval_files(
        tmp_path,
        [
            "query-id\tcorpus-id\tscore",
            "q1\td1\t1",
            "q1\td1\t1",  # duplicate pair
            "qX\td1\t1",  # unknown query
            "q2\tdX\t1",  # unknown document
            "q2\td2\t2",
        ],
    )
    with pytest.warns(
        GraphNegWarning, match=r"1 unknown query id\(s\), 1 unknown corpus id\(s\), 1 duplicate"
    ):
        rc = load_retrieval_corpus(folder)
    assert rc.qrels == {"dev": {"q1": {"d1": 1}, "q2": {"d2": 2}}}


@pytest.mark.parametrize(
    ("qrels_lines", "match"),
    [
        (["query-id\tcorpus-id", "q1\td1"], r"dev\.tsv: line 1: expected header"),
        (
            ["query-id\tcorpus-id\tscore", "q1\td1\t1.5"],
            r"dev\.tsv: line 2: score must be an integer",
        ),
        (["query-id\tcorpus-id\tscore", "q1\td1"], r"dev\.tsv: line 2: expected 3 non-empty"),
    ],
)
def test_malformed_qrels(tmp_path: Path, qrels_lines: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        load_retrieval_corpus(_write_retrieval_files(tmp_path, qrels_lines))


def test_retrieval_validation_errors(tmp_path: Path) -> None:
    folder = _write_retrieval_files(tmp_path, ["query-id\tcorpus-id\tscore"])
    (folder / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "x"}\n{"_id": "q1", "text": "y"}\n'
    )
    with pytest.raises(ValueError, match=r"queries\.jsonl: line 2: duplicate _id 'q1'"):
        load_retrieval_corpus(folder)
    (folder / "queries.jsonl").write_text('{"_id": "q1", "text": "x"}\n')
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "title": "t"}\n')
    with pytest.raises(ValueError, match=r"corpus\.jsonl: line 1: field 'text' must be present"):
        load_retrieval_corpus(folder)
    (folder / "corpus.jsonl").write_text('{"_id": "d1", "text": "a"}\n')
    np.save(folder / "query_embeddings.npy", np.ones((2, 3), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"query_embeddings\.npy: has 2 rows but queries\.jsonl has 1"
    ):
        load_retrieval_corpus(folder)
    (folder / "query_embeddings.npy").unlink()
    np.save(folder / "corpus_embeddings.npy", np.ones((3, 3), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"corpus_embeddings\.npy: has 3 rows but corpus\.jsonl has 1"
    ):
        load_retrieval_corpus(folder)
    with pytest.raises(FileNotFoundError, match="missing corpus.jsonl"):
        load_retrieval_corpus(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("overrides", "error", "match"),
    [
        ({"corpus_texts": ["a"]}, ValueError, r"`corpus_texts` must have length 3"),
        ({"query_ids": ["q1", "q1", "q3"]}, ValueError, r"`query_ids` must be unique"),
        ({"qrels": {"s": {"qX": {"d1": 1}}}}, ValueError, r"unknown query id 'qX'"),
        ({"qrels": {"s": {"q1": {"dX": 1}}}}, ValueError, r"unknown corpus id 'dX'"),
        ({"qrels": {"s": {"q1": {"d1": 1.0}}}}, TypeError, r"must be an int score"),
        (
            {"query_embeddings": np.ones((2, 4))},
            ValueError,
            r"`query_embeddings` must have shape \(3, dim\)",
        ),
    ],
)
def test_retrieval_corpus_rejects_inconsistent_parts(
    overrides: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        _retrieval(**overrides)


def test_save_rejects_bad_split_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="plain file names"):
        save_retrieval_corpus(_retrieval(qrels={"../evil": {}}), tmp_path)
