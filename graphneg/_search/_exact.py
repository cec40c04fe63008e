"""The exact search: every row's neighbours at ranks ``[skip, skip + k)``, on CPU tiles or torch blocks.

:func:`exact_knn` runs a checked :class:`._query.Query` one way: its arrays prepared
(:func:`._prepare.prepare`), searched on the route the query carries (numpy GEMM tiles,
:func:`._blocks.tiled_blocks`, or torch blocks), and the chosen pairs' similarities computed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._blocks import Tiles, read_only_tensor, tiled_blocks
from ._canonical import canonical_slack
from ._prepare import prepare
from ._query import Query
from ._torch_blocks import block_starts, finish_candidates, topk


def exact_knn(q: Query) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, similarities)`` of the exact (or, with reduced ``precision``, re-ranked) search
    of ``q``, as :func:`graphneg.knn_search` returns them.

    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]], dtype=np.float32)
    >>> exact_knn(Query(X, X, 1, self_search=True))[0].ravel().tolist()
    [1, 0, 1]
    """
    X, T, scale = prepare(q.X, q.T, q.metric, q.self_search)
    idx, sims = exact_search(q, X, T)
    if q.metric == "euclidean" or scale is not None:
        sims = exact_sims(X, T, idx, q.metric, scale)  # exact values for the chosen few
    return idx, sims


