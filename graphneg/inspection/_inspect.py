"""``inspect``: one summary dict for an embeddings file, a graph file, a citation corpus, a
batch file or a mined-negatives file.

Each input kind is read by the reader graphneg already has for it; the numbers come from the
section modules (``_graph_summary``, ``_community_summary``, ``_batch_summary``,
``_negatives_summary``) and the 2-D map from ``_map``. The summary is plain JSON-ready data:
the plots and the report are drawn from it alone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_choice, check_int
from .._version import __version__
from ..io._batch_files import read_batches
from ..io._graph_files import is_graph_file, load_graph
from ..io._graph_format import content_hash
from ..similarity._communities import ALGORITHMS
from ..similarity._knn import knn_graph
from ..io._jsonl import iter_jsonl
from ._negatives_summary import negatives_format, negatives_summary, read_negatives
from ._numbers import as_json
from ._options import BatchOptions, GraphOptions
from ._sections import data_summary

logger = logging.getLogger(__name__)

KINDS = ("embeddings", "graph", "citations", "batches", "negatives")


def detect_kind(path: str | os.PathLike[str]) -> str:
    """The input kind of ``path``: one of ``KINDS``.

    ``.npy``: embeddings; ``.npz`` with CSR arrays: a graph file; JSONL whose first record has
    ``indices``: a batch file; one in a trainer format: mined negatives; anything else a
    citation corpus (file or folder, as ``graphneg citations`` reads it).

    See Also
    --------
    inspect : reads ``path`` as this kind.
    graphneg.save_graph : writes the graph files it recognises by their CSR arrays.

    Examples
    --------
    >>> detect_kind("x.npy")
    'embeddings'
    """
    path = Path(path)
    if path.suffix == ".npy":
        return "embeddings"
    if path.suffix == ".npz":
        if path.is_file() and not is_graph_file(path):
            raise ValueError(f"{path} is an .npz file but not a graphneg graph file (no CSR arrays)")
        return "graph"
    if path.is_file() and path.suffix in (".jsonl", ".json"):
        first = _first_record(path)
        if isinstance(first, dict) and "indices" in first:
            return "batches"
        if isinstance(first, dict) and negatives_format(first):
            return "negatives"
    return "citations"


def _first_record(path: Path) -> Any:
    for _, rec, _ in iter_jsonl(path):
        return rec  # None when the first line is not a JSON object
    return None


def inspect(
    source: str | os.PathLike[str],
    *,
    embeddings: Any = None,
    labels: Any = None,
    ids: Any = None,
    positives: Any = None,
    links: Any = None,
    graph_options: GraphOptions | None = None,
    batch_options: BatchOptions | None = None,
    negatives_options: Mapping[str, Any] | None = None,
    map_method: str = "auto",
    seed: int = 0,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Summarise a graph, its communities, a batch file or mined negatives before training.

    Parameters
    ----------
    source : str or path-like
        An embeddings ``.npy`` (the graph is built as ``graphneg batches`` builds it), a graph
        file (:func:`save_graph`), a citation corpus (any format :func:`graphneg.read_citations`
        reads), a batches JSONL (``graphneg batches``) or a mined-negatives JSONL (the
        trainer formats graphneg writes); see :func:`detect_kind`.
    embeddings : array-like of shape (n_items, dim) or path, default=None
        Item embeddings (not needed for a ``.npy`` source): similarities, the kNN graph of a
        citation corpus, the 2-D map.
    labels : array-like of shape (n_items,), default=None
        Class per item: same-label pairs count as likely false negatives.
    ids : sequence of str, default=None
        Item id per embedding row: maps a negatives file's or corpus's ids onto rows.
    positives : sparse array of shape (n_items, n_items) or LinkGraph, default=None
        Known positives between items (qrels); a :class:`~graphneg.LinkGraph`'s rows are its
        nodes in order.
    links : sparse array of shape (n_items, n_items) or LinkGraph, default=None
        A link graph between items (e.g. citations).
    graph_options : GraphOptions, default=None
        The kNN graph's and the communities' options, how a citation corpus is read, and a
        cache (default ``GraphOptions()``: ``k=10``, cosine, :func:`graphneg.communities`, as
        ``graphneg batches``).
    batch_options : BatchOptions, default=None
        How the batches are packed from the communities, and the DDP ranks (default
        ``BatchOptions()``: 64 items, ``CommunityBatchSampler``'s packing, one rank).
    negatives_options : mapping, default=None
        Mining settings to mark in the negatives section (``range_min``, ``range_max``,
        ``relative_margin``, ``absolute_margin``).
    map_method : {'auto', 'umap', 'pca'}, default='auto'
        The 2-D map: PCA (``auto``, fast) or UMAP on request (extra ``[plot]``).
    seed : int, default=0
        Every sample and random control.
    show_progress : bool, default=False
        Progress bars on the long steps.

    Returns
    -------
    dict
        JSON-serialisable: ``input`` (kind, path, sizes), and as the input allows ``graph``,
        ``knn_graph``, ``communities``, ``batches``, ``negatives`` and ``map`` (see
        ``docs/inspect.md`` for every field).

    Raises
    ------
    FileNotFoundError, ValueError
        A missing input, an input of no known kind, or inputs that do not match (one line);
        corpus options for an input that is not a citation corpus.
    TypeError
        ``positives``/``links`` of another type, options that are not a :class:`GraphOptions`
        / :class:`BatchOptions`.

    Warns
    -----
    GraphNegWarning
        A negatives file scored with ``ids``: how many of its query, positive and negative ids
        name no embedding row (those are left out of the scores and ranks, not dropped silently).

    See Also
    --------
    write_report : ``summary.json``, the plots and ``report.html`` from the summary.
    format_summary : the summary's headline numbers as text.
    detect_kind : which kind of input ``source`` is read as.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(p, np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32))
    >>> s = inspect(p, batch_options=BatchOptions(batch_size=16), map_method="pca")
    >>> s["input"]["kind"], s["graph"]["num_nodes"], s["batches"]["num_batches"] >= 3
    ('embeddings', 60, True)
    """
    t0 = time.perf_counter()
    check_choice(map_method, "map_method", ("auto", "umap", "pca"))
    graph_options = _options(graph_options, GraphOptions, "graph_options")
    batch_options = _options(batch_options, BatchOptions, "batch_options")
    seed = check_int(seed, "seed", min_value=0)
    positives = _pair_matrix(positives, "positives")
    links = _pair_matrix(links, "links")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    kind = detect_kind(path)
    if graph_options.corpus and kind != "citations":
        raise ValueError(f"`graph_options.corpus` applies to citation corpora only; {path} is read as {kind}")
    X = _embeddings(embeddings)
    common = dict(labels=labels, positives=positives, links=links, batch_options=batch_options, seed=seed,
                  show_progress=show_progress, map_method=map_method)
    g_opts = graph_options.knn_keywords()
    c_opts = graph_options.community_keywords(seed)
    cache_dir = graph_options.cache_dir
    if kind == "embeddings":
        X = _embeddings(path)
        summary = _from_embeddings(path, X, g_opts, c_opts, cache_dir, **common)
    elif kind == "graph":
        summary = _from_graph_file(path, X, c_opts, **common)
    elif kind == "citations":
        summary = _from_citations(path, X, ids, g_opts, c_opts, dict(graph_options.corpus), **common)
    elif kind == "batches":
        summary = _from_batches(path, X, g_opts, c_opts, cache_dir, **common)
    else:
        summary = _from_negatives(path, X, ids, negatives_options, seed)
    summary["input"] = {"kind": kind, "path": str(path), **summary.get("input", {})}
    summary["graphneg_version"] = __version__
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    return as_json(summary)


