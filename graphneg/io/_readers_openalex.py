"""OpenAlex works JSONL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ._readers_base import (
    CitationData,
    GraphBuilder,
    Malformed,
    PathLike,
    Report,
    describe_value,
    json_id,
)
from ._readers_jsonl import (
    Record,
    join_text,
    optional_str,
    optional_year,
    read_jsonl,
    record_field,
)

_OPENALEX_PREFIX = "openalex.org/"
# Keys only OpenAlex work objects have (among the formats read here).
OPENALEX_KEYS = frozenset(
    {"referenced_works", "abstract_inverted_index", "publication_year", "display_name",
     "cited_by_count", "referenced_works_count"}
)


def _short_id(node_id: str) -> str:
    """``"https://openalex.org/W123"`` (or ``"W123"``) -> ``"W123"``."""
    cut = node_id.rfind(_OPENALEX_PREFIX)
    if cut >= 0:
        node_id = node_id[cut + len(_OPENALEX_PREFIX) :].strip("/")
    return node_id


def _openalex_id(value: Any, key: str) -> str:
    """An OpenAlex id field as its short form, or ``Malformed``."""
    short = _short_id(json_id(value, key))
    if not short:
        raise Malformed(f"{key!r} must be an OpenAlex id, got {describe_value(value)}")
    return short


def looks_openalex(value: Any) -> bool:
    """Whether a record's ``id`` is an OpenAlex work id (``W<digits>`` or a URL)."""
    if not isinstance(value, str):
        return False
    short = _short_id(value.strip())
    return _OPENALEX_PREFIX in value or (short[:1] == "W" and short[1:].isdigit())


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

    See Also
    --------
    read_openalex : the reader that calls it for every work.

    Examples
    --------
    >>> abstract_from_inverted_index({"negatives": [1, 3], "Hard": [0], "help": [2]})
    'Hard negatives help negatives'
    """
    if index is None:
        return ""
    if not isinstance(index, Mapping):
        raise TypeError(f"`index` must be a mapping word -> positions, got {describe_value(index)}.")
    placed: list[tuple[int, str]] = []
    for word, positions in index.items():
        if not isinstance(word, str) or not isinstance(positions, (list, tuple)):
            raise TypeError(
                f"`index` must map words to lists of positions, got {describe_value(word)}: "
                f"{describe_value(positions)}."
            )
        for pos in positions:
            if isinstance(pos, bool) or not isinstance(pos, int) or pos < 0:
                raise TypeError(
                    f"`index[{word!r}]` must hold non-negative int positions, got {describe_value(pos)}."
                )
            placed.append((pos, word))
    placed.sort(key=lambda item: item[0])  # stable: ties keep the mapping's order
    return " ".join(word for _, word in placed)


def _parse_openalex(rec: Mapping[str, Any]) -> Record:
    if "id" not in rec:
        raise Malformed("missing 'id'")
    work = _openalex_id(rec["id"], "id")
    key, refs = record_field(rec, "referenced_works")
    if refs is not None and not isinstance(refs, list):
        raise Malformed(f"{key!r} must be a list of ids, got {describe_value(refs)}")
    cited = [_openalex_id(ref, f"{key}[{i}]") for i, ref in enumerate(refs or ())]
    title = optional_str(rec, "title") or optional_str(rec, "display_name")
    year = optional_year(rec, "publication_year")
    try:
        abstract = abstract_from_inverted_index(rec.get("abstract_inverted_index"))
    except TypeError as err:
        raise Malformed(f"'abstract_inverted_index': {err}") from err
    edges = [(work, ref, 0) for ref in cited]
    return Record(node=work, text=join_text(title, abstract), year=year, edges=edges)


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
        Raise ``ValueError`` (``name:line: ...``) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        ``texts``: title + the abstract rebuilt by :func:`abstract_from_inverted_index`;
        ``years``: ``publication_year`` where present.

    Raises
    ------
    ValueError
        If no work can be read, or on a malformed line under ``strict``.

    See Also
    --------
    abstract_from_inverted_index : how each abstract is rebuilt.
    read_s2orc : the Semantic Scholar equivalent.
    read_citations : detects the format, then reads it.

    Notes
    -----
    OpenAlex stores only outgoing references; incoming ones are these read backwards. A line
    is malformed when it is not a JSON object, lacks an ``id``, repeats an earlier work's
    id, or has a field of the wrong type (ids follow the one id rule: non-empty strings, or
    integers read as their decimal string; null and floats are malformed).

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
    builder = GraphBuilder(Report(path.name, strict), keep_external=keep_external)
    return read_jsonl(path, _parse_openalex, builder, fmt="openalex", with_text=True)
