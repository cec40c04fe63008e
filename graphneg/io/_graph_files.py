"""Graph files: a graph with its communities on disk, and an opt-in cache of them.

A graph file is ``NAME.npz`` (the CSR arrays, ``labels`` and ``ids`` when known, and
``meta``: the metadata below as UTF-8 JSON) plus the sidecar ``NAME.json``, a readable copy
of that metadata: the format, the parameters that built the graph, a SHA-256 of the input,
the counts and ``arrays_sha256``, a SHA-256 of every array in the ``.npz``.

**The pair is one unit.** :func:`save_graph` does everything that can fail first (checks the
graph: square, canonical CSR, indices in range; converts the parameters to plain JSON,
numpy scalars and arrays included) and writes both files to temporary files next to the
targets. Only then does it move the old sidecar aside (back in place when the next step
fails), rename the new ``.npz`` into place and then the new sidecar. The ``.npz`` describes
itself, so whichever moment a crash hits, what is on disk loads as one graph: the old pair,
the old or the new ``.npz`` alone (its sidecar is then a leftover temporary file; a legacy
``.npz`` of format 1, which has no ``meta``, then loads without parameters), or the new pair. A sidecar
that is present must equal the ``.npz``'s own metadata: one from another save (two
processes writing the same file without a lock, or a hand edit) is refused, never paired
with arrays it does not describe. On any failure the temporary files are removed.

:func:`load_graph` checks the zip's CRCs, refuses object arrays (``allow_pickle=False``),
validates the sidecar's schema, the shape (square), ``indptr`` (starts at 0, monotone, ends
at the number of entries), the column indices (in range), the labels (integers, one per
node), the ids (strings, one per node) and ``arrays_sha256``. Every refusal is one
:class:`ValueError` line that names the file (``FileNotFoundError`` when it is missing).

The format itself (metadata schema, array checks) is :mod:`._graph_format`; an opt-in cache
of graph files, :mod:`._graph_cache`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._sparse import canonical_csr
from .._version import __version__
from ._atomic import _TMP_SUFFIX, _new_file_mode
from ._graph_format import (
    ARRAY_KEYS,
    CSR_KEYS,
    FORMAT,
    FORMAT_VERSION,
    arrays_hash,
    check_arrays,
    check_meta,
    read_sidecar,
    valid_graph,
)

logger = logging.getLogger(__name__)

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

    See Also
    --------
    load_graph : returns it.
    save_graph : writes what it holds.

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


def plain_params(params: Mapping[str, Any] | None, *, name: str = "params") -> dict[str, Any]:
    """A copy of ``params`` made of plain JSON values, or a one-line error naming the entry.

    Numpy scalars become ``int``/``float``/``bool``/``str``, numpy arrays and tuples become
    lists, paths become strings. Anything else (objects, complex numbers, non-string keys,
    NaN or infinity) is refused, so that what is recorded is what loads back.

    Parameters
    ----------
    params : mapping or None
        Not modified.
    name : str, default="params"
        How the errors name it.

    Returns
    -------
    dict

    Raises
    ------
    TypeError
        An entry that has no JSON form, or a key that is not a string.
    ValueError
        NaN or infinity.

    Examples
    --------
    >>> plain_params({"k": np.int64(7), "w": np.float32(0.5), "dims": (2, 3), "ok": np.bool_(True)})
    {'k': 7, 'w': 0.5, 'dims': [2, 3], 'ok': True}
    >>> plain_params({"f": object()})
    Traceback (most recent call last):
    ...
    TypeError: `params['f']` has type object, which a graph file cannot record; use str, int, ...
    """
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise TypeError(f"`{name}` must be a mapping (dict), got {type(params).__name__}.")
    return _plain(params, f"`{name}`")


def _plain(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"{where} is {f}; a graph file records finite numbers only (JSON has no {f})")
        return f
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufU":
        return _plain(value.tolist(), where)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r} ({type(key).__name__}); keys must be strings")
            out[str(key)] = _plain(item, f"{where[:-1]}[{str(key)!r}]`")
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where[:-1]}[{i}]`") for i, item in enumerate(value)]
    raise TypeError(f"{where} has type {type(value).__name__}, which a graph file cannot record; "
                    "use str, int, float, bool, None, lists and dicts of them")


def _temp_next_to(target: Path) -> tuple[int, str]:
    """A temporary file that :func:`~graphneg.io._atomic.stale_temp_files` of ``target`` finds."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=target.parent)
    os.chmod(tmp, _new_file_mode(target))
    return fd, tmp


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform or file system syncs folders
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_pair(path: Path, arrays: Mapping[str, np.ndarray], side_text: str) -> None:
    """Both files to temporary files; then the old sidecar aside, the .npz renamed, the sidecar renamed.

    A failure before the ``.npz`` is renamed puts the old sidecar back; a crash at any point
    leaves a ``.npz`` (old or new) that describes itself, with its own sidecar or none.
    """
    side = sidecar_path(path)
    for target in (path, side):
        if target.is_dir():
            raise IsADirectoryError(f"{target} is a directory; cannot write the graph file there")
    path.parent.mkdir(parents=True, exist_ok=True)
    temps: list[str] = []
    old_side: str | None = None
    npz_replaced = False
    try:
        fd, tmp_npz = _temp_next_to(path)
        temps.append(tmp_npz)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        fd, tmp_side = _temp_next_to(side)
        temps.append(tmp_side)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(side_text)
            fh.flush()
            os.fsync(fh.fileno())
        if side.exists():
            fd, old_side = _temp_next_to(side)
            os.close(fd)
            os.replace(side, old_side)
            temps.append(old_side)
        os.replace(tmp_npz, path)
        npz_replaced = True
        temps.remove(tmp_npz)
        os.replace(tmp_side, side)
        temps.remove(tmp_side)
        _fsync_dir(path.parent)
    finally:
        if old_side is not None and not npz_replaced:
            with contextlib.suppress(OSError):
                os.replace(old_side, side)  # nothing was replaced: the old pair stays whole
        for tmp in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def save_graph(
    path: str | os.PathLike[str],
    graph: Any,
    *,
    labels: Any = None,
    ids: Any = None,
    params: Mapping[str, Any] | None = None,
    input_hash: str | None = None,
) -> Path:
    """Write a graph (and its communities) to ``path`` (``.npz``) and its JSON sidecar, as one unit.

    Everything that can fail (the checks of the graph, labels, ids and parameters) happens
    before either file is touched; both are then replaced so that a crash at any moment
    leaves a pair that loads as one graph (see the module notes).

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file; the sidecar is :func:`sidecar_path` of it.
    graph : sparse matrix or array of shape (n_nodes, n_nodes)
        Square; not modified. Saved canonical (sorted indices, duplicates summed).
    labels : array-like of int, shape (n_nodes,), default=None
        Community per node (integers; integral floats are accepted).
    ids : sequence of str, default=None
        External id per node.
    params : mapping, default=None
        Parameters that built the graph (recorded, used as the cache key), converted by
        :func:`plain_params` (numpy scalars and arrays become plain JSON).
    input_hash : str, default=None
        :func:`content_hash` of the input.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError, TypeError
        A graph that is not square or not valid CSR, labels or ids of the wrong length or
        type, parameters without a JSON form; nothing is written then.

    See Also
    --------
    load_graph : the reader of what this writes.
    cached_graph : builds and saves a graph only on a cache miss.
    content_hash : the ``input_hash`` to record.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "g.npz"
    >>> _ = save_graph(p, sp.csr_array(np.eye(2, k=1)), labels=[0, 0], params={"k": np.int64(1)})
    >>> g = load_graph(p)
    >>> g.graph.nnz, g.labels.tolist(), g.params
    (1, [0, 0], {'k': 1})
    >>> save_graph(p, sp.csr_array((3, 4)))
    Traceback (most recent call last):
    ...
    ValueError: the graph must be square (n_nodes x n_nodes), got 3 x 4
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"`path` must end in .npz, got {path.name!r}.")
    if input_hash is not None and not isinstance(input_hash, str):
        raise TypeError(f"`input_hash` must be a str or None, got {type(input_hash).__name__}.")
    arrays = valid_graph(path, graph, labels, ids)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "graphneg_version": __version__,
            "num_nodes": int(arrays["shape"][0]), "num_edges": int(arrays["indices"].size),
            "has_labels": "labels" in arrays, "has_ids": "ids" in arrays, "params": plain_params(params),
            "input_sha256": input_hash, "arrays_sha256": arrays_hash(arrays)}
    text = json.dumps(meta, indent=2, sort_keys=True, allow_nan=False) + "\n"
    embedded = np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    _write_pair(path, {**arrays, "meta": embedded}, text)
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
            return all(k in z.files for k in CSR_KEYS)
    except (OSError, ValueError):
        return False


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a graph file, CRCs checked; every failure is one ValueError naming ``path``."""
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()  # reads every member: a flipped or missing byte fails its CRC here
            listed = len(zf.infolist())
            with open(path, "rb") as fh:
                end = zipfile._EndRecData(fh)  # the end record, which no CRC covers
        if end is not None and end[zipfile._ECD_ENTRIES_TOTAL] != listed:
            raise ValueError(f"{path} is corrupt: its zip directory lists {listed} members, its end record "
                             f"{end[zipfile._ECD_ENTRIES_TOTAL]}")
        if bad is not None:
            raise ValueError(f"{path} is corrupt: member {bad!r} does not read back (bad CRC or header)")
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in CSR_KEYS if k not in z.files]
            if missing:
                raise ValueError(f"{path} is not a graphneg graph file (no {', '.join(missing)})")
            unknown = sorted(set(z.files) - {*ARRAY_KEYS, "meta", "format", "_is_array"})  # + scipy save_npz
            if unknown:
                raise ValueError(f"{path} is not a graphneg graph file: unexpected member {unknown[0]!r} (a graph "
                                 f"file holds {', '.join(ARRAY_KEYS)} and meta)")
            if "format" in z.files and z["format"].tobytes() != b"csr":  # scipy.sparse.save_npz of a CSR
                raise ValueError(f"{path} holds a sparse matrix in format {z['format'].tobytes()[:8]!r}, not CSR")
            arrays = {}
            for key in (*ARRAY_KEYS, "meta"):
                if key in z.files:
                    try:
                        arrays[key] = z[key]
                    except ValueError as err:
                        if "allow_pickle" in str(err):
                            raise ValueError(f"{path}: `{key}` holds Python objects; graph files hold numbers "
                                             "and strings only (objects are not unpickled)") from None
                        raise
            return arrays
    except ValueError as err:
        if str(err).startswith(str(path)):
            raise
        raise ValueError(f"{path} is not a readable graph file ({err})") from None
    except Exception as err:  # zip and npy parsing fail in many ways on a damaged file
        raise ValueError(f"{path} is not a readable graph file ({type(err).__name__}: {err})") from None


