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


def load_path(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


@pytest.fixture(scope="module")
def unlabelled_graph_corpus(tmp_path_factory) -> Path:
    """80 papers in 4 hidden topics, ~240 citations, dim 16, and no node labels in nodes.jsonl."""
    rng = np.random.default_rng(2)
    n, dim = 80, 16
    topic = np.arange(n) % 4
    X = rng.normal(size=(4, dim))[topic] * 2 + rng.normal(size=(n, dim))
    edges = set()
    while len(edges) < 240:
        s = int(rng.integers(n))
        t = int(rng.choice(np.flatnonzero(topic == topic[s]) if rng.random() < 0.8 else np.arange(n)))
        if s != t:
            edges.add((s, t))
    src, dst = np.array(sorted(edges)).T
    A = sp.csr_array((np.ones(src.size, np.float32), (src, dst)), shape=(n, n))
    corpus = gn.GraphCorpus(ids=[f"u{i}" for i in range(n)], edges=A, texts=[f"paper {i}" for i in range(n)],
                            embeddings=X.astype(np.float32))
    return gn.save_graph_corpus(corpus, tmp_path_factory.mktemp("unlabelled"))


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


TINY = Path(__file__).resolve().parent / "training"


def test_scifact_retrieval_quick_head_chooses_epochs_on_a_dev_slice(retrieval_corpus, tmp_path):
    mod = load("scifact_retrieval")
    out = tmp_path / "scifact_head.json"
    res = mod.main(["--quick", "--data", str(retrieval_corpus), "--seeds", "0", "1", "--epochs", "2",
                    "--batch-size", "8", "--cluster-size", "4", "--out", str(out)])
    on_disk = json.loads(out.read_text())
    assert on_disk["command"].startswith("python examples/scifact_retrieval.py --quick")
    check_result(on_disk, mod.DEFAULT_ARMS, ["ndcg@10", "recall@100"], [0, 1])
    assert res["mode"] == "head" and on_disk["reference_check"]["checked"] is False  # not SciFact
    for arm in on_disk["arms"].values():
        for run in arm["runs"]:
            assert len(run["dev_ndcg@10_by_epoch"]) == 3 and 0 <= run["chosen_epoch"] <= 2
            by = run["dev_ndcg@10_by_epoch"]
            assert by[run["chosen_epoch"]] == max(by)  # the best dev epoch (0 = the frozen model)
            if run["chosen_epoch"] == 0:  # nothing beat the frozen model on dev: it is what is evaluated
                assert run["metrics"] == on_disk["frozen"]
    diag = on_disk["arms"]["random+hn+mask+thr"]["summary"]["diagnostics"]
    assert diag["masked_share"] > 0.0 and on_disk["arms"]["random"]["summary"]["diagnostics"]["masked_share"] == 0.0
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind


def test_head_falls_back_to_the_frozen_model_when_training_hurts(retrieval_corpus, tmp_path):
    mod = load("scifact_retrieval")
    res = mod.main(["--quick", "--data", str(retrieval_corpus), "--seeds", "0", "--epochs", "2", "--lr", "30",
                    "--arms", "random", "--out", str(tmp_path / "x.json")])
    run = res["arms"]["random"]["runs"][0]
    assert run["chosen_epoch"] == 0 and run["metrics"] == res["frozen"]  # never below the frozen model
    res = mod.main(["--quick", "--data", str(retrieval_corpus), "--seeds", "0", "--epochs", "2", "--lr", "30",
                    "--arms", "random", "--dev-fraction", "0", "--out", str(tmp_path / "y.json")])
    assert res["arms"]["random"]["runs"][0]["metrics"] != res["frozen"]  # without a dev slice: no choice


def test_scifact_dev_split_arms_and_resume(retrieval_corpus, tmp_path):
    """Masks, conflict-free and walk batches on the dev holdout; --resume keeps finished runs."""
    mod = load("scifact_retrieval")
    out = tmp_path / "dev.json"
    arms = ["random", "random+thr", "b3+mask+cf", "walk+mask", "tas+hn+mask"]
    base = ["--mode", "head", "--eval-split", "dev", "--data", str(retrieval_corpus), "--seeds", "0", "1",
            "--epochs", "1", "--batch-size", "8", "--cluster-size", "4", "--out", str(out)]
    res = mod.main([*base, "--arms", ",".join(arms)])
    assert res["data"]["eval_split"] == "dev" and res["data"]["n_eval_queries"] == 9  # 20% of 45
    check_result(json.loads(out.read_text()), arms, ["ndcg@10"], [0, 1])
    cf = res["arms"]["b3+mask+cf"]["runs"][0]["diagnostics"]
    assert 0 <= cf["cf_unresolved"] <= cf["cf_initial_conflicts"]
    mod.main([*base, "--arms", "tas", "--resume"])  # other arms only: the earlier ones stay, untouched
    on_disk = json.loads(out.read_text())
    assert list(on_disk["arms"]) == [*arms, "tas"] and on_disk["previous_invocations"]
    assert on_disk["arms"]["random"]["runs"] == res["arms"]["random"]["runs"]
    with pytest.raises(SystemExit, match="other settings"):
        mod.main([*base, "--arms", "random", "--lr", "0.01", "--resume"])
    for bad in ("nonsense", "random+hn+hn", "random+gist", "walk+cns"):
        with pytest.raises(SystemExit):
            mod.main([*base, "--arms", bad])


tiny_model = load_path("examples_tests_training_conftest", TINY / "conftest.py").tiny_model  # a local tiny BERT


def test_finetune_arms_run_through_the_recipe_pieces(retrieval_corpus, tiny_model, tmp_path):
    """--mode finetune on a tiny model: prepare()'s pieces, plain MNRL, the two peers and fit()."""
    pytest.importorskip("accelerate")
    path = tiny_model
    mod = load("scifact_retrieval")
    arms = "random,walk+hn+mask+thr,b3+mask,random+hn-st,random+gist,recipe"
    res = mod.main(["--mode", "finetune", "--quick", "--model", str(path), "--data", str(retrieval_corpus),
                    "--seeds", "0", "--arms", arms, "--limit-train", "40", "--out", str(tmp_path / "ft.json")])
    assert list(res["arms"]) == arms.split(",")
    for name, arm in res["arms"].items():
        assert 0.0 <= arm["runs"][0]["metrics"]["ndcg@10"] <= 1.0, name
    assert res["arms"]["walk+hn+mask+thr"]["runs"][0]["mining"]["negatives_found"] > 0
    assert 0 < res["arms"]["random+hn-st"]["runs"][0]["n_pairs"] <= 40
    assert isinstance(res["arms"]["recipe"]["runs"][0]["trained"], bool)


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
    md = mk.main(["--results-dir", str(tmp_path), "--out", str(tmp_path / "RESULTS.md")])
    text = md.read_text()
    assert "## SciFact retrieval (cheap variant" in text and "## CiteSeer citations (cheap variant" in text
    for arm in ("`random`", "`b3`", "`random+hn`", "`community`", "`random+specter`"):
        assert arm in text
    assert "### Verdict" in text and "No full fine-tune was run" in text
    assert " ± " in text


@pytest.mark.parametrize("script", ["scifact_retrieval.py", "citeseer_citations.py", "make_results.py",
                                    "tune_citeseer_dev.py", "batch_size_curve.py"])
def test_help(script):
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"], capture_output=True, text=True,
                          timeout=60)
    want = ("--results-dir", "--out") if script == "make_results.py" else ("--seeds", "--quick")
    assert proc.returncode == 0 and all(w in proc.stdout for w in want)


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
    md = mk.main(["--results-dir", str(tmp_path), "--out", str(tmp_path / "RESULTS.md")])
    text = md.read_text()
    assert "## Batch-size curve" in text and "`b3+mask`" in text and "| B = 8 (Δ) | B = 16 (Δ) |" in text
    assert "**Verdict (SciFact):** only |B| = 8, 16 measured: no 4× pair yet." in text


