"""The logic of the batch samplers, without torch (the command line plans batches with it).

:mod:`graphneg.training._samplers` makes each plan a ``torch.utils.data.Sampler[list[int]]``
to pass as ``DataLoader(dataset, batch_sampler=sampler)``. Contract, for every ``(seed, epoch, rank)``:

- ``len(sampler)`` is exactly the number of batches ``iter(sampler)`` yields, and it is the
  same on every rank (no DDP hang waiting for a batch that never comes);
- ranks receive disjoint batches; within an epoch each item is yielded at most once over
  all ranks, and exactly once unless ``drop_last``;
- the batches are a pure function of ``(seed, epoch)``: call :meth:`set_epoch` before each
  epoch (the HF/sentence-transformers trainers do; a plain accelerate loop must do it
  itself), otherwise every epoch repeats;
- ``drop_last`` never drops silently: a GraphNegWarning gives the counts when an epoch loses
  more than 5 % of the items (beyond what any plan of full batches must lose), and an epoch
  left without any batch is a ValueError.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sized
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np

from .._groups import Groups
from .._validation import check_bool, check_choice, check_float, check_int, check_labels
from ..exceptions import GraphNegWarning
from ..similarity._batches import cluster_batches, packed_batches, random_batches, topic_batches
from ..similarity._conflicts import ConflictReport, ConflictSpec
from ._plan_conflicts import ConflictGuard
from ._sharding import plan_for_ranks, process_group_defaults, rank_share, unavoidable_drop

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "PlannedBatches", "RandomPlan", "CommunityPlan", "TopicPlan", "SamplerOptions", "Shard", "sampler_parameters",
]

Shard = Literal["batches", "slice"]

#: share of the items that ``drop_last`` may drop per epoch before a warning
DROP_WARN_SHARE = 0.05


class SamplerOptions(TypedDict, total=False):
    """The keyword options every sampler takes; :class:`PlannedBatches` holds their defaults."""

    drop_last: bool
    seed: int
    num_replicas: int
    rank: int
    shard: Shard


class StratifiedOptions(SamplerOptions, total=False):
    """The options of the samplers that can keep strata apart."""

    strata: Any


class LabelledOptions(StratifiedOptions, total=False):
    """The options of the samplers driven by per-item labels."""

    mix_random: float
    conflicts: ConflictSpec | None


#: NumPy-style documentation of :class:`SamplerOptions`, spliced into every sampler's docstring
#: by :func:`sampler_parameters` (one text, so that the samplers cannot drift apart)
SAMPLER_PARAMETERS = """\
    drop_last : bool, default=False
        Drop batches shorter than ``batch_size``; under DDP (``shard='batches'``) also drop up
        to ``num_replicas - 1`` batches so that ranks get equal counts. Without it no item is
        lost or repeated: under DDP the largest batches are halved instead (or, when there are
        too few items for that, the smallest merged, within a stratum). A GraphNegWarning
        reports an epoch that drops more than 5 % of the items beyond what full batches must
        leave out; an epoch with no batch left is a ValueError.
    seed : int, default=0
        Base seed; an epoch's batches are a function of ``(seed, epoch)``.
    num_replicas : int, default=None
        DDP world size; ``None`` reads it from the initialised default process group of
        ``torch.distributed`` (1 when there is none).
    rank : int, default=None
        This process's rank in ``[0, num_replicas)``; ``None`` reads it like ``num_replicas``
        (0 when there is no process group).
    shard : {'batches', 'slice'}, default='batches'
        ``'batches'``: rank ``r`` takes global batches ``r, r + R, ...``, each whole.
        ``'slice'``: every global batch is cut into ``R`` contiguous slices, one per rank (for
        losses that all-gather the global batch, as B3 trains); a batch of fewer than
        ``num_replicas`` items is first merged into another batch (of its stratum).
"""

#: documentation of the ``conflicts`` option of the samplers driven by labels, spliced in
#: place of a ``{conflicts_parameter}`` line by :func:`sampler_parameters`
CONFLICTS_PARAMETER = """\
    conflicts : dict, optional
        Conflict-free packing: item ``i`` is the training pair ``(query_items[i],
        positive_items[i])``, and no batch may hold two pairs where one's positive is the
        other's positive, a known positive of the other's query, or (with ``graph``) within
        ``hops`` hops of it. Keys: ``'query_items'``, ``'positive_items'`` (required, one per
        item), ``'known_positives'`` (sparse ``(n_queries, n_items)``, int array or id lists),
        ``'graph'`` and ``'hops'`` (default 1), ``'max_rounds'`` (default 200): the arguments of
        :func:`graphneg.conflict_free_batches`, which repairs every epoch's batches (after DDP
        balancing, swapping items between batches of one stratum; seeded by ``(seed, epoch)``).
        ``len``, batch sizes, the items of an epoch and the DDP shards are those of the plan
        without the option; :attr:`last_conflict_report` holds the
        :class:`~graphneg.ConflictReport` of the epoch planned last, and a GraphNegWarning
        (once per labelling) counts conflicts left in place. Validated only when given.
