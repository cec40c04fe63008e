r"""numba kernels of the IVF list scan: a score block's entries above each row's floor, and
their merge into every query's running candidates.

Scores are compared as integers: the bits of an IEEE float (bfloat16 or float32) read as a
signed integer ``u`` give the order key

.. math:: \kappa(u) = u \;(u \ge 0), \qquad \kappa(u) = u_{\min} - u \;(u < 0),

with :math:`u_{\min} = -2^{15}` (bf16) or :math:`-2^{31}` (fp32): :math:`\kappa` is strictly
increasing in the float's value (``+0`` and ``-0`` share key 0; no NaN reaches a scan). Reading
a bf16 GEMM's output this way needs no conversion to float32: a row's maximum key is one
vectorised pass over its 2-byte scores, and only rows whose maximum clears the floor are read
again to pick their entries (after a query's nearest list, most rows of its other lists hold
nothing above the ``width``-th best it already has).
"""

from __future__ import annotations

import numba as nb
import numpy as np

# columns whose maximum is taken before any of them is read one by one
_CHUNK = 64
# bisection steps that raise sorted_top's threshold (each halves its distance to the best maximum)
_BISECT = 8

#: :math:`u_{\min}` of the order key, by the integer view of the scores' dtype
KEY_LOW = {np.dtype(np.int16): -(2**15), np.dtype(np.int32): -(2**31)}


