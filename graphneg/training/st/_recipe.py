"""The measured recipe as one call: walk batches + mined negatives + masked loss, chosen on a dev slice.

``examples/RESULTS.md`` measured what helps a fine-tune: hard negatives mined by a teacher, the
known-positive and teacher-threshold masks, and random-walk batches over the teacher's pair
graph on top. :func:`prepare` assembles that from a training dataset and a teacher and returns
the trainer's pieces; :func:`fit` runs it, keeps the best checkpoint on a seeded dev slice of the
training queries, and returns the starting model when no checkpoint beats it there.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..._validation import check_int
from ...exceptions import GraphNegWarning
from ...negatives import NegativeSelection, mine_hard_negatives
from ._factory import BatchSamplerFactory, batch_sampler
from ._losses import MaskedMultipleNegativesRankingLoss
from ._pairs import PairTable, pair_graph, read_pairs, split_queries
from ._settings import BatchSettings, RecipeSettings, TrainingSettings
from ._teacher import dev_evaluator, teacher_embeddings


@dataclass
class Recipe:
    """The assembled recipe: what ``SentenceTransformerTrainer`` needs, and what it was built from.

    Attributes
    ----------
    model : SentenceTransformer or None
        The model to train (:func:`fit` trains it in place).
    table : PairTable
        The training pairs of the training queries, with their mined negatives.
    train_dataset : datasets.Dataset
        ``anchor, positive, negative_1..n, label`` (``label`` = pair index into ``table``).
    loss : MaskedMultipleNegativesRankingLoss
    batch_sampler : BatchSamplerFactory
    evaluator : InformationRetrievalEvaluator or None
        The dev slice (None with ``training.dev_fraction=0``).
    args : SentenceTransformerTrainingArguments
        Keeps the best checkpoint on the dev slice (``load_best_model_at_end``).
    output_dir : str
        The checkpoints' folder (:func:`fit` trains each learning rate in a subfolder).
    settings : RecipeSettings
    report : dict
        Sizes, the dev slice and the mining's counts.

    See Also
    --------
    prepare : builds it.
    fit : runs it.

    Examples
    --------
    See :func:`prepare`.
    """

    model: Any
    table: PairTable
    train_dataset: Any
    loss: Any
    batch_sampler: BatchSamplerFactory
    evaluator: Any
    args: Any
    output_dir: str
    settings: RecipeSettings
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def metric(self) -> str | None:
        """The dev metric the checkpoints are chosen by (nDCG@10)."""
        return None if self.evaluator is None else self.evaluator.primary_metric

    def _patience(self) -> int:
        per_epoch = max(1, math.ceil(self.table.num_pairs / self.settings.batches.batch_size))
        return max(1, math.ceil(per_epoch / max(1, self.args.eval_steps)))

    def trainer(self, model: Any, learning_rate: float | None = None) -> Any:
        """A ``SentenceTransformerTrainer`` over these pieces (``learning_rate`` overrides the args')."""
        from sentence_transformers import SentenceTransformerTrainer

        args = self.args
        if learning_rate is not None:
            args.learning_rate = float(learning_rate)
        callbacks: list[Any] = []
        if self.evaluator is not None:
            from transformers import EarlyStoppingCallback

            # one epoch of evaluations without a better checkpoint ends the run
            callbacks = [_EvaluateAtEnd(), EarlyStoppingCallback(early_stopping_patience=self._patience())]
        refresh = None
        if self.settings.training.refresh_every is not None:
            from ._refresh import RefreshNegativesCallback

            refresh = RefreshNegativesCallback(self, self.settings.training.refresh_every)
            callbacks.append(refresh)
        self.loss.model = model
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=self.train_dataset,
                                             loss=self.loss, evaluator=self.evaluator, callbacks=callbacks)
        if refresh is not None:  # each batch reads the current negatives
            trainer.data_collator = refresh.collate(trainer.data_collator)
        return trainer


