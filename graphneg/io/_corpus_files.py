"""What the two canonical corpus layouts share: folders, id records, TSV rows, arrays, checks.

The layouts themselves live in ``_corpus_graph.py`` (a node-attributed graph) and
``_corpus_retrieval.py`` (documents, queries, judgements); the rules common to both:

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

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ._atomic import atomic_write
from ._jsonl import iter_jsonl

PathLike = str | os.PathLike[str]
MmapMode = Literal["r", "r+", "c"] | None

# Characters that would break a TSV row or a JSONL line if they appeared inside an id.
FORBIDDEN_ID_CHARS = ("\t", "\n", "\r")


def require_folder(path: PathLike, required: Sequence[str], what: str) -> Path:
    """Return ``path`` as a Path after checking that the required files exist."""
    folder = Path(path)
    for name in required:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder}: not a {what} folder (missing {name}).")
    return folder



def _iter_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` per line; line *i* is row *i*, so a blank or bad line raises."""
    for lineno, rec, reason in iter_jsonl(path, blank_lines=True):
        if rec is None:
            raise ValueError(f"{path.name}: line {lineno}: {reason} in {path}.")
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



def read_id_records(
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
    with closing(_iter_objects(path)) as records:
        for lineno, rec in records:
            ids.append(_record_id(rec, path, lineno, first_line))
            for name, required in fields.items():
                columns[name].append(_record_str(rec, name, path, lineno, required=required))
    return ids, columns



def _record_id(rec: Mapping[str, Any], path: Path, lineno: int, first_line: dict[str, int]) -> str:
    """Return the record's ``_id``, registering it in ``first_line``; duplicates raise."""
    item_id = _record_str(rec, "_id", path, lineno, required=True)
    assert item_id is not None  # required=True guarantees it
    if not item_id or any(c in item_id for c in FORBIDDEN_ID_CHARS):
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



def iter_tsv(path: Path, header: str) -> Iterator[tuple[int, list[str]]]:
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



def load_dense(
    path: Path, n_rows: int, rows_file: str, what: str, mmap_mode: MmapMode
) -> np.ndarray | None:
    """Load an optional ``.npy`` whose rows must match ``n_rows`` entries of ``rows_file``."""
    if not path.exists():
        return None
    arr = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
    if arr.ndim != 2:
        raise ValueError(f"{path.name}: expected a 2-D array, got shape {arr.shape} in {path}.")
    check_file_rows(arr.shape[0], n_rows, path, rows_file, what)
    return arr



def check_file_rows(n_rows: int, expected: int, path: Path, rows_file: str, what: str) -> None:
    if n_rows != expected:
        raise ValueError(
            f"{path.name}: has {n_rows} rows but {rows_file} has {expected} {what} "
            f"(one row per line expected) in {path.parent}."
        )



def atomic_text(path: Path) -> Any:
    """Atomic UTF-8 text writer with "\\n" line ends on every platform."""
    return atomic_write(path, "w", encoding="utf-8", newline="\n")



def write_or_remove_sparse(path: Path, matrix: sp.csr_array | None) -> None:
    if matrix is None:
        path.unlink(missing_ok=True)
        return
    with atomic_write(path, "wb") as fh:
        sp.save_npz(fh, matrix, compressed=True)



def write_or_remove_dense(path: Path, arr: np.ndarray | None) -> None:
    if arr is None:
        path.unlink(missing_ok=True)
        return
    with atomic_write(path, "wb") as fh:
        np.save(fh, np.asarray(arr), allow_pickle=False)



def check_ids_writable(ids: Sequence[str], name: str) -> None:
    """Ids must survive a TSV row and a JSONL line unchanged."""
    for i, item in enumerate(ids):
        if not item or any(c in item for c in FORBIDDEN_ID_CHARS):
            raise ValueError(
                f"`{name}` must be non-empty strings without tabs or line breaks, "
                f"got {item!r} at position {i}."
            )



def check_text_list(texts: Sequence[str] | None, name: str, n: int) -> list[str] | None:
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



def check_dense(arr: Any, name: str, n: int) -> np.ndarray | None:
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
