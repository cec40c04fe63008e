"""A killed command never leaves a partial output, and the next run cleans up and finishes.

Each test starts the real command line as a subprocess, kills it with SIGKILL at a few points
(random short delays after it reports reaching a stage), checks that the output is either
absent or complete, then reruns it to completion and compares with an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from graphneg.cli import main, read_batches

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")


def kill_during(argv: list[str], cwd: Path, stage: str | None, delay: float) -> None:
    """Start ``graphneg argv``; SIGKILL it ``delay`` s after stderr shows ``stage`` (or after start)."""
    proc = subprocess.Popen([sys.executable, "-m", "graphneg", *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        if stage is not None:
            for line in proc.stderr:  # type: ignore[union-attr]
                if stage in line or time.monotonic() > deadline:
                    break
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
        proc.stderr.close()  # type: ignore[union-attr]


def leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(f".{name}"))


def test_batches_killed_anywhere_leaves_no_partial_output(tmp_path):
    np.save(tmp_path / "X.npy", np.random.default_rng(0).normal(size=(300, 8)).astype(np.float32))
    argv = ["batches", "--embeddings", "X.npy", "--batch-size", "16", "--seed", "3"]
    assert main([*argv[:2], str(tmp_path / "X.npy"), *argv[3:], "-o", str(tmp_path / "ref.jsonl"), "-q"]) == 0
    ref = (tmp_path / "ref.jsonl").read_text()
    rng = random.Random(0)
    for stage, delay in [(None, rng.uniform(0, 0.5)), ("kNN graph", rng.uniform(0, 0.3)),
                         ("communities", rng.uniform(0, 0.05))]:
        kill_during([*argv, "-o", "out.jsonl"], tmp_path, stage, delay)
        out = tmp_path / "out.jsonl"
        assert not out.exists() or out.read_text() == ref, f"partial output after a kill at {stage}+{delay:.2f}s"
    # a run killed while writing leaves its temp file; the next run removes it
    (tmp_path / ".out.jsonl.k1ll3d_x.tmp").write_text('{"batch": 0, "indi')
    assert main([*argv[:2], str(tmp_path / "X.npy"), *argv[3:], "-o", str(tmp_path / "out.jsonl"), "-q"]) == 0
    assert (tmp_path / "out.jsonl").read_text() == ref
    assert leftovers(tmp_path, "out.jsonl") == []
    assert read_batches(tmp_path / "out.jsonl")


def citation_edges(path: Path, n: int = 300, per: int = 5) -> None:
    rng = random.Random(1)
    path.write_text("".join(f"p{i}\tp{rng.randrange(n)}\n" for i in range(n) for _ in range(per)))


def test_citations_killed_anywhere_resumes_to_the_same_output(tmp_path):
    citation_edges(tmp_path / "edges.tsv")
    argv = ["citations", "edges.tsv", "--chunk-size", "5", "--strategy", "khop", "--seed", "2"]
    quiet = ["-q"]

    def run_here(output: str, *extra: str) -> int:
        full = [argv[0], str(tmp_path / "edges.tsv"), *argv[2:], *extra, "-o", str(tmp_path / output), *quiet]
        return main(full)

    assert run_here("ref.jsonl") == 0
    ref = (tmp_path / "ref.jsonl").read_text()
    rng = random.Random(0)
    for stage, delay in [(None, rng.uniform(0, 0.5)), ("read edges.tsv", rng.uniform(0, 0.3)),
                         ("read edges.tsv", rng.uniform(0.1, 0.6))]:
        kill_during([*argv, "-o", "out.jsonl"], tmp_path, stage, delay)
        out = tmp_path / "out.jsonl"
        assert not out.exists() or out.read_text() == ref, f"partial output after a kill at {stage}+{delay:.2f}s"
        for line in out.read_text().splitlines() if out.exists() else []:
            json.loads(line)
    (tmp_path / ".out.jsonl.k1ll3d_x.tmp").write_text('{"query_id": "p1", "posi')
    assert run_here("out.jsonl") == 0
    assert (tmp_path / "out.jsonl").read_text() == ref
    assert leftovers(tmp_path, "out.jsonl") == []  # no temp files, no .parts folder


def test_citations_rerun_with_other_settings_does_not_reuse_parts(tmp_path):
    citation_edges(tmp_path / "edges.tsv", n=120)
    common = ["citations", str(tmp_path / "edges.tsv"), "--chunk-size", "5", "-q"]
    assert main([*common, "--seed", "1", "-o", str(tmp_path / "ref1.jsonl")]) == 0
    # an interrupted run with seed 0 left finished chunks behind
    parts = tmp_path / "out.jsonl.parts"
    assert main([*common, "--seed", "0", "-o", str(tmp_path / "out.jsonl")]) == 0
    assert not parts.exists()
    kill_during([*common[:1], "edges.tsv", *common[2:4], "--seed", "0", "-o", "out.jsonl"], tmp_path,
                "read edges.tsv", 0.2)
    (tmp_path / "out.jsonl").unlink(missing_ok=True)
    assert main([*common, "--seed", "1", "-o", str(tmp_path / "out.jsonl")]) == 0
    assert (tmp_path / "out.jsonl").read_text() == (tmp_path / "ref1.jsonl").read_text()
    assert not parts.exists()
