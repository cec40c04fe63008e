"""The search backends of :func:`graphneg.knn_search`: one options object per approximate index.

``backend`` is a name (``'exact'``, ``'auto'``, ``'faiss'``, or an approximate index at its
defaults: ``'ivf'``, ``'faiss-hnsw'``, ``'pynndescent'``) or an options object of one index
(:class:`IVF`, :class:`HNSW`, :class:`NNDescent`), validated where it is built, so that no
signature carries the options of an index that is not chosen. :func:`resolve_backend` turns
either form into ``(name, options)``, resolving ``'auto'`` from the input size and the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from .._search._ivf import check_ivf_options
from .._validation import check_bool, check_choice, check_int

# backend='auto' searches exactly up to this many targets; beyond, the exact search's
# quadratic cost outgrows an inverted file's, which keeps a recall target (adaptive nprobe)
AUTO_EXACT_MAX = 200_000
NAMES = ("exact", "auto", "faiss", "faiss-hnsw", "pynndescent", "ivf")


@dataclass(frozen=True)
class IVF:
    """An inverted file on graphneg's exact tile kernels (no extra package).

    k-means (Lloyd) lists over a seeded sample of the targets; each query is scored against
    the members of its ``nprobe`` nearest lists (:func:`graphneg._search._ivf.ivf_search`).

    Parameters
    ----------
    nlist : int, default=None
        Number of lists; ``None`` gives lists of ~1,000 targets
        (:func:`graphneg._search._ivf.default_nlist`).
    nprobe : int, default=None
        Lists scanned per query (``<= nlist``). ``None``: when adaptive (the default), the
        smallest ``nprobe`` at which the sampled rows' exact neighbours lie in scanned lists
        for ``min_recall`` plus half a point of them (a lower confidence bound; measured per
        search, so it follows the corpus); otherwise :func:`graphneg._search._ivf.default_nprobe`. More probes: higher
        recall, more time.
    seed : int, default=0
        Seed of the k-means sample and start.
    kmeans_iterations : int, default=10
        Lloyd steps.
    train_size : int, default=None
        Rows of the k-means sample; ``None`` is ``max(32 nlist, 10,000)``.
    adaptive : bool, default=None
        Raise ``nprobe`` until the one-sided 95 % lower confidence bound of the recall measured
        on the search's ``recall_sample`` rows reaches its ``min_recall``
        (:func:`graphneg.knn_search`), so the target holds beyond the sample: each round predicts the
        ``nprobe`` the sampled rows need (the probe rank of their exact neighbours' lists),
        scans only the lists not yet scanned, and measures again; a given ``nprobe`` is where
        it starts, else the first round is predicted the same way. ``None``: adaptive when
        ``nprobe`` is ``None`` (as with ``backend='auto'``), a fixed ``nprobe`` otherwise (a
        recall below ``min_recall`` then only warns).
        What it took is logged and recorded (:func:`graphneg.record_searches`).

    See Also
    --------
    HNSW, NNDescent : the other approximate indexes.
    graphneg.knn_search : where a backend is chosen.

    Examples
    --------
    >>> IVF(nlist=64, nprobe=4)
    IVF(nlist=64, nprobe=4, seed=0, kmeans_iterations=10, train_size=None, adaptive=None)
    >>> IVF(nlist=8, nprobe=9)
    Traceback (most recent call last):
    ...
    ValueError: `nprobe` must be <= nlist (8), got 9.
    """

    nlist: int | None = None
    nprobe: int | None = None
    seed: int = 0
    kmeans_iterations: int = 10
    train_size: int | None = None
    adaptive: bool | None = None

    def __post_init__(self) -> None:
        if self.adaptive is not None:
            object.__setattr__(self, "adaptive", check_bool(self.adaptive, "IVF.adaptive"))
        extra = {"seed": self.seed, "kmeans_iterations": self.kmeans_iterations}
        if self.train_size is not None:
            extra["train_size"] = self.train_size
        nlist, nprobe, checked = check_ivf_options(self.nlist, self.nprobe, extra)
        for name, value in (("nlist", nlist), ("nprobe", nprobe), *checked.items()):
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class HNSW:
    """faiss ``IndexHNSWFlat``: a hierarchical navigable small-world graph (extra ``[faiss]``).

    Parameters
    ----------
    M : int, default=32
        Links per node.
    ef_construction : int, default=80
        Candidate list while building.
    ef_search : int, default=None
        Candidate list while searching; ``None`` is ``max(64, 2 * (k + skip + 1))``. Raise it
        when the logged recall is too low.

    See Also
    --------
    IVF, NNDescent : the other approximate indexes.

    Examples
    --------
    >>> HNSW(ef_search=128)
    HNSW(M=32, ef_construction=80, ef_search=128)
    """

    M: int = 32
    ef_construction: int = 80
    ef_search: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "M", check_int(self.M, "HNSW.M"))
        object.__setattr__(self, "ef_construction", check_int(self.ef_construction, "HNSW.ef_construction"))
        if self.ef_search is not None:
            object.__setattr__(self, "ef_search", check_int(self.ef_search, "HNSW.ef_search"))


@dataclass(frozen=True)
class NNDescent:
    """pynndescent's nearest-neighbour descent graph (extra ``[ann]``).

    Parameters
    ----------
    n_neighbors : int, default=30
        Neighbours of the index graph (at least ``k + skip + 1`` are used).
    seed : int, default=0
        ``random_state`` of the index.

    See Also
    --------
    IVF, HNSW : the other approximate indexes.

    Examples
    --------
    >>> NNDescent(n_neighbors=50)
    NNDescent(n_neighbors=50, seed=0)
    """

    n_neighbors: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_neighbors", check_int(self.n_neighbors, "NNDescent.n_neighbors"))
        object.__setattr__(self, "seed", check_int(self.seed, "NNDescent.seed", min_value=0))


Backend = Union[str, IVF, HNSW, NNDescent]
_OBJECTS = {IVF: "ivf", HNSW: "faiss-hnsw", NNDescent: "pynndescent"}
_DEFAULTS = {"ivf": IVF, "faiss-hnsw": HNSW, "pynndescent": NNDescent}


def resolve_backend(backend: Any, precision: str, size: tuple[int, int, int]) -> tuple[str, Any]:
    """``(name, options)`` of ``backend`` (``'auto'`` resolved); ``options`` is the index's
    options object, ``None`` for the exact searches. Reduced precision needs ``'exact'``.

    >>> resolve_backend("ivf", "fp32", (10, 10, 4))
    ('ivf', IVF(nlist=None, nprobe=None, seed=0, kmeans_iterations=10, train_size=None, adaptive=None))
    """
    if type(backend) in _OBJECTS:
        name, options = _OBJECTS[type(backend)], backend
    else:
        name = check_choice(backend, "backend", NAMES)
        if name == "auto":
            name = _auto_backend(size)
        options = _DEFAULTS[name]() if name in _DEFAULTS else None
    if precision != "fp32" and name != "exact":
        raise ValueError(f"`precision={precision!r}` needs backend='exact', got backend={name!r}.")
    return name, options


def _auto_backend(size: tuple[int, int, int]) -> str:
    """The backend of ``backend='auto'`` for ``size = (n_queries, n_targets, dim)``: exact up to
    ``AUTO_EXACT_MAX`` targets; beyond, ``'ivf'`` with an adaptive ``nprobe``, the one index
    whose search effort is raised in place until the sampled recall reaches ``min_recall``
    (the lists already scanned are kept). pynndescent and faiss HNSW stay available by name:
    at their defaults they missed the target on a 1M continuum (pynndescent's recall 0.787)
    and have no such knob to raise without searching again.

    >>> _auto_backend((1000, 1000, 384)), _auto_backend((1000, 10**6, 384))
    ('exact', 'ivf')
    """
    return "exact" if size[1] <= AUTO_EXACT_MAX else "ivf"
