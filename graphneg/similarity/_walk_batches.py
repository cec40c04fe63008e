r"""Random-walk-with-restart batches over a proximity graph (after BatchSampler, KDD 2023).

BatchSampler [1]_ grows each mini-batch by a random walk with restart (RWR) on a kNN graph
of the items: neighbours in the graph are similar, so a batch holds hard negatives, while
the restart keeps the walk local and its randomness keeps the batch from being a whole
(false-negative-rich) neighbourhood. :func:`walk_batches` is one epoch of such batches in
which **every item appears exactly once**; :class:`graphneg.training.RandomWalkBatchSampler`
serves them to a ``DataLoader``.

The walk. A batch starts at a node :math:`a` drawn uniformly from the nodes not yet used in
the epoch. From the current node :math:`u`, each step

.. math::

    u \leftarrow \begin{cases} a & \text{with probability } \alpha \text{ (restart)} \\
        v \sim \mathcal{U}(N(u)) & \text{otherwise} \end{cases}

and :math:`u` joins the batch if it is unused. When :math:`u` has no neighbour, or
``patience`` steps in a row add nothing, the walk jumps to a uniformly random unused node,
which becomes the new restart node :math:`a`. A batch is full at ``batch_size`` nodes; the
last one holds the rest.

Idle work is bounded whatever ``patience`` is. The walk can only ever reach the nodes
reachable from :math:`a`, so once none of them is unused it jumps at once instead of
idling ``patience`` steps: an unused-node count per (weakly) connected component detects
this exactly for a symmetric graph (the default), in O(1) per step; on a directed graph,
where a component can hold unused nodes that :math:`a` cannot reach, a breadth-first search
from :math:`a` (C code, O(reach)) checks it once an idle run reaches ``min(patience, 64)``
steps. ``patience`` thus bounds only the wait for an unused node that *is* reachable. The
checks consume no random numbers, so the batches remain a function of ``(seed, epoch)``.

Differences from the reference code (``THUDM/BatchSampler``, ``main.py``: ``random_walk``,
``generate_indices``; read at commit ``3063152``):

- there, only a batch's *start* node must be new in the epoch (its per-batch ``visit`` set
  is always empty), so batches repeat items and an epoch ends once
  :math:`\lfloor N/B \rfloor B` distinct items are covered, the rest being chunked; here a
  node joins only if unused, so each item appears once per epoch and there are exactly
  :math:`\lceil N/B \rceil` batches;
- there, a walk that cannot reach ``batch_size`` nodes loops forever; here it jumps
  after ``patience`` idle steps, or at once when no unused node is reachable (a node without
  neighbours, an exhausted component);
- there, the graph is directed (top-``k`` out-neighbours among ``M`` random candidates) and
  :math:`\alpha` decays per epoch, :math:`\alpha_e = \max(\alpha_0 - 0.02 e, 0.05)`; here the
  graph is symmetrised unless ``directed=True``, and ``restart`` is a constant (pass the
  decayed value per epoch to reproduce the schedule). Building the graph is left to
  :func:`graphneg.knn_graph`; the paper's random-``M`` candidate kNN is not reproduced.

References
----------
.. [1] Yang et al., "BatchSampler: Sampling Mini-Batches for Contrastive Learning in Vision,
   Language, and Graphs", KDD 2023. arXiv:2306.03355. Code: github.com/THUDM/BatchSampler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from .._random import epoch_rng
from .._sparse import graph_pattern
from .._validation import check_bool, check_epoch_args, check_float, check_int
from ._batches import EpochOptions, cut_batches, epoch_options

if TYPE_CHECKING:
    from typing_extensions import Unpack

#: random numbers drawn at once by the walk
_BLOCK = 4096
#: idle steps after which a walk on a directed graph checks that an unused node is reachable
_REACH_CHECK = 64


class _Walker:
    """One epoch's walk state: used flags, the jump order and pre-drawn random numbers."""

    def __init__(self, A: sp.csr_array, rng: np.random.Generator) -> None:
        self.A = A
        self.indptr, self.indices = A.indptr, A.indices
        self.degree = np.diff(A.indptr)
        self.used = np.zeros(A.shape[0], dtype=bool)
        self.order = rng.permutation(A.shape[0])  # the first unused node of it is uniform
        self.next_jump = 0
        self.rng = rng
        # unused nodes per weakly connected component: none left = nothing reachable to take
        _, comp = csgraph.connected_components(A, directed=True, connection="weak")
        self.comp = comp.tolist()
        self.left = np.bincount(comp).tolist()
        # symmetric: the component is exactly the reachable set, so the count decides alone
        self.symmetric = (A != A.T).nnz == 0
        self._draw()

    def take(self, node: int) -> None:
        """Mark ``node`` used."""
        self.used[node] = True
        self.left[self.comp[node]] -= 1

    def exhausted(self, anchor: int) -> bool:
        """Has every node in the anchor's component been used (nothing left to reach)?"""
        return self.left[self.comp[anchor]] == 0

    def reach_exhausted(self, anchor: int) -> bool:
        """Is every node reachable from ``anchor`` used? (one breadth-first search)"""
        if self.symmetric:
            return self.exhausted(anchor)
        reach = csgraph.breadth_first_order(self.A, anchor, directed=True, return_predecessors=False)
        return bool(self.used[reach].all())

    def _draw(self) -> None:
        self.coin = self.rng.random(_BLOCK).tolist()
        self.pick = self.rng.random(_BLOCK).tolist()
        self.k = 0

    def jump(self) -> int:
        """A uniformly random unused node (marked used)."""
        while self.used[self.order[self.next_jump]]:
            self.next_jump += 1
        node = int(self.order[self.next_jump])
        self.take(node)
        return node

    def step(self, cur: int, anchor: int, restart: float) -> int:
        """One RWR step from ``cur``: back to ``anchor`` or to a uniform neighbour (a CSR slice)."""
        if self.k == _BLOCK:
            self._draw()
        coin, pick = self.coin[self.k], self.pick[self.k]
        self.k += 1
        if coin < restart:
            return anchor
        return int(self.indices[self.indptr[cur] + int(pick * self.degree[cur])])


