"""A DDP-safe batch sampler over random-walk-with-restart batches (BatchSampler, KDD 2023).

The walk itself is :func:`graphneg.similarity.walk_batches`; this module serves its batches
to a ``DataLoader`` under the same contract as the other samplers of
:mod:`graphneg.training` (exact ``len`` on every rank, each item once per epoch, batches a
function of ``(seed, epoch)``, identical DDP sharding).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._sparse import graph_pattern
from .._validation import check_bool
from ..similarity._walk_batches import check_walk_options, walk_epoch
from ._plans import Shard, check_sampler_keywords
from ._sampler_base import _PlannedSampler


class RandomWalkBatchSampler(_PlannedSampler):
    r"""Batches grown by random walks with restart over a proximity graph (BatchSampler).

    Each batch starts at a random node not yet used in the epoch and takes the unused nodes
    that a random walk meets, returning to its start with probability ``restart`` at each
    step, so batch-mates are graph neighbours (hard negatives) without being a whole
    neighbourhood. Every item appears exactly once per epoch (unless ``drop_last``). See
    :func:`graphneg.similarity.walk_batches` for the walk and how it differs from the paper's
    code (Yang et al., KDD 2023, arXiv:2306.03355).

    Parameters
    ----------
    graph : square sparse matrix, LinkGraph or 2-D array
        Proximity graph over the items (e.g. ``graphneg.knn_graph(embeddings, k)``); row
        ``i`` is dataset item ``i``. Weights are ignored; symmetrised unless ``directed``.
    batch_size : int
        Items per batch.
    restart : float in [0, 1], default=0.1
        Restart probability :math:`\alpha`. The paper decays it per epoch,
        :math:`\max(\alpha_0 - 0.02 e, 0.05)`: set :attr:`restart` before an epoch to do so.
    patience : int, default=32
        Idle walk steps (no new node) before jumping to a random unused node; the walk
        jumps at once when no unused node is reachable, so a large value is cheap.
    directed : bool, default=False
        Walk stored (out-)edges only, as the paper's code does.
    drop_last, seed, num_replicas, rank, shard
        The options every sampler shares (:mod:`graphneg.training`); no ``strata``.

    See Also
    --------
    graphneg.walk_batches : one epoch of these batches, as a function.
    graphneg.knn_graph : the proximity graph to walk.
    CommunityBatchSampler : batches from communities of the same graph.

    Notes
    -----
    Call :meth:`set_epoch` at the start of every epoch, before iterating. :meth:`refresh`
    swaps in a graph rebuilt from the current model's embeddings (the paper rebuilds it every
    100 batches; here at epoch boundaries).

    References
    ----------
    .. [1] Yang et al., "BatchSampler: Sampling Mini-Batches for Contrastive Learning in Vision,
       Language, and Graphs", KDD 2023, arXiv:2306.03355.

    Examples
    --------
    Two cliques of 4 items joined by one edge:

    >>> import scipy.sparse as sp
    >>> block = np.ones((4, 4)) - np.eye(4)
    >>> graph = sp.block_diag([block, block], format="csr")
    >>> sampler = RandomWalkBatchSampler(graph, 4, seed=0)
    >>> len(sampler), sorted(sorted(b) for b in sampler)
    (2, [[0, 1, 2, 3], [4, 5, 6, 7]])
    >>> sampler.set_epoch(1)  # before every epoch, or every epoch repeats
    >>> sorted(i for b in sampler for i in b) == list(range(8))
    True
    >>> [len(RandomWalkBatchSampler(graph, 3, num_replicas=2, rank=r)) for r in (0, 1)]
    [2, 2]
    """

    @check_sampler_keywords
    def __init__(
        self, graph: Any, batch_size: int, *, restart: float = 0.1, patience: int = 32, directed: bool = False,
        drop_last: bool = False, seed: int = 0, num_replicas: int | None = None, rank: int | None = None,
        shard: Shard = "batches",
    ) -> None:
        self.directed = check_bool(directed, "directed")
        adjacency = graph_pattern(graph, directed=self.directed)
        super().__init__(adjacency.shape[0], batch_size, drop_last=drop_last, seed=seed, num_replicas=num_replicas,
                         rank=rank, shard=shard)
        self.restart, self.patience = check_walk_options(restart, patience)
        self._replan(self._set_adjacency, adjacency)  # validate now, not at the first epoch

    @property
    def restart(self) -> float:
        """Restart probability of the walks; setting it re-plans the current epoch."""
        return self._restart

    @restart.setter
    def restart(self, value: float) -> None:
        self._restart, _ = check_walk_options(value, 1)
        self._cache = None

    def refresh(self, graph: Any) -> None:
        """Swap in a new graph over the same items (e.g. a kNN graph of fresh embeddings).

        The current epoch is re-planned at the next :meth:`__iter__`; a failed refresh
        leaves the sampler as it was.

        Parameters
        ----------
        graph : square sparse matrix, LinkGraph or 2-D array
            The new graph; ``num_items`` rows.

        Examples
        --------
        >>> import scipy.sparse as sp
        >>> s = RandomWalkBatchSampler(sp.csr_array(np.eye(4, k=1)), 2)
        >>> s.refresh(sp.csr_array(np.eye(4, k=2)))
        >>> sorted(sorted(b) for b in s)
        [[0, 2], [1, 3]]
        """
        adjacency = graph_pattern(graph, directed=self.directed)
        if adjacency.shape[0] != self.num_items:
            raise ValueError(
                f"`graph` must have one row per item ({self.num_items}), got shape {adjacency.shape}."
            )
        self._replan(self._set_adjacency, adjacency)

    def _set_adjacency(self, adjacency: Any) -> None:
        self._adjacency = adjacency

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        return walk_epoch(
            self._adjacency, self.batch_size, self.restart, self.patience, self.seed, epoch, self.drop_last
        )