def _mine(table: PairTable, tq: np.ndarray, td: np.ndarray,
          selection: NegativeSelection) -> tuple[np.ndarray, dict[str, Any]]:
    """Negatives of every pair: mined once per query, the query's every known positive excluded."""
    queries, inverse = np.unique(table.query, return_inverse=True)
    positives = [table.known.indices[table.known.indptr[q]:table.known.indptr[q + 1]] for q in queries]
    if selection.range_max is not None:  # no deeper than the corpus
        depth = max(min(selection.range_max, td.shape[0] - 1), selection.range_min + selection.num_negatives)
        selection = replace(selection, range_max=depth)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphNegWarning)  # shortfalls are counted in the report
        hn = mine_hard_negatives(tq[queries], td, positives, selection)
    info = {"queries": int(queries.size), "short_queries": int(hn.num_short),
            "negatives_found": int((hn.indices >= 0).sum()), "skipped": dict(hn.skipped)}
    return hn.indices[inverse], info


def _dataset(table: PairTable) -> Any:
    import datasets

    cols: dict[str, list[Any]] = {
        "anchor": [table.query_texts[q] for q in table.query],
        "positive": [table.doc_texts[d] for d in table.positive],
    }
    for j in range(0 if table.negatives is None else table.negatives.shape[1]):
        # a missing negative gets its pair's positive as a placeholder: masked by the loss
        cols[f"negative_{j + 1}"] = [table.doc_texts[d if d >= 0 else p]
                                     for d, p in zip(table.negatives[:, j], table.positive, strict=True)]
    cols["label"] = list(range(table.num_pairs))
    return datasets.Dataset.from_dict(cols)


def _sampler(table: PairTable, tq: np.ndarray, td: np.ndarray, s: BatchSettings, seed: int) -> BatchSamplerFactory:
    if s.kind == "random":
        return batch_sampler("random")
    if s.kind == "walk":
        graph = pair_graph(tq, td, table, k=s.walk_k, skip=s.walk_skip)
        return batch_sampler("walk", graph=graph, restart=s.walk_restart)
    from ...similarity import communities, knn_graph

    emb = tq[table.query]
    graph = knn_graph(emb, k=max(1, min(10, table.num_pairs - 1)))
    if s.kind == "topic":
        return batch_sampler("topic", labels=communities(graph, seed=seed), clusters_per_batch=2)
    size = min(8, s.batch_size, table.num_pairs)
    return batch_sampler("community", labels=communities(graph, cluster_size=size, seed=seed))


def _schedule(num_pairs: int, batch_size: int, s: TrainingSettings) -> tuple[int, int, int]:
    """``(epochs, total_steps, eval_steps)``: ``max_epochs``, more (up to 10) until ``min_steps``."""
    per_epoch = max(1, math.ceil(num_pairs / batch_size))
    epochs = max(s.max_epochs, min(10, math.ceil(s.min_steps / per_epoch)))
    return epochs, per_epoch * epochs, max(1, math.ceil(per_epoch / s.evaluations_per_epoch))


def _training_args(output_dir: str, table: PairTable, factory: Any, metric: str | None, s: RecipeSettings,
                   seed: int) -> Any:
    import torch
    from sentence_transformers import SentenceTransformerTrainingArguments

    batch_size, t = s.batches.batch_size, s.training
    epochs, total, eval_steps = _schedule(table.num_pairs, batch_size, t)
    select = {} if metric is None else dict(
        eval_strategy="steps", eval_steps=eval_steps, save_strategy="steps", save_steps=eval_steps,
        save_total_limit=1, save_only_model=True, load_best_model_at_end=True,
        metric_for_best_model=f"eval_{metric}", greater_is_better=True)
    return SentenceTransformerTrainingArguments(
        output_dir=output_dir, num_train_epochs=epochs, per_device_train_batch_size=batch_size,
        learning_rate=t.learning_rates[0], warmup_steps=int(round(0.1 * total)), seed=seed,
        batch_sampler=factory, report_to=[], logging_steps=max(1, eval_steps), bf16=t.bf16,
        use_cpu=not torch.cuda.is_available(), dataloader_drop_last=False,
        **({"save_strategy": "no"} if metric is None else select))


