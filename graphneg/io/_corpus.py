"""The canonical on-disk corpus formats, with their loaders and writers.

Two folder layouts are canonical in graphneg; every converter in ``datasets/`` writes one of
them and every example, benchmark and test reads them through this module.

Graph corpus
    ``nodes.jsonl``
        One JSON object a line; line *i* is node *i*:
        ``{"_id": str, "text": str (optional), "label": str (optional)}``.
    ``edges.tsv``
        Header ``source<TAB>target``, then one directed edge a line (citing -> cited), named
        by ``_id``. No self-loops, no duplicates.
    ``features.npz`` (optional)
        ``scipy.sparse`` CSR matrix (n_nodes x n_features) written by ``save_npz``.
    ``embeddings.npy`` (optional)
        Float array (n_nodes x dim).

Retrieval corpus (BEIR-like, uncompressed)
    ``corpus.jsonl``
        ``{"_id": str, "title": str, "text": str}`` one document a line.
    ``queries.jsonl``
        ``{"_id": str, "text": str}`` one query a line.
    ``qrels/<split>.tsv``
        Header ``query-id<TAB>corpus-id<TAB>score`` then one judgement a line (integer score).
    ``corpus_embeddings.npy`` / ``query_embeddings.npy`` (optional)
        Float arrays; row *i* belongs to line *i* of the matching ``.jsonl`` file.

Loading is strict about what only a broken writer produces (malformed JSON, a wrong header,
duplicate ids, row-count mismatches: ``ValueError`` naming file and line) and lenient about
what real data contains (edges or qrels naming unknown ids, self-loops, duplicates: skipped,
counted, and reported in one :class:`~graphneg.exceptions.GraphNegWarning`).

Every file is written atomically, so a reader never sees a half-written file. A folder as a
whole is not atomic: files are replaced one by one. Saving over an existing folder removes the
canonical optional files (embeddings, features, qrels splits) that the new corpus lacks, so a
stale file can never be read back as part of it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._ids import normalize_id
from .._sparse import canonical_csr
from .._validation import check_choice
from ..exceptions import GraphNegWarning
from ..links._graph import EdgeCounts, LinkGraph, edge_adjacency, unique_ids
from ._atomic import atomic_write
from ._jsonl import dumps_line as _dumps

PathLike = str | os.PathLike[str]
MmapMode = Literal["r", "r+", "c"] | None

NODES_FILE = "nodes.jsonl"
EDGES_FILE = "edges.tsv"
FEATURES_FILE = "features.npz"
EMBEDDINGS_FILE = "embeddings.npy"
CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
QRELS_DIR = "qrels"
CORPUS_EMBEDDINGS_FILE = "corpus_embeddings.npy"
QUERY_EMBEDDINGS_FILE = "query_embeddings.npy"
EDGES_HEADER = "source\ttarget"
QRELS_HEADER = "query-id\tcorpus-id\tscore"

# Characters that would break a TSV row or a JSONL line if they appeared inside an id.
_FORBIDDEN_ID_CHARS = ("\t", "\n", "\r")
# How many offending ids a warning quotes; enough to debug, short enough to read.
_N_EXAMPLES = 3


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


@dataclass
class GraphCorpus:
    """A node-attributed directed graph in memory (the canonical graph corpus).

    What :func:`load_graph_corpus` returns and :func:`save_graph_corpus` writes: the graph
    *and* everything stored next to it (labels, texts, features, embeddings). For the
    link-structure tools take its :attr:`graph`, a :class:`~graphneg.LinkGraph` (which
    drops self-loops and explicit zeros); from a ``LinkGraph`` ``g`` build one with
    ``GraphCorpus(ids=g.ids, edges=g.adjacency, ...)``. A reader's
    :class:`~graphneg.io.CitationData` (``read_citations``) holds a ``LinkGraph`` too, with
    texts as a dict by id; ``read_citations(folder, format="canonical")`` reads this
    corpus's folder into one.

    Ids follow the package rule (see :class:`~graphneg.LinkGraph`): ``str`` kept, integers
    become their decimal string (``1`` and ``"1"`` are the same node), ``None``, NaN, floats,
    ``bool`` and ``""`` are rejected with their position.

    Parameters
    ----------
    ids : list of str or int
        External node ids; position *i* is node *i*. Unique (after normalisation).
    edges : scipy.sparse.csr_array
        (n_nodes, n_nodes) float32 adjacency, 1.0 per directed edge, row = source (citing),
        column = target (cited). Only the sparsity pattern is stored on disk. Kept as a
        canonical copy: the caller's matrix is never modified.
    labels : numpy.ndarray of int64, optional
        Class code per node, indexing ``label_names``; ``-1`` marks a node without a label.
    label_names : list of str, optional
        Class names. Defaults to ``["0", "1", ...]`` when only ``labels`` is given.
    texts : list of str, optional
        Text per node.
    features : scipy.sparse.csr_array, optional
        (n_nodes, n_features) sparse features (e.g. bag of words).
    embeddings : numpy.ndarray, optional
        (n_nodes, dim) dense float vectors.

    Raises
    ------
    ValueError, TypeError
        When the parts disagree on the number of nodes or have the wrong kind.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> g = GraphCorpus(ids=["a", 7], edges=sp.csr_array(([1.0], ([0], [1])), shape=(2, 2)))
    >>> g.ids, g.num_nodes, int(g.edges.nnz)
    (['a', '7'], 2, 1)
    >>> g.graph.to_edge_index().tolist()
    [[0], [1]]
    """

    ids: list[str]
    edges: sp.csr_array
    labels: np.ndarray | None = None
    label_names: list[str] | None = None
    texts: list[str] | None = None
    features: sp.csr_array | None = None
    embeddings: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._validate()

    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return len(self.ids)

    @property
    def graph(self) -> LinkGraph:
        """The edges as a :class:`~graphneg.LinkGraph` over :attr:`ids` (a new object).

        Self-loops and explicit zeros are not links there (counted in ``graph.counts``).
        """
        return LinkGraph(self.edges, self.ids)

    def _validate(self) -> None:
        """Check and normalise every field in place (also re-run before saving)."""
        self.ids = _check_ids(self.ids, "ids")
        n = len(self.ids)
        if not sp.issparse(self.edges):
            raise TypeError(
                f"`edges` must be a scipy.sparse matrix or array, got {type(self.edges).__name__}."
            )
        if self.edges.shape != (n, n):
            raise ValueError(
                f"`edges` must have shape ({n}, {n}) (one row and column per id), "
                f"got {self.edges.shape}."
            )
        # a canonical copy: sum_duplicates on sp.csr_array(edges) would sort the caller's arrays
        self.edges = canonical_csr(self.edges, dtype=np.float32, name="edges")
        self.labels, self.label_names = _check_labels(self.labels, self.label_names, n)
        self.texts = _check_texts(self.texts, "texts", n)
        if self.features is not None:
            if not sp.issparse(self.features):
                raise TypeError(
                    "`features` must be a scipy.sparse matrix or array, "
                    f"got {type(self.features).__name__}."
                )
            if self.features.shape[0] != n:
                raise ValueError(
                    f"`features` must have {n} rows (one per node), got {self.features.shape[0]}."
                )
            self.features = sp.csr_array(self.features)
        self.embeddings = _check_dense(self.embeddings, "embeddings", n)


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
        self._validate()

    @property
    def num_docs(self) -> int:
        """Number of documents."""
        return len(self.corpus_ids)

    @property
    def num_queries(self) -> int:
        """Number of queries."""
        return len(self.query_ids)

    def _validate(self) -> None:
        """Check and normalise every field in place (also re-run before saving)."""
        self.corpus_ids = _check_ids(self.corpus_ids, "corpus_ids")
        self.query_ids = _check_ids(self.query_ids, "query_ids")
        n_docs, n_queries = len(self.corpus_ids), len(self.query_ids)
        self.corpus_texts = _check_texts(self.corpus_texts, "corpus_texts", n_docs)
        self.query_texts = _check_texts(self.query_texts, "query_texts", n_queries)
        self.corpus_titles = _check_texts(self.corpus_titles, "corpus_titles", n_docs)
        self.corpus_embeddings = _check_dense(self.corpus_embeddings, "corpus_embeddings", n_docs)
        self.query_embeddings = _check_dense(self.query_embeddings, "query_embeddings", n_queries)
        self.qrels = _check_qrels(self.qrels, set(self.query_ids), set(self.corpus_ids))


# --------------------------------------------------------------------------------------------
# Graph corpus I/O
# --------------------------------------------------------------------------------------------


def load_graph_corpus(path: PathLike, *, mmap_mode: MmapMode = None) -> GraphCorpus:
    """Read a canonical graph corpus folder.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``nodes.jsonl``, ``edges.tsv`` and optionally ``features.npz`` and
        ``embeddings.npy``.
    mmap_mode : {None, "r", "r+", "c"}
        Passed to :func:`numpy.load` for ``embeddings.npy`` (memory-map large arrays).

    Returns
    -------
    GraphCorpus
        Labels are coded by ``label_names``, the distinct labels found, sorted (numerically
        when every label is an integer string, so label ``"3"`` gets code 3); nodes without a
        ``label`` get code ``-1``; ``labels`` is None when no node has one. ``texts`` is None
        when no node has a ``text``, else missing texts read as ``""``.

    Raises
    ------
    FileNotFoundError
        If ``nodes.jsonl`` or ``edges.tsv`` is missing.
    ValueError
        On a malformed line (file and line number given), a duplicate ``_id`` (id and both
        lines given), a wrong ``edges.tsv`` header, or a features / embeddings row count that
        differs from the number of nodes.

    Warns
    -----
    GraphNegWarning
        When edges were skipped: edges naming unknown ids, self-loops, duplicates (counted).

    Examples
    --------
    >>> import tempfile
    >>> folder = save_graph_corpus(
    ...     GraphCorpus(ids=["a", "b"], edges=sp.csr_array(([1.0], ([0], [1])), shape=(2, 2)),
    ...                 texts=["first", "second"]), tempfile.mkdtemp())
    >>> g = load_graph_corpus(folder)
    >>> g.ids, g.texts, g.edges.toarray().tolist()
    (['a', 'b'], ['first', 'second'], [[0.0, 1.0], [0.0, 0.0]])
    """
    folder = _require_folder(path, (NODES_FILE, EDGES_FILE), "graph corpus")
    ids, nodes = _read_id_records(folder / NODES_FILE, {"text": False, "label": False})
    texts, raw_labels = nodes["text"], nodes["label"]
    n = len(ids)

    position = {node_id: i for i, node_id in enumerate(ids)}
    edges, skipped = _read_edges(folder / EDGES_FILE, position)
    n_skipped = skipped["unknown"] + skipped["self_loops"] + skipped["duplicates"]
    if n_skipped:
        examples = skipped["unknown_examples"]
        total = skipped["total"]
        kept = total - n_skipped
        hint = f" (e.g. {', '.join(map(repr, examples))})" if examples else ""
        warnings.warn(
            f"{EDGES_FILE}: kept {kept} of {total} edge(s); skipped {skipped['unknown']} naming "
            f"unknown ids{hint}, {skipped['self_loops']} self-loop(s), "
            f"{skipped['duplicates']} duplicate(s).",
            GraphNegWarning,
            stacklevel=2,
        )

    labels, label_names = _encode_labels(raw_labels)
    features = None
    if (folder / FEATURES_FILE).exists():
        features = sp.csr_array(sp.load_npz(folder / FEATURES_FILE))
        check_mask_rows(features.shape[0], n, folder / FEATURES_FILE, NODES_FILE, "nodes")
    embeddings = _load_dense(folder / EMBEDDINGS_FILE, n, NODES_FILE, "nodes", mmap_mode)
    return GraphCorpus(
        ids=ids,
        edges=edges,
        labels=labels,
        label_names=label_names,
        texts=None if all(t is None for t in texts) else [t or "" for t in texts],
        features=features,
        embeddings=embeddings,
    )


def save_graph_corpus(corpus: GraphCorpus, path: PathLike) -> Path:
    """Write ``corpus`` as a canonical graph corpus folder (created if needed).

    Parameters
    ----------
    corpus : GraphCorpus
        The corpus; its fields are validated again first, so nothing is written if invalid.
    path : str or path-like
        Output folder.

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    ValueError
        If an id contains a tab or line break, or ``edges`` has self-loops (the canonical
        format has none; drop them with ``edges.setdiag(0)`` first).

    Notes
    -----
    Edge weights are not stored: every non-zero of ``edges`` becomes one line of ``edges.tsv``,
    written in row-major order (an explicitly stored 0 is not an edge). ``features.npz`` /
    ``embeddings.npy`` left from an earlier save are removed when ``corpus`` has no features
    / embeddings. ``corpus`` is validated on a copy: neither it nor its arrays are modified.

    Examples
    --------
    >>> import tempfile
    >>> corpus = GraphCorpus(ids=[1, 2], edges=sp.csr_array(([1.0], ([1], [0])), shape=(2, 2)))
    >>> folder = save_graph_corpus(corpus, tempfile.mkdtemp())
    >>> [line.split() for line in (folder / "edges.tsv").read_text().splitlines()]
    [['source', 'target'], ['2', '1']]
    """
    corpus = dataclasses.replace(corpus)  # validated anew, on a new object: the caller's stays as it is
    _check_ids_writable(corpus.ids, "ids")
    edges = _edge_pattern(corpus.edges)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    _write_nodes(folder / NODES_FILE, corpus)
    _write_edges(folder / EDGES_FILE, corpus.ids, edges)
    _write_or_remove_sparse(folder / FEATURES_FILE, corpus.features)
    _write_or_remove_dense(folder / EMBEDDINGS_FILE, corpus.embeddings)
    return folder


def _edge_pattern(edges: sp.csr_array) -> sp.csr_array:
    """The stored non-zeros of a canonical ``edges`` as a new boolean CSR; self-loops raise."""
    rows = np.repeat(np.arange(edges.shape[0], dtype=np.int64), np.diff(edges.indptr))
    keep = edges.data != 0
    n_loops = int(np.count_nonzero(keep & (rows == edges.indices)))
    if n_loops:
        raise ValueError(
            f"`edges` has {n_loops} self-loop(s); the canonical format has none. "
            "Remove them first (e.g. edges.setdiag(0); edges.eliminate_zeros())."
        )
    n = edges.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    return sp.csr_array((np.ones(indptr[-1], bool), edges.indices[keep], indptr), shape=edges.shape)


def _write_nodes(path: Path, corpus: GraphCorpus) -> None:
    names = corpus.label_names or []
    with _atomic_text(path) as fh:
        for i, node_id in enumerate(corpus.ids):
            rec: dict[str, str] = {"_id": node_id}
            if corpus.texts is not None:
                rec["text"] = corpus.texts[i]
            if corpus.labels is not None and corpus.labels[i] >= 0:
                rec["label"] = names[int(corpus.labels[i])]
            fh.write(_dumps(rec))


def _write_edges(path: Path, ids: Sequence[str], edges: sp.csr_array) -> None:
    """One ``source<TAB>target`` line per stored entry, row-major."""
    indptr, indices = edges.indptr, edges.indices
    with _atomic_text(path) as fh:
        fh.write(EDGES_HEADER + "\n")
        for src in range(len(ids)):
            source = ids[src]
            for dst in indices[indptr[src] : indptr[src + 1]].tolist():
                fh.write(f"{source}\t{ids[dst]}\n")


# --------------------------------------------------------------------------------------------
# Retrieval corpus I/O
# --------------------------------------------------------------------------------------------


def load_retrieval_corpus(path: PathLike, *, mmap_mode: MmapMode = None) -> RetrievalCorpus:
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

    Examples
    --------
    >>> import tempfile
    >>> rc = RetrievalCorpus(["d1", "d2"], ["Cats purr", "Dogs bark"], ["q1"], ["who purrs?"],
    ...                      {"test": {"q1": {"d1": 1}}}, corpus_titles=["Cats", "Dogs"])
    >>> back = load_retrieval_corpus(save_retrieval_corpus(rc, tempfile.mkdtemp()))
    >>> back.corpus_texts, back.corpus_titles, back.qrels
    (['Cats purr', 'Dogs bark'], ['Cats', 'Dogs'], {'test': {'q1': {'d1': 1}}})
    """
    folder = _require_folder(path, (CORPUS_FILE, QUERIES_FILE), "retrieval corpus")
    corpus_path, queries_path = folder / CORPUS_FILE, folder / QUERIES_FILE

    corpus_ids, docs = _read_id_records(corpus_path, {"title": False, "text": True})
    titles = [title or "" for title in docs["title"]]
    corpus_texts = [f"{title} {text}".strip() for title, text in zip(titles, docs["text"], strict=True)]
    query_ids, queries = _read_id_records(queries_path, {"text": True})
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

    corpus_embeddings = _load_dense(
        folder / CORPUS_EMBEDDINGS_FILE, len(corpus_ids), CORPUS_FILE, "documents", mmap_mode
    )
    query_embeddings = _load_dense(
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


def save_retrieval_corpus(corpus: RetrievalCorpus, path: PathLike) -> Path:
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
    _check_ids_writable(corpus.corpus_ids, "corpus_ids")
    _check_ids_writable(corpus.query_ids, "query_ids")
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
    with _atomic_text(folder / CORPUS_FILE) as fh:
        for doc_id, title, body in zip(corpus.corpus_ids, titles, bodies, strict=True):
            fh.write(_dumps({"_id": doc_id, "title": title, "text": body}))
    with _atomic_text(folder / QUERIES_FILE) as fh:
        for query_id, text in zip(corpus.query_ids, corpus.query_texts, strict=True):
            fh.write(_dumps({"_id": query_id, "text": text}))

    qrels_dir = folder / QRELS_DIR
    for split, by_query in corpus.qrels.items():
        with _atomic_text(qrels_dir / f"{split}.tsv") as fh:
            fh.write(QRELS_HEADER + "\n")
            for query_id, docs in by_query.items():
                for doc_id, score in docs.items():
                    fh.write(f"{query_id}\t{doc_id}\t{int(score)}\n")
    if qrels_dir.is_dir():
        for stale in qrels_dir.glob("*.tsv"):
            if stale.stem not in corpus.qrels:
                stale.unlink()

    _write_or_remove_dense(folder / CORPUS_EMBEDDINGS_FILE, corpus.corpus_embeddings)
    _write_or_remove_dense(folder / QUERY_EMBEDDINGS_FILE, corpus.query_embeddings)
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


# --------------------------------------------------------------------------------------------
# Reading helpers
# --------------------------------------------------------------------------------------------


def _require_folder(path: PathLike, required: Sequence[str], what: str) -> Path:
    """Return ``path`` as a Path after checking that the required files exist."""
    folder = Path(path)
    for name in required:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: not a {what} folder (missing {name}).")
    return folder


def _iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)`` per line; any line that is not a JSON object raises."""
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                what = "blank line" if not line.strip() else f"malformed JSON ({err.msg})"
                raise ValueError(f"{path.name}: line {lineno}: {what} in {path}.") from err
            if not isinstance(rec, dict):
                raise ValueError(
                    f"{path.name}: line {lineno}: expected a JSON object, "
                    f"got {type(rec).__name__} in {path}."
                )
            yield lineno, rec


def _record_str(
    rec: Mapping[str, Any], key: str, path: Path, lineno: int, *, required: bool
) -> str | None:
    """Return string field ``key`` (None when absent and optional); other types raise."""
    value = rec.get(key)
    if value is None and not required and key not in rec:
        return None
    if not isinstance(value, str):
        need = "a string" if key in rec else "present"
        raise ValueError(
            f"{path.name}: line {lineno}: field {key!r} must be {need}, got {value!r}."
        )
    return value


def _read_id_records(
    path: Path, fields: Mapping[str, bool]
) -> tuple[list[str], dict[str, list[str | None]]]:
    """The ``_id`` and the string ``fields`` (name -> required) of every record of ``path``.

    The one reader of ``nodes.jsonl``, ``corpus.jsonl`` and ``queries.jsonl``: ids must be
    unique and writable (:func:`_record_id`); an optional field that is absent reads as None.
    Other fields are not looked at.
    """
    ids: list[str] = []
    columns: dict[str, list[str | None]] = {name: [] for name in fields}
    first_line: dict[str, int] = {}
    # closing(): a raise inside the loop must not leave the file open until garbage collection.
    with closing(_iter_jsonl(path)) as records:
        for lineno, rec in records:
            ids.append(_record_id(rec, path, lineno, first_line))
            for name, required in fields.items():
                columns[name].append(_record_str(rec, name, path, lineno, required=required))
    return ids, columns


def _record_id(rec: Mapping[str, Any], path: Path, lineno: int, first_line: dict[str, int]) -> str:
    """Return the record's ``_id``, registering it in ``first_line``; duplicates raise."""
    item_id = _record_str(rec, "_id", path, lineno, required=True)
    assert item_id is not None  # required=True guarantees it
    if not item_id or any(c in item_id for c in _FORBIDDEN_ID_CHARS):
        raise ValueError(
            f"{path.name}: line {lineno}: `_id` must be non-empty without tabs or line breaks, "
            f"got {item_id!r}."
        )
    if item_id in first_line:
        raise ValueError(
            f"{path.name}: line {lineno}: duplicate _id {item_id!r} "
            f"(first on line {first_line[item_id]})."
        )
    first_line[item_id] = lineno
    return item_id


