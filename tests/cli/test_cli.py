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