@nb.njit(nogil=True, cache=True)
def select_above(bits, ncols, floor, low, out_key, out_col, count):  # pragma: no cover - compiled
    """Per row ``r`` of ``bits[:, :ncols]``: the (at most ``width = out_key.shape[1]``) best
    entries with keys at or above ``floor[r]``, unordered, into ``out_key[r, :n]`` /
    ``out_col[r, :n]``, and ``count[r] = n``. "Best" is the total order (key descending, column
    ascending), so which entries come out does not depend on the floor, only how many.

    Three shortcuts, none of which changes the result: a positive floor is compared with the
    row's largest raw integer (a negative one is a negative score), one vectorised pass that
    skips most rows of a query's later lists; a row with no positive floor (its query's first
    list, mostly) starts from :func:`_group_bound`, a lower bound of its ``width``-th best key
    (raising the floor to it keeps the same best ``width``); and only
    chunks of ``_CHUNK`` columns whose largest key clears the floor are read one by one."""
    width = out_key.shape[1]
    low = np.int32(low)
    n_chunks = -(-ncols // _CHUNK)
    chunk_top = np.empty(n_chunks, dtype=np.int32)
    members = ncols // (4 * width)
    span = ncols // members if members >= 2 else 0
    gmax = np.empty(max(span, 1), dtype=np.int32)
    for r in range(bits.shape[0]):
        row = bits[r]  # a 1-d view: its loops vectorise, the 2-d indexing's do not
        f = np.int32(floor[r])
        if f > 0:
            top = row[0]
            for j in range(1, ncols):  # vectorised, in the scores' own width
                top = max(top, row[j])
            if np.int32(top) < f:
                count[r] = 0
                continue
        elif span >= width:  # no floor or a non-positive one: a query's first list, mostly
            f = max(f, _group_bound(row, members, span, low, width, gmax))
        for c in range(n_chunks):  # each chunk's maximum key: branch-free, vectorised
            seg = row[c * _CHUNK : min((c + 1) * _CHUNK, ncols)]
            top = np.int32(-(2**31))
            for j in range(seg.size):
                u = np.int32(seg[j])
                top = max(top, u if u >= 0 else low - u)
            chunk_top[c] = top
        # keys are integers: k >= f  <=>  k > f - 1; once the row is full (a heap, its
        # worst entry first), an entry must beat the worst, and a tie loses (its column is later)
        t, n = f - 1, 0
        keys, cols = out_key[r], out_col[r]
        for c in range(n_chunks):
            if chunk_top[c] <= t:  # most chunks of most rows: nothing above the floor
                continue
            for j in range(c * _CHUNK, min((c + 1) * _CHUNK, ncols)):
                u = np.int32(row[j])
                k = u if u >= 0 else low - u
                if k <= t:
                    continue
                if n < width:
                    keys[n], cols[n] = k, j
                    n += 1
                    if n == width:
                        for i in range(width // 2 - 1, -1, -1):
                            _sift_down(keys, cols, i, width)
                        t = keys[0]
                    continue
                keys[0], cols[0] = k, j
                _sift_down(keys, cols, 0, width)
                t = keys[0]
        count[r] = n


@nb.njit(nogil=True, cache=True, inline="always")
def _group_bound(row, members, span, low, width, gmax):  # pragma: no cover - compiled
    """A lower bound of the ``width``-th best key of ``row``: the largest key ``b`` that
    ``width`` of its strided groups' maxima reach (column ``j`` in group ``j mod span``; those
    groups each hold a distinct entry of key ``>= b``), by bisection over vectorised counts."""
    for j in range(span):
        u = np.int32(row[j])
        gmax[j] = u if u >= 0 else low - u
    for g in range(1, members):
        seg = row[g * span : (g + 1) * span]
        for j in range(span):  # vectorised
            u = np.int32(seg[j])
            gmax[j] = max(gmax[j], u if u >= 0 else low - u)
    lo, hi = gmax.min(), gmax.max() + 1  # count(>= lo) >= width > count(>= hi)
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if _reaching(gmax, span, mid) >= width:
            lo = mid
        else:
            hi = mid
    return lo


@nb.njit(nogil=True, cache=True, inline="always")
def _reaching(gmax, span, t):  # pragma: no cover - compiled
    """How many of ``gmax[:span]`` are at or above ``t`` (vectorised)."""
    n = 0
    for j in range(span):
        n += gmax[j] >= t
    return n


@nb.njit(nogil=True, cache=True)
def merge_rows(q, count, vals, cols, targets, best_v, best_i, kth):  # pragma: no cover - compiled
    """Merge block row ``r``'s ``count[r]`` entries (``vals``, target ``targets[cols]``) into
    query ``q[r]``'s running best ``best_v.shape[1]`` (in place) by the total order (value
    descending, target id ascending): an entry replaces the worst kept one when it comes first
    in that order, so the result does not depend on the order the entries arrive in. Each
    query's row is a heap (:func:`_sift_down`; start from ``-inf`` / ``-1``) and ``kth`` its
    worst kept value (``-inf`` until full); a block need only hold entries at or above it
    (:func:`select_above`)."""
    width = best_v.shape[1]
    for r in range(q.size):
        if count[r] == 0:  # most rows of a query's later lists; kth[q[r]] stays best_v[q[r], 0]
            continue
        row = q[r]
        v_row, i_row = best_v[row], best_i[row]  # a heap, its worst entry first
        for e in range(count[r]):
            v, i = vals[r, e], targets[cols[r, e]]
            if v < v_row[0] or (v == v_row[0] and i > i_row[0]):
                continue
            v_row[0], i_row[0] = v, i
            _sift_down(v_row, i_row, 0, width)
        kth[row] = v_row[0]


@nb.njit(nogil=True, cache=True)
def sorted_top(S, out_v, out_i):  # pragma: no cover - compiled
    """Per row ``r`` of ``S``: its best ``width = out_v.shape[1]`` entries by the total order
    (value descending, column ascending), best first, into ``out_v[r]`` / ``out_i[r]``
    (``-inf`` / ``-1`` past the row's end).

    A row's columns are cut into ``span`` strided groups (column ``j`` in group ``j mod span``),
    each group's maximum taken in one vectorised pass. A threshold that ``width`` group maxima
    reach is a lower bound of the ``width``-th best entry (``width`` distinct groups each hold
    an entry that large); a few bisection steps over the maxima (vectorised counts) raise it,
    and only the members of groups at or above it are read again; the few entries at or above
    it are sorted. Rows shorter than ``8 width`` go through a heap of every entry."""
    width, ncols = out_v.shape[1], S.shape[1]
    members = ncols // (4 * width)  # per group: a few, so that the bound is tight
    span = ncols // members if members >= 2 else 0
    gmax = np.empty(max(span, 1), dtype=S.dtype)
    cv = np.empty(ncols, dtype=S.dtype)  # the entries at or above the threshold
    cc = np.empty(ncols, dtype=np.int64)
    for r in range(S.shape[0]):
        row, v, ix = S[r], out_v[r], out_i[r]
        v[:] = -np.inf
        ix[:] = -1
        if span < width:  # small rows: a heap of every entry
            for j in range(ncols):
                _push(v, ix, row[j], j, width)
            for end in range(width - 1, 0, -1):  # heap sort: the worst to the back
                v[0], v[end] = v[end], v[0]
                ix[0], ix[end] = ix[end], ix[0]
                _sift_down(v, ix, 0, end)
            continue
        gmax[:] = row[:span]
        for g in range(1, members):
            seg = row[g * span : (g + 1) * span]
            for j in range(span):  # vectorised
                gmax[j] = max(gmax[j], seg[j])
        lo, hi = gmax.min(), gmax.max()  # count(gmax >= lo) >= width > count(gmax > hi)
        for _ in range(_BISECT):
            mid = lo + (hi - lo) / 2
            if _reaching(gmax, span, mid) >= width:
                lo = mid
            else:
                hi = mid
        n = 0
        for j in range(span):
            if gmax[j] >= lo:
                for col in range(j, members * span, span):
                    if row[col] >= lo:
                        cv[n], cc[n] = row[col], col
                        n += 1
        for col in range(members * span, ncols):  # columns past the groups
            if row[col] >= lo:
                cv[n], cc[n] = row[col], col
                n += 1
        for a in range(1, n):  # insertion sort of the few: value descending, column ascending
            s, c = cv[a], cc[a]
            b = a - 1
            while b >= 0 and (cv[b] < s or (cv[b] == s and cc[b] > c)):
                cv[b + 1], cc[b + 1] = cv[b], cc[b]
                b -= 1
            cv[b + 1], cc[b + 1] = s, c
        m = min(n, width)
        v[:m] = cv[:m]
        ix[:m] = cc[:m]


@nb.njit(nogil=True, cache=True, inline="always")
def _push(v, ix, s, j, width):  # pragma: no cover - compiled
    """Offer entry ``(s, j)`` to the heap ``v`` / ``ix`` of the best ``width`` (worst first)."""
    if s < v[0] or (s == v[0] and (j > ix[0] or s == -np.inf)):
        return
    v[0], ix[0] = s, j
    _sift_down(v, ix, 0, width)


@nb.njit(nogil=True, cache=True, inline="always")
def _sift_down(v, i, pos, n):  # pragma: no cover - compiled
    """Restore the heap ``v[:n]`` / ``i[:n]`` below ``pos``: each entry comes after its
    children in the total order (value descending, then id ascending), so ``pos = 0`` holds
    the worst. An all ``-inf`` / ``-1`` array (no entry yet) is a heap."""
    while True:
        c = 2 * pos + 1
        if c >= n:
            return
        if c + 1 < n and (v[c + 1] < v[c] or (v[c + 1] == v[c] and i[c + 1] > i[c])):
            c += 1
        if not (v[c] < v[pos] or (v[c] == v[pos] and i[c] > i[pos])):
            return
        v[pos], v[c] = v[c], v[pos]
        i[pos], i[c] = i[c], i[pos]
        pos = c


def floor_keys(floor: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Keys ``K`` with ``score > floor  <=>  key(score) > K`` for scores of ``dtype`` (bf16
    scores: the floor rounded down to a bf16 first, so no bf16 score between the two is lost).

    >>> f = np.array([-np.inf, -0.5, 0.3], dtype=np.float32)
    >>> floor_keys(f, np.dtype(np.int16)).tolist()
    [-32640, -16128, 16025]
    """
    b = np.ascontiguousarray(floor, dtype=np.float32).view(np.uint32)
    if dtype == np.int32:
        u = b.view(np.int32)
    else:  # truncating the low half rounds a positive floor down, a negative one up: step back
        hi = (b >> 16) + ((b >> 31) & ((b & 0xFFFF) != 0))
        u = hi.astype(np.uint16).view(np.int16).astype(np.int32)
    low = KEY_LOW[np.dtype(dtype)]
    return np.where(u >= 0, u, low - u).astype(np.int32)


def key_values(keys: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The float32 scores of order keys of ``dtype`` scores (the inverse of the key map).

    >>> key_values(np.array([-32640, -16128, 16025], np.int32), np.dtype(np.int16)).tolist()
    [-inf, -0.5, 0.298828125]
    """
    low = KEY_LOW[np.dtype(dtype)]
    u = np.where(keys >= 0, keys, low - keys)
    if dtype == np.int32:
        return u.astype(np.int32).view(np.float32)
    return (u.astype(np.int16).view(np.uint16).astype(np.uint32) << 16).view(np.float32)
