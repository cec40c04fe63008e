"""External ids and index arrays: one rule each, for every reader, container and function.

**Index arrays** (row positions: batches, batch files, negatives, masks) follow
:func:`check_index_array`: integer values only. Integer dtypes pass; floats pass only where
every value is integral (``1.0``: what JSON, pandas and float tensors produce for an int), and
a non-integral, NaN or infinite float (``0.7``) is refused (``TypeError``) with its position,
never truncated;
``bool``, strings, None and objects are refused.

**External ids** (the names of nodes and documents) follow :func:`normalize_id`; a list of
them that names rows (node ids, document ids) is also unique: :func:`unique_ids`.

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


def _position(index: tuple[int, ...]) -> str:
    return "[" + "][".join(str(i) for i in index) + "]"


def check_index_array(
    x: Any,
    name: str,
    *,
    ndims: tuple[int, ...] | None = (1,),
    min_value: int | None = 0,
    max_value: int | None = None,
) -> np.ndarray:
    """``x`` as a new int64 array of indices, or an error naming ``name`` and the bad position.

    The one rule for index arrays (see the module docstring): integers, or floats that are all
    integral; ``0.7`` is an error, never ``0``.

    Parameters
    ----------
    x : array-like or tensor
        The indices (a torch tensor is moved to the CPU).
    name : str
        Used in messages, e.g. ``"batches[3]"``.
    ndims : tuple of int or None, default=(1,)
        Accepted numbers of dimensions (None: any).
    min_value, max_value : int or None
        Inclusive bounds (None: unbounded).

    Returns
    -------
    ndarray of int64
        Always a new array: ``x`` is never modified or shared.

    Raises
    ------
    TypeError
        For a non-numeric or bool array, or a non-integral or non-finite float (the message
        names the first bad position).
    ValueError
        For ragged rows, a wrong number of dimensions, or a value out of bounds (naming the
        first bad position).

    Examples
    --------
    >>> check_index_array([3, 1.0], "batch").tolist()
    [3, 1]
    >>> check_index_array([[0, 1], [0.7, 1.9]], "batches", ndims=(2,))
    Traceback (most recent call last):
    ...
    TypeError: `batches` must hold integer ids, got 0.7 at position [1][0] (ids are never truncated).
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # duck-typed: no torch import
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"`{name}` must be a rectangular array of indices, got ragged rows.") from err
    if ndims is not None and arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"`{name}` must be {want}, got shape {arr.shape}.")
    if arr.size == 0 and arr.dtype.kind in "fO":  # [] reads as float
        return np.zeros(arr.shape, dtype=np.int64)
    if arr.dtype == object:  # Python ints beyond int64, None, mixed values
        for index in np.ndindex(arr.shape):
            value = arr[index]
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, float, np.floating)):
                raise TypeError(
                    f"`{name}` must hold integer ids, got {type(value).__name__} {value!r} at "
                    f"position {_position(index)}."
                )
        try:
            arr = arr.astype(np.float64 if any(isinstance(v, (float, np.floating)) for v in arr.flat) else np.int64)
        except OverflowError as err:
            raise ValueError(f"`{name}` holds an index beyond the int64 range.") from err
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise TypeError(f"`{name}` must hold integer indices, got dtype {arr.dtype}.")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        bad[~bad] = arr[~bad] != np.round(arr[~bad])
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise TypeError(
                f"`{name}` must hold integer ids, got {float(arr[index])!r} at position "
                f"{_position(index)} (ids are never truncated)."
            )
        if arr.size and np.abs(arr).max() >= 2.0**63:
            raise ValueError(f"`{name}` holds an index beyond the int64 range.")
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"`{name}` holds an index beyond the int64 range.")
    out = arr.astype(np.int64)  # a copy
    for bound, low in ((min_value, True), (max_value, False)):
        if bound is None or out.size == 0:
            continue
        bad = out < bound if low else out > bound
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            op = ">=" if low else "<="
            hint = " (-1 marks padding)" if low and bound == -1 else ""
            raise ValueError(
                f"`{name}` must hold ids {op} {bound}{hint}, got {int(out[index])} at position "
                f"{_position(index)}."
            )
    return out


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


def unique_ids(values: Iterable[Any], name: str, *, length: int | None = None) -> list[str]:
    """External ids by the package rule (:mod:`graphneg._ids`), checked to be unique.

    ``str`` ids are kept, integers become their decimal string (so ``1`` and ``"1"`` are the
    same id), ``None``, NaN, floats, ``bool`` and ``""`` are rejected with their position.

    Parameters
    ----------
    values : iterable of str or int
    name : str
        The parameter name used in error messages.
    length : int, optional
        The number of ids expected (one per row of something else).

    Returns
    -------
    list of str

    Raises
    ------
    TypeError, ValueError
        A bad id (with its position), a repeated one (with both positions), or a count other
        than ``length``.

    Examples
    --------
    >>> unique_ids([3, "a", np.int64(7)], "ids")
    ['3', 'a', '7']
    >>> unique_ids([1, "1"], "ids")
    Traceback (most recent call last):
    ...
    ValueError: `ids` must be unique, got '1' at positions 0 and 1 (ids are normalised to str: 1 and '1' are one id).
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"`{name}` must be a sequence of str or int ids, got {type(values).__name__}.")
    if isinstance(values, list) and all(type(v) is str and v for v in values):
        out = list(values)  # the common case (readers): already normalised
    else:
        try:
            out = normalize_ids(values if isinstance(values, np.ndarray) else list(values), name)
        except TypeError as err:
            raise TypeError(f"`{name}` must hold str or int ids; {err}") from None
        except ValueError as err:
            raise ValueError(f"`{name}` must hold non-empty ids; {err}") from None
    if length is not None and len(out) != length:
        raise ValueError(f"`{name}` must have length {length}, got {len(out)}.")
    if len(set(out)) != len(out):
        first: dict[str, int] = {}
        for i, v in enumerate(out):
            if v in first:
                raise ValueError(
                    f"`{name}` must be unique, got {v!r} at positions {first[v]} and {i} "
                    "(ids are normalised to str: 1 and '1' are one id)."
                )
            first[v] = i
    return out
