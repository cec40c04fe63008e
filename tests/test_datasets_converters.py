"""Run the ``datasets/convert_*.py`` scripts on the shared public data and check the results.

The expected figures are those of ``shared/data/README.md``. Each converter runs once per module
(in a subprocess, exactly as from the command line); tests skip cleanly when the shared data
folder (``$GRAPHNEG_SHARED_DATA`` or ``<repo>/../shared/data``) is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphneg.io import (
    GraphCorpus,
    RetrievalCorpus,
    load_graph_corpus,
    load_retrieval_corpus,
    qrels_to_positives,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DATASETS = REPO_ROOT / "datasets"
SCRIPTS = ("convert_planetoid.py", "convert_citeseer_text.py", "convert_scifact.py")


def shared_data_dir() -> Path:
    """The shared data folder; read at call time so that tests can redirect it."""
    env = os.environ.get("GRAPHNEG_SHARED_DATA")
    return Path(env) if env else REPO_ROOT / ".." / "shared" / "data"


def require_shared(subfolder: str) -> Path:
    """Return the shared data subfolder, or skip the calling test when it is absent."""
    folder = shared_data_dir() / subfolder
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} not found")
    return folder


def run_script(
    script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a converter like a user would; the repository root goes on PYTHONPATH."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, str(DATASETS / script), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


def convert(script: str, raw: Path, out: Path, *args: str) -> str:
    result = run_script(script, "--raw", str(raw), "--out", str(out), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def edge_homophily(edges: sp.csr_array, labels: np.ndarray, *, undirected: bool) -> float:
    """Share of edges joining same-label nodes; edges touching an unlabelled node (-1) ignored."""
    adj = sp.triu(edges + edges.T, k=1).tocoo() if undirected else edges.tocoo()
    known = (labels[adj.row] >= 0) & (labels[adj.col] >= 0)
    return float(np.mean(labels[adj.row[known]] == labels[adj.col[known]]))


def n_undirected(edges: sp.csr_array) -> int:
    return int(sp.triu(edges + edges.T, k=1).nnz)


# --------------------------------------------------------------------------------------------
# Converted corpora, one conversion per module
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cora(tmp_path_factory: pytest.TempPathFactory) -> GraphCorpus:
    raw = require_shared("planetoid")
    out = tmp_path_factory.mktemp("cora")
    stdout = convert("convert_planetoid.py", raw, out, "--name", "cora")
    assert "nodes" in stdout and "2,708" in stdout
    return load_graph_corpus(out)


@pytest.fixture(scope="module")
def citeseer(tmp_path_factory: pytest.TempPathFactory) -> GraphCorpus:
    raw = require_shared("planetoid")
    out = tmp_path_factory.mktemp("citeseer")
    convert("convert_planetoid.py", raw, out, "--name", "citeseer")
    return load_graph_corpus(out)


@pytest.fixture(scope="module")
def citeseer_text(tmp_path_factory: pytest.TempPathFactory) -> tuple[GraphCorpus, Path]:
    raw = require_shared("citeseer_text")
    out = tmp_path_factory.mktemp("citeseer_text")
    stdout = convert("convert_citeseer_text.py", raw, out)
    assert "skipped: paper without text" in stdout
    return load_graph_corpus(out), raw


@pytest.fixture(scope="module")
def scifact(tmp_path_factory: pytest.TempPathFactory) -> RetrievalCorpus:
    raw = require_shared("scifact")
    out = tmp_path_factory.mktemp("scifact")
    convert("convert_scifact.py", raw, out)
    return load_retrieval_corpus(out)


# --------------------------------------------------------------------------------------------
# Planetoid
# --------------------------------------------------------------------------------------------


def test_cora_matches_reference(cora: GraphCorpus) -> None:
    assert cora.num_nodes == 2708
    assert cora.ids[:3] == ["0", "1", "2"]
    assert cora.features is not None and cora.features.shape == (2708, 1433)
    assert set(np.unique(cora.features.data).tolist()) == {1.0}  # binary bag of words
    assert cora.label_names == [str(c) for c in range(7)]
    assert cora.labels is not None and cora.labels.min() == 0  # every node labelled
    # The raw lists are symmetric: every undirected edge is written in both directions.
    assert n_undirected(cora.edges) == 5278
    assert cora.edges.nnz == 2 * 5278
    assert (cora.edges != cora.edges.T).nnz == 0
    assert edge_homophily(cora.edges, cora.labels, undirected=True) == pytest.approx(
        0.810, abs=1e-3
    )


def test_citeseer_matches_reference(citeseer: GraphCorpus) -> None:
    assert citeseer.num_nodes == 3327
    assert citeseer.features is not None and citeseer.features.shape == (3327, 3703)
    assert citeseer.label_names == [str(c) for c in range(6)]
    assert n_undirected(citeseer.edges) == 4552
    assert citeseer.edges.diagonal().sum() == 0  # raw self-loops dropped
    # The 15 test ids missing from test.index: zero feature rows (Kipf padding) and no label.
    assert citeseer.labels is not None
    padded = np.flatnonzero(citeseer.labels == -1)
    assert padded.size == 15
    assert np.all(np.diff(citeseer.features.indptr)[padded] == 0)
    # README 0.738 counts edges between labelled nodes; labelling the padded nodes as
    # class 0 (Kipf's argmax of a zero row) would give 0.7355 instead.
    h = edge_homophily(citeseer.edges, citeseer.labels, undirected=True)
    assert h == pytest.approx(0.738, abs=1e-3)


# --------------------------------------------------------------------------------------------
# CiteSeer with text
# --------------------------------------------------------------------------------------------


def test_citeseer_text_matches_reference(citeseer_text: tuple[GraphCorpus, Path]) -> None:
    corpus, raw = citeseer_text
    assert corpus.num_nodes == 3186
    assert corpus.label_names is not None and sorted(corpus.label_names) == sorted(
        ["DB", "IR", "ML", "Agents", "HCI", "AI"]
    )
    # 4,732 cites lines - 335 naming a paper without text - 120 self-citations (4 further
    # self-citations name a paper without text and are counted there) = 4,277; no duplicates.
    assert corpus.edges.nnz == 4277
    assert corpus.labels is not None and corpus.labels.min() == 0
    # The README's 0.745 is over the directed citations; symmetrised it would be 0.7437.
    h = edge_homophily(corpus.edges, corpus.labels, undirected=False)
    assert h == pytest.approx(0.745, abs=1e-3)
    assert corpus.texts is not None and all(corpus.texts)


def test_citeseer_text_agrees_with_shipped_files(citeseer_text: tuple[GraphCorpus, Path]) -> None:
    corpus, raw = citeseer_text
    with open(raw / "nodes.jsonl", encoding="utf-8") as fh:
        shipped = [json.loads(line) for line in fh]
    assert corpus.ids == [rec["_id"] for rec in shipped]
    assert corpus.texts == [rec["text"] for rec in shipped]
    names = corpus.label_names
    assert names is not None and corpus.labels is not None
    assert [names[c] for c in corpus.labels] == [rec["label"] for rec in shipped]
    # Shipped edges.tsv is citing<TAB>cited; ours is source<TAB>target with the same meaning.
    with open(raw / "edges.tsv", encoding="utf-8") as fh:
        next(fh)
        shipped_edges = {tuple(line.rstrip("\n").split("\t")) for line in fh}
    coo = corpus.edges.tocoo()
    ours = {(corpus.ids[s], corpus.ids[t]) for s, t in zip(coo.row, coo.col, strict=True)}
    assert ours == shipped_edges
    # Embedding rows follow nodes.jsonl and are the fp16 values widened to float32.
    assert corpus.embeddings is not None
    assert corpus.embeddings.dtype == np.float32 and corpus.embeddings.shape == (3186, 384)
    raw_emb = np.load(raw / "minilm_l6_v2_fp16.npy")
    np.testing.assert_array_equal(corpus.embeddings, raw_emb.astype(np.float32))


# --------------------------------------------------------------------------------------------
# SciFact
# --------------------------------------------------------------------------------------------


def test_scifact_matches_reference(scifact: RetrievalCorpus) -> None:
    assert scifact.num_docs == 5183
    assert scifact.num_queries == 1109
    assert set(scifact.qrels) == {"train", "test"}
    for split, n_queries, n_qrels in (("train", 809, 919), ("test", 300, 339)):
        assert len(scifact.qrels[split]) == n_queries
        assert sum(len(docs) for docs in scifact.qrels[split].values()) == n_qrels
        rows, positives = qrels_to_positives(scifact, split)
        assert rows.size == n_queries and sum(p.size for p in positives) == n_qrels
    assert scifact.corpus_embeddings is not None and scifact.query_embeddings is not None
    assert scifact.corpus_embeddings.shape == (5183, 384)
    assert scifact.query_embeddings.shape == (1109, 384)
    assert scifact.corpus_embeddings.dtype == np.float32
    assert scifact.query_embeddings.dtype == np.float32
    # Embeddings are L2-normalised (fp16 rounding aside): a cheap check that rows were not mixed.
    norms = np.linalg.norm(scifact.corpus_embeddings, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-2)
    assert scifact.corpus_titles is not None
    assert all(
        t.startswith(h.strip())
        for t, h in zip(scifact.corpus_texts, scifact.corpus_titles, strict=True)
    )


# --------------------------------------------------------------------------------------------
# Command-line behaviour (needs no shared data)
# --------------------------------------------------------------------------------------------


def test_skips_when_shared_data_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHNEG_SHARED_DATA", str(tmp_path / "does-not-exist"))
    with pytest.raises(pytest.skip.Exception, match="not found"):
        require_shared("planetoid")


@pytest.mark.parametrize("script", SCRIPTS)
def test_help(script: str) -> None:
    result = run_script(script, "--help")
    assert result.returncode == 0
    assert "--raw" in result.stdout and "--out" in result.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_missing_input_is_a_one_line_error(script: str, tmp_path: Path) -> None:
    extra = ["--name", "cora"] if script == "convert_planetoid.py" else []
    missing_env = {"GRAPHNEG_SHARED_DATA": str(tmp_path / "does-not-exist")}
    for args in (
        ["--out", str(tmp_path / "out"), *extra],  # no --raw and no shared data
        ["--raw", str(tmp_path), "--out", str(tmp_path / "out"), *extra],  # empty raw folder
    ):
        result = run_script(script, *args, env=missing_env)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{script}: error: "), result.stderr
    assert not (tmp_path / "out").exists()
