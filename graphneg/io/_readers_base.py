"""What every citation reader shares: the result type, line input, problem bookkeeping and
the one place where edges become a graph.

Line input decodes one line at a time, so one bad byte costs one line; a file that is not
text at all (NUL bytes, a gzip stream without a ``.gz`` name, UTF-16) is refused up front
with one message instead. Problems are skipped and counted (``strict=False``) or raised as
``ValueError("name:line: reason ...")`` (``strict=True``). A read that yields no record at
all raises, naming the file, instead of returning an empty graph.
"""

from __future__ import annotations

import gzip
import os
import re
import warnings
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy.sparse as sp

from .._ids import normalize_id, normalize_ids
from .._validation import check_bool
from ..exceptions import GraphNegWarning
from ..links._edges import EdgeCounts
from ..links._graph import LinkGraph

PathLike = str | os.PathLike[str]

# How many malformed line numbers a warning quotes (all of them are in counts.malformed_lines).
_N_EXAMPLES = 5
# How many leading bytes the text check looks at (a binary file shows itself early).
_PROBE_BYTES = 8192
_INT_RE = re.compile(r"[+-]?[0-9]+")


@dataclass
class CitationData:
    """A citation graph read from disk, with what the format says about its nodes.

    Parameters
    ----------
    graph : LinkGraph
        Directed graph, citing -> cited; ``graph.ids`` are the source's ids as ``str``.
        Corpus nodes come first (in file order), external nodes (``keep_external=True``)
        after them.
    counts : EdgeCounts
        What happened to the input (the same object as ``graph.counts``).
    texts : dict of str to str, optional
        ``(title + " " + abstract).strip()`` per corpus paper ("" when it has neither);
        None for formats without text.
    years : dict of str to int, optional
        Publication year of the corpus papers that have one; None for formats without years.
    features : scipy.sparse.csr_array, optional
        Node features, one row per node (Planetoid).
    labels : numpy.ndarray of int64, optional
        Class per node, ``-1`` for none (Planetoid).
    format : str, optional
        The reader that produced it (``"edges"``, ``"s2orc"``, ...).

    See Also
    --------
    read_citations : reads any supported format into one.
    graphneg.LinkGraph : the graph it holds (``graph``).
    GraphCorpus : the canonical corpus, with labels, texts and embeddings stored by node.

    Examples
    --------
    >>> g = LinkGraph.from_edges(["a"], ["b"], warn=False)
    >>> data = CitationData(g, g.counts)
    >>> data.ids, data.num_nodes, data.counts.kept
    (['a', 'b'], 2, 1)
    """

    graph: LinkGraph
    counts: EdgeCounts
    texts: dict[str, str] | None = None
    years: dict[str, int] | None = None
    features: sp.csr_array | None = None
    labels: np.ndarray | None = None
    format: str | None = None

    @property
    def ids(self) -> list[str]:
        """Node ids in row order."""
        return self.graph.ids  # type: ignore[return-value]

    @property
    def num_nodes(self) -> int:
        """Number of nodes (corpus and external)."""
        return self.graph.num_nodes


# --------------------------------------------------------------------------------------------
# Line input
# --------------------------------------------------------------------------------------------


def _open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for reading bytes, through gzip when its name ends in ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _gzip_error(path: Path, lineno: int, err: Exception) -> ValueError:
    return ValueError(
        f"{path.name}:{lineno}: corrupt or truncated gzip stream ({err}) in {path}."
    )


def _check_text(path: Path) -> None:
    """Refuse, with one message, a file whose first bytes show it is not UTF-8 text."""
    try:
        with _open_binary(path) as fh:
            head = fh.read(_PROBE_BYTES)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise _gzip_error(path, 1, err) from err
    if path.suffix != ".gz" and head[:2] == b"\x1f\x8b":
        raise ValueError(
            f"{path.name}: is gzip-compressed but its name does not end in '.gz' ({path})."
        )
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValueError(f"{path.name}: is UTF-16 text; expected UTF-8 text ({path}).")
    if b"\x00" in head:
        raise ValueError(
            f"{path.name}: looks like a binary file (NUL bytes in its first "
            f"{_PROBE_BYTES} bytes); expected UTF-8 text ({path})."
        )


def iter_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """Yield ``(line number, text without line end)``; text is None for invalid UTF-8.

    Decoding line by line (rather than opening in text mode) lets one bad byte cost one
    line instead of aborting the whole file.
    """
    _check_text(path)
    lineno = 0
    try:
        with _open_binary(path) as fh:
            for lineno, raw in enumerate(fh, start=1):
                try:
                    text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError:
                    yield lineno, None
                    continue
                yield lineno, text.rstrip("\r\n")
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise _gzip_error(path, lineno + 1, err) from err


