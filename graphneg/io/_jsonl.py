"""The one JSON-lines record encoder of the writers (formats, corpora, training data)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def dumps_line(rec: Mapping[str, Any]) -> str:
    """One record as one JSONL line, ``"\\n"`` included.

    ``ensure_ascii=False`` keeps text readable; json escapes ``\\n`` and ``\\r``, so one record
    is one line; ``allow_nan=False`` so a NaN can never produce a file other JSON readers
    reject (it raises ``ValueError`` instead).

    >>> dumps_line({"_id": "1", "text": "café\\nau lait"})
    '{"_id": "1", "text": "café\\\\nau lait"}\\n'
    """
    return json.dumps(rec, ensure_ascii=False, allow_nan=False) + "\n"
