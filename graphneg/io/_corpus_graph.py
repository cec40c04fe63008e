"""The canonical graph corpus: a node-attributed directed graph as a folder, and back.

Graph corpus
    ``nodes.jsonl``
        One JSON object a line; line *i* is node *i*:
        ``{"_id": str, "text": str (optional), "label": str (optional)}``.
    ``edges.tsv``
        Header ``source<TAB>target``, then one directed edge a line (citing -> cited), named
        by ``_id``. No self-loops, no duplicates.
    ``features.npz`` (optional)
        ``scipy.sparse`` CSR matrix (n_nodes x n_features) written by ``save_npz``.
    ``embeddings.npy`` (optional)
        Float array (n_nodes x dim).

Loading and saving follow the rules of :mod:`graphneg.io._corpus_files`.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._ids import unique_ids
from .._sparse import canonical_csr
from ..exceptions import GraphNegWarning
from ..links._edges import EdgeCounts, edge_adjacency
from ..links._graph import LinkGraph
from ._corpus_files import (
    MmapMode,
    PathLike,
    atomic_text,
    check_dense,
    check_file_rows,
    check_ids_writable,
    check_text_list,
    iter_tsv,
    load_dense,
    read_id_records,
    require_folder,
    write_or_remove_dense,
    write_or_remove_sparse,
)
from ._jsonl import dumps_line as _dumps

NODES_FILE = "nodes.jsonl"
EDGES_FILE = "edges.tsv"
FEATURES_FILE = "features.npz"
EMBEDDINGS_FILE = "embeddings.npy"
EDGES_HEADER = "source\ttarget"

# How many offending ids a warning quotes; enough to debug, short enough to read.
_N_EXAMPLES = 3


@dataclass
class GraphCorpus:
    """A node-attributed directed graph in memory (the canonical graph corpus).

    What :func:`load_graph_corpus` returns and :func:`save_graph_corpus` writes: the graph
    *and* everything stored next to it (labels, texts, features, embeddings). For the
    link-structure tools take its :attr:`graph`, a :class:`~graphneg.LinkGraph` (which
    drops self-loops and explicit zeros); from a ``LinkGraph`` ``g`` build one with
    ``GraphCorpus(ids=g.ids, edges=g.adjacency, ...)``. A reader's
    :class:`~graphneg.io.CitationData` (``read_citations``) holds a ``LinkGraph`` too, with
    texts as a dict by id; ``read_citations(folder, format="canonical")`` reads this
    corpus's folder into one.

    Ids follow the package rule (see :class:`~graphneg.LinkGraph`): ``str`` kept, integers
    become their decimal string (``1`` and ``"1"`` are the same node), ``None``, NaN, floats,
    ``bool`` and ``""`` are rejected with their position.

    Parameters
    ----------
    ids : list of str or int
        External node ids; position *i* is node *i*. Unique (after normalisation).
    edges : scipy.sparse.csr_array
        (n_nodes, n_nodes) float32 adjacency, 1.0 per directed edge, row = source (citing),
        column = target (cited). Only the sparsity pattern is stored on disk. Kept as a
        canonical copy: the caller's matrix is never modified.
    labels : numpy.ndarray of int64, optional
        Class code per node, indexing ``label_names``; ``-1`` marks a node without a label.
    label_names : list of str, optional
        Class names. Defaults to ``["0", "1", ...]`` when only ``labels`` is given.
    texts : list of str, optional
        Text per node.
    features : scipy.sparse.csr_array, optional
        (n_nodes, n_features) sparse features (e.g. bag of words).
    embeddings : numpy.ndarray, optional
        (n_nodes, dim) dense float vectors.

    Raises
    ------
    ValueError, TypeError
        When the parts disagree on the number of nodes or have the wrong kind.

    See Also
    --------
    load_graph_corpus, save_graph_corpus : its folder on disk.
    CitationData : what the citation readers return (a LinkGraph and texts by id).
    RetrievalCorpus : the retrieval pipeline's corpus.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> g = GraphCorpus(ids=["a", 7], edges=sp.csr_array(([1.0], ([0], [1])), shape=(2, 2)))
    >>> g.ids, g.num_nodes, int(g.edges.nnz)
    (['a', '7'], 2, 1)
    >>> g.graph.to_edge_index().tolist()
    [[0], [1]]
    """

    ids: list[str]
    edges: sp.csr_array
    labels: np.ndarray | None = None
    label_names: list[str] | None = None
    texts: list[str] | None = None
    features: sp.csr_array | None = None
    embeddings: np.ndarray | None = None

    def __post_init__(self) -> None:
        """Check and normalise every field in place (run again by ``dataclasses.replace`` on save)."""
        self.ids = unique_ids(self.ids, "ids")
        n = len(self.ids)
        if not sp.issparse(self.edges):
            raise TypeError(
                f"`edges` must be a scipy.sparse matrix or array, got {type(self.edges).__name__}."
            )
        if self.edges.shape != (n, n):
            raise ValueError(
                f"`edges` must have shape ({n}, {n}) (one row and column per id), "
                f"got {self.edges.shape}."
            )
        # a canonical copy: sum_duplicates on sp.csr_array(edges) would sort the caller's arrays
        self.edges = canonical_csr(self.edges, dtype=np.float32, name="edges")
        self.labels, self.label_names = _check_labels(self.labels, self.label_names, n)
        self.texts = check_text_list(self.texts, "texts", n)
        if self.features is not None:
            if not sp.issparse(self.features):
                raise TypeError(
                    "`features` must be a scipy.sparse matrix or array, "
                    f"got {type(self.features).__name__}."
                )
            if self.features.shape[0] != n:
                raise ValueError(
                    f"`features` must have {n} rows (one per node), got {self.features.shape[0]}."
                )
            self.features = sp.csr_array(self.features)
        self.embeddings = check_dense(self.embeddings, "embeddings", n)



    @property
    def num_nodes(self) -> int:
        """Number of nodes."""
        return len(self.ids)

    @property
    def graph(self) -> LinkGraph:
        """The edges as a :class:`~graphneg.LinkGraph` over :attr:`ids` (a new object).

        Self-loops and explicit zeros are not links there (counted in ``graph.counts``).
        """
        return LinkGraph(self.edges, self.ids)


def load_graph_corpus(path: PathLike, *, mmap_mode: MmapMode = None) -> GraphCorpus:
    """Read a canonical graph corpus folder.

    Parameters
    ----------
    path : str or path-like
        The folder holding ``nodes.jsonl``, ``edges.tsv`` and optionally ``features.npz`` and
        ``embeddings.npy``.
    mmap_mode : {None, "r", "r+", "c"}
        Passed to :func:`numpy.load` for ``embeddings.npy`` (memory-map large arrays).

    Returns
    -------
    GraphCorpus
        Labels are coded by ``label_names``, the distinct labels found, sorted (numerically
        when every label is an integer string, so label ``"3"`` gets code 3); nodes without a
        ``label`` get code ``-1``; ``labels`` is None when no node has one. ``texts`` is None
        when no node has a ``text``, else missing texts read as ``""``.

    Raises
    ------
    FileNotFoundError
        If ``nodes.jsonl`` or ``edges.tsv`` is missing.
    ValueError
        On a malformed line (file and line number given), a duplicate ``_id`` (id and both
        lines given), a wrong ``edges.tsv`` header, or a features / embeddings row count that
        differs from the number of nodes.

    Warns
    -----
    GraphNegWarning
        When edges were skipped: edges naming unknown ids, self-loops, duplicates (counted).

    See Also
    --------
    save_graph_corpus : the writer of what this reads.
    read_citations : reads the same folder as CitationData (``format='canonical'``).
    load_retrieval_corpus : the retrieval pipeline's corpus.

    Examples
    --------
    >>> import tempfile
    >>> folder = save_graph_corpus(
    ...     GraphCorpus(ids=["a", "b"], edges=sp.csr_array(([1.0], ([0], [1])), shape=(2, 2)),
    ...                 texts=["first", "second"]), tempfile.mkdtemp())
    >>> g = load_graph_corpus(folder)
    >>> g.ids, g.texts, g.edges.toarray().tolist()
    (['a', 'b'], ['first', 'second'], [[0.0, 1.0], [0.0, 0.0]])
    """
    folder = require_folder(path, (NODES_FILE, EDGES_FILE), "graph corpus")
    ids, nodes = read_id_records(folder / NODES_FILE, {"text": False, "label": False})
    texts, raw_labels = nodes["text"], nodes["label"]
    n = len(ids)

    position = {node_id: i for i, node_id in enumerate(ids)}
    edges, skipped = _read_edges(folder / EDGES_FILE, position)
    n_skipped = skipped["unknown"] + skipped["self_loops"] + skipped["duplicates"]
    if n_skipped:
        examples = skipped["unknown_examples"]
        total = skipped["total"]
        kept = total - n_skipped
        hint = f" (e.g. {', '.join(map(repr, examples))})" if examples else ""
        warnings.warn(
            f"{EDGES_FILE}: kept {kept} of {total} edge(s); skipped {skipped['unknown']} naming "
            f"unknown ids{hint}, {skipped['self_loops']} self-loop(s), "
            f"{skipped['duplicates']} duplicate(s).",
            GraphNegWarning,
            stacklevel=2,
        )

    labels, label_names = _encode_labels(raw_labels)
    features = None
    if (folder / FEATURES_FILE).exists():
        features = sp.csr_array(sp.load_npz(folder / FEATURES_FILE))
        check_file_rows(features.shape[0], n, folder / FEATURES_FILE, NODES_FILE, "nodes")
    embeddings = load_dense(folder / EMBEDDINGS_FILE, n, NODES_FILE, "nodes", mmap_mode)
    return GraphCorpus(
        ids=ids,
        edges=edges,
        labels=labels,
        label_names=label_names,
        texts=None if all(t is None for t in texts) else [t or "" for t in texts],
        features=features,
        embeddings=embeddings,
    )



def save_graph_corpus(corpus: GraphCorpus, path: PathLike) -> Path:
    """Write ``corpus`` as a canonical graph corpus folder (created if needed).

    Parameters
    ----------
    corpus : GraphCorpus
        The corpus; its fields are validated again first, so nothing is written if invalid.
    path : str or path-like
        Output folder.

    Returns
    -------
    pathlib.Path
        The folder written.

    Raises
    ------
    ValueError
        If an id contains a tab or line break, or ``edges`` has self-loops (the canonical
        format has none; drop them with ``edges.setdiag(0)`` first).

    See Also
    --------
    load_graph_corpus : the reader of what this writes.
    save_retrieval_corpus : the retrieval pipeline's corpus.

    Notes
    -----
    Edge weights are not stored: every non-zero of ``edges`` becomes one line of ``edges.tsv``,
    written in row-major order (an explicitly stored 0 is not an edge). ``features.npz`` /
    ``embeddings.npy`` left from an earlier save are removed when ``corpus`` has no features
    / embeddings. ``corpus`` is validated on a copy: neither it nor its arrays are modified.

    Examples
    --------
    >>> import tempfile
    >>> corpus = GraphCorpus(ids=[1, 2], edges=sp.csr_array(([1.0], ([1], [0])), shape=(2, 2)))
    >>> folder = save_graph_corpus(corpus, tempfile.mkdtemp())
    >>> [line.split() for line in (folder / "edges.tsv").read_text().splitlines()]
    [['source', 'target'], ['2', '1']]
    """
    corpus = dataclasses.replace(corpus)  # validated anew, on a new object: the caller's stays as it is
    check_ids_writable(corpus.ids, "ids")
    edges = _edge_pattern(corpus.edges)
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    _write_nodes(folder / NODES_FILE, corpus)
    _write_edges(folder / EDGES_FILE, corpus.ids, edges)
    write_or_remove_sparse(folder / FEATURES_FILE, corpus.features)
    write_or_remove_dense(folder / EMBEDDINGS_FILE, corpus.embeddings)
    return folder



def _edge_pattern(edges: sp.csr_array) -> sp.csr_array:
    """The stored non-zeros of a canonical ``edges`` as a new boolean CSR; self-loops raise."""
    rows = np.repeat(np.arange(edges.shape[0], dtype=np.int64), np.diff(edges.indptr))
    keep = edges.data != 0
    n_loops = int(np.count_nonzero(keep & (rows == edges.indices)))
    if n_loops:
        raise ValueError(
            f"`edges` has {n_loops} self-loop(s); the canonical format has none. "
            "Remove them first (e.g. edges.setdiag(0); edges.eliminate_zeros())."
        )
    n = edges.shape[0]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    return sp.csr_array((np.ones(indptr[-1], bool), edges.indices[keep], indptr), shape=edges.shape)



def _write_nodes(path: Path, corpus: GraphCorpus) -> None:
    names = corpus.label_names or []
    with atomic_text(path) as fh:
        for i, node_id in enumerate(corpus.ids):
            rec: dict[str, str] = {"_id": node_id}
            if corpus.texts is not None:
                rec["text"] = corpus.texts[i]
            if corpus.labels is not None and corpus.labels[i] >= 0:
                rec["label"] = names[int(corpus.labels[i])]
            fh.write(_dumps(rec))



def _write_edges(path: Path, ids: Sequence[str], edges: sp.csr_array) -> None:
    """One ``source<TAB>target`` line per stored entry, row-major."""
    indptr, indices = edges.indptr, edges.indices
    with atomic_text(path) as fh:
        fh.write(EDGES_HEADER + "\n")
        for src in range(len(ids)):
            source = ids[src]
            for dst in indices[indptr[src] : indptr[src + 1]].tolist():
                fh.write(f"{source}\t{ids[dst]}\n")



def _read_edges(path: Path, index: Mapping[str, int]) -> tuple[sp.csr_array, dict[str, Any]]:
    """Read ``edges.tsv`` into a CSR adjacency; return it and the skip counts."""
    sources: list[int] = []
    targets: list[int] = []
    examples: list[str] = []
    with closing(iter_tsv(path, EDGES_HEADER)) as rows:
        for _, (source, target) in rows:
            src, dst = index.get(source, -1), index.get(target, -1)
            if (src < 0 or dst < 0) and len(examples) < _N_EXAMPLES:
                examples.append(source if src < 0 else target)
            sources.append(src)
            targets.append(dst)
    counts = EdgeCounts()
    edges = edge_adjacency(sources, targets, len(index), counts)  # the one home of edge assembly
    return edges, {
        "total": counts.read,
        "unknown": counts.unknown,
        "self_loops": counts.self_loops,
        "duplicates": counts.duplicates,
        "unknown_examples": examples,
    }



def _encode_labels(raw: Sequence[str | None]) -> tuple[np.ndarray | None, list[str] | None]:
    """Code string labels by their sorted distinct values; None (no label) becomes -1."""
    present = {label for label in raw if label is not None}
    if not present:
        return None, None
    # Integer-like names sort numerically so that "10" follows "9" and code == int(name).
    if all(_is_int_string(label) for label in present):
        names = sorted(present, key=lambda label: (int(label), label))
    else:
        names = sorted(present)
    code = {name: i for i, name in enumerate(names)}
    labels = np.fromiter(
        (-1 if label is None else code[label] for label in raw), dtype=np.int64, count=len(raw)
    )
    return labels, names



def _is_int_string(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True



def _check_labels(
    labels: Any, label_names: Sequence[str] | None, n: int
) -> tuple[np.ndarray | None, list[str] | None]:
    if labels is None:
        if label_names is not None:
            raise ValueError("`label_names` was given without `labels`.")
        return None, None
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"`labels` must be 1-D with {n} entries (one per node), got {arr.shape}.")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`labels` must hold integer codes, got dtype {arr.dtype}.")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < -1:
        raise ValueError(f"`labels` must be >= -1 (-1 = no label), got {int(arr.min())}.")
    top = int(arr.max()) + 1 if arr.size else 0
    if label_names is None:
        names = [str(c) for c in range(top)]
    else:
        names = check_text_list(label_names, "label_names", len(label_names)) or []
        if len(set(names)) != len(names):
            raise ValueError(f"`label_names` must be unique, got {names!r}.")
        if top > len(names):
            raise ValueError(
                f"`labels` uses code {top - 1} but `label_names` has only {len(names)} names."
            )
    return arr, names
