"""The kNN similarity graph of embeddings sharded by rows over a process group.

Each rank passes its row shard (rows ``start:stop`` of the embeddings, e.g. from
:func:`load_shard`) and gets the CSR rows of its items; :func:`assemble_graph` stacks the ranks'
shards into the graph :func:`graphneg.knn_graph` builds in one process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from .._search._prepare import SAFE_EXPONENT
from .._validation import check_choice, check_embeddings, check_int, row_norms, safe_normalize
from ..similarity._knn import rows_to_csr
from ._circulate import BLOCK_BYTES, resolve_device, sharded_topk, shared_route
from ._group import agree, all_max, all_sizes

__all__ = ["knn_graph", "assemble_graph"]


def _prepare(X: Any, T: Any, metric: str, group: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Validated float32 shards as the single-process search ranks them (cosine: unit rows)."""

    def local() -> tuple[np.ndarray, np.ndarray | None]:
        Xc = check_embeddings(X, "X_shard", metric=metric, min_rows=0)
        Tc = None if T is None else check_embeddings(T, "targets_shard", metric=metric, min_rows=0)
        if Tc is not None and Tc.shape[1] != Xc.shape[1]:
            raise ValueError(
                f"`targets_shard` must have the dimension of `X_shard` ({Xc.shape[1]}), got {Tc.shape[1]}."
            )
        if metric == "cosine":
            return safe_normalize(Xc, "X_shard"), None if Tc is None else safe_normalize(Tc, "targets_shard")
        return Xc, Tc

    Xp, Tp = agree(local, group)
    dims = all_max([Xp.shape[1], -Xp.shape[1]], group)
    if dims[0] != -dims[1]:
        raise ValueError(f"every rank's `X_shard` must have the same dimension, got {int(-dims[1])} to {int(dims[0])}.")
    if metric == "ip":
        _check_ip_scale(Xp, Xp if Tp is None else Tp, group)
    return Xp, Tp


def _check_ip_scale(X: np.ndarray, T: np.ndarray, group: Any) -> None:
    """Inner products are searched as given: row norms must lie within ``2**-40 .. 2**40``
    (where the single-process search does not rescale either)."""
    norms = np.concatenate([row_norms(X), row_norms(T)])
    nz = norms[norms > 0]
    lo, hi = all_max([-nz.min() if nz.size else -1.0, nz.max() if nz.size else 1.0], group)
    if -lo < 2.0**-SAFE_EXPONENT or hi > 2.0**SAFE_EXPONENT:
        raise ValueError(
            f"metric='ip' needs row norms within 2**-{SAFE_EXPONENT} .. 2**{SAFE_EXPONENT} across ranks, "
            f"got {-lo:.3g} .. {hi:.3g}; rescale the embeddings or use metric='cosine'."
        )


