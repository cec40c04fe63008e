"""Run the recipe: train, keep the best dev checkpoint, and never return a model worse than the start."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from typing import Any

from ...exceptions import GraphNegWarning
from ._recipe import Recipe, RecipeSettings, prepare

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


def fit(
    model: Any,
    train_dataset: Any,
    *,
    teacher: Any = None,
    corpus: Any = None,
    qrels: Any = None,
    output_dir: str = "graphneg-recipe",
    settings: RecipeSettings | None = None,
    seed: int = 0,
) -> RecipeResult:
    """Train ``model`` with the recipe and return the best model on the dev slice, or the start.

    :func:`prepare` assembles the recipe; the starting model is scored on the dev slice; each
    of ``settings.learning_rates`` trains from the starting weights for up to
    ``max_epochs``, with ``evaluations_per_epoch`` dev evaluations per epoch (each a checkpoint)
    and an early stop once an epoch brings no better one; the best checkpoint over all runs is kept **only if it
    beats the starting model's dev score** — otherwise the starting weights are restored, a
    :class:`~graphneg.exceptions.GraphNegWarning` says so, and ``trained`` is False. The test
    split is never read.

    Parameters
    ----------
    model : SentenceTransformer
        Trained in place; on return it holds the weights of ``RecipeResult.model``.
    train_dataset, teacher, corpus, qrels, output_dir, settings, seed
        As for :func:`prepare`.

    Returns
    -------
    RecipeResult

    Raises
    ------
    ValueError
        ``settings.dev_fraction == 0``: without a dev slice nothing can be chosen; use
        :func:`prepare` and the trainer directly.

    See Also
    --------
    prepare : the pieces, for a trainer of your own.

    Examples
    --------
    >>> from sentence_transformers import SentenceTransformer           # doctest: +SKIP
    >>> model = SentenceTransformer("all-MiniLM-L6-v2")                  # doctest: +SKIP
    >>> data = {"query": queries, "positive": positives}                 # doctest: +SKIP
    >>> result = fit(model, data, corpus=documents, output_dir="out")   # doctest: +SKIP
    >>> result.trained, result.report["reason"]                          # doctest: +SKIP
    (True, 'dev nDCG@10 0.6612 at step 23 (lr 2e-05) beats the starting model's 0.6421')
    """
    s = settings if settings is not None else RecipeSettings()
    if s.dev_fraction == 0:
        raise ValueError("fit() chooses on a dev slice: `settings.dev_fraction` must be > 0.")
    recipe = prepare(model, train_dataset, teacher=teacher, corpus=corpus, qrels=qrels, output_dir=output_dir,
                     settings=s, seed=seed)
    start_state = _state(model)
    start = _dev_score(recipe, model)
    runs, best_state, best = [], None, None
    teacher_negatives = recipe.table.negatives.copy()  # a refresh rewrites them in place
    for i, lr in enumerate(s.learning_rates):
        if i:
            model.load_state_dict(start_state)
            recipe.table.negatives[...] = teacher_negatives
        run = _one_run(recipe, model, lr, os.path.join(output_dir, f"lr{lr:g}"))
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
