"""What the batch samplers share that needs no torch (the command line plans batches with it).

The samplers of :mod:`graphneg.training._samplers` and :mod:`._walk_sampler` are
``torch.utils.data.Sampler[list[int]]`` to pass as ``DataLoader(dataset, batch_sampler=sampler)``.
Contract, for every ``(seed, epoch, rank)``:

- ``len(sampler)`` is exactly the number of batches ``iter(sampler)`` yields, and it is the
  same on every rank (no DDP hang waiting for a batch that never comes);
- ranks receive disjoint batches; within an epoch each item is yielded at most once over
  all ranks, and exactly once unless ``drop_last``;
- the batches are a pure function of ``(seed, epoch)``: call ``set_epoch`` before each
  epoch (the HF/sentence-transformers trainers do; a plain accelerate loop must do it
  itself), otherwise every epoch repeats;
- ``drop_last`` never drops silently: a GraphNegWarning gives the counts when an epoch loses
  more than 5 % of the items (beyond what any plan of full batches must lose), and an epoch
  left without any batch is a ValueError.

This module holds the pieces of that contract that the command line and
:func:`graphneg.inspect` use without torch: the keyword check of the samplers' ``__init__``,
the choice of community packing, the ``drop_last`` check, and :func:`epoch_batches`, one
epoch of the community or topic sampler on one process.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import os
import sys
import warnings
from collections.abc import Callable, Sized
from typing import Any, Literal, TypeVar

import numpy as np

from .._groups import Groups
from .._validation import check_bool, check_choice, check_float, check_int, check_labels
from ..exceptions import GraphNegWarning
from ..similarity._batches import cluster_batches, packed_batches, random_batches, topic_batches
from ._sharding import unavoidable_drop

__all__ = [
    "DROP_WARN_SHARE", "PACKINGS", "Shard", "check_dropped", "check_sampler_keywords", "choose_packing",
    "drop_hint", "epoch_batches", "num_items", "outside_stacklevel", "random_epoch",
]

Shard = Literal["batches", "slice"]

#: the ``packing`` values of CommunityBatchSampler
PACKINGS = ("auto", "b3", "bfd", "fill")

#: share of the items that ``drop_last`` may drop per epoch before a warning
DROP_WARN_SHARE = 0.05

Init = TypeVar("Init", bound=Callable[..., None])


def check_sampler_keywords(init: Init) -> Init:
    """Decorator of a sampler's ``__init__``: an unknown keyword is a TypeError that names
    the parameter it most likely means (:func:`_check_keywords`), before any other check."""
    accepted = tuple(p for p in inspect.signature(init).parameters if p != "self")

    @functools.wraps(init)
    def checked_init(self: Any, *args: Any, **kwargs: Any) -> None:
        _check_keywords(type(self).__name__, accepted, kwargs)
        init(self, *args, **kwargs)

    return checked_init  # type: ignore[return-value]


#: keywords other libraries use for a sampler's first argument
_FIRST_ARGUMENT_ALIASES = ("n_items", "num_items", "n", "size", "dataset", "data_source", "num_samples")


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


def outside_stacklevel() -> int:
    """``stacklevel`` for ``warnings.warn`` called right here that points at the first frame
    outside graphneg's training package (the user's line, however deep the call came from)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_HERE):
        frame, level = frame.f_back, level + 1
    return level


_HERE = os.path.dirname(os.path.abspath(__file__))


def num_items(data: Any) -> int:
    """The number of items of ``data``: an int, or a Sized (a dataset) and its ``len``."""
    if isinstance(data, Sized) and not isinstance(data, (int, np.integer)):
        return len(data)
    return check_int(data, "data")


def choose_packing(
    labels: np.ndarray, batch_size: int, packing: str, *, drop_last: bool, strata: np.ndarray | None,
    fixed_composition: bool = False,
) -> str:
    """The packing that ``packing='auto'`` stands for with these labels; refuses
    ``fixed_composition`` without B3 packing.

    Examples
    --------
    >>> choose_packing(np.repeat(np.arange(4), 2), 4, "auto", drop_last=False, strata=None)
    'b3'
    >>> choose_packing(np.repeat(np.arange(4), 3), 4, "auto", drop_last=True, strata=None)
    'fill'
    """
    if packing == "auto":
        if _exact_sized(labels, batch_size, strata):
            packing = "b3"
        else:  # bfd leaves batches short, which drop_last would throw away
            packing = "fill" if drop_last else "bfd"
    if fixed_composition and packing != "b3":
        raise ValueError("`fixed_composition=True` needs packing='b3' (clusters of one size).")
    return packing


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


