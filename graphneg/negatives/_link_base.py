r"""What every link-negative strategy shares: the result, the banned set, the shared steps.

Every strategy returns, per source node, ``num_negatives`` target rows that are never the
source and, by default, never a true link of it in either direction (``exclude_hops=1``);
a wider false-negative risk set is excluded with ``exclude_hops=h`` (everything within
``h`` undirected hops) and ``exclude`` (known positives). :func:`run_strategy` holds the
steps around each strategy's own kernel: the checks, the banned pattern, the shortage
warning. The public definitions (the banned set :math:`\mathcal B(q)`, the shared parameters,
the shortage policy) are the Notes of :func:`graphneg.uniform_link_negatives`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._random import SeedLike, check_rng
from .._sampling import warn_short
from .._sparse import as_pairs_matrix, canonical_csr
from .._validation import check_int
from ..links._edges import check_node_rows
from ..links._graph import LinkGraph


@dataclass
class LinkNegatives:
    """Negatives per source, as every ``*_link_negatives`` function returns them.

    Attributes
    ----------
    sources : ndarray of shape (n_sources,), int64
    indices : ndarray of shape (n_sources, num_negatives), int64
        Negative target rows, ``-1`` where a source had too few candidates.
    num_short : int
        Sources with fewer than ``num_negatives`` negatives.
    positives : ndarray of shape (n_sources, n_positives), int64 or None
        :func:`~graphneg.scincl_link_negatives` only: the rank-window positives (``-1`` padded).

    See Also
    --------
    graphneg.uniform_link_negatives : the simplest strategy; its Notes give the shared rules.
    graphneg.citation_training_data : writes them as training files, one record per citation.

    Examples
    --------
    >>> from graphneg import LinkGraph, uniform_link_negatives
    >>> g = LinkGraph.from_index_edges([[0, 1], [1, 2], [2, 3], [3, 4]])
    >>> res = uniform_link_negatives(g, [0], num_negatives=2, seed=0)
    >>> res.indices.shape, res.num_short, bool(np.isin(res.indices, [0, 1]).any())
    ((1, 2), 0, False)
    """

    sources: np.ndarray
    indices: np.ndarray
    num_short: int
    positives: np.ndarray | None = None


@dataclass
class StrategyContext:
    """What every strategy's kernel receives: the graph, the sources, the banned pattern, ``k``, the rng."""

    graph: LinkGraph
    src: np.ndarray
    banned: sp.csr_array  # canonical (n_sources x n_nodes) pattern: self, links, hops, exclusions
    k: int
    rng: np.random.Generator
    exclude_hops: int


def banned_pattern(graph: LinkGraph, src: np.ndarray, exclude_hops: int, exclude: Any) -> sp.csr_array:
    """(n_sources x n_nodes) canonical pattern of rows never to return (inputs are not modified)."""
    n, m = graph.num_nodes, src.size
    rows, cols = [np.arange(m, dtype=np.int64)], [src.astype(np.int64)]
    for part in (
        graph.hop_distances(src, exclude_hops) if exclude_hops else None,
        as_pairs_matrix(exclude, m, n, "exclude") if exclude is not None else None,
    ):
        if part is not None:
            rows.append(np.repeat(np.arange(m, dtype=np.int64), np.diff(part.indptr)))
            cols.append(part.indices.astype(np.int64))
    r, c = np.concatenate(rows), np.concatenate(cols)
    return canonical_csr(sp.csr_array((np.ones(r.size, dtype=bool), (r, c)), shape=(m, n)))


def sample_from_sets(sets: list[np.ndarray], k: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``k`` distinct members of each candidate set, uniformly; ``-1`` padded."""
    out = np.full((len(sets), k), -1, dtype=np.int64)
    for i, cand in enumerate(sets):
        take = min(k, cand.size)
        if take:
            out[i, :take] = rng.choice(cand, take, replace=False)
    return out


def filter_sets(B: sp.csr_array, sets: list[np.ndarray]) -> list[np.ndarray]:
    """Each candidate set without the banned rows of its source (row ``i`` of ``B``)."""
    return [np.setdiff1d(np.unique(cand), B.indices[B.indptr[i] : B.indptr[i + 1]]) for i, cand in enumerate(sets)]


def rank_window(value: Any, name: str) -> tuple[int, int]:
    """A rank window ``(start, stop)`` of non-negative ints with ``stop > start``."""
    try:
        start, stop = value
    except (TypeError, ValueError) as err:
        raise TypeError(f"`{name}` must be a (start, stop) pair, got {value!r}.") from err
    start, stop = check_int(start, name, min_value=0), check_int(stop, name, min_value=0)
    if stop <= start:
        raise ValueError(f"`{name}` must be (start, stop) with stop > start, got {value}.")
    return start, stop


def run_strategy(
    name: str, graph: Any, sources: Any, num_negatives: Any, exclude_hops: Any, exclude: Any, seed: SeedLike,
    strategy: Callable[..., Any], **options: Any,
) -> LinkNegatives:
    """The shared steps of every strategy: checks, banned set, the strategy, the shortage warning."""
    if not isinstance(graph, LinkGraph):
        raise TypeError(f"`graph` must be a graphneg.LinkGraph, got {type(graph).__name__}.")
    k = check_int(num_negatives, "num_negatives")
    exclude_hops = check_int(exclude_hops, "exclude_hops", min_value=0)
    rng = check_rng(seed)
    src = np.arange(graph.num_nodes, dtype=np.int64) if sources is None else check_node_rows(sources, graph.num_nodes)
    ctx = StrategyContext(graph, src, banned_pattern(graph, src, exclude_hops, exclude), k, rng, exclude_hops)
    result = strategy(ctx, **options)
    out, positives = result if isinstance(result, tuple) else (result, None)
    num_short = warn_short(out, k, "sources", f"'{name}' negatives")
    return LinkNegatives(src, out, num_short, positives)
