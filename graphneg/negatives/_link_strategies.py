"""The link-negative strategies by name, for the runners that call one over many chunks.

:data:`LINK_STRATEGIES` names every per-strategy function (the ``--strategy`` of ``graphneg
citations``); :func:`resolve_link_strategy` reads which one a caller passed, with the options
bound in it; :func:`citing_banned` and :func:`draw_from_pattern` let a runner build the banned
pattern of all citing papers once and draw the pattern-only strategies
(:data:`PATTERN_STRATEGIES`) chunk by chunk from row slices of it, with the same result as
calling the strategy on each chunk.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._sampling import sample_distinct
from ..links._graph import LinkGraph
from ._link_base import LinkNegatives
from ._link_by_embedding import bica_link_negatives, scincl_link_negatives
from ._link_negatives import (
    degree_link_negatives,
    degree_weights,
    khop_link_negatives,
    ppr_link_negatives,
    specter_link_negatives,
    uniform_link_negatives,
)

#: name -> per-strategy function, for the command line and :func:`graphneg.citation_training_data`
LINK_STRATEGIES: dict[str, Callable[..., LinkNegatives]] = {
    "uniform": uniform_link_negatives,
    "khop": khop_link_negatives,
    "degree": degree_link_negatives,
    "ppr": ppr_link_negatives,
    "specter": specter_link_negatives,
    "bica": bica_link_negatives,
    "scincl": scincl_link_negatives,
}

# set by the runner for each chunk: never bound by the caller
_RUNNER_ARGUMENTS = ("graph", "embeddings", "sources", "exclude", "seed")


@dataclass(frozen=True)
class LinkStrategy:
    """A strategy as a runner calls it: its name, the shared counts and its own options."""

    name: str
    num_negatives: Any
    exclude_hops: Any
    options: dict[str, Any] = field(default_factory=dict)  # the strategy's own, as bound


def resolve_link_strategy(negatives: Any, embeddings: Any) -> LinkStrategy:
    """The :class:`LinkStrategy` of a per-strategy function or a ``functools.partial`` of one.

    The partial's keywords are the strategy's own options and, optionally, ``num_negatives``
    and ``exclude_hops`` (otherwise the function's defaults); the arguments a runner sets
    (``_RUNNER_ARGUMENTS``) must not be bound. ``embeddings`` must be given exactly when the
    strategy takes them. Values are checked where the strategy uses them.

    >>> resolve_link_strategy(functools.partial(khop_link_negatives, hops=3, num_negatives=2), None)
    LinkStrategy(name='khop', num_negatives=2, exclude_hops=1, options={'hops': 3})
    """
    fn, options = (negatives.func, dict(negatives.keywords)) if isinstance(negatives, functools.partial) \
        else (negatives, {})
    names = {f: n for n, f in LINK_STRATEGIES.items()}
    if fn not in names or (isinstance(negatives, functools.partial) and negatives.args):
        raise ValueError(
            "`negatives` must be one of graphneg's link-negative functions (uniform_link_negatives, ...) or a "
            f"functools.partial of one binding its options by keyword, got {negatives!r}."
        )
    params = inspect.signature(fn).parameters
    for option in options:
        if option in _RUNNER_ARGUMENTS or option not in params:
            raise ValueError(f"`{option}` is not an option of {fn.__name__} that can be bound here; "
                             f"its options: {', '.join(p for p in params if p not in _RUNNER_ARGUMENTS) or 'none'}.")
    if ("embeddings" in params) != (embeddings is not None):
        need = "needs" if "embeddings" in params else "does not take"
        raise ValueError(f"{fn.__name__} {need} `embeddings`.")
    shared = {name: options.pop(name, params[name].default) for name in ("num_negatives", "exclude_hops")}
    return LinkStrategy(names[fn], options=options, **shared)


# strategies that draw from the banned pattern alone (no per-source candidate sets)
PATTERN_STRATEGIES = ("uniform", "degree")


def citing_banned(graph: LinkGraph, src: np.ndarray, exclude_hops: int) -> sp.csr_array:
    """The banned pattern of ``sources=src`` with ``exclude`` = each source's out-links, in one pass.

    The same pattern as the strategies build when given those ``exclude`` rows (a source's
    out-links are within one hop), for ``exclude_hops`` 0 or 1: the source itself plus its
    row of the adjacency (0) or of the undirected adjacency (1). Row slices of it serve
    chunks of ``src``: ``draw_from_pattern(..., banned[lo:hi], ...)`` equals the strategy
    called on ``src[lo:hi]``, for the same generator.

    >>> g = LinkGraph.from_index_edges([[0, 2], [1, 0], [2, 3]])
    >>> citing_banned(g, np.array([0, 2]), 1).toarray().astype(int).tolist()
    [[1, 1, 1, 0], [1, 0, 1, 1]]
    """
    if exclude_hops not in (0, 1):
        raise ValueError(f"`exclude_hops` must be 0 or 1 here, got {exclude_hops}.")
    src = np.asarray(src, dtype=np.int64)
    m, n = src.size, graph.num_nodes
    A = graph.adjacency
    # the undirected rows of the sources only, as one sparse sum (graph.undirected() symmetrises the whole graph)
    P = (A if exclude_hops == 0 else A + A.T.tocsr())[src]
    indptr, cols = P.indptr.astype(np.int64), P.indices.astype(np.int64)
    per_row = np.diff(indptr)
    row = np.repeat(np.arange(m, dtype=np.int64), per_row)
    owner = src[row]
    below = np.bincount(row[cols < owner], minlength=m)  # where the source itself goes in its row
    missing = np.bincount(row[cols == owner], minlength=m) == 0  # (a self-loop is there already)
    at = indptr[:-1][missing] + below[missing]
    cols = np.insert(cols, at, src[missing])
    indptr = indptr + np.concatenate(([0], np.cumsum(missing)))
    B = sp.csr_array((np.ones(cols.size, dtype=bool), cols, indptr), shape=(m, n))
    B.has_canonical_format = True  # sorted and unique by construction
    return B


def draw_from_pattern(
    name: str, graph: LinkGraph, banned: sp.csr_array, k: int, rng: np.random.Generator, *,
    rows: np.ndarray | None = None, **options: Any,
) -> np.ndarray:
    """``name``'s negatives (one of :data:`PATTERN_STRATEGIES`) given its banned pattern.

    ``rows``: pattern row of each output row (several output rows may share one source: one
    draw per citation instead of per citing paper); None, one output row per pattern row.
    """
    if name == "uniform":
        return sample_distinct(banned, k, rng, rows=rows).indices
    if name == "degree":
        # the public function's default power unless one is bound
        power = options.get("power", inspect.signature(degree_link_negatives).parameters["power"].default)
        return sample_distinct(banned, k, rng, rows=rows, weights=degree_weights(graph, power)).indices
    raise ValueError(f"{name!r} does not draw from a pattern; use one of {PATTERN_STRATEGIES}.")
