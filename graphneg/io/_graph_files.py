"""Graph files: a graph with its communities on disk, and an opt-in cache of them.

A graph file is ``NAME.npz`` (the CSR arrays, ``labels`` and ``ids`` when known) plus the
sidecar ``NAME.json`` (the parameters that built it, a SHA-256 of the input, counts). Both
are written atomically, the ``.npz`` first, so a sidecar always describes a complete graph.
The cache is a folder of such files named by a hash of (input hash, parameters): the same
input and parameters find the saved graph instead of rebuilding it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._sparse import canonical_csr
from .._version import __version__
from ._atomic import atomic_write

logger = logging.getLogger(__name__)

FORMAT = "graphneg-graph"
FORMAT_VERSION = 1
_CSR_KEYS = ("indptr", "indices", "data", "shape")


@dataclass(frozen=True, eq=False)  # eq=False: array fields make == ambiguous
class SavedGraph:
    """A graph read by :func:`load_graph`.

    Attributes
    ----------
    graph : scipy.sparse.csr_array
        The graph, canonical CSR.
    labels : ndarray of int64 or None
        Community per node.
    ids : list of str or None
        External id per node.
    params : dict
        The parameters that built it (empty when unknown).
    input_hash : str or None
        SHA-256 (hex) of the input it was built from.

    Examples
    --------
    >>> SavedGraph(sp.csr_array((2, 2))).graph.shape
    (2, 2)
    """

    graph: sp.csr_array
    labels: np.ndarray | None = None
    ids: list[str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    input_hash: str | None = None


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON sidecar of a graph file: ``NAME.npz`` -> ``NAME.json``.

    Examples
    --------
    >>> sidecar_path("out/g.npz").as_posix()
    'out/g.json'
    """
    return Path(path).with_suffix(".json")


