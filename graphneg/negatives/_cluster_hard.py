r"""ClusterNS cluster-level hard negatives: members of the nearest other cluster.

ClusterNS [1]_ uses one clustering for two jobs: in-batch items of the query's own cluster are
likely false negatives (:func:`~graphneg.negatives.cluster_mask`), and the nearest *other*
cluster supplies hard negatives (:func:`cluster_hard_negatives`). Together, on
:func:`graphneg.communities` labels (or any clustering), they are the ClusterNS option of
graphneg's community pipeline.

References
----------
.. [1] Deng, Wan, Yang, Quan and Wang, "Clustering-Aware Negative Sampling for Unsupervised
   Sentence Representation", Findings of ACL 2023. arXiv:2305.09892; code:
   github.com/djz233/ClusterNS (``kmeans_cluster.provide_hard_negative``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike, check_rng
from .._sampling import warn_short
from .._validation import check_embeddings, check_int, check_labels, row_norms, safe_normalize
from ..similarity._knn import knn_search

__all__ = ["cluster_hard_negatives"]


def cluster_hard_negatives(
    embeddings: Any,
    labels: Any,
    num_negatives: int = 1,
    *,
    targets: Any = None,
    seed: SeedLike = 0,
    device: Any = None,
) -> np.ndarray:
    r"""ClusterNS hard negatives: for each item, members of the nearest other cluster.

    With :math:`\hat x = x / \lVert x \rVert`, the centroid of cluster :math:`c` is the mean
    of its members' normalised target embeddings, :math:`\mu_c = \frac{1}{|c|}
    \sum_{j \in c} \hat t_j`, and item :math:`i` (label :math:`\ell_i`) is given the
    cluster

    .. math::

        c^*(i) = \operatorname*{arg\,max}_{c \ne \ell_i} \cos(x_i, \mu_c),

    from which ``num_negatives`` distinct members are drawn uniformly without replacement
    (in random order). A negative is thus never in the item's own cluster, and always in
    :math:`c^*(i)`. The search is :func:`graphneg.knn_search` of the items against the
    centroids (top 2; the first that is not :math:`\ell_i`), the draw a vectorised Floyd
    sampler: :math:`O(N k^2)` time and :math:`O(N k + C d)` memory beyond the search.

    Differences from the paper [1]_: ClusterNS clusters the batch embeddings with an online
    k-means during training (centroids initialised once the mean in-batch cosine falls below
    a threshold, then updated by momentum every step) and takes as hard negative the
    *centroid vector* of the second-nearest centroid, one per sentence. Here the clusters are
    given (``graphneg.communities``, Leiden, k-means: any labels; refresh them per epoch, e.g.
    with :class:`graphneg.Reminer`), "own cluster" is the item's label rather than its nearest
    centroid (the two agree when the item is nearest to its own centroid, where
    :math:`c^*(i)` is the paper's second-nearest), and the negatives are real *members* of
    :math:`c^*(i)` (indices a trainer can encode as a negative column), as many as asked.

    Parameters
    ----------
    embeddings : array-like of shape (n_items, dim)
        Item (query) embeddings; no zero rows (cosine).
    labels : array-like of shape (n_items,)
        Cluster of each item (int or str labels).
    num_negatives : int, default=1
        Negatives per item.
    targets : array-like of shape (n_items, dim), default=None
        Embeddings of each item's target (positive); target ``j`` belongs to item ``j`` and
        to its cluster. Centroids are built from them and the negatives index them. ``None``:
        the items themselves (the paper's unsupervised setting).
    seed : int or Generator, default=0
        Seed of the draws.
    device : str or torch.device, default=None
        Passed to :func:`graphneg.knn_search` (``'cuda'`` for the centroid search).

    Returns
    -------
    ndarray of shape (n_items, num_negatives), int64
        Item (target) indices. A row whose cluster :math:`c^*(i)` has fewer than
        ``num_negatives`` members holds them all, then ``-1``; with a single cluster every
        row is ``-1``.

    Warns
    -----
    GraphNegWarning
        When rows are padded with ``-1``; it counts them (the library's shortage rule).

    See Also
    --------
    cluster_mask : the other half of ClusterNS: same-cluster in-batch items as false negatives.
    cluster_negatives : B3++ negatives voted for by a whole cluster.
    graphneg.communities : labels to use.

    Notes
    -----
    A centroid whose members cancel out (norm 0) has cosine 0 with every item. Ties between
    equally near clusters are broken by the search.

    Examples
    --------
    Three clusters at about 3, 28 and 87 degrees; cluster 1 is nearest to both others:

    >>> X = np.array([[1.0, 0.0], [1.0, 0.1], [1.0, 0.5], [1.0, 0.6], [0.0, 1.0], [0.1, 1.0]])
    >>> labels = np.array([0, 0, 1, 1, 2, 2])
    >>> neg = cluster_hard_negatives(X, labels, 2, seed=0)
    >>> labels[neg].tolist()
    [[1, 1], [1, 1], [0, 0], [0, 0], [1, 1], [1, 1]]
    >>> sorted(neg[0].tolist())
    [2, 3]
    """
    X = check_embeddings(embeddings, "embeddings", metric="cosine")
    n = X.shape[0]
    cluster = np.unique(check_labels(labels, "labels", n_items=n), return_inverse=True)[1].ravel()
    k = check_int(num_negatives, "num_negatives")
    rng = check_rng(seed)
    T = X if targets is None else check_embeddings(targets, "targets", metric="cosine")
    if T.shape != X.shape:
        raise ValueError(f"`targets` must have the shape of `embeddings` {X.shape}, got {T.shape}.")
    other = _nearest_other(X, _centroids(T, cluster), cluster, device)
    out = _draw_members(cluster, other, k, rng)
    warn_short(out, k, "items", "cluster hard negatives")
    return out


def _centroids(T: np.ndarray, cluster: np.ndarray) -> np.ndarray:
    """Unit centroids (``(n_clusters, dim)`` float32) of the normalised rows; a zero mean stays 0."""
    n_clusters = int(cluster.max()) + 1
    member = sp.csr_array((np.ones(cluster.size), (cluster, np.arange(cluster.size))),
                          shape=(n_clusters, cluster.size))
    sums = np.asarray(member @ safe_normalize(T, "targets").astype(np.float64))
    norms = row_norms(sums)  # the mean's norm up to the count, which the direction ignores
    return (sums / np.where(norms > 0, norms, 1.0)[:, None]).astype(np.float32)


def _nearest_other(X: np.ndarray, centroids: np.ndarray, cluster: np.ndarray, device: Any) -> np.ndarray:
    """For each item, the cluster of highest cosine other than its own (``-1``: none)."""
    if centroids.shape[0] < 2:
        return np.full(X.shape[0], -1, dtype=np.int64)
    idx, _ = knn_search(safe_normalize(X, "embeddings"), 2, targets=centroids, metric="ip", device=device)
    return np.where(idx[:, 0] != cluster, idx[:, 0], idx[:, 1]).astype(np.int64)


def _draw_members(cluster: np.ndarray, other: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct members of cluster ``other[i]`` per row, random order, ``-1`` padded.

    Floyd's algorithm, vectorised over the rows: step ``t`` draws ``r`` uniform in
    ``[0, j]``, ``j = s - m + t``, and takes ``r`` unless already taken, else ``j``; this
    gives a uniform ``m``-subset of ``[0, s)`` (``m = min(k, s)``), shuffled afterwards.
    """
    members = np.argsort(cluster, kind="stable")
    starts = np.r_[0, np.cumsum(np.bincount(cluster))]
    size = np.where(other >= 0, np.diff(starts)[np.maximum(other, 0)], 0)
    m = np.minimum(size, k)
    pos = np.full((cluster.size, k), -1, dtype=np.int64)
    for t in range(k):  # k steps, each vectorised over the items
        j = size - m + t
        r = rng.integers(0, j + 1)
        taken = (pos[:, :t] == r[:, None]).any(axis=1)
        pos[:, t] = np.where(t < m, np.where(taken, j, r), -1)
    key = np.where(pos >= 0, rng.random(pos.shape), np.inf)  # shuffle; padding stays last
    pos = np.take_along_axis(pos, np.argsort(key, axis=1), axis=1)
    start = starts[np.maximum(other, 0)][:, None]
    return np.where(pos >= 0, members[start + np.maximum(pos, 0)], -1)
