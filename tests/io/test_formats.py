from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg import BackendUnavailableError, GraphNegWarning, HardNegatives, NegativeSelection, mine_hard_negatives
from graphneg.io import (
    read_flagembedding,
    read_sentence_transformers_jsonl,
    read_tevatron,
    to_sentence_transformers,
    write_flagembedding,
    write_sentence_transformers_jsonl,
    write_tevatron,
)

DOCS = [
    "cats purr",
    "kittens purr too",
    "dogs bark",
    "naïve café ☕",
    "line one\nline two",
    "fish swim",
    "birds sing",
    "cows moo",
]
QUERIES = ["what purrs?", "what swims?", "what moos?"]
# q0: two positives and three negatives; q1: one negative (-1 padded); q2: full row
POSITIVES = [[0, 1], [5], [7]]
INDICES = np.array([[2, 3, 4], [6, -1, -1], [0, 1, 2]], dtype=np.int64)
SCORES = np.array([[0.5, 0.4, 0.3], [0.2, np.nan, np.nan], [0.25, 0.15, 0.05]], dtype=np.float32)
POS_SCORES = np.array([0.8, 0.7, 0.9], dtype=np.float32)


@pytest.fixture
def hn() -> HardNegatives:
    return HardNegatives(INDICES.copy(), SCORES.copy(), POS_SCORES.copy(), num_short=1)


def f32(x: float) -> float:
    """The float64 value a float32 score turns into."""
    return float(np.float32(x))


# --------------------------------------------------------------------------------------------
# sentence-transformers
# --------------------------------------------------------------------------------------------


def test_st_dict_columns_rows_and_dropped_count(hn):
    with pytest.warns(GraphNegWarning, match=r"Dropped 1 \(query, positive\) row\(s\) of 1 query"):
        out = to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, as_dataset=False)
    assert isinstance(out, dict)
    assert list(out) == ["anchor", "positive", "negative_1", "negative_2", "negative_3"]
    # one row per (query, positive): q0 twice (multi-positive), q1 dropped, q2 once
    assert out["anchor"] == ["what purrs?", "what purrs?", "what moos?"]
    assert out["positive"] == ["cats purr", "kittens purr too", "cows moo"]
    assert out["negative_1"] == ["dogs bark", "dogs bark", "cats purr"]
    assert out["negative_2"] == ["naïve café ☕", "naïve café ☕", "kittens purr too"]
    assert out["negative_3"] == ["line one\nline two", "line one\nline two", "dogs bark"]


def test_st_dropped_count_counts_rows_not_queries():
    idx = np.array([[2, -1], [3, -1], [4, 6]])
    with pytest.warns(GraphNegWarning, match=r"Dropped 3 .* of 2 queries with fewer than 2"):
        out = to_sentence_transformers(QUERIES, DOCS, [[0, 1], [5], [7]], idx, as_dataset=False)
    assert out["anchor"] == ["what moos?"]


def test_st_num_negatives_keeps_short_queries(hn):
    out = to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, num_negatives=1, as_dataset=False)
    assert list(out) == ["anchor", "positive", "negative_1"]
    assert out["anchor"] == ["what purrs?", "what purrs?", "what swims?", "what moos?"]
    assert out["negative_1"] == ["dogs bark", "dogs bark", "birds sing", "cats purr"]


def test_st_padding_anywhere_is_skipped():
    idx = np.array([[-1, 3, 4], [6, -1, 2], [-1, -1, -1]])
    with pytest.warns(GraphNegWarning, match="Dropped 1"):
        out = to_sentence_transformers(
            QUERIES, DOCS, POSITIVES, idx, num_negatives=2, as_dataset=False
        )
    assert out["negative_1"] == ["naïve café ☕", "naïve café ☕", "birds sing"]
    assert out["negative_2"] == ["line one\nline two", "line one\nline two", "dogs bark"]


def test_st_scores_column_uses_reference_positive_score(hn):
    out = to_sentence_transformers(
        QUERIES, DOCS, POSITIVES, hn, num_negatives=1, scores=True, as_dataset=False
    )
    assert list(out)[-1] == "scores"
    # both rows of q0 carry q0's reference (lowest) positive score, not a per-positive one
    assert out["scores"] == [
        [f32(0.8), f32(0.5)],
        [f32(0.8), f32(0.5)],
        [f32(0.7), f32(0.2)],
        [f32(0.9), f32(0.25)],
    ]
    with pytest.warns(GraphNegWarning):
        full = to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, scores=True, as_dataset=False)
    assert full["scores"][2] == [f32(0.9), f32(0.25), f32(0.15), f32(0.05)]


