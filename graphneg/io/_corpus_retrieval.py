"""The canonical retrieval corpus: documents, queries and judgements as a folder, and back.

Retrieval corpus (BEIR-like, uncompressed)
    ``corpus.jsonl``
        ``{"_id": str, "title": str, "text": str}`` one document a line.
    ``queries.jsonl``
        ``{"_id": str, "text": str}`` one query a line.
    ``qrels/<split>.tsv``
        Header ``query-id<TAB>corpus-id<TAB>score`` then one judgement a line (integer score).
    ``corpus_embeddings.npy`` / ``query_embeddings.npy`` (optional)
        Float arrays; row *i* belongs to line *i* of the matching ``.jsonl`` file.

Loading and saving follow the rules of :mod:`graphneg.io._corpus_files`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Collection, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._ids import normalize_id, unique_ids
from .._validation import check_choice
from ..exceptions import GraphNegWarning
from . import _corpus_files as files
from ._jsonl import dumps_line as _dumps

CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
QRELS_DIR = "qrels"
CORPUS_EMBEDDINGS_FILE = "corpus_embeddings.npy"
QUERY_EMBEDDINGS_FILE = "query_embeddings.npy"
QRELS_HEADER = "query-id\tcorpus-id\tscore"


@dataclass
class RetrievalCorpus:
    """Documents, queries and relevance judgements (the canonical retrieval corpus).

    What :func:`load_retrieval_corpus` returns and :func:`save_retrieval_corpus` writes. It
    holds no graph; :func:`qrels_to_positives` turns a split into the row indices the
    miners and writers take. Ids follow the package rule of :class:`GraphCorpus` (integers
    become their decimal string), also inside ``qrels``.

    Parameters
    ----------
    corpus_ids : list of str
        Document ids; position *i* is document row *i*. Unique.
    corpus_texts : list of str
        ``(title + " " + text).strip()`` per document: the string to embed or index.
    query_ids : list of str
        Query ids; position *i* is query row *i*. Unique.
    query_texts : list of str
        Text per query.
    qrels : dict
        ``split -> query id -> document id -> integer score``. Every id must be known.
    corpus_embeddings, query_embeddings : numpy.ndarray, optional
        Dense vectors, one row per document / query.
    corpus_titles : list of str, optional
        The document titles, kept so that saving writes ``title`` and ``text`` apart as BEIR
        does. Each ``corpus_texts[i]`` must then start with ``corpus_titles[i].strip()``.

    See Also
    --------
    load_retrieval_corpus, save_retrieval_corpus : its folder on disk.
    qrels_to_positives : one split as the row indices the miners take.
    GraphCorpus : the link pipeline's corpus.

    Examples
    --------
    >>> rc = RetrievalCorpus(["d1", "d2"], ["x", "y"], ["q1"], ["x?"], {"test": {"q1": {"d2": 1}}})
    >>> rc.num_docs, rc.num_queries
    (2, 1)
    """

    corpus_ids: list[str]
    corpus_texts: list[str]
    query_ids: list[str]
    query_texts: list[str]
    qrels: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    corpus_embeddings: np.ndarray | None = None
    query_embeddings: np.ndarray | None = None
    corpus_titles: list[str] | None = None

    def __post_init__(self) -> None:
        """Check and normalise every field in place (run again by ``dataclasses.replace`` on save)."""
        self.corpus_ids = unique_ids(self.corpus_ids, "corpus_ids")
        self.query_ids = unique_ids(self.query_ids, "query_ids")
        n_docs, n_queries = len(self.corpus_ids), len(self.query_ids)
        self.corpus_texts = files.check_text_list(self.corpus_texts, "corpus_texts", n_docs)
        self.query_texts = files.check_text_list(self.query_texts, "query_texts", n_queries)
        self.corpus_titles = files.check_text_list(self.corpus_titles, "corpus_titles", n_docs)
        self.corpus_embeddings = files.check_dense(self.corpus_embeddings, "corpus_embeddings", n_docs)
        self.query_embeddings = files.check_dense(self.query_embeddings, "query_embeddings", n_queries)
        self.qrels = _check_qrels(self.qrels, set(self.query_ids), set(self.corpus_ids))



    @property
    def num_docs(self) -> int:
        """Number of documents."""
        return len(self.corpus_ids)

    @property
    def num_queries(self) -> int:
        """Number of queries."""
        return len(self.query_ids)


def load_retrieval_corpus(path: files.PathLike, *, mmap_mode: files.MmapMode = None) -> RetrievalCorpus:
    """Read a canonical retrieval corpus folder.

    Parameters
    ----------
    path : str or path-like
        Folder with ``corpus.jsonl``, ``queries.jsonl``, optionally ``qrels/<split>.tsv`` and
        the two embedding files.
    mmap_mode : {None, "r", "r+", "c"}
        Passed to :func:`numpy.load` for the embedding files.

    Returns
    -------
    RetrievalCorpus
        ``corpus_texts[i]`` is ``(title + " " + text).strip()``; ``corpus_titles`` is None
        when every title is empty or absent. ``qrels`` has one entry per ``qrels/*.tsv``.

    Raises
    ------
    FileNotFoundError
        If ``corpus.jsonl`` or ``queries.jsonl`` is missing.
    ValueError
        On a malformed line, a missing ``text``, a duplicate ``_id``, a wrong qrels header, a
        non-integer score, or an embedding row count that differs from its ``.jsonl`` file.

    Warns
    -----
    GraphNegWarning
        When judgements were skipped: unknown query or document ids, or a repeated
        (query, document) pair within a split (the first one is kept).

    See Also
    --------
    save_retrieval_corpus : the writer of what this reads.
    qrels_to_positives : one split as row indices, for mining.
    load_graph_corpus : the link pipeline's corpus.

    Examples
    --------
    >>> import tempfile
    >>> rc = RetrievalCorpus(["d1", "d2"], ["Cats purr", "Dogs bark"], ["q1"], ["who purrs?"],
    ...                      {"test": {"q1": {"d1": 1}}}, corpus_titles=["Cats", "Dogs"])
    >>> back = load_retrieval_corpus(save_retrieval_corpus(rc, tempfile.mkdtemp()))
    >>> back.corpus_texts, back.corpus_titles, back.qrels
    (['Cats purr', 'Dogs bark'], ['Cats', 'Dogs'], {'test': {'q1': {'d1': 1}}})
    """
    folder = files.require_folder(path, (CORPUS_FILE, QUERIES_FILE), "retrieval corpus")
    corpus_path, queries_path = folder / CORPUS_FILE, folder / QUERIES_FILE

    corpus_ids, docs = files.read_id_records(corpus_path, {"title": False, "text": True})
    titles = [title or "" for title in docs["title"]]
    corpus_texts = [f"{title} {text}".strip() for title, text in zip(titles, docs["text"], strict=True)]
    query_ids, queries = files.read_id_records(queries_path, {"text": True})
    query_texts = [str(text) for text in queries["text"]]

    qrels: dict[str, dict[str, dict[str, int]]] = {}
    problems: list[str] = []
    qrels_dir = folder / QRELS_DIR
    if qrels_dir.is_dir():
        known_queries, known_docs = set(query_ids), set(corpus_ids)
        for qrels_path in sorted(qrels_dir.glob("*.tsv")):
            split = qrels_path.stem
            qrels[split], counts = _read_qrels(qrels_path, known_queries, known_docs)
            if any(counts.values()):
                problems.append(
                    f"{QRELS_DIR}/{qrels_path.name}: {counts['unknown_query']} unknown query "
                    f"id(s), {counts['unknown_doc']} unknown corpus id(s), "
                    f"{counts['duplicates']} duplicate pair(s)"
                )
    if problems:
        warnings.warn(
            "skipped relevance judgements: " + "; ".join(problems) + ".",
            GraphNegWarning,
            stacklevel=2,
        )

    corpus_embeddings = files.load_dense(
        folder / CORPUS_EMBEDDINGS_FILE, len(corpus_ids), CORPUS_FILE, "documents", mmap_mode
    )
    query_embeddings = files.load_dense(
        folder / QUERY_EMBEDDINGS_FILE, len(query_ids), QUERIES_FILE, "queries", mmap_mode
    )
    return RetrievalCorpus(
        corpus_ids=corpus_ids,
        corpus_texts=corpus_texts,
        query_ids=query_ids,
        query_texts=query_texts,
        qrels=qrels,
        corpus_embeddings=corpus_embeddings,
        query_embeddings=query_embeddings,
        corpus_titles=titles if any(titles) else None,
    )



def save_retrieval_corpus(corpus: RetrievalCorpus, path: files.PathLike) -> Path:
    """Write ``corpus`` as a canonical retrieval corpus folder (created if needed).

    Parameters
    ----------
    corpus : RetrievalCorpus
        The corpus; validated again first, so nothing is written if it is invalid.
    path : str or path-like
        Output folder, returned as a :class:`pathlib.Path` (as by :func:`save_graph_corpus`).

    Raises
    ------
    ValueError
        If an id contains a tab or line break, a split name is not a plain file name, or a
        ``corpus_texts[i]`` does not start with its title.

    See Also
    --------
    load_retrieval_corpus : the reader of what this writes.
    save_graph_corpus : the link pipeline's corpus.

    Notes
    -----
    Without ``corpus_titles`` every document is written with ``"title": ""`` and its whole
    ``corpus_texts`` entry as ``text``, which reads back to the same ``corpus_texts``.
    ``qrels/*.tsv`` splits and embedding files left from an earlier save and absent from
    ``corpus`` are removed. ``corpus`` is validated on a copy and not modified.

    Examples
    --------
    >>> import tempfile
    >>> rc = RetrievalCorpus(["d1"], ["x"], ["q1"], ["x?"], {"train": {"q1": {"d1": 1}}})
    >>> folder = save_retrieval_corpus(rc, tempfile.mkdtemp())
    >>> [line.split() for line in (folder / "qrels" / "train.tsv").read_text().splitlines()]
    [['query-id', 'corpus-id', 'score'], ['q1', 'd1', '1']]
    """
    corpus = dataclasses.replace(corpus)  # validated anew, on a new object: the caller's stays as it is
    files.check_ids_writable(corpus.corpus_ids, "corpus_ids")
    files.check_ids_writable(corpus.query_ids, "query_ids")
    for split in corpus.qrels:
        if not split or split.startswith(".") or any(c in split for c in "/\\\0\t\n\r"):
            raise ValueError(f"qrels split names must be plain file names, got {split!r}.")
    titles = corpus.corpus_titles or [""] * corpus.num_docs
    bodies = [
        _split_title(title, text, i)
        for i, (title, text) in enumerate(zip(titles, corpus.corpus_texts, strict=True))
    ]

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    with files.atomic_text(folder / CORPUS_FILE) as fh:
        for doc_id, title, body in zip(corpus.corpus_ids, titles, bodies, strict=True):
            fh.write(_dumps({"_id": doc_id, "title": title, "text": body}))
    with files.atomic_text(folder / QUERIES_FILE) as fh:
        for query_id, text in zip(corpus.query_ids, corpus.query_texts, strict=True):
            fh.write(_dumps({"_id": query_id, "text": text}))

    qrels_dir = folder / QRELS_DIR
    for split, by_query in corpus.qrels.items():
        with files.atomic_text(qrels_dir / f"{split}.tsv") as fh:
            fh.write(QRELS_HEADER + "\n")
            for query_id, docs in by_query.items():
                for doc_id, score in docs.items():
                    fh.write(f"{query_id}\t{doc_id}\t{int(score)}\n")
    if qrels_dir.is_dir():
        for stale in qrels_dir.glob("*.tsv"):
            if stale.stem not in corpus.qrels:
                stale.unlink()

    files.write_or_remove_dense(folder / CORPUS_EMBEDDINGS_FILE, corpus.corpus_embeddings)
    files.write_or_remove_dense(folder / QUERY_EMBEDDINGS_FILE, corpus.query_embeddings)
    return folder



def qrels_to_positives(corpus: RetrievalCorpus, split: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """Turn one qrels split into row indices: queries and their relevant documents.

    Parameters
    ----------
    corpus : RetrievalCorpus
        The corpus.
    split : str
        A key of ``corpus.qrels`` (e.g. ``"train"``).

    Returns
    -------
    query_rows : numpy.ndarray of int64
        Ascending rows of the queries with at least one judgement of score > 0.
    positives : list of numpy.ndarray of int64
        For each entry of ``query_rows``, the ascending rows of its documents with score > 0.

    Raises
    ------
    ValueError
        If ``split`` is not in ``corpus.qrels``.

    See Also
    --------
    load_retrieval_corpus : the corpus it reads the split from.
    graphneg.mine_hard_negatives : mines negatives for these queries and positives.

    Examples
    --------
    >>> rc = RetrievalCorpus(["d1", "d2"], ["x", "y"], ["q1", "q2"], ["?", "!"],
    ...                      {"test": {"q2": {"d2": 1, "d1": 0}}})
    >>> rows, pos = qrels_to_positives(rc, "test")
    >>> rows.tolist(), [p.tolist() for p in pos]
    ([1], [[1]])
    """
    check_choice(split, "split", corpus.qrels.keys())
    query_row = {qid: i for i, qid in enumerate(corpus.query_ids)}
    doc_row = {did: i for i, did in enumerate(corpus.corpus_ids)}
    pairs: list[tuple[int, np.ndarray]] = []
    for query_id, docs in corpus.qrels[split].items():
        rows = sorted(doc_row[doc_id] for doc_id, score in docs.items() if score > 0)
        if rows:
            pairs.append((query_row[query_id], np.asarray(rows, dtype=np.int64)))
    pairs.sort(key=lambda pair: pair[0])
    query_rows = np.asarray([row for row, _ in pairs], dtype=np.int64)
    return query_rows, [pos for _, pos in pairs]



def _read_qrels(
    path: Path, query_ids: Collection[str], doc_ids: Collection[str]
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Read one ``qrels/<split>.tsv``; return ``{query: {doc: score}}`` and skip counts."""
    qrels: dict[str, dict[str, int]] = {}
    counts = {"unknown_query": 0, "unknown_doc": 0, "duplicates": 0}
    with closing(files.iter_tsv(path, QRELS_HEADER)) as rows:
        for lineno, (query_id, doc_id, score_text) in rows:
            try:
                score = int(score_text)
            except ValueError as err:
                raise ValueError(
                    f"{path.name}: line {lineno}: score must be an integer, got {score_text!r}."
                ) from err
            if query_id not in query_ids:
                counts["unknown_query"] += 1
            elif doc_id not in doc_ids:
                counts["unknown_doc"] += 1
            elif doc_id in qrels.get(query_id, {}):
                counts["duplicates"] += 1
            else:
                qrels.setdefault(query_id, {})[doc_id] = score
    return qrels, counts



def _split_title(title: str, text: str, row: int) -> str:
    """Return the ``text`` field such that ``(title + " " + it).strip() == text``."""
    head = title.strip()
    if not text.startswith(head):
        raise ValueError(
            f"`corpus_texts[{row}]` must start with its title {head!r} "
            f"(corpus_texts holds title + ' ' + text), got {text[:60]!r}."
        )
    return text[len(head) :].lstrip()



def _check_qrels(
    qrels: Any, query_ids: set[str], doc_ids: set[str]
) -> dict[str, dict[str, dict[str, int]]]:
    """A new, validated qrels dict; query and corpus ids follow the id rule (ints -> str)."""
    if not isinstance(qrels, Mapping):
        raise TypeError(f"`qrels` must be a dict split -> query -> doc -> score, got {qrels!r}.")
    out: dict[str, dict[str, dict[str, int]]] = {}
    for split, by_query in qrels.items():
        if not isinstance(split, str):
            raise TypeError(f"`qrels` split names must be str, got {split!r}.")
        if not isinstance(by_query, Mapping):
            raise TypeError(f"`qrels[{split!r}]` must be a dict query -> doc -> score.")
        out[split] = {}
        for raw_query, docs in by_query.items():
            where = f"qrels[{split!r}]"
            query_id = _qrels_id(raw_query, f"`{where}` query id", query_ids, "query", out[split])
            if not isinstance(docs, Mapping):
                raise TypeError(f"`{where}[{raw_query!r}]` must be a dict doc -> score.")
            out[split][query_id] = _check_judgements(docs, f"{where}[{raw_query!r}]", doc_ids)
    return out



def _check_judgements(docs: Mapping[Any, Any], where: str, doc_ids: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for raw_doc, score in docs.items():
        doc_id = _qrels_id(raw_doc, f"`{where}` corpus id", doc_ids, "corpus", out)
        if isinstance(score, bool) or not isinstance(score, (int, np.integer)):
            raise TypeError(f"`{where}[{raw_doc!r}]` must be an int score, got {score!r}.")
        out[doc_id] = int(score)
    return out



def _qrels_id(raw: Any, what: str, known: set[str], kind: str, seen: Mapping[str, Any]) -> str:
    """A qrels key by the id rule; it must be known and not repeat another key's normal form."""
    value = normalize_id(raw, what)
    if value not in known:
        where = what.rsplit(" ", 2)[0]
        raise ValueError(f"{where} names unknown {kind} id {raw!r}.")
    if value in seen:
        raise ValueError(f"{what} {raw!r} repeats {value!r} (ids are normalised to str: 1 and '1' are one id).")
    return value
