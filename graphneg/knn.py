"""Exact, blocked k-nearest-neighbour similarity graphs.

Every graph returned here is a :class:`scipy.sparse.csr_array` with float32 similarities,
canonical (sorted indices, no duplicates) and without a stored diagonal when items are
compared with themselves. Rows are queries, columns are targets.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ._validation import check_bool, check_choice, check_embeddings, check_graph, check_int

__all__ = ["knn_search", "knn_graph", "symmetrize", "METRICS"]

Metric = Literal["cosine", "ip", "euclidean"]
METRICS = ("cosine", "ip", "euclidean")
_METRIC_ALIASES = {"inner_product": "ip", "dot": "ip", "l2": "euclidean"}

# Target elements of one block's score matrix (float32): 2**25 * 4 B = 128 MiB, large enough
# for the GEMM to run near peak, small enough to stay far from O(N^2) memory.
_BLOCK_ELEMENTS = 2**25


def _resolve_metric(metric: str) -> str:
    metric = _METRIC_ALIASES.get(metric, metric) if isinstance(metric, str) else metric
    return check_choice(metric, "metric", METRICS)


def knn_search(
    X: Any,
    k: int,
    *,
    targets: Any = None,
    skip: int = 0,
    metric: Metric = "cosine",
    block_size: int | None = None,
    device: Any = None,
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Find, for each row of ``X``, its neighbours at ranks ``[skip, skip + k)``.

    Parameters
    ----------
    X : array-like of shape (n_items, dim)
        Query vectors.
    k : int
        Neighbours kept per row, after the ``skip`` best ones are dropped.
    targets : array-like of shape (n_targets, dim), default=None
        Vectors to search; ``None`` searches ``X`` itself and never returns ``i`` for row ``i``.
    skip : int, default=0
        Number of best neighbours dropped first (B3's ``p``: likely false negatives).
    metric : {'cosine', 'ip', 'euclidean'}, default='cosine'
        ``'cosine'`` normalises both sides; ``'ip'`` is the raw inner product; ``'euclidean'``
        ranks by distance ``d`` and reports the similarity ``1 / (1 + d)``.
    block_size : int, default=None
        Query rows scored per block; ``None`` picks one so a block's score matrix holds about
        32M floats. Memory is ``O(block_size * n_targets + n_items * k)``.
    device : str or torch.device, default=None
        Torch device for the block products (``'cuda'`` to use a GPU); ``None`` is the CPU.
    show_progress : bool, default=False
        Show a tqdm bar over blocks.

    Returns
    -------
    indices : ndarray of shape (n_items, k), int64
        Target ids ordered by decreasing similarity (rank ``skip`` first).
    similarities : ndarray of shape (n_items, k), float32
        The matching similarities.

    Raises
    ------
    ValueError
        On NaN/inf rows, zero rows under cosine, mismatched dimensions, ``skip < 0`` or
        ``skip + k`` larger than the number of candidates.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    >>> idx, sim = knn_search(X, 1)
    >>> idx.ravel().tolist()
    [1, 0, 1]
    """
    import torch

    metric = _resolve_metric(metric)
    X = check_embeddings(X, "X", metric=metric)
    self_search = targets is None
    T = X if self_search else check_embeddings(targets, "targets", metric=metric)
    if T.shape[1] != X.shape[1]:
        raise ValueError(
            f"`targets` must have the same dimension as `X` ({X.shape[1]}), got {T.shape[1]}."
        )
    k = check_int(k, "k")
    skip = check_int(skip, "skip", min_value=0)
    n, m = X.shape[0], T.shape[0]
    n_candidates = m - 1 if self_search else m
    if k + skip > n_candidates:
        what = "n_items - 1" if self_search else "n_targets"
        raise ValueError(
            f"`k` + `skip` must be <= {what} ({n_candidates}), got k={k}, skip={skip}; "
            "there are not that many neighbours."
        )
    show_progress = check_bool(show_progress, "show_progress")
    if block_size is None:
        block_size = int(min(max(_BLOCK_ELEMENTS // max(m, 1), 64), 8192))
    block_size = check_int(block_size, "block_size")

    dev = torch.device(device) if device is not None else torch.device("cpu")
    Xt = torch.from_numpy(X).to(dev)
    Tt = Xt if self_search else torch.from_numpy(T).to(dev)
    if metric == "cosine":
        Xt = torch.nn.functional.normalize(Xt, dim=1)
        Tt = Xt if self_search else torch.nn.functional.normalize(Tt, dim=1)
    t_sq = (Tt * Tt).sum(1) if metric == "euclidean" else None

    want = k + skip
    out_idx = np.empty((n, k), dtype=np.int64)
    out_sim = np.empty((n, k), dtype=np.float32)
    starts = range(0, n, block_size)
    if show_progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, total=math.ceil(n / block_size), desc="kNN search", unit="block")
    with torch.inference_mode():
        for start in starts:
            stop = min(start + block_size, n)
            scores = Xt[start:stop] @ Tt.T
            if t_sq is not None:
                # argmax of 2<x,y> - |y|^2 is argmin of |x - y|^2 (|x|^2 is constant per row)
                scores.mul_(2).sub_(t_sq)
            if self_search:
                rows = torch.arange(stop - start, device=dev)
                scores[rows, rows + start] = -torch.inf
            vals, idx = torch.topk(scores, want, dim=1, largest=True, sorted=True)
            vals, idx = vals[:, skip:], idx[:, skip:]
            if t_sq is not None:
                x_sq = (Xt[start:stop] * Xt[start:stop]).sum(1, keepdim=True)
                vals = 1.0 / (1.0 + (x_sq - vals).clamp_min_(0).sqrt_())
            out_idx[start:stop] = idx.cpu().numpy()
            out_sim[start:stop] = vals.float().cpu().numpy()
    return out_idx, out_sim


def _rows_to_csr(indices: np.ndarray, sims: np.ndarray, n_cols: int) -> sp.csr_array:
    n, k = indices.shape
    G = sp.csr_array(
        (sims.ravel(), indices.ravel(), np.arange(0, n * k + 1, k, dtype=np.int64)),
        shape=(n, n_cols),
    )
    G.sort_indices()
    return G


def knn_graph(
    X: Any,
    k: int,
    *,
    targets: Any = None,
    skip: int = 0,
    metric: Metric = "cosine",
    mutual: bool = False,
    block_size: int | None = None,
    device: Any = None,
    show_progress: bool = False,
) -> sp.csr_array:
    """Build the k-nearest-neighbour similarity graph of ``X`` as a sparse CSR array.

    Row ``i`` holds the neighbours of item ``i`` at ranks ``[skip, skip + k)``, so
    ``knn_graph(X, k=m, skip=p)`` is B3's rank window: the ``p`` most similar items (likely
    false negatives) are skipped and the next ``m`` kept.

    Parameters
    ----------
    X : array-like of shape (n_items, dim)
        Embeddings (rows need not be normalised; ``metric='cosine'`` does it).
    k : int
        Entries kept per row.
    targets : array-like of shape (n_targets, dim), default=None
        Search these instead of ``X`` (e.g. queries against documents); the graph is then
        ``(n_items, n_targets)`` and may contain ``(i, i)``.
    skip : int, default=0
        Best neighbours dropped before the ``k`` kept.
    metric : {'cosine', 'ip', 'euclidean'}, default='cosine'
        Similarity: cosine, raw inner product, or ``1 / (1 + euclidean distance)``.
    mutual : bool, default=False
        Keep only edges found in both directions (B3's mutual graph). The result is symmetric
        and rows may then hold fewer than ``k`` entries. Requires ``targets=None``.
    block_size, device, show_progress
        See :func:`knn_search`.

    Returns
    -------
    G : scipy.sparse.csr_array of shape (n_items, n_items) or (n_items, n_targets), float32
        ``G[i, j]`` is the similarity of target ``j`` to item ``i``. Exactly ``k`` entries per
        row unless ``mutual``; no diagonal when ``targets is None``; canonical CSR.

    Notes
    -----
    The search is exact and blocked: each block of rows is scored against all targets with
    one matrix product and reduced with a top-``(skip + k)`` selection, so memory stays
    ``O(n_items * k + block_size * n_targets)``, never ``n_items * n_targets``. Ties are
    broken by the selection kernel, deterministically for a given device.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> G = knn_graph(X, 1)
    >>> G.indices.tolist()
    [1, 0, 3, 2]
    >>> knn_graph(X, 1, skip=1).indices.tolist()  # the second-nearest instead
    [3, 3, 1, 1]
    """
    mutual = check_bool(mutual, "mutual")
    if mutual and targets is not None:
        raise ValueError("`mutual=True` needs `targets=None`: mutual edges need a square graph.")
    idx, sim = knn_search(
        X,
        k,
        targets=targets,
        skip=skip,
        metric=metric,
        block_size=block_size,
        device=device,
        show_progress=show_progress,
    )
    n_cols = idx.shape[0] if targets is None else int(np.asarray(targets).shape[0])
    G = _rows_to_csr(idx, sim, n_cols)
    if mutual:
        G = symmetrize(G, mode="mutual")
    return G


def symmetrize(G: Any, mode: Literal["union", "mutual"] = "union") -> sp.csr_array:
    """Make a directed graph symmetric.

    Parameters
    ----------
    G : sparse array of shape (n, n)
        A directed graph, e.g. from :func:`knn_graph`.
    mode : {'union', 'mutual'}, default='union'
        ``'union'`` keeps an edge present in either direction, with the larger weight;
        ``'mutual'`` keeps only edges present in both directions, with the smaller weight.

    Returns
    -------
    scipy.sparse.csr_array of shape (n, n), float32
        Symmetric, canonical, with the diagonal removed.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> G = sp.csr_array(np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=np.float32))
    >>> symmetrize(G, "mutual").toarray().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    >>> int(symmetrize(G, "union").nnz)
    4
    """
    check_choice(mode, "mode", ("union", "mutual"))
    G = check_graph(G, "G").tocoo()
    n = G.shape[0]
    off = G.row != G.col
    r, c, v = G.row[off].astype(np.int64), G.col[off].astype(np.int64), G.data[off]
    # Each edge enters once per direction; grouping by (row, col) then reduces the pair.
    # Works for any weight sign, including explicit zeros (max/min of sparse arrays would not).
    keys = np.concatenate([r * n + c, c * n + r])
    vals = np.concatenate([v, v])
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], vals[order]
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys
    counts = np.diff(np.r_[first, keys.size])
    if mode == "union":
        out_vals = np.maximum.reduceat(vals, first) if keys.size else vals
        out_keys = keys[first]
    else:
        # a directed edge seen from both sides appears twice (once per direction and copy)
        both = counts >= 2 if keys.size else counts.astype(bool)
        reduced = np.minimum.reduceat(vals, first) if keys.size else vals
        out_vals, out_keys = reduced[both], keys[first][both]
    S = sp.csr_array(
        (out_vals.astype(np.float32), (out_keys // n, out_keys % n)), shape=(n, n)
    )
    S.sort_indices()
    return S