CITATION_ARMS = ["random", "community", "community+hopmask2", "community-cite+uniform+hopmask1+cf", "walk+mask",
                 "b3+hopmask", "random+uniform+hopmask1"]


def test_citation_script_on_unlabelled_corpus(unlabelled_graph_corpus, tmp_path):
    """Issue #10: the citation script runs on any canonical graph corpus, labels or not."""
    for line in (unlabelled_graph_corpus / "nodes.jsonl").read_text().splitlines():
        assert "label" not in json.loads(line)
    mod = load("citeseer_citations")
    out = tmp_path / "unlabelled.json"
    mod.main(["--data", str(unlabelled_graph_corpus), "--seeds", "0", "--epochs", "1", "--batch-size", "16",
              "--cluster-size", "4", "--arms", ",".join(CITATION_ARMS), "--out", str(out)])
    res = json.loads(out.read_text())
    assert "partial" not in res and list(res["arms"]) == CITATION_ARMS
    assert res["data"]["has_labels"] is False and res["data"]["n_classes"] is None
    assert res["reference_check"]["checked"] is False  # not CiteSeer: no reference applies
    assert res["data"]["corpus"] == unlabelled_graph_corpus.name
    for name, arm in res["arms"].items():
        run = arm["runs"][0]
        assert 0.0 <= run["metrics"]["recall@10"] <= 1.0 and "same_class_p@10" not in run["metrics"]
        d = run["diagnostics"]
        assert d["held_out_edges_pushed_after_mask"] <= d["held_out_edges_pushed"]
        if name in ("random", "community"):  # nothing masked: the loss sees every push
            assert d["held_out_edges_pushed_after_mask"] == d["held_out_edges_pushed"] and d["masked_share"] == 0.0
    hop = res["arms"]["community+hopmask2"]["runs"][0]["diagnostics"]
    assert hop["masked_share"] > 0.0 and hop["false_negatives_per_query_after_mask"] <= (
        res["arms"]["community"]["runs"][0]["diagnostics"]["false_negatives_per_query_after_mask"])
    cf_arm = res["arms"]["community-cite+uniform+hopmask1+cf"]
    cf = cf_arm["runs"][0]["diagnostics"]
    assert cf["cf_moved"] >= 0 and 0 <= cf["cf_unresolved"] <= cf["cf_initial_conflicts"]
    assert cf_arm["spec"]["cf_hops"] == 1 and res["arms"]["b3+hopmask"]["spec"]["hops"] == 2  # --mask-hops 2
    assert cf_arm["summary"]["control"] == "random+uniform+hopmask1"  # same negatives and masks
    assert "vs_control_paired" in cf_arm["summary"]
    with pytest.raises(SystemExit):
        mod.main(["--data", str(unlabelled_graph_corpus), "--arms", "random+hopmask+hopmask2"])


