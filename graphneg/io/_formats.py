"""Mined negatives as the files and datasets that trainers read, and reading them back.

Three consumers, three layouts (see ``shared/research/hard-negative-mining.md`` §1.1, §2, §6):

sentence-transformers (n-tuple)
    Columns ``anchor, positive, negative_1 .. negative_n`` (+ ``scores``), one row per
    (query, positive) pair: :func:`to_sentence_transformers` (a ``datasets.Dataset`` or a
    dict of lists), :func:`write_sentence_transformers_jsonl` /
    :func:`read_sentence_transformers_jsonl` (the same rows as JSONL, no ``datasets`` needed).
FlagEmbedding
    One JSON line per query, ``{"query", "pos", "neg", "pos_scores"?, "neg_scores"?,
    "prompt"?}``: :func:`write_flagembedding` / :func:`read_flagembedding`.
Tevatron (legacy)
    One JSON line per query, ``{"query_id", "query", "positive_passages",
    "negative_passages"}`` with passages ``{"docid", "title", "text"}``:
    :func:`write_tevatron` / :func:`read_tevatron`.

Every reader validates every line of its file and ignores blank lines. ``strict=True`` (the
default) raises a ``ValueError`` naming the file and the line of the first malformed one;
``strict=False`` skips malformed lines and emits one ``GraphNegWarning`` with their count and
the first reason.

Inputs are always row indices: ``positives`` (corpus rows per query, several allowed) and
``negatives`` (a :class:`~graphneg.HardNegatives` or a ``(n_queries, n)`` int array,
``-1`` padded). Writers are atomic (a failure leaves no file and no temporary file behind)
and write UTF-8 with ``ensure_ascii=False``.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from numbers import Real
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._ids import check_index_array
from .._optional import optional_import
from .._sparse import _index_lists, as_pairs_matrix
from .._validation import check_bool, check_int
from ..exceptions import GraphNegWarning
from ..links._graph import unique_ids
from ..negatives._mining import HardNegatives
from ._atomic import atomic_write
from ._jsonl import dumps_line as _dumps

PathLike = str | os.PathLike[str]
AsDataset = bool | Literal["auto"]


# --------------------------------------------------------------------------------------------
# Input normalisation (shared by every writer)
# --------------------------------------------------------------------------------------------


@dataclass
class _Mined:
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


def _check_texts(texts: Any, name: str) -> Sequence[str]:
    """Accept any sized, indexable sequence; items are checked lazily by :func:`_text`."""
    sized = hasattr(texts, "__len__") and hasattr(texts, "__getitem__")
    if isinstance(texts, (str, bytes)) or not sized:
        raise TypeError(f"`{name}` must be a sequence of strings, got {type(texts).__name__}.")
    return texts


def _text(texts: Sequence[str], i: int, name: str) -> str:
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


def _prepare(query_texts: Any, doc_texts: Any, positives: Any, negatives: Any) -> _Mined:
    query_texts = _check_texts(query_texts, "query_texts")
    doc_texts = _check_texts(doc_texts, "doc_texts")
    n_q, n_docs = len(query_texts), len(doc_texts)
    indices, scores, pos_scores = _check_negatives(negatives, n_q, n_docs)
    pos = _check_positives(positives, n_q, n_docs)
    return _Mined(query_texts, doc_texts, pos, indices, scores, pos_scores)


def _check_as_dataset(as_dataset: Any) -> AsDataset:
    if isinstance(as_dataset, str) and as_dataset == "auto":
        return "auto"
    if isinstance(as_dataset, (bool, np.bool_)):
        return bool(as_dataset)
    raise ValueError(f"`as_dataset` must be 'auto', True or False, got {as_dataset!r}.")


def _warn(message: str) -> None:
    # stacklevel 3: the user's call of the public function, not this helper
    warnings.warn(message, GraphNegWarning, stacklevel=3)


# --------------------------------------------------------------------------------------------
# Writing helpers
# --------------------------------------------------------------------------------------------


def _write_jsonl(path: PathLike, records: Iterable[dict[str, Any]]) -> int:
    """Write ``records`` atomically: on any error (even mid-way) nothing is left behind."""
    n = 0
    with atomic_write(Path(path), "w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(_dumps(rec))
            n += 1
    return n


# --------------------------------------------------------------------------------------------
# Reading helpers
# --------------------------------------------------------------------------------------------

_Validator = Callable[[dict[str, Any]], str | None]


def read_jsonl(
    path: PathLike, strict: bool, validate: _Validator, what: str
) -> list[dict[str, Any]]:
    """Parse a JSONL file, one validated object per non-blank line.

    A malformed line (bad UTF-8, bad JSON, not an object, ``validate`` objects) raises a
    ValueError naming the file and line when ``strict``; otherwise it is skipped and counted,
    and one GraphNegWarning reports the count.
    """
    strict = check_bool(strict, "strict")
    path = Path(path)
    records: list[dict[str, Any]] = []
    bad: list[tuple[int, str]] = []
    with open(path, "rb") as fh:
        # bytes, decoded per line: one bad byte spoils one line, not the whole read
        for lineno, raw in enumerate(fh, start=1):
            reason: str | None
            rec: Any = None
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                reason = "not valid UTF-8"
            else:
                if not line.strip():
                    continue  # blank lines carry no record
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as err:
                    reason = f"malformed JSON ({err.msg})"
                else:
                    if isinstance(rec, dict):
                        reason = validate(rec)
                    else:
                        reason = f"expected a JSON object, got {type(rec).__name__}"
            if reason is None:
                records.append(rec)
            elif strict:
                raise ValueError(f"{path}: line {lineno}: {reason} (not a {what} record).")
            else:
                bad.append((lineno, reason))
    if bad:
        lines = [lineno for lineno, _ in bad[:5]]
        warnings.warn(
            f"Skipped {len(bad)} malformed line(s) of {what} file {path} (lines {lines}"
            f"{', ...' if len(bad) > 5 else ''}; line {bad[0][0]}: {bad[0][1]}).",
            GraphNegWarning,
            stacklevel=3,
        )
    return records


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def _str_list(rec: dict[str, Any], key: str, *, non_empty: bool = False) -> str | None:
    value = rec.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return f"field {key!r} must be a list of strings, got {value!r:.80}"
    if non_empty and not value:
        return f"field {key!r} must not be empty"
    return None


def _required(rec: dict[str, Any], keys: Sequence[str]) -> str | None:
    missing = [k for k in keys if k not in rec]
    return f"missing field(s) {missing}" if missing else None


# --------------------------------------------------------------------------------------------
# sentence-transformers
# --------------------------------------------------------------------------------------------


def _st_columns(n: int, with_scores: bool) -> list[str]:
    return ["anchor", "positive", *(f"negative_{k}" for k in range(1, n + 1))] + (
        ["scores"] if with_scores else []
    )


def _st_plan(mined: _Mined, num_negatives: int | None, scores: bool) -> tuple[int, int, int]:
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


def _st_rows(mined: _Mined, n: int, scores: bool) -> Iterator[dict[str, Any]]:
    columns = _st_columns(n, False)[2:]
    for q in range(mined.n_queries):
        negs, neg_scores = mined.negatives(q)
        if len(negs) < n:
            continue  # sentence-transformers' n-tuple rule: all n negatives or no row
        anchor = _text(mined.query_texts, q, "query_texts")
        docs = mined.doc_texts
        neg_texts = {c: _text(docs, j, "doc_texts") for c, j in zip(columns, negs[:n], strict=True)}
        for p in mined.positives[q]:
            row: dict[str, Any] = {"anchor": anchor, "positive": _text(docs, p, "doc_texts")}
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

    Examples
    --------
    >>> docs = ["cats purr", "dogs bark", "fish swim", "birds sing"]
    >>> to_sentence_transformers(["what purrs?"], docs, [[0]], np.array([[2, 1]]),
    ...                          as_dataset=False)
    {'anchor': ['what purrs?'], 'positive': ['cats purr'], 'negative_1': ['fish swim'],
     'negative_2': ['dogs bark']}
    """
    mined = _prepare(query_texts, doc_texts, positives, negatives)
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
    mined = _prepare(query_texts, doc_texts, positives, negatives)
    n, rows_dropped, queries_dropped = _st_plan(mined, num_negatives, scores)
    written = _write_jsonl(path, _st_rows(mined, n, bool(scores)))
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
        missing = _required(rec, ("anchor", "positive"))
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
            if not isinstance(value, list) or not all(_is_number(v) for v in value):
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


