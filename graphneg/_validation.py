"""Input validation at the public boundary.

Messages follow one template: ``"`{param}` must be {constraint}, got {value!r}."`` so a user
sees which argument is wrong and what would be accepted.
"""

from __future__ import annotations

from collections.abc import Collection
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._sparse import canonical_csr


def check_int(value: Any, name: str, *, min_value: int | None = 1, max_value: int | None = None) -> int:
    """Return ``value`` as int, or raise naming ``name`` and the accepted range.

    >>> check_int(np.int64(3), "k")
    3
    >>> check_int(0, "k")
    Traceback (most recent call last):
    ...
    ValueError: `k` must be >= 1, got 0.
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"`{name}` must be an int, got {value!r}.")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"`{name}` must be >= {min_value}, got {value}.")
    if max_value is not None and value > max_value:
        raise ValueError(f"`{name}` must be <= {max_value}, got {value}.")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> float:
    """Return ``value`` as float within the given bounds, or raise naming ``name``.

    >>> check_float(1, "resolution", min_value=0.0, min_inclusive=False)
    1.0
    """
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value):
        raise TypeError(f"`{name}` must be a finite number, got {value!r}.")
    value = float(value)
    if min_value is not None and (value < min_value or (not min_inclusive and value == min_value)):
        op = ">=" if min_inclusive else ">"
        raise ValueError(f"`{name}` must be {op} {min_value}, got {value}.")
    if max_value is not None and (value > max_value or (not max_inclusive and value == max_value)):
        op = "<=" if max_inclusive else "<"
        raise ValueError(f"`{name}` must be {op} {max_value}, got {value}.")
    return value


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as bool (Python or numpy bool only; ``0``/``1`` are rejected).

    >>> check_bool(np.True_, "mutual")
    True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {value!r}.")
    return bool(value)


def check_keywords(function: str, kind: type, options: Collection[str]) -> None:
    """Raise the TypeError Python raises for an unknown keyword, for ``**options`` typed ``kind``.

    ``kind`` is the TypedDict of a function's ``**options: Unpack[kind]``; a name it does not
    declare (an option of another function) is never silently ignored.

    >>> from typing import TypedDict
    >>> class Options(TypedDict, total=False):
    ...     seed: int
    >>> check_keywords("f", Options, {"seed": 1})
    >>> check_keywords("f", Options, {"sede": 1})
    Traceback (most recent call last):
    ...
    TypeError: f() got an unexpected keyword argument 'sede'
    """
    allowed = kind.__required_keys__ | kind.__optional_keys__  # type: ignore[attr-defined]
    for name in options:
        if name not in allowed:
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r}")


def check_epoch_args(batch_size: Any, seed: Any, epoch: Any, drop_last: Any) -> tuple[int, int, int, bool]:
    """Validated ``(batch_size, seed, epoch, drop_last)``, the arguments of every epoch of batches.

    ``batch_size >= 1``, ``seed >= 0``, ``epoch >= 0`` (a batch plan is a function of
    ``(seed, epoch)``), ``drop_last`` a bool.

    >>> check_epoch_args(32, 0, 3, False)
    (32, 0, 3, False)
    >>> check_epoch_args(32, 0, -1, False)
    Traceback (most recent call last):
    ...
    ValueError: `epoch` must be >= 0, got -1.
    """
    return (
        check_int(batch_size, "batch_size"),
        check_int(seed, "seed", min_value=0),
        check_int(epoch, "epoch", min_value=0),
        check_bool(drop_last, "drop_last"),
    )


def check_choice(value: Any, name: str, choices: Collection[str]) -> str:
    """Check that ``value`` is one of ``choices``; the error lists them.

    >>> check_choice("x", "mode", ("union", "mutual"))
    Traceback (most recent call last):
    ...
    ValueError: `mode` must be one of 'mutual', 'union', got 'x'.
    """
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in sorted(choices))
        raise ValueError(f"`{name}` must be one of {options}, got {value!r}.")
    return value


def check_embeddings(
    X: Any, name: str = "X", *, metric: str | None = None, min_rows: int = 1
) -> np.ndarray:
    """Return a C-contiguous float32 2-D array; reject NaN/inf, complex values and (under
    cosine) zero rows.

    Finite values beyond the float32 range are reported as such (not as inf). The result
    may share memory with ``X`` when it already is C-contiguous float32: treat it as
    read-only.

    >>> check_embeddings([[1, 2], [3, 4]]).dtype
    dtype('float32')
    >>> check_embeddings(np.ones((2, 2), dtype=complex), "X")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: `X` must hold real numbers, got complex dtype complex128; ...
    """
    if sp.issparse(X):
        raise TypeError(
            f"`{name}` must be a dense 2-D array, got a scipy.sparse {X.format} matrix; "
            "convert it with .toarray() (or reduce it first, e.g. with TruncatedSVD)."
        )
    try:
        arr = np.asarray(X)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"`{name}` must be a 2-D numeric array, got {type(X).__name__}.") from err
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"`{name}` must be a 2-D numeric array, got dtype {arr.dtype}.")
    _refuse_complex(arr.dtype, name)
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D array (n_items, dim), got shape {arr.shape}.")
    if arr.shape[0] < min_rows or arr.shape[1] == 0:
        raise ValueError(
            f"`{name}` must have at least {min_rows} row(s) and 1 column, got shape {arr.shape}."
        )
    with np.errstate(over="ignore"):  # values beyond float32 are reported just below
        arr = np.ascontiguousarray(arr, dtype=np.float32)
    # one BLAS pass instead of an n x dim boolean temporary: a row's sum is NaN or inf when the
    # row holds one (or when a finite sum overflows: only those rows are read element-wise)
    suspect = np.flatnonzero(~np.isfinite(arr @ np.ones(arr.shape[1], dtype=np.float32)))
    bad = suspect[~np.isfinite(arr[suspect]).all(axis=1)]
    if bad.size:
        if np.isfinite(np.asarray(X)[bad]).all():  # finite input that float32 cannot hold
            raise ValueError(
                f"`{name}` has values beyond the float32 range (|x| > 3.4e38) in {bad.size} row(s) "
                f"(first: {bad[:5].tolist()}); rescale it."
            )
        raise ValueError(
            f"`{name}` contains NaN or inf in {bad.size} row(s) (first: {bad[:5].tolist()})."
        )
    if metric == "cosine":
        zero = ~arr.any(axis=1)
        if zero.any():
            bad = np.flatnonzero(zero)
            raise ValueError(
                f"`{name}` has {bad.size} zero-norm row(s) (first: {bad[:5].tolist()}); cosine "
                "similarity is undefined for them. Drop them or use metric='ip'."
            )
    return arr


def _refuse_complex(dtype: np.dtype, name: str) -> None:
    """Complex values are refused here, not truncated to their real part (numpy would only
    warn with ``ComplexWarning``)."""
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(
            f"`{name}` must hold real numbers, got complex dtype {dtype}; pass the real part "
            "(x.real) or the magnitude (abs(x)) explicitly."
        )


def row_norms(X: np.ndarray) -> np.ndarray:
    """Euclidean norm of each row, in float64, without overflow or underflow.

    Each row is scaled by its largest magnitude first, so no square can overflow (even above
    ``1.8e19``, where a float32 ``|x|^2`` does) and the largest square is 1 (tiny rows do not
    underflow to a zero norm).

    >>> X = np.array([[3e30, 4e30], [3e-30, 4e-30], [0, 0]], dtype=np.float32)
    >>> (row_norms(X) / [1e30, 1e-30, 1]).round(6).tolist()
    [5.0, 5.0, 0.0]
    """
    A = np.asarray(X)
    out = np.zeros(A.shape[0], dtype=np.float64)
    for r0, blk in _row_chunks(A):
        scale = np.abs(blk).max(axis=1, initial=0).astype(np.float64)
        S = blk.astype(np.float64) / np.where(scale > 0, scale, 1.0)[:, None]
        out[r0 : r0 + blk.shape[0]] = scale * np.sqrt(np.einsum("ij,ij->i", S, S))
    return out


def safe_normalize(X: Any, name: str = "X") -> np.ndarray:
    """Rows of ``X`` scaled to unit Euclidean norm: a new float32 array, ``X`` is not modified.

    Safe at any magnitude a float32 holds: each row is first divided by its largest absolute
    value (in float64), so neither overflow (norms above ``~1.8e19``, whose float32 square is
    inf) nor underflow (norms below ``~1e-19``, whose square is 0) can distort a row.

    Parameters
    ----------
    X : array-like of shape (n_rows, dim)
        Finite rows (see :func:`check_embeddings`).
    name : str, default="X"
        Parameter name used in error messages.

    Returns
    -------
    ndarray of shape (n_rows, dim), float32

    Raises
    ------
    ValueError
        If a row is all zeros (its direction, hence any cosine, is undefined) or not finite;
        the message names ``name`` and the first such row.

    Examples
    --------
    >>> safe_normalize(np.array([[3e30, 4e30], [0, 1e-40]], dtype=np.float32)).astype(float).round(6).tolist()
    [[0.6, 0.8], [0.0, 1.0]]
    >>> safe_normalize(np.zeros((2, 2)), "embeddings")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: `embeddings` row 0 is all zeros; cosine similarity is undefined for it ...
    """
    A = np.asarray(X)
    if A.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D array (n_items, dim), got shape {A.shape}.")
    out = np.empty(A.shape, dtype=np.float32)
    for r0, blk in _row_chunks(A):
        unit_rows(blk, _checked_scale(blk, r0, name), out=out[r0 : r0 + blk.shape[0]])
    return out


def unit_rows(blk: np.ndarray, scale: np.ndarray | None = None, out: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``blk`` (any leading shape) at unit norm, float32: the one kernel of
    :func:`safe_normalize`, so rows normalised in any grouping get the same bits.

    ``scale``: each row's largest absolute value (computed when omitted; rows must be finite
    and non-zero). ``out``: a float32 array of ``blk``'s shape to write into.

    >>> unit_rows(np.array([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    """
    if scale is None:
        scale = np.abs(blk).max(axis=-1, initial=0).astype(np.float64)
    flat = blk.reshape(-1, blk.shape[-1])
    # scaled rows lie in [-1, 1] with a 1 in them: the norm is in [1, sqrt(dim)]
    S = np.divide(flat, scale.reshape(-1)[:, None], dtype=np.float64)  # one pass: the cast is exact
    S /= np.sqrt(np.einsum("ij,ij->i", S, S))[:, None]
    if out is None:
        return S.astype(np.float32).reshape(blk.shape)
    out[...] = S.reshape(blk.shape)
    return out