def test_st_scores_need_hard_negatives():
    with pytest.raises(ValueError, match="scores=True"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES, INDICES, scores=True, as_dataset=False)


def test_st_dataset_output(hn):
    datasets = pytest.importorskip("datasets")
    with pytest.warns(GraphNegWarning):
        ds = to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, scores=True)  # "auto"
    assert isinstance(ds, datasets.Dataset)
    assert ds.column_names == [
        "anchor",
        "positive",
        "negative_1",
        "negative_2",
        "negative_3",
        "scores",
    ]
    assert ds.num_rows == 3
    assert ds[2]["positive"] == "cows moo"
    assert ds[0]["scores"] == pytest.approx([0.8, 0.5, 0.4, 0.3])
    ds2 = to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, num_negatives=1, as_dataset=True)
    assert isinstance(ds2, datasets.Dataset) and ds2.num_rows == 4


def test_st_empty_dataset_keeps_string_features():
    datasets = pytest.importorskip("datasets")
    idx = np.full((3, 2), -1)
    with pytest.warns(GraphNegWarning, match="Dropped 4"):
        ds = to_sentence_transformers(QUERIES, DOCS, POSITIVES, idx, as_dataset=True)
    assert ds.num_rows == 0
    assert ds.features["anchor"] == datasets.Value("string")


def test_st_dict_when_datasets_missing(hn, monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    out = to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, num_negatives=1)  # "auto"
    assert isinstance(out, dict)
    with pytest.raises(BackendUnavailableError, match=r"graphneg\[st\]"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, num_negatives=1, as_dataset=True)


@pytest.mark.parametrize("as_dataset", ["yes", None, 1])
def test_st_rejects_bad_as_dataset(hn, as_dataset):
    with pytest.raises(ValueError, match="`as_dataset` must be"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, as_dataset=as_dataset)


@pytest.mark.parametrize("num_negatives", [0, 4])
def test_st_rejects_bad_num_negatives(hn, num_negatives):
    with pytest.raises(ValueError, match="`num_negatives`"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES, hn, num_negatives=num_negatives)


def test_st_jsonl_round_trip(tmp_path, hn):
    path = tmp_path / "st.jsonl"
    with pytest.warns(GraphNegWarning, match="Dropped 1"):
        n = write_sentence_transformers_jsonl(path, QUERIES, DOCS, POSITIVES, hn, scores=True)
    with pytest.warns(GraphNegWarning):
        expected = to_sentence_transformers(
            QUERIES, DOCS, POSITIVES, hn, scores=True, as_dataset=False
        )
    assert n == 3
    raw = path.read_text(encoding="utf-8")
    lines = raw.splitlines()
    assert len(lines) == 3 and raw.endswith("\n")
    assert "naïve café ☕" in raw  # ensure_ascii=False
    assert list(json.loads(lines[0])) == [
        "anchor",
        "positive",
        "negative_1",
        "negative_2",
        "negative_3",
        "scores",
    ]
    back = read_sentence_transformers_jsonl(path)
    assert back == expected
    assert list(back) == list(expected)


def test_st_jsonl_reads_as_dataset(tmp_path, hn):
    datasets = pytest.importorskip("datasets")
    path = tmp_path / "st.jsonl"
    write_sentence_transformers_jsonl(path, QUERIES, DOCS, POSITIVES, hn, num_negatives=1)
    ds = read_sentence_transformers_jsonl(path, as_dataset=True)
    assert isinstance(ds, datasets.Dataset)
    assert ds.column_names == ["anchor", "positive", "negative_1"]
    assert ds["negative_1"] == ["dogs bark", "dogs bark", "birds sing", "cats purr"]


def test_st_jsonl_reads_triplets_and_empty_file(tmp_path):
    path = tmp_path / "triplets.jsonl"
    path.write_text('{"negative": "n", "anchor": "a", "positive": "p"}\n\n', encoding="utf-8")
    assert read_sentence_transformers_jsonl(path) == {
        "anchor": ["a"],
        "positive": ["p"],
        "negative": ["n"],
    }
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    assert read_sentence_transformers_jsonl(empty) == {}