def knn_graph(
    X_shard: Any,
    k: int,
    *,
    targets_shard: Any = None,
    skip: int = 0,
    metric: Literal["cosine", "ip"] = "cosine",
    block_rows: int | None = None,
    group: Any = None,
    device: Any = None,
) -> sp.csr_array:
    r"""This rank's rows of the exact kNN graph of embeddings sharded over a process group.

    Rank :math:`r` holds rows :math:`[o_r, o_r + n_r)` of the embeddings (in rank order, any
    sizes); the result holds the same rows of ``graphneg.knn_graph(X, k, skip=skip,
    metric=metric)`` (columns global), computed with its kernels: the target shards circulate
    in blocks and each rank keeps the exact top-``(skip + k)`` of its rows.

    Parameters
    ----------
    X_shard : array-like of shape (n_r, dim)
        This rank's rows (a memory-mapped slice is fine: :func:`load_shard`). Read-only.
    k : int
        Entries kept per row, after the ``skip`` best.
    targets_shard : array-like of shape (m_r, dim), default=None
        This rank's rows of separate targets (queries against documents); ``None`` searches the
        items themselves (never ``i`` for row ``i``).
    skip : int, default=0
        Best neighbours dropped first (B3's rank window ``[skip, skip + k)``).
    metric : {'cosine', 'ip'}, default='cosine'
        ``'ip'`` needs row norms within ``2**-40 .. 2**40``.
    block_rows : int, default=None
        Target rows per circulating block; ``None``: 64 MiB of float32 rows.
    group : torch.distributed.ProcessGroup, default=None
        The ranks sharing the embeddings; ``None`` is the default group, or a world of one
        when no process group is initialised.
    device : str or torch.device, default=None
        Where each rank scores its rows against the blocks: ``None`` (or a CPU device) the CPU
        tiles; ``'cuda'``, ``'cuda:1'``, ... that accelerator (one fp32 matmul and ``topk`` per
        row chunk, candidates finished on the CPU in the tiles' canonical order: the same
        graph, bit for bit); ``'auto'``: ``cuda:$LOCAL_RANK`` when CUDA is available, else
        the CPU tiles. Over NCCL the blocks travel as device tensors, over gloo as CPU arrays.

    Returns
    -------
    scipy.sparse.csr_array of shape (n_r, N) or (n_r, M), float32
        Canonical CSR, ``k`` entries a row; stack the ranks' with :func:`assemble_graph`.

    See Also
    --------
    assemble_graph : the rank's row blocks stacked into the single-process graph.
    load_shard : a rank's rows of an embeddings file.
    graphneg.knn_graph : the same graph in one process.

    Notes
    -----
    Memory per rank :math:`\approx 4 d (n_r + b) + 12\, n_r (k + s)` bytes for ``b`` =
    ``block_rows`` (plus the kernel's tiles); each rank receives the other shards once,
    :math:`4 d (N - n_r)` bytes. Every rank must call it (it is collective); an invalid shard
    on one rank raises on all. ``mutual`` graphs: ``graphneg.symmetrize(assembled, 'mutual')``.
    With a ``device``, each rank holds there :math:`4 d (n_r + b)` bytes (its rows and one
    block) plus one row chunk of scores (256 MiB) and the ``topk`` temporaries; its CPU keeps
    a copy of the block for the finish.

    Examples
    --------
    >>> import graphneg as gn
    >>> X = np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32)
    >>> G = knn_graph(X, 5)  # a world of one: the whole graph
    >>> (G != gn.knn_graph(X, 5)).nnz
    0
    """
    metric = check_choice(metric, "metric", ("cosine", "ip"))
    k, skip = check_int(k, "k"), check_int(skip, "skip", min_value=0)
    X, T = _prepare(X_shard, targets_shard, metric, group)
    n_targets = int(all_sizes((X if T is None else T).shape[0], group).sum())
    candidates = n_targets - (1 if T is None else 0)
    if k + skip > candidates:
        raise ValueError(f"`k` + `skip` must be <= {candidates} (the candidates over all ranks), got {k + skip}.")
    rows = check_int(block_rows, "block_rows") if block_rows is not None else max(1, BLOCK_BYTES // (4 * X.shape[1]))
    route = shared_route("fp32", metric, group)
    dev = resolve_device(device, group)
    vals, cols = sharded_topk(X, T, k + skip, route=route, block_rows=rows, group=group, device=dev)
    return rows_to_csr(cols[:, skip:], vals[:, skip:], n_targets)


def assemble_graph(shards: Sequence[Any]) -> sp.csr_array:
    """Stack the ranks' row shards (in rank order) into one graph.

    Parameters
    ----------
    shards : sequence of sparse arrays or ``.npz`` paths
        The results of :func:`knn_graph` on ranks ``0 .. R-1``, or the files
        ``scipy.sparse.save_npz`` wrote them to.

    Returns
    -------
    scipy.sparse.csr_array
        Canonical CSR (sorted indices, duplicates summed, whatever the shards hold), the graph
        ``graphneg.knn_graph`` builds in one process.

    See Also
    --------
    knn_graph : the row blocks it stacks.
    graphneg.knn_graph : the graph it reproduces.

    Examples
    --------
    >>> import graphneg as gn
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> parts = [gn.knn_graph(X, 3)[:8], gn.knn_graph(X, 3)[8:]]
    >>> (assemble_graph(parts) != gn.knn_graph(X, 3)).nnz
    0
    """
    parts = [sp.load_npz(s) if isinstance(s, (str, os.PathLike)) else s for s in shards]
    if not parts:
        raise ValueError("`shards` must hold at least one shard.")
    widths = {p.shape[1] for p in parts}
    if len(widths) != 1:
        raise ValueError(f"every shard must have the same number of columns, got {sorted(widths)}.")
    G = sp.csr_array(sp.vstack([sp.csr_array(p) for p in parts], format="csr"))  # a new array
    G.has_canonical_format = False  # recheck: a shard may hold unsorted or duplicate entries
    G.sum_duplicates()  # sorted indices, duplicates summed (on our copy only)
    return G
