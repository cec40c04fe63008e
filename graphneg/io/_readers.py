"""Streaming readers for the citation data users arrive with, into a :class:`LinkGraph`.

Every reader returns a :class:`CitationData`: a directed graph (row = citing paper, column =
cited paper) whose ids are the external ids of the source as ``str``, plus the texts and
years the format carries. Files whose name ends in ``.gz`` are decompressed on the fly, and
line-oriented files are read one line at a time, so a dump larger than memory only costs
the graph itself.

Formats and their direction conventions (``shared/research/link-structure-negatives.md`` §7)

=================  ========================================  ================================
reader             input                                     edge citing -> cited
=================  ========================================  ================================
read_edge_list     TSV / CSV / whitespace edge lists         ``col0 -> col1``; ``reverse=True``
                                                             for LINQS ``.cites`` (cited first)
read_s2orc         S2ORC metadata JSONL (and old s2-corpus)  ``outbound_citations`` plus
                                                             ``inbound_citations`` (citer ->)
read_s2ag_citations S2AG "citations" dataset JSONL           ``citingcorpusid -> citedcorpusid``
read_openalex      OpenAlex works JSONL                      ``id -> referenced_works``
read_planetoid     Planetoid ``ind.<name>.*`` pickles        undirected: both arcs as listed
read_ogb           OGB raw folder (``raw/edge.csv.gz``)      ``src -> dst``
=================  ========================================  ================================

Nothing is lost silently. A line that cannot be read (bad JSON, a missing or mistyped field,
too few columns, invalid UTF-8, a repeated node id) is skipped and counted as *malformed* with
its line number; ``strict=True`` raises a ``ValueError`` naming file and line instead.
Repeated edges, self-citations and references to ids outside the corpus are dropped and
counted (``keep_external=True`` keeps the references, adding their targets as external
nodes after the corpus nodes). The counts end up in :attr:`CitationData.counts`, with
``read == kept + duplicates + self_loops + unknown``, and one
:class:`~graphneg.exceptions.GraphNegWarning` per call summarises them whenever something
was dropped or skipped.
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import warnings
import zlib
from array import array
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import scipy.sparse as sp

from .._validation import check_bool, check_choice
from ..exceptions import GraphNegWarning
from ..links._graph import EdgeCounts, LinkGraph

__all__ = [
    "CitationData",
    "read_citations",
    "read_edge_list",
    "read_s2orc",
    "read_s2ag_citations",
    "read_openalex",
    "read_planetoid",
    "read_ogb",
    "abstract_from_inverted_index",
]

PathLike = str | os.PathLike[str]
FORMATS = ("auto", "edges", "s2orc", "s2ag", "openalex", "planetoid", "ogb", "canonical")

# How many malformed line numbers a warning quotes (all of them are in counts.malformed_lines).
_N_EXAMPLES = 5
# How many leading lines format sniffing may look at before giving up on finding a record.
_SNIFF_LINES = 50
# First-line field names that mark an edge-list header under header="auto".
_HEADER_NAMES = frozenset(
    {
        "source", "target", "src", "dst", "from", "to", "citing", "cited", "citer",
        "citee", "paper", "reference", "references", "head", "tail", "u", "v", "node1",
        "node2", "id1", "id2", "source_id", "target_id", "citing_id", "cited_id",
        "citingcorpusid", "citedcorpusid", "citing_paper", "cited_paper",
    }
)
_OPENALEX_PREFIX = "openalex.org/"
# Keys only OpenAlex work objects have (among the formats read here).
_OPENALEX_KEYS = frozenset(
    {"referenced_works", "abstract_inverted_index", "publication_year", "display_name",
     "cited_by_count", "referenced_works_count"}
)


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


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

    Examples
    --------
    >>> g = LinkGraph.from_edges(["a"], ["b"], warn=False)
    >>> data = CitationData(g, g.counts)
    >>> data.ids, data.n_nodes, data.counts.kept
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
    def n_nodes(self) -> int:
        return self.graph.n_nodes


# --------------------------------------------------------------------------------------------
# Line input and problem bookkeeping
# --------------------------------------------------------------------------------------------


def _open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for reading bytes, through gzip when its name ends in ``.gz``."""
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return open(path, "rb")


def _iter_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """Yield ``(line number, text without line end)``; text is None for invalid UTF-8.

    Decoding line by line (rather than opening in text mode) lets one bad byte cost one
    line instead of aborting the whole file.
    """
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
        raise ValueError(
            f"{path.name}: line {lineno + 1}: corrupt or truncated gzip stream ({err}) in {path}."
        ) from err


class _Report:
    """Counts for one read, and the malformed-line policy (skip and count, or raise)."""

    def __init__(self, label: str, strict: bool):
        self.label = label
        self.strict = check_bool(strict, "strict")
        self.counts = EdgeCounts()
        self.by_file: dict[str, list[int]] = {}

    def malformed(self, path: Path, lineno: int, reason: str) -> None:
        if self.strict:
            raise ValueError(f"{path.name}: line {lineno}: {reason} in {path}.")
        self.counts.malformed += 1
        self.counts.malformed_lines.append(lineno)
        self.by_file.setdefault(path.name, []).append(lineno)

    def warn(self) -> None:
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
        # stacklevel 3: past this method and the reader, to the line that called the reader.
        warnings.warn(message + ".", GraphNegWarning, stacklevel=3)


