"""Edge lists as people have them: TSV, CSV or whitespace, with or without a header line.

The delimiter and the header are detected from the first data lines unless given: a
``.csv`` file is tried with commas first, anything else with tabs first, and the delimiter
that splits the most sampled lines into two non-empty fields wins (ties go to the earlier
candidate; whitespace comes last). A first line is a header when its two fields are column
names (``source``/``target``, ``citing``/``cited``, ...), or when neither is an integer
while every other sampled line holds two integers.

A file that is not an edge list is refused rather than read as one: a first line naming
metadata columns (``id,title,year``: a table of papers, not of citations), or a third
column of text, raises ``ValueError("name:line: ...")``. A third column holding a number (a
weight or a timestamp, as in weighted or temporal SNAP edge lists) is accepted and ignored:
the citation graph is unweighted. "A third column of text" means at least half of the sampled
data lines carry one; a stray extra field on a few lines of an edge list is ignored.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Literal

from .._validation import check_bool
from ._readers_base import (
    CitationData,
    GraphBuilder,
    PathLike,
    Report,
    is_int,
    iter_lines,
    known_ids,
)
from ._readers_edges_columns import assemble_columns, integer_columns, string_columns

# How many leading data lines delimiter and header detection look at.
_SNIFF_LINES = 50
# Names accepted for `delimiter` besides a literal separator (what a command line can type).
DELIMITER_NAMES: dict[str, str | None] = {
    "tab": "\t",
    "\\t": "\t",
    "comma": ",",
    "semicolon": ";",
    "whitespace": None,
    "space": None,
}
# First-line field names that mark an edge-list header under header="auto".
_HEADER_NAMES = frozenset(
    {
        "source", "target", "src", "dst", "from", "to", "citing", "cited", "citer",
        "citee", "paper", "reference", "references", "head", "tail", "u", "v", "node1",
        "node2", "id1", "id2", "source_id", "target_id", "citing_id", "cited_id",
        "citingcorpusid", "citedcorpusid", "citing_paper", "cited_paper", "citing_paper_id",
        "cited_paper_id", "src_id", "dst_id", "from_id", "to_id", "node_1", "node_2",
        "id_1", "id_2", "fromnodeid", "tonodeid", "from_node_id", "to_node_id",
    }
)
# First-line field names that mark a table of node metadata, not an edge list.
_METADATA_NAMES = frozenset(
    {
        "title", "year", "abstract", "text", "name", "label", "labels", "venue", "author",
        "authors", "doi", "date", "journal", "keywords", "url", "category", "class",
        "description", "body", "content", "summary", "publication_year", "pub_year",
        "display_name", "paper_title", "language", "type", "subject", "topic",
    }
)
_AUTO = "auto"


def read_edge_list(
    path: PathLike,
    *,
    delimiter: str | None = _AUTO,
    header: bool | Literal["auto"] = _AUTO,
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
    delimiter : str or None, default="auto"
        Field separator. ``"auto"`` detects tab, comma or whitespace from the first lines
        (a ``.csv`` name tries commas first). A literal separator such as ``"\\t"`` or
        ``","``; the names ``"tab"``, ``"comma"``, ``"semicolon"``, ``"whitespace"``
        (also ``"space"``) and the two characters ``\\t``; None splits on any run of
        whitespace. Fields are stripped (and unwrapped from double quotes). A third column
        must hold a number (a weight or a timestamp), which is ignored; a third column of
        text means the file is not an edge list (see Raises); a stray extra field on a few
        lines is ignored.
    header : bool or "auto", default="auto"
        True skips the first line (blank and comment lines aside), False reads it as an
        edge. ``"auto"`` skips it when both of its first fields are common column names
        (``source``/``target``, ``citing``/``cited``, ``src``/``dst``, ...), or when neither
        is an integer while every other sampled line holds two integers.
    reverse : bool, default=False
        The lines list ``cited citing`` (LINQS ``.cites`` files); edges are flipped.
    ids : sequence of str or int, default=None
        The known nodes, in row order (``1`` and ``"1"`` are node ``"1"``). Edges naming
        other ids count as unknown. None: every id met is a node, in order of appearance.
    keep_external : bool, default=False
        With ``ids``, keep edges to unknown ids and add those as external nodes.
    comment : str or None, default="#"
        Lines starting with it are skipped (SNAP files start with ``#`` comments). Blank
        lines are skipped too; neither is counted, as neither holds an edge.
    strict : bool, default=False
        Raise ``ValueError`` (``name:line: ...``) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        ``texts`` and ``years`` are None.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If no edge at all can be read (empty file, binary data, every line malformed), on
        a malformed line under ``strict``, or for duplicate ``ids``. If the file is not an
        edge list: its first line names metadata columns (``title``, ``year``,
        ``abstract``, ...), or a leading data line has a third column of text; the message
        names ``file:line``. (A column: at least half of the first 50 data lines have a
        third field of text; a stray extra field on a few lines is ignored.)

    Warns
    -----
    GraphNegWarning
        When lines or edges were skipped (counts and first malformed lines in the message).

    See Also
    --------
    read_citations : detects the format (LINQS ``.cites`` files included), then reads it.
    read_s2ag_citations : one citation a line as JSONL (Semantic Scholar).
    graphneg.LinkGraph : the graph it builds, with the id rule it applies.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> p = folder / "edges.csv"
    >>> _ = p.write_text("citing,cited\\n10,20\\n20,30\\n")
    >>> data = read_edge_list(p)  # comma and header detected
    >>> data.ids, data.graph.to_edge_index().tolist()
    (['10', '20', '30'], [[0, 1], [1, 2]])
    >>> p = folder / "cora.cites"
    >>> _ = p.write_text("35 1033\\n35 103482\\n")
    >>> data = read_edge_list(p, delimiter=None, reverse=True)  # LINQS: cited, then citing
    >>> data.ids, data.graph.to_edge_index().tolist()
    (['1033', '35', '103482'], [[0, 2], [1, 1]])
    >>> p = folder / "meta.csv"
    >>> _ = p.write_text("id,title,year\\n1,Graphs,2001\\n")
    >>> read_edge_list(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: meta.csv:1: the first line names metadata columns ('title', 'year'), not ...
    """
    path = Path(path)
    delimiter = _check_delimiter(delimiter)
    if header != _AUTO:
        header = check_bool(header, "header")
    reverse = check_bool(reverse, "reverse")
    if comment is not None and (not isinstance(comment, str) or not comment):
        raise ValueError(f"`comment` must be a non-empty string or None, got {comment!r}.")
    known = known_ids(ids)
    report = Report(path.name, strict)
    builder = GraphBuilder(
        report, known=known, nodes_from_edges=known is None, keep_external=keep_external
    )
    sample = _sample_lines(path, comment)
    if delimiter == _AUTO:
        delimiter = _sniff_delimiter(sample, path)
    rows = [_split(line, delimiter) for _, line in sample]
    skip_first = header is True or (header == _AUTO and _looks_like_header(rows))
    _refuse_non_edge_list(path, sample, rows, delimiter, header, skip_first)
    if known is None and not report.strict:
        columns = _read_columns(path, sample, rows, delimiter, comment, skip_first)
        if columns is not None:  # a clean file: read column-wise, the same graph as streaming
            graph = assemble_columns(*(columns[::-1] if reverse else columns), report)
            report.warn()
            return CitationData(graph, graph.counts, format="edges")
    n_edges = _stream_edges(path, builder, delimiter, comment, skip_first, reverse)
    if n_edges == 0:
        raise report.no_records(path, "edges")
    graph = builder.build()
    report.warn()
    return CitationData(graph, graph.counts, format="edges")


