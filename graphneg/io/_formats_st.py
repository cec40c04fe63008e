"""sentence-transformers n-tuples: ``anchor, positive, negative_1 .. negative_n`` (+ ``scores``).

One row per (query, positive) pair: :func:`to_sentence_transformers` (a ``datasets.Dataset``
or a dict of lists), :func:`write_sentence_transformers_jsonl` /
:func:`read_sentence_transformers_jsonl` (the same rows as JSONL, no ``datasets`` needed).
Inputs, writing and reading as in :mod:`graphneg.io._formats_base`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .._optional import optional_import
from .._validation import check_bool, check_int
from ..exceptions import GraphNegWarning
from ..negatives._mining import HardNegatives
from ._formats_base import (
    AsDataset,
    Mined,
    PathLike,
    is_number,
    prepare,
    required_fields,
    text_at,
)
from ._jsonl import read_jsonl, write_jsonl


def _check_as_dataset(as_dataset: Any) -> AsDataset:
    if isinstance(as_dataset, str) and as_dataset == "auto":
        return "auto"
    if isinstance(as_dataset, (bool, np.bool_)):
        return bool(as_dataset)
    raise ValueError(f"`as_dataset` must be 'auto', True or False, got {as_dataset!r}.")


def _st_columns(n: int, with_scores: bool) -> list[str]:
    return ["anchor", "positive", *(f"negative_{k}" for k in range(1, n + 1))] + (
        ["scores"] if with_scores else []
    )


def _st_plan(mined: Mined, num_negatives: int | None, scores: bool) -> tuple[int, int, int]:
    """Check the options; return ``(n, rows dropped, queries dropped)``."""
    scores = check_bool(scores, "scores")
    if scores and mined.scores is None:
        raise ValueError(
            "`scores=True` needs `negatives` to be a HardNegatives (an index array has no scores)."
        )
    width = mined.indices.shape[1]
    if num_negatives is None:
        if width == 0:
            raise ValueError(
                f"`negatives` must have at least one column, got shape {mined.indices.shape}."
            )
        n = width
    else:
        n = check_int(num_negatives, "num_negatives", min_value=1, max_value=max(width, 1))
    short = np.flatnonzero(mined.counts < n)
    rows_dropped = sum(len(mined.positives[q]) for q in short.tolist())
    return n, rows_dropped, int(short.size)


def _st_rows(mined: Mined, n: int, scores: bool) -> Iterator[dict[str, Any]]:
    columns = _st_columns(n, False)[2:]
    for q in range(mined.n_queries):
        negs, neg_scores = mined.negatives(q)
        if len(negs) < n:
            continue  # sentence-transformers' n-tuple rule: all n negatives or no row
        anchor = text_at(mined.query_texts, q, "query_texts")
        docs = mined.doc_texts
        neg_texts = {c: text_at(docs, j, "doc_texts") for c, j in zip(columns, negs[:n], strict=True)}
        for p in mined.positives[q]:
            row: dict[str, Any] = {"anchor": anchor, "positive": text_at(docs, p, "doc_texts")}
            row.update(neg_texts)
            if scores:
                assert mined.positive_scores is not None and neg_scores is not None
                row["scores"] = [float(mined.positive_scores[q]), *neg_scores[:n]]
            yield row


def _warn_st_dropped(rows: int, queries: int, n: int) -> None:
    if rows:
        warnings.warn(
            f"Dropped {rows} (query, positive) row(s) of {queries} quer"
            f"{'y' if queries == 1 else 'ies'} with fewer than {n} valid negatives "
            "(sentence-transformers' n-tuple rule); lower `num_negatives` or mine deeper.",
            GraphNegWarning,
            stacklevel=3,
        )


def _to_dataset(columns: dict[str, list[Any]], feature: str) -> Any:
    datasets = optional_import("datasets", extra="st", feature=feature)
    # explicit features: an empty result keeps string/float types instead of 'null'
    list_type = getattr(datasets, "List", None) or datasets.Sequence
    text, score = datasets.Value("string"), list_type(datasets.Value("float64"))
    features = datasets.Features({name: score if name == "scores" else text for name in columns})
    return datasets.Dataset.from_dict(columns, features=features)


def _want_dataset(as_dataset: AsDataset) -> bool:
    if as_dataset == "auto":
        try:
            import datasets  # noqa: F401
        except ImportError:
            return False
        return True
    return bool(as_dataset)


def to_sentence_transformers(
    query_texts: Sequence[str],
    doc_texts: Sequence[str],
    positives: Any,
    negatives: HardNegatives | Any,
    *,
    num_negatives: int | None = None,
    scores: bool = False,
    as_dataset: AsDataset = "auto",
) -> Any:
    """Build the sentence-transformers n-tuple dataset ``anchor, positive, negative_1..n``.

    One row per (query, positive) pair, as ``mine_hard_negatives(output_format="n-tuple")``
    writes it; a query's negatives are shared by all its positives.

    Parameters
    ----------
    query_texts : sequence of str
        Text of each query (row *i* of ``negatives``).
    doc_texts : sequence of str
        Text of each corpus row.
    positives : sequence of int sequences, 1-D or -1 padded 2-D int array, or sparse matrix
        Corpus rows that are positives of each query (several allowed, none is an error).
    negatives : HardNegatives or array-like of shape (n_queries, n), int
        Corpus rows of the negatives, best first; ``-1`` marks a missing one.
    num_negatives : int, default=None
        Negative columns ``n``; ``None`` uses every column of ``negatives``. The first ``n``
        valid negatives of each query are used.
    scores : bool, default=False
        Add a ``scores`` column ``[pos, neg_1, ..., neg_n]`` (for MarginMSE or distillation).
        Needs a :class:`HardNegatives`. Only one positive score per query is stored, so
        ``pos`` is the query's reference positive score (``positive_scores``: the *lowest*
        score among its positives) on every row of that query, not recomputed per positive.
    as_dataset : {'auto', True, False}, default='auto'
        ``'auto'``: a ``datasets.Dataset`` when ``datasets`` is installed, else a dict.
        ``True``: a ``datasets.Dataset`` (raises when ``datasets`` is missing). ``False``:
        a dict of column lists.

    Returns
    -------
    datasets.Dataset or dict of str to list
        Columns in the order ``anchor, positive, negative_1, ..., negative_n[, scores]``
        (column order is what sentence-transformers' losses read).

    Raises
    ------
    ValueError
        Mismatched lengths, out-of-range corpus rows, a query without positives,
        ``scores=True`` without scores, ``num_negatives`` outside ``[1, n]``.
    TypeError
        Non-integer indices, non-string texts.
    BackendUnavailableError
        ``as_dataset=True`` without ``datasets`` (extra ``st``).

    Warns
    -----
    GraphNegWarning
        When rows are dropped: a query with fewer than ``n`` valid negatives contributes
        no row (sentence-transformers drops such n-tuples too); the message gives the counts.

    See Also
    --------
    write_sentence_transformers_jsonl : the same rows, written to a file.
    graphneg.mine_hard_negatives : the negatives it takes.
    write_flagembedding, write_tevatron : the other trainers' formats.

    Examples
    --------
    >>> docs = ["cats purr", "dogs bark", "fish swim", "birds sing"]
    >>> to_sentence_transformers(["what purrs?"], docs, [[0]], np.array([[2, 1]]),
    ...                          as_dataset=False)
    {'anchor': ['what purrs?'], 'positive': ['cats purr'], 'negative_1': ['fish swim'],
     'negative_2': ['dogs bark']}
    """
    mined = prepare(query_texts, doc_texts, positives, negatives)
    n, rows_dropped, queries_dropped = _st_plan(mined, num_negatives, scores)
    want = _want_dataset(_check_as_dataset(as_dataset))
    columns: dict[str, list[Any]] = {name: [] for name in _st_columns(n, bool(scores))}
    for row in _st_rows(mined, n, bool(scores)):
        for name, value in row.items():
            columns[name].append(value)
    result = _to_dataset(columns, "to_sentence_transformers(as_dataset=True)") if want else columns
    _warn_st_dropped(rows_dropped, queries_dropped, n)
    return result


def write_sentence_transformers_jsonl(
    path: PathLike,
    query_texts: Sequence[str],
    doc_texts: Sequence[str],
    positives: Any,
    negatives: HardNegatives | Any,
    *,
    num_negatives: int | None = None,
    scores: bool = False,
) -> int:
    """Write the :func:`to_sentence_transformers` rows as JSONL, one row per line.

    Loads without ``datasets`` (:func:`read_sentence_transformers_jsonl`) and with it
    (``datasets.load_dataset("json", data_files=path)`` keeps the column order).

    Parameters
    ----------
    path : str or PathLike
        Output file; written atomically (replaced only once complete).
    query_texts, doc_texts, positives, negatives, num_negatives, scores
        As in :func:`to_sentence_transformers` (``scores`` repeats the query's reference
        positive score as ``pos``).

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    ValueError, TypeError
        As in :func:`to_sentence_transformers`; nothing is written.

    Warns
    -----
    GraphNegWarning
        When rows are dropped for lack of negatives (with the counts).

    See Also
    --------
    read_sentence_transformers_jsonl : the reader of what this writes.
    to_sentence_transformers : the rows in memory.
    write_flagembedding, write_tevatron : the other trainers' formats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> docs = ["cats purr", "dogs bark", "fish swim"]
    >>> write_sentence_transformers_jsonl(path, ["what purrs?"], docs, [[0]], np.array([[2, 1]]))
    1
    >>> print(path.read_text(encoding="utf-8").strip())
    {"anchor": "what purrs?", "positive": "cats purr", "negative_1": "fish swim",
     "negative_2": "dogs bark"}
    """
    mined = prepare(query_texts, doc_texts, positives, negatives)
    n, rows_dropped, queries_dropped = _st_plan(mined, num_negatives, scores)
    written = write_jsonl(path, _st_rows(mined, n, bool(scores)))
    _warn_st_dropped(rows_dropped, queries_dropped, n)
    return written


def _is_negative_column(key: str) -> bool:
    return key == "negative" or (key.startswith("negative_") and key[9:].isdigit())


def _st_order(keys: Iterable[str]) -> list[str]:
    """Canonical column order: anchor, positive, negative(s) by number, scores."""

    def rank(key: str) -> tuple[int, int]:
        if key == "anchor":
            return (0, 0)
        if key == "positive":
            return (1, 0)
        if _is_negative_column(key):
            return (2, int(key[9:]) if key != "negative" else 0)
        return (3, 0)

    return sorted(keys, key=rank)


class _STValidator:
    """The first valid row fixes the columns; every later row must have the same ones."""

    def __init__(self) -> None:
        self.columns: list[str] | None = None

    def __call__(self, rec: dict[str, Any]) -> str | None:
        keys = set(rec)
        unknown = sorted(
            k
            for k in keys
            if k not in ("anchor", "positive", "scores") and not _is_negative_column(k)
        )
        if unknown:
            return f"unknown field(s) {unknown}"
        if self.columns is not None and keys != set(self.columns):
            return f"fields {sorted(keys)} differ from the file's columns {self.columns}"
        missing = required_fields(rec, ("anchor", "positive"))
        if missing:
            return missing
        for key in rec:
            if key != "scores" and not isinstance(rec[key], str):
                return f"field {key!r} must be a string, got {rec[key]!r:.80}"
        negs = [k for k in keys if _is_negative_column(k)]
        numbered = sorted(int(k[9:]) for k in negs if k != "negative")
        if "negative" in keys and numbered:
            return "mixes 'negative' with numbered 'negative_<i>' fields"
        if numbered != list(range(1, len(numbered) + 1)):
            expected = f"negative_1..negative_{len(numbered)}"
            return f"negative fields must be {expected}, got {sorted(negs)}"
        if "scores" in rec:
            value = rec["scores"]
            if not isinstance(value, list) or not all(is_number(v) for v in value):
                return f"field 'scores' must be a list of finite numbers, got {value!r:.80}"
            if len(value) != 1 + len(negs):
                return f"field 'scores' must have {1 + len(negs)} entries, got {len(value)}"
        if self.columns is None:
            self.columns = _st_order(keys)
        return None


def read_sentence_transformers_jsonl(
    path: PathLike, *, strict: bool = True, as_dataset: AsDataset = False
) -> Any:
    """Read a JSONL file of sentence-transformers rows back into columns.

    Accepts ``anchor, positive`` plus ``negative`` or ``negative_1..negative_n`` and an
    optional ``scores`` list (``1 + n`` numbers); the first valid line fixes the columns.

    Parameters
    ----------
    path, strict
        As in :func:`read_flagembedding`.
    as_dataset : {'auto', True, False}, default=False
        As in :func:`to_sentence_transformers`; the default returns a dict of lists, so
        reading never needs ``datasets``.

    Returns
    -------
    dict of str to list, or datasets.Dataset
        Columns in the order ``anchor, positive, negative_1..n[, scores]``; ``{}`` for a
        file without rows.

    Raises
    ------
    ValueError
        A malformed line (``strict=True``); :func:`read_flagembedding` tells what
        ``strict=False`` does instead.
    BackendUnavailableError
        ``as_dataset=True`` without ``datasets`` (extra ``st``).

    See Also
    --------
    write_sentence_transformers_jsonl : the writer of what this reads.
    read_flagembedding, read_tevatron : the other trainers' formats.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> _ = path.write_text('{"anchor": "q", "positive": "p", "negative_1": "n"}\\n')
    >>> read_sentence_transformers_jsonl(path)
    {'anchor': ['q'], 'positive': ['p'], 'negative_1': ['n']}
    """
    want = _want_dataset(_check_as_dataset(as_dataset))
    validator = _STValidator()
    records = read_jsonl(path, strict, validator, "sentence-transformers JSONL")
    columns: dict[str, list[Any]] = {name: [] for name in validator.columns or []}
    for rec in records:
        for name in columns:
            columns[name].append(rec[name])
    if want:
        return _to_dataset(columns, "read_sentence_transformers_jsonl(as_dataset=True)")
    return columns