def _scalar_id(value: Any, *, allow_int: bool = True) -> str | None:
    """``value`` as a non-empty id string, or None when it is not a usable id."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------------------------
# Graph assembly
# --------------------------------------------------------------------------------------------


def _assemble(s: np.ndarray, d: np.ndarray, ids: list[str], counts: EdgeCounts) -> LinkGraph:
    """Graph from row arrays (``-1`` = not a node), counting what is dropped and why.

    The order of the tests fixes which count a dropped edge lands in: unknown first, then
    self-loop, then duplicate (the first occurrence of an edge is the one kept).
    """
    n = len(ids)
    counts.read += int(s.size)
    known = (s >= 0) & (d >= 0)
    counts.unknown += int(s.size - np.count_nonzero(known))
    s, d = s[known], d[known]
    loops = s == d
    counts.self_loops += int(np.count_nonzero(loops))
    s, d = s[~loops], d[~loops]
    width = max(n, 1)
    keys = np.unique(s * width + d)
    counts.duplicates += int(s.size - keys.size)
    counts.kept = int(keys.size)
    A = sp.csr_array(
        (np.ones(keys.size, np.float32), (keys // width, keys % width)), shape=(n, n)
    )
    return LinkGraph(A, ids, counts)


class _GraphBuilder:
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
        report: _Report,
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

    def build(self, *, mirrored: bool = False) -> LinkGraph:
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
        s0, d0 = (np.frombuffer(a, dtype=np.int64) for a in (self.src[0], self.dst[0]))
        s1, d1 = (np.frombuffer(a, dtype=np.int64) for a in (self.src[1], self.dst[1]))
        if mirrored:
            s1, d1 = _drop_mirrors(s0, d0, s1, d1, max(n_interned, 1))
        s = np.concatenate([s0, s1])
        d = np.concatenate([d0, d1])
        return _assemble(row[s], row[d], ids, counts)


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


# --------------------------------------------------------------------------------------------
# Edge lists
# --------------------------------------------------------------------------------------------


def read_edge_list(
    path: PathLike,
    *,
    delimiter: str | None = "\t",
    header: bool | Literal["auto"] = False,
    reverse: bool = False,
    ids: Sequence[Hashable] | None = None,
    keep_external: bool = False,
    comment: str | None = "#",
    strict: bool = False,
) -> CitationData:
    """Read an edge list, one ``citing<delim>cited`` pair a line.

    Parameters
    ----------
    path : str or path-like
        The file (``.gz`` is decompressed).
    delimiter : str or None, default="\\t"
        Field separator, e.g. ``"\\t"`` or ``","``; None splits on any run of whitespace.
        Fields are stripped; columns after the second are ignored.
    header : bool or "auto", default=False
        Skip the first line (blank and comment lines aside). ``"auto"`` skips it when both
        of its first fields are common column names (``source``/``target``,
        ``citing``/``cited``, ``src``/``dst``, ...), or when neither is an integer while
        both of the second line's are.
    reverse : bool, default=False
        The lines list ``cited citing`` (LINQS ``.cites`` files); edges are flipped.
    ids : sequence, default=None
        The known nodes, in row order (converted to ``str``). Edges naming other ids count
        as unknown. None: every id met is a node, in order of first appearance.
    keep_external : bool, default=False
        With ``ids``, keep edges to unknown ids and add those as external nodes.
    comment : str or None, default="#"
        Lines starting with it are skipped (SNAP files start with ``#`` comments). Blank
        lines are skipped too; neither is counted, as neither holds an edge.
    strict : bool, default=False
        Raise ``ValueError`` (file and line) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        ``texts`` and ``years`` are None.

    Raises
    ------
    ValueError
        On a malformed line under ``strict``, or duplicate ``ids``.

    Warns
    -----
    GraphNegWarning
        When lines or edges were skipped (counts and first malformed lines in the message).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cora.cites"
    >>> _ = p.write_text("35 1033\\n35 103482\\n")
    >>> data = read_edge_list(p, delimiter=None, reverse=True)  # LINQS: cited, then citing
    >>> data.ids, data.graph.to_edge_index().tolist()
    (['1033', '35', '103482'], [[0, 2], [1, 1]])
    """
    path = Path(path)
    if delimiter is not None and (
        not isinstance(delimiter, str) or not delimiter or "\n" in delimiter
    ):
        raise ValueError(f"`delimiter` must be a non-empty string or None, got {delimiter!r}.")
    if header != "auto":
        header = check_bool(header, "header")
    reverse = check_bool(reverse, "reverse")
    if comment is not None and (not isinstance(comment, str) or not comment):
        raise ValueError(f"`comment` must be a non-empty string or None, got {comment!r}.")
    known = None if ids is None else [str(v) for v in ids]
    report = _Report(path.name, strict)
    builder = _GraphBuilder(
        report, known=known, nodes_from_edges=known is None, keep_external=keep_external
    )
    skip_first = header is True or (header == "auto" and _sniff_header(path, delimiter, comment))
    first_data = True
    for lineno, line in _iter_lines(path):
        if line is None:
            report.malformed(path, lineno, "not valid UTF-8")
            continue
        if not line.strip() or (comment is not None and line.lstrip().startswith(comment)):
            continue
        if first_data:
            first_data = False
            if skip_first:
                continue
        fields = _split(line, delimiter)
        if len(fields) < 2 or not fields[0] or not fields[1]:
            report.malformed(path, lineno, f"expected 2 non-empty fields, got {line[:60]!r}")
            continue
        a, b = fields[0], fields[1]
        if reverse:
            a, b = b, a
        builder.add_edge(a, b)
    graph = builder.build()
    report.warn()
    return CitationData(graph, graph.counts, format="edges")


def _split(line: str, delimiter: str | None) -> list[str]:
    if delimiter is None:
        return line.split()
    return [f.strip() for f in line.split(delimiter, 2)]


def _sniff_header(path: Path, delimiter: str | None, comment: str | None) -> bool:
    """Guess whether the first data line is a header (see ``read_edge_list``)."""
    rows: list[list[str]] = []
    for _, line in _iter_lines(path):
        if line is None or not line.strip():
            continue
        if comment is not None and line.lstrip().startswith(comment):
            continue
        rows.append(_split(line, delimiter)[:2])
        if len(rows) == 2:
            break
    if not rows or len(rows[0]) < 2:
        return False
    first = rows[0]
    if all(f.lower() in _HEADER_NAMES for f in first):
        return True
    nxt = rows[1] if len(rows) > 1 else []
    return (
        len(nxt) == 2
        and not any(_is_int(f) for f in first)
        and all(_is_int(f) for f in nxt)
    )


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# JSON lines formats
# --------------------------------------------------------------------------------------------


def _iter_records(path: Path, report: _Report) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)``; undecodable lines and non-objects are reported."""
    for lineno, line in _iter_lines(path):
        if line is None:
            report.malformed(path, lineno, "not valid UTF-8")
            continue
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            report.malformed(path, lineno, f"malformed JSON ({err.msg})")
            continue
        if not isinstance(rec, dict):
            report.malformed(path, lineno, f"expected a JSON object, got {type(rec).__name__}")
            continue
        yield lineno, rec


class _Malformed(Exception):
    """Raised while parsing one record; the reader reports it against the line."""


def _field(rec: Mapping[str, Any], *keys: str) -> tuple[str, Any]:
    """The first of ``keys`` present in ``rec`` (and its value); ``(keys[0], None)`` if none."""
    for key in keys:
        if key in rec:
            return key, rec[key]
    return keys[0], None


def _required_id(rec: Mapping[str, Any], *keys: str, allow_int: bool = True) -> str:
    key, value = _field(rec, *keys)
    if key not in rec:
        raise _Malformed(f"missing {' / '.join(repr(k) for k in keys)}")
    node_id = _scalar_id(value, allow_int=allow_int)
    if node_id is None:
        raise _Malformed(f"{key!r} must be a non-empty id, got {_describe(value)}")
    return node_id


def _id_list(rec: Mapping[str, Any], *keys: str, allow_int: bool = True) -> list[str]:
    """A list-of-ids field; absent or null reads as empty (S2ORC writes [] for none)."""
    key, value = _field(rec, *keys)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{key!r} must be a list of ids, got {_describe(value)}")
    out = []
    for item in value:
        node_id = _scalar_id(item, allow_int=allow_int)
        if node_id is None:
            raise _Malformed(f"{key!r} must hold non-empty ids, got {_describe(item)}")
        out.append(node_id)
    return out


def _optional_str(rec: Mapping[str, Any], *keys: str) -> str:
    key, value = _field(rec, *keys)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{key!r} must be a string or null, got {_describe(value)}")
    return value


def _optional_year(rec: Mapping[str, Any], *keys: str) -> int | None:
    key, value = _field(rec, *keys)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"{key!r} must be an integer or null, got {_describe(value)}")
    return value