def _iter_tsv(path: Path, header: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line number, fields)`` after checking the header and the field count."""
    n_fields = header.count("\t") + 1
    with open(path, encoding="utf-8") as fh:
        first = fh.readline().rstrip("\n")
        if first != header:
            raise ValueError(
                f"{path.name}: line 1: expected header {header!r}, got {first!r} in {path}."
            )
        for lineno, line in enumerate(fh, start=2):
            row = line.rstrip("\n")
            fields = row.split("\t")
            if len(fields) != n_fields or not all(fields):
                raise ValueError(
                    f"{path.name}: line {lineno}: expected {n_fields} non-empty tab-separated "
                    f"fields, got {row!r} in {path}."
                )
            yield lineno, fields


def _read_edges(path: Path, index: Mapping[str, int]) -> tuple[sp.csr_array, dict[str, Any]]:
    """Read ``edges.tsv`` into a CSR adjacency; return it and the skip counts."""
    sources: list[int] = []
    targets: list[int] = []
    examples: list[str] = []
    with closing(_iter_tsv(path, EDGES_HEADER)) as rows:
        for _, (source, target) in rows:
            src, dst = index.get(source, -1), index.get(target, -1)
            if (src < 0 or dst < 0) and len(examples) < _N_EXAMPLES:
                examples.append(source if src < 0 else target)
            sources.append(src)
            targets.append(dst)
    counts = EdgeCounts()
    edges = edge_adjacency(sources, targets, len(index), counts)  # the one home of edge assembly
    return edges, {
        "total": counts.read,
        "unknown": counts.unknown,
        "self_loops": counts.self_loops,
        "duplicates": counts.duplicates,
        "unknown_examples": examples,
    }


def _read_qrels(
    path: Path, query_ids: Collection[str], doc_ids: Collection[str]
) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """Read one ``qrels/<split>.tsv``; return ``{query: {doc: score}}`` and skip counts."""
    qrels: dict[str, dict[str, int]] = {}
    counts = {"unknown_query": 0, "unknown_doc": 0, "duplicates": 0}
    with closing(_iter_tsv(path, QRELS_HEADER)) as rows:
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


def _encode_labels(raw: Sequence[str | None]) -> tuple[np.ndarray | None, list[str] | None]:
    """Code string labels by their sorted distinct values; None (no label) becomes -1."""
    present = {label for label in raw if label is not None}
    if not present:
        return None, None
    # Integer-like names sort numerically so that "10" follows "9" and code == int(name).
    if all(_is_int_string(label) for label in present):
        names = sorted(present, key=lambda label: (int(label), label))
    else:
        names = sorted(present)
    code = {name: i for i, name in enumerate(names)}
    labels = np.fromiter(
        (-1 if label is None else code[label] for label in raw), dtype=np.int64, count=len(raw)
    )
    return labels, names


def _is_int_string(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _load_dense(
    path: Path, n_rows: int, rows_file: str, what: str, mmap_mode: MmapMode
) -> np.ndarray | None:
    """Load an optional ``.npy`` whose rows must match ``n_rows`` entries of ``rows_file``."""
    if not path.exists():
        return None
    arr = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    if arr.ndim != 2:
        raise ValueError(f"{path.name}: expected a 2-D array, got shape {arr.shape} in {path}.")
    check_mask_rows(arr.shape[0], n_rows, path, rows_file, what)
    return arr


def check_mask_rows(n_rows: int, expected: int, path: Path, rows_file: str, what: str) -> None:
    if n_rows != expected:
        raise ValueError(
            f"{path.name}: has {n_rows} rows but {rows_file} has {expected} {what} "
            f"(one row per line expected) in {path.parent}."
        )


# --------------------------------------------------------------------------------------------
# Writing helpers
# --------------------------------------------------------------------------------------------


def _atomic_text(path: Path) -> Any:
    """Atomic UTF-8 text writer with "\\n" line ends on every platform."""
    return atomic_write(path, "w", encoding="utf-8", newline="\n")


def _write_or_remove_sparse(path: Path, matrix: sp.csr_array | None) -> None:
    if matrix is None:
        path.unlink(missing_ok=True)
        return
    with atomic_write(path, "wb") as fh:
        sp.save_npz(fh, matrix, compressed=True)


def _write_or_remove_dense(path: Path, arr: np.ndarray | None) -> None:
    if arr is None:
        path.unlink(missing_ok=True)
        return
    with atomic_write(path, "wb") as fh:
        np.save(fh, np.asarray(arr), allow_pickle=False)


def _split_title(title: str, text: str, row: int) -> str:
    """Return the ``text`` field such that ``(title + " " + it).strip() == text``."""
    head = title.strip()
    if not text.startswith(head):
        raise ValueError(
            f"`corpus_texts[{row}]` must start with its title {head!r} "
            f"(corpus_texts holds title + ' ' + text), got {text[:60]!r}."
        )
    return text[len(head) :].lstrip()


# --------------------------------------------------------------------------------------------
# Validation helpers (in-memory objects)
# --------------------------------------------------------------------------------------------


def _check_ids(ids: Sequence[str], name: str) -> list[str]:
    """The package id rule (ints -> str, bad ids rejected with their position), unique."""
    if isinstance(ids, str) or not isinstance(ids, (Sequence, np.ndarray)):
        raise TypeError(f"`{name}` must be a list of str or int ids, got {type(ids).__name__}.")
    return unique_ids(ids, name)


def _check_ids_writable(ids: Sequence[str], name: str) -> None:
    """Ids must survive a TSV row and a JSONL line unchanged."""
    for i, item in enumerate(ids):
        if not item or any(c in item for c in _FORBIDDEN_ID_CHARS):
            raise ValueError(
                f"`{name}` must be non-empty strings without tabs or line breaks, "
                f"got {item!r} at position {i}."
            )


def _check_texts(texts: Sequence[str] | None, name: str, n: int) -> list[str] | None:
    if texts is None:
        return None
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"`{name}` must be a list of str, got {type(texts).__name__}.")
    texts = list(texts)
    if len(texts) != n:
        raise ValueError(f"`{name}` must have length {n} (one per item), got {len(texts)}.")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"`{name}` must hold str, got {type(text).__name__} at position {i}.")
    return texts


def _check_labels(
    labels: Any, label_names: Sequence[str] | None, n: int
) -> tuple[np.ndarray | None, list[str] | None]:
    if labels is None:
        if label_names is not None:
            raise ValueError("`label_names` was given without `labels`.")
        return None, None
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"`labels` must be 1-D with {n} entries (one per node), got {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`labels` must hold integer codes, got dtype {arr.dtype}.")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < -1:
        raise ValueError(f"`labels` must be >= -1 (-1 = no label), got {int(arr.min())}.")
    top = int(arr.max()) + 1 if arr.size else 0
    if label_names is None:
        names = [str(c) for c in range(top)]
    else:
        names = _check_texts(label_names, "label_names", len(label_names)) or []
        if len(set(names)) != len(names):
            raise ValueError(f"`label_names` must be unique, got {names!r}.")
        if top > len(names):
            raise ValueError(
                f"`labels` uses code {top - 1} but `label_names` has only {len(names)} names."
            )
    return arr, names


def _check_dense(arr: Any, name: str, n: int) -> np.ndarray | None:
    if arr is None:
        return None
    if sp.issparse(arr):
        raise TypeError(f"`{name}` must be a dense array, got a scipy.sparse {arr.format} matrix.")
    # asanyarray keeps a np.memmap (from mmap_mode) a memmap; np.matrix is not wanted, though.
    out = np.asarray(arr) if isinstance(arr, np.matrix) else np.asanyarray(arr)
    if out.ndim != 2 or out.shape[0] != n:
        raise ValueError(f"`{name}` must have shape ({n}, dim), got {out.shape}.")
    if np.issubdtype(out.dtype, np.integer) or out.dtype == np.bool_:
        out = out.astype(np.float32)
    elif not np.issubdtype(out.dtype, np.floating):
        raise TypeError(f"`{name}` must be a float array, got dtype {out.dtype}.")
    return out


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
