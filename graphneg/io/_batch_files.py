"""The batches JSONL file: one ``{"batch": i, "indices": [...], "ids": [...]}`` record a line.

Written by ``graphneg batches`` and ``graphneg mine`` (the batch plan), read by
``graphneg stats`` and :func:`graphneg.inspect`. Errors are ``ValueError`` naming
``file:line``; the command line turns them into its one-line exit-2 message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .._ids import check_index_array
from ._atomic import atomic_write
from ._jsonl import iter_jsonl


def write_batches(path: str | Path, batches: list[np.ndarray], ids: list[str] | None) -> None:
    """Write ``batches`` atomically (readers never see a partial file).

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "b.jsonl"
    >>> write_batches(p, [np.array([2, 0])], ["a", "b", "c"])
    >>> p.read_text()
    '{"batch": 0, "indices": [2, 0], "ids": ["c", "a"]}\\n'
    """
    with atomic_write(Path(path), "w", encoding="utf-8") as fh:
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
        One array of item indices per non-blank line, in file order.

    Raises
    ------
    ValueError
        Naming the file for a missing file or a folder, and ``file:line`` for a line that is
        not a batch record, indices that are not non-negative integers (``0.7`` is an error,
        never ``0``), or a binary file.

    See Also
    --------
    graphneg.inspect : summarises a batch file (how many communities a batch spans, ...).

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
        raise ValueError(f"{path} {'is a directory' if path.is_dir() else 'does not exist'}")
    out = []
    for lineno, rec, reason in iter_jsonl(path):
        if rec is None and reason == "not valid UTF-8":
            raise ValueError(f"{path}:{lineno}: not UTF-8 text (a batches JSONL file expected)")
        out.append(_record(rec, reason, path, lineno))
    return out


def _record(rec: dict[str, Any] | None, reason: str | None, path: Path, lineno: int) -> np.ndarray:
    if rec is None or "indices" not in rec:
        raise ValueError(f"{path}:{lineno}: not a batch record ({reason or 'no indices'})")
    raw = rec["indices"]
    try:  # the one index rule: ints (1.0 too), never a truncated 0.7
        return check_index_array(raw, "indices")
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}:{lineno}: {err} (`indices` must be a list of non-negative ints)") from None
