"""Convert Planetoid ``ind.<name>.*`` files (Cora, CiteSeer) to a canonical graph corpus.

The node order, features and labels follow the loader of Kipf & Welling (``gcn/utils.py``):
``allx`` then ``tx`` stacked, the test rows moved to the positions listed in
``ind.<name>.test.index``; for CiteSeer, whose test index skips 15 ids (isolated nodes with no
features), the gap is padded with all-zero feature rows. Those padded nodes have no label, so
their ``nodes.jsonl`` line has no ``label`` key (Kipf's loader gives them an all-zero one-hot
row, which ``argmax`` would silently turn into class 0).

Node ids are the row numbers as strings, labels the class index as a string. Every arc
``u -> v`` with ``v`` in ``graph[u]`` is written once; the raw adjacency lists repeat some arcs
and list self-loops, which are dropped and counted in the summary. The lists are symmetric, so
``edges.tsv`` holds each undirected edge in both directions.

Example::

    python datasets/convert_planetoid.py --name cora --out out/cora
"""

from __future__ import annotations

import pickle
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from _common import InputError, edge_homophily, make_parser, print_summary, resolve_raw, run

from graphneg.corpus import GraphCorpus, save_graph_corpus

NAMES = ("cora", "citeseer")
# x / y (the labelled training subset) are the first rows of allx / ally and are not needed.
PARTS = ("allx", "ally", "tx", "ty", "graph", "test.index")

# The only globals the published pickles reference (plus harmless builtins); anything else
# would run arbitrary code on load, so it is refused.
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
}
_ALLOWED_SPARSE = {"csr_matrix", "csc_matrix", "coo_matrix", "lil_matrix", "dok_matrix"}


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


