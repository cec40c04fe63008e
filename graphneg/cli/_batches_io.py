"""The batches JSONL file: one ``{"batch": i, "indices": [...], "ids": [...]}`` record a line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._ids import check_index_array
from ..io._jsonl import iter_jsonl
from ._common import CliError


def write_batches(path: Path, batches: list[np.ndarray], ids: list[str] | None) -> None:
    """Write ``batches`` atomically (readers never see a partial file).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "b.jsonl"
    >>> write_batches(p, [np.array([2, 0])], ["a", "b", "c"])
    >>> p.read_text()
    '{"batch": 0, "indices": [2, 0], "ids": ["c", "a"]}\\n'
    """
    from ..io._atomic import atomic_write

    with atomic_write(path, "w", encoding="utf-8") as fh:
        for i, b in enumerate(batches):
            rec: dict[str, Any] = {"batch": i, "indices": b.tolist()}
            if ids is not None:
                rec["ids"] = [ids[j] for j in b]
            fh.write(json.dumps(rec) + "\n")


def read_batches(path: str | Path) -> list[np.ndarray]:
    """Read a batches JSONL file written by ``graphneg batches`` (the ``indices`` of each line).

    Parameters
    ----------
    path : str or path-like
        The JSONL file.

    Returns
    -------
    list of ndarray (int64)

    Raises
    ------
    ValueError
        Naming ``file:line`` for a line that is not a batch record, or for a binary file.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "b.jsonl"
    >>> _ = p.write_text('{"batch": 0, "indices": [3, 1]}\\n')
    >>> [b.tolist() for b in read_batches(p)]
    [[3, 1]]
    """
    path = Path(path)
    if not path.is_file():
        raise CliError(f"{path} {'is a directory' if path.is_dir() else 'does not exist'}")
    out = []
    for lineno, rec, reason in iter_jsonl(path):
        if rec is None and reason == "not valid UTF-8":
            raise CliError(f"{path}:{lineno}: not UTF-8 text (a batches JSONL file expected)")
        out.append(_record(rec, reason, path, lineno))
    return out


def _record(rec: dict[str, Any] | None, reason: str | None, path: Path, lineno: int) -> np.ndarray:
    if rec is None or "indices" not in rec:
        raise CliError(f"{path}:{lineno}: not a batch record ({reason or 'no indices'})")
    raw = rec["indices"]
    try:  # the one index rule: ints (1.0 too), never a truncated 0.7
        return check_index_array(raw, "indices")
    except (TypeError, ValueError) as err:
        raise CliError(f"{path}:{lineno}: {err} (`indices` must be a list of non-negative ints)") from None
