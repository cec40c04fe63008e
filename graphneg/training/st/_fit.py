"""Run the recipe that :func:`prepare` assembled: train, keep the best dev checkpoint, and never
return a model worse than the start."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any

from ...exceptions import GraphNegWarning
from ._recipe import Recipe

logger = logging.getLogger(__name__)


@dataclass
class RecipeResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : SentenceTransformer
        The best checkpoint on the dev slice, or the starting model when none beat it.
    trained : bool
        Whether ``model`` is a trained checkpoint (False: the starting model came back).
    report : dict
        ``start`` (the starting model's dev nDCG@10), ``runs`` (per learning rate: the dev
        scores at each evaluated step and the best), ``chosen`` (learning rate and step, or
        None), ``reason`` (one line), plus :attr:`Recipe.report`.
    recipe : Recipe
        The assembled pieces (table, dataset, loss, sampler, evaluator, arguments).

    See Also
    --------
    fit : returns it.

    Examples
    --------
    See :func:`fit`.
    """

    model: Any
    trained: bool
    report: dict[str, Any]
    recipe: Recipe


def _state(model: Any) -> dict[str, Any]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _dev_score(recipe: Recipe, model: Any) -> float:
    return float(recipe.evaluator(model)[recipe.metric])


def _one_run(recipe: Recipe, model: Any, learning_rate: float, output_dir: str) -> dict[str, Any]:
    recipe.args.output_dir = output_dir
    trainer = recipe.trainer(model, learning_rate=learning_rate)
    trainer.train()
    key = f"eval_{recipe.metric}"
    evals = [{"step": int(e["step"]), "score": float(e[key])} for e in trainer.state.log_history if key in e]
    best = max(evals, key=lambda e: e["score"]) if evals else None
    return {"learning_rate": learning_rate, "evaluations": evals, "best": best}


def fit(recipe: Recipe) -> RecipeResult:
    """Train the recipe's model and return the best model on the dev slice, or the start.

    The starting model is scored on the dev slice; each of the settings'
    ``training.learning_rates`` trains from the starting weights for up to ``max_epochs``,
    with ``evaluations_per_epoch`` dev evaluations per epoch (each a checkpoint) and an early
    stop once an epoch brings no better one; the best checkpoint over all runs is kept **only
    if it beats the starting model's dev score** — otherwise the starting weights are
    restored, a :class:`~graphneg.exceptions.GraphNegWarning` says so, and ``trained`` is
    False. The test split is never read.

    Parameters
    ----------
    recipe : Recipe
        From :func:`prepare`: its ``model`` is trained in place and on return holds the
        weights of ``RecipeResult.model``; each learning rate checkpoints into a subfolder of
        its ``output_dir``.

    Returns
    -------
    RecipeResult

    Raises
    ------
    ValueError
        A recipe without a dev slice (``training.dev_fraction == 0``): nothing can be chosen;
        use its trainer (:meth:`Recipe.trainer`) directly. A recipe without a model.

    See Also
    --------
    prepare : assembles the recipe from the training pairs and a teacher.
    RecipeSettings : what can be changed.

    Examples
    --------
    >>> from sentence_transformers import SentenceTransformer           # doctest: +SKIP
    >>> model = SentenceTransformer("all-MiniLM-L6-v2")                  # doctest: +SKIP
    >>> data = {"query": queries, "positive": positives}                 # doctest: +SKIP
    >>> result = fit(prepare(model, data, corpus=documents, output_dir="out"))  # doctest: +SKIP
    >>> result.trained, result.report["reason"]                          # doctest: +SKIP
    (True, 'dev nDCG@10 0.6612 at step 23 (lr 2e-05) beats the starting model's 0.6421')
    """
    if recipe.evaluator is None:
        raise ValueError("fit() chooses on a dev slice: `settings.training.dev_fraction` must be > 0.")
    model = recipe.model
    if model is None:
        raise ValueError("the recipe has no model to train: prepare(model, ...) with a model.")
    start_state = _state(model)
    start = _dev_score(recipe, model)
    runs, best_state, best = [], None, None
    teacher_negatives = recipe.table.negatives.copy()  # a refresh rewrites them in place
    for i, lr in enumerate(recipe.settings.training.learning_rates):
        if i:
            model.load_state_dict(start_state)
            recipe.table.negatives[...] = teacher_negatives
        run = _one_run(recipe, model, lr, os.path.join(recipe.output_dir, f"lr{lr:g}"))
        runs.append(run)
        if run["best"] is not None and (best is None or run["best"]["score"] > best["score"]):
            best, best_state = {**run["best"], "learning_rate": lr}, _state(model)
    trained = best is not None and best["score"] > start
    model.load_state_dict(best_state if trained else start_state)
    if trained:
        reason = (f"dev nDCG@10 {best['score']:.4f} at step {best['step']} (lr {best['learning_rate']:g}) "
                  f"beats the starting model's {start:.4f}")
    else:
        reason = (f"no checkpoint beat the starting model on the dev slice (start {start:.4f}, best "
                  f"{'none' if best is None else format(best['score'], '.4f')}): returning the starting model")
        warnings.warn(reason, GraphNegWarning, stacklevel=2)
    logger.info(reason)
    report = {**recipe.report, "start": start, "runs": runs, "chosen": best if trained else None, "reason": reason}
    return RecipeResult(model, trained, report, recipe)
