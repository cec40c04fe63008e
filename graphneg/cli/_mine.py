"""``graphneg mine``: (query, positive) texts + a teacher -> hard negatives with their scores."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from ._common import CliError, check_output, claim_outputs, load_embeddings, log, relay_warnings

NAME = "mine"
SUMMARY = "(query, positive) texts + a teacher -> hard negatives with teacher scores, resumable"
DESCRIPTION = (
    "Read (query, positive) pairs (JSONL, CSV/TSV, Parquet or a datasets.save_to_disk folder; columns found "
    "by name: query/anchor/question, positive/pos/document/passage, optional query_id) and an optional "
    "--corpus (id + text columns; default: the distinct positives). Encode them with --model (any "
    "sentence-transformers model) or take --query-embeddings/--corpus-embeddings (.npy, one row per input "
    "row), mine hard negatives (sentence-transformers semantics: rank window, margins, score bounds, "
    "sampling) and write them with the teacher's scores in a trainer format. Rows with one query id (or "
    "identical query text) are one query: none of its positives is ever its negative, nor a corpus entry "
    "with the same text as a positive or as the query. The teacher's candidates are kept "
    "(--candidates, default OUTPUT.candidates.npz): 'graphneg mine --refilter RUN.candidates.npz' applies "
    "other thresholds, margins, sampling or output formats later without encoding. --batch-size also "
    "writes a batch plan: random-walk batches over the teacher's pair graph. An interrupted run resumes "
    "from its encoded chunks (kept in --cache-dir, or OUTPUT.parts/ until done) and writes the same bytes."
)


def add_options(c: argparse.ArgumentParser) -> None:
    """The options of ``graphneg mine``."""
    _add_input_options(c)
    _add_teacher_options(c)
    _add_mining_options(c)
    _add_output_options(c)


def _add_input_options(c: argparse.ArgumentParser) -> None:
    g = c.add_argument_group("input")
    g.add_argument("input", type=Path, nargs="?", help="(query, positive) pairs; not with --refilter")
    g.add_argument("--corpus", type=Path, help="corpus to mine from (id + text columns); default: the positives")
    g.add_argument("--query-column", help="default: query, anchor, question, sentence1, ...")
    g.add_argument("--positive-column", help="default: positive, pos, document, passage, answer, ... "
                   "(a cell may be a list of positives)")
    g.add_argument("--query-id-column", help="default: query_id, qid, ... when present; rows with one id are one "
                   "query (without ids: identical query text)")
    g.add_argument("--corpus-id-column", help="default: _id, id, doc_id, docid, corpus_id, pid")
    g.add_argument("--corpus-text-column", help="default: text, document, passage, contents, content, body")
    g.add_argument("--refilter", type=Path, metavar="RUN.candidates.npz",
                   help="re-select negatives from a stored run with the mining options given here (no encoding)")


def _add_teacher_options(c: argparse.ArgumentParser) -> None:
    g = c.add_argument_group("teacher")
    g.add_argument("--model", help="sentence-transformers model name or path")
    g.add_argument("--query-embeddings", type=Path, help=".npy, one row per input row (instead of --model)")
    g.add_argument("--corpus-embeddings", type=Path,
                   help=".npy, one row per --corpus row, or without --corpus one per input row")
    g.add_argument("--query-prompt", help="default: the model's 'query' prompt, else its default prompt")
    g.add_argument("--corpus-prompt", help="default: the model's 'document'/'passage' prompt, else its default")
    g.add_argument("--device", help="torch device for encoding and search, e.g. cuda")
    g.add_argument("--encode-batch-size", type=int, default=32)
    g.add_argument("--encode-chunk-size", type=int, default=1024, help="texts per cached chunk (the unit of resume)")
    g.add_argument("--cache-dir", type=Path, help="embedding cache, kept across runs (keyed by model name/path + "
                   "weight fingerprint, prompt, batch size and text hash); default: none kept (a run's "
                   "chunks live in OUTPUT.parts/ until it finishes)")
    g.add_argument("--restart", action="store_true", help="ignore encoded chunks of an interrupted run")


def _add_mining_options(c: argparse.ArgumentParser) -> None:
    g = c.add_argument_group("mining (sentence-transformers mine_hard_negatives semantics)")
    g.add_argument("--num-negatives", type=int, default=3)
    g.add_argument("--range-min", type=int, default=0, help="surviving candidates skipped first")
    g.add_argument("--range-max", type=int, default=None, help="surviving candidates considered "
                   "(default: num-negatives + max positives, x10 with a margin or --max-score)")
    g.add_argument("--max-score", type=float, help="drop candidates scoring above")
    g.add_argument("--min-score", type=float, help="drop candidates scoring below")
    g.add_argument("--absolute-margin", type=float, help="keep score <= positive - m (NV-Retriever MarginPos)")
    g.add_argument("--relative-margin", type=float, help="keep score <= positive - |positive| m (0.05: TopK-PercPos)")
    g.add_argument("--sampling", default="top", choices=["top", "random", "simans", "softmax"])
    g.add_argument("--temperature", type=float, help="softmax sampling (default 0.05)")
    g.add_argument("--simans-a", type=float, help="simans sampling (default 0.5)")
    g.add_argument("--simans-b", type=float, help="simans sampling (default 0.0)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--metric", default="cosine", choices=["cosine", "ip"])
    g.add_argument("--depth", type=int, default=100, help="teacher candidates kept per query for --refilter "
                   "(raised to what these settings need)")


def _add_output_options(c: argparse.ArgumentParser) -> None:
    g = c.add_argument_group("output")
    g.add_argument("-o", "--output", type=Path, required=True, help="output JSONL")
    g.add_argument("--output-format", default="st", choices=["st", "st-triplet", "flag", "tevatron", "triplets"],
                   help="st: anchor, positive, negative_1..n, scores; st-triplet: one row per negative; flag: "
                   "FlagEmbedding query/pos/neg/pos_scores/neg_scores; tevatron: passages with score; triplets: "
                   "ids, texts and scores (the graphneg citations layout)")
    g.add_argument("--candidates", type=Path, help="where the teacher's candidates go "
                   "(default: OUTPUT.candidates.npz)")
    g.add_argument("--no-candidates", action="store_true", help="do not keep the candidates")
    g.add_argument("--batch-size", type=int, help="also write a batch plan over the output rows: random-walk "
                   "batches (graphneg.walk_batches) over the teacher's pair graph")
    g.add_argument("--batch-plan", type=Path, help="default: OUTPUT.batches.jsonl")
    g.add_argument("--walk-k", type=int, default=30, help="pair graph: a row links to rows whose positive is in "
                   "its query's teacher top-k")
    g.add_argument("--walk-skip", type=int, default=0, help="pair graph: best teacher ranks skipped")
    g.add_argument("--walk-restart", type=float, default=0.1, help="restart probability of the walk")
    g.add_argument("-q", "--quiet", action="store_true")


_SETTINGS = ("num_negatives", "range_min", "range_max", "max_score", "min_score", "absolute_margin",
             "relative_margin", "seed")
# --sampling NAME -> (its options object, its flags)
_SAMPLING_FLAGS = {"simans": ("SimANS", {"simans_a": "a", "simans_b": "b"}),
                   "softmax": ("Softmax", {"temperature": "temperature"})}


def _selection(args: argparse.Namespace) -> Any:
    """The mining settings as one :class:`graphneg.NegativeSelection` (checked before any read)."""
    from .. import negatives

    for name, (_, flags) in _SAMPLING_FLAGS.items():
        for flag in flags:
            if getattr(args, flag) is not None and args.sampling != name:
                raise ValueError(f"--{flag.replace('_', '-')} is only used by sampling={name!r}, "
                                 f"got sampling={args.sampling!r}; drop it.")
    sampling: Any = args.sampling
    if sampling in _SAMPLING_FLAGS:
        cls, flags = _SAMPLING_FLAGS[sampling]
        sampling = getattr(negatives, cls)(**{opt: getattr(args, flag) for flag, opt in flags.items()
                                              if getattr(args, flag) is not None})
    return negatives.NegativeSelection(**{name: getattr(args, name) for name in _SETTINGS}, sampling=sampling)


def run(args: argparse.Namespace) -> int:
    """Run ``graphneg mine``; 0 on success."""
    t0 = time.perf_counter()
    outputs = _check_args(args)
    settings = _selection(args)
    with claim_outputs(outputs), relay_warnings(args.quiet):
        if args.refilter is not None:
            from ..io import load_mining_run

            task, cands, meta = load_mining_run(args.refilter)
            log(f"read {args.refilter}: {len(task.query_texts)} queries, {cands.num_docs} documents, "
                f"{cands.depth} candidates each", args.quiet)
            summary: dict[str, Any] = {"refiltered": str(args.refilter)}
        else:
            task, cands, meta, summary = _mine(args, settings)
        summary.update(_write(args, task, cands, meta, settings))
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(summary, indent=2))
    return 0


def _check_args(args: argparse.Namespace) -> list[Path]:
    """The mode's inputs and every output, checked before any work; the outputs."""
    teacher = [a for a in ("model", "query_embeddings", "corpus_embeddings", "corpus") if getattr(args, a)]
    if args.refilter is not None:
        if args.input is not None or teacher:
            given = ["INPUT" if args.input else f"--{a.replace('_', '-')}" for a in (["input"] if args.input else [])
                     + teacher]
            raise CliError(f"--refilter re-selects from stored candidates; drop {', '.join(given)}")
        if not args.refilter.is_file():
            raise CliError(f"--refilter {args.refilter} does not exist")
    else:
        if args.input is None:
            raise CliError("give the (query, positive) INPUT, or --refilter RUN.candidates.npz")
        if not args.input.exists():
            raise CliError(f"{args.input} does not exist")
        if args.corpus is not None and not args.corpus.exists():
            raise CliError(f"--corpus {args.corpus} does not exist")
        embeddings = (args.query_embeddings is not None, args.corpus_embeddings is not None)
        if args.model is not None and any(embeddings):
            raise CliError("give --model or --query-embeddings with --corpus-embeddings, not both")
        if args.model is None and not all(embeddings):
            raise CliError("give a teacher: --model NAME_OR_PATH, or both --query-embeddings and --corpus-embeddings")
    for name in ("num_negatives", "encode_batch_size", "encode_chunk_size", "depth", "walk_k", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CliError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    inputs = [args.input, args.corpus, args.query_embeddings, args.corpus_embeddings, args.refilter]
    named = [(args.output, "-o")]
    if args.refilter is None and not args.no_candidates:
        named.append((args.candidates or _beside(args.output, ".candidates.npz"), "--candidates"))
    if args.batch_size is not None:
        named.append((args.batch_plan or _beside(args.output, ".batches.jsonl"), "--batch-plan"))
    seen: dict[Path, str] = {}
    for path, option in named:
        check_output(path, option, inputs)
        if path.resolve() in seen:
            raise CliError(f"{option} {path} is the same file as {seen[path.resolve()]}")
        seen[path.resolve()] = option
    return [p for p, _ in named]


def _beside(output: Path, suffix: str) -> Path:
    return output.with_name(output.name + suffix)


def _mine(args: argparse.Namespace, settings: Any) -> tuple[Any, Any, dict[str, Any], dict[str, Any]]:
    """Read, check the settings, encode (or load), retrieve candidates."""
    from ..io import build_mining_task, read_text_corpus, read_text_pairs
    from ..negatives import required_depth, retrieve_candidates

    pairs = read_text_pairs(args.input, query_column=args.query_column, positive_column=args.positive_column,
                            query_id_column=args.query_id_column)
    corpus = None
    if args.corpus is not None:
        corpus = read_text_corpus(args.corpus, id_column=args.corpus_id_column, text_column=args.corpus_text_column)
    task = build_mining_task(pairs, corpus)
    log(f"read {args.input}: {pairs.num_rows} rows, {len(task.query_texts)} queries, {len(task.doc_texts)} "
        f"documents, {task.num_excluded} identical-text pairs excluded", args.quiet)
    depth = required_depth(task.positives, len(task.doc_texts), settings, exclude=task.exclude)
    if args.model is not None:
        Q, C, meta, counts = _encode(args, task)
    else:
        Q, C = _precomputed(args, task, pairs.num_rows, corpus)
        meta, counts = {"query_embeddings": str(args.query_embeddings),
                        "corpus_embeddings": str(args.corpus_embeddings)}, {}
    cands = retrieve_candidates(Q, C, task.positives, depth=max(depth, args.depth), exclude=task.exclude if task.num_excluded else None,
                                metric=args.metric, device=args.device, show_progress=not args.quiet)
    meta.update(input=str(args.input), corpus=None if corpus is None else str(args.corpus), metric=args.metric)
    summary = {"rows": pairs.num_rows, "queries": len(task.query_texts), "documents": len(task.doc_texts),
               "identical_text_excluded": task.num_excluded, "candidates_per_query": cands.depth, **counts}
    return task, cands, meta, summary


def _encode(args: argparse.Namespace, task: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any], dict[str, Any]]:
    from ..io._embedding_cache import encode_cached, load_model, model_fingerprint, resolve_prompt

    parts = _beside(args.output, ".parts")
    if args.restart and parts.exists():
        shutil.rmtree(parts)
    cache = args.cache_dir if args.cache_dir is not None else parts / "embeddings"
    log(f"loading model {args.model}", args.quiet)
    model = load_model(args.model, args.device)
    key = f"{args.model}|{model_fingerprint(model)}"
    prompts = {"query": resolve_prompt(model, args.query_prompt, "query"),
               "document": resolve_prompt(model, args.corpus_prompt, "document")}
    kw = dict(model_key=key, cache_dir=cache, batch_size=args.encode_batch_size, chunk_size=args.encode_chunk_size,
              show_progress=not args.quiet)
    log("encoding queries", args.quiet)
    Q, qc = encode_cached(model, task.query_texts, prompt=prompts["query"], desc="encoding queries", **kw)
    log("encoding documents", args.quiet)
    C, dc = encode_cached(model, task.doc_texts, prompt=prompts["document"], desc="encoding documents", **kw)
    counts = {"encoded": qc["encoded"] + dc["encoded"], "from_cache": qc["cached"] + dc["cached"]}
    log(f"encoded {counts['encoded']} texts, {counts['from_cache']} from the cache", args.quiet)
    return Q, C, {"model": args.model, "model_key": key, "prompts": prompts}, counts


