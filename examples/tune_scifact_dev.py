"""Choose the SciFact head-variant hyper-parameters on a dev split of the *training* queries.

The test qrels are never read: every run uses ``scifact_retrieval.py --mode head --eval-split dev``
(80 % of the 809 training queries train, the other 20 % are the dev queries) and seeds 0 1 2.

Stage A tunes the shared training settings (learning rate, epochs, shared or separate head) on
the ``random`` control arm only, so the graph arms get no extra tuning of those. Stage B then
tunes each graph arm's own knobs with stage A's settings fixed: B3's cluster size K and rank
window (skip p, length m), TAS's clusters per batch and Leiden resolution, and the number of
mined negatives (on ``random+hn``; used by every ``+hn`` arm and the sentence-transformers
peer). ``b3+hn+mask`` inherits B3's knobs. The selection rule is the best mean dev nDCG@10.

Writes ``examples/results/scifact_dev_sweep.json`` (atomically) and prints the chosen flags,
which are the defaults of ``scifact_retrieval.py``. About 3 minutes on 2 CPU cores.

    python examples/tune_scifact_dev.py [--data FOLDER] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402
import scifact_retrieval as S  # noqa: E402


def run(common: list[str], arm: str, flags: dict[str, Any], tmp: Path) -> float:
    argv = [*common, "--arms", arm, "--out", str(tmp)]
    for k, v in flags.items():
        argv += [f"--{k}", str(v)]
    with contextlib.redirect_stdout(io.StringIO()):
        res = S.main(argv)
    return res["arms"][arm]["summary"]["metrics"]["ndcg@10"]["mean"]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        prog="tune_scifact_dev.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data", type=Path, default=None, help="canonical retrieval corpus folder (default: converted SciFact)"
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--quick", action="store_true", help="a tiny grid (for tests)")
    p.add_argument("--out", type=Path, default=U.RESULTS_DIR / "scifact_dev_sweep.json")
    args = p.parse_args(argv)
    start = time.perf_counter()
    common = ["--mode", "head", "--eval-split", "dev", "--seeds", *map(str, args.seeds)]
    if args.data is not None:
        common += ["--data", str(args.data)]
    tmp = args.out.parent / ".sweep_run.json"
    if args.quick:
        grid_a = {"lr": [1e-3], "epochs": [1, 2], "head": ["shared"]}
        grid_b3 = {"cluster-size": [4], "b3-skip": [0], "b3-k": [5]}
        grid_tas = {"tas-clusters-per-batch": [2], "tas-resolution": [1.0]}
        grid_hn = {"num-negatives": [1]}
    else:
        grid_a = {"lr": [3e-4, 1e-3, 3e-3], "epochs": [2, 4, 8, 16], "head": ["shared", "separate"]}
        grid_b3 = {"cluster-size": [4, 8, 16], "b3-skip": [0, 5, 20], "b3-k": [10, 30]}
        grid_tas = {"tas-clusters-per-batch": [1, 2, 4], "tas-resolution": [0.5, 1.0, 2.0]}
        grid_hn = {"num-negatives": [1, 2, 3]}

    def sweep(
        arm: str, grid: dict[str, list[Any]], fixed: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rows = []
        for values in itertools.product(*grid.values()):
            flags = dict(zip(grid, values, strict=True))
            score = run(common, arm, {**fixed, **flags}, tmp)
            rows.append({"arm": arm, "flags": flags, "dev_ndcg@10": score})
            print(f"  {arm:<12} {flags} -> dev nDCG@10 {score:.4f}", flush=True)
        best = max(rows, key=lambda r: r["dev_ndcg@10"])
        return best["flags"], rows

    print("stage A: shared training settings on the random arm", flush=True)
    best_a, rows_a = sweep("random", grid_a, {})
    print(f"-> {best_a}", flush=True)
    print("stage B: each arm's own knobs", flush=True)
    best_b3, rows_b3 = sweep("b3", grid_b3, best_a)
    best_tas, rows_tas = sweep("tas", grid_tas, best_a)
    best_hn, rows_hn = sweep("random+hn", grid_hn, best_a)
    chosen = {**best_a, **best_b3, **best_tas, **best_hn}
    flags = " ".join(f"--{k} {v}" for k, v in chosen.items())
    result = {
        "experiment": "scifact_dev_sweep",
        "command": U.command_line("tune_scifact_dev.py", argv),
        "protocol": "dev split: 20% of the training queries (dev seed 0), seeds "
        f"{args.seeds}; selection = best mean dev nDCG@10; test qrels never read",
        "chosen": chosen,
        "chosen_flags": flags,
        "stages": {"A_random": rows_a, "B_b3": rows_b3, "B_tas": rows_tas, "B_random+hn": rows_hn},
        "wall_time_s": time.perf_counter() - start,
    }
    U.write_json_atomic(args.out, result)
    if tmp.exists():
        tmp.unlink()
    print(f"chosen: {flags}\nwrote {args.out} ({result['wall_time_s']:.0f} s)", flush=True)
    return result


if __name__ == "__main__":
    main()
