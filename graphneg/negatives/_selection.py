r"""Which retrieved candidates become hard negatives: one options object, shared by every miner.

:class:`NegativeSelection` holds what :func:`~graphneg.mine_hard_negatives`,
:func:`~graphneg.select_negatives`, :func:`~graphneg.required_depth` and
:func:`graphneg.distributed.mine_hard_negatives` do with the candidates once they are
scored: the score filters, the rank window, the count, the sampling strategy and its seed.
It is validated where it is built, so a bad setting fails before any search. The sampled
strategies with options are objects of their own (:class:`SimANS`, :class:`Softmax`), so no
signature carries an option of a strategy that is not chosen.

The per-block functions below (filters, rank window, one function per sampling strategy) are
what :func:`graphneg.negatives._mining.mine_blocks` applies to each block of candidates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union

import numpy as np

from .._random import SeedLike
from .._validation import check_float, check_int


@dataclass(frozen=True)
class SimANS:
    r"""SimANS sampling: ambiguous negatives around the positive's score (Zhou et al., 2022).

    Without replacement among the survivors of the window, with

    .. math::

        p_i \propto \exp\bigl(-a\, (s_i - s^+ - b)^2\bigr),

    :math:`s_i` a candidate's score and :math:`s^+` the query's lowest positive score (the
    paper's sign: the mode is at :math:`s^+ + b`). Reference: K. Zhou et al., "SimANS: Simple
    Ambiguous Negatives Sampling for Dense Text Retrieval", EMNLP 2022, arXiv:2210.11773.

    Parameters
    ----------
    a : float, default=0.5
        Sharpness, :math:`a > 0`.
    b : float, default=0.0
        Offset of the mode from :math:`s^+`.

    See Also
    --------
    Softmax : sampled top-k, :math:`p_i \propto e^{s_i / T}`.
    NegativeSelection : where a sampling strategy is chosen.

    Examples
    --------
    >>> SimANS(a=2.0)
    SimANS(a=2.0, b=0.0)
    >>> SimANS(a=0)
    Traceback (most recent call last):
    ...
    ValueError: `SimANS.a` must be > 0.0, got 0.0.
    """

    a: float = 0.5
    b: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", check_float(self.a, "SimANS.a", min_value=0.0, min_inclusive=False))
        object.__setattr__(self, "b", check_float(self.b, "SimANS.b"))


@dataclass(frozen=True)
class Softmax:
    r"""NV-Retriever's sampled top-k: :math:`p_i \propto \exp(s_i / T)`, without replacement.

    Reference: G. de Souza P. Moreira et al., "NV-Retriever: Improving text embedding models
    with effective hard-negative mining", 2024, arXiv:2407.15831.

    Parameters
    ----------
    temperature : float, default=0.05
        :math:`T > 0`; smaller is closer to ``'top'``.

    See Also
    --------
    SimANS : sampling around the positive's score.
    NegativeSelection : where a sampling strategy is chosen.

    Examples
    --------
    >>> Softmax(temperature=0.1)
    Softmax(temperature=0.1)
    """

    temperature: float = 0.05

    def __post_init__(self) -> None:
        object.__setattr__(self, "temperature", check_float(self.temperature, "Softmax.temperature", min_value=0.0,
                                                            min_inclusive=False))


Sampling = Union[Literal["top", "random"], SimANS, Softmax]

# applied in this order (sentence-transformers' order)
_FILTER_NAMES = ("absolute_margin", "relative_margin", "max_score", "min_score")


@dataclass(frozen=True)
class NegativeSelection:
    r"""How mined candidates become negatives: filters, rank window, count, sampling, seed.

    Semantics are those of sentence-transformers' ``mine_hard_negatives`` (v5/v6) for the
    shared options. After a query's positives (and excluded rows) are removed from its
    retrieved candidates:

    1. candidates are removed by the score filters, in this order: ``absolute_margin``,
       ``relative_margin``, ``max_score``, ``min_score``; the margins compare with the query's
       *lowest* positive score :math:`s^+`;
    2. the survivors, in score order, are cut to ranks ``[range_min, range_max)`` (ranks among
       *survivors*, not raw ranks);
    3. ``num_negatives`` of them are chosen by ``sampling``.

    Parameters
    ----------
    num_negatives : int, default=3
    range_min : int, default=0
        Survivors skipped first (NV-Retriever's "top-k shifted by N").
    range_max : int, default=None
        Survivors considered. ``None``: ``range_min + num_negatives + max_positives``, or
        ``range_min + 10 * num_negatives + max_positives`` when a margin or ``max_score``
        is set (sentence-transformers' rule).
    max_score, min_score : float, default=None
        Drop candidates scoring above / below (NV-Retriever TopK-Abs is ``max_score``).
    absolute_margin : float, default=None
        Keep a candidate only if :math:`s \le s^+ - m` (NV-Retriever *TopK-MarginPos*).
    relative_margin : float, default=None
        Keep a candidate only if :math:`s \le s^+ - |s^+| m`; ``0.05`` is NV-Retriever's
        best setting *TopK-PercPos 95%* (negatives at most 95 % of the positive score).
    sampling : {'top', 'random'}, SimANS or Softmax, default='top'
        ``'top'``: the best ``num_negatives`` survivors. ``'random'``: uniform without
        replacement among the survivors (seeded, unlike sentence-transformers), returned
        sorted by score. :class:`SimANS` and :class:`Softmax` draw without replacement by
        their own weights (Gumbel-top-k).
    seed : int or Generator, default=0
        For the sampled strategies; same seed, same negatives. The sharded
        :func:`graphneg.distributed.mine_hard_negatives` needs an int.

    Raises
    ------
    ValueError, TypeError
        ``num_negatives < 1``, ``range_min < 0``, ``range_max <= range_min``, a negative
        margin, a non-finite score bound, an unknown ``sampling``.

    See Also
    --------
    graphneg.mine_hard_negatives : mine with these settings from embeddings.
    graphneg.select_negatives : apply them to stored candidates.
    graphneg.distributed.mine_hard_negatives : the same, over a process group.
    SimANS, Softmax : the sampled strategies with options.

    Examples
    --------
    >>> NegativeSelection(num_negatives=5, relative_margin=0.05).range_max is None
    True
    >>> NegativeSelection(sampling=SimANS(a=2.0)).sampling
    SimANS(a=2.0, b=0.0)
    >>> NegativeSelection(sampling="simans")
    Traceback (most recent call last):
    ...
    ValueError: `sampling` must be 'top', 'random', a SimANS or a Softmax, got 'simans'; use sampling=SimANS().
    """

    num_negatives: int = 3
    range_min: int = 0
    range_max: int | None = None
    max_score: float | None = None
    min_score: float | None = None
    absolute_margin: float | None = None
    relative_margin: float | None = None
    sampling: Sampling = "top"
    seed: SeedLike = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "num_negatives", check_int(self.num_negatives, "num_negatives"))
        object.__setattr__(self, "range_min", check_int(self.range_min, "range_min", min_value=0))
        if self.range_max is not None:
            range_max = check_int(self.range_max, "range_max")
            if range_max <= self.range_min:
                raise ValueError(f"`range_max` ({range_max}) must be > `range_min` ({self.range_min}).")
            object.__setattr__(self, "range_max", range_max)
        for name, value in self.filters().items():
            object.__setattr__(self, name, value)
        _check_sampling(self.sampling)

    def filters(self) -> dict[str, float]:
        """The score filters that are set, validated, in application order.

        >>> NegativeSelection(min_score=0.1, relative_margin=0.05).filters()
        {'relative_margin': 0.05, 'min_score': 0.1}
        """
        out = {}
        for name in _FILTER_NAMES:
            value = getattr(self, name)
            if value is not None:
                out[name] = check_float(value, name, min_value=0.0 if name.endswith("margin") else None)
        return out


def _check_sampling(sampling: Any) -> None:
    if isinstance(sampling, (SimANS, Softmax)) or (isinstance(sampling, str) and sampling in ("top", "random")):
        return
    hint = {"simans": "; use sampling=SimANS()", "softmax": "; use sampling=Softmax()"}.get(sampling, "") \
        if isinstance(sampling, str) else ""
    raise ValueError(f"`sampling` must be 'top', 'random', a SimANS or a Softmax, got {sampling!r}{hint}.")


# -- sampling strategies: one function each ----------------------------------------------------
def _select_top(
    window: np.ndarray, vals: np.ndarray, ref: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """The first ``n`` candidates of the window (they are in score order)."""
    return window & (np.cumsum(window, axis=1) <= n)


def _gumbel_top(window: np.ndarray, logw: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    r"""``n`` window entries per row without replacement, :math:`P \propto e^{\log w}`.

    Gumbel-top-k: the ``n`` largest :math:`\log w_i + G_i`, :math:`G_i \sim \mathrm{Gumbel}(0, 1)`,
    are a draw of ``n`` items without replacement with probabilities proportional to :math:`w`.
    """
    keys = np.where(window, logw + rng.gumbel(size=window.shape), -np.inf)
    kth = min(n, keys.shape[1])
    top = np.argpartition(-keys, kth - 1, axis=1)[:, :kth]
    chosen = np.zeros(window.shape, dtype=bool)
    np.put_along_axis(chosen, top, True, axis=1)
    return chosen & window


def _select_random(
    window: np.ndarray, vals: np.ndarray, ref: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Uniform without replacement among the window."""
    return _gumbel_top(window, np.zeros(vals.shape), n, rng)


def _select_simans(
    window: np.ndarray, vals: np.ndarray, ref: np.ndarray, n: int, rng: np.random.Generator, *, a: float, b: float,
) -> np.ndarray:
    r"""SimANS: :math:`p_i \propto \exp(-a (s_i - s^+ - b)^2)`, without replacement."""
    return _gumbel_top(window, -a * (vals.astype(np.float64) - ref[:, None] - b) ** 2, n, rng)


def _select_softmax(
    window: np.ndarray, vals: np.ndarray, ref: np.ndarray, n: int, rng: np.random.Generator, *, temperature: float
) -> np.ndarray:
    r"""NV-Retriever's sampled top-k: :math:`p_i \propto \exp(s_i / T)`, without replacement."""
    return _gumbel_top(window, vals.astype(np.float64) / temperature, n, rng)


def negative_sampler(sampling: Sampling) -> Callable[..., np.ndarray]:
    """The per-block selection function of ``sampling`` (already validated by its object)."""
    _check_sampling(sampling)
    if isinstance(sampling, SimANS):
        return functools.partial(_select_simans, a=sampling.a, b=sampling.b)
    if isinstance(sampling, Softmax):
        return functools.partial(_select_softmax, temperature=sampling.temperature)
    return _select_top if sampling == "top" else _select_random


# -- filters: one function each, ``True`` = drop ------------------------------------------------
def _absolute_margin(vals: np.ndarray, ref: np.ndarray, m: float) -> np.ndarray:
    """NV-Retriever TopK-MarginPos: drop :math:`s > s^+ - m`."""
    return vals + m > ref


def _relative_margin(vals: np.ndarray, ref: np.ndarray, m: float) -> np.ndarray:
    """NV-Retriever TopK-PercPos: drop :math:`s > s^+ - |s^+| m`."""
    return vals > ref - np.abs(ref) * m


def _max_score(vals: np.ndarray, ref: np.ndarray, t: float) -> np.ndarray:
    return vals > t


def _min_score(vals: np.ndarray, ref: np.ndarray, t: float) -> np.ndarray:
    return vals < t


SCORE_FILTERS = {
    "absolute_margin": _absolute_margin,
    "relative_margin": _relative_margin,
    "max_score": _max_score,
    "min_score": _min_score,
}


def check_window(
    range_min: Any, range_max: Any, k: int, max_positives: int, filters: dict[str, float]
) -> tuple[int, int]:
    """``(range_min, range_max)`` with sentence-transformers' default ``range_max``, checked against ``k``."""
    range_min = check_int(range_min, "range_min", min_value=0)
    if range_max is None:  # sentence-transformers' rule: 10x deeper when a filter thins the list
        factor = 10 if (set(filters) & {"absolute_margin", "relative_margin", "max_score"}) else 1
        range_max = range_min + factor * k + max_positives
    range_max = check_int(range_max, "range_max")
    if range_max <= range_min:
        raise ValueError(f"`range_max` ({range_max}) must be > `range_min` ({range_min}).")
    if k > range_max - range_min:
        raise ValueError(f"`num_negatives` ({k}) must be <= range_max - range_min ({range_max - range_min}).")
    return range_min, range_max


def range_window(dead: np.ndarray, range_min: int, range_max: int) -> np.ndarray:
    """Survivors ranked ``[range_min, range_max)`` among survivors (score order is kept)."""
    surv_rank = np.cumsum(~dead, axis=1) - 1
    return ~dead & (surv_rank >= range_min) & (surv_rank < range_max)


def retrieval_depth(range_max: int, max_positives: int, max_excluded: int, n_docs: int) -> int:
    """Corpus rows retrieved per query: ``range_max`` survivors, plus room for the most
    positives and excluded rows of any query (they must not eat into ``range_max``), plus one
    for the query's own corpus row (reserved always, as sentence-transformers >= 6.3 does)."""
    return min(range_max + max_positives + max_excluded + 1, n_docs)
