"""sentence-transformers integration: the measured recipe, its loss, batch samplers and callbacks.

Install with ``pip install 'graphneg[st]'``. The recipe in a few lines (random-walk batches over
the teacher's pair graph, mined hard negatives, the known-positive and teacher-threshold masks,
the best checkpoint on a dev slice of the training queries, never worse than the start there)::

    from graphneg.training.st import fit, prepare
    recipe = prepare(model, {"query": queries, "positive": positives}, corpus=documents)
    result = fit(recipe)
    result.model.save("my-model"); print(result.report["reason"])

:func:`prepare` returns a :class:`Recipe` (the dataset, loss, batch sampler, dev evaluator and
training arguments, for a trainer of your own too), configured by :class:`RecipeSettings`
(:class:`BatchSettings`, ``graphneg.NegativeSelection`` for the mining, :class:`LossSettings`,
:class:`TrainingSettings`); :func:`fit` runs it. The other pieces:
:class:`MaskedMultipleNegativesRankingLoss` and its GradCache variant, :func:`batch_sampler`
(random, walk, community and topic batches for ``SentenceTransformerTrainingArguments``),
:class:`RefreshNegativesCallback` (online re-mining from the student) and
:class:`RefreshCallback` (re-clustering at epoch starts).
"""

from __future__ import annotations

from ._factory import BatchSamplerFactory, batch_sampler
from ._fit import RecipeResult, fit
from ._losses import CachedMaskedMultipleNegativesRankingLoss, MaskedMultipleNegativesRankingLoss
from ._pairs import PairTable, pair_graph, read_pairs, split_queries
from ._recipe import Recipe, prepare
from ._refresh import RefreshCallback, RefreshNegativesCallback
from ._settings import BatchSettings, LossSettings, RecipeSettings, TrainingSettings
from ._teacher import dev_evaluator, teacher_embeddings

__all__ = [
    "fit",
    "prepare",
    "Recipe",
    "RecipeResult",
    "RecipeSettings",
    "BatchSettings",
    "LossSettings",
    "TrainingSettings",
    "MaskedMultipleNegativesRankingLoss",
    "CachedMaskedMultipleNegativesRankingLoss",
    "batch_sampler",
    "BatchSamplerFactory",
    "RefreshNegativesCallback",
    "RefreshCallback",
    "PairTable",
    "read_pairs",
    "split_queries",
    "pair_graph",
    "teacher_embeddings",
    "dev_evaluator",
]