def _check_delimiter(delimiter: object) -> str | None:
    """``delimiter`` as ``"auto"``, a literal separator or None (whitespace runs)."""
    if delimiter is None or delimiter == _AUTO:
        return delimiter  # type: ignore[return-value]
    if not isinstance(delimiter, str) or not delimiter or "\n" in delimiter or "\r" in delimiter:
        raise ValueError(
            "`delimiter` must be 'auto', a non-empty separator without line breaks, one of "
            f"{sorted(DELIMITER_NAMES)} or None (whitespace), got {delimiter!r}."
        )
    return DELIMITER_NAMES.get(delimiter.lower(), delimiter)


def _is_skipped(line: str, comment: str | None) -> bool:
    """Blank and comment lines hold no edge and are not counted."""
    stripped = line.strip()
    return not stripped or (comment is not None and line.lstrip().startswith(comment))


def _sample_lines(path: Path, comment: str | None) -> list[tuple[int, str]]:
    """The first data lines (decodable, not blank, not comments) with their line numbers."""
    sample: list[tuple[int, str]] = []
    for lineno, line in iter_lines(path):
        if line is None or _is_skipped(line, comment):
            continue
        sample.append((lineno, line))
        if len(sample) == _SNIFF_LINES:
            break
    return sample


def _split(line: str, delimiter: str | None) -> list[str]:
    """Fields of ``line``: stripped, double quotes around a field removed, third onwards kept
    as one trailing field (it is ignored)."""
    parts = line.split() if delimiter is None else line.split(delimiter, 2)
    fields = []
    for part in parts:
        part = part.strip()
        if len(part) >= 2 and part[0] == part[-1] == '"':
            part = part[1:-1].strip()
        fields.append(part)
    return fields


def _two_fields(fields: list[str]) -> bool:
    return len(fields) >= 2 and bool(fields[0]) and bool(fields[1])


def _sniff_delimiter(sample: list[tuple[int, str]], path: Path) -> str | None:
    """The candidate that splits the most sampled lines into two non-empty fields."""
    name = path.name.removesuffix(".gz").lower()
    candidates: list[str | None] = [",", "\t", None] if name.endswith(".csv") else ["\t", ",", None]
    if name.endswith((".cites", ".ssv")):
        candidates = [None, "\t", ","]
    best, best_score = candidates[0], 0
    for candidate in candidates:
        score = sum(_two_fields(_split(line, candidate)) for _, line in sample)
        if score > best_score:  # strictly better: ties keep the earlier candidate
            best, best_score = candidate, score
    return best


