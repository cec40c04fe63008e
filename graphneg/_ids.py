"""External ids: one rule for every reader and container.

An external id is a non-empty ``str`` after normalisation:

- ``str`` ids are kept as they are (no stripping: ``" 1"`` and ``"1"`` differ);
- integers (Python or numpy, not ``bool``) become their decimal string, so ``1`` and ``"1"``
  name the **same** node, written ``"1"`` in every output (training files carry strings);
- anything else is rejected with the position of the first bad id: ``None``, NaN and other
  floats (``1.0`` is ambiguous: ``"1"`` or ``"1.0"``?), ``bool``, bytes, empty strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral
from typing import Any

import numpy as np


def normalize_id(value: Any, where: str) -> str:
    """One external id as ``str``, or ``TypeError``/``ValueError`` naming ``where``.

    >>> normalize_id(7, "ids[0]"), normalize_id(np.int64(7), "ids[0]"), normalize_id("7", "ids[0]")
    ('7', '7', '7')
    >>> normalize_id(float("nan"), "ids[3]")
    Traceback (most recent call last):
    ...
    TypeError: ids[3]: an id must be a str or an int, got float nan (ids are normalised to str; convert floats first).
    """
    if isinstance(value, str):
        if value == "":
            raise ValueError(f"{where}: an id must be a non-empty string, got ''.")
        return value
    if isinstance(value, Integral) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    raise TypeError(
        f"{where}: an id must be a str or an int, got {type(value).__name__} {value!r} "
        "(ids are normalised to str; convert floats first)."
    )


def normalize_ids(values: Iterable[Any], name: str) -> list[str]:
    """Every id of ``values`` normalised by :func:`normalize_id` (vectorised for arrays).

    >>> normalize_ids(np.array([3, 1]), "ids"), normalize_ids([1, "1", "a"], "ids")
    (['3', '1'], ['1', '1', 'a'])
    """
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"`{name}` must be 1-D, got shape {values.shape}.")
        if np.issubdtype(values.dtype, np.integer):
            return values.astype(str).tolist()
        if values.dtype.kind == "U":
            bad = np.flatnonzero(values == "")
            if bad.size:
                raise ValueError(f"{name}[{int(bad[0])}]: an id must be a non-empty string, got ''.")
            return values.tolist()
    return [normalize_id(v, f"{name}[{i}]") for i, v in enumerate(values)]
