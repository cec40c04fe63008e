"""A checked kNN search: what :func:`graphneg.knn_search` hands the kernels, once.

The public search checks its input, resolves the backend and chooses the CPU route, then
hands one :class:`Query` to :func:`._exact.exact_knn` or :func:`._approximate.approximate_knn`;
nothing below asks for the input or the route again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# Target elements of one block's score matrix (float32): 2**25 * 4 B = 128 MiB, large enough
# for the GEMM to run near peak, small enough to stay far from O(N^2) memory.
BLOCK_ELEMENTS = 2**25


@dataclass(frozen=True)
class Query:
    """A checked search of ``X`` against ``T``: ranks ``[skip, skip + k)`` of every row.

    Attributes
    ----------
    X, T : ndarray of shape (n, dim) and (m, dim), float32
        Checked queries and targets (``T is X`` for a self-search), not yet prepared
        (:func:`._prepare.prepare` makes the arrays the kernels rank).
    k, skip : int
        The rank window.
    metric : {'cosine', 'ip', 'euclidean'}
    self_search : bool
        ``T`` is ``X`` and row ``i`` never returns ``i``.
    backend : str
        ``'exact'``, ``'ivf'``, ``'faiss'``, ``'faiss-hnsw'`` or ``'pynndescent'`` (resolved).
    options : object
        The approximate index's options (:class:`graphneg.IVF` ...), ``None`` for the exact ones.
    precision : {'fp32', 'bf16', 'fp16'}
    route : str or None
        The exact CPU kernel (:func:`._cpu_route.cpu_route`) or ``'torch'``; for ``'ivf'`` the
        exact route at this size (its lists are scored in bf16 where that is ``'certified'``).
    block_size : int
        Rows per torch block.
    device : object
        Torch device of the blocks (``None``: the CPU).
    show_progress : bool
    recall_sample : int
        Rows whose recall an approximate search measures (``0``: none).
    min_recall : float
        Its target.

    Examples
    --------
    >>> X = np.eye(3, dtype=np.float32)
    >>> Query(X, X, 1, self_search=True).want
    2
    """

    X: np.ndarray
    T: np.ndarray
    k: int
    skip: int = 0
    metric: str = "cosine"
    self_search: bool = False
    backend: str = "exact"
    options: Any = None
    precision: str = "fp32"
    route: str | None = "fp32"
    block_size: int = 8192
    device: Any = None
    show_progress: bool = False
    recall_sample: int = 0
    min_recall: float = 0.95

    @property
    def want(self) -> int:
        """Neighbours an index must return so that ``k`` remain after ``skip`` and the item itself."""
        return self.k + self.skip + (1 if self.self_search else 0)


def default_block_size(n_targets: int) -> int:
    """Query rows per torch block: a block's score matrix holds about :data:`BLOCK_ELEMENTS` floats.

    >>> default_block_size(4096), default_block_size(10**7)
    (8192, 64)
    """
    return int(min(max(BLOCK_ELEMENTS // max(n_targets, 1), 64), 8192))