def test_with_mined_negatives_end_to_end(tmp_path):
    rng = np.random.default_rng(0)
    corpus = rng.normal(size=(60, 8)).astype(np.float32)
    queries = corpus[:6] + 0.05 * rng.normal(size=(6, 8)).astype(np.float32)
    hn = mine_hard_negatives(queries, corpus, np.arange(6), NegativeSelection(num_negatives=3))
    docs = [f"doc {i}" for i in range(60)]
    qtexts = [f"query {i}" for i in range(6)]
    out = to_sentence_transformers(qtexts, docs, np.arange(6), hn, scores=True, as_dataset=False)
    assert out["positive"] == [f"doc {i}" for i in range(6)]
    for k in range(3):
        assert out[f"negative_{k + 1}"] == [f"doc {j}" for j in hn.indices[:, k]]
    assert out["scores"] == [
        [float(hn.positive_scores[q]), *map(float, hn.scores[q])] for q in range(6)
    ]
    path = tmp_path / "flag.jsonl"
    write_flagembedding(path, qtexts, docs, np.arange(6), hn)
    assert [r["neg"] for r in read_flagembedding(path)] == [
        [f"doc {j}" for j in row] for row in hn.indices
    ]


# --------------------------------------------------------------------------------------------
# FlagEmbedding
# --------------------------------------------------------------------------------------------


def test_flagembedding_round_trip_with_scores(tmp_path, hn):
    path = tmp_path / "flag.jsonl"
    assert write_flagembedding(path, QUERIES, DOCS, POSITIVES, hn) == 3
    recs = read_flagembedding(path)
    assert [list(r) for r in recs] == [["query", "pos", "neg", "pos_scores", "neg_scores"]] * 3
    assert recs[0] == {
        "query": "what purrs?",
        "pos": ["cats purr", "kittens purr too"],
        "neg": ["dogs bark", "naïve café ☕", "line one\nline two"],
        "pos_scores": [f32(0.8), f32(0.8)],  # reference score, once per positive
        "neg_scores": [f32(0.5), f32(0.4), f32(0.3)],
    }
    # -1 padding: only the valid negative (and its score) is written
    assert recs[1]["neg"] == ["birds sing"] and recs[1]["neg_scores"] == [f32(0.2)]
    assert "naïve café ☕" in path.read_text(encoding="utf-8")


def test_flagembedding_without_scores_and_with_prompt(tmp_path):
    path = tmp_path / "flag.jsonl"
    write_flagembedding(path, QUERIES, DOCS, POSITIVES, INDICES, prompt="Represent: ")
    recs = read_flagembedding(path)
    assert list(recs[0]) == ["query", "pos", "neg", "prompt"]
    assert {r["prompt"] for r in recs} == {"Represent: "}
    write_flagembedding(path, QUERIES, DOCS, POSITIVES, INDICES, prompt=["a", "b", "c"])
    assert [r["prompt"] for r in read_flagembedding(path)] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="`prompt`"):
        write_flagembedding(path, QUERIES, DOCS, POSITIVES, INDICES, prompt=["a"])


def test_flagembedding_skips_queries_without_negatives(tmp_path):
    path = tmp_path / "flag.jsonl"
    idx = np.array([[2, 3], [-1, -1], [0, -1]])
    with pytest.warns(GraphNegWarning, match="Skipped 1 of 3 queries without any valid negative"):
        assert write_flagembedding(path, QUERIES, DOCS, POSITIVES, idx) == 2
    assert [r["query"] for r in read_flagembedding(path)] == ["what purrs?", "what moos?"]


# --------------------------------------------------------------------------------------------
# Tevatron
# --------------------------------------------------------------------------------------------

DOC_IDS = [f"d{i}" for i in range(len(DOCS))]