def _walk_order(
    A: sp.csr_array, batch_size: int, restart: float, patience: int, rng: np.random.Generator
) -> np.ndarray:
    """All nodes, in the order the walks take them; batch ``b`` is ``order[b*B:(b+1)*B]``."""
    n = A.shape[0]
    w = _Walker(A, rng)
    check_at = min(patience, _REACH_CHECK)  # directed graphs: when an idle run asks for a search
    out = np.empty(n, dtype=np.int64)
    filled = 0
    while filled < n:
        end = min(filled + batch_size, n)
        anchor = cur = w.jump()
        out[filled] = anchor
        filled += 1
        idle = 0
        while filled < end:
            stuck = w.degree[cur] == 0 or idle >= patience or w.exhausted(anchor)
            if not stuck and idle == check_at and not w.symmetric:
                stuck = w.reach_exhausted(anchor)
            if stuck:
                anchor = cur = w.jump()  # a fresh region, a new restart node
                out[filled] = anchor
                filled += 1
                idle = 0
                continue
            cur = w.step(cur, anchor, restart)
            if w.used[cur]:
                idle += 1
            else:
                w.take(cur)
                out[filled] = cur
                filled += 1
                idle = 0
    return out


def walk_epoch(
    A: sp.csr_array, batch_size: int, restart: float, patience: int, seed: int, epoch: int, drop_last: bool
) -> list[np.ndarray]:
    """:func:`walk_batches` on a prepared adjacency (:func:`graph_pattern`), no validation."""
    return cut_batches(_walk_order(A, batch_size, restart, patience, epoch_rng(seed, epoch, 0)), batch_size, drop_last)