def _header_key(field: str) -> str:
    return field.strip().strip("'\"").lower().replace(" ", "_").replace("-", "_")


def _looks_like_header(rows: list[list[str]]) -> bool:
    """Whether the first sampled row is a header (see ``read_edge_list``)."""
    if not rows or not _two_fields(rows[0]):
        return False
    first = rows[0][:2]
    if all(_header_key(f) in _HEADER_NAMES for f in first):
        return True
    rest = rows[1:]
    return (
        bool(rest)
        and not any(is_int(f) for f in first)
        and all(_two_fields(r) and is_int(r[0]) and is_int(r[1]) for r in rest)
    )


def _third(fields: list[str], delimiter: str | None) -> str | None:
    """The third field of a split line (None when there is none)."""
    if len(fields) < 3:
        return None
    third = fields[2] if delimiter is None else fields[2].split(delimiter, 1)[0]
    third = third.strip()
    if len(third) >= 2 and third[0] == third[-1] == '"':
        third = third[1:-1].strip()
    return third


def _is_number(field: str) -> bool:
    """Whether ``field`` is a weight or a timestamp (a finite number; empty counts)."""
    if not field:
        return True
    try:
        return math.isfinite(float(field))
    except ValueError:
        return False


def _refuse_non_edge_list(
    path: Path,
    sample: list[tuple[int, str]],
    rows: list[list[str]],
    delimiter: str | None,
    header: object,
    skip_first: bool,
) -> None:
    """Raise ``ValueError("name:line: ...")`` when the sampled lines are not an edge list."""
    if not rows:
        return
    first = rows[0]
    if header is not False and not any(is_int(f) for f in first):
        named = [f for f in first if _header_key(f) in _METADATA_NAMES]
        if named:
            raise ValueError(
                f"{path.name}:{sample[0][0]}: the first line names metadata columns "
                f"({', '.join(repr(f) for f in named)}), not an edge list (citing, cited, and "
                "optionally a numeric weight or timestamp); read node metadata separately and "
                "pass the citations themselves."
            )
    start = 1 if skip_first else 0
    text = [
        (lineno, third)
        for (lineno, _), fields in zip(sample[start:], rows[start:], strict=True)
        if (third := _third(fields, delimiter)) is not None and not _is_number(third)
    ]
    if text and 2 * len(text) >= len(rows) - start:  # a column, not a stray field
        lineno, third = text[0]
        raise ValueError(
                f"{path.name}:{lineno}: a third column of text ({third[:40]!r}) is not an edge "
                "list (citing, cited, and optionally a numeric weight or timestamp); is this "
                "a table of node metadata?"
            )


def _read_columns(
    path: Path,
    sample: list[tuple[int, str]],
    rows: list[list[str]],
    delimiter: str | None,
    comment: str | None,
    skip_first: bool,
) -> tuple[object, object] | None:
    """The two id columns read column-wise by pyarrow's CSV reader, or None to stream instead.

    Only a clean file takes this route: a one-character ASCII delimiter, no quotes, no comment or
    whitespace-only line after the first data line, no field with surrounding whitespace, no
    empty field, the same number of fields on every line, valid UTF-8. Anything else (or no
    pyarrow) returns None and the line-by-line reader handles it, with its line-numbered
    reports; both routes give the same graph for a clean file. A file of decimal integers
    comes back as two int64 arrays, any other as two string arrays.
    """
    if delimiter is None or len(delimiter) != 1 or not delimiter.isascii() or not rows or delimiter in "\"\r\n":
        return None  # pyarrow splits on one ASCII character
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    start = 1 if skip_first else 0
    if len(rows) <= start:
        return None
    n_fields = len(sample[start][1].split(delimiter))
    if n_fields < 2:
        return None
    skip = sample[0][0] - 1 + start  # lines before the first edge
    if n_fields == 2 and (numbers := integer_columns(path, skip, delimiter)) is not None:
        return numbers
    return string_columns(path, skip, n_fields, delimiter, comment)


def _stream_edges(
    path: Path,
    builder: GraphBuilder,
    delimiter: str | None,
    comment: str | None,
    skip_first: bool,
    reverse: bool,
) -> int:
    """Add every edge line of ``path`` to ``builder``; return how many were read."""
    report = builder.report
    shown = "whitespace" if delimiter is None else repr(delimiter)
    n_edges = 0
    first_data = True
    for lineno, line in report.lines(path):
        if _is_skipped(line, comment):
            continue
        if first_data:
            first_data = False
            if skip_first:
                continue
        fields = _split(line, delimiter)
        if not _two_fields(fields):
            report.malformed(
                path, lineno,
                f"expected 2 non-empty fields separated by {shown}, got {line[:60]!r}",
            )
            continue
        a, b = (fields[1], fields[0]) if reverse else (fields[0], fields[1])
        builder.add_edge(a, b)
        n_edges += 1
    return n_edges
