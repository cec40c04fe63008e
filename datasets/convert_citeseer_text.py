"""Convert the CiteSeer-with-text raw files (TAPE release) to a canonical graph corpus.

Reads, from ``--raw``:

``citeseer_texts.txt``
    Three lines a paper: id, text (title and abstract on one line), class label.
``citeseer.cites``
    One citation a line, ``<cited id> <citing id>``: the *reversed* order of ``edges.tsv``, so
    the arc written is ``citing -> cited``. Lines naming a paper without text, self-citations and
    repeated lines are skipped and counted.
``minilm_l6_v2_fp16.npy`` (optional)
    all-MiniLM-L6-v2 embeddings, row *i* = line *i* of the shipped ``nodes.jsonl``; written as
    float32 ``embeddings.npy`` when its row count matches.
``nodes.jsonl`` / ``edges.tsv`` (optional)
    The release's own processed files. When ``nodes.jsonl`` is there it fixes the node order
    (that is the order of the embedding rows): the raw order is checked against it and, if it
    differs, the nodes are reordered to match. Both files are cross-checked and the agreement
    is printed.

Example::

    python datasets/convert_citeseer_text.py --out out/citeseer_text
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from _common import InputError, edge_homophily, make_parser, print_summary, resolve_raw, run

from graphneg.io import GraphCorpus, save_graph_corpus

TEXTS_FILE = "citeseer_texts.txt"
CITES_FILE = "citeseer.cites"
EMBEDDINGS_FILE = "minilm_l6_v2_fp16.npy"
SHIPPED_NODES = "nodes.jsonl"
SHIPPED_EDGES = "edges.tsv"


def read_texts(path: Path) -> tuple[list[str], list[str], list[str]]:
    """Read ``citeseer_texts.txt``: returns ids, texts and labels in file order.

    Raises
    ------
    InputError
        If the line count is not a multiple of three, an id or label line is not a single
        token (the sign of a text that spilled over two lines) or an id repeats.
    """
    with open(path, encoding="utf-8", newline="") as fh:
        content = fh.read()
    # split("\n"), not splitlines(): the texts may hold \x0c or \u2028, which are not breaks here.
    lines = [line.rstrip("\r") for line in content.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % 3:
        raise InputError(f"{path}: {len(lines)} lines, expected 3 per paper (id, text, label)")
    ids, texts, labels = lines[0::3], lines[1::3], lines[2::3]
    first: dict[str, int] = {}
    for k, (paper_id, label) in enumerate(zip(ids, labels, strict=True)):
        lineno = 3 * k + 1
        for value, what, at in ((paper_id, "id", lineno), (label, "label", lineno + 2)):
            if not value or len(value.split()) != 1 or value != value.strip():
                raise InputError(
                    f"{path}: line {at}: expected a single-token {what}, got {value!r}"
                )
        if paper_id in first:
            raise InputError(
                f"{path}: line {lineno}: paper {paper_id!r} repeats "
                f"(first on line {first[paper_id]})"
            )
        first[paper_id] = lineno
    return ids, texts, labels


def read_cites(path: Path) -> list[tuple[str, str]]:
    """Read ``citeseer.cites`` as ``(citing, cited)`` arcs in file order (blank lines skipped)."""
    arcs: list[tuple[str, str]] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise InputError(
                    f"{path}: line {lineno}: expected '<cited> <citing>', got {line!r}"
                )
            cited, citing = fields
            arcs.append((citing, cited))
    return arcs


def read_shipped_ids(path: Path) -> tuple[list[str], list[str | None], list[str | None]]:
    """Ids, texts and labels of the release's ``nodes.jsonl`` (the embedding row order)."""
    ids: list[str] = []
    texts: list[str | None] = []
    labels: list[str | None] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            try:
                rec = json.loads(line)
                ids.append(str(rec["_id"]))
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise InputError(f"{path}: line {lineno}: not a node record ({err})") from err
            texts.append(rec.get("text"))
            labels.append(rec.get("label"))
    return ids, texts, labels


def read_shipped_edges(path: Path) -> set[tuple[str, str]]:
    """The ``(citing, cited)`` pairs of the release's ``edges.tsv`` (header ``citing\\tcited``)."""
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\n").split("\t")
        if header != ["citing", "cited"]:
            raise InputError(f"{path}: line 1: expected header 'citing<TAB>cited', got {header}")
        pairs = set()
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if len(fields) == 2:
                pairs.add((fields[0], fields[1]))
    return pairs


