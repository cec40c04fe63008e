"""One way to spell randomness: numpy Generators derived from integer seeds.

Per-epoch streams use ``np.random.default_rng([seed, epoch])`` (a SeedSequence), never
``seed + epoch``, which makes ``(seed=0, epoch=1)`` and ``(seed=1, epoch=0)`` collide.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

SeedLike = int | np.random.Generator | None


def check_rng(seed: SeedLike) -> np.random.Generator:
    """Turn ``seed`` (int, Generator or None) into a :class:`numpy.random.Generator`.

    ``None`` means seed 0, not entropy: graphneg is deterministic unless the caller
    passes a Generator they seeded from entropy themselves.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng(0)
    if isinstance(seed, Integral) and not isinstance(seed, bool) and int(seed) >= 0:
        return np.random.default_rng(int(seed))
    raise TypeError(f"`seed` must be a non-negative int, a numpy Generator or None, got {seed!r}.")


def epoch_rng(seed: int, epoch: int, *extra: int) -> np.random.Generator:
    """Return the Generator for ``(seed, epoch, *extra)``; distinct tuples give independent streams."""
    return np.random.default_rng([int(seed), int(epoch), *map(int, extra)])


def derive_seed(rng: np.random.Generator) -> int:
    """Draw a 31-bit int seed from ``rng`` for libraries that take ints (igraph, leidenalg)."""
    return int(rng.integers(0, 2**31 - 1))