# --------------------------------------------------------------------------------------------
# FlagEmbedding
# --------------------------------------------------------------------------------------------


def _warn_no_negatives(n: int, n_queries: int, fmt: str) -> None:
    if n:
        warnings.warn(
            f"Skipped {n} of {n_queries} quer{'y' if n_queries == 1 else 'ies'} without any valid "
            f"negative: {fmt} fails on an empty negative list.",
            GraphNegWarning,
            stacklevel=3,
        )


def write_flagembedding(
    path: PathLike,
    query_texts: Sequence[str],
    doc_texts: Sequence[str],
    positives: Any,
    negatives: HardNegatives | Any,
    *,
    prompt: str | Sequence[str] | None = None,
) -> int:
    """Write FlagEmbedding fine-tuning JSONL, one line per query.

    Each line is ``{"query": str, "pos": [str], "neg": [str], "pos_scores": [float],
    "neg_scores": [float], "prompt": str}``. All valid negatives are written (FlagEmbedding
    draws ``train_group_size - 1`` of them per step).

    Parameters
    ----------
    path : str or PathLike
        Output file; written atomically.
    query_texts, doc_texts, positives, negatives
        As in :func:`to_sentence_transformers`.
    prompt : str or sequence of str, default=None
        Query instruction, written as the ``prompt`` field (one for all lines, or one per
        query); ``None`` omits the field.

    Returns
    -------
    int
        Lines written.

    Notes
    -----
    ``pos_scores``/``neg_scores`` (FlagEmbedding's knowledge-distillation targets) are
    written only when ``negatives`` is a :class:`HardNegatives`, otherwise the keys are
    omitted. ``neg_scores`` are the mined scores; only one positive score per query is
    known, so ``pos_scores`` repeats the query's reference positive score (the *lowest* of
    its positives) once per positive.

    Queries without any valid negative are skipped (with a warning): FlagEmbedding divides
    by ``len(neg)`` when it pads a short negative list.

    Warns
    -----
    GraphNegWarning
        When queries without negatives were skipped (with the count).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> docs = ["cats purr", "dogs bark", "fish swim"]
    >>> write_flagembedding(path, ["what purrs?"], docs, [[0]], np.array([[2, -1]]))
    1
    >>> read_flagembedding(path)
    [{'query': 'what purrs?', 'pos': ['cats purr'], 'neg': ['fish swim']}]
    """
    mined = _prepare(query_texts, doc_texts, positives, negatives)
    prompts = _check_prompt(prompt, mined.n_queries)
    empty = int((mined.counts == 0).sum())

    def records() -> Iterator[dict[str, Any]]:
        for q in range(mined.n_queries):
            negs, neg_scores = mined.negatives(q)
            if not negs:
                continue
            pos = mined.positives[q]
            rec: dict[str, Any] = {
                "query": _text(mined.query_texts, q, "query_texts"),
                "pos": [_text(mined.doc_texts, j, "doc_texts") for j in pos],
                "neg": [_text(mined.doc_texts, j, "doc_texts") for j in negs],
            }
            if mined.positive_scores is not None and neg_scores is not None:
                rec["pos_scores"] = [float(mined.positive_scores[q])] * len(pos)
                rec["neg_scores"] = neg_scores
            if prompts is not None:
                rec["prompt"] = prompts if isinstance(prompts, str) else _text(prompts, q, "prompt")
            yield rec

    written = _write_jsonl(path, records())
    _warn_no_negatives(empty, mined.n_queries, "FlagEmbedding")
    return written


