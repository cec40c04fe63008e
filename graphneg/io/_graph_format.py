"""The graph file format: its metadata schema and the checks that every saved or loaded graph
file passes, and the hash of an input (:mod:`._graph_files` writes and reads the files; the
format is described there).

Every check raises one :class:`ValueError` line that names the file (``where``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .._sparse import canonical_csr

FORMAT = "graphneg-graph"
FORMAT_VERSION = 2
CSR_KEYS = ("indptr", "indices", "data", "shape")
ARRAY_KEYS = (*CSR_KEYS, "labels", "ids")
# key -> allowed JSON types; format 1 sidecars lack arrays_sha256
_META_TYPES: dict[str, tuple[type, ...]] = {
    "format": (str,), "format_version": (int,), "graphneg_version": (str,), "num_nodes": (int,),
    "num_edges": (int,), "has_labels": (bool,), "has_ids": (bool,), "params": (dict,),
    "input_sha256": (str, type(None)), "arrays_sha256": (str,),
}


def content_hash(data: Any) -> str:
    """SHA-256 (hex) of a file's bytes, or of an array's dtype, shape and bytes.

    See Also
    --------
    cached_graph : keys its entries by it.
    save_graph : records it as ``input_hash``.

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


def arrays_hash(arrays: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over the graph file's arrays: name, dtype, shape and bytes of each."""
    h = hashlib.sha256()
    for key in ARRAY_KEYS:
        if key in arrays:
            arr = np.ascontiguousarray(arrays[key])
            h.update(f"{key}:{arr.dtype.str}:{arr.shape}:".encode())
            h.update(arr.tobytes())
    return h.hexdigest()


def check_arrays(where: str, arrays: Mapping[str, np.ndarray]) -> int:
    """Validate the arrays of a graph file; return the number of nodes. Raises ValueError naming ``where``."""
    shape = arrays["shape"]
    if shape.ndim != 1 or shape.size != 2 or shape.dtype.kind not in "iu":
        raise ValueError(f"{where}: `shape` must be 2 integers, got {shape.dtype} {shape.shape}")
    n_rows, n_cols = (int(s) for s in shape)
    if n_rows < 0 or n_cols < 0:
        raise ValueError(f"{where}: negative shape ({n_rows}, {n_cols})")
    if n_rows != n_cols:
        raise ValueError(f"{where}: the graph must be square (n_nodes x n_nodes), got {n_rows} x {n_cols}")
    indptr, indices, data = arrays["indptr"], arrays["indices"], arrays["data"]
    for key, arr in (("indptr", indptr), ("indices", indices)):
        if arr.ndim != 1 or arr.dtype.kind not in "iu":
            raise ValueError(f"{where}: `{key}` must be a 1-D integer array, got {arr.dtype} {arr.shape}")
    if data.ndim != 1 or data.dtype.kind not in "biuf":
        raise ValueError(f"{where}: `data` must be a 1-D real array, got {data.dtype} {data.shape}")
    if indptr.size != n_rows + 1:
        raise ValueError(f"{where}: `indptr` has {indptr.size} entries, expected {n_rows + 1} (nodes + 1)")
    if int(indptr[0]) != 0 or (indptr.size > 1 and np.any(indptr[1:] < indptr[:-1])):
        raise ValueError(f"{where}: `indptr` must start at 0 and never decrease")
    if int(indptr[-1]) != indices.size or indices.size != data.size:
        raise ValueError(f"{where}: `indptr` ends at {int(indptr[-1])} but there are {indices.size} column "
                         f"indices and {data.size} weights")
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= n_cols):
        bad = int(indices.max()) if int(indices.max()) >= n_cols else int(indices.min())
        raise ValueError(f"{where}: column index {bad} is out of range for {n_cols} nodes")
    labels = arrays.get("labels")
    if labels is not None:
        if labels.dtype.kind not in "iu":
            raise ValueError(f"{where}: `labels` must be integers, got dtype {labels.dtype}")
        if labels.shape != (n_rows,):
            raise ValueError(f"{where}: `labels` has shape {labels.shape}, expected ({n_rows},)")
    ids = arrays.get("ids")
    if ids is not None:
        if ids.ndim != 1 or (ids.dtype.kind != "U" and ids.size):
            raise ValueError(f"{where}: `ids` must be a 1-D array of strings, got {ids.dtype} {ids.shape}")
        if ids.shape != (n_rows,):
            raise ValueError(f"{where}: `ids` has {ids.size} entries, expected {n_rows} (one per node)")
    return n_rows