def content_hash(data: Any) -> str:
    """SHA-256 (hex) of a file's bytes, or of an array's dtype, shape and bytes.

    Examples
    --------
    >>> content_hash(np.zeros(2)) == content_hash(np.zeros(2)), content_hash(np.zeros(2)) == content_hash(np.ones(2))
    (True, False)
    """
    h = hashlib.sha256()
    if isinstance(data, (str, os.PathLike)):
        with open(data, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    arr = np.ascontiguousarray(data)
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def save_graph(
    path: str | os.PathLike[str],
    graph: Any,
    *,
    labels: Any = None,
    ids: Any = None,
    params: Mapping[str, Any] | None = None,
    input_hash: str | None = None,
) -> Path:
    """Write a graph (and its communities) to ``path`` (``.npz``) and its JSON sidecar, atomically.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file; the sidecar is :func:`sidecar_path` of it.
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        Not modified.
    labels : array-like of int, shape (n_nodes,), default=None
        Community per node.
    ids : sequence of str, default=None
        External id per node.
    params : mapping, default=None
        JSON-serialisable parameters that built the graph (recorded, used as the cache key).
    input_hash : str, default=None
        :func:`content_hash` of the input.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "g.npz"
    >>> _ = save_graph(p, sp.csr_array(np.eye(2, k=1)), labels=[0, 0], params={"k": 1})
    >>> g = load_graph(p)
    >>> g.graph.nnz, g.labels.tolist(), g.params
    (1, [0, 0], {'k': 1})
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"`path` must end in .npz, got {path.name!r}.")
    G = canonical_csr(graph)
    arrays: dict[str, Any] = {"indptr": G.indptr, "indices": G.indices, "data": G.data,
                              "shape": np.array(G.shape, dtype=np.int64)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
        if arrays["labels"].shape != (G.shape[0],):
            raise ValueError(f"`labels` must have shape ({G.shape[0]},), got {arrays['labels'].shape}.")
    if ids is not None:
        arrays["ids"] = np.array([str(i) for i in ids])
        if arrays["ids"].shape != (G.shape[0],):
            raise ValueError(f"`ids` must have {G.shape[0]} entries, got {arrays['ids'].shape[0]}.")
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "graphneg_version": __version__,
            "num_nodes": int(G.shape[0]), "num_edges": int(G.nnz), "has_labels": labels is not None,
            "has_ids": ids is not None, "params": dict(params or {}), "input_sha256": input_hash}
    with atomic_write(sidecar_path(path), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2, sort_keys=True)
    return path


def is_graph_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an ``.npz`` holding CSR arrays (a graph file).

    Examples
    --------
    >>> is_graph_file("missing.npz")
    False
    """
    path = Path(path)
    if path.suffix != ".npz" or not path.is_file():
        return False
    if not zipfile.is_zipfile(path):  # np.load would try the file as a pickle and blame that
        raise ValueError(f"{path} is not a graph file (.npz written by save_graph): not a zip archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            return all(k in z.files for k in _CSR_KEYS)
    except (OSError, ValueError):
        return False


def load_graph(path: str | os.PathLike[str]) -> SavedGraph:
    """Read a graph file written by :func:`save_graph`.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file; its sidecar is read when present.

    Returns
    -------
    SavedGraph

    Raises
    ------
    ValueError
        When the file is not a graph file (names the file and what is missing).

    Examples
    --------
    >>> load_graph("no-such.npz")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no-such.npz does not exist
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} {'is a directory' if path.is_dir() else 'does not exist'}")
    if not zipfile.is_zipfile(path):  # np.load would try the file as a pickle and blame that
        raise ValueError(f"{path} is not a graph file (.npz written by save_graph): not a zip archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in _CSR_KEYS if k not in z.files]
            if missing:
                raise ValueError(f"{path} is not a graphneg graph file (no {', '.join(missing)})")
            shape = tuple(int(s) for s in z["shape"])
            G = sp.csr_array((z["data"], z["indices"], z["indptr"]), shape=shape)  # type: ignore[arg-type]
            labels = z["labels"] if "labels" in z.files else None
            ids = z["ids"].tolist() if "ids" in z.files else None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise ValueError(f"{path} is not a readable .npz file ({err})") from None
    if labels is not None and labels.shape != (shape[0],):
        raise ValueError(f"{path}: `labels` has shape {labels.shape}, expected ({shape[0]},)")
    meta: dict[str, Any] = {}
    side = sidecar_path(path)
    if side.is_file():
        meta = json.loads(side.read_text(encoding="utf-8"))
    return SavedGraph(canonical_csr(G), labels, ids, dict(meta.get("params") or {}), meta.get("input_sha256"))


def cached_graph(
    cache_dir: str | os.PathLike[str],
    input_hash: str,
    params: Mapping[str, Any],
    build: Callable[[], tuple[Any, Any]],
) -> tuple[SavedGraph, bool]:
    """The graph for (input, params) from ``cache_dir``, built by ``build()`` and saved on a miss.

    Parameters
    ----------
    cache_dir : str or path-like
        The cache folder (created when missing).
    input_hash : str
        :func:`content_hash` of the input.
    params : mapping
        JSON-serialisable build parameters; any change is a different entry.
    build : callable returning (graph, labels)
        Called on a miss.

    Returns
    -------
    (SavedGraph, bool)
        The graph and whether it came from the cache.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> make = lambda: (sp.csr_array(np.eye(2, k=1)), np.array([0, 1]))
    >>> cached_graph(folder, "abc", {"k": 1}, make)[1], cached_graph(folder, "abc", {"k": 1}, make)[1]
    (False, True)
    """
    key = hashlib.sha256(json.dumps([input_hash, dict(params)], sort_keys=True, default=str).encode()).hexdigest()
    path = Path(cache_dir) / f"graph-{key[:20]}.npz"
    if path.is_file() and sidecar_path(path).is_file():
        saved = load_graph(path)
        if saved.input_hash == input_hash:
            logger.info("graph cache hit: %s", path)
            return saved, True
    graph, labels = build()
    save_graph(path, graph, labels=labels, params=params, input_hash=input_hash)
    logger.info("graph cache: saved %s", path)
    return load_graph(path), False
