"""``graphneg inspect``: look at a graph, its communities, a batch file or mined negatives
before training on them (terminal summary, summary.json, PNG plots, report.html)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import _batches
from ._citations import add_reader_options, reader_options
from ._common import CliError, claim_outputs, load_embeddings, load_labels, log, read_text, relay_warnings

NAME = "inspect"
SUMMARY = "summary, plots and an HTML report of embeddings, a graph, a corpus, batches or negatives"
DESCRIPTION = (
    "Inspect INPUT before training: an embeddings .npy (the graph and batches are built as "
    "`graphneg batches` builds them, same options), a graph file (.npz), a citation corpus (any "
    "format `graphneg citations` reads), a batches JSONL or a mined-negatives JSONL. Writes "
    "summary.json, PNG plots (extra [plot]) and a self-contained report.html to --out."
)


def add_options(p: argparse.ArgumentParser) -> None:
    """The options of ``graphneg inspect`` (graph and batch options as for ``graphneg batches``)."""
    p.add_argument("input", type=Path, help="embeddings .npy, graph .npz, corpus, batches or negatives JSONL")
    p.add_argument("--out", type=Path, required=True, help="output folder (created)")
    p.add_argument("--embeddings", type=Path, help=".npy (n_items, dim) for a graph, corpus, batch or negatives file")
    p.add_argument("--labels", type=Path, help="class per item (.npy or text, one a line): same-label pairs")
    p.add_argument("--ids", type=Path, help="item id per embedding row (text, one a line)")
    p.add_argument("--qrels", type=Path, help="known positives between items: edge list (ids or row numbers)")
    p.add_argument("--links", type=Path, help="link graph between items (any corpus format `citations` reads)")
    p.add_argument("--num-replicas", type=int, default=1, help="DDP ranks for the per-rank batch counts")
    for opt in ("range-min", "range-max"):
        p.add_argument(f"--{opt}", type=int, default=None, help="mining rank window, marked on the plot")
    for opt in ("relative-margin", "absolute-margin"):
        p.add_argument(f"--{opt}", type=float, default=None, help="mining margin, marked on the plot")
    p.add_argument("--cache-dir", type=Path, help="reuse graphs built from the same embeddings and options")
    p.add_argument("--no-plots", action="store_true", help="summary and report without plots")
    p.add_argument("--map", default="auto", choices=["auto", "umap", "pca"],
                   help="2-D map method; auto = pca (fast); umap on request (needs umap-learn, compiles for tens of seconds)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_reader_options(p)  # how a corpus input is read, as for `graphneg citations`
    _batches._add_graph_options(p)  # the same graph options and defaults as `graphneg batches`
    _batches._add_batch_options(p)


def run(args: argparse.Namespace) -> int:
    """Run ``graphneg inspect``; 0 on success."""
    from ..inspection import BatchOptions, GraphOptions, inspect
    from ..inspection._report import format_summary, plot_files, write_report

    t0 = time.perf_counter()
    inputs = [args.input, args.embeddings, args.labels, args.ids, args.qrels, args.links]
    _check_inputs(args)
    out = _check_out_dir(args.out, inputs)
    out.mkdir(parents=True, exist_ok=True)
    outputs = [out / name for name in ("summary.json", "report.html", *plot_files())]
    with claim_outputs(outputs), relay_warnings(args.quiet):
        X = load_embeddings(args.embeddings) if args.embeddings else None
        ids = read_text(args.ids, "--ids").splitlines() if args.ids else None
        if ids is not None and X is not None and len(ids) != X.shape[0]:
            raise CliError(f"--ids {args.ids} has {len(ids)} lines, expected {X.shape[0]} (one per row)")
        n = X.shape[0] if X is not None else _rows_of_input(args.input)
        labels = load_labels(args.labels, n) if args.labels else None
        log(f"inspecting {args.input} ...", args.quiet)
        with _step_log(args.quiet):
            summary = inspect(
                args.input, embeddings=X, labels=labels, ids=ids,
                positives=_pairs(args.qrels, "--qrels", ids, n), links=_pairs(args.links, "--links", ids, n),
                graph_options=GraphOptions(knn=graph_options(args), communities=community_options(args),
                                           corpus=_corpus_options(args), cache_dir=args.cache_dir),
                batch_options=BatchOptions(**batch_options(args)),
                negatives_options={k: getattr(args, k) for k in
                                   ("range_min", "range_max", "relative_margin", "absolute_margin")},
                map_method=args.map, seed=args.seed, show_progress=not args.quiet,
            )
        written = write_report(summary, out, plots=not args.no_plots, show_progress=not args.quiet)
    print(format_summary(summary))
    if written["note"]:
        log(f"graphneg: note: {written['note']}", quiet=False)
    log(f"wrote {written['summary']}, {len(written['plots'])} plots and {written['report']} "
        f"in {time.perf_counter() - t0:.1f}s", args.quiet)
    return 0


def _corpus_options(args: argparse.Namespace) -> dict[str, Any]:
    """Reader options when any was given (they apply to corpus inputs only; inspect says so otherwise)."""
    given = args.format != "auto" or args.delimiter != "auto" or args.header != "auto"
    return reader_options(args) if given else {}


@contextlib.contextmanager
def _step_log(quiet: bool) -> Iterator[None]:
    """Show the library's step messages (logger ``graphneg.inspection``, INFO) on stderr."""
    if quiet:
        yield
        return
    logger = logging.getLogger("graphneg.inspection")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _check_inputs(args: argparse.Namespace) -> None:
    if not args.input.exists():
        raise CliError(f"{args.input} does not exist")
    for option in ("embeddings", "labels", "ids", "qrels", "links"):
        path = getattr(args, option)
        if path is not None and not path.exists():
            raise CliError(f"--{option} {path} does not exist")
    if args.num_replicas < 1:
        raise CliError(f"--num-replicas must be >= 1, got {args.num_replicas}")
    if args.batch_size < 1:
        raise CliError(f"--batch-size must be >= 1, got {args.batch_size}")


