"""The batches JSONL file on the command line: :mod:`graphneg.io._batch_files` with the CLI's errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io._batch_files import read_batches as _read_batches
from ..io._batch_files import write_batches
from ._common import CliError

__all__ = ["read_batches", "write_batches"]


def read_batches(path: str | Path) -> list[np.ndarray]:
    """:func:`graphneg.io.read_batches`, its ``ValueError`` as a :class:`CliError` (exit 2).

    See Also
    --------
    graphneg.read_batches : the library reader, which raises ``ValueError``.

    Examples
    --------
    >>> read_batches("missing.jsonl")
    Traceback (most recent call last):
    ...
    graphneg.cli._common.CliError: missing.jsonl does not exist
    """
    try:
        return _read_batches(path)
    except ValueError as err:
        raise CliError(str(err)) from None
