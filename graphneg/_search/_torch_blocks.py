"""Full-width torch blocks (the GPU path, or the CPU where torch multiplies faster) and their
canonical finish: the pieces of the exact search that run on torch tensors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._blocks import tiled_blocks
from ._canonical import rescore_top, without_self


def block_starts(n: int, block_size: int, show_progress: bool, desc: str) -> Any:
    """Start rows of the query blocks, with a tqdm bar when asked.

    >>> list(block_starts(10, 4, False, "kNN search"))
    [0, 4, 8]
    """
    starts: Any = range(0, n, block_size)
    if show_progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=math.ceil(n / block_size), desc=desc, unit="block")
    return starts


def topk(scores: Any, want: int, group: int = 64) -> tuple[Any, Any]:
    """Row-wise top-``want`` (sorted, descending) of a score block, pruned by group maxima.

    The top ``want`` entries of a row lie in the ``want`` groups (of ``group`` consecutive
    columns) with the largest maxima: any entry outside them is beaten by ``want`` group
    maxima. So one fast max-reduction, a top-k over ``m / group`` maxima and a top-k over
    ``want * group`` candidates replace a top-k over all ``m`` columns (2-3x less selection
    time on CPU). Ties between equal scores may resolve differently from ``torch.topk``.

    >>> import torch
    >>> vals, cols = topk(torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.2, 0.8]]), 2)
    >>> cols.tolist()
    [[1, 2], [2, 0]]
    """
    import torch

    b, m = scores.shape
    n_groups = m // group
    if n_groups < 4 * want:  # too few groups to prune much
        return torch.topk(scores, want, dim=1, largest=True, sorted=True)
    main = n_groups * group
    blocks = scores[:, :main].view(b, n_groups, group)
    _, top_groups = torch.topk(blocks.amax(dim=2), want, dim=1, sorted=False)
    cand = torch.gather(blocks, 1, top_groups.unsqueeze(2).expand(-1, -1, group)).reshape(b, want * group)
    cols = (top_groups.unsqueeze(2) * group + torch.arange(group, device=scores.device)).reshape(b, want * group)
    if main < m:  # the columns after the last full group are always candidates
        cand = torch.cat([cand, scores[:, main:]], dim=1)
        tail = torch.arange(main, m, device=scores.device).expand(b, -1)
        cols = torch.cat([cols, tail], dim=1)
    vals, j = torch.topk(cand, want, dim=1, largest=True, sorted=True)
    return vals, torch.gather(cols, 1, j)


def finish_candidates(
    X: np.ndarray, T: np.ndarray, start: int, cand: np.ndarray, route_vals: np.ndarray, want: int,
    t_sq: np.ndarray | None, self_search: bool, slack: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical top ``want`` of rows ``start : start + len(cand)`` from the candidates of a
    route that keeps a fixed number per row (torch blocks): descending ``route_vals``.

    A row is certain when its canonical ``want``-th score beats every score a target outside
    the candidates could have (the last candidate's route score plus ``slack / 2``); the few
    rows that are not (near-ties at the cut, e.g. a run of identical targets) are searched
    again on the fp32 tiles, which keep every possible candidate.
    """
    stop = start + cand.shape[0]
    vals, idx = rescore_top(X[start:stop], T, cand, want, t_sq)
    if cand.shape[1] >= T.shape[0] - (1 if self_search else 0):  # every target was a candidate
        return vals, idx
    unsure = np.flatnonzero(~(vals[:, want - 1] > route_vals[:, -1] + slack[start:stop] / 2))
    if unsure.size:
        vals[unsure], idx[unsure] = exact_rows(X, T, unsure + start, want, t_sq, self_search)
    return vals, idx


def exact_rows(
    X: np.ndarray, T: np.ndarray, rows: np.ndarray, want: int, t_sq: np.ndarray | None, self_search: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical top ``want`` of the given rows of ``X`` (the item itself excluded when
    ``self_search``), on the fp32 tiles."""
    w = want + (1 if self_search else 0)
    vals = np.empty((rows.size, want), dtype=np.float32)
    idx = np.empty((rows.size, want), dtype=np.int64)
    for s0, s1, v, c in tiled_blocks(X[rows], T, w, False, t_sq, scoring="fp32"):
        if self_search:
            keep = without_self(c, rows[s0:s1], want)
            v, c = v[keep].reshape(-1, want), c[keep].reshape(-1, want)
        vals[s0:s1], idx[s0:s1] = v, c
    return vals, idx