def _options(value: Any, cls: type, name: str) -> Any:
    """``value`` when it is a ``cls``, the defaults for None; anything else raises."""
    if value is None:
        return cls()
    if not isinstance(value, cls):
        raise TypeError(f"`{name}` must be a {cls.__name__}, got {type(value).__name__}.")
    return value


def _pair_matrix(value: Any, name: str) -> Any:
    """``positives``/``links`` as a sparse matrix: a :class:`~graphneg.LinkGraph` gives its
    adjacency (rows in its node order), a dense 2-D array is converted; anything else raises."""
    if value is None or sp.issparse(value):
        return value
    adjacency = getattr(value, "adjacency", None)
    if adjacency is not None and sp.issparse(adjacency):
        return adjacency
    if isinstance(value, np.ndarray) and value.ndim == 2:
        return sp.csr_array(value)
    raise TypeError(
        f"`{name}` must be a scipy.sparse matrix, a 2-D array or a LinkGraph, got {type(value).__name__}."
    )


def _embeddings(value: Any) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)):
        p = Path(value)
        if not p.is_file():
            raise FileNotFoundError(f"embeddings {p} does not exist")
        value = np.load(p, allow_pickle=False)
    X = np.asarray(value)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"embeddings must be a 2-D (n_items, dim) array, got shape {X.shape}")
    return X