def load_graph(path: str | os.PathLike[str]) -> SavedGraph:
    """Read a graph file written by :func:`save_graph`, checked.

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file; its sidecar is read and checked when present (a ``.npz`` alone
        loads from its own metadata).

    Returns
    -------
    SavedGraph

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        One line naming the file, for anything else: not a zip, a failed CRC, an object
        array, a sidecar that is not a graph sidecar or does not match the ``.npz``, a graph
        that is not square or whose ``indptr``, column indices, labels or ids are invalid.

    See Also
    --------
    save_graph : the writer of what this reads.
    cached_graph : the same files as cache entries.

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
    arrays = _read_npz(path)
    embedded = arrays.pop("meta", None)
    meta: dict[str, Any] | None = None
    if embedded is not None:
        if embedded.ndim != 1 or embedded.dtype != np.uint8:
            raise ValueError(f"{path}: `meta` must be UTF-8 JSON bytes, got {embedded.dtype} {embedded.shape}")
        try:
            meta = json.loads(embedded.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: its `meta` is not JSON ({err})") from None
        meta = check_meta(f"{path} (its meta)", meta)
    side = sidecar_path(path)
    if side.is_file():
        side_meta = read_sidecar(side)
        if meta is None:
            meta = side_meta  # format 1: the metadata lives in the sidecar only
        elif side_meta != meta:
            raise ValueError(f"{side} does not describe {path} (written by another save, or edited); "
                             f"save the graph again, or delete {side.name} to load {path.name} alone")
    elif side.exists():
        raise ValueError(f"{side} (the sidecar of {path}) is not a file")
    n = check_arrays(str(path), arrays)
    if meta is not None:
        counts = {"num_nodes": n, "num_edges": int(arrays["indices"].size),
                  "has_labels": "labels" in arrays, "has_ids": "ids" in arrays}
        for key, value in counts.items():
            if meta[key] != value:
                raise ValueError(f"{path}: the metadata says {key}={json.dumps(meta[key])} but the arrays "
                                 f"give {json.dumps(value)}")
        if "arrays_sha256" in meta and meta["arrays_sha256"] != arrays_hash(arrays):
            raise ValueError(f"{path}: the arrays do not match their recorded SHA-256 (the file was altered)")
    shape = (n, n)
    G = sp.csr_array((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
    labels = arrays["labels"].astype(np.int64) if "labels" in arrays else None
    ids = arrays["ids"].tolist() if "ids" in arrays else None
    params = dict(meta["params"]) if meta is not None else {}
    return SavedGraph(canonical_csr(G), labels, ids, params, meta["input_sha256"] if meta else None)