def drop_hint(packing: str | None, strata: np.ndarray | None) -> str:
    """What to change when ``drop_last`` drops too much."""
    if packing == "bfd":
        return "'bfd' packing leaves batches short; use packing='fill' (every batch full) or drop_last=False"
    why = "each stratum ends in its own short batch; " if strata is not None else ""
    return why + "lower `batch_size` or pass drop_last=False"


def check_dropped(
    plan: list[np.ndarray], *, name: str, num_items: int, batch_size: int, num_replicas: int, shard: str,
    epoch: int, hint: str, warn: bool = True,
) -> bool:
    """Refuse an epoch that ``drop_last`` leaves without a batch; warn (when ``warn``) when it
    drops more than :data:`DROP_WARN_SHARE` of the items beyond what full batches must leave
    out. Returns whether it warned. Call it only with ``drop_last`` (else nothing is dropped)."""
    n = num_items
    dropped = n - sum(b.size for b in plan)
    ranks = f" over {num_replicas} ranks" if num_replicas > 1 else ""
    if not plan:
        raise ValueError(
            f"drop_last=True leaves no batch of {batch_size} items{ranks} in epoch {epoch} "
            f"(all {n} items dropped); {hint}."
        )
    excess = dropped > unavoidable_drop(n, batch_size, num_replicas, shard)
    if warn and dropped > DROP_WARN_SHARE * n and excess:
        warnings.warn(
            f"{name}: drop_last=True drops {dropped} of {n} items "
            f"({dropped / n:.0%}){ranks} in epoch {epoch}; {hint}.",
            GraphNegWarning,
            stacklevel=outside_stacklevel(),
        )
        return True
    return False


def epoch_batches(
    labels: Any, batch_size: int, *, packing: str = "auto", clusters_per_batch: int = 1, mix_random: float = 0.0,
    drop_last: bool = False, seed: int = 0, epoch: int = 0,
) -> tuple[list[np.ndarray], str]:
    """One epoch of batches as CommunityBatchSampler (or, with ``packing='tas'``,
    TopicBatchSampler) yields them on one process, and the packing used; without torch.

    Examples
    --------
    >>> batches, packing = epoch_batches(np.repeat(np.arange(4), 2), 4)
    >>> [b.size for b in batches], packing
    ([4, 4], 'b3')
    """
    labels = check_labels(labels, "labels")
    batch_size = check_int(batch_size, "batch_size")
    drop_last = check_bool(drop_last, "drop_last")
    seed = check_int(seed, "seed", min_value=0)
    mix_random = check_float(mix_random, "mix_random", min_value=0.0, max_value=1.0)
    epoch = check_int(epoch, "epoch", min_value=0)
    common = dict(seed=seed, epoch=epoch, drop_last=drop_last, mix_random=mix_random, strata=None)
    if packing == "tas":
        name = "TopicBatchSampler"
        groups = Groups.of(labels)
        batches = topic_batches(
            groups, batch_size, clusters_per_batch=check_int(clusters_per_batch, "clusters_per_batch"), **common
        )
    else:
        name = "CommunityBatchSampler"
        packing = choose_packing(
            labels, batch_size, check_choice(packing, "packing", PACKINGS), drop_last=drop_last, strata=None
        )
        groups = Groups.of(labels)
        if packing == "b3":
            batches = cluster_batches(groups, batch_size, fixed_composition=False, **common)
        else:
            batches = packed_batches(groups, batch_size, fill=packing == "fill", **common)
    if drop_last:
        check_dropped(batches, name=name, num_items=labels.size, batch_size=batch_size, num_replicas=1,
                      shard="batches", epoch=epoch, hint=drop_hint(packing, None))
    return batches, packing


def random_epoch(n_items: int, batch_size: int, *, drop_last: bool = False, seed: int = 0, epoch: int = 0,
                 ) -> list[np.ndarray]:
    """One epoch of RandomBatchSampler's batches on one process, without torch.

    Examples
    --------
    >>> [b.tolist() for b in random_epoch(5, 2)]
    [[1, 3], [4, 2], [0]]
    """
    n_items = check_int(n_items, "num_items")
    batches = random_batches(n_items, check_int(batch_size, "batch_size"), seed=check_int(seed, "seed", min_value=0),
                             epoch=epoch, drop_last=check_bool(drop_last, "drop_last"))
    if drop_last:
        check_dropped(batches, name="RandomBatchSampler", num_items=n_items, batch_size=batch_size,
                      num_replicas=1, shard="batches", epoch=epoch, hint=drop_hint(None, None))
    return batches
