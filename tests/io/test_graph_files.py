"""Graph files (``graphneg.save_graph`` / ``load_graph`` / ``cached_graph``) and ``graphneg batches``
starting from one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg as gn
from graphneg.cli import main, read_batches


def _non_canonical() -> sp.csr_array:
    # unsorted indices, a duplicate and an explicit zero: saved canonical, the caller's arrays untouched
    return sp.csr_array((np.array([0.5, 0.2, 0.3, 0.0]), np.array([2, 1, 1, 0]), np.array([0, 3, 4, 4])), shape=(3, 3))


def test_round_trip_is_canonical_and_leaves_the_input_alone(tmp_path):
    G = _non_canonical()
    before = (G.data.copy(), G.indices.copy(), G.indptr.copy())
    p = gn.save_graph(tmp_path / "g.npz", G, labels=[0, 0, 1], ids=["a", "b", "c"], params={"k": 2}, input_hash="h")
    for a, b in zip((G.data, G.indices, G.indptr), before, strict=True):
        np.testing.assert_array_equal(a, b)
    back = gn.load_graph(p)
    assert back.graph.has_canonical_format
    np.testing.assert_allclose(back.graph.toarray(), G.toarray())
    assert back.labels.tolist() == [0, 0, 1] and back.ids == ["a", "b", "c"]
    assert back.params == {"k": 2} and back.input_hash == "h"
    meta = json.loads((tmp_path / "g.json").read_text())
    assert meta["num_nodes"] == 3 and meta["has_labels"] and meta["format"] == "graphneg-graph"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["g.json", "g.npz"]  # no temp files left


@pytest.mark.parametrize(
    "content, match",
    [(b"not a zip", "not a zip archive"), (None, "does not exist")],
)
def test_bad_graph_files_name_the_file(tmp_path, content, match):
    p = tmp_path / "bad.npz"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        gn.load_graph(p)


def test_an_npz_without_csr_arrays_is_not_a_graph_file(tmp_path):
    p = tmp_path / "other.npz"
    np.savez(p, x=np.zeros(3))
    with pytest.raises(ValueError, match="not a graphneg graph file"):
        gn.load_graph(p)


def test_save_rejects_bad_labels_and_names(tmp_path):
    with pytest.raises(ValueError, match="labels"):
        gn.save_graph(tmp_path / "g.npz", sp.eye_array(3, format="csr"), labels=[0, 1])
    with pytest.raises(ValueError, match=r"\.npz"):
        gn.save_graph(tmp_path / "g.graph", sp.eye_array(3, format="csr"))


def test_cache_hits_on_same_input_and_params_only(tmp_path):
    calls = []

    def build():
        calls.append(1)
        return sp.eye_array(2, format="csr"), np.array([0, 1])

    assert not gn.cached_graph(tmp_path, "in1", {"k": 1}, build)[1]
    assert gn.cached_graph(tmp_path, "in1", {"k": 1}, build)[1]
    assert not gn.cached_graph(tmp_path, "in1", {"k": 2}, build)[1]
    assert not gn.cached_graph(tmp_path, "in2", {"k": 1}, build)[1]
    assert len(calls) == 3


def test_batches_from_a_saved_graph_equal_a_fresh_run(tmp_path):
    g, b1, b2 = tmp_path / "g.npz", tmp_path / "b1.jsonl", tmp_path / "b2.jsonl"
    assert main(["batches", "--demo-size", "400", "--save-graph", str(g), "-o", str(b1), "-q"]) == 0
    saved = gn.load_graph(g)
    assert saved.graph.shape == (400, 400) and saved.labels is not None and saved.params["k"] == 10
    assert main(["batches", "--graph", str(g), "-o", str(b2), "-q"]) == 0
    assert b1.read_bytes() == b2.read_bytes()


def test_batches_cache_dir_reuses_the_graph(tmp_path, capsys):
    args = ["batches", "--demo-size", "400", "--cache-dir", str(tmp_path / "c")]
    assert main([*args, "-o", str(tmp_path / "a.jsonl")]) == 0
    assert "graph cache miss" in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "b.jsonl")]) == 0
    assert "graph cache hit" in capsys.readouterr().err
    assert [x.tolist() for x in read_batches(tmp_path / "a.jsonl")] == [
        x.tolist() for x in read_batches(tmp_path / "b.jsonl")
    ]


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--graph", "{g}", "--demo-size", "300"], "--demo-size sizes the built-in demo data, which --graph"),
        (["--save-graph", "{tmp}/g.txt"], "must end in .npz"),
        (["--graph", "{tmp}/missing.npz"], "does not exist"),
        (["--graph", "{g}", "--cache-dir", "{tmp}/c"], "not allowed with"),
    ],
)
def test_batches_graph_file_errors_are_one_line(tmp_path, capsys, extra, match):
    g = tmp_path / "g.npz"
    assert main(["batches", "--demo-size", "400", "--save-graph", str(g), "-o", str(tmp_path / "b.jsonl"), "-q"]) == 0
    capsys.readouterr()
    argv = [x.format(g=g, tmp=tmp_path) for x in extra]
    try:  # usage errors exit through argparse, input errors return the code
        rc = main(["batches", *argv, "-o", str(tmp_path / "out.jsonl"), "-q"])
    except SystemExit as exc:
        rc = exc.code
    assert rc == 2
    err = capsys.readouterr().err
    assert match in err and "Traceback" not in err
    assert not (tmp_path / "out.jsonl").exists()