def test_citation_reference_by_shape():
    mod = load("citeseer_citations")
    assert mod.reference_corpus(3186, 4277) == "citeseer"
    assert mod.reference_corpus(90, 270) is None


def test_citation_dev_split_and_resume(graph_corpus, tmp_path):
    mod = load("citeseer_citations")
    out = tmp_path / "dev.json"
    base = ["--data", str(graph_corpus), "--eval-split", "dev", "--seeds", "0", "1", "--epochs", "1",
            "--batch-size", "16", "--out", str(out)]
    res = mod.main([*base, "--arms", "random,community+hopmask2"])
    first = json.loads(out.read_text())
    d = res["data"]
    assert d["eval_split"] == "dev" and d["n_dev_edges"] == d["n_eval_edges"] >= 1
    assert d["n_train_edges"] + d["n_dev_edges"] + d["n_test_edges"] <= d["n_edges"]
    test = mod.main(["--data", str(graph_corpus), "--seeds", "0", "--epochs", "1", "--arms", "random",
                     "--out", str(tmp_path / "test.json")])
    # dev comes out of train (a dev citation's reverse link, if any, leaves training too)
    assert test["data"]["n_train_edges"] >= d["n_train_edges"] + d["n_dev_edges"] > d["n_train_edges"]
    mod.main([*base, "--arms", "random,community+hopmask2,walk+hopmask2", "--resume"])
    on_disk = json.loads(out.read_text())
    assert on_disk["arms"]["random"]["runs"] == first["arms"]["random"]["runs"]  # kept, not run again
    assert "partial" not in on_disk and set(on_disk["arms"]) == {"random", "community+hopmask2", "walk+hopmask2"}
    mod.main([*base, "--arms", "random+hopmask2", "--resume"])  # other arms only: the earlier ones stay
    assert set(json.loads(out.read_text())["arms"]) == {"random", "community+hopmask2", "walk+hopmask2",
                                                        "random+hopmask2"}
    with pytest.raises(SystemExit):  # other settings: refuse to resume
        mod.main([*base, "--arms", "random", "--resume", "--lr", "0.01"])


def test_batch_size_curve_citeseer(graph_corpus, tmp_path):
    curve = load("batch_size_curve")
    argv = ["--corpora", "citeseer", "--batch-sizes", "8", "16", "--seeds", "0", "1", "--data", str(graph_corpus),
            "--results-dir", str(tmp_path), "--arms", "random,community+hopmask2,random+uniform+hopmask2,"
            "community+uniform+hopmask2+cf", "--extra", "--epochs 1"]
    files = curve.main(argv)
    assert [f.name for f in files] == ["curve_citeseer_b8.json", "curve_citeseer_b16.json"]
    res = json.loads(files[0].read_text())
    assert res["config"]["batch_size"] == 8 and res["primary_metric"] == "recall@10" and "partial" not in res
    assert res["arms"]["community+uniform+hopmask2+cf"]["summary"]["control"] == "random+uniform+hopmask2"
    assert curve.main([*argv, "--resume"]) == files  # every run finished: nothing is run again


def test_tune_citeseer_dev_quick(graph_corpus, tmp_path):
    mod = load("tune_citeseer_dev")
    out = tmp_path / "sweep.json"
    arms = ("random,random+mask,random+hopmask2,community+hopmask2,walk+hopmask2,random+uniform+hopmask2,"
            "walk+uniform+hopmask2")
    mod.main(["--data", str(graph_corpus), "--batch-sizes", "16", "--seeds", "0", "--arms", arms, "--runs-dir",
              str(tmp_path / "runs"), "--out", str(out), "--extra", "--epochs 1"])
    res = json.loads(out.read_text())
    assert res["partial"] is False and res["eval_split"] == "dev"
    assert (tmp_path / "runs" / "citeseer_dev_b16.json").is_file()
    choice = res["choice"]
    assert choice["chosen"]["graph"] in ("community+hopmask2", "walk+hopmask2") and choice["mask_hops"] == 2
    curve = choice["curve_arms"].split(",")
    assert curve[:3] == ["random", "random+mask", "random+hopmask2"] and "community+hopmask2" in curve
    assert "walk+uniform+hopmask2" in curve and "random+uniform+hopmask2" in curve  # with its control