def _check_prompt(prompt: Any, n_queries: int) -> str | Sequence[str] | None:
    if prompt is None or isinstance(prompt, str):
        return prompt
    prompt = _check_texts(prompt, "prompt")
    if len(prompt) != n_queries:
        raise ValueError(
            f"`prompt` must be a string or one string per query ({n_queries}), got {len(prompt)}."
        )
    return prompt


def _validate_flag(rec: dict[str, Any]) -> str | None:
    reason = _required(rec, ("query", "pos", "neg"))
    if reason:
        return reason
    if not isinstance(rec["query"], str):
        return f"field 'query' must be a string, got {rec['query']!r:.80}"
    reason = _str_list(rec, "pos", non_empty=True) or _str_list(rec, "neg")
    if reason:
        return reason
    for key, of in (("pos_scores", "pos"), ("neg_scores", "neg")):
        if key in rec:
            value = rec[key]
            if not isinstance(value, list) or not all(_is_number(v) for v in value):
                return f"field {key!r} must be a list of finite numbers, got {value!r:.80}"
            if len(value) != len(rec[of]):
                return (
                    f"field {key!r} must have one score per {of!r} entry ({len(rec[of])}), "
                    f"got {len(value)}"
                )
    for key in ("prompt", "type"):
        if key in rec and not isinstance(rec[key], str):
            return f"field {key!r} must be a string, got {rec[key]!r:.80}"
    return None


