"""The arrays the search kernels rank, made once from the checked input.

Cosine: unit rows (or a lazily normalised :class:`UnitRows` view for the searches that gather
rows blockwise); euclidean: centred rows; inner product: the rows themselves. At extreme
magnitudes rows are rescaled by powers of two, which keeps every ranking, and the factor
that maps the similarities back is returned with them (:func:`prepare`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import row_norms, safe_normalize


class UnitRows:
    """Unit-norm rows of ``base``, made when indexed: cosine search without a normalised copy.

    ``view[i]`` is ``base[i] / |base[i]|`` in float32 (one multiply by the stored inverse
    norm) for any row index numpy takes (an int, a slice, an index array; not a tuple): within a float32 rounding of
    :func:`graphneg._validation.safe_normalize`, not bit for bit, so the approximate backends
    use it and the exact routes keep their normalised copy. A search that gathers rows
    blockwise (the IVF lists, the final re-scoring) then holds one block's unit rows at a time
    instead of a second ``n x dim`` copy of the input (1.5 GB at 1M x 384). ``base`` is only
    read.

    >>> base = np.array([[3.0, 4.0], [0.0, 2.0]], dtype=np.float32)
    >>> view = UnitRows(base, np.array([5.0, 2.0]))
    >>> view[[1, 0]].astype(float).round(6).tolist(), view.shape
    ([[0.0, 1.0], [0.6, 0.8]], (2, 2))
    """

    def __init__(self, base: np.ndarray, norms: np.ndarray) -> None:
        self.base = base
        self.inv_norms = (1.0 / np.asarray(norms, dtype=np.float64)).astype(np.float32)
        self.shape, self.dtype, self.ndim = base.shape, np.dtype(np.float32), 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, idx: Any) -> np.ndarray:
        rows = self.base[idx]
        if rows.dtype != np.float32 or np.may_share_memory(rows, self.base):  # a view of the caller's array
            rows = rows.astype(np.float32, copy=True)
        rows *= self.inv_norms[idx][..., None]
        return rows

    def chunk(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """``self[start:stop]`` written into the first rows of ``out`` (float32, C order) and
        returned as a view of it, bit for bit: a caller reading many chunks reuses one buffer
        (a fresh chunk-sized array per chunk is a fresh mapping whose first touch is paid again).

        >>> view = UnitRows(np.array([[3.0, 4.0], [0.0, 2.0]], np.float32), np.array([5.0, 2.0]))
        >>> view.chunk(1, 2, np.empty((2, 2), np.float32)).tolist()
        [[0.0, 1.0]]
        """
        rows = out[: stop - start]
        rows[...] = self.base[start:stop]
        rows *= self.inv_norms[start:stop, None]
        return rows


# Row norms within 2**-40 .. 2**40 are searched as given (bit-identical to the plain
# computation); beyond, inputs are rescaled by powers of two (exact) so that no float32
# square or score overflows to inf or underflows to 0 and silently reorders neighbours.
SAFE_EXPONENT = 40
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def exponents(norms: np.ndarray) -> np.ndarray:
    """``floor(log2(norm))`` of each norm (0 for a zero norm)."""
    out = np.zeros(norms.shape, dtype=np.int64)
    pos = norms > 0
    out[pos] = np.floor(np.log2(norms[pos])).astype(np.int64)
    return out


def in_safe_range(norms: np.ndarray) -> bool:
    nz = norms[norms > 0]
    return bool(nz.size == 0 or (nz.min() >= 2.0**-SAFE_EXPONENT and nz.max() <= 2.0**SAFE_EXPONENT))


def prepare(
    X: np.ndarray, T: np.ndarray, metric: str, self_search: bool, lazy: bool = False
) -> tuple[Any, Any, np.ndarray | float | None]:
    """The arrays the search ranks, and the factor mapping their similarities back.

    Cosine: unit rows (:func:`graphneg._validation.safe_normalize`); with ``lazy`` (a search
    that gathers rows blockwise), :class:`UnitRows` views of the
    inputs instead of normalised copies, wherever every norm is in the safe range. Euclidean: centred and,
    at extreme magnitudes, scaled by a power of two (the factor multiplies distances).
    Inner product: at extreme magnitudes each query row and the targets are scaled by powers
    of two, which keeps every row's ranking (the factor, per row, multiplies scores).
    """
    if metric == "cosine":
        if lazy:
            # rows already checked (finite, none zero) by check_embeddings
            x_norm = row_norms(X)
            t_norm = x_norm if self_search else row_norms(T)
            if in_safe_range(x_norm) and in_safe_range(t_norm):
                Xv = UnitRows(X, x_norm)
                return Xv, (Xv if self_search else UnitRows(T, t_norm)), None
        X = safe_normalize(X, "X")
        return X, (X if self_search else safe_normalize(T, "targets")), None
    if metric == "euclidean":
        # distances are translation invariant; centring keeps 2<x,y> - |y|^2 from cancelling
        # catastrophically when all vectors share a large offset
        centre = T.mean(axis=0, dtype=np.float64).astype(np.float32)
        X = X - centre
        T = X if self_search else T - centre
        norms = np.concatenate([row_norms(X), row_norms(T)])
        if in_safe_range(norms):
            return X, T, None
        e = int(exponents(norms.max(keepdims=True))[0])
        X = np.ldexp(X, -e)
        return X, (X if self_search else np.ldexp(T, -e)), 2.0**e
    x_norm = row_norms(X)
    t_norm = x_norm if self_search else row_norms(T)
    top = float(x_norm.max() * t_norm.max())
    if top > _FLOAT32_MAX:
        raise ValueError(
            f"`X` and `{'X' if self_search else 'targets'}` have inner products up to ~{top:.3g}, beyond the "
            "float32 range (3.4e38); rescale them or use metric='cosine'."
        )
    if in_safe_range(x_norm) and in_safe_range(t_norm):
        return X, T, None
    ex, et = exponents(x_norm), int(exponents(t_norm.max(keepdims=True))[0])
    return np.ldexp(X, -ex[:, None]), np.ldexp(T, -et), np.ldexp(1.0, ex + et)
