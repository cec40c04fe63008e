"""One streaming skeleton for the JSON-lines citation formats (S2ORC, S2AG, OpenAlex).

Each format contributes only a *parser*: a function from one decoded JSON object to a
:class:`Record` (the paper it describes, its text and year, the citations it lists), or
``Malformed`` with the reason. :func:`read_jsonl` does the rest the same way for all of
them: line decoding, bad JSON, repeated node ids, counting, the warning, and the error for a
file that yields no record at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._jsonl import parse_line
from ._readers_base import (
    CitationData,
    GraphBuilder,
    Malformed,
    Report,
    describe_value,
    json_id,
)


@dataclass
class Record:
    """What one JSON line contributes.

    ``node``: the corpus paper the line describes (None for S2AG, whose lines are bare
    citations); ``edges``: ``(citing, cited, side)``, side 1 for S2ORC's inbound listings;
    ``repeats``: citations repeated within one list (read, and counted as duplicates);
    ``unresolved``: a citer whose reference could not be resolved (S2AG null target).
    """

    node: str | None = None
    text: str = ""
    year: int | None = None
    edges: list[tuple[str, str, int]] = field(default_factory=list)
    repeats: int = 0
    unresolved: str | None = None


_Parser = Callable[[Mapping[str, Any]], Record]


def _iter_records(path: Path, report: Report) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line number, object)``; undecodable lines and non-objects are reported."""
    for lineno, line in report.lines(path):
        rec, reason = parse_line(line)
        if rec is None:
            report.malformed(path, lineno, str(reason))
            continue
        yield lineno, rec


def read_jsonl(
    path: Path,
    parse: _Parser,
    builder: GraphBuilder,
    *,
    fmt: str,
    with_text: bool,
    mirrored: bool = False,
) -> CitationData:
    """Stream ``path`` through ``parse`` into ``builder``; the shared reader skeleton."""
    report = builder.report
    texts: dict[str, str] = {}
    years: dict[str, int] = {}
    n_records = 0
    for lineno, rec in _iter_records(path, report):
        try:
            record = parse(rec)
        except Malformed as err:
            report.malformed(path, lineno, str(err))
            continue
        if record.node is not None:
            if not builder.add_node(record.node, path, lineno):
                continue
            texts[record.node] = record.text
            if record.year is not None:
                years[record.node] = record.year
        n_records += 1
        _add_record(builder, record)
    if n_records == 0:
        raise report.no_records(path, "records")
    graph = builder.build(mirrored=mirrored)
    report.warn(depth=2)
    if not with_text:
        return CitationData(graph, graph.counts, format=fmt)
    return CitationData(graph, graph.counts, texts=texts, years=years, format=fmt)


def _add_record(builder: GraphBuilder, record: Record) -> None:
    counts = builder.report.counts
    counts.read += record.repeats
    counts.duplicates += record.repeats
    if record.unresolved is not None:  # read, and lost to the graph
        counts.read += 1
        counts.unknown += 1
        if builder.nodes_from_edges:
            builder.add_id(record.unresolved)
    for source, target, side in record.edges:
        builder.add_edge(source, target, side)


# --------------------------------------------------------------------------------------------
# Field helpers for the parsers
# --------------------------------------------------------------------------------------------


def record_field(rec: Mapping[str, Any], *keys: str) -> tuple[str, Any]:
    """The first of ``keys`` present in ``rec`` (and its value); ``(keys[0], None)`` if none."""
    for key in keys:
        if key in rec:
            return key, rec[key]
    return keys[0], None


def required_id(rec: Mapping[str, Any], *keys: str) -> str:
    """The id under the first present key (str or int, by the one id rule)."""
    key, value = record_field(rec, *keys)
    if key not in rec:
        raise Malformed(f"missing {' / '.join(repr(k) for k in keys)}")
    return json_id(value, key)


def id_list(rec: Mapping[str, Any], *keys: str) -> list[str]:
    """A list-of-ids field; absent or null reads as empty (S2ORC writes [] for none)."""
    key, value = record_field(rec, *keys)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{key!r} must be a list of ids, got {describe_value(value)}")
    return [json_id(item, f"{key}[{i}]") for i, item in enumerate(value)]


def optional_str(rec: Mapping[str, Any], *keys: str) -> str:
    key, value = record_field(rec, *keys)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{key!r} must be a string or null, got {describe_value(value)}")
    return value


def optional_year(rec: Mapping[str, Any], *keys: str) -> int | None:
    key, value = record_field(rec, *keys)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{key!r} must be an integer or null, got {describe_value(value)}")
    return value


def join_text(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def unique_in_order(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
