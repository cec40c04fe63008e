"""The canonical scores and order every exact route ends in, and the error bounds behind them.

Whatever route found a row's candidates (fp32 tiles, certified bf16 tiles, torch blocks), it
ends in :func:`rescore_top`: each pair's score computed from the two vectors alone, in one
fixed float32 summation order, ties by ascending index. :func:`canonical_slack` says how many
candidates a route must keep for that order to be reachable (from :func:`fp32_error_bound`
and :func:`bf16_error_bound`), so every exact route returns the same bits.
"""

from __future__ import annotations

import numpy as np


def rescore_top(
    xb: np.ndarray, T: np.ndarray, cand: np.ndarray, want: int, t_sq: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical scores of the candidate columns (``-1`` = none) and each row's top ``want``.

    The canonical score of a pair is ``<x, t>`` (``2<x, t> - |t|^2`` with ``t_sq``) computed
    from the two vectors alone, in one fixed float32 summation order, whatever route found the
    candidates; rows are ordered by score, then by ascending column. So identical targets
    (e.g. a query repeated once per positive) tie exactly and come out in index order, and
    every exact route (fp32 tiles, certified bf16 tiles, torch blocks on the CPU) returns
    bit-identical neighbours and scores, provided its candidates hold the canonical top
    ``want`` (:func:`canonical_slack`).
    """
    vals = np.full(cand.shape, -np.inf, dtype=np.float32)
    # gathered block <= 1 MiB: cache-resident and reused from the heap, so a fresh process's
    # first call does not fault in a new mapping per block (the first call's main cost); same bits
    step = max(1, 2**18 // max(cand.shape[1] * xb.shape[1], 1))
    for r0 in range(0, cand.shape[0], step):
        c = cand[r0 : r0 + step]
        ok = c >= 0
        safe = np.where(ok, c, 0)
        s = np.einsum("rwd,rd->rw", T[safe], xb[r0 : r0 + step])
        if t_sq is not None:
            s = 2 * s - t_sq[safe]
        vals[r0 : r0 + step] = np.where(ok, s, -np.inf)
    return canonical_order(vals, cand, want)


def canonical_order(vals: np.ndarray, cand: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's top ``want`` of candidates ``cand`` (``-1`` = none) by their canonical scores
    ``vals``: score descending, ties by ascending column, none last (:func:`rescore_top`'s
    order, for canonical scores computed elsewhere, e.g. block by block on the ranks that hold
    the targets).

    >>> v, c = canonical_order(np.array([[0.5, 0.9, 0.5]], np.float32), np.array([[7, 3, 2]]), 2)
    >>> v.tolist(), c.tolist()
    ([[0.8999999761581421, 0.5]], [[3, 2]])
    """
    order = np.lexsort((np.where(cand >= 0, cand, np.iinfo(np.int64).max), -vals), axis=1)[:, :want]
    return np.take_along_axis(vals, order, axis=1), np.take_along_axis(cand, order, axis=1)


def without_self(cols: np.ndarray, rows: np.ndarray, width: int) -> np.ndarray:
    """Mask keeping ``width`` entries per row of ``cols``: all but the row's own id ``rows[r]``,
    or all but the last where the row itself is absent (for searches that may return it).

    >>> without_self(np.array([[4, 0, 7], [1, 2, 3]]), np.array([0, 9]), 2).tolist()
    [[True, False, True], [True, True, False]]
    """
    keep = cols != rows[:, None]
    keep &= np.cumsum(keep, axis=1) <= width
    return keep


def canonical_slack(X: np.ndarray, T: np.ndarray, euclidean: bool, route: str) -> np.ndarray:
    """Per row, how far below its ``want``-th best *route* score a candidate must still be
    kept so that the canonical top ``want`` (:func:`rescore_top`) is among the candidates.

    A route score and the canonical score of a pair differ by at most ``delta = (c_route +
    c_fp32) M``, where ``M = |x| max|t|`` (``2 |x| max|t| + max|t|^2`` for the euclidean
    score) and ``c`` bounds a score's relative error (:func:`bf16_error_bound`,
    :func:`fp32_error_bound`). A target ``u`` whose route score trails the ``want``-th best by
    more than ``2 delta`` has a canonical score below that of each of ``want`` others, so it is
    not in the canonical top ``want`` (ties included): keeping ``2 delta`` suffices.
    """
    d = X.shape[1]
    c_fp32 = fp32_error_bound(d)
    c_route = bf16_error_bound(d) if route == "certified" else c_fp32
    if euclidean:  # the subtraction of |t|^2 rounds once more on each side
        c_route, c_fp32 = c_route + 2.0**-23, c_fp32 + 2.0**-23
    # float64 accumulation in einsum's own small buffers: no float64 copy of a large input, and
    # no overflow (a float32 squared is below 1.2e77)
    t_sq_max = float(np.einsum("ij,ij->i", T, T, dtype=np.float64).max()) if T.shape[0] else 0.0
    x_norm = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    scale = 2 * x_norm * np.sqrt(t_sq_max) + t_sq_max if euclidean else x_norm * np.sqrt(t_sq_max)
    # a tiny absolute term covers flushed denormals
    return (2 * (c_route + c_fp32) * scale + 1e-30).astype(np.float32)


def fp32_error_bound(d: int) -> float:
    """``c`` with ``|fl32(<x, t>) - <x, t>| <= c |x| |t|`` for a float32 dot product of length
    ``d``, in any summation order, with or without fused multiply-adds: ``gamma_d =
    d u / (1 - d u)``, ``u = 2^-24`` (Higham, *Accuracy and Stability*, 3.1), and
    ``sum |x_i t_i| <= |x| |t|``.

    >>> round(fp32_error_bound(384), 8)
    2.289e-05
    """
    g = d * 2.0**-24
    return g / (1 - g)


def bf16_error_bound(d: int) -> float:
    """``c`` with ``|bf16score(x, t) - <x, t>| <= c |x| |t|`` for a bf16 GEMM of length ``d``.

    Inputs rounded to bfloat16 (unit roundoff ``u = 2^-8``) make each product off by at most
    ``(2u + u^2) |x_i t_i|`` (the product itself is exact in fp32); fp32 accumulation adds at
    most ``gamma_d (1 + u)^2 sum |x_i t_i|`` (``gamma_d = d 2^-24 / (1 - d 2^-24)``, any
    summation order); rounding the result to bfloat16 adds ``u`` of its magnitude. And
    ``sum |x_i t_i| <= |x| |t|`` (Cauchy-Schwarz).
    """
    u = 2.0**-8
    g = d * 2.0**-24 / (1 - d * 2.0**-24)
    return (2 * u + u * u) + g * (1 + u) ** 2 + u * (1 + u) ** 2 * (1 + g)
