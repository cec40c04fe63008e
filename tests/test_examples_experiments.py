"""The experiment scripts in examples/ run end to end on tiny synthetic canonical corpora.

Each script's quick (cheap head) mode runs in-process on corpora written to ``tmp_path`` with
graphneg's own writers, and the JSON results, the dev sweep and the generated report are checked
for structure. No shared data is needed; the whole module takes well under a minute.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import graphneg as gn

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def retrieval_corpus(tmp_path_factory) -> Path:
    """120 documents in 6 topics, 60 queries (45 train with 1-2 positives, 15 test), dim 16."""
    rng = np.random.default_rng(0)
    n_docs, dim = 120, 16
    centres = rng.normal(size=(6, dim)) * 2
    topic = np.arange(n_docs) % 6
    docs = centres[topic] + rng.normal(size=(n_docs, dim))
    qrels: dict[str, dict[str, dict[str, int]]] = {"train": {}, "test": {}}
    queries = []
    for q in range(60):
        pos = [int(rng.integers(n_docs))]
        if q % 5 == 0:  # some queries with two positives of the same topic
            pos.append(int((pos[0] + 6 * rng.integers(1, 10)) % n_docs))
        queries.append(docs[pos].mean(axis=0) + 0.8 * rng.normal(size=dim))
        split = "train" if q < 45 else "test"
        qrels[split][f"q{q}"] = {f"d{p}": 1 for p in pos}
    rc = gn.RetrievalCorpus(
        corpus_ids=[f"d{i}" for i in range(n_docs)],
        corpus_texts=[f"document {i} about topic {topic[i]}" for i in range(n_docs)],
        query_ids=[f"q{q}" for q in range(60)],
        query_texts=[f"question {q}" for q in range(60)],
        qrels=qrels,
        corpus_embeddings=docs.astype(np.float32),
        query_embeddings=np.stack(queries).astype(np.float32),
    )
    return gn.save_retrieval_corpus(rc, tmp_path_factory.mktemp("retrieval"))


@pytest.fixture(scope="module")
def graph_corpus(tmp_path_factory) -> Path:
    """90 papers in 3 classes, ~270 citations mostly within a class, dim 16."""
    rng = np.random.default_rng(1)
    n, dim = 90, 16
    labels = np.arange(n) % 3
    X = rng.normal(size=(3, dim))[labels] * 2 + rng.normal(size=(n, dim))
    edges = set()
    while len(edges) < 270:
        s = int(rng.integers(n))
        same = rng.random() < 0.8
        t = int(rng.choice(np.flatnonzero(labels == labels[s]) if same else np.arange(n)))
        if s != t:
            edges.add((s, t))
    src, dst = np.array(sorted(edges)).T
    A = sp.csr_array((np.ones(src.size, np.float32), (src, dst)), shape=(n, n))
    corpus = gn.GraphCorpus(ids=[f"p{i}" for i in range(n)], edges=A, labels=labels,
                            label_names=["A", "B", "C"], texts=[f"paper {i}" for i in range(n)],
                            embeddings=X.astype(np.float32))
    return gn.save_graph_corpus(corpus, tmp_path_factory.mktemp("graph"))


def check_result(res: dict, arms: list[str], metrics: list[str], seeds: list[int]) -> None:
    for key in ("experiment", "variant", "command", "config", "data", "frozen", "arms", "wall_time_s",
                "reference_check", "environment"):
        assert key in res, key
    assert set(res["arms"]) | set(res.get("skipped_arms", {})) == set(arms)
    for name, arm in res["arms"].items():
        assert [r["seed"] for r in arm["runs"]] == seeds
        for run in arm["runs"]:
            for m in metrics:
                assert 0.0 <= run["metrics"][m] <= 1.0
            assert run["train_time_s"] >= 0 and isinstance(run["diagnostics"], dict)
        summary = arm["summary"]
        for m in metrics:
            assert summary["metrics"][m]["n"] == len(seeds)
            assert summary["metrics"][m]["std"] is not None
        if name != "random":
            assert set(summary["vs_random_paired"]) >= set(metrics)


def test_scifact_retrieval_quick(retrieval_corpus, tmp_path):
    mod = load("scifact_retrieval")
    out = tmp_path / "scifact_head.json"
    res = mod.main(["--quick", "--data", str(retrieval_corpus), "--seeds", "0", "1", "--epochs", "2",
                    "--out", str(out)])
    on_disk = json.loads(out.read_text())
    assert on_disk["command"].startswith("python examples/scifact_retrieval.py --quick")
    check_result(on_disk, mod.DEFAULT_ARMS, ["ndcg@10", "recall@100"], [0, 1])
    assert res["mode"] == "head" and on_disk["reference_check"]["checked"] is False  # not SciFact
    diag = on_disk["arms"]["b3+hn+mask"]["summary"]["diagnostics"]
    assert diag["false_negatives_per_query_left"] == 0.0  # the mask removes every known false negative
    assert on_disk["arms"]["random"]["summary"]["diagnostics"]["masked_share"] == 0.0
    if "random+hn-st" in on_disk["arms"]:  # the peer ran: it saw the same pairs or fewer
        assert on_disk["arms"]["random+hn-st"]["n_pairs"] <= on_disk["arms"]["random"]["n_pairs"]
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind


def test_scifact_dev_split_and_analysis_arms(retrieval_corpus, tmp_path):
    mod = load("scifact_retrieval")
    out = tmp_path / "dev.json"
    mod.main(["--mode", "head", "--eval-split", "dev", "--data", str(retrieval_corpus), "--seeds", "0", "1",
              "--epochs", "1", "--arms", "random,b3+mask,random+hn+drop", "--out", str(out)])
    res = json.loads(out.read_text())
    assert res["data"]["eval_split"] == "dev" and res["data"]["n_eval_queries"] == 9  # 20% of 45
    check_result(res, ["random", "b3+mask", "random+hn+drop"], ["ndcg@10"], [0, 1])
    with pytest.raises(SystemExit):
        mod.main(["--quick", "--data", str(retrieval_corpus), "--arms", "nonsense"])


def test_tune_scifact_dev_quick(retrieval_corpus, tmp_path):
    mod = load("tune_scifact_dev")
    out = tmp_path / "sweep.json"
    res = mod.main(["--quick", "--data", str(retrieval_corpus), "--seeds", "0", "--out", str(out)])
    on_disk = json.loads(out.read_text())
    assert on_disk["chosen"] == res["chosen"] and "--lr" in on_disk["chosen_flags"]
    assert set(on_disk["stages"]) == {"A_random", "B_b3", "B_tas", "B_random+hn"}


def test_citeseer_citations_quick(graph_corpus, tmp_path):
    mod = load("citeseer_citations")
    out = tmp_path / "citeseer_head.json"
    mod.main(["--quick", "--data", str(graph_corpus), "--seeds", "0", "1", "--epochs", "1", "--out", str(out)])
    res = json.loads(out.read_text())
    check_result(res, mod.DEFAULT_ARMS, ["recall@10", "recall@10_macro", "same_class_p@10"], [0, 1])
    assert res["data"]["n_test_edges"] + res["data"]["n_train_edges"] <= res["data"]["n_edges"]
    assert res["data"]["n_test_edges"] >= 1
    for arm in ("random+uniform", "random+specter", "random+khop"):
        info = res["negatives"][arm][0]
        assert info["n_short_after_fill"] == 0 and 0.0 <= info["held_out_edges_as_negatives"] <= 1.0


def test_make_results_renders_report(retrieval_corpus, graph_corpus, tmp_path):
    sf, cs, mk = load("scifact_retrieval"), load("citeseer_citations"), load("make_results")
    sf.main(["--quick", "--data", str(retrieval_corpus), "--seeds", "0", "1", "2", "--epochs", "1",
             "--arms", "random,b3,random+hn", "--out", str(tmp_path / "scifact_head.json")])
    cs.main(["--quick", "--data", str(graph_corpus), "--seeds", "0", "1", "2", "--epochs", "1",
             "--arms", "random,community,random+specter", "--out", str(tmp_path / "citeseer_head.json")])
    md = mk.main(["--no-run", "--results-dir", str(tmp_path), "--out", str(tmp_path / "RESULTS.md")])
    text = md.read_text()
    assert "## SciFact retrieval (cheap variant" in text and "## CiteSeer citations (cheap variant" in text
    for arm in ("`random`", "`b3`", "`random+hn`", "`community`", "`random+specter`"):
        assert arm in text
    assert "### Verdict" in text and "No full fine-tune was run" in text
    assert " ± " in text


@pytest.mark.parametrize("script", ["scifact_retrieval.py", "citeseer_citations.py", "make_results.py",
                                    "tune_scifact_dev.py", "batch_size_curve.py"])
def test_help(script):
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and "--seeds" in proc.stdout and "--quick" in proc.stdout


def test_retrieval_false_negative_arms_and_resume(retrieval_corpus, tmp_path):
    """Issue #10 arms: known-positive / score-threshold masks, conflict-free and walk batches."""
    mod = load("scifact_retrieval")
    out = tmp_path / "fn.json"
    arms = ["random", "random+thr", "b3+mask+cf", "walk+mask", "random+hn+mask+thr"]
    mod.main(["--mode", "head", "--data", str(retrieval_corpus), "--seeds", "0", "1", "--epochs", "1",
              "--batch-size", "8", "--cluster-size", "4", "--arms", ",".join(arms), "--eval-every-epoch",
              "--out", str(out)])
    res = json.loads(out.read_text())
    check_result(res, arms, ["ndcg@10"], [0, 1])
    assert "partial" not in res and len(res["arms"]["random"]["runs"][0]["ndcg@10_by_epoch"]) == 1
    assert res["arms"]["walk+mask"]["summary"]["diagnostics"]["false_negatives_per_query_left"] == 0.0
    assert res["arms"]["random+thr"]["summary"]["diagnostics"]["masked_share"] > 0.0
    cf = res["arms"]["b3+mask+cf"]["runs"][0]["diagnostics"]
    assert cf["cf_unresolved"] <= cf["cf_initial_conflicts"]
    # --resume reuses every finished run and adds a new arm only
    res2 = mod.main(["--mode", "head", "--data", str(retrieval_corpus), "--seeds", "0", "1", "--epochs", "1",
                     "--batch-size", "8", "--cluster-size", "4", "--arms", ",".join(arms + ["b3+mask"]),
                     "--eval-every-epoch", "--out", str(out), "--resume"])
    assert res2["arms"]["random"]["runs"] == res["arms"]["random"]["runs"]
    assert "b3+mask" in json.loads(out.read_text())["arms"]


def test_batch_size_curve_and_report(retrieval_corpus, tmp_path):
    curve, mk = load("batch_size_curve"), load("make_results")
    files = curve.main(["--corpora", "scifact", "--batch-sizes", "8", "16", "--seeds", "0", "1", "--data",
                        str(retrieval_corpus), "--results-dir", str(tmp_path), "--arms",
                        "random,random+hn+mask,b3+mask", "--extra", "--epochs 1 --cluster-size 4"])
    assert [f.name for f in files] == ["curve_scifact_b8.json", "curve_scifact_b16.json"]
    again = curve.main(["--corpora", "scifact", "--batch-sizes", "8", "--seeds", "0", "1", "--data",
                        str(retrieval_corpus), "--results-dir", str(tmp_path), "--resume", "--arms",
                        "random,random+hn+mask,b3+mask"])  # every run finished: nothing is run again
    assert again == files[:1]
    md = mk.main(["--no-run", "--results-dir", str(tmp_path), "--out", str(tmp_path / "RESULTS.md")])
    text = md.read_text()
    assert "## Batch-size curve" in text and "`b3+mask`" in text and "Δ random+hn+mask" in text
