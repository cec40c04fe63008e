"""examples/make_results.py: the verdict rule, curves, fine-tune targets and the recipe section,
on small synthetic result files, and the recorded numbers in the real report."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def mk():
    spec = importlib.util.spec_from_file_location("examples_make_results_report", EXAMPLES / "make_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def arm(values, **diag):
    return {"runs": [{"seed": s, "metrics": {"ndcg@10": v, "recall@100": v}, "train_time_s": 1.0, "diagnostics": diag}
                     for s, v in enumerate(values)]}


def write(d: Path, name: str, res: dict) -> None:
    (d / name).write_text(json.dumps(res))


def result(arms: dict, **extra) -> dict:
    return {"command": "python examples/x.py", "config": {"b3_skip": 0, "max_seq_length": 128, "bf16": True},
            "frozen": {"ndcg@10": 0.5, "recall@100": 0.5}, "arms": arms, **extra}


def test_rule_and_controls(mk):
    c = mk.compare({0: 0.52, 1: 0.53, 2: 0.54}, {0: 0.50, 1: 0.50, 2: 0.51})
    assert c["beats"] and c["matches"] and abs(c["mean"] - 0.0267) < 1e-3
    c = mk.compare({0: 0.52, 1: 0.49}, {0: 0.50, 1: 0.50})  # one seed loses: never 'beats'
    assert not c["beats"] and c["matches"]
    assert mk.compare({0: 1.0}, {1: 1.0}) is None
    assert mk.control_of("walk+hn+mask+thr [skip40]") == "random+hn+mask+thr"
    assert mk.control_of("b3+uniform+hopmask3+cf") == "random+uniform+hopmask3" and mk.control_of("b3") == "random"


def test_curves_label_suffix_files_and_need_a_4x_pair(mk, tmp_path):
    write(tmp_path, "curve_scifact_b32.json", result({"random": arm([0.5, 0.51]), "random+hn+mask": arm([0.6, 0.61])}))
    write(tmp_path, "curve_scifact_b32_skip40.json", result({"walk+hn+mask": arm([0.62, 0.63])}))
    curves = mk.load_curves(tmp_path)
    assert set(curves["scifact"][32]["arms"]) == {"random", "random+hn+mask", "walk+hn+mask [skip40]"}
    assert "no 4× pair yet" in mk.curve_verdict(tmp_path, "scifact", curves["scifact"])
    write(tmp_path, "curve_scifact_b128.json", result({"random": arm([0.6, 0.6]), "random+hn+mask": arm([0.6, 0.6])}))
    chosen = {"id": "walk+hn+mask [skip40]", "control": "random+hn+mask", "mean": 0.7, "control_mean": 0.6,
              "paired_delta": {"mean": 0.1}}
    write(tmp_path, "scifact_dev_graph_sweep.json", {"chosen": chosen, "rows": [], "command": "c", "flags": [],
                                                      "protocol": "dev only"})
    verdict = mk.curve_verdict(tmp_path, "scifact", mk.load_curves(tmp_path)["scifact"])
    assert "matching `random+hn+mask` four times larger: **32**" in verdict
    text = mk.render(tmp_path)
    assert "## Batch-size curve" in text and "| `walk+hn+mask [skip40]` | 0.6250 ± 0.0071 (+2.00 ✓) |" in text


def test_finetune_targets_flag_a_peer_beating_graphneg(mk, tmp_path):
    write(tmp_path, "nfcorpus_finetune_walk.json", result({
        "random": arm([0.30, 0.31, 0.30]), "walk+hn+mask+thr": arm([0.31, 0.32, 0.31]),
        "random+hn+mask+thr": arm([0.305, 0.315, 0.305]), "random+gist": arm([0.33, 0.34, 0.33])}))
    (line,) = [x for x in mk.finetune_target_lines(tmp_path) if x.startswith("- **")]
    assert "best graphneg arm `walk+hn+mask+thr` vs `random`: +1.00 points" in line
    assert "vs the peer `random+gist` (GISTEmbedLoss): -2.00 points" in line and "**target missed**" in line


def test_recipe_section_reads_partial_files_against_the_recorded_arms(mk, tmp_path):
    write(tmp_path, "scifact_finetune_walk.json", result({
        "random": arm([0.648, 0.645, 0.652]), "random+hn-st": arm([0.66, 0.657, 0.664]),
        "random+gist": arm([0.65, 0.645, 0.655])}))
    recipe = {"command": "python examples/recipe_finetune.py --corpus scifact", "frozen": {"ndcg@10": 0.6248},
              "n_train_pairs": 919, "partial": True, "arms": {}}
    write(tmp_path, "recipe_scifact.json", recipe)
    text = "\n".join(mk.recipe_section(tmp_path))
    assert "## The recipe with its defaults (graphneg.training.st.fit)" in text
    assert "Partial file" in text and "No finished seed yet" in text and "0.6483 ± 0.0035" in text
    recipe["arms"] = {"recipe": {"runs": [{"seed": s, "metrics": {"ndcg@10": v}, "trained": True,
                                           "report": {"reason": "dev nDCG@10 beats the start"}}
                                          for s, v in ((0, 0.664), (1, 0.662))]}}
    write(tmp_path, "recipe_scifact.json", recipe)
    text = "\n".join(mk.recipe_section(tmp_path))
    assert "| `recipe` (fit, defaults) | 0.6630 ± 0.0014 | 2 | 2 of 2 | +3.82 |" in text
    assert "recipe vs `random` (same seeds 0, 1): +1.65 points (per seed +1.60, +1.70" in text and "trained on all training queries (no dev slice)" in text
    assert "the recipe with its defaults** (`graphneg.training.st.fit`): nDCG@10 0.6630 ± 0.0014" in mk.render(tmp_path)


def test_the_real_report_carries_the_recorded_numbers(mk, tmp_path):
    results = EXAMPLES / "results"
    if not (results / "scifact_head.json").is_file():
        pytest.skip("no recorded results")
    text = mk.main(["--results-dir", str(results), "--out", str(tmp_path / "RESULTS.md")]).read_text()
    for needle in ("`random` 0.7786 ± 0.0094, best arm `b3+hn+mask` 0.8235 ± 0.0036: +4.49 points",
                   "best graphneg arm `walk+hn+mask+thr` vs `random`: +1.52 points (per seed +1.12, +1.66, +1.77",
                   "vs the peer `random+gist` (GISTEmbedLoss): -0.23 points", "met on 0 of 3 corpora",
                   "**Chosen**: `walk+hn+mask+thr [skip40]`, dev 0.8108", "| `random+gist` | 0.3233 ± 0.0001 |"):
        assert needle in text, needle
