r"""The exact top-``want`` of every local row against targets sharded over the ranks.

Each rank holds a row shard of the queries ``X`` and of the targets ``T`` (``T is X`` for a
self-search). The target shards circulate: rank :math:`s` broadcasts its shard in blocks of
``block_rows`` rows, every rank scores its own rows against each block with the single-process
kernel (:func:`graphneg._search._blocks.tiled_blocks`, the same certified-bf16 / fp32 tiles
and the same exclusion of the item itself) and merges the block's top-``want`` into its running
top-``want`` (:func:`merge_topk`). Since every target lies in one block, the global
top-``want`` of a row is among the union of its per-block top-``want``: the result is the
single-process result, ranked by value, ties by ascending global column (the kernel's order).

Memory per rank: its shards, one received block (``block_rows`` x ``d`` floats), the running
``(n_local, want)`` values and columns (12 bytes an entry), one block's top-``want`` (as
much again) and the kernel's tiles. Traffic per rank: every other
rank's target shard once, :math:`(N_T - N_T/R) d` floats.

With a ``device`` (:func:`resolve_device`, :class:`DeviceScorer`), each rank scores its rows
against each block on that device instead (its rows moved there once, each block copied
there) and finishes every block's candidates on the CPU in the tiles' canonical order, so the
result is the same bit for bit. Blocks travel as the group can move them (:func:`._group.broadcast_block`): NumPy
blocks over gloo (then copied to the device), device tensors over NCCL (then copied to the
CPU for the finish). Memory on the device: the rank's rows and one block (:math:`4 d (n + b)`
bytes), one row chunk of scores (:data:`SCORE_BYTES`) and the ``topk`` temporaries.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._search._blocks import tiled_blocks
from .._search._canonical import canonical_slack
from .._search._cpu_route import cpu_route
from .._search._torch_blocks import finish_candidates, topk
from ._group import _dist, agree, all_sizes, broadcast_block, broadcast_rows, to_device

__all__ = [
    "sharded_topk", "circulate_rows", "merge_topk", "shared_route", "resolve_device", "DeviceScorer", "BLOCK_BYTES", "SCORE_BYTES",
]

#: bytes of one circulating target block (float32 rows): 64 MiB
BLOCK_BYTES = 2**26
#: rows merged at a time (bounds the merge's temporaries)
_MERGE_ROWS = 8192

#: bytes of one chunk of device scores (query rows x block, float32): 256 MiB
SCORE_BYTES = 2**28
#: private switch (tests): a CPU device runs the torch device path instead of the CPU tiles
_TORCH_ON_CPU = False

OnBlock = Callable[[int, np.ndarray], None]


def merge_topk(
    vals: np.ndarray, cols: np.ndarray, new_vals: np.ndarray, new_cols: np.ndarray, want: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's best ``want`` of two candidate lists (``-1`` columns are padding).

    Ranked as the single-process kernel ranks (:func:`graphneg._search._tiled.tiled_topk`):
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

    :func:`graphneg._search._cpu_route.cpu_route` times the CPU (on rank 0 only), so ranks
    could otherwise disagree; its ``'torch'`` route (whole-row blocks) becomes ``'fp32'``
    tiles, which take blocks.

    Examples
    --------
    >>> shared_route("fp32", "cosine") in ("certified", "fp32")
    True
    """
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
    for start, stop, v, c in tiled_blocks(X, T, width, self_search, None, scoring=route):
        vals[start:stop, :width], cols[start:stop, :width] = v, c
    return vals, cols


def resolve_device(device: Any, group: Any = None) -> Any:
    """The ``torch.device`` that scores the blocks on this rank, or ``None`` for the CPU tiles.

    ``None`` and CPU devices: the CPU tiles (the faster CPU route); ``'auto'``:
    ``cuda:$LOCAL_RANK`` when CUDA is available, else the CPU tiles; any other string or
    ``torch.device`` must name a device torch can use here. Collective: an invalid ``device``
    on one rank raises a ``ValueError`` on every rank.

    Examples
    --------
    >>> resolve_device(None) is None, resolve_device("cpu") is None
    (True, True)
    """
    return agree(lambda: _resolve(device), group)