"""

_PLACEHOLDER = "    {sampler_parameters}\n"
_CONFLICTS_PLACEHOLDER = "    {conflicts_parameter}\n"


def sampler_parameters(cls: type) -> type:
    """Class decorator: put :data:`SAMPLER_PARAMETERS` in place of the line
    ``{sampler_parameters}`` of the class's docstring (in its ``Parameters`` section), and
    :data:`CONFLICTS_PARAMETER` in place of a ``{conflicts_parameter}`` line; and check the
    keywords of every call against the parameters the sampler accepts (:func:`_check_keywords`)."""
    if cls.__doc__:  # None under python -OO
        if _PLACEHOLDER not in cls.__doc__:
            raise AssertionError(f"{cls.__name__}'s docstring has no {_PLACEHOLDER.strip()} line")
        doc = cls.__doc__.replace(_PLACEHOLDER, SAMPLER_PARAMETERS)
        cls.__doc__ = doc.replace(_CONFLICTS_PLACEHOLDER, CONFLICTS_PARAMETER)
    init = cls.__init__  # type: ignore[misc]
    accepted = _accepted_parameters(cls)

    @functools.wraps(init)
    def checked_init(self: Any, *args: Any, **kwargs: Any) -> None:
        _check_keywords(cls.__name__, accepted, kwargs)
        init(self, *args, **kwargs)

    cls.__init__ = checked_init  # type: ignore[misc]
    return cls


#: keywords other libraries use for a sampler's first argument
_FIRST_ARGUMENT_ALIASES = ("n_items", "num_items", "n", "size", "dataset", "data_source", "num_samples")


def _accepted_parameters(cls: type) -> tuple[str, ...]:
    """Every named ``__init__`` parameter along ``cls``'s graphneg bases, in signature order.

    The samplers pass options on through ``**options`` (typed by a TypedDict), so a wrong
    keyword would otherwise reach a base class and fail there with an unrelated message.
    """
    names: list[str] = []
    inits = [k.__dict__["__init__"] for k in cls.__mro__
             if "__init__" in k.__dict__ and k.__module__.startswith("graphneg.")]
    for level, init in enumerate(inits):
        for p in inspect.signature(init).parameters.values():
            # a base's positional parameters are filled by its subclass, only its keywords pass through
            own = level == 0 or p.kind == p.KEYWORD_ONLY
            if own and p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name not in names:
                names.append(p.name)
    return tuple(names)


def _check_keywords(name: str, accepted: tuple[str, ...], kwargs: dict[str, Any]) -> None:
    """TypeError naming an unknown keyword and the parameter it most likely means.

    >>> _check_keywords("RandomBatchSampler", ("data", "batch_size", "seed"), {"n_items": 10})
    Traceback (most recent call last):
    ...
    TypeError: RandomBatchSampler() got an unexpected keyword argument 'n_items'; the number of items (or a dataset) is `data`, e.g. RandomBatchSampler(10, batch_size=...). Accepted: data, batch_size, seed.
    """
    for key in kwargs:
        if key in accepted:
            continue
        msg = f"{name}() got an unexpected keyword argument {key!r}."
        first = accepted[0] if accepted else None
        if first == "data" and key in _FIRST_ARGUMENT_ALIASES:
            msg = msg[:-1] + f"; the number of items (or a dataset) is `data`, e.g. {name}({kwargs[key]!r}, batch_size=...)."
        else:
            close = difflib.get_close_matches(key, accepted, n=1)
            if close:
                msg = msg[:-1] + f"; did you mean {close[0]!r}?"
        raise TypeError(f"{msg} Accepted: {', '.join(accepted)}.")


def _outside_stacklevel() -> int:
    """``stacklevel`` for ``warnings.warn`` called right here that points at the first frame
    outside graphneg's training package (the user's line, however deep the call came from)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_HERE):
        frame, level = frame.f_back, level + 1
    return level