def check_walk_options(restart: Any, patience: Any) -> tuple[float, int]:
    """Validated ``(restart, patience)``."""
    return (
        check_float(restart, "restart", min_value=0.0, max_value=1.0),
        check_int(patience, "patience"),
    )


def walk_batches(
    graph: Any,
    batch_size: int,
    *,
    restart: float = 0.1,
    patience: int = 32,
    directed: bool = False,
    **options: Unpack[EpochOptions],
) -> list[np.ndarray]:
    r"""One epoch of random-walk-with-restart batches over a proximity graph (BatchSampler).

    See the module docstring for the walk and how it differs from the paper's code. Each
    batch is grown from a random unused node by a walk that, at each step, returns to its
    restart node with probability ``restart`` or moves to a uniform random neighbour, and
    takes every unused node it meets. Every node appears exactly once per epoch (without
    ``drop_last``); the batches are a function of ``(seed, epoch)``.

    Cost: one Python-level step per walk move (a CSR slice lookup, random numbers drawn in
    blocks), :math:`O(N (1 + \text{idle steps per node}))`. A walk stops idling as soon as no
    unused node is reachable from its restart node (see the module docstring), so a huge
    ``patience`` costs nothing once a component is used up; it only bounds the wait for an
    unused node that the walk can still reach.

    Parameters
    ----------
    graph : square sparse matrix, LinkGraph or 2-D array
        Proximity graph over the items, e.g. :func:`graphneg.knn_graph`; every nonzero
        entry is an edge (a stored 0 is not), weights are ignored (as in the paper).
    batch_size : int
        Items per batch.
    restart : float in [0, 1], default=0.1
        Restart probability :math:`\alpha` (the paper's ``--restart_p`` default; its
        ``train.sh`` uses 0.2). Higher: more local, harder batches.
    patience : int, default=32
        Steps in a row without a new node before the walk jumps to a random unused node.
        The walk jumps sooner when no unused node is reachable, so any value is cheap there.
    directed : bool, default=False
        Walk the stored (out-)edges only, as the paper does; default: either direction.
    seed, epoch : int, default=0
        The batches are a function of ``(seed, epoch)``.
    drop_last : bool, default=False
        Drop the last batch when it is short.

    Returns
    -------
    list of ndarray (int64)
        Node indices per batch, in walk order.

    See Also
    --------
    graphneg.RandomWalkBatchSampler : the same batches as a PyTorch batch sampler.
    knn_graph : the proximity graph to walk.
    graphneg.candidate_pair_graph : a teacher's pair graph over training rows, to walk.
    cluster_batches : batches from communities instead of walks.

    References
    ----------
    .. [1] Yang et al., "BatchSampler: Sampling Mini-Batches for Contrastive Learning in Vision,
       Language, and Graphs", KDD 2023, arXiv:2306.03355.

    Examples
    --------
    Two cliques of 4 joined by one edge: batches of 4 stay (mostly) inside a clique.

    >>> block = np.ones((4, 4)) - np.eye(4)
    >>> A = sp.block_diag([block, block], format="csr")
    >>> batches = walk_batches(A, 4, seed=0)
    >>> [sorted(b.tolist()) for b in batches]
    [[0, 1, 2, 3], [4, 5, 6, 7]]
    >>> sorted(np.concatenate(walk_batches(A, 3, epoch=1)).tolist()) == list(range(8))
    True
    """
    A = graph_pattern(graph, directed=check_bool(directed, "directed"))
    o = epoch_options("walk_batches", EpochOptions, options)
    batch_size, seed, epoch, drop_last = check_epoch_args(batch_size, o["seed"], o["epoch"], o["drop_last"])
    restart, patience = check_walk_options(restart, patience)
    if A.shape[0] == 0:
        raise ValueError("`graph` must have at least one node, got shape (0, 0).")
    return walk_epoch(A, batch_size, restart, patience, seed, epoch, drop_last)