def _resolve(device: Any) -> Any:
    if device is None:
        return None
    import torch

    what = f"`device` must be None, 'auto' or a torch device such as 'cuda' or 'cuda:1', got {device!r}"
    if isinstance(device, str) and device.strip().lower() == "auto":
        if not torch.cuda.is_available():
            return None
        local = os.environ.get("LOCAL_RANK", "0")
        if not local.isdigit():
            raise ValueError(f"{what}, and LOCAL_RANK={local!r} is not a GPU index.")
        device = f"cuda:{local}"
        what = f"{what} (cuda:$LOCAL_RANK = {device!r})"
    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"{what}.")
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(f"{what}.") from None
    if dev.type == "cpu":
        return dev if _TORCH_ON_CPU else None
    try:  # a device torch cannot use here (no CUDA, an index past the last GPU, 'meta', ...)
        torch.zeros(1, device=dev).cpu()
    except (RuntimeError, AssertionError, NotImplementedError, ValueError) as exc:
        raise ValueError(f"{what}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}.") from None
    return dev


@contextlib.contextmanager
def ieee_fp32() -> Iterator[None]:
    """fp32 matmuls in IEEE fp32 for the block (no TF32 / bf16 passes, whatever the user set):
    the canonical finish's error bound (:func:`~graphneg._search._canonical.canonical_slack`)
    assumes fp32 products. The previous settings are restored."""
    import torch

    backends = [b.matmul for b in (torch.backends.cuda, torch.backends.mkldnn) if hasattr(b, "matmul")]
    backends = [b for b in backends if hasattr(b, "fp32_precision")]
    if not backends:  # torch without the per-backend API (< 2.9): the legacy cuBLAS flag
        old = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32 = old
        return
    old_values = [b.fp32_precision for b in backends]
    try:
        for b in backends:
            b.fp32_precision = "ieee"
        yield
    finally:
        for b, value in zip(backends, old_values, strict=True):
            b.fp32_precision = value