def _precomputed(args: argparse.Namespace, task: Any, num_rows: int, corpus: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-row embeddings picked for the distinct queries and the corpus entries."""
    Q = load_embeddings(args.query_embeddings, "--query-embeddings")
    C = load_embeddings(args.corpus_embeddings, "--corpus-embeddings")
    if Q.shape[0] != num_rows:
        raise CliError(f"--query-embeddings {args.query_embeddings} has {Q.shape[0]} rows, the input {num_rows} "
                       "(one per input row)")
    want, source = (len(corpus[0]), "--corpus rows") if corpus is not None else (num_rows, "input rows")
    if C.shape[0] != want:
        raise CliError(f"--corpus-embeddings {args.corpus_embeddings} has {C.shape[0]} rows, expected {want} "
                       f"(one per {source})")
    if Q.shape[1] != C.shape[1]:
        raise CliError(f"--query-embeddings has dimension {Q.shape[1]}, --corpus-embeddings {C.shape[1]}")
    missing = np.flatnonzero(task.doc_rows < 0)
    if missing.size:
        why = "not in --corpus" if corpus is not None else "in list cells (give --corpus with its embeddings)"
        raise CliError(f"{missing.size} positives have no precomputed embedding: {why} "
                       f"(first: {task.doc_texts[missing[0]][:60]!r})")
    return Q[task.query_rows], C[task.doc_rows]


def _write(args: argparse.Namespace, task: Any, cands: Any, meta: dict[str, Any],
           settings: Any) -> dict[str, Any]:
    """Select, then write the candidates, the output and the batch plan (each atomically)."""
    from ..io import mined_rows, save_mining_run, write_mined
    from ..negatives import select_negatives

    hn = select_negatives(cands, settings)
    out: dict[str, Any] = {}
    if args.refilter is None and not args.no_candidates:
        path = args.candidates or _beside(args.output, ".candidates.npz")
        save_mining_run(path, task, cands, meta)
        out["candidates"] = str(path)
    lines = write_mined(args.output, task, hn, args.output_format)
    log(f"wrote {lines} {args.output_format} lines to {args.output}", args.quiet)
    out.update(output=str(args.output), output_format=args.output_format, lines=lines,
               queries_short=int(hn.num_short), negatives=int(hn.counts.sum()), removed_by_filter=hn.skipped)
    if args.batch_size is not None:
        import graphneg as gn

        from ._batches_io import write_batches

        rq, rp = mined_rows(task, hn, args.output_format)
        if rq.size == 0:
            raise CliError("no output rows: nothing to plan batches for")
        G = gn.candidate_pair_graph(cands, rq, rp, k=args.walk_k, skip=args.walk_skip)
        batches = gn.walk_batches(G, args.batch_size, restart=args.walk_restart, seed=args.seed)
        plan = args.batch_plan or _beside(args.output, ".batches.jsonl")
        write_batches(plan, batches, None)
        out.update(batch_plan=str(plan), batches=len(batches))
    parts = _beside(args.output, ".parts")
    if parts.exists():
        shutil.rmtree(parts)
    return out