def test_tevatron_round_trip(tmp_path, hn):
    path = tmp_path / "tev.jsonl"
    titles = [f"T{i}" for i in range(len(DOCS))]
    assert (
        write_tevatron(path, [11, 12, 13], QUERIES, DOC_IDS, DOCS, POSITIVES, hn, doc_titles=titles)
        == 3
    )
    recs = read_tevatron(path)
    assert [list(r) for r in recs] == [
        ["query_id", "query", "positive_passages", "negative_passages"]
    ] * 3
    assert recs[0]["query_id"] == "11"
    assert recs[0]["query"] == "what purrs?"
    assert recs[0]["positive_passages"] == [
        {"docid": "d0", "title": "T0", "text": "cats purr"},
        {"docid": "d1", "title": "T1", "text": "kittens purr too"},
    ]
    assert [p["docid"] for p in recs[0]["negative_passages"]] == ["d2", "d3", "d4"]
    assert recs[1]["negative_passages"] == [{"docid": "d6", "title": "T6", "text": "birds sing"}]
    assert list(recs[0]["negative_passages"][0]) == ["docid", "title", "text"]


def test_tevatron_default_titles_are_empty(tmp_path):
    path = tmp_path / "tev.jsonl"
    write_tevatron(path, ["a", "b", "c"], QUERIES, DOC_IDS, DOCS, np.array([0, 5, 7]), INDICES)
    recs = read_tevatron(path)
    assert {p["title"] for r in recs for p in r["positive_passages"] + r["negative_passages"]} == {
        ""
    }


def test_tevatron_rejects_duplicate_ids(tmp_path):
    path = tmp_path / "tev.jsonl"
    with pytest.raises(ValueError, match="`query_ids` must be unique.*'q1'"):
        write_tevatron(path, ["q1", "q2", "q1"], QUERIES, DOC_IDS, DOCS, POSITIVES, INDICES)
    with pytest.raises(ValueError, match="`doc_ids` must be unique"):
        write_tevatron(path, ["1", "2", "3"], QUERIES, ["x"] * len(DOCS), DOCS, POSITIVES, INDICES)
    with pytest.raises(ValueError, match="`query_ids` must have length 3"):
        write_tevatron(path, ["1", "2"], QUERIES, DOC_IDS, DOCS, POSITIVES, INDICES)
    with pytest.raises(ValueError, match="`doc_titles` must have length 8"):
        write_tevatron(
            path, ["1", "2", "3"], QUERIES, DOC_IDS, DOCS, POSITIVES, INDICES, doc_titles=["t"]
        )
    with pytest.raises(TypeError, match="`query_ids` must hold str or int ids"):
        write_tevatron(path, ["1", None, "3"], QUERIES, DOC_IDS, DOCS, POSITIVES, INDICES)
    assert not path.exists()


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "positives",
    [
        [0, 5, 7],
        np.array([0, 5, 7]),
        [[0], np.array([5]), (7,)],
        np.array([[0, -1], [5, -1], [7, -1]]),
        sp.csr_array((np.ones(3), ([0, 1, 2], [0, 5, 7])), shape=(3, 8)),
        [[0, 0], [5], [7, 7]],  # duplicates collapse
    ],
)
def test_positive_forms_agree(positives):
    out = to_sentence_transformers(
        QUERIES, DOCS, positives, INDICES, num_negatives=1, as_dataset=False
    )
    assert out["positive"] == ["cats purr", "fish swim", "cows moo"]


def test_out_of_range_indices_name_the_parameter():
    with pytest.raises(ValueError, match=r"`positives` must hold corpus rows in \[0, 8\), got 8"):
        to_sentence_transformers(QUERIES, DOCS, [[0], [8], [7]], INDICES, as_dataset=False)
    bad = INDICES.copy()
    bad[2, 1] = 99
    with pytest.raises(ValueError, match=r"`negatives` .* got 99 for query 2"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES, bad, as_dataset=False)
    bad[2, 1] = -2
    with pytest.raises(ValueError, match="`negatives`"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES, bad, as_dataset=False)
    # fewer docs than the indices need: the range check catches it too
    with pytest.raises(ValueError, match=r"`negatives` must hold corpus rows in \[0, 5\)"):
        to_sentence_transformers(QUERIES, DOCS[:5], [[0], [1], [2]], INDICES, as_dataset=False)


