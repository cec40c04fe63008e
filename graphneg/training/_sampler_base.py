"""The one base class of the batch samplers: epochs, ``len``, DDP shards, ``drop_last`` checks.

A sampler subclasses :class:`_PlannedSampler`, validates its own arguments in an explicit
``__init__`` and returns one epoch's global batches (all ranks') from ``_global_batches``;
this class keeps the contract stated in :mod:`graphneg.training._plans`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from torch.utils.data import Sampler

from .._validation import check_bool, check_choice, check_int, check_labels
from ..exceptions import GraphNegWarning
from ..similarity._conflict_risk import ConflictSpec
from ..similarity._conflicts import ConflictReport
from ._plan_conflicts import ConflictGuard
from ._plans import Shard, check_dropped, drop_hint, outside_stacklevel
from ._sharding import plan_for_ranks, process_group_defaults, rank_share


class _PlannedSampler(Sampler[list[int]]):
    """Base class: ``set_epoch``, ``__iter__``, ``__len__`` and the DDP shards of the global
    batches a subclass plans in :meth:`_global_batches`.

    Parameters
    ----------
    num_items : int
        Items to batch.
    batch_size, drop_last, seed, num_replicas, rank, shard, strata, conflicts
        The options every sampler shares, documented in :mod:`graphneg.training`.

    Examples
    --------
    >>> from graphneg.training import RandomBatchSampler
    >>> s = RandomBatchSampler(5, 2, seed=0)
    >>> isinstance(s, _PlannedSampler), len(s)
    (True, 3)
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        *,
        drop_last: bool = False,
        seed: int = 0,
        num_replicas: int | None = None,
        rank: int | None = None,
        shard: Shard = "batches",
        strata: Any = None,
        conflicts: ConflictSpec | None = None,
    ) -> None:
        num_replicas, rank = process_group_defaults(num_replicas, rank)
        self.num_items = check_int(num_items, "num_items")
        self.batch_size = check_int(batch_size, "batch_size")
        self.drop_last = check_bool(drop_last, "drop_last")
        self.seed = check_int(seed, "seed", min_value=0)
        self.num_replicas = check_int(num_replicas, "num_replicas")
        self.rank = check_int(rank, "rank", min_value=0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"`rank` must be in [0, {self.num_replicas - 1}], got {rank}.")
        self.shard = check_choice(shard, "shard", ("batches", "slice"))
        if self.shard == "slice" and self.batch_size % self.num_replicas:
            raise ValueError(
                f"`batch_size` ({self.batch_size}) must be divisible by `num_replicas` "
                f"({self.num_replicas}) with shard='slice'."
            )
        if self.num_items < self.num_replicas:
            raise ValueError(
                f"`num_replicas` ({self.num_replicas}) must be <= the number of items "
                f"({self.num_items}) so that every rank gets a batch."
            )
        self.strata = None if strata is None else check_labels(strata, "strata", n_items=self.num_items)
        self.epoch = 0
        self._cache: tuple[int, list[np.ndarray]] | None = None
        self._drop_warned = False
        self._guard: ConflictGuard | None = None
        if conflicts is not None:  # validated (and its risk relation built) only when given
            self._guard = ConflictGuard(conflicts, self.num_items, type(self).__name__)
        self._conflict_warned = False
        #: the ConflictReport of the epoch planned last (``conflicts`` only)
        self.last_conflict_report: ConflictReport | None = None

    # -- protocol ---------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose batches :meth:`__iter__` yields next.

        Parameters
        ----------
        epoch : int
            Epoch number (>= 0); the batches are a function of ``(seed, epoch)``.

        Examples
        --------
        >>> from graphneg.training import RandomBatchSampler
        >>> s = RandomBatchSampler(6, 3, seed=0)
        >>> s.set_epoch(1)
        >>> s.epoch
        1
        """
        self.epoch = check_int(epoch, "epoch", min_value=0)

    def __len__(self) -> int:
        return len(self._rank_batches())

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._rank_batches():
            yield batch.tolist()

    def batches(self, epoch: int | None = None) -> list[np.ndarray]:
        """All ranks' batches of ``epoch`` (default: the current one), before sharding.

        With ``conflicts``, the repaired batches (those a single rank iterates); under DDP the
        repair runs on the balanced plan that the ranks share.

        Parameters
        ----------
        epoch : int, optional
            The epoch; default :attr:`epoch`.

        Returns
        -------
        list of ndarray (int64)

        Examples
        --------
        >>> from graphneg.training import RandomBatchSampler
        >>> [b.tolist() for b in RandomBatchSampler(5, 2, seed=0).batches()]
        [[1, 3], [4, 2], [0]]
        """
        epoch = self.epoch if epoch is None else check_int(epoch, "epoch", min_value=0)
        batches = self._global_batches(epoch)
        if self._guard is not None:
            batches, _ = self._guard.repair(batches, self.strata, seed=self.seed, epoch=epoch)
        return batches

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        raise NotImplementedError

    def _replan(self, change: Callable[..., object], *args: Any) -> None:
        """Apply ``change(*args)`` (new labels, a new graph) and plan the current epoch with it,
        which validates the change; when either step fails, restore the sampler and re-raise."""
        saved = dict(self.__dict__)
        try:
            change(*args)
            self._cache = None
            self._drop_warned = self._conflict_warned = False
            self._rank_batches()
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    # -- sharding ---------------------------------------------------------------------------
    def _rank_batches(self) -> list[np.ndarray]:
        if self._cache is None or self._cache[0] != self.epoch:
            plan = plan_for_ranks(
                self._global_batches(self.epoch), self.num_replicas, self.shard, self.drop_last, self.strata
            )
            if self.drop_last:
                warned = check_dropped(
                    plan, name=type(self).__name__, num_items=self.num_items, batch_size=self.batch_size,
                    num_replicas=self.num_replicas, shard=self.shard, epoch=self.epoch,
                    hint=drop_hint(getattr(self, "packing", None), self.strata), warn=not self._drop_warned,
                )
                self._drop_warned = self._drop_warned or warned
            plan = self._without_conflicts(plan, self.epoch)
            self._cache = (self.epoch, rank_share(plan, self.num_replicas, self.rank, self.shard))
        return self._cache[1]

    def _without_conflicts(self, plan: list[np.ndarray], epoch: int) -> list[np.ndarray]:
        """The plan repaired by the ``conflicts`` option (the plan itself without it).

        Every rank repairs the same global plan with the same ``(seed, epoch)``, so the ranks
        stay disjoint; sizes are kept, so ``len`` is that of the unrepaired plan.
        """
        if self._guard is None:
            return plan
        plan, report = self._guard.repair(plan, self.strata, seed=self.seed, epoch=epoch)
        self.last_conflict_report = report
        if report.unresolved and not self._conflict_warned:
            self._conflict_warned = True
            warnings.warn(
                f"{type(self).__name__}: {report.unresolved} conflicting pair(s) of items could not be separated "
                f"in epoch {epoch} (of {report.initial_conflicts}; {report.moved} items moved); they stay "
                "in their batches (see `last_conflict_report`, warned once per labelling). Mask them at "
                "loss time (graphneg.known_positive_mask) or use smaller batches.",
                GraphNegWarning,
                stacklevel=outside_stacklevel(),
            )
        return plan
