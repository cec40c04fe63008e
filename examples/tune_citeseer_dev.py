"""Choose the citation batch-size-curve arms on a dev split of the *training* citations (issue #10).

Every run is ``citeseer_citations.py --eval-split dev`` (a further seeded 10 % of the training
citations held out as dev, training on the rest): the test citations are never read. For each batch
size the raw runs go to ``--runs-dir`` (``citeseer_dev_b<B>.json``, rewritten after every (arm, seed)
run, continued by ``--resume``); after every run the summary ``--out``
(``examples/results/citeseer_dev_sweep.json``) is rewritten: per batch size and arm the dev
recall@10 (mean, std, per seed), the paired differences to ``random`` and to the random-batch arm
with the same negatives and masks, the batch diagnostics before/after masking, and the choice.

Selection rule (fixed before looking at any number; dev recall@10 averaged over the seeds and then
over the batch sizes, arms complete at every size only):

- ``graph``: the best arm with graph-built batches (``community``, ``community-cite``, ``b3``,
  ``walk``) and no extra negatives; its hop radius is the curve's structure-aware mask radius h;
- ``community``: the best ``community`` / ``community-cite`` arm (the issue's question: do community
  batches with the structure-aware mask still lose to random batches?);
- ``negatives``: the best random-batch arm with extra negatives;
- ``graph_negatives``: the best graph-batch arm with extra negatives.

The curve arms are then ``random``, ``random+mask``, ``random+hopmask<h>``, those four and the
random-batch control of every chosen graph arm (same negatives and masks), and ``community+hopmask<h>``
(the structure-aware mask alone on community batches).

    python examples/tune_citeseer_dev.py --resume            # ~35 min on 2 shared CPU cores
    python examples/tune_citeseer_dev.py --batch-sizes 32 --seeds 0
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402

DEV_ARMS = ",".join(
    [
        "random",
        "random+mask",
        "random+hopmask1",
        "random+hopmask2",
        "random+hopmask3",
        "community",
        "community+mask",
        "community+hopmask2",
        "community+hopmask3",
        "community+hopmask2+cf",
        "community+hopmask3+cf",
        "community+mix+hopmask2",
        "community+mix+hopmask3",
        "community-cite+hopmask2",
        "community-cite+hopmask2+cf",
        "community-cite+hopmask3+cf",
        "b3+hopmask2",
        "b3+hopmask2+cf",
        "b3+hopmask3",
        "b3+hopmask3+cf",
        "walk",
        "walk+mask",
        "walk+hopmask1",
        "walk+hopmask2",
        "walk+hopmask3",
        "walk+hopmask2+cf",
        "walk+hopmask3+cf",
        "random+uniform+mask",
        "random+uniform+hopmask2",
        "random+uniform+hopmask3",
        "community+uniform+hopmask2+cf",
        "community+uniform+hopmask3+cf",
        "walk+uniform+hopmask2",
        "walk+uniform+hopmask3",
        "b3+uniform+hopmask3+cf",
    ]
)
GRAPH_KINDS = ("community", "community-cite", "b3", "walk")
DIAG_KEYS = (
    "held_out_edges_pushed",
    "held_out_edges_pushed_after_mask",
    "masked_share",
    "negatives_per_query_after_mask",
    "same_class_share",
    "inbatch_neg_cosine",
    "cf_moved_share",
)


def load_citations() -> Any:
    spec = importlib.util.spec_from_file_location(
        "examples_citeseer_citations", U.EXAMPLES_DIR / "citeseer_citations.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def arm_table(res: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, a in res["arms"].items():
        if not a["runs"] or "summary" not in a:
            continue
        s = a["summary"]
        row = {
            "recall@10": s["metrics"]["recall@10"],
            "per_seed": {str(r["seed"]): r["metrics"]["recall@10"] for r in a["runs"]},
            "diagnostics": {k: s["diagnostics"].get(k) for k in DIAG_KEYS if k in s["diagnostics"]},
        }
        if "vs_random_paired" in s:
            row["vs_random_paired"] = s["vs_random_paired"]["recall@10"]
        if "vs_control_paired" in s:
            row["control"] = s["control"]
            row["vs_control_paired"] = s["vs_control_paired"]["recall@10"]
        out[name] = row
    return out


def hops_of(name: str) -> int | None:
    m = re.search(r"\+hopmask(\d+)", name)
    return int(m.group(1)) if m else None


def choose(tables: dict[str, dict[str, Any]], seeds: list[int], control_of: Any) -> dict[str, Any] | None:
    """The selection rule of the module docstring over the complete (every size, every seed) arms."""
    if not tables:
        return None
    names = set.intersection(*(set(t) for t in tables.values()))
    complete = [a for a in names if all(t[a]["recall@10"]["n"] == len(seeds) for t in tables.values())]
    pooled = {a: sum(t[a]["recall@10"]["mean"] for t in tables.values()) / len(tables) for a in complete}

    def best(pred: Any) -> str | None:
        cand = [a for a in pooled if pred(a.split("+"))]
        return max(cand, key=lambda a: pooled[a]) if cand else None

    negs = ("uniform", "specter", "khop")
    chosen = {
        "graph": best(lambda p: p[0] in GRAPH_KINDS and not any(o in negs for o in p)),
        "community": best(lambda p: p[0] in ("community", "community-cite")),
        "negatives": best(lambda p: p[0] == "random" and any(o in negs for o in p)),
        "graph_negatives": best(lambda p: p[0] in GRAPH_KINDS and any(o in negs for o in p)),
    }
    h = hops_of(chosen["graph"] or "") or 2
    arms = ["random", "random+mask", f"random+hopmask{h}"]
    for key in ("graph", "community", "negatives", "graph_negatives"):
        a = chosen[key]
        if a is None:
            continue
        ctl = control_of(a, {x: None for x in [*pooled, *arms]}) if a.split("+")[0] != "random" else None
        for x in (ctl, a):
            if x and x not in arms:
                arms.append(x)
    if f"community+hopmask{h}" not in arms:
        arms.append(f"community+hopmask{h}")
    ranking = sorted(pooled, key=lambda a: -pooled[a])
    return {
        "pooled_dev_recall@10": {a: pooled[a] for a in ranking},
        "chosen": chosen,
        "mask_hops": h,
        "curve_arms": ",".join(arms),
        "batch_sizes": sorted(int(b) for b in tables),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None, help="canonical graph corpus (default: converted CiteSeer)")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--arms", default=DEV_ARMS)
    p.add_argument("--runs-dir", type=Path, default=U.RESULTS_DIR / "dev_runs")
    p.add_argument("--out", type=Path, default=U.RESULTS_DIR / "citeseer_dev_sweep.json")
    p.add_argument("--extra", default="", help="further flags for citeseer_citations.py (space separated)")
    p.add_argument("--resume", action="store_true", help="continue the runs files (finished runs are kept)")
    p.add_argument("--quick", action="store_true", help="accepted for symmetry: the sweep is head-only")
    args = p.parse_args(argv)
    cs = load_citations()
    start = time.perf_counter()
    tables: dict[str, dict[str, Any]] = {}
    summary: dict[str, Any] = {
        "experiment": "citeseer_dev_sweep",
        "command": U.command_line("tune_citeseer_dev.py", argv),
        "eval_split": "dev",
        "seeds": args.seeds,
        "arms": args.arms.split(","),
        "selection_rule": (__doc__ or "").split("Selection rule")[1].split("    python")[0].strip(),
        "runs_files": {},
        "by_batch_size": tables,
        "data": None,
        "choice": None,
    }

    def write(res: dict[str, Any] | None = None, bs: int | None = None) -> None:
        if res is not None:
            tables[str(bs)] = arm_table(res)
            summary["data"] = res["data"]
            summary.setdefault("frozen_dev", {})[str(bs)] = res["frozen"]
        summary["choice"] = choose(tables, args.seeds, cs.control_of) if len(tables) == len(args.batch_sizes) else None
        summary["partial"] = summary["choice"] is None or bool(res and res.get("partial"))
        summary["wall_time_s"] = time.perf_counter() - start
        U.write_json_atomic(args.out, summary)

    args.runs_dir.mkdir(parents=True, exist_ok=True)
    for bs in args.batch_sizes:
        out = args.runs_dir / f"citeseer_dev_b{bs}.json"
        summary["runs_files"][str(bs)] = out
        flags = [
            "--eval-split",
            "dev",
            "--batch-size",
            str(bs),
            "--arms",
            args.arms,
            "--seeds",
            *map(str, args.seeds),
            "--out",
            str(out),
            *args.extra.split(),
        ]
        if args.data is not None:
            flags += ["--data", str(args.data)]
        if args.resume and out.is_file():
            flags.append("--resume")
        cs.main(flags, on_run=lambda res, bs=bs: write(res, bs))
    write()
    choice = summary["choice"]
    print(f"wrote {args.out}; curve arms: {choice['curve_arms'] if choice else None}", flush=True)
    return summary


if __name__ == "__main__":
    main()