def test_length_mismatches(tmp_path, hn):
    with pytest.raises(ValueError, match=r"`negatives` must have one row per query \(2\)"):
        to_sentence_transformers(QUERIES[:2], DOCS, POSITIVES[:2], INDICES, as_dataset=False)
    with pytest.raises(ValueError, match=r"`negatives.indices` must have one row per query \(2\)"):
        write_flagembedding(tmp_path / "f.jsonl", QUERIES[:2], DOCS, POSITIVES[:2], hn)
    with pytest.raises(ValueError, match=r"`positives` must have one entry per query \(3\)"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES[:2], INDICES, as_dataset=False)
    with pytest.raises(ValueError, match="`positives` must give every query at least one"):
        to_sentence_transformers(QUERIES, DOCS, [[0], [], [7]], INDICES, as_dataset=False)
    with pytest.raises(TypeError, match=r"`negatives` must hold integer ids, got 2\.5 at position \[0\]\[0\]"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES, INDICES + 0.5, as_dataset=False)
    with pytest.raises(ValueError, match="`negatives` must be 2-D"):
        to_sentence_transformers(QUERIES, DOCS, POSITIVES, INDICES[0], as_dataset=False)
    with pytest.raises(TypeError, match="`query_texts` must be a sequence"):
        to_sentence_transformers("abc", DOCS, POSITIVES, INDICES, as_dataset=False)
    assert not list(tmp_path.iterdir())


def test_nan_score_of_a_valid_negative_is_rejected(tmp_path, hn):
    hn.scores[0, 0] = np.nan
    with pytest.raises(ValueError, match="`negatives.scores` must be finite"):
        write_flagembedding(tmp_path / "f.jsonl", QUERIES, DOCS, POSITIVES, hn)


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


class FailingTexts(Sequence):
    """Document texts that raise once row ``fail_at`` is read (after earlier rows were written)."""

    def __init__(self, texts: list[str], fail_at: int) -> None:
        self.texts, self.fail_at, self.reads = texts, fail_at, 0

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i):  # type: ignore[override]
        if i == self.fail_at:
            raise RuntimeError("disk on fire")
        self.reads += 1
        return self.texts[i]


def _writers(path: Path, docs: Sequence[str]):
    return {
        "st": lambda: write_sentence_transformers_jsonl(
            path, QUERIES, docs, POSITIVES, INDICES, num_negatives=1
        ),
        "flag": lambda: write_flagembedding(path, QUERIES, docs, POSITIVES, INDICES),
        "tevatron": lambda: write_tevatron(
            path, ["1", "2", "3"], QUERIES, DOC_IDS, docs, POSITIVES, INDICES
        ),
    }


@pytest.mark.parametrize("fmt", ["st", "flag", "tevatron"])
def test_writer_failing_mid_way_leaves_no_file(tmp_path, fmt):
    path = tmp_path / "out.jsonl"
    docs = FailingTexts(DOCS, fail_at=7)  # the last query's positive: rows before it are written
    with pytest.raises(RuntimeError, match="disk on fire"):
        _writers(path, docs)[fmt]()
    assert docs.reads > 0  # the failure came mid-way, not during validation
    assert list(tmp_path.iterdir()) == []  # neither the file nor a temporary file


@pytest.mark.parametrize("fmt", ["st", "flag", "tevatron"])
def test_writer_failure_keeps_previous_file(tmp_path, fmt):
    path = tmp_path / "out.jsonl"
    path.write_text("previous\n", encoding="utf-8")
    docs = list(DOCS)
    docs[7] = 42  # type: ignore[call-overload]  # a non-string text, met only when writing q2
    with pytest.raises(TypeError, match="`doc_texts` must hold strings, got int at index 7"):
        _writers(path, docs)[fmt]()
    assert path.read_text(encoding="utf-8") == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


# --------------------------------------------------------------------------------------------
# Malformed files: strict vs skip
# --------------------------------------------------------------------------------------------

FLAG_GOOD = {"query": "q", "pos": ["p"], "neg": ["n"]}
TEV_PSG = {"docid": "d1", "title": "", "text": "t"}
TEV_GOOD = {"query_id": "1", "query": "q", "positive_passages": [TEV_PSG], "negative_passages": []}
ST_GOOD = {"anchor": "a", "positive": "p", "negative_1": "n", "scores": [0.9, 0.1]}