def read_flagembedding(path: PathLike, *, strict: bool = True) -> list[dict[str, Any]]:
    """Read a FlagEmbedding JSONL file, validating every line.

    Required: ``query`` (str), ``pos`` (non-empty list of str), ``neg`` (list of str).
    Checked when present: ``pos_scores``/``neg_scores`` (finite numbers, one per ``pos`` /
    ``neg`` entry), ``prompt`` and ``type`` (str). Other fields are kept as they are.

    Parameters
    ----------
    path : str or PathLike
    strict : bool, default=True
        ``True``: a malformed line raises. ``False``: it is skipped and counted.

    Returns
    -------
    list of dict
        One dict per valid line, in file order. Blank lines are ignored.

    Raises
    ------
    ValueError
        (``strict=True``) a malformed line: the message names the file and the line number.

    Warns
    -----
    GraphNegWarning
        (``strict=False``) how many lines were skipped, and the first reason.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> _ = path.write_text('{"query": "q", "pos": ["p"], "neg": ["n1", "n2"]}\\n')
    >>> read_flagembedding(path)[0]["neg"]
    ['n1', 'n2']
    """
    return read_jsonl(path, strict, _validate_flag, "FlagEmbedding")


# --------------------------------------------------------------------------------------------
# Tevatron
# --------------------------------------------------------------------------------------------


def _check_ids(ids: Any, name: str, n: int) -> list[str]:
    """Ids as the strings written to the file (the package id rule: ints -> str); unique."""
    out = unique_ids(ids, name)
    if len(out) != n:
        raise ValueError(f"`{name}` must have length {n}, got {len(out)}.")
    return out


def write_tevatron(
    path: PathLike,
    query_ids: Sequence[str | int],
    query_texts: Sequence[str],
    doc_ids: Sequence[str | int],
    doc_texts: Sequence[str],
    positives: Any,
    negatives: HardNegatives | Any,
    *,
    doc_titles: Sequence[str] | None = None,
    scores: bool = False,
) -> int:
    """Write Tevatron training JSONL (the legacy, self-contained format), one line per query.

    Each line is ``{"query_id": str, "query": str, "positive_passages": [{"docid": str,
    "title": str, "text": str}], "negative_passages": [...]}``, the layout of
    ``Tevatron/msmarco-passage`` and ``Tevatron/wikipedia-nq``. All valid negatives are
    written (Tevatron draws ``train_group_size - 1`` of them per epoch).

    Parameters
    ----------
    path : str or PathLike
        Output file; written atomically.
    query_ids : sequence of str or int
        Id of each query, unique; written as strings. Ids follow the package rule of
        :class:`~graphneg.LinkGraph`: an int is its decimal string (``1`` and ``"1"`` are the
        same id, so both given is a duplicate); ``None``, NaN, floats, ``bool`` and ``""``
        raise with their position.
    query_texts : sequence of str
    doc_ids : sequence of str or int
        Id of each corpus row, unique; written as strings (``docid``), by the same rule.
    doc_texts : sequence of str
        Passage bodies. When ``doc_titles`` is given these should exclude the title:
        Tevatron joins ``title + " " + text`` itself.
    positives, negatives
        As in :func:`to_sentence_transformers`. Scores are not written.
    doc_titles : sequence of str, default=None
        Title of each corpus row; ``None`` writes ``""``.
    scores : bool, default=False
        Add the teacher's ``score`` to every passage (negatives: the mined score; positives:
        the query's reference positive score); needs a :class:`HardNegatives`.

    Returns
    -------
    int
        Lines written.

    Raises
    ------
    ValueError
        Duplicate ``query_ids`` or ``doc_ids``, mismatched lengths, out-of-range rows, a
        query without positives.
    TypeError
        Ids that are not str or int, texts that are not strings.

    Warns
    -----
    GraphNegWarning
        Queries without any valid negative are skipped (with the count): Tevatron samples
        with ``random.choices`` from the list, which fails when it is empty.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> docs = ["cats purr", "dogs bark", "fish swim"]
    >>> write_tevatron(path, ["q1"], ["what purrs?"], ["d0", "d1", "d2"], docs,
    ...                [[0]], np.array([[2]]))
    1
    >>> rec = read_tevatron(path)[0]
    >>> rec["query_id"], rec["negative_passages"]
    ('q1', [{'docid': 'd2', 'title': '', 'text': 'fish swim'}])
    """
    mined = _prepare(query_texts, doc_texts, positives, negatives)
    qids = _check_ids(query_ids, "query_ids", mined.n_queries)
    dids = _check_ids(doc_ids, "doc_ids", len(mined.doc_texts))
    if doc_titles is not None:
        doc_titles = _check_texts(doc_titles, "doc_titles")
        if len(doc_titles) != len(dids):
            raise ValueError(f"`doc_titles` must have length {len(dids)}, got {len(doc_titles)}.")
    empty = int((mined.counts == 0).sum())
    if check_bool(scores, "scores") and mined.scores is None:
        raise ValueError("`scores=True` needs `negatives` to be a HardNegatives (an index array has no scores).")

    def passage(j: int, score: float | None = None) -> dict[str, Any]:
        title = _text(doc_titles, j, "doc_titles") if doc_titles is not None else ""
        psg: dict[str, Any] = {"docid": dids[j], "title": title, "text": _text(mined.doc_texts, j, "doc_texts")}
        if scores:
            psg["score"] = score
        return psg

    def records() -> Iterator[dict[str, Any]]:
        for q in range(mined.n_queries):
            negs, neg_scores = mined.negatives(q)
            if not negs:
                continue
            pos_score = float(mined.positive_scores[q]) if scores else None  # type: ignore[index]
            yield {
                "query_id": qids[q],
                "query": _text(mined.query_texts, q, "query_texts"),
                "positive_passages": [passage(j, pos_score) for j in mined.positives[q]],
                "negative_passages": [passage(j, s) for j, s in zip(negs, neg_scores or [None] * len(negs),
                                                                        strict=True)],
            }

    written = _write_jsonl(path, records())
    _warn_no_negatives(empty, mined.n_queries, "Tevatron")
    return written


