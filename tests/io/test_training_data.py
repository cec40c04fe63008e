from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import graphneg as gn
from graphneg.io import citation_training_data

ROOT = Path(__file__).resolve().parents[2]


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
    summary = citation_training_data(g, out, texts=texts, output_format=fmt, num_negatives=2, chunk_size=17)
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
    (parts / "part-000000.jsonl").write_text('{"bogus": true}\n')
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
    while time.time() < deadline and len(list(parts.glob("part-*.jsonl"))) < 5:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # no cleanup, as a crash or a lost machine
    proc.wait()
    done_before = len(list(parts.glob("part-*.jsonl")))
    assert not out.exists() and 5 <= done_before
    proc = _run([corpus_dir, "-o", out, *common])
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()
    summary = json.loads(stdout)
    assert summary["resumed_chunks"] >= 5 and summary["resumed_chunks"] < summary["chunks"]
    assert out.read_bytes() == full.read_bytes()


def test_positive_never_among_negatives_even_without_hop_exclusion(tmp_path):
    g = gn.LinkGraph.from_index_edges([[0, 1], [0, 2], [0, 3], [0, 4], [5, 0]], 6)
    citation_training_data(g, tmp_path / "o.jsonl", exclude_hops=0, num_negatives=3)
    for line in (tmp_path / "o.jsonl").read_text().splitlines():
        rec = json.loads(line)
        cited = {str(v) for v in g.successors(int(rec["query_id"]))}
        assert not cited & set(rec["negative_ids"])


def test_negatives_are_a_strategy_function_or_a_partial_of_one(tmp_path):
    import functools

    import graphneg as gn

    g = gn.LinkGraph.from_index_edges([[i, (i + 1) % 40] for i in range(40)] + [[i, (i + 7) % 40] for i in range(40)])
    khop3 = functools.partial(gn.khop_link_negatives, hops=3)
    summary = citation_training_data(g, tmp_path / "k.jsonl", negatives=khop3, num_negatives=2)
    assert summary["records"] == 80
    with pytest.raises(ValueError, match="`power` is not an option of khop_link_negatives"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives=functools.partial(gn.khop_link_negatives, power=1))
    with pytest.raises(ValueError, match="`seed` is not an option"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives=functools.partial(gn.uniform_link_negatives, seed=1))
    with pytest.raises(ValueError, match="bica_link_negatives needs `embeddings`"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives=gn.bica_link_negatives)
    with pytest.raises(ValueError, match="must be one of graphneg's link-negative functions"):
        citation_training_data(g, tmp_path / "x.jsonl", negatives="uniform")
    assert not (tmp_path / "x.jsonl.parts").exists()
