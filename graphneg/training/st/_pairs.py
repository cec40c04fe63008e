"""Training pairs as ids: the table that the recipe's miner, sampler, masks and loss share.

A dataset of ``(query, positive[, query_id])`` rows becomes integer ids once: queries are keyed
by ``query_id`` (or by their text), documents by their text, so identical texts are one
document and a query's every positive is known. Everything downstream (mined negatives, the
walk graph, the false-negative mask of a batch) reads these arrays, never the texts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

QUERY_COLUMNS = ("query", "anchor", "question", "sentence1")
POSITIVE_COLUMNS = ("positive", "document", "passage", "answer", "sentence2")
ID_COLUMNS = ("query_id", "qid", "query-id")


@dataclass
class PairTable:
    """Training pairs and their documents as integer ids.

    Attributes
    ----------
    query_texts : list of str
        One text per distinct query (keyed by query id, else by text).
    doc_texts : list of str
        One text per distinct document (positives first, then the extra corpus).
    query : ndarray of shape (n_pairs,), int64
        Query of each pair (row of the dataset).
    positive : ndarray of shape (n_pairs,), int64
        Positive document of each pair.
    known : scipy.sparse.csr_array of shape (n_queries, n_docs), bool
        Every positive of each query in the data (all pairs, dev slice included).
    negatives : ndarray of shape (n_pairs, n) or None
        Mined negative documents of each pair, ``-1`` where fewer were found.

    See Also
    --------
    read_pairs : builds it from training rows.
    prepare : the recipe over it.

    Examples
    --------
    >>> t = read_pairs({"query": ["a", "a", "b"], "positive": ["x", "y", "x"]})
    >>> t.query.tolist(), t.positive.tolist(), t.doc_texts
    ([0, 0, 1], [0, 1, 0], ['x', 'y'])
    >>> t.known.toarray().astype(int).tolist()
    [[1, 1], [1, 0]]
    """

    query_texts: list[str]
    doc_texts: list[str]
    query: np.ndarray
    positive: np.ndarray
    known: sp.csr_array
    negatives: np.ndarray | None = None

    @property
    def num_pairs(self) -> int:
        """Number of training pairs."""
        return int(self.query.size)

    def subset(self, rows: np.ndarray) -> PairTable:
        """The pairs ``rows`` (same query and document ids, same ``known``)."""
        negs = None if self.negatives is None else self.negatives[rows]
        return PairTable(self.query_texts, self.doc_texts, self.query[rows], self.positive[rows], self.known, negs)


def _column(names: Sequence[str], wanted: tuple[str, ...], fallback: int | None, what: str) -> str | None:
    for name in wanted:
        if name in names:
            return name
    if fallback is None:
        return None
    text_columns = [n for n in names if n not in ID_COLUMNS and n not in ("label", "score")]
    if len(text_columns) <= fallback:
        raise ValueError(
            f"the training data needs a {what} column (one of {', '.join(wanted)}), got columns {list(names)}."
        )
    return text_columns[fallback]


def _columns(dataset: Any) -> dict[str, list[Any]]:
    if isinstance(dataset, Mapping):
        return {k: list(v) for k, v in dataset.items()}
    names = getattr(dataset, "column_names", None)
    if names is None:
        raise TypeError(
            "the training data must be a datasets.Dataset or a mapping of column name -> list, "
            f"got {type(dataset).__name__}."
        )
    return {n: list(dataset[n]) for n in names}


def _texts(values: list[Any], column: str) -> list[str]:
    for i, v in enumerate(values):
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"column {column!r} row {i}: expected a non-empty text, got {v!r}.")
    return values


def _corpus_texts(corpus: Any) -> list[str]:
    if corpus is None:
        return []
    if isinstance(corpus, Mapping):
        values = list(corpus.values())
    elif hasattr(corpus, "column_names"):
        names = corpus.column_names
        col = "text" if "text" in names else next((n for n in names if n not in ("_id", "id", "title")), None)
        if col is None:
            raise ValueError(f"the corpus needs a text column, got columns {names}.")
        values = list(corpus[col])
    else:
        values = list(corpus)
    return _texts(values, "corpus")


def read_pairs(dataset: Any, corpus: Any = None, qrels: Mapping[str, Any] | None = None) -> PairTable:
    """Read ``(query, positive[, query_id])`` rows into a :class:`PairTable`.

    Columns are found by name (``query``/``anchor``/``question``, ``positive``/``document``/
    ``passage``, ``query_id``/``qid``), else the first two text columns are query and positive.
    Queries without an id column are keyed by their text, so two rows with the same query text
    are one query with two positives. Queries are numbered in sorted key order, documents in
    order of first appearance.

    Parameters
    ----------
    dataset : datasets.Dataset or mapping of column name -> list
    corpus : sequence of str, mapping id -> text, or datasets.Dataset, optional
        Documents beyond the positives (more candidates for mining and evaluation).
    qrels : mapping query key -> iterable of str, optional
        More known positives (document texts) per query, keyed like the queries (``query_id``,
        else the query text): never mined or counted as negatives, never trained on. Keys of
        queries absent from the dataset are ignored.

    Returns
    -------
    PairTable

    See Also
    --------
    PairTable : what it returns.
    split_queries : the dev slice of its queries.

    Examples
    --------
    >>> t = read_pairs({"anchor": ["q1", "q2"], "positive": ["d1", "d2"]}, corpus=["d3", "d1"])
    >>> t.doc_texts, t.num_pairs
    (['d1', 'd2', 'd3'], 2)
    """
    cols = _columns(dataset)
    names = list(cols)
    qcol = _column(names, QUERY_COLUMNS, 0, "query")
    pcol = _column(names, POSITIVE_COLUMNS, 1 if qcol == names[0] or qcol not in QUERY_COLUMNS else 0, "positive")
    if qcol == pcol:
        raise ValueError(f"the training data needs a query and a positive column, got columns {names}.")
    queries, positives = _texts(cols[qcol], qcol), _texts(cols[pcol], pcol)
    if not queries:
        raise ValueError("the training data has no rows.")
    idcol = _column(names, ID_COLUMNS, None, "query id")
    keys = [str(k) for k in cols[idcol]] if idcol else queries
    qkey, q = np.unique(np.asarray(keys, dtype=object), return_inverse=True)
    first = np.full(qkey.size, -1)
    first[q[::-1]] = np.arange(q.size)[::-1]  # first row of each query: its text
    extra = [(i, t) for i, k in enumerate(qkey) for t in _texts(list((qrels or {}).get(k, ())), "qrels")]
    doc_texts = list(dict.fromkeys([*positives, *_corpus_texts(corpus), *(t for _, t in extra)]))
    doc_id = {t: i for i, t in enumerate(doc_texts)}
    pos = np.fromiter((doc_id[t] for t in positives), np.int64, len(positives))
    rows = np.concatenate([q, np.fromiter((i for i, _ in extra), np.int64, len(extra))])
    cols = np.concatenate([pos, np.fromiter((doc_id[t] for _, t in extra), np.int64, len(extra))])
    known = sp.csr_array((np.ones(rows.size, bool), (rows, cols)), shape=(qkey.size, len(doc_texts)))
    known.sum_duplicates()
    return PairTable([queries[i] for i in first], doc_texts, q.astype(np.int64), pos, known)


def split_queries(num_queries: int, fraction: float, seed: int, max_dev: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """A seeded dev slice of the queries: ``(train_queries, dev_queries)``, both sorted.

    ``round(fraction * num_queries)`` queries (at least 1, at most ``max_dev``, and never all)
    go to the dev slice. With ``fraction = 0`` the dev slice is empty.

    See Also
    --------
    read_pairs : numbers the queries it splits.
    prepare : holds the dev slice out with it.

    Examples
    --------
    >>> tr, dev = split_queries(10, 0.2, seed=0)
    >>> len(tr), len(dev), sorted([*tr, *dev]) == list(range(10))
    (8, 2, True)
    """
    if fraction == 0:
        return np.arange(num_queries), np.empty(0, np.int64)
    if num_queries < 2:
        raise ValueError(f"a dev slice needs at least 2 distinct queries, the training data has {num_queries}.")
    n_dev = int(min(max(1, round(fraction * num_queries)), max_dev, num_queries - 1))
    perm = np.random.default_rng(seed).permutation(num_queries)
    return np.sort(perm[n_dev:]), np.sort(perm[:n_dev])


def pair_graph(query_emb: np.ndarray, doc_emb: np.ndarray, table: PairTable, *, k: int, skip: int) -> sp.csr_array:
    """B3's pair graph: pair ``a -> b`` when ``b``'s positive is in ``a``'s teacher rank window.

    The window is ranks ``[skip, skip + k)`` of the query's similarities to every pair's
    positive (Thirukovalluru et al., B3, 2025); a pair's own positive is not an edge. Small
    data shrink the window so that it fits.

    See Also
    --------
    batch_sampler : ``batch_sampler('walk', graph=...)`` walks it.
    graphneg.knn_graph : B3's rank window ``skip``/``k`` on item embeddings.

    Examples
    --------
    >>> t = read_pairs({"query": ["a", "b", "c"], "positive": ["x", "y", "z"]})
    >>> E = np.array([[1, .5, 0], [.5, 1, .5], [0, .5, 1]], dtype=np.float32)
    >>> (pair_graph(E, E, t, k=2, skip=0).toarray() > 0).astype(int)  # own positives dropped
    array([[0, 1, 0],
           [1, 0, 0],
           [0, 1, 0]])
    """
    from ...similarity import knn_graph

    n = table.num_pairs
    skip = min(skip, max(n - 2, 0))
    k = max(1, min(k, n - 1 - skip))
    G = sp.csr_array(knn_graph(query_emb[table.query], k=k, targets=doc_emb[table.positive], skip=skip))
    G.setdiag(0)
    G.eliminate_zeros()
    return G


def candidates(table: PairTable, rows: np.ndarray) -> np.ndarray:
    """Candidate documents of a batch, in the loss's column order: positives, then each negative
    column (``negative_1`` for every row, then ``negative_2``, ...); ``-1`` = missing.

    Examples
    --------
    >>> t = read_pairs({"query": ["a", "b"], "positive": ["x", "y"]})
    >>> t.negatives = np.array([[1, -1], [0, -1]])
    >>> candidates(t, np.array([0, 1])).tolist()
    [0, 1, 1, 0, -1, -1]
    """
    if table.negatives is None:
        return table.positive[rows]
    return np.concatenate([table.positive[rows], table.negatives[rows].T.ravel()])
