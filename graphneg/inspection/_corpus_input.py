"""A citation corpus as ``inspect`` reads it: :func:`graphneg.read_citations`, plus a folder
of ``nodes.jsonl`` and an edge list that is not in canonical form (as BEIR-style corpora
and ``../shared/data/citeseer_text`` ship), with its labels and its one embeddings file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..io._jsonl import read_jsonl

logger = logging.getLogger(__name__)

_EDGE_FILES = ("edges.tsv", "edges.csv", "edges.txt")


def read_corpus(
    path: Path, ids: Any = None, embeddings: Any = None, read_options: dict[str, Any] | None = None
) -> tuple[Any, np.ndarray | None, Any]:
    """The corpus at ``path`` as ``(CitationData, labels or None, embeddings found or None)``.

    Parameters
    ----------
    path : pathlib.Path
        File or folder.
    ids : sequence of str, default=None
        The corpus id of each embedding row: the graph is reordered to follow it.
    embeddings : array-like, default=None
        Given embeddings; when None and ``path`` is a folder holding exactly one ``.npy`` with
        one row per node, that file is used (and logged).
    read_options : dict, default=None
        :func:`graphneg.read_citations` keywords (``format``, ``delimiter``, ``header``). With
        none (or ``format='auto'`` alone) a folder the readers do not recognise is still read
        when it holds ``nodes.jsonl`` and an edge list; an explicit format is taken as given.

    Returns
    -------
    tuple
        ``found`` is None or ``(array, path)``.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "nodes.jsonl").write_text('{"_id": "a", "label": "x"}\\n{"_id": "b", "label": "y"}\\n')
    >>> _ = (folder / "edges.tsv").write_text("citing\\tcited\\na\\tb\\n")
    >>> data, labels, X = read_corpus(folder)
    >>> data.ids, labels.tolist(), X is None
    (['a', 'b'], [0, 1], True)
    """
    from ..io import read_citations

    options = dict(read_options or {})
    try:
        data = read_citations(path, **options)
    except (ValueError, KeyError) as err:
        if options.get("format", "auto") != "auto" or set(options) - {"format"}:
            raise  # the caller said how to read it: its error is the answer
        data = _nodes_and_edges(path, err)
    labels = data.labels
    if labels is None and path.is_dir() and (path / "nodes.jsonl").is_file():
        labels = _node_labels(path / "nodes.jsonl", data.ids)
    if ids is not None:
        data, labels = _reorder(data, labels, ids)
    found = None
    if embeddings is None and path.is_dir():
        found = _embeddings_in(path, data.num_nodes)
    return data, labels, found


def _nodes_and_edges(path: Path, err: Exception) -> Any:
    """Fallback for a folder of ``nodes.jsonl`` and an edge list with any header."""
    from ..io import read_edge_list

    edges = [path / name for name in _EDGE_FILES] if path.is_dir() else []
    edges = [e for e in edges if e.is_file()]
    if not (path.is_dir() and (path / "nodes.jsonl").is_file() and edges):
        raise err
    node_ids = [str(rec.get("_id", rec.get("id"))) for rec in _records(path / "nodes.jsonl")]
    logger.info("%s: nodes.jsonl and %s read as an edge list", path, edges[0].name)
    return read_edge_list(edges[0], ids=node_ids)


def _records(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path, True, lambda rec: None, path.name)


def _node_labels(path: Path, ids: list[str]) -> np.ndarray | None:
    by_id = {str(r.get("_id", r.get("id"))): r.get("label") for r in _records(path)}
    raw = [by_id.get(i) for i in ids]
    if all(v is None for v in raw):
        return None
    names = sorted({str(v) for v in raw if v is not None})
    code = {v: i for i, v in enumerate(names)}
    return np.array([code[str(v)] if v is not None else -1 for v in raw], dtype=np.int64)


def _reorder(data: Any, labels: np.ndarray | None, ids: Any) -> tuple[Any, np.ndarray | None]:
    from ..io import CitationData
    from ..links import LinkGraph

    ids = [str(i) for i in ids]
    try:
        rows = data.graph.index(ids)
    except KeyError as err:
        raise ValueError(f"ids name a node the corpus does not have: {err.args[0]}") from None
    if len(set(ids)) != data.num_nodes:
        raise ValueError(f"ids list {len(set(ids))} distinct nodes, the corpus has {data.num_nodes}; they do not match")
    A = data.graph.adjacency[rows][:, rows]
    graph = LinkGraph(A, ids, data.counts)
    return CitationData(graph, data.counts, format=data.format), (labels[rows] if labels is not None else None)


def _embeddings_in(folder: Path, n: int) -> tuple[np.ndarray, Path] | None:
    matches = []
    for p in sorted(folder.glob("*.npy")):
        try:
            arr = np.load(p, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError):
            continue
        if arr.ndim == 2 and arr.shape[0] == n:
            matches.append(p)
    if len(matches) != 1:
        return None
    logger.info("using the embeddings in %s (one row per node)", matches[0])
    return np.load(matches[0], allow_pickle=False), matches[0]
