"""``graphneg stats``: diagnostics of a batches JSONL file, and the table both commands print."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ._batches_io import read_batches
from ._common import CliError, load_embeddings, load_labels

NAME = "stats"
SUMMARY = "diagnostics of a batches JSONL file"
DESCRIPTION = "Print diagnostics of a batches JSONL file written by `graphneg batches`."

STAT_ROWS = [
    ("mean_cosine", "mean in-batch cosine"),
    ("same_label_share", "same-label pair share"),
    ("edge_share", "graph-edge pair share"),
    ("coverage", "coverage"),
    ("n_batches", "batches"),
    ("batch_size_mean", "batch size mean"),
    ("batch_size_min", "batch size min"),
    ("batch_size_max", "batch size max"),
]


def format_table(columns: dict[str, dict[str, float]], rows: list[tuple[str, str]] = STAT_ROWS) -> str:
    """Side-by-side table of several stats dicts (the first column is the reference for ratios).

    Parameters
    ----------
    columns : dict of name -> stats dict
        E.g. ``{"graphneg": batch_stats(ours), "random": batch_stats(control)}``.
    rows : list of (key, title), default: the :func:`graphneg.batch_stats` keys
        Rows to show; a row whose key no column has is left out.

    Returns
    -------
    str

    See Also
    --------
    graphneg.batch_stats : the stats it lays side by side.

    Examples
    --------
    >>> print(format_table({"a": {"coverage": 1.0}, "b": {"coverage": 0.5}}))
                                       a           b    ratio
    coverage                           1         0.5     2.00
    """
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


def add_options(s: argparse.ArgumentParser) -> None:
    """The options of ``graphneg stats``."""
    s.add_argument("batches", type=Path)
    s.add_argument("--embeddings", type=Path)
    s.add_argument("--labels", type=Path)
    s.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    """Print the diagnostics of ``args.batches``; 0 on success."""
    import graphneg as gn

    batches = read_batches(args.batches)
    if not batches:
        raise CliError(f"{args.batches} holds no batches")
    X = load_embeddings(args.embeddings) if args.embeddings else None
    n = X.shape[0] if X is not None else None
    labels = load_labels(args.labels, n) if args.labels else None
    if n is None and labels is not None:
        n = len(labels)
    if n is not None:  # the first out-of-range id, with its file:line (one batch a line)
        with open(args.batches, encoding="utf-8") as fh:  # read_batches skips blank lines
            lines = [i for i, text in enumerate(fh, 1) if text.strip()]
        for line, b in zip(lines, batches, strict=True):
            if b.size and int(b.max()) >= n:
                bad = int(b[np.argmax(b >= n)])
                what = "--embeddings rows" if X is not None else "--labels"
                raise CliError(f"{args.batches}:{line}: item id {bad} is out of range: there are {n} {what} "
                               f"(ids 0..{n - 1})")
    stats = gn.batch_stats(batches, embeddings=X, labels=labels)
    print(json.dumps(stats, indent=2) if args.json else format_table({"batches": stats}))
    return 0
