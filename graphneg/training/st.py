"""sentence-transformers integration: graph batches in ``SentenceTransformerTrainer``.

Install with ``pip install 'graphneg[st]'``. Three lines::

    from graphneg.training.st import batch_sampler
    args = SentenceTransformerTrainingArguments(..., batch_sampler=batch_sampler(labels))
    trainer = SentenceTransformerTrainer(model, args, train_dataset=ds, loss=MultipleNegativesRankingLoss(model))

``labels`` gives the community of each row of the training dataset (e.g.
``graphneg.communities(graphneg.knn_graph(teacher_embeddings, 10), cluster_size=32)``). The trainer
calls the returned factory for every dataloader it builds; datasets of another length
(evaluation sets) get plain random batches. A *training* dataset whose length differs from
``labels`` (labels computed for another version of the data) gets random batches too, with a
GraphNegWarning naming both lengths.

The trainers call ``sampler.set_epoch(epoch)`` before every epoch. A plain accelerate loop
must do it itself: ``accelerator.prepare(loader)`` wraps the batch sampler and does not
forward ``set_epoch`` to it, so without the call every epoch repeats the same batches::

    for epoch in range(num_epochs):
        sampler.set_epoch(epoch)
        for batch in loader: ...
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, Literal

from .._optional import optional_import
from .._validation import check_choice, check_float, check_int, check_labels
from ..exceptions import GraphNegWarning
from ._samplers import CommunityBatchSampler, RandomBatchSampler, TopicBatchSampler

__all__ = ["GraphBatchSamplerFactory", "batch_sampler", "RefreshCallback"]

try:  # transformers comes with sentence-transformers; the samplers work without it
    from transformers import TrainerCallback as _TrainerCallback
except ImportError:  # pragma: no cover - exercised only without the [st] extra
    _TrainerCallback = object


#: accelerate shards the trainer's batch sampler over the processes itself (BatchSamplerShard),
#: so the factory's samplers yield the whole plan instead of reading the process group
_WHOLE_PLAN: dict[str, Any] = {"num_replicas": 1, "rank": 0}


class GraphBatchSamplerFactory:
    """Callable accepted by ``SentenceTransformerTrainingArguments(batch_sampler=...)``.

    Called as ``factory(dataset, batch_size, drop_last, valid_label_columns, generator,
    seed)``, it returns a :class:`graphneg.CommunityBatchSampler` (or
    :class:`graphneg.TopicBatchSampler` with ``kind='topic'``) over the dataset's rows.

    Every batch but the last holds exactly ``batch_size`` rows: accelerate's multi-GPU
    sharding only yields a group of batches when its last batch is full, so variable-size
    packing (``'bfd'``) would make ``len(dataloader)`` wrong; it is refused here. The length
    is exact, so accelerate's own ``len`` of each rank's shard is exact too.

    A dataset whose length differs from ``labels`` gets random batches: silently for an
    evaluation set, with a GraphNegWarning naming both lengths for the training set. The
    trainer calls the factory with the same arguments for both; a training call is
    recognised by the trainer's ``get_train_dataloader`` on the call stack.

    Parameters
    ----------
    labels : array-like of shape (n_train_rows,)
        Community (or topic) of each training row.
    kind : {'community', 'topic'}, default='community'
        :class:`graphneg.CommunityBatchSampler` or :class:`graphneg.TopicBatchSampler`.
    packing : {'auto', 'b3', 'fill'}, default='auto'
        Community packing; ``'auto'`` is ``'b3'`` for clusters of one size dividing the
        batch, else ``'fill'``.
    clusters_per_batch : int, default=1
        With ``kind='topic'``.
    mix_random : float, default=0.0
        Share of each batch swapped with random rows.
    strata : array-like of shape (n_train_rows,), default=None
        Never mix strata in a batch (needs ``dataloader_drop_last=True``).

    Attributes
    ----------
    samplers : list
        The samplers built so far (the training one first), e.g. to ``refresh`` them.

    Examples
    --------
    >>> import numpy as np
    >>> factory = GraphBatchSamplerFactory(np.repeat(np.arange(4), 4), packing="b3")
    >>> sampler = factory(range(16), 8, False, None, None, 0)
    >>> len(sampler), type(factory(range(5), 8, False, None, None, 0)).__name__  # an eval set
    (2, 'RandomBatchSampler')
    """

    def __init__(
        self,
        labels: Any,
        *,
        kind: Literal["community", "topic"] = "community",
        packing: Literal["auto", "b3", "fill"] = "auto",
        clusters_per_batch: int = 1,
        mix_random: float = 0.0,
        strata: Any = None,
    ) -> None:
        self.labels = check_labels(labels, "labels")
        self.kind = check_choice(kind, "kind", ("community", "topic"))
        self.packing = check_choice(packing, "packing", ("auto", "b3", "fill"))
        self.clusters_per_batch = check_int(clusters_per_batch, "clusters_per_batch")
        self.mix_random = check_float(mix_random, "mix_random", min_value=0.0, max_value=1.0)
        self.strata = None if strata is None else check_labels(strata, "strata", n_items=self.labels.size)
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
        n = len(dataset)
        seed = int(seed) if seed is not None else 0
        if self.strata is not None and not drop_last:
            raise ValueError(
                "`strata` leaves one short batch per stratum in the middle of an epoch, which "
                "accelerate's multi-GPU sharding cannot count; set dataloader_drop_last=True."
            )
        if n != self.labels.size:
            # an evaluation set: the labels describe the training rows only
            if _called_for_training():
                warnings.warn(
                    f"the training dataset has {n} rows but `labels` has {self.labels.size} entries; "
                    "training on random batches. Compute the labels for this dataset (one per row).",
                    GraphNegWarning,
                    stacklevel=2,
                )
            sampler: Any = RandomBatchSampler(n, batch_size, drop_last=drop_last, seed=seed, **_WHOLE_PLAN)
        else:
            sampler = self._graph_sampler(batch_size, drop_last, seed)
        self.samplers.append(sampler)
        return sampler

    def _graph_sampler(self, batch_size: int, drop_last: bool, seed: int) -> Any:
        common = dict(mix_random=self.mix_random, strata=self.strata, drop_last=drop_last, seed=seed, **_WHOLE_PLAN)
        if self.kind == "topic":
            return TopicBatchSampler(self.labels, batch_size, clusters_per_batch=self.clusters_per_batch, **common)
        packing = self.packing
        if packing == "auto":
            with warnings.catch_warnings():  # the probe's drop counts are not the real sampler's
                warnings.simplefilter("ignore", GraphNegWarning)
                probe = CommunityBatchSampler(self.labels, batch_size, packing="auto", seed=seed, **_WHOLE_PLAN)
            packing = "b3" if probe.packing == "b3" else "fill"
        return CommunityBatchSampler(self.labels, batch_size, packing=packing, **common)


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


def batch_sampler(labels: Any, **kwargs: Any) -> GraphBatchSamplerFactory:
    """Return a ``batch_sampler`` for ``SentenceTransformerTrainingArguments``.

    Parameters
    ----------
    labels : array-like of shape (n_train_rows,)
        Community of each training row.
    **kwargs
        ``kind`` ('community' or 'topic'), ``packing`` ('auto', 'b3', 'fill'),
        ``clusters_per_batch``, ``mix_random``, ``strata``; see
        :class:`GraphBatchSamplerFactory`.

    Examples
    --------
    >>> import numpy as np
    >>> factory = batch_sampler(np.repeat(np.arange(4), 8))
    >>> sampler = factory(list(range(32)), batch_size=16, drop_last=False, seed=0)
    >>> sampler.packing, len(sampler)
    ('b3', 2)
    """
    return GraphBatchSamplerFactory(labels, **kwargs)


class RefreshCallback(_TrainerCallback):  # type: ignore[misc, valid-type]
    """Trainer callback that re-mines communities at epoch starts (ANCE/NGAME refresh).

    Wraps a :class:`graphneg.Reminer`; pass it in ``SentenceTransformerTrainer(callbacks=[...])``.
    At the start of epoch ``e`` (before the trainer draws that epoch's first batch) it calls
    ``reminer.step(e)``, which re-mines when the reminer's schedule says so. The reminer's
    ``embed`` typically calls ``model.encode(train_texts)``; its ``sampler`` is
    ``factory.samplers[0]``.

    Parameters
    ----------
    reminer : graphneg.Reminer
        Anything with ``step(epoch)``.

    Examples
    --------
    >>> class Log:
    ...     def step(self, epoch):
    ...         print("epoch", epoch)
    >>> from types import SimpleNamespace
    >>> _ = RefreshCallback(Log()).on_epoch_begin(None, SimpleNamespace(epoch=1.0), None)
    epoch 1
    """

    def __init__(self, reminer: Any) -> None:
        if _TrainerCallback is object:
            optional_import("transformers", extra="st", feature="RefreshCallback")
        step = getattr(reminer, "step", None)
        if not callable(step):
            raise TypeError(f"`reminer` must have a step(epoch) method, got {type(reminer).__name__}.")
        self.reminer = reminer
        self._step = step

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        """Re-mine (when due) before the epoch's first batch is drawn."""
        self._step(int(round(state.epoch or 0)))
        return control
