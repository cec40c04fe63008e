from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from graphneg.cli import main, read_batches


def test_batches_on_demo_writes_every_item_once(tmp_path, capsys):
    out = tmp_path / "b.jsonl"
    stats = tmp_path / "s.json"
    rc = main(["batches", "--demo-size", "600", "-o", str(out), "--stats-json", str(stats), "-q"])
    assert rc == 0
    batches = read_batches(out)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(600))
    table = capsys.readouterr().out
    assert "graphneg" in table and "random" in table and "same-label pair share" in table
    s = json.loads(stats.read_text())
    assert s["graphneg"]["same_label_share"] > 2 * s["random"]["same_label_share"]
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    "extra",
    [
        ["--packing", "tas", "--clusters-per-batch", "2"],
        ["--cluster-size", "16", "--packing", "b3", "--skip", "2", "--mutual", "--unweighted"],
        ["--method", "louvain", "--max-size", "64", "--packing", "fill", "--drop-last"],
    ],
)
def test_batches_options(tmp_path, extra):
    out = tmp_path / "b.jsonl"
    assert main(["batches", "--demo-size", "400", "-o", str(out), "-q", "--batch-size", "32", *extra]) == 0
    batches = read_batches(out)
    assert len(batches) > 5


def test_batches_with_user_embeddings_and_ids(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "X.npy", rng.normal(size=(100, 8)).astype(np.float32))
    (tmp_path / "ids.txt").write_text("\n".join(f"doc{i}" for i in range(100)) + "\n")
    np.save(tmp_path / "y.npy", rng.integers(0, 3, size=100))
    out = tmp_path / "b.jsonl"
    rc = main(["batches", "--embeddings", str(tmp_path / "X.npy"), "--ids", str(tmp_path / "ids.txt"),
               "--labels", str(tmp_path / "y.npy"), "-o", str(out), "-q", "--batch-size", "16"])
    assert rc == 0
    rec = json.loads(out.read_text().splitlines()[0])
    assert rec["ids"] == [f"doc{i}" for i in rec["indices"]]
    assert main(["stats", str(out), "--embeddings", str(tmp_path / "X.npy"), "--json"]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["batches", "--embeddings", "missing.npy"], "does not exist"),
        (["batches", "--demo-size", "50", "-k", "60"], "`k` + `skip` must be <="),
        (["batches", "--demo-size", "50", "--batch-size", "0"], "`batch_size` must be >= 1"),
        (["batches", "--demo-size", "50", "--packing", "tas", "--clusters-per-batch", "3"],
         "`clusters_per_batch` (3) must divide"),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, argv, message):
    rc = main([*argv, "-o", str(tmp_path / "x.jsonl"), "-q"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("graphneg: error:") and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.jsonl").exists()


def test_bad_batches_file_names_line(tmp_path, capsys):
    f = tmp_path / "b.jsonl"
    f.write_text('{"batch": 0, "indices": [0, 1]}\nnot json\n')
    assert main(["stats", str(f)]) == 2
    assert "b.jsonl:2" in capsys.readouterr().err


def test_help_everywhere():
    for argv in (["--help"], ["batches", "--help"], ["stats", "--help"]):
        r = subprocess.run([sys.executable, "-m", "graphneg", *argv], capture_output=True, text=True)
        assert r.returncode == 0 and "usage" in r.stdout


def test_citations_on_a_metadata_table_exits_2_with_one_line(tmp_path, capsys):
    meta = tmp_path / "meta.csv"
    meta.write_text("id,title,year\n1,Paper A,2001\n2,Paper B,2002\n")
    out = tmp_path / "t.jsonl"
    assert main(["citations", str(meta), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("graphneg: error: meta.csv:1:") and "not an edge list" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()



def test_citations_negatives_per_pair_and_its_help(tmp_path, capsys):
    edges = tmp_path / "edges.tsv"
    edges.write_text("".join(f"p{i}\tp{(i * 7 + j) % 60}\n" for i in range(60) for j in range(1, 5)))
    outs = {}
    for per in ("paper", "pair"):
        out = tmp_path / f"{per}.jsonl"
        assert main(["citations", str(edges), "-o", str(out), "--negatives-per", per, "--seed", "1", "-q"]) == 0
        outs[per] = [json.loads(x) for x in out.read_text().splitlines()]
    capsys.readouterr()
    assert len(outs["pair"]) == len(outs["paper"]) == 240
    draws = {per: {} for per in outs}
    for per, recs in outs.items():
        for r in recs:
            draws[per].setdefault(r["query_id"], set()).add(tuple(r["negative_ids"]))
    assert all(len(v) == 1 for v in draws["paper"].values())  # one draw per citing paper
    assert any(len(v) > 1 for v in draws["pair"].values())  # one draw per record
    r = subprocess.run([sys.executable, "-m", "graphneg", "citations", "--help"], capture_output=True, text=True)
    text = " ".join(r.stdout.split())
    assert "--negatives-per {paper,pair}" in text and "once per citing paper" in text

# -- `graphneg batches --graph` (issue 23) -------------------------------------------------------
@pytest.fixture
def saved_graph(tmp_path):
    """A 300-item graph from other data than the demo, saved with its communities."""
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(6, 8)) * 4)[np.repeat(np.arange(6), 50)] + rng.normal(size=(300, 8))
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    g = tmp_path / "g.npz"
    assert main(["batches", "--embeddings", str(tmp_path / "X.npy"), "--save-graph", str(g),
                 "-o", str(tmp_path / "b0.jsonl"), "-q"]) == 0
    return g


def test_batches_from_a_graph_without_embeddings_never_use_the_demo(tmp_path, capsys, saved_graph):
    capsys.readouterr()
    stats = tmp_path / "s.json"
    assert main(["batches", "--graph", str(saved_graph), "-o", str(tmp_path / "b.jsonl"),
                 "--stats-json", str(stats)]) == 0
    out = capsys.readouterr()
    assert "no --embeddings: the diagnostics leave out mean cosine" in out.err
    assert "demo" not in out.err and "mean in-batch cosine" not in out.out
    s = json.loads(stats.read_text())["graphneg"]
    assert "mean_cosine" not in s and s["coverage"] == 1.0 and "edge_share" in s
    assert sum(len(b) for b in read_batches(tmp_path / "b.jsonl")) == 300
    # with the embeddings the graph came from: cosine diagnostics of those, not of the demo
    assert main(["batches", "--graph", str(saved_graph), "--embeddings", str(tmp_path / "X.npy"),
                 "-o", str(tmp_path / "b2.jsonl"), "--stats-json", str(stats), "-q"]) == 0
    assert json.loads(stats.read_text())["graphneg"]["mean_cosine"] > 0.5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cluster-size", "4"], "--cluster-size would choose how communities are found, but --graph"),
        (["--method", "louvain"], "--method would choose how communities are found"),
        (["-k", "5"], "-k would choose how the kNN graph is built, but --graph"),
        (["--demo-size", "300"], "--demo-size sizes the built-in demo data"),
    ],
)
def test_batches_graph_refuses_options_it_would_ignore(tmp_path, capsys, saved_graph, extra, message):
    capsys.readouterr()
    assert main(["batches", "--graph", str(saved_graph), *extra, "-o", str(tmp_path / "x.jsonl"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("graphneg: error:") and message in err and err.count("\n") == 1
    assert not (tmp_path / "x.jsonl").exists()


def test_batches_graph_without_communities_honours_cluster_size(tmp_path, saved_graph):
    import graphneg as gn

    bare = tmp_path / "bare.npz"
    gn.save_graph(bare, gn.load_graph(saved_graph).graph)
    assert main(["batches", "--graph", str(bare), "--cluster-size", "5", "--batch-size", "10",
                 "--packing", "b3", "-o", str(tmp_path / "b.jsonl"), "-q"]) == 0
    assert all(len(b) == 10 for b in read_batches(tmp_path / "b.jsonl"))


def test_stats_out_of_range_id_names_the_id_and_file_line(tmp_path, capsys):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))
    f = tmp_path / "b.jsonl"
    f.write_text('{"batch": 0, "indices": [0, 1]}\n\n{"batch": 1, "indices": [2, 7, 9]}\n')
    assert main(["stats", str(f), "--embeddings", str(tmp_path / "X.npy")]) == 2
    err = capsys.readouterr().err
    assert "b.jsonl:3: item id 7 is out of range: there are 5 --embeddings rows" in err
    assert err.count("\n") == 1