def _from_embeddings(path: Path, X: np.ndarray, g_opts: dict[str, Any], c_opts: dict[str, Any],
                     cache_dir: Any, **common: Any) -> dict[str, Any]:
    graph, comm, hit = _graph_and_communities(X, g_opts, c_opts, cache_dir, common["show_progress"])
    summary = data_summary(graph=graph, communities=comm, embeddings=X, knn=g_opts, **common)
    summary["input"] = {"num_items": int(X.shape[0]), "dim": int(X.shape[1]), "graph_options": g_opts,
                        "community_options": c_opts, "from_cache": hit}
    return summary


def _find_communities(graph: Any, options: dict[str, Any]) -> np.ndarray:
    """Communities by the algorithm ``options["method"]`` names (``ALGORITHMS``), with the other keywords."""
    options = dict(options)
    return ALGORITHMS[options.pop("method", "auto")](graph, **options)


def _graph_and_communities(X: np.ndarray, g_opts: dict[str, Any], c_opts: dict[str, Any], cache_dir: Any,
                           show_progress: bool) -> tuple[Any, Any, bool]:
    """The kNN graph and communities of ``X`` (from ``cache_dir`` when it holds them)."""

    def build() -> tuple[Any, Any]:
        logger.info("kNN graph of %d x %d embeddings: %s", X.shape[0], X.shape[1], g_opts)
        G = knn_graph(X, **g_opts, show_progress=show_progress)
        logger.info("communities: %s", c_opts)
        return G, _find_communities(G, c_opts)

    if cache_dir is None:
        graph, comm = build()
        return graph, comm, False
    params = {"graph": g_opts, "communities": c_opts}
    saved, hit = _cached(cache_dir, content_hash(X), params, build)
    return saved.graph, saved.labels, hit


def _cached(cache_dir: Any, key: str, params: dict[str, Any], build: Any) -> Any:
    from ..io._graph_cache import cached_graph

    return cached_graph(cache_dir, key, params, build)


def _from_graph_file(path: Path, X: np.ndarray | None, c_opts: dict[str, Any], **common: Any) -> dict[str, Any]:
    saved = load_graph(path)
    n = saved.graph.shape[0]
    _check_rows(X, n, f"graph file {path}")
    comm = saved.labels if saved.labels is not None else _find_communities(saved.graph, c_opts)
    summary = data_summary(graph=saved.graph, communities=comm, embeddings=X, **common)
    summary["input"] = {"num_items": n, "graph_params": saved.params, "input_sha256": saved.input_hash,
                        "communities_saved": saved.labels is not None}
    return summary


def _check_rows(X: np.ndarray | None, n: int, what: str) -> None:
    if X is not None and X.shape[0] != n:
        raise ValueError(f"embeddings have {X.shape[0]} rows but {what} has {n} items; they do not match")


