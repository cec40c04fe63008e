"""The recipe's settings: one frozen settings class per part (batches, loss, training run) and
the package's :class:`~graphneg.NegativeSelection` for the mining, gathered in
:class:`RecipeSettings`. The defaults are what the fine-tunes in ``examples/RESULTS.md``
measured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..._validation import check_choice, check_float, check_int
from ...negatives import NegativeSelection


@dataclass(frozen=True)
class BatchSettings:
    """How the recipe batches its training pairs.

    Parameters
    ----------
    batch_size : int, default=32
    kind : {'walk', 'random', 'community', 'topic'}, default='walk'
        ``'walk'``: random-walk batches over B3's teacher pair graph (ranks
        ``[walk_skip, walk_skip + walk_k)``); the others are the research arms' controls.
    walk_k, walk_skip, walk_restart : int, int, float, default=30, 20, 0.1
        The pair graph's rank window and the walk's restart probability (skip 20: within the
        dev-split noise of the best skip on both SciFact and NFCorpus, in the dev sweeps
        ``examples/results/*_dev_graph_sweep.json``; never chosen on a test split).

    See Also
    --------
    RecipeSettings : the recipe's settings, of which these are the batches.
    batch_sampler : the batch samplers these settings choose between.

    Examples
    --------
    >>> BatchSettings(kind="random").kind
    'random'
    """

    batch_size: int = 32
    kind: Literal["walk", "random", "community", "topic"] = "walk"
    walk_k: int = 30
    walk_skip: int = 20
    walk_restart: float = 0.1

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", ("walk", "random", "community", "topic"))
        check_int(self.batch_size, "batch_size")
        check_int(self.walk_k, "walk_k")
        check_int(self.walk_skip, "walk_skip", min_value=0)


@dataclass(frozen=True)
class LossSettings:
    """The recipe's loss: :class:`MaskedMultipleNegativesRankingLoss` with the known-positive mask
    and these teacher-threshold masks.

    Parameters
    ----------
    temperature : float, default=0.05
    threshold_fraction : float or None, default=0.95
        Mask candidates the teacher scores at or above this fraction of the positive.
    threshold_margin : float or None, default=None
        Mask candidates the teacher scores above the positive plus this margin.

    See Also
    --------
    RecipeSettings : the recipe's settings, of which these are the loss.
    MaskedMultipleNegativesRankingLoss : the loss these settings configure.

    Examples
    --------
    >>> LossSettings().threshold_fraction
    0.95
    """

    temperature: float = 0.05
    threshold_fraction: float | None = 0.95
    threshold_margin: float | None = None


@dataclass(frozen=True)
class TrainingSettings:
    """How long the recipe trains, and how the dev slice chooses what it returns.

    Parameters
    ----------
    learning_rates : tuple of float, default=(2e-5,)
        Candidates tried one after the other; the best on the dev slice wins.
    max_epochs : int, default=3
        The longest run; training stops early once ``evaluations_per_epoch`` dev evaluations
        in a row (one epoch) bring no better checkpoint.
    min_steps : int, default=20
        A dataset with fewer optimiser steps than this in ``max_epochs`` gets more epochs
        (up to 10), so that a small dataset trains at all.
    evaluations_per_epoch : int, default=4
        Dev evaluations (and checkpoints) per epoch.
    dev_fraction : float, default=0.2
        Share of the distinct training queries in the dev slice (at most 1,000 queries).
    dev_corpus_size : int, default=2000
        Documents the dev evaluator ranks: the dev positives, each dev query's top 30 teacher
        candidates, then a seeded sample.
    refresh_every : int or None, default=None
        Re-mine the negatives (and rebuild the walk graph) from the student every this many
        steps (:class:`RefreshNegativesCallback`); None keeps the teacher's, as measured.
    bf16 : bool, default=False
        Mixed precision (CUDA with bf16, or a CPU with AMX).

    See Also
    --------
    RecipeSettings : the recipe's settings, of which these are the training run.
    fit : runs each learning rate and keeps the best checkpoint on the dev slice.

    Examples
    --------
    >>> TrainingSettings(learning_rates=[1e-5, 3e-5]).learning_rates
    (1e-05, 3e-05)
    """

    learning_rates: tuple[float, ...] = (2e-5,)
    max_epochs: int = 3
    min_steps: int = 20
    evaluations_per_epoch: int = 4
    dev_fraction: float = 0.2
    dev_corpus_size: int = 2000
    refresh_every: int | None = None
    bf16: bool = False

    def __post_init__(self) -> None:
        for name in ("min_steps", "max_epochs", "evaluations_per_epoch", "dev_corpus_size"):
            check_int(getattr(self, name), name)
        if self.refresh_every is not None:
            check_int(self.refresh_every, "refresh_every")
        check_float(self.dev_fraction, "dev_fraction", min_value=0.0, max_value=1.0, max_inclusive=False)
        if not self.learning_rates:
            raise ValueError("`learning_rates` needs at least one value.")
        object.__setattr__(self, "learning_rates", tuple(
            check_float(x, "learning_rates", min_value=0.0, min_inclusive=False) for x in self.learning_rates))


# NV-Retriever's TopK-PercPos 95 %, 100 ranks deep (what the fine-tunes in examples/RESULTS.md used)
MINING = NegativeSelection(num_negatives=3, relative_margin=0.05, range_max=100)


@dataclass(frozen=True)
class RecipeSettings:
    """Settings of the recipe; the defaults are what the fine-tunes in ``examples/RESULTS.md`` measured.

    Nothing here is meant to be chosen per corpus: the stopping point is chosen on the dev
    slice (the best of the checkpoints, training stopped once a whole epoch brings no better
    one, or the starting model), and so is the learning rate when
    ``training.learning_rates`` holds several.

    Parameters
    ----------
    batches : BatchSettings, default=BatchSettings()
        Batch size and random-walk batches over the teacher's pair graph.
    mining : NegativeSelection, default=NegativeSelection(num_negatives=3, relative_margin=0.05, range_max=100)
        How the teacher's candidates become each pair's negatives (sentence-transformers
        semantics); every known positive of the query is excluded, and ``range_max`` is cut to
        the corpus size.
    loss : LossSettings, default=LossSettings()
        Temperature and the teacher-threshold masks.
    training : TrainingSettings, default=TrainingSettings()
        Learning rates, epochs, the dev slice, online re-mining and precision.

    Raises
    ------
    TypeError
        A part that is not of its settings class.

    See Also
    --------
    prepare : assembles the recipe with these settings.
    BatchSettings, LossSettings, TrainingSettings : the parts.
    graphneg.NegativeSelection : the mining part.

    Examples
    --------
    >>> RecipeSettings(batches=BatchSettings(kind="random")).batches.kind
    'random'
    >>> RecipeSettings().mining.num_negatives
    3
    """

    batches: BatchSettings = BatchSettings()
    mining: NegativeSelection = MINING
    loss: LossSettings = LossSettings()
    training: TrainingSettings = TrainingSettings()

    def __post_init__(self) -> None:
        for name, cls in (("batches", BatchSettings), ("mining", NegativeSelection), ("loss", LossSettings),
                          ("training", TrainingSettings)):
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise TypeError(f"`{name}` must be a {cls.__name__}, got {type(value).__name__}.")