def build_corpus(
    raw: Path, *, with_embeddings: bool = True
) -> tuple[GraphCorpus, dict[str, object], list[str]]:
    """Build the graph corpus from the raw files in ``raw``.

    Returns
    -------
    corpus : GraphCorpus
        Papers (ids, texts, labels), citing -> cited edges, embeddings when usable.
    stats : dict
        Counts for the summary.
    notes : list of str
        Human-readable remarks (reordering, unverified embedding order, disagreements).
    """
    ids, texts, labels = read_texts(raw / TEXTS_FILE)
    notes: list[str] = []
    order_verified = False

    shipped_nodes = raw / SHIPPED_NODES
    if shipped_nodes.is_file():
        shipped_ids, shipped_texts, shipped_labels = read_shipped_ids(shipped_nodes)
        if shipped_ids == ids:
            order_verified = True
        elif sorted(shipped_ids) == sorted(ids):
            # Same papers, other order: follow nodes.jsonl, the order of the embedding rows.
            where = {paper_id: k for k, paper_id in enumerate(ids)}
            perm = [where[paper_id] for paper_id in shipped_ids]
            ids = [ids[k] for k in perm]
            texts = [texts[k] for k in perm]
            labels = [labels[k] for k in perm]
            order_verified = True
            notes.append(f"raw order differs from {SHIPPED_NODES}; reordered to match it")
        else:
            notes.append(
                f"{SHIPPED_NODES} lists other papers ({len(set(shipped_ids) - set(ids))} not in "
                f"the raw texts, {len(set(ids) - set(shipped_ids))} missing); "
                "embedding rows cannot be aligned"
            )
        if order_verified:
            text_diff = sum(a != b for a, b in zip(texts, shipped_texts, strict=True))
            label_diff = sum(a != b for a, b in zip(labels, shipped_labels, strict=True))
            if text_diff or label_diff:
                notes.append(
                    f"{SHIPPED_NODES} differs from the raw texts in {text_diff} text(s) and "
                    f"{label_diff} label(s); the raw values are kept"
                )

    index = {paper_id: k for k, paper_id in enumerate(ids)}
    arcs = read_cites(raw / CITES_FILE)
    unknown = self_loops = duplicates = 0
    kept: dict[tuple[int, int], None] = {}  # insertion-ordered set
    for citing, cited in arcs:
        src, dst = index.get(citing), index.get(cited)
        if src is None or dst is None:
            unknown += 1
        elif src == dst:
            self_loops += 1
        elif (src, dst) in kept:
            duplicates += 1
        else:
            kept[(src, dst)] = None
    n = len(ids)
    pairs = np.asarray(list(kept), dtype=np.int64).reshape(-1, 2)
    edges = sp.csr_array(
        (np.ones(len(pairs), dtype=np.float32), (pairs[:, 0], pairs[:, 1])), shape=(n, n)
    )

    shipped_edges = raw / SHIPPED_EDGES
    if shipped_edges.is_file():
        ours = {(ids[s], ids[t]) for s, t in kept}
        theirs = read_shipped_edges(shipped_edges)
        if ours != theirs:
            notes.append(
                f"{SHIPPED_EDGES} disagrees: {len(theirs - ours)} edge(s) only there, "
                f"{len(ours - theirs)} only here"
            )
        else:
            notes.append(f"edges identical to the shipped {SHIPPED_EDGES} ({len(theirs)})")

    embeddings = None
    emb_path = raw / EMBEDDINGS_FILE
    if with_embeddings and emb_path.is_file():
        emb = np.load(emb_path, allow_pickle=False)
        if emb.ndim != 2 or emb.shape[0] != n:
            notes.append(f"{EMBEDDINGS_FILE} has shape {emb.shape}, not ({n}, dim); not copied")
        elif not shipped_nodes.is_file() or order_verified:
            embeddings = emb.astype(np.float32)
            if not shipped_nodes.is_file():
                notes.append(
                    f"no {SHIPPED_NODES} to check the embedding row order; raw order assumed"
                )
        else:
            notes.append(f"{EMBEDDINGS_FILE} not copied: its row order could not be verified")

    names = sorted(set(labels))
    code = {name: c for c, name in enumerate(names)}
    corpus = GraphCorpus(
        ids=ids,
        edges=edges,
        labels=np.asarray([code[label] for label in labels], dtype=np.int64),
        label_names=names,
        texts=texts,
        embeddings=embeddings,
    )
    stats: dict[str, object] = {
        "cites_lines": len(arcs),
        "unknown": unknown,
        "self_loops": self_loops,
        "duplicates": duplicates,
    }
    return corpus, stats, notes


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = make_parser(
        "Convert CiteSeer-with-text (citeseer_texts.txt, citeseer.cites) to a canonical graph "
        "corpus folder.",
        "citeseer_text",
    )
    parser.add_argument(
        "--no-embeddings", action="store_true", help=f"do not copy {EMBEDDINGS_FILE}"
    )
    args = parser.parse_args(argv)
    raw = resolve_raw(args.raw, "citeseer_text", [TEXTS_FILE, CITES_FILE])
    corpus, stats, notes = build_corpus(raw, with_embeddings=not args.no_embeddings)
    save_graph_corpus(corpus, args.out)

    assert corpus.labels is not None and corpus.label_names is not None
    emb = corpus.embeddings
    print_summary(
        f"citeseer_text: wrote {args.out}",
        [
            ("papers with text", corpus.num_nodes),
            ("cites lines", stats["cites_lines"]),
            ("edges written (citing -> cited)", int(corpus.edges.nnz)),
            ("skipped: paper without text", stats["unknown"]),
            ("skipped: self-citations", stats["self_loops"]),
            ("skipped: duplicates", stats["duplicates"]),
            ("classes", f"{len(corpus.label_names)} ({', '.join(corpus.label_names)})"),
            ("embeddings", "none" if emb is None else f"{emb.shape[0]} x {emb.shape[1]} float32"),
            (
                "edge homophily (directed)",
                f"{edge_homophily(corpus.edges, corpus.labels, undirected=False):.4f}",
            ),
            (
                "edge homophily (undirected)",
                f"{edge_homophily(corpus.edges, corpus.labels, undirected=True):.4f}",
            ),
        ],
    )
    for note in notes:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