def exact_search(q: Query, X: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The search of ``q``'s prepared arrays ``X``, ``T`` on the route it carries; similarities as
    the kernel's scores give them (euclidean: ``1 / (1 + d)`` of the ranking scores)."""
    # reduced precision keeps a margin of extra candidates, re-ranked exactly
    margin = 0 if q.precision == "fp32" else max(8, q.k // 4)
    if q.route != "torch":  # numpy tiles: torch is not even imported on the fp32 route
        return _exact_tiled(X, T, q.k, q.skip, q.metric, q.self_search, q.route, margin, q.show_progress)
    import torch

    dev = torch.device(q.device) if q.device is not None else torch.device("cpu")
    return _exact_torch(X, T, q.k, q.skip, q.metric, q.self_search, q.precision, margin, q.block_size, dev,
                        q.show_progress)


def exact_sims(
    X: np.ndarray, T: np.ndarray, idx: np.ndarray, metric: str, scale: np.ndarray | float | None = None
) -> np.ndarray:
    """Similarities of the selected pairs, O(n * k * dim); ``scale`` as from :func:`._prepare.prepare`."""
    out = np.empty(idx.shape, dtype=np.float32)
    row_scale = np.broadcast_to(np.asarray(1.0 if scale is None else scale, dtype=np.float64), X.shape[:1])
    for start in range(0, X.shape[0], 4096):
        stop = min(start + 4096, X.shape[0])
        Tg = T[idx[start:stop]]  # (b, k, d)
        s = row_scale[start:stop, None]
        if metric == "euclidean":
            d = np.sqrt(np.maximum(((Tg - X[start:stop, None, :]) ** 2).sum(-1), 0))
            out[start:stop] = 1.0 / (1.0 + (d if scale is None else d * s))
        else:
            sims = np.einsum("bkd,bd->bk", Tg, X[start:stop])
            out[start:stop] = sims if scale is None else sims * s
    return out


def _exact_tiled(
    X: np.ndarray, T: np.ndarray, k: int, skip: int, metric: str, self_search: bool, route: str,
    margin: int, show_progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The CPU path: cache-resident GEMM tiles (:func:`._blocks.tiled_blocks`)."""
    n = X.shape[0]
    t_sq = (T * T).sum(1) if metric == "euclidean" else None
    want = min(k + skip, T.shape[0] - (1 if self_search else 0))
    out_idx = np.empty((n, k), dtype=np.int64)
    out_sim = np.empty((n, k), dtype=np.float32)
    blocks = tiled_blocks(X, T, want, self_search, t_sq, scoring=route, margin=margin,
                          tiles=Tiles(show_progress=show_progress, desc="kNN search"))
    for start, stop, vals, idx in blocks:
        out_sim[start:stop], out_idx[start:stop] = _window(vals, idx, X[start:stop], skip, t_sq is not None)
    return out_idx, out_sim


def _window(
    vals: np.ndarray, idx: np.ndarray, xb: np.ndarray, skip: int, euclidean: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Ranks ``[skip, ...)`` of canonical block results, scores turned into similarities
    (euclidean: ``2<x, t> - |t|^2`` back to ``1 / (1 + |x - t|)``)."""
    vals, idx = vals[:, skip:], idx[:, skip:]
    if euclidean:
        x_sq = (xb * xb).sum(1, keepdims=True)
        vals = 1.0 / (1.0 + np.sqrt(np.maximum(x_sq - vals, 0)))
    return vals, idx


def _exact_torch(
    X: np.ndarray, T: np.ndarray, k: int, skip: int, metric: str, self_search: bool, precision: str,
    margin: int, block_size: int, dev: Any, show_progress: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The torch path (GPU, or CPU when torch multiplies faster): full-width row blocks.

    On the CPU an fp32 search ends in the canonical order of the tile routes
    (:func:`._torch_blocks.finish_candidates`), so every CPU route returns the same graph.
    """
    import torch

    n = X.shape[0]
    canonical = dev.type == "cpu" and precision == "fp32"
    margin = max(8, k // 4) if canonical else margin
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    Xt = read_only_tensor(X).to(dev)
    Tt = Xt if self_search else read_only_tensor(T).to(dev)
    Xs, Ts = Xt.to(dtype), (Xt.to(dtype) if self_search else Tt.to(dtype))
    t_sq = (Ts.float() * Ts.float()).sum(1).to(dtype) if metric == "euclidean" else None
    t_sq_np = (T * T).sum(1) if metric == "euclidean" else None
    slack = canonical_slack(X, T, metric == "euclidean", "fp32") if canonical else None
    want = min(k + skip + margin, T.shape[0] - (1 if self_search else 0))
    out_idx = np.empty((n, k), dtype=np.int64)
    out_sim = np.empty((n, k), dtype=np.float32)
    with torch.inference_mode():
        for start in block_starts(n, block_size, show_progress, "kNN search"):
            stop = min(start + block_size, n)
            scores = Xs[start:stop] @ Ts.T
            if t_sq is not None:
                # argmax of 2<x,y> - |y|^2 is argmin of |x - y|^2 (|x|^2 is constant per row)
                scores.mul_(2).sub_(t_sq)
            if self_search:
                rows = torch.arange(stop - start, device=dev)
                scores[rows, rows + start] = -torch.inf
            vals, idx = topk(scores, want)
            if canonical:
                v, i = finish_candidates(X, T, start, idx.numpy(), vals.numpy(), min(k + skip, want),
                                         t_sq_np, self_search, slack)
                out_sim[start:stop], out_idx[start:stop] = _window(v, i, X[start:stop], skip, t_sq is not None)
                continue
            vals, idx = _finish_block(vals, idx, Xt[start:stop], Tt, t_sq is not None, skip, k, margin)
            out_idx[start:stop] = idx.cpu().numpy()
            out_sim[start:stop] = vals.float().cpu().numpy()
    return out_idx, out_sim


def _finish_block(
    vals: Any, idx: Any, xb: Any, Tt: Any, euclidean: bool, skip: int, k: int, margin: int
) -> tuple[Any, Any]:
    """Ranks ``[skip, skip + k)`` of a block's candidates as similarities (re-ranked in fp32
    first when a reduced-precision ``margin`` was kept)."""
    import torch

    if margin:
        cand = Tt[idx]  # (b, want, d)
        if euclidean:
            vals = -((cand - xb[:, None, :]) ** 2).sum(-1)
        else:
            vals = torch.einsum("bwd,bd->bw", cand, xb)
        vals, order = torch.sort(vals, dim=1, descending=True)
        idx = torch.gather(idx, 1, order)
        vals, idx = vals[:, skip : skip + k], idx[:, skip : skip + k]
        if euclidean:
            vals = 1.0 / (1.0 + (-vals).clamp_min(0).sqrt())
        return vals, idx
    vals, idx = vals[:, skip:], idx[:, skip:]
    if euclidean:
        x_sq = (xb * xb).sum(1, keepdim=True)
        vals = 1.0 / (1.0 + (x_sq - vals).clamp_min_(0).sqrt_())
    return vals, idx