def _validate_passages(rec: dict[str, Any], key: str, *, non_empty: bool) -> str | None:
    value = rec[key]
    if not isinstance(value, list):
        return f"field {key!r} must be a list of passages, got {value!r:.80}"
    if non_empty and not value:
        return f"field {key!r} must not be empty"
    for k, psg in enumerate(value):
        if not isinstance(psg, dict):
            return f"{key}[{k}] must be an object, got {psg!r:.80}"
        missing = [f for f in ("docid", "title", "text") if f not in psg]
        if missing:
            return f"{key}[{k}] misses field(s) {missing}"
        if not isinstance(psg["docid"], (str, int)) or isinstance(psg["docid"], bool):
            return f"{key}[{k}].docid must be a string or an int, got {psg['docid']!r:.80}"
        for f in ("title", "text"):
            if not isinstance(psg[f], str):
                return f"{key}[{k}].{f} must be a string, got {psg[f]!r:.80}"
        if "score" in psg and not _is_number(psg["score"]):
            return f"{key}[{k}].score must be a finite number, got {psg['score']!r:.80}"
    return None


def _validate_tevatron(rec: dict[str, Any]) -> str | None:
    reason = _required(rec, ("query_id", "query", "positive_passages", "negative_passages"))
    if reason:
        return reason
    if not isinstance(rec["query_id"], (str, int)) or isinstance(rec["query_id"], bool):
        return f"field 'query_id' must be a string or an int, got {rec['query_id']!r:.80}"
    if not isinstance(rec["query"], str):
        return f"field 'query' must be a string, got {rec['query']!r:.80}"
    return _validate_passages(rec, "positive_passages", non_empty=True) or _validate_passages(
        rec, "negative_passages", non_empty=False
    )


def read_tevatron(path: PathLike, *, strict: bool = True) -> list[dict[str, Any]]:
    """Read a Tevatron (legacy) training JSONL file, validating every line.

    Required: ``query_id``, ``query`` (str), ``positive_passages`` (non-empty) and
    ``negative_passages``, lists of ``{"docid", "title", "text"}`` (an optional passage
    ``score`` must be a finite number). Other fields (``answers``) are kept as they are.

    Parameters
    ----------
    path, strict
        As in :func:`read_flagembedding`, which also gives what is returned, raised and
        warned: one dict per valid line, in file order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> psg = '{"docid": "d1", "title": "", "text": "t"}'
    >>> _ = path.write_text('{"query_id": "1", "query": "q", "positive_passages": [%s], '
    ...                     '"negative_passages": []}\\n' % psg)
    >>> read_tevatron(path)[0]["positive_passages"][0]["docid"]
    'd1'
    """
    return read_jsonl(path, strict, _validate_tevatron, "Tevatron")
