"""``graphneg citations``: a citation corpus -> (citing, cited, negatives) training data."""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path
from typing import Any

from ._common import CliError, check_output, claim_outputs, load_embeddings, log, relay_warnings

_FORMATS = ["auto", "edges", "s2orc", "s2ag", "openalex", "planetoid", "ogb", "canonical"]
_HEADER = {"auto": "auto", "yes": True, "no": False}


NAME = "citations"
SUMMARY = "citation corpus -> (citing, cited, negatives) training data, resumable"
DESCRIPTION = (
    "Read a citation corpus (edge list, S2ORC / Semantic Scholar JSONL, OpenAlex works, Planetoid, OGB), "
    "pair every citing paper with each paper it cites, add link-structure negatives and write JSONL "
    "training data. Negatives are drawn once per citing paper by default: all records of a paper (one "
    "per paper it cites) carry the same negatives; --negatives-per pair draws them for each record. "
    "Interrupted runs resume where they stopped (finished chunks are kept in OUTPUT.parts/ until the "
    "output is complete)."
)


def add_reader_options(c: argparse.ArgumentParser) -> None:
    """How a corpus is read (``graphneg citations`` and ``graphneg inspect``)."""
    c.add_argument("--format", default="auto", choices=_FORMATS, help="corpus format (default: detected)")
    c.add_argument("--delimiter", default="auto",
                   help="edge lists: 'auto', a literal separator, 'tab', 'comma', 'semicolon' or 'whitespace'")
    c.add_argument("--header", default="auto", choices=list(_HEADER),
                   help="edge lists: whether the first line is a header")


def reader_options(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`graphneg.read_citations` keywords from :func:`add_reader_options`' options."""
    options: dict[str, Any] = {"format": args.format}
    if args.delimiter != "auto":
        options["delimiter"] = args.delimiter
    if args.header != "auto":
        options["header"] = _HEADER[args.header]
    return options


def add_options(c: argparse.ArgumentParser) -> None:
    """The options of ``graphneg citations``."""
    c.add_argument("input", type=Path, help="corpus file or folder")
    c.add_argument("-o", "--output", type=Path, required=True, help="output JSONL")
    add_reader_options(c)
    c.add_argument("--output-format", default="triplets", choices=["triplets", "st", "flag", "tevatron"])
    c.add_argument("--strategy", default="uniform",
                   choices=["uniform", "khop", "degree", "ppr", "bica", "specter", "scincl"])
    c.add_argument("--num-negatives", type=int, default=3)
    c.add_argument("--negatives-per", default="paper", choices=["paper", "pair"],
                   help="'paper' (default): one draw per citing paper, repeated on each of its records "
                        "(one per paper it cites); 'pair': a separate draw for each (citing, cited) record")
    c.add_argument("--exclude-hops", type=int, default=1, help="never a negative within this many hops")
    c.add_argument("--hops", type=int, default=2, help="distance of khop negatives")
    c.add_argument("--embeddings", type=Path, help=".npy node embeddings (bica, scincl)")
    c.add_argument("--ids-only", action="store_true", help="write ids even when texts are available")
    c.add_argument("--chunk-size", type=int, default=500, help="source papers per resumable chunk")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--strict", action="store_true", help="fail on the first malformed input line")
    c.add_argument("--restart", action="store_true", help="ignore finished chunks of an earlier run")
    c.add_argument("-q", "--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Run ``graphneg citations``; 0 on success."""
    from ..training_data import citation_training_data

    t0 = time.perf_counter()
    if not args.input.exists():
        raise CliError(f"{args.input} does not exist")
    check_output(args.output, "-o", [args.input, args.embeddings])
    with claim_outputs([args.output]), relay_warnings(args.quiet):
        data = _read(args)
        embeddings = load_embeddings(args.embeddings) if args.embeddings else None
        texts = data.texts if (data.texts and not args.ids_only) else None
        summary = citation_training_data(
            data.graph, args.output, texts=texts, output_format=args.output_format, negatives=_negatives(args),
            seed=args.seed, chunk_size=args.chunk_size, embeddings=embeddings, negatives_per=args.negatives_per,
            resume=not args.restart, show_progress=not args.quiet,
        )
    summary["read"] = {k: v for k, v in vars(data.counts).items() if k != "malformed_lines"}
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(summary, indent=2))
    return 0


def _negatives(args: argparse.Namespace) -> functools.partial[Any]:
    """The strategy of ``--strategy`` with the counts and options given on the command line bound."""
    from ..negatives._link_strategies import LINK_STRATEGIES

    own = {"hops": args.hops} if args.strategy == "khop" else {}
    return functools.partial(LINK_STRATEGIES[args.strategy], num_negatives=args.num_negatives,
                             exclude_hops=args.exclude_hops, **own)


def _read(args: argparse.Namespace) -> Any:
    """The corpus; one that holds no citation is an error (nothing would be written)."""
    from ..io._readers import read_citations

    try:
        data = read_citations(args.input, strict=args.strict, **reader_options(args))
    except UnicodeDecodeError:
        raise CliError(f"{args.input} is not UTF-8 text; is it a binary file?") from None
    log(f"read {args.input}: {data.graph.num_nodes} papers, {data.counts.summary()}", args.quiet)
    if data.graph.num_edges == 0:
        raise CliError(f"{args.input} holds no citations ({data.counts.summary()}); nothing to write")
    return data
