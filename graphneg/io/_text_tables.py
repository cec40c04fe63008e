"""Query/positive text pairs and corpora from JSONL, CSV/TSV, Parquet or a saved HF dataset.

One reader per container (:func:`read_table`), then one column rule: columns are found by
common names (``query``/``anchor``, ``positive``/``document``, ``query_id``; corpus ``_id`` +
``text``) unless named, and every cell is checked, an error naming the file and the line
(JSONL, CSV) or row (Parquet, datasets) of the first bad one.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._optional import optional_import
from ._jsonl import iter_jsonl

PathLike = str | os.PathLike[str]

QUERY_COLUMNS = ("query", "anchor", "question", "sentence1", "text1", "q")
POSITIVE_COLUMNS = ("positive", "pos", "document", "passage", "answer", "sentence2", "text2", "doc", "context")
QUERY_ID_COLUMNS = ("query_id", "qid", "query-id", "queryid", "query_ids")
DOC_ID_COLUMNS = ("_id", "id", "doc_id", "docid", "corpus_id", "pid")
DOC_TEXT_COLUMNS = ("text", "document", "passage", "contents", "content", "body")


@dataclass
class Table:
    """Columns of a file and where each row came from (for error messages).

    Attributes
    ----------
    path : pathlib.Path
    columns : dict of str to list
        Every column, one value per row (``None`` where a JSONL row lacks the key).
    where : str
        ``"line"`` (JSONL, CSV: numbers are file lines) or ``"row"`` (0-based rows).
    positions : list of int
        The line or row number of each row.

    Examples
    --------
    >>> t = Table(Path("x.csv"), {"query": ["q"]}, "line", [2])
    >>> t.locate(0)
    'x.csv:2'
    """

    path: Path
    columns: dict[str, list[Any]]
    where: str
    positions: list[int]

    @property
    def num_rows(self) -> int:
        """Rows read."""
        return len(self.positions)

    def locate(self, i: int) -> str:
        """``file:line`` or ``file row n`` of row ``i``."""
        return f"{self.path}:{self.positions[i]}" if self.where == "line" else f"{self.path} row {self.positions[i]}"


def read_table(path: PathLike) -> Table:
    """Read a JSONL, CSV, TSV or Parquet file, or a folder saved by ``datasets.save_to_disk``.

    Parameters
    ----------
    path : str or path-like
        ``.jsonl``/``.ndjson``/``.json`` (one object a line), ``.csv``, ``.tsv``, ``.parquet``
        or a ``save_to_disk`` folder (a ``DatasetDict`` gives its ``train`` split, or its only
        split).

    Returns
    -------
    Table

    Raises
    ------
    ValueError
        A missing or empty file, malformed JSON (with ``file:line``), an unknown extension.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "pairs.tsv"
    >>> _ = p.write_text("query\\tpositive\\nwhat purrs?\\tcats purr\\n")
    >>> read_table(p).columns
    {'query': ['what purrs?'], 'positive': ['cats purr']}
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path} does not exist")
    if path.is_dir():
        table = _read_saved_dataset(path)
    else:
        suffix = path.suffix.lower()
        if suffix in (".jsonl", ".ndjson", ".json"):
            table = _read_jsonl(path)
        elif suffix in (".csv", ".tsv"):
            table = _read_csv(path, "\t" if suffix == ".tsv" else ",")
        elif suffix in (".parquet", ".pq"):
            table = _read_parquet(path)
        else:
            raise ValueError(f"{path}: unknown file type {suffix!r}; expected .jsonl, .csv, .tsv, .parquet "
                             "or a folder saved with datasets.save_to_disk")
    if table.num_rows == 0:
        raise ValueError(f"{path} has no rows")
    return table


def _read_jsonl(path: Path) -> Table:
    columns: dict[str, list[Any]] = {}
    positions: list[int] = []
    for lineno, rec, reason in iter_jsonl(path):
        if rec is None:
            raise ValueError(f"{path}:{lineno}: {reason}")
        n = len(positions)
        for key in rec:
            if key not in columns:
                columns[key] = [None] * n
        for key, col in columns.items():
            col.append(rec.get(key))
        positions.append(lineno)
    return Table(path, columns, "line", positions)


