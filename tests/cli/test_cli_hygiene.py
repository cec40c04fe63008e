"""Command-line hygiene: outputs checked before any work, one-line errors, no litter."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from graphneg.cli import main
from graphneg.cli._common import claim_outputs
from graphneg.io._atomic import stale_temp_files


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "edges.tsv"
    path.write_text("".join(f"p{i}\tp{(i * 7 + 3) % 40}\n" for i in range(40)))
    return path


def error_of(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("graphneg: error:"), err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_citations_refuses_to_overwrite_its_input(corpus, capsys):
    before = corpus.read_text()
    assert main(["citations", str(corpus), "-o", str(corpus), "-q"]) == 2
    assert "is also an input" in error_of(capsys)
    assert corpus.read_text() == before
    # the same file spelled another way
    other = corpus.parent / "." / corpus.name
    assert main(["citations", str(corpus), "-o", str(other), "-q"]) == 2
    assert corpus.read_text() == before


@pytest.mark.parametrize(
    ("output", "message"),
    [(".", "is a directory"), ("missing/out.jsonl", "does not exist")],
)
def test_bad_output_fails_before_any_work(corpus, capsys, monkeypatch, output, message):
    import graphneg.training_data as td

    monkeypatch.setattr(td, "citation_training_data", lambda *a, **k: pytest.fail("work started"))
    monkeypatch.chdir(corpus.parent)
    assert main(["citations", str(corpus), "-o", output, "-q"]) == 2
    err = error_of(capsys)
    assert message in err and ".tmp" not in err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder(corpus, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert main(["citations", str(corpus), "-o", str(locked / "out.jsonl"), "-q"]) == 2
        assert "is not writable" in error_of(capsys)
    finally:
        locked.chmod(0o700)


def test_batches_output_checks(tmp_path, capsys):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(40, 4)))
    X = str(tmp_path / "X.npy")
    assert main(["batches", "--embeddings", X, "-o", X, "-q"]) == 2
    assert "is also an input" in error_of(capsys)
    out = str(tmp_path / "b.jsonl")
    assert main(["batches", "--embeddings", X, "-o", out, "--stats-json", out, "-q"]) == 2
    assert "same file as -o" in error_of(capsys)
    assert main(["batches", "--embeddings", X, "-o", str(tmp_path), "-q"]) == 2
    assert "is a directory" in error_of(capsys)


def test_one_dimensional_embeddings_is_one_line(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(5.0))
    r = subprocess.run([sys.executable, "-m", "graphneg", "batches", "--embeddings", str(tmp_path / "one.npy"),
                        "-o", str(tmp_path / "b.jsonl"), "-q"], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == (f"graphneg: error: --embeddings {tmp_path / 'one.npy'} must be a 2-D array "
                        "(n_items, dim), got shape (5,)\n")


def test_drop_last_that_empties_the_epoch_fails_before_writing(tmp_path, capsys):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(60, 4)))
    out = tmp_path / "b.jsonl"
    rc = main(["batches", "--embeddings", str(tmp_path / "X.npy"), "-o", str(out), "-q", "--drop-last",
               "--batch-size", "100"])
    assert rc == 2
    assert "--drop-last: drop_last=True leaves no batch of 100 items" in error_of(capsys)
    assert not out.exists() and not stale_temp_files(out)


def test_drop_last_that_drops_much_warns_on_stderr(tmp_path, capsys):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(60, 4)))
    out = tmp_path / "b.jsonl"
    rc = main(["batches", "--embeddings", str(tmp_path / "X.npy"), "-o", str(out), "-q", "--drop-last",
               "--batch-size", "8", "--packing", "bfd"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "graphneg: warning: CommunityBatchSampler: drop_last=True drops" in err


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02\xff" * 100, b"\n\n"])
def test_empty_or_binary_input_fails(tmp_path, capsys, content):
    f = tmp_path / "in.tsv"
    f.write_bytes(content)
    assert main(["citations", str(f), "-o", str(tmp_path / "out.jsonl"), "-q"]) != 0
    error_of(capsys)
    assert not (tmp_path / "out.jsonl").exists()
    assert main(["stats", str(f)]) != 0
    error_of(capsys)


def test_delimiter_and_header_reach_the_reader(tmp_path, capsys):
    f = tmp_path / "edges.txt"
    f.write_text("citing;cited\n" + "".join(f"p{i};p{(i + 1) % 12}\n" for i in range(12)))
    out = tmp_path / "out.jsonl"
    assert main(["citations", str(f), "-o", str(out), "-q", "--delimiter", "semicolon", "--header", "yes"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["citations"] == 12
    ids = {json.loads(line)["query_id"] for line in out.read_text().splitlines()}
    assert "citing" not in ids and ids == {f"p{i}" for i in range(12)}
    # as data: the header line becomes an edge
    assert main(["citations", str(f), "-o", str(out), "-q", "--delimiter", "semicolon", "--header", "no"]) == 0
    assert json.loads(capsys.readouterr().out)["citations"] == 13


def test_stale_temps_are_kept_while_another_run_writes_there(corpus, tmp_path):
    out = tmp_path / "out.jsonl"
    stale = tmp_path / ".out.jsonl.abcd_123.tmp"
    stale.write_text("partial")
    other = tmp_path / ".out.jsonl.x.abcd_123.tmp"  # a temp file of output "out.jsonl.x": not touched
    other.write_text("keep")
    with claim_outputs([tmp_path / "another-output.jsonl"]):  # a concurrent run in the folder
        assert main(["citations", str(corpus), "-o", str(out), "-q"]) == 0
        assert stale.exists()
    assert main(["citations", str(corpus), "-o", str(out), "-q"]) == 0
    assert not stale.exists() and other.exists()


def test_unexpected_errors_are_one_line_too(monkeypatch, capsys, tmp_path):
    import graphneg.cli._stats as stats

    def boom(args):
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(stats, "run", boom)
    monkeypatch.delenv("GRAPHNEG_DEBUG", raising=False)
    from graphneg.cli import build_parser

    args = build_parser().parse_args(["stats", "x"])
    assert args.run is boom
    assert main(["stats", "x"]) == 1
    err = error_of(capsys)
    assert "RuntimeError: something broke" in err and "GRAPHNEG_DEBUG=1" in err


@pytest.mark.parametrize(
    "extra",
    [
        ["--method", "metis"],
        ["--method", "components"],
        ["--method", "metis", "--n-parts", "10"],  # old spelling of --num-parts
        ["--method", "leiden", "--max-size", "20", "--resolution", "2"],  # old spelling of --max-cluster-size
        ["--method", "plm", "--resolution", "2"],
        ["--method", "auto", "--max-cluster-size", "20"],
    ],
)
def test_every_method_runs_with_its_own_options(tmp_path, extra):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(200, 8)).astype(np.float32))
    out = tmp_path / "b.jsonl"
    assert main(["batches", "--embeddings", str(tmp_path / "X.npy"), "-o", str(out), "-q", "--batch-size", "16",
                 *extra]) == 0
    flat = sorted(i for line in out.read_text().splitlines() for i in json.loads(line)["indices"])
    assert flat == list(range(200))


def test_an_option_of_another_algorithm_is_refused(tmp_path, capsys):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32))
    argv = ["batches", "--embeddings", str(tmp_path / "X.npy"), "-o", str(tmp_path / "b.jsonl"), "-q"]
    assert main([*argv, "--method", "metis", "--resolution", "2"]) != 0
    assert "--resolution does not apply to --method metis" in capsys.readouterr().err
    assert main([*argv, "--resolution", "2"]) != 0  # the default takes no algorithm option
    assert "--resolution does not apply to --method auto" in capsys.readouterr().err
