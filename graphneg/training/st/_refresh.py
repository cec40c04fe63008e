"""Trainer callbacks that rebuild from the model being trained (ANCE / NGAME / BatchSampler refresh)."""

from __future__ import annotations

from typing import Any

from ..._optional import optional_import
from ..._validation import check_int
from .._walk_sampler import RandomWalkBatchSampler
from ._pairs import pair_graph
from ._teacher import teacher_embeddings

try:  # transformers comes with sentence-transformers; the samplers work without it
    from transformers import TrainerCallback as _TrainerCallback
except ImportError:  # pragma: no cover - exercised only without the [st] extra
    _TrainerCallback = object

__all__ = ["RefreshCallback", "RefreshNegativesCallback"]


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

    See Also
    --------
    graphneg.Reminer : the re-mining it runs.
    RefreshNegativesCallback : re-mines the negatives instead, every few steps.

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


class RefreshNegativesCallback(_TrainerCallback):  # type: ignore[misc, valid-type]
    """Re-mine the recipe's negatives (and its walk graph) from the student every ``every_steps``.

    ANCE-style online refresh: every ``every_steps`` optimiser steps the model being trained
    embeds the training queries and documents, the negatives are mined again with the recipe's
    settings (every known positive excluded) and written into ``recipe.table.negatives``, which
    the loss's masks read and :meth:`collate` turns into the batch's negative texts, so the
    next batch already uses them. The walk graph is rebuilt too and handed to the trainer's
    sampler (``sampler.refresh``): an epoch's batch plan is fixed so that its length stays exact
    under DDP, so the new graph shapes the batches from the next epoch on. The teacher's
    threshold mask keeps the teacher's scores. Mining is deterministic; the batches are a
    function of ``(seed, epoch)`` and the graph, so a rerun with the same seed repeats it.

    Needs ``dataloader_num_workers=0`` (the default): worker processes would hold a copy of
    the old negatives.

    Parameters
    ----------
    recipe : Recipe
        From :func:`graphneg.training.st.prepare`.
    every_steps : int
        Refresh period in optimiser steps.

    Attributes
    ----------
    refreshes : list of int
        The steps at which it refreshed.

    See Also
    --------
    prepare : ``settings.training.refresh_every`` adds it to the recipe's trainer.
    RefreshCallback : re-clusters at epoch starts instead.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cb = RefreshNegativesCallback(SimpleNamespace(table=None), every_steps=100)
    >>> cb.every_steps, cb.refreshes
    (100, [])
    """

    def __init__(self, recipe: Any, every_steps: int) -> None:
        if _TrainerCallback is object:
            optional_import("transformers", extra="st", feature="RefreshNegativesCallback")
        self.recipe = recipe
        self.every_steps = check_int(every_steps, "every_steps")
        self.refreshes: list[int] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        """Refuse dataloader workers, which would keep stale negatives."""
        if getattr(args, "dataloader_num_workers", 0):
            raise ValueError("RefreshNegativesCallback needs dataloader_num_workers=0.")
        return control

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> Any:
        """Refresh when the step is a multiple of ``every_steps`` (not at the last step)."""
        if state.global_step % self.every_steps == 0 and state.global_step < state.max_steps:
            self.refresh(model)
            self.refreshes.append(int(state.global_step))
        return control

    def refresh(self, model: Any) -> None:
        """Re-mine the negatives and rebuild the walk graph from ``model``'s embeddings."""
        from ._recipe import _mine

        r = self.recipe
        was_training = model.training
        model.eval()
        try:
            tq, td = teacher_embeddings(model, r.table)
        finally:
            model.train(was_training)
        negatives, _ = _mine(r.table, tq, td, r.settings.mining)
        r.table.negatives[...] = negatives
        batches = r.settings.batches
        if batches.kind == "walk":
            graph = pair_graph(tq, td, r.table, k=batches.walk_k, skip=batches.walk_skip)
            for sampler in r.batch_sampler.samplers:  # the training sampler; evaluation ones are random
                if isinstance(sampler, RandomWalkBatchSampler) and sampler.num_items == r.table.num_pairs:
                    sampler.refresh(graph)

    def collate(self, inner: Any) -> Any:
        """Wrap the trainer's data collator so that each batch carries the current negatives."""
        return _CurrentNegatives(inner, self.recipe.table)


class _CurrentNegatives:
    """A data collator that rewrites ``negative_j`` from the table before the trainer's own runs."""

    def __init__(self, inner: Any, table: Any) -> None:
        self.inner, self.table = inner, table

    def __getattr__(self, name: str) -> Any:  # valid_label_columns and the like
        return getattr(self.inner, name)

    def __call__(self, features: list[dict[str, Any]]) -> Any:
        t = self.table
        features = [dict(f) for f in features]  # the batch's rows stay as the dataset gave them
        for f in features:
            row = int(f["label"])
            for j, d in enumerate(t.negatives[row]):
                f[f"negative_{j + 1}"] = t.doc_texts[int(d) if d >= 0 else int(t.positive[row])]
        return self.inner(features)