_HERE = os.path.dirname(os.path.abspath(__file__))


def _num_items(data: Any) -> int:
    if isinstance(data, Sized) and not isinstance(data, (int, np.integer)):
        return len(data)
    return check_int(data, "data")


class PlannedBatches:
    """Base class: subclasses produce one epoch's global batches in :meth:`_global_batches`."""

    _name = "batch sampler"  # the public class, in messages

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
        self.strata: np.ndarray | None = None  # set by StratifiedBatches
        self.epoch = 0
        self._cache: tuple[int, list[np.ndarray]] | None = None
        self._drop_warned = False
        self._guard: ConflictGuard | None = None  # set by the samplers given `conflicts`
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
        >>> s = RandomPlan(6, 3, seed=0)
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
        >>> [b.tolist() for b in RandomPlan(5, 2, seed=0).batches()]
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

    def _drop_hint(self) -> str:
        why = "each stratum ends in its own short batch; " if self.strata is not None else ""
        return why + "lower `batch_size` or pass drop_last=False"

    # -- sharding ---------------------------------------------------------------------------
    def _rank_batches(self) -> list[np.ndarray]:
        if self._cache is None or self._cache[0] != self.epoch:
            plan = plan_for_ranks(
                self._global_batches(self.epoch), self.num_replicas, self.shard, self.drop_last, self.strata
            )
            self._check_dropped(plan, self.epoch)
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
                f"{self._name}: {report.unresolved} conflicting pair(s) of items could not be separated "
                f"in epoch {epoch} (of {report.initial_conflicts}; {report.moved} items moved); they stay "
                "in their batches (see `last_conflict_report`, warned once per labelling). Mask them at "
                "loss time (graphneg.known_positive_mask) or use smaller batches.",
                GraphNegWarning,
                stacklevel=_outside_stacklevel(),
            )
        return plan

    def _check_dropped(self, plan: list[np.ndarray], epoch: int) -> None:
        """Refuse an empty epoch; warn (once per labels) when ``drop_last`` drops many items."""
        if not self.drop_last:
            return  # every item is yielded
        n = self.num_items
        dropped = n - sum(b.size for b in plan)
        ranks = f" over {self.num_replicas} ranks" if self.num_replicas > 1 else ""
        if not plan:
            raise ValueError(
                f"drop_last=True leaves no batch of {self.batch_size} items{ranks} in epoch {epoch} "
                f"(all {n} items dropped); {self._drop_hint()}."
            )
        excess = dropped > unavoidable_drop(n, self.batch_size, self.num_replicas, self.shard)
        if not self._drop_warned and dropped > DROP_WARN_SHARE * n and excess:
            self._drop_warned = True
            warnings.warn(
                f"{self._name}: drop_last=True drops {dropped} of {n} items "
                f"({dropped / n:.0%}){ranks} in epoch {epoch}; {self._drop_hint()}.",
                GraphNegWarning,
                stacklevel=_outside_stacklevel(),
            )


class StratifiedBatches(PlannedBatches):
    """Base class of the samplers that can keep strata (tasks, sources) apart."""

    def __init__(
        self, num_items: int, batch_size: int, *, strata: Any = None, **options: Unpack[SamplerOptions]
    ) -> None:
        super().__init__(num_items, batch_size, **options)
        self.strata = None if strata is None else check_labels(strata, "strata", n_items=self.num_items)


class _LabelledBatches(StratifiedBatches):
    """Shared set-up of the samplers driven by per-item labels (communities or topics)."""

    def __init__(
        self,
        labels: Any,
        batch_size: int,
        *,
        mix_random: float = 0.0,
        conflicts: ConflictSpec | None = None,
        **options: Unpack[StratifiedOptions],
    ) -> None:
        labels = check_labels(labels, "labels")
        super().__init__(labels.size, batch_size, **options)
        self.labels = labels
        self.mix_random = check_float(mix_random, "mix_random", min_value=0.0, max_value=1.0)
        if conflicts is not None:  # validated (and its risk relation built) only when given
            self._guard = ConflictGuard(conflicts, self.num_items, self._name)

    def _set_labels(self, labels: np.ndarray) -> None:
        self.labels = labels
        self._groups = Groups.of(labels)  # grouping once; each epoch is then O(n)

    def refresh(self, labels: Any) -> None:
        """Swap in new labels (e.g. communities re-mined with the current model, ANCE/NGAME).

        The number of items must stay the same. The batches of the current epoch are
        re-planned at the next :meth:`__iter__` (call it at an epoch boundary: an epoch
        already being iterated keeps its batches). A failed refresh leaves the sampler as
        it was.

        Parameters
        ----------
        labels : array-like of shape (num_items,)
            The new label of every item.

        Examples
        --------
        >>> s = TopicPlan(np.zeros(6, dtype=int), 3, seed=0)
        >>> s.refresh(np.repeat([0, 1], 3))
        >>> sorted(sorted(set(s.labels[b].tolist())) for b in s)
        [[0], [1]]
        """
        self._replan(self._set_labels, check_labels(labels, "labels", n_items=self.num_items))


