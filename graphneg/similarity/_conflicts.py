r"""Batches without false negatives: keep a query's other positives out of its batch.

Community batches are topic-homogeneous, so a query's own known positives (other relevant
documents, citation links, graph neighbours) tend to land in its batch, where an in-batch
loss treats them as negatives. :func:`conflict_free_batches` repairs a batch plan *before*
training by swapping training pairs between batches, so that no batch holds a query together
with another of its positives; :func:`batch_conflicts` lists what is left. The loss-time
guards (masks) are in :mod:`graphneg.negatives`. The closest public tool,
sentence-transformers' ``NoDuplicatesBatchSampler``, only keeps identical texts apart.

Training pair :math:`p` has query item :math:`q_p` and positive item :math:`d_p`. With the
risk relation

.. math::

    \mathcal{R} = \{(q_p, d_p)\} \cup \mathcal{K} \cup
        \{(u, v) : \operatorname{dist}_G(u, v) \le h\}

(every pair's own positive, the ``known_positives`` :math:`\mathcal{K}`, and with ``graph``
every node within :math:`h` = ``hops`` undirected hops, HaSa's risk set [1]_, the node itself
included), two pairs :math:`a \ne b` of one batch *conflict* when

.. math::

    (q_a, d_b) \in \mathcal{R} \;\vee\; (q_b, d_a) \in \mathcal{R},

i.e. when either one's positive would be a false negative of the other's query. Two pairs
with the same positive therefore always conflict.

References
----------
.. [1] Zhang et al., "HaSa: Hardness and Structure-Aware Contrastive Knowledge Graph
   Embedding", WWW 2024, arXiv:2305.10563 (k-hop risk sets).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._random import check_rng
from .._validation import check_int
from ..exceptions import GraphNegWarning
from ._conflict_risk import ConflictRisk, GraphRisk, batch_grid, conflict_risk

if TYPE_CHECKING:
    from typing_extensions import Unpack

#: lookups evaluated at once (bounds the temporary memory of the vectorised checks)
_CHUNK = 1 << 22
#: candidate partners drawn per mover and round
_NUM_CANDIDATES = 16
#: candidate partners evaluated per round in the second block, over all movers
_CANDIDATE_BUDGET = 1 << 15
#: rounds in a row without an accepted swap before giving up
_PATIENCE = 5
# -- conflict counts ----------------------------------------------------------------------------
def _conflict_cube(risk: ConflictRisk, rows: np.ndarray) -> np.ndarray:
    """``(len(rows), S, S)`` bool: slots ``a, b`` of the same batch conflict."""
    return risk.conflict(rows[:, :, None], rows[:, None, :])


def _degrees(risk: ConflictRisk, grid: np.ndarray, which: np.ndarray) -> np.ndarray:
    """In-batch conflict degree of every slot of the batches ``which`` (chunked)."""
    s = grid.shape[1]
    step = max(1, _CHUNK // (s * s))
    out = np.zeros((which.size, s), dtype=np.int64)
    for lo in range(0, which.size, step):
        out[lo : lo + step] = _conflict_cube(risk, grid[which[lo : lo + step]]).sum(axis=2)
    return out


def _conflict_list(risk: ConflictRisk, grid: np.ndarray) -> np.ndarray:
    """Conflicting pairs ``(a, b)``, ``a < b``, sorted, over all batches of ``grid``."""
    s = grid.shape[1]
    step = max(1, _CHUNK // (s * s))
    found = []
    for lo in range(0, grid.shape[0], step):
        rows = grid[lo : lo + step]
        cube = _conflict_cube(risk, rows)
        r, i, j = np.nonzero(np.triu(cube, k=1))
        a, b = rows[r, i], rows[r, j]
        found.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    out = np.concatenate(found) if found else np.empty((0, 2), np.int64)
    return out[np.lexsort((out[:, 1], out[:, 0]))]


def batch_conflicts(
    batches: Any, query_items: Any, positive_items: Any, known_positives: Any = None, **graph_risk: Unpack[GraphRisk]
) -> np.ndarray:
    r"""Every pair of training pairs that share a batch and conflict.

    Pairs :math:`a \ne b` conflict when :math:`(q_a, d_b) \in \mathcal{R}` or
    :math:`(q_b, d_a) \in \mathcal{R}` (see the module docstring): one's positive is a known
    positive, the same item, or (with ``graph``) a within-``hops`` neighbour of the other's
    query. Vectorised: :math:`O(\sum_b |b|^2 \log |\mathcal{R}|)`.

    Parameters
    ----------
    batches : sequence of array-like of int
        Pair indices per batch; every pair at most once.
    query_items, positive_items : array-like of shape (n_pairs,), int
        Query item and positive item of each training pair.
    known_positives : sparse (n_query_items, n_items), int array or sequence of id lists, optional
        Every item known to be relevant to each query item (multi-positive qrels, links).
    graph : LinkGraph or square sparse matrix, optional
        Node graph over the items (query and positive items are node rows); undirected.
    hops : int, default=1
        Radius of the graph neighbourhood that counts as relevant.

    Returns
    -------
    ndarray of shape (n_conflicts, 2), int64
        Pair indices ``(a, b)`` with ``a < b``, sorted.

    See Also
    --------
    conflict_free_batches : moves pairs until none is left.
    graphneg.false_negative_mask : masks conflicts in the loss instead.

    Examples
    --------
    Pairs 0 and 1 share query 0 (positives 5 and 6, both relevant to it):

    >>> batch_conflicts([[0, 1], [2, 3]], [0, 0, 1, 2], [5, 6, 7, 8],
    ...                 known_positives=[[5, 6], [7], [8]]).tolist()
    [[0, 1]]
    """
    risk = conflict_risk("batch_conflicts", query_items, positive_items, known_positives, graph_risk)
    grid, _ = batch_grid(batches, risk.query.size)
    return _conflict_list(risk, grid)


# -- repair -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConflictReport:
    """What :func:`conflict_free_batches` did.

    Attributes
    ----------
    num_pairs, num_batches : int
        Pairs in the batches and number of batches.
    initial_conflicts : int
        Conflicting pairs of pairs before the repair.
    swaps : int
        Swaps performed (each exchanges two pairs between two batches).
    moved : int
        Pairs that end in a different batch than they started in.
    unresolved : int
        Conflicting pairs of pairs left (in place, in their batch); 0 when the plan is clean.
    unresolved_pairs : ndarray of shape (unresolved, 2)
        Those conflicts, as :func:`batch_conflicts` lists them.
    rounds : int
        Repair rounds run.

    See Also
    --------
    conflict_free_batches : returns it.
    batch_conflicts : the conflicts of any batches.
    """

    num_pairs: int
    num_batches: int
    initial_conflicts: int
    swaps: int
    moved: int
    unresolved: int
    unresolved_pairs: np.ndarray = field(repr=False)
    rounds: int


def _batch_of(grid: np.ndarray, n_pairs: int) -> np.ndarray:
    """Batch index of every pair (``-1`` for pairs in no batch)."""
    out = np.full(n_pairs, -1, dtype=np.int64)
    rows = np.broadcast_to(np.arange(grid.shape[0])[:, None], grid.shape)
    out[grid[grid >= 0]] = rows[grid >= 0]
    return out


def _valid_swaps(
    risk: ConflictRisk, grid: np.ndarray, sb: np.ndarray, si: np.ndarray, tb: np.ndarray, tj: np.ndarray
) -> np.ndarray:
    """``(n, K)`` bool: may the mover at ``(sb, si)`` swap with the pair at ``(tb, tj)``?

    The mover must conflict with nobody in the target batch but its partner, and the partner
    with nobody in the mover's batch but the mover.
    """
    s = grid.shape[1]
    m, x = grid[sb, si], grid[tb, tj]
    valid = tb != sb[:, None]
    step = max(1, _CHUNK // (2 * s * tb.shape[1]))
    for lo in range(0, sb.size, step):
        sl = slice(lo, lo + step)
        into_t = risk.conflict(m[sl, None, None], grid[tb[sl]])
        into_t &= np.arange(s) != tj[sl][..., None]
        into_s = risk.conflict(x[sl, :, None], grid[sb[sl]][:, None, :])
        into_s &= np.arange(s) != si[sl][:, None, None]
        valid[sl] &= ~into_t.any(axis=2) & ~into_s.any(axis=2)
    return valid


def _propose(risk: ConflictRisk, grid: np.ndarray, deg: np.ndarray, rng: np.random.Generator) -> tuple:
    """One mover per conflicted batch and its first valid swap partner among random slots.

    Partners are drawn in two blocks (4, then at least 12 more for the movers still without
    one, up to ``_CANDIDATE_BUDGET`` in all): most movers find a partner in the first block,
    which keeps a round cheap, and the last few movers get many tries.
    """
    sb = np.flatnonzero(deg.any(axis=1))
    # the slot with most conflicts (ties at random): moving it removes the most conflicts
    si = np.argmax(deg[sb] + 0.5 * rng.random((sb.size, grid.shape[1])), axis=1)
    occupied = np.flatnonzero(grid.ravel() >= 0)
    target = np.full(sb.size, -1, dtype=np.int64)
    todo = np.arange(sb.size)
    for block in range(2):
        # the few movers left late in a repair may try many more partners at the same cost
        width = 4 if block == 0 else max(_NUM_CANDIDATES - 4, _CANDIDATE_BUDGET // max(todo.size, 1))
        pick = occupied[rng.integers(0, occupied.size, (todo.size, width))]
        tb, tj = np.divmod(pick, grid.shape[1])
        valid = _valid_swaps(risk, grid, sb[todo], si[todo], tb, tj)
        has = valid.any(axis=1)
        target[todo[has]] = pick[has, np.argmax(valid[has], axis=1)]
        todo = todo[~has]
    ok = target >= 0
    tb, tj = np.divmod(target[ok], grid.shape[1])
    return sb[ok], si[ok], tb, tj


def _repair_round(risk: ConflictRisk, grid: np.ndarray, deg: np.ndarray, rng: np.random.Generator) -> int:
    """Swap movers into conflict-free places; each batch takes part in one swap per round."""
    sb, si, tb, tj = _propose(risk, grid, deg, rng)
    used = np.zeros(grid.shape[0], dtype=bool)
    done = []
    for k in rng.permutation(sb.size):  # O(n_batches) per round; the checks above are vectorised
        if used[sb[k]] or used[tb[k]]:
            continue
        used[sb[k]] = used[tb[k]] = True
        done.append(k)
    if not done:
        return 0
    k = np.asarray(done)
    sb, si, tb, tj = sb[k], si[k], tb[k], tj[k]
    m, x = grid[sb, si], grid[tb, tj]
    # incremental degrees: by validity the arrivals conflict with nobody, so every resident
    # only loses its conflict with the pair that left, and the arrivals have degree 0
    deg[sb] -= risk.conflict(grid[sb], m[:, None])
    deg[tb] -= risk.conflict(grid[tb], x[:, None])
    deg[sb, si] = 0
    deg[tb, tj] = 0
    grid[sb, si], grid[tb, tj] = x, m
    return k.size


def conflict_free_batches(
    batches: Any,
    query_items: Any,
    positive_items: Any,
    known_positives: Any = None,
    *,
    seed: int | np.random.Generator | None = 0,
    max_rounds: int = 200,
    **graph_risk: Unpack[GraphRisk],
) -> tuple[list[np.ndarray], ConflictReport]:
    r"""Swap training pairs between batches until no batch holds a false negative.

    The guard against false negatives at batch time: community (B3, Leiden, TAS) batches
    gather a topic, so a query's other positives land beside it and an in-batch loss counts
    them as negatives.
    Pairs :math:`a \ne b` conflict when :math:`(q_a, d_b) \in \mathcal{R}` or
    :math:`(q_b, d_a) \in \mathcal{R}` (module docstring; :func:`batch_conflicts`).

    Algorithm (greedy, seeded). Each round, every batch with a conflict picks the pair with
    the most in-batch conflicts (the *mover*) and draws 16 random partner pairs from other
    batches (more when few movers are left); a swap is valid when the mover conflicts with nobody in the partner's batch
    (the partner excluded) and the partner with nobody in the mover's batch (the mover
    excluded). Valid swaps are accepted in random order, each batch in at most one swap per
    round, so every accepted swap removes the mover's conflicts (and the partner's) and adds
    none: the number of conflicts strictly decreases. All checks are vectorised lookups of
    sorted int64 keys; a round costs :math:`O(n_b \cdot 16 \cdot S \log |\mathcal{R}|)` for
    :math:`n_b` batches of at most :math:`S` pairs. It stops when no conflict is left, after
    ``max_rounds`` rounds, or after 5 rounds in a row without a valid swap.

    Conflicts that cannot be resolved (a query with more pairs than there are batches, or
    batches packed too densely) are **left in place**: batch sizes never change and no pair is
    dropped or repeated. They are counted in the report and a GraphNegWarning says how many;
    mask them at loss time (:func:`graphneg.negatives.known_positive_mask`).

    Parameters
    ----------
    batches : sequence of array-like of int
        Pair indices per batch (e.g. ``cluster_batches`` over the pairs); each pair at most
        once. Sizes may differ (a short last batch); they are kept.
    query_items, positive_items : array-like of shape (n_pairs,), int
        Query item and positive item of each training pair.
    known_positives : sparse (n_query_items, n_items), int array or sequence of id lists, optional
        Every item known to be relevant to each query item.
    graph : LinkGraph or square sparse matrix, optional
        Node graph over the items (undirected); a positive within ``hops`` hops of another
        pair's query is a conflict.
    hops : int, default=1
        Radius of the graph neighbourhood.
    seed : int, Generator or None, default=0
        Seed of the random choices; the result is a function of the inputs and ``seed``.
    max_rounds : int, default=200
        Upper bound on repair rounds.

    Returns
    -------
    new_batches : list of ndarray (int64)
        The repaired batches, in the input order and with the input sizes.
    report : ConflictReport
        Counts of conflicts before and after, swaps and moved pairs.

    Warns
    -----
    GraphNegWarning
        When conflicts remain (``report.unresolved > 0``).

    See Also
    --------
    batch_conflicts : lists the conflicts without moving anything.
    graphneg.known_positive_mask, graphneg.khop_mask : mask what is left at loss time.
    graphneg.CommunityBatchSampler : repairs every epoch's batches (``conflicts=``).

    References
    ----------
    .. [1] Zhang et al., "HaSa: Hardness and Structure-Aware Contrastive Knowledge Graph
       Embedding", WWW 2024, arXiv:2305.10563 (the k-hop risk set of ``graph``).

    Examples
    --------
    Query 0 has two pairs (positives 10 and 11, both relevant to it), batched together:

    >>> batches = [[0, 1], [2, 3]]
    >>> new, report = conflict_free_batches(batches, [0, 0, 1, 2], [10, 11, 12, 13],
    ...                                     known_positives=[[10, 11], [12], [13]])
    >>> report.initial_conflicts, report.unresolved, [len(b) for b in new]
    (1, 0, [2, 2])
    >>> bool(batch_conflicts(new, [0, 0, 1, 2], [10, 11, 12, 13], [[10, 11], [12], [13]]).size)
    False
    """
    risk = conflict_risk("conflict_free_batches", query_items, positive_items, known_positives, graph_risk)
    grid, sizes = batch_grid(batches, risk.query.size)
    max_rounds = check_int(max_rounds, "max_rounds", min_value=0)
    new_batches, report = repair_batches(risk, grid, sizes, check_rng(seed), max_rounds)
    if report.unresolved:
        warnings.warn(
            f"conflict_free_batches: {report.unresolved} conflicting pair(s) of pairs could not be "
            f"separated (of {report.initial_conflicts}); they stay in their batches. Mask them at loss "
            "time or use more, smaller batches.",
            GraphNegWarning,
            stacklevel=2,
        )
    return new_batches, report


def repair_batches(
    risk: ConflictRisk, grid: np.ndarray, sizes: np.ndarray, rng: np.random.Generator, max_rounds: int
) -> tuple[list[np.ndarray], ConflictReport]:
    """The repair of :func:`conflict_free_batches` on a validated grid, without the warning.

    ``grid`` (from :func:`batch_grid`) is modified in place. The samplers of
    :mod:`graphneg.training` call it with a risk relation built once per sampler.
    """
    start = grid.copy()
    deg = _degrees(risk, grid, np.arange(grid.shape[0]))
    initial = int(deg.sum()) // 2
    swaps = rounds = idle = 0
    while deg.any() and rounds < max_rounds and idle < _PATIENCE:
        rounds += 1
        done = _repair_round(risk, grid, deg, rng)
        swaps += done
        idle = 0 if done else idle + 1
    left = _conflict_list(risk, grid)
    moved = int(np.count_nonzero(_batch_of(grid, risk.query.size) != _batch_of(start, risk.query.size)))
    report = ConflictReport(
        int(sizes.sum()), int(sizes.size), initial, swaps, moved, int(left.shape[0]), left, rounds
    )
    return [grid[b, : sizes[b]].copy() for b in range(sizes.size)], report
