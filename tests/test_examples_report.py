"""examples/make_results.py: issue #10's verdict logic on small synthetic result files.

The rule (paired mean difference above the larger seed std, every seed positive), the merge of
curve files (dev-chosen arms in suffixed files, dev files and unreadable files skipped), the
"smallest graph-batch size matching random batches four times larger" verdict, metric-awareness
(CiteSeer's recall@10) and the rendering of the report from nothing but these files.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def mk():
    spec = importlib.util.spec_from_file_location("examples_make_results_report", EXAMPLES / "make_results.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def result(bs: int, arms: dict[str, list[float]], corpus: str = "scifact", key: str = "ndcg@10",
           frozen: float = 0.5, skip: int = 0, split: str = "test", diag: dict | None = None) -> dict:
    return {
        "config": {"batch_size": bs, "epochs": 1, "lr": 0.001, "seeds": [0, 1, 2], "b3_skip": skip},
        "data": {"corpus": corpus, "n_train_pairs": 100, "n_train_queries": 50, "eval_split": split},
        "frozen": {key: frozen},
        "arms": {name: {"runs": [{"seed": s, "metrics": {key: v}, "train_time_s": 1.0,
                                  "diagnostics": dict(diag or {})} for s, v in enumerate(vals)]}
                 for name, vals in arms.items()},
    }


def write(folder: Path, name: str, obj: dict) -> None:
    (folder / name).write_text(json.dumps(obj))


def test_rule_and_arm_names(mk):
    beats = mk.compare({0: 0.82, 1: 0.83, 2: 0.83}, {0: 0.80, 1: 0.80, 2: 0.81})
    assert beats["beats"] and beats["matches"] and beats["delta"]["mean"] == pytest.approx(0.0233, abs=1e-4)
    # a mean gain inside the seed spread does not count, nor one with a losing seed
    assert not mk.compare({0: 0.80, 1: 0.84, 2: 0.80}, {0: 0.80, 1: 0.80, 2: 0.81})["beats"]
    assert not mk.compare({0: 0.85, 1: 0.85, 2: 0.79}, {0: 0.80, 1: 0.80, 2: 0.80})["beats"]
    # "matches" = not below by more than the spread
    assert mk.compare({0: 0.79, 1: 0.80, 2: 0.81}, {0: 0.80, 1: 0.81, 2: 0.82})["matches"]
    assert not mk.compare({0: 0.70, 1: 0.70, 2: 0.70}, {0: 0.80, 1: 0.81, 2: 0.82})["matches"]
    assert mk.compare({0: 0.8}, {1: 0.8}) is None  # no common seed
    assert not mk.compare({0: 0.9}, {0: 0.8})["beats"]  # one seed is no evidence
    assert mk.control_arm("b3+hn+mask+thr [skip5]") == "random+hn+mask+thr"
    assert mk.control_arm("b3+hn+mask+cf") == "random+hn+mask" and mk.control_arm("community+mix") == "random"
    assert mk.is_graph_arm("walk+hn+mask [skip5]") and not mk.is_graph_arm("random+hn-st")
    assert mk.main_metric({"frozen": {"recall@10": 0.4, "same_class_p@10": 0.6}}) == "recall@10"


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    # SciFact: the dev-chosen arm (b3+hn+mask at skip 5) lives in suffixed files next to the main ones
    write(tmp_path, "curve_scifact_b32.json", result(32, {"random": [0.70, 0.71, 0.72],
                                                          "random+hn+mask": [0.80, 0.80, 0.81]}))
    write(tmp_path, "curve_scifact_b128.json", result(128, {"random": [0.75, 0.75, 0.76],
                                                            "random+hn+mask": [0.82, 0.82, 0.83]}))
    write(tmp_path, "curve_scifact_b32_skip5.json", result(32, {"b3+hn+mask": [0.82, 0.83, 0.83]}, skip=5))
    write(tmp_path, "curve_scifact_b128_skip5.json", result(128, {"b3+hn+mask": [0.83, 0.83, 0.84]}, skip=5))
    write(tmp_path, "curve_scifact_b32_dev.json", result(32, {"random": [0.1, 0.1, 0.1]}, split="dev"))
    (tmp_path / "curve_scifact_b512.json").write_text("{not json")  # a file being written: skipped
    write(tmp_path, "scifact_dev_graph_sweep.json", {
        "command": "python examples/tune_graph_dev.py --corpus scifact", "corpus": "scifact", "flags": [],
        "protocol": "dev only; selection = best mean dev nDCG@10", "frozen_dev_ndcg@10": 0.6, "wall_time_s": 60,
        "rows": [
            {"setting": {}, "label": "base", "arm": "random+hn+mask", "id": "random+hn+mask",
             "per_seed": {"0": 0.78, "1": 0.79, "2": 0.78}, "mean": 0.7833, "std": 0.0058, "diagnostics": {}},
            {"setting": {"b3_skip": 0}, "label": "skip0", "arm": "b3+hn+mask", "id": "b3+hn+mask [skip0]",
             "per_seed": {"0": 0.77, "1": 0.78, "2": 0.78}, "mean": 0.7767, "std": 0.0058,
             "diagnostics": {"inbatch_false_negative_share": 0.03}},
            {"setting": {"b3_skip": 5}, "label": "skip5", "arm": "b3+hn+mask", "id": "b3+hn+mask [skip5]",
             "per_seed": {"0": 0.80, "1": 0.80, "2": 0.81}, "mean": 0.8033, "std": 0.0058,
             "diagnostics": {"inbatch_false_negative_share": 0.01}},
        ],
        "chosen": {"arm": "b3+hn+mask", "setting": {"b3_skip": 5}, "id": "b3+hn+mask [skip5]", "mean": 0.8033,
                   "std": 0.0058, "control": "random+hn+mask", "control_mean": 0.7833, "control_std": 0.0058,
                   "paired_delta": {"mean": 0.02}, "per_seed_delta": [0.02, 0.01, 0.03]},
    })
    # CiteSeer: recall@10, one batch size only, no dev sweep
    write(tmp_path, "curve_citeseer_b32.json", result(
        32, {"random": [0.47, 0.48, 0.46], "random+uniform": [0.52, 0.53, 0.51],
             "community+uniform": [0.40, 0.41, 0.39]}, corpus=None, key="recall@10", frozen=0.40,
        diag={"inbatch_false_negative_share": 0.05, "held_out_edges_pushed": 0.25}))
    return tmp_path


def test_curves_and_verdicts(mk, results):
    curves = mk.load_curves(results)
    assert sorted(curves) == ["citeseer", "scifact"] and sorted(curves["scifact"]) == [32, 128]
    assert set(curves["scifact"][32]["arms"]) == {"random", "random+hn+mask", "b3+hn+mask [skip5]"}
    assert curves["scifact"][32]["main"]["config"]["b3_skip"] == 0  # the unsuffixed file is the main one
    v = {e["corpus"]: e for e in mk.mining_verdicts(results, curves)}
    assert v["scifact"]["arm"] == "b3+hn+mask [skip5]" and v["scifact"]["source"] == "dev"
    assert v["scifact"]["control"] == "random+hn+mask" and v["scifact"]["cmp"]["beats"]
    assert v["citeseer"]["key"] == "recall@10" and v["citeseer"]["source"] == "test"
    assert v["citeseer"]["arm"] == "community+uniform" and not v["citeseer"]["cmp"]["beats"]
    assert v["nfcorpus"]["cmp"] is None and "missing" in v["nfcorpus"]["status"]
    # B3's claim: b3+hn+mask at 32 (0.8267) vs random+hn+mask at 128 (0.8233): matches
    m = mk.curve_matches(curves["scifact"], "b3+hn+mask [skip5]", "ndcg@10")
    assert [x["bs"] for x in m] == [32] and m[0]["vs_control"]["matches"] and m[0]["vs_random"]["matches"]
    assert mk.smallest_match(m) == 32
    head = mk.curve_headline(results, "scifact", curves["scifact"])
    assert "dev-chosen `b3+hn+mask [skip5]`" in head and "**32**" in head
    assert "no 4× pair" in mk.curve_headline(results, "citeseer", curves["citeseer"])
    close = mk.closest_on_dev(json.loads((results / "scifact_dev_graph_sweep.json").read_text()))
    assert close["row"]["id"] == "b3+hn+mask [skip5]"


def test_a_graph_arm_below_its_control_4x_larger_does_not_match(mk, tmp_path):
    write(tmp_path, "curve_nfcorpus_b32.json", result(32, {"random": [0.28, 0.29, 0.28],
                                                           "random+mask+thr": [0.31, 0.31, 0.32],
                                                           "b3+mask+thr": [0.30, 0.30, 0.30]}, corpus="nfcorpus"))
    write(tmp_path, "curve_nfcorpus_b128.json", result(128, {"random": [0.29, 0.30, 0.29],
                                                             "random+mask+thr": [0.32, 0.32, 0.33]}, corpus="nfcorpus"))
    curves = mk.load_curves(tmp_path)
    m = mk.curve_matches(curves["nfcorpus"], "b3+mask+thr", "ndcg@10")
    assert not m[0]["vs_control"]["matches"] and m[0]["vs_random"]["matches"]
    head = mk.curve_headline(tmp_path, "nfcorpus", curves["nfcorpus"])
    assert "same negatives four times larger: **none**" in head and "plain `random` four times larger: **32**" in head


def test_report_renders_from_curve_and_sweep_files_only(mk, results):
    md = mk.main(["--no-run", "--results-dir", str(results), "--out", str(results / "RESULTS.md")])
    text = md.read_text()
    assert "### Issue #10 targets" in text and "met on 1 of 3 corpora" in text and "**NOT met**" in text
    assert "## Graph batches on top of mining: dev sweeps" in text and "| `b3+hn+mask` |" in text
    assert "## Batch-size curve" in text and "### CiteSeer (recall@10" in text
    assert "**Verdict (SciFact):**" in text and "b3+hn+mask [skip5]" in text
    for line in text.splitlines():  # no unescaped |B| inside a table row
        if line.startswith("|"):
            assert "|B|" not in line


def test_finetune_files_render_per_corpus_with_peer_arms(mk, tmp_path):
    """``<corpus>_finetune.json`` files render generically; peer arms (GISTEmbedLoss, -st) are told apart."""
    def ft(corpus: str, arms: dict[str, list[float]]) -> dict:
        return {
            "command": f"python examples/scifact_retrieval.py --mode finetune --corpus {corpus}",
            "config": {"arms": ",".join(arms), "seeds": [0, 1, 2], "temperature": 0.05, "ft_epochs": 1.0,
                       "ft_lr": 2e-5, "batch_size": 32, "max_seq_length": 128, "bf16": True},
            "data": {"corpus": corpus, "n_eval_queries": 10, "n_train_pairs": 100},
            "finetune": {"n_eval_docs": 50}, "frozen": {"ndcg@10": 0.3, "recall@100": 0.5},
            "reference_check": {"reference_ndcg@10": 0.3185, "why_not": "max_seq_length 128 truncates"},
            "arms": {n: {"runs": [{"seed": s, "metrics": {"ndcg@10": v, "recall@100": 0.5}, "train_time_s": 1.0,
                                   "eval_time_s": 1.0, "diagnostics": {}} for s, v in enumerate(vals)]}
                     for n, vals in arms.items()},
        }
    write(tmp_path, "scifact_finetune.json", ft("scifact", {"random": [0.64, 0.65, 0.65],
                                                            "random+hn": [0.66, 0.66, 0.67]}))
    write(tmp_path, "nfcorpus_finetune.json", ft("nfcorpus", {"random": [0.30, 0.31, 0.30],
                                                              "random+gist": [0.32, 0.32, 0.33],
                                                              "b3+hn+mask": [0.31, 0.31, 0.31]}))
    assert [p.name for p in mk.finetune_files(tmp_path)] == ["scifact_finetune.json", "nfcorpus_finetune.json"]
    assert mk.is_peer_arm("random+gist") and mk.is_peer_arm("random+hn-st") and not mk.is_peer_arm("b3+hn+mask")
    text = mk.main(["--no-run", "--results-dir", str(tmp_path), "--out", str(tmp_path / "R.md")]).read_text()
    assert "**SciFact full fine-tune**" in text and "**NFCorpus full fine-tune**" in text
    assert "### NFCorpus" in text and "The peer `random+gist` (sentence-transformers' GISTEmbedLoss)" in text
    assert "best graphneg arm `b3+hn+mask`" in text  # the peer is not counted as graphneg's


def test_header_lists_every_source_hash_with_counts(mk, tmp_path):
    for name, h in [("a.json", "aaaa"), ("b.json", "bbbb"), ("c.json", "aaaa")]:
        write(tmp_path, name, {"environment": {"graphneg_source_sha256": h}})
    write(tmp_path, "sweep.json", {"rows": []})
    text = mk.source_hashes_text(tmp_path)
    assert "`aaaa` (2 files), `bbbb` (1 file)" in text and "none recorded (1 file: `sweep.json`)" in text
    assert "2 different sources" in text and "tied to this source" not in text


def test_conflict_free_table_reports_moves_and_unresolved_conflicts(mk, tmp_path):
    cf = {"cf_initial_conflicts": 100, "cf_unresolved": 40, "cf_moved": 12, "cf_moved_share": 0.12}
    write(tmp_path, "curve_nfcorpus_b32.json", result(32, {"b3+mask+cf": [0.3, 0.3, 0.3]}, corpus="nfcorpus", diag=cf))
    write(tmp_path, "curve_nfcorpus_b128.json", result(128, {"b3+mask": [0.3, 0.3, 0.3]}, corpus="nfcorpus", diag=cf))
    text = "\n".join(mk.cf_packing_section(mk.load_curves(tmp_path)))
    assert "### Conflict-free packing: items moved and conflicts left" in text
    assert "| NFCorpus | 32 | `b3+mask+cf` | 12 (12.00%) | 100 → 40 (40.00% left) |" in text
    assert "`b3+mask`" not in text and "unresolved in 1 of 1 rows" in text and "**not** conflict-free" in text


def test_finetune_targets_flag_a_peer_beating_graphneg_by_more_than_the_spread(mk, tmp_path):
    def ft(corpus: str, arms: dict[str, list[float]]) -> dict:
        return {"config": {}, "data": {"corpus": corpus},
                "arms": {n: {"runs": [{"seed": s, "metrics": {"ndcg@10": v}} for s, v in enumerate(vals)]}
                         for n, vals in arms.items()}}
    write(tmp_path, "scifact_finetune.json", ft("scifact", {
        "random": [0.60, 0.61, 0.60], "random+hn": [0.63, 0.63, 0.63], "b3+hn+mask": [0.61, 0.61, 0.61],
        "random+hn-st": [0.62, 0.63, 0.62], "random+gist": [0.64, 0.64, 0.64]}))
    write(tmp_path, "nfcorpus_finetune.json", ft("nfcorpus", {
        "random": [0.30, 0.30, 0.30], "b3+hn+mask+thr": [0.31, 0.31, 0.31], "random+gist": [0.33, 0.33, 0.33],
        "random+hn-st": [0.31, 0.31, 0.31]}))
    sf, nf = [x for x in mk.finetune_target_lines(tmp_path) if x.startswith("- **")]
    assert "Best graphneg arm `random+hn`" in sf and "(target ≥ +1.50): **met**" in sf
    assert "Best graph-batch arm `b3+hn+mask`" in sf and sf.count("**target missed**") == 3
    assert "also the best graph-batch arm `b3+hn+mask+thr`" in nf and "target ≥" not in nf
    gist = nf.split("`random+gist`")[1]
    assert "**target missed**" in gist and "not worse by more than the seed spread" in nf.split("`random+gist`")[0]
    # a second SciFact run (another B3 skip, its own random control): each line names its file
    walk = ft("scifact", {"random": [0.60, 0.61, 0.60], "walk+hn+mask+thr": [0.60, 0.62, 0.60]})
    walk["config"] = {"b3_skip": 40}
    write(tmp_path, "scifact_finetune_walk.json", walk)
    lines = [x for x in mk.finetune_target_lines(tmp_path) if x.startswith("- **SciFact")]
    assert len(lines) == 2 and "(`scifact_finetune.json`, B3 skip 0)" in lines[0]
    assert "(`scifact_finetune_walk.json`, B3 skip 40)" in lines[1] and "(no peer arm in this run)" in lines[1]
    assert "(target ≥ +1.50): **NOT met**" in lines[1] and "same negatives and masks" not in lines[1]
    walk["arms"]["random+hn+mask+thr"] = {"runs": [{"seed": s, "metrics": {"ndcg@10": v}}
                                                   for s, v in enumerate([0.59, 0.60, 0.59])]}
    write(tmp_path, "scifact_finetune_walk.json", walk)
    line = [x for x in mk.finetune_target_lines(tmp_path) if "finetune_walk" in x][0]
    assert "vs `random+hn+mask+thr` (random batches, same negatives and masks)" in line
    assert "**beats it by more than the seed spread**" in line


def test_community_why_lines_reuse_the_why_not_diagnostics(mk):
    def arm(vals, diag):
        return {"runs": [{"seed": s, "metrics": {"recall@10": v}, "diagnostics": diag} for s, v in enumerate(vals)]}
    d_c = {"inbatch_neg_cosine": 0.38, "inbatch_false_negative_share": 0.05, "masked_share": 0.2,
           "held_out_edges_pushed": 0.26, "held_out_edges_pushed_after_mask": 0.04}
    d_r = {"inbatch_neg_cosine": 0.20, "inbatch_false_negative_share": 0.01, "masked_share": 0.0,
           "held_out_edges_pushed": 0.10, "held_out_edges_pushed_after_mask": 0.10}
    view = {32: {"arms": {"community+hopmask3": arm([0.40, 0.41, 0.40], d_c), "random": arm([0.47, 0.48, 0.47], d_r)}}}
    (line,) = mk.community_why_lines(view, "community+hopmask3", "random")
    assert line.startswith("  - *Why* (|B| = 32, loses, -7.00 points)")
    assert "in-batch negative cosine 0.380 vs 0.200" in line and "5.0× as many known positives" in line
    assert "26.00% of the held-out citations" in line and "4.00% after the arm's mask (control 10.00%)" in line