class RandomPlan(StratifiedBatches):
    """The torch-free logic of :class:`graphneg.RandomBatchSampler` (documented there)."""

    _name = "RandomBatchSampler"

    def __init__(self, data: Any, batch_size: int, **options: Unpack[StratifiedOptions]) -> None:
        super().__init__(_num_items(data), batch_size, **options)
        self._rank_batches()  # validate now, not at the first epoch

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        return random_batches(
            self.num_items, self.batch_size, seed=self.seed, epoch=epoch, drop_last=self.drop_last,
            strata=self.strata,
        )


class CommunityPlan(_LabelledBatches):
    """The torch-free logic of :class:`graphneg.CommunityBatchSampler` (documented there)."""

    _name = "CommunityBatchSampler"

    def __init__(
        self,
        labels: Any,
        batch_size: int,
        *,
        packing: Literal["auto", "b3", "bfd", "fill"] = "auto",
        fixed_composition: bool = False,
        **options: Unpack[LabelledOptions],
    ) -> None:
        super().__init__(labels, batch_size, **options)
        self.requested_packing = check_choice(packing, "packing", ("auto", "b3", "bfd", "fill"))
        self.fixed_composition = check_bool(fixed_composition, "fixed_composition")
        self._replan(self._set_labels, self.labels)  # validate labels/batch_size now, not at the first epoch

    def _set_labels(self, labels: np.ndarray) -> None:
        packing = self.requested_packing
        if packing == "auto":
            if _exact_sized(labels, self.batch_size, self.strata):
                packing = "b3"
            else:  # bfd leaves batches short, which drop_last would throw away
                packing = "fill" if self.drop_last else "bfd"
        if self.fixed_composition and packing != "b3":
            raise ValueError("`fixed_composition=True` needs packing='b3' (clusters of one size).")
        self.packing = packing
        super()._set_labels(labels)

    def _drop_hint(self) -> str:
        if self.packing == "bfd":
            return "'bfd' packing leaves batches short; use packing='fill' (every batch full) or drop_last=False"
        return super()._drop_hint()

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        common = dict(
            seed=self.seed, epoch=epoch, drop_last=self.drop_last, mix_random=self.mix_random, strata=self.strata
        )
        if self.packing == "b3":
            return cluster_batches(self._groups, self.batch_size, fixed_composition=self.fixed_composition, **common)
        return packed_batches(self._groups, self.batch_size, fill=self.packing == "fill", **common)


class TopicPlan(_LabelledBatches):
    """The torch-free logic of :class:`graphneg.TopicBatchSampler` (documented there)."""

    _name = "TopicBatchSampler"

    def __init__(
        self, labels: Any, batch_size: int, *, clusters_per_batch: int = 1, **options: Unpack[LabelledOptions]
    ) -> None:
        super().__init__(labels, batch_size, **options)
        self.clusters_per_batch = check_int(clusters_per_batch, "clusters_per_batch")
        self._replan(self._set_labels, self.labels)

    def _global_batches(self, epoch: int) -> list[np.ndarray]:
        return topic_batches(
            self._groups, self.batch_size, clusters_per_batch=self.clusters_per_batch, seed=self.seed, epoch=epoch,
            drop_last=self.drop_last, mix_random=self.mix_random, strata=self.strata,
        )


def _exact_sized(labels: np.ndarray, batch_size: int, strata: np.ndarray | None) -> bool:
    """Whether B3 packing applies: one cluster size K dividing the batch, one remainder per stratum."""
    sizes = np.bincount(labels)
    sizes = sizes[sizes > 0]
    K = int(sizes.max())
    if batch_size % K:
        return False
    groups = [labels] if strata is None else [labels[strata == s] for s in np.unique(strata)]
    for part in groups:
        sz = np.bincount(part)
        if np.count_nonzero(sz[sz > 0] != K) > 1:
            return False
    return True