class DeviceScorer:
    """Top-``want`` of a rank's query rows ``X`` against target blocks, scored on ``device``.

    ``self(T, Td, want, self_search)`` takes a block on the CPU (``T``, for the canonical
    finish) and on the device (``Td``) and returns ``(values, columns)`` of shape
    ``(len(X), want)``, local columns, ``(-inf, -1)`` padded: what
    :func:`_block_topk` returns on the CPU tiles.
    """

    def __init__(self, X: np.ndarray, device: Any) -> None:
        self.X, self.device = X, device
        self.Xd = to_device(X, device)  # once per call of the sharded search

    def __call__(self, T: np.ndarray, Td: Any, want: int, self_search: bool) -> tuple[np.ndarray, np.ndarray]:
        import torch

        n, m = self.X.shape[0], T.shape[0]
        vals = np.full((n, want), -np.inf, dtype=np.float32)
        cols = np.full((n, want), -1, dtype=np.int64)
        width = min(want, m - (1 if self_search else 0))
        if n == 0 or width <= 0:
            return vals, cols
        wide = min(width + max(8, want // 4), m - (1 if self_search else 0))
        slack = canonical_slack(self.X, T, False, "fp32")
        chunk = max(1, SCORE_BYTES // (4 * m))
        with torch.inference_mode(), ieee_fp32():
            for r0 in range(0, n, chunk):
                r1 = min(r0 + chunk, n)
                scores = self.Xd[r0:r1] @ Td.T
                if self_search:  # the own shard whole: local column r0 + i is row r0 + i itself
                    rows = torch.arange(r1 - r0, device=scores.device)
                    scores[rows, rows + r0] = -torch.inf
                v, c = topk(scores, wide)
                v, c = finish_candidates(self.X, T, r0, c.cpu().numpy(), v.cpu().numpy(), width, None,
                                         self_search, slack)
                vals[r0:r1, :width], cols[r0:r1, :width] = v, c
        return vals, cols


def sharded_topk(
    X: np.ndarray, T: np.ndarray | None, want: int, *, route: str, block_rows: int, group: Any = None,
    on_block: OnBlock | None = None, device: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``want`` of each local row of ``X`` over all ranks' targets, with global columns.

    ``T=None`` is a self-search over the shards of ``X`` (a row never finds itself).
    ``on_block(offset, rows)`` sees every target block with its first global row (a self-search
    shows its own shard whole). ``device``: a ``torch.device`` that scores the blocks
    (:class:`DeviceScorer`), ``None`` for the CPU tiles. Every rank must call it with
    the same ``want``, ``route``, ``block_rows`` and kind of ``device`` (``None`` or not).
    """
    from ._group import world

    self_search = T is None
    targets = X if self_search else T
    rank, size = world(group)
    sizes = all_sizes(targets.shape[0], group)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    vals = np.full((X.shape[0], want), -np.inf, dtype=np.float32)
    cols = np.full((X.shape[0], want), -1, dtype=np.int64)
    scorer = None if device is None else DeviceScorer(X, device)

    def take(block: np.ndarray, on_dev: Any, offset: int, own: bool) -> None:
        if on_block is not None:
            on_block(offset, block)
        v, c = _block_topk(X, block, want, own, route) if scorer is None else scorer(block, on_dev, want, own)
        for r0 in range(0, X.shape[0], _MERGE_ROWS):  # in place, row chunk by row chunk
            r1 = min(r0 + _MERGE_ROWS, X.shape[0])
            global_cols = np.where(c[r0:r1] >= 0, c[r0:r1] + offset, -1)
            vals[r0:r1], cols[r0:r1] = merge_topk(vals[r0:r1], cols[r0:r1], v[r0:r1], global_cols, want)

    for src in range(size):
        keep = src != rank or not self_search  # a self-search takes its own shard whole, below
        for c0 in range(0, int(sizes[src]), block_rows):
            c1 = min(c0 + block_rows, int(sizes[src]))
            mine = targets[c0:c1] if src == rank else None
            if scorer is None:
                block, on_dev = broadcast_rows(mine, (c1 - c0, targets.shape[1]), src, group), None
            else:
                block, on_dev = broadcast_block(mine, (c1 - c0, targets.shape[1]), src, group, device, on_device=keep)
            if keep:
                take(block, on_dev, int(offsets[src]) + c0, False)
        if src == rank and self_search:  # own shard whole: the kernel excludes each row itself
            take(targets, None if scorer is None else scorer.Xd, int(offsets[src]), True)
    return vals, cols


def circulate_rows(T: np.ndarray, block_rows: int, group: Any = None) -> Iterator[tuple[int, np.ndarray]]:
    """Every rank's rows of ``T`` in blocks of at most ``block_rows``, in global row order, on
    every rank: ``(first global row, rows)`` (the CPU circulation of :func:`sharded_topk`, for
    callers that score the blocks themselves). Collective: every rank iterates to the end.

    Examples
    --------
    >>> [(o, b.shape[0]) for o, b in circulate_rows(np.ones((5, 2), np.float32), 2)]
    [(0, 2), (2, 2), (4, 1)]
    """
    from ._group import world

    rank, size = world(group)
    sizes = all_sizes(T.shape[0], group)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    for src in range(size):
        for c0 in range(0, int(sizes[src]), block_rows):
            c1 = min(c0 + block_rows, int(sizes[src]))
            yield int(offsets[src]) + c0, broadcast_rows(T[c0:c1] if src == rank else None, (c1 - c0, T.shape[1]),
                                                         src, group)