def _load_pickle(path: Path) -> Any:
    """Load a Python 2 era pickle (``latin1`` decodes its numpy buffers byte for byte)."""
    try:
        with open(path, "rb") as fh, warnings.catch_warnings():
            # The pickles name scipy.sparse.csr / numpy.core, deprecated module paths.
            warnings.simplefilter("ignore", DeprecationWarning)
            return _PlanetoidUnpickler(fh, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise InputError(f"cannot read {path}: {err}") from err


def _read_test_index(path: Path) -> np.ndarray:
    rows: list[int] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rows.append(int(line))
            except ValueError as err:
                raise InputError(
                    f"{path}: line {lineno}: not an integer: {line.strip()!r}"
                ) from err
    index = np.asarray(rows, dtype=np.int64)
    if index.size == 0 or np.unique(index).size != index.size:
        raise InputError(f"{path}: expected distinct node indices, got {index.size} lines")
    return index


def load_planetoid(raw: Path, name: str) -> tuple[GraphCorpus, dict[str, int]]:
    """Build the graph corpus of Planetoid data set ``name`` from the files in ``raw``.

    Parameters
    ----------
    raw : pathlib.Path
        Folder with ``ind.<name>.{allx,ally,tx,ty,graph,test.index}``.
    name : {"cora", "citeseer"}
        Data set name (the file prefix).

    Returns
    -------
    corpus : GraphCorpus
        Nodes in Kipf order, deduplicated arcs without self-loops, BoW features, labels.
    stats : dict
        Counts for the summary (listed arcs, self-loops, duplicates, padded nodes...).

    Raises
    ------
    InputError
        If a file is unreadable or the parts disagree in size.
    """
    part = {key: _load_pickle(raw / f"ind.{name}.{key}") for key in PARTS if key != "test.index"}
    test_index = _read_test_index(raw / f"ind.{name}.test.index")
    allx, tx = sp.csr_array(part["allx"]), sp.csr_array(part["tx"])
    ally, ty = np.asarray(part["ally"]), np.asarray(part["ty"])
    graph = part["graph"]
    if allx.shape[0] != ally.shape[0] or not tx.shape[0] == ty.shape[0] == test_index.size:
        raise InputError(
            f"{name}: inconsistent sizes: allx {allx.shape}, ally {ally.shape}, tx {tx.shape}, "
            f"ty {ty.shape}, test.index {test_index.size}"
        )
    if allx.shape[1] != tx.shape[1] or ally.shape[1] != ty.shape[1]:
        raise InputError(f"{name}: allx/tx or ally/ty have different widths")
    if not isinstance(graph, dict):
        raise InputError(f"{name}: ind.{name}.graph is a {type(graph).__name__}, expected a dict")

    # Kipf: the test rows cover ids min..max of test.index; ids missing from it are padded.
    sorted_index = np.sort(test_index)
    lo, hi = int(sorted_index[0]), int(sorted_index[-1])
    if lo != allx.shape[0]:
        raise InputError(
            f"{name}: test ids start at {lo} but allx has {allx.shape[0]} rows (Kipf layout)"
        )
    n_test_range = hi - lo + 1
    n_nodes = allx.shape[0] + n_test_range
    tx_full = sp.lil_array((n_test_range, tx.shape[1]), dtype=np.float32)
    tx_full[sorted_index - lo, :] = tx
    ty_full = np.zeros((n_test_range, ty.shape[1]), dtype=ty.dtype)
    ty_full[sorted_index - lo, :] = ty
    features = sp.vstack([allx.astype(np.float32), sp.csr_array(tx_full)], format="csr")
    onehot = np.vstack([ally, ty_full])
    # features[test_index] = features[sorted_index], as one row gather.
    source_row = np.arange(n_nodes)
    source_row[test_index] = sorted_index
    features = sp.csr_array(features[source_row])
    features.sort_indices()
    onehot = onehot[source_row]

    has_label = onehot.sum(axis=1) > 0
    labels = np.where(has_label, onehot.argmax(axis=1), -1).astype(np.int64)

    listed = self_loops = 0
    src: list[int] = []
    dst: list[int] = []
    for u, neighbours in graph.items():  # .items(): indexing a defaultdict would add keys
        for v in neighbours:
            listed += 1
            if not (0 <= int(u) < n_nodes and 0 <= int(v) < n_nodes):
                raise InputError(f"{name}: graph names node {u} or {v}, outside 0..{n_nodes - 1}")
            if u == v:
                self_loops += 1
                continue
            src.append(int(u))
            dst.append(int(v))
    keys = np.unique(np.asarray(src, dtype=np.int64) * n_nodes + np.asarray(dst, dtype=np.int64))
    edges = sp.csr_array(
        (np.ones(keys.size, dtype=np.float32), (keys // n_nodes, keys % n_nodes)),
        shape=(n_nodes, n_nodes),
    )
    asymmetric = int((edges - edges.T).count_nonzero()) // 2 if keys.size else 0

    corpus = GraphCorpus(
        ids=[str(i) for i in range(n_nodes)],
        edges=edges,
        labels=labels,
        label_names=[str(c) for c in range(onehot.shape[1])],
        features=features,
    )
    stats = {
        "listed_arcs": listed,
        "self_loops": self_loops,
        "duplicates": len(src) - int(keys.size),
        "asymmetric_arcs": asymmetric,
        "padded_nodes": n_test_range - test_index.size,
        "unlabelled_nodes": int((~has_label).sum()),
        "multi_label_rows": int((onehot.sum(axis=1) > 1).sum()),
    }
    return corpus, stats


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = make_parser(
        "Convert Planetoid ind.<name>.* pickles to a canonical graph corpus folder.", "planetoid"
    )
    parser.add_argument("--name", choices=NAMES, required=True, help="data set to convert")
    args = parser.parse_args(argv)
    raw = resolve_raw(args.raw, "planetoid", [f"ind.{args.name}.{key}" for key in PARTS])
    corpus, stats = load_planetoid(raw, args.name)
    save_graph_corpus(corpus, args.out)

    undirected = int(sp.triu(corpus.edges + corpus.edges.T, k=1).nnz)
    assert corpus.features is not None and corpus.label_names is not None
    print_summary(
        f"{args.name}: wrote {args.out}",
        [
            ("nodes", corpus.n_nodes),
            ("arcs written (directed)", int(corpus.edges.nnz)),
            ("undirected edges", undirected),
            ("arcs listed in raw graph", stats["listed_arcs"]),
            ("skipped self-loops", stats["self_loops"]),
            ("skipped duplicate arcs", stats["duplicates"]),
            ("arcs without reverse", stats["asymmetric_arcs"]),
            ("features", int(corpus.features.shape[1])),
            ("classes", len(corpus.label_names)),
            ("padded nodes (no features)", stats["padded_nodes"]),
            ("nodes without label", stats["unlabelled_nodes"]),
            (
                "edge homophily (undirected)",
                f"{edge_homophily(corpus.edges, corpus.labels, undirected=True):.4f}",
            ),
        ],
    )
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
