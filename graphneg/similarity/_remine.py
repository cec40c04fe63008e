"""Re-mining with the current model (ANCE / NGAME): refresh graph, communities and negatives.

A :class:`Reminer` owns a schedule and a way to embed the training items; at the epochs the
schedule names it rebuilds the kNN graph and the communities from fresh embeddings and
hands the new labels to a sampler (``sampler.refresh(labels)``), optionally re-mining hard
negatives through a callback. It runs the same deterministic computation on every rank, so
DDP ranks agree as long as they embed the same items identically.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_bool, check_int
from ._communities import communities
from ._knn import knn_graph

logger = logging.getLogger(__name__)

# NGAME (Dahiya et al., WSDM 2023), code defaults: cluster size doubles at these epochs
NGAME_MILESTONES = (10, 20, 25, 50, 75, 100, 125, 150, 200)


def ngame_cluster_size(
    epoch: int, *, start: int = 1, max_cluster_size: int = 512, milestones: Sequence[int] = NGAME_MILESTONES
) -> int:
    """NGAME's curriculum: the cluster size doubles at each milestone epoch passed.

    Size 1 means random batches (NGAME's warm-up).

    Parameters
    ----------
    epoch : int
        The epoch (>= 0).
    start : int, default=1
        Cluster size before the first milestone.
    max_cluster_size : int, default=512
        Cap of the size.
    milestones : sequence of int, default=NGAME_MILESTONES
        Epochs at which the size doubles.

    Returns
    -------
    int

    See Also
    --------
    Reminer : takes it as ``cluster_size`` to follow the curriculum while re-mining.

    Examples
    --------
    >>> [ngame_cluster_size(e) for e in (0, 9, 10, 20, 25, 60)]
    [1, 1, 2, 4, 8, 16]
    >>> ngame_cluster_size(300, max_cluster_size=64)
    64
    """
    epoch = check_int(epoch, "epoch", min_value=0)
    start = check_int(start, "start")
    max_cluster_size = check_int(max_cluster_size, "max_cluster_size")
    passed = sum(1 for m in milestones if epoch >= m)
    return int(min(start * 2**passed, max_cluster_size))


@dataclass
class Reminer:
    """Refresh a sampler's communities from the current model's embeddings on a schedule.

    Parameters
    ----------
    embed : callable () -> ndarray of shape (n_items, dim)
        Embeds the training items with the current model (e.g. ``lambda:
        model.encode(texts)``); called only when a refresh is due.
    sampler : object with ``refresh(labels)``
        A :class:`graphneg.CommunityBatchSampler` or :class:`graphneg.TopicBatchSampler`.
    every : int, default=1
        Refresh every ``every`` epochs, counted from ``start``.
    start : int, default=0
        First epoch that refreshes (NGAME warms up for 10 epochs on random batches).
    k, skip, mutual, metric : graph options
        Passed to :func:`graphneg.knn_graph`.
    communities : callable (graph, *, seed, **options) -> labels, default=graphneg.communities
        The community detection, with its options bound (e.g.
        ``functools.partial(graphneg.communities, max_cluster_size=64)``). Called as
        ``communities(graph, seed=rng)``, with ``cluster_size=`` when a cluster size is due and
        ``weighted=False`` on a mutual graph (B3 partitions its mutual graph unweighted).
    cluster_size : int or callable (epoch) -> int, default=None
        Exact cluster size ``K`` (B3 batches), or a curriculum such as
        :func:`ngame_cluster_size`. ``None`` keeps variable-size communities. A size of 1
        gives singleton clusters, i.e. random batches.
    on_refresh : callable (embeddings, labels, epoch) -> None, default=None
        Called after each refresh, e.g. to re-mine hard negatives with
        :func:`graphneg.mine_hard_negatives` on the same embeddings.
    seed : int, default=0
        Community detection at epoch ``e`` uses seed ``[seed, e]``.

    Attributes
    ----------
    history : list of dict
        One entry per refresh: ``epoch``, ``num_communities``, ``cluster_size``, ``largest``.

    See Also
    --------
    ngame_cluster_size : NGAME's cluster-size curriculum, for ``cluster_size``.
    graphneg.training.st.RefreshCallback : calls :meth:`step` at each epoch start of a trainer.
    graphneg.knn_graph, graphneg.communities : the two steps of a refresh.

    Examples
    --------
    >>> import graphneg as gn
    >>> X = gn.load_demo(400).embeddings
    >>> sampler = gn.CommunityBatchSampler(np.zeros(400, dtype=int), 32)
    >>> reminer = Reminer(lambda: X, sampler, every=2, k=10, cluster_size=16)
    >>> [reminer.step(e) is not None for e in range(4)]
    [True, False, True, False]
    >>> sampler.packing
    'b3'
    """

    embed: Callable[[], Any]
    sampler: Any
    every: int = 1
    start: int = 0
    k: int = 10
    skip: int = 0
    mutual: bool = False
    metric: str = "cosine"
    communities: Callable[..., np.ndarray] = communities
    cluster_size: int | Callable[[int], int] | None = None
    on_refresh: Callable[[np.ndarray, np.ndarray, int], None] | None = None
    seed: int = 0
    history: list[dict[str, Any]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.every = check_int(self.every, "every")
        self.start = check_int(self.start, "start", min_value=0)
        if not hasattr(self.sampler, "refresh"):
            raise TypeError(f"`sampler` must have a refresh(labels) method, got {type(self.sampler).__name__}.")
        if not callable(self.communities):
            raise TypeError(f"`communities` must be a function (graph, *, seed) -> labels, "
                            f"got {type(self.communities).__name__}.")

    def due(self, epoch: int) -> bool:
        """Whether :meth:`step` would re-mine at ``epoch``.

        Examples
        --------
        >>> class Sampler:
        ...     def refresh(self, labels): pass
        >>> [Reminer(lambda: None, Sampler(), every=2, start=1).due(e) for e in range(4)]
        [False, True, False, True]
        """
        return epoch >= self.start and (epoch - self.start) % self.every == 0

    def step(self, epoch: int, *, force: bool = False) -> np.ndarray | None:
        """Re-mine at ``epoch`` if the schedule says so (or ``force``): embed, rebuild graph
        and communities, and hand the labels to the sampler (``sampler.refresh(labels)``).

        Parameters
        ----------
        epoch : int
            The epoch about to start.
        force : bool, default=False
            Re-mine even when the schedule does not name ``epoch``.

        Returns
        -------
        ndarray of int64 or None
            The new labels, or ``None`` when nothing was due.
        """
        epoch = check_int(epoch, "epoch", min_value=0)
        if not (check_bool(force, "force") or self.due(epoch)):
            return None
        X = np.asarray(self.embed(), dtype=np.float32)
        size = self.cluster_size(epoch) if callable(self.cluster_size) else self.cluster_size
        labels = np.arange(X.shape[0], dtype=np.int64) if size == 1 else self._communities(X, size, epoch)
        self.sampler.refresh(labels)
        if self.on_refresh is not None:
            self.on_refresh(X, labels, epoch)
        sizes = np.bincount(labels)
        self.history.append({"epoch": epoch, "num_communities": int(sizes.size), "cluster_size": size,
                             "largest": int(sizes.max())})
        logger.info("re-mined at epoch %d: %d communities (largest %d)", epoch, sizes.size, sizes.max())
        return labels

    def _communities(self, X: np.ndarray, size: int | None, epoch: int) -> np.ndarray:
        """Labels of ``X`` from its kNN graph (size 1, singletons, is handled by the caller)."""
        G = knn_graph(X, self.k, skip=self.skip, mutual=self.mutual, metric=self.metric)  # type: ignore[arg-type]
        options: dict[str, Any] = {}
        if size is not None:
            options["cluster_size"] = size
        if self.mutual:
            options["weighted"] = False
        return self.communities(G, seed=np.random.default_rng([self.seed, epoch]), **options)