def _from_citations(path: Path, X: np.ndarray | None, ids: Any, g_opts: dict[str, Any],
                    c_opts: dict[str, Any], read_options: dict[str, Any], **common: Any) -> dict[str, Any]:
    from ._corpus_input import read_corpus

    data, labels, found = read_corpus(path, ids, X, read_options)
    if found is not None:
        X = found[0]
    A = data.graph.adjacency
    _check_rows(X, A.shape[0], f"citation corpus {path}")
    common["labels"] = common["labels"] if common["labels"] is not None else labels
    links = common.pop("links")
    links = A if links is None else links
    summary: dict[str, Any] = {"graph": None}
    if X is not None:  # communities and batches of the embeddings' kNN graph; citations as known links
        knn, comm, _ = _graph_and_communities(X, g_opts, c_opts, None, common["show_progress"])
        summary = data_summary(graph=knn, communities=comm, embeddings=X, knn=g_opts, links=links, **common)
        summary["knn_graph"] = summary.pop("graph")
    else:
        logger.info("communities of the link graph: %s", c_opts)
        comm = _find_communities(A, c_opts)
        summary = data_summary(graph=None, communities=comm, embeddings=None, links=links, **common)
        summary["communities"].update(_community_quality(A, comm))
    from ._graph_summary import graph_summary

    summary["graph"] = graph_summary(A)
    summary["graph"]["reciprocity"] = summary["graph"]["mutual_edge_share"]
    summary["input"] = {"num_items": int(A.shape[0]), "format": data.format, "read": data.counts.summary(),
                        "embeddings": X is not None, "labels": common["labels"] is not None,
                        "embeddings_file": str(found[1]) if found is not None else None}
    return summary


def _community_quality(A: Any, comm: Any) -> dict[str, Any]:
    from ._community_summary import community_summary

    s = community_summary(A, comm)
    return {k: s[k] for k in ("modularity", "edge_cut", "edge_cut_weight")}


def _from_batches(path: Path, X: np.ndarray | None, g_opts: dict[str, Any], c_opts: dict[str, Any],
                  cache_dir: Any, **common: Any) -> dict[str, Any]:
    batches = read_batches(path)
    if not batches:
        raise ValueError(f"{path} holds no batches")
    top = max(int(b.max(initial=-1)) for b in batches)
    n = X.shape[0] if X is not None else top + 1
    if top >= n:
        raise ValueError(f"batch file {path} holds item {top}, but the embeddings have only {n} rows; "
                         "they do not match")
    graph = comm = None
    if X is not None:  # the graph and communities such batches come from: how many a batch spans
        graph, comm, _ = _graph_and_communities(X, g_opts, c_opts, cache_dir, common["show_progress"])
    summary = data_summary(graph=graph, communities=comm, embeddings=X, batches=batches,
                           knn=g_opts if X is not None else None, **common)
    summary["input"] = {"num_items": n, "embeddings": X is not None, "graph_options": g_opts,
                        "community_options": c_opts}
    return summary


def _from_negatives(path: Path, X: np.ndarray | None, ids: Any, options: Mapping[str, Any] | None,
                    seed: int) -> dict[str, Any]:
    fmt = negatives_format(_first_record(path) or {})
    try:
        rows = read_negatives(path, fmt)  # type: ignore[arg-type]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a {fmt} negatives file (bad record: {err})") from None
    if not rows:
        raise ValueError(f"{path} holds no rows")
    row_of = None
    if X is not None:
        if ids is None:
            raise ValueError("scoring a negatives file with embeddings needs the id of every row (ids / --ids)")
        ids = [str(i) for i in ids]
        _check_rows(X, len(ids), "the ids list")
        row_of = {v: i for i, v in enumerate(ids)}
    out = negatives_summary(rows, embeddings=X, row_of=row_of, seed=seed, **dict(options or {}))
    return {"negatives": out, "input": {"format": fmt, "rows": len(rows)}}
