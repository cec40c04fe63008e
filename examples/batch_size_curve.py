"""Batch-size curve of the head variant (issue #10, item 4): retrieval and citation corpora.

Runs ``scifact_retrieval.py --mode head`` (SciFact, NFCorpus: nDCG@10) or ``citeseer_citations.py``
(CiteSeer: recall@10 of held-out citations) for every (corpus, batch size) and writes one JSON file
per pair, ``examples/results/curve_<corpus>_b<size>.json``, as soon as it finishes (each file is
also updated after every (arm, seed) run). ``--resume`` skips finished files and finished runs of
partial ones. Per-corpus settings (``CORPUS_FLAGS``, ``CITATION_CORPORA``) are the ones chosen on
the dev split.

Examples::

    python examples/batch_size_curve.py --quick                  # all corpora, |B| = 32 128 512, seeds 0 1 2
    python examples/batch_size_curve.py --corpora citeseer --resume
    python examples/batch_size_curve.py --corpora scifact --batch-sizes 32 --resume
    python examples/batch_size_curve.py --corpora scifact --arms walk+hn+mask+thr --extra "--b3-skip 5" --suffix skip5
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402

CURVE_ARMS = "random,random+mask,random+hn+mask,b3+mask,b3+hn+mask,walk+mask,b3+mask+cf"
# chosen on the dev split (SciFact: tune_scifact_dev.py; NFCorpus: the diagnosis in nfcorpus_head_dev*.json
# (2 pairs per query, masks) and the lr x epochs grid on random+hn+mask+thr in
# results/dev_runs/nfcorpus_dev_b32_stageA_lr*.json; see RESULTS.md)
CORPUS_FLAGS: dict[str, list[str]] = {
    "scifact": [],
    "nfcorpus": ["--pairs-per-query", "2", "--epochs", "2", "--lr", "0.0001"],
}

# Citation corpora: ``citeseer_citations.py`` (recall@10 of held-out citations, ``--eval-split`` as there).
# Arms and flags chosen on its dev split (results/citeseer_dev_sweep.json; see citeseer_citations.py):
# the controls, the structure-aware mask, the best graph-batch arms, and random batches with the same
# negatives and masks as the best graph arm ("do graph batches add something on top of mining?").
CITESEER_CURVE_ARMS = (
    "random,random+mask,random+hopmask3,walk+hopmask3,random+uniform+hopmask3,"
    "community+uniform+hopmask3+cf,b3+uniform+hopmask3+cf,community+hopmask3"
)
CITATION_CORPORA: dict[str, dict[str, Any]] = {
    "citeseer": {"arms": CITESEER_CURVE_ARMS, "flags": []},
}


def load_retrieval() -> Any:
    return load_script("scifact_retrieval")


def load_script(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"examples_{name}", U.EXAMPLES_DIR / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def finished(out: Path, arms: list[str], seeds: list[int]) -> bool:
    """``out`` is complete and holds every requested (arm, seed) run."""
    if not out.is_file():
        return False
    res = json.loads(out.read_text())
    have = {(name, r["seed"]) for name, a in res.get("arms", {}).items() for r in a["runs"]}
    have |= {(name, s) for name in res.get("skipped_arms", {}) for s in seeds}
    return not res.get("partial") and all((a.strip(), s) in have for a in arms if a.strip() for s in seeds)


def main(argv: list[str] | None = None) -> list[Path]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--corpora",
        nargs="+",
        default=["scifact", "nfcorpus", "citeseer"],
        choices=sorted(CORPUS_FLAGS) + sorted(CITATION_CORPORA),
    )
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 512])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument(
        "--arms",
        default=None,
        help=f"comma-separated arms (default: {CURVE_ARMS} for the retrieval "
        "corpora, CITATION_CORPORA[corpus]['arms'] for the citation corpora)",
    )
    p.add_argument("--data", type=Path, default=None, help="a canonical corpus folder (tests); one corpus only")
    p.add_argument("--results-dir", type=Path, default=U.RESULTS_DIR)
    p.add_argument("--eval-split", choices=("test", "dev"), default="test")
    p.add_argument(
        "--extra", default="", help="further flags for scifact_retrieval.py / citeseer_citations.py (space separated)"
    )
    p.add_argument(
        "--suffix",
        default="",
        help="file name suffix (curve_<corpus>_b<size>_<suffix>.json), e.g. for "
        "a dev-chosen arm run with other --extra settings (make_results.py labels its arms '[suffix]')",
    )
    p.add_argument("--resume", action="store_true", help="skip finished files and finished runs")
    p.add_argument("--quick", action="store_true", help="accepted for symmetry: the curve is head-only")
    args = p.parse_args(argv)
    mods: dict[str, Any] = {}
    written = []
    for corpus in args.corpora:
        for bs in args.batch_sizes:
            tag = "".join(f"_{x}" for x in (args.suffix, "dev" if args.eval_split == "dev" else "") if x)
            out = args.results_dir / f"curve_{corpus}_b{bs}{tag}.json"
            citation = corpus in CITATION_CORPORA
            arms = args.arms or (CITATION_CORPORA[corpus]["arms"] if citation else CURVE_ARMS)
            if args.resume and finished(out, arms.split(","), args.seeds):
                print(f"skip {out} (finished)", flush=True)
                written.append(out)
                continue
            common = [
                "--batch-size",
                str(bs),
                "--arms",
                arms,
                "--eval-split",
                args.eval_split,
                "--seeds",
                *map(str, args.seeds),
                "--out",
                str(out),
            ]
            if citation:
                script = "citeseer_citations"
                flags = [*common, *CITATION_CORPORA[corpus]["flags"], *args.extra.split()]
            else:
                script = "scifact_retrieval"
                flags = ["--mode", "head", "--corpus", corpus, *common, *CORPUS_FLAGS[corpus], *args.extra.split()]
            if args.data is not None:
                flags += ["--data", str(args.data)]
            if args.resume and out.is_file():
                flags.append("--resume")
            start = time.perf_counter()
            if script not in mods:
                mods[script] = load_script(script)
            mods[script].main(flags)
            print(f"curve {corpus} |B|={bs}: {time.perf_counter() - start:.0f} s", flush=True)
            written.append(out)
    return written


if __name__ == "__main__":
    main()
