from __future__ import annotations

import functools
import inspect
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import graphneg as gn
from graphneg.training_data import _citations as td
from graphneg.training_data import citation_training_data

ROOT = Path(__file__).resolve().parents[2]


def uniform(**counts):
    """The default strategy with ``num_negatives`` / ``exclude_hops`` bound."""
    return functools.partial(gn.uniform_link_negatives, **counts)


@pytest.fixture
def small_graph():
    rng = np.random.default_rng(0)
    n = 120
    edges = np.unique(rng.integers(0, n, (500, 2)), axis=0)
    edges = edges[edges[:, 0] != edges[:, 1]]
    g = gn.LinkGraph.from_index_edges(edges, n, ids=[f"p{i}" for i in range(n)])
    texts = {f"p{i}": f"paper {i} text" for i in range(n)}
    return g, texts


@pytest.mark.parametrize("fmt", ["triplets", "st", "flag", "tevatron"])
def test_formats_and_counts(tmp_path, small_graph, fmt):
    g, texts = small_graph
    out = tmp_path / f"{fmt}.jsonl"
    summary = citation_training_data(g, out, texts=texts, output_format=fmt, negatives=uniform(num_negatives=2),
                                     chunk_size=17)
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert summary["records"] == len(lines) > 0
    assert summary["chunks"] == -(-summary["sources"] // 17)
    assert not (tmp_path / f"{fmt}.jsonl.parts").exists()
    if fmt == "triplets":
        assert len(lines) == g.num_edges  # one line per citation
        for rec in lines:
            s, p = g.index([rec["query_id"], rec["positive_id"]])
            assert g.has_edges([s], [p])[0]
            negs = g.index(rec["negative_ids"])
            assert not g.has_edges(np.full(negs.size, s), negs).any()
            assert not g.has_edges(negs, np.full(negs.size, s)).any()
            assert rec["query"] == texts[rec["query_id"]]
    elif fmt == "flag":
        assert set(lines[0]) >= {"query", "pos", "neg"}
    elif fmt == "tevatron":
        assert set(lines[0]) >= {"query_id", "query", "positive_passages", "negative_passages"}
    else:
        assert set(lines[0]) >= {"anchor", "positive", "negative_1", "negative_2"}


def test_same_seed_same_output_and_settings_change_restarts(tmp_path, small_graph):
    g, texts = small_graph
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    citation_training_data(g, a, chunk_size=10, seed=3)
    citation_training_data(g, b, chunk_size=10, seed=3)
    assert a.read_bytes() == b.read_bytes()
    # leftover parts from a run with other settings are never mixed in
    parts = tmp_path / "c.jsonl.parts"
    parts.mkdir()
    (parts / "state.json").write_text(json.dumps({"fingerprint": "other"}))
    (parts / "output.jsonl").write_text('{"bogus": true}\n')
    (parts / "part-000000.1.0.16.done").touch()
    summary = citation_training_data(g, tmp_path / "c.jsonl", chunk_size=10, seed=3)
    assert summary["resumed_chunks"] == 0
    assert (tmp_path / "c.jsonl").read_bytes() == a.read_bytes()


def test_needs_texts_for_trainer_formats(tmp_path, small_graph):
    g, _ = small_graph
    with pytest.raises(ValueError, match="needs `texts`"):
        citation_training_data(g, tmp_path / "x.jsonl", output_format="st")
    with pytest.raises(ValueError, match="`output_format` must be one of"):
        citation_training_data(g, tmp_path / "x.jsonl", output_format="csv")


def _run(args, env=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "graphneg", "citations", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


@pytest.mark.slow
def test_killed_run_resumes_to_identical_output(tmp_path, citeseer_text):
    from graphneg import save_graph_corpus

    corpus_dir = tmp_path / "citeseer"
    save_graph_corpus(citeseer_text, corpus_dir)
    common = ["--strategy", "ppr", "--output-format", "st", "--chunk-size", "40", "--num-negatives", "2", "-q"]
    full = tmp_path / "full.jsonl"
    proc = _run([corpus_dir, "-o", full, *common])
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode()

    out = tmp_path / "resumed.jsonl"
    parts = tmp_path / "resumed.jsonl.parts"
    proc = _run([corpus_dir, "-o", out, *common])
    deadline = time.time() + 120
    while time.time() < deadline and len(list(parts.glob("part-*.done"))) < 5:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # no cleanup, as a crash or a lost machine
    proc.wait()
    done_before = len(list(parts.glob("part-*.done")))
    assert not out.exists() and 5 <= done_before
    proc = _run([corpus_dir, "-o", out, *common])
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()
    summary = json.loads(stdout)
    assert summary["resumed_chunks"] >= 5 and summary["resumed_chunks"] < summary["chunks"]
    assert out.read_bytes() == full.read_bytes()


def test_positive_never_among_negatives_even_without_hop_exclusion(tmp_path):
    g = gn.LinkGraph.from_index_edges([[0, 1], [0, 2], [0, 3], [0, 4], [5, 0]], 6)
    citation_training_data(g, tmp_path / "o.jsonl", negatives=uniform(exclude_hops=0, num_negatives=3))
    for line in (tmp_path / "o.jsonl").read_text().splitlines():
        rec = json.loads(line)
        cited = {str(v) for v in g.successors(int(rec["query_id"]))}
        assert not cited & set(rec["negative_ids"])


def test_negatives_are_a_strategy_function_or_a_partial_of_one(tmp_path):
    g = gn.LinkGraph.from_index_edges([[i, (i + 1) % 40] for i in range(40)] + [[i, (i + 7) % 40] for i in range(40)])
    khop3 = functools.partial(gn.khop_link_negatives, hops=3, num_negatives=2)
    summary = citation_training_data(g, tmp_path / "k.jsonl", negatives=khop3)
    assert summary["records"] == 80
    assert all(len(json.loads(x)["negative_ids"]) == 2 for x in (tmp_path / "k.jsonl").read_text().splitlines())
    # unbound, the counts are the strategy's own defaults
    citation_training_data(g, tmp_path / "d.jsonl", negatives=gn.uniform_link_negatives)
    default = inspect.signature(gn.uniform_link_negatives).parameters["num_negatives"].default
    assert {len(json.loads(x)["negative_ids"]) for x in (tmp_path / "d.jsonl").read_text().splitlines()} == {default}
    with pytest.raises(ValueError, match="`num_negatives` must be >= 1"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives=uniform(num_negatives=0))
    with pytest.raises(ValueError, match="`power` is not an option of khop_link_negatives"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives=functools.partial(gn.khop_link_negatives, power=1))
    with pytest.raises(ValueError, match="`seed` is not an option"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives=functools.partial(gn.uniform_link_negatives, seed=1))
    with pytest.raises(ValueError, match="bica_link_negatives needs `embeddings`"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives=gn.bica_link_negatives)
    with pytest.raises(ValueError, match="must be one of graphneg's link-negative functions"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives="uniform")
    assert not (tmp_path / "x.jsonl.parts").exists()


# -- the column-wise path writes what the record-by-record one wrote ---------------------------
def _mixed_fixture():
    """Ids that need JSON escaping, texts with tabs, quotes, newlines and non-ASCII."""
    rng = np.random.default_rng(7)
    n = 150
    src = rng.integers(0, n, 900)
    dst = (src + rng.zipf(1.6, 900)) % n
    ids = [f"p{i}" if i % 3 else f'q"{i}\\é' for i in range(n)]
    with warnings.catch_warnings():  # duplicates and a self-loop, dropped
        warnings.simplefilter("ignore", gn.GraphNegWarning)
        g = gn.LinkGraph.from_edges([ids[i] for i in src], [ids[j] for j in dst])
    texts = {i: f"paper {i}\ttext \"quoted\" ü\n{len(i)}" for i in g.ids}
    return g, texts


# sha256 prefix, records, short records of each output as written by the implementation before
# the column-wise path (commit e53a77e: one strategy call and one json.dumps per record)
_BEFORE = {
    "uniform": ("e2abc8f387861a00", dict(chunk_size=7, seed=3), 0),
    "uniform_k6": ("5fd3e75adac83a4c", dict(chunk_size=40, seed=1, num_negatives=6), 0),
    "uniform_h0": ("233f4202ac404de7", dict(chunk_size=9, seed=2, exclude_hops=0), 0),
    "degree": ("f11fe062af2e0f98", dict(chunk_size=11, seed=0, negatives="degree"), 0),
    "degree_p1": ("bba077a23525a42b", dict(chunk_size=11, seed=0, negatives="degree_p1"), 0),
    "khop": ("f11a5f6a024dc963", dict(chunk_size=13, seed=5, negatives="khop"), 0),
    "uniform_h2": ("c258d12c786af316", dict(chunk_size=13, seed=5, exclude_hops=2), 0),
    "texts": ("9eb1d48d83692bbb", dict(chunk_size=10, seed=4, texts=True), 0),
    "st": ("5b7a67f016381cc1", dict(chunk_size=10, seed=4, texts=True, output_format="st"), 0),
    "short": ("d01e6492163f5ec4", dict(chunk_size=10, seed=4, num_negatives=140), 128),
}


@pytest.mark.parametrize("case", sorted(_BEFORE))
def test_same_output_for_a_seed_as_before(tmp_path, case):
    import hashlib

    g, texts = _mixed_fixture()
    digest, kw, short = _BEFORE[case]
    kw = dict(kw)
    strategies = {"degree": gn.degree_link_negatives, "khop": gn.khop_link_negatives,
                  "degree_p1": functools.partial(gn.degree_link_negatives, power=1.0)}
    # the counts, once arguments of their own (default 3 negatives), bound in the strategy
    counts = {"num_negatives": kw.pop("num_negatives", 3), **({"exclude_hops": kw.pop("exclude_hops")}
                                                              if "exclude_hops" in kw else {})}
    kw["negatives"] = functools.partial(strategies.get(kw.pop("negatives", None), gn.uniform_link_negatives), **counts)
    if kw.pop("texts", False):
        kw["texts"] = texts
    out = tmp_path / "o.jsonl"
    summary = citation_training_data(g, out, **kw)
    assert hashlib.sha256(out.read_bytes()).hexdigest()[:16] == digest
    assert (summary["records"], summary["short_records"]) == (573, short)


def test_record_by_record_writer_is_the_same_bytes(tmp_path, monkeypatch):
    g, texts = _mixed_fixture()
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    citation_training_data(g, a, texts=texts, chunk_size=9, negatives=uniform(num_negatives=140), seed=1)
    monkeypatch.setattr(td, "encoded_columns", lambda graph, texts: None)  # as without pyarrow
    citation_training_data(g, b, texts=texts, chunk_size=9, negatives=uniform(num_negatives=140), seed=1)
    assert a.read_bytes() == b.read_bytes()


def test_interrupted_run_of_grouped_parts_resumes_to_the_same_output(tmp_path, monkeypatch):
    g, _ = _mixed_fixture()
    ref = tmp_path / "ref.jsonl"
    kw = dict(chunk_size=3, seed=2, negatives_per="pair")
    full = citation_training_data(g, ref, **kw)
    monkeypatch.setattr(td, "_GROUP_RECORDS", 40)  # parts of a few chunks each
    real, calls = td._run_part, []

    def dies_on_the_fourth(job, chunks):
        calls.append(chunks)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(job, chunks)

    monkeypatch.setattr(td, "_run_part", dies_on_the_fourth)
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        citation_training_data(g, out, **kw)
    parts = sorted(p.name for p in (tmp_path / "out.jsonl.parts").iterdir())
    assert not out.exists() and sum(p.startswith("part-") for p in parts) == 3
    assert not any(p.startswith(".") for p in parts)  # the interrupted part left no temp file
    monkeypatch.setattr(td, "_run_part", real)
    summary = citation_training_data(g, out, **kw)
    assert out.read_bytes() == ref.read_bytes()
    assert 0 < summary["resumed_chunks"] < summary["chunks"] == full["chunks"]
    assert (summary["records"], summary["short_records"]) == (full["records"], full["short_records"])
    assert not (tmp_path / "out.jsonl.parts").exists()


def test_resume_cuts_what_follows_the_finished_parts(tmp_path, monkeypatch):
    """A run killed while appending a part leaves some of its bytes after the finished parts;
    a marker past a gap in the finished parts (not written by this module) is not trusted."""
    g, _ = _mixed_fixture()
    ref = tmp_path / "ref.jsonl"
    kw = dict(chunk_size=3, seed=2)
    citation_training_data(g, ref, **kw)
    monkeypatch.setattr(td, "_GROUP_RECORDS", 40)
    real, calls = td._append_part, []

    def dies_in_the_fourth(job, p, part, fh):
        calls.append(p)
        if len(calls) == 4:  # half of the part reaches the file
            fh.write(bytes(part[0])[: len(part[0]) // 2])
            fh.flush()
            raise KeyboardInterrupt
        real(job, p, part, fh)

    monkeypatch.setattr(td, "_append_part", dies_in_the_fourth)
    out = tmp_path / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        citation_training_data(g, out, **kw)
    parts = tmp_path / "out.jsonl.parts"
    (parts / "part-000009.1.0.5.done").touch()  # past a gap: dropped, part 9 is written again
    monkeypatch.setattr(td, "_append_part", real)
    summary = citation_training_data(g, out, **kw)
    assert out.read_bytes() == ref.read_bytes() and summary["resumed_chunks"] > 0
    assert not parts.exists()


@pytest.mark.parametrize("negatives", ["uniform", "khop"])
def test_negatives_per_pair(tmp_path, negatives):
    g, texts = _mixed_fixture()
    fn = {"uniform": gn.uniform_link_negatives, "khop": gn.khop_link_negatives}[negatives]
    fn = functools.partial(fn, num_negatives=4)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    per_paper = tmp_path / "paper.jsonl"
    sa = citation_training_data(g, a, negatives=fn, negatives_per="pair", seed=1, chunk_size=8)
    citation_training_data(g, b, negatives=fn, negatives_per="pair", seed=1, chunk_size=8)
    citation_training_data(g, per_paper, negatives=fn, seed=1, chunk_size=8)
    assert a.read_bytes() == b.read_bytes() and sa["records"] == g.num_edges
    recs = [json.loads(x) for x in a.read_text().splitlines()]
    paper_recs = [json.loads(x) for x in per_paper.read_text().splitlines()]
    assert [(r["query_id"], r["positive_id"]) for r in recs] == [(r["query_id"], r["positive_id"]) for r in paper_recs]
    by_query: dict[str, set] = {}
    for r in recs:
        s = int(g.index([r["query_id"]])[0])
        negs = g.index(r["negative_ids"])
        cited = set(g.successors(s).tolist())
        assert not cited & set(negs.tolist()) and s not in negs  # none of the paper's citations
        assert not g.has_edges(negs, np.full(negs.size, s)).any()  # nor a paper citing it
        by_query.setdefault(r["query_id"], set()).add(tuple(r["negative_ids"]))
    # per pair: a paper's records differ; per paper: they repeat one draw
    assert any(len(v) > 1 for v in by_query.values())
    per = {}
    for r in paper_recs:
        per.setdefault(r["query_id"], set()).add(tuple(r["negative_ids"]))
    assert all(len(v) == 1 for v in per.values())
    with pytest.raises(ValueError, match="negatives_per"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives_per="citation")


def test_negatives_per_pair_trainer_format(tmp_path):
    g, texts = _mixed_fixture()
    out = tmp_path / "flag.jsonl"
    summary = citation_training_data(g, out, texts=texts, output_format="flag", negatives_per="pair",
                                     chunk_size=20, negatives=uniform(num_negatives=2))
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert summary["records"] == len(lines) == g.num_edges and all(len(r["pos"]) == 1 for r in lines)
