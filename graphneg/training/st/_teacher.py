"""The teacher's embeddings of a pair table, and the dev slice's retrieval evaluator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ._pairs import PairTable

#: each dev query's top teacher candidates kept in the dev corpus: the documents a ranking
#: must get past, so that a small dev corpus still measures what the full one would
DEV_CANDIDATES = 30


def _normalise(x: Any, n: int, what: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim != 2 or a.shape[0] != n:
        raise ValueError(f"the teacher returned shape {a.shape} for {n} {what}; expected ({n}, dim).")
    if not np.isfinite(a).all():
        raise ValueError(f"the teacher's embeddings of the {what} contain NaN or inf.")
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return a / np.where(norms > 0, norms, 1.0)


def _encode(teacher: Any, texts: list[str], kind: str) -> Any:
    if isinstance(teacher, Mapping):
        missing = next((t for t in texts if t not in teacher), None)
        if missing is not None:
            raise KeyError(f"the precomputed teacher embeddings have no vector for the {kind} {missing[:80]!r}.")
        return np.stack([np.asarray(teacher[t], dtype=np.float32) for t in texts])
    # sentence-transformers >= 5 applies the model's query / document prompts itself
    method = getattr(teacher, f"encode_{kind}", None) or getattr(teacher, "encode", None)
    if method is not None:
        return method(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=len(texts) > 2000)
    if isinstance(teacher, Callable):
        return teacher(texts)
    raise TypeError(
        "`teacher` must be a sentence-transformers model, a callable texts -> embeddings or a mapping "
        f"text -> vector, got {type(teacher).__name__}."
    )


def teacher_embeddings(teacher: Any, table: PairTable) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm teacher embeddings of ``table``'s queries and documents (float32).

    Parameters
    ----------
    teacher : SentenceTransformer, callable or mapping
        A model (its ``encode_query`` / ``encode_document`` when it has them), a function
        ``texts -> (n, dim)`` or a mapping ``text -> vector``.
    table : PairTable

    Returns
    -------
    (query_embeddings, doc_embeddings) : tuple of ndarray

    See Also
    --------
    prepare : mines the recipe's negatives from them.
    dev_evaluator : ranks the dev slice by them.

    Examples
    --------
    >>> from graphneg.training.st import read_pairs
    >>> t = read_pairs({"query": ["a"], "positive": ["x"]})
    >>> q, d = teacher_embeddings({"a": [3.0, 4.0], "x": [1.0, 0.0]}, t)
    >>> q.tolist(), d.tolist()
    ([[0.6000000238418579, 0.800000011920929]], [[1.0, 0.0]])
    """
    q = _normalise(_encode(teacher, table.query_texts, "query"), len(table.query_texts), "queries")
    d = _normalise(_encode(teacher, table.doc_texts, "document"), len(table.doc_texts), "documents")
    if q.shape[1] != d.shape[1]:
        raise ValueError("the teacher's query and document embeddings differ in dimension: "
                         f"{q.shape[1]} vs {d.shape[1]}.")
    return q, d


def dev_corpus(table: PairTable, dev_queries: np.ndarray, tq: np.ndarray, td: np.ndarray, *, size: int,
               seed: int) -> np.ndarray:
    """Documents ranked on the dev slice: the dev positives, each dev query's top teacher
    candidates, then a seeded sample of the rest up to ``size`` (sorted document ids).

    Examples
    --------
    >>> from graphneg.training.st import read_pairs
    >>> t = read_pairs({"query": ["a", "b"], "positive": ["x", "y"]}, corpus=["z", "w"])
    >>> E = np.eye(4, dtype=np.float32)
    >>> dev_corpus(t, np.array([1]), E[:2], E, size=3, seed=0).tolist()  # top candidates: all 4
    [0, 1, 2, 3]
    """
    rel = np.unique(np.concatenate([table.known.indices[table.known.indptr[q]:table.known.indptr[q + 1]]
                                    for q in dev_queries]))
    k = min(DEV_CANDIDATES, td.shape[0])
    scores = tq[dev_queries] @ td.T
    top = np.unique(np.argpartition(-scores, k - 1, axis=1)[:, :k])
    keep = np.union1d(rel, top)
    rest = np.setdiff1d(np.arange(td.shape[0]), keep)
    extra = max(0, size - keep.size)
    if extra and rest.size:
        keep = np.union1d(keep, np.random.default_rng(seed).choice(rest, min(extra, rest.size), replace=False))
    return keep


def dev_evaluator(table: PairTable, dev_queries: np.ndarray, tq: np.ndarray, td: np.ndarray, *, size: int,
                  seed: int) -> Any:
    """sentence-transformers' ``InformationRetrievalEvaluator`` on the dev slice (nDCG@10 first).

    See Also
    --------
    split_queries : the dev slice.
    fit : chooses the checkpoint by this evaluator.

    Examples
    --------
    >>> from graphneg.training.st import read_pairs
    >>> t = read_pairs({"query": ["a", "b"], "positive": ["x", "y"]})
    >>> ev = dev_evaluator(t, np.array([1]), np.eye(2), np.eye(2), size=10, seed=0)
    >>> ev.primary_metric, len(ev.queries), len(ev.corpus)
    ('dev_cosine_ndcg@10', 1, 2)
    """
    try:  # sentence-transformers >= 6
        from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    except ImportError:  # pragma: no cover - sentence-transformers 5
        from sentence_transformers.evaluation import InformationRetrievalEvaluator

    docs = dev_corpus(table, dev_queries, tq, td, size=size, seed=seed)
    relevant = {str(q): {str(d) for d in table.known.indices[table.known.indptr[q]:table.known.indptr[q + 1]]}
                for q in dev_queries}
    ev = InformationRetrievalEvaluator(
        queries={str(q): table.query_texts[q] for q in dev_queries},
        corpus={str(d): table.doc_texts[d] for d in docs},
        relevant_docs=relevant, name="dev", show_progress_bar=False,
        mrr_at_k=[10], ndcg_at_k=[10], accuracy_at_k=[1, 10], precision_recall_at_k=[10, 100], map_at_k=[100],
    )
    ev.primary_metric = "dev_cosine_ndcg@10"
    return ev