def _read_csv(path: Path, delimiter: str) -> Table:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                return Table(path, {}, "line", [])
            columns: dict[str, list[Any]] = {name: [] for name in header}
            positions: list[int] = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise ValueError(f"{path}:{reader.line_num}: {len(row)} fields, the header has {len(header)}")
                for name, cell in zip(header, row, strict=True):
                    columns[name].append(cell)
                positions.append(reader.line_num)
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    except csv.Error as err:
        raise ValueError(f"{path}: malformed {'TSV' if delimiter == chr(9) else 'CSV'} ({err})") from None
    return Table(path, columns, "line", positions)


def _read_parquet(path: Path) -> Table:
    pq = optional_import("pyarrow.parquet", extra="st", feature="reading Parquet")
    try:
        data = pq.read_table(path).to_pydict()
    except Exception as err:  # pyarrow raises its own error types for a bad file
        raise ValueError(f"{path} is not a readable Parquet file ({' '.join(str(err).split())})") from None
    n = len(next(iter(data.values()))) if data else 0
    return Table(path, data, "row", list(range(n)))


def _read_saved_dataset(path: Path) -> Table:
    if not ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        raise ValueError(f"{path} is a folder but not a dataset saved with datasets.save_to_disk")
    datasets = optional_import("datasets", extra="st", feature="reading a saved datasets folder")
    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as err:
        raise ValueError(f"{path}: cannot load the saved dataset ({' '.join(str(err).split())})") from None
    if isinstance(ds, datasets.DatasetDict):
        splits = list(ds)
        if "train" not in ds and len(splits) != 1:
            raise ValueError(f"{path} holds splits {splits}; save the one to mine on its own")
        ds = ds["train" if "train" in ds else splits[0]]
    data = ds.to_dict()
    return Table(path, data, "row", list(range(ds.num_rows)))


def find_column(table: Table, given: str | None, candidates: Sequence[str], what: str, option: str,
                required: bool = True) -> str | None:
    """The column named ``given``, else the first of ``candidates`` present (case-insensitive).

    Examples
    --------
    >>> t = Table(Path("x.csv"), {"Anchor": ["q"]}, "line", [2])
    >>> find_column(t, None, QUERY_COLUMNS, "query", "--query-column")
    'Anchor'
    """
    names = list(table.columns)
    if given is not None:
        if given not in table.columns:
            raise ValueError(f"{table.path}: no column {given!r} ({option}); columns are {names}")
        return given
    lower = {name.lower(): name for name in reversed(names)}
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    if required:
        raise ValueError(f"{table.path}: no {what} column (looked for {', '.join(candidates)}; columns are "
                         f"{names}); name it with {option}")
    return None


def _text(table: Table, column: str, i: int, allow_list: bool = False) -> list[str]:
    value = table.columns[column][i]
    values = value if allow_list and isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise ValueError(f"{table.locate(i)}: {column!r} must be a non-empty string"
                         f"{' or a list of them' if allow_list else ''}, got {value!r:.80}")
    return values


def _id(table: Table, column: str, i: int) -> str:
    value = table.columns[column][i]
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        raise ValueError(f"{table.locate(i)}: {column!r} must be a non-empty string or an int, got {value!r:.80}")
    return str(value)


@dataclass
class TextPairs:
    """(query, positive) rows as read, in file order.

    Attributes
    ----------
    queries : list of str
        Query text of each row.
    positives : list of list of str
        Positive texts of each row (one, or several where a cell holds a list).
    query_ids : list of str or None
        Query id of each row when the input has an id column.
    source : str
        Where they came from, for messages.

    See Also
    --------
    read_text_pairs : builds it.
    build_mining_task : groups it into queries.

    Examples
    --------
    >>> TextPairs(["q"], [["p"]], None, "memory").num_rows
    1
    """

    queries: list[str]
    positives: list[list[str]]
    query_ids: list[str] | None
    source: str = ""

    @property
    def num_rows(self) -> int:
        """Rows (input lines)."""
        return len(self.queries)


