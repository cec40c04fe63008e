"""Dev-split sweep of the graph-batch arms of the retrieval head variant (issue #10).

Issue #10 asks whether graph-built batches add something *on top of* mined hard negatives and
masks: the best graph-batch arm against random batches with the same negatives and masks
(``random+hn+mask`` and its ``+thr`` twin). This sweep picks that graph arm, and B3's rank-window
skip p (``--b3-skip``: B3 drops the p most similar candidates of each query to avoid false
negatives; ``knn_graph(skip=p)`` -> ``communities`` -> ``CommunityBatchSampler``, and the walk
sampler's pair graph), on the **dev split only** (``--eval-split dev``: SciFact a holdout of the
training queries, NFCorpus its ``qrels/dev.tsv``); the test qrels are never read.

Every setting is one ``scifact_retrieval.py --mode head`` run written to ``--runs-dir``
(``<corpus>_dev_b<B>_base.json`` for the skip-independent arms, ``<corpus>_dev_b<B>_skip<p>.json``
per skip); those files are saved after every (arm, seed) and ``--resume`` continues them. After
every setting the summary ``<corpus>_dev_graph_sweep.json`` is rewritten: each (setting, arm)
with its per-seed dev nDCG@10, and the choice. Selection rule: among the graph-batch arms that use
mined negatives and the known-positive mask (``{b3,tas,walk}+hn+mask[+thr][+cf]``), the best mean
dev nDCG@10 over the seeds; its control is the random-batch arm with the same negatives and masks.
Per-corpus training settings are ``batch_size_curve.CORPUS_FLAGS`` (chosen on dev before).

    python examples/tune_graph_dev.py --corpus scifact            # ~5 min on 2 CPU cores
    python examples/tune_graph_dev.py --corpus nfcorpus --resume  # ~15 min
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402
import batch_size_curve as C  # noqa: E402
import scifact_retrieval as S  # noqa: E402

BASE_ARMS = "random+hn+mask,random+hn+mask+thr,tas+hn+mask,tas+hn+mask+thr"
SKIP_ARMS = "b3+hn+mask,b3+hn+mask+thr,b3+hn+mask+cf,walk+hn+mask,walk+hn+mask+thr"
GRAPH_KINDS = ("b3", "tas", "walk")
DIAG_KEYS = ("inbatch_neg_cosine", "inbatch_false_negative_share", "known_positive_in_batch_per_query", "masked_share")


def is_candidate(arm: str) -> bool:
    """A graph-batch arm with mined negatives and the known-positive mask."""
    parts = arm.split("+")
    return parts[0] in GRAPH_KINDS and "hn" in parts[1:] and "mask" in parts[1:]


def control_of(arm: str) -> str:
    """The random-batch arm with the same negatives and masks (``+cf`` is a batch repair: dropped)."""
    opts = [o for o in arm.split("+")[1:] if o != "cf"]
    return "+".join(["random", *opts])


def rows_of(res: dict[str, Any], setting: dict[str, Any], label: str) -> list[dict[str, Any]]:
    rows = []
    for name, a in res.get("arms", {}).items():
        if not a["runs"]:
            continue
        per_seed = {int(r["seed"]): float(r["metrics"]["ndcg@10"]) for r in a["runs"]}
        s = U.mean_std(list(per_seed.values()))
        diag = {
            k: U.mean_std([r["diagnostics"].get(k) for r in a["runs"] if r["diagnostics"].get(k) is not None])["mean"]
            for k in DIAG_KEYS
        }
        rows.append(
            {
                "setting": setting,
                "label": label,
                "arm": name,
                "id": name if not setting else f"{name} [{label}]",
                "per_seed": per_seed,
                "mean": s["mean"],
                "std": s["std"],
                "diagnostics": diag,
            }
        )
    return rows


def choose(rows: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any] | None:
    """The best complete candidate by mean dev nDCG@10, with its control and their paired difference."""
    controls = {r["arm"]: r for r in rows if r["arm"].startswith("random")}
    cands = [
        r
        for r in rows
        if is_candidate(r["arm"]) and set(seeds) <= set(r["per_seed"]) and control_of(r["arm"]) in controls
    ]
    if not cands:
        return None
    best = max(cands, key=lambda r: r["mean"])
    ctrl = controls[control_of(best["arm"])]
    d = [best["per_seed"][s] - ctrl["per_seed"][s] for s in seeds if s in ctrl["per_seed"]]
    return {
        "arm": best["arm"],
        "setting": best["setting"],
        "id": best["id"],
        "mean": best["mean"],
        "std": best["std"],
        "control": ctrl["arm"],
        "control_mean": ctrl["mean"],
        "control_std": ctrl["std"],
        "paired_delta": U.mean_std(d),
        "per_seed_delta": d,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        prog="tune_graph_dev.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--corpus", choices=sorted(C.CORPUS_FLAGS), default="scifact")
    p.add_argument("--data", type=Path, default=None, help="canonical retrieval corpus folder (tests)")
    p.add_argument("--skips", type=int, nargs="+", default=[0, 5, 10, 20], help="B3 rank-window starts p")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--base-arms", default=BASE_ARMS, help="arms that do not depend on the skip")
    p.add_argument("--skip-arms", default=SKIP_ARMS, help="arms run once per skip")
    p.add_argument("--extra", default="", help="further flags for scifact_retrieval.py (space separated)")
    p.add_argument("--runs-dir", type=Path, default=U.RESULTS_DIR / "dev_runs")
    p.add_argument(
        "--out", type=Path, default=None, help="summary JSON (default: examples/results/<corpus>_dev_graph_sweep.json)"
    )
    p.add_argument("--resume", action="store_true", help="continue the per-setting files")
    p.add_argument("--quick", action="store_true", help="accepted for symmetry: the sweep is head-only")
    args = p.parse_args(argv)
    out = args.out or U.RESULTS_DIR / f"{args.corpus}_dev_graph_sweep.json"
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    common = [
        "--mode",
        "head",
        "--corpus",
        args.corpus,
        "--eval-split",
        "dev",
        "--batch-size",
        str(args.batch_size),
        "--seeds",
        *map(str, args.seeds),
        "--threads",
        "1",
        *C.CORPUS_FLAGS[args.corpus],
        *args.extra.split(),
    ]
    if args.data is not None:
        common += ["--data", str(args.data)]
    settings: list[tuple[str, dict[str, Any], str, list[str]]] = [("base", {}, args.base_arms, [])]
    settings += [(f"skip{s}", {"b3_skip": s}, args.skip_arms, ["--b3-skip", str(s)]) for s in args.skips]
    start = time.perf_counter()
    summary: dict[str, Any] = {
        "experiment": f"{args.corpus}_dev_graph_sweep",
        "command": U.command_line("tune_graph_dev.py", argv),
        "corpus": args.corpus,
        "batch_size": args.batch_size,
        "seeds": args.seeds,
        "flags": [*C.CORPUS_FLAGS[args.corpus], *args.extra.split()],
        "protocol": (
            "dev split only (SciFact: 20% of the training queries held out, dev seed 0; NFCorpus: "
            "qrels/dev.tsv); selection = best mean dev nDCG@10 over the seeds among "
            "{b3,tas,walk}+hn+mask[+thr][+cf]; control = random batches with the same negatives and "
            "masks; test qrels never read"
        ),
        "files": {},
        "rows": [],
        "chosen": None,
    }
    rows: list[dict[str, Any]] = []
    prev = json.loads(out.read_text()) if args.resume and out.is_file() else {}
    earlier = float(prev.get("wall_time_s", 0.0))  # wall time of the invocations this one resumes
    for tag, setting, arms, flags in settings:
        f = args.runs_dir / f"{args.corpus}_dev_b{args.batch_size}_{tag}.json"
        argv_run = [*common, *flags, "--arms", arms, "--out", str(f)]
        if args.resume and f.is_file():
            argv_run.append("--resume")
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            res = S.main(argv_run)
        rows += rows_of(res, setting, tag)
        summary["files"][tag] = str(f.relative_to(U.REPO_ROOT)) if f.is_relative_to(U.REPO_ROOT) else str(f)
        summary["frozen_dev_ndcg@10"] = res["frozen"]["ndcg@10"]
        summary["rows"], summary["chosen"] = rows, choose(rows, args.seeds)
        summary["wall_time_s"] = earlier + time.perf_counter() - start
        U.write_json_atomic(out, summary)
        best = ", ".join(f"{r['arm']} {r['mean']:.4f}" for r in rows_of(res, setting, tag))
        print(f"{args.corpus} {tag}: {best} [{time.perf_counter() - t0:.0f} s]", flush=True)
    c = summary["chosen"]
    if c:
        print(
            f"chosen: {c['id']} dev {c['mean']:.4f} vs {c['control']} {c['control_mean']:.4f} "
            f"(paired {100 * c['paired_delta']['mean']:+.2f} points)",
            flush=True,
        )
    print(f"wrote {out}", flush=True)
    return summary


if __name__ == "__main__":
    main()
