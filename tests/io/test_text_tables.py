"""Text pairs and corpora from every container, columns found by name, bad cells located."""

from __future__ import annotations

import json

import pytest

from graphneg.io import read_text_corpus, read_text_pairs
from graphneg.io._text_tables import read_table

ROWS = [{"qid": "1", "anchor": "what purrs?", "document": "cats purr"},
        {"qid": "1", "anchor": "what purrs?", "document": "kittens purr"},
        {"qid": "2", "anchor": "what barks?", "document": "dogs bark"}]


def write(path, rows):
    suffix = path.suffix if path.suffix else "dataset"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif suffix in (".csv", ".tsv"):
        sep = "," if suffix == ".csv" else "\t"
        cols = list(rows[0])
        path.write_text(sep.join(cols) + "\n" + "".join(sep.join(r[c] for c in cols) + "\n" for r in rows))
    elif suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        import datasets

        datasets.Dataset.from_list(rows).save_to_disk(str(path))
    return path


@pytest.mark.parametrize("name", ["p.jsonl", "p.csv", "p.tsv", "p.parquet", "saved"])
def test_every_container_and_detected_columns(tmp_path, name):
    pairs = read_text_pairs(write(tmp_path / name, ROWS))
    assert pairs.queries == ["what purrs?", "what purrs?", "what barks?"]
    assert pairs.positives == [["cats purr"], ["kittens purr"], ["dogs bark"]]
    assert pairs.query_ids == ["1", "1", "2"]


def test_named_columns_and_list_cells(tmp_path):
    path = tmp_path / "flag.jsonl"
    path.write_text(json.dumps({"ask": "q", "pos": ["a", "b"], "neg": ["c"]}) + "\n")
    with pytest.raises(ValueError, match=r"no query column .*columns are \['ask', 'pos', 'neg'\].*--query-column"):
        read_text_pairs(path)
    pairs = read_text_pairs(path, query_column="ask")
    assert pairs.positives == [["a", "b"]] and pairs.query_ids is None
    with pytest.raises(ValueError, match="no column 'nope'"):
        read_text_pairs(path, query_column="ask", positive_column="nope")


@pytest.mark.parametrize(("text", "message"), [
    ("", "has no rows"),
    ('{"query": "q", "positive": "p"}\n{"query": "q", \n', r"p.jsonl:2: malformed JSON"),
    ('{"query": "q", "positive": "p"}\n[1]\n', r"p.jsonl:2: expected a JSON object"),
    ('{"query": "q", "positive": ""}\n', r"p.jsonl:1: 'positive' must be a non-empty string"),
    ('{"query": "q", "positive": "p"}\n{"query": "q2"}\n', r"p.jsonl:2: 'positive' must be"),
])
def test_bad_jsonl_names_file_and_line(tmp_path, text, message):
    path = tmp_path / "p.jsonl"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_text_pairs(path)


def test_bad_files(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        read_table(tmp_path / "missing.jsonl")
    (tmp_path / "x.txt").write_text("a")
    with pytest.raises(ValueError, match="unknown file type"):
        read_table(tmp_path / "x.txt")
    (tmp_path / "short.csv").write_text("query,positive\nq\n")
    with pytest.raises(ValueError, match=r"short.csv:2: 1 fields"):
        read_table(tmp_path / "short.csv")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="not a dataset saved"):
        read_table(tmp_path / "folder")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(ValueError, match="not a readable Parquet"):
        read_table(tmp_path / "bad.parquet")


def test_corpus_ids_unique(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "d1", "text": "a"}\n{"_id": 2, "text": "b"}\n')
    assert read_text_corpus(path) == (["d1", "2"], ["a", "b"])
    path.write_text('{"_id": "d1", "text": "a"}\n{"_id": "d1", "text": "b"}\n')
    with pytest.raises(ValueError, match=r"corpus.jsonl:2: duplicate document id 'd1' \(first at .*corpus.jsonl:1\)"):
        read_text_corpus(path)
