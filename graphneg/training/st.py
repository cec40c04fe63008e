"""sentence-transformers integration: graph batches in ``SentenceTransformerTrainer``.

Install with ``pip install 'graphneg[st]'``. Three lines::

    from graphneg.st import batch_sampler
    args = SentenceTransformerTrainingArguments(..., batch_sampler=batch_sampler(labels))
    trainer = SentenceTransformerTrainer(model, args, train_dataset=ds, loss=MultipleNegativesRankingLoss(model))

``labels`` gives the community of each row of the training dataset (e.g.
``graphneg.communities(graphneg.knn_graph(teacher_embeddings, 10), size=32)``). The trainer
calls the returned factory for every dataloader it builds; datasets of another length
(evaluation sets) get plain random batches.
"""

from __future__ import annotations

from typing import Any, Literal

from .._optional import optional_import
from .._validation import check_choice, check_float, check_int, check_labels
from ._samplers import CommunityBatchSampler, RandomBatchSampler, TopicBatchSampler

__all__ = ["GraphBatchSamplerFactory", "batch_sampler", "RefreshCallback"]

try:  # transformers comes with sentence-transformers; the samplers work without it
    from transformers import TrainerCallback as _TrainerCallback
except ImportError:  # pragma: no cover - exercised only without the [st] extra
    _TrainerCallback = object


class GraphBatchSamplerFactory:
    """Callable accepted by ``SentenceTransformerTrainingArguments(batch_sampler=...)``.

    Called as ``factory(dataset, batch_size, drop_last, valid_label_columns, generator,
    seed)``, it returns a :class:`graphneg.CommunityBatchSampler` (or
    :class:`graphneg.TopicBatchSampler` with ``kind='topic'``) over the dataset's rows.

    Every batch but the last holds exactly ``batch_size`` rows: accelerate's multi-GPU
    sharding only yields a group of batches when its last batch is full, so variable-size
    packing (``'bfd'``) would make ``len(dataloader)`` wrong; it is refused here. The length
    is exact, so accelerate's own ``len`` of each rank's shard is exact too.

    Attributes
    ----------
    samplers : list
        The samplers built so far (the training one first), e.g. to ``refresh`` them.
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
            sampler: Any = RandomBatchSampler(n, batch_size, drop_last=drop_last, seed=seed)
        elif self.kind == "topic":
            sampler = TopicBatchSampler(
                self.labels, batch_size, clusters_per_batch=self.clusters_per_batch,
                mix_random=self.mix_random, strata=self.strata, drop_last=drop_last, seed=seed,
            )
        else:
            packing = self.packing
            if packing == "auto":
                probe = CommunityBatchSampler(self.labels, batch_size, packing="auto", seed=seed)
                packing = "b3" if probe.packing == "b3" else "fill"
            sampler = CommunityBatchSampler(
                self.labels, batch_size, packing=packing, mix_random=self.mix_random,
                strata=self.strata, drop_last=drop_last, seed=seed,
            )
        self.samplers.append(sampler)
        return sampler


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
    ``reminer.maybe_refresh(e)``. The reminer's ``embed`` typically calls
    ``model.encode(train_texts)``; its ``sampler`` is ``factory.samplers[0]``.
    """

    def __init__(self, reminer: Any) -> None:
        if _TrainerCallback is object:
            optional_import("transformers", extra="st", feature="RefreshCallback")
        self.reminer = reminer

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        self.reminer.maybe_refresh(int(round(state.epoch or 0)))
        return control