def iter_ints(path: Path) -> Iterator[int]:
    """The integer on each non-blank line of ``path``; any other line raises, naming it."""
    for lineno, line in iter_lines(path):
        text = "" if line is None else line.strip()
        if line is not None and not text:
            continue
        if not is_int(text):
            shown = "invalid UTF-8" if line is None else repr(text[:60])
            raise ValueError(f"{path.name}:{lineno}: not an integer: {shown} (in {path}).")
        yield int(text)


def is_int(text: str) -> bool:
    """``text`` is a plain ASCII integer (``int()`` also takes ``1_0`` and other scripts)."""
    return _INT_RE.fullmatch(text) is not None


def describe_value(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def known_ids(ids: Iterable[Any] | None) -> list[str] | None:
    """The ``ids`` argument under the one id rule (``1`` and ``"1"`` are node ``"1"``)."""
    if ids is None:
        return None
    try:
        return normalize_ids(ids, "ids")
    except TypeError as err:
        raise TypeError(f"`ids` must hold str or int ids: {err}") from err


def json_id(value: Any, key: str) -> str:
    """One id read from a JSON field, under the one id rule, or ``Malformed``."""
    try:
        return normalize_id(value, key)
    except (TypeError, ValueError):
        raise Malformed(
            f"{key!r} must be a non-empty str or int id, got {describe_value(value)}"
        ) from None


class Malformed(Exception):
    """Raised while parsing one record; the reader reports it against the line."""


# --------------------------------------------------------------------------------------------
# Problem bookkeeping
# --------------------------------------------------------------------------------------------


class Report:
    """Counts for one read, and the malformed-line policy (skip and count, or raise)."""

    def __init__(self, label: str, strict: bool):
        self.label = label
        self.strict = check_bool(strict, "strict")
        self.counts = EdgeCounts()
        self.by_file: dict[str, list[int]] = {}
        self.first_problem: str | None = None

    def malformed(self, path: Path, lineno: int, reason: str) -> None:
        """Skip and count line ``lineno`` of ``path``, or raise under ``strict``."""
        if self.strict:
            raise ValueError(f"{path.name}:{lineno}: {reason} (in {path}).")
        if self.first_problem is None:
            self.first_problem = f"{path.name}:{lineno}: {reason}"
        self.counts.malformed += 1
        self.counts.malformed_lines.append(lineno)
        self.by_file.setdefault(path.name, []).append(lineno)

    def lines(self, path: Path) -> Iterator[tuple[int, str]]:
        """The non-blank lines of ``path`` with their numbers; invalid UTF-8 is malformed."""
        for lineno, line in iter_lines(path):
            if line is None:
                self.malformed(path, lineno, "not valid UTF-8")
            elif line.strip():
                yield lineno, line

    def no_records(self, path: Path, what: str) -> ValueError:
        """The error for a read that produced no record at all (never an empty graph)."""
        message = f"{path.name}: no {what} could be read from {path}"
        if self.counts.malformed:
            message += (
                f": all {self.counts.malformed} data line(s) are malformed "
                f"(first: {self.first_problem})"
            )
        else:
            message += ": it holds no data lines (blank, comment and header lines aside)"
        return ValueError(message + ".")

    def warn(self, depth: int = 1) -> None:
        """One warning summarising what was dropped or skipped (none for clean input).

        ``depth``: how many reader functions lie between this method and the user's call.
        """
        c = self.counts
        if not (c.duplicates or c.self_loops or c.unknown or c.malformed):
            return
        message = f"{self.label}: {c.summary()}"
        if self.by_file:
            parts = []
            for name, lines in self.by_file.items():
                shown = ", ".join(map(str, lines[:_N_EXAMPLES]))
                more = f" (+{len(lines) - _N_EXAMPLES} more)" if len(lines) > _N_EXAMPLES else ""
                parts.append(f"{name} line(s) {shown}{more}")
            message += "; skipped malformed " + "; ".join(parts)
        # Past this method and the reader's own frames, to the line that called the reader.
        warnings.warn(message + ".", GraphNegWarning, stacklevel=2 + depth)


# --------------------------------------------------------------------------------------------
# Graph assembly
# --------------------------------------------------------------------------------------------


def assemble(s: np.ndarray, d: np.ndarray, ids: list[str], counts: EdgeCounts) -> LinkGraph:
    """Graph from row arrays (``-1`` = not a node); every edge given counts as read."""
    return LinkGraph.from_index_arrays(s, d, ids, counts=counts, warn=False)


class GraphBuilder:
    """Collects nodes and id-named edges while streaming, then resolves them at the end.

    Ids are interned to ints as they are met, so a reference may precede the record of the
    paper it names (S2ORC, OpenAlex) and memory holds two int64 per edge, not two strings.

    Parameters
    ----------
    known : sequence of str, optional
        The node ids given up front (edge lists with ``ids``, S2AG with ``ids``).
    nodes_from_edges : bool
        Every id met in an edge is a node (edge lists and S2AG without ``ids``).
    keep_external : bool
        Ids met in edges but not nodes become external nodes instead of unknown.
    """

    def __init__(
        self,
        report: Report,
        *,
        known: Sequence[str] | None = None,
        nodes_from_edges: bool = False,
        keep_external: bool = False,
    ):
        self.report = report
        self.nodes_from_edges = nodes_from_edges
        self.keep_external = check_bool(keep_external, "keep_external")
        self.intern: dict[str, int] = {}
        self.node_order: list[int] = []
        self.node_line: dict[str, int] = {}
        # Two sides for S2ORC, whose links appear once from each end (see _drop_mirrors).
        self.src = (array("q"), array("q"))
        self.dst = (array("q"), array("q"))
        if known is not None:
            for node_id in known:
                if node_id in self.intern:
                    raise ValueError(f"`ids` must be unique, got {node_id!r} more than once.")
                self.node_order.append(self._id(node_id))

    def _id(self, node_id: str) -> int:
        i = self.intern.get(node_id)
        if i is None:
            i = self.intern[node_id] = len(self.intern)
        return i

    def add_node(self, node_id: str, path: Path, lineno: int) -> bool:
        """Register a corpus record; a repeated id is reported malformed and returns False."""
        first = self.node_line.get(node_id)
        if first is not None:
            self.report.malformed(path, lineno, f"duplicate id {node_id!r} (first on line {first})")
            return False
        self.node_line[node_id] = lineno
        self.node_order.append(self._id(node_id))
        return True

    def add_edge(self, source: str, target: str, side: int = 0) -> None:
        self.src[side].append(self._id(source))
        self.dst[side].append(self._id(target))

    def add_id(self, node_id: str) -> None:
        """Make ``node_id`` known without an edge (a citer whose reference is unresolved)."""
        self._id(node_id)

    def _rows(self) -> tuple[np.ndarray, list[str]]:
        """Row of every interned id (``-1``: not a node) and the node ids in row order."""
        counts = self.report.counts
        n_interned = len(self.intern)
        names = list(self.intern)
        row = np.full(n_interned, -1, dtype=np.int64)
        order = (
            np.arange(n_interned, dtype=np.int64)
            if self.nodes_from_edges
            else np.asarray(self.node_order, dtype=np.int64)
        )
        row[order] = np.arange(order.size)
        ids = [names[i] for i in order.tolist()]
        if self.keep_external and not self.nodes_from_edges:
            external = np.flatnonzero(row < 0)
            row[external] = np.arange(len(ids), len(ids) + external.size)
            ids.extend(names[i] for i in external.tolist())
            counts.external_nodes = int(external.size)
        return row, ids

    def build(self, *, mirrored: bool = False) -> LinkGraph:
        """The graph of everything added; ``mirrored`` merges S2ORC's two-sided listings."""
        row, ids = self._rows()
        s0, d0 = (np.frombuffer(a, dtype=np.int64) for a in (self.src[0], self.dst[0]))
        s1, d1 = (np.frombuffer(a, dtype=np.int64) for a in (self.src[1], self.dst[1]))
        if mirrored:
            s1, d1 = _drop_mirrors(s0, d0, s1, d1, max(len(self.intern), 1))
        s = np.concatenate([s0, s1])
        d = np.concatenate([d0, d1])
        return assemble(row[s], row[d], ids, self.report.counts)


def _drop_mirrors(
    s0: np.ndarray, d0: np.ndarray, s1: np.ndarray, d1: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Remove from side 1 one occurrence of every edge that side 0 also lists.

    S2ORC lists a citation between two corpus papers twice, in the citer's
    ``outbound_citations`` and in the cited paper's ``inbound_citations``: one link seen from
    both ends, not a duplicate. Repeats within one side stay and are counted as duplicates.
    """
    if s1.size == 0 or s0.size == 0:
        return s1, d1
    k1 = s1 * width + d1
    both = np.intersect1d(np.unique(s0 * width + d0), k1)
    if both.size == 0:
        return s1, d1
    order = np.argsort(k1, kind="stable")
    first = order[np.searchsorted(k1[order], both)]
    keep = np.ones(k1.size, dtype=bool)
    keep[first] = False
    return s1[keep], d1[keep]
