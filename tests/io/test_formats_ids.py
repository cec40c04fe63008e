"""The package id rule in the writers and the training data (#11.3)."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

from graphneg import LinkGraph, citation_training_data, uniform_link_negatives
from graphneg.io import read_tevatron, write_tevatron

DOCS = ["cats purr", "dogs bark", "fish swim"]


def test_tevatron_int_ids_are_written_as_str(tmp_path):
    path = tmp_path / "t.jsonl"
    write_tevatron(path, np.array([7]), ["what purrs?"], [0, 1, np.int64(2)], DOCS, [[0]], np.array([[2]]))
    rec = read_tevatron(path)[0]
    assert rec["query_id"] == "7" and rec["negative_passages"][0]["docid"] == "2"


@pytest.mark.parametrize("bad", [None, float("nan"), 1.5, False])
def test_tevatron_rejects_bad_ids_with_position(tmp_path, bad):
    with pytest.raises(TypeError, match=r"`doc_ids` must hold str or int ids; doc_ids\[1\]"):
        write_tevatron(tmp_path / "t.jsonl", ["q"], ["?"], ["a", bad, "c"], DOCS, [[0]], np.array([[2]]))
    assert not (tmp_path / "t.jsonl").exists()


def test_tevatron_int_and_str_of_one_id_collide(tmp_path):
    with pytest.raises(ValueError, match="`doc_ids` must be unique, got '1'"):
        write_tevatron(tmp_path / "t.jsonl", ["q"], ["?"], [1, "1", 2], DOCS, [[0]], np.array([[2]]))


def test_training_data_texts_keyed_by_int_ids(tmp_path):
    g = LinkGraph.from_edges([1, 2, 4], [2, 3, 5])
    texts = {1: "one", "2": "two", np.int64(3): "three", "4": "four", 5: "five"}
    out = tmp_path / "o.jsonl"
    one = functools.partial(uniform_link_negatives, num_negatives=1)
    summary = citation_training_data(g, out, texts=texts, output_format="flag", negatives=one)
    assert summary["skipped_no_text"] == 0 and summary["records"] == 3
    assert {json.loads(line)["query"] for line in out.read_text().splitlines()} == {"one", "two", "four"}
    with pytest.raises(ValueError, match="`texts` must be unique"):
        citation_training_data(g, out, texts={1: "a", "1": "b"}, output_format="flag")
