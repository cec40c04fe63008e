"""JSON lines: the one line parser and file reader, and the one record encoder and file writer.

Every JSONL file graphneg reads (trainer formats, canonical corpora, text pairs, citation
dumps, batch files) goes through :func:`parse_line` — through :func:`iter_jsonl` where the
whole file is read. Each caller keeps its own policy for a bad line (raise, skip and count,
report): the reader only says which line is bad and why.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .._validation import check_bool
from ..exceptions import GraphNegWarning
from ._atomic import atomic_write

PathLike = str | os.PathLike[str]
Validator = Callable[[dict[str, Any]], str | None]


def parse_line(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """One line as ``(object, None)``, or ``(None, reason)`` when it is not a JSON object.

    >>> parse_line('{"a": 1}')
    ({'a': 1}, None)
    >>> parse_line("[1]"), parse_line("{")[1]
    ((None, 'expected a JSON object, got list'), 'malformed JSON (Expecting property name enclosed in double quotes)')
    """
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as err:
        return None, f"malformed JSON ({err.msg})"
    except (ValueError, RecursionError) as err:  # huge numbers, absurd nesting
        return None, f"unreadable JSON ({type(err).__name__})"
    if not isinstance(rec, dict):
        return None, f"expected a JSON object, got {type(rec).__name__}"
    return rec, None


def iter_jsonl(path: PathLike, *, blank_lines: bool = False) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """``(line number, object, None)`` per line of ``path``, or ``(line number, None, reason)``.

    Lines are decoded one by one (a leading BOM dropped), so one bad byte spoils one line
    ("not valid UTF-8"), not the whole read. Blank lines carry no record and are skipped,
    unless ``blank_lines`` (a format where line *i* is row *i*): then each is reported as
    ``"blank line"``.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.jsonl"
    >>> _ = p.write_bytes(b'{"a": 1}\\n\\n[2]\\n\\xff\\n')
    >>> list(iter_jsonl(p))
    [(1, {'a': 1}, None), (3, None, 'expected a JSON object, got list'), (4, None, 'not valid UTF-8')]
    """
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError:
                yield lineno, None, "not valid UTF-8"
                continue
            if not line.strip():
                if blank_lines:
                    yield lineno, None, "blank line"
                continue
            rec, reason = parse_line(line)
            yield lineno, rec, reason


def read_jsonl(path: PathLike, strict: bool, validate: Validator, what: str) -> list[dict[str, Any]]:
    """Every object of ``path`` that ``validate`` accepts (it returns None, else the reason).

    A bad line (bad UTF-8, bad JSON, not an object, refused by ``validate``) raises a
    ValueError naming the file and line when ``strict``; otherwise it is skipped and counted,
    and one GraphNegWarning reports the count.
    """
    strict = check_bool(strict, "strict")
    path = Path(path)
    records: list[dict[str, Any]] = []
    bad: list[tuple[int, str]] = []
    for lineno, rec, reason in iter_jsonl(path):
        if rec is not None:
            reason = validate(rec)
        if reason is None:
            records.append(rec)  # type: ignore[arg-type]  # rec is an object here
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


def dumps_line(rec: Mapping[str, Any]) -> str:
    """One record as one JSONL line, ``"\\n"`` included.

    ``ensure_ascii=False`` keeps text readable; json escapes ``\\n`` and ``\\r``, so one record
    is one line; ``allow_nan=False`` so a NaN can never produce a file other JSON readers
    reject (it raises ``ValueError`` instead).

    >>> dumps_line({"_id": "1", "text": "café\\nau lait"})
    '{"_id": "1", "text": "café\\\\nau lait"}\\n'
    """
    return json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n"


def write_jsonl(path: PathLike, records: Iterable[Mapping[str, Any]]) -> int:
    """Write ``records`` atomically (on any error, even mid-way, nothing is left behind).

    Returns the number of records written.
    """
    n = 0
    with atomic_write(Path(path), "w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(dumps_line(rec))
            n += 1
    return n
