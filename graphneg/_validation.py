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
    """Return ``value`` as int, or raise naming ``name`` and the accepted range."""
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
    """Return ``value`` as float within the given bounds, or raise naming ``name``."""
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
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be a bool, got {value!r}.")
    return bool(value)


def check_choice(value: Any, name: str, choices: Collection[str]) -> str:
    """Check that ``value`` is one of ``choices``; the error lists them."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in sorted(choices))
        raise ValueError(f"`{name}` must be one of {options}, got {value!r}.")
    return value


def check_embeddings(
    X: Any, name: str = "X", *, metric: str | None = None, min_rows: int = 1
) -> np.ndarray:
    """Return a C-contiguous float32 2-D array; reject NaN/inf and (under cosine) zero rows."""
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
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D array (n_items, dim), got shape {arr.shape}.")
    if arr.shape[0] < min_rows or arr.shape[1] == 0:
        raise ValueError(
            f"`{name}` must have at least {min_rows} row(s) and 1 column, got shape {arr.shape}."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
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


def check_labels(labels: Any, name: str = "labels", *, n_items: int | None = None) -> np.ndarray:
    """Return a 1-D int64 array of non-negative ids (any hashable labels are factorised)."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D, got shape {arr.shape}.")
    if n_items is not None and arr.shape[0] != n_items:
        raise ValueError(f"`{name}` must have length {n_items} (one per item), got {arr.shape[0]}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty.")
    if np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0:
            raise ValueError(f"`{name}` must be non-negative ids, got minimum {int(arr.min())}.")
        return arr.astype(np.int64, copy=False)
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"`{name}` must hold integer ids, got non-integral floats.")
        return check_labels(arr.astype(np.int64), name, n_items=n_items)
    _, inverse = np.unique(arr.astype(str), return_inverse=True)
    return inverse.astype(np.int64).ravel()


def check_graph(G: Any, name: str = "G", *, square: bool = True, keep_zeros: bool = False) -> sp.csr_array:
    """Return ``G`` as a canonical float32 ``csr_array`` (sorted indices, no duplicates).

    Explicitly stored zeros are dropped (not edges) unless ``keep_zeros``: a kNN graph can
    hold a true neighbour whose similarity is exactly 0.
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
