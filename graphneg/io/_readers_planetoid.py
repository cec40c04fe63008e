"""Planetoid ``ind.<name>.*`` files (Cora, CiteSeer, PubMed as used by GCN papers)."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._readers_base import CitationData, PathLike, Report, assemble, iter_ints

# The only globals the published pickles reference (plus harmless builtins); anything else
# could run arbitrary code on load, so it is refused.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("collections", "defaultdict"),
    ("builtins", "list"),
    ("builtins", "dict"),
    ("builtins", "set"),
    ("builtins", "int"),
    # Python 3 protocol-2 pickles rebuild bytes buffers with it; it only transforms data.
    ("_codecs", "encode"),
}
_ALLOWED_SPARSE = {"csr_matrix", "csc_matrix", "coo_matrix", "lil_matrix", "dok_matrix"}
_PLANETOID_PARTS = ("allx", "ally", "tx", "ty", "graph")


class _PlanetoidUnpickler(pickle.Unpickler):
    """An unpickler that only builds numpy arrays, scipy sparse matrices and containers."""

    def find_class(self, module: str, name: str) -> Any:
        # Python 2 pickles say __builtin__; the base class maps it to builtins after this check.
        allowed = (module.replace("__builtin__", "builtins"), name) in _ALLOWED_GLOBALS or (
            module.startswith("scipy.sparse") and name in _ALLOWED_SPARSE
        )
        if not allowed:
            raise pickle.UnpicklingError(f"refusing to load global {module}.{name}")
        return super().find_class(module, name)


def _load_planetoid_pickle(path: Path) -> Any:
    """Load a Python 2 era pickle (``latin1`` decodes its numpy buffers byte for byte)."""
    try:
        with open(path, "rb") as fh, warnings.catch_warnings():
            # The pickles name scipy.sparse.csr / numpy.core, deprecated module paths.
            warnings.simplefilter("ignore", DeprecationWarning)
            return _PlanetoidUnpickler(fh, encoding="latin1").load()
    except Exception as err:  # a corrupt pickle fails in many ways; all mean "unreadable"
        raise ValueError(
            f"{path.name}: cannot read pickle ({type(err).__name__}: {err}) in {path}."
        ) from err


def _read_planetoid_test_index(path: Path) -> np.ndarray:
    """The node ids of ``ind.<name>.test.index``, one integer a line."""
    index = np.fromiter(iter_ints(path), dtype=np.int64)
    if index.size == 0 or np.unique(index).size != index.size:
        raise ValueError(f"{path.name}: expected distinct node indices in {path}.")
    return index


def _is_index(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _planetoid_parts(folder: Path, name: str) -> tuple[dict[str, Any], np.ndarray]:
    """The five pickles and the test index, or FileNotFoundError naming the missing one."""
    paths = {key: folder / f"ind.{name}.{key}" for key in (*_PLANETOID_PARTS, "test.index")}
    for path in paths.values():
        if not path.is_file():
            raise FileNotFoundError(
                f"{folder}: not a Planetoid folder for {name!r} (missing {path.name})."
            )
    part = {key: _load_planetoid_pickle(paths[key]) for key in _PLANETOID_PARTS}
    return part, _read_planetoid_test_index(paths["test.index"])


def _planetoid_arrays(
    part: dict[str, Any], test_index: np.ndarray, folder: Path, name: str
) -> tuple[sp.csr_array, sp.csr_array, np.ndarray, np.ndarray]:
    """``allx, tx, ally, ty`` as arrays, checked against each other and the test index."""
    try:
        allx, tx = sp.csr_array(part["allx"]), sp.csr_array(part["tx"])
        ally, ty = np.asarray(part["ally"]), np.asarray(part["ty"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{folder}: ind.{name}.* parts have unexpected types ({err}).") from err
    if (
        ally.ndim != 2
        or ty.ndim != 2
        or allx.shape[0] != ally.shape[0]
        or not tx.shape[0] == ty.shape[0] == test_index.size
        or allx.shape[1] != tx.shape[1]
        or ally.shape[1] != ty.shape[1]
    ):
        raise ValueError(
            f"{folder}: ind.{name}.* sizes disagree: allx {allx.shape}, ally {ally.shape}, "
            f"tx {tx.shape}, ty {ty.shape}, test.index {test_index.size}."
        )
    if not isinstance(part["graph"], dict):
        raise ValueError(
            f"{folder}: ind.{name}.graph holds a {type(part['graph']).__name__}, expected a dict."
        )
    return allx, tx, ally, ty


def _planetoid_nodes(
    arrays: tuple[sp.csr_array, sp.csr_array, np.ndarray, np.ndarray],
    test_index: np.ndarray,
    where: str,
) -> tuple[sp.csr_array, np.ndarray]:
    """Features and labels in Kipf & Welling's node order (test rows at ``test.index``)."""
    allx, tx, ally, ty = arrays
    # Kipf: the test rows cover ids min..max of test.index; ids missing from it are padded.
    sorted_index = np.sort(test_index)
    lo, hi = int(sorted_index[0]), int(sorted_index[-1])
    if lo != allx.shape[0]:
        raise ValueError(
            f"{where}.test.index starts at {lo} but allx has {allx.shape[0]} rows."
        )
    n_test_range = hi - lo + 1
    n = allx.shape[0] + n_test_range
    tx_full = sp.lil_array((n_test_range, tx.shape[1]), dtype=np.float32)
    tx_full[sorted_index - lo, :] = tx
    ty_full = np.zeros((n_test_range, ty.shape[1]), dtype=ty.dtype)
    ty_full[sorted_index - lo, :] = ty
    features = sp.vstack([allx.astype(np.float32), sp.csr_array(tx_full)], format="csr")
    onehot = np.vstack([ally, ty_full])
    # features[test_index] = features[sorted_index], as one row gather.
    source_row = np.arange(n)
    source_row[test_index] = sorted_index
    features = sp.csr_array(features[source_row])
    features.sort_indices()
    onehot = onehot[source_row]
    labels = np.where(onehot.sum(axis=1) > 0, onehot.argmax(axis=1), -1).astype(np.int64)
    return features, labels