def prepare(
    model: Any,
    train_dataset: Any,
    *,
    teacher: Any = None,
    corpus: Any = None,
    qrels: Any = None,
    output_dir: str = "graphneg-recipe",
    settings: RecipeSettings | None = None,
    seed: int = 0,
) -> Recipe:
    """Assemble the recipe for ``SentenceTransformerTrainer`` from ``(query, positive[, query_id])`` rows.

    1. Queries keyed by id (or text) and documents by text (:func:`read_pairs`); a seeded
       dev slice of the distinct queries is held out (:func:`split_queries`).
    2. The teacher embeds every query and document; ``mine_hard_negatives`` mines
       negatives per training query (``settings.mining``), every known positive excluded.
    3. Random-walk batches over the teacher's pair graph (:func:`batch_sampler`), the loss
       :class:`MaskedMultipleNegativesRankingLoss` (known positives + teacher threshold), an
       ``InformationRetrievalEvaluator`` on the dev slice and training arguments that keep
       the best checkpoint on it.

    Parameters
    ----------
    model : SentenceTransformer
        The model to train (and the teacher when ``teacher`` is None: its starting weights).
    train_dataset : datasets.Dataset or mapping of column name -> list
        ``query``/``anchor`` and ``positive`` texts, optionally ``query_id``.
    teacher : SentenceTransformer, callable or mapping, optional
        Another model, a function ``texts -> embeddings``, or precomputed embeddings as a
        mapping ``text -> vector`` covering every query and document.
    corpus : sequence of str, mapping or datasets.Dataset, optional
        More documents to mine negatives from and rank on the dev slice.
    qrels : mapping query key -> iterable of str, optional
        More known positives per query (e.g. every judged document when the dataset holds a
        sample of the pairs): masked and never mined, not trained on (:func:`read_pairs`).
    output_dir : str, default='graphneg-recipe'
        The trainer's checkpoints.
    settings : RecipeSettings, optional
        The batches, mining, loss and training run (default ``RecipeSettings()``: what the
        fine-tunes in ``examples/RESULTS.md`` measured).
    seed : int, default=0
        The dev slice, the batches and the trainer.

    Returns
    -------
    Recipe

    See Also
    --------
    fit : runs it, and never returns a model worse than the start on the dev slice.
    RecipeSettings : what can be changed.

    Examples
    --------
    >>> import numpy as np
    >>> texts = [f"doc {i}" for i in range(40)]
    >>> vecs = {t: np.random.default_rng(i).normal(size=8) for i, t in enumerate(texts)}
    >>> vecs.update({f"query {i}": vecs[f"doc {i}"] for i in range(40)})
    >>> data = {"query": [f"query {i}" for i in range(40)], "positive": texts}
    >>> r = prepare(None, data, teacher=vecs, output_dir="/tmp/graphneg-doctest")
    >>> r.report["train_pairs"], r.report["dev_queries"], r.train_dataset.column_names[:3]
    (32, 8, ['anchor', 'positive', 'negative_1'])
    """
    s = settings if settings is not None else RecipeSettings()
    seed = check_int(seed, "seed", min_value=0)
    table = read_pairs(train_dataset, corpus, qrels)
    train_q, dev_q = split_queries(len(table.query_texts), s.training.dev_fraction, seed)
    tq, td = teacher_embeddings(teacher if teacher is not None else model, table)
    train = table.subset(np.flatnonzero(np.isin(table.query, train_q)))
    train.negatives, mining = _mine(train, tq, td, s.mining)
    evaluator = (dev_evaluator(table, dev_q, tq, td, size=s.training.dev_corpus_size, seed=seed)
                 if dev_q.size else None)
    factory = _sampler(train, tq, td, s.batches, seed)
    loss = MaskedMultipleNegativesRankingLoss(model, train, temperature=s.loss.temperature, known_positives=True,
                                              threshold_fraction=s.loss.threshold_fraction,
                                              threshold_margin=s.loss.threshold_margin, teacher=(tq, td))
    metric = None if evaluator is None else evaluator.primary_metric
    args = _training_args(output_dir, train, factory, metric, s, seed)
    report = {"queries": len(table.query_texts), "documents": len(table.doc_texts), "train_pairs": train.num_pairs,
              "dev_queries": int(dev_q.size), "mining": mining, "settings": asdict(s), "seed": seed}
    return Recipe(model=model, table=train, train_dataset=_dataset(train), loss=loss, batch_sampler=factory,
                  evaluator=evaluator, args=args, output_dir=output_dir, settings=s, report=report)


try:  # transformers comes with sentence-transformers
    from transformers import TrainerCallback as _TrainerCallback
except ImportError:  # pragma: no cover
    _TrainerCallback = object


class _EvaluateAtEnd(_TrainerCallback):  # type: ignore[misc, valid-type]
    """Evaluate and save at the last step too, so the end of training is a candidate checkpoint."""

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if state.global_step >= state.max_steps:
            control.should_evaluate = control.should_save = True
        return control
