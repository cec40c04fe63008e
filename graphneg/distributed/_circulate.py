r"""The exact top-``want`` of every local row against targets sharded over the ranks.

Each rank holds a row shard of the queries ``X`` and of the targets ``T`` (``T is X`` for a
self-search). The target shards circulate: rank :math:`s` broadcasts its shard in blocks of
``block_rows`` rows, every rank scores its own rows against each block with the single-process
kernel (:func:`graphneg.similarity._search.tiled_blocks`, the same certified-bf16 / fp32 tiles
and the same exclusion of the item itself) and merges the block's top-``want`` into its running
top-``want`` (:func:`merge_topk`). Since every target lies in one block, the global
top-``want`` of a row is among the union of its per-block top-``want``: the result is the
single-process result, ranked by value, ties by ascending global column (the kernel's order).

Memory per rank: its shards, one received block (``block_rows`` x ``d`` floats), the running
``(n_local, want)`` values and columns (12 bytes an entry), one block's top-``want`` (as
much again) and the kernel's tiles. Traffic per rank: every other
rank's target shard once, :math:`(N_T - N_T/R) d` floats.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..similarity._search import tiled_blocks
from ._group import _dist, all_sizes, broadcast_rows

__all__ = ["sharded_topk", "merge_topk", "shared_route", "BLOCK_BYTES"]

#: bytes of one circulating target block (float32 rows): 64 MiB
BLOCK_BYTES = 2**26
#: rows merged at a time (bounds the merge's temporaries)
_MERGE_ROWS = 8192

OnBlock = Callable[[int, np.ndarray], None]


def merge_topk(
    vals: np.ndarray, cols: np.ndarray, new_vals: np.ndarray, new_cols: np.ndarray, want: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's best ``want`` of two candidate lists (``-1`` columns are padding).

    Ranked as the single-process kernel ranks (:func:`graphneg.similarity._tiled.tiled_topk`):
    value descending, ties by ascending column; padding (``-inf``, ``-1``) last.

    Examples
    --------
    >>> v, c = merge_topk(np.array([[0.9, 0.1]]), np.array([[4, 7]]), np.array([[0.5]]), np.array([[2]]), 2)
    >>> v.tolist(), c.tolist()
    ([[0.9, 0.5]], [[4, 2]])
    """
    v = np.concatenate([vals, new_vals], axis=1)
    c = np.concatenate([cols, new_cols], axis=1)
    order = np.lexsort((np.where(c >= 0, c, np.iinfo(np.int64).max), -v), axis=1)[:, :want]
    return np.take_along_axis(v, order, axis=1), np.take_along_axis(c, order, axis=1)


def shared_route(precision: str, metric: str, group: Any = None) -> str:
    """The CPU scoring route of rank 0, on every rank (so all ranks score alike).

    :func:`graphneg.similarity._search.cpu_route` times the CPU (on rank 0 only), so ranks
    could otherwise disagree; its ``'torch'`` route (whole-row blocks) becomes ``'fp32'``
    tiles, which take blocks.

    Examples
    --------
    >>> shared_route("fp32", "cosine") in ("certified", "fp32")
    True
    """
    from ..similarity._search import cpu_route

    dist = _dist(group)
    if dist is None:
        route = cpu_route(precision, metric)
    else:
        box = [cpu_route(precision, metric) if dist.get_rank(group) == 0 else None]
        src = dist.get_global_rank(group, 0) if group is not None else 0
        dist.broadcast_object_list(box, src=src, group=group)
        route = box[0]
    return "fp32" if route == "torch" else route


def _block_topk(
    X: np.ndarray, T: np.ndarray, want: int, self_search: bool, route: str
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``want`` (padded) of every row of ``X`` against one target block, local columns."""
    n = X.shape[0]
    vals = np.full((n, want), -np.inf, dtype=np.float32)
    cols = np.full((n, want), -1, dtype=np.int64)
    width = min(want, T.shape[0] - (1 if self_search else 0))
    if n == 0 or width <= 0:
        return vals, cols
    for start, stop, v, c in tiled_blocks(X, T, width, self_search, None, False, "", scoring=route):
        vals[start:stop, :width], cols[start:stop, :width] = v, c
    return vals, cols


def sharded_topk(
    X: np.ndarray, T: np.ndarray | None, want: int, *, route: str, block_rows: int, group: Any = None,
    on_block: OnBlock | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``want`` of each local row of ``X`` over all ranks' targets, with global columns.

    ``T=None`` is a self-search over the shards of ``X`` (a row never finds itself).
    ``on_block(offset, rows)`` sees every target block with its first global row (a self-search
    shows its own shard whole). Every rank must call it with the same ``want``, ``route`` and
    ``block_rows``.
    """
    from ._group import world

    self_search = T is None
    targets = X if self_search else T
    rank, size = world(group)
    sizes = all_sizes(targets.shape[0], group)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    vals = np.full((X.shape[0], want), -np.inf, dtype=np.float32)
    cols = np.full((X.shape[0], want), -1, dtype=np.int64)

    def take(block: np.ndarray, offset: int, own: bool) -> None:
        if on_block is not None:
            on_block(offset, block)
        v, c = _block_topk(X, block, want, own, route)
        for r0 in range(0, X.shape[0], _MERGE_ROWS):  # in place, row chunk by row chunk
            r1 = min(r0 + _MERGE_ROWS, X.shape[0])
            global_cols = np.where(c[r0:r1] >= 0, c[r0:r1] + offset, -1)
            vals[r0:r1], cols[r0:r1] = merge_topk(vals[r0:r1], cols[r0:r1], v[r0:r1], global_cols, want)

    for src in range(size):
        for c0 in range(0, int(sizes[src]), block_rows):
            c1 = min(c0 + block_rows, int(sizes[src]))
            mine = targets[c0:c1] if src == rank else None
            block = broadcast_rows(mine, (c1 - c0, targets.shape[1]), src, group)
            if src != rank or not self_search:
                take(block, int(offsets[src]) + c0, False)
        if src == rank and self_search:  # own shard whole: the kernel excludes each row itself
            take(targets, int(offsets[src]), True)
    return vals, cols