def _planetoid_edges(graph: dict[Any, Any], n: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Every listed arc as row arrays; neighbours outside ``0 .. n-1`` become ``-1``."""
    src: list[int] = []
    dst: list[int] = []
    for u, neighbours in graph.items():  # .items(): indexing a defaultdict would add keys
        for v in neighbours:
            if not (_is_index(u) and _is_index(v)):
                raise ValueError(
                    f"{where}.graph names a non-integer node ({u!r} -> {v!r})."
                )
            src.append(int(u))
            dst.append(int(v))
    s = np.asarray(src, dtype=np.int64)
    d = np.asarray(dst, dtype=np.int64)
    outside = (s < 0) | (s >= n) | (d < 0) | (d >= n)
    s[outside] = -1
    return s, d


def read_planetoid(folder: PathLike, name: str) -> CitationData:
    """Read Planetoid ``ind.<name>.*`` files (Cora, CiteSeer, PubMed as used by GCN papers).

    Parameters
    ----------
    folder : str or path-like
        Folder with ``ind.<name>.{allx,ally,tx,ty,graph,test.index}``.
    name : str
        The data set (file prefix), e.g. ``"cora"``.

    Returns
    -------
    CitationData
        Node ids ``"0", "1", ...`` in the order of Kipf & Welling's loader (``allx`` then
        ``tx``, test rows placed at ``test.index``); ``features`` (CSR, float32) and
        ``labels`` (int64). Where the test index skips ids (CiteSeer's 15 isolated papers)
        the gap is padded with all-zero feature rows and label ``-1``.

    Raises
    ------
    FileNotFoundError
        If a part is missing.
    ValueError
        If a pickle is unreadable or refused, or the parts disagree in size.

    See Also
    --------
    read_ogb : the OGB benchmarks (ogbn-arxiv, ogbl-citation2) in their raw layout.
    read_citations : detects a Planetoid folder, then reads it.

    Notes
    -----
    Planetoid's ``graph`` is undirected: citation direction was discarded, and the
    adjacency lists name each pair from both ends. Every listed arc ``u -> v`` is read as
    given, so the result holds each undirected edge in both directions. The published
    lists repeat some arcs and contain self-loops; these are counted as duplicates and
    self-loops, and neighbours outside the node range as unknown. The pickles are loaded
    by an unpickler that only builds numpy arrays, scipy sparse matrices and containers.

    Examples
    --------
    >>> import pickle, pathlib, tempfile
    >>> import numpy as np, scipy.sparse as sp
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> parts = {"allx": sp.csr_matrix(np.eye(2)), "ally": np.eye(2),
    ...          "tx": sp.csr_matrix(np.eye(2)), "ty": np.eye(2),
    ...          "graph": {0: [1], 1: [0], 2: [3], 3: [2]}}
    >>> for key, obj in parts.items():
    ...     _ = (d / f"ind.toy.{key}").write_bytes(pickle.dumps(obj))
    >>> _ = (d / "ind.toy.test.index").write_text("3\\n2\\n")
    >>> data = read_planetoid(d, "toy")
    >>> data.num_nodes, data.graph.num_edges, data.labels.tolist()
    (4, 4, [0, 1, 1, 0])
    """
    folder = Path(folder)
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty data set name, got {name!r}.")
    part, test_index = _planetoid_parts(folder, name)
    arrays = _planetoid_arrays(part, test_index, folder, name)
    where = f"{folder}: ind.{name}"
    features, labels = _planetoid_nodes(arrays, test_index, where)
    n = features.shape[0]
    s, d = _planetoid_edges(part["graph"], n, where)
    report = Report(f"ind.{name}.graph", strict=False)
    link_graph = assemble(s, d, [str(i) for i in range(n)], report.counts)
    report.warn()
    return CitationData(
        link_graph, link_graph.counts, features=features, labels=labels, format="planetoid"
    )
