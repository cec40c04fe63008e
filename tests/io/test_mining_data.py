"""Text pairs -> mining task, the stored run, and trainer files with teacher scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from graphneg.io import (
    TextPairs,
    build_mining_task,
    load_mining_run,
    mined_rows,
    read_flagembedding,
    read_sentence_transformers_jsonl,
    read_tevatron,
    save_mining_run,
    write_mined,
)
from graphneg.negatives import NegativeSelection, retrieve_candidates, select_negatives


def test_grouping_by_id_or_text_and_identical_texts():
    by_text = build_mining_task(TextPairs(["q", "r", "q"], [["a"], ["b"], ["c"]], None))
    assert by_text.query_texts == ["q", "r"] and by_text.positives == [[0, 2], [1]]
    assert by_text.query_ids == ["0", "1"] and by_text.query_rows.tolist() == [0, 1]
    by_id = build_mining_task(TextPairs(["q", "q"], [["a"], ["b"]], ["1", "2"]))
    assert by_id.positives == [[0], [1]]
    task = build_mining_task(TextPairs(["x", "y"], [["a"], ["b"]], None), (["d0", "d1", "d2"], ["a", "a", "x"]))
    assert task.positives == [[0], [3]] and task.exclude == [[1, 2], []]  # same text as a positive / the query
    assert task.doc_rows.tolist() == [0, 1, 2, -1]


@pytest.fixture
def mined():
    rng = np.random.default_rng(0)
    pairs = TextPairs([f"q{i // 2}" for i in range(12)], [[f"doc {i}"] for i in range(12)], None)
    task = build_mining_task(pairs)
    C = rng.normal(size=(12, 6)).astype(np.float32)
    Q = C[::2] + 0.2 * rng.normal(size=(6, 6)).astype(np.float32)
    cands = retrieve_candidates(Q, C, task.positives, depth=12)
    return task, cands, select_negatives(cands, NegativeSelection(num_negatives=2))


@pytest.mark.parametrize("fmt", ["st", "st-triplet", "flag", "tevatron", "triplets"])
def test_every_format_has_scores_and_rows_line_up(tmp_path, mined, fmt):
    task, _, hn = mined
    path = tmp_path / "out.jsonl"
    n = write_mined(path, task, hn, fmt)
    rq, rp = mined_rows(task, hn, fmt)
    assert n == rq.size == len(path.read_text().splitlines()) > 0
    if fmt in ("st", "st-triplet"):
        cols = read_sentence_transformers_jsonl(path)
        assert cols["anchor"] == [task.query_texts[q] for q in rq]
        assert cols["positive"] == [task.doc_texts[p] for p in rp]
        assert all(len(s) == (3 if fmt == "st" else 2) for s in cols["scores"])
    elif fmt == "flag":
        recs = read_flagembedding(path)
        assert all(len(r["neg_scores"]) == len(r["neg"]) for r in recs)
    elif fmt == "tevatron":
        recs = read_tevatron(path)
        assert all("score" in p for r in recs for p in r["positive_passages"] + r["negative_passages"])
    else:
        recs = [json.loads(line) for line in path.read_text().splitlines()]
        assert all(len(r["negative_scores"]) == len(r["negative_ids"]) for r in recs)
        assert all(r["positive_id"] not in r["negative_ids"] for r in recs)


def test_stored_run_round_trips_byte_identically(tmp_path, mined):
    task, cands, hn = mined
    save_mining_run(tmp_path / "a.npz", task, cands, {"model": "m"})
    save_mining_run(tmp_path / "b.npz", task, cands, {"model": "m"})
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    task2, cands2, meta = load_mining_run(tmp_path / "a.npz")
    assert meta == {"model": "m"} and task2.positives == task.positives and task2.doc_ids == task.doc_ids
    again = select_negatives(cands2, NegativeSelection(num_negatives=2))
    np.testing.assert_array_equal(again.indices, hn.indices)
    (tmp_path / "bad.npz").write_bytes(b"nope")
    with pytest.raises(ValueError, match="not a stored mining run"):
        load_mining_run(tmp_path / "bad.npz")
