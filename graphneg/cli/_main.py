"""Command line: ``graphneg batches`` (the main job), ``graphneg citations`` (corpus
preprocessing) and ``graphneg stats`` (inspect batches).

A thin shell over the library: parse, call, print. Errors are one line on stderr with exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__

_STAT_ROWS = [
    ("mean_cosine", "mean in-batch cosine"),
    ("same_label_share", "same-label pair share"),
    ("edge_share", "graph-edge pair share"),
    ("coverage", "coverage"),
    ("n_batches", "batches"),
    ("batch_size_mean", "batch size mean"),
    ("batch_size_min", "batch size min"),
    ("batch_size_max", "batch size max"),
]


def _log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _load_npy(path: Path, option: str) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"{option} {path} does not exist")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ValueError(f"{option} {path} is not a numeric .npy array ({err})") from None


def _load_labels(path: Path, n: int | None) -> np.ndarray:
    if path.suffix == ".npy":
        labels = _load_npy(path, "--labels")
    else:
        labels = np.array([line.strip() for line in path.read_text().splitlines() if line.strip()])
    if n is not None and labels.shape[0] != n:
        raise ValueError(f"--labels {path} has {labels.shape[0]} entries, expected {n} (one per row).")
    return labels


def format_table(columns: dict[str, dict[str, float]], rows: list[tuple[str, str]] = _STAT_ROWS) -> str:
    """Side-by-side table of several stats dicts (first column is the reference for ratios)."""
    names = list(columns)
    out = [f"{'':<24}" + "".join(f"{n:>12}" for n in names) + (f"{'ratio':>9}" if len(names) == 2 else "")]
    for key, title in rows:
        vals = [columns[n].get(key) for n in names]
        if all(v is None for v in vals):
            continue
        cells = "".join(f"{v:>12.4g}" if v is not None else f"{'-':>12}" for v in vals)
        ratio = ""
        if len(vals) == 2 and vals[0] is not None and vals[1] not in (None, 0):
            ratio = f"{vals[0] / vals[1]:>9.2f}"
        out.append(f"{title:<24}{cells}{ratio}")
    return "\n".join(out)


def _write_batches(path: Path, batches: list[np.ndarray], ids: list[str] | None) -> None:
    from ..io._atomic import atomic_write

    with atomic_write(path, "w", encoding="utf-8") as fh:
        for i, b in enumerate(batches):
            rec: dict[str, Any] = {"batch": i, "indices": b.tolist()}
            if ids is not None:
                rec["ids"] = [ids[j] for j in b]
            fh.write(json.dumps(rec) + "\n")


def read_batches(path: str | Path) -> list[np.ndarray]:
    """Read a batches JSONL file written by ``graphneg batches`` (``indices`` of each line)."""
    path = Path(path)
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                out.append(np.asarray(rec["indices"], dtype=np.int64))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{path}:{lineno}: not a batch record ({err})") from err
    return out


def run_batches(args: argparse.Namespace) -> int:
    import graphneg as gn

    quiet = args.quiet
    t0 = time.perf_counter()
    ids = None
    graph_extra = None
    if args.embeddings is None:
        if args.demo_size < 2:
            raise ValueError(f"--demo-size must be >= 2, got {args.demo_size}")
        demo = gn.load_demo(args.demo_size, seed=args.seed)
        X, labels = demo.embeddings, demo.labels
        graph_extra = demo.citations
        _log(f"built-in demo dataset: {X.shape[0]} items, dim {X.shape[1]}, "
             f"{int(labels.max()) + 1} topics, {demo.citations.nnz} citations", quiet)
    else:
        X = _load_npy(args.embeddings, "--embeddings")
        labels = _load_labels(args.labels, X.shape[0]) if args.labels else None
        if args.ids:
            ids = [line.rstrip("\n") for line in args.ids.read_text(encoding="utf-8").splitlines()]
            if len(ids) != X.shape[0]:
                raise ValueError(f"--ids has {len(ids)} lines, expected {X.shape[0]}")
        _log(f"embeddings {args.embeddings}: {X.shape[0]} x {X.shape[1]}", quiet)

    own_check = args.backend not in ("exact", "faiss") and not args.mutual  # printed below
    G = gn.knn_graph(
        X, args.k, skip=args.skip, metric=args.metric, mutual=args.mutual, backend=args.backend,
        precision=args.precision, device=args.device, show_progress=not quiet,
        recall_sample=0 if own_check else 1000,
    )
    _log(f"kNN graph: k={args.k}, skip={args.skip}, metric={args.metric}, mutual={args.mutual}, "
         f"backend={args.backend}: {G.nnz} edges", quiet)
    if own_check:
        _log(f"kNN recall@{args.k} on 500 sampled rows: "
             f"{gn.knn_recall(X, G, skip=args.skip, metric=args.metric, sample=500):.4f}", quiet)
    if args.method == "metis" and args.cluster_size is None and args.n_parts is None:
        args.cluster_size = args.batch_size // 2
    comm = gn.communities(
        G, args.method, resolution=args.resolution,
        max_size=args.max_size if args.max_size else None,
        size=args.cluster_size, n_parts=args.n_parts, weighted=not args.unweighted, seed=args.seed,
    )
    sizes = np.bincount(comm)
    _log(f"communities ({args.method}): {sizes.size}, sizes {int(sizes.min())}..{int(sizes.max())} "
         f"(median {int(np.median(sizes))})", quiet)

    if args.packing == "tas":
        sampler = gn.TopicBatchSampler(comm, args.batch_size, clusters_per_batch=args.clusters_per_batch,
                                       mix_random=args.mix_random, drop_last=args.drop_last, seed=args.seed)
    else:
        sampler = gn.CommunityBatchSampler(comm, args.batch_size, packing=args.packing,
                                           mix_random=args.mix_random, drop_last=args.drop_last, seed=args.seed)
    sampler.set_epoch(args.epoch)
    batches = sampler.batches()
    control = gn.RandomBatchSampler(X.shape[0], args.batch_size, drop_last=args.drop_last, seed=args.seed)
    control.set_epoch(args.epoch)
    _write_batches(args.output, batches, ids)
    _log(f"wrote {len(batches)} batches to {args.output} "
         f"(packing={getattr(sampler, 'packing', 'tas')}) in {time.perf_counter() - t0:.1f}s", quiet)

    kw = dict(embeddings=X, labels=labels, graph=graph_extra if graph_extra is not None else G)
    ours, rand = gn.batch_stats(batches, **kw), gn.batch_stats(control.batches(), **kw)
    print(format_table({"graphneg": ours, "random": rand}))
    if args.stats_json:
        from ..io._atomic import atomic_write

        with atomic_write(args.stats_json, "w") as fh:
            json.dump({"graphneg": ours, "random": rand}, fh, indent=2)
    return 0


def run_stats(args: argparse.Namespace) -> int:
    import graphneg as gn

    batches = read_batches(args.batches)
    X = _load_npy(args.embeddings, "--embeddings") if args.embeddings else None
    n = X.shape[0] if X is not None else None
    labels = _load_labels(args.labels, n) if args.labels else None
    stats = gn.batch_stats(batches, embeddings=X, labels=labels)
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(format_table({"batches": stats}))
    return 0


def run_citations(args: argparse.Namespace) -> int:
    import warnings

    from ..exceptions import GraphNegWarning
    from ..io._readers import read_citations
    from ..io._training_data import citation_training_data

    t0 = time.perf_counter()
    if not args.input.exists():
        raise FileNotFoundError(f"{args.input} does not exist")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GraphNegWarning)
        data = read_citations(args.input, format=args.format, strict=args.strict)
    for w in caught:
        _log(f"warning: {w.message}", args.quiet)
    counts = data.counts
    _log(f"read {args.input}: {data.graph.n_nodes} papers, {counts.summary()}", args.quiet)
    embeddings = _load_npy(args.embeddings, "--embeddings") if args.embeddings else None
    extra: dict[str, Any] = {}
    if args.strategy == "khop":
        extra["hops"] = args.hops
    texts = data.texts if (data.texts and not args.ids_only) else None
    summary = citation_training_data(
        data.graph, args.output, texts=texts, output_format=args.output_format, strategy=args.strategy,
        num_negatives=args.num_negatives, exclude_hops=args.exclude_hops, seed=args.seed,
        chunk_size=args.chunk_size, embeddings=embeddings, resume=not args.restart,
        show_progress=not args.quiet, **extra,
    )
    summary["read"] = {k: v for k, v in vars(counts).items() if k != "malformed_lines"}
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(summary, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphneg",
        description="Graph-built batches and negatives for contrastive training.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser(
        "batches",
        help="embeddings -> kNN graph -> communities -> one epoch of batches (JSONL) + diagnostics",
        description="Build a kNN graph from embeddings (the built-in demo dataset when --embeddings "
        "is not given), find communities, write one epoch of batches as JSONL (one batch a line) "
        "and print batch diagnostics next to random batches.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    b.add_argument("--embeddings", type=Path, help=".npy (n_items, dim); default: built-in demo data")
    b.add_argument("--labels", type=Path, help="labels for diagnostics: .npy or text, one per line")
    b.add_argument("--ids", type=Path, help="text file of item ids, one per line, written with the batches")
    b.add_argument("--demo-size", type=int, default=3000, help="items in the demo dataset")
    b.add_argument("-o", "--output", type=Path, default=Path("batches.jsonl"), help="output JSONL")
    b.add_argument("--stats-json", type=Path, help="also write the diagnostics as JSON here")
    b.add_argument("-k", type=int, default=10, help="neighbours per item")
    b.add_argument("--skip", type=int, default=0, help="drop each item's top SKIP neighbours (B3's p)")
    b.add_argument("--metric", default="cosine", choices=["cosine", "ip", "euclidean"])
    b.add_argument("--mutual", action="store_true", help="keep only mutual kNN edges (B3)")
    b.add_argument("--backend", default="exact", choices=["exact", "auto", "faiss", "faiss-hnsw", "pynndescent"],
                   help="kNN backend; approximate ones report their recall")
    b.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"],
                   help="reduced-precision scoring with fp32 re-ranking (exact backend)")
    b.add_argument("--device", default=None, help="torch device for the kNN search, e.g. cuda")
    b.add_argument("--method", default="leiden", choices=["leiden", "louvain", "metis", "components"])
    b.add_argument("--resolution", type=float, default=1.0, help="modularity resolution")
    b.add_argument("--max-size", type=int, default=None, help="largest community (default: none)")
    b.add_argument("--cluster-size", type=int, default=None, help="exact cluster size K (B3)")
    b.add_argument("--n-parts", type=int, default=None, help="parts for --method metis")
    b.add_argument("--unweighted", action="store_true", help="ignore similarity weights")
    b.add_argument("--packing", default="auto", choices=["auto", "b3", "bfd", "fill", "tas"])
    b.add_argument("--clusters-per-batch", type=int, default=1, help="with --packing tas")
    b.add_argument("--batch-size", type=int, default=64)
    b.add_argument("--mix-random", type=float, default=0.0, help="share of random items per batch")
    b.add_argument("--drop-last", action="store_true")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--epoch", type=int, default=0)
    b.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    b.set_defaults(run=run_batches)

    c = sub.add_parser(
        "citations",
        help="citation corpus -> (citing, cited, negatives) training data, resumable",
        description="Read a citation corpus (edge list, S2ORC / Semantic Scholar JSONL, OpenAlex works, "
        "Planetoid, OGB), pair every citing paper with each paper it cites, add link-structure negatives "
        "and write JSONL training data. Interrupted runs resume where they stopped.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    c.add_argument("input", type=Path, help="corpus file or folder")
    c.add_argument("-o", "--output", type=Path, required=True, help="output JSONL")
    c.add_argument("--format", default="auto",
                   choices=["auto", "edges", "s2orc", "s2ag", "openalex", "planetoid", "ogb", "canonical"])
    c.add_argument("--output-format", default="triplets", choices=["triplets", "st", "flag", "tevatron"])
    c.add_argument("--strategy", default="uniform",
                   choices=["uniform", "khop", "degree", "ppr", "bica", "specter", "scincl"])
    c.add_argument("--num-negatives", type=int, default=3)
    c.add_argument("--exclude-hops", type=int, default=1, help="never a negative within this many hops")
    c.add_argument("--hops", type=int, default=2, help="distance of khop negatives")
    c.add_argument("--embeddings", type=Path, help=".npy node embeddings (bica, scincl)")
    c.add_argument("--ids-only", action="store_true", help="write ids even when texts are available")
    c.add_argument("--chunk-size", type=int, default=500, help="source papers per resumable chunk")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--strict", action="store_true", help="fail on the first malformed input line")
    c.add_argument("--restart", action="store_true", help="ignore finished chunks of an earlier run")
    c.add_argument("-q", "--quiet", action="store_true")
    c.set_defaults(run=run_citations)

    s = sub.add_parser("stats", help="diagnostics of a batches JSONL file",
                       description="Print diagnostics of a batches JSONL file written by `graphneg batches`.")
    s.add_argument("batches", type=Path)
    s.add_argument("--embeddings", type=Path)
    s.add_argument("--labels", type=Path)
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(run=run_stats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from ..exceptions import BackendUnavailableError

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except (ValueError, TypeError, OSError, BackendUnavailableError) as err:
        print(f"graphneg: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphneg: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