MALFORMED = {
    "flag": (
        read_flagembedding,
        FLAG_GOOD,
        [
            '{"query": "q", "pos": ["p"]',  # truncated JSON
            json.dumps({"query": "q", "pos": ["p"]}),  # missing neg
            json.dumps({**FLAG_GOOD, "neg_scores": [0.1, 0.2]}),  # scores not aligned
        ],
    ),
    "tevatron": (
        read_tevatron,
        TEV_GOOD,
        [
            "[1, 2]",  # not an object
            json.dumps({**TEV_GOOD, "positive_passages": [{"docid": "d1", "text": "t"}]}),
            json.dumps({**TEV_GOOD, "query": 3}),
        ],
    ),
    "st": (
        read_sentence_transformers_jsonl,
        ST_GOOD,
        [
            json.dumps({**ST_GOOD, "scores": [0.9]}),  # wrong length
            json.dumps({"anchor": "a", "positive": "p", "negative_1": "n"}),  # columns differ
            json.dumps({**ST_GOOD, "negative_1": None}),
        ],
    ),
}


def _write_malformed(path: Path, good: dict, bad: list[str]) -> None:
    # lines: good, bad, good, bad, blank, bad, good, then a line of invalid UTF-8
    body = [json.dumps(good), bad[0], json.dumps(good), bad[1], "", bad[2], json.dumps(good)]
    path.write_bytes(("\n".join(body) + "\n").encode("utf-8") + b'{"query": "\xff"}\n')


@pytest.mark.parametrize("fmt", ["flag", "tevatron", "st"])
def test_reader_strict_names_file_and_line(tmp_path, fmt):
    reader, good, bad = MALFORMED[fmt]
    path = tmp_path / "data.jsonl"
    _write_malformed(path, good, bad)
    with pytest.raises(ValueError, match=r"data\.jsonl: line 2: "):
        reader(path)
    with pytest.raises(ValueError, match=r"data\.jsonl: line 2: "):
        reader(path, strict=True)


@pytest.mark.parametrize("fmt", ["flag", "tevatron", "st"])
def test_reader_skip_counts_and_warns(tmp_path, fmt):
    reader, good, bad = MALFORMED[fmt]
    path = tmp_path / "data.jsonl"
    _write_malformed(path, good, bad)
    with pytest.warns(
        GraphNegWarning, match=r"Skipped 4 malformed line\(s\).*lines \[2, 4, 6, 8\]"
    ):
        out = reader(path, strict=False)
    if fmt == "st":
        assert out == {k: [v] * 3 for k, v in good.items()}
    else:
        assert out == [good] * 3


def test_reader_rejects_non_bool_strict(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(FLAG_GOOD) + "\n", encoding="utf-8")
    with pytest.raises(TypeError, match="`strict` must be a bool"):
        read_flagembedding(path, strict="no")


# --------------------------------------------------------------------------------------------
# positives: the parsing of graphneg._sparse.as_pairs_matrix, the caller's order kept
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "positives",
    [
        [[0, 1], [5], [7]],
        [[0, 1, 0], (5,), np.int64(7)],  # a repeat is dropped, a scalar is one row
        np.array([[0, 1], [5, -1], [7, 7]]),  # -1 padded
        sp.csr_array((np.ones(4), ([0, 0, 1, 2], [0, 1, 5, 7])), shape=(3, 8)),
    ],
    ids=["lists", "mixed", "padded", "sparse"],
)
def test_every_positives_form_writes_the_same_bytes(tmp_path, positives):
    write_flagembedding(tmp_path / "ref.jsonl", QUERIES, DOCS, POSITIVES, INDICES)
    write_flagembedding(tmp_path / "out.jsonl", QUERIES, DOCS, positives, INDICES)
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


def test_positives_keep_the_callers_order(tmp_path):
    # a sparse pattern would sort the columns: the lists are written in the order given
    write_flagembedding(tmp_path / "o.jsonl", QUERIES, DOCS, [[1, 0, 1], [5], [7]], INDICES)
    assert read_flagembedding(tmp_path / "o.jsonl")[0]["pos"] == [DOCS[1], DOCS[0]]
    with pytest.raises(ValueError, match=r"`positives` must be 1-D or 2-D, got shape \(3, 1, 1\)"):
        write_flagembedding(tmp_path / "x.jsonl", QUERIES, DOCS, np.zeros((3, 1, 1), int), INDICES)
    with pytest.raises(TypeError, match=r"`positives\[1\]` must hold integer ids, got 5\.5"):
        write_flagembedding(tmp_path / "x.jsonl", QUERIES, DOCS, [[0], [5.5], [7]], INDICES)
