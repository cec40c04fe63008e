"""What the three trainer-format modules share: their inputs, checked once, and the line checks.

The formats (``_formats_st.py``: sentence-transformers, ``_formats_flagembedding.py``,
``_formats_tevatron.py``) take the same inputs, always row indices: ``positives`` (corpus rows
per query, several allowed) and ``negatives`` (a :class:`~graphneg.HardNegatives` or a
``(n_queries, n)`` int array, ``-1`` padded); :func:`prepare` checks them into a
:class:`Mined`. Writers are atomic and write UTF-8 with ``ensure_ascii=False``
(:func:`~graphneg.io._jsonl.write_jsonl`). Every reader validates every line of its file and
ignores blank lines (:func:`~graphneg.io._jsonl.read_jsonl`): ``strict=True`` (the default)
raises a ``ValueError`` naming the file and the line of the first malformed one;
``strict=False`` skips malformed lines and emits one ``GraphNegWarning`` with their count and
the first reason.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._ids import check_index_array
from .._sparse import _index_lists, as_pairs_matrix
from ..exceptions import GraphNegWarning
from ..negatives._mining import HardNegatives

PathLike = str | os.PathLike[str]
AsDataset = bool | Literal["auto"]


@dataclass
class Mined:
    """Validated inputs: texts are accessed lazily, negatives stay one int array."""

    query_texts: Sequence[str]
    doc_texts: Sequence[str]
    positives: list[list[int]]
    indices: np.ndarray  # (n_queries, n) int64, -1 = missing
    scores: np.ndarray | None  # aligned with indices; only from HardNegatives
    positive_scores: np.ndarray | None  # (n_queries,)

    @property
    def n_queries(self) -> int:
        return len(self.positives)

    @property
    def counts(self) -> np.ndarray:
        return (self.indices >= 0).sum(axis=1)

    def negatives(self, i: int) -> tuple[list[int], list[float] | None]:
        """Valid negatives of query ``i`` in stored order (``-1`` anywhere is skipped)."""
        row = self.indices[i]
        keep = row >= 0
        scores = self.scores[i][keep].tolist() if self.scores is not None else None
        return row[keep].tolist(), scores


def check_texts(texts: Any, name: str) -> Sequence[str]:
    """Accept any sized, indexable sequence; items are checked lazily by :func:`text_at`."""
    sized = hasattr(texts, "__len__") and hasattr(texts, "__getitem__")
    if isinstance(texts, (str, bytes)) or not sized:
        raise TypeError(f"`{name}` must be a sequence of strings, got {type(texts).__name__}.")
    return texts


def text_at(texts: Sequence[str], i: int, name: str) -> str:
    # checked at write time, not up front: a corpus is never copied just to validate it
    value = texts[i]
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must hold strings, got {type(value).__name__} at index {i}.")
    return value


def _as_index_row(arr: np.ndarray, q: int) -> list[int]:
    if arr.size == 0:
        return []  # before the dtype test: ``[]`` is float64 to numpy
    # the one index rule (graphneg._ids): ints, integral floats; 5.5 is an error, never 5
    return check_index_array(arr, f"positives[{q}]", ndims=None, min_value=None).ravel().tolist()


def _check_positives(positives: Any, n_queries: int, n_docs: int) -> list[list[int]]:
    """Corpus rows per query, order kept, duplicates dropped; every query needs one.

    The parsing is the shared one of :func:`~graphneg._sparse.as_pairs_matrix`: a sparse
    matrix goes through it (a canonical copy: the caller's matrix is never sorted in place),
    lists and arrays are split into rows by its ``_index_lists``. What stays here is what the
    written files need and that pattern (sorted columns) would lose: the caller's order
    within a row, and errors that name the query.
    """
    if sp.issparse(positives):
        M = as_pairs_matrix(positives, n_queries, n_docs, "positives")
        arrays = [M.indices[M.indptr[i] : M.indptr[i + 1]] for i in range(n_queries)]
    else:
        if isinstance(positives, (str, bytes)) or not isinstance(positives, Iterable):
            raise TypeError(
                f"`positives` must be a sequence of corpus-row lists, got {type(positives).__name__}."
            )
        if isinstance(positives, np.ndarray) and positives.ndim > 2:
            raise ValueError(f"`positives` must be 1-D or 2-D, got shape {positives.shape}.")
        arrays = _index_lists(positives, "positives")
    if len(arrays) != n_queries:
        raise ValueError(
            f"`positives` must have one entry per query ({n_queries}), got {len(arrays)}."
        )
    rows = [_as_index_row(arr, q) for q, arr in enumerate(arrays)]
    empty = 0
    for q, row in enumerate(rows):
        for j in row:
            if not 0 <= j < n_docs:
                raise ValueError(
                    f"`positives` must hold corpus rows in [0, {n_docs}), got {j} for query {q}."
                )
        rows[q] = list(dict.fromkeys(row))
        empty += not row
    if empty:
        first = [q for q, row in enumerate(rows) if not row][:5]
        raise ValueError(
            f"`positives` must give every query at least one corpus row, got {empty} empty "
            f"(first: {first})."
        )
    return rows


def _check_negatives(
    negatives: Any, n_queries: int, n_docs: int
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    hard = isinstance(negatives, HardNegatives)
    name = "negatives.indices" if hard else "negatives"
    if isinstance(negatives, (str, bytes)):
        raise TypeError("`negatives` must be a HardNegatives or a 2-D int array, got str.")
    try:
        indices = np.asarray(negatives.indices if hard else negatives)
    except ValueError as err:  # ragged lists
        raise TypeError(
            "`negatives` must be a HardNegatives or a 2-D int array (pad with -1), got ragged rows."
        ) from err
    if indices.ndim != 2:
        raise ValueError(f"`{name}` must be 2-D (n_queries, n), got shape {indices.shape}.")
    indices = check_index_array(indices, name, ndims=(2,), min_value=None)  # the one index rule
    if indices.shape[0] != n_queries:
        raise ValueError(
            f"`{name}` must have one row per query ({n_queries}), got {indices.shape[0]}."
        )
    bad = (indices < -1) | (indices >= n_docs)
    if bad.any():
        q, k = np.argwhere(bad)[0]
        raise ValueError(
            f"`{name}` must hold corpus rows in [0, {n_docs}) or -1, got {int(indices[q, k])} "
            f"for query {int(q)}."
        )
    if not hard:
        return indices, None, None
    scores = np.asarray(negatives.scores, dtype=np.float64)
    pos_scores = np.asarray(negatives.positive_scores, dtype=np.float64)
    if scores.shape != indices.shape:
        raise ValueError(
            f"`negatives.scores` must have the shape of `negatives.indices` {indices.shape}, "
            f"got {scores.shape}."
        )
    if pos_scores.shape != (n_queries,):
        raise ValueError(
            f"`negatives.positive_scores` must have shape ({n_queries},), got {pos_scores.shape}."
        )
    # JSON has no NaN: a non-finite score would make a file other readers reject
    if not np.isfinite(scores[indices >= 0]).all():
        raise ValueError("`negatives.scores` must be finite wherever `negatives.indices` >= 0.")
    if not np.isfinite(pos_scores).all():
        raise ValueError("`negatives.positive_scores` must be finite.")
    return indices, scores, pos_scores


def prepare(query_texts: Any, doc_texts: Any, positives: Any, negatives: Any) -> Mined:
    query_texts = check_texts(query_texts, "query_texts")
    doc_texts = check_texts(doc_texts, "doc_texts")
    n_q, n_docs = len(query_texts), len(doc_texts)
    indices, scores, pos_scores = _check_negatives(negatives, n_q, n_docs)
    pos = _check_positives(positives, n_q, n_docs)
    return Mined(query_texts, doc_texts, pos, indices, scores, pos_scores)




def is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def str_list(rec: dict[str, Any], key: str, *, non_empty: bool = False) -> str | None:
    value = rec.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"field {key!r} must be a list of strings, got {value!r:.80}"
    if non_empty and not value:
        return f"field {key!r} must not be empty"
    return None


def required_fields(rec: dict[str, Any], keys: Sequence[str]) -> str | None:
    missing = [k for k in keys if k not in rec]
    return f"missing field(s) {missing}" if missing else None


def warn_no_negatives(n: int, n_queries: int, fmt: str) -> None:
    if n:
        warnings.warn(
            f"Skipped {n} of {n_queries} quer{'y' if n_queries == 1 else 'ies'} without any valid "
            f"negative: {fmt} fails on an empty negative list.",
            GraphNegWarning,
            stacklevel=3,
        )