def _join_text(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _unique_in_order(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def read_s2orc(
    path: PathLike, *, keep_external: bool = False, strict: bool = False
) -> CitationData:
    """Read S2ORC metadata JSONL (one paper a line), or the older s2-corpus layout.

    Parameters
    ----------
    path : str or path-like
        A ``metadata_*.jsonl(.gz)`` file. Fields: ``paper_id``, ``title``, ``abstract``,
        ``year``, ``outbound_citations`` (papers it cites), ``inbound_citations`` (papers
        citing it); the old s2-corpus names ``id``, ``paperAbstract``, ``outCitations``,
        ``inCitations`` are read too. Ids may be strings or integers.
    keep_external : bool, default=False
        Keep citations to or from papers that have no line in the file, as external nodes.
    strict : bool, default=False
        Raise ``ValueError`` (file and line) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        Nodes are the papers of the file, in file order. Edges are the union of
        ``paper -> outbound`` and ``inbound -> paper``. ``texts`` holds title + abstract,
        ``years`` the papers with a year.

    Notes
    -----
    A citation between two papers of the file is usually listed twice, in the citer's
    ``outbound_citations`` and in the cited paper's ``inbound_citations``. The two are one
    link seen from both ends: it is read, and counted in ``counts.read``, once. A paper
    repeated within one list is a true duplicate and counted as such. A line is malformed
    when it is not a JSON object, lacks an id, repeats an earlier paper's id, or has a
    field of the wrong type (a list that is not a list of ids, a non-string title or
    abstract, a non-integer year); absent or null lists read as empty.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metadata_0.jsonl"
    >>> recs = [{"paper_id": "1", "title": "A", "outbound_citations": ["2"]},
    ...         {"paper_id": "2", "title": "B", "abstract": "b.", "inbound_citations": ["1"]}]
    >>> _ = p.write_text("".join(json.dumps(r) + "\\n" for r in recs))
    >>> data = read_s2orc(p)
    >>> data.graph.to_edge_index().tolist(), data.counts.read, data.texts["2"]
    ([[0], [1]], 1, 'B b.')
    """
    path = Path(path)
    report = _Report(path.name, strict)
    builder = _GraphBuilder(report, keep_external=keep_external)
    texts: dict[str, str] = {}
    years: dict[str, int] = {}
    for lineno, rec in _iter_records(path, report):
        try:
            paper = _required_id(rec, "paper_id", "id")
            outbound = _id_list(rec, "outbound_citations", "outCitations")
            inbound = _id_list(rec, "inbound_citations", "inCitations")
            text = _join_text(
                _optional_str(rec, "title"), _optional_str(rec, "abstract", "paperAbstract")
            )
            year = _optional_year(rec, "year")
        except _Malformed as err:
            report.malformed(path, lineno, str(err))
            continue
        if not builder.add_node(paper, path, lineno):
            continue
        texts[paper] = text
        if year is not None:
            years[paper] = year
        # Repeats within one list are counted here: the mirror merge must not absorb them.
        for refs, side in ((outbound, 0), (inbound, 1)):
            unique = _unique_in_order(refs)
            report.counts.read += len(refs) - len(unique)
            report.counts.duplicates += len(refs) - len(unique)
            for other in unique:
                if side == 0:
                    builder.add_edge(paper, other, 0)
                else:
                    builder.add_edge(other, paper, 1)
    graph = builder.build(mirrored=True)
    report.warn()
    return CitationData(graph, graph.counts, texts=texts, years=years, format="s2orc")


def read_s2ag_citations(
    path: PathLike, *, ids: Sequence[Hashable] | None = None, strict: bool = False
) -> CitationData:
    """Read the Semantic Scholar (S2AG) "citations" dataset: one citation a line.

    Parameters
    ----------
    path : str or path-like
        JSONL with ``citingcorpusid`` and ``citedcorpusid`` (integers or strings; other
        fields such as ``isinfluential``, ``contexts``, ``intents`` are ignored).
    ids : sequence, default=None
        The known corpus ids, in row order (converted to ``str``); citations naming others
        count as unknown. None: every citing or cited id met is a node.
    strict : bool, default=False
        Raise ``ValueError`` (file and line) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        ``texts`` and ``years`` are None (they live in the separate "papers" dataset).

    Notes
    -----
    ``citedcorpusid`` is null for a reference S2 could not resolve: such a line is read and
    counted as unknown (its citing paper still becomes a node when ``ids`` is None). A line
    that lacks either key or has an id of another type is malformed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "citations.jsonl"
    >>> _ = p.write_text('{"citingcorpusid": 7, "citedcorpusid": 3}\\n')
    >>> read_s2ag_citations(p).ids
    ['7', '3']
    """
    path = Path(path)
    known = None if ids is None else [str(v) for v in ids]
    report = _Report(path.name, strict)
    builder = _GraphBuilder(report, known=known, nodes_from_edges=known is None)
    for lineno, rec in _iter_records(path, report):
        try:
            citing = _required_id(rec, "citingcorpusid")
            if "citedcorpusid" not in rec:
                raise _Malformed("missing 'citedcorpusid'")
            raw = rec["citedcorpusid"]
            cited = None if raw is None else _required_id(rec, "citedcorpusid")
        except _Malformed as err:
            report.malformed(path, lineno, str(err))
            continue
        if cited is None:  # an unresolved reference: read, and lost to the graph
            report.counts.read += 1
            report.counts.unknown += 1
            if known is None:
                builder.add_id(citing)
            continue
        builder.add_edge(citing, cited)
    graph = builder.build()
    report.warn()
    return CitationData(graph, graph.counts, format="s2ag")


def _openalex_id(value: Any) -> str | None:
    """``"https://openalex.org/W123"`` (or ``"W123"``) -> ``"W123"``; None if unusable."""
    node_id = _scalar_id(value, allow_int=False)
    if node_id is None:
        return None
    cut = node_id.rfind(_OPENALEX_PREFIX)
    if cut >= 0:
        node_id = node_id[cut + len(_OPENALEX_PREFIX) :].strip("/")
    return node_id or None


def abstract_from_inverted_index(index: Mapping[str, Sequence[int]] | None) -> str:
    """Rebuild an OpenAlex abstract from its ``abstract_inverted_index``.

    Parameters
    ----------
    index : mapping of str to list of int, or None
        Word -> positions at which it occurs.

    Returns
    -------
    str
        The words sorted by position, joined by single spaces ("" for None or empty).
        Gaps in the positions are closed; words sharing a position keep the mapping's order.

    Raises
    ------
    TypeError
        If ``index`` is not such a mapping (a position that is not a non-negative int).

    Examples
    --------
    >>> abstract_from_inverted_index({"negatives": [1, 3], "Hard": [0], "help": [2]})
    'Hard negatives help negatives'
    """
    if index is None:
        return ""
    if not isinstance(index, Mapping):
        raise TypeError(f"`index` must be a mapping word -> positions, got {_describe(index)}.")
    placed: list[tuple[int, str]] = []
    for word, positions in index.items():
        if not isinstance(word, str) or not isinstance(positions, (list, tuple)):
            raise TypeError(
                f"`index` must map words to lists of positions, got {_describe(word)}: "
                f"{_describe(positions)}."
            )
        for pos in positions:
            if isinstance(pos, bool) or not isinstance(pos, int) or pos < 0:
                raise TypeError(
                    f"`index[{word!r}]` must hold non-negative int positions, got {_describe(pos)}."
                )
            placed.append((pos, word))
    placed.sort(key=lambda item: item[0])  # stable: ties keep the mapping's order
    return " ".join(word for _, word in placed)


def read_openalex(
    path: PathLike, *, keep_external: bool = False, strict: bool = False
) -> CitationData:
    """Read OpenAlex works JSONL (a snapshot ``works/.../part_*.gz`` file or an API dump).

    Parameters
    ----------
    path : str or path-like
        JSONL of work objects: ``id``, ``referenced_works`` (the works it cites),
        ``title`` (or ``display_name``), ``publication_year``, ``abstract_inverted_index``.
        Ids ``"https://openalex.org/W123"`` are shortened to ``"W123"``.
    keep_external : bool, default=False
        Keep references to works that have no line in the file, as external nodes.
    strict : bool, default=False
        Raise ``ValueError`` (file and line) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        ``texts``: title + the abstract rebuilt by :func:`abstract_from_inverted_index`;
        ``years``: ``publication_year`` where present.

    Notes
    -----
    OpenAlex stores only outgoing references; incoming ones are these read backwards. A line
    is malformed when it is not a JSON object, lacks an ``id``, repeats an earlier work's
    id, or has a field of the wrong type (ids must be strings).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "works.jsonl"
    >>> recs = [{"id": "https://openalex.org/W1", "title": "One", "publication_year": 2020,
    ...          "referenced_works": ["https://openalex.org/W2"],
    ...          "abstract_inverted_index": {"world": [1], "Hello": [0]}},
    ...         {"id": "https://openalex.org/W2", "display_name": "Two"}]
    >>> _ = p.write_text("".join(json.dumps(r) + "\\n" for r in recs))
    >>> data = read_openalex(p)
    >>> data.ids, data.texts["W1"], data.years
    (['W1', 'W2'], 'One Hello world', {'W1': 2020})
    """
    path = Path(path)
    report = _Report(path.name, strict)
    builder = _GraphBuilder(report, keep_external=keep_external)
    texts: dict[str, str] = {}
    years: dict[str, int] = {}
    for lineno, rec in _iter_records(path, report):
        try:
            if "id" not in rec:
                raise _Malformed("missing 'id'")
            work = _openalex_id(rec["id"])
            if work is None:
                raise _Malformed(f"'id' must be an OpenAlex id string, got {_describe(rec['id'])}")
            refs = []
            for ref in _id_list(rec, "referenced_works", allow_int=False):
                short = _openalex_id(ref)
                if short is None:
                    raise _Malformed(f"'referenced_works' holds an unusable id {ref!r}")
                refs.append(short)
            title = _optional_str(rec, "title") or _optional_str(rec, "display_name")
            year = _optional_year(rec, "publication_year")
            try:
                abstract = abstract_from_inverted_index(rec.get("abstract_inverted_index"))
            except TypeError as err:
                raise _Malformed(f"'abstract_inverted_index': {err}") from err
        except _Malformed as err:
            report.malformed(path, lineno, str(err))
            continue
        if not builder.add_node(work, path, lineno):
            continue
        texts[work] = _join_text(title, abstract)
        if year is not None:
            years[work] = year
        for ref in refs:
            builder.add_edge(work, ref)
    graph = builder.build()
    report.warn()
    return CitationData(graph, graph.counts, texts=texts, years=years, format="openalex")


# --------------------------------------------------------------------------------------------
# Planetoid
# --------------------------------------------------------------------------------------------

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
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"{path.name}: cannot read pickle ({err}) in {path}.") from err


def _read_planetoid_test_index(path: Path) -> np.ndarray:
    rows: list[int] = []
    for lineno, line in _iter_lines(path):
        if line is None or not line.strip():
            continue
        try:
            rows.append(int(line))
        except ValueError as err:
            raise ValueError(
                f"{path.name}: line {lineno}: not an integer: {line!r} in {path}."
            ) from err
    index = np.asarray(rows, dtype=np.int64)
    if index.size == 0 or np.unique(index).size != index.size:
        raise ValueError(f"{path.name}: expected distinct node indices in {path}.")
    return index


def _is_index(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


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

    Notes
    -----
    Planetoid's ``graph`` is undirected: citation direction was discarded, and the
    adjacency lists name each pair from both ends. Every listed arc ``u -> v`` is read as
    given, so the result holds each undirected edge in both directions. The published
    lists repeat some arcs and contain self-loops; these are counted as duplicates and
    self-loops, and neighbours outside the node range as unknown. The pickles are loaded
    by an unpickler that only builds numpy arrays, scipy sparse matrices and containers.

    Raises
    ------
    FileNotFoundError
        If a part is missing.
    ValueError
        If a pickle is unreadable or refused, or the parts disagree in size.

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
    >>> data.n_nodes, data.graph.n_edges, data.labels.tolist()
    (4, 4, [0, 1, 1, 0])
    """
    folder = Path(folder)
    if not isinstance(name, str) or not name:
        raise ValueError(f"`name` must be a non-empty data set name, got {name!r}.")
    paths = {key: folder / f"ind.{name}.{key}" for key in (*_PLANETOID_PARTS, "test.index")}
    for path in paths.values():
        if not path.is_file():
            raise FileNotFoundError(
                f"{folder}: not a Planetoid folder for {name!r} (missing {path.name})."
            )
    part = {key: _load_planetoid_pickle(paths[key]) for key in _PLANETOID_PARTS}
    test_index = _read_planetoid_test_index(paths["test.index"])
    try:
        allx, tx = sp.csr_array(part["allx"]), sp.csr_array(part["tx"])
        ally, ty = np.asarray(part["ally"]), np.asarray(part["ty"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{folder}: ind.{name}.* parts have unexpected types ({err}).") from err
    graph = part["graph"]
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
    if not isinstance(graph, dict):
        raise ValueError(
            f"{folder}: ind.{name}.graph holds a {type(graph).__name__}, expected a dict."
        )

    # Kipf: the test rows cover ids min..max of test.index; ids missing from it are padded.
    sorted_index = np.sort(test_index)
    lo, hi = int(sorted_index[0]), int(sorted_index[-1])
    if lo != allx.shape[0]:
        raise ValueError(
            f"{folder}: ind.{name}.test.index starts at {lo} but allx has {allx.shape[0]} rows."
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

    src: list[int] = []
    dst: list[int] = []
    for u, neighbours in graph.items():  # .items(): indexing a defaultdict would add keys
        for v in neighbours:
            if not (_is_index(u) and _is_index(v)):
                raise ValueError(
                    f"{folder}: ind.{name}.graph names a non-integer node ({u!r} -> {v!r})."
                )
            src.append(int(u))
            dst.append(int(v))
    s = np.asarray(src, dtype=np.int64)
    d = np.asarray(dst, dtype=np.int64)
    outside = (s < 0) | (s >= n) | (d < 0) | (d >= n)
    s[outside] = -1
    report = _Report(f"ind.{name}.graph", strict=False)
    link_graph = _assemble(s, d, [str(i) for i in range(n)], report.counts)
    report.warn()
    return CitationData(
        link_graph, link_graph.counts, features=features, labels=labels, format="planetoid"
    )


# --------------------------------------------------------------------------------------------
# OGB
# --------------------------------------------------------------------------------------------


def _csv_path(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists (plain first)."""
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _ogb_layout(folder: Path) -> tuple[Path, Path] | None:
    """``(raw folder, mapping folder)`` when ``folder`` is an OGB data set (or its raw/)."""
    if _csv_path(folder / "raw", "edge.csv") is not None:
        return folder / "raw", folder / "mapping"
    if _csv_path(folder, "edge.csv") is not None:
        return folder, folder.parent / "mapping"
    return None


def read_ogb(folder: PathLike, *, strict: bool = False) -> CitationData:
    """Read an OGB data set in its raw layout (ogbn-arxiv, ogbl-citation2, ...).

    Parameters
    ----------
    folder : str or path-like
        The data set folder, holding ``raw/edge.csv(.gz)`` (no header, ``src,dst`` node
        indices, source cites target) and optionally ``raw/node_year.csv(.gz)`` (one year a
        line, line *i* = node *i - 1*), ``raw/num-node-list.csv(.gz)`` and
        ``mapping/nodeidx2paperid.csv(.gz)`` (a header, then ``idx,paperid``). The ``raw``
        folder itself is accepted too.
    strict : bool, default=False
        Raise ``ValueError`` (file and line) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        Ids are the paper ids (as ``str``) when the mapping exists, else the indices. The
        nodes are the mapped indices in index order; without a mapping, ``0 .. n-1`` with
        ``n`` from ``num-node-list``, else the larger of the highest index + 1 and the
        number of year lines. ``years`` is None without ``node_year``.

    Notes
    -----
    Mapping rows must come in index order (row *k* maps index *k*); a row that does not,
    or repeats a paper id, is malformed and leaves its index unmapped, so edges naming it
    count as unknown, as do edges naming an index beyond the node range. Malformed line
    numbers are listed per file in the warning and in reading order (mapping, node_year,
    edge) in ``counts.malformed_lines``.

    Raises
    ------
    FileNotFoundError
        If there is no ``edge.csv(.gz)``.
    ValueError
        If ``node_year`` or ``num-node-list`` disagrees with the number of nodes.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "raw").mkdir()
    >>> _ = (d / "raw" / "edge.csv").write_text("0,1\\n2,0\\n")
    >>> data = read_ogb(d)
    >>> data.ids, data.graph.to_edge_index().tolist()
    (['0', '1', '2'], [[0, 2], [1, 0]])
    """
    folder = Path(folder)
    layout = _ogb_layout(folder)
    if layout is None:
        raise FileNotFoundError(
            f"{folder}: not an OGB folder (missing raw/edge.csv or raw/edge.csv.gz)."
        )
    raw, mapping_dir = layout
    report = _Report(folder.name or str(folder), strict)

    n_listed: int | None = None
    num_path = _csv_path(raw, "num-node-list.csv")
    if num_path is not None:
        n_listed = 0
        for lineno, line in _iter_lines(num_path):
            if line is None or not line.strip():
                continue
            try:
                n_listed += int(line)
            except ValueError as err:
                raise ValueError(
                    f"{num_path.name}: line {lineno}: not an integer: {line!r} in {num_path}."
                ) from err

    paper_ids: list[str | None] | None = None
    map_path = _csv_path(mapping_dir, "nodeidx2paperid.csv")
    if map_path is not None:
        paper_ids = []
        first_line: dict[str, int] = {}
        for lineno, line in _iter_lines(map_path):
            if lineno == 1 or (line is not None and not line.strip()):
                continue  # the header ("node idx,paper id") and blank lines
            paper_ids.append(None)  # this row's index stays unmapped unless the row is valid
            if line is None:
                report.malformed(map_path, lineno, "not valid UTF-8")
                continue
            fields = [f.strip() for f in line.split(",")]
            expected = len(paper_ids) - 1
            if len(fields) < 2 or not fields[1] or not _is_int(fields[0]):
                report.malformed(map_path, lineno, f"expected 'idx,paper id', got {line[:60]!r}")
                continue
            if int(fields[0]) != expected:
                report.malformed(
                    map_path, lineno, f"expected index {expected} (index order), got {line!r}"
                )
                continue
            if fields[1] in first_line:
                first = first_line[fields[1]]
                report.malformed(
                    map_path, lineno, f"duplicate id {fields[1]!r} (first on line {first})"
                )
                continue
            first_line[fields[1]] = lineno
            paper_ids[-1] = fields[1]
        if n_listed is not None and n_listed != len(paper_ids):
            raise ValueError(
                f"{folder}: {num_path.name if num_path else ''} lists {n_listed} nodes but "
                f"{map_path.name} maps {len(paper_ids)}."
            )

    year_values: list[int | None] | None = None
    year_path = _csv_path(raw, "node_year.csv")
    if year_path is not None:
        year_values = []
        for lineno, line in _iter_lines(year_path):
            value = None
            text = (line or "").split(",")[0].strip()
            if line is None or not _is_int(text):
                report.malformed(year_path, lineno, f"expected an integer year, got {line!r}")
            else:
                value = int(text)
            year_values.append(value)

    edge_path = _csv_path(raw, "edge.csv")
    assert edge_path is not None  # _ogb_layout found it
    src, dst = array("q"), array("q")
    for lineno, line in _iter_lines(edge_path):
        if line is None:
            report.malformed(edge_path, lineno, "not valid UTF-8")
            continue
        if not line.strip():
            continue
        fields = line.split(",")
        try:
            a, b = int(fields[0]), int(fields[1])
        except (ValueError, IndexError):
            report.malformed(edge_path, lineno, f"expected 'src,dst' integers, got {line[:60]!r}")
            continue
        if a < 0 or b < 0:
            report.malformed(edge_path, lineno, f"node indices must be >= 0, got {line[:60]!r}")
            continue
        src.append(a)
        dst.append(b)
    s = np.frombuffer(src, dtype=np.int64) if src else np.zeros(0, np.int64)
    d = np.frombuffer(dst, dtype=np.int64) if dst else np.zeros(0, np.int64)

    if paper_ids is not None:
        n_index = len(paper_ids)
    elif n_listed is not None:
        n_index = n_listed
    else:
        top = int(max(s.max(initial=-1), d.max(initial=-1))) + 1
        n_index = max(top, len(year_values or ()))
    if year_values is not None and len(year_values) != n_index:
        raise ValueError(
            f"{folder}: {year_path.name if year_path else ''} has {len(year_values)} lines but "
            f"there are {n_index} nodes."
        )
    if paper_ids is None:
        names: list[str | None] = [str(i) for i in range(n_index)]
    else:
        names = paper_ids
    mapped = np.fromiter((v is not None for v in names), dtype=bool, count=n_index)
    idx2row = np.full(n_index + 1, -1, dtype=np.int64)  # last slot: indices out of range
    idx2row[:n_index][mapped] = np.arange(int(mapped.sum()))
    ids = [v for v in names if v is not None]
    s_rows = idx2row[np.minimum(s, n_index)]
    d_rows = idx2row[np.minimum(d, n_index)]
    graph = _assemble(s_rows, d_rows, ids, report.counts)
    years = None
    if year_values is not None:
        years = {
            name: year
            for name, year in zip(names, year_values, strict=True)
            if name is not None and year is not None
        }
    report.warn()
    return CitationData(graph, graph.counts, years=years, format="ogb")


# --------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------


def _planetoid_names(folder: Path) -> list[str]:
    return sorted(p.name[len("ind.") : -len(".graph")] for p in folder.glob("ind.*.graph"))


def _sniff_json(path: Path) -> str | None:
    """The JSONL format of ``path`` from its first record's keys; None if not JSONL."""
    looked = 0
    seen_brace = False
    for _, line in _iter_lines(path):
        if line is None or not line.strip():
            continue
        looked += 1
        if looked > _SNIFF_LINES:
            break
        if not line.lstrip().startswith("{"):
            if not seen_brace:
                return None
            continue
        seen_brace = True
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(rec, dict):
            continue
        keys = set(rec)
        if keys & {"citingcorpusid", "citedcorpusid"}:
            return "s2ag"
        if keys & _OPENALEX_KEYS or _looks_openalex(rec.get("id")):
            return "openalex"
        if keys & {
            "paper_id", "outbound_citations", "inbound_citations", "outCitations",
            "inCitations", "paperAbstract",
        }:
            return "s2orc"
        raise ValueError(
            f"{path.name}: cannot tell the JSON lines format from keys {sorted(keys)[:10]}; "
            "pass format='s2orc', 's2ag' or 'openalex'."
        )
    if seen_brace:
        raise ValueError(
            f"{path.name}: no readable JSON object in its first {_SNIFF_LINES} lines; "
            "pass `format`."
        )
    return None


def _looks_openalex(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    short = _openalex_id(value)
    return _OPENALEX_PREFIX in value or (
        short is not None and short[:1] == "W" and short[1:].isdigit()
    )


def _detect(path: Path) -> str:
    if path.is_dir():
        if (path / "nodes.jsonl").is_file() and (path / "edges.tsv").is_file():
            return "canonical"
        if _planetoid_names(path):
            return "planetoid"
        if _ogb_layout(path) is not None:
            return "ogb"
        raise ValueError(
            f"{path}: cannot tell the format of this folder (no ind.<name>.graph Planetoid "
            "files, no raw/edge.csv(.gz) OGB layout); pass `format`."
        )
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder.")
    return _sniff_json(path) or "edges"


def read_canonical(path: PathLike, *, strict: bool = True) -> CitationData:
    """Read graphneg's canonical graph-corpus folder (``nodes.jsonl`` + ``edges.tsv``).

    The folders ``datasets/`` writes (e.g. CiteSeer with text); texts and labels come along.
    Canonical files are written by graphneg, so they are always read strictly
    (:func:`graphneg.corpus.load_graph_corpus`); ``strict`` is accepted for a uniform call.
    """
    from ._corpus import load_graph_corpus

    del strict
    corpus = load_graph_corpus(path)
    graph = LinkGraph(corpus.edges, corpus.ids)
    texts = dict(zip(corpus.ids, corpus.texts, strict=True)) if corpus.texts is not None else None
    return CitationData(graph, graph.counts, texts=texts, features=corpus.features,
                        labels=corpus.labels, format="canonical")


def read_citations(path: PathLike, format: str = "auto", **kwargs: Any) -> CitationData:
    """Read citation data in any supported format; ``"auto"`` detects it.

    Parameters
    ----------
    path : str or path-like
        A file, or a folder for ``"planetoid"`` and ``"ogb"``.
    format : {"auto", "edges", "s2orc", "s2ag", "openalex", "planetoid", "ogb", "canonical"}
        ``"auto"``: a folder with ``nodes.jsonl`` and ``edges.tsv`` is graphneg's canonical
        corpus, one with ``ind.<name>.graph`` files is Planetoid, one with
        ``raw/edge.csv(.gz)`` OGB; a file whose first record is a JSON object is S2AG
        (``citingcorpusid``), OpenAlex (``referenced_works``, ``abstract_inverted_index``,
        ``publication_year``, ``display_name``, or an id ``W<digits>`` or
        ``openalex.org/...``) or S2ORC (``paper_id``, ``outbound_citations``, old
        ``outCitations``...); anything else is an edge list.
        An auto-detected edge list whose name ends in ``.cites`` (or ``.cites.gz``) is read
        as LINQS (whitespace-delimited, cited first), unless ``reverse``/``delimiter`` is
        given.
    **kwargs
        Passed to the reader (``read_edge_list``, ``read_s2orc``, ...). For Planetoid,
        ``name`` may be left out when the folder holds one data set.

    Returns
    -------
    CitationData
        With ``format`` set to the reader used.

    Raises
    ------
    ValueError
        For an unknown ``format`` (the message lists the choices) or undetectable input.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "citations.jsonl"
    >>> _ = p.write_text('{"citingcorpusid": 1, "citedcorpusid": 2}\\n')
    >>> read_citations(p).format
    's2ag'
    """
    check_choice(format, "format", FORMATS)
    path = Path(path)
    if format == "auto":
        format = _detect(path)
        if format == "edges" and path.name.removesuffix(".gz").endswith(".cites"):
            kwargs.setdefault("reverse", True)
            kwargs.setdefault("delimiter", None)
    if format == "planetoid":
        if "name" not in kwargs:
            names = _planetoid_names(path)
            if len(names) != 1:
                raise ValueError(
                    f"{path}: holds Planetoid data sets {names}; pass name=... to choose one."
                )
            kwargs["name"] = names[0]
        return read_planetoid(path, **kwargs)
    if format == "canonical":
        return read_canonical(path, **kwargs)
    readers = {
        "edges": read_edge_list,
        "s2orc": read_s2orc,
        "s2ag": read_s2ag_citations,
        "openalex": read_openalex,
        "ogb": read_ogb,
    }
    return readers[format](path, **kwargs)