def check_meta(where: str, meta: Any) -> dict[str, Any]:
    """Validate a metadata object (sidecar or embedded); return it. Raises ValueError naming ``where``."""
    if not isinstance(meta, dict):
        raise ValueError(f"{where} is not a graph file sidecar: expected a JSON object, got {type(meta).__name__}")
    version = meta.get("format_version")
    if meta.get("format") != FORMAT or isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"{where} is not a graph file sidecar: `format` must be {FORMAT!r} with an integer "
                         f"`format_version`")
    if version > FORMAT_VERSION:
        raise ValueError(f"{where} has format_version {version}, newer than this graphneg reads "
                         f"({FORMAT_VERSION}); upgrade graphneg")
    required = [k for k in _META_TYPES if not (k == "arrays_sha256" and version < 2)]
    missing = [k for k in required if k not in meta]
    if missing:
        raise ValueError(f"{where} is not a complete graph file sidecar: missing {', '.join(missing)}")
    for key in required:
        value, types = meta[key], _META_TYPES[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ValueError(f"{where}: `{key}` must be {names}, got {json.dumps(value)[:60]}")
    return meta


def read_sidecar(side: Path) -> dict[str, Any]:
    try:
        text = side.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{side} is not a graph file sidecar: not UTF-8 text ({err.reason})") from None
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{side} is not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    return check_meta(str(side), meta)


def valid_graph(path: Path, graph: Any, labels: Any, ids: Any) -> dict[str, np.ndarray]:
    """The arrays to save, all checked; nothing is written here."""
    G = canonical_csr(graph)
    if G.shape[0] != G.shape[1]:
        raise ValueError(f"the graph must be square (n_nodes x n_nodes), got {G.shape[0]} x {G.shape[1]}")
    if G.dtype.kind not in "biuf":
        raise TypeError(f"the graph's weights must be real numbers, got dtype {G.dtype}")
    n = G.shape[0]
    arrays: dict[str, np.ndarray] = {"indptr": G.indptr, "indices": G.indices, "data": G.data,
                                     "shape": np.array(G.shape, dtype=np.int64)}
    if labels is not None:
        arrays["labels"] = int_labels(labels, n)
    if ids is not None:
        if isinstance(ids, (str, bytes)):
            raise TypeError(f"`ids` must be a sequence of {n} strings, got one {type(ids).__name__}")
        arrays["ids"] = np.array([str(i) for i in ids], dtype=str)
        if arrays["ids"].shape != (n,):
            raise ValueError(f"`ids` must have {n} entries (one per node), got {arrays['ids'].shape[0]}.")
    check_arrays(f"graph for {path}", arrays)
    return arrays


def int_labels(labels: Any, n: int) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.shape != (n,):
        raise ValueError(f"`labels` must have shape ({n},), got {lab.shape}.")
    if lab.dtype.kind in "iu":
        if lab.dtype == np.uint64 and lab.size and int(lab.max()) > np.iinfo(np.int64).max:
            raise ValueError(f"`labels` holds {int(lab.max())}, beyond int64")
        return lab.astype(np.int64)  # a copy: the caller's array stays theirs
    if lab.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(lab) | (lab != np.round(lab)))
        if bad.size == 0:
            return lab.astype(np.int64)
        raise ValueError(f"`labels` must be integers: labels[{bad[0]}] is {lab[bad[0]]!r}")
    raise TypeError(f"`labels` must be integers, got dtype {lab.dtype}")