def read_text_pairs(
    path: PathLike, *, query_column: str | None = None, positive_column: str | None = None,
    query_id_column: str | None = None,
) -> TextPairs:
    """Read (query, positive) text pairs, finding the columns by name unless they are given.

    Parameters
    ----------
    path : str or path-like
        Any input of :func:`read_table`.
    query_column : str, default=None
        Default: the first of ``query, anchor, question, sentence1, text1, q``.
    positive_column : str, default=None
        Default: the first of ``positive, pos, document, passage, answer, sentence2, text2,
        doc, context``. A cell may hold a list of positives (FlagEmbedding's ``pos``).
    query_id_column : str, default=None
        Default: ``query_id``, ``qid``, ... when present (rows with one id are one query);
        without one, rows with identical query text are one query.

    Returns
    -------
    TextPairs

    Raises
    ------
    ValueError
        A missing column (the message lists the columns), an empty or non-string cell (with
        its line or row), and the errors of :func:`read_table`.

    See Also
    --------
    read_text_corpus : the corpus to mine negatives from.
    build_mining_task : groups the pairs into queries.
    TextPairs : what it returns.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "pairs.jsonl"
    >>> _ = p.write_text('{"anchor": "what purrs?", "positive": "cats purr"}\\n')
    >>> pairs = read_text_pairs(p)
    >>> pairs.queries, pairs.positives, pairs.query_ids
    (['what purrs?'], [['cats purr']], None)
    """
    table = read_table(path)
    q = find_column(table, query_column, QUERY_COLUMNS, "query", "--query-column")
    p = find_column(table, positive_column, POSITIVE_COLUMNS, "positive", "--positive-column")
    qid = find_column(table, query_id_column, QUERY_ID_COLUMNS, "query id", "--query-id-column", required=False)
    assert q is not None and p is not None
    if q == p:
        raise ValueError(f"{table.path}: the query and positive columns are both {q!r}")
    queries = [_text(table, q, i)[0] for i in range(table.num_rows)]
    positives = [_text(table, p, i, allow_list=True) for i in range(table.num_rows)]
    ids = [_id(table, qid, i) for i in range(table.num_rows)] if qid is not None else None
    return TextPairs(queries, positives, ids, str(table.path))


def read_text_corpus(
    path: PathLike, *, id_column: str | None = None, text_column: str | None = None
) -> tuple[list[str], list[str]]:
    """Read a corpus of (id, text) rows; ids must be unique.

    Parameters
    ----------
    path : str or path-like
        Any input of :func:`read_table` (a BEIR ``corpus.jsonl`` works as it is).
    id_column : str, default=None
        Default: the first of ``_id, id, doc_id, docid, corpus_id, pid``.
    text_column : str, default=None
        Default: the first of ``text, document, passage, contents, content, body``.

    Returns
    -------
    (list of str, list of str)
        Ids and texts, in file order.

    Raises
    ------
    ValueError
        Missing columns, empty cells, a duplicate id (with both lines).

    See Also
    --------
    read_text_pairs : the (query, positive) pairs.
    build_mining_task : maps the pairs' positives onto this corpus.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "corpus.csv"
    >>> _ = p.write_text("_id,text\\nd1,cats purr\\nd2,dogs bark\\n")
    >>> read_text_corpus(p)
    (['d1', 'd2'], ['cats purr', 'dogs bark'])
    """
    table = read_table(path)
    cid = find_column(table, id_column, DOC_ID_COLUMNS, "document id", "--corpus-id-column")
    ctext = find_column(table, text_column, DOC_TEXT_COLUMNS, "document text", "--corpus-text-column")
    assert cid is not None and ctext is not None
    ids = [_id(table, cid, i) for i in range(table.num_rows)]
    texts = [_text(table, ctext, i)[0] for i in range(table.num_rows)]
    first: dict[str, int] = {}
    for i, doc_id in enumerate(ids):
        if doc_id in first:
            raise ValueError(f"{table.locate(i)}: duplicate document id {doc_id!r} "
                             f"(first at {table.locate(first[doc_id])})")
        first[doc_id] = i
    return ids, texts
