"""The trainer's batch sampler: one factory for every batch kind the evidence uses.

``SentenceTransformerTrainingArguments(batch_sampler=...)`` takes a callable that the trainer
calls for every dataloader it builds; :func:`batch_sampler` returns one for random, random-walk,
community (B3) or topic (TAS) batches. Datasets of another length than the factory's items
(evaluation sets) get plain random batches; a *training* dataset of another length gets them
too, with a GraphNegWarning naming both lengths.

The trainers call ``sampler.set_epoch(epoch)`` before every epoch. A plain accelerate loop
must do it itself: ``accelerator.prepare(loader)`` wraps the batch sampler and does not
forward ``set_epoch`` to it, so without the call every epoch repeats the same batches::

    for epoch in range(num_epochs):
        sampler.set_epoch(epoch)
        for batch in loader: ...
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any, Literal

from ..._sparse import graph_pattern
from ..._validation import check_choice, check_labels
from ...exceptions import GraphNegWarning
from .._samplers import CommunityBatchSampler, RandomBatchSampler, TopicBatchSampler
from .._walk_sampler import RandomWalkBatchSampler

__all__ = ["BatchSamplerFactory", "batch_sampler"]

#: accelerate shards the trainer's batch sampler over the processes itself (BatchSamplerShard),
#: so the factory's samplers yield the whole plan instead of reading the process group
_WHOLE_PLAN: dict[str, Any] = {"num_replicas": 1, "rank": 0}
_KINDS = {
    "random": RandomBatchSampler,
    "walk": RandomWalkBatchSampler,
    "community": CommunityBatchSampler,
    "topic": TopicBatchSampler,
}
#: the item data each kind is built on (passed as the sampler's first argument)
_DATA = {"random": None, "walk": "graph", "community": "labels", "topic": "labels"}

BatchKind = Literal["random", "walk", "community", "topic"]


class BatchSamplerFactory:
    """Callable accepted by ``SentenceTransformerTrainingArguments(batch_sampler=...)``.

    Called as ``factory(dataset, batch_size, drop_last, valid_label_columns, generator, seed)``
    (the trainer's call), it returns a new sampler of its ``kind`` over the dataset's rows:
    :class:`graphneg.RandomBatchSampler`, :class:`graphneg.RandomWalkBatchSampler` (``graph=``),
    :class:`graphneg.CommunityBatchSampler` or :class:`graphneg.TopicBatchSampler`
    (``labels=``). Options are the sampler's own keywords and are checked against its
    signature here, not at the first epoch.

    Every batch but the last holds exactly ``batch_size`` rows: accelerate's multi-GPU sharding
    only yields a group of batches when its last batch is full, so community packing ``'bfd'``
    (short batches) is refused. The length is exact, so each rank's shard length is exact too.

    Parameters
    ----------
    kind : {'random', 'walk', 'community', 'topic'}
        The sampler to build.
    **options
        ``graph`` (walk) or ``labels`` (community, topic), then that sampler's keywords
        (``restart``, ``packing``, ``clusters_per_batch``, ``mix_random``, ``strata``, ...).

    Attributes
    ----------
    samplers : list
        The samplers built so far (the training one first), e.g. to ``refresh`` them.
    num_items : int or None
        Rows the factory's graph or labels describe (None for random batches).

    See Also
    --------
    batch_sampler : the function form.

    Examples
    --------
    >>> import numpy as np
    >>> factory = BatchSamplerFactory("community", labels=np.repeat(np.arange(4), 4))
    >>> sampler = factory(range(16), 8, False, None, None, 0)
    >>> type(sampler).__name__, len(sampler)
    ('CommunityBatchSampler', 2)
    >>> type(factory(range(5), 8, False, None, None, 0)).__name__  # an evaluation set
    'RandomBatchSampler'
    """

    def __init__(self, kind: BatchKind, **options: Any) -> None:
        self.kind = check_choice(kind, "kind", tuple(_KINDS))
        data_name = _DATA[self.kind]
        if data_name is not None and data_name not in options:
            raise TypeError(f"batch_sampler({self.kind!r}) needs `{data_name}=`.")
        if self.kind == "community" and options.get("packing") == "bfd":
            raise ValueError(
                "packing='bfd' leaves short batches inside an epoch, which accelerate's sharding cannot "
                "count; use 'b3' or 'fill' (or 'auto')."
            )
        try:  # a wrong keyword fails now, naming the sampler, not at the first epoch
            inspect.signature(_KINDS[self.kind]).bind_partial(*([None] if data_name else []), None, **{
                k: v for k, v in options.items() if k != data_name})
        except TypeError as err:
            raise TypeError(f"batch_sampler({self.kind!r}): {err}") from None
        self.data = options.pop(data_name) if data_name else None
        if data_name == "labels":
            self.data = check_labels(self.data, "labels")
        elif data_name == "graph":
            self.data = graph_pattern(self.data)
        self.num_items = None if self.data is None else self.data.shape[0]
        self.options = options
        self.samplers: list[Any] = []

    def __call__(
        self,
        dataset: Any,
        batch_size: int,
        drop_last: bool,
        valid_label_columns: list[str] | None = None,
        generator: Any = None,
        seed: int = 0,
    ) -> Any:
        """Build the sampler for ``dataset`` (the trainer's call)."""
        n = len(dataset)
        seed = int(seed) if seed is not None else 0
        if self.options.get("strata") is not None and not drop_last:
            raise ValueError(
                "`strata` leaves one short batch per stratum in the middle of an epoch, which "
                "accelerate's multi-GPU sharding cannot count; set dataloader_drop_last=True."
            )
        common = dict(drop_last=drop_last, seed=seed, **_WHOLE_PLAN)
        if self.num_items is not None and n != self.num_items:
            if _called_for_training():  # an evaluation set is expected to differ
                warnings.warn(
                    f"the training dataset has {n} rows but the {self.kind} batches describe {self.num_items}; "
                    "training on random batches. Build the graph or labels for this dataset (one per row).",
                    GraphNegWarning,
                    stacklevel=2,
                )
            sampler: Any = RandomBatchSampler(n, batch_size, **common)
        elif self.kind == "random":
            sampler = RandomBatchSampler(n, batch_size, **self.options, **common)
        else:
            sampler = _KINDS[self.kind](self.data, batch_size, **self._resolved(batch_size, seed), **common)
        self.samplers.append(sampler)
        return sampler

    def _resolved(self, batch_size: int, seed: int) -> dict[str, Any]:
        options = dict(self.options)
        if self.kind == "community" and options.get("packing", "auto") == "auto":
            with warnings.catch_warnings():  # the probe's drop counts are not the real sampler's
                warnings.simplefilter("ignore", GraphNegWarning)
                probe = CommunityBatchSampler(self.data, batch_size, packing="auto", seed=seed, **_WHOLE_PLAN)
            options["packing"] = "b3" if probe.packing == "b3" else "fill"
        return options


def _called_for_training(max_depth: int = 16) -> bool:
    """Whether a trainer is building its training dataloader (a frame up the call stack).

    sentence-transformers calls ``get_batch_sampler(dataset, batch_size, drop_last, ...)`` with
    the same arguments for training and evaluation sets; only its callers differ:
    ``get_train_dataloader`` (all versions) and ``_build_dataloader(..., dataset_kind="train")``.
    """
    frame = sys._getframe(1)
    for _ in range(max_depth):
        frame = frame.f_back  # type: ignore[assignment]
        if frame is None:
            return False
        if frame.f_code.co_name == "get_train_dataloader" or frame.f_locals.get("dataset_kind") == "train":
            return True
    return False


def batch_sampler(kind: BatchKind, **options: Any) -> BatchSamplerFactory:
    """Return a ``batch_sampler`` for ``SentenceTransformerTrainingArguments``.

    Parameters
    ----------
    kind : {'random', 'walk', 'community', 'topic'}
        Random batches, random-walk batches over ``graph`` (BatchSampler, Yang et al., KDD 2023),
        community batches over ``labels`` (B3 with exact-size clusters) or topic batches
        (TAS-Balanced).
    **options
        ``graph=`` / ``labels=`` and the sampler's keywords; see :class:`BatchSamplerFactory`.

    Returns
    -------
    BatchSamplerFactory

    See Also
    --------
    graphneg.training.st.prepare : the whole recipe (walk batches, mined negatives, masked loss).

    Examples
    --------
    >>> import numpy as np
    >>> factory = batch_sampler("community", labels=np.repeat(np.arange(4), 8))
    >>> sampler = factory(list(range(32)), batch_size=16, drop_last=False, seed=0)
    >>> sampler.packing, len(sampler)
    ('b3', 2)
    >>> import scipy.sparse as sp
    >>> walk = batch_sampler("walk", graph=sp.csr_array(np.eye(32, k=1)), restart=0.2)
    >>> len(walk(list(range(32)), 8, False))
    4
    """
    return BatchSamplerFactory(kind, **options)
