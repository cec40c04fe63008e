"""Convert BEIR SciFact to a canonical retrieval corpus folder.

Reads, from ``--raw``: ``corpus.jsonl.gz`` (or an uncompressed ``corpus.jsonl``),
``queries.jsonl``, ``qrels/<split>.tsv`` for every split present (SciFact ships ``train`` and
``test``) and, when present, ``corpus_minilm_l6_v2_fp16.npy`` / ``queries_minilm_l6_v2_fp16.npy``
(all-MiniLM-L6-v2 embeddings, row *i* = line *i* of the corpus / queries file). Writes
``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv`` and float32
``corpus_embeddings.npy`` / ``query_embeddings.npy``. Row order is kept, so the embedding rows
stay aligned; every query is kept (also those without judgements) for the same reason.

Example::

    python datasets/convert_scifact.py --out out/scifact
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
from _common import InputError, make_parser, print_summary, resolve_raw, run

from graphneg.io import RetrievalCorpus, qrels_to_positives, save_retrieval_corpus

CORPUS_EMBEDDINGS = "corpus_minilm_l6_v2_fp16.npy"
QUERY_EMBEDDINGS = "queries_minilm_l6_v2_fp16.npy"
QRELS_HEADER = ["query-id", "corpus-id", "score"]


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, record)`` of a (possibly gzipped) JSONL file; blank lines skipped."""
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise InputError(f"{path}: line {lineno}: malformed JSON ({err.msg})") from err
            if not isinstance(rec, dict) or not isinstance(rec.get("_id"), str):
                raise InputError(f"{path}: line {lineno}: expected an object with a string _id")
            yield lineno, rec


def read_corpus(path: Path) -> tuple[list[str], list[str], list[str]]:
    """Ids, titles and ``(title + " " + text).strip()`` of a BEIR corpus file."""
    ids: list[str] = []
    titles: list[str] = []
    texts: list[str] = []
    for lineno, rec in iter_jsonl(path):
        title, text = rec.get("title") or "", rec.get("text")
        if not isinstance(title, str) or not isinstance(text, str):
            raise InputError(f"{path}: line {lineno}: 'title' and 'text' must be strings")
        ids.append(rec["_id"])
        titles.append(title)
        texts.append(f"{title} {text}".strip())
    return ids, titles, texts


def read_queries(path: Path) -> tuple[list[str], list[str]]:
    """Ids and texts of a BEIR queries file."""
    ids: list[str] = []
    texts: list[str] = []
    for lineno, rec in iter_jsonl(path):
        if not isinstance(rec.get("text"), str):
            raise InputError(f"{path}: line {lineno}: 'text' must be a string")
        ids.append(rec["_id"])
        texts.append(rec["text"])
    return ids, texts


def read_qrels(
    path: Path, query_ids: set[str], doc_ids: set[str]
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """One BEIR qrels split; judgements with unknown ids or repeated pairs are skipped."""
    qrels: dict[str, dict[str, int]] = {}
    counts = {"rows": 0, "unknown": 0, "duplicates": 0}
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().strip().split("\t")
        if header != QRELS_HEADER:
            raise InputError(f"{path}: line 1: expected header {'<TAB>'.join(QRELS_HEADER)}")
        for lineno, line in enumerate(fh, start=2):
            fields = line.strip().split("\t")
            if fields == [""]:
                continue
            if len(fields) != 3:
                raise InputError(f"{path}: line {lineno}: expected 3 tab-separated fields")
            query_id, doc_id, score_text = fields
            try:
                score = int(score_text)
            except ValueError as err:
                raise InputError(
                    f"{path}: line {lineno}: non-integer score {score_text!r}"
                ) from err
            counts["rows"] += 1
            if query_id not in query_ids or doc_id not in doc_ids:
                counts["unknown"] += 1
            elif doc_id in qrels.get(query_id, {}):
                counts["duplicates"] += 1
            else:
                qrels.setdefault(query_id, {})[doc_id] = score
    return qrels, counts


def _load_embeddings(path: Path, n_rows: int, what: str, notes: list[str]) -> np.ndarray | None:
    if not path.is_file():
        notes.append(f"{path.name} not found; no {what} embeddings written")
        return None
    arr = np.load(path, allow_pickle=False)
    if arr.ndim != 2 or arr.shape[0] != n_rows:
        notes.append(f"{path.name} has shape {arr.shape}, not ({n_rows}, dim); not copied")
        return None
    return arr.astype(np.float32)


def build_corpus(raw: Path) -> tuple[RetrievalCorpus, dict[str, dict[str, int]], list[str]]:
    """Read the BEIR files in ``raw``; return the corpus, per-split counts and notes."""
    corpus_path = raw / "corpus.jsonl.gz"
    if not corpus_path.is_file():
        corpus_path = raw / "corpus.jsonl"
    doc_ids, titles, doc_texts = read_corpus(corpus_path)
    query_ids, query_texts = read_queries(raw / "queries.jsonl")
    for what, ids in (("corpus", doc_ids), ("query", query_ids)):
        if len(set(ids)) != len(ids):
            raise InputError(f"{raw}: repeated {what} ids ({len(ids) - len(set(ids))})")

    split_files = sorted((raw / "qrels").glob("*.tsv"))
    if not split_files:
        raise InputError(f"no qrels/<split>.tsv files in {raw}")
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    counts: dict[str, dict[str, int]] = {}
    doc_set, query_set = set(doc_ids), set(query_ids)
    for split_path in split_files:
        qrels[split_path.stem], counts[split_path.stem] = read_qrels(split_path, query_set, doc_set)

    notes: list[str] = []
    corpus = RetrievalCorpus(
        corpus_ids=doc_ids,
        corpus_texts=doc_texts,
        query_ids=query_ids,
        query_texts=query_texts,
        qrels=qrels,
        corpus_embeddings=_load_embeddings(raw / CORPUS_EMBEDDINGS, len(doc_ids), "corpus", notes),
        query_embeddings=_load_embeddings(raw / QUERY_EMBEDDINGS, len(query_ids), "query", notes),
        corpus_titles=titles,
    )
    return corpus, counts, notes


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = make_parser("Convert BEIR SciFact to a canonical retrieval corpus folder.", "scifact")
    args = parser.parse_args(argv)
    raw = resolve_raw(args.raw, "scifact", ["queries.jsonl"])
    if not (raw / "corpus.jsonl.gz").is_file() and not (raw / "corpus.jsonl").is_file():
        raise InputError(f"missing input file in {raw}: corpus.jsonl.gz (or corpus.jsonl)")
    corpus, counts, notes = build_corpus(raw)
    save_retrieval_corpus(corpus, args.out)

    rows: list[tuple[str, object]] = [("documents", corpus.num_docs), ("queries", corpus.num_queries)]
    for split in corpus.qrels:
        query_rows, positives = qrels_to_positives(corpus, split)
        rows.append(
            (
                f"{split}: queries / positive qrels",
                f"{query_rows.size:,} / {sum(p.size for p in positives):,}",
            )
        )
        rows.append(
            (
                f"{split}: skipped (unknown id / repeated)",
                f"{counts[split]['unknown']} / {counts[split]['duplicates']}",
            )
        )
    for what, emb in (("corpus", corpus.corpus_embeddings), ("query", corpus.query_embeddings)):
        rows.append(
            (
                f"{what} embeddings",
                "none" if emb is None else f"{emb.shape[0]} x {emb.shape[1]} float32",
            )
        )
    print_summary(f"scifact: wrote {args.out}", rows)
    for note in notes:
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
