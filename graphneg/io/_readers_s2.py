"""Semantic Scholar: S2ORC metadata (and the older s2-corpus layout), S2AG citations."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._readers_base import (
    CitationData,
    GraphBuilder,
    Malformed,
    PathLike,
    Report,
    known_ids,
)
from ._readers_jsonl import (
    Record,
    id_list,
    join_text,
    optional_str,
    optional_year,
    read_jsonl,
    required_id,
    unique_in_order,
)


def _parse_s2orc(rec: Mapping[str, Any]) -> Record:
    paper = required_id(rec, "paper_id", "id")
    outbound = id_list(rec, "outbound_citations", "outCitations")
    inbound = id_list(rec, "inbound_citations", "inCitations")
    text = join_text(optional_str(rec, "title"), optional_str(rec, "abstract", "paperAbstract"))
    record = Record(node=paper, text=text, year=optional_year(rec, "year"))
    # Repeats within one list are counted here: the mirror merge must not absorb them.
    unique_out, unique_in = unique_in_order(outbound), unique_in_order(inbound)
    record.repeats = len(outbound) - len(unique_out) + len(inbound) - len(unique_in)
    record.edges = [(paper, other, 0) for other in unique_out]
    record.edges += [(other, paper, 1) for other in unique_in]
    return record


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
        ``inCitations`` are read too. Ids may be strings or integers (``1`` and ``"1"``
        are paper ``"1"``).
    keep_external : bool, default=False
        Keep citations to or from papers that have no line in the file, as external nodes.
    strict : bool, default=False
        Raise ``ValueError`` (``name:line: ...``) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        Nodes are the papers of the file, in file order. Edges are the union of
        ``paper -> outbound`` and ``inbound -> paper``. ``texts`` holds title + abstract,
        ``years`` the papers with a year.

    Raises
    ------
    ValueError
        If no paper can be read, or on a malformed line under ``strict``.

    See Also
    --------
    read_s2ag_citations : the S2AG citations dataset (edges only, no texts).
    read_openalex : OpenAlex works, the other open bibliographic source.
    read_citations : detects the format, then reads it.

    Notes
    -----
    A citation between two papers of the file is usually listed twice, in the citer's
    ``outbound_citations`` and in the cited paper's ``inbound_citations``. The two are one
    link seen from both ends: it is read, and counted in ``counts.read``, once. A paper
    repeated within one list is a true duplicate and counted as such. A line is malformed
    when it is not a JSON object, lacks an id, repeats an earlier paper's id, or has a
    field of the wrong type (an id that is not a non-empty string or an integer, e.g. null
    or a float; a list that is not a list of ids, a non-string title or abstract, a
    non-integer year); absent or null lists read as empty.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metadata_0.jsonl"
    >>> recs = [{"paper_id": "1", "title": "A", "outbound_citations": [2]},
    ...         {"paper_id": 2, "title": "B", "abstract": "b.", "inbound_citations": ["1"]}]
    >>> _ = p.write_text("".join(json.dumps(r) + "\\n" for r in recs))
    >>> data = read_s2orc(p)
    >>> data.graph.to_edge_index().tolist(), data.counts.read, data.texts["2"]
    ([[0], [1]], 1, 'B b.')
    """
    path = Path(path)
    builder = GraphBuilder(Report(path.name, strict), keep_external=keep_external)
    return read_jsonl(path, _parse_s2orc, builder, fmt="s2orc", with_text=True, mirrored=True)


def _parse_s2ag(rec: Mapping[str, Any]) -> Record:
    citing = required_id(rec, "citingcorpusid")
    if "citedcorpusid" not in rec:
        raise Malformed("missing 'citedcorpusid'")
    if rec["citedcorpusid"] is None:  # a reference S2 could not resolve
        return Record(unresolved=citing)
    return Record(edges=[(citing, required_id(rec, "citedcorpusid"), 0)])


def read_s2ag_citations(
    path: PathLike, *, ids: Sequence[Hashable] | None = None, strict: bool = False
) -> CitationData:
    """Read the Semantic Scholar (S2AG) "citations" dataset: one citation a line.

    Parameters
    ----------
    path : str or path-like
        JSONL with ``citingcorpusid`` and ``citedcorpusid`` (integers or strings; ``1`` and
        ``"1"`` are paper ``"1"``; other fields such as ``isinfluential``, ``contexts``,
        ``intents`` are ignored).
    ids : sequence of str or int, default=None
        The known corpus ids, in row order; citations naming others count as unknown.
        None: every citing or cited id met is a node.
    strict : bool, default=False
        Raise ``ValueError`` (``name:line: ...``) on a malformed line instead of skipping it.

    Returns
    -------
    CitationData
        ``texts`` and ``years`` are None (they live in the separate "papers" dataset).

    Raises
    ------
    ValueError
        If no citation can be read, or on a malformed line under ``strict``.

    See Also
    --------
    read_s2orc : S2ORC papers, with titles, abstracts and years.
    read_edge_list : the same edges as a plain two-column file.
    read_citations : detects the format, then reads it.

    Notes
    -----
    ``citedcorpusid`` is null for a reference S2 could not resolve: such a line is read and
    counted as unknown (its citing paper still becomes a node when ``ids`` is None). A line
    that lacks either key or has an id of another type (a float, a boolean) is malformed.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "citations.jsonl"
    >>> _ = p.write_text('{"citingcorpusid": 7, "citedcorpusid": 3}\\n'
    ...                  '{"citingcorpusid": "3", "citedcorpusid": 7}\\n')
    >>> data = read_s2ag_citations(p)
    >>> data.ids, data.graph.num_edges
    (['7', '3'], 2)
    """
    path = Path(path)
    known = known_ids(ids)
    builder = GraphBuilder(
        Report(path.name, strict), known=known, nodes_from_edges=known is None
    )
    return read_jsonl(path, _parse_s2ag, builder, fmt="s2ag", with_text=False)
