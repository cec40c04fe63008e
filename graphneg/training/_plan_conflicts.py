"""The ``conflicts=`` option of the community samplers: conflict-free packing of each epoch.

Each epoch's plan (after DDP balancing, before the ranks take their share) is repaired by the
kernel of :func:`graphneg.conflict_free_batches`, so that no batch holds two items (training
pairs) where one's positive is a known positive, the same item, or a within-``hops`` graph
neighbour of the other's query. The repair only swaps items between batches of one stratum:
batch sizes, the number of batches, the set of items and the strata are kept, which is what
keeps the samplers' contract (:mod:`._plans`). The risk relation is built once per sampler.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._random import epoch_rng
from .._validation import check_int, check_keywords
from ..similarity._conflict_risk import ConflictSpec, GraphRisk, batch_grid, conflict_risk
from ..similarity._conflicts import ConflictReport, repair_batches

__all__ = ["ConflictGuard"]

#: third entry of the repair's SeedSequence ``(seed, epoch, _STREAM)``: independent of the
#: streams the batch planners draw from
_STREAM = 0xC0F1


class ConflictGuard:
    """A validated ``conflicts=`` spec (:class:`~graphneg.similarity._conflict_risk.ConflictSpec`).

    Parameters
    ----------
    spec : mapping
        ``query_items``, ``positive_items`` (one per item) and optionally ``known_positives``,
        ``graph``, ``hops``, ``max_rounds``.
    num_items : int
        Items of the sampler.
    function : str
        The sampler's name, in messages.

    Examples
    --------
    >>> guard = ConflictGuard({"query_items": [0, 0, 1, 2], "positive_items": [5, 6, 7, 8]}, 4, "f")
    >>> new, report = guard.repair([np.array([0, 1]), np.array([2, 3])], None, seed=0, epoch=0)
    >>> report.initial_conflicts, report.unresolved, report.moved
    (1, 0, 2)
    """

    def __init__(self, spec: Any, num_items: int, function: str) -> None:
        if not isinstance(spec, Mapping):
            raise TypeError(
                f"{function}: `conflicts` must be a dict with 'query_items' and 'positive_items' "
                f"(and optionally 'known_positives', 'graph', 'hops', 'max_rounds'), got {type(spec).__name__}."
            )
        check_keywords(f"{function}(conflicts=...)", ConflictSpec, spec)
        missing = [k for k in ("query_items", "positive_items") if k not in spec]
        if missing:
            raise ValueError(f"{function}: `conflicts` must give {' and '.join(map(repr, missing))}.")
        graph_risk = {k: spec[k] for k in GraphRisk.__optional_keys__ if k in spec}
        self.risk = conflict_risk(
            function, spec["query_items"], spec["positive_items"], spec.get("known_positives"), graph_risk
        )
        if self.risk.query.size != num_items:
            raise ValueError(
                f"{function}: `conflicts['query_items']` must have one entry per item ({num_items}), "
                f"got {self.risk.query.size}."
            )
        self.max_rounds = check_int(spec.get("max_rounds", 200), "max_rounds", min_value=0)

    def repair(
        self, plan: list[np.ndarray], strata: np.ndarray | None, *, seed: int, epoch: int
    ) -> tuple[list[np.ndarray], ConflictReport]:
        """Repair ``plan`` within each stratum; a function of ``(plan, seed, epoch)``.

        Batches of one stratum (that of their first item) exchange items only among
        themselves, in the order of the strata.
        """
        n = self.risk.query.size
        if not plan:
            return plan, _merge([])
        key = np.zeros(len(plan), np.int64) if strata is None else strata[[int(b[0]) for b in plan]]
        rng = epoch_rng(seed, epoch, _STREAM)
        out, reports = list(plan), []
        for s in np.unique(key):
            which = np.flatnonzero(key == s)
            grid, sizes = batch_grid([plan[i] for i in which], n)
            new, report = repair_batches(self.risk, grid, sizes, rng, self.max_rounds)
            reports.append(report)
            for i, batch in zip(which, new, strict=True):
                out[i] = batch
        return out, _merge(reports)


def _merge(reports: list[ConflictReport]) -> ConflictReport:
    """One report for the strata's repairs (counts add up; rounds: the most any stratum ran)."""
    left = [r.unresolved_pairs for r in reports]
    pairs = np.concatenate(left) if left else np.empty((0, 2), np.int64)
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    total = {f: sum(getattr(r, f) for r in reports) for f in ("num_pairs", "num_batches", "initial_conflicts",
                                                              "swaps", "moved")}
    return ConflictReport(**total, unresolved=int(pairs.shape[0]), unresolved_pairs=pairs,
                          rounds=max((r.rounds for r in reports), default=0))