def _check_out_dir(out: Path, inputs: list[Path | None]) -> Path:
    """--out must be a folder we can create or write into, and not an input."""
    target = out.resolve()
    for src in inputs:
        if src is not None and src.exists() and src.resolve() == target:
            raise CliError(f"--out {out} is also an input; write the output elsewhere")
    if target.exists() and not target.is_dir():
        raise CliError(f"--out {out} exists and is not a directory")
    parent = target if target.is_dir() else target.parent
    if not parent.is_dir():
        raise CliError(f"--out {out}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CliError(f"--out {out}: directory {parent} is not writable")
    return out


def _rows_of_input(path: Path) -> int | None:
    """Items of an input that knows its size (embeddings); None lets the input decide."""
    return int(np.load(path, mmap_mode="r").shape[0]) if path.suffix == ".npy" and path.is_file() else None


def _pairs(path: Path | None, option: str, ids: list[str] | None, n: int | None) -> Any:
    """An edge list or corpus of item pairs as an (n, n) sparse matrix over embedding rows."""
    if path is None:
        return None
    import scipy.sparse as sp

    from ..exceptions import GraphNegWarning
    from ..io import read_citations

    data = read_citations(path)
    if ids is not None:
        row_of = {v: i for i, v in enumerate(ids)}
    elif all(v.isdigit() for v in data.ids):
        row_of = {v: int(v) for v in data.ids}
    else:
        raise CliError(f"{option} {path} names items by id; give --ids to map them onto rows")
    known = np.array([row_of.get(v, -1) for v in data.ids], dtype=np.int64)
    size = n if n is not None else int(known.max(initial=-1)) + 1
    if (known >= size).any():
        raise CliError(f"{option} {path} names row {int(known.max())}, but there are only {size} items")
    A = sp.coo_array(data.graph.adjacency)
    keep = (known[A.row] >= 0) & (known[A.col] >= 0)
    if not keep.any():
        raise CliError(f"{option} {path}: no pair names two known items")
    if not keep.all():  # counted, never dropped silently
        unknown = [v for v, r in zip(data.ids, known.tolist(), strict=True) if r < 0]
        warnings.warn(
            f"{option} {path}: {int((~keep).sum())} of {keep.size} pairs name an unknown item "
            f"({len(unknown)} unknown ids, first: {', '.join(repr(v) for v in unknown[:3])}); "
            "they are left out",
            GraphNegWarning, stacklevel=2,
        )
    return sp.csr_array((np.ones(int(keep.sum()), np.float32), (known[A.row[keep]], known[A.col[keep]])),
                        shape=(size, size))


def graph_options(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`graphneg.knn_graph` keywords from the options, as ``graphneg batches`` passes them."""
    return dict(k=args.k, skip=args.skip, metric=args.metric, mutual=args.mutual, backend=args.backend,
                precision=args.precision, device=args.device)


def community_options(args: argparse.Namespace) -> dict[str, Any]:
    """The community algorithm's name (``method``) and keywords, as ``graphneg batches`` finds them."""
    return _batches.community_options(args)


def batch_options(args: argparse.Namespace) -> dict[str, Any]:
    """:class:`graphneg.inspection.BatchOptions` keywords: the packing of the batches and the DDP ranks."""
    return dict(batch_size=args.batch_size, packing=args.packing, clusters_per_batch=args.clusters_per_batch,
                mix_random=args.mix_random, drop_last=args.drop_last, epoch=args.epoch,
                num_replicas=args.num_replicas)