def _checked_scale(blk: np.ndarray, r0: int, name: str) -> np.ndarray:
    """Each row's largest absolute value (float64); rows ``r0 + i`` that are all zeros or not
    finite raise with their index."""
    scale = np.abs(blk).max(axis=1, initial=0).astype(np.float64)
    if not np.isfinite(scale).all():
        bad = r0 + int(np.flatnonzero(~np.isfinite(scale))[0])
        raise ValueError(f"`{name}` row {bad} contains NaN or inf.")
    if not (scale > 0).all():
        bad = r0 + int(np.flatnonzero(~(scale > 0))[0])
        raise ValueError(
            f"`{name}` row {bad} is all zeros; cosine similarity is undefined for it "
            "(drop the row or use metric='ip')."
        )
    return scale


def _row_chunks(A: np.ndarray, elements: int = 2**18) -> Any:
    """``(first_row, block)`` pairs of about ``elements`` values each (bounded float64 temporaries:
    2 MiB, reused from block to block, so a first call faults in few new pages)."""
    step = max(1, elements // max(A.shape[1], 1))
    for r0 in range(0, A.shape[0], step):
        yield r0, A[r0 : r0 + step]


def check_labels(labels: Any, name: str = "labels", *, n_items: int | None = None) -> np.ndarray:
    """Return a 1-D int64 array of non-negative ids.

    Integer (and integral float) labels are kept as they are. String labels, or labels of
    one other hashable type, are factorised to ``0..c-1``. Labels mixing kinds (``1`` and
    ``'1'``, which would otherwise merge as strings), and None/NaN labels, are rejected with
    the first offending position.

    >>> check_labels(["b", "a", "b"]).tolist()
    [1, 0, 1]
    >>> check_labels(np.array([1, "1"], dtype=object))
    Traceback (most recent call last):
    ...
    TypeError: `labels` must hold labels of one kind (all int or all str), got int at position 0 and str at position 1.
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D, got shape {arr.shape}.")
    if n_items is not None and arr.shape[0] != n_items:
        raise ValueError(f"`{name}` must have length {n_items} (one per item), got {arr.shape[0]}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty.")
    if arr.dtype == object:
        return _object_labels(arr, name)
    _refuse_complex(arr.dtype, name)
    if np.issubdtype(arr.dtype, np.bool_):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0:
            pos = int(np.argmax(arr < 0))
            raise ValueError(f"`{name}` must be non-negative ids, got {int(arr[pos])} at position {pos}.")
        return arr.astype(np.int64, copy=False)
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            pos = int(np.argmax(bad))
            raise ValueError(f"`{name}` must hold integer ids, got {float(arr[pos])!r} at position {pos}.")
        return check_labels(arr.astype(np.int64), name, n_items=n_items)
    if arr.dtype.kind in "US":
        _, inverse = np.unique(arr, return_inverse=True)
        return inverse.astype(np.int64).ravel()
    raise TypeError(f"`{name}` must hold int or str labels, got dtype {arr.dtype}.")


def _label_kind(value: Any) -> str:
    if isinstance(value, (str, np.str_)):
        return "str"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (Integral, np.integer)):
        return "int"
    if isinstance(value, (Real, np.floating)):
        return "float"
    return type(value).__name__


def _object_labels(arr: np.ndarray, name: str) -> np.ndarray:
    """Labels of an object array: one kind only, no None/NaN (``1`` and ``'1'`` never merge)."""
    kinds = [_label_kind(v) for v in arr.tolist()]
    for pos, v in enumerate(arr.tolist()):
        if v is None or (kinds[pos] == "float" and v != v):
            raise ValueError(f"`{name}` must not hold None or NaN, got {v!r} at position {pos}.")
    numeric = {"int", "float"}
    first = kinds[0]
    for pos, kind in enumerate(kinds):
        if kind != first and not (kind in numeric and first in numeric):
            raise TypeError(
                f"`{name}` must hold labels of one kind (all int or all str), got {first} at "
                f"position 0 and {kind} at position {pos}."
            )
    if first in numeric:
        exact = "float" not in kinds  # Python ints beyond 2**53 must not pass through float64
        try:
            values = np.array(arr.tolist(), dtype=np.int64 if exact else np.float64)
        except OverflowError as err:
            raise ValueError(f"`{name}` holds an id beyond the int64 range.") from err
        return check_labels(values, name)
    if first == "str":
        return check_labels(np.array(arr.tolist(), dtype=str), name)
    ids: dict[Any, int] = {}  # any other hashable type: ids by first appearance
    try:
        return np.array([ids.setdefault(v, len(ids)) for v in arr.tolist()], dtype=np.int64)
    except TypeError as err:
        raise TypeError(f"`{name}` must hold hashable labels, got {first}.") from err


def check_graph(G: Any, name: str = "G", *, square: bool = True, keep_zeros: bool = False) -> sp.csr_array:
    """Return a canonical float32 ``csr_array`` copy of ``G`` (sorted indices, no duplicates).

    ``G`` itself is never modified (see :func:`graphneg._sparse.canonical_csr`).

    Explicitly stored zeros are dropped (not edges) unless ``keep_zeros``: a kNN graph can
    hold a true neighbour whose similarity is exactly 0.

    >>> A = sp.csr_matrix((np.array([1, 0, 2]), np.array([1, 0, 0]), np.array([0, 2, 3])), shape=(2, 2))
    >>> G = check_graph(A)
    >>> G.indices.tolist(), G.data.tolist(), A.indices.tolist()
    ([1, 0], [1.0, 2.0], [1, 0, 0])
    """
    if not sp.issparse(G):
        if isinstance(G, np.ndarray) and G.ndim == 2:
            G = sp.csr_array(G)
        else:
            raise TypeError(
                f"`{name}` must be a scipy.sparse matrix or array, got {type(G).__name__}; "
                "build one with graphneg.knn_graph()."
            )
    # a copy: scipy shares index arrays between a matrix and csr_array(matrix), and the
    # canonicalisation below works in place (it would sort the caller's indices)
    if sp.issparse(G):
        _refuse_complex(G.dtype, name)
    G = canonical_csr(G, dtype=np.float32, name=name)
    if square and G.shape[0] != G.shape[1]:
        raise ValueError(f"`{name}` must be square (n_nodes, n_nodes), got shape {G.shape}.")
    if G.shape[0] == 0:
        raise ValueError(f"`{name}` must have at least one node, got shape {G.shape}.")
    if G.nnz and not np.all(np.isfinite(G.data)):
        raise ValueError(f"`{name}` has non-finite edge weights.")
    if not keep_zeros:
        G.eliminate_zeros()  # an explicitly stored 0 is not an edge (our copy only)
    return G
