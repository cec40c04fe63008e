"""From a sparse graph to igraph (and networkit) input, and igraph's seeding.

Every community algorithm works on the undirected graph: an edge in either direction becomes
one edge carrying the larger of its two weights, and the diagonal is dropped. This module
builds that graph without a per-edge Python object where it can, and holds the two pieces of
igraph/leidenalg plumbing the algorithms share: a seeded private generator for igraph's
process-global one, and leidenalg's C errors turned into ``ValueError``.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._sparse import symmetric
from .._validation import check_bool, check_graph


def _undirected(G: sp.csr_array) -> sp.csr_array:
    """Symmetric weights (the larger of both directions) without the diagonal: a new array."""
    return symmetric(G, "union")


def _upper_edges(G: sp.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges ``lo < hi`` of a canonical graph, each with the larger weight of its directions,
    ordered by ``(lo, hi)``: the upper triangle of :func:`_undirected` without building the
    symmetric matrix (one sort of the stored edges instead of two CSR passes over twice as many).

    >>> G = sp.csr_array(np.array([[0, 2.0, 0], [1.0, 0, 3.0], [0, 0, 5.0]]))
    >>> [a.tolist() for a in _upper_edges(G)]
    [[0, 1], [1, 2], [2.0, 3.0]]
    """
    n = G.shape[0]
    # in place where possible: half the temporaries per stored edge, in the stage that sets
    # the memory peak of a million-item pipeline
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(G.indptr))
    hi = G.indices.astype(np.int64)
    lo = np.minimum(rows, hi)
    np.maximum(rows, hi, out=hi)
    del rows
    off = lo != hi
    lo *= n
    lo += hi
    del hi
    keys, w = lo[off], G.data[off]
    del lo, off
    order = np.argsort(keys, kind="stable")
    keys, w = keys[order], w[order]
    del order
    if keys.size == 0:
        return keys, keys.copy(), w
    first = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    keys = keys[first]
    return keys // n, keys % n, np.maximum.reduceat(w, first)


def _edge_pairs(rows: np.ndarray, cols: np.ndarray, step: int = 1 << 16) -> Iterator[tuple[int, int]]:
    """``(row, col)`` pairs of Python ints, converted a chunk at a time.

    python-igraph's wheels (limited C API) read any edge container pair by pair; from a
    numpy array each pair becomes two numpy scalars, several times slower than plain ints.
    A ``zip`` over ``tolist()`` chunks hands it plain ints and recycles its tuple, and no
    edge-list-sized Python object is built (a full ``tolist()`` costs ~130 bytes an edge).
    """
    chunks = (zip(rows[i : i + step].tolist(), cols[i : i + step].tolist(), strict=True)
              for i in range(0, rows.size, step))
    return itertools.chain.from_iterable(chunks)  # C iteration: no generator frame per edge


def _igraph_of(G: sp.csr_array, weighted: bool) -> Any:
    """The undirected igraph of a canonical sparse graph: :func:`_undirected`'s upper triangle."""
    import igraph as ig

    rows, cols, weights = _upper_edges(G)
    g = ig.Graph(n=G.shape[0], edges=_edge_pairs(rows, cols), directed=False)
    if weighted:
        # a float64 array: python-igraph stores it without a Python float per edge
        g.es["weight"] = weights.astype(np.float64)
    return g


def to_igraph(graph: Any, *, weighted: bool = True) -> Any:
    """Convert a sparse graph to an undirected :class:`igraph.Graph` (edge attribute ``weight``).

    Direction is dropped (an edge in either direction becomes one undirected edge with the
    larger weight) and the diagonal is ignored. ``graph`` is not modified.

    Parameters
    ----------
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        The graph.
    weighted : bool, default=True
        Store the edge weights as the ``weight`` attribute.

    Returns
    -------
    igraph.Graph

    See Also
    --------
    communities : The default community detection, which runs on this graph.
    leiden_communities, louvain_communities : Algorithms that run on this graph.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> g = to_igraph(sp.csr_array(np.array([[0, 1.0], [0, 0]])))
    >>> g.vcount(), g.ecount(), [float(w) for w in g.es["weight"]]
    (2, 1, [1.0])
    """
    weighted = check_bool(weighted, "weighted")
    return _igraph_of(check_graph(graph, "graph"), weighted)


# igraph's random generator is process-global and igraph offers no getter for it. graphneg
# installs a private seeded generator for the duration of one call, under a lock (so that
# concurrent calls cannot interleave their seeds), and then re-installs the generator that
# igraph itself installs at import, Python's ``random`` module. A generator installed by the
# caller through ``igraph.set_random_number_generator`` cannot be restored and must be
# re-installed after calls to leiden_communities / louvain_communities.
_IGRAPH_RNG_LOCK = threading.Lock()


@contextlib.contextmanager
def _igraph_seed(seed: int) -> Iterator[None]:
    """Seed igraph's process-global RNG for one call, then restore igraph's default."""
    import igraph as ig

    with _IGRAPH_RNG_LOCK:
        ig.set_random_number_generator(random.Random(seed))
        try:
            yield
        finally:
            ig.set_random_number_generator(random)


def _leidenalg(la: Any, g: Any, ptype: Any, **kwargs: Any) -> Any:
    """``leidenalg.find_partition``, with its C errors (raised as BaseException) as ValueError."""
    try:
        return la.find_partition(g, ptype, **kwargs)
    except Exception as err:
        raise ValueError(f"leidenalg failed: {err}") from err
    except BaseException as err:  # leidenalg raises a bare BaseException for C-level errors
        if isinstance(err, (KeyboardInterrupt, SystemExit, GeneratorExit)):
            raise
        raise ValueError(f"leidenalg failed: {err}") from None
